"""Which lines count and over which days: filters, fiscal years and the one period rule.

**Filters** (region, category, store) narrow the figures a view shows. What
the policy defines — tier, distance to the next tier, the six criteria, tier
migration, the projection's tier — is always the account's company-wide
standing and never re-graded by a filter (see :mod:`kam_core.sales.tiers`).

**Periods.** A (fiscal) year Y runs from its first day to the first day of
the next, exclusive (``fiscal_start_month``; named by the calendar year it
starts in). The *as of* date is the last loaded sales date in the whole
store. The latest year with lines is **unfinished** when the as-of date is
before its last day; it is then counted through the as-of date and compared
with the year before through the same calendar day (29 February counts as 28
February), so a lagging export never compares ten months with eleven. Every
other year is complete and compared with the whole year before. This rule
serves every growth figure in the product: ``yoy``, the Overview's changes,
the tier migration, the exports and the command line.
"""
from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any, Mapping

from kam_core.settings import SETTINGS, get_settings
from kam_core.store import Store

DIMENSIONS: tuple[str, ...] = ("region", "category", "store")
"""The columns a view can be filtered by (identifiers are never taken from input)."""


@dataclass(frozen=True)
class Filters:
    """Which sales lines a view counts: an empty tuple means every value of that field."""

    region: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    store: tuple[str, ...] = ()

    def __bool__(self) -> bool:
        return bool(self.region or self.category or self.store)

    def active(self) -> tuple[str, ...]:
        """The dimensions this filter narrows, in :data:`DIMENSIONS` order."""
        return tuple(d for d in DIMENSIONS if getattr(self, d))


def narrowing(filters: Filters | None) -> Filters | None:
    """``filters`` when it narrows anything, else None (the company-wide view)."""
    return filters if filters else None


def resolve_settings(store: Store, settings: Mapping[str, Any] | None) -> dict[str, Any]:
    """``settings`` over the declared defaults; the stored settings when None."""
    if settings is None:
        return get_settings(store)
    return {**{k: s.default for k, s in SETTINGS.items()}, **settings}


def fiscal_year_bounds(year: int, start_month: int) -> tuple[dt.date, dt.date]:
    """First day of fiscal year ``year`` and first day of the next one."""
    return dt.date(year, start_month, 1), dt.date(year + 1, start_month, 1)


def fiscal_year_of_date(day: dt.date, start_month: int) -> int:
    """The fiscal year ``day`` falls in (named by the calendar year it starts in)."""
    return day.year - (1 if day.month < start_month else 0)


def same_day_a_year_earlier(day: dt.date) -> dt.date:
    """The same calendar day one year before; 29 February gives 28 February."""
    try:
        return day.replace(year=day.year - 1)
    except ValueError:
        return day.replace(year=day.year - 1, day=28)


@dataclass(frozen=True)
class Period:
    """The days a year's figures count and the days they are compared with.

    ``start``/``end``: the fiscal year, ``end`` exclusive. ``through``: the last
    day counted (the as-of date when ``unfinished``, else the year's last day).
    ``prev_start``/``prev_through``: the comparison, the year before through the
    same calendar day. ``as_of``: the store's last sales date (None when empty).
    """

    year: int
    start: dt.date
    end: dt.date
    through: dt.date
    prev_start: dt.date
    prev_through: dt.date
    as_of: dt.date | None
    unfinished: bool

    def previous(self) -> "Period":
        """The comparison window as a period of its own (its own comparison one year further back)."""
        return Period(
            year=self.year - 1, start=self.prev_start, end=self.start, through=self.prev_through,
            prev_start=fiscal_year_bounds(self.year - 2, self.start.month)[0],
            prev_through=same_day_a_year_earlier(self.prev_through),
            as_of=self.as_of, unfinished=self.unfinished)


def year_period(year: int, as_of: dt.date | None, settings: Mapping[str, Any]) -> Period:
    """The :class:`Period` of ``year`` given the store's as-of date (see the module docstring)."""
    start_month = int(settings["fiscal_start_month"])
    start, end = fiscal_year_bounds(int(year), start_month)
    prev_start, _ = fiscal_year_bounds(int(year) - 1, start_month)
    last_day = end - dt.timedelta(days=1)
    unfinished = as_of is not None and start <= as_of < last_day
    through = as_of if unfinished else last_day
    return Period(year=int(year), start=start, end=end, through=through, prev_start=prev_start,
                  prev_through=same_day_a_year_earlier(through), as_of=as_of, unfinished=unfinished)


def as_of_date(store: Store) -> dt.date | None:
    """The last loaded sales date in the store (the "as of" date); None when there are no lines."""
    row = store.cursor().execute("select max(date) from sales_daily").fetchone()
    return row[0] if row else None


def period_of(store: Store, year: int, settings: Mapping[str, Any] | None = None) -> Period:
    """:func:`year_period` of ``year`` on the store's own as-of date."""
    return year_period(year, as_of_date(store), resolve_settings(store, settings))


def month_start(day: dt.date) -> dt.date:
    return day.replace(day=1)


def is_month_end(day: dt.date) -> bool:
    return (day + dt.timedelta(days=1)).day == 1
