"""Needs attention: each rule on hand-worked values, the words of an item, and the whole list per account."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kam_core import attention, dossier
from kam_core.attention import Item
from kam_core.permissions import SYSTEM, User
from kam_core.settings import SETTINGS
from kam_core.store import open_store
from sales_lines import add_sales

D = dt.date
TODAY = D(2025, 6, 15)
DEFAULTS = {k: s.default for k, s in SETTINGS.items()}     # tiers from 50M / 20M / 5M


def rules_of(items, account):
    return [i.rule for i in items if i.account == account]


def test_the_projection_flags_a_lower_tier_than_last_year_and_an_end_within_ten_percent_of_the_next():
    projection = pd.DataFrame([
        # account, projected basis, projected tier, method
        ("Pine", 18_000_000.0, "ordinary", "own"),        # partner last year (2M short of it: one item, not two)
        ("Oak", 21_000_000.0, "partner", "own"),          # strategic last year; 29M short of strategic again
        ("Quay", 46_000_000.0, "partner", "company"),     # 4M short of 50M: within 5M
        ("Reed", 44_900_000.0, "partner", "own"),         # 5.1M short: not within 10 %
        ("Sage", 60_000_000.0, "strategic", "own"),       # nothing above strategic
        ("Teal", 4_600_000.0, "none", "annualised"),      # 0.4M short of 5M
    ], columns=["account", "projected_basis", "projected_tier", "method"])
    last_year = {"Pine": "partner", "Oak": "strategic", "Quay": "partner", "Reed": "partner", "Sage": "strategic",
                 "Teal": "none"}
    items = attention.projection_items(projection, last_year, DEFAULTS)
    assert [(i.account, i.rule) for i in items] == [
        ("Pine", "projected_lower_tier"), ("Oak", "projected_lower_tier"), ("Quay", "projected_near_next"),
        ("Teal", "projected_near_next")]
    pine = items[0].values
    assert (pine["tier"], pine["tier_before"], pine["threshold"]) == ("ordinary", "partner", 20_000_000)
    assert items[2].values["gap"] == 4_000_000 and items[2].values["next_tier"] == "strategic"
    assert items[3].values["gap"] == pytest.approx(400_000)


def test_sales_down_needs_a_like_for_like_fall_of_more_than_the_setting():
    table = pd.DataFrame([("Acme", 30_000_000.0, -0.25), ("Beta", 9_000_000.0, -0.10),
                          ("Cato", 1_000.0, float("nan")), ("Dune", 2_000_000.0, 0.05)],
                         columns=["account", "sales", "yoy"])
    items = attention.sales_down_items(table, 0.10)
    assert [i.account for i in items] == ["Acme"]                      # −10 % exactly is not "more than"
    assert items[0].values["sales_before"] == pytest.approx(40_000_000)  # 30M / (1 − 0.25)


@pytest.fixture
def store():
    s = open_store(":memory:")
    s.cursor().execute("insert into users (name, role) values ('dee', 'director'), ('mia', 'manager'),"
                       " ('max', 'manager')")
    dossier.set_owner(s, SYSTEM, "Acme", "mia", "max")
    dossier.set_owner(s, SYSTEM, "Beta", "max", None)
    yield s
    s.close()


def test_an_agreement_running_out_on_the_sixtieth_day_is_flagged_and_on_the_sixty_first_it_is_not(store):
    dossier.add_record(store, SYSTEM, "agreements", "Acme", {"title": "年度协议", "valid_to": TODAY + dt.timedelta(days=60)})
    dossier.add_record(store, SYSTEM, "agreements", "Beta", {"title": "返利协议", "valid_to": TODAY + dt.timedelta(days=61)})
    items = attention.expiring_items(dossier.expiring_agreements(store, TODAY, attention.EXPIRY_DAYS))
    assert [(i.account, i.values["days_left"], i.values["valid_to"]) for i in items] == [
        ("Acme", 60, D(2025, 8, 14))]


def test_only_running_targets_behind_their_path_are_chased_and_drafts_are_not():
    frame = pd.DataFrame([
        (1, "Acme", "年度目标", None, "active", 36e6, 15e6, 17_852_054.79, 15 / 36, 181 / 365, 30_248_618.78,
         D(2025, 6, 30), "behind"),
        (2, "Beta", "草拟目标", None, "draft", 1e6, 0.0, 0.5e6, 0.0, 0.5, 0.0, D(2025, 6, 30), "behind"),
        (3, "Cato", "已完成", "饮料", "active", 1e6, 2e6, 0.5e6, 2.0, 0.5, 4e6, D(2025, 6, 30), "met"),
    ], columns=["id", "account", "title", "category", "status", "target_amount", "actual", "expected",
                "progress_share", "expected_share", "projected_end", "counted_through", "state"])
    items = attention.target_items(frame)
    assert [(i.account, i.values["actual"], i.values["expected"]) for i in items] == [
        ("Acme", 15e6, 17_852_054.79)]


def test_an_open_action_due_yesterday_is_one_day_overdue_and_done_or_due_today_are_not(store):
    late = dossier.add_record(store, SYSTEM, "action_items", "Acme", {"title": "寄送新品样品", "owner": "mia",
                                                                           "due_on": TODAY - dt.timedelta(days=1), "status": "open"})
    no_status = dossier.add_record(store, SYSTEM, "action_items", "Beta", {"title": "确认双11方案", "due_on": "2025-05-16"})
    dossier.add_record(store, SYSTEM, "action_items", "Acme", {"title": "today", "due_on": TODAY})
    dossier.add_record(store, SYSTEM, "action_items", "Acme", {"title": "done", "due_on": "2025-01-01", "status": "done"})
    items = attention.overdue_items(dossier.overdue_actions(store, SYSTEM, TODAY))
    assert [(i.values["id"], i.values["days_overdue"]) for i in items] == [(no_status, 30), (late, 1)]
    assert items[1].values["owner"] == "mia"


def test_completeness_below_the_setting_is_flagged_and_at_the_setting_it_is_not():
    items = attention.completeness_items({"Acme": 0.50, "Beta": 13 / 26 - 1 / 26}, 0.50)
    assert [(i.account, i.values["score"]) for i in items] == [("Beta", pytest.approx(12 / 26))]


def test_a_negotiation_ninety_days_ago_is_recent_and_ninety_one_days_ago_or_never_is_not():
    last = {"Acme": D(2025, 3, 17), "Beta": D(2025, 3, 16), "Cato": None}   # 90 and 91 days before 15 June
    items = attention.negotiation_items(last, TODAY)
    assert [(i.account, i.values["days"]) for i in items] == [("Beta", 91), ("Cato", None)]


def test_each_item_reads_as_a_sentence_with_its_figure_in_both_languages():
    item = Item("Acme", "target_behind", {
        "title": "年度目标", "target": 36e6, "actual": 15e6, "expected": 17_852_054.79, "progress_share": 15 / 36,
        "expected_share": 181 / 365, "projected_end": 30_248_618.78, "counted_through": D(2025, 6, 30),
        "category": None, "id": 1})
    reason, figure = attention.describe(item, "zh", "wan")
    assert reason == "协议「年度目标」的目标（全部品类）落后于按时间进度应达到的水平。"
    assert figure == ("截至 2025-06-30 实际 1,500.00 万元，应达 1,785.21 万元，目标 3,600.00 万元（完成 41.7%），"
                      "按当前速度期末 3,024.86 万元")
    reason, figure = attention.describe(item, "en", "yuan")
    assert reason == 'Agreement "年度目标" is behind its pro-rata path to target (all categories).'
    assert figure.startswith("¥15,000,000.00 through 2025-06-30 against ¥17,852,054.79 expected")
    samples = {
        "projected_lower_tier": {"projected": 18e6, "tier": "ordinary", "tier_before": "partner",
                                 "threshold": 20e6, "method": "own"},
        "projected_near_next": {"projected": 46e6, "tier": "partner", "next_tier": "strategic", "threshold": 50e6,
                                "gap": 4e6, "method": "own"},
        "agreement_expiring": {"title": "年度协议", "valid_to": D(2025, 8, 14), "days_left": 60, "id": 1},
        "action_overdue": {"title": "寄样", "owner": "mia", "due_on": D(2025, 6, 14), "days_overdue": 1, "id": 2},
        "completeness_low": {"score": 12 / 26, "minimum": 0.5},
        "no_negotiation": {"last": D(2025, 3, 16), "days": 91, "limit": 90},
    }
    assert attention.describe(Item("Acme", "projected_near_next", samples["projected_near_next"]), "zh") == (
        "按季节规律预测，全年距战略性大客户不到 10%。", "预测 4,600.00 万元，还差 400.00 万元（下限 5,000.00 万元）")
    assert attention.describe(Item("Acme", "no_negotiation", samples["no_negotiation"]), "en") == (
        "No negotiation recorded for more than 90 days.", "last on 2025-03-16 (91 days ago)")
    for rule, values in samples.items():   # every rule has its words in both languages (labels are strict in tests)
        for lang in ("zh", "en"):
            reason, figure = attention.describe(Item("Acme", rule, values), lang)
            assert reason.endswith(("。", ".")) and figure
    down = attention.describe(Item("Acme", "sales_down", {"yoy": -0.25, "sales": 30e6, "sales_before": 40e6}),
                              "en", "wan")
    assert down == ("Like-for-like sales −25.0% on a year earlier.",
                    "now 30.00 M CNY, same days last year 40.00 M CNY")   # English counts in millions


def test_the_whole_list_for_a_manager_holds_only_the_accounts_given_in_rule_order(store):
    # 2025 through 30 June; the same days of 2024 had 40M at Acme and 1M at Beta.
    add_sales(store, ["date", "account", "amount"], [
        ("2024-03-01", "Acme", 40_000_000), ("2024-03-01", "Beta", 1_000_000),
        ("2025-03-01", "Acme", 30_000_000), ("2025-06-30", "Beta", 1_000_000)])
    dossier.add_record(store, SYSTEM, "negotiations", "Acme", {"held_on": "2025-06-01", "topic": "返利"})
    dossier.add_record(store, SYSTEM, "agreements", "Beta", {"title": "年度协议", "valid_to": "2025-07-01"})
    mine = dossier.owned_accounts(store, "mia")
    assert mine == ["Acme"]
    items = attention.attention_items(store, User("mia", "manager"), 2025, TODAY, accounts=mine)
    # Acme: −25 % like for like; its dossier is empty (1 of 26 items: the negotiation) but was met 14 days ago
    assert [(i.account, i.rule) for i in items] == [("Acme", "sales_down"), ("Acme", "completeness_low")]
    everyone = attention.attention_items(store, SYSTEM, 2025, TODAY)
    assert [(i.account, i.rule) for i in everyone] == [
        ("Acme", "sales_down"), ("Beta", "agreement_expiring"), ("Acme", "completeness_low"),
        ("Beta", "completeness_low"), ("Beta", "no_negotiation")]
