"""AppTests of the Dossier page on the demo database: renders, edits, conflicts, and what a viewer sees."""
from __future__ import annotations

import io
import json

import openpyxl
import pandas as pd
import pytest

from kam_core import auth, dossier

from kam_core.dossier import plans

from kam_core.exports import reports
from kam_core.sales import figures as metrics
from kam_core.sales import tiers
from kam_core.locales.formatting import format_amount, format_signed_pct, tier_label
from kam_core.permissions import SYSTEM, PermissionDenied
from kam_core.store import open_store
from kam_core.ui.org_chart import org_chart_dot

from core_fixtures import as_shown, open_shared_page

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


@pytest.fixture(scope="module")
def director_view(read_only_db, tmp_path_factory):
    """The director's Dossier page of the first demo dossier, opened once for this module's tests that
    only read what it shows (none clicks, edits or runs it again)."""
    account, _ = first_dossier(read_only_db)
    return open_shared_page(read_only_db, tmp_path_factory.mktemp("dossier_director"), "dossier",
                            query={"account": account})


def test_the_dossier_page_renders_the_header_card_and_all_seven_tabs(director_view, read_only_db):
    demo_db, at = read_only_db, director_view
    account, _ = first_dossier(demo_db)
    assert not at.exception
    assert at.subheader[0].value == account
    assert [tab.label for tab in at.tabs] == ["销售", "联系人", "企业信息", "过程记录", "营销计划", "客户经营计划",
                                             "修改记录"]
    store = open_store(demo_db)
    try:
        year = metrics.available_years(store)[-1]
        row = tiers.assign_tiers(store, year).set_index("account").loc[account]
    finally:
        store.close()
    card = {m.label: m.value for m in at.metric}
    assert list(card)[:5] == ["销售排名", "销售占比", "毛利率", "同比", "距下一级"]
    assert f"**级别**: :blue-badge[{tier_label(row['tier'], 'zh')}]" in [m.value for m in at.markdown]
    assert card["销售排名"] == str(int(row["rank"]))
    assert card["销售占比"] == f"{row['share'] * 100:.2f}%"
    # the first demo dossier has an agreement running out in 30 days: highlighted
    assert any("30 天后到期" in w.value for w in at.warning)
    # every one of the eight policy levels is filled in the first demo dossier
    assert "（空缺）" not in at.get("graphviz_chart")[0].proto.spec


def test_the_top_tier_says_why_it_has_no_distance_to_the_next_tier(read_app, read_only_db):
    store = open_store(read_only_db)
    try:
        year = metrics.available_years(store)[-1]
        table = tiers.assign_tiers(store, year)
    finally:
        store.close()
    top = table[table["tier"] == "strategic"]["account"].iloc[0]
    lower = table[table["tier"] == "partner"]["account"].iloc[0]
    at = read_app(PAGE, query={"account": top}).run()
    assert {m.label: m.value for m in at.metric}["距下一级"] == "—"
    assert "已是最高级" in [c.value for c in at.caption]
    at = read_app(PAGE, query={"account": lower}).run()
    assert {m.label: m.value for m in at.metric}["距下一级"] != "—"
    assert "已是最高级" not in [c.value for c in at.caption]


def test_an_alias_in_the_url_opens_its_account(read_app, read_only_db):
    account, _ = first_dossier(read_only_db)
    alias = account.replace("集团有限公司", "")          # the demo's alias key drops the company suffix
    at = read_app(PAGE, query={"account": alias}).run()
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
        dossier.update_record(store, SYSTEM, "contacts", int(contacts["id"][0]), {"title": "他们的职务"}, expected_version=None)
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
def test_a_viewer_or_another_managers_view_shows_no_phone_numbers_and_no_editors(read_app, read_only_db, role):
    account, contacts = first_dossier(read_only_db)
    phones = [p for p in contacts["phone"] if isinstance(p, str)]
    assert phones  # the demo contacts have phone numbers, so the check below can fail
    at = read_app(PAGE, query={"account": account}, role=role).run()
    assert not at.exception
    shown = texts(at)
    assert [p for p in phones if p in shown] == []
    assert "138-0000" not in shown
    assert list(at.data_editor) == []
    assert any("只对该客户的负责人和总经理可见" in c.value for c in at.caption)
    # the names of the people are not personal details: still listed
    assert contacts["name"][0] in shown


