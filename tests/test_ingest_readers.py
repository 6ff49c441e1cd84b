"""Readers: every cell as text, every row kept with the number the user sees."""
from __future__ import annotations

import dataclasses
import datetime
import io
import zipfile
from pathlib import Path

import pyarrow.compute as pc
import pytest

import hostile_files as hf
from kam_core.imports.detect import Limits, sniff_format
from kam_core.imports.errors import ImportRejected
from kam_core.imports.readers import Grid, SheetInfo, list_sheets, read_grid

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures live in ../shared/fixtures/real, absent in this checkout")


def grid_rows(grid: Grid) -> list[tuple[int, list[str | None]]]:
    return list(zip(grid.table.column("_row").to_pylist(), grid.rows()))


def code_of(data: bytes, fmt: str, **kw: object) -> str:
    with pytest.raises(ImportRejected) as info:
        read_grid(data, fmt, **kw)  # type: ignore[arg-type]
    return info.value.code


# --- Excel -------------------------------------------------------------------------------

def test_excel_cells_become_text_as_the_design_says():
    rows = [["日期", "数量", "金额", "标志", "编码", "错误"],
            [datetime.date(2024, 1, 5), 3, 12.5, True, "00123", "#ERR:#N/A"],
            [datetime.datetime(2024, 1, 5, 13, 45, 7), -4.0, 1 / 3, False, "  ", "#ERR:#DIV/0!"],
            [None, 1e20, 2.5e-7, None, "x", None]]
    grid = read_grid(hf.build_xlsx({"S": hf.sheet_xml(rows)}), "xlsx")
    # numbers to 9 decimal places without trailing zeros, never in exponent form
    assert grid.rows() == [
        ["日期", "数量", "金额", "标志", "编码", "错误"],
        ["2024-01-05", "3", "12.5", "true", "00123", "#N/A"],
        ["2024-01-05 13:45:07", "-4", "0.333333333", "false", "  ", "#DIV/0!"],
        [None, "100000000000000000000", "0.00000025", None, "x", None]]
    assert grid.table.column_names == ["c0", "c1", "c2", "c3", "c4", "c5", "_row"]
    assert (grid.sheet, grid.encoding, grid.delimiter, grid.date1904) == ("S", None, None, False)


def test_leading_and_middle_blank_rows_are_kept_with_real_excel_row_numbers():
    xml = hf.sheet_xml([["供应商", "金额"], ["甲", 1], [], ["乙", 2]], first_row=3)
    xml = xml.replace('r="A', 'r="C').replace('r="B', 'r="D')  # the table starts at C3
    grid = read_grid(hf.build_xlsx({"S": xml}), "xlsx")
    assert grid_rows(grid) == [
        (1, [None, None, None, None]), (2, [None, None, None, None]),
        (3, [None, None, "供应商", "金额"]), (4, [None, None, "甲", "1"]),
        (5, [None, None, None, None]), (6, [None, None, "乙", "2"])]


def test_a_wrong_dimension_record_does_not_cut_the_sheet():
    grid = read_grid(hf.wrong_dimension_xlsx(100), "xlsx")
    assert grid.table.num_rows == 100
    assert grid.rows()[-1] == ["供应商99", "99"]
    assert list_sheets(hf.wrong_dimension_xlsx(100), "xlsx") == [SheetInfo("Sheet1", True, 100, 2)]


def test_hidden_sheets_are_listed_as_hidden_and_not_read_by_default():
    data = hf.build_xlsx({"参数": hf.sheet_xml([["p"]]), "销售": hf.sheet_xml([["a", "b"], [1, 2], [3, 4]])},
                         hidden=("参数",))
    assert list_sheets(data, "xlsx") == [SheetInfo("参数", False, 1, 1), SheetInfo("销售", True, 3, 2)]
    assert read_grid(data, "xlsx").sheet == "销售"
    assert read_grid(data, "xlsx", "参数").rows() == [["p"]]
    assert code_of(data, "xlsx", sheet="没有") == "sheet_not_found"


