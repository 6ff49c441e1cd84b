"""Readers that turn an upload into a grid of text cells, every row kept and numbered.

Excel-like formats go through python-calamine (Rust); CSV is decoded in Python
(BOM → strict UTF-8 → GB18030 → Big5 → cp1252) and parsed by pyarrow with every
column as text. Container checks (``detect.check_container``) always run first.
See ``docs/DESIGN.md`` (Ingest) for the contract.
"""
from __future__ import annotations

import codecs
import contextlib
import csv
import datetime
import gc
import importlib.util
import io
import itertools
import re
import struct
import threading
import zipfile
from collections.abc import Iterator
from dataclasses import dataclass
from posixpath import join, normpath

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.csv as pa_csv
import python_calamine as calamine

from .detect import Limits, check_container, parts_with_error_cells
from .errors import ImportRejected

# openpyxl is not on our read path, but other modules (exports, tests) use it:
# without defusedxml it would expand entity bombs (bad_inputs §4.3). openpyxl
# uses defusedxml whenever it can import it; checking that here spares the
# importer the 50 ms of loading openpyxl itself.
if importlib.util.find_spec("defusedxml") is None:  # pragma: no cover - depends on the install
    raise ImportError("defusedxml must be installed: openpyxl would otherwise parse XML entity bombs")

EXCEL_FORMATS = ("xlsx", "xls", "xlsb", "ods")
DELIMITERS = (",", ";", "\t", "|")
EXCEL_MAX_CELL_CHARS = 32_767  # a longer CSV field cannot come from a spreadsheet: runaway quoting


@dataclass(frozen=True)
class SheetInfo:
    """One worksheet: its name, whether Excel shows it, and its extent from A1 (rows × columns)."""

    name: str
    visible: bool
    n_rows: int
    n_cols: int


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


def choose_sheets(infos: list[SheetInfo], wanted: list[str] | None) -> list[str]:
    """The sheets to import: those asked for, else the first visible sheet with data."""
    names = [s.name for s in infos]
    if wanted:
        missing = [w for w in wanted if w not in names]
        if missing:
            raise ImportRejected("unknown_sheet", f"sheet {missing[0]!r} is not in the file; it has: {', '.join(names)}")
        return list(wanted)
    for s in infos:
        if s.visible and s.n_rows > 1:
            return [s.name]
    raise ImportRejected("empty", "the file has no sheet with data")


def read_workbook(data: bytes, fmt: str, sheets: list[str] | None = None,
                  limits: Limits | None = None, list_only: bool = False) -> tuple[list[SheetInfo], list[Grid]]:
    """Every sheet's size, and the grids of the chosen sheets (see :func:`choose_sheets`), in one parse.

    ``list_only`` stops after the sizes (the grid list is then empty).

    Workbooks are parsed in a worker process under ``limits.worker_memory`` and
    ``limits.parse_seconds`` when ``limits.isolate`` is set; CSV text is parsed
    here (pyarrow's reader, already bounded by the size and cell limits).
    """
    limits = limits or Limits()
    check_container(data, fmt, limits)
    if fmt != "csv" and limits.isolate:
        return _in_worker(data, fmt, sheets, limits, list_only)
    return _read_workbook_here(data, fmt, sheets, limits, list_only)


def _read_workbook_here(data: bytes, fmt: str, sheets: list[str] | None,
                        limits: Limits, list_only: bool = False) -> tuple[list[SheetInfo], list[Grid]]:
    try:
        infos = list_sheets(data, fmt, limits)
        if list_only:
            return infos, []
        chosen = choose_sheets(infos, sheets)
        return infos, [read_grid(data, fmt, name, limits) for name in chosen]
    finally:
        forget_cached()


# -- the worker -------------------------------------------------------------------------
_worker_lock = threading.Lock()
_worker_context = None


def _context():
    """A forkserver started once, with this module preloaded: forking the threaded dashboard
    process itself could copy a lock some other thread holds."""
    global _worker_context
    with _worker_lock:
        if _worker_context is None:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["kam_core.ingest.readers"])
            _worker_context = ctx
        return _worker_context


