"""The workbook writer every export uses: one table writer with the safety rules, and the labels of files.

Every workbook is written with xlsxwriter through :func:`write_table`, which is
where the safety rules live:

* text cells go through :func:`safe_text` and ``write_string`` — a value that
  came from an uploaded file and starts with ``= + - @``, tab or CR gets a
  leading ``'`` (OWASP, CWE-1236) and is never written as a formula;
* numbers stay numbers, dates stay dates, each with a number format
  (thousands separators, percentages, dates without a time of day); a
  missing value is an empty cell, never "None";
* a table longer than Excel's 1,048,576 rows continues on ``Name (2)``,
  ``Name (3)``… sheets, never cut;
* the header row is frozen, autofiltered and the columns are sized for CJK
  text (a wide character counts as two).

How a column is written comes from :mod:`kam_core.locales.columns`; every
header, sheet name and word comes from the label catalogue
(:mod:`kam_core.locales.labels`): ``col.<name>`` for columns the pages show
too, ``report.<key>`` for what only files say.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Sequence

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kam_core.locales.columns import column_kind
from kam_core.locales.formatting import MISSING, movement_label, tier_label
from kam_core.locales.labels import has_label, t
from kam_core.safe_text import FORMULA_START, safe_text

EXCEL_MAX_ROWS = 1_048_576
"""Rows per worksheet in Excel; longer tables continue on another sheet."""
SHEET_NAME_MAX = 31
MONEY_FORMAT = '"¥"#,##0.00'
MONEY_AXIS_FORMAT = '"¥"#,##0'
RATIO_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
INT_FORMAT = "#,##0"
QTY_FORMAT = "#,##0.###"
NUMBER_FORMAT = "#,##0.00"

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

__all__ = ["EXCEL_MAX_ROWS", "Formats", "column_kind", "column_label", "display_width", "download_name",
           "frame_rows", "new_workbook", "close_workbook", "report_label", "safe_text", "unique_sheet_name",
           "table_to_csv_bytes", "table_to_xlsx_bytes", "kv_rows", "write_frame", "write_table",
           "tier_words", "movement_words"]


# -- labels ------------------------------------------------------------------------------
def report_label(key: str, lang: str, **fmt: Any) -> str:
    """A label only files use (sheet names, titles, the Method sheet): ``report.<key>`` in the catalogue."""
    return t(f"report.{key}", lang, **fmt)


def column_label(column: str, lang: str) -> str:
    """The header of a column: ``col.<name>`` (shared with the pages), else ``report.col.<name>``."""
    key = f"col.{column}"
    return t(key, lang) if has_label(key) else t(f"report.col.{column}", lang)


def _word(value: Any, lang: str, to_text: Callable[[Any, str], str]) -> str | None:
    text = to_text(value, lang)
    return None if text == MISSING else text  # a missing value is an empty cell in a workbook


def tier_words(values: Iterable[Any], lang: str) -> list[str | None]:
    """Tier codes (``strategic``…) as the policy's words in ``lang``; missing → None (an empty cell)."""
    return [_word(v, lang, tier_label) for v in values]


def movement_words(values: Iterable[Any], lang: str) -> list[str | None]:
    """Movement codes (``up``, ``same``…) as words in ``lang``; missing → None (an empty cell)."""
    return [_word(v, lang, movement_label) for v in values]


def download_name(kind: str, year: int | None, account: str | None = None, ext: str = "xlsx") -> str:
    """An ASCII-only file name such as ``kam_tier_report_2025.xlsx``.

    An account name adds its ASCII letters and digits (if any) and, whenever
    that loses characters (Chinese names), 8 hex digits of its SHA-256 so two
    accounts never share a name. The readable (Chinese) title is inside the
    workbook, not in the file name, because browsers and mail clients mangle
    non-ASCII names.
    """
    parts = ["kam", _slug(kind) or "export"]
    if account is not None:
        slug = _slug(account)[:40].strip("_")
        exact = slug and slug == account.strip().lower().replace(" ", "_")
        digest = hashlib.sha256(account.encode("utf-8")).hexdigest()[:8]
        parts.append(slug if exact else "_".join(p for p in (slug, digest) if p))
    if year is not None:
        parts.append(str(int(year)))
    return "_".join(parts) + "." + (_slug(ext) or "xlsx")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")



# -- the table writer -------------------------------------------------------------------
def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK wide and full-width characters count 2."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