def test_a_director_sees_the_phone_numbers(director_view, read_only_db):
    account, contacts = first_dossier(read_only_db)
    assert director_view.subheader[0].value == account
    assert contacts["phone"][0] in texts(director_view)


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


# -- facts, checklist, aliases -----------------------------------------------
def account_row(path, account: str) -> dict:
    store = open_store(path)
    try:
        return dossier.get_account(store, SYSTEM, account)
    finally:
        store.close()


def test_the_facts_form_saves_a_changed_website(app, demo_db):
    account, _ = first_dossier(demo_db)
    ver = account_row(demo_db, account)["version"]
    at = app(PAGE, query={"account": account}).run()
    at.text_input(key=f"dz_f_{account}_{ver}_website").input("https://new.example.cn")
    at.button(key=f"dz_facts_submit_{account}_{ver}").click().run()
    assert not at.exception
    assert "已保存 1 处修改。" in [s.value for s in at.success]
    after = account_row(demo_db, account)
    assert (after["website"], after["version"]) == ("https://new.example.cn", ver + 1)


def test_the_facts_form_shows_a_bad_email_and_saves_nothing(app, demo_db):
    account, _ = first_dossier(demo_db)
    before = account_row(demo_db, account)
    at = app(PAGE, query={"account": account}).run()
    at.text_input(key=f"dz_f_{account}_{before['version']}_email").input("not-an-email")
    at.button(key=f"dz_facts_submit_{account}_{before['version']}").click().run()
    assert not at.exception
    errors = [e.value for e in at.error]
    assert len(errors) == 1 and errors[0].startswith("“电邮”")
    after = account_row(demo_db, account)
    assert (after["email"], after["version"]) == (before["email"], before["version"])


def test_ticking_an_exchange_checklist_item_saves_it(app, demo_db):
    account, _ = first_dossier(demo_db)
    before = account_row(demo_db, account)
    assert before["exchange_checklist"]["their_ad_agencies"] is False   # so the tick is a change
    ver = before["version"]
    at = app(PAGE, query={"account": account}).run()
    at.checkbox(key=f"dz_c_{account}_{ver}_their_ad_agencies").check()
    at.button(key=f"dz_check_submit_{account}_{ver}").click().run()
    assert not at.exception
    assert "已保存 1 处修改。" in [s.value for s in at.success]
    after = account_row(demo_db, account)["exchange_checklist"]
    assert after == {**before["exchange_checklist"], "their_ad_agencies": True}


def test_merging_an_alias_moves_its_sales_to_the_other_account_and_changes_the_data_version(app, demo_db):
    account, _ = first_dossier(demo_db)
    store = open_store(demo_db)
    try:
        aliases = dossier.list_aliases(store, SYSTEM)
        raw = aliases[~aliases["has_dossier"] & (aliases["lines"] > 0)].iloc[0]
        year = metrics.available_years(store)[-1]
        ranked = metrics.account_year_figures(store, year).set_index("account")["sales"]
        version = store.data_version()
    finally:
        store.close()
    expected = float(ranked[account]) + float(ranked.get(raw["account"], 0))
    at = app(PAGE, query={"account": account}).run()
    at.selectbox(key="alias_pick").set_value(raw["alias_key"])
    at.selectbox(key="alias_target").set_value(account)
    next(b for b in at.button if b.label == "合并").click().run()
    assert not at.exception
    assert f"“{raw['alias']}”已归入 {account}（移动 {int(raw['lines'])} 行销售）。" in [s.value for s in at.success]
    store = open_store(demo_db)
    try:
        assert store.data_version() != version          # every cached figure (Rankings too) is recomputed
        after = metrics.account_year_figures(store, year).set_index("account")["sales"]
        moved = dossier.list_aliases(store, SYSTEM).set_index("alias_key").loc[raw["alias_key"], "account"]
    finally:
        store.close()
    assert moved == account
    assert raw["account"] not in after.index
    assert float(after[account]) == pytest.approx(expected, abs=0.01)


