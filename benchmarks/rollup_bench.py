"""What keeping the rollups adds to an import, measured in the same run.

    python3 benchmarks/rollup_bench.py [--rows 1000000] [--repeat 3]

Generates ``import_bench.py``'s 12-column Chinese sales export (UTF-8 CSV), then
imports it with ``kam_core.imports.pipeline.import_file`` into a fresh database
file, each run in a fresh process, alternating:
  with      the import as the product runs it (the rollups are summed inside the commit)
  without   the same import with the rollup step switched off (``sales.lines.publish_import`` a no-op)
and reports the medians, the ratio, the rollup step's own time and its time per rollup table
(with the rows each holds after the import). Target
(issue 13): with ≤ 1.10 × without. The machine jitters up to 2×: compare
inside one run only.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT / "benchmarks"))

CHILD = """
import json, resource, sys, time
sys.path.insert(0, {root!r})
def cpu():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime
from pathlib import Path
from kam_core.store import open_store
from kam_core.sales import lines
store = open_store({db!r})
spent, spent_cpu = [], []
real = lines.publish_import
def timed(cur, kind, import_id):
    t0, c0 = time.perf_counter(), cpu(); real(cur, kind, import_id)
    spent.append(time.perf_counter() - t0); spent_cpu.append(cpu() - c0)
lines.publish_import = timed if {rollups!r} else (lambda cur, kind, import_id: None)
from kam_core.sales import rollup
by_table = {{}}
def insert_timed(cur, where, params):
    for table, sql in rollup.INSERTS:
        t0 = time.perf_counter(); cur.execute(sql.format(where=where), params)
        by_table[table] = by_table.get(table, 0) + time.perf_counter() - t0
rollup._insert = insert_timed
data = Path({csv!r}).read_bytes()
from kam_core.imports.pipeline import import_file
t0, c0 = time.perf_counter(), cpu()
import_file(store, data, "bench.csv")
print(json.dumps({{"seconds": time.perf_counter() - t0, "rollup": sum(spent), "cpu": cpu() - c0,
                   "rollup_cpu": sum(spent_cpu), "by_table": by_table,
                   "rows": {{t: store.cursor().execute(f"select count(*) from {{t}}").fetchone()[0]
                            for t in rollup.ROLLUPS}}}}))
"""


def run(csv: Path, rollups: bool, folder: Path, n: int) -> dict:
    db = folder / f"r{n}_{int(rollups)}.duckdb"
    code = CHILD.format(root=str(ROOT), db=str(db), csv=str(csv), rollups=rollups)
    res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
    if res.returncode != 0:
        raise RuntimeError(res.stderr[-1500:])
    db.unlink(missing_ok=True)
    return json.loads(res.stdout.strip().splitlines()[-1])


def main() -> None:
    from import_bench import generate_csv

    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--repeat", type=int, default=3)
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        folder = Path(tmp)
        csv = folder / "bench.csv"
        generate_csv(csv, args.rows)
        with_, without, step, cpu_with, cpu_without, cpu_step, by_table = [], [], [], [], [], [], []
        for n in range(args.repeat):
            a = run(csv, True, folder, n)
            b = run(csv, False, folder, n)
            with_.append(a["seconds"])
            step.append(a["rollup"])
            without.append(b["seconds"])
            cpu_with.append(a["cpu"])
            cpu_without.append(b["cpu"])
            cpu_step.append(a["rollup_cpu"])
            by_table.append(a["by_table"])
            rows = a["rows"]
            print(f"  run {n + 1}: with {a['seconds']:.2f} s (rollups {a['rollup']:.3f} s), without {b['seconds']:.2f} s;"
                  f" CPU {a['cpu']:.2f} s (rollups {a['rollup_cpu']:.2f} s) vs {b['cpu']:.2f} s")
    w, wo = statistics.median(with_), statistics.median(without)
    print(f"{args.rows:,}-line CSV import: with rollups {w:.2f} s, without {wo:.2f} s → {w / wo:.3f}× "
          f"(the rollup step itself: median {statistics.median(step):.3f} s, {statistics.median(step) / w:.1%} of the import)")
    cw, cwo = statistics.median(cpu_with), statistics.median(cpu_without)
    print(f"CPU time (steadier on a busy machine): with {cw:.2f} s, without {cwo:.2f} s → {cw / cwo:.3f}×; "
          f"the rollup step {statistics.median(cpu_step):.2f} s")
    print("the rollup step by table (median seconds, rows written): " + ", ".join(
        f"{t} {statistics.median(b[t] for b in by_table):.3f} s ({rows[t]:,} rows)" for t in rows))


if __name__ == "__main__":
    main()
