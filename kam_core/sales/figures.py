"""Per-account yearly figures: sales, gross profit, shares, ranks, ABC, growth, HHI.

Every figure is an Ibis expression over the rollups (see
:mod:`kam_core.sales.rollup`), so DuckDB and Spark compute the same numbers
from the same definitions (SPEC §5). For a (fiscal) year Y counted over its
:class:`~kam_core.sales.periods.Period` (the whole year, or through the as-of
date when it is unfinished), and one account with at least one line in it
after the filters:

* ``sales`` = Σ amount (returns are negative lines, so it may be negative).
* ``gross_profit`` = Σ profit over the lines whose profit is known. The
  importer fills profit = amount − cost when only cost was given, so profit
  is NULL exactly when it is unknown. NULL when no line of the account has a
  known profit: unknown is never read as zero.
* ``margin`` = gross_profit / Σ amount of those same lines; NULL when there
  are none or that amount is 0.
* ``share`` = sales / Σ sales of all accounts; ``profit_share`` =
  gross_profit / Σ gross_profit of all accounts; NULL when the total is 0.
* ``rank`` (1 = largest) by sales descending, ties by account name ascending
  (code-point order, the same in DuckDB, Spark and Python); ``profit_rank``
  likewise by gross_profit, NULL for an account whose gross_profit is NULL.
* ``cum_share`` = Σ sales of the accounts ranked at or above this one / total.
  ``abc``: A when the cumulative share *before* the account is < ``abc_a_max``
  (so the account that crosses 80 % is still A), B when < ``abc_b_max``, else C.
* ``yoy`` = sales / sales of the comparison window − 1 (the year before, over
  the same days when Y is unfinished) when the account has lines there and
  their sum is > 0; else NULL. A gap year gives none.
* ``cost`` = Σ cost over the lines whose cost is known (NULL when none);
  ``lines`` and ``lines_without_profit`` count the lines.
* ``tier``, ``to_next_tier``, ``basis_amount``: the policy's grading of the
  account's **company-wide** amount on the tier basis (see
  :mod:`kam_core.sales.tiers`); a filter narrows every other figure, never these.

Sources: without filters the figures read ``sales_daily`` (import × day ×
account); with a region or category filter ``sales_by_region``, with a store
filter ``sales_monthly`` (× region × store × category), and
for a window that ends inside a month before the as-of date (the year before
an unfinished year), the lines of that one part-month. Money is summed
exactly as DECIMAL and cast to double before any division; the frames hold floats.
"""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Mapping

import ibis
import ibis.expr.datatypes as dtypes
import pandas as pd

from kam_core import engine
from kam_core.store import Store
from kam_core.sales.memo import remember, settings_key
from kam_core.sales.periods import (
    DIMENSIONS,
    Filters,
    Period,
    as_of_date,
    fiscal_year_bounds,
    is_month_end,
    month_start,
    narrowing,
    resolve_settings,
    year_period,
)

ACCOUNT_YEAR_COLUMNS = [
    "account", "year", "sales", "gross_profit", "margin", "share", "profit_share", "rank", "profit_rank",
    "cum_share", "abc", "yoy", "cost", "lines", "lines_without_profit",
]
POLICY_COLUMNS = ["tier", "to_next_tier", "basis_amount"]
"""Company-wide whatever the filter (policy 1.3)."""
MONTHLY_COLUMNS = ["month", "account", "sales", "gross_profit"]
_MONEY = dtypes.Decimal(18, 2)
_SUM = dtypes.Decimal(18, 4)   # the rollups' own type: sums of it stay fast 64-bit decimals
_DAY = dt.timedelta(days=1)


# -- the lines a window counts, summed per account ------------------------------------------
def _window_shape(period: Period) -> tuple[bool, bool]:
    """Whether the current / comparison window ends inside a month that has later lines."""
    def partial(through: dt.date) -> bool:
        return not is_month_end(through) and period.as_of is not None and period.as_of > through
    return partial(period.through), partial(period.prev_through)


