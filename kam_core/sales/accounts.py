"""One account's sales and stock: the dossier's Sales and Records tabs, the data-sharing pack, the plans.

Aggregates read the rollups (``sales_daily`` for company-wide sums by day,
``sales_monthly`` where a filter or a region/store/category split is asked);
only the drill-downs that need single lines or products — top products,
returns, the quantity sold before a stock snapshot — read the lines. Sales
numbers are readable by every role, so no user is needed. Years are fiscal
years (``fiscal_start_month``); ``filters`` narrow the lines like the sidebar does.
Also here: what the data holds (the filters' choices, the accounts with sales).
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping, Sequence

import pandas as pd

from kam_core.store import Store
from kam_core.sales.memo import remember
from kam_core.sales.periods import DIMENSIONS, Filters, fiscal_year_bounds

MIX_DIMENSIONS: tuple[str, ...] = DIMENSIONS
"""Columns an account's sales can be broken down by (identifiers are never taken from input)."""
COVER_WEEKS = 8
"""Weeks of sales that weeks of cover averages over."""


def _start_month(settings: Mapping[str, Any] | None) -> int:
    return int((settings or {}).get("fiscal_start_month", 1))


def _where(account: str, start: dt.date, end: dt.date, filters: Filters | None,
           date_col: str = "date") -> tuple[str, list[Any]]:
    """``account = ? and <date_col> in [start, end)`` plus the filters, as SQL and bound values."""
    parts, params = ["account = ?", f"{date_col} >= ?", f"{date_col} < ?"], [account, start, end]
    for column in DIMENSIONS:
        values = list(getattr(filters, column, ()) or ()) if filters is not None else []
        if values:
            parts.append(f"list_contains(?, {column})")
            params.append(values)
    return " and ".join(parts), params


def _rollup(filters: Filters | None, start: dt.date) -> tuple[str, str, dt.date]:
    """The rollup to read: daily when nothing is filtered, else monthly (by month start)."""
    if filters:
        return "sales_monthly", "month", start.replace(day=1)
    return "sales_daily", "date", start


def _frame(store: Store, sql: str, params: Sequence[Any] | Mapping[str, Any], columns: Sequence[str]) -> pd.DataFrame:
    return pd.DataFrame(store.cursor().execute(sql, params).fetchall(), columns=list(columns), dtype=object)


