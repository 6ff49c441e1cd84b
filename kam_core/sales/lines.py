"""Writing the lines: an import's load and its figures, undo, alias moves, literal lines.

The importer (:mod:`kam_core.imports.pipeline`) decides *what* a line is; this
module owns *where* it goes. Every function runs on the caller's cursor,
inside the caller's transaction, and keeps the rollups in step
(:mod:`kam_core.sales.rollup`) in that same transaction. Two kinds of lines:
``sales`` (one row per export line) and ``inventory`` (stock snapshots).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import duckdb

from kam_core.sales import rollup

KINDS = ("sales", "inventory")
SALES_COLUMNS = ("source_sheet", "source_row", "date", "account", "account_raw", "supplier", "brand", "category",
                 "store", "region", "sku", "product", "qty", "amount", "cost", "profit", "unit_price")
INVENTORY_COLUMNS = ("source_sheet", "source_row", "snapshot_date", "account", "account_raw", "sku", "product",
                     "store", "qty_on_hand", "stock_value")
TEXT_FIELDS = ("supplier", "brand", "category", "store", "region", "sku", "product")


def _table(kind: str) -> str:
    if kind not in KINDS:
        raise ValueError(f"lines are sales or inventory, not {kind!r}")
    return kind


def columns_of(kind: str) -> tuple[str, ...]:
    """The columns an import of ``kind`` fills, in load order (``import_id`` comes first, apart)."""
    return SALES_COLUMNS if _table(kind) == "sales" else INVENTORY_COLUMNS


def load(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, select_sql: str,
         params: Mapping[str, Any]) -> int:
    """Insert the rows of ``select_sql`` (one column per :func:`columns_of`) as lines of ``import_id``.

    Runs on the importer's staging cursor inside its open transaction; returns
    the lines loaded. The rollups are summed at commit (:func:`publish_import`).
    """
    table = _table(kind)
    row = con.execute(
        f"insert into {table} (import_id, {', '.join(columns_of(kind))}) "
        f"select $import_id, * from ({select_sql})", {**params, "import_id": int(import_id)}).fetchone()
    return int(row[0])


def import_rows(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, sheets: Sequence[str]) -> Any:
    """The lines of ``import_id`` as an Arrow table, in sheet then row order (previews and tests)."""
    table = _table(kind)
    return con.execute(
        f"select {', '.join(columns_of(kind))} from {table} where import_id = $id "
        f"order by list_position($sheets, source_sheet), source_row",
        {"id": int(import_id), "sheets": list(sheets)}).fetch_arrow_table()


def loaded_positions(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, sheets: Sequence[str]) -> Any:
    """``{sheet_no, source_row}`` numpy arrays of the lines of ``import_id`` (sheet_no 0-based in ``sheets``)."""
    return con.execute(
        f"select list_position(?, source_sheet) - 1 as sheet_no, source_row from {_table(kind)} where import_id = ?",
        [list(sheets), int(import_id)]).fetchnumpy()


def import_figures(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, formula_start_sql: str) -> tuple:
    """What the loaded lines of ``import_id`` add up to, for the validation report.

    ``(first date, last date, Σ amount, Σ cost, Σ profit, Σ qty, lines with a
    cell that starts like a formula, lines without cost and profit, lines
    that repeat another line exactly)``; for inventory the amount is the stock
    value, the quantity the stock on hand, and cost, profit and the no-cost
    count are empty. ``formula_start_sql`` is the importer's test of a line's
    text cells (it knows which columns the file had).
    """
    if _table(kind) == "sales":
        sql = f"""select min(date), max(date), sum(amount), sum(cost), sum(profit), sum(qty),
                         count(*) filter (where {formula_start_sql}),
                         count(*) filter (where cost is null and profit is null),
                         count(*) - count(distinct hash(date, {', '.join(TEXT_FIELDS)}, qty, amount, cost, profit,
                                                        unit_price))
                  from sales where import_id = ?"""
    else:
        sql = f"""select min(snapshot_date), max(snapshot_date), sum(stock_value), null, null, sum(qty_on_hand),
                         count(*) filter (where {formula_start_sql}), 0,
                         count(*) - count(distinct hash(snapshot_date, account, sku, product, store, qty_on_hand,
                                                        stock_value))
                  from inventory where import_id = ?"""
    return con.execute(sql, [int(import_id)]).fetchone()


def count_cells(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, cells_sql: str) -> int:
    """Σ of the importer's per-line expression ``cells_sql`` over the lines of ``import_id``."""
    row = con.execute(f"select sum({cells_sql}) from {_table(kind)} where import_id = ?", [int(import_id)]).fetchone()
    return int(row[0] or 0)


def import_spans(cur: duckdb.DuckDBPyConnection, kind: str, first: dt.date | None, last: dt.date | None,
                 accounts: Sequence[str]) -> list[tuple]:
    """The imports with lines of ``accounts`` between ``first`` and ``last``, and the dates they cover.

    ``(import id, first date, last date)`` rows, by id, of every import whose
    lines are in the table (the importer keeps to the loaded ones and names
    their files). Sales are looked up in ``sales_daily``, which has one row per
    import, day and account.
    """
    if first is None or not accounts:
        return []
    table, date_col = ("sales_daily", "date") if _table(kind) == "sales" else ("inventory", "snapshot_date")
    return cur.execute(
        f"""select import_id, min({date_col}), max({date_col}) from {table}
            where {date_col} between ? and ? and list_contains(?, account)
            group by import_id order by import_id""",
        [first, last, list(accounts)]).fetchall()


