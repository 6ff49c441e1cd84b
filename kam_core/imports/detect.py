"""What an upload really is, decided from its bytes, and the container checks run before any parser.

``sniff_format`` names the format (or refuses the file with a message that says
what it really is and how to fix it); ``check_container`` refuses zip bombs,
entity tricks and other hostile packages before calamine sees a byte of them.
See ``../shared/bad_inputs.md`` §2 and §4.
"""
from __future__ import annotations

import functools
import hashlib
import io
import re
import zipfile
import zlib
from collections import OrderedDict
from dataclasses import dataclass

from kam_core.imports.errors import ImportRejected

MB = 1 << 20

ZIP_MAGIC = b"PK\x03\x04"
EMPTY_ZIP_MAGIC = b"PK\x05\x06"
OLE2_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"

_SAVE_AS_XLSX = "Open it in Excel or WPS and save it as an Excel Workbook (.xlsx), then upload that file."


@dataclass(frozen=True)
class Limits:
    """Resource limits applied before and while reading an upload.

    - ``max_bytes``: largest upload (Streamlit's own default upload limit is 200 MB).
    - ``max_zip_entries``: parts in an xlsx/ods package; real workbooks have tens.
    - ``max_uncompressed``: Σ uncompressed size of all parts, absolute cap.
    - ``max_total_ratio``: Σ uncompressed ≤ this × upload size (real files: ≤ 7);
      ``min_uncompressed_allowance`` keeps tiny uploads from tripping it.
    - ``max_entry_ratio``: uncompressed/compressed for any part bigger than
      ``ratio_floor`` (real files: ≤ 24; a zip bomb: ~1000).
    - ``max_cells``: rows × columns of one grid.
    - ``max_columns``: columns of one sheet. Real exports have tens; every column costs
      the cleaning SQL, and a sheet wider than this is refused before it is cleaned
      (an xlsx with a cell beyond it before it is even parsed).
    - ``parse_seconds``: wall time for one parse in the isolated worker.
    - ``worker_memory``: address-space budget added for that worker (a hard cap; its
      reservations make the address space ~1 GB larger than what it really uses).
    - ``worker_rss_base`` + ``worker_rss_per_byte`` × upload size: the resident memory
      the worker may reach before it is stopped (a 1 MB file: 250 MB), so that a small
      file whose cells claim a huge sheet costs what it holds, not what it claims.
    - ``isolate``: parse workbooks in that worker (a child process under the
      memory and time limits), so a file that slips past the checks above costs
      the worker, never the dashboard's process. About 0.2 s a call.
    """

    max_bytes: int = 200 * MB
    max_zip_entries: int = 1000
    max_uncompressed: int = 500 * MB
    max_total_ratio: int = 20
    min_uncompressed_allowance: int = 20 * MB
    max_entry_ratio: int = 100
    ratio_floor: int = 1 * MB
    max_cells: int = 50_000_000
    max_columns: int = 500
    parse_seconds: float = 120.0
    worker_memory: int = 4096 * MB
    worker_rss_base: int = 200 * MB
    worker_rss_per_byte: int = 50
    isolate: bool = True

    def worker_rss_budget(self, upload_size: int) -> int:
        """The resident memory the parsing worker may reach for an upload of ``upload_size`` bytes
        (``worker_memory`` caps its address space besides)."""
        return self.worker_rss_base + self.worker_rss_per_byte * upload_size

    def uncompressed_budget(self, upload_size: int) -> int:
        """The Σ-uncompressed cap for an upload of ``upload_size`` bytes."""
        return min(self.max_uncompressed,
                   max(self.max_total_ratio * upload_size, self.min_uncompressed_allowance))


# ---------------------------------------------------------------------------------------
# sniff_format


def _text_head(data: bytes, n: int = 4096) -> str:
    """The first ``n`` bytes as lower-case text (BOM removed, UTF-16 decoded) for markup checks."""
    head = data[:n]
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return head.decode("utf-16", errors="replace").lower()
    if head.startswith(b"\xef\xbb\xbf"):
        head = head[3:]
    return head.decode("latin-1").lower()


def _unreadable_packing(what: str, exc: BaseException) -> ImportRejected:
    """A zip feature Excel does not use (a newer zip version, Deflate64, patched data)."""
    return ImportRejected("unreadable", f"{what} is packed in a way Excel does not use ({exc}). "
                                        "Open it in Excel/WPS, save it as .xlsx and upload again.")


