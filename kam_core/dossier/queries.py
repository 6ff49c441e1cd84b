"""Reads of the dossier tables and the department's to-dos: what pages, exports and attention ask.

Reads that may show personal details take the acting user and blank or mask
what they may not see. Values are bound as parameters; a table name comes from
:data:`.fields.SPECS` (a fixed mapping), never from input.
"""
from __future__ import annotations

import datetime as dt
import json
import unicodedata
from typing import Any, Sequence

import pandas as pd

from kam_core import audit, auth, permissions
from kam_core.dossier.fields import (ACCOUNT_FACT_FIELDS, CLOSED_AGREEMENT_STATUSES, COMPLETENESS_RECORDS,
                                     CONTACT_ROLES, DECISION_ROLES, EXCHANGE_ITEMS, MASK, OPEN_ACTION_STATUSES,
                                     PERSONAL_FIELDS, POLICY_BASIC_FIELDS, POLICY_LEVELS, RECORD_KINDS,
                                     SCORE_FIELDS, SPECS, to_date)
from kam_core.imports import aliases
from kam_core.permissions import User
from kam_core.sales import accounts as account_sales
from kam_core.store import Store


def fetch_one(cur, sql: str, params: list) -> dict | None:
    """The first row of ``sql`` as a dict (None when there is none)."""
    rel = cur.execute(sql, params)
    row = rel.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in rel.description], row))


def account_row(cur, name: str) -> dict | None:
    """The ``accounts`` row of ``name`` (deleted or not), or None."""
    return fetch_one(cur, "select * from accounts where name = ?", [name])



def dossier_version(store: Store) -> int:
    """Changes whenever any dossier table is written: a cheap cache key for pages."""
    return audit.latest_change(store.cursor(), ["accounts", *RECORD_KINDS])


def _owners(cur, account: str) -> tuple[str | None, str | None]:
    r = cur.execute("select owner, backup_owner from accounts where name = ?", [account]).fetchone()
    return (r[0], r[1]) if r else (None, None)


def may_read_personal(store: Store, user: User, account: str) -> bool:
    """True when ``user`` may see contacts' personal details at ``account``."""
    owner, backup = _owners(store.cursor(), account)
    return permissions.can(user, "read_personal", owner=owner, backup_owner=backup)


def may_edit(store: Store, user: User, account: str) -> bool:
    """True when ``user`` may change ``account``'s dossier (pages use it to show or hide editors)."""
    owner, backup = _owners(store.cursor(), account)
    return permissions.can(user, "edit_dossier", owner=owner, backup_owner=backup)


def get_account(store: Store, user: User, name: str) -> dict | None:
    """The account's dossier fields, owner and version (``exchange_checklist`` as a dict); None if none."""
    permissions.require(user, "read_dossier")
    row = account_row(store.cursor(), str(name).strip())
    if row is None or row["deleted_at"] is not None:
        return None
    row["exchange_checklist"] = checklist(row["exchange_checklist"])
    return row


def checklist(text: str | None) -> dict[str, bool]:
    data = json.loads(text) if text else {}
    return {k: bool(data.get(k, False)) for k in EXCHANGE_ITEMS}


def _records_df(cur, kind: str, account: str, include_deleted: bool) -> pd.DataFrame:
    spec = SPECS[kind]
    sql = f"select * from {spec.table} where account = ?"
    if not include_deleted:
        sql += " and deleted_at is null"
    return cur.execute(sql + f" order by {spec.sort}", [account]).df()


