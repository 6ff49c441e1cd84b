"""The audit log: every dossier write, sign-in and export of personal data."""
from __future__ import annotations

from typing import Any

import duckdb


def _text(value: Any) -> str | None:
    return None if value is None else str(value)


def record(cur: duckdb.DuckDBPyConnection, who: str | None, action: str, table: str | None = None,
           key: Any = None, field: str | None = None, old: Any = None, new: Any = None) -> None:
    """Append one audit row; call inside the transaction that makes the change."""
    cur.execute(
        "insert into audit_log (id, who, action, table_name, record_key, field, old_value, new_value)"
        " values (nextval('audit_id_seq'), ?, ?, ?, ?, ?, ?, ?)",
        [who, action, table, _text(key), field, _text(old), _text(new)],
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
