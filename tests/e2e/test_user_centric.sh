# AIPerf 0.13's --user-centric-rate R --num-users N through `metronome profile` against the
# mock: the users, their conversations, their turns and every send time in the records
# checked against the schedule AIPerf's definition gives (a model of it written here from
# the definition: virtual history at t=0, turns N/R apart, a new user in the slot after a
# user's last turn), the stop conditions, the realignment after a slow reply, and bad
# values refused before anything is packed or sent.
. "$E2E_ROOT/tests/e2e/lib.sh"
PYTHONPATH="$E2E_ROOT/tests/e2e" python3 - <<'PY'
import heapq, json, math, os, subprocess
from replay_lib import BIN, TMP, Mock, records, check, err

MS = 1e6


def profile(url, name, *args, expect=0):
    out = os.path.join(TMP, name)
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", url, "--ui", "none",
                        "--artifact-dir", out, "--isl", "8", "--osl", "2", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == expect, name, "exit", p.returncode, p.stderr[-2000:])
    if expect:
        return p.stderr, out
    run = json.load(open(os.path.join(out, "run.json")))
    recs = records(out)
    t0 = run["start"]["t0_mono_ns"] - run["anchor"]["mono_ns"]
    return recs, t0, out


def model(N, R, turns, pool, count=None, duration=None, sessions=None, draws=None):
    """AIPerf 0.13's user-centric schedule for a pool of `pool` conversations of `turns`
    turns each: {user id: (pool index, [send times in s])}. The users take their
    conversations from `draws` (an iterator of pool indexes: AIPerf's sampler after what
    a warmup drew), else in order from the first (sequential sampling)."""
    if draws is None:
        draws = (k % pool for k in range(10 ** 9))
    stagger, gap = 1.0 / R, N / R
    life = max(1, turns - 1)
    alt = math.gcd(N, life) > 1
    step = next((k for k in range(2, N) if math.gcd(N, k) == 1), 1)
    users, uid = {}, 1
    for i in range(N):
        age = (N - i) * life
        left = life - age // N
        if left <= 0:
            uid += 1
            continue
        si = (i * step) % N if alt else age % N
        order = N - si
        users[uid] = (next(draws), [order * stagger + k * gap for k in range(min(left, turns))])
        uid += 1
    users[uid] = (next(draws), [k * gap for k in range(turns)])
    uid += 1
    heap = [u[1][0] + len(u[1]) * gap for u in users.values()]
    heapq.heapify(heap)
    horizon = min(x for x in [count / R if count else None, duration] if x is not None) \
        if (count or duration) else 1e18
    while heap and heap[0] < horizon - 1e-9 and (not sessions or len(users) < sessions):
        t = heapq.heappop(heap)
        users[uid] = (next(draws), [t + k * gap for k in range(turns)])
        heapq.heappush(heap, t + turns * gap)
        uid += 1
    sends = sorted((t, u, k) for u, (c, ts) in users.items() for k, t in enumerate(ts))
    if duration:
        sends = [s for s in sends if s[0] < duration - 1e-9]
    if count:
        sends = sends[:count]
    out = {}
    for t, u, k in sends:
        out.setdefault(u, (users[u][0], []))[1].append(t)
    return out


def first_bodies(out):
    """Each session's first-turn body in the packed trace (the conversation it took)."""
    p = subprocess.run(["zstdcat", os.path.join(out, "trace.jsonl.zst")], stdout=subprocess.PIPE,
                       text=True, check=True)
    b = {}
    for line in p.stdout.splitlines()[1:]:
        r = json.loads(line)
        if "session" in r and r.get("turn") == 0:
            b[r["session"]] = json.dumps(r["body"], sort_keys=True)
    return b


