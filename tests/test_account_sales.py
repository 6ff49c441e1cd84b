"""One account's sales aggregates for the dossier page, on hand-made lines."""
from __future__ import annotations

import datetime as dt

import pytest

from kam_core.sales import accounts as acs
from kam_core.sales.periods import Filters
from kam_core.store import open_store
from sales_lines import add_sales


@pytest.fixture
def store():
    s = open_store(":memory:")
    add_sales(s, ["date", "account", "category", "region", "store", "sku", "product", "qty", "amount", "profit"], [
        ("2024-12-30", "Acme", "饮料", "华东", "S1", "A1", "可乐", 1, 10, 1),
        ("2025-01-05", "Acme", "饮料", "华东", "S1", "A1", "可乐", 10, 100, 10),
        ("2025-01-20", "Acme", "零食", "华北", "S2", "B1", "薯片", 5, 50, 5),
        ("2025-03-02", "Acme", "饮料", "华北", "S2", "A1", "可乐", 4, 40, None),
        ("2025-03-02", "Beta", "饮料", "华东", "S1", "A1", "可乐", 99, 990, 99),
    ])
    yield s
    s.close()


SETTINGS = {"fiscal_start_month": 1}


def test_monthly_sums_each_calendar_month_of_the_year_and_the_one_before(store):
    df = acs.monthly(store, "Acme", 2025, SETTINGS)
    assert [str(m.date()) for m in df["month"]] == ["2024-12-01", "2025-01-01", "2025-03-01"]
    assert df["sales"].tolist() == [10.0, 150.0, 40.0]
    # March's only line has no profit: unknown, not zero
    assert df["gross_profit"].tolist()[:2] == [1.0, 15.0]
    assert df["gross_profit"].isna().tolist() == [False, False, True]


def test_a_fiscal_year_starting_in_december_takes_in_the_december_before(store):
    df = acs.mix(store, "Acme", 2024, "category", {"fiscal_start_month": 12})
    assert df[["category", "sales"]].values.tolist() == [["饮料", 150.0], ["零食", 50.0]]


def test_mix_gives_each_category_its_share_of_the_accounts_year(store):
    df = acs.mix(store, "Acme", 2025, "category", SETTINGS)
    assert df["category"].tolist() == ["饮料", "零食"]
    assert df["sales"].tolist() == [140.0, 50.0]
    assert df["share"].round(6).tolist() == [round(140 / 190, 6), round(50 / 190, 6)]


def test_mix_respects_the_sidebar_filters(store):
    df = acs.mix(store, "Acme", 2025, "region", SETTINGS, Filters(region=("华北",)))
    assert df[["region", "sales", "share"]].values.tolist() == [["华北", 90.0, 1.0]]


def test_mix_refuses_a_column_that_is_not_a_dimension(store):
    with pytest.raises(ValueError):
        acs.mix(store, "Acme", 2025, "amount; drop table sales", SETTINGS)


def test_top_products_ranks_by_sales_with_quantities_and_shares(store):
    df = acs.top_products(store, "Acme", 2025, 10, SETTINGS)
    assert df[["sku", "product", "qty", "sales"]].values.tolist() == [["A1", "可乐", 14.0, 140.0], ["B1", "薯片", 5.0, 50.0]]
    assert df["share"].round(4).tolist() == [round(140 / 190, 4), round(50 / 190, 4)]


def test_recent_orders_are_order_days_newest_first(store):
    df = acs.recent_orders(store, "Acme", limit=2)
    assert [str(d.date()) for d in df["date"]] == ["2025-03-02", "2025-01-20"]
    assert df["sales"].tolist() == [40.0, 50.0]


def test_weeks_of_cover_divide_stock_by_the_average_weekly_sales_before_the_snapshot(store):
    store.cursor().execute(
        "insert into inventory (import_id, snapshot_date, account, sku, product, qty_on_hand, stock_value) values"
        " (2, '2025-03-03', 'Acme', 'A1', '可乐', 7, 70), (2, '2025-03-03', 'Acme', 'B1', '薯片', 3, 30),"
        " (2, '2025-03-03', 'Acme', 'C1', '新品', 2, 20), (2, '2025-01-01', 'Acme', 'A1', '可乐', 999, 9990)"
    )
    df = acs.weeks_of_cover(store, "Acme", weeks=8)
    # 8 weeks before 2025-03-03 start on 2025-01-06: A1 sold 4 (2025-03-02), B1 5 (2025-01-20); C1 nothing
    assert df["snapshot_date"].iloc[0].date() == dt.date(2025, 3, 3)
    assert df["sku"].tolist() == ["A1", "B1", "C1"]
    assert df["weekly_qty"].tolist()[:2] == [0.5, 0.625]
    assert df["weeks_of_cover"].tolist()[:2] == [14.0, 4.8]
    assert df["weeks_of_cover"].isna().tolist() == [False, False, True]


def test_no_inventory_snapshot_gives_an_empty_table(store):
    assert acs.weeks_of_cover(store, "Acme").empty
