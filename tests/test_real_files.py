"""Every real file in ../shared/fixtures/real imported as a user would, against its known totals.

The known totals come from ../shared/fixtures/README.md (computed independently
of this project). The files are not in this repository; without them these
tests skip.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.pipeline import ImportOptions, import_file, prepare_import
from kam_core.store import open_store

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
pytestmark = pytest.mark.skipif(not REAL.is_dir(), reason="../shared/fixtures/real is not present (fresh clone)")


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "real.duckdb")
    yield s
    s.close()


def load(store, name, **opts):
    data = (REAL / name).read_bytes()
    return import_file(store, data, name, ImportOptions(**opts))


def total(store, column="amount"):
    return float(store.cursor().execute(f"select sum({column}) from sales").fetchone()[0])


def count(store):
    return store.cursor().execute("select count(*) from sales").fetchone()[0]


def test_pharmacy_receivable_amounts_reconcile_to_the_known_total(store):
    _, plan = load(store, "bdap_朝阳医院2018年销售数据.xlsx", account_from="product-prefix",
                   mapping={"amount": "应收金额"})
    d = plan.report.data
    # 6,577 non-empty rows: each one either loaded or rejected with a reason, never lost
    assert d["rows_accepted"] + d["rows_rejected"] == 6577
    assert d["skipped_by_reason"].get("blank") == 1          # the empty row mid-file; reading went on
    assert d["reconciliation"]["lines_total"] == pytest.approx(331966.20, abs=0.005)
    assert total(store) + d["reconciliation"]["rejected_amount"] == pytest.approx(331966.20, abs=0.005)
    feb29 = {r["row"] for r in plan.report.rejected if str(r["value"]).startswith("2018-02-29")}
    assert len(feb29) == 23
    assert all(r["reason"] == "not a valid date" for r in plan.report.rejected if r["row"] in feb29)
    # the masked social-security column is not mapped, so it is nowhere in the database
    masked = store.cursor().execute(
        "select count(*) from sales where concat_ws('|', sku, product, account, store) like '%*****%'").fetchone()[0]
    assert masked == 0
    # returns are kept as negative lines
    assert store.cursor().execute("select count(*) from sales where amount < 0").fetchone()[0] > 0


def test_pharmacy_paid_amounts_reconcile_too(store):
    _, plan = load(store, "bdap_朝阳医院2018年销售数据.xlsx", account_from="product-prefix",
                   mapping={"amount": "实收金额"})
    assert plan.report.data["reconciliation"]["lines_total"] == pytest.approx(304630.26, abs=0.005)


@pytest.mark.parametrize("name", ["luojiateng_超市营业额2.xlsx", "luojiateng_营业额数据.xlsx"])
def test_counter_takings_in_excel_and_wps_containers_give_the_same_known_total(store, name):
    _, plan = load(store, name, sheets=["Sheet1"], mapping={"supplier": "柜台", "amount": "交易额"})
    d = plan.report.data
    assert d["rows_accepted"] == 246 and d["rows_rejected"] == 3          # 249 rows, 3 without an amount
    assert d["rejected_by_reason"] == {"amount is missing": 3}
    assert total(store) == pytest.approx(327257)
    assert d["accounts"] == 4


def test_a_lookup_sheet_cannot_be_stacked_with_the_fact_sheets(store):
    data = (REAL / "luojiateng_超市营业额2.xlsx").read_bytes()
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, data, "x.xlsx", ImportOptions(sheets=["Sheet1", "Sheet3"],
                                                            mapping={"supplier": "柜台", "amount": "交易额"}))
    assert exc.value.code == "sheet_signatures_differ"


def test_chinese_superstore_xls_by_product_brand_matches_known_sales_and_profit(store):
    _, plan = load(store, "sspu_示例 - 超市.xls", sheets=["订单"], account_from="product-prefix")
    d = plan.report.data
    assert d["mapping"]["date"] == "订单日期"
    assert d["rows_accepted"] == 10000 and d["rows_rejected"] == 0
    assert total(store) == pytest.approx(16117548.24, abs=0.01)
    assert total(store, "profit") == pytest.approx(2156559.52, abs=0.01)
    brands = {r[0] for r in store.cursor().execute("select distinct account from sales").fetchall()}
    assert "Fiskars" in brands


def test_us_superstore_csv_in_windows_1252_matches_known_sales_and_profit(store):
    _, plan = load(store, "aussachaa_Sample - Superstore.csv", account_from="product-prefix")
    d = plan.report.data
    assert d["encoding"] == "cp1252"
    assert d["mapping"]["date"] == "Order Date"
    assert d["rows_accepted"] == 9994
    assert total(store) == pytest.approx(2297200.86, abs=0.01)
    assert total(store, "profit") == pytest.approx(286397.02, abs=0.01)


def test_gbk_orders_csv_with_date_times_and_a_trailing_space_header(store):
    _, plan = load(store, "wmj_1月.csv", account_from="product-prefix",
                   mapping={"date": "订单付款时间", "amount": "买家实际支付金额", "product": "宝贝标题"})
    d = plan.report.data
    assert d["encoding"] in ("gb18030", "gbk")
    assert d["rows_accepted"] == 50
    assert d["date_min"].startswith("2018-")


def test_taobao_shops_with_the_same_columns_stack_and_a_different_one_does_not(store):
    opts = dict(account_from="product-prefix",
                mapping={"date": "订单付款时间", "amount": "买家实际支付金额", "product": "宝贝标题"})
    _, plan = load(store, "wmj_1月.xlsx", sheets=["莫寒", "白桦"], **opts)
    assert plan.report.data["rows_accepted"] == 99
    sheets = {r[0] for r in store.cursor().execute("select distinct source_sheet from sales").fetchall()}
    assert sheets == {"莫寒", "白桦"}
    with pytest.raises(ImportRejected) as exc:
        load(store, "wmj_1月.xlsx", sheets=["明日", "莫寒"], force=True, **opts)
    assert exc.value.code == "sheet_signatures_differ"


@pytest.mark.parametrize("name", ["wmj_JD.csv", "hiflylabs_olist_sellers_dataset.csv", "dsfta_catering_dish_profit.xls"])
def test_files_that_are_not_sales_exports_ask_for_the_missing_fields_and_write_nothing(store, name):
    with pytest.raises(DecisionNeeded) as exc:
        load(store, name)
    assert exc.value.code == "unmapped_required"
    assert count(store) == 0