_NEVER = dt.date(9999, 12, 31)   # a part-month window that is not needed starts here: no line is read


def _window_params(period: Period, filters: Filters | None) -> dict[str, Any]:
    cur_partial, prev_partial = _window_shape(period)

    def last_full_month(through: dt.date, partial: bool) -> dt.date:
        return month_start(through) - _DAY if partial else through

    values: dict[str, Any] = {
        "start": period.start, "through": period.through,
        "prev_start": period.prev_start, "prev_through": period.prev_through,
        "cur_bound": last_full_month(period.through, cur_partial),
        "prev_bound": last_full_month(period.prev_through, prev_partial),
        "cur_part_start": month_start(period.through) if cur_partial else _NEVER,
        "prev_part_start": month_start(period.prev_through) if prev_partial else _NEVER,
    }
    for dim in DIMENSIONS:
        values[dim] = list(getattr(filters, dim, ()) or ())
    return values


def _narrow(t: ibis.Table, p: engine.Params, dims: tuple[str, ...] = DIMENSIONS) -> ibis.Table:
    """The rows every filter keeps; an empty list keeps all (one compiled query serves every filter)."""
    for dim in dims:
        values = p(dim, "array<string>")
        t = t.filter((values.length() == 0) | values.contains(t[dim]))
    return t


def _as_slices(t: ibis.Table, in_cur: ibis.BooleanValue, in_prev: ibis.BooleanValue) -> ibis.Table:
    return t.select(
        account=t["account"], in_cur=in_cur, in_prev=in_prev,
        amount=t["amount"].cast(_SUM), profit=t["profit"].cast(_SUM), known_amount=t["known_amount"].cast(_SUM),
        cost=t["cost"].cast(_SUM), lines=t["lines"].cast("int64"), lines_with_profit=t["lines_with_profit"].cast("int64"),
    )


def _part_month(lines: ibis.Table, start: ibis.DateValue, through: ibis.DateValue, cur: bool) -> ibis.Table:
    """The lines of one part-month summed per account, shaped like rollup rows."""
    part = lines.filter(lines["date"] >= start, lines["date"] <= through)
    known = part["profit"].notnull()
    summed = part.group_by("account").aggregate(
        amount=part["amount"].sum(), profit=part["profit"].sum(where=known),
        known_amount=part["amount"].sum(where=known), cost=part["cost"].sum(where=part["cost"].notnull()),
        lines=part["amount"].count(), lines_with_profit=part["profit"].count(),
    )
    return _as_slices(summed, ibis.literal(cur), ibis.literal(not cur))


SOURCES = ("sales_daily", "sales_by_region", "sales_monthly")


def source_for(filters: Filters | None) -> str:
    """The rollup a view reads: daily company-wide, by region and category, or by store too."""
    filters = narrowing(filters)
    if filters is None:
        return "sales_daily"
    return "sales_monthly" if filters.store else "sales_by_region"


def _narrow_to(t: ibis.Table, p: engine.Params, source: str) -> ibis.Table:
    return _narrow(t, p, DIMENSIONS if source in ("sales_monthly", "sales") else ("region", "category"))


def _slices(backend: Any, p: engine.Params, source: str) -> ibis.Table:
    """Rows ``account, in_cur, in_prev`` + sums covering both windows of the period exactly once.

    Company-wide: ``sales_daily``, cut to the day. Filtered: ``source`` (by
    region and category, or by store too) for the whole months, plus the lines
    of a part-month window (empty dates when there is none, so no line is read).
    """
    if source == "sales_daily":
        d = engine.table(backend, "sales_daily")
        d = d.filter(d["date"] >= p("prev_start", "date"), d["date"] <= p("through", "date"))
        return _as_slices(d, d["date"] >= p("start", "date"), d["date"] <= p("prev_through", "date"))
    m = _narrow_to(engine.table(backend, source), p, source)
    m = m.filter(m["month"] >= p("prev_start", "date"), m["month"] <= p("cur_bound", "date"))
    lines = _narrow_to(engine.table(backend, "sales"), p, "sales")
    return ibis.union(
        _as_slices(m, m["month"] >= p("start", "date"), m["month"] <= p("prev_bound", "date")),
        _part_month(lines, p("cur_part_start", "date"), p("through", "date"), cur=True),
        _part_month(lines, p("prev_part_start", "date"), p("prev_through", "date"), cur=False),
    )


