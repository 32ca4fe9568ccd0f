#!/usr/bin/env bash
# Every endpoint of `metronome mock`, streaming and not, checked with curl and a JSON parser.
. "$E2E_ROOT/tests/e2e/lib.sh"
port=$(free_port)
"$METRONOME" mock --port "$port" --ttft 1 --itl 0 --osl 4 --seed 7 --model served \
    >"$E2E_TMP/mock.out" 2>"$E2E_TMP/mock.err" &
pid=$!
trap 'kill $pid 2>/dev/null || true' EXIT
wait_port "$port"
grep -q "listening on http://127.0.0.1:$port" "$E2E_TMP/mock.out" || fail "no listening line"
url=http://127.0.0.1:$port
post() { curl -sS --max-time 10 -H 'Content-Type: application/json' "$url$1" -d "$2"; }
# check FILE PYTHON-EXPR: the JSON in FILE, bound to j, must make EXPR true.
check() { python3 -c "import json,sys; j=json.load(open('$1')); sys.exit(0 if ($2) else 1)" ||
    { cat "$1" >&2; fail "check failed: $2"; }; }
# sse FILE: the data payloads of an SSE body as a JSON list (the [DONE] sentinel as a string).
sse() { python3 - "$1" <<'PY'
import json, sys
out = []
for block in open(sys.argv[1]).read().split("\n\n"):
    data = [l[6:] for l in block.split("\n") if l.startswith("data: ")]
    if data:
        d = "\n".join(data)
        out.append(d if d == "[DONE]" else json.loads(d))
json.dump(out, sys.stdout)
PY
}

curl -sS -o "$E2E_TMP/h" -w '%{http_code}' "$url/health" | grep -qx 200 || fail "/health"
curl -sS "$url/v1/models" >"$E2E_TMP/m"
check "$E2E_TMP/m" "j['object']=='list' and j['data'][0]['id']=='served' and j['data'][0]['object']=='model'"
curl -sS "$url/metrics" >"$E2E_TMP/metrics"
grep -q '^vllm:num_requests_running{model_name="served"} 0$' "$E2E_TMP/metrics" || fail "metrics gauge"
grep -q '^vllm:e2e_request_latency_seconds_bucket' "$E2E_TMP/metrics" || fail "metrics histogram"

msg='"messages":[{"role":"user","content":"one two three four five"}]'
post /v1/chat/completions "{$msg,\"max_tokens\":3}" >"$E2E_TMP/c"
check "$E2E_TMP/c" "j['object']=='chat.completion' and j['model']=='served' and len(j['choices'][0]['message']['content'].split())==3 and j['choices'][0]['finish_reason']=='length' and j['usage']=={'prompt_tokens':5,'total_tokens':8,'completion_tokens':3}"
# deterministic: the same request gives the same text
post /v1/chat/completions "{$msg,\"max_tokens\":3}" >"$E2E_TMP/c2"
python3 -c "import json; a=json.load(open('$E2E_TMP/c')); b=json.load(open('$E2E_TMP/c2')); assert a['choices']==b['choices']" || fail "content not deterministic"

post /v1/chat/completions "{$msg,\"model\":\"x\",\"stream\":true,\"stream_options\":{\"include_usage\":true}}" >"$E2E_TMP/cs"
sse "$E2E_TMP/cs" >"$E2E_TMP/cs.json"
check "$E2E_TMP/cs.json" "j[-1]=='[DONE]' and j[0]['choices'][0]['delta']=={'role':'assistant','content':''} and all(e['object']=='chat.completion.chunk' and e['model']=='x' for e in j[:-1]) and len(j)==1+4+1+1 and j[4]['choices'][0]['finish_reason']=='stop' and j[5]['choices']==[] and j[5]['usage']['completion_tokens']==4"

post /v1/completions '{"prompt":"a b","max_tokens":2}' >"$E2E_TMP/p"
check "$E2E_TMP/p" "j['object']=='text_completion' and j['usage']['prompt_tokens']==2 and j['choices'][0]['finish_reason']=='length'"
post /v1/completions '{"prompt":["a b"],"max_tokens":5,"stream":true}' >"$E2E_TMP/ps"
sse "$E2E_TMP/ps" >"$E2E_TMP/ps.json"
check "$E2E_TMP/ps.json" "len(j)==6 and j[-1]=='[DONE]' and all(e['object']=='text_completion' for e in j[:-1]) and j[4]['choices'][0]['finish_reason']=='length'"

post /v1/embeddings '{"input":["a","b c"],"model":"e"}' >"$E2E_TMP/e"
check "$E2E_TMP/e" "j['object']=='list' and len(j['data'])==2 and len(j['data'][1]['embedding'])==16 and j['data'][0]['object']=='embedding' and j['usage']['prompt_tokens']==3"
post /v1/embeddings '{"input":"a","dimensions":4}' >"$E2E_TMP/e4"
check "$E2E_TMP/e4" "len(j['data'][0]['embedding'])==4"

post /v1/ranking '{"model":"r","query":{"text":"q"},"passages":[{"text":"a"},{"text":"b"},{"text":"c"}]}' >"$E2E_TMP/r"
check "$E2E_TMP/r" "sorted(x['index'] for x in j['rankings'])==[0,1,2] and j['rankings'][0]['logit']>=j['rankings'][-1]['logit']"
post /rerank '{"query":"q","texts":["a","b"]}' >"$E2E_TMP/t"
check "$E2E_TMP/t" "isinstance(j,list) and sorted(x['index'] for x in j)==[0,1] and 0<=j[0]['score']<=1"
post /v1/rerank '{"query":"q","documents":["a","b"]}' >"$E2E_TMP/co"
check "$E2E_TMP/co" "len(j['results'])==2 and 'relevance_score' in j['results'][0] and j['usage']['total_tokens']==3"

post /v1/responses '{"input":"hi there","max_output_tokens":3}' >"$E2E_TMP/rs"
check "$E2E_TMP/rs" "j['object']=='response' and j['status']=='completed' and j['output'][0]['content'][0]['type']=='output_text' and j['usage']['output_tokens']==3 and j['usage']['input_tokens']==2"
post /v1/responses '{"input":"hi","max_output_tokens":2,"stream":true}' >"$E2E_TMP/rss"
grep -c '^event: response.output_text.delta$' "$E2E_TMP/rss" | grep -qx 2 || fail "responses deltas"
head -1 "$E2E_TMP/rss" | grep -qx 'event: response.created' || fail "responses first event"
grep '^event: ' "$E2E_TMP/rss" | tail -1 | grep -qx 'event: response.completed' || fail "responses last event"

# reasoning tokens come before the content
kill $pid; wait $pid || true
"$METRONOME" mock --port "$port" --ttft 0 --itl 0 --osl 2 --reasoning-tokens 3 >/dev/null 2>&1 &
pid=$!
wait_port "$port"
post /v1/chat/completions "{$msg,\"stream\":true}" >"$E2E_TMP/rz"
sse "$E2E_TMP/rz" >"$E2E_TMP/rz.json"
check "$E2E_TMP/rz.json" "[('reasoning_content' in e['choices'][0]['delta']) for e in j[1:-1]]==[True,True,True,False,False]"
post /v1/chat/completions "{$msg}" >"$E2E_TMP/rn"
check "$E2E_TMP/rn" "len(j['choices'][0]['message']['reasoning_content'].split())==3 and j['usage']['completion_tokens_details']['reasoning_tokens']==3"
kill -TERM $pid
wait $pid || fail "mock did not exit 0 on SIGTERM"
trap - EXIT