def _open_zip(data: bytes, name: str) -> zipfile.ZipFile:
    """The package's directory, or a refusal that says why it cannot be read."""
    try:
        return zipfile.ZipFile(io.BytesIO(data))
    except (zipfile.BadZipFile, OSError, ValueError, EOFError) as exc:
        raise ImportRejected(
            "truncated",
            f"“{name}” is an incomplete or corrupt zip/xlsx file (the upload was probably interrupted, "
            f"or the file was damaged). Upload the original file again. ({exc})") from exc
    except NotImplementedError as exc:  # "zip file version 20.0"
        raise _unreadable_packing(f"“{name}”", exc) from exc


def _zip_kind(data: bytes, name: str) -> str:
    """Classify a zip package; raise for the zips that are not spreadsheets."""
    with _open_zip(data, name) as zf:
        try:
            return _zip_kind_of(zf, name)
        except (zipfile.BadZipFile, OSError, EOFError, zlib.error) as exc:
            raise ImportRejected("truncated", f"“{name}” is a corrupt zip/xlsx file ({exc}). "
                                              "Upload the original file again.") from exc
        except NotImplementedError as exc:
            raise _unreadable_packing(f"“{name}”", exc) from exc
        except RuntimeError as exc:  # zipfile: "File … is encrypted, password required"
            raise ImportRejected("encrypted", f"“{name}” has encrypted parts; remove the password and save "
                                              "it again.") from exc


def _zip_kind_of(zf: zipfile.ZipFile, name: str) -> str:
    """What the package's part names say it is."""
    names = set(zf.namelist())
    if "xl/workbook.xml" in names or "xl/workbook.bin" in names:
        if "xl/model/item.data" in names and _sheets_hold_no_table(zf):
            raise ImportRejected(
                "power_pivot_only",
                f"“{name}” keeps its data in a Power Pivot data model, not on a worksheet. "
                "In Excel, put the table on a sheet (or export it to CSV) and upload that.")
        return "xlsb" if "xl/workbook.bin" in names and "xl/workbook.xml" not in names else "xlsx"
    if "mimetype" in names:
        mimetype = zf.read("mimetype")[:100].decode("ascii", "replace").strip()
        if mimetype == "application/vnd.oasis.opendocument.spreadsheet" and "content.xml" in names:
            return "ods"
        raise ImportRejected(
            "not_a_spreadsheet",
            f"“{name}” is an OpenDocument file of type {mimetype!r}, not a spreadsheet.")
    for prefix, what in (("word/", "a Word document"), ("ppt/", "a PowerPoint presentation")):
        if any(n.startswith(prefix) for n in names):
            raise ImportRejected("not_a_spreadsheet",
                                 f"“{name}” is {what}, not a spreadsheet. Upload the Excel or CSV export instead.")
    raise ImportRejected("not_a_spreadsheet",
                         f"“{name}” is a zip archive, not an Excel workbook. Unpack it and upload the spreadsheet inside.")


_CELL_VALUE = re.compile(rb"<(?:\w+:)?(?:v|t)[ >]")
_ROW = re.compile(rb"<(?:\w+:)?row[ >]")


def _sheets_hold_no_table(zf: zipfile.ZipFile) -> bool:
    """True when no worksheet has a row with 3 or more values (a notice sheet, not data).

    Only small sheets are inspected, with a capped read: a sheet part bigger
    than 1 MB holds data by any measure.
    """
    for info in zf.infolist():
        if not info.filename.startswith("xl/worksheets/") or not info.filename.endswith(".xml"):
            continue
        if info.file_size > MB:
            return False
        with zf.open(info) as part:
            xml = part.read(MB + 1)
        for row in _ROW.split(xml)[1:]:
            if len(_CELL_VALUE.findall(row)) >= 3:
                return False
    return True


