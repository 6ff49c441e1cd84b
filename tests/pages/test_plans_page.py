"""AppTests of the Plans page on the demo database."""
from __future__ import annotations

import pandas as pd
import pytest

from kam_core.dossier import plans
from kam_core.permissions import SYSTEM
from kam_core.store import open_store

PAGE = "app_pages/plans.py"


def test_the_plans_page_shows_the_timeline_budgets_uplift_and_checklists(read_app, read_only_db):
    at = read_app(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "共赢营销计划"
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    store = open_store(read_only_db)
    try:
        all_plans = plans.plans_frame(store, SYSTEM)
        n_accounts = all_plans["account"].nunique()
    finally:
        store.close()
    tables = [d.value for d in at.dataframe]
    plan_table = next(t for t in tables if "提供方" in t.columns)
    assert len(plan_table) == len(all_plans)
    checklist = next(t for t in tables if "已完成" in t.columns)
    assert len(checklist) == n_accounts == 20


def test_filtering_by_one_account_narrows_the_plans_and_the_checklist(read_app, read_only_db):
    at = read_app(PAGE).run()
    account = at.multiselect(key="pl_accounts").options[0]
    at.multiselect(key="pl_accounts").set_value([account]).run()
    assert not at.exception
    store = open_store(read_only_db)
    try:
        expected = len(plans.plans_frame(store, SYSTEM, account=account))
    finally:
        store.close()
    tables = [d.value for d in at.dataframe]
    plan_table = next(t for t in tables if "提供方" in t.columns)
    assert set(plan_table["客户/供应商"]) == {account}
    assert len(plan_table) == expected
    assert next(t for t in tables if "已完成" in t.columns)["客户/供应商"].tolist() == [account]


def test_the_plans_page_speaks_english_when_asked(read_app):
    at = read_app(PAGE, query={"lang": "en"}).run()
    assert not at.exception
    assert at.title[0].value == "Joint marketing plans"


# -- adding and editing plans here, with the dossier's permission rules (issue 16) --
def editor_of(at, account: str):
    return next((e for e in at.data_editor if e.key == f"dz_edit_plans_{account}_0"), None)


def test_a_director_adds_a_plan_on_the_plans_page(app, demo_db):
    at = app(PAGE).run()
    account = at.selectbox(key="pl_edit_account").options[0]
    at.selectbox(key="pl_edit_account").set_value(account).run()
    assert editor_of(at, account) is not None
    new = {"kind": "monthly_promotion", "side": "ours", "title": "春季联合促销", "period_start": "2026-03-01",
           "period_end": "2026-03-15", "budget": 50000}
    at.session_state[f"dz_edit_plans_{account}_0"] = {"edited_rows": {}, "added_rows": [new], "deleted_rows": []}
    at.button(key=f"dz_save_plans_{account}_0").click().run()
    assert not at.exception
    assert "已保存 1 处修改。" in [s.value for s in at.success]
    store = open_store(demo_db)
    try:
        mine = plans.plans_frame(store, SYSTEM, account=account)
    finally:
        store.close()
    row = mine[mine["title"] == "春季联合促销"]
    assert len(row) == 1
    assert (str(pd.Timestamp(row["period_start"].iloc[0]).date()), str(pd.Timestamp(row["period_end"].iloc[0]).date()),
            float(row["budget"].iloc[0]), row["side"].iloc[0]) == ("2026-03-01", "2026-03-15", 50000.0, "ours")
    plan_table = next(t.value for t in at.dataframe if "提供方" in t.value.columns)
    assert "春季联合促销" in set(plan_table["名称"])          # the page shows it after the save


def test_a_director_edits_a_plans_notes_on_the_plans_page(app, demo_db):
    at = app(PAGE).run()
    account = at.selectbox(key="pl_edit_account").options[0]
    at.selectbox(key="pl_edit_account").set_value(account).run()
    first_id = int(editor_of(at, account).value["id"].iloc[0])
    at.session_state[f"dz_edit_plans_{account}_0"] = {"edited_rows": {0: {"notes": "预算已确认"}}, "added_rows": [],
                                                      "deleted_rows": []}
    at.button(key=f"dz_save_plans_{account}_0").click().run()
    assert not at.exception
    store = open_store(demo_db)
    try:
        mine = plans.plans_frame(store, SYSTEM, account=account).set_index("id")
    finally:
        store.close()
    assert mine.loc[first_id, "notes"] == "预算已确认"


@pytest.mark.parametrize("role", ["viewer", "manager:li_kam"])
def test_a_viewer_or_a_manager_who_does_not_own_the_account_only_reads_the_plans(read_app, read_only_db, role):
    at = read_app(PAGE, role=role).run()
    assert not at.exception
    account = at.selectbox(key="pl_edit_account").value
    assert list(at.data_editor) == []                          # no editor offered
    assert any("只读" in c.value for c in at.caption)
    assert f"dz_save_plans_{account}_0" not in [b.key for b in at.button]


def test_the_period_filter_shows_dates_as_yyyy_mm_dd(read_app):
    at = read_app(PAGE).run()
    assert at.date_input(key="pl_period").proto.format == "YYYY-MM-DD"


def test_the_manager_who_owns_an_account_may_edit_its_plans_here(app, demo_db):
    from kam_core import auth, dossier
    store = open_store(demo_db)
    try:
        account = plans.plans_frame(store, SYSTEM)["account"].iloc[0]
        auth.create_user(store, "li_kam", "manager", None)
        dossier.set_owner(store, SYSTEM, account, "li_kam")
    finally:
        store.close()
    at = app(PAGE, role="manager:li_kam").run()
    at.selectbox(key="pl_edit_account").set_value(account).run()
    assert not at.exception
    assert editor_of(at, account) is not None
    assert not any("只读" in c.value for c in at.caption)
