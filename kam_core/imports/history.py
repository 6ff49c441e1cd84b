"""Import history: which files were loaded, when, and what they covered (the ``imports`` table, read only)."""
from __future__ import annotations

import datetime as dt

import pandas as pd

from kam_core.store import Store

IMPORTS_USED_COLUMNS: tuple[str, ...] = ("id", "file_name", "sha256", "rows_loaded", "amount_total",
                                         "date_min", "date_max", "imported_at")


def imports_used(store: Store, start: dt.date, end: dt.date, kind: str = "sales") -> pd.DataFrame:
    """The loaded imports of ``kind`` whose dates overlap [start, end), oldest first.

    One row per import still loaded (undone and rejected ones are left out):
    ``id, file_name, sha256, rows_loaded, amount_total`` (yuan, as a float),
    ``date_min, date_max, imported_at``. A report lists them to say which
    files its figures come from.
    """
    rows = store.cursor().execute(
        "select id, file_name, sha256, rows_loaded, cast(amount_total as double), date_min, date_max, imported_at"
        " from imports where status = 'loaded' and kind = ? and date_min < ? and date_max >= ? order by id",
        [kind, end, start],
    ).fetchall()
    return pd.DataFrame(rows, columns=list(IMPORTS_USED_COLUMNS), dtype=object)