def _money(p: engine.Params, name: str) -> ibis.Value:
    return p(name, _MONEY)


def account_year_expr(backend: Any, p: engine.Params, source: str, basis: str) -> ibis.Table:
    """One row per account with lines in either window: :data:`ACCOUNT_YEAR_COLUMNS` + :data:`POLICY_COLUMNS`
    + :data:`TOTAL_COLUMNS` (the period's totals, the same on every row).

    Rows with ``lines`` = 0 (lines only in the comparison window) are there for
    the totals; ranks and running sums put them last, so the others' are as if
    they were not there. The policy columns grade the rows' own amounts;
    :func:`account_year_figures` replaces them with the company-wide ones under a filter.
    """
    s = _slices(backend, p, source)
    cur, prev = s["in_cur"], s["in_prev"]
    per_account = s.group_by("account").aggregate(
        sales_d=s["amount"].sum(where=cur),
        gross_profit_d=s["profit"].sum(where=cur),
        known_amount_d=s["known_amount"].sum(where=cur),
        cost_d=s["cost"].sum(where=cur),
        lines=s["lines"].sum(where=cur).fill_null(0),
        lines_with_profit=s["lines_with_profit"].sum(where=cur).fill_null(0),
        prev_lines=s["lines"].sum(where=prev).fill_null(0),
        prev_sales_d=s["amount"].sum(where=prev),
        prev_gross_profit_d=s["profit"].sum(where=prev),
        prev_known_amount_d=s["known_amount"].sum(where=prev),
    )
    a = per_account
    current = ibis.desc(a["lines"] > 0)
    by_sales = [current, ibis.desc(a["sales_d"], nulls_first=False), ibis.asc(a["account"])]
    by_profit = [current, ibis.desc(a["gross_profit_d"], nulls_first=False), ibis.asc(a["account"])]
    whole = ibis.window()
    a = a.mutate(
        total_d=a["sales_d"].sum().over(whole),
        total_profit_d=a["gross_profit_d"].sum().over(whole),
        cum_sales_d=a["sales_d"].sum().over(ibis.cumulative_window(order_by=by_sales)),
        rank=(ibis.row_number().over(order_by=by_sales) + 1).cast("int64"),
        profit_rank_all=(ibis.row_number().over(order_by=by_profit) + 1).cast("int64"),
        t_known_amount=a["known_amount_d"].sum().over(whole).cast("float64"),
        t_lines=a["lines"].sum().over(whole).cast("int64"),
        t_lines_with_profit=a["lines_with_profit"].sum().over(whole).cast("int64"),
        t_prev_sales=a["prev_sales_d"].sum().over(whole).cast("float64"),
        t_prev_gross_profit=a["prev_gross_profit_d"].sum().over(whole).cast("float64"),
        t_prev_known_amount=a["prev_known_amount_d"].sum().over(whole).cast("float64"),
        t_prev_lines=a["prev_lines"].sum().over(whole).cast("int64"),
    )

    def f(col: str) -> ibis.FloatingValue:
        return a[col].cast("float64")

    total = f("total_d").nullif(0.0)
    before = (a["cum_sales_d"] - a["sales_d"]).cast("float64") / total
    basis_d = a["sales_d"] if basis == "sales" else a["cost_d"]
    strategic, partner, ordinary = _money(p, "strategic"), _money(p, "partner"), _money(p, "ordinary")
    null_float = ibis.null().cast("float64")
    null_text = ibis.null().cast("string")
    return a.select(
        account=a["account"],
        year=p("year", "int64"),
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
            (before < p("abc_a", "float64"), "A"),
            (before < p("abc_b", "float64"), "B"),
            else_="C",
        ),
        yoy=ibis.ifelse(
            (a["prev_lines"] > 0) & (a["prev_sales_d"] > 0),
            f("sales_d") / f("prev_sales_d").nullif(0.0) - 1.0,
            null_float,
        ),
        cost=f("cost_d"),
        lines=a["lines"].cast("int64"),
        lines_without_profit=(a["lines"] - a["lines_with_profit"]).cast("int64"),
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
        t_sales=a["total_d"].cast("float64"),
        t_gross_profit=a["total_profit_d"].cast("float64"),
        t_known_amount=a["t_known_amount"], t_lines=a["t_lines"], t_lines_with_profit=a["t_lines_with_profit"],
        t_prev_sales=a["t_prev_sales"], t_prev_gross_profit=a["t_prev_gross_profit"],
        t_prev_known_amount=a["t_prev_known_amount"], t_prev_lines=a["t_prev_lines"],
    )


