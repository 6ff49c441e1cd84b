"""需要关注 on the Overview and atop the dossier, per role, on the hand-worked fixture.

Like for like (2025 through 7 July against the same days of 2024): Bravo 20M vs 25M (−20.0 %),
Charlie 5M vs 6M (−16.7 %), both more than the 10 % the setting allows; Delta −0.0000002 % is not.
li (manager) owns Bravo, wang (manager) owns Charlie. Their dossiers exist only through that
assignment (completeness 0 of 26, no negotiation), and Bravo has an action overdue by 3 days.
"""
from __future__ import annotations

import datetime as dt

import pytest
from streamlit.testing.v1 import AppTest

from kam_core import dossier
from kam_core.permissions import SYSTEM
from kam_core.store import open_store

from core_fixtures import DASHBOARD, TIMEOUT, fixture_db, fixture_db_file  # noqa: F401


@pytest.fixture
def owned_db(fixture_db):
    s = open_store(fixture_db)
    try:
        s.cursor().execute("insert into users (name, role) values ('li', 'manager'), ('wang', 'manager')")
        dossier.set_owner(s, SYSTEM, "Bravo", "li")
        dossier.set_owner(s, SYSTEM, "Charlie", "wang")
        dossier.add_record(s, SYSTEM, "action_items", "Bravo", {"title": "寄送新品样品", "owner": "li",
                                                                     "due_on": dt.date.today() - dt.timedelta(days=3)})
    finally:
        s.close()
    return fixture_db


def overview_as(monkeypatch, role: str) -> AppTest:
    monkeypatch.setenv("KAM_AUTH_AS", role)
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT).run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def attention_rows(at) -> list[tuple[str, str, str]]:
    frame = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    return list(zip(frame["account"], frame["reason"], frame["figure"]))


def test_a_manager_sees_the_needs_attention_list_of_own_accounts_only(owned_db, monkeypatch):
    at = overview_as(monkeypatch, "manager:li")
    assert "需要关注" in [h.value for h in at.subheader]
    assert attention_rows(at) == [
        ("Bravo", "同口径销售额同比 −20.0%。", "本期 2,000.00 万元，上年同期 2,500.00 万元"),
        ("Bravo", "行动「寄送新品样品」已逾期 3 天。",
         f"截止 {dt.date.today() - dt.timedelta(days=3)}，负责人 li"),
        ("Bravo", "档案完整度低于 50%。", "完整度 0%"),
        ("Bravo", "档案中还没有谈判记录。", "—"),
    ]
    assert at.sidebar.toggle(key="kam_mine").value is True


def test_a_manager_who_switches_my_accounts_off_sees_every_account(owned_db, monkeypatch):
    at = overview_as(monkeypatch, "manager:li")
    at.sidebar.toggle(key="kam_mine").set_value(False).run()
    assert not at.exception
    assert [a for a, *_ in attention_rows(at)] == ["Bravo", "Charlie", "Bravo", "Bravo", "Charlie", "Bravo", "Charlie"]
    assert at.query_params["mine"] == "0"


def test_a_director_sees_the_needs_attention_list_of_every_account(owned_db, monkeypatch):
    at = overview_as(monkeypatch, "director:zhao")
    rows = attention_rows(at)
    assert [(a, r) for a, r, _ in rows if "同口径" in r] == [
        ("Bravo", "同口径销售额同比 −20.0%。"), ("Charlie", "同口径销售额同比 −16.7%。")]
    assert {a for a, *_ in rows} == {"Bravo", "Charlie"}
    assert not at.sidebar.toggle                               # a director who owns nothing has no switch


def test_the_list_speaks_english_when_the_page_does(owned_db, monkeypatch):
    monkeypatch.setenv("KAM_AUTH_AS", "manager:li")
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    at.query_params["lang"] = "en"
    at.run()
    assert "Needs attention" in [h.value for h in at.subheader]
    assert attention_rows(at)[0] == ("Bravo", "Like-for-like sales −20.0% on a year earlier.",
                                     "now 20.00 M CNY, same days last year 25.00 M CNY")


def test_the_dossier_shows_its_own_accounts_items_at_the_top(owned_db, monkeypatch):
    at = overview_as(monkeypatch, "manager:li")
    at.switch_page("app_pages/dossier.py")
    at.query_params["account"] = "Charlie"
    at.run()
    assert not at.exception
    assert at.subheader[0].value == "Charlie"
    frame = next(df.value for df in at.dataframe if "reason" in df.value.columns)
    assert list(frame["reason"]) == ["同口径销售额同比 −16.7%。", "档案完整度低于 50%。", "档案中还没有谈判记录。"]


def test_the_list_is_wide_enough_for_its_sentences(owned_db, monkeypatch):
    import json

    at = overview_as(monkeypatch, "director")
    element = next(df for df in at.dataframe if "reason" in df.value.columns)
    config = json.loads(element.proto.columns)
    from kam_core.ui.tables import text_px

    longest = max(text_px(r) for _, r, _ in attention_rows(at))   # 15 px a Chinese character, 8 a Latin one
    assert config["reason"]["width"] >= max(400, min(720, longest))
    assert config["figure"]["width"] >= max(400, min(720, max(text_px(f) for _, _, f in attention_rows(at))))
    assert config["account"]["width"] >= 15 * len("客户/供应商")
