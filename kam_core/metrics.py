"""Per-account yearly figures: sales, gross profit, shares, ranks, ABC, growth, HHI.

Every figure is an Ibis expression over the ``sales`` table (see
:mod:`kam_core.engine`), so DuckDB and Spark compute the same numbers from the
same definitions (SPEC §5). Definitions, for a (fiscal) year Y and one account
with at least one sales line in Y after the filters:

* ``sales`` = Σ amount (returns are negative lines, so it may be negative).
* ``gross_profit`` = Σ profit over the lines whose profit is known. The
  importer fills profit = amount − cost when only cost was given, so in
  ``sales`` profit is NULL exactly when it is unknown. NULL when no line of the
  account has a known profit: unknown is never read as zero.
* ``margin`` = gross_profit / Σ amount of those same lines; NULL when there are
  none or that amount is 0.
* ``share`` = sales / Σ sales of all accounts in Y; ``profit_share`` =
  gross_profit / Σ gross_profit of all accounts; NULL when the total is 0.
* ``rank`` (1 = largest) by sales descending, ties by account name ascending
  (code-point order, the same in DuckDB, Spark and Python); ``profit_rank``
  likewise by gross_profit, NULL for an account whose gross_profit is NULL.
* ``cum_share`` = Σ sales of the accounts ranked at or above this one / total.
  ``abc``: A when the cumulative share *before* the account is < ``abc_a_max``
  (so the account that crosses 80 % is still A), B when < ``abc_b_max``, else C.
* ``yoy`` = sales_Y / sales_{Y−1} − 1 when the account has lines in Y−1 (the
  year right before; a gap year gives none) and their sum is > 0; else NULL.
* ``cost`` = Σ cost over the lines whose cost is known (NULL when none);
  ``lines`` and ``lines_without_profit`` count the lines.

A fiscal year starting in month m (setting ``fiscal_start_month``) runs from
Y-m-01 to (Y+1)-m-01, exclusive, and is named by the calendar year it starts in.

Money is summed exactly as DECIMAL in the engine and cast to double before any
division (some engines truncate DECIMAL ratios); the frames hold floats.
"""
from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from decimal import Decimal
from typing import Any, Mapping, Sequence

import ibis
import ibis.expr.datatypes as dtypes
import pandas as pd

from . import engine
from .settings import SETTINGS, get_settings
from .store import Store

ACCOUNT_YEAR_COLUMNS = [
    "account", "year", "sales", "gross_profit", "margin", "share", "profit_share",
    "rank", "profit_rank", "cum_share", "abc", "yoy", "cost", "lines", "lines_without_profit",
]
MONTHLY_COLUMNS = ["month", "account", "sales", "gross_profit"]
_MONEY = dtypes.Decimal(18, 2)


@dataclass(frozen=True)
class Filters:
    """Which sales lines count: an empty tuple means all values of that field."""

    region: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    store: tuple[str, ...] = ()