TOTAL_COLUMNS = ["t_sales", "t_gross_profit", "t_known_amount", "t_lines", "t_lines_with_profit", "t_prev_sales",
                 "t_prev_gross_profit", "t_prev_known_amount", "t_prev_lines"]


def _totals_expr(backend: Any, p: engine.Params, source: str) -> ibis.Table:
    s = _slices(backend, p, source)
    cur, prev = s["in_cur"], s["in_prev"]
    return s.aggregate(
        sales=s["amount"].sum(where=cur).cast("float64"),
        gross_profit=s["profit"].sum(where=cur).cast("float64"),
        known_amount=s["known_amount"].sum(where=cur).cast("float64"),
        lines=s["lines"].sum(where=cur).fill_null(0).cast("int64"),
        lines_with_profit=s["lines_with_profit"].sum(where=cur).fill_null(0).cast("int64"),
        prev_sales=s["amount"].sum(where=prev).cast("float64"),
        prev_gross_profit=s["profit"].sum(where=prev).cast("float64"),
        prev_known_amount=s["known_amount"].sum(where=prev).cast("float64"),
        prev_lines=s["lines"].sum(where=prev).fill_null(0).cast("int64"),
    )


def _query_values(period: Period, filters: Filters | None, settings: Mapping[str, Any]) -> dict[str, Any]:
    return {**_window_params(period, filters), "year": int(period.year),
            "strategic": Decimal(str(settings["tier_strategic_min"])).quantize(Decimal("0.01")),
            "partner": Decimal(str(settings["tier_partner_min"])).quantize(Decimal("0.01")),
            "ordinary": Decimal(str(settings["tier_ordinary_min"])).quantize(Decimal("0.01")),
            "abc_a": float(settings["abc_a_max"]), "abc_b": float(settings["abc_b_max"])}


def compile_queries(store: Store) -> None:
    """Compile every shape of the yearly figures ahead of time (a server's start; see ``engine.compiled``)."""
    if engine.engine_name() != "duckdb":
        return
    settings = resolve_settings(store, {})
    values = {**_query_values(year_period(2000, None, settings), None, settings), "end": dt.date(2001, 1, 1)}
    for source in SOURCES:
        for basis in ("sales", "cost"):
            engine.compiled(store, ("account_year", source, basis),
                            lambda p: account_year_expr(engine.connect(store), p, source, basis), values)
        engine.compiled(store, ("year_totals", source), lambda p: _totals_expr(engine.connect(store), p, source),
                        values)
        engine.compiled(store, ("monthly_sales", source), lambda p: _monthly_expr(store, p, source), values)


