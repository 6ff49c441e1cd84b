"""The frame: every page reachable, filters kept across pages, language switch, sign-in gate, empty state."""
from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from kam_core.locales.labels import t

from core_fixtures import (DASHBOARD, TIMEOUT, auth_db, empty_db, fixture_db, fixture_db_file,  # noqa: F401
                           metrics_by_label, open_page, sidebar_widget)

PAGES = {"overview": "总览", "import": "导入数据", "rankings": "排名", "tiers": "大客户分级", "settings": "设置"}
PAGES_EN = {"overview": "Overview", "import": "Import", "rankings": "Rankings", "tiers": "Tiers",
            "settings": "Settings"}


def test_every_page_renders_inside_the_frame_on_the_fixture_database(fixture_db):
    at = open_page()
    for page, title in PAGES.items():
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert [t.value for t in at.title] == [title]
        assert sidebar_widget(at, "selectbox", "kam_year").value == 2025     # the frame's sidebar ran
        assert f"当前数据库: `{fixture_db.name}`" in [c.value for c in at.sidebar.caption]


def test_the_sidebar_filters_stay_in_the_url_when_switching_pages(fixture_db):
    at = open_page("rankings")
    sidebar_widget(at, "selectbox", "kam_year").set_value(2024).run()
    sidebar_widget(at, "multiselect", "kam_region").set_value(["华东"]).run()
    at.switch_page("app_pages/overview.py").run()
    assert not at.exception
    assert sidebar_widget(at, "selectbox", "kam_year").value == 2024
    assert sidebar_widget(at, "multiselect", "kam_region").value == ["华东"]
    assert (at.query_params["year"], at.query_params["region"]) == ("2024", "华东")
    assert metrics_by_label(at)["销售额"] == "7,500.00 万元"   # 2024 华东: Alpha 40M + Bravo 25M + Foxtrot 10M


def test_a_link_with_filters_in_the_url_opens_that_view(fixture_db):
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    at.query_params.update({"year": "2024", "region": "华南", "lang": "en"})
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert metrics_by_label(at)["Sales"] == "11.00 M CNY"                 # Charlie 6M + Delta 5M


def test_the_language_switch_changes_the_labels_on_every_page(fixture_db):
    at = open_page()
    assert [t.value for t in at.title] == ["总览"]
    sidebar_widget(at, "radio", "kam_lang").set_value("en").run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]
    assert metrics_by_label(at)["Sales"] == "125.00 M CNY"
    assert sidebar_widget(at, "selectbox", "kam_year").label == "Year"
    assert at.query_params["lang"] == "en"
    for page, title in PAGES_EN.items():
        at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception, (page, [e.value for e in at.exception])
        assert [t.value for t in at.title] == [title]
    sidebar_widget(at, "radio", "kam_lang").set_value("zh").run()
    assert [t.value for t in at.title] == ["设置"]


def create_administrator(at: AppTest, name: str, password: str, button: str = "创建并登录") -> None:
    """Fill in the create-administrator form (the password typed twice) and submit it with ``button``."""
    at.text_input(key="kam_first_name").input(name)
    at.text_input(key="kam_first_password").input(password)
    at.text_input(key="kam_first_repeat").input(password)
    at.button(key=f"FormSubmitter:kam_first_admin-{button}").click().run()


def test_with_sign_in_on_and_no_users_every_page_shows_only_the_create_administrator_form(auth_db):
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT).run()
    for page in [None, *PAGES]:
        if page:
            at.switch_page(f"app_pages/{page}.py").run()
        assert not at.exception
        assert [t.value for t in at.title] == ["创建管理员"], page
        assert not at.metric and not at.dataframe and not at.file_uploader, page
        assert not at.sidebar.selectbox and not at.sidebar.multiselect, page
        assert "kam_ctx" not in at.session_state, page


def test_creating_the_administrator_opens_the_dashboard(auth_db):
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT).run()
    create_administrator(at, "chen", "Kam-board-2026", button="创建并登录")
    assert not at.exception
    assert [t.value for t in at.title] == ["总览"]
    assert metrics_by_label(at)["客户数"] == "5"


@pytest.mark.parametrize("page", ["overview", "rankings", "tiers"])
def test_on_an_empty_database_the_data_pages_offer_import_and_the_demo(empty_db, page):
    at = open_page(page)
    assert [i.value for i in at.info] == [t("empty.no_data", "zh")]
    assert [b.label for b in at.button if b.key == "kam_load_demo"] == [t("empty.load_demo", "zh")]
    assert [link.label for link in at.get("page_link")] == [t("empty.go_import", "zh")]
    assert not at.metric and not at.dataframe


