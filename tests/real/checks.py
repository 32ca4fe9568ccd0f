"""The real-server tier's checks: metronome (and AIPerf 0.13) against a live vLLM.

  python3 checks.py base|reasoning --bin METRONOME --out DIR --vllm-port P --proxy-port Q
                    --proxy-log FILE [--aiperf-venv DIR --hf-cache DIR]

`base` runs against vLLM serving the model "tiny", `reasoning` against "tiny-reasoning"
(--reasoning-parser deepseek_r1). Most runs go through tests/real/proxy.py, which logs every
request body and the whole response as vLLM sent it: the server's own view of each request
is the ground truth the checks hold metronome's output against. Timing runs go straight to
vLLM, and their figures are held against vLLM's own /metrics histograms for the same run.

Each check prints `PASS name` or `FAIL name: why` and appends {"name", "ok", "detail"} to
OUT/results.jsonl; run.sh counts them. The figures table goes to OUT/figures.txt.
Standard library only (this runs on the system python3).
"""
import argparse
import json
import os
import socket
import subprocess
import sys
import time
import urllib.request

ap = argparse.ArgumentParser()
ap.add_argument("phase", choices=["base", "reasoning"])
ap.add_argument("--bin", required=True)
ap.add_argument("--out", required=True)
ap.add_argument("--vllm-port", type=int, required=True)
ap.add_argument("--proxy-port", type=int, required=True)
ap.add_argument("--proxy-log", required=True)
ap.add_argument("--aiperf-venv")
ap.add_argument("--hf-cache")
A = ap.parse_args()
for k in ("bin", "out", "proxy_log", "aiperf_venv", "hf_cache"):
    if getattr(A, k):
        setattr(A, k, os.path.abspath(getattr(A, k)))

VLLM = f"http://127.0.0.1:{A.vllm_port}"
PROXY = f"http://127.0.0.1:{A.proxy_port}"
RUN_TIMEOUT = 600  # seconds, for any one client run; the whole tier is bounded by run.sh
os.makedirs(A.out, exist_ok=True)
results = open(os.path.join(A.out, "results.jsonl"), "a", buffering=1)


def check(name, ok, detail=""):
    results.write(json.dumps({"name": name, "ok": bool(ok), "detail": detail}) + "\n")
    print(f"{'PASS' if ok else 'FAIL'} {name}" + (f": {detail}" if detail and not ok else ""),
          flush=True)
    return ok


def metronome(args, timeout=RUN_TIMEOUT):
    """Runs metronome; returns (exit code, stdout + stderr). The output is kept in OUT."""
    t0 = time.time()
    try:
        p = subprocess.run([A.bin] + args, capture_output=True, text=True, timeout=timeout)
        rc, out = p.returncode, p.stdout + p.stderr
    except subprocess.TimeoutExpired as e:
        rc, out = "timeout", f"timed out after {timeout} s\n{e.stdout or ''}{e.stderr or ''}"
    with open(os.path.join(A.out, "commands.log"), "a") as f:
        f.write(f"$ metronome {' '.join(args)}\n# exit {rc} after {time.time() - t0:.1f} s\n{out}\n")
    return rc, out


class ProxyLog:
    """The lines proxy.py logs during one client run."""

    def __init__(self):
        self.start = os.path.getsize(A.proxy_log) if os.path.exists(A.proxy_log) else 0

    def lines(self, expect=0):
        # The proxy logs a request after relaying its last byte, which can be just after
        # the client exited: wait (briefly) for the lines the run should have produced.
        for _ in range(50):
            with open(A.proxy_log) as f:
                f.seek(self.start)
                got = [json.loads(l) for l in f if l.strip()]
            got = [g for g in got if g["method"] == "POST"]
            if len(got) >= expect:
                break
            time.sleep(0.1)
        return got


def sse_events(text):
    """The JSON payloads of an SSE body (data: lines), [DONE] left out."""
    out = []
    for block in text.replace("\r\n", "\n").split("\n\n"):
        data = "\n".join(l[5:].lstrip() for l in block.split("\n") if l.startswith("data:"))
        if data and data != "[DONE]":
            try:
                out.append(json.loads(data))
            except ValueError:
                pass
    return out


