"""The demo generator: fixed-seed sales with every tier populated, its load, its sample exports."""
from __future__ import annotations

import csv
import io
import re
from datetime import date, datetime
from decimal import Decimal

import numpy as np
import openpyxl
import pandas as pd
import pytest

from kam_core import demo
from kam_core.store import open_store

TODAY = date(2026, 11, 27)
STRATEGIC, PARTNER, ORDINARY = 50_000_000, 20_000_000, 5_000_000


@pytest.fixture(scope="module")
def sales() -> pd.DataFrame:
    return demo.generate_sales(today=TODAY)


@pytest.fixture(scope="module")
def yearly(sales: pd.DataFrame) -> pd.DataFrame:
    """Σ amount per supplier (rows) and year (columns); NaN where a supplier did not sell."""
    return sales.groupby([sales["date"].dt.year, "supplier"])["amount"].sum().unstack(0)


@pytest.fixture(scope="module")
def loaded(tmp_path_factory, sales):
    store = open_store(tmp_path_factory.mktemp("demo") / "kam.duckdb")
    version_before = store.data_version()
    import_id = demo.load_demo(store, today=TODAY)
    yield store, import_id, version_before
    store.close()


def _cents(s: pd.Series) -> int:
    return int(np.round(s.to_numpy(dtype=float) * 100).astype(np.int64).sum())


# -- generation ---------------------------------------------------------------
def test_the_same_seed_and_day_generate_identical_sales_every_time(sales):
    demo._generate.cache_clear()
    again = demo.generate_sales(today=TODAY)
    pd.testing.assert_frame_equal(sales, again)


def test_another_seed_generates_other_sales(sales):
    other = demo.generate_sales(seed=7, today=TODAY)
    assert not other["amount"].equals(sales["amount"])


def test_the_columns_are_the_documented_ones_in_order(sales):
    assert list(sales.columns) == ["date", "store", "region", "supplier", "brand", "category",
                                   "sku", "product", "qty", "amount", "cost", "profit"]


def test_the_data_covers_three_full_years_and_the_current_year_to_today(sales):
    assert sales["date"].min() == pd.Timestamp("2023-01-01")
    assert sales["date"].max() == pd.Timestamp("2026-11-27")
    assert sorted(sales["date"].dt.year.unique()) == [2023, 2024, 2025, 2026]
    assert demo.demo_years(TODAY) == [2023, 2024, 2025, 2026]


def test_the_line_count_is_between_250k_and_400k(sales):
    assert 250_000 <= len(sales) <= 400_000


@pytest.mark.parametrize("year", [2023, 2024, 2025, 2026])
def test_every_year_populates_every_tier(yearly, year):
    s = yearly[year].dropna()
    assert 3 <= int((s >= STRATEGIC).sum()) <= 6
    assert int(((s >= PARTNER) & (s < STRATEGIC)).sum()) >= 12
    assert int(((s >= ORDINARY) & (s < PARTNER)).sum()) >= 24
    assert int((s < ORDINARY).sum()) >= 150


def test_some_suppliers_change_tier_from_one_year_to_the_next(yearly):
    tiers = np.select([yearly >= STRATEGIC, yearly >= PARTNER, yearly >= ORDINARY], [3, 2, 1], 0)
    tiers = pd.DataFrame(tiers, index=yearly.index, columns=yearly.columns)
    both = yearly[[2024, 2025]].notna().all(axis=1)
    moved = (tiers.loc[both, 2024] != tiers.loc[both, 2025]).sum()
    assert moved >= 5
    # at least one strategic account changes between the full years
    assert set(tiers.index[tiers[2023] == 3]) != set(tiers.index[tiers[2025] == 3])


def test_two_suppliers_are_new_from_2025_and_two_are_lost_after_2024(yearly):
    sold = yearly.notna()
    new = sold.index[~sold[2023] & ~sold[2024] & sold[2025] & sold[2026]]
    lost = sold.index[sold[2023] & sold[2024] & ~sold[2025] & ~sold[2026]]
    assert len(new) == 2 and len(lost) == 2
    assert sold.all(axis=1).sum() == len(yearly) - 4
    # one of each is big enough to be an ordinary key account
    assert yearly.loc[new, 2025].max() >= ORDINARY
    assert yearly.loc[lost, 2024].max() >= ORDINARY


def test_there_are_about_300_suppliers_each_with_one_brand_and_a_chinese_company_name(sales):
    brands = sales.groupby("supplier")["brand"].nunique()
    assert 280 <= len(brands) <= 320
    assert (brands == 1).all()
    assert sales.groupby("brand")["supplier"].nunique().max() == 1
    assert all(re.fullmatch(r"[\u4e00-\u9fff]+有限公司", s) for s in brands.index)