# -- shared building blocks (used by tiers too) -------------------------------
def resolve_settings(store: Store, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``settings`` over the declared defaults; the stored settings when None."""
    if settings is None:
        return get_settings(store)
    return {**{k: s.default for k, s in SETTINGS.items()}, **settings}


def fiscal_year_bounds(year: int, start_month: int) -> tuple[dt.date, dt.date]:
    """First day of fiscal year ``year`` and first day of the next one."""
    return dt.date(year, start_month, 1), dt.date(year + 1, start_month, 1)


def money_literal(value: float | int | Decimal) -> ibis.Scalar:
    """A threshold as DECIMAL so it compares and subtracts exactly against sums."""
    return ibis.literal(Decimal(str(value)).quantize(Decimal("0.01")), type=_MONEY)


def filtered_sales(store: Store, filters: Filters | None) -> ibis.Table:
    """The ``sales`` table of the configured engine, narrowed by ``filters``."""
    t = engine.sales_table(engine.connect(store))
    if filters is not None:
        for column in ("region", "category", "store"):
            values = getattr(filters, column)
            if values:
                t = t.filter(t[column].isin(list(values)))
    return t


def fiscal_year_of(date: ibis.DateValue, start_month: int) -> ibis.IntegerValue:
    """The fiscal year a date falls in (named by the calendar year it starts in)."""
    if start_month == 1:
        return date.year()
    return date.year() - (date.month() < start_month).cast("int32")


def account_year_expr(
    t: ibis.Table, year: int, settings: Mapping[str, Any], basis: str | None = None
) -> ibis.Table:
    """One row per account with lines in ``year``: the SPEC §5 figures plus tiers.

    Columns: :data:`ACCOUNT_YEAR_COLUMNS` and ``tier, to_next_tier,
    basis_amount`` (see :mod:`kam_core.tiers`), unsorted.
    """
    basis = basis or settings["tier_basis"]
    if basis not in ("sales", "cost"):
        raise ValueError(f"tier basis must be sales or cost, not {basis!r}")
    start_month = int(settings["fiscal_start_month"])
    prev_start, _ = fiscal_year_bounds(year - 1, start_month)
    start, end = fiscal_year_bounds(year, start_month)

    # One scan over Y−1 and Y; the date range lets the engine skip other years.
    lines = t.filter(t["date"] >= prev_start, t["date"] < end)
    in_year = lines["date"] >= ibis.literal(start)
    in_prev = ~in_year
    known = lines["profit"].notnull()
    per_account = (
        lines.group_by("account")
        .aggregate(
            sales_d=lines["amount"].sum(where=in_year),
            gross_profit_d=lines["profit"].sum(where=in_year & known),
            known_amount_d=lines["amount"].sum(where=in_year & known),
            cost_d=lines["cost"].sum(where=in_year & lines["cost"].notnull()),
            lines=lines["amount"].count(where=in_year),
            lines_without_profit=lines["amount"].count(where=in_year & ~known),
            prev_lines=lines["amount"].count(where=in_prev),
            prev_sales_d=lines["amount"].sum(where=in_prev),
        )
    )
    a = per_account.filter(per_account["lines"] > 0)

    by_sales = [ibis.desc(a["sales_d"], nulls_first=False), ibis.asc(a["account"])]
    by_profit = [ibis.desc(a["gross_profit_d"], nulls_first=False), ibis.asc(a["account"])]
    a = a.mutate(
        total_d=a["sales_d"].sum().over(ibis.window()),
        total_profit_d=a["gross_profit_d"].sum().over(ibis.window()),
        cum_sales_d=a["sales_d"].sum().over(ibis.cumulative_window(order_by=by_sales)),
        rank=(ibis.row_number().over(order_by=by_sales) + 1).cast("int64"),
        profit_rank_all=(ibis.row_number().over(order_by=by_profit) + 1).cast("int64"),
    )

    def f(col: str) -> ibis.FloatingValue:
        return a[col].cast("float64")

    total = f("total_d").nullif(0.0)
    before = (a["cum_sales_d"] - a["sales_d"]).cast("float64") / total
    basis_d = a["sales_d"] if basis == "sales" else a["cost_d"]
    strategic = money_literal(settings["tier_strategic_min"])
    partner = money_literal(settings["tier_partner_min"])
    ordinary = money_literal(settings["tier_ordinary_min"])
    null_float = ibis.null().cast("float64")
    null_text = ibis.null().cast("string")

    result = a.select(
        account=a["account"],
        year=ibis.literal(year, type="int64"),
        sales=f("sales_d"),
        gross_profit=f("gross_profit_d"),
        margin=f("gross_profit_d") / f("known_amount_d").nullif(0.0),
        share=f("sales_d") / total,
        profit_share=f("gross_profit_d") / f("total_profit_d").nullif(0.0),
        rank=a["rank"],
        profit_rank=ibis.ifelse(a["gross_profit_d"].isnull(), ibis.null().cast("int64"), a["profit_rank_all"]),
        cum_share=f("cum_sales_d") / total,
        abc=ibis.cases(
            (before.isnull(), null_text),
            (before < float(settings["abc_a_max"]), "A"),
            (before < float(settings["abc_b_max"]), "B"),
            else_="C",
        ),
        yoy=ibis.ifelse(
            (a["prev_lines"] > 0) & (a["prev_sales_d"] > 0),
            f("sales_d") / f("prev_sales_d").nullif(0.0) - 1.0,
            null_float,
        ),
        cost=f("cost_d"),
        lines=a["lines"].cast("int64"),
        lines_without_profit=a["lines_without_profit"].cast("int64"),
        # Unknown basis (cost basis, no line with a cost) gives no tier, not "none".
        tier=ibis.cases(
            (basis_d.isnull(), null_text),
            (basis_d >= strategic, "strategic"),
            (basis_d >= partner, "partner"),
            (basis_d >= ordinary, "ordinary"),
            else_="none",
        ),
        to_next_tier=ibis.cases(
            (basis_d.isnull() | (basis_d >= strategic), null_float),
            (basis_d >= partner, (strategic - basis_d).cast("float64")),
            (basis_d >= ordinary, (partner - basis_d).cast("float64")),
            else_=(ordinary - basis_d).cast("float64"),
        ),
        basis_amount=basis_d.cast("float64"),
    )
    return result


def execute_account_year(
    store: Store,
    year: int,
    filters: Filters | None,
    settings: Mapping[str, Any],
    basis: str | None = None,
    columns: Sequence[str] | None = None,
) -> pd.DataFrame:
    """Run :func:`account_year_expr` and return it sorted by rank, with tidy dtypes.

    ``columns`` (default: all) are selected inside the query, so the engine
    can skip the sums nobody asked for.
    """
    columns = list(columns or ACCOUNT_YEAR_COLUMNS + ["tier", "to_next_tier", "basis_amount"])
    if "rank" not in columns:
        columns.append("rank")
    key = ("account_year", year, filters, basis, tuple(columns),
           json.dumps(dict(settings), sort_keys=True, default=str))

    def build() -> ibis.Table:
        return account_year_expr(filtered_sales(store, filters), year, settings, basis).select(columns).order_by("rank")

    return _tidy(engine.execute(store, key, build))[columns]


_INT_COLUMNS = ("year", "rank", "lines", "lines_without_profit")
_FLOAT_COLUMNS = ("sales", "gross_profit", "margin", "share", "profit_share", "cum_share", "yoy",
                  "cost", "to_next_tier", "basis_amount")


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    for col in df.columns:
        if col in _INT_COLUMNS:
            df[col] = df[col].astype("int64")
        elif col == "profit_rank":
            df[col] = df[col].astype("Int64")
        elif col in _FLOAT_COLUMNS:
            df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        elif col in ("abc", "tier"):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


# -- public API ---------------------------------------------------------------
def available_years(store: Store, settings: Mapping[str, Any] | None = None) -> list[int]:
    """The (fiscal) years that have at least one sales line, ascending."""
    start_month = int(resolve_settings(store, settings)["fiscal_start_month"])

    def build() -> ibis.Table:
        t = filtered_sales(store, None)
        return t.select(fiscal_year_of(t["date"], start_month).name("year")).distinct().order_by("year")

    years = engine.execute(store, ("available_years", start_month), build)
    return [int(y) for y in years["year"]]


def account_year_table(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Per-account figures for ``year``, sorted by rank (see the module docstring).

    Columns: account, year, sales, gross_profit, margin, share, profit_share,
    rank, profit_rank, cum_share, abc, yoy, cost, lines, lines_without_profit.
    Money and ratios are floats (NaN for none); ``profit_rank`` is nullable Int64.
    """
    settings = resolve_settings(store, settings)
    return execute_account_year(store, year, filters, settings, columns=ACCOUNT_YEAR_COLUMNS)


def _year_totals_expr(t: ibis.Table, year: int, start_month: int) -> ibis.Table:
    prev_start, _ = fiscal_year_bounds(year - 1, start_month)
    _, end = fiscal_year_bounds(year, start_month)
    lines = t.filter(t["date"] >= prev_start, t["date"] < end)
    lines = lines.mutate(fy=fiscal_year_of(lines["date"], start_month))
    known = lines["profit"].notnull()
    return lines.group_by("fy").aggregate(
        sales=lines["amount"].sum().cast("float64"),
        gross_profit=lines["profit"].sum(where=known).cast("float64"),
        known_amount=lines["amount"].sum(where=known).cast("float64"),
        lines=lines["amount"].count(),
        lines_without_profit=lines["amount"].count(where=~known),
    )


def _year_totals(store: Store, year: int, filters: Filters | None, settings: Mapping[str, Any]) -> dict[int, dict]:
    start_month = int(settings["fiscal_start_month"])
    df = engine.execute(store, ("year_totals", year, filters, start_month),
                        lambda: _year_totals_expr(filtered_sales(store, filters), year, start_month))
    return {int(r["fy"]): r for r in df.to_dict("records")}


def _opt_float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def year_summary(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None,
) -> dict[str, Any]:
    """Company-level figures for ``year`` and the previous year's for comparison.

    Keys: sales, gross_profit, margin, hhi, top1_share, top10_share, n_accounts,
    lines, lines_without_profit, prev_sales, prev_gross_profit. ``hhi`` = Σ
    share² × 10,000; ``top10_share`` = cumulative share at rank 10 (or the last). Values are
    Python floats/ints, None when unknown (no data, zero total). ``table``: the
    year's account table (or tier table) when the caller has it already.
    """
    settings = resolve_settings(store, settings)
    if table is None:
        table = account_year_table(store, year, filters, settings)
    totals = _year_totals(store, year, filters, settings)
    cur = totals.get(year, {})
    prev = totals.get(year - 1, {})
    known_amount = _opt_float(cur.get("known_amount"))
    gross_profit = _opt_float(cur.get("gross_profit"))
    shares = table["share"]
    has_shares = len(table) > 0 and shares.notna().all()
    return {
        "sales": _opt_float(cur.get("sales")),
        "gross_profit": gross_profit,
        "margin": gross_profit / known_amount if gross_profit is not None and known_amount else None,
        "hhi": float((shares**2).sum() * 10_000) if has_shares else None,
        "top1_share": float(shares.iloc[0]) if has_shares else None,
        # cum_share comes from exact DECIMAL running sums; adding floats would not.
        "top10_share": float(table["cum_share"].iloc[min(10, len(table)) - 1]) if has_shares else None,
        "n_accounts": int(len(table)),
        "lines": int(cur.get("lines", 0) or 0),
        "lines_without_profit": int(cur.get("lines_without_profit", 0) or 0),
        "prev_sales": _opt_float(prev.get("sales")),
        "prev_gross_profit": _opt_float(prev.get("gross_profit")),
    }


def monthly_sales(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Sales and gross profit per calendar month and account within (fiscal) ``year``.

    Columns: month (``datetime.date``, first day of the month), account, sales,
    gross_profit (NaN when no line of that month has a known profit); sorted
    by month, then account.
    """
    start_month = int(resolve_settings(store, settings)["fiscal_start_month"])
    start, end = fiscal_year_bounds(year, start_month)

    def build() -> ibis.Table:
        t = filtered_sales(store, filters)
        lines = t.filter(t["date"] >= start, t["date"] < end)
        lines = lines.mutate(month=lines["date"].truncate("M").cast("date"))
        return (
            lines.group_by(["month", "account"])
            .aggregate(
                sales=lines["amount"].sum().cast("float64"),
                gross_profit=lines["profit"].sum(where=lines["profit"].notnull()).cast("float64"),
            )
            .order_by(["month", "account"])
        )

    df = engine.execute(store, ("monthly_sales", year, filters, start_month), build).reset_index(drop=True)
    df["month"] = pd.Series([pd.Timestamp(m).date() for m in df["month"]], dtype=object)
    df["sales"] = df["sales"].astype("float64")
    df["gross_profit"] = pd.to_numeric(df["gross_profit"], errors="coerce").astype("float64")
    return df[MONTHLY_COLUMNS]


def same_period_last_year(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None
) -> dict[str, Any] | None:
    """For an unfinished (fiscal) year: last year's figures over the same stretch of days.

    ``year`` runs to its latest sales date ``through``; last year is cut on
    the same calendar day a year earlier (29 Feb → 28 Feb), so a year-to-date
    total is compared like for like rather than with a full year. None when ``year`` is complete
    (its latest line is on its last day) or has no lines. Keys: through,
    prev_through, sales, gross_profit, margin.
    """
    settings = resolve_settings(store, settings)
    start_month = int(settings["fiscal_start_month"])
    start, end = fiscal_year_bounds(year, start_month)
    prev_start, _ = fiscal_year_bounds(year - 1, start_month)
    t = filtered_sales(store, filters)
    latest = engine.execute(
        store, ("latest_in_year", year, filters, start_month),
        lambda: t.filter(t["date"] >= start, t["date"] < end).aggregate(through=t["date"].max()))["through"].iloc[0]
    if latest is None or pd.isna(latest):
        return None
    latest = pd.Timestamp(latest).date()
    if latest >= end - dt.timedelta(days=1):
        return None
    try:
        cut = latest.replace(year=latest.year - 1)
    except ValueError:                         # 29 February
        cut = latest.replace(year=latest.year - 1, day=28)
    lines = t.filter(t["date"] >= prev_start, t["date"] <= cut)
    known = lines["profit"].notnull()
    row = engine.execute(
        store, ("same_period", year, filters, start_month, cut),
        lambda: lines.aggregate(
            sales=lines["amount"].sum().cast("float64"),
            gross_profit=lines["profit"].sum(where=known).cast("float64"),
            known_amount=lines["amount"].sum(where=known).cast("float64"),
        )).to_dict("records")[0]
    gp, known_amount = _opt_float(row["gross_profit"]), _opt_float(row["known_amount"])
    return {"through": latest, "prev_through": cut, "sales": _opt_float(row["sales"]), "gross_profit": gp,
            "margin": gp / known_amount if gp is not None and known_amount else None}