def _dates(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for c in columns:
        df[c] = pd.to_datetime(df[c])
    return df


def _floats(df: pd.DataFrame, *columns: str) -> pd.DataFrame:
    for c in columns:
        df[c] = pd.to_numeric(df[c], errors="coerce").astype("float64")
    return df


# -- what the data holds ------------------------------------------------------------------------
def filter_options(store: Store) -> dict[str, Any]:
    """Distinct regions, categories and stores, and the date range of the sales lines."""
    return dict(remember(store, ("filter_options",), lambda: _filter_options(store)))


def _filter_options(store: Store) -> dict[str, Any]:
    cur = store.cursor()

    def distinct(column: str, table: str = "sales_by_region") -> list[str]:
        # column names are fixed here, never from input
        return [r[0] for r in cur.execute(
            f"select distinct {column} from {table} where {column} is not null order by 1").fetchall()]

    lo, hi = cur.execute("select min(date), max(date) from sales_daily").fetchone()
    return {"regions": distinct("region"), "categories": distinct("category"),
            "stores": distinct("store", "sales_monthly"),
            "date_min": lo, "date_max": hi}


def has_sales(store: Store) -> bool:
    """Whether any sales line is loaded."""
    return bool(store.cursor().execute("select exists (select 1 from sales_daily)").fetchone()[0])


def account_names(store: Store) -> list[str]:
    """Every account that has sales lines, by name."""
    return [r[0] for r in store.cursor().execute("select distinct account from sales_daily order by 1").fetchall()]


def lines_per_account(store: Store) -> dict[str, int]:
    """Sales lines loaded per account."""
    return dict(store.cursor().execute("select account, sum(lines)::bigint from sales_daily group by account").fetchall())


def first_sale_date(store: Store) -> dt.date | None:
    """The first sales date loaded (None without lines)."""
    return store.cursor().execute("select min(date) from sales_daily").fetchone()[0]


def last_sale_date(store: Store, account: str) -> dt.date | None:
    """The account's last sales date (None when it has no lines)."""
    return store.cursor().execute("select max(date) from sales_daily where account = ?", [account]).fetchone()[0]


def has_account(store: Store, account: str) -> bool:
    """Whether ``account`` has any sales or inventory line."""
    return bool(store.cursor().execute(
        "select exists (select 1 from sales_daily where account = ?) or exists (select 1 from inventory where account = ?)",
        [account, account]).fetchone()[0])


def top_accounts(store: Store, start: dt.date, end: dt.date, n: int) -> list[str]:
    """The ``n`` accounts with most sales in [start, end), ties by name."""
    return [r[0] for r in store.cursor().execute(
        "select account from sales_daily where date >= ? and date < ? group by account"
        " order by sum(amount) desc, account limit ?", [start, end, int(n)]).fetchall()]


# -- one account's sales ------------------------------------------------------------------------
def sales_between(store: Store, account: str, start: dt.date, end: dt.date) -> float:
    """The account's Σ amount from ``start`` to ``end``, both days included (0 when none)."""
    row = store.cursor().execute("select coalesce(sum(amount), 0)::double from sales_daily"
                                 " where account = ? and date between ? and ?", [account, start, end]).fetchone()
    return float(row[0])


def sales_around(store: Store, account: str, days: Sequence[dt.date], width: int) -> list[tuple[float, float]]:
    """For each day d: the account's Σ amount in the ``width`` days before d and in the ``width`` days from d on."""
    if not days:
        return []
    rows = dict((d, (b, a)) for d, b, a in store.cursor().execute(
        """select d.day,
                  coalesce(sum(s.amount) filter (where s.date < d.day), 0)::double,
                  coalesce(sum(s.amount) filter (where s.date >= d.day), 0)::double
           from (select unnest(?::date[]) as day) d
           left join sales_daily s on s.account = ? and s.date >= d.day - cast(? as integer)
                                   and s.date < d.day + cast(? as integer)
           group by d.day""", [list(days), account, int(width), int(width)]).fetchall())
    return [rows.get(d, (0.0, 0.0)) for d in days]


def totals(store: Store, account: str, start: dt.date, end: dt.date) -> dict[str, Any]:
    """The account's ``sales``, ``qty`` and ``lines`` in [start, end)."""
    sales, qty, lines = store.cursor().execute(
        "select coalesce(sum(amount), 0)::double, sum(qty)::double, coalesce(sum(lines), 0)::bigint"
        " from sales_daily where account = ? and date >= ? and date < ?", [account, start, end]).fetchone()
    return {"sales": float(sales), "qty": None if qty is None else float(qty), "lines": int(lines)}


def monthly(store: Store, account: str, year: int, settings: Mapping[str, Any] | None = None,
            filters: Filters | None = None, years_back: int = 1) -> pd.DataFrame:
    """Per calendar month from fiscal year ``year - years_back`` to ``year``: the account's figures.

    Columns ``month`` (first day of the month, a timestamp), ``sales``,
    ``gross_profit`` (NaN when no line of the month has a known profit),
    ``qty``, ``lines``; months without sales are absent.
    """
    start, _ = fiscal_year_bounds(int(year) - int(years_back), _start_month(settings))
    _, end = fiscal_year_bounds(int(year), _start_month(settings))
    table, date_col, start = _rollup(filters, start)
    where, params = _where(account, start, end, filters, date_col)
    df = _frame(store, f"select date_trunc('month', {date_col})::date as month, sum(amount)::double,"
                       f" sum(profit)::double, sum(qty)::double, sum(lines)::bigint"
                       f" from {table} where {where} group by 1 order by 1",
                params, ["month", "sales", "gross_profit", "qty", "lines"])
    df = _dates(_floats(df, "sales", "gross_profit", "qty"), "month")
    df["lines"] = df["lines"].astype("int64")
    return df


def mix(store: Store, account: str, year: int, by: str, settings: Mapping[str, Any] | None = None,
        filters: Filters | None = None) -> pd.DataFrame:
    """The account's sales in fiscal ``year`` split by ``by`` (one of :data:`MIX_DIMENSIONS`).

    Columns ``<by>`` (and ``region`` when split by store), ``sales``, ``qty``,
    ``stores`` (how many stores sold it), ``share`` (of the account's sales
    that year); largest first, ties by name; a missing value is grouped as ``None``.
    """
    if by not in MIX_DIMENSIONS:
        raise ValueError(f"cannot break sales down by {by!r}; one of {', '.join(MIX_DIMENSIONS)}")
    start, end = fiscal_year_bounds(int(year), _start_month(settings))
    where, params = _where(account, start, end, filters, "month")
    keys = [by] + (["region"] if by == "store" else [])
    df = _frame(store, f"""
        select {', '.join(keys)}, sum(amount)::double as sales, sum(qty)::double, count(distinct store),
               sum(amount)::double / nullif(sum(sum(amount)) over (), 0)::double
        from sales_monthly where {where} group by {', '.join(keys)}
        order by sales desc, {by} nulls last""", params, keys + ["sales", "qty", "stores", "share"])
    df = _floats(df, "sales", "qty", "share")
    df["stores"] = df["stores"].astype("int64")
    return df


def top_products(store: Store, account: str, year: int, n: int = 10, settings: Mapping[str, Any] | None = None,
                 filters: Filters | None = None) -> pd.DataFrame:
    """The ``n`` best-selling products of the account in fiscal ``year``.

    Columns ``sku, product, qty, sales, gross_profit, share``; ties broken by
    sku. From ``sales_by_sku``, whose regions and categories a filter narrows;
    under a store filter from the lines.
    """
    start, end = fiscal_year_bounds(int(year), _start_month(settings))
    lines = bool(filters and filters.store)
    where, params = _where(account, start, end, filters, "date" if lines else "month")
    df = _frame(store, f"""
        select sku, product, qty, sales, gross_profit, sales / nullif(total, 0) as share from (
            select sku, max(product) as product, sum(qty)::double as qty, sum(amount)::double as sales,
                   sum(profit)::double as gross_profit, sum(sum(amount)) over ()::double as total
            from {'sales' if lines else 'sales_by_sku'} where {where} group by sku
        ) order by sales desc, sku limit ?""", [*params, int(n)],
        ["sku", "product", "qty", "sales", "gross_profit", "share"])
    return _floats(df, "qty", "sales", "gross_profit", "share")


def returns(store: Store, account: str, start: dt.date, end: dt.date) -> pd.DataFrame:
    """The account's negative lines (returns) in [start, end): date, store, region, sku, product, qty, amount."""
    df = _frame(store, """
        select date, store, region, sku, product, qty::double, amount::double from sales
        where account = ? and date >= ? and date < ? and (amount < 0 or qty < 0) order by date, source_row""",
        [account, start, end], ["date", "store", "region", "sku", "product", "qty", "amount"])
    return _dates(_floats(df, "qty", "amount"), "date")


def recent_orders(store: Store, account: str, limit: int = 20) -> pd.DataFrame:
    """The account's latest order days: ``date, lines, qty, sales`` (all stores), newest first."""
    df = _frame(store, "select date, sum(lines)::bigint, sum(qty)::double, sum(amount)::double from sales_daily"
                       " where account = ? group by date order by date desc limit ?", [account, int(limit)],
                ["date", "lines", "qty", "sales"])
    df["lines"] = df["lines"].astype("int64")
    return _dates(_floats(df, "qty", "sales"), "date")


def weeks_of_cover(store: Store, account: str, weeks: int = COVER_WEEKS, by_store: bool = False,
                   before: dt.date | None = None) -> pd.DataFrame:
    """Stock on hand at the account's latest inventory snapshot, with weeks of cover.

    The snapshot is the latest one (before ``before`` when given). Per sku
    (stores summed), or per store and sku with ``by_store``. ``weekly_qty`` =
    the quantity sold in the ``weeks`` weeks that end on the snapshot day
    (snapshot day included: stock reports count at the end of the day) / ``weeks``;
    a snapshot row without a store is matched with the sales of every store.
    ``weeks_of_cover`` = ``qty_on_hand / weekly_qty``, None when nothing sold.
    Columns ``snapshot_date, [store,] sku, product, qty_on_hand, stock_value,
    weekly_qty, weeks_of_cover``: by store and sku with ``by_store``, else most
    stock value first. Empty without a snapshot.
    """
    weeks = max(1, int(weeks))
    snap = store.cursor().execute(
        "select max(snapshot_date) from inventory where account = ? and (cast(? as date) is null or snapshot_date < ?)",
        [account, before, before]).fetchone()[0]
    grain = "store, sku" if by_store else "sku"
    order = "store nulls first, sku" if by_store else "stock_value desc nulls last, sku"
    columns = ["snapshot_date"] + (["store"] if by_store else []) + [
        "sku", "product", "qty_on_hand", "stock_value", "weekly_qty", "weeks_of_cover"]
    df = _frame(store, f"""
        with stock as (
            select i.snapshot_date, {'i.store,' if by_store else ''} i.sku, max(i.product) as product,
                   sum(i.qty_on_hand)::double as qty_on_hand, sum(i.stock_value)::double as stock_value
            from inventory i where i.account = $account and i.snapshot_date = $snap
            group by all
        ),
        sold as (
            select s.store, s.sku, sum(s.qty)::double as qty from sales s
            where s.account = $account and s.date > $first_day and s.date <= $snap
            group by s.store, s.sku
        ),
        final as (
            select stock.*,
                   coalesce((select sum(sold.qty) from sold where sold.sku is not distinct from stock.sku
                             {'and (stock.store is null or sold.store = stock.store)' if by_store else ''}), 0)
                       / cast($weeks as double) as weekly_qty
            from stock
        )
        select snapshot_date, {grain}, product, qty_on_hand, stock_value, weekly_qty,
               case when weekly_qty > 0 then qty_on_hand / weekly_qty end as weeks_of_cover
        from final order by {order}""",
        {"account": account, "snap": snap, "first_day": snap - dt.timedelta(days=weeks * 7) if snap else None,
         "weeks": weeks}, columns)
    df = _floats(df, "qty_on_hand", "stock_value", "weekly_qty", "weeks_of_cover")
    return _dates(df, "snapshot_date")


# -- evidence for the policy's criteria ⑤ and ⑥ -----------------------------------------------------
EVIDENCE_COLUMNS = ["account", "stockout_share", "new_sku_share"]


def criteria_evidence(store: Store, year: int, settings: Mapping[str, Any] | None = None) -> tuple[pd.DataFrame, dict]:
    """What the data says about supply priority (⑤) and new products first (⑥) in fiscal ``year``.

    ``stockout_share``: of the account's inventory snapshot rows dated in the
    year, the share with nothing on hand (qty ≤ 0); NaN without snapshots.
    ``new_sku_share``: the share of the account's sales in the year that came
    from SKUs first sold here (by any account's lines, ever) during the year;
    NaN when the account has no sales with a SKU in the year, or when the data
    starts inside the year (every SKU would look new). Returns the frame
    (:data:`EVIDENCE_COLUMNS`) and the company's values
    ``{"stockout_share", "new_sku_share"}`` over every account.
    """
    return remember(store, ("criteria_evidence", int(year), _start_month(settings)),
                    lambda: _criteria_evidence(store, int(year), settings))


def _criteria_evidence(store: Store, year: int, settings: Mapping[str, Any] | None) -> tuple[pd.DataFrame, dict]:
    start, end = fiscal_year_bounds(int(year), _start_month(settings))
    cur = store.cursor()
    stock = _frame(store, """
        select account, count(*) filter (where qty_on_hand <= 0)::double / count(*) as stockout_share
        from inventory where snapshot_date >= ? and snapshot_date < ? group by account""",
        [start, end], ["account", "stockout_share"])
    company_stock = cur.execute(
        "select count(*) filter (where qty_on_hand <= 0)::double / nullif(count(*), 0) from inventory"
        " where snapshot_date >= ? and snapshot_date < ?", [start, end]).fetchone()[0]
    first_date = first_sale_date(store)
    fresh = pd.DataFrame(columns=["account", "new_sku_share"])
    company_fresh = None
    if first_date is not None and first_date < start:
        rows = cur.execute("""
            with firsts as (select sku, min(month) as first_on from sales_by_sku where sku is not null group by sku),
            year_sales as (
                select account, sku, sum(amount) as amount from sales_by_sku
                where month >= $start and month < $end and sku is not null group by account, sku
            )
            select y.account, sum(y.amount) filter (where f.first_on >= $start)::double, sum(y.amount)::double
            from year_sales y join firsts f using (sku) group by y.account
            """, {"start": start, "end": end}).fetchall()
        fresh = pd.DataFrame([(a, (n or 0.0) / t if t else None) for a, n, t in rows],
                             columns=["account", "new_sku_share"])
        new_total = sum(n or 0.0 for _, n, _ in rows)
        all_total = sum(t or 0.0 for _, _, t in rows)
        company_fresh = new_total / all_total if all_total else None
    out = stock.merge(fresh, on="account", how="outer")
    out = _floats(out, "stockout_share", "new_sku_share")[EVIDENCE_COLUMNS]
    return out, {"stockout_share": company_stock, "new_sku_share": company_fresh}


# -- sales against agreements' targets -----------------------------------------------------------
def sales_in_windows(store: Store, windows: Sequence[tuple[str, dt.date, dt.date, str | None]]) -> list[float]:
    """For each ``(account, first day, last day, category or None)``: the account's Σ amount, both days included.

    Without a category from ``sales_daily``. With one, the whole months inside
    the window from ``sales_monthly`` and the days of a month the window cuts
    (at most the first and the last) from the lines, so the sum is exact for
    any dates while reading few lines. One query for all windows; 0 where nothing sold.
    """
    if not windows:
        return []
    ids = list(range(len(windows)))
    params = {"i": ids, "account": [w[0] for w in windows], "s": [w[1] for w in windows],
              "e": [w[2] for w in windows], "category": [w[3] for w in windows]}
    rows = dict(store.cursor().execute("""
        with windows as (
            select unnest($i::integer[]) as i, unnest($account::varchar[]) as account, unnest($s::date[]) as s,
                   unnest($e::date[]) as e, unnest($category::varchar[]) as category
        ),
        whole_account as (
            select w.i, sum(d.amount) as amount
            from windows w join sales_daily d on d.account = w.account and d.date between w.s and w.e
            where w.category is null group by w.i
        ),
        whole_months as (
            select w.i, sum(m.amount) as amount
            from windows w join sales_monthly m on m.account = w.account and m.category = w.category
                 and m.month >= w.s and last_day(m.month) <= w.e
            where w.category is not null group by w.i
        ),
        cut_months as (
            select w.i, sum(l.amount) as amount
            from windows w join sales l on l.account = w.account and l.category = w.category
                 and l.date between w.s and w.e
                 and (date_trunc('month', l.date) < w.s or last_day(l.date) > w.e)
            where w.category is not null group by w.i
        ),
        final as (
            select w.i, coalesce(a.amount, 0) + coalesce(m.amount, 0) + coalesce(c.amount, 0) as amount
            from windows w left join whole_account a using (i) left join whole_months m using (i)
                 left join cut_months c using (i)
        )
        select i, amount::double from final
        """, params).fetchall())
    return [float(rows.get(i, 0.0)) for i in ids]