def check_schedule(recs, t0, out, want, gap, what):
    prof = [r for r in recs if r["phase"] == "profile"]
    check(not any(err(r) for r in prof), what, "errors")
    got = {}
    for r in prof:
        got.setdefault(int(r["conv"]), []).append(r)
    check(sorted(got) == sorted(want), what, "users", sorted(got), sorted(want))
    for u, rs in got.items():
        rs.sort(key=lambda r: r["turn"])
        c, ts = want[u]
        check([r["turn"] for r in rs] == list(range(len(ts))), what, "turns of user", u,
              [r["turn"] for r in rs], len(ts))
        # the first turn on its slot, within 1 ms of the definition; each later one a turn
        # gap after the one before, or at its reply's end when that came later (AIPerf's
        # max(now, next_send_time + turn_gap): a reply slowed by a loaded machine shifts
        # the user's later turns)
        r, t = rs[0], ts[0]
        check(abs(r["t_intended"] - t0 - t * 1e9) < 1 * MS, what, "user", u, "turn 0",
              (r["t_intended"] - t0) / MS, t * 1e3)
        for a, b, t in zip(rs, rs[1:], ts[1:]):
            exp = max(a["t_intended"] + gap * 1e9, a["t_end"])
            check(abs(b["t_intended"] - exp) < 1 * MS, what, "user", u, "turn", b["turn"],
                  (b["t_intended"] - t0) / MS, t * 1e3, (a["t_end"] - t0) / MS)
            check(b["t_intended"] - t0 > t * 1e9 - 1 * MS, what, "early", u, b["turn"])
    # the users that took the same pool conversation sent the same first turn
    fb = first_bodies(out)
    for u in want:
        for v in want:
            if u < v:
                same = want[u][0] == want[v][0]
                check((fb[str(u)] == fb[str(v)]) == same, what, "conversation of", u, v, same)
    late = sorted(r["t_start"] - r["t_intended"] for r in prof)
    check(late[len(late) // 2] < 1 * MS, what, "lateness p50", late[len(late) // 2])
    # 2 shared cores: a send is preempted now and then (tens of ms seen at load 6)
    check(late[-1] < 250 * MS, what, "lateness max", late[-1])


with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    # 5 users at 8 req/s, 3 turns (AIPerf's own example shape): 30 requests
    recs, t0, out = profile(m.url, "uc5", "--user-centric-rate", "8", "--num-users", "5",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "4",
                            "--request-count", "30")
    want = model(5, 8, 3, 4, count=30)
    check(sum(len(ts) for _, ts in want.values()) == 30, "uc5 model count")
    check_schedule(recs, t0, out, want, 5 / 8, "uc5")
    # AIPerf sent exactly this for 5 users, 4 req/s, 3 turns, 20 requests (users 2..6 at
    # 0.5, 1.0, 0.25, 0.75, 0 s with 1, 1, 2, 2, 3 turns; user 7 at 1.75 s)
    w4 = model(5, 4, 3, 4, count=20)
    check({u: (len(ts), ts[0]) for u, (c, ts) in w4.items() if u <= 7} ==
          {2: (1, 0.5), 3: (1, 1.0), 4: (2, 0.25), 5: (2, 0.75), 6: (3, 0.0), 7: (3, 1.75)},
          "model against AIPerf's run", w4)
    # the artifact directory is AIPerf's name for the phase
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none", "--isl", "8",
                        "--osl", "1", "--user-centric-rate", "20", "--num-users", "2",
                        "--conversation-turn-mean", "2", "--request-count", "2"],
                       cwd=TMP, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0 and os.path.isdir(os.path.join(
        TMP, "artifacts", "m-openai-chat-user_centric-users2-qps20.0")), "dir name", p.stderr)

    # 6 users, 4 turns: gcd(6, 3) > 1, AIPerf's alternate spacing; a benchmark duration
    recs, t0, out = profile(m.url, "uc6", "--user-centric-rate", "12", "--num-users", "6",
                            "--conversation-turn-mean", "4", "--num-dataset-entries", "5",
                            "--benchmark-duration", "2.2")
    want = model(6, 12, 4, 5, duration=2.2)
    check(sum(len(ts) for _, ts in want.values()) == 27, "uc6 sends before 2.2 s")
    check_schedule(recs, t0, out, want, 6 / 12, "uc6")

    # --conversation-num: the first 7 users, every turn of each (AIPerf sent these 11
    # requests for this shape: users 2, 3, 4 one turn, 5 two, 6, 7, 8 two at 0.5-1.1 s)
    recs, t0, out = profile(m.url, "ucs", "--user-centric-rate", "10", "--num-users", "4",
                            "--conversation-turn-mean", "2", "--conversation-num", "7")
    want = model(4, 10, 2, 7, sessions=7)
    check(len(want) == 7 and sum(len(ts) for _, ts in want.values()) == 11, "ucs model")
    check_schedule(recs, t0, out, want, 4 / 10, "ucs")


