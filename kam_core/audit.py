"""The audit log: every dossier write, sign-in and export of personal data.

This module is the only code that reads or writes ``audit_log``.
"""
from __future__ import annotations

from typing import TYPE_CHECKING, Any, Iterable

import duckdb

if TYPE_CHECKING:                  # the import command keeps pandas out of its process
    import pandas as pd

COLUMNS = ["happened_at", "who", "action", "table_name", "record_key", "field", "old_value", "new_value"]
_KEY_SEPARATOR = "\x1f"


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def record(cur: duckdb.DuckDBPyConnection, who: str | None, action: str, table: str | None = None,
           key: Any = None, field: str | None = None, old: Any = None, new: Any = None) -> None:
    """Append one audit row; call inside the transaction that makes the change."""
    record_fields(cur, who, action, table, key, [(field, old, new)])


def record_fields(cur: duckdb.DuckDBPyConnection, who: str | None, action: str, table: str | None, key: Any,
                  changes: Iterable[tuple[str | None, Any, Any]]) -> None:
    """Append one audit row per ``(field, old, new)`` of one record, in one statement, in the order given
    (their ids rise in that order); call inside the transaction that makes the change."""
    rows = [[who, action, table, _text(key), field, _text(old), _text(new)] for field, old, new in changes]
    if not rows:
        return
    values = ", ".join(["(nextval('audit_id_seq'), ?, ?, ?, ?, ?, ?, ?)"] * len(rows))
    cur.execute(
        "insert into audit_log (id, who, action, table_name, record_key, field, old_value, new_value)"
        f" values {values}",
        [v for row in rows for v in row],
    )


def history(cur: duckdb.DuckDBPyConnection, table: str | None = None, key: Any = None, limit: int = 500) -> list[dict]:
    """Newest first; narrowed to one table and record when given."""
    sql = "select happened_at, who, action, table_name, record_key, field, old_value, new_value from audit_log"
    where, params = [], []
    if table is not None:
        where.append("table_name = ?")
        params.append(table)
    if key is not None:
        where.append("record_key = ?")
        params.append(str(key))
    if where:
        sql += " where " + " and ".join(where)
    sql += " order by id desc limit ?"
    params.append(limit)
    cols = ["happened_at", "who", "action", "table_name", "record_key", "field", "old_value", "new_value"]
    return [dict(zip(cols, row)) for row in cur.execute(sql, params).fetchall()]


def latest_change(cur: duckdb.DuckDBPyConnection, tables: Iterable[str]) -> int:
    """The id of the newest audit row on any of ``tables`` (0 when none): it changes with every audited write."""
    row = cur.execute("select coalesce(max(id), 0) from audit_log where list_contains(?, table_name)",
                      [list(tables)]).fetchone()
    return int(row[0])


def history_of(cur: duckdb.DuckDBPyConnection, records: Iterable[tuple[str, Any]], limit: int = 1000) -> "pd.DataFrame":
    """The audit rows of the given ``(table, record key)`` pairs, newest first, as a frame of :data:`COLUMNS`."""
    keys = [f"{table}{_KEY_SEPARATOR}{key}" for table, key in records]
    return cur.execute(
        f"select {', '.join(COLUMNS)} from audit_log"
        " where list_contains(?, table_name || chr(31) || coalesce(record_key, '')) order by id desc limit ?",
        [keys, int(limit)]).df()
