"""Generators of hostile and odd upload files, built in memory, small and deterministic.

Every function returns ``bytes``; none touches the disk. The importer's tests
use them (see ``tests/test_ingest_detect.py``), and other tests may import
them too. The catalogue behind each file is ``../shared/bad_inputs.md``.
"""
from __future__ import annotations

import datetime
import io
import random
import struct
import zipfile
from xml.sax.saxutils import escape

_MAIN_NS = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_REL_NS = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_STRICT_MAIN_NS = "http://purl.oclc.org/ooxml/spreadsheetml/main"
_STRICT_REL_NS = "http://purl.oclc.org/ooxml/officeDocument/relationships"


def _col_letter(index: int) -> str:
    """0 → A, 25 → Z, 26 → AA."""
    letters = ""
    index += 1
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def sheet_xml(rows: list[list[object]], *, dimension: str | None = None, prolog: str = "",
              first_row: int = 1, date_style: int | None = None, strict: bool = False) -> str:
    """A worksheet part with inline strings; ``None`` cells are left out, ``[]`` rows too.

    ``prolog`` goes between the XML declaration and the root (a DOCTYPE, say),
    ``dimension`` is written as given (it may lie on purpose). Dates are written
    as serials with style ``date_style`` (default 1, yyyy-mm-dd), datetimes with style 2.
    """
    out = []
    for r, row in enumerate(rows, start=first_row):
        cells = []
        for c, value in enumerate(row):
            ref = f"{_col_letter(c)}{r}"
            if value is None:
                continue
            if isinstance(value, bool):
                cells.append(f'<c r="{ref}" t="b"><v>{int(value)}</v></c>')
            elif isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"><v>{value!r}</v></c>')
            elif isinstance(value, datetime.datetime):
                serial = (value - datetime.datetime(1899, 12, 30)) / datetime.timedelta(days=1)
                cells.append(f'<c r="{ref}" s="2"><v>{serial!r}</v></c>')
            elif isinstance(value, datetime.date):
                serial = (value - datetime.date(1899, 12, 30)).days
                cells.append(f'<c r="{ref}" s="{date_style or 1}"><v>{serial}</v></c>')
            elif isinstance(value, str) and value.startswith("#ERR:"):
                cells.append(f'<c r="{ref}" t="e"><v>{escape(value[5:])}</v></c>')
            elif isinstance(value, str) and value.startswith("&"):
                # a raw entity reference, for the entity-expansion files
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t xml:space="preserve">{escape(str(value))}</t></is></c>')
        if cells:
            out.append(f'<row r="{r}">{"".join(cells)}</row>')
    ns = _STRICT_MAIN_NS if strict else _MAIN_NS
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}'
            f'<worksheet xmlns="{ns}">{dim}<sheetData>{"".join(out)}</sheetData></worksheet>')