def test_chart_sheets_are_left_out_and_hidden_sheets_flagged_as_openpyxl_reads_them():
    import openpyxl
    import xlsxwriter

    buf = io.BytesIO()
    book = xlsxwriter.Workbook(buf)
    book.add_worksheet("参数").write_row(0, 0, ["p"])
    sales = book.add_worksheet("销售 & 退货")
    for r, row in enumerate([["供应商", "金额"], ["甲", 1], ["乙", 2]]):
        sales.write_row(r, 0, row)
    chart = book.add_chart({"type": "column"})
    chart.add_series({"values": "='销售 & 退货'!$B$2:$B$3"})
    book.add_chartsheet("图表").set_chart(chart)
    secret = book.add_worksheet("很隐藏")
    secret.write_row(0, 0, ["x", "y"])
    secret.very_hidden()
    sales.activate()  # Excel cannot hide the sheet it opens on
    book.worksheets()[0].hide()
    book.close()
    data = buf.getvalue()

    reference = openpyxl.load_workbook(io.BytesIO(data))
    expected = [(ws.title, ws.sheet_state == "visible") for ws in reference.worksheets]  # worksheets: no chart sheets
    assert [(s.name, s.visible) for s in list_sheets(data, "xlsx")] == expected
    assert expected == [("参数", False), ("销售 & 退货", True), ("很隐藏", False)]
    assert read_grid(data, "xlsx").sheet == "销售 & 退货"
    assert code_of(data, "xlsx", sheet="图表") == "sheet_not_found"


def test_a_sheet_name_with_a_raw_tab_is_listed_and_read_as_calamine_reads_it():
    # XML reads a raw tab in an attribute as a space; calamine keeps the tab, and it names the sheet
    data = hf.build_xlsx({"销售\t明细": hf.sheet_xml([["供应商", "金额"], ["甲", 1]])})
    assert [s.name for s in list_sheets(data, "xlsx")] == ["销售\t明细"]
    assert read_grid(data, "xlsx", "销售\t明细").rows() == [["供应商", "金额"], ["甲", "1"]]


def test_only_sheet_elements_of_the_workbook_are_sheets():
    data = hf.build_xlsx({"销售": hf.sheet_xml([["供应商", "金额"], ["甲", 1]])})
    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        parts = {n: zf.read(n) for n in zf.namelist()}
    parts["xl/workbook.xml"] = parts["xl/workbook.xml"].replace(
        b"</sheets>", b'<extLst name="Ghost" r:id="rId1"/></sheets>')
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, body in parts.items():
            zf.writestr(name, body)
    assert [s.name for s in list_sheets(buf.getvalue(), "xlsx")] == ["销售"]


@needs_real
def test_real_workbooks_list_the_sheets_python_calamine_lists():
    import python_calamine

    for path in sorted(REAL.iterdir()):
        data = path.read_bytes()
        fmt = sniff_format(data, path.name)
        if fmt == "csv":
            continue
        book = python_calamine.CalamineWorkbook.from_filelike(io.BytesIO(data))
        expected = [(m.name, m.visible == python_calamine.SheetVisibleEnum.Visible) for m in book.sheets_metadata
                    if m.typ == python_calamine.SheetTypeEnum.WorkSheet]
        assert [(s.name, s.visible) for s in list_sheets(data, fmt)] == expected, path.name


def test_an_xlsx_named_csv_reads_as_xlsx():
    data = hf.really_xlsx_csv()
    assert read_grid(data, sniff_format(data, "really_xlsx.csv")).rows() == [["供应商", "金额"], ["甲", "100"], ["乙", "200.5"]]


def test_a_strict_open_xml_workbook_reads():
    assert read_grid(hf.strict_xlsx(), "xlsx").rows() == [["供应商", "金额"], ["甲", "7"]]


def test_an_ods_sheet_reads():
    grid = read_grid(hf.ods_file(), "ods")
    assert (grid.sheet, grid.rows()) == ("销售", [["供应商", "金额"], ["甲", "12.5"]])


def test_a_1904_workbook_is_flagged_and_its_date_cells_are_shifted_by_calamine():
    grid = read_grid(hf.build_xlsx({"S": hf.sheet_xml([[datetime.date(2024, 1, 5)]])}, date1904=True), "xlsx")
    assert grid.date1904 is True
    # serial 45296 counted from 1904-01-01 is 1462 days later than from 1899-12-30
    assert grid.rows() == [["2028-01-06"]]


def test_a_generated_sales_export_reads_back_exactly():
    rows = hf.sales_rows(300)
    grid = read_grid(hf.sales_xlsx(300), "xlsx")
    expected = [list(hf.SALES_HEADER)] + [
        [v.isoformat() if isinstance(v, datetime.date) else (repr(v) if isinstance(v, float) and not v.is_integer()
                                                            else str(int(v)) if isinstance(v, float) else str(v))
         for v in r] for r in rows]
    assert grid.rows() == expected
    assert grid.table.column("_row").to_pylist() == list(range(1, 302))


def test_hostile_workbooks_are_refused_by_the_reader_itself():
    assert code_of(hf.billion_laughs_xlsx(), "xlsx") == "xml_entities"
    assert code_of(hf.zip_bomb_xlsx(30), "xlsx") == "zip_bomb"


