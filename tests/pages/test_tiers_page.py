"""Tiers: counts, who is close to the next tier, who moved, the six criteria, the export."""
from __future__ import annotations

import pytest

import json

import pandas as pd
import pyarrow as pa

from core_fixtures import (dataframe_with, fixture_db, fixture_db_file, metrics_by_label,  # noqa: F401
                           open_page, open_shared_page)


def element_with(at, column: str):
    return next(df for df in at.dataframe if column in df.value.columns)


def shown_cells(at, column: str) -> pd.DataFrame:
    """The cell texts the reader sees in the first table with ``column`` (the Styler's display values)."""
    styler = element_with(at, column).proto.arrow_data.styler
    return pa.ipc.open_stream(styler.display_values).read_pandas()


def headers(at, column: str) -> dict[str, dict]:
    """The column configs (label, help, width) of the first table with ``column``."""
    return json.loads(element_with(at, column).proto.columns)


@pytest.fixture
def at(fixture_db):
    """The Tiers page on a private copy of the fixture, for a test that clicks or runs it again."""
    return open_page("tiers")


@pytest.fixture(scope="module")
def read_only_at(fixture_db_file, tmp_path_factory):
    """The Tiers page opened once for this module's tests that only read what it shows."""
    return open_shared_page(fixture_db_file, tmp_path_factory.mktemp("tiers"), "tiers")


def test_the_tiers_page_counts_the_accounts_per_tier_with_the_policy_thresholds(read_only_at):
    at = read_only_at
    assert [t.value for t in at.title] == ["大客户分级"]
    shown = metrics_by_label(at)
    assert {k: shown[k] for k in ("战略性大客户", "伙伴式大客户", "普通大客户", "非大客户")} == {
        "战略性大客户": "1", "伙伴式大客户": "2", "普通大客户": "1", "非大客户": "1"}
    captions = [c.value for c in at.caption]
    for line in ("年度金额 ≥ ¥50,000,000.00", "年度金额 ≥ ¥20,000,000.00", "年度金额 ≥ ¥5,000,000.00",
                 "年度金额 < ¥5,000,000.00", "分级依据：销售额"):
        assert line in captions


def test_the_tab_labels_are_filled_in(read_only_at):
    at = read_only_at
    labels = [tab.label for tab in at.tabs]
    assert labels[0] == "各级大客户数"
    assert labels[2] == "级别变动（2024 → 2025）"
    assert not any("{" in label for label in labels)


def test_the_near_boundary_list_names_the_accounts_within_ten_percent_and_their_gap(read_only_at):
    at = read_only_at
    near = dataframe_with(at, "gap")
    assert list(zip(near["account"], near["tier"], near["gap"])) == [
        ("Echo", "伙伴式大客户", "还差 500.00 万元 升级"),    # 4,999,999.99 to 50M
        ("Delta", "非大客户", "还差 ¥0.01 升级"),             # a gap of one cent is not "0.00 万元"
    ]


def test_the_accounts_table_shows_the_picked_tier(at):
    assert list(dataframe_with(at, "basis_amount")["account"]) == ["Alpha"]
    at.button_group(key="tiers_pick").set_value("partner").run()
    table = dataframe_with(at, "basis_amount")
    assert list(table["account"]) == ["Echo", "Bravo"]
    assert list(table["to_next_tier"]) == pytest.approx([499.999999, 3000.0])   # 万元


def test_the_accounts_table_names_the_tier_only_when_no_tier_is_picked(at):
    assert "tier" not in dataframe_with(at, "basis_amount").columns      # 战略性大客户 is picked above the table
    at.button_group(key="tiers_pick").set_value(None).run()              # the pick undone: every tier
    table = dataframe_with(at, "basis_amount")
    assert list(table.columns)[-3:] == ["tier", "to_next_tier", "dossier"]   # the last: the link
    assert len(table) == 5 and list(shown_cells(at, "basis_amount")["tier"])[0] == "战略性大客户"


def test_the_migration_table_lists_only_the_accounts_that_moved(read_only_at):
    at = read_only_at
    move = dataframe_with(at, "movement")
    assert list(zip(move["account"], move["tier_prev"], move["tier"], move["movement"])) == [
        ("Alpha", "伙伴式大客户", "战略性大客户", "升级"),
        ("Echo", "—", "伙伴式大客户", "新增"),
        ("Delta", "普通大客户", "非大客户", "降级"),
        ("Foxtrot", "普通大客户", "—", "流失"),
    ]


