"""Workbooks parsed into Arrow text: the part of reading that runs in the isolated worker.

fastexcel (Rust, on calamine's parser) turns each worksheet into Arrow text without a
Python object per cell; python-calamine lists the sheets (name, kind, visibility).
This module imports no more than that (pyarrow, not pyarrow.compute, numpy or
pandas), so the forkserver that preloads it starts in ~0.1 s; ``readers`` turns the
raw sheets into grids in the dashboard's process. See ``docs/DESIGN.md`` (Ingest).
"""
from __future__ import annotations

import contextlib
import dataclasses
import io
import re
import struct
import threading
import zipfile
import zlib
from dataclasses import dataclass

import fastexcel
import pyarrow as pa
from defusedxml import DefusedXmlException
from defusedxml import ElementTree as DefusedET
import pyarrow.ipc  # noqa: F401 - the worker writes its sheets as Arrow files
import python_calamine as calamine

from kam_core.imports.detect import Limits, check_container, too_many_columns
from kam_core.imports.errors import ImportRejected

EXCEL_FORMATS = ("xlsx", "xls", "xlsb", "ods")
WORKER_STDERR = "stderr.txt"  # in the spool the worker is given: what it printed (the parent logs it)


@dataclass(frozen=True)
class SheetInfo:
    """One worksheet: its name, whether Excel shows it, and its extent from A1 (rows × columns)."""

    name: str
    visible: bool
    n_rows: int
    n_cols: int


@dataclass(frozen=True)
class RawSheet:
    """One sheet as fastexcel gives it: ``batch`` holds the columns from the first one with a
    value (``positions``: their 0-based column numbers), rows from row 1; error cells are
    empty in it and listed in ``errors`` as (0-based row, column number, fastexcel's note)."""

    sheet: str
    batch: pa.RecordBatch
    positions: list[int]
    errors: list[tuple[int, int, str]]
    date1904: bool


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


def read_workbook(data: bytes, fmt: str, sheets: list[str] | None, limits: Limits,
                  list_only: bool = False, inflate: bool = True) -> tuple[list[SheetInfo], list[RawSheet]]:
    """Every worksheet's size, and the chosen sheets, in one parse.

    ``inflate=False`` leaves out the container scan that inflates every part
    (``detect.check_container``): for the worker, whose parent runs it meanwhile.
    """
    try:
        infos = list_sheets(data, fmt, limits, inflate)
        if list_only:
            return infos, []
        return infos, [read_sheet(data, fmt, name, limits, inflate) for name in choose_sheets(infos, sheets)]
    finally:
        forget_cached()


def list_sheets(data: bytes, fmt: str, limits: Limits, inflate: bool = True) -> list[SheetInfo]:
    """The worksheets in file order, hidden ones flagged; chart and macro sheets left out.

    Each sheet is parsed to measure it: ``<dimension>`` records are not trusted.
    """
    _require_excel(fmt)
    check_container(data, fmt, limits, inflate)
    infos = []
    for meta in _cached_sheet_list(data, fmt):
        if meta.worksheet:
            n_rows, n_cols = _sheet_extent(_cached_sheet(data, meta.name))
            infos.append(SheetInfo(meta.name, meta.visible, n_rows, n_cols))
    return infos


def read_sheet(data: bytes, fmt: str, sheet: str | None, limits: Limits, inflate: bool = True) -> RawSheet:
    """One worksheet (``None``: the first visible one), every cell as fastexcel's text."""
    _require_excel(fmt)
    check_container(data, fmt, limits, inflate)
    worksheets = [m for m in _cached_sheet_list(data, fmt) if m.worksheet]
    if sheet is None:
        visible = [m for m in worksheets if m.visible]
        if not (visible or worksheets):
            raise ImportRejected("no_sheets", "The workbook has no worksheets.")
        sheet = (visible or worksheets)[0].name
    elif sheet not in {m.name for m in worksheets}:
        raise ImportRejected("sheet_not_found", f"The workbook has no worksheet named {sheet!r}.")
    ws = _cached_sheet(data, sheet)
    n_rows, n_cols = _sheet_extent(ws)
    if n_cols > limits.max_columns:
        raise too_many_columns(n_cols, limits.max_columns)
    if n_rows * n_cols > limits.max_cells:
        raise ImportRejected("too_large", f"Sheet {sheet!r} has {n_rows * n_cols:,} cells; "
                                          f"the limit is {limits.max_cells:,}. Split the export and upload the parts.")
    with _reading():
        batch, errors = ws.to_arrow_with_errors()
    positions = [c.absolute_index for c in ws.selected_columns]
    cells = [(e.position[0], positions[e.position[1]], e.detail) for e in (errors.errors if errors else ())]
    return RawSheet(sheet, batch, positions, cells, _cached(data, "date1904", lambda: _date1904(data, fmt)))


def _require_excel(fmt: str) -> None:
    if fmt not in EXCEL_FORMATS:
        raise ValueError(f"unknown format {fmt!r}; expected one of {EXCEL_FORMATS + ('csv',)}")