class Formats:
    """The number formats of one workbook, created once."""

    def __init__(self, wb: Workbook):
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                     "valign": "top"})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.bold = wb.add_format({"bold": True})
        self.by_kind: dict[str, Any] = {
            "money": wb.add_format({"num_format": MONEY_FORMAT}),
            "ratio": wb.add_format({"num_format": RATIO_FORMAT}),
            "int": wb.add_format({"num_format": INT_FORMAT}),
            "qty": wb.add_format({"num_format": QTY_FORMAT}),
            "number": wb.add_format({"num_format": NUMBER_FORMAT}),
            "date": wb.add_format({"num_format": DATE_FORMAT}),
            "datetime": wb.add_format({"num_format": DATETIME_FORMAT}),
            "text": None,
        }


_WIDTH_BY_KIND = {"money": 16, "ratio": 10, "int": 8, "qty": 10, "number": 10, "date": 11, "datetime": 19}
_WIDTH_SAMPLE = 2000  # rows looked at to size text columns; the rest follow the same data


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _cell_writer(ws: Worksheet, kind: str, fmt: Any) -> Callable[[int, int, Any], Any]:
    """A function writing one non-missing value of a column of ``kind``."""
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime

    def as_text(r: int, c: int, v: Any) -> Any:
        if v.__class__ is not str:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return write_number(r, c, v)
            v = v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
        if v.startswith(FORMULA_START):
            v = "'" + v
        return write_string(r, c, v)

    if kind == "text":
        return as_text

    def as_number(r: int, c: int, v: Any) -> Any:
        try:
            v = float(v)
        except (TypeError, ValueError):
            return as_text(r, c, v)
        if math.isinf(v):
            return None
        return write_number(r, c, v, fmt)

    if kind in ("date", "datetime"):
        def as_date(r: int, c: int, v: Any) -> Any:
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            if isinstance(v, (dt.date, dt.datetime)):
                return write_datetime(r, c, v, fmt)
            return as_text(r, c, v)
        return as_date
    return as_number


def unique_sheet_name(wb: Workbook, wanted: str) -> str:
    """A valid, unused sheet name close to ``wanted`` (Excel: ≤ 31 chars, no []:*?/\\)."""
    base = _SHEET_NAME_BAD.sub("_", wanted).strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    taken = {name.lower() for name in wb.sheetnames}
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    return name


@dataclass
class _Sheet:
    ws: Worksheet
    first_data_row: int
    last_row: int


def write_table(
    wb: Workbook,
    formats: Formats,
    sheet_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    kinds: Sequence[str] | None = None,
    headers: Sequence[str] | None = None,
    title: str | None = None,
    ws: Worksheet | None = None,
    start_row: int = 0,
    freeze: bool = True,
) -> list[Worksheet]:
    """Write a table (header + rows) to a new sheet and return the sheet(s) used.

    ``kinds`` per column (see :func:`column_kind`; default from the names),
    ``headers`` the visible header texts (default: the column names). With a
    ``title`` the first row holds it and the header follows. Rows beyond
    Excel's limit continue on ``sheet_name (2)``… with the header repeated.
    The header row is frozen and autofiltered and the columns are sized.
    Passing ``ws`` (and ``start_row``) writes below existing content of that
    sheet instead of creating one; such a table is not split. ``freeze=False``
    leaves the panes alone (a table low on a sheet would freeze half the screen).
    """
    kinds = list(kinds) if kinds is not None else [column_kind(c) for c in columns]
    headers = list(headers) if headers is not None else list(columns)
    n_cols = len(columns)
    sheets: list[_Sheet] = []
    widths = [display_width(str(h)) for h in headers]
    sampled = 0

    def open_sheet() -> _Sheet:
        if ws is not None and not sheets:
            sheet, row = ws, start_row
        else:
            sheet, row = wb.add_worksheet(unique_sheet_name(wb, sheet_name)), 0
        if title:
            sheet.write_string(row, 0, safe_text(title), formats.title)
            row += 1
        for c, h in enumerate(headers):
            sheet.write_string(row, c, safe_text(str(h)), formats.header)
        return _Sheet(sheet, row + 1, row)

    current = open_sheet()
    sheets.append(current)
    writers = [_cell_writer(current.ws, k, formats.by_kind[k]) for k in kinds]
    r = current.first_data_row
    for values in rows:
        if r >= EXCEL_MAX_ROWS:
            if ws is not None:
                raise ValueError(f"table {sheet_name!r} does not fit below row {start_row}; "
                                 f"Excel allows {EXCEL_MAX_ROWS:,} rows")
            current.last_row = r - 1
            current = open_sheet()
            sheets.append(current)
            writers = [_cell_writer(current.ws, k, formats.by_kind[k]) for k in kinds]
            r = current.first_data_row
        for c, v in enumerate(values):
            if v is None or v != v:  # None or NaN (frame_rows turned NA/NaT into None)
                continue
            writers[c](r, c, v)
        if sampled < _WIDTH_SAMPLE:
            sampled += 1
            for c, v in enumerate(values):
                if kinds[c] == "text" and v.__class__ is str:
                    w = display_width(v) + (1 if v.startswith(FORMULA_START) else 0)
                    if w > widths[c]:
                        widths[c] = w
        r += 1
    current.last_row = r - 1

    for s in sheets:
        header_row = s.first_data_row - 1
        if freeze:
            s.ws.freeze_panes(s.first_data_row, 0)
        s.ws.autofilter(header_row, 0, max(s.last_row, header_row), max(n_cols - 1, 0))
        for c in range(n_cols):
            floor = _WIDTH_BY_KIND.get(kinds[c], 6)
            s.ws.set_column(c, c, min(max(widths[c], floor) + 2, 80))
    return [s.ws for s in sheets]


