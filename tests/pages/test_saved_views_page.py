"""Saved views in the sidebar: save the page with its filters, reopen it after changing them, share its link."""
from __future__ import annotations

from core_fixtures import dataframe_with, fixture_db, fixture_db_file, open_page, sidebar_widget  # noqa: F401


def test_a_saved_view_reopens_its_page_year_and_filters_and_shows_its_link(fixture_db):
    at = open_page("rankings")
    sidebar_widget(at, "selectbox", "kam_year").set_value(2024).run()
    sidebar_widget(at, "multiselect", "kam_region").set_value(["华东"]).run()
    at.sidebar.text_input(key="kam_view_name").input("华东 2024").run()
    at.sidebar.button(key="kam_view_save").click().run()
    assert not at.exception
    assert [s.value for s in at.sidebar.success] == ["已保存视图“华东 2024”。"]
    assert [c.value for c in at.sidebar.code] == ["./rankings?year=2024&region=%E5%8D%8E%E4%B8%9C"]

    # elsewhere, with other filters
    sidebar_widget(at, "selectbox", "kam_year").set_value(2025).run()
    sidebar_widget(at, "multiselect", "kam_region").set_value([]).run()
    at.switch_page("app_pages/overview.py").run()
    assert [t.value for t in at.title] == ["总览"]

    view_button = next(b for b in at.sidebar.button if b.label == "华东 2024")
    view_button.click().run()
    assert not at.exception
    assert [t.value for t in at.title] == ["排名"]
    assert sidebar_widget(at, "selectbox", "kam_year").value == 2024
    assert sidebar_widget(at, "multiselect", "kam_region").value == ["华东"]
    assert list(dataframe_with(at, "rank")["account"]) == ["Alpha", "Bravo", "Foxtrot"]   # 2024 in 华东


def test_a_view_without_a_name_is_not_saved(fixture_db):
    at = open_page("tiers")
    at.sidebar.button(key="kam_view_save").click().run()
    assert [e.value for e in at.sidebar.error] == ["请先填写视图名称。"]
    assert [c.value for c in at.sidebar.caption if "还没有" in c.value] == ["还没有保存的视图。"]
