"""Literal sales lines for tests, written through the sales package (so the rollups are kept too)."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal
from typing import Any, Iterable, Sequence

import pyarrow as pa

from kam_core.sales import lines as sales_lines
from kam_core.store import Store

_MONEY = ("amount", "cost", "profit", "unit_price")


def _value(column: str, v: Any) -> Any:
    if v is None:
        return None
    if column == "date":
        return v if isinstance(v, dt.date) else dt.date.fromisoformat(str(v))
    if column in _MONEY or column == "qty":
        return Decimal(str(v))
    if column == "source_row":
        return int(v)
    return str(v)


def _type(column: str) -> pa.DataType:
    if column == "date":
        return pa.date32()
    if column in _MONEY:
        return pa.decimal128(18, 4)
    if column == "qty":
        return pa.decimal128(18, 3)
    if column == "source_row":
        return pa.int32()
    return pa.string()


def add_sales(store: Store, columns: Sequence[str], rows: Iterable[Sequence[Any]], import_id: int = 1) -> int:
    """Add ``rows`` (tuples in ``columns`` order) as sales lines of ``import_id``, in one transaction."""
    rows = [list(r) + [None] * (len(columns) - len(r)) for r in rows]
    table = pa.table({c: pa.array([_value(c, r[i]) for r in rows], type=_type(c)) for i, c in enumerate(columns)})
    with store.transaction() as cur:
        n = sales_lines.append_sales(cur, import_id, table)
        Store.bump_data_version(cur)
    return n