def _worker_main(conn, data: bytes, fmt: str, sheets: list[str] | None, limits: Limits, list_only: bool,
                 verified: tuple[bytes, frozenset[str]] | None) -> None:
    import resource

    from . import detect

    if verified is not None:       # the parent checked the package already: don't inflate it twice
        detect._verified[verified[0]] = verified[1]

    try:
        with open("/proc/self/status") as f:
            vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize")), 0)
        budget = vm + limits.worker_memory
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    except (OSError, ValueError):
        pass
    try:
        conn.send(("ok", _read_workbook_here(data, fmt, sheets, limits, list_only)))
    except ImportRejected as exc:
        conn.send(("rejected", exc.code, exc.message))
    except MemoryError:
        conn.send(("rejected", "too_large", "Reading this workbook needs more memory than an import may use. "
                                            "Split it or save only the sheet you need, then upload again."))
    except Exception as exc:  # noqa: BLE001 - reported to the parent as a rejection
        conn.send(("rejected", "unreadable", f"The workbook cannot be read ({type(exc).__name__}: {exc}). "
                                             "Open it in Excel/WPS, save it as .xlsx and upload again."))
    finally:
        conn.close()


def _start_without_main(proc) -> None:
    """Start ``proc`` without re-running the parent's ``__main__`` in the child.

    multiprocessing re-imports the parent's main script in every child; here that
    is Streamlit's runner or a test harness, which must not run again. The worker
    needs only this module, which it imports by name.
    """
    from multiprocessing import spawn

    with _worker_lock:
        original = spawn.get_preparation_data

        def preparation_data(name):
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = preparation_data
        try:
            proc.start()
        finally:
            spawn.get_preparation_data = original


def _in_worker(data: bytes, fmt: str, sheets: list[str] | None,
               limits: Limits, list_only: bool) -> tuple[list[SheetInfo], list[Grid]]:
    from . import detect

    ctx = _context()
    digest = detect._digest(data, limits)
    verified = (digest, detect._verified[digest]) if digest in detect._verified else None
    parent, child = ctx.Pipe(duplex=False)
    proc = ctx.Process(target=_worker_main, args=(child, data, fmt, sheets, limits, list_only, verified), daemon=True)
    _start_without_main(proc)
    child.close()
    try:
        if not parent.poll(limits.parse_seconds):
            raise ImportRejected("too_slow", f"Reading the workbook took longer than {limits.parse_seconds:.0f} s "
                                             "and was stopped. Split it or save only the sheet you need.")
        try:
            reply = parent.recv()
        except EOFError:
            raise ImportRejected("too_large", "Reading this workbook was stopped: it needed more memory than an "
                                              "import may use. Split it or save only the sheet you need.") from None
    finally:
        if proc.is_alive():
            proc.kill()
        proc.join(5)
        parent.close()
    if reply[0] == "rejected":
        raise ImportRejected(reply[1], reply[2])
    return reply[1]


def list_sheets(data: bytes, fmt: str, limits: Limits | None = None) -> list[SheetInfo]:
    """The worksheets of a workbook in file order, hidden ones flagged (CSV: one sheet ``"csv"``).

    Each sheet is parsed to measure it: ``<dimension>`` records are not trusted.
    Chart sheets and macro sheets are left out.
    """
    limits = limits or Limits()
    check_container(data, fmt, limits)
    if fmt == "csv":
        # Counting lines is enough to show the size; the one real parse is read_grid's.
        lines = data.count(b"\n") + (0 if data.endswith(b"\n") else 1)
        end = data.find(b"\n")
        first = data[:end] if end >= 0 else data  # not split(): that copies the whole rest of the file
        fields = max(first.count(d) for d in (b",", b";", b"\t", b"|")) + 1 if first.strip() else 0
        return [SheetInfo("csv", True, lines, fields)]
    _require_excel(fmt)
    wb = _cached_workbook(data)
    infos = []
    for meta in wb.sheets_metadata:
        if meta.typ != calamine.SheetTypeEnum.WorkSheet:
            continue
        sheet = _cached_sheet(data, wb, meta.name)
        end = sheet.end
        n_rows, n_cols = (end[0] + 1, end[1] + 1) if end else (0, 0)
        infos.append(SheetInfo(meta.name, meta.visible == calamine.SheetVisibleEnum.Visible, n_rows, n_cols))
    return infos


