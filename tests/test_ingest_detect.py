"""Format sniffing and the container checks, against the hostile files of tests/hostile_files.py."""
from __future__ import annotations

import io
import struct
import time
import tracemalloc
import zipfile
from pathlib import Path

import pytest

import hostile_files as hf
from kam_core.imports.detect import Limits, check_container, sniff_format
from kam_core.imports.errors import ImportRejected

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


def rejection(data: bytes, name: str = "upload.xlsx", limits: Limits | None = None) -> ImportRejected:
    """The ImportRejected raised by sniffing, then checking, ``data``."""
    with pytest.raises(ImportRejected) as info:
        check_container(data, sniff_format(data, name, limits), limits)
    return info.value


@pytest.mark.parametrize("make, name, code", [
    (hf.billion_laughs_xlsx, "billion_laughs.xlsx", "xml_entities"),
    (hf.xxe_xlsx, "xxe.xlsx", "xml_entities"),
    (hf.zip_bomb_xlsx, "zipbomb.xlsx", "zip_bomb"),
    (hf.many_entries_zip, "many.xlsx", "zip_bomb"),
    (hf.nested_archive_xlsx, "nested.xlsx", "zip_bomb"),
    (hf.encrypted_xlsx, "encrypted.xlsx", "encrypted"),
    (hf.truncated_xlsx, "truncated.xlsx", "truncated"),
    (hf.html_table_xls, "html_table.xls", "html_as_xls"),
    (hf.mhtml_xls, "web.xls", "html_as_xls"),
    (hf.spreadsheetml2003_xls, "spreadsheetml2003.xls", "spreadsheetml_2003"),
    (hf.power_pivot_only_xlsx, "model.xlsx", "power_pivot_only"),
    (hf.docx_named_xlsx, "report.xlsx", "not_a_spreadsheet"),
    (hf.noise_bin, "noise.xls", "not_a_spreadsheet"),
    (hf.nul_text, "nul.csv", "not_a_spreadsheet"),
    (hf.empty_csv, "empty.csv", "empty"),
    (hf.future_zip_version_xlsx, "zip20.xlsx", "unreadable"),
    (hf.deflate64_part_xlsx, "deflate64.xlsx", "unreadable"),
])
def test_each_hostile_file_is_refused_with_its_code(make, name, code):
    assert rejection(make(), name).code == code


@pytest.mark.parametrize("make, name, fmt", [
    (hf.really_xlsx_csv, "really_xlsx.csv", "xlsx"),
    (hf.tsv_as_xls, "tsv_as.xls", "csv"),
    (hf.utf16_tsv, "unicode.txt", "csv"),
    (hf.wrong_dimension_xlsx, "wrong_dimension.xlsx", "xlsx"),
    (hf.strict_xlsx, "strict.xlsx", "xlsx"),
    (hf.ods_file, "sheet.ods", "ods"),
    (hf.gbk_csv, "gbk.csv", "csv"),
    (hf.formula_injection_csv, "formula_injection.csv", "csv"),
])
def test_odd_but_valid_files_are_named_by_their_bytes_not_their_extension(make, name, fmt):
    data = make()
    assert sniff_format(data, name) == fmt
    check_container(data, fmt)  # passes quietly


def test_messages_say_what_the_file_really_is_and_how_to_fix_it():
    html = rejection(hf.html_table_xls(), "销售.xls")
    assert "HTML page" in html.message and "销售.xls" in html.message and ".xlsx" in html.message
    xml = rejection(hf.spreadsheetml2003_xls(), "a.xls")
    assert "2003 XML Spreadsheet" in xml.message and "save it as an Excel Workbook (.xlsx)" in xml.message
    assert "password-protected" in rejection(hf.encrypted_xlsx()).message
    assert "Word document" in rejection(hf.docx_named_xlsx()).message


def test_an_xlsx_with_a_b_workbook_part_is_xlsb():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("[Content_Types].xml", "<Types/>")
        z.writestr("xl/workbook.bin", b"\x83\x01\x00")
    assert sniff_format(buf.getvalue(), "a.xlsb") == "xlsb"