def test_forty_stores_sit_in_six_regions_each_store_in_one(sales):
    pairs = sales[["store", "region"]].drop_duplicates()
    assert pairs["store"].nunique() == 40 and len(pairs) == 40
    assert set(pairs["region"]) == {"华东", "华南", "华北", "华中", "西南", "西北"}
    assert pairs["store"].str.endswith("店").all()


def test_there_are_eight_to_ten_categories_and_each_supplier_sells_in_one_or_two(sales):
    assert 8 <= sales["category"].nunique() <= 10
    per_supplier = sales.groupby("supplier")["category"].nunique()
    assert per_supplier.max() <= 2
    assert (per_supplier == 1).sum() > len(per_supplier) / 2


def test_skus_are_seven_digit_text_and_many_start_with_zero(sales):
    assert sales["sku"].str.fullmatch(r"\d{7}").all()
    assert (sales["sku"].str[0] == "0").mean() > 0.2
    assert (sales["sku"].str[:2] == "00").any()


def test_money_has_two_decimals_and_profit_is_amount_minus_cost_to_the_cent(sales):
    for col in ("amount", "cost", "profit"):
        v = sales[col].to_numpy()
        assert np.allclose(v * 100, np.round(v * 100), atol=1e-6), col
    a = np.round(sales["amount"].to_numpy() * 100).astype(np.int64)
    c = np.round(sales["cost"].to_numpy() * 100).astype(np.int64)
    p = np.round(sales["profit"].to_numpy() * 100).astype(np.int64)
    assert (a - c == p).all()
    assert (a != 0).all()


def test_supplier_margins_lie_between_5_and_35_percent(sales):
    g = sales.groupby("supplier")[["amount", "profit"]].sum()
    margin = g["profit"] / g["amount"]
    assert margin.min() >= 0.04 and margin.max() <= 0.36
    assert margin.max() - margin.min() > 0.15


def test_about_two_percent_of_lines_are_returns_with_everything_negative(sales):
    ret = sales[sales["amount"] < 0]
    assert 0.015 <= len(ret) / len(sales) <= 0.025
    assert (ret["qty"] < 0).all() and (ret["cost"] < 0).all()
    assert (sales.loc[sales["amount"] > 0, "qty"] > 0).all()


def test_spring_festival_618_and_double_11_lift_their_months(sales):
    monthly = sales[sales["date"].dt.year == 2025].groupby(sales["date"].dt.month)["amount"].sum()
    # 2025's Spring Festival fell on 29 January
    assert monthly[1] > monthly[3] * 1.15
    assert monthly[6] > monthly[5] * 1.1
    assert monthly[11] == monthly.max()


# -- load_demo ------------------------------------------------------------------
def test_load_demo_writes_exactly_one_import_batch_matching_the_lines(loaded, sales):
    store, import_id, _ = loaded
    rows = store.cursor().execute(
        "select id, kind, file_name, status, rows_loaded, rows_read, amount_total, profit_total,"
        " date_min, date_max, sheets from imports").fetchall()
    assert len(rows) == 1
    rid, kind, name, status, loaded_n, read_n, amount, profit, dmin, dmax, sheets = rows[0]
    assert rid == import_id
    assert (kind, name, status, sheets) == ("sales", "演示数据 demo", "loaded", '["demo"]')
    assert loaded_n == read_n == len(sales)
    assert amount == Decimal(_cents(sales["amount"])) / 100
    assert profit == Decimal(_cents(sales["profit"])) / 100
    assert (dmin, dmax) == (date(2023, 1, 1), TODAY)


def test_loaded_sales_sum_to_the_generated_cents_per_supplier(loaded, sales):
    store, import_id, _ = loaded
    got = dict(store.cursor().execute(
        "select account, sum(amount) from sales where import_id = ? group by account", [import_id]).fetchall())
    want = sales.groupby("supplier")["amount"].apply(_cents)
    assert len(got) == len(want)
    assert all(got[s] == Decimal(int(c)) / 100 for s, c in want.items())


def test_skus_keep_their_leading_zeros_in_the_database(loaded, sales):
    store, import_id, _ = loaded
    skus = {r[0] for r in store.cursor().execute("select distinct sku from sales").fetchall()}
    assert skus == set(sales["sku"])
    assert any(s.startswith("00") for s in skus)


def test_load_demo_registers_each_supplier_as_its_own_alias_and_bumps_the_data_version(loaded, sales):
    store, _, version_before = loaded
    n, same = store.cursor().execute(
        "select count(*), count(*) filter (where account = alias) from account_aliases").fetchone()
    assert n == same == sales["supplier"].nunique()
    assert store.data_version() == version_before + 1


