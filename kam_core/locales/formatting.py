"""Numbers as the pages show them: amounts in 万元 or 元, ratios as percentages.

Pure functions, no streamlit. Every formatter shows a missing value
(None, NaN, pandas.NA, ±inf) as an em dash, so a table never reads "nan".
Negative numbers use the typographic minus sign (U+2212) so they line up
with "+" in year-on-year changes; exports keep raw numbers and never use
these strings.
"""
from __future__ import annotations

import math

import pandas as pd

from kam_core.locales.labels import label_or, normalise_lang, t

MISSING = "—"
MINUS = "\u2212"

# unit → divisor from yuan. "thousand" is only an import unit but can be shown.
_DIVISORS: dict[str, int] = {"yuan": 1, "thousand": 1_000, "wan": 10_000}


def as_number(x: object) -> float | None:
    """``x`` as a finite float, or None for None/NaN/NA/inf/non-numbers."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def _is_missing(x: object) -> bool:
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):  # list-likes are not "a missing value"
        return False


def _check_unit(unit: str) -> str:
    if unit not in _DIVISORS:
        raise ValueError(f"unknown amount unit {unit!r}; expected one of {', '.join(_DIVISORS)}")
    return unit


def amount_scale(unit: str, lang: str = "zh") -> tuple[int, str]:
    """``(divisor, suffix)`` for showing yuan amounts in ``unit``.

    ``amount_scale("wan")`` → ``(10000, "万元")``; in English the suffix is
    ``"10k CNY"``. Divide yuan by the divisor, then append the suffix.
    """
    return _DIVISORS[_check_unit(unit)], t(f"unit.{unit}", lang)


def _grouped(value: float, digits: int) -> str:
    text = f"{abs(value):,.{digits}f}"
    # "-0.00" would read as a loss where there is none.
    negative = value < 0 and float(text.replace(",", "")) != 0
    return (MINUS if negative else "") + text


def format_amount(x: object, unit: str = "wan", lang: str = "zh", digits: int = 2) -> str:
    """A yuan amount for display.

    - ``wan``: ``12345678.9`` → ``"1,234.57 万元"`` (zh) / ``"1,234.57 (10k CNY)"`` (en)
    - ``yuan``: ``12345678.9`` → ``"¥12,345,678.90"`` in both languages
    - ``thousand``: ``"12,345.68 千元"`` / ``"12,345.68 (k CNY)"``
    Missing → ``"—"``; negatives with a leading minus (``"−¥5.00"``).
    """
    _check_unit(unit)
    value = as_number(x)
    if value is None:
        return MISSING
    divisor, suffix = amount_scale(unit, lang)
    text = _grouped(value / divisor, digits)
    if unit == "yuan":
        return text[0] + "¥" + text[1:] if text.startswith(MINUS) else "¥" + text
    if normalise_lang(lang) == "zh":
        return f"{text} {suffix}"
    return f"{text} ({suffix})"


def format_number(x: object, digits: int = 0) -> str:
    """A plain number with thousands separators (counts, HHI): ``1234.5`` → ``"1,235"``."""
    value = as_number(x)
    return MISSING if value is None else _grouped(value, digits)


def format_pct(x: object, digits: int = 1) -> str:
    """A 0–1 fraction as a percentage: ``0.123`` → ``"12.3%"``; missing → ``"—"``."""
    value = as_number(x)
    return MISSING if value is None else _grouped(value * 100, digits) + "%"


def format_signed_pct(x: object, digits: int = 1) -> str:
    """A change as a signed percentage: ``0.05`` → ``"+5.0%"``, ``-0.032`` → ``"−3.2%"``.

    A change that rounds to zero shows no sign (``"0.0%"``).
    """
    value = as_number(x)
    if value is None:
        return MISSING
    text = _grouped(value * 100, digits)
    if text.startswith(MINUS) or float(text.replace(",", "")) == 0:
        return text + "%"
    return "+" + text + "%"

def metric_delta(x: object, kind: str, lang: str = "zh") -> str | None:
    """A change as ``st.metric``'s delta: None when unknown or exactly zero (no arrow).

    ``kind``: ``pct`` (a relative change, ``0.05`` → ``"+5.0%"``), ``pp`` (a
    ratio's change in percentage points, ``-2.34`` → ``"-2.3 个百分点"``) or
    ``number`` (``12`` → ``"+12"``, with separators). The minus is ASCII here:
    ``st.metric`` reads the arrow's direction from it.
    """
    value = as_number(x)
    if value is None or value == 0:
        return None
    if kind == "pct":
        text = format_signed_pct(value)
    elif kind == "pp":
        text = f"{'+' if value > 0 else ''}{_grouped(value, 1)} {t('unit.pp', lang)}"
    elif kind == "number":
        text = ("+" if value > 0 else "") + _grouped(value, 0)
    else:
        raise ValueError(f"unknown change kind {kind!r}")
    return text.replace(MINUS, "-")


def tier_label(tier: object, lang: str) -> str:
    """The policy's name for a tier code: ``"strategic"`` → ``"战略性大客户"``.

    Missing → ``"—"``; an unknown code is shown as it is.
    """
    if _is_missing(tier):
        return MISSING
    code = str(tier)
    return label_or(f"tier.{code}", lang, code)


def movement_label(movement: object, lang: str) -> str:
    """``"up"`` → ``"升级"`` / ``"Up"``; missing → ``"—"``; unknown shown as it is."""
    if _is_missing(movement):
        return MISSING
    code = str(movement)
    return label_or(f"move.{code}", lang, code)