# --- the workbook and its sheets, parsed once per import ---------------------------------

# What list_sheets parsed (the reader, the sheet list, the sheets, the date system), kept for
# the read_sheet that follows on the same bytes object. One file at a time; forget_cached()
# lets it go.
_cache: dict = {"data": None}
_cache_lock = threading.Lock()


def _cached(data: bytes, key, compute):
    """``compute()`` once per bytes object and ``key``."""
    with _cache_lock:
        if _cache["data"] is data and key in _cache:
            return _cache[key]
    value = compute()
    with _cache_lock:
        if _cache["data"] is not data:
            _cache.clear()
            _cache["data"] = data
        _cache[key] = value
    return value


@dataclass(frozen=True)
class _SheetMeta:
    name: str
    worksheet: bool  # not a chart, macro or dialog sheet
    visible: bool


def _cached_sheet_list(data: bytes, fmt: str) -> list[_SheetMeta]:
    return _cached(data, "sheet_list", lambda: _sheet_list(data, fmt))


def _sheet_list(data: bytes, fmt: str) -> list[_SheetMeta]:
    sheet_list = _xlsx_sheet_list(data) if fmt == "xlsx" else None
    # calamine reads the names in the same order; where it reads them otherwise (a raw tab
    # or line break in a name, which XML turns into a space) it has the last word
    if sheet_list is None or [m.name for m in sheet_list] != _cached_reader(data).sheet_names:
        sheet_list = _calamine_sheet_list(data)
    return sheet_list


def _calamine_sheet_list(data: bytes) -> list[_SheetMeta]:
    with _reading():
        wb = calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
    return [_SheetMeta(m.name, m.typ == calamine.SheetTypeEnum.WorkSheet, m.visible == calamine.SheetVisibleEnum.Visible)
            for m in wb.sheets_metadata]


# the relationship namespaces of transitional and Strict OOXML
_REL_NS = ("http://schemas.openxmlformats.org/officeDocument/2006/relationships",
           "http://purl.oclc.org/ooxml/officeDocument/relationships")


def _xlsx_sheet_list(data: bytes) -> list[_SheetMeta] | None:
    """The sheets as ``xl/workbook.xml`` and its relationships list them, in the order
    calamine reads them; ``None`` when those parts are not as expected (calamine then
    lists the sheets). Two small parts, where opening the workbook in calamine would
    also parse its shared strings, which fastexcel parses again."""
    try:
        with zipfile.ZipFile(io.BytesIO(data)) as zf:
            book = DefusedET.fromstring(zf.read("xl/workbook.xml"))
            rels = DefusedET.fromstring(zf.read("xl/_rels/workbook.xml.rels"))
    except (KeyError, zipfile.BadZipFile, DefusedET.ParseError, DefusedXmlException, RuntimeError, ValueError,
            OSError, EOFError, zlib.error, NotImplementedError):
        return None  # calamine lists the sheets, or says what is wrong
    kinds = {r.get("Id"): (r.get("Type") or "").rsplit("/", 1)[-1] for r in rels}
    sheets = next((el for el in book if el.tag.rsplit("}", 1)[-1] == "sheets"), None)
    if sheets is None:
        return None
    out = []
    for el in (el for el in sheets if el.tag.rsplit("}", 1)[-1] == "sheet"):
        rel = next((el.get(f"{{{ns}}}id") for ns in _REL_NS if el.get(f"{{{ns}}}id") is not None), None)
        name, kind = el.get("name"), kinds.get(rel)
        if name is None or kind is None:
            return None
        out.append(_SheetMeta(name, kind == "worksheet", (el.get("state") or "visible") == "visible"))
    return out or None


def _cached_sheet(data: bytes, name: str) -> fastexcel.ExcelSheet:
    """The sheet parsed, every cell as text (``header_row=None``: no row is taken as a
    header; ``skip_rows=0``: leading blank rows are kept, so rows start at row 1)."""
    def load():
        reader = _cached_reader(data)
        with _reading():
            return reader.load_sheet(name, header_row=None, skip_rows=0, dtypes="string")

    return _cached(data, ("sheet", name), load)


def _cached_reader(data: bytes) -> fastexcel.ExcelReader:
    def open_reader():
        with _reading():
            return fastexcel.read_excel(data)

    return _cached(data, "reader", open_reader)


def forget_cached() -> None:
    """Drop what was kept between list_sheets and read_sheet."""
    with _cache_lock:
        _cache.clear()
        _cache["data"] = None


def _sheet_extent(sheet: fastexcel.ExcelSheet) -> tuple[int, int]:
    """Rows × columns from A1 to the last cell with a value."""
    with _reading():
        columns = sheet.available_columns()
        return (sheet.height, columns[-1].absolute_index + 1) if columns else (0, 0)


