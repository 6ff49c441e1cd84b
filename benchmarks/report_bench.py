"""How much the export layer costs over a bare xlsxwriter write, and how long the tier report takes.

    python benchmarks/report_bench.py [--detail 50000] [--accounts 300] [--rows 1000000] [--repeat 3]

1. Workbook: a 300-account × 15-column summary plus a 50,000-line × 12-column
   detail sheet, written (a) through ``kam_core.exports.xlsx.write_table`` (formula
   escaping, number formats, widths, row-limit splitting) and (b) by a bare
   xlsxwriter loop writing the same cells with the same formats and nothing
   else. Both in ``constant_memory`` mode, alternated in the same run; the
   median ratio is printed (target ≤ 1.2×).
2. ``build_tier_report`` (no detail sheet) on a store with ``--rows`` generated
   sales lines over two years: cold (first call) and warm.
"""
from __future__ import annotations

import argparse
import datetime as dt
import io
import statistics
import sys
import time
from pathlib import Path

import numpy as np
import pandas as pd
import xlsxwriter

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from kam_core.exports import reports, xlsx  # noqa: E402
from kam_core.exports.tier_report import account_owners  # noqa: E402
from kam_core.locales.columns import column_kind  # noqa: E402
from kam_core.permissions import SYSTEM  # noqa: E402
from kam_core.store import open_store  # noqa: E402

SUMMARY_COLUMNS = ["account", "year", "sales", "gross_profit", "margin", "share", "profit_share", "rank",
                   "profit_rank", "cum_share", "abc", "yoy", "tier", "to_next_tier", "basis_amount"]
DETAIL_COLUMNS = ["date", "store", "region", "supplier", "brand", "category", "sku", "product", "qty",
                  "amount", "cost", "profit"]


def make_frames(accounts: int, detail: int, seed: int = 7) -> tuple[pd.DataFrame, pd.DataFrame]:
    rng = np.random.default_rng(seed)
    names = [f"供应商{i:03d}有限公司" for i in range(accounts)]
    sales = np.sort(rng.pareto(1.2, accounts) * 1e6)[::-1]
    share = sales / sales.sum()
    summary = pd.DataFrame({
        "account": names, "year": 2025, "sales": sales, "gross_profit": sales * 0.12, "margin": 0.12,
        "share": share, "profit_share": share, "rank": np.arange(1, accounts + 1),
        "profit_rank": np.arange(1, accounts + 1), "cum_share": np.cumsum(share),
        "abc": rng.choice(["A", "B", "C"], accounts), "yoy": rng.normal(0.05, 0.2, accounts),
        "tier": rng.choice(["strategic", "partner", "ordinary", "none"], accounts),
        "to_next_tier": rng.uniform(0, 1e7, accounts), "basis_amount": sales,
    })
    days = rng.integers(0, 365, detail)
    amount = np.round(rng.uniform(-50, 5000, detail), 2)
    detail_df = pd.DataFrame({
        "date": [dt.date(2025, 1, 1) + dt.timedelta(days=int(d)) for d in days],
        "store": rng.choice([f"门店{i:02d}" for i in range(40)], detail),
        "region": rng.choice(["华东", "华南", "华北", "西南"], detail),
        "supplier": rng.choice(names, detail),
        "brand": rng.choice([f"品牌{i}" for i in range(80)], detail),
        "category": rng.choice(["食品", "饮料", "日化", "家电"], detail),
        "sku": [f"{n:08d}" for n in rng.integers(0, 10**8, detail)],
        "product": rng.choice([f"商品名称{i}" for i in range(2000)], detail),
        "qty": rng.integers(-2, 50, detail).astype(float),
        "amount": amount, "cost": np.round(amount * 0.85, 2), "profit": np.round(amount * 0.15, 2),
    })
    return summary, detail_df


def write_with_exports(summary: pd.DataFrame, detail: pd.DataFrame) -> bytes:
    buffer = io.BytesIO()
    wb, formats = xlsx.new_workbook(buffer, "bench")
    xlsx.write_frame(wb, formats, "Summary", summary, "zh")
    xlsx.write_frame(wb, formats, "Detail", detail, "zh")
    return xlsx.close_workbook(wb, buffer)


