"""The full tier table through kam_core vs a hand-written DuckDB query, same run.

    python3 benchmarks/metrics_bench.py [--rows 10000000] [--year 2025] [--repeat 7] [--fresh]

Generates ``--rows`` sales lines in a DuckDB store file (SQL ``range`` with a
fixed ``setseed``; 300 heavy-tailed accounts over 2023–2025, 10 % of lines
without cost/profit, 3 % returns), kept in ``benchmarks/out/`` for reruns.
The lines are summed into the rollups as an import would (``kam_core.sales.rollup``):
kam_core reads those, the hand-written query reads the lines. Then, for one
year's tier table (ranks, shares, cumulative share, ABC, YoY, tier,
to-next-tier), times:
  - cold: each path in a fresh process: open the store, first query, result
    as a pandas frame (library imports timed apart);
  - warm: both paths in this process, alternating, median of ``--repeat``
    (the data version is bumped before each kam_core run, so its remembered
    figures are computed again, not read from memory).
Both results are checked to be the same table. The machine jitters up to 2×
between runs, so only the ratios inside one run mean anything.
"""
from __future__ import annotations

import argparse
import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

GENERATE_SQL = """
select setseed(0.42);
insert into sales (import_id, date, account, amount, cost, profit, region, category, store)
select 1,
       date '2023-01-01' + cast(floor(r_day * 1096) as integer),
       'supplier_' || lpad(cast(cast(floor(300 * pow(r_acc, 2.5)) as integer) as varchar), 3, '0'),
       amount, cost, amount - cost,
       'region_' || cast(i % 6 as varchar), 'cat_' || cast(i % 8 as varchar), 'store_' || cast(i % 40 as varchar)
from (
    select i, r_day, r_acc, amount,
           case when r_cost < 0.9 then cast(round(amount * (0.6 + 0.35 * r_margin), 2) as decimal(18,2)) end as cost
    from (
        select i, random() as r_day, random() as r_acc, random() as r_cost, random() as r_margin,
               cast(round((random() * 2000 + 1) * (case when random() < 0.03 then -1 else 1 end), 2)
                    as decimal(18,2)) as amount
        from range($rows) t(i)
    )
);
"""

# The same definitions as kam_core.metrics, written by hand as one query.
HAND_SQL = """
with lines as (
    select account, amount, cost, profit, date >= $start as in_year
    from sales
    where date >= $prev_start and date < $end
),
per_account as (
    select account,
           sum(amount) filter (where in_year) as sales,
           sum(profit) filter (where in_year) as gross_profit,
           sum(amount) filter (where in_year and profit is not null) as known_amount,
           sum(amount) filter (where not in_year) as prev_sales,
           count(*) filter (where not in_year) as prev_lines
    from lines
    group by account
    having count(*) filter (where in_year) > 0
),
ranked as (
    select *,
           sum(sales) over () as total_sales,
           sum(gross_profit) over () as total_profit,
           sum(sales) over (order by sales desc, account rows unbounded preceding) as cum_sales,
           row_number() over (order by sales desc, account) as rank,
           row_number() over (order by gross_profit desc nulls last, account) as profit_rank
    from per_account
),
final as (
    select account,
           $year as year,
           sales::double as sales,
           gross_profit::double as gross_profit,
           gross_profit::double / nullif(known_amount::double, 0) as margin,
           sales::double / nullif(total_sales::double, 0) as share,
           gross_profit::double / nullif(total_profit::double, 0) as profit_share,
           rank,
           case when gross_profit is not null then profit_rank end as profit_rank,
           cum_sales::double / nullif(total_sales::double, 0) as cum_share,
           case when (cum_sales - sales)::double / nullif(total_sales::double, 0) < 0.80 then 'A'
                when (cum_sales - sales)::double / nullif(total_sales::double, 0) < 0.95 then 'B'
                else 'C' end as abc,
           case when prev_lines > 0 and prev_sales > 0 then sales::double / prev_sales::double - 1 end as yoy,
           case when sales >= 50000000 then 'strategic' when sales >= 20000000 then 'partner'
                when sales >= 5000000 then 'ordinary' else 'none' end as tier,
           case when sales >= 50000000 then null when sales >= 20000000 then (50000000 - sales)::double
                when sales >= 5000000 then (20000000 - sales)::double else (5000000 - sales)::double end
               as to_next_tier
    from ranked
)
select * from final order by rank
"""


