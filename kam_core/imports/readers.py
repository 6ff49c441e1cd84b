"""Readers that turn an upload into a grid of text cells, every row kept and numbered.

Workbooks (xlsx, xls, xlsb, ods) are parsed by ``excel`` (fastexcel, Rust, straight
to Arrow text), in a worker process under memory and time limits; their text is
brought to the grid's contract here. CSV is decoded in Python (BOM → strict UTF-8 →
GB18030 → Big5 → cp1252) and parsed by pyarrow with every column as text.
Container checks (``detect.check_container``) always run first.
See ``docs/DESIGN.md`` (Ingest) for the contract.
"""
from __future__ import annotations

import codecs
import concurrent.futures
import csv
import functools
import importlib.util
import io
import itertools
import os
import re
from dataclasses import dataclass

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv

from kam_core.imports import excel, worker
from kam_core.imports.detect import Limits, check_container, too_many_columns
from kam_core.imports.errors import ImportRejected
from kam_core.imports.excel import EXCEL_FORMATS, SheetInfo, choose_sheets, forget_cached

__all__ = ["EXCEL_FORMATS", "Grid", "SheetInfo", "choose_sheets", "forget_cached", "list_sheets", "read_grid",
           "read_workbook"]

# openpyxl is not on our read path, but other modules (exports, tests) use it:
# without defusedxml it would expand entity bombs (bad_inputs §4.3). openpyxl
# uses defusedxml whenever it can import it; checking that here spares the
# importer the 50 ms of loading openpyxl itself.
if importlib.util.find_spec("defusedxml") is None:  # pragma: no cover - depends on the install
    raise ImportError("defusedxml must be installed: openpyxl would otherwise parse XML entity bombs")

DELIMITERS = (",", ";", "\t", "|")
EXCEL_MAX_CELL_CHARS = 32_767  # a longer CSV field cannot come from a spreadsheet: runaway quoting


@dataclass(frozen=True)
class Grid:
    """Every cell of one sheet as text: columns ``c0 … c{n-1}`` plus ``_row`` (the row number the user sees)."""

    sheet: str
    table: pa.Table
    encoding: str | None
    delimiter: str | None
    date1904: bool

    def rows(self) -> list[list[str | None]]:
        """The cells as Python lists, row by row (for small grids and header detection)."""
        cols = [self.table.column(n).to_pylist() for n in self.table.column_names if n != "_row"]
        return [list(r) for r in zip(*cols)] if cols else [[] for _ in range(self.table.num_rows)]


# ---------------------------------------------------------------------------------------
# public API


def read_workbook(data: bytes, fmt: str, sheets: list[str] | None = None,
                  limits: Limits | None = None, list_only: bool = False) -> tuple[list[SheetInfo], list[Grid]]:
    """Every sheet's size, and the grids of the chosen sheets (see :func:`choose_sheets`), in one parse.

    ``list_only`` stops after the sizes (the grid list is then empty).

    Workbooks are parsed in a worker process under ``limits.worker_memory`` and
    ``limits.parse_seconds`` when ``limits.isolate`` is set; CSV text is parsed
    here (pyarrow's reader, already bounded by the size and cell limits).
    """
    limits = limits or Limits()
    if fmt == "csv":
        if list_only:
            return list_sheets(data, fmt, limits), []
        check_container(data, fmt, limits)
        # a second line is all choose_sheets asks for; the parse gives the real size (counting
        # the lines of a 1M-line file first costs ~0.05 s)
        first_break = data.find(b"\n")
        choose_sheets([SheetInfo("csv", True, 2 if 0 <= first_break < len(data) - 1 else 1, 0)], sheets)
        grid = _read_csv(data, limits)
        return [SheetInfo("csv", True, grid.table.num_rows, grid.table.num_columns - 1)], [grid]
    if limits.isolate:
        infos, raws = worker.parse(data, fmt, sheets, limits, list_only)
    else:
        infos, raws = excel.read_workbook(data, fmt, sheets, limits, list_only)
    return infos, [_grid(raw) for raw in raws]


