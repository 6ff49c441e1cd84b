"""AppTests of the Plans page on the demo database."""
from __future__ import annotations

from kam_core.dossier import plans
from kam_core.permissions import SYSTEM
from kam_core.store import open_store

PAGE = "app_pages/plans.py"


def test_the_plans_page_shows_the_timeline_budgets_uplift_and_checklists(app, demo_db):
    at = app(PAGE).run()
    assert not at.exception
    assert at.title[0].value == "共赢营销计划"
    charts = at.get("plotly_chart")
    assert len(charts) == 2
    store = open_store(demo_db)
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


def test_filtering_by_one_account_narrows_the_plans_and_the_checklist(app, demo_db):
    at = app(PAGE).run()
    account = at.multiselect(key="pl_accounts").options[0]
    at.multiselect(key="pl_accounts").set_value([account]).run()
    assert not at.exception
    store = open_store(demo_db)
    try:
        expected = len(plans.plans_frame(store, SYSTEM, account=account))
    finally:
        store.close()
    tables = [d.value for d in at.dataframe]
    plan_table = next(t for t in tables if "提供方" in t.columns)
    assert set(plan_table["客户/供应商"]) == {account}
    assert len(plan_table) == expected
    assert next(t for t in tables if "已完成" in t.columns)["客户/供应商"].tolist() == [account]


def test_the_plans_page_speaks_english_when_asked(app):
    at = app(PAGE, query={"lang": "en"}).run()
    assert not at.exception
    assert at.title[0].value == "Joint marketing plans"
