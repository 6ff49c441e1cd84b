"""Win-win marketing (policy §5): joint plans read beside the sales they should move.

Writes go through :mod:`kam_core.dossier.records` (validated, versioned, audited);
this module only reads plans and sales and derives budgets and uplift.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable, Sequence

import pandas as pd

from kam_core import permissions
from kam_core.dossier import queries, records
from kam_core.dossier.fields import EXCHANGE_ITEMS, PLAN_KINDS, PROMOTION_KINDS, NotFound, invalid
from kam_core.permissions import User
from kam_core.sales import accounts as account_sales
from kam_core.store import Store

EXCHANGE_STEPS: dict[str, int] = {
    "their_marketing_structure": 1, "their_ad_agencies": 1, "their_contact_person": 1,
    "our_marketing_structure_sent": 2, "our_event_calendar_sent": 2, "our_seasonal_promotions_sent": 2,
}
PLAN_COLUMNS = ["id", "account", "kind", "side", "title", "period_start", "period_end", "budget", "status",
                "notes", "version", "updated_by", "updated_at"]


def as_date(v: Any) -> dt.date | None:
    """A date, Timestamp, datetime or ISO text as a date (None stays None)."""
    if v is None:
        return None
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        return v
    return dt.date.fromisoformat(str(v))


def plans_frame(store: Store, user: User, account: str | None = None, kinds: Iterable[str] | None = None,
                start: dt.date | None = None, end: dt.date | None = None) -> pd.DataFrame:
    """Live (not deleted) plans, optionally for one account, some kinds, and overlapping [start, end].

    When a period is given, plans without dates are left out (they cannot be
    placed on a timeline). Sorted by start date, account, id.
    """
    permissions.require(user, "read_dossier")
    where, params = ["deleted_at is null"], []
    if account is not None:
        where.append("account = ?")
        params.append(account)
    if kinds is not None:
        kinds = [k for k in kinds]
        unknown = set(kinds) - set(PLAN_KINDS)
        if unknown:
            raise ValueError(f"unknown plan kinds: {', '.join(sorted(unknown))}")
        if not kinds:
            return pd.DataFrame(columns=PLAN_COLUMNS)
        where.append(f"kind in ({', '.join('?' for _ in kinds)})")
        params.extend(kinds)
    if start is not None:
        where.append("coalesce(period_end, period_start) >= ?")
        params.append(as_date(start))
    if end is not None:
        where.append("period_start <= ?")
        params.append(as_date(end))
    sql = (f"select {', '.join(PLAN_COLUMNS)} from plans where {' and '.join(where)}"
           " order by period_start nulls last, account, id")
    return store.cursor().execute(sql, params).df()


def _quarter(d: dt.date) -> str:
    return f"{d.year}Q{(d.month - 1) // 3 + 1}"


def _quarter_days(start: dt.date, end: dt.date) -> list[tuple[str, int]]:
    out, d = [], start
    while d <= end:
        q_end_month = ((d.month - 1) // 3 + 1) * 3
        q_end = (dt.date(d.year + 1, 1, 1) if q_end_month == 12 else dt.date(d.year, q_end_month + 1, 1)) - dt.timedelta(days=1)
        stop = min(q_end, end)
        out.append((_quarter(d), (stop - d).days + 1))
        d = stop + dt.timedelta(days=1)
    return out


def budget_by_quarter(frame: pd.DataFrame) -> pd.DataFrame:
    """Budgets summed by calendar quarter and side (``ours``/``theirs``).

    A plan spanning several quarters is split in proportion to its days in
    each (to the cent, remainders to the largest fractions, so totals are
    exact). A plan without an end date counts on its start day; plans without
    a budget or a start date are left out. Columns ``quarter`` (``2025Q1``),
    ``side``, ``budget``.
    """
    cents: dict[tuple[str, str], int] = {}
    for row in frame.itertuples(index=False):
        budget, start = getattr(row, "budget"), getattr(row, "period_start")
        if budget is None or pd.isna(budget) or start is None or pd.isna(start):
            continue
        start = as_date(start)
        end_v = getattr(row, "period_end")
        end = start if end_v is None or pd.isna(end_v) else max(as_date(end_v), start)
        total = int(round(float(budget) * 100))
        parts = _quarter_days(start, end)
        n = sum(days for _, days in parts)
        shares = [(q, total * days // n, (total * days) % n) for q, days in parts]
        left = total - sum(s for _, s, _ in shares)
        bonus = {q for q, _, _ in sorted(shares, key=lambda t: -t[2])[:left]}
        for q, s, _ in shares:
            key = (q, str(row.side))
            cents[key] = cents.get(key, 0) + s + (1 if q in bonus else 0)
    out = pd.DataFrame(
        [(q, side, c / 100) for (q, side), c in sorted(cents.items())], columns=["quarter", "side", "budget"]
    )
    return out.astype({"quarter": object, "side": object, "budget": "float64"})


def promotion_uplift(store: Store, plan: int | tuple[str, dt.date, dt.date]) -> dict:
    """The account's sales during a promotion vs the same number of days just before it.

    ``plan`` is a plan id or ``(account, start, end)`` (inclusive). Returns
    ``account, start, end, days, before_start, before_end, sales_during,
    sales_before, uplift_share`` (during / before − 1; None when nothing was
    sold before) and ``before_covered`` (the sales data reaches back to
    ``before_start``, so the comparison is not against missing data).
    Sales numbers are readable by every role, so no user is needed.
    """
    cur = store.cursor()
    if isinstance(plan, tuple):
        account, start, end = plan[0], as_date(plan[1]), as_date(plan[2])
    else:
        row = cur.execute("select account, period_start, period_end from plans where id = ?", [int(plan)]).fetchone()
        if row is None:
            raise NotFound(f"plan {plan} does not exist")
        account, start, end = row[0], as_date(row[1]), as_date(row[2])
    if start is None or end is None:
        raise ValueError("the plan needs a start and an end date to measure uplift")
    if end < start:
        raise ValueError("the period ends before it starts")
    days = (end - start).days + 1
    before_end = start - dt.timedelta(days=1)
    before_start = start - dt.timedelta(days=days)
    during = account_sales.sales_between(store, account, start, end)
    before = account_sales.sales_between(store, account, before_start, before_end)
    first = account_sales.first_sale_date(store)
    return {
        "account": account, "start": start, "end": end, "days": days,
        "before_start": before_start, "before_end": before_end,
        "sales_during": round(during, 2), "sales_before": round(before, 2),
        "uplift_share": (during / before - 1) if before else None,
        "before_covered": first is not None and first <= before_start,
    }


def price_change_effect(store: Store, record_id: int, days: int = 30) -> dict:
    """The account's sales in the ``days`` before a price change vs the ``days`` from it on.

    Returns ``account, changed_on, product, before_start, before_end,
    after_start, after_end, sales_before, sales_after, change_share``
    (after / before − 1; None when nothing was sold before). Account-level,
    because sales lines are not matched to the price change's product text.
    """
    cur = store.cursor()
    row = cur.execute("select account, changed_on, product from price_changes where id = ?", [int(record_id)]).fetchone()
    if row is None:
        raise NotFound(f"price change {record_id} does not exist")
    account, changed, product = row[0], as_date(row[1]), row[2]
    b0, b1 = changed - dt.timedelta(days=days), changed - dt.timedelta(days=1)
    a0, a1 = changed, changed + dt.timedelta(days=days - 1)
    before = account_sales.sales_between(store, account, b0, b1)
    after = account_sales.sales_between(store, account, a0, a1)
    return {
        "account": account, "changed_on": changed, "product": product,
        "before_start": b0, "before_end": b1, "after_start": a0, "after_end": a1,
        "sales_before": round(before, 2), "sales_after": round(after, 2),
        "change_share": (after / before - 1) if before else None,
    }


PRICE_EFFECT_COLUMNS = ["id", "changed_on", "product", "old_price", "new_price", "sales_before", "sales_after",
                        "change_share"]


def price_change_effects(store: Store, user: User, account: str, days: int = 30) -> pd.DataFrame:
    """:func:`price_change_effect` for every live price change of ``account``, in one query.

    Columns :data:`PRICE_EFFECT_COLUMNS`, newest change first (the order of the
    Records tab). Same windows and rounding as :func:`price_change_effect`:
    ``days`` before the change vs ``days`` from it on, account-level sales.
    """
    permissions.require(user, "read_dossier")
    days = int(days)
    if days < 1:
        raise ValueError("days must be at least 1")
    changes = store.cursor().execute(
        "select id, changed_on, product, old_price, new_price from price_changes"
        " where account = ? and deleted_at is null and changed_on is not null order by changed_on desc, id desc",
        [str(account)]).fetchall()
    sums = account_sales.sales_around(store, str(account), [as_date(c[1]) for c in changes], days)
    rows = [(*c, b, a) for c, (b, a) in zip(changes, sums)]
    out = pd.DataFrame(
        [(rid, as_date(on), product, old, new, round(b, 2), round(a, 2), (a / b - 1) if b else None)
         for rid, on, product, old, new, b, a in rows],
        columns=PRICE_EFFECT_COLUMNS, dtype=object,
    )
    return out.astype({"id": "int64", "sales_before": "float64", "sales_after": "float64"})


def uplift_frame(store: Store, user: User, today: dt.date, account: str | None = None,
                 kinds: Sequence[str] = PROMOTION_KINDS) -> pd.DataFrame:
    """Uplift of every finished promotion (``period_end`` before ``today``), newest first.

    Columns: ``id, account, kind, side, title, period_start, period_end, budget,
    sales_during, sales_before, uplift_share``.
    """
    frame = plans_frame(store, user, account=account, kinds=kinds)
    today = as_date(today)
    rows = []
    for p in frame.itertuples(index=False):
        if pd.isna(p.period_start) or pd.isna(p.period_end) or as_date(p.period_end) >= today:
            continue
        u = promotion_uplift(store, (p.account, p.period_start, p.period_end))
        rows.append((p.id, p.account, p.kind, p.side, p.title, u["start"], u["end"], p.budget,
                     u["sales_during"], u["sales_before"], u["uplift_share"]))
    cols = ["id", "account", "kind", "side", "title", "period_start", "period_end", "budget",
            "sales_during", "sales_before", "uplift_share"]
    out = pd.DataFrame(rows, columns=cols)
    return out.sort_values(["period_end", "id"], ascending=False, ignore_index=True)


def get_exchange_checklist(store: Store, user: User, account: str) -> dict[str, bool]:
    """The §5 steps 1–2 items for ``account``, each done (True) or not; all False without a dossier."""
    acct = queries.get_account(store, user, account)
    if acct is None:
        return {k: False for k in EXCHANGE_ITEMS}
    return acct["exchange_checklist"]


def set_exchange_checklist(store: Store, user: User, account: str, items: dict[str, bool],
                           expected_version: int | None = None) -> dict[str, bool]:
    """Tick or untick §5 items (others keep their state), through the dossier's audited write.

    ``expected_version`` is the account version the user loaded (see
    :func:`kam_core.records.upsert_account`). Returns the stored checklist.
    """
    current = get_exchange_checklist(store, user, account)
    unknown = set(items) - set(EXCHANGE_ITEMS)
    if unknown:
        raise invalid("exchange_checklist", "checklist_unknown", "unknown items: " + ", ".join(sorted(unknown)),
                      items=", ".join(sorted(unknown)))
    acct = records.upsert_account(store, user, account, {"exchange_checklist": {**current, **items}}, expected_version)
    return acct["exchange_checklist"]


def exchange_frame(store: Store, user: User, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """The §5 steps 1–2 checklist of every dossier (or of ``accounts``): one row per account.

    Columns ``account``, one boolean per item of :data:`EXCHANGE_ITEMS` (False
    when not recorded) and ``done`` (how many items are ticked).
    """
    permissions.require(user, "read_dossier")
    rows = store.cursor().execute(
        "select name, exchange_checklist from accounts where deleted_at is null order by name").fetchall()
    wanted = None if accounts is None else set(accounts)
    data = []
    for name, text in rows:
        if wanted is not None and name not in wanted:
            continue
        items = queries.checklist(text)
        data.append({"account": name, **items, "done": sum(items.values())})
    return pd.DataFrame(data, columns=["account", *EXCHANGE_ITEMS, "done"])
