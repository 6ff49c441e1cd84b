"""Numbers, amounts, ratios and dates as the pages show them, through Babel's locale data (zh_CN / en).

Pure functions, no streamlit. Every formatter shows a missing value
(None, NaN, NaT, pandas.NA, ±inf) as an em dash, so a table never reads
"None", "nan" or "NaT". Numbers carry the locale's thousands separators
(``3,386,428``). Negative numbers use the typographic minus sign (U+2212) so
they line up with "+" in year-on-year changes.

Amounts are in yuan on the way in and are scaled for reading:

- Chinese: 万元, or 亿元 once an amount reaches one 亿 (``19.36 亿元``, not
  ``193,624.93 万元``);
- English: K / M / bn CNY (``1.94 bn CNY``), never the Chinese 万 in English words;
- the ``amount_unit`` setting overrides the scale: ``yuan`` shows every amount
  in full (``¥12,345,678.90``), ``thousand`` in 千元 / K CNY.

Tables keep one scale for every amount (:func:`amount_scale` without a
magnitude: 万元 / M CNY), so two tables on a page read alike; a chart takes
one for its axis from its :func:`largest` amount.
"""
from __future__ import annotations

import datetime as dt
import decimal
import functools
import math
from typing import Iterable

import pandas as pd
from babel import Locale
from babel.dates import format_date as _babel_date
from babel.dates import format_datetime as _babel_datetime
from babel.numbers import parse_pattern

from kam_core.locales.labels import label_or, normalise_lang, t

MISSING = "—"
MINUS = "\u2212"
LOCALES = {"zh": "zh_CN", "en": "en"}
UNITS = ("yuan", "thousand", "wan")   # the units a setting or an import can name

# scale code → (divisor from yuan, label key of its suffix)
_SCALES: dict[str, tuple[int, str]] = {
    "yuan": (1, "format.unit_yuan"),
    "thousand": (1_000, "format.unit_thousand"),
    "wan": (10_000, "unit.wan"),
    "yi": (100_000_000, "format.unit_yi"),
    "million": (1_000_000, "format.unit_million"),
    "billion": (1_000_000_000, "format.unit_billion"),
}


@functools.lru_cache(maxsize=4)
def _locale(lang: str) -> Locale:
    return Locale.parse(LOCALES[normalise_lang(lang)])


@functools.lru_cache(maxsize=32)
def _pattern(digits: int):  # noqa: ANN202 - babel's NumberPattern
    return parse_pattern("#,##0" + ("." + "0" * digits if digits > 0 else ""))


@functools.lru_cache(maxsize=4)
def _symbols(lang: str) -> tuple[str | None, str, str]:
    """The locale's (group, decimal, percent) signs; group is None unless the locale groups digits by threes."""
    locale = _locale(lang)
    signs = locale.number_symbols["latn"]
    pattern = locale.decimal_formats[None]
    by_threes = pattern.grouping == (3, 3) and signs["minusSign"] == "-"
    return (signs["group"] if by_threes else None), signs["decimal"], signs["percentSign"]


