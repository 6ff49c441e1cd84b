"""AppTests of the Dossier page on the demo database: renders, edits, conflicts, and what a viewer sees."""
from __future__ import annotations

import pandas as pd
import pytest

from kam_core import dossier, metrics, tiers
from kam_core.permissions import SYSTEM
from kam_core.store import open_store
from kam_core.views.dossier_view import org_chart_dot

PAGE = "app_pages/dossier.py"


def first_dossier(path) -> tuple[str, pd.DataFrame]:
    """The demo account with every policy level filled in (the first demo dossier) and its contacts."""
    store = open_store(path)
    try:
        name = store.cursor().execute(
            "select account from contacts where role = 'chairman' and deleted_at is null order by id limit 1"
        ).fetchone()[0]
        return name, dossier.list_contacts(store, SYSTEM, name)
    finally:
        store.close()


def texts(at) -> str:
    """Everything the page shows as text: markdown, captions, messages, metrics and table cells."""
    parts = [e.value for kind in ("markdown", "caption", "info", "warning", "error", "success", "title", "subheader")
             for e in getattr(at, kind)]
    parts += [f"{m.label} {m.value}" for m in at.metric]
    for df in [*at.dataframe, *at.data_editor]:
        parts.append(df.value.to_csv())
    return "\n".join(map(str, parts))


def test_the_dossier_page_renders_the_header_card_and_all_six_tabs(app, demo_db):
    account, _ = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    assert not at.exception
    assert at.subheader[0].value == account
    assert [tab.label for tab in at.tabs] == ["销售", "联系人", "企业信息", "过程记录", "营销计划", "修改记录"]
    store = open_store(demo_db)
    try:
        year = metrics.available_years(store)[-1]
        row = tiers.assign_tiers(store, year).set_index("account").loc[account]
    finally:
        store.close()
    card = {m.label: m.value for m in at.metric}
    assert list(card)[:6] == ["级别", "销售排名", "销售占比", "毛利率", "同比", "距下一级"]
    assert card["销售排名"] == str(int(row["rank"]))
    assert card["销售占比"] == f"{row['share'] * 100:.2f}%"
    # the first demo dossier has an agreement running out in 30 days: highlighted
    assert any("30 天后到期" in w.value for w in at.warning)
    # every one of the eight policy levels is filled in the first demo dossier
    assert "（空缺）" not in at.get("graphviz_chart")[0].proto.spec


def test_an_alias_in_the_url_opens_its_account(app, demo_db):
    account, _ = first_dossier(demo_db)
    alias = account.replace("集团有限公司", "")          # the demo's alias key drops the company suffix
    at = app(PAGE, query={"account": alias}).run()
    assert not at.exception
    assert at.subheader[0].value == account


def test_editing_a_contact_title_saves_it_and_shows_it_in_the_history(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    key = f"dz_edit_contacts_{account}_0"
    assert key in [e.key for e in at.data_editor]
    at.session_state[key] = {"edited_rows": {0: {"title": "首席采购官"}}, "added_rows": [], "deleted_rows": []}
    at.button(key=f"dz_save_contacts_{account}_0").click().run()
    assert not at.exception
    assert [s.value for s in at.success] == ["已保存 1 处修改。"]
    store = open_store(demo_db)
    try:
        assert dossier.list_contacts(store, SYSTEM, account).set_index("id").loc[contacts["id"][0], "title"] == "首席采购官"
    finally:
        store.close()
    history = next(d.value for d in at.dataframe if "修改人" in d.value.columns and "字段" in d.value.columns)
    change = history[history["新值"] == "首席采购官"]
    assert change[["修改人", "字段", "原值"]].values.tolist() == [["local", "职务", contacts["title"][0]]]


def test_a_version_conflict_is_shown_with_both_values_and_nothing_is_overwritten(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    # someone else saves the same contact after this page was rendered
    store = open_store(demo_db)
    try:
        dossier.update_contact(store, SYSTEM, int(contacts["id"][0]), {"title": "他们的职务"}, expected_version=None)
    finally:
        store.close()
    key = f"dz_edit_contacts_{account}_0"
    at.session_state[key] = {"edited_rows": {0: {"title": "我的职务"}}, "added_rows": [], "deleted_rows": []}
    at.button(key=f"dz_save_contacts_{account}_0").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1
    assert "system" in errors[0] and "职务" in errors[0]
    assert "对方：他们的职务" in errors[0] and "你：我的职务" in errors[0]
    store = open_store(demo_db)
    try:
        assert dossier.list_contacts(store, SYSTEM, account).set_index("id").loc[contacts["id"][0], "title"] == "他们的职务"
    finally:
        store.close()


@pytest.mark.parametrize("role", ["viewer", "manager:li_kam"])
def test_a_viewer_or_another_managers_view_shows_no_phone_numbers_and_no_editors(app, demo_db, role):
    account, contacts = first_dossier(demo_db)
    phones = [p for p in contacts["phone"] if isinstance(p, str)]
    assert phones  # the demo contacts have phone numbers, so the check below can fail
    at = app(PAGE, query={"account": account}, role=role).run()
    assert not at.exception
    shown = texts(at)
    assert [p for p in phones if p in shown] == []
    assert "138-0000" not in shown
    assert list(at.data_editor) == []
    assert any("只对该客户的负责人和总经理可见" in c.value for c in at.caption)
    # the names of the people are not personal details: still listed
    assert contacts["name"][0] in shown


def test_a_director_sees_the_phone_numbers(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    assert contacts["phone"][0] in texts(at)


def test_an_account_without_a_dossier_invites_the_director_to_create_one(app, demo_db):
    store = open_store(demo_db)
    try:
        name = store.cursor().execute(
            "select account from sales where account not in (select name from accounts) order by account limit 1"
        ).fetchone()[0]
    finally:
        store.close()
    at = app(PAGE, query={"account": name}).run()
    assert not at.exception
    assert at.info[0].value == f"{name} 还没有档案。"
    at.button(key="dz_create").click().run()
    assert not at.exception
    assert [tab.label for tab in at.tabs][:2] == ["销售", "联系人"]


# -- the org chart, a pure function ------------------------------------------
def test_the_org_chart_marks_vacant_levels_and_links_buyer_up_to_the_chairman():
    people = pd.DataFrame({"role": ["buyer", "chairman"], "name": ["王伟", '李"娜'],
                           "influence": ["user", "decision_maker"]})
    dot = org_chart_dot(people, "zh")
    assert 'buyer [label="采购员\n王伟"' in dot
    assert 'chairman [label="董事长\n★李\\"娜"' in dot          # quotes escaped
    assert dot.count("（空缺）") == 6                           # 8 policy levels, 2 filled
    for edge in ("chairman -> general_manager", "general_manager -> purchasing_director",
                 "purchasing_director -> purchasing_manager", "purchasing_manager -> buyer"):
        assert edge in dot
    assert "marketing_head" not in dot                         # not a policy level and nobody in it
