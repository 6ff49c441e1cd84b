"""Text that a spreadsheet must not run: one rule for every export and report.

Kept apart from ``reports`` (which loads pandas and xlsxwriter) so that the
importer can use it without loading them.
"""
from __future__ import annotations

from typing import Any

FORMULA_START = ("=", "+", "-", "@", "\t", "\r")


def safe_text(value: Any) -> Any:
    """``value`` with a leading ``'`` when it is text that a spreadsheet would run as a formula.

    OWASP's CSV-injection rule: text starting with ``=``, ``+``, ``-``, ``@``,
    tab or carriage return. Anything that is not a ``str`` is returned as is,
    so numbers stay numbers.
    """
    if isinstance(value, str) and value.startswith(FORMULA_START):
        return "'" + value
    return value
