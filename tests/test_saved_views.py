"""Saved views: a named page with its filters, one per name and user, audited, as a link that reproduces it."""
from __future__ import annotations

import json

import pytest

from kam_core import saved_views as sv
from kam_core.permissions import User
from kam_core.store import open_store

LI, WANG = User("li", "manager"), User("wang", "viewer")


@pytest.fixture
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def test_a_saved_view_comes_back_as_a_link_with_its_page_year_and_filters(store):
    view = sv.save_view(store, LI, " 华东饮料 ", "rankings",
                        {"year": "2025", "region": ["华东"], "category": ["饮料", "日化"], "store": []})
    assert (view.name, view.page) == ("华东饮料", "rankings")
    assert sv.list_views(store, LI) == [view]
    assert sv.view_link(view, "http://kam.example.com/") == (
        "http://kam.example.com/rankings?year=2025&region=%E5%8D%8E%E4%B8%9C"
        "&category=%E9%A5%AE%E6%96%99&category=%E6%97%A5%E5%8C%96")
    assert sv.view_link(sv.save_view(store, LI, "全部", "overview", {})) == "./overview"


def test_saving_under_the_same_name_replaces_the_view_and_both_writes_are_audited(store):
    first = sv.save_view(store, LI, "我的视图", "tiers", {"year": "2024"})
    second = sv.save_view(store, LI, "我的视图", "plans", {"year": "2025", "mine": "0"})
    assert second.id == first.id and sv.list_views(store, LI) == [second]
    rows = store.cursor().execute("select who, action, old_value, new_value from audit_log"
                                  " where table_name = 'saved_views' order by id").fetchall()
    assert [(w, a) for w, a, _, _ in rows] == [("li", "insert"), ("li", "update")]
    assert json.loads(rows[1][2]) == {"page": "tiers", "params": {"year": "2024"}}
    assert json.loads(rows[1][3]) == {"page": "plans", "params": {"year": "2025", "mine": "0"}}


def test_each_user_sees_and_deletes_only_their_own_views(store):
    mine = sv.save_view(store, LI, "v", "overview", {})
    theirs = sv.save_view(store, WANG, "v", "overview", {})          # the same name is fine for someone else
    assert sv.list_views(store, WANG) == [theirs]
    with pytest.raises(sv.InvalidView) as e:
        sv.delete_view(store, WANG, mine.id)
    assert e.value.code == "not_found"
    sv.delete_view(store, LI, mine.id)
    assert sv.list_views(store, LI) == [] and sv.list_views(store, WANG) == [theirs]


@pytest.mark.parametrize(("name", "page", "params", "code"), [
    ("  ", "overview", {}, "name_required"),
    ("x" * 101, "overview", {}, "name_too_long"),
    ("a\nb", "overview", {}, "name_too_long"),
    ("v", "admin", {}, "unknown_page"),
    ("v", "overview", {"password": "x"}, "bad_params"),
    ("v", "overview", {"region": ["x"] * 201}, "bad_params"),
])
def test_a_view_without_a_name_on_an_unknown_page_or_with_foreign_parameters_is_refused(store, name, page, params,
                                                                                         code):
    with pytest.raises(sv.InvalidView) as e:
        sv.save_view(store, LI, name, page, params)
    assert e.value.code == code
    assert sv.list_views(store, LI) == []
