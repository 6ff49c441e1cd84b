"""`python -m kam_core tiers` beside a running owner (the dashboard) vs alone, same run.

    python3 benchmarks/service_bench.py [--rows 1000000] [--repeat 6]

Builds a store of ``--rows`` generated sales lines (the generator of
``metrics_bench.py``; kept in ``benchmarks/out/``), then times whole processes of
``python -m kam_core tiers --year 2025 --format csv``:
  - alone: no dashboard runs; the command opens the file itself;
  - beside: a process owns the file and serves commands as the dashboard does
    (``service.start_owner``); the command hands its work over.
Each path alternates with the other, ``--repeat`` times (the first handed-over run of a
command thread builds its Ibis backend; it is reported apart). Both outputs are checked
to be identical. Only the ratio inside one run means anything (the machine jitters).
"""
from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

OWNER = """
import sys, time
sys.path.insert(0, {root!r})
from kam_core import service
from kam_core.store import open_store
service.start_owner(open_store({db!r}))
print("READY", flush=True)
time.sleep(3600)
"""


def build(rows: int) -> Path:
    from benchmarks.metrics_bench import GENERATE_SQL
    from kam_core.store import open_store

    path = ROOT / "benchmarks" / "out" / f"service_{rows}.duckdb"
    if path.exists():
        return path
    path.parent.mkdir(parents=True, exist_ok=True)
    store = open_store(path)
    cur = store.cursor()
    cur.execute("insert into imports (id, file_name, sha256, sheets) values (1, 'generated', 'x', '[]')")
    cur.execute(GENERATE_SQL.replace("$rows", str(rows)))
    cur.execute("checkpoint")
    store.close()
    return path


def tiers(db: Path) -> tuple[float, str]:
    start = time.perf_counter()
    done = subprocess.run([sys.executable, "-m", "kam_core", "--db", str(db), "tiers", "--year", "2025"],
                          cwd=ROOT, capture_output=True, text=True, check=True)
    return time.perf_counter() - start, done.stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=6)
    args = ap.parse_args()
    db = build(args.rows)
    alone, beside, first = [], [], None
    out_alone = out_beside = None
    for i in range(args.repeat + 1):
        t, out_alone = tiers(db)
        if i:
            alone.append(t)
        owner = subprocess.Popen([sys.executable, "-c", OWNER.format(root=str(ROOT), db=str(db))],
                                 stdout=subprocess.PIPE, text=True, env={**os.environ, "KAM_BACKGROUND": "1"})
        try:
            assert owner.stdout.readline().strip() == "READY"
            t, out_beside = tiers(db)
            first = t if first is None else first
            t, out_beside = tiers(db)
            beside.append(t)
        finally:
            owner.terminate()
            owner.wait(timeout=30)
        assert out_alone == out_beside, "the two paths gave different tables"
    a, b = statistics.median(alone), statistics.median(beside)
    print(f"{args.rows:,} lines, tiers --year 2025 (whole process, median of {args.repeat}):")
    print(f"  alone (opens the file)       {a:.2f} s")
    print(f"  beside a running owner       {b:.2f} s  ({b / a:.2f}× alone; a command thread's first run {first:.2f} s)")


if __name__ == "__main__":
    main()