def _run(store: Store, name: str, build: Any, period: Period, filters: Filters | None,
         settings: Mapping[str, Any], *shape: Any) -> pd.DataFrame:
    source = source_for(filters)
    return engine.execute(store, (name, source, *shape), lambda p: build(engine.connect(store), p, source, *shape),
                          _query_values(period, filters, settings))


_INT_COLUMNS = ("year", "rank", "lines", "lines_without_profit")
_FLOAT_COLUMNS = ("sales", "gross_profit", "margin", "share", "profit_share", "cum_share", "yoy",
                  "cost", "to_next_tier", "basis_amount")


def _tidy(df: pd.DataFrame) -> pd.DataFrame:
    df = df.reset_index(drop=True)
    for col in df.columns:
        dtype = df[col].dtype
        if col in _INT_COLUMNS:
            if dtype != "int64":
                df[col] = df[col].astype("int64")
        elif col == "profit_rank":
            if dtype != "Int64":
                df[col] = df[col].astype("Int64")
        elif col in _FLOAT_COLUMNS:
            if dtype != "float64":      # the query's doubles are left alone (a copy per column is the cost here)
                df[col] = pd.to_numeric(df[col], errors="coerce").astype("float64")
        elif col in ("abc", "tier"):
            df[col] = df[col].astype(object).where(df[col].notna(), None)
    return df


def _basis(basis: str | None, settings: Mapping[str, Any]) -> str:
    basis = basis or settings["tier_basis"]
    if basis not in ("sales", "cost"):
        raise ValueError(f"tier basis must be sales or cost, not {basis!r}")
    return basis


# -- public API --------------------------------------------------------------------------------
def account_year_figures(
    store: Store,
    year: int,
    filters: Filters | None = None,
    settings: Mapping[str, Any] | None = None,
    basis: str | None = None,
    period: Period | None = None,
) -> pd.DataFrame:
    """Per-account figures of ``year`` (see the module docstring), sorted by rank.

    Columns :data:`ACCOUNT_YEAR_COLUMNS` then :data:`POLICY_COLUMNS`. The rows
    are the accounts with lines under ``filters``; their tier, distance to the
    next tier and basis amount are always the company-wide ones. ``basis``
    overrides the ``tier_basis`` setting; ``period`` another window than the
    year's own (e.g. :meth:`Period.previous`, the same days a year earlier).
    """
    return _account_year(store, year, filters, settings, basis, period)[0].copy()


def _account_year(store: Store, year: int, filters: Filters | None, settings: Mapping[str, Any] | None,
                  basis: str | None, period: Period | None) -> tuple[pd.DataFrame, dict[str, Any] | None]:
    """The account table and the period's totals from one query, remembered per data version."""
    settings = resolve_settings(store, settings)
    basis = _basis(basis, settings)
    period = period or year_period(year, as_of_date(store), settings)
    filters = narrowing(filters)

    def compute() -> tuple[pd.DataFrame, dict[str, Any] | None]:
        raw = _run(store, "account_year", account_year_expr, period, filters, settings, basis)
        totals = None
        if len(raw):
            first = raw.iloc[0]
            totals = {c.removeprefix("t_"): first[c] for c in TOTAL_COLUMNS}
        columns = ACCOUNT_YEAR_COLUMNS + POLICY_COLUMNS
        table = _tidy(raw[raw["lines"] > 0].sort_values("rank"))[columns]
        if filters is not None and not table.empty:
            company = account_year_figures(store, year, None, settings, basis, period).set_index("account")
            for col in POLICY_COLUMNS:
                table[col] = table["account"].map(company[col])
            table = _tidy(table)
        return table, totals

    return remember(store, ("account_year", year, filters, basis, period, settings_key(settings)), compute)


def _opt_float(value: Any) -> float | None:
    return None if value is None or pd.isna(value) else float(value)