@contextlib.contextmanager
def _reading():
    """Around a call into the native readers: what they raise becomes a refusal.

    fastexcel and calamine raise several unrelated error types; a Rust panic comes as
    pyo3's ``PanicException``, a ``BaseException``, and means the file is damaged.
    Other ``BaseException``s (an interrupt) go on as they are.
    """
    try:
        yield
    except ImportRejected:
        raise
    except Exception as exc:
        raise _rejection(exc) from exc
    except BaseException as exc:
        if not is_panic(exc):
            raise
        raise damaged(exc) from exc


def is_panic(exc: BaseException) -> bool:
    """A Rust panic inside a native reader (each pyo3 module has its own PanicException class)."""
    return type(exc).__name__ == "PanicException"


def damaged(exc: BaseException) -> ImportRejected:
    return ImportRejected("damaged", f"The workbook is damaged: its parts do not fit together ({exc}). Open it in "
                                     "Excel/WPS; if it opens, save it again as .xlsx and upload that, otherwise "
                                     "ask for the export again.")


def _rejection(exc: Exception) -> ImportRejected:
    text = str(exc).lower()
    if isinstance(exc, calamine.PasswordError) or "password" in text:
        return ImportRejected("encrypted", "The workbook is password-protected. Remove the password in Excel/WPS and upload again.")
    if "entity" in text and (isinstance(exc, calamine.XmlError) or "xml" in text):
        return ImportRejected("xml_entities", "The workbook uses XML entities, which no genuine Excel file does; it was refused.")
    if isinstance(exc, calamine.ZipError) or "zip" in text:
        return ImportRejected("truncated", f"The workbook is incomplete or corrupt ({exc}). Upload the original file again.")
    return ImportRejected("unreadable", f"The workbook cannot be read ({type(exc).__name__}: {exc}). "
                                        "Open it in Excel/WPS, save it as .xlsx and upload again.")


# --- the 1904 date system ------------------------------------------------------------------

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
    except (KeyError, zipfile.BadZipFile, struct.error, OSError, EOFError, zlib.error, NotImplementedError):
        pass
    return False


# --- the worker's entry point ---------------------------------------------------------------

def worker_main(conn, data: bytes, fmt: str, sheets: list[str] | None, limits: Limits, list_only: bool,
                spool: str | None = None) -> None:
    """Parse under ``limits.worker_memory`` (RLIMIT_AS over this process's start) and send
    ``("ok", (infos, raw sheets))`` or ``("rejected", code, message, params)`` through ``conn``.

    With ``spool`` (a directory the parent made and removes), each sheet's batch is
    written there as ``{i}.arrow`` and sent as ``None``; a batch that cannot be written
    (the disk full) goes through the pipe instead.
    """
    import resource

    _stderr_to_spool(spool)
    try:
        with open("/proc/self/status") as f:
            vm = next((int(line.split()[1]) * 1024 for line in f if line.startswith("VmSize")), 0)
        budget = vm + limits.worker_memory
        resource.setrlimit(resource.RLIMIT_AS, (budget, budget))
    except (OSError, ValueError):
        pass
    try:
        # the parent inflates and checks every part while this parses
        infos, raws = read_workbook(data, fmt, sheets, limits, list_only, inflate=False)
        if spool is not None:
            raws = [_spooled(raw, f"{spool}/{i}.arrow") for i, raw in enumerate(raws)]
        conn.send(("ok", (infos, raws)))
    except ImportRejected as exc:
        conn.send(("rejected", exc.code, exc.message, exc.params))
    except MemoryError:
        conn.send(("rejected", "too_large", "Reading this workbook needs more memory than an import may use. "
                                            "Split it or save only the sheet you need, then upload again."))
    except BaseException as exc:  # noqa: BLE001 - this process only reads: whatever stops it is the file's answer
        if is_panic(exc):
            rejection = damaged(exc)
        else:
            rejection = ImportRejected("unreadable", f"The workbook cannot be read ({type(exc).__name__}: {exc}). "
                                                     "Open it in Excel/WPS, save it as .xlsx and upload again.")
        conn.send(("rejected", rejection.code, rejection.message))
    finally:
        conn.close()


def _stderr_to_spool(spool: str | None) -> None:
    """What the native readers print (a Rust panic's message, with a backtrace when
    RUST_BACKTRACE is set; "memory allocation of … failed") goes to a file in the spool,
    which the parent logs, instead of the user's terminal."""
    import os

    os.environ["RUST_BACKTRACE"] = "0"
    try:
        fd = os.open(os.path.join(spool, WORKER_STDERR) if spool else os.devnull,
                     os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    except OSError:
        return
    os.dup2(fd, 2)
    os.close(fd)


def _spooled(raw: RawSheet, path: str) -> RawSheet:
    """``raw`` with its batch written to ``path`` (an Arrow file) and left out; as it was if
    the file cannot be written."""
    try:
        with pa.OSFile(path, "wb") as sink, pa.ipc.new_file(sink, raw.batch.schema) as writer:
            writer.write_batch(raw.batch)
    except OSError:
        return raw
    return dataclasses.replace(raw, batch=None)
