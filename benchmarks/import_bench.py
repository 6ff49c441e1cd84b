"""Import speed and memory against bare readers, measured in the same run.

    python3 benchmarks/import_bench.py [--rows 1000000] [--xlsx-rows 200000] [--skip-openpyxl]

Generates a 12-column Chinese sales export (日期 门店 区域 供应商 品牌 品类 商品编码 商品名称
数量 销售额 成本 毛利) as UTF-8 CSV, GBK CSV and xlsx, then times, each in a fresh
process (so peak memory is that path's own):
  - kam_core's full import (read, header, mapping, cleaning, validation, load into a DuckDB file);
    every path starts with its database already open, and its modules are imported inside the timing;
    the workbook reader's server is started before the database opens, as the command line and the
    Import page do (the xlsx import is timed once more without that, as a fresh process's first import)
  - bare DuckDB read_csv into a table in a file (UTF-8)
  - decode GBK + bare DuckDB read_csv (GBK)
  - bare fastexcel → Arrow → DuckDB (xlsx)
  - pandas + openpyxl (xlsx)
and prints the ratios. The machine jitters up to 2× between runs: compare inside one run.

Then the command line as a user runs it, each a whole process timed from outside (start,
imports, a fresh database, the import, exit), alternating, median of ``--repeats``:
  - ``python -m kam_core --db NEW import FILE`` of the UTF-8 CSV
  - a process that only opens a new DuckDB file and runs bare ``read_csv`` into a table
    (its path is a literal: a bound parameter would make DuckDB import pandas, ~0.5 s)
and the modules of pandas, Ibis and plotly that the import command loaded (none, we hope).
"""
from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import textwrap
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
HEADER = ["日期", "门店", "区域", "供应商", "品牌", "品类", "商品编码", "商品名称", "数量", "销售额", "成本", "毛利"]


def generate_csv(path: Path, rows: int, seed: int = 7) -> None:
    """A heavy-tailed sales export: 300 suppliers, 40 stores, dates over two years."""
    import numpy as np
    import pyarrow as pa
    import pyarrow.csv as pcsv

    rng = np.random.default_rng(seed)
    sup = np.minimum((rng.pareto(1.2, rows) * 10).astype(int), 299)
    stores = rng.integers(0, 40, rows)
    days = rng.integers(0, 730, rows)
    dates = (np.datetime64("2024-01-01") + days.astype("timedelta64[D]")).astype(str)
    qty = rng.integers(1, 20, rows)
    price = np.round(rng.uniform(3, 300, rows), 2)
    amount = np.round(qty * price, 2)
    cost = np.round(amount * rng.uniform(0.6, 0.95, rows), 2)
    regions = np.array(["华东", "华南", "华北", "华中", "西南", "西北"])
    cats = np.array(["食品", "饮料", "日化", "家电", "乳制品", "酒类", "母婴", "个护"])
    table = pa.table({
        "日期": dates,
        "门店": np.char.add("门店", stores.astype(str)),
        "区域": regions[stores % 6],
        "供应商": np.char.add(np.char.add("供应商", sup.astype(str)), "有限公司"),
        "品牌": np.char.add("品牌", sup.astype(str)),
        "品类": cats[sup % 8],
        "商品编码": np.char.zfill((sup * 1000 + rng.integers(0, 50, rows)).astype(str), 8),
        "商品名称": np.char.add("商品", rng.integers(0, 5000, rows).astype(str)),
        "数量": qty,
        "销售额": amount,
        "成本": cost,
        "毛利": np.round(amount - cost, 2),
    })
    pcsv.write_csv(table, path)


def generate_xlsx(path: Path, csv_path: Path, rows: int) -> None:
    import pandas as pd
    import xlsxwriter

    df = pd.read_csv(csv_path, nrows=rows, dtype={"商品编码": str})
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("销售明细")
    date_fmt = wb.add_format({"num_format": "yyyy-mm-dd"})
    ws.write_row(0, 0, HEADER)
    for i, rec in enumerate(df.itertuples(index=False), start=1):
        ws.write_datetime(i, 0, pd.Timestamp(rec[0]).to_pydatetime(), date_fmt)
        ws.write_row(i, 1, rec[1:])
    wb.close()


