"""Tiers, to-next-tier, migration, projection, criteria and stop impact, worked out by hand."""
from __future__ import annotations

import datetime as dt
import json

import pandas as pd
import pytest

from kam_core.sales import tiers
from kam_core.settings import save_settings
from kam_core.store import open_store

# The hand-worked 2023–2025 lines of tests/test_metrics.py: Alpha at exactly 50,000,000.00,
# Zeta at 20,000,000.00, Beta and Delta tied at 5,000,000.00 (Beta has no cost, Delta a line
# without cost), Gamma at 4,999,999.99, Eps negative after returns, Omega lost in 2025.
# `store` is test_metrics' fixture: a fresh database holding exactly those lines.
from test_metrics import LINES, PROFIT_2025, TOTAL_2025, add_lines, store  # noqa: E402,F401


def test_tier_frame_has_the_csv_columns_then_the_basis_amount(store):
    df = tiers.assign_tiers(store, 2025)
    assert list(df.columns) == tiers.TIER_COLUMNS + ["basis_amount"]
    assert list(df["account"]) == ["Alpha", "Zeta", "Beta", "Delta", "Gamma", "Eps"]


def test_lower_bounds_are_inclusive_on_the_sales_basis(store):
    df = tiers.assign_tiers(store, 2025).set_index("account")
    assert df["tier"].to_dict() == {
        "Alpha": "strategic", "Zeta": "partner", "Beta": "ordinary",
        "Delta": "ordinary", "Gamma": "none", "Eps": "none",
    }
    assert pd.isna(df.loc["Alpha", "to_next_tier"])
    assert df.loc["Zeta", "to_next_tier"] == 30_000_000.0
    assert df.loc["Beta", "to_next_tier"] == 15_000_000.0
    assert df.loc["Gamma", "to_next_tier"] == 0.01
    assert df.loc["Eps", "to_next_tier"] == 5_200_000.0


def test_cost_basis_sums_known_costs_and_leaves_accounts_without_costs_untiered(store):
    df = tiers.assign_tiers(store, 2025, basis="cost").set_index("account")
    assert df["basis_amount"].to_dict() == pytest.approx(
        {"Alpha": 46_000_000.0, "Zeta": 18_000_000.0, "Beta": float("nan"), "Delta": 3_600_000.0,
         "Gamma": 5_099_999.99, "Eps": -180_000.0}, nan_ok=True)
    assert df["tier"].to_dict() == {
        "Alpha": "partner", "Zeta": "ordinary", "Beta": None, "Delta": "none", "Gamma": "ordinary", "Eps": "none",
    }
    assert df.loc["Alpha", "to_next_tier"] == 4_000_000.0
    assert df.loc["Delta", "to_next_tier"] == 1_400_000.0
    assert pd.isna(df.loc["Beta", "to_next_tier"])
    # the basis changes the tier, never the sales ranking
    assert list(df.index) == ["Alpha", "Zeta", "Beta", "Delta", "Gamma", "Eps"]


def test_stored_cost_basis_setting_is_the_default_basis(store):
    save_settings(store, {"tier_basis": "cost"})
    assert tiers.assign_tiers(store, 2025).set_index("account").loc["Alpha", "tier"] == "partner"


def test_changed_thresholds_apply_without_restarting(store):
    assert tiers.assign_tiers(store, 2025).set_index("account").loc["Gamma", "tier"] == "none"
    save_settings(store, {"tier_ordinary_min": 4_000_000, "tier_partner_min": 30_000_000})
    df = tiers.assign_tiers(store, 2025).set_index("account")
    assert df.loc["Gamma", "tier"] == "ordinary"
    assert df.loc["Gamma", "to_next_tier"] == 25_000_000.01
    assert df.loc["Zeta", "tier"] == "ordinary"
    assert df.loc["Zeta", "to_next_tier"] == 10_000_000.0


def test_tier_csv_is_exact_for_a_hand_worked_year(tmp_path):
    s = open_store(tmp_path / "csv.duckdb")
    add_lines(s, [
        ("2025-03-01", "甲", "6000000.00", None, "600000.00"),
        ("2025-03-01", "乙", "3000000.00", None, None),
        ("2025-03-01", "丙", "1000000.00", None, "-100000.00"),
        ("2024-03-01", "甲", "4800000.00", None, None),
    ])
    assert tiers.tier_csv(tiers.assign_tiers(s, 2025)) == (
        "account,year,sales,gross_profit,margin,share,profit_share,rank,profit_rank,cum_share,abc,yoy,tier,to_next_tier\n"
        "甲,2025,6000000.00,600000.00,0.100000,0.600000,1.200000,1,1,0.600000,A,0.250000,ordinary,14000000.00\n"
        "乙,2025,3000000.00,,,0.300000,,2,,0.900000,A,,none,2000000.00\n"
        "丙,2025,1000000.00,-100000.00,-0.100000,0.100000,-0.200000,3,2,1.000000,B,,none,4000000.00\n"
    )