def test_a_sheet_over_the_cell_limit_is_too_large():
    assert code_of(hf.wrong_dimension_xlsx(100), "xlsx", limits=Limits(max_cells=199)) == "too_large"


# --- CSV ---------------------------------------------------------------------------------

def test_a_gbk_csv_decodes_as_gb18030():
    grid = read_grid(hf.gbk_csv(), "csv")
    assert (grid.encoding, grid.delimiter) == ("gb18030", ",")
    assert grid.rows()[0] == ["供应商", "品牌", "销售额（元）"]
    assert grid.table.column("_row").to_pylist() == [1, 2, 3]


def test_a_gbk_tsv_named_xls_reads_as_tab_separated_text():
    grid = read_grid(hf.tsv_as_xls(), "csv")
    assert (grid.encoding, grid.delimiter) == ("gb18030", "\t")
    assert grid.rows()[2] == ["乙公司", "200.5", "2024-01-03"]


def test_a_big5_csv_is_not_mistaken_for_gb18030():
    grid = read_grid("供應商,金額\n台北國際貿易,100\n".encode("big5"), "csv")
    assert grid.encoding == "big5"
    assert grid.rows() == [["供應商", "金額"], ["台北國際貿易", "100"]]


def test_a_windows_1252_csv_keeps_its_curly_quotes_and_accents():
    grid = read_grid("name,city\n“Café” Müller,Zürich\n".encode("cp1252"), "csv")
    assert grid.encoding == "cp1252"
    assert grid.rows()[1] == ["“Café” Müller", "Zürich"]


def test_a_semicolon_csv_sniffs_the_semicolon_even_with_commas_in_fields():
    grid = read_grid(hf.semicolon_csv(), "csv")
    assert grid.delimiter == ";"
    assert grid.rows()[1] == ["1", "sao paulo, sp", "SP"]


def test_utf16_text_with_a_bom_is_read():
    grid = read_grid(hf.utf16_tsv(), "csv")
    assert (grid.encoding, grid.delimiter, grid.rows()) == ("utf-16", "\t", [["供应商", "金额"], ["甲", "1"]])


def test_blank_lines_are_kept_as_empty_records_and_blank_lines_inside_quotes_stay_in_the_field():
    grid = read_grid(hf.blank_lines_csv(), "csv")
    assert grid_rows(grid) == [(1, ["a", "b"]), (2, ["1", "2"]), (3, [None, None]), (4, ["3", "x\n\ny"]),
                               (5, [None, None]), (6, [None, None]), (7, ["4", "5"])]


def test_formula_like_text_is_kept_verbatim():
    rows = read_grid(hf.formula_injection_csv(), "csv").rows()
    assert rows[1] == ["=cmd|' /C calc'!A0", "100", '=HYPERLINK("http://x","y")']
    assert rows[2] == ["@SUM(1+1)", "-200", "+1"]


def test_a_short_record_is_refused_naming_its_record_number_and_counts():
    with pytest.raises(ImportRejected) as info:
        read_grid(hf.short_record_csv(), "csv")
    assert info.value.code == "field_count"
    assert info.value.message.startswith("Record 3 has 2 fields but the header has 3")


def test_a_runaway_quote_is_refused():
    assert code_of(hf.runaway_quote_csv(), "csv") == "unbalanced_quote"


def test_nul_bytes_in_text_are_refused():
    assert code_of(hf.nul_text(), "csv") == "not_a_spreadsheet"


def test_a_csv_list_of_sheets_is_one_sheet_named_csv():
    assert list_sheets(hf.gbk_csv(), "csv") == [SheetInfo("csv", True, 3, 3)]


# --- real files --------------------------------------------------------------------------

@needs_real
def test_real_gbk_csvs_decode_as_gb18030():
    jd = read_grid((REAL / "wmj_JD.csv").read_bytes(), "csv")
    assert jd.encoding == "gb18030" and jd.rows()[0] == ["商品名称", "一级分类", "二级分类", "7天点击量", "定价", "订单预定"]
    jan = read_grid((REAL / "wmj_1月.csv").read_bytes(), "csv")
    assert jan.encoding == "gb18030" and jan.rows()[0][-1] == "订单付款时间 " and jan.table.num_rows == 51


@needs_real
def test_real_superstore_csv_is_windows_1252_with_9994_records():
    grid = read_grid((REAL / "aussachaa_Sample - Superstore.csv").read_bytes(), "csv")
    assert (grid.encoding, grid.delimiter, grid.table.num_rows, grid.table.num_columns) == ("cp1252", ",", 9995, 22)
    sales = pc.sum(pc.cast(grid.table.column("c17").slice(1), "double")).as_py()
    assert round(sales, 2) == 2_297_200.86