def publish_import(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> None:
    """Bring the rollups in step with the lines of ``import_id``, inside the transaction that commits them."""
    if _table(kind) == "sales":
        rollup.add_import(cur, import_id, fresh=True)


def remove_import(cur: duckdb.DuckDBPyConnection, kind: str, import_id: int) -> int:
    """Delete every line of ``import_id`` (and its rollup rows); returns the lines removed."""
    table = _table(kind)
    n = cur.execute(f"select count(*) from {table} where import_id = ?", [int(import_id)]).fetchone()[0]
    cur.execute(f"delete from {table} where import_id = ?", [int(import_id)])
    if table == "sales":
        rollup.remove_import(cur, import_id)
    return int(n)


def raw_names(cur: duckdb.DuckDBPyConnection, account: str) -> list[str]:
    """The distinct raw spellings (``account_raw``) of the sales and inventory lines of ``account``."""
    return [r[0] for table in KINDS for r in cur.execute(
        f"select distinct account_raw from {table} where account = ? and account_raw is not null",
        [account]).fetchall()]


def move_lines(cur: duckdb.DuckDBPyConnection, old: str, new: str, raws: Sequence[str]) -> int:
    """Count the lines of ``old`` spelled as one of ``raws`` for ``new`` instead; returns sales lines moved.

    Sales and inventory lines both move; the rollups of both accounts are summed again.
    """
    raws = sorted(set(raws))
    if not raws or old == new:
        return 0
    moved = cur.execute("select count(*) from sales where account = ? and list_contains(?, account_raw)",
                        [old, raws]).fetchone()[0]
    for table in KINDS:
        cur.execute(f"update {table} set account = ? where account = ? and list_contains(?, account_raw)",
                    [new, old, raws])
    rollup.refresh_accounts(cur, [old, new])
    return int(moved)


def append_sales(cur: duckdb.DuckDBPyConnection, import_id: int, lines: Any) -> int:
    """Add literal sales lines to ``import_id`` and sum them into the rollups; returns the lines added.

    ``lines`` is anything DuckDB can scan (an Arrow table or a pandas frame)
    whose columns are a subset of :data:`SALES_COLUMNS`; ``date`` and
    ``amount`` are required, ``account`` defaults to ``supplier``. For the demo
    data and for tests that need lines without a file.
    """
    cur.register("kam_append_lines", lines)
    try:
        have = [d[0] for d in cur.execute("select * from kam_append_lines limit 0").description]
        cols = [c for c in SALES_COLUMNS if c in have]
        if "account" not in have:
            cols.append("account")
        select = [("supplier as account" if c == "account" and "account" not in have else c) for c in cols]
        n = cur.execute(f"insert into sales (import_id, {', '.join(cols)}) "
                        f"select ?, {', '.join(select)} from kam_append_lines", [int(import_id)]).fetchone()[0]
    finally:
        cur.unregister("kam_append_lines")
    rollup.add_import(cur, import_id)
    return int(n)


def stage_view(con: duckdb.DuckDBPyConnection, kind: str, import_id: int, name: str = "staged_lines") -> str:
    """A temporary view ``name`` of the lines of ``import_id`` on ``con``, with ``line_amount`` added.

    ``line_amount`` is the amount for sales and the stock value for inventory,
    so the importer's checks read one column whatever the kind. The view lives
    on the importer's staging cursor (it sees the uncommitted lines). Returns ``name``.
    """
    table = _table(kind)
    amount = "amount" if table == "sales" else "stock_value"
    # The one value written into SQL text: DuckDB refuses bound parameters in CREATE VIEW (a
    # view is stored as text, so it cannot hold a placeholder). int() makes sure only an
    # integer can get there, whatever a caller passes; the table comes from _table (sales or
    # inventory) and the view's name from the importer's own code, never from input.
    con.execute(f"create or replace temp view {name} as "
                f"select *, {amount} as line_amount from {table} where import_id = {int(import_id)}")
    return name


def rename_accounts(con: duckdb.DuckDBPyConnection, kind: str, import_id: int,
                    changes: Mapping[str, tuple[str, str]]) -> None:
    """Give the lines of ``import_id`` spelled ``old_raw`` the spelling and account ``changes[old_raw]``."""
    for old_raw, (account_raw, account) in changes.items():
        con.execute(f"update {_table(kind)} set account = ?, account_raw = ? where import_id = ? and account_raw = ?",
                    [account, account_raw, int(import_id), old_raw])


def import_totals(cur: duckdb.DuckDBPyConnection, import_id: int) -> tuple:
    """``(lines, Σ amount, Σ profit, first date, last date)`` of the sales of ``import_id`` (from its rollup)."""
    return cur.execute("select coalesce(sum(lines), 0)::bigint, sum(amount), sum(profit), min(date), max(date)"
                       " from sales_daily where import_id = ?", [int(import_id)]).fetchone()
