"""A streaming chat endpoint written with starlette + sse-starlette (not our code): the
third-party server replay is checked against. sse-starlette frames events with CRLF."""
import asyncio
import json

from sse_starlette.sse import EventSourceResponse
from starlette.applications import Starlette
from starlette.responses import JSONResponse
from starlette.routing import Route

TOKENS = 8


async def chat(request):
    body = await request.json()
    n = int(body.get("max_completion_tokens") or body.get("max_tokens") or TOKENS)
    if not body.get("stream"):
        return JSONResponse({"object": "chat.completion", "choices": [
            {"index": 0, "message": {"role": "assistant", "content": "w " * n},
             "finish_reason": "length"}], "usage": {"prompt_tokens": 1, "completion_tokens": n}})

    async def events():
        yield {"data": json.dumps({"object": "chat.completion.chunk", "choices": [
            {"index": 0, "delta": {"role": "assistant", "content": ""}}]})}
        for i in range(n):
            await asyncio.sleep(0.002)
            yield {"data": json.dumps({"object": "chat.completion.chunk", "choices": [
                {"index": 0, "delta": {"content": "w%d " % i},
                 "finish_reason": "length" if i == n - 1 else None}]})}
        yield {"data": json.dumps({"object": "chat.completion.chunk", "choices": [],
                                   "usage": {"prompt_tokens": 1, "completion_tokens": n}})}
        yield {"data": "[DONE]"}

    return EventSourceResponse(events(), ping=1)


app = Starlette(routes=[Route("/v1/chat/completions", chat, methods=["POST"])])