def _ole_kind(data: bytes, name: str) -> str:
    import olefile

    try:
        ole = olefile.OleFileIO(data)
    except Exception as exc:  # olefile raises OSError and assorted parse errors on damaged files
        raise ImportRejected(
            "truncated",
            f"“{name}” is an incomplete or corrupt Office file (the upload was probably interrupted). "
            f"Upload the original file again. ({exc})") from exc
    with ole:
        streams = {"/".join(path).lower() for path in ole.listdir()}
    if {"encryptedpackage", "encryptioninfo"} & streams:
        raise ImportRejected(
            "encrypted",
            f"“{name}” is password-protected (encrypted). Remove the password in Excel/WPS "
            "(File → Info → Protect Workbook / 文件→信息→保护工作簿), save, and upload again.")
    if "workbook" in streams or "book" in streams:
        if _xls_is_encrypted(data):
            raise ImportRejected(
                "encrypted",
                f"“{name}” is a password-protected .xls. Remove the password in Excel/WPS, save as .xlsx and upload again.")
        return "xls"
    if "worddocument" in streams:
        raise ImportRejected("not_a_spreadsheet", f"“{name}” is a Word document (.doc), not a spreadsheet.")
    if "powerpoint document" in streams:
        raise ImportRejected("not_a_spreadsheet", f"“{name}” is a PowerPoint file, not a spreadsheet.")
    raise ImportRejected(
        "not_a_spreadsheet",
        f"“{name}” is an OLE2 compound file without an Excel workbook in it (a WPS .et file, perhaps). {_SAVE_AS_XLSX}")


def _xls_is_encrypted(data: bytes) -> bool:
    """FILEPASS in an .xls workbook stream means RC4/XOR encryption."""
    try:
        import msoffcrypto

        return bool(msoffcrypto.OfficeFile(io.BytesIO(data)).is_encrypted())
    except Exception:  # an odd but unencrypted file: let the reader judge it
        return False


def _looks_binary(sample: bytes) -> bool:
    """NUL bytes, or more than 1% control characters other than tab/CR/LF/FF/ESC/SUB."""
    if b"\x00" in sample:
        return True
    controls = sum(sample.count(bytes([c])) for c in range(32) if c not in (9, 10, 12, 13, 26, 27))
    return controls > len(sample) // 100


_KNOWN_BINARIES = (
    (b"%PDF", "a PDF document"), (b"\x89PNG", "a PNG image"), (b"\xff\xd8\xff", "a JPEG image"),
    (b"GIF8", "a GIF image"), (b"\x1f\x8b", "a gzip archive"), (b"7z\xbc\xaf\x27\x1c", "a 7-Zip archive"),
    (b"Rar!", "a RAR archive"), (b"BZh", "a bzip2 archive"), (b"\xfd7zXZ", "an xz archive"),
)


def sniff_format(data: bytes, file_name: str, limits: Limits | None = None) -> str:
    """Name the real format of an upload from its bytes: ``xlsx xls xlsb ods csv``.

    The file name is used only in messages. Raises ``ImportRejected`` with codes
    ``empty too_large encrypted truncated html_as_xls spreadsheetml_2003
    power_pivot_only not_a_spreadsheet``. Text (CSV, TSV, UTF-16 "Unicode text")
    of any extension is ``"csv"``. Strict Open XML workbooks are ``"xlsx"``:
    calamine reads them.
    """
    limits = limits or Limits()
    name = file_name or "the file"
    if not data or not data.lstrip(b"\xef\xbb\xbf\xff\xfe \t\r\n"):
        raise ImportRejected("empty", f"“{name}” is empty: there is nothing to import.")
    if len(data) > limits.max_bytes:
        raise ImportRejected(
            "too_large",
            f"“{name}” is {len(data) / MB:.0f} MB; the limit is {limits.max_bytes / MB:.0f} MB. "
            "Split the export by month or region and upload the parts.")
    if data.startswith((ZIP_MAGIC, EMPTY_ZIP_MAGIC)):
        return _zip_kind(data, name)
    if data.startswith(OLE2_MAGIC):
        return _ole_kind(data, name)
    for magic, what in _KNOWN_BINARIES:
        if data.startswith(magic):
            raise ImportRejected("not_a_spreadsheet", f"“{name}” is {what}, not a spreadsheet.")

    head = _text_head(data)
    stripped = head.lstrip()
    if stripped.startswith("mime-version:"):
        raise ImportRejected(
            "html_as_xls",
            f"“{name}” is a web archive (MHTML) saved with a spreadsheet name, not a real Excel file. {_SAVE_AS_XLSX}")
    if stripped.startswith("<?xml") and ("urn:schemas-microsoft-com:office:spreadsheet" in head
                                         or 'progid="excel.sheet"' in head):
        raise ImportRejected(
            "spreadsheetml_2003",
            f"“{name}” is an Excel 2003 XML Spreadsheet, not a real .xls/.xlsx workbook. {_SAVE_AS_XLSX}")
    if stripped.startswith(("<html", "<!doctype html", "<table", "<meta", "<head", "<body")) or (
            stripped.startswith("<") and ("<html" in head or "<table" in head)):
        raise ImportRejected(
            "html_as_xls",
            f"“{name}” is an HTML page (a web table) saved with a spreadsheet name, not a real Excel file. "
            f"{_SAVE_AS_XLSX}")
    if stripped.startswith("<?xml"):
        raise ImportRejected("not_a_spreadsheet", f"“{name}” is an XML document, not a spreadsheet or CSV file.")

    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "csv"  # UTF-16 text with a BOM: Excel's "Unicode text"
    if _looks_binary(data[:65536]):
        raise ImportRejected(
            "not_a_spreadsheet",
            f"“{name}” holds binary data (NUL or control bytes) and is not a known spreadsheet format. "
            "Upload the .xlsx, .xls or CSV export itself.")
    return "csv"