def test_tier_csv_of_no_accounts_is_the_header_only(store):
    assert tiers.tier_csv(tiers.assign_tiers(store, 2031)) == ",".join(tiers.TIER_COLUMNS) + "\n"


def test_tier_json_carries_the_same_rounded_values_with_nulls(store):
    records = json.loads(tiers.tier_json(tiers.assign_tiers(store, 2025)))
    assert [r["account"] for r in records] == ["Alpha", "Zeta", "Beta", "Delta", "Gamma", "Eps"]
    gamma = records[4]
    assert list(gamma) == tiers.TIER_COLUMNS
    assert (gamma["sales"], gamma["rank"], gamma["tier"], gamma["to_next_tier"]) == (4999999.99, 5, "none", 0.01)
    assert records[0]["to_next_tier"] is None and records[1]["yoy"] is None


def test_migration_names_up_down_same_new_and_lost(store):
    df = tiers.tier_migration(store, 2025)
    assert df.to_dict("records") == [
        {"account": "Alpha", "tier_prev": "partner", "tier": "strategic", "movement": "up"},
        {"account": "Zeta", "tier_prev": None, "tier": "partner", "movement": "new"},
        {"account": "Beta", "tier_prev": None, "tier": "ordinary", "movement": "new"},  # gap year
        {"account": "Delta", "tier_prev": None, "tier": "ordinary", "movement": "new"},
        {"account": "Gamma", "tier_prev": "ordinary", "tier": "none", "movement": "down"},
        {"account": "Eps", "tier_prev": "none", "tier": "none", "movement": "same"},
        {"account": "Omega", "tier_prev": "ordinary", "tier": None, "movement": "lost"},
    ]


def test_criteria_checklist_passes_fails_and_leaves_unknown(store):
    scores = pd.DataFrame([{"account": "Alpha", "brand_awareness": 5, "cooperation": 4,
                            "supply_priority": 3, "new_product_priority": None}])
    df = tiers.criteria_checklist(store, 2025, settings={"criteria_top_n": 3}, scores=scores).set_index("account")
    assert df.loc["Alpha", list(tiers.CRITERIA)].to_dict() == {"c1": "pass", "c2": "pass", "c3": "pass", "c4": "pass",
                                                               "c5": "fail", "c6": "unknown"}
    assert (df.loc["Alpha", "c5_by"], df.loc["Alpha", "c5_score"], df.loc["Alpha", "c6_by"]) == ("score", 3.0, None)
    assert df.loc["Beta", "c2"] == "pass" and df.loc["Delta", "c2"] == "fail"
    assert df.loc["Eps", "c3"] == "fail"  # negative share
    assert df.loc["Delta", "c3"] == "pass"  # 5.9 % of sales, 5.9 % of profit
    assert df.loc["Beta", "c1"] == "unknown"


def test_criterion_three_is_unknown_when_profit_is_unknown(store):
    df = tiers.criteria_checklist(store, 2024).set_index("account")
    assert df.loc["Omega", "c3"] == "unknown"  # share 11.8 %, profit unknown
    assert df.loc["Eps", "c3"] == "fail"  # share 0
    assert set(df[["c1", "c4", "c5", "c6"]].stack()) == {"unknown"}


def test_stop_impact_gives_the_company_without_each_top_account(store):
    df = tiers.stop_impact(store, 2025, top=2)
    assert list(df["account"]) == ["Alpha", "Zeta"]
    alpha = df.iloc[0]
    assert alpha["sales_without"] == pytest.approx(34_799_999.99, abs=1e-6)
    assert alpha["gross_profit_without"] == 2_780_000.0
    assert alpha["sales_drop_share"] == pytest.approx(50_000_000 / TOTAL_2025, rel=1e-12)
    assert alpha["profit_drop_share"] == pytest.approx(4_000_000 / PROFIT_2025, rel=1e-12)


def test_near_boundary_finds_accounts_just_below_the_next_threshold(store):
    df = tiers.assign_tiers(store, 2025)
    assert list(tiers.near_boundary(df)["account"]) == ["Gamma"]
    wide = tiers.near_boundary(df, within=0.8)
    assert list(wide["account"]) == ["Zeta", "Beta", "Delta", "Gamma"]
    assert list(wide["next_threshold"]) == [50_000_000.0, 20_000_000.0, 20_000_000.0, 5_000_000.0]


