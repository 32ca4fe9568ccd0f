"""Writes the small synthetic Baseten traces (Arrow IPC files) the tests read.

Run with any Python that has pyarrow (e.g. AIPerf 0.13's venv); the outputs are
committed, so the tests themselves need no pyarrow. The rows are made up: they only
exercise the columns and timing rules of AIPerf 0.13's baseten_trace loader.
"""
import sys

import pyarrow as pa
import pyarrow.ipc as ipc

BASE = 1_700_000_000_000  # unix ms of the first row


def write(path, cols, schema=None):
    table = pa.table(cols, schema=schema)
    with ipc.new_file(path, table.schema) as w:
        # two record batches so the reader crosses a batch boundary
        half = max(1, table.num_rows // 2)
        w.write_table(table.slice(0, half))
        w.write_table(table.slice(half))


out = sys.argv[1] if len(sys.argv) > 1 else "."
# session: (offset ms, e2e ms, input tokens, output tokens, hashes)
rows = [
    ("a", 0, 400, 10, 5, [1, 2]),
    ("b", 250, 300, 12, 0, [3]),
    ("a", 1000, 500, 14, 6, [1, 2, 4]),
    (None, 1200, 100, 8, 3, []),
    ("b", 5000, 200, 9, 7, None),
    ("a", 20000, 100, 20, 8, [1, 2, 4, 5]),
    (None, 21000, 50, 6, 2, []),
    ("c", 21500, 10, 7, 4, [9]),
]
cols = {
    "timestamp_start_unix_ms": pa.array([BASE + r[1] for r in rows], pa.int64()),
    "prompt": pa.array([f"row {i + 1} of session {r[0]}" for i, r in enumerate(rows)]),
    "input_tokens": pa.array([r[3] for r in rows], pa.int64()),
    "output_tokens": pa.array([r[4] for r in rows], pa.int64()),
    "total_hashes": pa.array([r[5] for r in rows], pa.list_(pa.int64())),
    "provided_session_id": pa.array([r[0] for r in rows], pa.string()),
    "duration_e2e_ms": pa.array([r[2] for r in rows], pa.int64()),
    "block_size": pa.array([16] * len(rows), pa.int32()),
    "duration_ttft_ms": pa.array([1.5] * len(rows), pa.float64()),
}
write(f"{out}/sessions.arrow", cols)

# no session column, large_string prompts, unsigned ints: every row its own session
cols2 = {
    "timestamp_start_unix_ms": pa.array([BASE + 40, BASE, BASE + 10], pa.uint64()),
    "prompt": pa.array(["third", "first", "second"], pa.large_string()),
    "input_tokens": pa.array([3, 1, 2], pa.uint32()),
    "output_tokens": pa.array([30, 10, 20], pa.int16()),
}
write(f"{out}/rows.arrow", cols2)

# bad: a negative output_tokens in row 3
cols3 = dict(cols2)
cols3["output_tokens"] = pa.array([30, 10, -1], pa.int16())
write(f"{out}/bad_osl.arrow", cols3)
# bad: no prompt column
cols4 = {k: v for k, v in cols2.items() if k != "prompt"}
write(f"{out}/no_prompt.arrow", cols4)