def read_grid(data: bytes, fmt: str, sheet: str | None = None, limits: Limits | None = None) -> Grid:
    """Every cell of one sheet as text, blank rows included, nothing cut.

    ``sheet=None`` reads the first visible worksheet. Excel cells become text as
    DESIGN.md says (integers without ``.0``, other numbers by ``repr``, dates
    ``YYYY-MM-DD[ HH:MM:SS]``, ``TRUE``/``FALSE``, error cells as ``#N/A`` etc.
    in xlsx and xls); ``_row`` is the Excel row number. CSV: ``_row`` is the
    1-based record number, the header being record 1. Raises ``ImportRejected``.
    """
    limits = limits or Limits()
    check_container(data, fmt, limits)
    if fmt == "csv":
        return _read_csv(data, limits)
    _require_excel(fmt)
    return _read_excel(data, fmt, sheet, limits)


def _require_excel(fmt: str) -> None:
    if fmt not in EXCEL_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {EXCEL_FORMATS + ('csv',)}")


# ---------------------------------------------------------------------------------------
# Excel


# The sheets list_sheets loaded, kept for the read_grid that follows on the same
# bytes object, so a workbook is parsed once per import, not twice. One file at
# a time; forget_cached() lets it go.
_cache: dict = {"data": None, "wb": None, "sheets": {}}
_cache_lock = threading.Lock()


def _cached_workbook(data: bytes) -> calamine.CalamineWorkbook:
    with _cache_lock:
        if _cache["data"] is data and _cache["wb"] is not None:
            return _cache["wb"]
    wb = _open_workbook(data)
    with _cache_lock:
        _cache.update(data=data, wb=wb, sheets={})
    return wb


def _cached_sheet(data: bytes, wb: calamine.CalamineWorkbook, name: str) -> calamine.CalamineSheet:
    with _cache_lock:
        if _cache["data"] is data and name in _cache["sheets"]:
            return _cache["sheets"][name]
    ws = _load_sheet(wb, name)
    with _cache_lock:
        if _cache["data"] is data:
            _cache["sheets"][name] = ws
    return ws


def forget_cached() -> None:
    """Drop the workbook kept between list_sheets and read_grid."""
    with _cache_lock:
        _cache.update(data=None, wb=None, sheets={})


def _open_workbook(data: bytes) -> calamine.CalamineWorkbook:
    try:
        return calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    except Exception as exc:  # calamine raises several unrelated types
        raise _calamine_rejection(exc) from exc


def _load_sheet(wb: calamine.CalamineWorkbook, name: str) -> calamine.CalamineSheet:
    try:
        return wb.get_sheet_by_name(name)
    except Exception as exc:
        raise _calamine_rejection(exc) from exc


def _calamine_rejection(exc: Exception) -> ImportRejected:
    if isinstance(exc, calamine.PasswordError):
        return ImportRejected("encrypted", "The workbook is password-protected. Remove the password in Excel/WPS and upload again.")
    if isinstance(exc, calamine.XmlError) and "entity" in str(exc).lower():
        return ImportRejected("xml_entities", "The workbook uses XML entities, which no genuine Excel file does; it was refused.")
    if isinstance(exc, calamine.ZipError):
        return ImportRejected("truncated", f"The workbook is incomplete or corrupt ({exc}). Upload the original file again.")
    return ImportRejected("unreadable", f"The workbook cannot be read ({type(exc).__name__}: {exc}). "
                                        "Open it in Excel/WPS, save it as .xlsx and upload again.")