def write_bare(summary: pd.DataFrame, detail: pd.DataFrame) -> bytes:
    """The same cells and formats, straight into xlsxwriter: no escaping, no checks, no widths."""
    buffer = io.BytesIO()
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": True})
    fmt = {k: wb.add_format({"num_format": f}) for k, f in [
        ("money", xlsx.MONEY_FORMAT), ("ratio", xlsx.RATIO_FORMAT), ("int", xlsx.INT_FORMAT),
        ("qty", xlsx.QTY_FORMAT), ("date", xlsx.DATE_FORMAT)]}
    header = wb.add_format({"bold": True})
    for name, df in (("Summary", summary), ("Detail", detail)):
        ws = wb.add_worksheet(name)
        kinds = [column_kind(c, df[c]) for c in df.columns]
        for c, col in enumerate(df.columns):
            ws.write_string(0, c, col, header)
        cols = [df[c].tolist() for c in df.columns]
        for r, row in enumerate(zip(*cols), start=1):
            for c, v in enumerate(row):
                k = kinds[c]
                if k == "text":
                    ws.write_string(r, c, v)
                elif k == "date":
                    ws.write_datetime(r, c, v, fmt["date"])
                else:
                    ws.write_number(r, c, v, fmt.get(k))
    wb.close()
    return buffer.getvalue()


def timed(fn, *args) -> float:
    start = time.perf_counter()
    fn(*args)
    return time.perf_counter() - start


def bench_workbook(accounts: int, detail: int, repeat: int) -> None:
    summary, detail_df = make_frames(accounts, detail)
    ours, bare = [], []
    for _ in range(repeat):  # alternate so machine jitter hits both paths alike
        ours.append(timed(write_with_exports, summary, detail_df))
        bare.append(timed(write_bare, summary, detail_df))
    a, b = statistics.median(ours), statistics.median(bare)
    print(f"workbook {accounts} accounts + {detail:,} detail lines ({repeat} runs, median):")
    print(f"  kam_core.exports.xlsx  {a:6.2f} s")
    print(f"  bare xlsxwriter   {b:6.2f} s")
    print(f"  ratio             {a / b:6.2f}x   (target <= 1.2x)")


def bench_tier_report(rows: int, accounts: int) -> None:
    store = open_store(":memory:")
    cur = store.cursor()
    # Heavy-tailed accounts over two years, generated in the engine (loading is not what we measure).
    cur.execute("insert into imports (id, file_name, sha256, sheets, rows_loaded, date_min, date_max)"
                " values (1, 'bench.csv', repeat('0', 64), '[]', ?, date '2024-01-01', date '2025-12-31')", [rows])
    cur.execute(f"""
        insert into sales (import_id, date, account, amount, cost, profit, qty)
        select 1, date '2024-01-01' + cast(i % 730 as integer),
               '供应商' || lpad(cast(cast(floor(pow(random(), 3) * {accounts}) as integer) as varchar), 3, '0'),
               cast(round(random() * 2000, 2) as decimal(18,2)), null, null, 1
        from range(?) t(i)""", [rows])
    cur.execute("update sales set cost = amount * 0.85, profit = amount - amount * 0.85")
    # every account has a dossier with an owner: the report reads them through kam_core.dossier
    cur.execute("insert into accounts (name, owner) select distinct account, 'wang' from sales")
    owners = statistics.median(timed(account_owners, store, SYSTEM) for _ in range(3))
    n = cur.execute("select count(*) from accounts").fetchone()[0]
    print(f"owners of {n} dossiers through kam_core.dossier: {owners * 1000:.0f} ms")
    cold = timed(reports.build_tier_report, store, 2025)
    warm = statistics.median(timed(reports.build_tier_report, store, 2025) for _ in range(3))
    print(f"tier report without detail, {rows:,} sales lines: cold {cold:.2f} s, warm {warm:.2f} s")
    store.close()


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--accounts", type=int, default=300)
    p.add_argument("--detail", type=int, default=50_000)
    p.add_argument("--rows", type=int, default=1_000_000, help="sales lines for the tier report timing")
    p.add_argument("--repeat", type=int, default=3)
    args = p.parse_args()
    bench_workbook(args.accounts, args.detail, args.repeat)
    bench_tier_report(args.rows, args.accounts)


if __name__ == "__main__":
    main()
