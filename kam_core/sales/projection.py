"""How the unfinished year will end: a seasonal projection, the naive run-rate beside it, and a backtest.

A retailer's year is seasonal (New Year, 618, Double 11, the December peak),
so year-to-date × 12 / months covered is biased in every month. The
seasonal projection divides year-to-date sales by the share of a year's sales
that the same stretch of days held in the previous years:

* ``own``: the account's own profile — Σ over its history years of the sales
  from the year's start through the same calendar day, over Σ of those
  years' full sales. History years are the (up to three) complete fiscal years
  before this one whose first month the data already has, in which the
  account sold; the account needs at least one, with a positive share.
* ``company``: the company's profile over the same history years, for an
  account with too little history of its own.
* ``annualised``: plain run-rate, when no history year exists at all.

An account's own profile is only as good as the lines behind it: a supplier
with a handful of orders a year has a "profile" that is mostly chance. So the
share used is a credibility blend, ``w × own + (1 − w) × company`` with
``w = n / (n + CREDIBLE_LINES)`` and ``n`` the account's sales lines in its
history years: a key account with thousands of lines follows its own season,
one with a few dozen mostly the company's. ``method`` names the profile that
carries the larger weight (``own`` when ``w ≥ ½``).

The projection is company-wide (the tier it gives is the policy's, never a
filter's). The backtest replays it on every past complete year: from its
first 3, 6 and 9 months, each account's year is projected both ways (history:
the years before that one) and compared with what the year really was; the
mean absolute percentage error (MAPE) is taken over the accounts that sold in
that year. Everything reads ``sales_daily``.
"""
from __future__ import annotations

import calendar
import datetime as dt
from typing import Any, Mapping

import pandas as pd

from kam_core.store import Store
from kam_core.sales.memo import remember, settings_key
from kam_core.sales.periods import (
    as_of_date,
    fiscal_year_bounds,
    fiscal_year_of_date,
    resolve_settings,
    same_day_a_year_earlier,
    year_period,
)

HISTORY_YEARS = 3
HORIZONS = (3, 6, 9)
# Lines of history at which an account's own profile and the company's weigh the same. Chosen on
# the backtest of the demo data and of the two real multi-year exports (US and Chinese Superstore);
# 20 → 2,000 was tried, 100 is where both real exports improve most while the demo's stays near exact.
CREDIBLE_LINES = 100
METHODS = ("own", "company", "annualised")
COLUMNS = ["account", "ytd_sales", "months_covered", "projected", "projected_naive", "method",
           "projected_basis", "projected_tier"]


def months_covered(start: dt.date, latest: dt.date) -> float:
    """Months of a year starting on ``start`` that data up to ``latest`` covers.

    Whole months before ``latest``'s month, plus the fraction of its month
    elapsed by day: data to 31 March in a January year covers 3.0 months,
    data to 15 March covers 2 + 15/31.
    """
    whole = (latest.year - start.year) * 12 + latest.month - start.month
    return whole + latest.day / calendar.monthrange(latest.year, latest.month)[1]


def _years_back(day: dt.date, n: int) -> dt.date:
    for _ in range(n):
        day = same_day_a_year_earlier(day)
    return day


def _first_covered_year(store: Store, start_month: int) -> int | None:
    """The first fiscal year whose first month has sales in the data (None without lines)."""
    first = store.cursor().execute("select min(date) from sales_daily").fetchone()[0]
    if first is None:
        return None
    earliest = fiscal_year_of_date(first, start_month)
    year_start = fiscal_year_bounds(earliest, start_month)[0]
    return earliest if (first.year, first.month) == (year_start.year, year_start.month) else earliest + 1


def history_years(store: Store, year: int, settings: Mapping[str, Any]) -> list[int]:
    """The complete fiscal years before ``year`` (at most :data:`HISTORY_YEARS`) the data covers from their first month."""
    earliest = _first_covered_year(store, int(settings["fiscal_start_month"]))
    if earliest is None:
        return []
    return [y for y in range(year - HISTORY_YEARS, year) if y >= earliest]