def list_contacts(store: Store, user: User, account: str, include_deleted: bool = False) -> pd.DataFrame:
    """The account's people, ordered by policy level; personal fields blanked unless the user may read them.

    ``df.attrs['personal_hidden']`` tells whether blanking happened.
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    df = _records_df(cur, "contacts", account, include_deleted)
    owner, backup = _owners(cur, account)
    hidden = not permissions.can(user, "read_personal", owner=owner, backup_owner=backup)
    if hidden:
        for col in PERSONAL_FIELDS:
            df[col] = pd.Series([None] * len(df), index=df.index, dtype=df[col].dtype if col == "spending_limit" else object)
    if len(df):
        rank = {r: i for i, r in enumerate(CONTACT_ROLES)}
        df = df.assign(_o=df["role"].map(rank)).sort_values(["_o", "name", "id"], kind="stable").drop(columns="_o")
        df = df.reset_index(drop=True)
    df.attrs["personal_hidden"] = hidden
    return df


def list_records(store: Store, user: User, account: str, kind: str, include_deleted: bool = False) -> pd.DataFrame:
    """Negotiations, agreements, price_changes or plans of ``account`` (contacts via :func:`list_contacts`)."""
    if kind == "contacts":
        return list_contacts(store, user, account, include_deleted)
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    permissions.require(user, "read_dossier")
    return _records_df(store.cursor(), kind, account, include_deleted)


def account_history(store: Store, user: User, account: str, limit: int = 1000) -> pd.DataFrame:
    """Every audited change to the account and its records, newest first.

    Personal contact values are shown as ``•••`` to users who may not read them.
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    records: list[tuple[str, Any]] = [("accounts", account)]
    for kind in RECORD_KINDS:
        table = SPECS[kind].table           # a fixed mapping, never input
        records += [(table, str(r[0])) for r in cur.execute(f"select id from {table} where account = ?",
                                                             [account]).fetchall()]
    df = audit.history_of(cur, records, limit)
    owner, backup = _owners(cur, account)
    if not permissions.can(user, "read_personal", owner=owner, backup_owner=backup) and len(df):
        personal = (df["table_name"] == "contacts") & df["field"].isin(PERSONAL_FIELDS)
        for col in ("old_value", "new_value"):
            df[col] = df[col].astype(object)
            df.loc[personal & df[col].notna(), col] = MASK
    return df


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).casefold().strip()


def search_accounts(store: Store, query: str, limit: int = 50) -> list[str]:
    """Canonical account names matching ``query`` in the name or any alias; exact, then prefix, then substring."""
    names = [*account_sales.account_names(store), *dossier_accounts(store)]
    rows = [(a, a) for a in names] + aliases.alias_names(store)
    q = _fold(query or "")
    best: dict[str, int] = {}
    for name, text in rows:
        t = _fold(text or "")
        if not q:
            rank = 0
        elif t == q:
            rank = 0
        elif t.startswith(q):
            rank = 1
        elif q in t:
            rank = 2
        else:
            continue
        best[name] = min(rank, best.get(name, 9))
    return sorted(best, key=lambda n: (best[n], n))[:limit]


def expiring_agreements(store: Store, today: dt.date, within_days: int = 60) -> pd.DataFrame:
    """Live agreements whose ``valid_to`` falls within ``within_days`` from ``today`` (inclusive).

    Agreements carry no personal details, so every role may read this list.
    Columns: ``id, account, title, valid_to, status, days_left``; soonest first.
    """
    today = to_date(today)
    return store.cursor().execute(
        "select id, account, title, valid_to, status, datediff('day', ?::date, valid_to) as days_left"
        " from agreements where deleted_at is null and valid_to between ? and ?"
        " and not list_contains(?, coalesce(status, ''))"
        " order by valid_to, account, id",
        [today, today, today + dt.timedelta(days=int(within_days)), list(CLOSED_AGREEMENT_STATUSES)],
    ).df()