def year_totals(store: Store, year: int, filters: Filters | None = None,
                settings: Mapping[str, Any] | None = None, period: Period | None = None) -> dict[str, Any]:
    """Company totals of the period and of its comparison window, whatever accounts they come from.

    Keys: sales, gross_profit, known_amount, lines, lines_with_profit,
    prev_sales, prev_gross_profit, prev_known_amount, prev_lines (None when unknown).
    """
    settings = resolve_settings(store, settings)
    period = period or year_period(year, as_of_date(store), settings)
    filters = narrowing(filters)
    row = _account_year(store, year, filters, settings, None, period)[1]
    if row is None:  # no line in either window
        row = remember(store, ("year_totals", year, filters, period, settings_key(settings)),
                        lambda: _run(store, "year_totals", _totals_expr, period, filters, settings)).to_dict("records")[0]
    return {k: (int(v) if k.endswith("lines") or k == "lines_with_profit" else _opt_float(v)) for k, v in row.items()}


def concentration(table: pd.DataFrame) -> dict[str, Any]:
    """HHI (Σ share² × 10,000), the top account's share and the top ten's, from an account table."""
    shares = table["share"]
    has = len(table) > 0 and shares.notna().all()
    return {
        "hhi": float((shares**2).sum() * 10_000) if has else None,
        "top1_share": float(shares.iloc[0]) if has else None,
        # cum_share comes from exact DECIMAL running sums; adding floats would not.
        "top10_share": float(table["cum_share"].iloc[min(10, len(table)) - 1]) if has else None,
        "n_accounts": int(len(table)),
    }


def _ratio(a: float | None, b: float | None) -> float | None:
    return a / b if a is not None and b else None


def year_summary(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None,
    table: pd.DataFrame | None = None, period: Period | None = None,
) -> dict[str, Any]:
    """Company-level figures of the year's period, and of its comparison window.

    Keys: sales, gross_profit, margin, hhi, top1_share, top10_share,
    n_accounts, lines, lines_without_profit; prev_sales, prev_gross_profit,
    prev_margin (the comparison window: the year before, over the same days
    when the year is unfinished); ``period``. Values are Python floats/ints,
    None when unknown. ``table``: the period's account table when the caller has it.
    """
    settings = resolve_settings(store, settings)
    period = period or year_period(year, as_of_date(store), settings)
    if table is None:
        table = account_year_figures(store, year, filters, settings, period=period)
    totals = year_totals(store, year, filters, settings, period)
    return {
        "sales": totals["sales"] if totals["lines"] else None,
        "gross_profit": totals["gross_profit"],
        "margin": _ratio(totals["gross_profit"], totals["known_amount"]),
        **concentration(table),
        "lines": totals["lines"],
        "lines_without_profit": totals["lines"] - totals["lines_with_profit"],
        "prev_sales": totals["prev_sales"] if totals["prev_lines"] else None,
        "prev_gross_profit": totals["prev_gross_profit"],
        "prev_margin": _ratio(totals["prev_gross_profit"], totals["prev_known_amount"]),
        "period": period,
    }


def _change(now: float | None, before: float | None) -> float | None:
    """Relative change now / before − 1; None without both or when before is 0."""
    return now / before - 1 if now is not None and before else None


def _points(now: float | None, before: float | None) -> float | None:
    """A ratio's change in percentage points (0.1234 → 0.1000 is −2.34)."""
    return (now - before) * 100 if now is not None and before is not None else None


def year_changes(now: Mapping[str, Any], before: Mapping[str, Any]) -> dict[str, float | None]:
    """The Overview's changes: sales and profit relative, margin and top-10 share in points, HHI in points of HHI.

    ``now`` is a :func:`year_summary`; ``before`` the summary of its comparison
    window (:meth:`Period.previous`). Money compares with ``now``'s own
    ``prev_*`` totals so that accounts lost since then count too.
    """
    return {
        "sales": _change(now.get("sales"), now.get("prev_sales")),
        "gross_profit": _change(now.get("gross_profit"), now.get("prev_gross_profit")),
        "margin": _points(now.get("margin"), now.get("prev_margin")),
        "top10_share": _points(now.get("top10_share"), before.get("top10_share")),
        "hhi": (now["hhi"] - before["hhi"]) if now.get("hhi") is not None and before.get("hhi") is not None else None,
        "n_accounts": (now["n_accounts"] - before["n_accounts"]) if before.get("n_accounts") else None,
    }