@needs_real
def test_real_olist_csv_sniffs_semicolon_with_3095_records():
    grid = read_grid((REAL / "hiflylabs_olist_sellers_dataset.csv").read_bytes(), "csv")
    assert (grid.encoding, grid.delimiter, grid.table.num_rows) == ("utf-8-sig", ";", 3096)
    assert grid.rows()[0] == ["seller_id", "seller_zip_code_prefix", "seller_city", "seller_state"]


@needs_real
def test_real_pharmacy_workbook_keeps_its_mid_file_empty_row_at_excel_row_6576():
    grid = read_grid((REAL / "bdap_朝阳医院2018年销售数据.xlsx").read_bytes(), "xlsx")
    table = grid.table
    blank = table.filter(pc.and_(pc.is_null(table["c0"]), pc.is_null(table["c5"])))
    assert blank.column("_row").to_pylist() == [6576]
    assert table.num_rows == 6579  # header + 6,577 data rows + the empty one
    amounts = pc.sum(pc.cast(table.column("c5").slice(1), "double")).as_py()
    assert round(amounts, 2) == 331_966.20


@needs_real
def test_real_chinese_superstore_xls_has_10000_order_lines():
    data = (REAL / "sspu_示例 - 超市.xls").read_bytes()
    assert [s.name for s in list_sheets(data, "xls")] == ["订单", "退货", "销售人员"]
    grid = read_grid(data, "xls", "订单")
    assert grid.table.num_rows == 10_001 and grid.rows()[0][:2] == ["行 ID", "订单 ID"]
    assert round(pc.sum(pc.cast(grid.table.column("c16").slice(1), "double")).as_py(), 2) == 16_117_548.24


@needs_real
def test_real_wps_and_excel_copies_of_one_workbook_read_the_same():
    wps = read_grid((REAL / "luojiateng_营业额数据.xlsx").read_bytes(), "xlsx")
    excel = read_grid((REAL / "luojiateng_超市营业额2.xlsx").read_bytes(), "xlsx")
    assert wps.table.num_rows == 250
    assert wps.rows() == excel.rows()


@needs_real
def test_real_cached_error_cells_match_what_openpyxl_reads():
    import openpyxl

    data = (REAL / "wmj_1月.xlsx").read_bytes()
    book = openpyxl.load_workbook(io.BytesIO(data), data_only=True)
    for info in list_sheets(data, "xlsx"):
        expected = [[c.value for c in row] for row in book[info.name].iter_rows()]
        errors = {(r, c) for r, row in enumerate(expected) for c, v in enumerate(row) if isinstance(v, str) and v.startswith("#")}
        got = read_grid(data, "xlsx", info.name).rows()
        assert {(r, c) for r, row in enumerate(got) for c, v in enumerate(row) if v and v.startswith("#")} == errors
        assert all(got[r][c] == expected[r][c] for r, c in errors)


@needs_real
def test_every_real_file_lists_its_sheets_and_reads_each_one():
    for path in sorted(REAL.iterdir()):
        data = path.read_bytes()
        fmt = sniff_format(data, path.name)
        for info in list_sheets(data, fmt):
            grid = read_grid(data, fmt, info.name)
            assert grid.table.num_rows == info.n_rows, path.name


def test_a_csv_that_stops_being_utf8_after_its_first_megabytes_is_read_as_gb18030():
    head = "供应商,金额\n".encode("gbk")
    filler = b"".join(b"supplier%06d,%d\n" % (i, i) for i in range(300_000))   # ~6 MB of ASCII
    assert len(filler) > 5 << 20
    tail = "甲公司,7\n".encode("gbk")
    grid = read_grid(filler + tail, "csv")
    assert grid.encoding == "gb18030"
    assert grid.table.num_rows == 300_001
    # one row each (Grid.rows() of 300,000 rows alone took 1.6 s of CPU)
    assert _slice(grid, -1).rows() == [["甲公司", "7"]]
    assert _slice(read_grid(head + filler, "csv"), 0).rows() == [["供应商", "金额"]]


def _slice(grid, row: int):
    """The grid's one row ``row`` (from the end when negative), as a grid."""
    at = row % grid.table.num_rows
    return dataclasses.replace(grid, table=grid.table.slice(at, 1))


def test_a_cell_longer_than_pythons_csv_field_limit_is_read_whole():
    # the delimiter sniffer's csv module stops at 131,072 characters a field by default
    long_cell = "长" * 140_000
    data = f'日期,供应商,销售额\n2025-01-02,"{long_cell}",1\n2025-01-03,乙,2\n'.encode("utf-8")
    grid = read_grid(data, "csv")
    assert grid.delimiter == ","
    assert [len(r[1]) for r in grid.rows()] == [3, 140_000, 1]
