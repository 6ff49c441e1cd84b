"""What the data holds: the choices the sidebar filters offer, and the date range."""
from __future__ import annotations

from typing import Any

from .store import Store


def filter_options(store: Store) -> dict[str, Any]:
    """Distinct regions, categories and stores, the calendar years with sales, and the date range."""
    cur = store.cursor()

    def distinct(column: str) -> list[str]:
        # column names are fixed here, never from input
        return [r[0] for r in cur.execute(
            f"select distinct {column} from sales where {column} is not null order by 1").fetchall()]

    lo, hi = cur.execute("select min(date), max(date) from sales").fetchone()
    return {
        "regions": distinct("region"),
        "categories": distinct("category"),
        "stores": distinct("store"),
        "date_min": lo,
        "date_max": hi,
    }


def account_names(store: Store) -> list[str]:
    """Every account that has sales, by name."""
    return [r[0] for r in store.cursor().execute("select distinct account from sales order by 1").fetchall()]
