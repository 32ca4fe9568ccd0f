"""The peer of bench/mock_wrk.sh: a FastAPI app under uvicorn that answers like the mock
with --ttft 0 --itl 0: a non-streaming completion, or a chat stream of max_tokens
chat.completion.chunk events plus the role event and [DONE], as vLLM's server does."""
import json
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse, StreamingResponse

app = FastAPI()
WORDS = "From fairest creatures we desire increase That thereby beautys rose might never die".split()


@app.post("/v1/completions")
async def completions(req: Request):
    body = await req.json()
    n = body.get("max_tokens") or 1
    text = " ".join(WORDS[i % len(WORDS)] for i in range(n))
    return JSONResponse({"id": "cmpl-1", "object": "text_completion", "created": int(time.time()),
                         "model": "peer", "choices": [{"index": 0, "text": text, "logprobs": None,
                                                       "finish_reason": "length"}],
                         "usage": {"prompt_tokens": 2, "total_tokens": 2 + n, "completion_tokens": n}})


@app.post("/v1/chat/completions")
async def chat(req: Request):
    body = await req.json()
    n = body.get("max_tokens") or 100
    created = int(time.time())

    def chunk(delta, finish=None):
        return "data: " + json.dumps(
            {"id": "chatcmpl-1", "object": "chat.completion.chunk", "created": created, "model": "peer",
             "choices": [{"index": 0, "delta": delta, "logprobs": None, "finish_reason": finish}]},
            separators=(",", ":")) + "\n\n"

    async def events():
        yield chunk({"role": "assistant", "content": ""})
        for i in range(n):
            yield chunk({"content": " " + WORDS[i % len(WORDS)]}, "length" if i == n - 1 else None)
        yield "data: [DONE]\n\n"

    return StreamingResponse(events(), media_type="text/event-stream")