def test_criteria_five_and_six_from_data_sit_beside_the_score_and_decide_only_without_one(tmp_path):
    from sales_lines import add_sales

    s = open_store(tmp_path / "c56.duckdb")
    add_sales(s, ["date", "account", "sku", "amount"], [
        ("2024-05-01", "A", "a1", 100), ("2024-05-01", "B", "b1", 100),          # 2024: the SKUs known before
        ("2025-03-01", "A", "a1", 300), ("2025-03-01", "A", "a2", 100),          # A: a2 is new, 100 of 400 = 25 %
        ("2025-03-01", "B", "b1", 500), ("2025-04-01", "B", "b2", 500)])         # B: b2 new, 500 of 1,000 = 50 %
    # snapshots in 2025: A out of stock on 1 of 4 rows (25 %), B on 2 of 4 (50 %); company 3 of 8 = 37.5 %
    cur = s.cursor()
    for account, qty in [("A", 0), ("A", 5), ("A", 5), ("A", 5), ("B", 0), ("B", -1), ("B", 5), ("B", 5)]:
        cur.execute("insert into inventory (import_id, snapshot_date, account, sku, qty_on_hand) values"
                    " (9, '2025-06-30', ?, 'x', ?)", [account, qty])
    scores = pd.DataFrame([{"account": "B", "brand_awareness": None, "cooperation": None,
                            "supply_priority": 5, "new_product_priority": None}])
    df = tiers.criteria_checklist(s, 2025, scores=scores).set_index("account")
    assert df.loc["A", "stockout_share"] == 0.25 and df.loc["A", "company_stockout_share"] == 0.375
    assert (df.loc["A", "c5_data"], df.loc["A", "c5"], df.loc["A", "c5_by"]) == ("pass", "pass", "data")
    # B's data says fail (50 % > 37.5 %), but the manager scored 5: the score decides, the data stays beside it
    assert (df.loc["B", "c5_data"], df.loc["B", "c5"], df.loc["B", "c5_by"]) == ("fail", "pass", "score")
    # new SKUs: company (100 + 500) / (400 + 1,000) = 42.9 %; A 25 % fails, B 50 % passes
    assert df.loc["A", "new_sku_share"] == 0.25 and df.loc["B", "new_sku_share"] == 0.5
    assert df.loc["A", "company_new_sku_share"] == pytest.approx(600 / 1400)
    assert (df.loc["A", "c6"], df.loc["B", "c6"], df.loc["B", "c6_by"]) == ("fail", "pass", "data")
    # in the first year of data every SKU would look new: no verdict from data
    first_year = tiers.criteria_checklist(s, 2024).set_index("account")
    assert set(first_year["c6_data"]) == {"unknown"}


def test_the_pages_csv_has_the_languages_headers_and_rounded_values():
    import io

    from kam_core.ui.tables import table_csv

    table = pd.DataFrame({
        "account": ["Alpha", "=cmd"], "year": [2025, 2025], "sales": [50_000_000.004, 1234.5],
        "gross_profit": [5e6, None], "margin": [0.1, None], "share": [0.10918320825407463, 3.03e-05],
        "profit_share": [0.4, None], "rank": [1, 2], "profit_rank": [1, None], "cum_share": [0.4, 1.0],
        "abc": ["A", "C"], "yoy": [0.25, None], "tier": ["strategic", "none"], "to_next_tier": [None, 4_998_765.5]})
    raw = table_csv(table, tiers.TIER_COLUMNS, "zh")
    assert raw.startswith("\ufeff".encode())                      # Chinese Excel reads UTF-8 with its BOM
    frame = pd.read_csv(io.BytesIO(raw), encoding="utf-8-sig", dtype=str, keep_default_na=False)
    assert list(frame.columns) == ["客户/供应商", "年度", "销售额（元）", "毛利（元）", "毛利率（%）", "销售占比（%）",
                                   "毛利占比（%）", "销售排名", "毛利排名", "累计占比（%）", "ABC 分类", "同比（%）",
                                   "级别", "距下一级（元）"]
    assert frame.iloc[0].tolist() == ["Alpha", "2025", "50000000.0", "5000000.0", "10.0", "10.92", "40.0", "1",
                                      "1", "40.0", "A", "25.0", "战略性大客户", ""]
    assert frame.iloc[1].tolist() == ["'=cmd", "2025", "1234.5", "", "", "0.0", "", "2", "", "100.0", "C", "",
                                      "非大客户", "4998765.5"]
    english = pd.read_csv(io.BytesIO(table_csv(table, tiers.TIER_COLUMNS, "en")), encoding="utf-8-sig")
    assert list(english.columns[:3]) == ["Account", "Year", "Sales (CNY)"]
    assert english["Tier"].tolist() == ["Strategic key account", "Not a key account"]