def list_sheets(data: bytes, fmt: str, limits: Limits | None = None) -> list[SheetInfo]:
    """The worksheets of a workbook in file order, hidden ones flagged (CSV: one sheet ``"csv"``).

    Each sheet is parsed to measure it: ``<dimension>`` records are not trusted.
    Chart sheets and macro sheets are left out.
    """
    limits = limits or Limits()
    if fmt != "csv":
        return excel.list_sheets(data, fmt, limits)  # which checks the package itself
    check_container(data, fmt, limits)
    # Counting lines is enough to show the size; the one real parse is read_grid's.
    lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
    end = data.find(b"\n")
    first = data[:end] if end >= 0 else data  # not split(): that copies the whole rest of the file
    fields = max(first.count(d) for d in (b",", b";", b"\t", b"|")) + 1 if first.strip() else 0
    return [SheetInfo("csv", True, lines, fields)]


def read_grid(data: bytes, fmt: str, sheet: str | None = None, limits: Limits | None = None) -> Grid:
    """Every cell of one sheet as text, blank rows included, nothing cut.

    ``sheet=None`` reads the first visible worksheet. Excel cells become text as
    DESIGN.md says (integers without ``.0``, other numbers to 9 decimal places
    without trailing zeros, dates ``YYYY-MM-DD[ HH:MM:SS]``, ``true``/``false``,
    error cells as ``#N/A`` etc.); ``_row`` is the Excel row number. CSV: ``_row`` is the
    1-based record number, the header being record 1. Raises ``ImportRejected``.
    """
    limits = limits or Limits()
    if fmt != "csv":
        return _grid(excel.read_sheet(data, fmt, sheet, limits))  # which checks the package itself
    check_container(data, fmt, limits)
    return _read_csv(data, limits)


# ---------------------------------------------------------------------------------------
# Arrow arrays without pa.array(): it imports pandas to ask whether its argument is a
# pandas object (~1 s at the command line's start, for an import that never uses pandas)


def row_numbers(n: int) -> pa.Array:
    """1 … n as int64."""
    return pa.Array.from_buffers(pa.int64(), n, [None, pa.py_buffer(np.arange(1, n + 1, dtype=np.int64))])


def bool_array(values: np.ndarray) -> pa.Array:
    """A numpy bool array as Arrow booleans."""
    bits = np.packbits(np.asarray(values, dtype=bool), bitorder="little")
    return pa.Array.from_buffers(pa.bool_(), len(values), [None, pa.py_buffer(bits)])


def string_array(values: list[str | None]) -> pa.Array:
    """Python strings (and None) as an Arrow string array."""
    encoded = [b"" if v is None else v.encode("utf-8") for v in values]
    offsets = np.zeros(len(encoded) + 1, dtype=np.int64)
    np.cumsum([len(e) for e in encoded], out=offsets[1:])
    valid = np.array([v is not None for v in values], dtype=bool)
    nulls = len(values) - int(valid.sum())
    validity = pa.py_buffer(np.packbits(valid, bitorder="little")) if nulls else None
    return pa.Array.from_buffers(pa.large_string(), len(values),
                                 [validity, pa.py_buffer(offsets), pa.py_buffer(b"".join(encoded))],
                                 null_count=nulls).cast(pa.string())


# ---------------------------------------------------------------------------------------
# Excel text to the grid's contract


def _grid(raw: excel.RawSheet) -> Grid:
    return Grid(raw.sheet, _text_table(raw.batch, raw.positions, raw.errors), None, None, raw.date1904)


# fastexcel writes dates as ``YYYY-MM-DD HH:MM:SS`` and a time-only cell (a serial below 1)
# on calamine's day zero; the grid's contract is ``YYYY-MM-DD`` without a time part, and the
# time alone.
_MIDNIGHT = " 00:00:00"
_DAY_ZERO = "1899-12-31 "
_DATE_TIME_LENGTH = len("2025-01-31 00:00:00")
_EMPTY = pa.nulls(1, pa.string())[0]  # pa.scalar() would import pandas (0.15 s)


_COLUMN_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2, thread_name_prefix="kam-columns")