# -- exports (built on click) --------------------------------------------------
def workbook_strings(data: bytes) -> dict[str, list[str]]:
    """Every text cell of an xlsx, per sheet."""
    wb = openpyxl.load_workbook(io.BytesIO(data), read_only=True)
    return {ws.title: [c for row in ws.iter_rows(values_only=True) for c in row if isinstance(c, str)]
            for ws in wb.worksheets}


def test_the_share_pack_is_built_on_click_and_offered_for_download_with_only_that_account(app, demo_db):
    account, _ = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    assert "dz_share" not in at.session_state                # nothing built on a plain run
    assert [b for b in at.download_button if b.key == "dz_share_download"] == []
    at.button(key=f"dz_share_build_{account}").click().run()
    assert not at.exception
    store = open_store(demo_db)
    try:
        year = metrics.available_years(store)[-1]
        others = {r[0] for r in store.cursor().execute("select distinct account from sales where account <> ?",
                                                       [account]).fetchall()}
    finally:
        store.close()
    button = at.download_button(key="dz_share_download")
    assert button.help == reports.download_name("share_pack", year, account)
    cells = workbook_strings(at.session_state["dz_share"]["data"])
    assert len(cells) >= 5 and any(account in v for v in cells[next(iter(cells))])
    assert [v for vs in cells.values() for v in vs if v in others] == []
    at.run()                                                 # a rerun keeps the built file, builds nothing new
    assert at.download_button(key="dz_share_download").help == button.help


def test_a_director_can_export_the_dossier_with_personal_details_and_it_is_audited(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    at.checkbox(key=f"dz_export_personal_{account}").check()
    at.button(key=f"dz_export_build_{account}").click().run()
    assert not at.exception
    assert at.download_button(key="dz_export_download").help == reports.download_name("dossier", None, account)
    text = "\n".join(v for vs in workbook_strings(at.session_state["dz_export"]["data"]).values() for v in vs)
    assert contacts["phone"][0] in text
    store = open_store(demo_db)
    try:
        audited = store.cursor().execute(
            "select who from audit_log where action = 'export' and record_key = ? and field = 'personal'", [account]
        ).fetchall()
    finally:
        store.close()
    assert audited == [("local",)]


def test_a_viewer_is_not_offered_personal_details_and_the_export_has_none(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}, role="viewer").run()
    assert [c for c in at.checkbox if c.key == f"dz_export_personal_{account}"] == []
    assert "导出不含联系人个人信息。" in [c.value for c in at.caption]
    at.button(key=f"dz_export_build_{account}").click().run()
    assert not at.exception
    text = "\n".join(v for vs in workbook_strings(at.session_state["dz_export"]["data"]).values() for v in vs)
    assert contacts["name"][0] in text
    assert [p for p in contacts["phone"] if isinstance(p, str) and p in text] == []


# -- owners ---------------------------------------------------------------------
def test_a_director_assigns_the_owner_and_backup_among_active_managers(app, demo_db):
    account, _ = first_dossier(demo_db)
    store = open_store(demo_db)
    try:
        auth.create_user(store, "li_kam", "manager")
        auth.create_user(store, "wu_kam", "manager")
        auth.create_user(store, "gone_kam", "manager")
        auth.disable_user(store, "gone_kam")
        auth.create_user(store, "val", "viewer")
    finally:
        store.close()
    ver = account_row(demo_db, account)["version"]
    at = app(PAGE, query={"account": account}).run()
    owner = at.selectbox(key=f"dz_owner_{account}_{ver}")
    assert owner.options == ["未指定", "li_kam", "wu_kam"]          # no viewer, no disabled user
    owner.set_value("li_kam")
    at.selectbox(key=f"dz_backup_{account}_{ver}").set_value("wu_kam")
    at.button(key=f"dz_owner_submit_{account}_{ver}").click().run()
    assert not at.exception
    assert "负责人已更新。" in [s.value for s in at.success]
    after = account_row(demo_db, account)
    assert (after["owner"], after["backup_owner"]) == ("li_kam", "wu_kam")
    assert "**大客户经理**: li_kam · **备份负责人**: wu_kam" in [as_shown(m.value) for m in at.markdown]


def test_a_manager_does_not_see_the_owner_selector(read_app, read_only_db):
    account, _ = first_dossier(read_only_db)
    at = read_app(PAGE, query={"account": account}, role="manager:li_kam").run()
    assert not at.exception
    assert [s.key for s in at.selectbox if str(s.key).startswith(("dz_owner_", "dz_backup_"))] == []
    assert "指定负责人" not in [e.label for e in at.expander]


