"""Rules for text: what a spreadsheet must not run (one rule for every export and report) and what an
e-mail address is (one rule for users and dossier contacts).

Kept apart from ``reports`` (which loads pandas and xlsxwriter) so that the
importer can use it without loading them.
"""
from __future__ import annotations

import re
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


EMAIL_MAX = 254
"""The longest e-mail address (RFC 5321's path limit)."""
_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")


def is_email(text: Any) -> bool:
    """True when ``text`` is an e-mail address like ``name@example.com``: the one rule for users and contacts.

    A local part of letters, digits and ``._%+-``, one ``@``, dotted domain
    labels and a top-level domain of two letters or more; at most
    :data:`EMAIL_MAX` characters; no spaces.
    """
    return isinstance(text, str) and len(text) <= EMAIL_MAX and bool(_EMAIL.match(text))