def test_an_upload_over_the_byte_limit_is_too_large():
    assert rejection(hf.gbk_csv(), "a.csv", Limits(max_bytes=10)).code == "too_large"


def test_a_power_pivot_workbook_with_a_real_table_on_a_sheet_is_read_normally():
    rows = [["供应商", "品牌", "金额"], ["甲", "乙", 1]]
    data = hf.build_xlsx({"Data": hf.sheet_xml(rows)}, extra={"xl/model/item.data": b"\x00" * 100})
    assert sniff_format(data, "a.xlsx") == "xlsx"


def test_the_200_mb_zip_bomb_is_refused_in_under_two_seconds_and_little_memory():
    bomb = hf.zip_bomb_xlsx(200)
    assert len(bomb) < 400_000
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(ImportRejected) as info:
        check_container(bomb, sniff_format(bomb, "bomb.xlsx"))
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert info.value.code == "zip_bomb"
    assert elapsed < 2.0
    assert peak < 20 * 2**20


def test_a_bomb_that_lies_about_its_size_is_stopped_at_the_declared_size():
    """Central directory says 1 KB; inflating beyond that is never done (the CRC then fails)."""
    bomb = bytearray(hf.zip_bomb_xlsx(50))
    # patch every central-directory record of the sheet part: uncompressed size → 1024
    start = 0
    while (cd := bomb.find(b"PK\x01\x02", start)) >= 0:
        name_len = struct.unpack_from("<H", bomb, cd + 28)[0]
        name = bytes(bomb[cd + 46:cd + 46 + name_len])
        if name == b"xl/worksheets/sheet1.xml":
            extra_len = struct.unpack_from("<H", bomb, cd + 30)[0]
            extra = cd + 46 + name_len
            if struct.unpack_from("<I", bomb, cd + 24)[0] == 0xFFFFFFFF and extra_len:  # zip64: size in the extra field
                struct.pack_into("<Q", bomb, extra + 4, 1024)
            else:
                struct.pack_into("<I", bomb, cd + 24, 1024)
        start = cd + 4
    tracemalloc.start()
    started = time.perf_counter()
    err = rejection(bytes(bomb), "liar.xlsx")
    elapsed = time.perf_counter() - started
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    assert err.code in ("zip_bomb", "truncated")
    assert elapsed < 2.0 and peak < 20 * 2**20


def test_a_doctype_split_across_two_read_steps_is_still_found(monkeypatch):
    import kam_core.imports.detect as detect

    monkeypatch.setattr(detect, "_CHUNK", 64)
    prolog = " " * 40 + '<!DOCTYPE worksheet [<!ENTITY a "b">]>\n'
    data = hf.build_xlsx({"Sheet1": hf.sheet_xml([["x"]], prolog=prolog)})
    assert rejection(data).code == "xml_entities"


def test_a_package_with_too_many_parts_for_tight_limits_is_refused():
    data = hf.simple_xlsx([["a"]])
    assert rejection(data, limits=Limits(max_zip_entries=3)).code == "zip_bomb"


@pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures live in ../shared/fixtures/real, absent in this checkout")
@pytest.mark.parametrize("name, fmt", [
    ("bdap_朝阳医院2018年销售数据.xlsx", "xlsx"), ("luojiateng_营业额数据.xlsx", "xlsx"),
    ("luojiateng_超市营业额2.xlsx", "xlsx"), ("wmj_1月.xlsx", "xlsx"), ("sspu_示例 - 超市.xls", "xls"),
    ("dsfta_catering_dish_profit.xls", "xls"), ("wmj_JD.csv", "csv"), ("wmj_1月.csv", "csv"),
    ("aussachaa_Sample - Superstore.csv", "csv"), ("hiflylabs_olist_sellers_dataset.csv", "csv"),
])
def test_real_files_are_sniffed_and_pass_the_container_checks(name, fmt):
    data = (REAL / name).read_bytes()
    assert sniff_format(data, name) == fmt
    check_container(data, fmt)