def _read_excel(data: bytes, fmt: str, sheet: str | None, limits: Limits) -> Grid:
    wb = _cached_workbook(data)
    worksheets = [m for m in wb.sheets_metadata if m.typ == calamine.SheetTypeEnum.WorkSheet]
    if sheet is None:
        visible = [m for m in worksheets if m.visible == calamine.SheetVisibleEnum.Visible]
        if not (visible or worksheets):
            raise ImportRejected("no_sheets", "The workbook has no worksheets.")
        sheet = (visible or worksheets)[0].name
    elif sheet not in {m.name for m in worksheets}:
        raise ImportRejected("sheet_not_found", f"The workbook has no worksheet named {sheet!r}.")
    ws = _cached_sheet(data, wb, sheet)
    end = ws.end
    if end and (end[0] + 1) * (end[1] + 1) > limits.max_cells:
        raise ImportRejected("too_large", f"Sheet {sheet!r} has {(end[0] + 1) * (end[1] + 1):,} cells; "
                                          f"the limit is {limits.max_cells:,}. Split the export and upload the parts.")
    errors = _error_cells(data, fmt, sheet, limits)
    with _gc_paused():
        # skip_empty_area=False: rows start at A1, so list index + 1 is the Excel row number
        rows = ws.to_python(skip_empty_area=False)
        table = _text_table(rows, errors)
        del rows
    return Grid(sheet, table, None, None, _date1904(data, fmt))


# Reading a sheet creates and drops one Python object per cell (2.4 million for 200k × 12);
# none of them is in a reference cycle, but the allocation burst triggers repeated full
# collections that walk them all (≈40 % of the conversion time). The collector is paused
# while that happens; a counter keeps concurrent reads from re-enabling it under each other.
_gc_state = {"pauses": 0, "was_enabled": False}
_gc_lock = threading.Lock()


@contextlib.contextmanager
def _gc_paused() -> Iterator[None]:
    with _gc_lock:
        if _gc_state["pauses"] == 0:
            _gc_state["was_enabled"] = gc.isenabled()
            gc.disable()
        _gc_state["pauses"] += 1
    try:
        yield
    finally:
        with _gc_lock:
            _gc_state["pauses"] -= 1
            if _gc_state["pauses"] == 0 and _gc_state["was_enabled"]:
                gc.enable()


def _fmt_float(v: float) -> str:
    if v.is_integer() and -1e15 < v < 1e15:
        return str(int(v))
    return repr(v)


def _fmt_datetime(v: datetime.datetime) -> str:
    if v.hour or v.minute or v.second or v.microsecond:
        return v.strftime("%Y-%m-%d %H:%M:%S")
    return v.strftime("%Y-%m-%d")


def _fmt_timedelta(v: datetime.timedelta) -> str:
    seconds = int(v.total_seconds())
    sign, seconds = ("-", -seconds) if seconds < 0 else ("", seconds)
    return f"{sign}{seconds // 3600}:{seconds // 60 % 60:02d}:{seconds % 60:02d}"


_CELL_TEXT = {
    str: lambda v: v if v != "" else None,
    float: _fmt_float,
    int: str,
    bool: lambda v: "TRUE" if v else "FALSE",
    datetime.datetime: _fmt_datetime,
    datetime.date: lambda v: v.strftime("%Y-%m-%d"),
    datetime.time: lambda v: v.strftime("%H:%M:%S"),
    datetime.timedelta: _fmt_timedelta,
}


def _cell_text(v: object) -> str | None:
    fn = _CELL_TEXT.get(type(v))
    return fn(v) if fn else str(v)  # type: ignore[operator]