def as_number(x: object) -> float | None:
    """``x`` as a finite float, or None for None/NaN/NA/inf/non-numbers."""
    if x is None or isinstance(x, bool):
        return None
    try:
        value = float(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return value if math.isfinite(value) else None


def is_missing(x: object) -> bool:
    """None, NaN, NaT, pandas.NA (a list-like is not "a missing value")."""
    if x is None:
        return True
    try:
        return bool(pd.isna(x))
    except (TypeError, ValueError):
        return False


_is_missing = is_missing


def _check_unit(unit: str) -> str:
    if unit not in UNITS:
        raise ValueError(f"unknown amount unit {unit!r}; expected one of {', '.join(UNITS)}")
    return unit


def _babel(value: float, digits: int, lang: str, percent: bool = False) -> str:
    """``value`` through the locale's pattern; a minus only where the rounded number is not zero.

    A percentage is scaled as a float first (``0.12345`` → ``12.345`` → ``12.35%``, as the pages
    always rounded it); the locale's pattern then groups the digits and the locale gives the sign.
    """
    if percent:
        return _babel(value * 100, digits, lang) + _symbols(lang)[2]
    group, point, _ = _symbols(lang)
    if group is not None:
        # The locale groups by threes like the pattern: Python's own formatting gives the same text
        # (the float's exact value, rounded half to even, as Babel's Decimal path does), ten times faster.
        text = f"{value:,.{max(0, digits)}f}"
        if (group, point) != (",", "."):
            text = text.translate(str.maketrans({",": group, ".": point}))
    else:
        text = _pattern(max(0, digits)).apply(decimal.Decimal(value), _locale(lang))
    if text.startswith("-"):
        body = text[1:]
        return body if not any(ch in "123456789" for ch in body) else MINUS + body
    return text


def scale_code(unit: str, lang: str, magnitude: float | None = None) -> str:
    """Which scale shows an amount of about ``magnitude`` yuan under the ``unit`` setting.

    ``yuan`` and ``thousand`` are taken as they are; ``wan`` (the default) is
    the reading scale: 万元, or 亿元 from 1 亿 (Chinese); K, M or bn CNY
    (English; M when no magnitude is given).
    """
    _check_unit(unit)
    if unit != "wan":
        return unit
    size = abs(magnitude) if magnitude is not None and math.isfinite(magnitude) else None
    if normalise_lang(lang) == "zh":
        return "yi" if size is not None and size >= 100_000_000 else "wan"
    if size is None:
        return "million"
    return "billion" if size >= 1_000_000_000 else "million" if size >= 1_000_000 else "thousand"


def amount_scale(unit: str, lang: str = "zh", magnitude: float | None = None) -> tuple[int, str]:
    """``(divisor, suffix)`` for showing yuan amounts under ``unit``.

    ``amount_scale("wan")`` → ``(10000, "万元")``; ``amount_scale("wan", "zh", 2e9)`` →
    ``(100000000, "亿元")``; ``amount_scale("wan", "en", 3e6)`` → ``(1000000, "M CNY")``.
    ``magnitude``: the largest amount to be shown (a column's, an axis'). Divide
    yuan by the divisor, then append the suffix.
    """
    divisor, key = _SCALES[scale_code(unit, lang, magnitude)]
    return divisor, t(key, lang)


def largest(values: Iterable[object]) -> float | None:
    """The largest absolute amount among ``values`` (None when none is a number), for :func:`amount_scale`."""
    numbers = [abs(v) for v in (as_number(x) for x in values) if v is not None]
    return max(numbers) if numbers else None


def format_amount(x: object, unit: str = "wan", lang: str = "zh", digits: int = 2) -> str:
    """A yuan amount for reading, its scale picked for its size (see the module's note).

    - ``wan``: ``12345678.9`` → ``"1,234.57 万元"`` (zh) / ``"12.35 M CNY"`` (en);
      ``1936249300`` → ``"19.36 亿元"`` / ``"1.94 bn CNY"``
    - ``yuan``: ``12345678.9`` → ``"¥12,345,678.90"`` in both languages
    - ``thousand``: ``"12,345.68 千元"`` / ``"12,345.68 K CNY"``
    Missing → ``"—"``; negatives with a leading minus (``"−¥5.00"``).
    """
    _check_unit(unit)
    value = as_number(x)
    if value is None:
        return MISSING
    divisor, suffix = amount_scale(unit, lang, value)
    text = _babel(value / divisor, digits, lang)
    if unit == "yuan":
        return MINUS + "¥" + text[1:] if text.startswith(MINUS) else "¥" + text
    return f"{text} {suffix}"


def format_number(x: object, digits: int = 0, lang: str = "zh") -> str:
    """A plain number with the locale's thousands separators (counts, HHI): ``1234.5`` → ``"1,234"``."""
    value = as_number(x)
    return MISSING if value is None else _babel(value, digits, lang)


def format_count(n: object, lang: str = "zh") -> str:
    """A count of things: ``1466`` → ``"1,466"``."""
    return format_number(n, 0, lang)


def format_pct(x: object, digits: int = 1, lang: str = "zh") -> str:
    """A 0–1 fraction as a percentage: ``0.123`` → ``"12.3%"``, ``0.8`` → ``"80%"`` with ``digits=0``; missing → ``"—"``."""
    value = as_number(x)
    return MISSING if value is None else _babel(value, digits, lang, percent=True)


def format_signed_pct(x: object, digits: int = 1, lang: str = "zh") -> str:
    """A change as a signed percentage: ``0.05`` → ``"+5.0%"``, ``-0.032`` → ``"−3.2%"``.

    A change that rounds to zero shows no sign (``"0.0%"``).
    """
    value = as_number(x)
    if value is None:
        return MISSING
    text = _babel(value, digits, lang, percent=True)
    if text.startswith(MINUS) or not any(ch in "123456789" for ch in text):
        return text
    return "+" + text


def format_rate(x: object, lang: str = "zh") -> str:
    """A rate kept as a fraction (rebate, thresholds in settings) as a percentage with as many decimals as it needs.

    ``0.01`` → ``"1%"``, ``0.8`` → ``"80%"``, ``0.0125`` → ``"1.25%"``; missing → ``"—"``.
    """
    value = as_number(x)
    if value is None:
        return MISSING
    digits = 0
    while digits < 4 and abs(round(value * 100, digits) - value * 100) > 1e-9:
        digits += 1
    return format_pct(value, digits, lang)


def format_pp(x: object, lang: str = "zh", digits: int = 1, signed: bool = True) -> str:
    """A change of a ratio in percentage points (``x`` in points): ``-2.34`` → ``"−2.3 个百分点"`` / ``"−2.3 pp"``."""
    value = as_number(x)
    if value is None:
        return MISSING
    text = _babel(value, digits, lang)
    if signed and not text.startswith(MINUS) and any(ch in "123456789" for ch in text):
        text = "+" + text
    return f"{text} {t('unit.pp', lang)}"


def metric_delta(x: object, kind: str, lang: str = "zh") -> str | None:
    """A change as ``st.metric``'s delta: None when unknown or when it rounds to zero (no arrow, no "+0").

    ``kind``: ``pct`` (a relative change, ``0.05`` → ``"+5.0%"``), ``pp`` (a
    ratio's change in percentage points, ``-2.34`` → ``"-2.3 个百分点"``) or
    ``number`` (``12`` → ``"+12"``, with separators). The minus is ASCII here:
    ``st.metric`` reads the arrow's direction from it.
    """
    value = as_number(x)
    if value is None:
        return None
    if kind == "pct":
        text = format_signed_pct(value, lang=lang)
    elif kind == "pp":
        text = format_pp(value, lang)
    elif kind == "number":
        text = format_number(value, 0, lang)
        text = text if text.startswith(MINUS) else "+" + text
    else:
        raise ValueError(f"unknown change kind {kind!r}")
    if not any(ch in "123456789" for ch in text.split(" ")[0]):
        return None
    return text.replace(MINUS, "-")


def _timestamp(x: object) -> pd.Timestamp | None:
    if is_missing(x):
        return None
    try:
        stamp = pd.Timestamp(x)  # type: ignore[arg-type]
    except (TypeError, ValueError):
        return None
    return None if pd.isna(stamp) else stamp


def format_date(x: object, lang: str = "zh") -> str:
    """A day as a date, without a time: ``2026-12-03 00:00:00`` → ``"2026-12-03"``; missing → ``"—"``."""
    stamp = _timestamp(x)
    return MISSING if stamp is None else _babel_date(stamp.date(), "yyyy-MM-dd", locale=_locale(lang))


def format_when(x: object, lang: str = "zh") -> str:
    """A moment: the date, and the time (to the minute) only when it is not midnight."""
    stamp = _timestamp(x)
    if stamp is None:
        return MISSING
    if stamp.hour == stamp.minute == stamp.second == 0:
        return format_date(stamp, lang)
    return _babel_datetime(stamp.to_pydatetime().replace(tzinfo=None), "yyyy-MM-dd HH:mm", locale=_locale(lang))


def month_label(x: object, lang: str = "zh") -> str:
    """A month on a time axis: ``"2026年1月"`` (zh) / ``"Jan 2026"`` (en); missing → ``"—"``."""
    stamp = _timestamp(x)
    if stamp is None:
        return MISSING
    pattern = t("format.month_pattern", lang)
    return _babel_date(dt.date(stamp.year, stamp.month, 1), pattern, locale=_locale(lang))


def format_text(x: object) -> str:
    """Text as it is, a missing value as ``"—"`` (never "None"/"nan")."""
    return MISSING if is_missing(x) else str(x)


def tier_label(tier: object, lang: str) -> str:
    """The policy's name for a tier code: ``"strategic"`` → ``"战略性大客户"``.

    Missing → ``"—"``; an unknown code is shown as it is.
    """
    if is_missing(tier):
        return MISSING
    code = str(tier)
    return label_or(f"tier.{code}", lang, code)


def movement_label(movement: object, lang: str) -> str:
    """``"up"`` → ``"升级"`` / ``"Up"``; missing → ``"—"``; unknown shown as it is."""
    if is_missing(movement):
        return MISSING
    code = str(movement)
    return label_or(f"move.{code}", lang, code)


PERIOD_NOTE_KEYS = {"unfinished": "period.unfinished", "complete": "period.complete",
                    "data_through": "overview.data_through"}


def period_sentence(code: str, values: dict, lang: str) -> str:
    """The note on the days counted (:func:`kam_core.sales.figures.period_note`) as a sentence, dates as dates."""
    shown = {k: format_date(v, lang) if isinstance(v, (dt.date, pd.Timestamp)) else v for k, v in values.items()}
    return t(PERIOD_NOTE_KEYS[code], lang, **shown)