_KAM_IMPORT = """
        from kam_core.imports.pipeline import import_file
        store = STORE
        import_id, plan = import_file(store, open(FILE, 'rb').read(), FILE.rsplit('/', 1)[-1])
        n = store.cursor().execute('select count(*) from sales').fetchone()[0]
        assert n == plan.report.data['rows_accepted'], n
        RESULT['rows'] = n
"""
CHILD = {
    "kam_import": _KAM_IMPORT,
    "kam_import_cold": _KAM_IMPORT,
    "duckdb_csv": """
        con = CON
        con.execute("create table t as select * from read_csv(?, header=true)", [FILE])
        RESULT['rows'] = con.execute('select count(*) from t').fetchone()[0]
    """,
    "duckdb_gbk": """
        import duckdb, tempfile, os
        text = open(FILE, 'rb').read().decode('gb18030')
        tmp = FILE + '.utf8.csv'
        with open(tmp, 'w', encoding='utf-8') as f:
            f.write(text)
        del text
        con = CON
        con.execute("create table t as select * from read_csv(?, header=true)", [tmp])
        RESULT['rows'] = con.execute('select count(*) from t').fetchone()[0]
        os.remove(tmp)
    """,
    "fastexcel": """
        import duckdb, fastexcel
        sheet = fastexcel.read_excel(open(FILE, 'rb').read()).load_sheet(0)
        arrow = sheet.to_arrow()
        con = CON
        con.register('a', arrow)
        con.execute('create table t as select * from a')
        RESULT['rows'] = con.execute('select count(*) from t').fetchone()[0]
    """,
    "pandas_openpyxl": """
        import pandas as pd
        df = pd.read_excel(FILE, engine='openpyxl')
        RESULT['rows'] = len(df)
    """,
}


def run_child(kind: str, file: Path, workdir: Path) -> dict:
    db = workdir / f"{kind}.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        if p.exists():
            p.unlink()
    code = textwrap.dedent(f"""
        import json, resource, sys, time
        sys.path.insert(0, {str(ROOT)!r})
        DB, FILE, RESULT = {str(db)!r}, {str(file)!r}, {{}}
        # The database is open before the clock starts, for every path: the
        # dashboard opens (and migrates) its store once, not per import.
        if {kind!r} in ("kam_import", "kam_import_cold"):
            if {kind!r} == "kam_import":
                # As the command line does before it opens the database, and the Import
                # page when it opens: the workbook reader's server starts meanwhile.
                from kam_core.imports.worker import warm_up_for
                warm_up_for([FILE])
            from kam_core.store import open_store
            STORE = open_store(DB)
        elif {kind!r} != "pandas_openpyxl":
            import duckdb
            CON = duckdb.connect(DB)
        t0 = time.perf_counter()
    """) + textwrap.dedent(CHILD[kind]) + textwrap.dedent("""
        RESULT['seconds'] = time.perf_counter() - t0
        # VmHWM, not ru_maxrss: the latter keeps the parent's size from before exec
        RESULT['peak_mb'] = next(int(l.split()[1]) for l in open('/proc/self/status') if l.startswith('VmHWM')) / 1024
        print(json.dumps(RESULT))
    """)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, cwd=ROOT)
    if out.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{out.stderr[-3000:]}")
    return json.loads(out.stdout.strip().splitlines()[-1])


_BARE_PROCESS = """
import sys, duckdb
con = duckdb.connect(sys.argv[1])
path = sys.argv[2].replace("'", "''")
con.execute(f"create table t as select * from read_csv('{path}', header=true)")
print(con.execute("select count(*) from t").fetchone()[0])
"""
_LOADED_PROBE = """
import runpy, sys
sys.argv = ["kam_core"] + sys.argv[1:]
try:
    runpy.run_module("kam_core", run_name="__main__")
finally:
    print("LOADED", " ".join(m for m in ("pandas", "ibis", "plotly", "streamlit") if m in sys.modules), file=sys.stderr)
"""


def whole_process(kind: str, file: Path, workdir: Path) -> tuple[float, float]:
    """Wall time, and CPU time, of one fresh process doing the whole job, as a user would start it."""
    import time

    db = workdir / f"whole_{kind}.duckdb"
    for p in (db, Path(str(db) + ".wal")):
        if p.exists():
            p.unlink()
    if kind == "kam_cli":
        cmd = [sys.executable, "-m", "kam_core", "--db", str(db), "import", str(file)]
    else:
        cmd = [sys.executable, "-c", _BARE_PROCESS, str(db), str(file)]
    start = time.perf_counter()
    with open(workdir / "out.txt", "w") as out, open(workdir / "err.txt", "w") as err:
        proc = subprocess.Popen(cmd, stdout=out, stderr=err, cwd=ROOT, env={**os.environ, "KAM_AUTO_DEMO": "0"})
        _, status, usage = os.wait4(proc.pid, 0)
    seconds = time.perf_counter() - start
    proc.returncode = os.waitstatus_to_exitcode(status)
    if proc.returncode != 0:
        raise SystemExit(f"{kind} failed:\n{(workdir / 'err.txt').read_text()[-3000:]}")
    return seconds, usage.ru_utime + usage.ru_stime