def warm_model(pool, turns, conc, requests=None, sessions=None, rate=False):
    """AIPerf 0.13's warmup phase before a user-centric one, from the same sequential
    sampler: its closed loop of `conc` sessions issues round by round (a session's next
    turn once its reply is in, a new session in the slot of one that ended); a rate
    warmup whose replies beat its ticks sends a session's turns one after the other. Cut
    at `requests` sends, `sessions` sessions. Returns ([turns sent per warmup session],
    the draws left for the users: after the warmup's and the one its rate loop drew
    ahead of need)."""
    kept, sent, k = [], 0, 0
    more = lambda: (requests is None or sent < requests)
    if rate:
        while more() and (sessions is None or len(kept) < sessions):
            kept.append(0)
            while kept[-1] < turns and more():
                kept[-1] += 1
                sent += 1
    else:
        slot = [None] * conc
        busy = True
        while busy and more():
            busy = False
            for i in range(conc):
                if not more():
                    break
                if slot[i] is None or kept[slot[i]] >= turns:
                    if sessions is not None and len(kept) >= sessions:
                        slot[i] = None
                        continue
                    kept.append(0)
                    slot[i] = len(kept) - 1
                kept[slot[i]] += 1
                sent += 1
                busy = True
    first = len(kept) + 1
    return kept, (k % pool for k in range(first, 10 ** 9))


def check_warmup(recs, out, kept, conc, what):
    warm = [r for r in recs if r["phase"] == "warmup"]
    prof = [r for r in recs if r["phase"] == "profile"]
    check(not any(err(r) for r in warm), what, "warmup errors")
    check(len(warm) == sum(kept), what, "warmup requests", len(warm), sum(kept))
    by = {}
    for r in warm:
        by.setdefault(r["conv"], []).append(r)
    check(sorted(len(v) for v in by.values()) == sorted(kept), what, "warmup sessions",
          {c: len(v) for c, v in by.items()}, kept)
    spans = []
    for rs in by.values():
        rs.sort(key=lambda r: r["turn"])
        check([r["turn"] for r in rs] == list(range(len(rs))), what, "warmup turns")
        for a, b in zip(rs, rs[1:]):
            check(b["t_start"] >= a["t_end"], what, "a warmup session's turns in turn")
        spans.append((rs[0]["t_start"], rs[-1]["t_end"]))
    ev = sorted([(a, 1) for a, _ in spans] + [(b, -1) for _, b in spans], key=lambda e: (e[0], e[1]))
    n = most = 0
    for _, dlt in ev:
        n += dlt
        most = max(most, n)
    if conc:
        check(most == min(conc, len(kept)), what, "warmup sessions at once", most, conc)
    # warmup first, drained, then the schedule
    check(min(r["t_start"] for r in prof) >= max(r["t_end"] for r in warm), what, "drained")
    return by


def check_warm_convs(out, kept, want, what):
    """The warmup's sessions took the first conversations (w1: 0, w2: 1, ...): each has
    the first turn of the users that drew the same one, and of no other."""
    fb = first_bodies(out)
    for j in range(len(kept)):
        for u, (c, ts) in want.items():
            check((fb["w%d" % (j + 1)] == fb[str(u)]) == (c == j), what, "warmup session",
                  j + 1, "and user", u, c)