def _excel_text(col: pa.Array) -> pa.Array:
    """One column of fastexcel's text as the grid's text."""
    col = col.cast(pa.string())
    empty = pc.equal(col, "")
    if pc.any(empty).as_py():
        col = pc.if_else(empty, _EMPTY, col)
    # only cells as long as fastexcel's date text, so that text such as "门店 00:00:00" stays whole
    dated = pc.equal(pc.binary_length(col), _DATE_TIME_LENGTH)
    time_only = pc.and_(dated, pc.starts_with(col, _DAY_ZERO))
    if pc.any(time_only).as_py():
        col = pc.if_else(time_only, pc.utf8_slice_codeunits(col, len(_DAY_ZERO)), col)
    midnight = pc.and_(dated, pc.ends_with(col, _MIDNIGHT))
    if pc.any(midnight).as_py():
        col = pc.if_else(midnight, pc.utf8_slice_codeunits(col, 0, -len(_MIDNIGHT)), col)
    return col


# calamine's error kinds as fastexcel names them ("… got 'Error(Div0)'"), and as Excel shows them
_ERROR_TEXT = {"Div0": "#DIV/0!", "NA": "#N/A", "Name": "#NAME?", "Null": "#NULL!", "Num": "#NUM!",
               "Ref": "#REF!", "Value": "#VALUE!", "GettingData": "#GETTING_DATA"}
_ERROR_KIND = re.compile(r"Error\((\w+)\)")


def _error_text(detail: str) -> str:
    kind = _ERROR_KIND.search(detail)
    return _ERROR_TEXT.get(kind.group(1), f"#{kind.group(1).upper()}") if kind else "#ERROR"


def _text_table(batch: pa.RecordBatch, positions: list[int], errors: list[tuple[int, int, str]]) -> pa.Table:
    """Columns ``c0…`` from column A, plus ``_row``: fastexcel leaves out the blank columns
    before the first one with a value, and gives error cells (``#N/A``…) as empty cells
    with a note, which go back in as their text."""
    n_rows = batch.num_rows
    width = positions[-1] + 1 if positions else 0
    arrays: list[pa.Array] = [pa.nulls(n_rows, pa.string())] * width
    for pos, col in zip(positions, _COLUMN_POOL.map(_excel_text, batch.columns)):  # pyarrow lets go of the GIL
        arrays[pos] = col
    patches: dict[int, dict[int, str]] = {}
    for row, pos, detail in errors:
        patches.setdefault(pos, {})[row] = _error_text(detail)
    for pos, cells in patches.items():
        values = arrays[pos].to_pylist()
        for row, text in cells.items():
            values[row] = text
        arrays[pos] = string_array(values)
    arrays.append(row_numbers(n_rows))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(width)] + ["_row"])


# ---------------------------------------------------------------------------------------
# CSV


@functools.cache
def grid_memory_pool() -> pa.MemoryPool:
    """The pool the CSV grid is parsed into.

    jemalloc where pyarrow has it: parsing a 1M-line file peaks ~60 MB lower
    than with mimalloc (pyarrow's default here), and no slower. Its freed pages
    go back to the system after 10 ms instead of a second, so less of the
    parser's scratch memory is still held while DuckDB loads the grid (1M lines:
    the import's peak 555–595 → 540–570 MB). Decay 0 would hold ~20 MB less
    but makes the parse ~0.06 s slower; ``release_unused()`` frees nothing here.
    Only the grid uses jemalloc (pyarrow's default pool is mimalloc, DuckDB has
    its own allocator), and the setting must come before its first use.
    """
    try:
        pa.jemalloc_set_decay_ms(10)
        return pa.jemalloc_memory_pool()
    except (NotImplementedError, pa.ArrowNotImplementedError):
        return pa.default_memory_pool()


def _valid_utf8(data: bytes, limit: int | None = None) -> bool:
    """Strict UTF-8 check in 8 MB steps, so a big file is never held twice as str.

    With ``limit``, only the first ``limit`` bytes are checked (a character cut
    at the limit is fine): the CSV parser checks the rest itself.
    """
    decoder = codecs.getincrementaldecoder("utf-8")("strict")
    step = 8 << 20
    end = len(data) if limit is None else min(limit, len(data))
    try:
        for i in range(0, end, step):
            decoder.decode(data[i:min(i + step, end)])
        if end == len(data):
            decoder.decode(b"", final=True)
    except UnicodeDecodeError:
        return False
    return True


