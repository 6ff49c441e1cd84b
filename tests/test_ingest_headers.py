"""Header detection on title rows, filter lines, multi-row headers and the real files."""
from __future__ import annotations

from pathlib import Path

import pytest

from kam_core.imports.errors import ImportRejected
from kam_core.imports.headers import build_header, find_header, normalise_header, unique_names

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"


def test_normalise_header_strips_bom_nbsp_trailing_spaces_and_full_width_brackets():
    assert normalise_header("\ufeffseller_id") == "seller_id"
    assert normalise_header(" 订单付款时间 ") == "订单付款时间"
    assert normalise_header("销售额（万元）\u00a0") == "销售额(万元)"
    assert normalise_header("订单\u3000  ID") == "订单 ID"
    assert normalise_header("【品牌】") == "[品牌]"
    assert normalise_header(None) == ""


def test_blank_headers_get_positions_and_duplicates_get_suffixes():
    assert unique_names(["金额", "", "金额", "金额", "金额_2"]) == ["金额", "column_2", "金额_2", "金额_3", "金额_2_2"]


def test_title_and_filter_rows_above_the_header_are_kept_as_the_title():
    rows = [
        ["XX超市2024年1月供应商销售汇总表", None, None, None],
        ["日期：2024-01-01 至 2024-01-31", "门店：全部", None, None],
        [None, None, None, None],
        ["供应商", "品牌", "销售数量", "销售金额"],
        ["宝洁", "海飞丝", "3", "59.70"],
        ["联合利华", "多芬", "1", "19.90"],
    ]
    g = find_header(rows)
    assert (g.row_index, g.n_rows) == (3, 1)
    assert g.columns == ["供应商", "品牌", "销售数量", "销售金额"]
    assert g.title == "XX超市2024年1月供应商销售汇总表\n日期：2024-01-01 至 2024-01-31 门店：全部"


def test_two_header_levels_are_forward_filled_and_joined():
    rows = [
        ["2025年销售明细表", None, None, None, None],
        ["商品", "本期", None, "同期", None],
        [None, "数量", "金额", "数量", "金额"],
        ["A", "1", "2.50", "3", "4"],
        ["B", "2", "3.50", "4", "5"],
    ]
    g = find_header(rows)
    assert (g.row_index, g.n_rows) == (2, 2)
    assert g.columns == ["商品", "本期_数量", "本期_金额", "同期_数量", "同期_金额"]
    assert g.title == "2025年销售明细表"


def test_repeated_upper_labels_are_joined_without_forward_fill():
    rows = [["本期", "本期", "同期", "同期"], ["数量", "金额", "数量", "金额"], ["1", "2", "3", "4"]]
    g = find_header(rows)
    assert (g.row_index, g.n_rows) == (1, 2)
    assert g.columns == ["本期_数量", "本期_金额", "同期_数量", "同期_金额"]


def test_a_text_only_sheet_takes_its_first_row_as_header():
    rows = [["订单 ID", "退回"], ["CN-2015-1196810", "是"], ["US-2015-3964185", "是"]]
    g = find_header(rows)
    assert (g.row_index, g.n_rows, g.title) == (0, 1, None)


def test_the_header_is_as_wide_as_the_widest_row_and_blank_names_are_filled():
    rows = [["日期", "金额"], ["2025-01-01", "5", "note"]]
    assert find_header(rows).columns == ["日期", "金额", "column_3"]


def test_a_sheet_with_only_empty_rows_has_no_header():
    with pytest.raises(ImportRejected) as e:
        find_header([[None, " "], []])
    assert e.value.code == "no_header"


def test_a_user_chosen_header_row_is_built_the_same_way():
    rows = [["title"], ["a", "b"], ["c", "c"]]
    g = build_header(rows, 2)
    assert (g.row_index, g.n_rows, g.columns, g.title) == (2, 1, ["c", "c_2"], "title\na b")
    with pytest.raises(ValueError):
        build_header(rows, 5)


def _calamine_rows(path: Path, sheet: str) -> list[list[str | None]]:
    python_calamine = pytest.importorskip("python_calamine")
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_name(sheet).to_python(skip_empty_area=False)[:30]
    out = []
    for r in rows:
        cells = []
        for c in r:
            if c == "" or c is None:
                cells.append(None)
            elif isinstance(c, float) and c.is_integer():
                cells.append(str(int(c)))
            else:
                cells.append(str(c))
        out.append(cells)
    return out


@pytest.mark.skipif(not REAL.is_dir(), reason=f"real fixtures folder {REAL} is absent")
@pytest.mark.parametrize(
    "name,sheet,first,last",
    [
        ("bdap_朝阳医院2018年销售数据.xlsx", "Sheet1", "购药时间", "实收金额"),
        ("sspu_示例 - 超市.xls", "订单", "行 ID", "利润"),
        ("luojiateng_超市营业额2.xlsx", "Sheet1", "工号", "柜台"),
        ("wmj_1月.xlsx", "莫寒", "买家会员名", "图书编号"),
        ("dsfta_catering_dish_profit.xls", "Sheet1", "菜品ID", "盈利"),
    ],
)
def test_real_files_have_their_header_in_the_first_row(name, sheet, first, last):
    g = find_header(_calamine_rows(REAL / name, sheet))
    assert (g.row_index, g.n_rows, g.title) == (0, 1, None)
    assert g.columns[0] == first and g.columns[-1] == last
    assert all(c == c.strip() for c in g.columns)  # '订单付款时间 ' lost its trailing space