with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    # AIPerf's closed-loop warmup (the default) of 2 sessions, 5 requests: 3 + 2 turns,
    # then the users from conversation 3 on (the warmup drew 0, 1 and one ahead)
    kept, draws = warm_model(7, 3, 2, requests=5)
    check(kept == [3, 2], "warm model", kept)
    recs, t0, out = profile(m.url, "ucw", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--warmup-request-count", "5",
                            "--warmup-concurrency", "2")
    want = model(3, 10, 3, 7, count=9, draws=draws)
    check_warmup(recs, out, kept, 2, "ucw")
    check_schedule(recs, t0, out, want, 3 / 10, "ucw")
    check_warm_convs(out, kept, want, "ucw")
    # --num-warmup-sessions 3, closed loop of one session (AIPerf's default concurrency):
    # each session whole, one after the other
    kept, draws = warm_model(7, 3, 1, sessions=3)
    check(kept == [3, 3, 3], "warm model 1", kept)
    recs, t0, out = profile(m.url, "ucw1", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--num-warmup-sessions", "3")
    want = model(3, 10, 3, 7, count=9, draws=draws)
    check_warmup(recs, out, kept, 1, "ucw1")
    check_schedule(recs, t0, out, want, 3 / 10, "ucw1")
    check_warm_convs(out, kept, want, "ucw1")
    # --num-warmup-sessions at a rate (--warmup-request-rate): whole sessions one after
    # the other, a tick per request, later turns too (constant 40 req/s: every 25 ms; what
    # AIPerf 0.13 sent for this command line: 0, 26, 50, 75, 100, 125 ms)
    kept, draws = warm_model(7, 3, 0, sessions=2, rate=True)
    recs, t0, out = profile(m.url, "ucwr", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--num-warmup-sessions", "2",
                            "--warmup-request-rate", "40", "--warmup-arrival-pattern",
                            "constant")
    want = model(3, 10, 3, 7, count=9, draws=draws)
    by = check_warmup(recs, out, kept, None, "ucwr")
    ticks = sorted(r["t_intended"] for rs in by.values() for r in rs)
    order = [(r["conv"], r["turn"]) for r in sorted((r for rs in by.values() for r in rs),
                                                    key=lambda r: r["t_intended"])]
    check(order == [("w1", 0), ("w1", 1), ("w1", 2), ("w2", 0), ("w2", 1), ("w2", 2)],
          "ucwr order", order)
    check(all(abs(t - ticks[0] - k * 25 * MS) < 1 * MS for k, t in enumerate(ticks)),
          "ucwr rate ticks", [(t - ticks[0]) / MS for t in ticks])
    check_schedule(recs, t0, out, want, 3 / 10, "ucwr")
    check_warm_convs(out, kept, want, "ucwr")

with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    # --request-rate: the user-centric phase runs at --user-centric-rate whatever it says
    recs, t0, out = profile(m.url, "ucrr", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--request-rate", "2")
    check(not [r for r in recs if r["phase"] == "warmup"], "ucrr: no warmup")
    check_schedule(recs, t0, out, model(3, 10, 3, 7, count=9), 3 / 10, "ucrr")
    # ... and is AIPerf's warmup rate when there is a warmup (no --warmup-request-rate)
    kept, draws = warm_model(7, 3, 0, sessions=2, rate=True)
    recs, t0, out = profile(m.url, "ucrrw", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--num-warmup-sessions", "2",
                            "--request-rate", "40", "--warmup-arrival-pattern", "constant")
    want = model(3, 10, 3, 7, count=9, draws=draws)
    by = check_warmup(recs, out, kept, None, "ucrrw")
    firsts = sorted(min(r["t_intended"] for r in rs) for rs in by.values())
    check(abs(firsts[1] - firsts[0] - 75 * MS) < 1 * MS, "ucrrw: the warmup at --request-rate",
          (firsts[1] - firsts[0]) / MS)
    check_schedule(recs, t0, out, want, 3 / 10, "ucrrw")
    # --arrival-pattern: nothing to the user-centric phase (concurrency_burst included) ...
    recs, t0, out = profile(m.url, "ucap", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--arrival-pattern", "concurrency_burst")
    check_schedule(recs, t0, out, model(3, 10, 3, 7, count=9), 3 / 10, "ucap")
    # ... the arrivals of a rate warmup when it has no --warmup-arrival-pattern
    kept, draws = warm_model(7, 3, 0, requests=5, rate=True)
    recs, t0, out = profile(m.url, "ucapw", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--warmup-request-count", "5",
                            "--warmup-request-rate", "40", "--arrival-pattern", "constant")
    check(kept == [3, 2], "ucapw model", kept)
    by = check_warmup(recs, out, kept, None, "ucapw")
    warm = sorted((r for rs in by.values() for r in rs if r["turn"] == 0),
                  key=lambda r: r["t_intended"])
    check(abs(warm[1]["t_intended"] - warm[0]["t_intended"] - 75 * MS) < 1 * MS,
          "ucapw: constant ticks", (warm[1]["t_intended"] - warm[0]["t_intended"]) / MS)
    check_schedule(recs, t0, out, model(3, 10, 3, 7, count=9, draws=draws), 3 / 10, "ucapw")
    # a --request-rate list: no sweep without a warmup (the list goes unused) ...
    recs, t0, out = profile(m.url, "ucrrl", "--user-centric-rate", "10", "--num-users", "3",
                            "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                            "--request-count", "9", "--request-rate", "2,4")
    check(not os.path.exists(os.path.join(out, "metronome_sweep.json")), "ucrrl: no sweep")
    check_schedule(recs, t0, out, model(3, 10, 3, 7, count=9), 3 / 10, "ucrrl")
    # ... with one, AIPerf's sweep of the warmup's rate (phases.warmup.rate: rate_<R>)
    base = os.path.join(TMP, "ucrrls")
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                        "--artifact-dir", base, "--isl", "8", "--osl", "2",
                        "--user-centric-rate", "10", "--num-users", "3",
                        "--conversation-turn-mean", "3", "--num-dataset-entries", "7",
                        "--request-count", "6", "--num-warmup-sessions", "2",
                        "--request-rate", "40,20", "--warmup-arrival-pattern", "constant"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "ucrrls exit", p.returncode, p.stderr[-2000:])
    man = json.load(open(os.path.join(base, "metronome_sweep.json")))
    check([q["dir"] for q in man["points"]] == ["rate_40.0", "rate_20.0"], "ucrrls points",
          [q["dir"] for q in man["points"]])
    for r, d in ((40, "rate_40.0"), (20, "rate_20.0")):
        recs = records(os.path.join(base, d))
        warm = sorted((x for x in recs if x["phase"] == "warmup" and x["turn"] == 0),
                      key=lambda x: x["t_intended"])
        check(len(warm) == 2 and abs(warm[1]["t_intended"] - warm[0]["t_intended"] -
                                     3e9 / r) < 1 * MS, "ucrrls warmup rate", d)


def user_convs(out):
    """Each user's conversation (its first turn's body, numbered by first appearance), in
    user order: the order users draw them in."""
    fb = first_bodies(out)
    seen, order = {}, []
    for u in sorted((k for k in fb if k.isdigit()), key=int):
        order.append(seen.setdefault(fb[u], len(seen)))
    return order


with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    # AIPerf's samplers pick each new user's conversation: shuffle, a permutation of the
    # pool per pass; random, with replacement; the schedule itself unchanged
    for how, seed in (("shuffle", "5"), ("random", "5")):
        recs, t0, out = profile(m.url, "uc" + how, "--user-centric-rate", "20", "--num-users",
                                "2", "--conversation-turn-mean", "2", "--num-dataset-entries",
                                "4", "--request-count", "32", "--dataset-sampling-strategy",
                                how, "--random-seed", seed)
        o = user_convs(out)
        check(len(o) >= 16, how, "users", o)
        passes = [o[i:i + 4] for i in range(0, len(o) - len(o) % 4, 4)]
        if how == "shuffle":
            check(all(sorted(q) == [0, 1, 2, 3] for q in passes), how, "a pass", o)
            check(len({tuple(q) for q in passes}) > 1, how, "one order every pass", o)
        else:
            check(any(len(set(q)) < 4 for q in passes), how, "no repeat", o)
        check(o != [k % 4 for k in range(len(o))], how, "sequential", o)
        check_schedule(recs, t0, out, model(2, 20, 2, 4, count=32, draws=iter(o)), 2 / 20, how)
        # the same seed draws the same conversations
        recs2, _, out2 = profile(m.url, "uc" + how + "2", "--user-centric-rate", "20",
                                 "--num-users", "2", "--conversation-turn-mean", "2",
                                 "--num-dataset-entries", "4", "--request-count", "32",
                                 "--dataset-sampling-strategy", how, "--random-seed", seed)
        check(user_convs(out2) == o, how, "seeded", user_convs(out2), o)

with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    # a --num-users list: AIPerf's sweep over phases.profiling.users, a point per count in
    # the order given (users_<N>), each the user-centric schedule of its N
    base = os.path.join(TMP, "ucsweep")
    p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                        "--artifact-dir", base, "--isl", "8", "--osl", "2",
                        "--user-centric-rate", "10", "--num-users", "3,2",
                        "--conversation-turn-mean", "3", "--num-dataset-entries", "5",
                        "--request-count", "12"],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "sweep exit", p.returncode, p.stderr[-2000:])
    man = json.load(open(os.path.join(base, "metronome_sweep.json")))
    check([q["dir"] for q in man["points"]] == ["users_3", "users_2"], "sweep points",
          [q["dir"] for q in man["points"]])
    for n in (3, 2):
        d = os.path.join(base, "users_%d" % n)
        run = json.load(open(os.path.join(d, "run.json")))
        recs = records(d)
        t0 = run["start"]["t0_mono_ns"] - run["anchor"]["mono_ns"]
        check_schedule(recs, t0, d, model(n, 10, 3, 5, count=12), n / 10, "sweep users_%d" % n)
    check(os.path.exists(os.path.join(base, "sweep_aggregate",
                                      "profile_export_aiperf_sweep.json")), "sweep aggregate")
    # every point is checked before anything runs
    for args, want in ((["--num-users", "2,7"], "--request-count 6: fewer than --num-users 7"),
                       (["--num-users", "2,0"], "--num-users: value '0'")):
        out = os.path.join(TMP, "ucsweepbad")
        p = subprocess.run([BIN, "profile", "-m", "m", "--url", m.url, "--ui", "none",
                            "--artifact-dir", out, "--user-centric-rate", "10",
                            "--conversation-turn-mean", "3", "--request-count", "6", *args],
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
        lines = p.stderr.strip().splitlines()
        check(p.returncode == 2 and len(lines) == 1 and want in lines[0], "sweep bad", args,
              p.stderr)
        check(not os.path.exists(out), "sweep bad wrote", args)

# a reply slower than the turn gap: the next turn goes when it ends and the user's later
# turns follow from there (AIPerf's max(now, next_send_time + turn_gap))
with Mock("--ttft", "150ms", "--itl", "1ms") as m:
    recs, t0, out = profile(m.url, "ucslow", "--user-centric-rate", "20", "--num-users", "2",
                            "--conversation-turn-mean", "4", "--request-count", "8")
    prof = [r for r in recs if r["phase"] == "profile"]
    check(len(prof) == 8, "ucslow records", len(prof))
    by = {}
    for r in prof:
        by.setdefault(r["conv"], []).append(r)
    later = 0
    for rs in by.values():
        rs.sort(key=lambda r: r["turn"])
        for a, b in zip(rs, rs[1:]):
            exp = max(a["t_end"], a["t_intended"] + 100 * MS)
            check(abs(b["t_intended"] - exp) < 0.01 * MS, "realigned", b["conv"], b["turn"],
                  b["t_intended"] - exp)
            check(b["t_start"] >= a["t_end"], "a user waits for its reply", b["conv"])
            later += 1
    check(later >= 4, "ucslow later turns", later)

# ---- bad values: one line naming the option and the value, exit 2, nothing written -------
UC = ["--conversation-turn-mean", "3"]
bad = [
    (["--user-centric-rate", "0", "--num-users", "2"] + UC, "--user-centric-rate: 0"),
    (["--user-centric-rate", "x", "--num-users", "2"] + UC, "--user-centric-rate"),
    (["--user-centric-rate", "-1", "--num-users", "2"] + UC, "--user-centric-rate: -1"),
    (["--user-centric-rate", "5", "--num-users", "0"] + UC, "--num-users: 0"),
    (["--user-centric-rate", "5", "--num-users", "2.5"] + UC, "--num-users"),
    (["--num-users", "3"] + UC, "--num-users 3: needs --user-centric-rate"),
    (["--user-centric-rate", "5"] + UC, "--user-centric-rate 5: needs --num-users"),
    (["--user-centric-rate", "5", "--num-users", "2"], "needs --conversation-turn-mean >= 2"),
    (["--user-centric-rate", "5", "--num-users", "5", "--request-count", "3"] + UC,
     "--request-count 3: fewer than --num-users 5"),
    (["--user-centric-rate", "5", "--num-users", "5", "--conversation-num", "4"] + UC,
     "--conversation-num 4: fewer than --num-users 5"),
    (["--user-centric-rate", "5", "--num-users", "15"] + UC, "--num-users 15: more than the default"),
    (["--user-centric-rate", "5", "--num-users", "2", "--request-rate", "0"] + UC,
     "--request-rate: 0"),
    (["--user-centric-rate", "5", "--num-users", "2", "--request-rate-ramp-duration", "2"] + UC,
     "--user-centric-rate 5: not with --request-rate-ramp-duration 2"),
    (["--user-centric-rate", "5", "--num-users", "2", "--warmup-duration", "3"] + UC,
     "--user-centric-rate 5: not with --warmup-duration 3"),
    (["--user-centric-rate", "5", "--num-users", "2", "--arrival-pattern", "burst"] + UC,
     "--arrival-pattern burst: expected constant, poisson, gamma or concurrency_burst"),
    (["--user-centric-rate", "5", "--num-users", "2", "--arrival-smoothness", "2"] + UC,
     "--user-centric-rate 5: not with --arrival-smoothness 2"),
    (["--user-centric-rate", "1e6", "--num-users", "2", "--benchmark-duration", "1e6"] + UC,
     "--benchmark-duration 1e6: 1e+12 requests at --user-centric-rate 1e6"),
    (["--user-centric-rate", "5", "--num-users", "2", "--conversation-num", "3e9"] + UC,
     "--conversation-num"),
]
with Mock("--ttft", "1ms") as m:
    for i, (args, want) in enumerate(bad):
        stderr, out = profile(m.url, "bad%d" % i, *args, expect=2)
        lines = stderr.strip().splitlines()
        check(len(lines) == 1 and want in lines[0], "bad", args, stderr)
        check(not os.path.exists(out), "bad", args, "wrote", out)
    timing = m.timing()
    check(not timing, "bad values sent requests", len(timing))
# a bare `replay` of a trace packed with a warmup sends its block first, in the load pack
# wrote it for (the header's warmup_concurrency / warmup_rate); before, it was skipped
# unless the warmup options were given again. --warmup-request-count 0 skips it.
def pack_warm(name, *args):
    out = os.path.join(TMP, name + ".zst")
    p = subprocess.run([BIN, "pack", "-m", "m", "-o", out, "--isl", "8", "--osl", "2",
                        "--user-centric-rate", "20", "--num-users", "2",
                        "--conversation-turn-mean", "3", "--num-dataset-entries", "6",
                        "--request-count", "6", *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "pack", name, p.stderr)
    return out
def replay_warm(url, trace, *args):
    out = trace + ".run%d" % len(args)
    p = subprocess.run([BIN, "replay", trace, "--url", url, "-o", out, "-q", *args],
                       stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    check(p.returncode == 0, "replay", trace, args, p.stderr[-2000:])
    recs = records(out)
    check(not any(err(r) for r in recs), "replay errors", trace, args)
    return [r for r in recs if r["phase"] == "warmup"], [r for r in recs if r["phase"] == "profile"]
with Mock("--ttft", "20ms", "--itl", "1ms") as m:
    tr = pack_warm("bwc", "--num-warmup-sessions", "4", "--warmup-concurrency", "2")
    warm, prof = replay_warm(m.url, tr)
    check(len(warm) == 12 and len(prof) == 6, "bare replay: warmup block", len(warm), len(prof))
    check(max(r["t_start"] for r in warm) < min(r["t_start"] for r in prof),
          "bare replay: the warmup first")
    # two sessions of the block under way at once (pack's --warmup-concurrency 2): the
    # first turns of w1 and w2 leave together, w3's after one of them ends
    firsts = sorted(r["t_start"] for r in warm if r["turn"] == 0)
    check(firsts[1] - firsts[0] < 10 * MS and firsts[2] - firsts[0] > 40 * MS,
          "bare replay: warmup concurrency 2", [(t - firsts[0]) / MS for t in firsts])
    warm, prof = replay_warm(m.url, tr, "--warmup-request-count", "0")
    check(not warm and len(prof) == 6, "--warmup-request-count 0 skips the block", len(warm))
with Mock("--ttft", "2ms", "--itl", "1ms") as m:
    tr = pack_warm("bwr", "--num-warmup-sessions", "2", "--warmup-request-rate", "50")
    warm, prof = replay_warm(m.url, tr, "--warmup-arrival-pattern", "constant")
    ticks = sorted(r["t_intended"] for r in warm)
    check(len(warm) == 6 and all(abs(b - a - 20 * MS) < 1 * MS for a, b in zip(ticks, ticks[1:])),
          "bare replay: the block at the header's warmup_rate", [(t - ticks[0]) / MS for t in ticks])
# pack's warmup-block options belong to --user-centric-rate
for args, want in ((["--num-warmup-sessions", "2"], "--num-warmup-sessions 2: needs --user-centric-rate"),
                   (["--user-centric-rate", "5", "--num-users", "2", "--conversation-turn-mean", "2",
                     "--warmup-request-count", "2", "--warmup-concurrency", "0"],
                    "--warmup-concurrency: 0"),
                   # the warmup block is held in memory while written: at most 10^7 requests
                   (["--user-centric-rate", "5", "--num-users", "2", "--conversation-turn-mean", "2",
                     "--num-warmup-sessions", "100000000"],
                    "--num-warmup-sessions 100000000: about 2e+08 warmup requests, more than 10^7"),
                   (["--user-centric-rate", "5", "--num-users", "2", "--conversation-turn-mean", "2",
                     "--warmup-request-count", "20000000"],
                    "--warmup-request-count 20000000: about 2e+07 warmup requests, more than 10^7")):
    out = os.path.join(TMP, "packbad.zst")
    p = subprocess.run([BIN, "pack", "-m", "m", "-o", out, *args], stdout=subprocess.PIPE,
                       stderr=subprocess.PIPE, text=True)
    lines = p.stderr.strip().splitlines()
    check(p.returncode == 2 and len(lines) == 1 and want in lines[0], "pack bad", args, p.stderr)
    check(not os.path.exists(out), "pack bad wrote", args)
print("ok")
PY