# -- price changes beside the sales around them ---------------------------------------
def test_each_price_change_shows_the_sales_change_of_the_30_days_after_vs_before(read_app, read_only_db):
    account, _ = first_dossier(read_only_db)
    store = open_store(read_only_db)
    try:
        ids = [r[0] for r in store.cursor().execute(
            "select id from price_changes where account = ? and deleted_at is null order by changed_on desc, id desc",
            [account]).fetchall()]
        effects = [plans.price_change_effect(store, i, days=30) for i in ids]
    finally:
        store.close()
    assert len(effects) == 2          # the first demo dossier has two price changes
    at = read_app(PAGE, query={"account": account}).run()
    assert not at.exception
    table = next(d.value for d in at.dataframe if "调价后销售" in d.value.columns)
    assert table["日期"].tolist() == [str(e["changed_on"]) for e in effects]
    assert table["变化"].tolist() == [format_signed_pct(e["change_share"], 1) for e in effects]
    assert table["调价前销售"].tolist() == [format_amount(e["sales_before"], "wan", "zh") for e in effects]
    # the chart's price-change markers carry the same change
    spec = at.get("plotly_chart")[0].proto.spec
    for e in effects:
        assert f"({format_signed_pct(e['change_share'], 1)})" in spec


def test_a_built_dossier_export_is_withdrawn_once_the_dossier_changes(app, demo_db):
    account, contacts = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    at.button(key=f"dz_export_build_{account}").click().run()
    assert [b.key for b in at.download_button if b.key == "dz_export_download"] == ["dz_export_download"]
    store = open_store(demo_db)
    try:
        dossier.update_record(store, SYSTEM, "contacts", int(contacts["id"][0]), {"title": "新职务"}, expected_version=None)
    finally:
        store.close()
    at.run()
    assert not at.exception
    assert [b for b in at.download_button if b.key == "dz_export_download"] == []


def test_a_refused_share_pack_shows_the_refusal_and_no_download(app, demo_db, monkeypatch):
    account, _ = first_dossier(demo_db)

    def refuse(*args, **kwargs):
        raise PermissionDenied("denied", user="local", action="export_report")

    monkeypatch.setattr(reports, "build_share_pack", refuse)
    at = app(PAGE, query={"account": account}).run()
    at.button(key=f"dz_share_build_{account}").click().run()
    assert not at.exception
    assert "local 没有权限导出报表。" in [e.value for e in at.error]
    assert [b for b in at.download_button if b.key == "dz_share_download"] == []


# -- issue 16: words and behaviour -------------------------------------------
def test_after_saving_the_dossier_stays_on_the_tab_the_user_was_on(app, demo_db):
    account, _ = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    at.session_state["dz_tab"] = "过程记录"                   # the user opens the records tab
    at.run()
    key = f"dz_edit_negotiations_{account}_0"
    at.session_state[key] = {"edited_rows": {0: {"topic": "新的议题"}}, "added_rows": [], "deleted_rows": []}
    at.button(key=f"dz_save_negotiations_{account}_0").click().run()   # saving reruns the page
    assert not at.exception
    assert [s.value for s in at.success] == ["已保存 1 处修改。"]
    assert at.session_state["dz_tab"] == "过程记录"


def test_the_exports_panel_stays_open_after_building_the_share_pack(app, demo_db):
    account, _ = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    panel = next(e for e in at.expander if e.label == "导出与数据共享")
    assert panel.proto.expanded is False                       # closed until the user opens it
    at.session_state["dz_exports"] = True                      # the user opens it
    at.run()
    at.button(key=f"dz_share_build_{account}").click().run()   # 生成数据共享包
    assert not at.exception
    panel = next(e for e in at.expander if e.label == "导出与数据共享")
    assert panel.proto.expanded is True
    assert at.download_button(key="dz_share_download").label == "下载"


