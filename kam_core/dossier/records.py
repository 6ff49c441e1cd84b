"""Writes to the dossier tables: accounts, contacts, negotiations, agreements, price changes, plans, goals, action items.

Every public function takes the acting :class:`~kam_core.permissions.User` and
checks the access rule itself, so a page that forgets cannot leak or change
anything. Every write is validated (:mod:`.fields`), runs in one transaction,
bumps the row's ``version`` (optimistic concurrency: a stale
``expected_version`` raises :class:`VersionConflict` naming both values) and
appends one audit row per changed field. Deletes are soft (``deleted_at``) and
can be restored. Table names come from :data:`.fields.SPECS`, never from input.
"""
from __future__ import annotations

from contextlib import contextmanager
from typing import Any, Callable, Iterator

from kam_core import audit, auth, permissions
from kam_core.dossier.fields import (ACCOUNT_FORBIDDEN, ACCOUNT_SPEC, RECORD_FORBIDDEN, RECORD_KINDS, SPECS,
                                     NotFound, ValidationError, VersionConflict, account_name, check_whole,
                                     invalid, normalise)
from kam_core.dossier.queries import account_row, fetch_one, get_account
from kam_core.permissions import User
from kam_core.store import Store

OWNER_ROLES: tuple[str, ...] = ("manager", "director")
"""The roles an account's owner and backup owner may have."""


def _users(store: Store) -> dict[str, dict]:
    """Every user by name (role, disabled), asked of :mod:`kam_core.auth`, the owner of ``users``."""
    return {u["name"]: u for u in auth.list_users(store)}


def _require_edit(user: User, acct: dict | None) -> None:
    permissions.require(user, "edit_dossier", owner=acct and acct["owner"], backup_owner=acct and acct["backup_owner"])


def _audit_insert(cur, who: str, table: str, key: Any, values: dict[str, Any]) -> None:
    rows = [(f, None, v) for f, v in values.items() if v is not None]
    audit.record_fields(cur, who, "insert", table, key, rows or [(None, None, None)])


def _create_account(cur, who: str, name: str, values: dict[str, Any]) -> None:
    cols = ["name", "updated_by", *values]
    cur.execute(
        f"insert into accounts ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [name, who, *values.values()],
    )
    _audit_insert(cur, who, "accounts", name, {"name": name, **values})


def _apply_update(cur, who: str, table: str, keycol: str, row: dict, values: dict[str, Any],
                  expected_version: int | None) -> bool:
    """Write the fields of ``values`` that differ from ``row``; False when nothing changed."""
    key = row[keycol]
    if expected_version is not None and int(expected_version) != row["version"]:
        raise VersionConflict(table, key, int(expected_version), row["version"],
                              {f: (row[f], v) for f, v in values.items()}, row["updated_by"], row["updated_at"])
    diff = {f: v for f, v in values.items() if row[f] != v}
    if not diff:
        return False
    sets = ", ".join(f"{f} = ?" for f in diff)
    cur.execute(
        f"update {table} set {sets}, version = version + 1, updated_by = ?, updated_at = current_timestamp"
        f" where {keycol} = ? and version = ?",
        [*diff.values(), who, key, row["version"]],
    )
    audit.record_fields(cur, who, "update", table, key, [(f, row[f], v) for f, v in diff.items()])
    return True


def _insert_record(cur, who: str, kind: str, account: str, values: dict[str, Any]) -> int:
    spec = SPECS[kind]
    check_whole(spec, values)
    rid = cur.execute("select nextval('record_id_seq')").fetchone()[0]
    cols = ["id", "account", "updated_by", *values]
    cur.execute(
        f"insert into {spec.table} ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [rid, account, who, *values.values()],
    )
    _audit_insert(cur, who, spec.table, rid, {"account": account, **values})
    return int(rid)