def build_xlsx(sheets: dict[str, str], *, hidden: tuple[str, ...] = (), extra: dict[str, bytes | str] | None = None,
               strict: bool = False, date1904: bool = False, compresslevel: int = 6) -> bytes:
    """A minimal but valid xlsx package from ready worksheet parts (``sheet_xml``).

    ``extra`` adds arbitrary parts (a Power Pivot model, a nested archive…).
    """
    ns = _STRICT_MAIN_NS if strict else _MAIN_NS
    rel_ns = _STRICT_REL_NS if strict else _REL_NS
    rel_type = ("http://purl.oclc.org/ooxml/officeDocument/relationships" if strict
                else "http://schemas.openxmlformats.org/officeDocument/2006/relationships")
    overrides = "".join(
        f'<Override PartName="/xl/worksheets/sheet{i}.xml" '
        f'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>'
        for i in range(1, len(sheets) + 1))
    content_types = (
        '<?xml version="1.0" encoding="UTF-8"?><Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        '<Override PartName="/xl/workbook.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
        '<Override PartName="/xl/styles.xml" ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.styles+xml"/>'
        f'{overrides}</Types>')
    root_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'<Relationship Id="rId1" Type="{rel_type}/officeDocument" Target="xl/workbook.xml"/></Relationships>')
    hidden_attr = ' state="hidden"'
    sheet_entries = "".join(
        f'<sheet name="{escape(name)}" sheetId="{i}" r:id="rId{i}"{hidden_attr if name in hidden else ""}/>'
        for i, name in enumerate(sheets, start=1))
    pr = '<workbookPr date1904="1"/>' if date1904 else ""
    conformance = ' conformance="strict"' if strict else ""
    workbook = (f'<?xml version="1.0" encoding="UTF-8"?><workbook xmlns="{ns}" xmlns:r="{rel_ns}"{conformance}>'
                f'{pr}<sheets>{sheet_entries}</sheets></workbook>')
    wb_rels = "".join(
        f'<Relationship Id="rId{i}" Type="{rel_type}/worksheet" Target="worksheets/sheet{i}.xml"/>'
        for i in range(1, len(sheets) + 1))
    wb_rels = (
        '<?xml version="1.0" encoding="UTF-8"?><Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        f'{wb_rels}<Relationship Id="rIdS" Type="{rel_type}/styles" Target="styles.xml"/></Relationships>')
    styles = (f'<?xml version="1.0" encoding="UTF-8"?><styleSheet xmlns="{ns}">'
              '<numFmts count="1"><numFmt numFmtId="164" formatCode="yyyy-mm-dd hh:mm:ss"/></numFmts>'
              '<fonts count="1"><font/></fonts><fills count="1"><fill/></fills><borders count="1"><border/></borders>'
              '<cellStyleXfs count="1"><xf/></cellStyleXfs>'
              '<cellXfs count="3"><xf numFmtId="0"/><xf numFmtId="14" applyNumberFormat="1"/>'
              '<xf numFmtId="164" applyNumberFormat="1"/></cellXfs></styleSheet>')
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": content_types, "_rels/.rels": root_rels, "xl/workbook.xml": workbook,
        "xl/_rels/workbook.xml.rels": wb_rels, "xl/styles.xml": styles}
    for i, xml in enumerate(sheets.values(), start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
    parts.update(extra or {})
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED, compresslevel=compresslevel) as z:
        for name, body in parts.items():
            # a fixed time stamp: writestr(name) stamps the clock's, so the same workbook made twice
            # a few seconds apart would differ (a fuzz case's bytes, a test id on two xdist workers)
            z.writestr(zipfile.ZipInfo(name, date_time=(2025, 1, 1, 0, 0, 0)), body,
                       compress_type=zipfile.ZIP_DEFLATED, compresslevel=compresslevel)
    return buf.getvalue()


def simple_xlsx(rows: list[list[object]], sheet: str = "Sheet1", **kw: object) -> bytes:
    """One sheet holding ``rows`` (first row at A1)."""
    return build_xlsx({sheet: sheet_xml(rows)}, **kw)  # type: ignore[arg-type]


# --- hostile containers -------------------------------------------------------------

def billion_laughs_xlsx() -> bytes:
    """A worksheet whose DTD defines the classic exponential entity (10 levels × 10)."""
    ents = ['<!ENTITY lol0 "lol">'] + [
        f'<!ENTITY lol{i} "{("&lol%d;" % (i - 1)) * 10}">' for i in range(1, 10)]
    prolog = "<!DOCTYPE worksheet [\n" + "\n".join(ents) + "\n]>\n"
    return build_xlsx({"Sheet1": sheet_xml([["供应商"], ["&lol9;"]], prolog=prolog)})


def xxe_xlsx() -> bytes:
    """A shared part with an external entity pointing at a local file."""
    prolog = '<!DOCTYPE worksheet [<!ENTITY xxe SYSTEM "file:///etc/hostname">]>\n'
    return build_xlsx({"Sheet1": sheet_xml([["供应商"], ["&xxe;"]], prolog=prolog)})