def test_edit_grids_show_empty_cells_and_take_dates_as_yyyy_mm_dd(director_view, read_only_db):
    account, _ = first_dossier(read_only_db)
    at = director_view
    editors = {e.key: e for e in at.data_editor}
    plans_editor = editors[f"dz_edit_plans_{account}_0"]
    assert plans_editor.proto.placeholder == ""                # a blank 备注 or new row shows empty, not "None"
    assert all(e.proto.placeholder == "" for e in editors.values())
    columns = json.loads(plans_editor.proto.columns)
    for name in ("period_start", "period_end"):
        assert columns[name]["type_config"] == {"type": "text", "validate": r"^\d{4}-\d{2}-\d{2}$"}
        assert "YYYY-MM-DD" in columns[name]["help"]
    shown = plans_editor.value
    assert all(v is None or (isinstance(v, str) and len(v) == 10 and v[4] == "-" and v[7] == "-")
               for v in shown["period_start"])
    assert shown["period_start"].notna().any()


def test_a_date_typed_as_yyyy_mm_dd_is_saved_as_that_date(app, demo_db):
    account, _ = first_dossier(demo_db)
    at = app(PAGE, query={"account": account}).run()
    key = f"dz_edit_negotiations_{account}_0"
    at.session_state[key] = {"edited_rows": {0: {"follow_up_on": "2031-02-03"}}, "added_rows": [], "deleted_rows": []}
    at.button(key=f"dz_save_negotiations_{account}_0").click().run()
    assert not at.exception
    store = open_store(demo_db)
    try:
        rows = dossier.list_records(store, SYSTEM, account, "negotiations")
    finally:
        store.close()
    assert pd.Timestamp(rows["follow_up_on"].iloc[0]).date().isoformat() == "2031-02-03"


def test_a_read_only_grid_shows_a_dash_for_an_empty_cell(read_app, read_only_db):
    account, _ = first_dossier(read_only_db)
    at = read_app(PAGE, query={"account": account}, role="viewer").run()
    assert not at.exception
    plans_table = next(d for d in at.dataframe if {"side", "notes", "budget"} <= set(d.value.columns))
    assert plans_table.value["notes"].isna().any()            # the demo plans have no notes …
    assert plans_table.proto.placeholder == "—"                # … and an empty 备注 shows "—", not "None"


def test_the_history_shows_labels_not_codes(director_view):
    at = director_view
    history = next(d.value for d in at.dataframe if "修改人" in d.value.columns and "字段" in d.value.columns)
    values = set(history["新值"].astype(str)) | set(history["原值"].astype(str))
    codes = {"proposed", "ours", "theirs", "quarterly_advertising", "done", "finance_director", "chairman", "None"}
    assert values & codes == set()
    # the first demo dossier has a quarterly advertising plan proposed by us and a finance director
    assert {"季度广告计划", "我方", "提议中", "财务总监"} <= values
    assert "account" not in set(history["字段"]) and "客户/供应商" in set(history["字段"])


def test_the_completeness_line_and_the_facts_tab_name_a_field_the_same_way(app, demo_db):
    store = open_store(demo_db)
    try:
        name = store.cursor().execute(
            "select account from sales where account not in (select name from accounts) order by account limit 1"
        ).fetchone()[0]
        dossier.upsert_account(store, SYSTEM, name, {"phone": "021-12345678"})
    finally:
        store.close()
    at = app(PAGE, query={"account": name}).run()
    assert not at.exception
    missing = next(c.value for c in at.caption if c.value.startswith("缺少："))
    labels = {w.label for w in [*at.text_input, *at.text_area]}
    for word in ("电邮", "组织架构", "竞争对手状况", "供应商状况", "采购员", "至少一份协议"):
        assert word in missing
    assert {"电邮", "组织架构", "竞争对手状况", "供应商状况"} <= labels
    assert "电子邮件" not in missing and "组织结构" not in missing


def test_the_agreements_rebate_reads_as_a_percentage_and_amounts_with_separators():
    from kam_core.ui.record_editor import _column_config

    config = _column_config("agreements", ["rebate_share", "target_amount"], "zh")
    assert config["rebate_share"]["type_config"]["format"] == "percent"      # 0.01 shows as 1.00%, not 0.010
    assert config["target_amount"]["type_config"]["format"] == "%,.2f"