def too_many_columns(n_columns: int, max_columns: int) -> ImportRejected:
    """The refusal of a sheet wider than the column limit."""
    return ImportRejected(
        "too_many_columns",
        f"The sheet is {n_columns:,} columns wide (to column {column_letters(n_columns)}); an import takes at most "
        f"{max_columns:,} columns (to column {column_letters(max_columns)}). Delete the columns you do not need, "
        "or stray cells far to the right, and upload again.",
        {"columns": n_columns, "to": column_letters(n_columns), "limit": max_columns,
         "limit_to": column_letters(max_columns)})


# ---------------------------------------------------------------------------------------
# check_container

_NESTED_MAGIC = (ZIP_MAGIC, b"\x1f\x8b", b"7z\xbc\xaf\x27\x1c", b"Rar!", b"BZh", b"\xfd7zXZ")
_DOCTYPE_MARKERS = (b"<!DOCTYPE", b"<!ENTITY", "<!DOCTYPE".encode("utf-16-le"), "<!DOCTYPE".encode("utf-16-be"))
_CHUNK = 4 * MB
# digests of the packages that passed, newest last
_verified: OrderedDict[bytes, None] = OrderedDict()


def _bomb(message: str) -> ImportRejected:
    return ImportRejected("zip_bomb", message + " The file was refused before reading it.")


def check_container(data: bytes, fmt: str, limits: Limits | None = None, inflate: bool = True) -> None:
    """Refuse a hostile package before any parser sees it; return quietly when it is fine.

    For zip formats (xlsx, xlsb, ods): entry count, Σ declared sizes against
    :meth:`Limits.uncompressed_budget`, the per-part ratio, encrypted entries;
    then every part is inflated in 4 MB steps (never all at once, and never
    beyond its declared size: zipfile stops there and checks the CRC), looking
    for nested archives and for ``<!DOCTYPE``/``<!ENTITY`` in any part (codes
    ``zip_bomb``, ``xml_entities``, ``encrypted``, ``truncated``). Other formats
    only get the size check. A package that passed is remembered by digest,
    so ``list_sheets`` followed by ``read_grid`` pays once. ``inflate=False``
    stops before inflating the parts (and remembers nothing).
    """
    limits = limits or Limits()
    if len(data) > limits.max_bytes:
        raise ImportRejected("too_large", f"The file is {len(data) / MB:.0f} MB; the limit is {limits.max_bytes / MB:.0f} MB.")
    if fmt not in ("xlsx", "xlsb", "ods"):
        return
    digest = _digest(data, limits) if inflate else None
    if digest in _verified:
        _verified.move_to_end(digest)
        return
    zf = _open_zip(data, "The workbook")
    infos = zf.infolist()
    with zf:
        if len(infos) > limits.max_zip_entries:
            raise _bomb(f"The workbook has {len(infos):,} parts; real workbooks have a few dozen "
                        f"(limit {limits.max_zip_entries:,}).")
        budget = limits.uncompressed_budget(len(data))
        declared = sum(i.file_size for i in infos)
        if declared > budget:
            raise _bomb(f"The workbook would unpack to {declared / MB:,.0f} MB from {len(data) / MB:,.1f} MB "
                        f"(limit {budget / MB:,.0f} MB): it looks like a zip bomb.")
        for info in infos:
            if info.flag_bits & 0x1:
                raise ImportRejected("encrypted", f"The workbook part {info.filename!r} is encrypted; remove the password and save again.")
            if info.file_size > limits.ratio_floor and info.file_size > limits.max_entry_ratio * max(info.compress_size, 1):
                raise _bomb(f"The part {info.filename!r} expands {info.file_size / max(info.compress_size, 1):,.0f} times "
                            f"(limit {limits.max_entry_ratio}): it looks like a zip bomb.")
        if not inflate:
            return
        too_wide = _refs_beyond(limits.max_columns)
        for info in infos:
            _scan_part(zf, info, too_wide if _is_worksheet(info.filename) else None, limits.max_columns)
    _verified[digest] = None
    while len(_verified) > 32:
        _verified.popitem(last=False)