def zip_bomb_xlsx(uncompressed_mb: int = 200) -> bytes:
    """A valid xlsx whose one sheet inflates to ``uncompressed_mb`` MB (~1000:1).

    The sheet is a real worksheet padded with a huge run of spaces inside
    ``<sheetData>``; it is written in chunks, so building it costs little memory.
    """
    head = (f'<?xml version="1.0" encoding="UTF-8"?><worksheet xmlns="{_MAIN_NS}"><sheetData>'
            '<row r="1"><c r="A1" t="inlineStr"><is><t>x</t></is></c></row>')
    tail = "</sheetData></worksheet>"
    base = build_xlsx({"Sheet1": sheet_xml([["x"]])})
    buf = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(base)) as src, zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for info in src.infolist():
            if info.filename != "xl/worksheets/sheet1.xml":
                z.writestr(info.filename, src.read(info.filename))
        with z.open("xl/worksheets/sheet1.xml", "w", force_zip64=True) as w:
            w.write(head.encode())
            chunk = b" " * (1 << 20)
            for _ in range(uncompressed_mb):
                w.write(chunk)
            w.write(tail.encode())
    return buf.getvalue()


def many_entries_zip(n: int = 5000) -> bytes:
    """An xlsx carrying ``n`` extra tiny parts (entry-count limit)."""
    return build_xlsx({"Sheet1": sheet_xml([["x"]])}, extra={f"xl/media/p{i}.xml": "<a/>" for i in range(n)})


def nested_archive_xlsx() -> bytes:
    """An xlsx with another zip archive stored inside it."""
    return build_xlsx({"Sheet1": sheet_xml([["x"]])}, extra={"xl/inner.bin": simple_xlsx([["y"]])})


def encrypted_xlsx(password: str = "secret") -> bytes:
    """A password-protected xlsx (OLE2 with EncryptionInfo + EncryptedPackage), via msoffcrypto-tool."""
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = simple_xlsx([["供应商", "金额"], ["甲", 1]])
    out = io.BytesIO()
    OOXMLFile(io.BytesIO(plain)).encrypt(password, out)
    return out.getvalue()