def _floats_text(values: list[float | None]) -> pa.Array:
    """Vectorised ``_fmt_float``: pyarrow prints the same shortest round-trip digits as ``repr``
    except in exponent form, so only those few values go through Python."""
    arr = pa.array(values, pa.float64())
    is_int = pc.and_(pc.equal(arr, pc.trunc(arr)), pc.less(pc.abs(arr), 1e15))
    ints = pc.cast(pc.cast(pc.if_else(is_int, arr, 0.0), pa.int64()), pa.string())
    text = pc.if_else(is_int, ints, pc.cast(arr, pa.string()))
    # repr switches to exponent form below 1e-4, pyarrow only below 1e-6: 0 < |v| < 1e-4 goes to repr too
    tiny = pc.and_(pc.less(pc.abs(arr), 1e-4), pc.not_equal(arr, 0.0))
    redo = pc.fill_null(pc.or_(pc.match_substring(text, "e"), tiny), False)
    if pc.any(redo).as_py():
        fixed = text.to_pylist()
        for i in pc.indices_nonzero(redo).to_pylist():
            fixed[i] = repr(values[i])
        text = pa.array(fixed, pa.string())
    return text


def _dates_text(values: list[datetime.date | None]) -> pa.Array:
    return pc.cast(pa.array(values, pa.date32()), pa.string())


def _datetimes_text(values: list[datetime.datetime | None]) -> pa.Array:
    us = pa.array(values, pa.timestamp("us"))
    # a microsecond alone is a time part (as in _fmt_datetime), so test before dropping the fraction
    has_time = pc.not_equal(us, pc.floor_temporal(us, unit="day"))
    # floor, not a cast: casting truncates towards 1970, a second too late before it
    ts = pc.cast(pc.floor_temporal(us, unit="second"), pa.timestamp("s"))  # %S prints no fraction then
    return pc.if_else(has_time, pc.strftime(ts, "%Y-%m-%d %H:%M:%S"), pc.strftime(ts, "%Y-%m-%d"))


def _ints_text(values: list[int | None]) -> pa.Array:
    return pc.cast(pa.array(values, pa.int64()), pa.string())


def _bools_text(values: list[bool | None]) -> pa.Array:
    flags = pa.array(values, pa.bool_())
    return pc.if_else(flags, pa.scalar("TRUE"), pa.scalar("FALSE"))


_VECTORISED = {float: _floats_text, datetime.date: _dates_text, datetime.datetime: _datetimes_text,
               int: _ints_text, bool: _bools_text}


def _column_text(col: tuple[object, ...]) -> pa.Array:
    """One column as text: numbers, dates or datetimes are converted as a whole column
    (text cells such as the header keep their place), other mixes cell by cell."""
    types = set(map(type, col))
    if str in types:
        text = pa.array(col if types == {str} else [v if type(v) is str else None for v in col], pa.string())
        text = pc.if_else(pc.equal(text, ""), pa.scalar(None, pa.string()), text)
        if types == {str}:
            return text
    kinds = types - {str}
    if len(kinds) == 1 and (kind := next(iter(kinds))) in _VECTORISED:
        values = [None if type(v) is str else v for v in col] if str in types else list(col)
        try:
            converted = _VECTORISED[kind](values)
        except (pa.ArrowInvalid, OverflowError):  # e.g. an int beyond int64: cell by cell below
            pass
        else:
            return pc.coalesce(text, converted) if str in types else converted
    return pa.array([_cell_text(v) for v in col], pa.string())


def _patch_errors(rows: list[list[object]], errors: dict[tuple[int, int], str]) -> int:
    """Put the error cells' text (``#N/A``…) into ``rows``; returns the grid's width."""
    width = max(map(len, rows), default=0)
    for (r, c), text in errors.items():
        if r < len(rows):
            row = rows[r]
            if c >= len(row):
                row.extend([""] * (c + 1 - len(row)))
            row[c] = text
            width = max(width, c + 1)
    return width


def _text_table(rows: list[list[object]], errors: dict[tuple[int, int], str]) -> pa.Table:
    """Columns ``c0…`` of text from calamine's rows (which start at A1), plus ``_row``.

    Consumes ``rows``: the list is emptied (and error cells patched into it first).
    """
    width = _patch_errors(rows, errors)
    if not rows:
        return pa.table({**{f"c{i}": pa.array([], pa.string()) for i in range(width)}, "_row": pa.array([], pa.int64())})
    n_rows = len(rows)
    if any(len(r) != width for r in rows):
        rows[:] = [list(r) + [""] * (width - len(r)) for r in rows]
    columns: list[tuple[object, ...] | None] = list(zip(*rows))
    # The row lists go and each column's cells go once converted: the cell objects are freed
    # one column at a time instead of all at the end (a lower peak for big sheets).
    rows.clear()
    arrays = []
    for i, col in enumerate(columns):
        arrays.append(_column_text(col))  # type: ignore[arg-type]
        columns[i] = col = None
    arrays.append(pa.array(np.arange(1, n_rows + 1, dtype=np.int64)))
    return pa.Table.from_arrays(arrays, names=[f"c{i}" for i in range(width)] + ["_row"])