def _shares(store: Store, year: int, through: dt.date, years: list[int], settings: Mapping[str, Any]
            ) -> tuple[pd.DataFrame, float | None]:
    """Per account: Σ sales through the same day and Σ full-year sales over ``years``; the company's share."""
    if not years:
        return pd.DataFrame(columns=["account", "part", "whole", "years", "lines"]), None
    start_month = int(settings["fiscal_start_month"])
    starts = [fiscal_year_bounds(y, start_month)[0] for y in years]
    ends = [fiscal_year_bounds(y, start_month)[1] for y in years]
    cuts = [_years_back(through, year - y) for y in years]
    rows = store.cursor().execute(
        """
        with years as (select unnest($starts::date[]) as y_start, unnest($cuts::date[]) as cut,
                              unnest($ends::date[]) as y_end),
        per_year as (
            select d.account, y.y_start,
                   coalesce(sum(d.amount) filter (where d.date <= y.cut), 0)::double as part,
                   sum(d.amount)::double as whole, sum(d.lines) as lines
            from sales_daily d join years y on d.date >= y.y_start and d.date < y.y_end
            group by d.account, y.y_start
        )
        select account, sum(part), sum(whole) filter (where whole > 0), count(*) filter (where whole > 0),
               coalesce(sum(lines) filter (where whole > 0), 0)::double
        from per_year group by account
        """, {"starts": starts, "cuts": cuts, "ends": ends}).fetchall()
    frame = pd.DataFrame(rows, columns=["account", "part", "whole", "years", "lines"])
    part, whole = float(frame["part"].sum()), float(frame["whole"].fillna(0).sum())
    company = part / whole if whole > 0 and part > 0 else None
    return frame, company


def _project(ytd: pd.DataFrame, shares: pd.DataFrame, company: float | None, months: float) -> pd.DataFrame:
    """``ytd`` (account, ytd_sales) projected with ``shares`` (account, part, whole, years, lines of
    history): columns projected, projected_naive, method, factor (see the module docstring)."""
    out = ytd.merge(shares, on="account", how="left")
    own = out["part"] / out["whole"]
    has_own = (out["years"].fillna(0) >= 1) & (own > 0) & (own <= 1.5)
    lines = out["lines"].astype(float).fillna(0.0)
    weight = (lines / (lines + CREDIBLE_LINES)).where(has_own, 0.0)
    naive_factor = 12.0 / months if months else float("nan")
    methods, factors = [], []
    for w, o in zip(weight, own):
        if company is None:      # no history year at all
            methods.append("annualised")
            factors.append(naive_factor)
        else:
            methods.append("own" if w >= 0.5 else "company")
            factors.append(1.0 / (w * (o if w > 0 else 0.0) + (1.0 - w) * company))
    out["method"] = methods
    out["factor"] = factors
    out["projected"] = out["ytd_sales"] * out["factor"]
    out["projected_naive"] = out["ytd_sales"] * naive_factor
    return out


def seasonal_projection(store: Store, year: int, settings: Mapping[str, Any] | None = None,
                        table: pd.DataFrame | None = None) -> pd.DataFrame:
    """The company-wide projection of an unfinished ``year`` per account (see the module docstring).

    Columns :data:`COLUMNS`: ``ytd_sales`` through the as-of date, ``projected``
    (seasonal), ``projected_naive`` (× 12 / months covered), ``method`` (own,
    company or annualised), ``projected_basis`` (the tier basis scaled by the
    same factor) and ``projected_tier``. Empty when the year is not
    unfinished. ``table``: the year's company-wide tier table when the caller has it.
    """
    from kam_core.sales.tiers import assign_tiers, tier_of

    settings = resolve_settings(store, settings)
    period = year_period(year, as_of_date(store), settings)
    if not period.unfinished:
        return pd.DataFrame({c: pd.Series(dtype=object) for c in COLUMNS})
    if table is None:
        table = assign_tiers(store, year, settings=settings)
    months = months_covered(period.start, period.through)
    shares, company = _shares(store, year, period.through, history_years(store, year, settings), settings)
    out = _project(table[["account", "sales", "basis_amount"]].rename(columns={"sales": "ytd_sales"}),
                   shares, company, months)
    out["months_covered"] = months
    out["projected_basis"] = out["basis_amount"] * out["factor"]
    out["projected_tier"] = [tier_of(v, settings) for v in out["projected_basis"]]
    return out[COLUMNS].reset_index(drop=True)


