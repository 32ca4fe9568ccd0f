#!/usr/bin/env bash
# metronome profile without a server: refused AIPerf flags (exit 2, the exact message),
# usage errors, the config template round trip, config file errors (exit 1, FILE:LINE),
# and command-line options overriding the file.
. "$E2E_ROOT/tests/e2e/lib.sh"
cd "$E2E_TMP"
M=$METRONOME

refused() { # refused EXPECTED-MESSAGE ARGS...
    local msg=$1; shift
    expect_exit 2 "$M" profile "$@"
    [ "$(cat "$E2E_TMP/stderr")" = "metronome: error: $msg" ] ||
        fail "wanted '$msg', got '$(cat "$E2E_TMP/stderr")'"
    [ ! -e artifacts ] || fail "a refused run left artifacts behind"
}
refused "not supported yet: --otel-url" -m x --otel-url http://127.0.0.1:4318
refused "--user-centric-rate 2: needs --conversation-turn-mean >= 2 (got 1; for single-turn requests use --request-rate)" -m x --num-users 4 --user-centric-rate 2
refused "--num-users: value '0' (item 2 of '4,0'): not a positive integer" -m x --num-users 4,0 --user-centric-rate 2 --session-turns-mean 2
refused "not supported yet: --enable-uvloop" -m x --enable-uvloop
expect_exit 2 "$M" profile -m x --public-dataset-foo
grep -q "unknown option '--public-dataset-foo'" "$E2E_TMP/stderr" || fail "unknown option"
refused "not supported yet: --endpoint-type image-generation" -m x --endpoint-type image-generation
refused "--tokenizer-trust-remote-code: refused: metronome runs no remote code (it reads tokenizer.json only, which needs none)" -m x --tokenizer Qwen/Qwen3-0.6B --tokenizer-trust-remote-code
refused "not supported yet: --custom-dataset-type dag" -m x --custom-dataset-type dag
refused "not supported yet: --arrival-pattern concurrency-burst" -m x --arrival-pattern concurrency-burst
# Report-stage SLOs and rules are checked before anything is sent or written.
refused "--goodput 'x:1': unknown per-request metric 'x'" -m x --goodput x:1
refused "--fail-on 'ttft.p99': expected METRIC[.STAT]OP VALUE (OP one of > >= < <= == !=)" -m x --fail-on ttft.p99
refused "--isl-min: 0 is out of range [1, 100000000]" -m x --isl-min 0
refused "--convergence-mode distribution needs the per-request records (profile_export.jsonl): not with --export-level summary" -m x --num-profile-runs 3 --convergence-metric time_to_first_token --convergence-mode distribution --export-level summary
# Sweep lists: a bad value is named with its position before anything runs (issue 12).
refused "--concurrency: value 'x' (item 3 of '1,2,x'): not a positive integer" -m x --concurrency 1,2,x
refused "--isl: empty item 2 of '128,,512'" -m x --isl 128,,512
refused "--convergence-metric requires --num-profile-runs > 1" -m x --convergence-metric time_to_first_token
refused "not supported yet: --run-type" -m x --run-type k8s
refused "not supported yet: --heartbeat-interval" -m x --heartbeat-interval 1
refused "--model-names (--model, -m) is required" --url localhost:1
refused "unknown option '--concurency' (did you mean '--concurrency'?)" -m x --concurency 3

# Template round trip: create, validate, and run validate-config with overrides.
"$M" profile create-template -t cfg.yaml >/dev/null || fail "create-template"
grep -q '^model-names: \[my-model\]' cfg.yaml || fail "template content"
"$M" profile validate-config --config cfg.yaml >out || fail "validate-config of the template"
grep -q "replay: .*--url http://localhost:8000" out || fail "template url"
"$M" profile validate-config cfg.yaml >out || fail "validate-config FILE"
# The command line wins over the file, for single and repeated options.
"$M" profile validate-config --config cfg.yaml --url h:1 --url h:2 --concurrency 7 >out ||
    fail "overrides"
grep -q "replay: .*--url h:1 --url h:2" out || fail "url override: $(cat out)"
grep -q -- "--concurrency 7" out || fail "concurrency override"
grep -q "http://localhost:8000" out && fail "file url kept despite the override"
# Environment substitution.
printf 'model: ${E2E_MODEL}\nurl: ${E2E_URL:localhost:9}\n' >env.yaml
E2E_MODEL=envmodel "$M" profile validate-config env.yaml >out || fail "env config"
grep -q -- "--model-names envmodel" out || fail "env model"
grep -q -- "--url localhost:9" out || fail "env default"

# Config errors: exit 1 and one FILE:LINE line; refused options in a file: exit 2.
printf 'model: m\n\nconcurrency: [1, 2]\n' >bad.yaml
expect_exit 1 "$M" profile --config bad.yaml
[ "$(cat "$E2E_TMP/stderr")" = "metronome: error: bad.yaml:3: takes one value, not a list: concurrency" ] ||
    fail "bad.yaml: $(cat "$E2E_TMP/stderr")"
printf 'model: m\nenable_uvloop: true\n' >refused.yaml
expect_exit 2 "$M" profile -f refused.yaml
[ "$(cat "$E2E_TMP/stderr")" = "metronome: error: refused.yaml:2: not supported yet: --enable-uvloop" ] ||
    fail "refused.yaml: $(cat "$E2E_TMP/stderr")"
printf 'benchmark:\n  model: m\n' >aiperf2.yaml
expect_exit 1 "$M" profile --config aiperf2.yaml
grep -q "aiperf2.yaml:1: 'benchmark' starts a nested section" "$E2E_TMP/stderr" || fail "schema 2.0"
expect_exit 1 "$M" profile --config missing.yaml
grep -q "missing.yaml" "$E2E_TMP/stderr" || fail "missing file"
[ ! -e artifacts ] || fail "config errors left artifacts behind"

# Bad dataset: pack's one FILE:LINE line, exit 1, and no directory left behind.
printf '{"texts": ["ok"]}\n{"texts": 5}\n' >bad.jsonl
expect_exit 1 "$M" profile -m m --input-file bad.jsonl --custom-dataset-type single_turn
[ "$(cat "$E2E_TMP/stderr")" = "metronome: error: bad.jsonl:2: field 'texts': must be an array, not number" ] ||
    fail "bad dataset: $(cat "$E2E_TMP/stderr")"
expect_exit 1 "$M" profile -m m --input-file bad.jsonl --custom-dataset-type single_turn \
    --artifact-dir new/dir
[ ! -e artifacts ] && [ ! -e new ] || fail "a failed pack left directories behind"

# A bad replay-stage value is refused before pack writes anything (it packed first and left
# trace.jsonl.zst and inputs.json behind).
for bad in "--request-timeout-seconds 0" "--workers-max 0"; do
    # shellcheck disable=SC2086
    expect_exit 2 "$M" profile -m m --request-count 3 --artifact-dir new/dir $bad
    grep -q -- ": 0 is out of range" "$E2E_TMP/stderr" || fail "$bad: $(cat "$E2E_TMP/stderr")"
    [ "$(wc -l <"$E2E_TMP/stderr")" = 1 ] || fail "$bad: $(cat "$E2E_TMP/stderr")"
    [ ! -e new ] || fail "$bad: left new/ behind"
done
expect_exit 2 "$M" profile -m m --request-count 3 --request-timeout-seconds 0
[ ! -e artifacts ] || fail "a bad replay value left artifacts behind"

# Help lists AIPerf names, and --help runs nothing.
"$M" profile --help >out || fail "--help"
grep -q -- "--request-rate-mode" out || fail "help lacks aliases"
echo ok
