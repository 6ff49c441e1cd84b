"""Agreements' targets against the account's actual sales (issue 17, item 3).

An agreement with a ``target_amount`` and a validity (``valid_from`` …
``valid_to``, both days included) sets a sales target for that stretch of
days; with a ``category`` only that category's sales count. The actual is
the account's sales from ``valid_from`` through the **as-of date** (the last
sales date loaded, :func:`kam_core.sales.periods.as_of_date`), or through
``valid_to`` when that came first: the data, not the calendar, says how far
the year has gone, so a lagging export never makes every target look behind.

* ``expected`` (the pro-rata path) = target × days counted / days of the agreement;
* ``progress_share`` = actual / target;
* ``projected_end`` = actual × days of the agreement / days counted (the pace so far, kept up);
* ``state``: ``not_started`` (no day counted yet), ``on_track`` (actual ≥ expected),
  ``behind`` (actual < expected, still running), ``met`` (actual ≥ target), ``missed``
  (ended below target), ``no_period`` (a date is missing: nothing to compare).

Sales are read only through :mod:`kam_core.sales.accounts`; agreements through :mod:`kam_core.dossier`.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Sequence

import pandas as pd

from kam_core.dossier import plans, queries
from kam_core.permissions import User
from kam_core.sales import accounts as account_sales
from kam_core.sales.periods import as_of_date
from kam_core.store import Store

STATES = ("not_started", "on_track", "behind", "met", "missed", "no_period")
TARGET_COLUMNS = ["id", "account", "title", "category", "status", "valid_from", "valid_to", "target_amount",
                  "counted_through", "days_counted", "days_total", "actual", "expected", "progress_share",
                  "expected_share", "projected_end", "state"]


def day_or_none(v: Any) -> dt.date | None:
    """A stored date (date, Timestamp, ISO text) as a date; None for a missing one (None, NaT, NaN)."""
    if v is None or v is pd.NaT or (not isinstance(v, (dt.date, str)) and pd.isna(v)):
        return None
    return plans.as_date(v)


def progress(target: float, start: dt.date | None, end: dt.date | None, actual: float,
             as_of: dt.date | None) -> dict[str, Any]:
    """How a target of ``target`` over [``start``, ``end``] stands with ``actual`` sales counted through ``as_of``.

    Returns ``counted_through``, ``days_counted``, ``days_total``, ``expected``,
    ``progress_share``, ``expected_share``, ``projected_end`` and ``state`` (see the module docstring).
    """
    out: dict[str, Any] = {"counted_through": None, "days_counted": 0, "days_total": None, "expected": None,
                           "progress_share": (actual / target) if target else None, "expected_share": None,
                           "projected_end": None}
    if start is None or end is None or end < start:
        return {**out, "state": "no_period"}
    total = (end - start).days + 1
    out["days_total"] = total
    if as_of is None or as_of < start:
        return {**out, "expected": 0.0, "expected_share": 0.0, "state": "not_started"}
    through = min(as_of, end)
    counted = (through - start).days + 1
    expected = target * counted / total
    out.update(counted_through=through, days_counted=counted, expected=expected, expected_share=counted / total,
               projected_end=actual * total / counted)
    if actual >= target:
        state = "met"
    elif through >= end:
        state = "missed"
    else:
        state = "on_track" if actual >= expected else "behind"
    return {**out, "state": state}


def targets_frame(store: Store, user: User, accounts: Sequence[str] | None = None,
                  as_of: dt.date | None = None) -> pd.DataFrame:
    """Every live agreement with a target (of ``accounts``, or all), with its actual sales and progress.

    Columns :data:`TARGET_COLUMNS`, by account and end date. ``as_of``: the
    day sales are counted through (default: the store's as-of date).
    """
    agreements = queries.agreements_with_targets(store, user, accounts)
    as_of = as_of if as_of is not None else as_of_date(store)
    rows, windows = [], []
    for a in agreements.to_dict("records"):
        start, end = day_or_none(a["valid_from"]), day_or_none(a["valid_to"])
        category = a["category"] if isinstance(a["category"], str) and a["category"].strip() else None
        rows.append({**a, "valid_from": start, "valid_to": end, "category": category})
        if start is not None and end is not None and as_of is not None and start <= min(as_of, end):
            windows.append((len(rows) - 1, (a["account"], start, min(as_of, end), category)))
    sums = account_sales.sales_in_windows(store, [w for _, w in windows])
    actual = {i: v for (i, _), v in zip(windows, sums)}
    out = []
    for i, r in enumerate(rows):
        got = actual.get(i, 0.0)
        out.append({**r, "actual": got, **progress(float(r["target_amount"]), r["valid_from"], r["valid_to"], got, as_of)})
    return pd.DataFrame(out, columns=TARGET_COLUMNS)