def backtest(store: Store, settings: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """MAPE of the seasonal and the naive projection on every past complete year, from 3, 6 and 9 months.

    Columns ``year, months, accounts, seasonal_mape, naive_mape`` (fractions),
    one row per complete year and horizon, then one ``year`` = None row per
    horizon pooling every year's accounts. Empty when no year is complete.
    The cuts are month ends, so everything comes from one query of the
    accounts' monthly sales: a year's first h months against its whole, with
    the history years' same months for the profiles (as :func:`seasonal_projection`).
    """
    settings = resolve_settings(store, settings)
    return remember(store, ("backtest", settings_key(settings)), lambda: _backtest(store, settings)).copy()


def _backtest(store: Store, settings: Mapping[str, Any]) -> pd.DataFrame:
    as_of = as_of_date(store)
    columns = ["year", "months", "accounts", "seasonal_mape", "naive_mape"]
    if as_of is None:
        return pd.DataFrame(columns=columns)
    start_month = int(settings["fiscal_start_month"])
    earliest = _first_covered_year(store, start_month)
    complete = [y for y in range(earliest, fiscal_year_of_date(as_of, start_month) + 1)
                if fiscal_year_bounds(y, start_month)[1] - dt.timedelta(days=1) <= as_of]
    if not complete:
        return pd.DataFrame(columns=columns)
    monthly = pd.DataFrame(store.cursor().execute(
        "select account, date_trunc('month', date)::date, sum(amount)::double, sum(lines)::double from sales_daily"
        " where date >= ? group by all", [fiscal_year_bounds(min(complete) - HISTORY_YEARS, start_month)[0]]
    ).fetchall(), columns=["account", "month", "amount", "lines"])
    # month number within the fiscal year (0–11) and the fiscal year itself
    offset = [m.year * 12 + m.month - start_month for m in monthly["month"]]
    monthly["fy"] = [o // 12 for o in offset]
    monthly["m"] = [o % 12 for o in offset]
    months = monthly.pivot_table(index=["account", "fy"], columns="m", values="amount", aggfunc="sum", fill_value=0.0)
    months = months.reindex(columns=range(12), fill_value=0.0)
    early = months.cumsum(axis=1)                    # early[h - 1]: the year's first h months
    total = months.sum(axis=1)
    year_lines = monthly.groupby(["account", "fy"])["lines"].sum().reindex(total.index, fill_value=0.0)
    fy = total.index.get_level_values("fy")
    rows, pooled = [], {h: ([], []) for h in HORIZONS}
    for y in complete:
        actual = total[(fy == y) & (total > 0)].droplevel("fy")
        in_history = fy.isin(history_years(store, y, settings))
        positive = in_history & (total > 0)
        whole = total[positive].groupby(level="account").sum()
        years = total[positive].groupby(level="account").size()
        history_lines = year_lines[positive].groupby(level="account").sum()
        for h in HORIZONS:
            ytd = early[h - 1][fy == y].droplevel("fy").reindex(actual.index, fill_value=0.0)
            part = early[h - 1][in_history].groupby(level="account").sum()
            shares = pd.DataFrame({"account": whole.index, "part": part.reindex(whole.index, fill_value=0.0).values,
                                   "whole": whole.values, "years": years.values,
                                   "lines": history_lines.reindex(whole.index, fill_value=0.0).values})
            company = float(part.sum()) / float(whole.sum()) if len(whole) and part.sum() > 0 else None
            got = _project(pd.DataFrame({"account": actual.index, "ytd_sales": ytd.values}), shares, company, float(h))
            got["actual"] = actual.reindex(got["account"]).values
            seasonal = ((got["projected"] - got["actual"]).abs() / got["actual"]).tolist()
            naive = ((got["projected_naive"] - got["actual"]).abs() / got["actual"]).tolist()
            pooled[h][0].extend(seasonal)
            pooled[h][1].extend(naive)
            rows.append((y, h, len(got), _mean(seasonal), _mean(naive)))
    for h in HORIZONS:
        if pooled[h][0]:
            rows.append((None, h, len(pooled[h][0]), _mean(pooled[h][0]), _mean(pooled[h][1])))
    return pd.DataFrame(rows, columns=columns)


def _mean(values: list[float]) -> float | None:
    return sum(values) / len(values) if values else None