def test_the_criteria_checklist_marks_rank_and_share_and_leaves_the_dossier_criteria_open(read_only_at):
    at = read_only_at
    checklist = dataframe_with(at, "c2")
    assert list(checklist["account"]) == ["Alpha", "Echo", "Bravo", "Charlie", "Delta"]
    assert set(checklist["c2"]) == {"✅"}            # all five rank within 10
    assert set(checklist["c3"]) == {"✅"}            # Delta: 4 % of sales, 3.6 % of profit ≥ 1 %
    assert set(checklist["c1"]) == {"❔"}            # no dossier scores in the fixture
    assert set(checklist["c5"]) == {"❔"}            # no score and no inventory snapshots either
    assert set(checklist["c5_by"]) == {"—"}


def test_the_stop_impact_shows_each_top_accounts_share_of_the_total(read_only_at):
    at = read_only_at
    impact = dataframe_with(at, "sales_drop_share")
    assert list(impact["account"]) == ["Alpha", "Echo", "Bravo", "Charlie", "Delta"]
    assert impact["sales_drop_share"].iloc[0] == pytest.approx(40.0)
    assert impact["sales_without"].iloc[0] == pytest.approx(7500.0)           # 万元


def test_the_tier_table_can_be_downloaded_as_csv_and_built_as_a_workbook(at):
    assert [b.label for b in at.download_button] == ["导出 CSV"]
    at.button(key="tiers_build").click().run()
    assert not at.exception
    assert [b.label for b in at.download_button] == ["下载", "导出 CSV"]


def test_to_next_tier_reads_a_dash_for_the_top_tier_and_amounts_carry_separators(at):
    cells = shown_cells(at, "basis_amount")
    assert list(cells["to_next_tier"]) == ["—"]            # Alpha is strategic: no next tier, never "None"
    assert list(cells["sales"]) == ["5,000.00"]            # 50,000,000 yuan in 万元
    assert list(cells["yoy"]) == ["25.0%"]
    at.button_group(key="tiers_pick").set_value("partner").run()
    assert list(shown_cells(at, "basis_amount")["to_next_tier"]) == ["500.00", "3,000.00"]


def test_amount_headers_carry_no_unit_the_help_does_and_every_column_has_a_width(read_only_at):
    at = read_only_at
    config = headers(at, "basis_amount")
    assert config["sales"]["label"] == "销售额" and config["sales"]["help"] == "单位：万元"
    assert config["to_next_tier"]["label"] == "距下一级"
    assert [k for k, c in config.items() if not isinstance(c.get("width"), int)] == ["_index"]   # hidden
    # the header fits: at least 15 px per Chinese character and the sort arrow's room
    assert config["basis_amount"]["width"] >= 6 * 15 + 30


def test_the_stop_impact_shows_labels_not_codes_in_both_languages(at):
    config = headers(at, "sales_drop_share")
    assert [config[c]["label"] for c in ("sales_without", "sales_drop_share", "profit_drop_share")] == [
        "停止后总销售额", "销售额降幅", "毛利降幅"]
    assert config["sales_without"]["help"] == "单位：万元"     # every table in the one scale
    cells = shown_cells(at, "sales_drop_share")
    assert cells["sales_drop_share"].iloc[0] == "40.0%"      # Alpha: 50M of 125M
    assert cells["sales_without"].iloc[0] == "7,500.00"
    en = open_page("tiers", lang="en")
    config = headers(en, "sales_drop_share")
    assert [config[c]["label"] for c in ("sales_without", "sales_drop_share", "profit_drop_share")] == [
        "Total sales without it", "Sales lost", "Profit lost"]
    assert config["sales_without"]["help"] == "In M CNY"


def test_the_stop_impact_has_an_account_picker(at):
    picker = at.multiselect(key="tiers_stop_pick")
    assert picker.value == ["Alpha", "Echo", "Bravo", "Charlie", "Delta"]    # the top ten by default
    picker.set_value(["Delta"]).run()
    impact = dataframe_with(at, "sales_drop_share")
    assert list(impact["account"]) == ["Delta"]
    assert impact["sales_drop_share"].iloc[0] == pytest.approx(100 * 4_999_999.99 / 125_000_000)


def test_the_criteria_table_scores_each_account_and_links_its_dossier(read_only_at):
    at = read_only_at
    checklist = dataframe_with(at, "c2")
    # c2 and c3 pass for all five, c1 c4 c5 c6 are unknown (no scores, no inventory): 2 of 6 met
    assert list(checklist["criteria_met"]) == [2, 2, 2, 2, 2]
    assert list(shown_cells(at, "c2")["criteria_met"]) == ["满足 2/6 项"] * 5
    assert checklist["dossier"].iloc[0] == "./dossier?year=2025&account=Alpha"
    assert headers(at, "c2")["criteria_met"]["label"] == "满足标准数"
