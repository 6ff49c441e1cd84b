"""Column mapping by synonyms, units from headers, and header signatures."""
from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from kam_core.imports.mapping import (
    FIELDS,
    amount_candidates,
    field_of,
    header_signature,
    suggest_mapping,
    unit_from_header,
)

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason=f"real fixtures folder {REAL} is absent")

PHARMACY = ["购药时间", "社保卡号", "商品编码", "商品名称", "销售数量", "应收金额", "实收金额"]
CN_SUPERSTORE = ["行 ID", "订单 ID", "订单日期", "发货日期", "邮寄方式", "客户 ID", "客户名称", "细分", "城市",
                 "省/自治区", "国家", "地区", "产品 ID", "类别", "子类别", "产品名称", "销售额", "数量", "折扣", "利润"]


def test_the_fields_are_the_designed_thirteen():
    assert FIELDS == ("date", "supplier", "brand", "category", "store", "region", "sku", "product", "qty",
                      "amount", "cost", "profit", "unit_price")


def test_pharmacy_headers_map_with_received_amount_preferred_over_receivable():
    assert suggest_mapping(PHARMACY) == {
        "date": "购药时间", "sku": "商品编码", "product": "商品名称", "qty": "销售数量", "amount": "实收金额"}
    assert amount_candidates(PHARMACY) == ["实收金额", "应收金额"]


def test_chinese_superstore_maps_order_date_not_ship_date():
    assert suggest_mapping(CN_SUPERSTORE) == {
        "date": "订单日期", "category": "类别", "region": "地区", "sku": "产品 ID", "product": "产品名称",
        "qty": "数量", "amount": "销售额", "profit": "利润"}


def test_a_unit_price_or_a_rate_column_is_never_the_amount():
    cols = ["单价", "售价(元)", "毛利率", "成本单价", "金额"]
    assert suggest_mapping(cols) == {"amount": "金额", "unit_price": "单价"}
    assert amount_candidates(["销售单价", "Unit Price", "Price"]) == []
    assert suggest_mapping(["Unit Price", "Qty"]) == {"qty": "Qty", "unit_price": "Unit Price"}


def test_contains_matches_fill_only_what_exact_matches_left_and_use_each_column_once():
    m = suggest_mapping(["发货日期", "订单日期", "门店编码", "本期金额", "退货金额"])
    assert m["date"] == "订单日期"
    assert m["store"] == "门店编码"
    assert m["amount"] == "本期金额"  # leftmost of the two contains-matches
    assert len(set(m.values())) == len(m)


def test_english_synonyms_match_whole_words_only():
    assert suggest_mapping(["Salesperson", "Total Sales"]) == {"amount": "Total Sales"}
    assert field_of("Order Date") == "date" and field_of("vendor") == "supplier" and field_of("Postal Code") is None


def test_headers_with_units_map_and_report_their_multiplier():
    assert suggest_mapping(["销售额(万元)"]) == {"amount": "销售额(万元)"}
    assert unit_from_header("销售额(万元)") == (10000, "wan")
    assert unit_from_header("销售额（万元）") == (10000, "wan")
    assert unit_from_header("金额(千元)") == (1000, "thousand")
    assert unit_from_header("金额(元)") == (1, "yuan")
    assert unit_from_header("金额") == (1, "yuan")
    assert unit_from_header("Sales (10k CNY)") == (10000, "wan")
    assert unit_from_header("Sales (k CNY)") == (1000, "thousand")


def test_header_signature_ignores_spacing_width_and_case_but_not_order():
    a = header_signature(["订单 ID", "销售额（万元）", "Sales "])
    assert a == header_signature(["订单\u3000ID", "销售额(万元)", "sales"])
    assert a != header_signature(["销售额(万元)", "订单 ID", "Sales"])
    assert len(a) == 16


def _csv_header(path: Path, encoding: str, delimiter: str = ",") -> list[str]:
    text = path.read_bytes().decode(encoding)
    return next(csv.reader(io.StringIO(text), delimiter=delimiter))


@needs_real
def test_real_us_superstore_csv_headers_map():
    cols = _csv_header(REAL / "aussachaa_Sample - Superstore.csv", "cp1252")
    assert suggest_mapping(cols) == {
        "date": "Order Date", "category": "Category", "region": "Region", "sku": "Product ID",
        "product": "Product Name", "qty": "Quantity", "amount": "Sales", "profit": "Profit"}


@needs_real
def test_real_taobao_csv_with_a_trailing_space_maps():
    cols = _csv_header(REAL / "wmj_1月.csv", "gb18030")
    assert cols[-1] == "订单付款时间 "
    assert suggest_mapping(cols) == {"date": "订单付款时间 ", "product": "宝贝标题", "amount": "买家实际支付金额"}


@needs_real
def test_real_excel_headers_match_the_expected_text():
    python_calamine = pytest.importorskip("python_calamine")
    wb = python_calamine.CalamineWorkbook.from_path(str(REAL / "sspu_示例 - 超市.xls"))
    assert wb.get_sheet_by_name("订单").to_python()[0] == CN_SUPERSTORE
    wb = python_calamine.CalamineWorkbook.from_path(str(REAL / "bdap_朝阳医院2018年销售数据.xlsx"))
    assert wb.get_sheet_by_name("Sheet1").to_python()[0] == PHARMACY
    wb = python_calamine.CalamineWorkbook.from_path(str(REAL / "luojiateng_超市营业额2.xlsx"))
    cols = wb.get_sheet_by_name("Sheet1").to_python()[0]
    assert suggest_mapping(cols) == {"date": "日期", "store": "柜台", "amount": "交易额"}


def test_field_of_is_the_exact_synonym_match_of_rank_for_every_synonym_and_variant():
    from kam_core.imports.mapping import FIELDS, SYNONYMS, _rank, field_of

    def by_rank(column):
        return next((f for f in FIELDS if _rank(f, column, exact=True) is not None), None)

    columns = [v for f in SYNONYMS for s in SYNONYMS[f] for v in (s, s.upper(), f" {s} ", f"{s}(万元)", f"{s}单价", f"{s}率")]
    columns += ["", "x", "Total Sales", "金 额", "Amount (USD)", "进价金额", "毛利率"]
    assert [field_of(c) for c in columns] == [by_rank(c) for c in columns]
    assert field_of("销售额(万元)") == "amount" and field_of("单价") == "unit_price" and field_of("Salesperson") is None
