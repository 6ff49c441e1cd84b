"""What kind of value each named column holds: one vocabulary for pages, tables and workbooks.

A column's kind says how it is shown: ``money`` (yuan), ``ratio`` (a 0–1
fraction shown as a percentage), ``int`` (a count or an id), ``qty`` (a
quantity, possibly fractional), ``number`` (another measure), ``date``,
``datetime`` (a moment whose time means something) or ``text``.

The names are those of the domain's frames (``sales``, ``share``,
``snapshot_date``…); a name ending in ``_share`` is a ratio. A column not
named here takes its kind from its dtype (:func:`column_kind`).
"""
from __future__ import annotations

from typing import Any

MONEY_COLUMNS: frozenset[str] = frozenset({
    "sales", "gross_profit", "cost", "amount", "to_next_tier", "basis_amount", "next_threshold",
    "amount_total", "profit_total", "stock_value", "budget", "target_amount", "spending_limit",
    "sales_without", "gross_profit_without", "old_price", "new_price", "value", "threshold",
    "projected", "projected_naive", "projected_amount", "ytd_sales", "stop_sales_loss", "stop_profit_loss",
})
"""Amounts in yuan."""
RATIO_COLUMNS: frozenset[str] = frozenset({
    "margin", "share", "profit_share", "cum_share", "yoy", "rebate_share", "share_of_account",
    "top1_share", "top10_share", "sales_drop_share", "profit_drop_share", "stop_share_of_total",
})
"""0–1 fractions, shown as percentages (any name ending in ``_share`` is one too)."""
INT_COLUMNS: frozenset[str] = frozenset({
    "year", "rank", "profit_rank", "lines", "lines_without_profit", "n_accounts", "id", "import_id",
    "rows_loaded", "rows_rejected", "rows_skipped", "rows_read", "accounts", "version", "skus", "goal_id",
    "stores",
})
"""Counts, ranks, years and ids."""
QTY_COLUMNS: frozenset[str] = frozenset({"qty", "qty_on_hand", "avg_weekly_qty"})
"""Quantities of goods (a weight or a case fraction is allowed)."""
NUMBER_COLUMNS: frozenset[str] = frozenset({"weeks_of_cover", "hhi", "relationship", "months_covered"})
"""Other measures, with two decimals."""
DATE_COLUMNS: frozenset[str] = frozenset({
    "date", "month", "snapshot_date", "date_min", "date_max", "held_on", "follow_up_on", "signed_on",
    "valid_from", "valid_to", "changed_on", "period_start", "period_end", "start", "end", "due_on",
})
"""Days: shown without a time of day."""
DATETIME_COLUMNS: frozenset[str] = frozenset({"generated_at", "imported_at", "updated_at"})
"""Moments: shown with the time of day."""

KINDS: tuple[tuple[str, frozenset[str]], ...] = (
    ("money", MONEY_COLUMNS), ("ratio", RATIO_COLUMNS), ("int", INT_COLUMNS), ("qty", QTY_COLUMNS),
    ("number", NUMBER_COLUMNS), ("date", DATE_COLUMNS), ("datetime", DATETIME_COLUMNS),
)
"""Every kind with its named columns, in the order they are looked up."""


def column_kind(column: str, series: Any = None) -> str:
    """How a column is shown: money, ratio, int, qty, number, date, datetime or text.

    Known names decide first (so a ratio column full of NaN is still a ratio);
    otherwise the pandas ``series``' dtype does (a datetime column whose
    values all fall on midnight is a date).
    """
    for kind, names in KINDS:
        if column in names:
            return kind
    if column.endswith("_share"):
        return "ratio"
    if series is not None:
        import pandas as pd  # here: the vocabulary itself needs no pandas

        if pd.api.types.is_bool_dtype(series):
            return "text"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        if pd.api.types.is_float_dtype(series):
            return "number"
        if pd.api.types.is_datetime64_any_dtype(series):
            values = series.dropna()
            return "date" if len(values) and (values == values.dt.normalize()).all() else "datetime"
    return "text"
