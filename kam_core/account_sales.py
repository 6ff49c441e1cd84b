"""One account's sales beside its dossier: monthly trend, mix, top products, orders, stock cover.

Small DuckDB aggregates over ``sales`` and ``inventory`` narrowed to one
account (the dossier page's Sales and Records tabs). Sales numbers are
readable by every role, so no user is needed. Years are fiscal years, as in
:mod:`kam_core.metrics` (``fiscal_start_month``); ``filters`` narrow the lines
like the sidebar does.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Mapping

import pandas as pd

from .metrics import Filters, fiscal_year_bounds
from .store import Store

MIX_DIMENSIONS: tuple[str, ...] = ("category", "region", "store")
"""Columns an account's sales can be broken down by (identifiers are never taken from input)."""


def _start_month(settings: Mapping[str, Any] | None) -> int:
    return int((settings or {}).get("fiscal_start_month", 1))


def _where(account: str, start: dt.date, end: dt.date, filters: Filters | None) -> tuple[str, list[Any]]:
    """``account = ? and date in [start, end)`` plus the filters, as SQL and bound values."""
    parts, params = ["account = ?", "date >= ?", "date < ?"], [account, start, end]
    for column in MIX_DIMENSIONS:
        values = list(getattr(filters, column, ()) or ()) if filters is not None else []
        if values:
            parts.append(f"{column} in ({', '.join('?' for _ in values)})")
            params.extend(values)
    return " and ".join(parts), params


def monthly(store: Store, account: str, year: int, settings: Mapping[str, Any] | None = None,
            filters: Filters | None = None, years_back: int = 1) -> pd.DataFrame:
    """Sales and gross profit per calendar month from fiscal year ``year - years_back`` to ``year``.

    Columns ``month`` (first day of the month, a date), ``sales``,
    ``gross_profit`` (floats, yuan); months without sales are absent.
    """
    start, _ = fiscal_year_bounds(int(year) - int(years_back), _start_month(settings))
    _, end = fiscal_year_bounds(int(year), _start_month(settings))
    where, params = _where(account, start, end, filters)
    df = store.cursor().execute(
        f"select date_trunc('month', date)::date as month, sum(amount)::double as sales,"
        f" sum(profit)::double as gross_profit from sales where {where} group by 1 order by 1", params,
    ).df()
    return df


def mix(store: Store, account: str, year: int, by: str, settings: Mapping[str, Any] | None = None,
        filters: Filters | None = None) -> pd.DataFrame:
    """The account's sales in fiscal ``year`` split by ``by`` (one of :data:`MIX_DIMENSIONS`).

    Columns ``<by>``, ``sales``, ``share`` (of the account's sales that year),
    largest first; a missing value is grouped as ``None``.
    """
    if by not in MIX_DIMENSIONS:
        raise ValueError(f"cannot break sales down by {by!r}; one of {', '.join(MIX_DIMENSIONS)}")
    start, end = fiscal_year_bounds(int(year), _start_month(settings))
    where, params = _where(account, start, end, filters)
    return store.cursor().execute(
        f"select {by}, sum(amount)::double as sales, sum(amount)::double / nullif(sum(sum(amount)) over (), 0)::double"
        f" as share from sales where {where} group by {by} order by sales desc, {by} nulls last", params,
    ).df()


def top_products(store: Store, account: str, year: int, n: int = 10, settings: Mapping[str, Any] | None = None,
                 filters: Filters | None = None) -> pd.DataFrame:
    """The ``n`` best-selling products of the account in fiscal ``year``.

    Columns ``sku, product, qty, sales, gross_profit, share``; ties broken by sku.
    """
    start, end = fiscal_year_bounds(int(year), _start_month(settings))
    where, params = _where(account, start, end, filters)
    return store.cursor().execute(
        f"""
        select sku, product, qty, sales, gross_profit, sales / nullif(total, 0) as share from (
            select sku, max(product) as product, sum(qty)::double as qty, sum(amount)::double as sales,
                   sum(profit)::double as gross_profit, sum(sum(amount)) over ()::double as total
            from sales where {where} group by sku
        ) order by sales desc, sku limit ?
        """, [*params, int(n)],
    ).df()


def recent_orders(store: Store, account: str, limit: int = 20) -> pd.DataFrame:
    """The account's latest order days: ``date, lines, qty, sales`` (all stores), newest first."""
    return store.cursor().execute(
        "select date, count(*) as lines, sum(qty)::double as qty, sum(amount)::double as sales"
        " from sales where account = ? group by date order by date desc limit ?", [account, int(limit)],
    ).df()


def inventory_cover(store: Store, account: str, weeks: int = 8) -> pd.DataFrame:
    """Stock on hand at the account's latest inventory snapshot, with weeks of cover per sku.

    ``weekly_qty`` is the quantity sold in the ``weeks`` weeks before the
    snapshot (snapshot day excluded) divided by ``weeks``; ``weeks_of_cover`` =
    ``qty_on_hand / weekly_qty`` (None when nothing sold). Columns
    ``snapshot_date, sku, product, qty_on_hand, stock_value, weekly_qty,
    weeks_of_cover``, most stock value first. Empty without a snapshot.
    """
    weeks = max(1, int(weeks))
    return store.cursor().execute(
        """
        with snap as (select max(snapshot_date) as d from inventory where account = ?),
        stock as (
            select i.snapshot_date, i.sku, max(i.product) as product, sum(i.qty_on_hand)::double as qty_on_hand,
                   sum(i.stock_value)::double as stock_value
            from inventory i, snap where i.account = ? and i.snapshot_date = snap.d group by 1, 2
        ),
        sold as (
            select s.sku, sum(s.qty)::double / ? as weekly_qty from sales s, snap
            where s.account = ? and s.date < snap.d and s.date >= snap.d - cast(? * 7 as integer) group by s.sku
        )
        select stock.snapshot_date, stock.sku, stock.product, stock.qty_on_hand, stock.stock_value,
               sold.weekly_qty, stock.qty_on_hand / nullif(sold.weekly_qty, 0) as weeks_of_cover
        from stock left join sold on sold.sku = stock.sku
        order by stock.stock_value desc nulls last, stock.sku
        """, [account, account, float(weeks), account, weeks],
    ).df()