def _digest(data: bytes, limits: Limits) -> bytes:
    return hashlib.blake2b(data, digest_size=20).digest() + repr(limits).encode()


def column_letters(n: int) -> str:
    """1 → A, 26 → Z, 27 → AA, 500 → SF."""
    letters = ""
    while n:
        n, rest = divmod(n - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def column_number(letters: str) -> int:
    """A → 1, SF → 500, XFD → 16384."""
    n = 0
    for ch in letters.upper():
        n = n * 26 + ord(ch) - 64
    return n


@functools.lru_cache(maxsize=8)
def _refs_beyond(max_columns: int) -> re.Pattern[bytes]:
    """A cell reference (`` r="SG1"``) whose column lies beyond ``max_columns``: its letters
    are longer than the limit's, or as long and greater. Only such cells match, so the
    scan costs a test per cell, never a parse."""
    limit = column_letters(max_columns)
    greater = [f"[A-Z]{{{len(limit) + 1},}}"]
    for i, ch in enumerate(limit):
        if ch != "Z":
            greater.append(f"{limit[:i]}[{chr(ord(ch) + 1)}-Z][A-Z]{{{len(limit) - i - 1}}}")
    return re.compile(rf' r="((?:{"|".join(greater)}))[0-9]'.encode(), re.IGNORECASE)


def _is_worksheet(part: str) -> bool:
    return part.startswith("xl/worksheets/") and part.endswith(".xml")


def _scan_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, too_wide: re.Pattern[bytes] | None = None,
               max_columns: int = 0) -> None:
    """Inflate one part in bounded steps, looking for nested archives and DTDs, and in a
    worksheet (``too_wide``) for a cell beyond the column limit."""
    if not info.filename:
        raise ImportRejected("truncated", "The workbook has a part without a name: it is damaged. "
                                          "Upload the original file again.")
    if info.is_dir():
        return
    tail = b""
    first = True
    try:
        with zf.open(info) as part:
            while True:
                chunk = part.read(_CHUNK)
                if not chunk:
                    break
                if first and chunk.startswith(_NESTED_MAGIC):
                    raise _bomb(f"The workbook carries another archive inside it ({info.filename!r}).")
                first = False
                window = tail + chunk
                if any(marker in window for marker in _DOCTYPE_MARKERS):
                    raise ImportRejected(
                        "xml_entities",
                        f"The workbook part {info.filename!r} declares a DTD or XML entities (<!DOCTYPE>), which no "
                        "genuine Excel file does; it may be an attack (billion laughs / XXE). The file was refused. "
                        "If it is yours, open it in Excel/WPS and save it again as .xlsx.")
                wide = too_wide.search(window) if too_wide is not None else None
                if wide is not None:
                    raise too_many_columns(column_number(wide.group(1).decode()), max_columns)
                tail = window[-32:]
    except (zipfile.BadZipFile, OSError, EOFError, zlib.error, ValueError) as exc:
        # a CRC mismatch, a lying size, bad deflate data, a part placed before the file's start
        raise ImportRejected("truncated", f"The workbook part {info.filename!r} is corrupt: {exc}.") from exc
    except NotImplementedError as exc:  # a compression method Excel does not write
        raise _unreadable_packing(f"The workbook part {info.filename!r}", exc) from exc