def test_loading_the_demo_again_writes_nothing_and_returns_the_same_id(loaded, sales):
    store, import_id, _ = loaded
    version = store.data_version()
    assert demo.load_demo(store, today=TODAY) == import_id
    cur = store.cursor()
    assert cur.execute("select count(*) from imports").fetchone()[0] == 1
    assert cur.execute("select count(*) from sales").fetchone()[0] == len(sales)
    assert store.data_version() == version


def test_a_failed_demo_load_leaves_the_database_unchanged(tmp_path):
    store = open_store(tmp_path / "kam.duckdb")
    cur = store.cursor()
    # occupy the id the sequence will hand out, so the imports insert fails after the sales insert
    cur.execute("insert into imports (id, file_name, sha256, sheets) values (1, 'x', 'y', '[]')")
    version = store.data_version()
    with pytest.raises(Exception):
        demo.load_demo(store, today=TODAY)
    assert cur.execute("select count(*) from sales").fetchone()[0] == 0
    assert cur.execute("select count(*) from account_aliases").fetchone()[0] == 0
    assert cur.execute("select count(*) from imports").fetchone()[0] == 1
    assert store.data_version() == version
    store.close()


# -- sample exports ---------------------------------------------------------------
@pytest.fixture(scope="module")
def samples(tmp_path_factory):
    out = tmp_path_factory.mktemp("samples")
    return demo.write_sample_exports(out, today=TODAY)


def test_both_sample_files_are_written_and_returned(samples):
    assert [p.name for p in samples] == ["sample_messy_export.xlsx", "sample_gbk_export.csv"]
    assert all(p.is_file() and p.stat().st_size > 10_000 for p in samples)


def test_the_messy_xlsx_has_a_merged_title_a_filter_line_a_blank_row_and_a_totals_row(samples):
    ws = openpyxl.load_workbook(samples[0]).active
    assert ws["A1"].value == "2026年10月供应商销售明细表"
    assert "A1:L1" in {str(r) for r in ws.merged_cells.ranges}
    assert ws["A2"].value == "日期：2026-10-01 至 2026-10-31  门店：全部"
    assert all(c.value is None for c in ws[3])
    header = [c.value for c in ws[4]]
    assert {"销售额(万元)", "成本(万元)", "毛利(万元)", "商品编码"} <= set(header)
    rows = list(ws.iter_rows(min_row=5, values_only=True))
    data, total = rows[:-1], rows[-1]
    assert total[0] == "合计"
    summary = demo.sample_summary(TODAY)["sample_messy_export.xlsx"]
    assert len(data) == summary["rows"]
    i_amount, i_sku = header.index("销售额(万元)"), header.index("商品编码")
    assert all(isinstance(r[0], datetime) and r[0].year == 2026 and r[0].month == 10 for r in data)
    assert all(isinstance(r[i_sku], str) and len(r[i_sku]) == 7 for r in data)
    assert any(r[i_sku].startswith("0") for r in data)
    # amounts in 万元 reconstruct the yuan totals to the cent, and the 合计 row agrees
    cents = sum(round(r[i_amount] * 1_000_000) for r in data)
    assert cents == round(summary["amount"] * 100) == round(total[i_amount] * 1_000_000)
    assert demo.sample_totals(TODAY)["sample_messy_export.xlsx"] == summary["amount"]


def test_the_csv_is_gbk_without_bom_and_not_utf8(samples):
    raw = samples[1].read_bytes()
    assert not raw.startswith(b"\xef\xbb\xbf")
    with pytest.raises(UnicodeDecodeError):
        raw.decode("utf-8")
    text = raw.decode("gbk")
    assert text.splitlines()[0] == "销售日期,门店,供应商,品牌,商品编码,商品名称,数量,销售金额,成本金额"


def test_the_csv_has_year_first_dates_quoted_thousands_and_reconciles_to_its_total(samples):
    rows = list(csv.reader(io.StringIO(samples[1].read_bytes().decode("gbk"))))
    body = rows[1:]
    assert all(re.fullmatch(r"2026/10/\d{1,2}", r[0]) for r in body)
    assert any(r[0] == "2026/10/3" for r in body)
    assert any("," in r[7] for r in body) and any("," not in r[7] for r in body)
    assert any(r[4].startswith("0") for r in body)
    cents = sum(round(float(r[7].replace(",", "")) * 100) for r in body)
    assert cents == round(demo.sample_totals(TODAY)["sample_gbk_export.csv"] * 100)
    assert len(body) == demo.sample_summary(TODAY)["sample_gbk_export.csv"]["rows"]
    assert 1500 <= len(body) <= 2500
