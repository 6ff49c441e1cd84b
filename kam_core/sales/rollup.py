"""The rollups: the sales lines summed at the grains the pages read, kept exact and in step.

Four tables, each keyed by the import the lines came from, so that loading
an import adds rows, undoing it deletes them, and nothing else ever changes:

* ``sales_daily`` — import × day × account: the company-wide figures, the
  as-of date, the comparison cut of an unfinished year, sales between two
  dates (promotions, price changes), order days.
* ``sales_monthly`` — import × calendar month × account × region × store ×
  category: every filtered figure, the mixes, the filter choices.
* ``sales_by_region`` — the same without the store: a region or category
  filter reads a tenth of the rows (summed from the import's monthly rows,
  not from its lines).
* ``sales_by_sku`` — import × calendar month × account × sku × region ×
  category: an account's products (top products, the share pack, also under
  a region or category filter), the month a SKU first sold.

The first three hold, per row, Σ amount, Σ profit and Σ amount over the lines
whose profit is known, Σ cost over the lines whose cost is known, Σ qty, the
line count and the count of lines with a profit; ``sales_by_sku`` Σ amount,
Σ profit, Σ qty, the line count and a product name its lines gave (one of
them, when a SKU had several names: ``max`` over strings doubled the cost). Only sums (and the
name), exact decimals: any
figure that is a sum over lines is the same sum over rollup rows, and a sum
with no known value stays NULL (unknown is never zero).

The rollups are derived data. They are written in the same transaction as
the lines they sum (import commit, undo, alias merge, demo), so a reader sees
both or neither; :func:`rebuild` makes them again from the lines, and
:func:`differences` says where they and the lines disagree (empty when in step).
"""
from __future__ import annotations

from typing import Any, Sequence

import duckdb

from kam_core.store import Store

ROLLUPS = ("sales_daily", "sales_monthly", "sales_by_region", "sales_by_sku")
SUMS = ("amount", "profit", "known_amount", "cost", "qty", "lines", "lines_with_profit")

_SUMS_SQL = """sum(amount), sum(profit), sum(amount) filter (where profit is not null), sum(cost), sum(qty),
               count(*), count(profit)"""
_SUMS_NAMED = """sum(amount) as amount, sum(profit) as profit,
               sum(amount) filter (where profit is not null) as known_amount, sum(cost) as cost,
               sum(qty) as qty, count(*) as lines, count(profit) as lines_with_profit"""
_DAILY_SQL = f"""
insert into sales_daily (import_id, date, account, {', '.join(SUMS)})
select import_id, date, account, {_SUMS_SQL}
from sales where {{where}} group by import_id, date, account
"""
_MONTHLY_SQL = f"""
insert into sales_monthly (import_id, month, account, region, store, category, {', '.join(SUMS)})
select import_id, date_trunc('month', date)::date, account, region, store, category, {_SUMS_SQL}
from sales where {{where}} group by import_id, date_trunc('month', date), account, region, store, category
"""


_SKU_SQL = """
insert into sales_by_sku (import_id, month, account, sku, region, category, product, amount, profit, qty, lines)
select import_id, date_trunc('month', date)::date, account, sku, region, category, any_value(product), sum(amount),
       sum(profit), sum(qty), count(*)
from sales where {where} group by import_id, date_trunc('month', date), account, sku, region, category
"""
_SKU_NAMED = "sum(amount) as amount, sum(profit) as profit, sum(qty) as qty, count(*) as lines"


_REGION_SQL = f"""
insert into sales_by_region (import_id, month, account, region, category, {', '.join(SUMS)})
select import_id, month, account, region, category, sum(amount), sum(profit), sum(known_amount), sum(cost), sum(qty),
       sum(lines), sum(lines_with_profit)
from sales_monthly where {{where}} group by import_id, month, account, region, category
"""


INSERTS = (("sales_daily", _DAILY_SQL), ("sales_monthly", _MONTHLY_SQL), ("sales_by_region", _REGION_SQL),
           ("sales_by_sku", _SKU_SQL))
"""Each rollup and the statement that sums lines into it, in the order they run (``sales_by_region``
sums ``sales_monthly``'s new rows, so it comes after it)."""


def _insert(cur: duckdb.DuckDBPyConnection, where: str, params: Sequence[Any]) -> None:
    for _table, sql in INSERTS:
        cur.execute(sql.format(where=where), params)


def _refresh(cur: duckdb.DuckDBPyConnection, where: str, params: Sequence[Any]) -> None:
    for table in ROLLUPS:
        cur.execute(f"delete from {table} where {where}", params)
    _insert(cur, where, params)


def add_import(cur: duckdb.DuckDBPyConnection, import_id: int, fresh: bool = False) -> None:
    """Sum the sales lines of ``import_id`` into the rollups (again, if they were summed before).

    Call inside the transaction that wrote the lines, before its commit.
    ``fresh``: the import is new, so it has no rollup rows to replace.
    """
    if fresh:
        _insert(cur, "import_id = ?", [int(import_id)])
    else:
        _refresh(cur, "import_id = ?", [int(import_id)])


def remove_import(cur: duckdb.DuckDBPyConnection, import_id: int) -> None:
    """Drop the rollup rows of ``import_id`` (its lines are being deleted in the same transaction)."""
    for table in ROLLUPS:
        cur.execute(f"delete from {table} where import_id = ?", [int(import_id)])


def refresh_accounts(cur: duckdb.DuckDBPyConnection, accounts: Sequence[str]) -> None:
    """Sum the lines of ``accounts`` again (after lines moved between accounts, e.g. an alias merge)."""
    names = sorted({str(a) for a in accounts})
    if names:
        _refresh(cur, "list_contains(?, account)", [names])


def rebuild(store: Store) -> int:
    """Make both rollups again from the lines, in one transaction; returns the rollup rows written."""
    with store.transaction() as cur:
        for table in ROLLUPS:
            cur.execute(f"delete from {table}")
        _insert(cur, "true", [])
        Store.bump_data_version(cur)
        return int(sum(cur.execute(f"select count(*) from {t}").fetchone()[0] for t in ROLLUPS))


def differences(store: Store) -> list[tuple]:
    """Where a rollup's sums and the lines disagree: ``(rollup, import_id, key…, what)`` rows, empty when in step.

    Compares every row of both rollups with the same sums taken from the lines
    now (a full scan: for tests and ``python -m kam_core rollup check``).
    """
    cur = store.cursor()
    out: list[tuple] = []
    for table, keys, key_sql, sums, names in (
        ("sales_daily", "import_id, date, account", "import_id, date, account", _SUMS_NAMED, ", ".join(SUMS)),
        ("sales_monthly", "import_id, month, account, region, store, category",
         "import_id, date_trunc('month', date)::date as month, account, region, store, category",
         _SUMS_NAMED, ", ".join(SUMS)),
        ("sales_by_region", "import_id, month, account, region, category",
         "import_id, date_trunc('month', date)::date as month, account, region, category",
         _SUMS_NAMED, ", ".join(SUMS)),
        ("sales_by_sku", "import_id, month, account, sku, region, category",
         "import_id, date_trunc('month', date)::date as month, account, sku, region, category", _SKU_NAMED,
         "amount, profit, qty, lines"),
    ):
        out.extend(cur.execute(f"""
            with from_lines as (select {key_sql}, {sums} from sales group by all),
            kept as (select {keys}, {names} from {table}),
            missing as (select * from from_lines except all select * from kept),
            extra as (select * from kept except all select * from from_lines)
            select '{table}', {keys}, 'missing' from missing
            union all
            select '{table}', {keys}, 'extra' from extra
        """).fetchall())
    return out
