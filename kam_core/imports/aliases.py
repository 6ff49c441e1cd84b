"""Account aliases: the raw names seen in imports, the account each counts for, and merging them.

The only code besides the importer's own steps that reads or writes
``account_aliases``. The sales lines move through :mod:`kam_core.sales.lines`.
Which accounts have a dossier is the dossier package's to say: it is passed in
(:func:`list_aliases`), so this module never imports :mod:`kam_core.dossier`'s
reads or writes (they ask :func:`alias_names` here).
"""
from __future__ import annotations

from typing import Iterable

import pandas as pd

from kam_core import audit, permissions
from kam_core.dossier.fields import NotFound, account_name
from kam_core.imports.accounts import alias_key as key_of
from kam_core.permissions import User
from kam_core.sales import accounts as account_sales
from kam_core.sales import lines as sales_lines
from kam_core.store import Store

ALIAS_COLUMNS: tuple[str, ...] = ("alias_key", "alias", "account", "has_dossier", "lines")


def alias_names(store: Store) -> list[tuple[str, str]]:
    """``(account, text)`` for every alias: once with the raw name, once with its key (account search)."""
    return store.cursor().execute(
        "select account, alias from account_aliases union select account, alias_key from account_aliases"
    ).fetchall()


def list_aliases(store: Store, user: User, with_dossier: Iterable[str]) -> pd.DataFrame:
    """Every raw name seen in imports and the account it counts for.

    Columns :data:`ALIAS_COLUMNS`: ``has_dossier`` says whether the account is
    one of ``with_dossier`` (the accounts that have a dossier), ``lines`` counts
    that account's sales lines. Sorted by account then alias. An alias whose
    account has no dossier is a name the department has not yet recognised.
    """
    permissions.require(user, "read_numbers")
    df = store.cursor().execute(
        "select alias_key, alias, account from account_aliases order by account, alias").df()
    known = set(with_dossier)
    df["has_dossier"] = df["account"].isin(known).astype(bool)
    lines = account_sales.lines_per_account(store)
    df["lines"] = [int(lines.get(a, 0)) for a in df["account"]]
    return df[list(ALIAS_COLUMNS)]


def merge_alias(store: Store, user: User, alias_key_: str, account: str) -> int:
    """Count raw name ``alias_key_`` for ``account`` from now on, and move its lines already loaded.

    Updates ``account_aliases``, the ``sales`` and ``inventory`` lines whose raw
    name has that key, records the change in the audit log and bumps the data
    version (every cached figure is recomputed). Splitting an alias back out is
    the same call with its own name as ``account``. Returns the number of
    sales lines moved. Raises :class:`~kam_core.dossier.fields.NotFound` for an
    unknown alias key and :class:`~kam_core.dossier.fields.ValidationError` for
    an empty or over-long account name (the rule every account name follows).
    """
    permissions.require(user, "manage_aliases")
    account = account_name(account)
    with store.transaction() as cur:
        row = cur.execute("select alias, account from account_aliases where alias_key = ?", [alias_key_]).fetchone()
        if row is None:
            raise NotFound(f"alias {alias_key_!r} does not exist")
        old = row[1]
        if old == account:
            return 0
        mine = sorted({r for r in sales_lines.raw_names(cur, old) if key_of(r) == alias_key_})
        cur.execute("update account_aliases set account = ? where alias_key = ?", [account, alias_key_])
        moved = sales_lines.move_lines(cur, old, account, mine)
        audit.record(cur, user.name, "merge_alias", "account_aliases", alias_key_, "account", old, account)
        Store.bump_data_version(cur)
    return int(moved)
