"""Account aliases: the raw names seen in imports and the account each counts for, and merging them.

``account_aliases`` belongs to :mod:`kam_core.imports`, which has no function
yet to list or re-point aliases, so the statements on it are still here (see
:func:`list_aliases` and :func:`merge_alias`); the sales lines move through
:mod:`kam_core.sales.lines`.
"""
from __future__ import annotations

import pandas as pd

from kam_core import audit, permissions
from kam_core.dossier import records
from kam_core.dossier.fields import NotFound
from kam_core.permissions import User
from kam_core.sales import accounts as account_sales
from kam_core.sales import lines as sales_lines
from kam_core.store import Store


def list_aliases(store: Store, user: User) -> pd.DataFrame:
    """Every raw name seen in imports and the account it counts for.

    Columns ``alias_key, alias, account, has_dossier, lines`` (sales lines of
    that account), sorted by account then alias. An alias whose account has
    no dossier is a name the department has not yet recognised.
    """
    permissions.require(user, "read_numbers")
    df = store.cursor().execute(
        """
        select a.alias_key, a.alias, a.account, d.name is not null as has_dossier
        from account_aliases a
        left join (select name from accounts where deleted_at is null) d on d.name = a.account
        order by a.account, a.alias
        """
    ).df()
    lines = account_sales.lines_per_account(store)
    df["lines"] = [int(lines.get(a, 0)) for a in df["account"]]
    return df


def merge_alias(store: Store, user: User, alias_key_: str, account: str) -> int:
    """Count raw name ``alias_key_`` for ``account`` from now on, and move its lines already loaded.

    Updates ``account_aliases``, the ``sales`` and ``inventory`` lines whose raw
    name has that key, records the change in the audit log and bumps the data
    version (every cached figure is recomputed). Splitting an alias back out is
    the same call with its own name as ``account``. Returns the number of
    sales lines moved. Raises :class:`NotFound` for an unknown alias key.
    """
    from kam_core.imports.accounts import alias_key as key_of

    permissions.require(user, "manage_aliases")
    account = records.account_name(account)
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