def ensure_data(db: Path, rows: int, fresh: bool) -> float:
    """Create the store with ``rows`` generated lines; returns seconds spent (0 when reused)."""
    from kam_core.store import Store, open_store

    if db.exists() and not fresh:
        store = open_store(db)
        have = store.cursor().execute("select count(*) from sales").fetchone()[0]
        store.close()
        if have == rows:
            return 0.0
    for suffix in ("", ".wal"):
        Path(str(db) + suffix).unlink(missing_ok=True)
    db.parent.mkdir(parents=True, exist_ok=True)
    started = time.perf_counter()
    store = open_store(db)
    from kam_core.sales import rollup

    with store.transaction() as cur:
        cur.execute(GENERATE_SQL.replace("$rows", str(int(rows))))
        cur.execute("insert into imports (id, file_name, sha256, sheets, rows_loaded, date_min, date_max)"
                    " select 1, 'generated', repeat('0', 64), '[]', count(*), min(date), max(date) from sales")
        rollup.add_import(cur, 1, fresh=True)
        Store.bump_data_version(cur)
    store.cursor().execute("checkpoint")
    store.close()
    return time.perf_counter() - started


def hand_params(year: int) -> dict:
    import datetime as dt

    return {"year": year, "start": dt.date(year, 1, 1), "prev_start": dt.date(year - 1, 1, 1),
            "end": dt.date(year + 1, 1, 1)}


def run_kam(store, year: int):
    from kam_core.sales import tiers

    return tiers.assign_tiers(store, year)


def run_kam_afresh(store, year: int):
    """The tier table computed again (a new data version: nothing remembered applies)."""
    from kam_core.store import Store

    with store.transaction() as cur:
        Store.bump_data_version(cur)
    return run_kam(store, year)


def run_hand(store, year: int):
    return store.cursor().execute(HAND_SQL, hand_params(year)).to_arrow_table().to_pandas()


def child(path: str, db: Path, year: int) -> None:
    """One cold measurement in this fresh process; prints JSON."""
    started = time.perf_counter()
    from kam_core.sales import tiers  # noqa: F401  (ibis, pandas: the kam path's imports)
    from kam_core.store import open_store
    imported = time.perf_counter()
    store = open_store(db)
    df = run_kam(store, year) if path == "kam" else run_hand(store, year)
    done = time.perf_counter()
    print(json.dumps({"imports": imported - started, "first_query": done - imported, "rows": len(df)}))


def cold(path: str, db: Path, year: int) -> dict:
    out = subprocess.run([sys.executable, __file__, "--child", path, "--db", str(db), "--year", str(year)],
                         check=True, capture_output=True, text=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=10_000_000)
    parser.add_argument("--year", type=int, default=2025)
    parser.add_argument("--repeat", type=int, default=7)
    parser.add_argument("--db", type=Path, default=ROOT / "benchmarks" / "out" / "metrics_bench.duckdb")
    parser.add_argument("--fresh", action="store_true", help="regenerate the data even if the file has it")
    parser.add_argument("--child", choices=("kam", "hand"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child:
        child(args.child, args.db, args.year)
        return

    generated = ensure_data(args.db, args.rows, args.fresh)
    print(f"data: {args.rows:,} rows in {args.db}" + (f" (generated in {generated:.1f} s)" if generated else " (reused)"))

    cold_kam, cold_hand = cold("kam", args.db, args.year), cold("hand", args.db, args.year)
    print(f"cold, fresh process: kam_core {cold_kam['first_query']:.3f} s (+{cold_kam['imports']:.2f} s imports)"
          f" | hand SQL {cold_hand['first_query']:.3f} s (+{cold_hand['imports']:.2f} s imports)"
          f" | ratio {cold_kam['first_query'] / cold_hand['first_query']:.2f}x")

    import pandas as pd

    from kam_core.store import open_store

    store = open_store(args.db)
    kam_df, hand_df = run_kam(store, args.year), run_hand(store, args.year)  # warm-up, and the check
    columns = [c for c in hand_df.columns]
    pd.testing.assert_frame_equal(
        kam_df[columns].reset_index(drop=True).astype({"profit_rank": "float64"}),
        hand_df.astype({"profit_rank": "float64", "year": "int64", "rank": "int64"}),
        check_dtype=False, rtol=1e-12,
    )
    print(f"same table: {len(kam_df)} accounts, tiers {kam_df['tier'].value_counts().to_dict()}")

    kam_times, hand_times = [], []
    for _ in range(args.repeat):
        for times, run in ((kam_times, run_kam_afresh), (hand_times, run_hand)):
            started = time.perf_counter()
            run(store, args.year)
            times.append(time.perf_counter() - started)
    kam_warm, hand_warm = statistics.median(kam_times), statistics.median(hand_times)
    print(f"warm, median of {args.repeat}: kam_core {kam_warm:.3f} s | hand SQL {hand_warm:.3f} s"
          f" | ratio {kam_warm / hand_warm:.2f}x (target <= 1.5x)")

    store.close()


if __name__ == "__main__":
    main()
