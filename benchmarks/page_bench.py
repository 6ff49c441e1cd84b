"""Page timings on 10M sales rows through Streamlit's AppTest: cold, warm, after a filter change.

    python3 benchmarks/page_bench.py [--rows 10000000] [--pages overview,rankings,tiers,import,settings]

Builds (once, kept in benchmarks/out/) a store with ``--rows`` generated lines —
the generator of ``metrics_bench.py`` — then, for each page, in a fresh process:
  cold     the first run of the page (Overview: in a fresh process; other pages: after the
           Overview was shown once, as a user arrives — results both pages use are cached by then)
  warm     the same page run again (cached results)
  filter   the run after the region filter changes (new cache keys: the queries run)
  warm2    the run after that (cached again)
Target: warm ≤ 0.3 s on every page. The machine jitters up to 2×: compare inside one run.
"""
from __future__ import annotations

import argparse
import json
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "benchmarks"))

from metrics_bench import GENERATE_SQL  # noqa: E402  (one generator for both benchmarks)

CHILD = """
import json, os, sys, time
sys.path.insert(0, {root!r})
os.chdir({root!r})
os.environ.update(KAM_DB={db!r}, KAM_AUTH="off", KAM_AUTO_DEMO="0")
from streamlit.testing.v1 import AppTest
at = AppTest.from_file("dashboard.py", default_timeout=600)
out = {{}}
def timed(name):
    t0 = time.perf_counter(); at.run(); out[name] = time.perf_counter() - t0
    assert not at.exception, [e.value for e in at.exception]
if {page!r} == "overview":
    timed("cold")                          # the first page a user sees, in a fresh process
else:
    at.run()                               # the user arrives on the Overview, then opens the page
    at.switch_page("app_pages/{page}.py")
    timed("cold")
timed("warm")
at.session_state["kam_region"] = [{region!r}]   # as if the user picked one region
timed("filter")
timed("warm2")
print(json.dumps(out))
"""


def build_store(path: Path, rows: int) -> None:
    from kam_core.store import open_store

    if path.exists():
        return
    store = open_store(path)
    cur = store.cursor()
    t0 = time.perf_counter()
    cur.execute(GENERATE_SQL.replace("$rows", str(rows)))
    cur.execute("insert into imports (id, file_name, sha256, sheets, rows_loaded) values (1, 'bench', 'x', '[]', ?)", [rows])
    store.close()
    print(f"generated {rows:,} rows in {time.perf_counter() - t0:.1f} s → {path}")


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=10_000_000)
    ap.add_argument("--pages", default="overview,rankings,tiers,import,settings")
    args = ap.parse_args()
    out_dir = ROOT / "benchmarks" / "out"
    out_dir.mkdir(parents=True, exist_ok=True)
    db = out_dir / f"page_bench_{args.rows}.duckdb"
    build_store(db, args.rows)
    print(f"{'page':10} {'cold':>7} {'warm':>7} {'filter':>7} {'warm2':>7}   (seconds; target warm ≤ 0.3)")
    for page in args.pages.split(","):
        code = CHILD.format(root=str(ROOT), db=str(db), page=page, region="region_0")
        res = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True)
        if res.returncode != 0:
            print(f"{page:10} failed: {res.stderr[-800:]}")
            continue
        t = json.loads(res.stdout.strip().splitlines()[-1])
        print(f"{page:10} {t['cold']:7.2f} {t['warm']:7.2f} {t['filter']:7.2f} {t['warm2']:7.2f}")


if __name__ == "__main__":
    main()