def _text_table_reference(rows: list[list[object]], errors: dict[tuple[int, int], str]) -> pa.Table:
    """``_text_table`` cell by cell with ``_cell_text``: the definition the column-wise path must match
    (kept for the equivalence tests, too slow for big sheets)."""
    rows = [list(r) for r in rows]
    width = _patch_errors(rows, errors)
    names = [f"c{i}" for i in range(width)]
    columns = {n: pa.array([_cell_text(r[i]) if i < len(r) else None for r in rows], pa.string())
               for i, n in enumerate(names)}
    return pa.table({**columns, "_row": pa.array(range(1, len(rows) + 1), pa.int64())})


# --- error cells: calamine returns them as empty, the contract wants their text ---------

_XLSX_ERROR_ATTR = b't="e"'
_REF = re.compile(rb'\br="([A-Z]+)([0-9]+)"')
_VALUE = re.compile(rb"<(?:\w+:)?v>([^<]*)</(?:\w+:)?v>")
_CELL_TAG = re.compile(rb"<(?:\w+:)?c\s")


def _error_cells(data: bytes, fmt: str, sheet: str, limits: Limits) -> dict[tuple[int, int], str]:
    """(0-based row, col) → error text for the sheet's cached error values (xlsx, xls)."""
    try:
        if fmt == "xlsx":
            return _xlsx_error_cells(data, sheet, parts_with_error_cells(data, limits))
        if fmt == "xls":
            return _xls_error_cells(data, sheet)
    except (KeyError, ValueError, zipfile.BadZipFile, struct.error, OSError):
        pass  # an odd package: the cells stay empty, exactly as calamine read them
    return {}


def _xlsx_sheet_part(zf: zipfile.ZipFile, sheet: str) -> str:
    from defusedxml import ElementTree

    workbook = ElementTree.fromstring(zf.read("xl/workbook.xml"))
    rid = next(el.attrib[k] for el in workbook.iter() if el.tag.endswith("}sheet") and el.attrib.get("name") == sheet
               for k in el.attrib if k.endswith("}id"))
    rels = ElementTree.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    target = next(el.attrib["Target"] for el in rels.iter() if el.attrib.get("Id") == rid)
    return target.lstrip("/") if target.startswith("/") else normpath(join("xl", target))


def _col_index(letters: bytes) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + ch - 64
    return n - 1


def _xlsx_error_cells(data: bytes, sheet: str, error_parts: frozenset[str] | None) -> dict[tuple[int, int], str]:
    if error_parts is not None and not error_parts:
        return {}  # the container scan saw no error cell anywhere: skip re-reading the sheet
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        part = _xlsx_sheet_part(zf, sheet)
        if error_parts is not None and part not in error_parts:
            return {}
        xml = zf.read(part)
    found: dict[tuple[int, int], str] = {}
    pos = xml.find(_XLSX_ERROR_ATTR)
    while pos >= 0:
        start = xml.rfind(b"<", 0, pos)
        tag_end = xml.find(b">", pos)
        ref = _REF.search(xml, start, tag_end)
        value = _VALUE.search(xml, tag_end, tag_end + 300)
        if ref and value and _CELL_TAG.match(xml, start):
            found[(int(ref.group(2)) - 1, _col_index(ref.group(1)))] = value.group(1).decode("utf-8", "replace")
        pos = xml.find(_XLSX_ERROR_ATTR, pos + 1)
    return found