def _check_references(store: Store, cur, kind: str, account: str, values: dict[str, Any]) -> None:
    """A goal of the same account and an existing, enabled user, where a record points at them."""
    errors, codes = {}, {}
    users = _users(store) if any(f.kind == "user" and values.get(n) is not None
                                 for n, f in SPECS[kind].fields.items()) else {}
    for name, f in SPECS[kind].fields.items():
        v = values.get(name)
        if v is None:
            continue
        if f.kind == "goal":
            ok = cur.execute("select 1 from goals where id = ? and account = ? and deleted_at is null",
                             [v, account]).fetchone()
            if not ok:
                errors[name] = f"must be one of the account's goals (no goal #{v} at {account})"
                codes[name] = ("no_goal", {"goal": v})
        elif f.kind == "user":
            found = users.get(v)
            if found is None:
                errors[name], codes[name] = f"no user named {v!r}", ("no_user", {"user": v})
            elif found["disabled"]:
                errors[name], codes[name] = f"{v} is disabled", ("user_disabled", {"user": v})
    if errors:
        raise ValidationError(errors, codes)


def _record_row(cur, kind: str, record_id: int) -> dict:
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    row = fetch_one(cur, f"select * from {SPECS[kind].table} where id = ?", [int(record_id)])
    if row is None:
        raise NotFound(f"{kind} record {record_id} does not exist")
    return row


# --------------------------------------------------------------------------
# Public writes
# --------------------------------------------------------------------------
def upsert_account(store: Store, user: User, name: str, changes: dict[str, Any],
                   expected_version: int | None = None) -> dict:
    """Create the dossier of account ``name`` or change its fields; returns the stored account.

    ``changes`` may hold the basic, important-info, score and ``exchange_checklist``
    fields. ``expected_version`` is the version the user loaded; ``None`` skips
    the check (scripts). Raises :class:`ValidationError`, :class:`VersionConflict`
    or :class:`~kam_core.permissions.PermissionDenied`.
    """
    name = account_name(name)
    with store.transaction() as cur:
        row = account_row(cur, name)
        _require_edit(user, row)
        values = normalise(ACCOUNT_SPEC, changes, forbidden=ACCOUNT_FORBIDDEN)
        if row is None:
            _create_account(cur, user.name, name, {k: v for k, v in values.items() if v is not None})
        else:
            _apply_update(cur, user.name, "accounts", "name", row, values, expected_version)
    return get_account(store, user, name)


def set_owner(store: Store, user: User, account: str, owner: str | None, backup_owner: str | None = None) -> dict:
    """Assign the key account manager and the backup (directors only); creates the dossier if needed."""
    permissions.require(user, "assign_owner")
    account = account_name(account)
    errors, codes = {}, {}
    users = _users(store)
    with store.transaction() as cur:
        for fld, who in (("owner", owner), ("backup_owner", backup_owner)):
            if who is None:
                continue
            found = users.get(who)
            if found is None:
                errors[fld], codes[fld] = f"no user named {who!r}", ("no_user", {"user": who})
            elif found["role"] not in OWNER_ROLES:
                errors[fld] = f"{who} is a {found['role']}; owners are managers or directors"
                codes[fld] = ("owner_role", {"user": who, "role": found["role"]})
        if owner is not None and owner == backup_owner:
            errors["backup_owner"], codes["backup_owner"] = "must differ from the owner", ("same_as_owner", {})
        if errors:
            raise ValidationError(errors, codes)
        row = account_row(cur, account)
        values = {"owner": owner, "backup_owner": backup_owner}
        if row is None:
            _create_account(cur, user.name, account, {k: v for k, v in values.items() if v is not None})
        else:
            _apply_update(cur, user.name, "accounts", "name", row, values, None)
    return get_account(store, user, account)