def server_view(line):
    """What vLLM said for one request: its usage counts and its reply text."""
    text, reasoning_events, content_events, usage = "", 0, 0, None
    resp = line["response"]
    streamed = "text/event-stream" in (line.get("headers") or {}).get("Accept", "") or \
        resp.lstrip().startswith(("data:", "event:"))
    payloads = sse_events(resp) if streamed else [json.loads(resp)] if resp.strip() else []
    for p in payloads:
        if p.get("type") == "response.completed":  # Responses API stream
            usage = p["response"].get("usage")
        elif p.get("type") == "response.output_text.delta":
            text += p.get("delta", "")
        if p.get("object") == "response":  # Responses API body
            usage = p.get("usage")
            for o in p.get("output", []):
                for c in o.get("content") or []:
                    if c.get("type") == "output_text":
                        text += c.get("text", "")
        if p.get("usage") and p.get("object") != "response":
            usage = p["usage"]
        for ch in p.get("choices") or []:
            d = ch.get("delta") or ch.get("message") or {}
            if ch.get("text"):
                text += ch["text"]
            if d.get("content"):
                text += d["content"]
                content_events += 1
            if d.get("reasoning") or d.get("reasoning_content"):
                reasoning_events += 1
    u = usage or {}
    return {"completion_tokens": u.get("completion_tokens", u.get("output_tokens")),
            "reasoning_tokens": (u.get("completion_tokens_details") or
                                 u.get("output_tokens_details") or {}).get("reasoning_tokens"),
            "text": text, "reasoning_events": reasoning_events,
            "content_events": content_events}


def export_records(d):
    """profile_export.jsonl of an artifact dir, by X-Request-Id."""
    p = os.path.join(d, "profile_export.jsonl")
    if not os.path.exists(p):
        return {}
    recs = [json.loads(l) for l in open(p) if l.strip()]
    return {r["metadata"]["x_request_id"]: r for r in recs}


def metric(rec, tag):
    m = (rec.get("metrics") or {}).get(tag)
    return None if m is None else m.get("value")


def shows(out, text):
    """`text` appears in `out`, also when a console table wrapped it over several lines."""
    squash = lambda t: "".join(c for c in t if not c.isspace() and c not in "│┃║|")
    return bool(text) and squash(text) in squash(out)


def tail(out, n=3):
    lines = [l for l in out.strip().splitlines() if l.strip()]
    return " | ".join(lines[-n:])[:600]


def scrape():
    """vLLM's /metrics: {series name: summed value} over all label sets."""
    text = urllib.request.urlopen(f"{VLLM}/metrics", timeout=30).read().decode()
    vals = {}
    for l in text.splitlines():
        if l.startswith("#") or not l.strip():
            continue
        name = l.split("{")[0].split(" ")[0]
        try:
            vals[name] = vals.get(name, 0.0) + float(l.rsplit(" ", 1)[1])
        except ValueError:
            pass
    return vals


SERVER_HISTS = {"ttft": "vllm:time_to_first_token_seconds",
                "itl": "vllm:inter_token_latency_seconds",
                "e2e": "vllm:e2e_request_latency_seconds"}


def server_means(before, after):
    """Means (ms) of vLLM's histograms over one run: the diff of _sum over the diff of _count."""
    out = {}
    for k, h in SERVER_HISTS.items():
        n = after.get(h + "_count", 0) - before.get(h + "_count", 0)
        s = after.get(h + "_sum", 0) - before.get(h + "_sum", 0)
        out[k] = s / n * 1e3 if n > 0 else None
        out[k + "_n"] = n
    return out


def own_means(d):
    j = json.load(open(os.path.join(d, "profile_export_aiperf.json")))
    get = lambda tag: (j.get(tag) or {}).get("avg")
    return {"ttft": get("time_to_first_token"), "itl": get("inter_token_latency"),
            "e2e": get("request_latency"), "count": (j.get("request_count") or {}).get("avg")}


ENDPOINTS = {"chat": "/v1/chat/completions", "completions": "/v1/completions",
             "responses": "/v1/responses"}


ONLY = set(filter(None, os.environ.get("REAL_ONLY", "").split(",")))


def want(group):
    """REAL_ONLY=group,group runs only those groups (for working on the tier itself)."""
    return not ONLY or group in ONLY