_BIFF_ERRORS = {0x00: "#NULL!", 0x07: "#DIV/0!", 0x0F: "#VALUE!", 0x17: "#REF!", 0x1D: "#NAME?",
                0x24: "#NUM!", 0x2A: "#N/A", 0x2B: "#GETTING_DATA"}


def _biff_records(stream: bytes, offset: int):
    """(record type, payload) from ``offset`` to the substream's EOF."""
    n = len(stream)
    while offset + 4 <= n:
        rtype, size = struct.unpack_from("<HH", stream, offset)
        yield rtype, stream[offset + 4:offset + 4 + size]
        offset += 4 + size
        if rtype == 0x000A:  # EOF
            return


def _xls_workbook_stream(data: bytes) -> bytes:
    import olefile

    with olefile.OleFileIO(data) as ole:
        name = "Workbook" if ole.exists("Workbook") else "Book"
        return ole.openstream(name).read()


def _xls_error_cells(data: bytes, sheet: str) -> dict[tuple[int, int], str]:
    """BOOLERR records with the error flag, and FORMULA records whose cached result is an error."""
    stream = _xls_workbook_stream(data)
    offset = None
    for rtype, body in _biff_records(stream, 0):
        if rtype == 0x0085:  # BOUNDSHEET8: lbPlyPos, state, type, ShortXLUnicodeString name
            cch, flags = body[6], body[7]
            name = body[8:8 + 2 * cch].decode("utf-16-le") if flags & 1 else body[8:8 + cch].decode("latin-1")
            if name == sheet:
                offset = struct.unpack_from("<I", body, 0)[0]
    if offset is None:
        return {}
    found: dict[tuple[int, int], str] = {}
    for rtype, body in _biff_records(stream, offset):
        if rtype == 0x0205 and len(body) >= 8 and body[7] == 1:
            row, col = struct.unpack_from("<HH", body, 0)
            found[(row, col)] = _BIFF_ERRORS.get(body[6], "#ERROR")
        elif rtype == 0x0006 and len(body) >= 14 and body[12:14] == b"\xff\xff" and body[6] == 2:
            row, col = struct.unpack_from("<HH", body, 0)
            found[(row, col)] = _BIFF_ERRORS.get(body[8], "#ERROR")
    return found


def _date1904(data: bytes, fmt: str) -> bool:
    """Whether the workbook counts dates from 1904 (calamine already applies it to date cells)."""
    try:
        if fmt == "xlsx":
            with zipfile.ZipFile(io.BytesIO(data)) as zf:
                head = zf.read("xl/workbook.xml")
            return re.search(rb'date1904="(1|true)"', head) is not None
        if fmt == "xls":
            for rtype, body in _biff_records(_xls_workbook_stream(data), 0):
                if rtype == 0x0022:  # DATEMODE
                    return struct.unpack_from("<H", body)[0] == 1
    except (KeyError, zipfile.BadZipFile, struct.error, OSError):
        pass
    return False


# ---------------------------------------------------------------------------------------
# CSV


def grid_memory_pool() -> pa.MemoryPool:
    """The pool the CSV grid is parsed into.

    jemalloc where pyarrow has it: parsing a 1M-line file peaks ~60 MB lower
    than with mimalloc (pyarrow's default here), and no slower.
    """
    try:
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


def _sniff_delimiter(utf8: bytes) -> tuple[str, int]:
    """The delimiter among , ; TAB | that splits a sample most consistently, and the header's field count."""
    sample = utf8[:1 << 20]
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
    n_lines = utf8.count(b"\n") + 1
    if n_lines * n_fields > limits.max_cells:
        raise ImportRejected("too_large", f"The file has about {n_lines:,} lines × {n_fields} columns; "
                                          f"the limit is {limits.max_cells:,} cells. Split it and upload the parts.")
    names = [f"c{i}" for i in range(n_fields)]
    table = _parse_csv(utf8, delimiter, names, use_threads=True)
    _check_runaway_quote(table, n_lines)
    table = table.append_column("_row", pa.array(np.arange(1, table.num_rows + 1, dtype=np.int64)))
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