def add_record(store: Store, user: User, kind: str, account: str, values: dict[str, Any]) -> int:
    """Add a contact / negotiation / agreement / price change / plan to ``account``; returns its id.

    The account's dossier is created when it does not exist yet.
    """
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    account = account_name(account)
    with store.transaction() as cur:
        acct = account_row(cur, account)
        _require_edit(user, acct)
        clean = normalise(SPECS[kind], values, forbidden=RECORD_FORBIDDEN)
        _check_references(store, cur, kind, account, clean)
        if acct is None:
            _create_account(cur, user.name, account, {})
        return _insert_record(cur, user.name, kind, account, {k: v for k, v in clean.items() if v is not None})


def update_record(store: Store, user: User, kind: str, record_id: int, changes: dict[str, Any],
                  expected_version: int | None = None) -> dict:
    """Change fields of one record; returns the stored record (personal fields visible: you may edit it)."""
    with store.transaction() as cur:
        row = _record_row(cur, kind, record_id)
        _require_edit(user, account_row(cur, row["account"]))
        if row["deleted_at"] is not None:
            raise invalid("_", "deleted", "the record is deleted; restore it first")
        values = normalise(SPECS[kind], changes, forbidden=RECORD_FORBIDDEN)
        check_whole(SPECS[kind], {**row, **values})
        _check_references(store, cur, kind, row["account"], values)
        _apply_update(cur, user.name, SPECS[kind].table, "id", row, values, expected_version)
        return _record_row(cur, kind, record_id)


def _set_deleted(store: Store, user: User, kind: str, record_id: int, delete: bool) -> None:
    with store.transaction() as cur:
        row = _record_row(cur, kind, record_id)
        _require_edit(user, account_row(cur, row["account"]))
        if (row["deleted_at"] is not None) == delete:
            return
        cur.execute(
            f"update {SPECS[kind].table} set deleted_at = {'current_timestamp' if delete else 'null'},"
            " version = version + 1, updated_by = ?, updated_at = current_timestamp where id = ?",
            [user.name, int(record_id)],
        )
        audit.record(cur, user.name, "delete" if delete else "restore", SPECS[kind].table, int(record_id))


def delete_record(store: Store, user: User, kind: str, record_id: int) -> None:
    """Soft-delete: the record disappears from lists but stays restorable and in the history."""
    _set_deleted(store, user, kind, record_id, True)


def restore_record(store: Store, user: User, kind: str, record_id: int) -> None:
    """Undo a soft delete."""
    _set_deleted(store, user, kind, record_id, False)


@contextmanager
def new_dossier(store: Store, user: User, name: str, facts: dict[str, Any], owner: str | None = None,
                backup_owner: str | None = None) -> Iterator[Callable[[str, dict[str, Any]], int] | None]:
    """Create ``name``'s dossier and yield ``add(kind, values) -> id`` for its records, in one transaction.

    For bulk loads (the demo): the same validation, references and audit rows
    as :func:`upsert_account`, :func:`set_owner` and :func:`add_record`, without
    a transaction per record. Yields None (and writes nothing) when the account
    already has a dossier.
    """
    name = account_name(name)
    if owner is not None or backup_owner is not None:
        permissions.require(user, "assign_owner")
    with store.transaction() as cur:
        if account_row(cur, name) is not None:
            yield None
            return
        _require_edit(user, None)
        values = normalise(ACCOUNT_SPEC, facts, forbidden=ACCOUNT_FORBIDDEN)
        _create_account(cur, user.name, name, {k: v for k, v in values.items() if v is not None})
        if owner is not None or backup_owner is not None:
            _apply_update(cur, user.name, "accounts", "name", account_row(cur, name),
                          {"owner": owner, "backup_owner": backup_owner}, None)

        def add(kind: str, record: dict[str, Any]) -> int:
            if kind not in SPECS:
                raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
            clean = normalise(SPECS[kind], record, forbidden=RECORD_FORBIDDEN)
            _check_references(store, cur, kind, name, clean)
            return _insert_record(cur, user.name, kind, name, {k: v for k, v in clean.items() if v is not None})

        yield add