def test_on_an_empty_database_import_and_settings_still_work(empty_db):
    at = open_page("import")
    assert at.file_uploader[0]
    assert t("import.no_history", "zh") in [c.value for c in at.caption]
    at.switch_page("app_pages/settings.py").run()
    assert not at.exception and at.number_input


def test_loading_the_demo_from_the_empty_state_fills_the_overview(empty_db):
    at = open_page()
    at.button(key="kam_load_demo").click().run()
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["客户数"] not in ("0", "—")
    assert shown["销售额"].endswith((" 万元", " 亿元")) and shown["销售额"] not in ("0.00 万元", "0.00 亿元")
    assert not at.info


# -- before signing in: the link's page, the URL's language, the language switch

def _add_director(path) -> None:
    """The director ``zhao`` (password ``Kam-board-2026``) in the database at ``path``."""
    from kam_core import auth
    from kam_core.store import open_store

    store = open_store(path)
    try:
        auth.create_user(store, "zhao", "director", "Kam-board-2026")
    finally:
        store.close()


def test_a_link_to_a_page_opened_signed_out_opens_that_page_with_its_filters_after_sign_in(auth_db):
    _add_director(auth_db)
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    at.context = {"url": "http://localhost:8501/tiers"}           # /tiers?year=2024&region=华东
    at.query_params.update({"year": "2024", "region": "华东"})
    at.run()
    assert [t.value for t in at.title] == ["登录"]
    at.text_input(key="kam_sign_in_name").input("zhao")
    at.text_input(key="kam_sign_in_password").input("Kam-board-2026")
    at.button(key="FormSubmitter:kam_sign_in-登录").click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["大客户分级"]
    assert sidebar_widget(at, "selectbox", "kam_year").value == 2024
    assert sidebar_widget(at, "multiselect", "kam_region").value == ["华东"]
    # 2024 华东: Alpha 40M and Bravo 25M are partners (20M–50M), Foxtrot 10M ordinary (5M–20M)
    shown = metrics_by_label(at)
    assert [shown[k] for k in ("战略性大客户", "伙伴式大客户", "普通大客户")] == ["0", "2", "1"]


def test_the_create_administrator_page_honours_lang_en_and_has_the_language_switch(auth_db):
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert [t.value for t in at.title] == ["Create the administrator"]
    assert [b.label for b in at.button] == ["Create and sign in"]
    switch = sidebar_widget(at, "radio", "kam_lang")
    assert (switch.value, switch.options) == ("en", ["中文", "English"])
    switch.set_value("zh").run()
    assert [t.value for t in at.title] == ["创建管理员"]
    assert at.query_params["lang"] == "zh"
    sidebar_widget(at, "radio", "kam_lang").set_value("en").run()
    create_administrator(at, "chen", "Kam-board-2026", button="Create and sign in")
    assert not at.exception
    assert [t.value for t in at.title] == ["Overview"]          # and the dashboard keeps the language


def test_the_sign_in_page_follows_the_language_switch(auth_db):
    _add_director(auth_db)
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT).run()
    assert [t.value for t in at.title] == ["登录"]
    sidebar_widget(at, "radio", "kam_lang").set_value("en").run()
    assert [t.value for t in at.title] == ["Sign in"]
    assert [w.label for w in at.text_input] == ["User name", "Password"]


def test_the_first_start_loads_the_demo_under_a_spinner_in_the_urls_language(empty_db, monkeypatch):
    import streamlit
    from kam_core import demo

    said, loaded = [], []
    real_spinner = streamlit.spinner

    def spinner(text, *args, **kwargs):
        said.append(text)
        return real_spinner(text, *args, **kwargs)

    monkeypatch.setenv("KAM_AUTO_DEMO", "1")
    monkeypatch.setattr(streamlit, "spinner", spinner)
    monkeypatch.setattr(demo, "load_demo", lambda store: loaded.append("demo"))
    monkeypatch.setattr(demo, "load_demo_extras", lambda store: loaded.append("extras"))
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.run()
    assert not at.exception
    assert said[0] == "Load demo data …" and loaded == ["demo", "extras"]
    assert sidebar_widget(at, "radio", "kam_lang").value == "en"


def test_the_create_administrator_form_refuses_a_short_password_and_an_empty_name_in_the_pages_language(auth_db):
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT).run()
    create_administrator(at, "chen", "short", button="创建并登录")
    assert [e.value for e in at.error] == ["密码至少需要 8 个字符。"]
    sidebar_widget(at, "radio", "kam_lang").set_value("en").run()
    create_administrator(at, "   ", "Kam-board-2026", button="Create and sign in")
    assert [e.value for e in at.error] == ["The user name is empty."]
    assert [t.value for t in at.title] == ["Create the administrator"]