def period_note(period: Period, today: dt.date) -> tuple[str, dict[str, Any]] | None:
    """What the note under a page's title says about the days counted: a code and its values.

    ``unfinished``: the year is still running and counted through the as-of
    date; ``data_through``: the year is over by ``today`` but the data stops
    before its last day (a closed year is never called unfinished); ``complete``:
    the whole year. None for an empty store. Values: ``year``, ``start``,
    ``through``, ``prev_start``, ``prev_through`` (dates).
    """
    if period.as_of is None:
        return None
    values = {"year": period.year, "start": period.start, "through": period.through,
              "prev_start": period.prev_start, "prev_through": period.prev_through}
    if not period.unfinished:
        return "complete", values
    return ("data_through" if today >= period.end else "unfinished"), values


def monthly_sales(
    store: Store, year: int, filters: Filters | None = None, settings: Mapping[str, Any] | None = None
) -> pd.DataFrame:
    """Sales and gross profit per calendar month and account within (fiscal) ``year``.

    Columns: month (``datetime.date``, first day of the month), account, sales,
    gross_profit (NaN when no line of that month has a known profit); sorted
    by month, then account.
    """
    settings = resolve_settings(store, settings)
    start, end = fiscal_year_bounds(year, int(settings["fiscal_start_month"]))
    filters = narrowing(filters)
    source = source_for(filters)
    values = {"start": start, "end": end, **{d: list(getattr(filters, d, ()) or ()) for d in DIMENSIONS}}
    df = remember(store, ("monthly_sales", year, filters, int(settings["fiscal_start_month"])),
                  lambda: engine.execute(store, ("monthly_sales", source), lambda p: _monthly_expr(store, p, source),
                                         values)).reset_index(drop=True)
    df["month"] = pd.to_datetime(df["month"]).dt.date.astype(object)
    df["sales"] = df["sales"].astype("float64")
    df["gross_profit"] = pd.to_numeric(df["gross_profit"], errors="coerce").astype("float64")
    return df[MONTHLY_COLUMNS]


def _monthly_expr(store: Store, p: engine.Params, source: str) -> ibis.Table:
    backend = engine.connect(store)
    if source != "sales_daily":
        t = _narrow_to(engine.table(backend, source), p, source)
        month = t["month"]
    else:
        t = engine.table(backend, "sales_daily")
        month = t["date"].truncate("M").cast("date")
    t = t.mutate(month=month)
    t = t.filter(t["month"] >= p("start", "date"), t["month"] < p("end", "date"))
    return (t.group_by(["month", "account"])
            .aggregate(sales=t["amount"].sum().cast("float64"), gross_profit=t["profit"].sum().cast("float64"))
            .order_by(["month", "account"]))


def available_years(store: Store, settings: Mapping[str, Any] | None = None) -> list[int]:
    """The (fiscal) years that have at least one sales line, ascending."""
    start_month = int(resolve_settings(store, settings)["fiscal_start_month"])

    def build(p: engine.Params) -> ibis.Table:
        t = engine.table(engine.connect(store), "sales_daily")
        year = t["date"].year()
        if start_month != 1:
            year = year - (t["date"].month() < start_month).cast("int32")
        return t.select(year.name("year")).distinct().order_by("year")

    return list(remember(store, ("available_years", start_month),
                         lambda: [int(y) for y in engine.execute(store, ("available_years", start_month), build)["year"]]))