def frame_rows(df: pd.DataFrame) -> Iterator:
    """The rows of a frame as tuples of plain Python values, column by column (fast)."""
    columns = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            values = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        elif s.dtype.kind == "f":
            values = s.tolist()  # NaN is skipped by the writer
        else:  # nullable and object columns: pd.NA / NaT / NaN become None
            values = [None if m else v for v, m in zip(s.tolist(), s.isna().tolist())]
        columns.append(values)
    return zip(*columns) if columns else iter(())


def write_frame(wb: Workbook, formats: Formats, sheet_name: str, df: pd.DataFrame, lang: str,
                **options: Any) -> list[Worksheet]:
    """:func:`write_table` for a DataFrame, with localised headers and kinds from names/dtypes."""
    columns = [str(c) for c in df.columns]
    kinds = [column_kind(c, df[c]) for c in df.columns]
    headers = [column_label(c, lang) for c in columns]
    return write_table(wb, formats, sheet_name, columns, frame_rows(df), kinds=kinds, headers=headers, **options)


def new_workbook(buffer: io.BytesIO, title: str, *, constant_memory: bool = True) -> tuple[Workbook, Formats]:
    # constant_memory streams each row to a temp file: memory stays flat for big
    # detail sheets; strings are written inline instead of shared.
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory, "strings_to_formulas": False,
                                     "strings_to_numbers": False, "strings_to_urls": False,
                                     "default_date_format": DATE_FORMAT})
    wb.set_properties({"title": title, "comments": "KAM Dashboard"})
    return wb, Formats(wb)


def close_workbook(wb: Workbook, buffer: io.BytesIO) -> bytes:
    wb.close()
    return buffer.getvalue()


def table_to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "Data", lang: str = "zh") -> bytes:
    """One table as an xlsx workbook: formats, frozen header, autofilter, split past Excel's row limit."""
    buffer = io.BytesIO()
    wb, formats = new_workbook(buffer, sheet_name)
    write_frame(wb, formats, sheet_name, df, lang)
    return close_workbook(wb, buffer)


def table_to_csv_bytes(df: pd.DataFrame) -> bytes:
    """A table as CSV that Chinese Excel opens: UTF-8 with BOM, CRLF, formula-safe text cells.

    Numbers are written as numbers; text cells go through :func:`safe_text`;
    dates as ``YYYY-MM-DD``.
    """
    out = df.copy()
    for name in out.columns:
        s = out[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[name] = s.astype(object).map(safe_text)
    text = out.to_csv(index=False, lineterminator="\r\n", date_format="%Y-%m-%d")
    return text.encode("utf-8-sig")



def kv_rows(ws: Worksheet, formats: Formats, row: int, items: Sequence[tuple[str, Any, str]]) -> int:
    """Key/value rows (label, value, kind) from ``row``; returns the next free row."""
    for text, value, kind in items:
        ws.write_string(row, 0, safe_text(text), formats.bold)
        if not _is_missing(value):
            _cell_writer(ws, kind, formats.by_kind[kind])(row, 1, value)
        row += 1
    return row