def modules_loaded_by_import(file: Path, workdir: Path) -> str:
    """Which of pandas, Ibis, plotly, streamlit the import command has loaded by its end."""
    db = workdir / "probe.duckdb"
    out = subprocess.run([sys.executable, "-c", _LOADED_PROBE, "--db", str(db), "import", str(file)],
                         capture_output=True, text=True, cwd=ROOT, env={**os.environ, "KAM_AUTO_DEMO": "0"})
    line = next((l for l in out.stderr.splitlines() if l.startswith("LOADED")), "LOADED ?")
    return line[len("LOADED"):].strip() or "none"


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--rows", type=int, default=1_000_000)
    ap.add_argument("--xlsx-rows", type=int, default=200_000)
    ap.add_argument("--skip-openpyxl", action="store_true", help="pandas+openpyxl takes minutes on 200k rows")
    ap.add_argument("--repeats", type=int, default=5, help="whole-process runs of each command (median)")
    ap.add_argument("--whole-process-only", action="store_true", help="only the command line against bare read_csv")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        work = Path(tmp)
        utf8 = work / "sales_utf8.csv"
        gbk = work / "sales_gbk.csv"
        xlsx = work / "sales.xlsx"
        generate_csv(utf8, args.rows)
        if args.whole_process_only:
            report_whole_process(utf8, work, args.repeats)
            return
        gbk.write_bytes(utf8.read_text(encoding="utf-8").encode("gbk"))
        generate_xlsx(xlsx, utf8, args.xlsx_rows)
        print(f"files: UTF-8 CSV {utf8.stat().st_size / 1e6:.0f} MB, GBK CSV {gbk.stat().st_size / 1e6:.0f} MB, "
              f"xlsx {xlsx.stat().st_size / 1e6:.1f} MB ({args.rows:,} / {args.xlsx_rows:,} rows)")
        rows = []

        def pair(label, ours_kind, ours_file, base_kind, base_file, target):
            ours = run_child(ours_kind, ours_file, work)
            base = run_child(base_kind, base_file, work)
            ratio = ours["seconds"] / base["seconds"]
            rows.append((label, ours, base, ratio, target))
            print(f"{label:10} kam_core {ours['seconds']:6.2f} s {ours['peak_mb']:6.0f} MB | "
                  f"{base_kind} {base['seconds']:6.2f} s {base['peak_mb']:6.0f} MB | ratio {ratio:4.2f} (target ≤ {target})")

        pair("CSV UTF-8", "kam_import", utf8, "duckdb_csv", utf8, 1.5)
        pair("CSV GBK", "kam_import", gbk, "duckdb_gbk", gbk, 1.5)
        pair("xlsx", "kam_import", xlsx, "fastexcel", xlsx, 1.3)
        cold = run_child("kam_import_cold", xlsx, work)
        print(f"xlsx       kam_core {cold['seconds']:6.2f} s {cold['peak_mb']:6.0f} MB as the first import of a process "
              f"that did not start the reader's server beforehand (ratio {cold['seconds'] / rows[-1][2]['seconds']:4.2f})")
        if not args.skip_openpyxl:
            ours = rows[-1][1]
            slow = run_child("pandas_openpyxl", xlsx, work)
            print(f"xlsx       pandas+openpyxl {slow['seconds']:6.2f} s {slow['peak_mb']:6.0f} MB | "
                  f"kam_core is {slow['seconds'] / ours['seconds']:.1f}× faster (target ≥ 20×)")
        print(f"peak memory of the {args.rows:,}-row CSV import: {rows[0][1]['peak_mb']:.0f} MB (target ≤ 600 MB)")
        report_whole_process(utf8, work, args.repeats)


def report_whole_process(utf8: Path, work: Path, repeats: int) -> None:
    import statistics

    ours, bare = [], []
    for _ in range(repeats):  # alternating, so that the machine's mood falls on both
        ours.append(whole_process("kam_cli", utf8, work))
        bare.append(whole_process("bare_duckdb", utf8, work))
    wall = [o[0] for o in ours], [b[0] for b in bare]
    cpu = [o[1] for o in ours], [b[1] for b in bare]
    ratios = sorted(o / b for o, b in zip(*wall))
    print(f"whole process: python -m kam_core import {statistics.median(wall[0]):6.2f} s | bare DuckDB read_csv process "
          f"{statistics.median(wall[1]):6.2f} s | ratio {statistics.median(wall[0]) / statistics.median(wall[1]):4.2f} "
          f"(pairs {ratios[0]:.2f}–{ratios[-1]:.2f}; target ≤ 1.5)")
    print(f"               CPU time (user + system) {statistics.median(cpu[0]):6.2f} s | "
          f"{statistics.median(cpu[1]):6.2f} s | ratio {statistics.median(cpu[0]) / statistics.median(cpu[1]):4.2f} "
          "(less shaken by other work on the machine)")
    print(f"modules the import command loaded of pandas, ibis, plotly, streamlit: {modules_loaded_by_import(utf8, work)}")


if __name__ == "__main__":
    os.environ.setdefault("KAM_AUTO_DEMO", "0")
    main()