_NON_ASCII = re.compile(r"[^\x00-\x7f]")
_UTF8_SAMPLE = 4 << 20
# CSV cells are read dictionary-encoded: an export repeats its dates, stores and
# suppliers on every line, and the grid of a 1M-line file takes half the memory.
_CSV_CELL = pa.dictionary(pa.int32(), pa.string())


def _plausible(text: str, encoding: str) -> bool:
    """Does the non-ASCII text look like real Chinese in this encoding?

    Western cp1252 text decoded as GB18030 or Big5 gives rare ideographs and
    private-use characters; real GBK exports are ~100% GB2312 characters.
    """
    sample = [m.group() for m in itertools.islice(_NON_ASCII.finditer(text, 0, 2_000_000), 20_000)]
    if not sample:
        return True
    if encoding == "gb18030":
        def common(ch: str) -> bool:
            try:
                ch.encode("gb2312")
                return True
            except UnicodeEncodeError:
                return False
    else:
        def common(ch: str) -> bool:
            o = ord(ch)
            return 0x4E00 <= o <= 0x9FFF or 0x3000 <= o <= 0x303F or 0xFF00 <= o <= 0xFFEF
    return sum(map(common, sample)) >= 0.9 * len(sample)


def _decode(data: bytes, utf8_checked_by_parser: bool = False) -> tuple[bytes, str]:
    """UTF-8 bytes for pyarrow and the name of the encoding the file was in.

    With ``utf8_checked_by_parser``, a file whose first megabytes are UTF-8 is
    taken as UTF-8 without reading it all: pyarrow's parser checks every value
    and the caller comes back (with False) if it finds a bad one.
    """
    if data.startswith(codecs.BOM_UTF8):
        body = data[3:]
        if not _valid_utf8(body, _UTF8_SAMPLE if utf8_checked_by_parser else None):
            raise ImportRejected("encoding", "The file starts with a UTF-8 mark but is not valid UTF-8. "
                                             "Save it again as “CSV UTF-8” and upload that.")
        return body, "utf-8-sig"
    if data.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        try:
            return data.decode("utf-16").encode("utf-8"), "utf-16"
        except UnicodeDecodeError as exc:
            raise ImportRejected("encoding", f"The file claims to be UTF-16 text but is not ({exc}).") from exc
    if b"\x00" in data:
        raise ImportRejected("not_a_spreadsheet", "The text file contains NUL bytes (binary data, or UTF-16 without a "
                                                  "byte-order mark). Save it again as CSV (UTF-8) and upload that.")
    if _valid_utf8(data, _UTF8_SAMPLE if utf8_checked_by_parser else None):
        return data, "utf-8"
    decoded: dict[str, str] = {}
    for encoding, needs_plausible in (("gb18030", True), ("big5", True), ("cp1252", False)):
        try:
            text = decoded[encoding] = data.decode(encoding)
        except UnicodeDecodeError:
            continue
        if not needs_plausible or _plausible(text, encoding):
            return text.encode("utf-8"), encoding
    for encoding, text in decoded.items():  # decodes, only looks odd: better than nothing
        return text.encode("utf-8"), encoding
    raise ImportRejected("binary_unknown", "The file is not text in any encoding we know (UTF-8, GB18030, Big5, "
                                           "Windows-1252). Save it again as CSV UTF-8 and upload that.")


_SNIFF_BYTES = 1 << 20
# The csv module refuses a field over 131,072 characters by default, and its limit is the
# process's: raise it (never lower it) to what the sniffer's sample can hold.
csv.field_size_limit(max(csv.field_size_limit(), _SNIFF_BYTES))


def _sniff_delimiter(utf8: bytes) -> tuple[str, int]:
    """The delimiter among , ; TAB | that splits a sample most consistently, and the header's field count."""
    sample = utf8[:_SNIFF_BYTES]
    if len(utf8) > len(sample):
        sample = sample[:sample.rfind(b"\n") + 1] or sample
    text = sample.decode("utf-8", "replace")
    best: tuple[float, int, int] | None = None
    choice, header_fields = ",", 1
    for rank, delim in enumerate(DELIMITERS):
        reader = csv.reader(io.StringIO(text, newline=""), delimiter=delim, quotechar='"', strict=False)
        records = list(itertools.islice(reader, 200))
        if not records:
            continue
        n = len(records[0])
        body = [r for r in records[1:] if r]
        consistent = sum(len(r) == n for r in body) / len(body) if body else 1.0
        score = (consistent if n > 1 else 0.0, n, -rank)
        if best is None or score > best:
            best, choice, header_fields = score, delim, n
    return choice, header_fields