def base():
    model = "tiny"
    common = ["--model", model, "--random-seed", "1", "--ui-type", "none"]
    figures = []

    # 1. Every endpoint, streaming and not: all succeed, OSL = the server's usage count.
    if want("endpoints"):
        for ep, path in ENDPOINTS.items():
            for stream in (False, True):
                name = f"{ep} {'streaming' if stream else 'non-streaming'}"
                d = os.path.join(A.out, f"endpoint-{ep}-{'stream' if stream else 'plain'}")
                log = ProxyLog()
                n = 6
                rc, out = metronome(["profile", *common, "--url", PROXY, "--endpoint-type", ep,
                                     *(["--streaming"] if stream else []), "--request-count", str(n),
                                     "--concurrency", "2", "--isl", "64", "--osl", "24",
                                     "--artifact-dir", d])
                lines = log.lines(n)
                recs = export_records(d)
                bad = []
                if rc != 0:
                    bad.append(f"exit {rc}: {tail(out)}")
                if len(lines) != n or any(l["status"] != 200 for l in lines):
                    bad.append(f"server saw {len(lines)} requests, statuses "
                               f"{sorted(set(l['status'] for l in lines))}")
                if any(l["path"] != path for l in lines):
                    bad.append(f"paths {sorted(set(l['path'] for l in lines))}")
                if len(recs) != n or any(r.get("error") for r in recs.values()):
                    bad.append(f"{len(recs)} records, errors "
                               f"{[r['error'] for r in recs.values() if r.get('error')][:2]}")
                mism = []
                for l in lines:
                    sv, r = server_view(l), recs.get(l["id"])
                    ours = metric(r, "output_sequence_length") if r else None
                    if sv["completion_tokens"] is None or ours != sv["completion_tokens"]:
                        mism.append(f"request {l['id']}: ours {ours}, usage {sv['completion_tokens']}")
                if mism:
                    bad.append(f"OSL differs from the server's usage in {len(mism)}/{len(lines)}: "
                               + "; ".join(mism[:3]))
                check(f"{name}: every request succeeds, OSL = server usage", not bad, "; ".join(bad))

    # 2. A base URL ending in /v1 (AIPerf strips it; /v1/v1/... is a 404).
    if want("url-v1"):
        d = os.path.join(A.out, "url-v1")
        log = ProxyLog()
        rc, out = metronome(["profile", *common, "--url", PROXY + "/v1", "--endpoint-type", "chat",
                             "--streaming", "--request-count", "3", "--isl", "32", "--osl", "8",
                             "--artifact-dir", d])
        lines = log.lines(3)
        paths = sorted(set(l["path"] for l in lines))
        check("base URL ending in /v1: requests /v1/chat/completions and succeeds",
              rc == 0 and paths == ["/v1/chat/completions"] and len(lines) == 3
              and all(l["status"] == 200 for l in lines),
              f"exit {rc}, paths {paths}, statuses {[l['status'] for l in lines]}: {tail(out)}")

    # 3. Multi-turn with full history: 3 sessions x 3 turns, 2 at a time.
    if want("multi-turn"):
        d = os.path.join(A.out, "multi-turn")
        log = ProxyLog()
        sessions, turns = 3, 3
        rc, out = metronome(["profile", *common, "--url", PROXY, "--endpoint-type", "chat",
                             "--streaming", "--conversation-num", str(sessions),
                             "--conversation-turn-mean", str(turns), "--conversation-turn-stddev", "0",
                             "--concurrency", "2", "--isl", "32", "--osl", "12", "--artifact-dir", d])
        lines = log.lines(sessions * turns)
        check(f"multi-turn: all {sessions * turns} turns of {sessions} sessions sent and succeed",
              rc == 0 and len(lines) == sessions * turns and all(l["status"] == 200 for l in lines),
              f"exit {rc}, server saw {len(lines)} requests, statuses "
              f"{sorted(set(l['status'] for l in lines))}: {tail(out)}")
        recs = export_records(d)
        by_session = {}
        for l in lines:
            r = recs.get(l["id"])
            if r:
                by_session.setdefault(r["metadata"]["conversation_id"], []).append(
                    (r["metadata"]["turn_index"], l))
        bad = [] if by_session else ["no records to map requests to sessions"]
        rc_ = lambda m: (m.get("role"), m.get("content"))
        for sid, tl in sorted(by_session.items()):
            tl.sort(key=lambda x: x[0])
            prev = None
            for k, l in tl:
                msgs = (l["body"] or {}).get("messages") or []
                if prev is None:
                    if len(msgs) != 1 or msgs[0].get("role") != "user":
                        bad.append(f"{sid} turn {k}: first turn has {len(msgs)} messages")
                else:
                    pmsgs, reply = prev
                    expect = [rc_(m) for m in pmsgs] + [("assistant", reply)]
                    if len(msgs) != len(expect) + 1 or \
                            [rc_(m) for m in msgs[:len(expect)]] != expect or \
                            msgs[-1].get("role") != "user":
                        bad.append(f"{sid} turn {k}: {len(msgs)} messages (roles "
                                   f"{[m.get('role') for m in msgs]}), want the {len(pmsgs)} of the "
                                   f"previous turn + its reply ({len(reply)} chars) + a user turn")
                prev = (msgs, server_view(l)["text"])
        # Over whatever was sent (the count is the check above), but never vacuously: at
        # least one later turn per session must have been checked.
        later = sum(max(0, len(tl) - 1) for tl in by_session.values())
        if later < sessions:
            bad.append(f"only {later} later turns were sent")
        check("multi-turn: turn k carries every earlier turn and the server's replies as received",
              not bad, "; ".join(bad[:4]))

    # 4. A wrong model name: vLLM answers 404 to every request; a clear error, exit != 0.
    if want("wrong-model"):
        for cmd in ("profile", "replay"):
            d = os.path.join(A.out, f"wrong-model-{cmd}")
            log = ProxyLog()
            if cmd == "profile":
                rc, out = metronome(["profile", "--model", "no-such-model", "--random-seed", "1",
                                     "--ui-type", "none", "--url", PROXY, "--endpoint-type", "chat",
                                     "--request-count", "2", "--isl", "16", "--osl", "4",
                                     "--artifact-dir", d])
            else:
                tr = os.path.join(A.out, "wrong-model.jsonl.zst")
                metronome(["pack", "--model", "no-such-model", "--request-count", "2", "--isl", "16",
                           "--osl", "4", "-o", tr])
                rc, out = metronome(["replay", tr, "--url", PROXY, "-o", d])
            lines = log.lines(2)
            reason = ""
            if lines:
                try:
                    reason = json.loads(lines[0]["response"])["error"]["message"]
                except (ValueError, KeyError, TypeError):
                    reason = lines[0]["response"]
            check(f"wrong model name ({cmd}): non-zero exit, the server's reason shown",
                  rc not in (0, "timeout") and shows(out, reason),
                  f"exit {rc}, server said {reason!r} ({[l['status'] for l in lines]}); "
                  f"output ends: {tail(out)}")

    # 5. An over-long prompt: vLLM answers 400 with a long reason; it must reach the user whole.
    if want("overlong"):
        d = os.path.join(A.out, "overlong")
        log = ProxyLog()
        rc, out = metronome(["profile", *common, "--url", PROXY, "--endpoint-type", "chat",
                             "--streaming", "--request-count", "2", "--isl", "4000", "--osl", "16",
                             "--artifact-dir", d])
        lines = log.lines(2)
        reason = ""
        try:
            reason = json.loads(lines[0]["response"])["error"]["message"]
        except (IndexError, ValueError, KeyError, TypeError):
            pass
        statuses = [l["status"] for l in lines]
        recs = export_records(d)
        errs = [r.get("error") or {} for r in recs.values()]
        check("over-long prompt: vLLM's 400 recorded for every request",
              statuses == [400, 400] and len(errs) == 2 and all(e.get("code") == 400 for e in errs),
              f"server statuses {statuses}, export errors {errs}")
        check("over-long prompt: the server's full reason in the console output",
              len(reason) > 100 and shows(out, reason),
              f"server reason ({len(reason)} chars) {reason!r} not found whole in: {tail(out, 8)}")
        check("over-long prompt: the server's full reason in profile_export.jsonl",
              len(reason) > 100 and errs and all(reason in (e.get("message") or "") for e in errs),
              f"server reason ({len(reason)} chars); export messages "
              f"{[e.get('message') for e in errs][:1]}")
        check("over-long prompt: a run with no successful request exits non-zero",
              rc not in (0, "timeout"), f"exit {rc}")

    # 5b. Near the context limit vLLM caps max_tokens at max_model_len - prompt: fewer output
    # tokens than --osl asked. AIPerf counts those (osl_mismatch_count) and warns; so must we.
    if want("osl-cap"):
        d = os.path.join(A.out, "osl-cap")
        log = ProxyLog()
        osl = 1000
        rc, out = metronome(["profile", *common, "--url", PROXY, "--endpoint-type", "chat",
                             "--streaming", "--request-count", "2", "--concurrency", "2",
                             "--isl", "1750", "--osl", str(osl), "--artifact-dir", d])
        lines = log.lines(2)
        got = [server_view(l)["completion_tokens"] for l in lines]
        short = sum(1 for g in got if g is not None and abs(g - osl) > min(50, osl * 0.05))
        count = None
        try:
            m = json.load(open(os.path.join(d, "profile_export_aiperf.json"))).get(
                "osl_mismatch_count")
            count = m.get("avg", m.get("value")) if isinstance(m, dict) else m
        except (OSError, ValueError):
            pass
        check("server capped the output below --osl: counted (osl_mismatch_count) and warned",
              rc == 0 and len(lines) == 2 and all(l["status"] == 200 for l in lines)
              and short == 2 and count == short
              and "Output Sequence Length Mismatch" in out,
              f"exit {rc}; server statuses {[l['status'] for l in lines]}, completion tokens "
              f"{got} for --osl {osl}; osl_mismatch_count {count}; warning "
              f"{'shown' if 'Output Sequence Length Mismatch' in out else 'missing'}")

    # 6. replay --no-streaming on a streaming trace: no stream_options, every request succeeds.
    if want("no-streaming"):
        tr = os.path.join(A.out, "streaming.jsonl.zst")
        rc, out = metronome(["pack", "--model", model, "--streaming", "--request-count", "4",
                             "--isl", "32", "--osl", "8", "-o", tr])
        d = os.path.join(A.out, "no-streaming")
        log = ProxyLog()
        rc, out = metronome(["replay", tr, "--no-streaming", "--url", PROXY, "--concurrency", "2",
                             "--quiet", "-o", d])
        lines = log.lines(4)
        bodies = [l["body"] or {} for l in lines]
        check("replay --no-streaming on a streaming trace: no stream_options, all succeed",
              rc == 0 and len(lines) == 4 and all(l["status"] == 200 for l in lines)
              and all(b.get("stream") in (False, None) and "stream_options" not in b for b in bodies),
              f"exit {rc}; statuses {[l['status'] for l in lines]}; stream/stream_options sent: "
              f"{[(b.get('stream'), b.get('stream_options')) for b in bodies]}; {tail(out)}")

    # 7. TLS to a server that is not ours (Python's ssl, i.e. OpenSSL, in front of vLLM):
    # an RSA-2048 certificate (what most endpoints use) and an ECDSA P-256 one, each over
    # TLS 1.3 and from a TLS 1.2-only server.
    if want("tls"):
        tr = os.path.join(A.out, "tls.jsonl.zst")
        metronome(["pack", "--model", model, "--streaming", "--request-count", "2",
                   "--isl", "16", "--osl", "4", "-o", tr])
        keys = {"RSA-2048": ["-newkey", "rsa:2048"],
                "ECDSA P-256": ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1"]}
        for kind, version in (("RSA-2048", "1.3"), ("RSA-2048", "1.2"), ("ECDSA P-256", "1.3"),
                              ("ECDSA P-256", "1.2")):
            tag = kind.split()[0].split("-")[0].lower() + "-" + version
            cert, key = (os.path.join(A.out, f"tls-{tag}-{n}.pem") for n in ("cert", "key"))
            subprocess.run(["openssl", "req", "-x509", *keys[kind], "-nodes", "-days", "2",
                            "-subj", "/CN=127.0.0.1", "-addext",
                            "subjectAltName=IP:127.0.0.1,DNS:localhost",
                            "-keyout", key, "-out", cert], capture_output=True, check=True)
            plog = os.path.join(A.out, f"proxy-tls-{tag}.log")
            open(plog, "w").close()
            s_ = socket.socket()
            s_.bind(("127.0.0.1", 0))
            port = s_.getsockname()[1]
            s_.close()
            srv = subprocess.Popen([sys.executable, os.path.join(os.path.dirname(
                os.path.abspath(__file__)), "proxy.py"), str(port), str(A.vllm_port), plog,
                cert, key, version])
            try:
                for _ in range(100):
                    try:
                        socket.create_connection(("127.0.0.1", port), timeout=1).close()
                        break
                    except OSError:
                        time.sleep(0.1)
                d = os.path.join(A.out, f"tls-{tag}")
                # no /metrics scrape: the proxy's log must hold the trace's requests only
                rc, out = metronome(["replay", tr, "--url", f"https://127.0.0.1:{port}",
                                     "--ca-file", cert, "--no-server-metrics", "--quiet",
                                     "-o", d], timeout=120)
                time.sleep(0.3)
                lines = [json.loads(l) for l in open(plog) if l.strip()]
            finally:
                srv.terminate()
                srv.wait(10)
            check(f"TLS ({'a 1.2-only server' if version == '1.2' else '1.3'}) with an "
                  f"{kind} certificate (Python ssl in front of vLLM): "
                  "every request succeeds", rc == 0 and len(lines) == 2
                  and all(l["status"] == 200 for l in lines),
                  f"exit {rc}, server saw {len(lines)} requests: {tail(out)}")

    # 7b. Server metrics (issue 13): the scraped series are present and plausible, and the
    #     export's field names equal AIPerf 0.13's for a run against the same server.
    if want("server-metrics"):
        sm = {}
        for conc, n in ((1, 6), (4, 16)):
            d = os.path.join(A.out, f"server-metrics-c{conc}")
            rc, out = metronome(["profile", "--model", model, "--url", VLLM, "--endpoint-type",
                                 "chat", "--streaming", "--concurrency", str(conc),
                                 "--request-count", str(n), "--isl", "256", "--osl", "64",
                                 "--random-seed", "1", "--server-metrics-interval", "0.2",
                                 "--server-metrics-formats", "json", "csv", "jsonl",
                                 "--ui-type", "none", "--artifact-dir", d])
            x = {}
            try:
                x = json.load(open(os.path.join(d, "server_metrics_crosscheck.json")))
            except (OSError, ValueError):
                pass
            sm[conc] = (rc, out, x, d)
        bad = []
        for conc, (rc, out, x, d) in sm.items():
            w = x.get("window", {})
            rows = {r["metric"]: r for r in x.get("crosscheck", [])}
            ser = x.get("series", {})
            if rc != 0 or not x:
                bad.append(f"c{conc}: exit {rc}: {tail(out)}")
                continue
            if w.get("requests_server") != w.get("requests_ours"):
                bad.append(f"c{conc}: requests counted by vLLM {w.get('requests_server')}, "
                           f"by us {w.get('requests_ours')}")
            for m in ("time_to_first_token", "request_latency", "inter_token_latency"):
                r = rows.get(m, {})
                if r.get("server_mean_ms") is None or r.get("overhead_ms") is None:
                    bad.append(f"c{conc}: no {m} cross-check: {r}")
                elif not -1.0 <= r["overhead_ms"] <= max(15.0, 0.15 * r["server_mean_ms"]):
                    bad.append(f"c{conc}: {m} overhead {r['overhead_ms']:.2f} ms")
            for k in ("num_requests_running", "num_requests_waiting", "kv_cache_usage"):
                if k not in ser:
                    bad.append(f"c{conc}: series {k} missing")
        if not bad:
            k1 = sm[1][2]["series"]["kv_cache_usage"]["max"]
            k4 = sm[4][2]["series"]["kv_cache_usage"]["max"]
            if not k4 > k1:
                bad.append(f"KV-cache usage max {k1} at c1, {k4} at c4: did not rise")
            r4 = sm[4][2]["series"]["num_requests_running"]["max"]
            if not 2 <= r4 <= 4:
                bad.append(f"running requests max {r4} at c4")
        check("server metrics against vLLM: series present, requests counted alike, "
              "overheads plausible, KV-cache usage rises with concurrency", not bad,
              "; ".join(bad[:4]))
        if A.aiperf_venv and sm[4][0] == 0:
            sys.path.insert(0, os.path.join(os.path.dirname(__file__), "..", "e2e"))
            import aiperf_fields
            d = os.path.join(A.out, "server-metrics-aiperf")
            env = dict(os.environ, HF_HUB_CACHE=A.hf_cache, HF_HUB_OFFLINE="1",
                       TRANSFORMERS_OFFLINE="1")
            try:
                p = subprocess.run([os.path.join(A.aiperf_venv, "bin", "aiperf"), "profile",
                                    "--model", model, "--url", VLLM, "--endpoint-type", "chat",
                                    "--streaming", "--concurrency", "2", "--request-count", "6",
                                    "--synthetic-input-tokens-mean", "64",
                                    "--output-tokens-mean", "16", "--ui", "none",
                                    "--tokenizer", "local/tiny-llama",
                                    "--server-metrics-formats", "json", "csv", "jsonl",
                                    "--artifact-dir", d], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT, env=env)
                rc, aout = p.returncode, p.stdout + p.stderr
            except subprocess.TimeoutExpired:
                rc, aout = "timeout", ""
            for f in ("server_metrics_export.jsonl", "server_metrics_export.json",
                      "server_metrics_export.csv"):
                theirs = aiperf_fields.fields(d).get(f)
                ours = aiperf_fields.fields(sm[4][3]).get(f)
                diff = {k: (sorted(set(theirs[k]) ^ set(ours[k])) if isinstance(theirs[k], list)
                            else {t: sorted(set(theirs[k].get(t, [])) ^ set(ours[k].get(t, [])))
                                  for t in set(theirs[k]) | set(ours[k])})
                        for k in theirs or {} if ours and theirs[k] != ours.get(k)}
                check(f"{f}: the same metric names and fields as AIPerf 0.13's export against "
                      "the same vLLM", rc == 0 and theirs and ours and not diff,
                      f"exit {rc}: {tail(aout)}" if rc != 0 or not theirs
                      else f"differ: {diff}" if ours else "ours is missing")

    # 8. Our figures against vLLM's own histograms for the same run, then AIPerf's.
    if want("timing"):
        opts = ["--endpoint-type", "chat", "--streaming", "--concurrency", "1", "--request-count",
                "16", "--isl", "128", "--osl", "64", "--random-seed", "1"]
        d = os.path.join(A.out, "timing-metronome")
        before = scrape()
        rc, out = metronome(["profile", "--model", model, "--url", VLLM, *opts, "--ui-type", "none",
                             "--artifact-dir", d])
        after = scrape()
        srv = server_means(before, after)
        ok_run = rc == 0 and os.path.exists(os.path.join(d, "profile_export_aiperf.json"))
        ours = own_means(d) if ok_run else {}
        figures.append(("metronome", ours, srv))
        # Tolerance. vLLM's clocks start when its frontend has parsed and tokenized the request
        # and stop when the detokenized output is produced; ours start before the first byte is
        # written and stop at the arrival of the bytes. Ours must therefore never be below the
        # server's (1 ms of slack for rounding and histogram float sums), and may exceed it by
        # the HTTP + template + SSE overhead: at most 15 ms or 15 % (the larger) on this shared
        # 2-core host. ITL is a difference of arrivals on both sides: within 1 ms or 15 %.
        bad = []
        if not ok_run:
            bad.append(f"exit {rc}: {tail(out)}")
        elif srv["ttft_n"] != 16 or srv["e2e_n"] != 16:
            bad.append(f"vLLM counted {srv['ttft_n']} TTFTs / {srv['e2e_n']} e2e for 16 requests")
        else:
            for k in ("ttft", "e2e"):
                s, o = srv[k], ours[k]
                if o is None or not (s - 1.0 <= o <= s + max(15.0, 0.15 * s)):
                    bad.append(f"{k}: ours {o} ms, vLLM {s:.3f} ms")
            s, o = srv["itl"], ours["itl"]
            if o is None or s is None or abs(o - s) > max(1.0, 0.15 * s):
                bad.append(f"itl: ours {o} ms, vLLM {s} ms")
        check("TTFT / e2e / ITL means within tolerance of vLLM's /metrics for the same run "
              "(TTFT, e2e: server-1ms..server+max(15ms,15%); ITL: +-max(1ms,15%))",
              not bad, "; ".join(bad))

        if A.aiperf_venv:
            d = os.path.join(A.out, "timing-aiperf")
            env = dict(os.environ, HF_HUB_CACHE=A.hf_cache, HF_HUB_OFFLINE="1",
                       TRANSFORMERS_OFFLINE="1")
            before = scrape()
            t0 = time.time()
            try:
                p = subprocess.run([os.path.join(A.aiperf_venv, "bin", "aiperf"), "profile",
                                    "--model", model, "--url", VLLM, *opts, "--ui", "none",
                                    "--tokenizer", "local/tiny-llama", "--use-server-token-count",
                                    "--artifact-dir", d], capture_output=True, text=True,
                                   timeout=RUN_TIMEOUT, env=env)
                rc, aout = p.returncode, p.stdout + p.stderr
            except subprocess.TimeoutExpired:
                rc, aout = "timeout", ""
            with open(os.path.join(A.out, "aiperf.log"), "w") as f:
                f.write(f"# exit {rc} after {time.time() - t0:.1f} s\n{aout}")
            after = scrape()
            srv_a = server_means(before, after)
            ok_a = rc == 0 and os.path.exists(os.path.join(d, "profile_export_aiperf.json"))
            theirs = own_means(d) if ok_a else {}
            figures.append(("aiperf 0.13", theirs, srv_a))
            check("AIPerf 0.13 runs the same workload on the same server",
                  ok_a and theirs.get("count") == 16, f"exit {rc}: {tail(aout)}")
            loaders(os.path.join(A.out, "timing-metronome"))

    # AIPerf beside us on prompt lengths (issue 11): the same --tokenizer and --isl/--osl;
    # every prompt each tool sent, re-encoded with `tokenizers`, against --isl.
    if want("tokenizer") and A.aiperf_venv:
        script = os.path.join(os.path.dirname(os.path.abspath(__file__)), "tokenizer_isl.py")
        try:
            p = subprocess.run([os.path.join(A.aiperf_venv, "bin", "python"), script,
                                "--bin", A.bin, "--aiperf-venv", A.aiperf_venv,
                                "--hf-cache", A.hf_cache, "--tokenizer", "local/tiny-llama",
                                "--upstream-port", str(A.vllm_port), "--model", model,
                                "--out", A.out, "--isl", "128",
                                "--osl", "16", "--count", "24"],
                               capture_output=True, text=True, timeout=2 * RUN_TIMEOUT)
            rc, tout = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, tout = "timeout", ""
        print(tout, flush=True)
        check("same --tokenizer and --isl 128 as AIPerf 0.13: every metronome prompt re-encodes "
              "to exactly 128 tokens (AIPerf's figures printed beside)",
              rc == 0, f"exit {rc}: " + "; ".join(tout.strip().splitlines()[-4:]))

    if not figures:
        return
    fmt = lambda v: "-" if v is None else f"{v:9.2f}"
    table = ["run (chat, streaming, concurrency 1, 16 requests, ISL 128, OSL 64)",
             f"{'client':12s} {'view':6s} {'TTFT ms':>9s} {'ITL ms':>9s} {'e2e ms':>9s}"]
    for who, own, srv_ in figures:
        table.append(f"{who:12s} {'own':6s} {fmt(own.get('ttft'))} {fmt(own.get('itl'))} "
                     f"{fmt(own.get('e2e'))}")
        table.append(f"{'':12s} {'vLLM':6s} {fmt(srv_.get('ttft'))} {fmt(srv_.get('itl'))} "
                     f"{fmt(srv_.get('e2e'))}")
    with open(os.path.join(A.out, "figures.txt"), "w") as f:
        f.write("\n".join(table) + "\n")
    print("\n".join(table), flush=True)


def loaders(d):
    """AIPerf 0.13's own models and `aiperf plot` on our artifact directory."""
    py = os.path.join(A.aiperf_venv, "bin", "python")
    code = r'''
import sys
from pydantic import ValidationError
from aiperf.common.models import JsonExportData, MetricRecordInfo

def summary(e):
    errs = e.errors()
    locs = "; ".join(".".join(map(str, x["loc"])) + ": " + x["msg"] for x in errs[:15])
    return f"{len(errs)} validation errors: {locs}" + (" ..." if len(errs) > 15 else "")

d, what = sys.argv[1], sys.argv[2]
if what == "json":
    try:
        JsonExportData.model_validate_json(open(d + "/profile_export_aiperf.json").read())
    except ValidationError as e:
        sys.exit(summary(e))
elif what == "inputs":
    from aiperf.common.models.dataset_models import InputsFile
    try:
        InputsFile.model_validate_json(open(d + "/inputs.json").read())
    except ValidationError as e:
        sys.exit(summary(e))
else:
    n = 0
    for i, line in enumerate(open(d + "/profile_export.jsonl"), 1):
        if line.strip():
            try:
                MetricRecordInfo.model_validate_json(line)
            except ValidationError as e:
                sys.exit(f"line {i}: " + summary(e))
            n += 1
    if n == 0:
        sys.exit("no lines")
'''
    for what, name in (("json", "AIPerf 0.13 JsonExportData.model_validate_json accepts our "
                                "profile_export_aiperf.json"),
                       ("jsonl", "AIPerf 0.13 MetricRecordInfo accepts every line of our "
                                 "profile_export.jsonl"),
                       ("inputs", "AIPerf 0.13 InputsFile accepts our inputs.json")):
        p = subprocess.run([py, "-c", code, d, what], capture_output=True, text=True,
                           timeout=RUN_TIMEOUT)
        err = (p.stderr or p.stdout).strip()
        check(name, p.returncode == 0, err[-1500:])
    # `aiperf plot` renders PNGs through kaleido, which needs Chromium (run.sh installs the
    # Debian package). It logs a failed plot and still exits 0, so the check counts the
    # PNGs it wrote and its ERROR lines, and holds them against the same command on
    # AIPerf's own artifact directory from the same server (when there is one).
    def plot(run_dir, tag):
        dest = os.path.join(A.out, f"plots-{tag}")
        env = dict(os.environ, HF_HUB_OFFLINE="1", HOME=os.path.join(A.out, "aiperf-home"))
        try:
            p = subprocess.run([os.path.join(A.aiperf_venv, "bin", "aiperf"), "plot", run_dir,
                                "--output", dest], capture_output=True, text=True,
                               timeout=RUN_TIMEOUT, env=env, cwd=A.out)
            rc, out = p.returncode, p.stdout + p.stderr
        except subprocess.TimeoutExpired:
            rc, out = "timeout", ""
        with open(os.path.join(A.out, f"aiperf-plot-{tag}.log"), "w") as f:
            f.write(f"# exit {rc}\n{out}")
        pngs = sorted(f for f in (os.listdir(dest) if os.path.isdir(dest) else [])
                      if f.endswith(".png"))
        errors = [l.strip() for l in out.splitlines() if " ERROR " in l or "Traceback" in l]
        return rc, pngs, errors, out

    rc, pngs, errors, out = plot(d, "metronome")
    theirs = os.path.join(A.out, "timing-aiperf")
    ref = plot(theirs, "aiperf")[1] if os.path.exists(theirs) else []
    missing = sorted(set(ref) - set(pngs))
    check("aiperf plot on our artifact directory: the plots it makes for AIPerf's own, "
          "no errors", rc == 0 and pngs and not errors and not missing,
          f"exit {rc}; {len(pngs)} PNGs ({len(ref)} for AIPerf's own run); missing "
          f"{missing}; errors {errors[:3]}: {tail(out, 4)}")


def reasoning():
    # The reasoning model's template opens <think>, so deepseek_r1 streams tokens as
    # delta.reasoning until </think>. Ground truth from what the server sent: each event
    # with reasoning text carries at least one token, and the reasoning tokens are at most
    # the server's completion_tokens. vLLM's usage reports reasoning_tokens 0 or nothing.
    d = os.path.join(A.out, "reasoning")
    log = ProxyLog()
    n = 4
    rc, out = metronome(["profile", "--model", "tiny-reasoning", "--random-seed", "1",
                         "--ui-type", "none", "--url", PROXY, "--endpoint-type", "chat",
                         "--streaming", "--request-count", str(n), "--concurrency", "2",
                         "--isl", "32", "--osl", "48", "--artifact-dir", d])
    lines = log.lines(n)
    recs = export_records(d)
    bad = []
    if rc != 0 or len(lines) != n:
        bad.append(f"exit {rc}, {len(lines)} requests: {tail(out)}")
    server_says_zero = False
    for l in lines:
        sv, r = server_view(l), recs.get(l["id"])
        ours = metric(r, "reasoning_token_count") if r else None
        if sv["reasoning_events"] == 0:
            bad.append(f"request {l['id']}: the server streamed no reasoning (test setup)")
            continue
        if not sv["reasoning_tokens"]:
            server_says_zero = True
        if ours is None or not (sv["reasoning_events"] <= ours <= sv["completion_tokens"]):
            bad.append(f"request {l['id']}: ours {ours}, received {sv['reasoning_events']} "
                       f"reasoning events of {sv['completion_tokens']} tokens (usage says "
                       f"reasoning_tokens {sv['reasoning_tokens']})")
    check("reasoning model: reasoning tokens counted from what was received",
          not bad, "; ".join(bad[:3]))
    warned = any("warn" in l.lower() and "reasoning" in l.lower() for l in out.splitlines())
    check("reasoning model: a warning that the server's reasoning count contradicts the stream",
          server_says_zero and warned,
          "the server's usage agreed with the stream (nothing to warn about)" if not
          server_says_zero else f"no warning line mentions reasoning: {tail(out, 6)}")


base() if A.phase == "base" else reasoning()