def test_a_refused_field_is_said_in_the_pages_language_from_its_code():
    from kam_core.dossier.fields import SPECS, normalise
    from kam_core.locales.labels import t
    from kam_core.ui.record_editor import invalid_lines

    with pytest.raises(dossier.ValidationError) as err:
        normalise(SPECS["contacts"], {"email": "not-an-address", "spending_limit": -5})
    # the command line keeps its English sentence; the page says the code in its language
    assert err.value.errors["email"] == "must be an e-mail address like name@example.com"
    assert invalid_lines(err.value, "contacts", "zh") == [
        f"“{t('dossier.email', 'zh')}”应为电子邮件地址，如 name@example.com",
        f"“{t('contact.spending_limit', 'zh')}”不能为负数"]
    assert invalid_lines(err.value, "contacts", "en") == [
        f"{t('dossier.email', 'en')}: must be an e-mail address like name@example.com",
        f"{t('contact.spending_limit', 'en')}: cannot be negative"]


def test_every_refusal_code_the_dossier_raises_has_words_in_both_languages():
    import re
    from pathlib import Path

    from kam_core.locales.labels import LABELS

    root = Path(__file__).resolve().parents[2]
    source = "\n".join(p.read_text(encoding="utf-8") for p in (root / "kam_core" / "dossier").glob("*.py"))
    codes = set(re.findall(r'Invalid\("([a-z_]+)"', source)) | set(re.findall(r'invalid\("[^"]+", "([a-z_]+)"', source)) \
        | set(re.findall(r'codes\[[^\]]*\] = (?:.*?, )?\("([a-z_]+)", ', source))
    assert {"email", "required", "not_before", "no_user", "owner_role", "deleted", "checklist_unknown"} <= codes
    missing = sorted(c for c in codes if set(LABELS.get(f"dossier.invalid.{c}", {})) != {"zh", "en"})
    assert missing == []


def test_saving_a_row_that_someone_else_deleted_says_so_instead_of_failing(monkeypatch, demo_db):
    import pandas as pd

    from kam_core.locales.labels import t
    from kam_core.ui import record_editor

    def gone(*args, **kwargs):
        raise dossier.NotFound("contacts #1 does not exist")

    monkeypatch.setattr(dossier, "update_record", gone)
    store = open_store(demo_db)
    try:
        ctx = type("Ctx", (), {"store": store, "user": SYSTEM, "lang": "zh", "t": staticmethod(lambda k, **f: t(k, "zh", **f))})()
        shown = pd.DataFrame({"id": [1], "version": [1], "name": ["王伟"]})
        saved, problems = record_editor.apply_edits(ctx, "某客户", "contacts", shown,
                                                    {"edited_rows": {0: {"name": "王伟伟"}}}, ["name"])
    finally:
        store.close()
    assert saved == 0
    assert problems == [("denied", "王伟: " + t("dossier.not_found", "zh"))]


def test_a_deleted_contact_leaves_the_table_waits_under_deleted_and_comes_back_on_restore(app, demo_db):
    account, contacts = first_dossier(demo_db)
    victim = contacts.iloc[0]
    store = open_store(demo_db)
    try:
        already = store.cursor().execute("select count(*) from contacts where account = ? and deleted_at is not null",
                                         [account]).fetchone()[0]
        dossier.delete_record(store, SYSTEM, "contacts", int(victim["id"]))
    finally:
        store.close()
    at = app(PAGE, query={"account": account}).run()
    assert not at.exception

    def contact_ids() -> list[int]:
        editor = next(e for e in at.data_editor if {"id", "role", "name"} <= set(e.value.columns))
        return [int(i) for i in editor.value["id"]]

    live = [int(i) for i in contacts["id"]]
    assert contact_ids() == live[1:]                        # the table holds the others, in the same order
    deleted = [e for e in at.expander if e.label.startswith("已删除（可恢复）")]
    assert [e.label for e in deleted] == [f"已删除（可恢复） ({already + 1})"]
    pick = at.selectbox(key=f"dz_del_contacts_{account}")
    assert victim["name"] in pick.options                   # each deleted record by its name
    pick.set_value(int(victim["id"])).run()
    at.button(key=f"dz_restore_contacts_{account}").click().run()
    assert not at.exception
    assert sorted(contact_ids()) == sorted(live)
    assert [s.value for s in at.success] == ["已恢复。"]
    assert [e.label for e in at.expander if e.label.startswith("已删除（可恢复）")] == (
        [f"已删除（可恢复） ({already})"] if already else [])
