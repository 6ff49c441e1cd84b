"""Targets against actuals on the Tiers page and in the dossier; the account plan kept on the dossier.

The fixture's 2025 runs through 7 July: 188 of 365 days. Alpha sold 50M of 饮料, Bravo 20M of 日化.
- Alpha, 饮料 only, 60M for 2025: expected 60M × 188 / 365 = 30,904,109.59, actual 50M (83.3 %): on track.
- Bravo, every category, 50M for 2025: expected 25,753,424.66, actual 20M (40.0 %): behind;
  on this pace 20M × 365 / 188 = 38,829,787.23 at the end.
"""
from __future__ import annotations

import datetime as dt

import pytest

from kam_core import dossier
from kam_core.permissions import SYSTEM
from kam_core.store import open_store

from core_fixtures import dataframe_with, fixture_db, fixture_db_file, open_page  # noqa: F401


@pytest.fixture
def targets_db(fixture_db):
    s = open_store(fixture_db)
    try:
        dossier.add_record(s, SYSTEM, "agreements", "Alpha", {"title": "饮料目标", "valid_from": "2025-01-01",
                                                   "valid_to": "2025-12-31", "target_amount": 60_000_000,
                                                   "category": "饮料", "status": "active"})
        dossier.add_record(s, SYSTEM, "agreements", "Bravo", {"title": "年度目标", "valid_from": "2025-01-01",
                                                   "valid_to": "2025-12-31", "target_amount": 50_000_000,
                                                   "status": "active"})
    finally:
        s.close()
    return fixture_db


def test_the_targets_tab_lists_every_agreement_with_a_target_against_its_actual_sales(targets_db):
    at = open_page("tiers")
    assert [tab.label for tab in at.tabs][-1] == "目标达成"
    table = dataframe_with(at, "progress_share")
    assert list(table["account"]) == ["Alpha", "Bravo"]
    assert list(table["category"]) == ["饮料", "全部品类"]
    assert list(table["target_amount"]) == pytest.approx([6000.0, 5000.0])          # 万元
    assert list(table["actual"]) == pytest.approx([5000.0, 2000.0])
    assert list(table["expected"]) == pytest.approx([3090.410959, 2575.342466])
    assert list(table["progress_share"]) == pytest.approx([83.333333, 40.0])
    assert list(table["projected_end"]) == pytest.approx([9707.446809, 3882.978723])
    assert list(table["state"]) == ["按进度", "落后"]


def test_the_dossier_shows_the_targets_progress_and_the_target_behind_at_the_top(targets_db):
    at = open_page()
    at.switch_page("app_pages/dossier.py")
    at.query_params["account"] = "Bravo"
    at.run()
    assert not at.exception
    lines = [p.proto.text for p in at.get("progress")]
    assert ("年度目标（全部品类）· 落后：实际 2,000.00 万元 / 目标 5,000.00 万元（40.0%），按进度应达 2,575.34 万元，"
            "按当前速度期末 3,882.98 万元（截至 2025-07-07）") in lines
    top = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert "协议「年度目标」的目标（全部品类）落后于按时间进度应达到的水平。" in list(top["reason"])


def test_an_action_added_on_the_account_plan_is_saved_audited_and_shows_when_overdue(targets_db):
    at = open_page()
    at.switch_page("app_pages/dossier.py")
    at.query_params["account"] = "Bravo"
    at.run()
    assert [tab.label for tab in at.tabs][5] == "客户经营计划"
    key = "dz_edit_action_items_Bravo_0"
    due = dt.date.today() - dt.timedelta(days=2)
    at.session_state[key] = {"edited_rows": {}, "deleted_rows": [],
                             "added_rows": [{"title": "确认双11联合促销方案", "due_on": due.isoformat()}]}
    at.button(key="dz_save_action_items_Bravo_0").click().run()
    assert not at.exception
    assert "已保存 1 处修改。" in [s.value for s in at.success]
    assert "行动「确认双11联合促销方案」已逾期 2 天。" in [w.value for w in at.warning]
    top = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert "行动「确认双11联合促销方案」已逾期 2 天。" in list(top["reason"])
    history = [df.value.to_csv() for df in at.dataframe]
    assert any("行动项 #" in h and "确认双11联合促销方案" in h for h in history)    # audited, in the History tab


def test_markdown_in_an_agreements_title_is_shown_as_typed_not_rendered(targets_db):
    s = open_store(targets_db)
    try:
        dossier.add_record(s, SYSTEM, "agreements", "Charlie", {"title": "**加急** :red[目标]", "valid_from": "2025-01-01",
                                                     "valid_to": "2025-12-31", "target_amount": 10_000_000})
    finally:
        s.close()
    at = open_page()
    at.switch_page("app_pages/dossier.py")
    at.query_params["account"] = "Charlie"
    at.run()
    lines = [p.proto.text for p in at.get("progress") if "加急" in p.proto.text]
    assert len(lines) == 1 and lines[0].startswith("\\*\\*加急\\*\\* \\:red\\[目标\\]（全部品类）")