def department_gaps(store: Store, user: User, today: dt.date, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Accounts with no decision-maker contact, or with an expired agreement not replaced by a live one.

    ``accounts`` limits the check (e.g. to the key accounts); by default every
    dossier. A decision maker is a general manager, chairman or purchasing
    director, or anyone marked ``decision_maker``. An expired agreement counts
    unless its status is one of :data:`CLOSED_AGREEMENT_STATUSES` or the account has an agreement valid on
    or after ``today``. Columns: ``account, owner, no_decision_maker,
    expired_agreements, last_expired``.
    """
    permissions.require(user, "read_dossier")
    today = to_date(today)
    cur = store.cursor()
    if accounts is None:
        names = [r[0] for r in cur.execute("select name from accounts where deleted_at is null order by name").fetchall()]
    else:
        names = list(dict.fromkeys(accounts))
    cols = ["account", "owner", "no_decision_maker", "expired_agreements", "last_expired"]
    closed = list(CLOSED_AGREEMENT_STATUSES)
    if not names:
        return pd.DataFrame(columns=cols)
    df = cur.execute(
        f"""
        with dm as (
            select distinct account from contacts
            where deleted_at is null
              and (role in ({', '.join('?' for _ in DECISION_ROLES)}) or influence = 'decision_maker')
        ), live as (
            select distinct account from agreements
            where deleted_at is null and (valid_to >= ? or (valid_to is null and valid_from is not null))
              and not list_contains(?::varchar[], coalesce(status, ''))
        ), expired as (
            select account, count(*) as n, max(valid_to) as last_expired from agreements
            where deleted_at is null and valid_to < ? and not list_contains(?::varchar[], coalesce(status, ''))
            group by account
        )
        select g.account, a.owner,
               dm.account is null as no_decision_maker,
               case when live.account is null then coalesce(e.n, 0) else 0 end as expired_agreements,
               case when live.account is null then e.last_expired end as last_expired
        from (select unnest(?::varchar[]) as account) g
        left join accounts a on a.name = g.account
        left join dm on dm.account = g.account
        left join live on live.account = g.account
        left join expired e on e.account = g.account
        where dm.account is null or (live.account is null and e.n > 0)
        order by g.account
        """,
        [*DECISION_ROLES, today, closed, today, closed, names],
    ).df()
    return df[cols]


def completeness(store: Store, user: User, account: str) -> dict:
    """How much of the policy's dossier list (§4) is filled in.

    Items: a contact at each of the eight levels, the four basic-info fields,
    the twelve important-info fields, at least one negotiation and one
    agreement (26 in all). Returns ``score`` (0–1), ``present``, ``total``
    and ``missing_keys`` (``contact:<role>``, a field, ``negotiation`` or
    ``agreement``; :func:`kam_core.dossier.fields.item_label_key` names each).
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    row = account_row(cur, account) or {}
    roles = {r[0] for r in cur.execute(
        "select distinct role from contacts where account = ? and deleted_at is null", [account]).fetchall()}
    n_neg = cur.execute("select count(*) from negotiations where account = ? and deleted_at is null", [account]).fetchone()[0]
    n_agr = cur.execute("select count(*) from agreements where account = ? and deleted_at is null", [account]).fetchone()[0]
    items = _completeness_items(row, roles, n_neg, n_agr)
    present = sum(ok for _, ok in items)
    return {
        "score": present / len(items), "present": present, "total": len(items),
        "missing_keys": [k for k, ok in items if not ok],
    }


def _completeness_items(row: dict, roles: set[str], n_neg: int, n_agr: int) -> list[tuple[str, bool]]:
    """The policy's 26 dossier items (key, present) of one account."""
    items: list[tuple[str, bool]] = [(f"contact:{r}", r in roles) for r in POLICY_LEVELS]
    items += [(f, row.get(f) not in (None, "")) for f in (*POLICY_BASIC_FIELDS, *ACCOUNT_FACT_FIELDS)]
    items += list(zip(COMPLETENESS_RECORDS, (n_neg > 0, n_agr > 0)))
    return items


def completeness_scores(store: Store, user: User, accounts: Sequence[str]) -> dict[str, float]:
    """:func:`completeness`'s ``score`` of many accounts in four queries (0 for an account without a dossier)."""
    permissions.require(user, "read_dossier")
    names = list(dict.fromkeys(accounts))
    if not names:
        return {}
    cur = store.cursor()
    fields = (*POLICY_BASIC_FIELDS, *ACCOUNT_FACT_FIELDS)
    rel = cur.execute(f"select name, {', '.join(fields)} from accounts where deleted_at is null"
                      " and list_contains(?, name)", [names])
    rows = {r[0]: dict(zip(fields, r[1:])) for r in rel.fetchall()}
    roles: dict[str, set[str]] = {}
    for a, role in cur.execute("select distinct account, role from contacts where deleted_at is null"
                               " and list_contains(?, account)", [names]).fetchall():
        roles.setdefault(a, set()).add(role)
    counts = {}
    for table in ("negotiations", "agreements"):
        counts[table] = dict(cur.execute(f"select account, count(*) from {table} where deleted_at is null"
                                         " and list_contains(?, account) group by account", [names]).fetchall())
    out = {}
    for a in names:
        if a not in rows:
            out[a] = 0.0
            continue
        items = _completeness_items(rows[a], roles.get(a, set()), counts["negotiations"].get(a, 0),
                                    counts["agreements"].get(a, 0))
        out[a] = sum(ok for _, ok in items) / len(items)
    return out


def owned_accounts(store: Store, user_name: str) -> list[str]:
    """The dossiers ``user_name`` owns or backs up, by name ("my accounts")."""
    return [r[0] for r in store.cursor().execute(
        "select name from accounts where deleted_at is null and (owner = ? or backup_owner = ?) order by name",
        [user_name, user_name]).fetchall()]


def active_user_names(store: Store) -> list[str]:
    """Names of the users who are not disabled (who an action item can be given to)."""
    return sorted(u["name"] for u in auth.list_users(store) if not u["disabled"])


def account_owners(store: Store) -> dict[str, str | None]:
    """The owner of every account that has a dossier (None where nobody is set), by account name."""
    return dict(store.cursor().execute(
        "select name, owner from accounts where deleted_at is null order by name").fetchall())


def dossier_accounts(store: Store) -> list[str]:
    """Every account that has a dossier, by name."""
    return [r[0] for r in store.cursor().execute(
        "select name from accounts where deleted_at is null order by name").fetchall()]


def list_aliases(store: Store, user: User) -> pd.DataFrame:
    """The raw names from imports (:func:`kam_core.imports.aliases.list_aliases`), each marked
    ``has_dossier`` when its account has a dossier here."""
    return aliases.list_aliases(store, user, dossier_accounts(store))


def last_negotiations(store: Store, user: User, accounts: Sequence[str]) -> dict[str, dt.date | None]:
    """The date of each account's latest live negotiation record (None when it has none)."""
    permissions.require(user, "read_dossier")
    names = list(dict.fromkeys(accounts))
    found = dict(store.cursor().execute(
        "select account, max(held_on) from negotiations where deleted_at is null and list_contains(?, account)"
        " group by account", [names]).fetchall()) if names else {}
    return {a: found.get(a) for a in names}


OVERDUE_COLUMNS = ["id", "account", "title", "owner", "due_on", "status", "days_overdue"]


def overdue_actions(store: Store, user: User, today: dt.date, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Action items still to do (:data:`OPEN_ACTION_STATUSES` or no status) whose due date is before ``today``.

    Columns :data:`OVERDUE_COLUMNS` (``days_overdue`` = today − due date), the longest overdue first.
    """
    permissions.require(user, "read_dossier")
    today = to_date(today)
    names = None if accounts is None else list(dict.fromkeys(accounts))
    df = store.cursor().execute(
        "select id, account, title, owner, due_on, status, datediff('day', due_on, ?::date) as days_overdue"
        " from action_items where deleted_at is null and due_on < ?"
        " and (status is null or list_contains(?, status))"
        " and (?::varchar[] is null or list_contains(?::varchar[], account))"
        " order by due_on, account, id",
        [today, today, list(OPEN_ACTION_STATUSES), names, names]).df()
    return df[OVERDUE_COLUMNS]


TARGET_AGREEMENT_COLUMNS = ["id", "account", "title", "valid_from", "valid_to", "target_amount", "category", "status"]


def agreements_with_targets(store: Store, user: User, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Live agreements that carry a target amount: :data:`TARGET_AGREEMENT_COLUMNS`, by account and end date."""
    permissions.require(user, "read_dossier")
    names = None if accounts is None else list(dict.fromkeys(accounts))
    df = store.cursor().execute(
        f"select {', '.join(TARGET_AGREEMENT_COLUMNS[:5])}, target_amount::double as target_amount, category, status"
        " from agreements where deleted_at is null and target_amount is not null"
        " and (?::varchar[] is null or list_contains(?::varchar[], account))"
        " order by account, valid_to nulls last, id", [names, names]).df()
    return df[TARGET_AGREEMENT_COLUMNS]


def scores_frame(store: Store) -> pd.DataFrame:
    """Qualitative scores per dossier (no personal data): ``account, brand_awareness, cooperation,
    supply_priority, new_product_priority`` (nullable integers), for the criteria checklist."""
    df = store.cursor().execute(
        "select name as account, " + ", ".join(f"{f} as {f.removeprefix('score_')}" for f in SCORE_FIELDS)
        + " from accounts where deleted_at is null order by name"
    ).df()
    for f in SCORE_FIELDS:
        c = f.removeprefix("score_")
        df[c] = df[c].astype("Int64")
    return df