def truncated_xlsx() -> bytes:
    """The first half of a valid xlsx: no end-of-central-directory record."""
    whole = simple_xlsx([["供应商", "金额"]] + [[f"供应商{i}", i] for i in range(200)])
    return whole[: len(whole) // 2]


def bit_rot_xlsx(part: str = "xl/workbook.xml") -> bytes:
    """A whole xlsx whose packed ``part`` has bytes flipped (a bad disk or a broken copy):
    the central directory is fine, the deflate data is not."""
    whole = bytearray(simple_xlsx([["供应商", "金额"]] + [[f"供应商{i}", i] for i in range(200)]))
    with zipfile.ZipFile(io.BytesIO(bytes(whole))) as zf:
        info = zf.getinfo(part)
    name_len, extra_len = struct.unpack_from("<HH", whole, info.header_offset + 26)
    start = info.header_offset + 30 + name_len + extra_len
    for i in range(start + 2, start + min(info.compress_size, 40), 3):
        whole[i] ^= 0xFF
    return bytes(whole)


def _patch_central_directory(data: bytes, offset: int, value: int, only: str | None = None) -> bytes:
    """Write the 2-byte ``value`` at ``offset`` of every central directory entry (of ``only``'s, if given)."""
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        names = [i.filename for i in zf.infolist()]
    pos = out.find(b"PK\x01\x02")
    for name in names:
        name_len, extra_len, comment_len = struct.unpack_from("<HHH", out, pos + 28)
        if only is None or name == only:
            struct.pack_into("<H", out, pos + offset, value)
        pos += 46 + name_len + extra_len + comment_len
    return bytes(out)


def future_zip_version_xlsx(version: int = 200) -> bytes:
    """A whole xlsx whose central directory says its parts need zip version 20.0 to unpack
    (Python's zipfile stops at 6.3: ``NotImplementedError: zip file version 20.0``)."""
    return _patch_central_directory(simple_xlsx([["供应商", "金额"], ["甲", 1]]), 6, version)


def deflate64_part_xlsx() -> bytes:
    """A whole xlsx whose sheet part claims compression method 9 (Deflate64), which neither
    Excel writes nor zipfile reads."""
    data = simple_xlsx([["供应商", "金额"], ["甲", 1]])
    data = _patch_central_directory(data, 10, 9, only="xl/worksheets/sheet1.xml")
    out = bytearray(data)
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        offset = zf.getinfo("xl/worksheets/sheet1.xml").header_offset
    struct.pack_into("<H", out, offset + 8, 9)
    return bytes(out)


def lying_directory_offset_xlsx() -> bytes:
    """A whole xlsx whose end record puts the central directory 100,000 bytes further than
    it is: zipfile then places every part before the file's start (``negative seek value``)."""
    out = bytearray(simple_xlsx([["供应商", "金额"], ["甲", 1]]))
    end = out.rfind(b"PK\x05\x06")
    struct.pack_into("<I", out, end + 16, struct.unpack_from("<I", out, end + 16)[0] + 100_000)
    return bytes(out)


def nameless_part_xlsx() -> bytes:
    """An xlsx with one more part whose name is empty."""
    with zipfile.ZipFile(io.BytesIO(simple_xlsx([["供应商", "金额"], ["甲", 1]]))) as src:
        parts = [(i.filename, src.read(i)) for i in src.infolist()]
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        for name, body in parts:
            z.writestr(name, body)
        z.writestr(zipfile.ZipInfo(""), b"x")
    return buf.getvalue()


def power_pivot_only_xlsx() -> bytes:
    """A workbook whose only sheet is a notice; the data lives in ``xl/model/item.data``."""
    notice = [["This workbook contains a Power Pivot data model."], ["Open it in Excel to see the data."]]
    return build_xlsx({"Info": sheet_xml(notice)}, extra={"xl/model/item.data": bytes(range(256)) * 64})


def docx_named_xlsx() -> bytes:
    """A zip with ``word/document.xml``: a Word document renamed .xlsx."""
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("word/document.xml", "<w:document/>")
    return buf.getvalue()


def ods_file() -> bytes:
    """A minimal OpenDocument spreadsheet (mimetype stored first, uncompressed)."""
    content = (
        '<?xml version="1.0" encoding="UTF-8"?>'
        '<office:document-content xmlns:office="urn:oasis:names:tc:opendocument:xmlns:office:1.0" '
        'xmlns:table="urn:oasis:names:tc:opendocument:xmlns:table:1.0" '
        'xmlns:text="urn:oasis:names:tc:opendocument:xmlns:text:1.0" office:version="1.2">'
        '<office:body><office:spreadsheet><table:table table:name="销售">'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>供应商</text:p></table:table-cell>'
        '<table:table-cell office:value-type="string"><text:p>金额</text:p></table:table-cell></table:table-row>'
        '<table:table-row><table:table-cell office:value-type="string"><text:p>甲</text:p></table:table-cell>'
        '<table:table-cell office:value-type="float" office:value="12.5"><text:p>12.5</text:p></table:table-cell>'
        '</table:table-row></table:table></office:spreadsheet></office:body></office:document-content>')
    manifest = (
        '<?xml version="1.0" encoding="UTF-8"?><manifest:manifest '
        'xmlns:manifest="urn:oasis:names:tc:opendocument:xmlns:manifest:1.0" manifest:version="1.2">'
        '<manifest:file-entry manifest:full-path="/" manifest:media-type="application/vnd.oasis.opendocument.spreadsheet"/>'
        '<manifest:file-entry manifest:full-path="content.xml" manifest:media-type="text/xml"/></manifest:manifest>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as z:
        z.writestr(zipfile.ZipInfo("mimetype"), "application/vnd.oasis.opendocument.spreadsheet")
        z.writestr("content.xml", content)
        z.writestr("META-INF/manifest.xml", manifest)
    return buf.getvalue()


# --- files in disguise ----------------------------------------------------------------

def html_table_xls() -> bytes:
    """What web back-offices call "导出Excel": an HTML table named .xls."""
    return ('<html xmlns:x="urn:schemas-microsoft-com:office:excel"><head><meta charset="utf-8"></head>'
            '<body><table><tr><td>供应商</td><td>金额</td></tr><tr><td>甲</td><td>1</td></tr></table></body></html>'
            ).encode("utf-8")


def mhtml_xls() -> bytes:
    """An Excel "single file web page" (MHTML) named .xls."""
    return (b"MIME-Version: 1.0\r\nX-Document-Type: Workbook\r\n"
            b'Content-Type: multipart/related; boundary="----=_NextPart"\r\n\r\n------=_NextPart\r\n')


def spreadsheetml2003_xls() -> bytes:
    """An Excel 2003 XML Spreadsheet named .xls."""
    return ('<?xml version="1.0"?>\n<?mso-application progid="Excel.Sheet"?>\n'
            '<Workbook xmlns="urn:schemas-microsoft-com:office:spreadsheet" '
            'xmlns:ss="urn:schemas-microsoft-com:office:spreadsheet"><Worksheet ss:Name="Sheet1"><Table>'
            '<Row><Cell><Data ss:Type="String">供应商</Data></Cell></Row></Table></Worksheet></Workbook>'
            ).encode("utf-8")


def tsv_as_xls() -> bytes:
    """Tab-separated GBK text named .xls (what some ERPs export)."""
    return "供应商\t金额\t日期\n甲公司\t100\t2024-01-02\n乙公司\t200.5\t2024-01-03\n".encode("gbk")


def really_xlsx_csv() -> bytes:
    """A genuine xlsx that the user saved with a .csv name."""
    return simple_xlsx([["供应商", "金额"], ["甲", 100], ["乙", 200.5]])


def wrong_dimension_xlsx(n_rows: int = 100) -> bytes:
    """A header and ``n_rows - 1`` data rows while ``<dimension>`` claims A1:A1."""
    rows: list[list[object]] = [["供应商", "金额"]] + [[f"供应商{i}", i] for i in range(1, n_rows)]
    return build_xlsx({"Sheet1": sheet_xml(rows, dimension="A1:A1")})


def far_cell_xlsx(ref: str, header: tuple[str, ...] = ("日期", "供应商", "销售额")) -> bytes:
    """A header, one sales line, and one more cell at ``ref`` (``ZZZZZ1``, ``SF100000``): a
    few KB whose cell references claim a huge sheet (PERFORMANCE.md: "declared sizes lie")."""
    cells = "".join(f'<c r="{_col_letter(i)}1" t="inlineStr"><is><t>{h}</t></is></c>' for i, h in enumerate(header))
    line = ('<c r="A2" t="inlineStr"><is><t>2025-01-02</t></is></c><c r="B2" t="inlineStr"><is><t>甲</t></is></c>'
            '<c r="C2"><v>1</v></c>')
    row = int("".join(ch for ch in ref if ch.isdigit()))
    far = f'<c r="{ref}" t="inlineStr"><is><t>x</t></is></c>'
    rows = f'<row r="1">{cells}</row><row r="2">{line}{far if row == 2 else ""}</row>'
    if row != 2:
        rows += f'<row r="{row}">{far}</row>'
    xml = (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<worksheet xmlns="{_MAIN_NS}">'
           f'<sheetData>{rows}</sheetData></worksheet>')
    return build_xlsx({"Sheet1": xml})


def wide_csv(n_columns: int, n_rows: int = 20) -> bytes:
    """A sales export with ``n_columns`` columns (the first three mapped) and ``n_rows`` lines."""
    header = ["日期", "供应商", "销售额"] + [f"备注{i}" for i in range(4, n_columns + 1)]
    lines = [",".join(header)] + [",".join(["2025-01-02", f"供应商{r % 3}", str(r + 1)] + [str(i) for i in range(n_columns - 3)])
                                  for r in range(n_rows)]
    return ("\n".join(lines) + "\n").encode("utf-8")


def strict_xlsx() -> bytes:
    """A Strict Open XML workbook (purl.oclc.org namespaces, ``conformance="strict"``)."""
    return build_xlsx({"Sheet1": sheet_xml([["供应商", "金额"], ["甲", 7]], strict=True)}, strict=True)


def noise_bin(n: int = 4096, seed: int = 3) -> bytes:
    """Random bytes (with NULs) named like a spreadsheet."""
    return random.Random(seed).randbytes(n)


# --- CSV texts --------------------------------------------------------------------------

def empty_csv() -> bytes:
    return b""


def formula_injection_csv() -> bytes:
    """Cells that a spreadsheet would run as formulas; the reader must keep them as text."""
    return ('供应商,金额,备注\n'
            '"=cmd|\' /C calc\'!A0",100,"=HYPERLINK(""http://x"",""y"")"\n'
            '@SUM(1+1),-200,+1\n').encode("utf-8")


def gbk_csv() -> bytes:
    """GBK text without a BOM, as Excel on Chinese Windows saves CSV."""
    return "供应商,品牌,销售额（元）\n北京某某商贸有限公司,康师傅,1234.5\n上海某某公司,统一,99\n".encode("gbk")


def semicolon_csv() -> bytes:
    """A ``;``-separated file whose text fields contain commas."""
    return b"seller_id;seller_city;seller_state\r\n1;sao paulo, sp;SP\r\n2;rio de janeiro;RJ\r\n3;curitiba;PR\r\n"


def short_record_csv() -> bytes:
    """Record 3 (the second data record) has 2 fields instead of 3."""
    return b"a,b,c\n1,2,3\n4,5\n6,7,8\n"


def blank_lines_csv() -> bytes:
    """Blank lines between records, one inside a quoted field that must survive."""
    return b'a,b\n1,2\n\n3,"x\n\ny"\n\n\n4,5\n'


def runaway_quote_csv(n: int = 400) -> bytes:
    """An unbalanced quote in record 2 that swallows the rest of the file into one field."""
    lines = ["a,b", '1,"oops'] + [f"{i},{i}" for i in range(n)]
    return ("\n".join(lines) + "\n").encode()


def utf16_tsv() -> bytes:
    """Excel's "Unicode text": UTF-16LE with a BOM, tab-separated."""
    return "供应商\t金额\r\n甲\t1\r\n".encode("utf-16")


def nul_text() -> bytes:
    """Mostly text with NUL bytes in it, and no UTF-16 BOM."""
    return b"a,b\n1,2\n3\x00,4\n"


# --- big, realistic exports for performance checks -----------------------------------

SALES_HEADER = ["日期", "门店", "区域", "供应商", "品牌", "品类", "商品编码", "商品名称", "数量", "销售额", "成本", "毛利"]


def sales_rows(n: int, seed: int = 7) -> list[list[object]]:
    """``n`` rows of a 12-column Chinese sales export (fixed seed, heavy-tailed suppliers)."""
    rnd = random.Random(seed)
    suppliers = [f"供应商{i:03d}有限公司" for i in range(300)]
    stores = [f"门店{i:02d}" for i in range(40)]
    day0 = datetime.date(2024, 1, 1)
    rows: list[list[object]] = []
    for i in range(n):
        qty = rnd.randint(1, 50)
        amount = round(qty * rnd.randint(100, 99999) / 100, 2)
        cost = round(amount * 0.8, 2)
        rows.append([day0 + datetime.timedelta(days=i % 366), rnd.choice(stores), "华东",
                     suppliers[int(rnd.paretovariate(1.2)) % 300], f"品牌{rnd.randint(1, 500)}",
                     f"品类{rnd.randint(1, 30)}", f"{rnd.randint(0, 999999):06d}", f"商品{rnd.randint(1, 20000)}",
                     qty, amount, cost, round(amount - cost, 2)])
    return rows


def sales_csv(n: int, seed: int = 7) -> bytes:
    """The sales export as UTF-8 CSV (≈147 bytes a row)."""
    lines = [",".join(SALES_HEADER)]
    for r in sales_rows(n, seed):
        lines.append(",".join(v.isoformat() if isinstance(v, datetime.date) else str(v) for v in r))
    return ("\n".join(lines) + "\n").encode("utf-8")


def sales_xlsx(n: int, seed: int = 7) -> bytes:
    """The sales export as xlsx (dates as real date cells)."""
    rows: list[list[object]] = [list(SALES_HEADER)] + sales_rows(n, seed)
    return build_xlsx({"销售明细": sheet_xml(rows)}, compresslevel=1)