def _read_csv(data: bytes, limits: Limits) -> Grid:
    try:
        return _read_csv_as(data, limits, *_decode(data, utf8_checked_by_parser=True))
    except _NotUtf8:
        return _read_csv_as(data, limits, *_decode(data))


class _NotUtf8(Exception):
    """The parser found bytes that are not UTF-8 after a UTF-8 beginning."""


def _read_csv_as(data: bytes, limits: Limits, utf8: bytes, encoding: str) -> Grid:
    delimiter, n_fields = _sniff_delimiter(utf8)
    if n_fields > limits.max_columns:
        raise too_many_columns(n_fields, limits.max_columns)
    n_lines = utf8.count(b"\n") + 1
    if n_lines * n_fields > limits.max_cells:
        raise ImportRejected("too_large", f"The file has about {n_lines:,} lines × {n_fields} columns; "
                                          f"the limit is {limits.max_cells:,} cells. Split it and upload the parts.")
    names = [f"c{i}" for i in range(n_fields)]
    table = _parse_csv(utf8, delimiter, names, use_threads=True)
    _check_runaway_quote(table, n_lines)
    table = table.append_column("_row", row_numbers(table.num_rows))
    return Grid("csv", table, encoding, delimiter, False)


def _parse_csv(utf8: bytes, delimiter: str, names: list[str], use_threads: bool) -> pa.Table:
    bad: list[object] = []

    def on_invalid(row: pa_csv.InvalidRow) -> str:
        bad.append(row)
        return "error"

    try:
        return pa_csv.read_csv(
            pa.py_buffer(utf8),
            read_options=pa_csv.ReadOptions(column_names=names, block_size=16 << 20, use_threads=use_threads),
            parse_options=pa_csv.ParseOptions(delimiter=delimiter, quote_char='"', double_quote=True, escape_char=False,
                                              newlines_in_values=True, ignore_empty_lines=False,
                                              invalid_row_handler=on_invalid),
            convert_options=pa_csv.ConvertOptions(column_types={n: _CSV_CELL for n in names}, strings_can_be_null=True,
                                                  quoted_strings_can_be_null=False, null_values=[""]),
            memory_pool=grid_memory_pool())
    except pa.ArrowInvalid as exc:
        if "invalid UTF8" in str(exc):
            raise _NotUtf8() from exc
        if not bad:
            raise ImportRejected("unreadable", f"The CSV file cannot be parsed: {exc}") from exc
        row = bad[0]
        if row.number is None and use_threads:  # parallel parsing does not know the record number
            return _parse_csv(utf8, delimiter, names, use_threads=False)
        where = f"Record {row.number}" if row.number is not None else "A record"
        raise ImportRejected(
            "field_count",
            f"{where} has {row.actual_columns} fields but the header has {row.expected_columns} "
            f"(delimiter {delimiter!r}): {row.text[:80]!r}. Fix that line (a stray delimiter or quote) "
            "or export the file again.") from exc


def _check_runaway_quote(table: pa.Table, n_lines: int) -> None:
    """An unbalanced quote swallows the following lines into one huge field: refuse it."""
    if table.num_rows >= 0.9 * n_lines - 1:
        return  # (almost) one record per line: no field spans many lines
    for name in table.column_names:
        col = table.column(name)
        if pa.types.is_dictionary(col.type):
            col = col.cast(pa.string())
        longest = pc.max(pc.utf8_length(col)).as_py() or 0
        breaks = pc.max(pc.count_substring(col, "\n")).as_py() or 0
        if longest > EXCEL_MAX_CELL_CHARS or breaks > 250:
            raise ImportRejected(
                "unbalanced_quote",
                f"A quote in column {int(name[1:]) + 1} is never closed, so {breaks:,} line breaks were swallowed into "
                f"one field ({table.num_rows:,} records from {n_lines:,} lines). Fix the stray \" and upload again.")
