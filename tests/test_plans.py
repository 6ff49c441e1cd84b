"""Win-win marketing reads: plan filters, budgets by quarter, promotion uplift, the §5 checklist."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import pytest

from kam_core import dossier as d
from kam_core.dossier import plans as p
from kam_core.locales.labels import LABELS
from kam_core.permissions import PermissionDenied, User
import sales_lines
from kam_core.store import open_store

DIRECTOR = User("dee", "director")
MIA = User("mia", "manager")
VIEWER = User("val", "viewer")


@pytest.fixture
def store():
    s = open_store(":memory:")
    s.cursor().execute("insert into users (name, role) values ('dee', 'director'), ('mia', 'manager'), ('val', 'viewer')")
    d.set_owner(s, DIRECTOR, "Acme", "mia", None)
    yield s
    s.close()


def add_sales(store, rows):
    sales_lines.add_sales(store, ["date", "account", "amount"], rows)


def test_plans_frame_filters_by_account_kind_and_overlapping_period(store):
    a = d.add_record(store, MIA, "plans", "Acme", {"kind": "monthly_promotion", "side": "ours",
                                        "period_start": "2025-03-01", "period_end": "2025-03-31"})
    b = d.add_record(store, MIA, "plans", "Acme", {"kind": "budget", "side": "theirs",
                                        "period_start": "2025-05-01", "period_end": "2025-05-31"})
    c = d.add_record(store, DIRECTOR, "plans", "Beta", {"kind": "monthly_promotion", "side": "ours", "period_start": "2025-04-01"})
    undated = d.add_record(store, MIA, "plans", "Acme", {"kind": "other", "side": "ours"})
    d.delete_record(store, MIA, "plans", d.add_record(store, MIA, "plans", "Acme", {"kind": "other", "side": "ours"}))
    assert p.plans_frame(store, VIEWER)["id"].tolist() == [a, c, b, undated]
    assert p.plans_frame(store, VIEWER, account="Acme", kinds=["monthly_promotion"])["id"].tolist() == [a]
    # [2025-03-31, 2025-04-01] touches a's last day and c's single day
    assert p.plans_frame(store, VIEWER, start=dt.date(2025, 3, 31), end=dt.date(2025, 4, 1))["id"].tolist() == [a, c]
    assert p.plans_frame(store, VIEWER, start=dt.date(2025, 6, 1))["id"].tolist() == []
    assert p.plans_frame(store, VIEWER, kinds=[]).empty
    with pytest.raises(ValueError):
        p.plans_frame(store, VIEWER, kinds=["party"])


def test_reading_plans_needs_a_known_user():
    s = open_store(":memory:")
    with pytest.raises(PermissionDenied):
        p.plans_frame(s, None)


def test_budgets_split_across_quarters_by_days_and_sum_exactly():
    frame = pd.DataFrame([
        # 31 days in March, 30 in April: 61,000 splits 31,000 / 30,000
        {"side": "ours", "budget": 61000.0, "period_start": dt.date(2025, 3, 1), "period_end": dt.date(2025, 4, 30)},
        # no end date: all on the start day's quarter
        {"side": "theirs", "budget": 500.0, "period_start": dt.date(2025, 1, 10), "period_end": None},
        # 1 day in Q1, 2 in Q2: 100.00 → 33.33 and 66.67 (the odd cent goes to the larger remainder)
        {"side": "theirs", "budget": 100.0, "period_start": dt.date(2025, 3, 31), "period_end": dt.date(2025, 4, 2)},
        {"side": "ours", "budget": None, "period_start": dt.date(2025, 1, 1), "period_end": dt.date(2025, 1, 2)},
        {"side": "ours", "budget": 7.0, "period_start": None, "period_end": None},
        # crossing a year end: 1 day in 2025Q4, 1 in 2026Q1; 3 cents → 1 each, the tied odd cent to the earlier
        {"side": "ours", "budget": 0.03, "period_start": dt.date(2025, 12, 31), "period_end": dt.date(2026, 1, 1)},
    ])
    out = p.budget_by_quarter(frame)
    assert out.values.tolist() == [
        ["2025Q1", "ours", 31000.0], ["2025Q1", "theirs", 533.33],
        ["2025Q2", "ours", 30000.0], ["2025Q2", "theirs", 66.67],
        ["2025Q4", "ours", 0.02], ["2026Q1", "ours", 0.01],
    ]


def test_budget_by_quarter_of_an_empty_frame_is_empty_with_its_columns(store):
    out = p.budget_by_quarter(p.plans_frame(store, VIEWER))
    assert out.empty and list(out.columns) == ["quarter", "side", "budget"]


def test_uplift_compares_the_promotion_with_the_same_number_of_days_just_before(store):
    # promotion 2025-03-01..03-10 (10 days) → before is 2025-02-19..02-28 (February 2025 has 28 days)
    add_sales(store, [
        ("2025-02-18", "Acme", 999),              # one day too early
        ("2025-02-19", "Acme", 100), ("2025-02-28", "Acme", 150),
        ("2025-03-01", "Acme", 200), ("2025-03-10", "Acme", 175),
        ("2025-03-11", "Acme", 999),              # one day too late
        ("2025-03-05", "Beta", 5000),             # another account
    ])
    u = p.promotion_uplift(store, ("Acme", dt.date(2025, 3, 1), dt.date(2025, 3, 10)))
    assert (u["days"], u["before_start"], u["before_end"]) == (10, dt.date(2025, 2, 19), dt.date(2025, 2, 28))
    assert (u["sales_during"], u["sales_before"]) == (375.0, 250.0)
    assert u["uplift_share"] == pytest.approx(0.5)
    assert u["before_covered"] is True
    pid = d.add_record(store, MIA, "plans", "Acme", {"kind": "monthly_promotion", "side": "ours",
                                          "period_start": "2025-03-01", "period_end": "2025-03-10"})
    assert p.promotion_uplift(store, pid)["uplift_share"] == pytest.approx(0.5)


def test_uplift_is_none_when_nothing_was_sold_before_and_flags_missing_history(store):
    add_sales(store, [("2025-03-02", "Acme", 80)])
    u = p.promotion_uplift(store, ("Acme", "2025-03-01", "2025-03-03"))
    assert (u["sales_during"], u["sales_before"], u["uplift_share"], u["before_covered"]) == (80.0, 0.0, None, False)


def test_uplift_needs_a_dated_plan(store):
    pid = d.add_record(store, MIA, "plans", "Acme", {"kind": "monthly_promotion", "side": "ours", "period_start": "2025-03-01"})
    with pytest.raises(ValueError):
        p.promotion_uplift(store, pid)
    with pytest.raises(d.NotFound):
        p.promotion_uplift(store, 12345)


def test_uplift_frame_lists_only_finished_promotions(store):
    add_sales(store, [("2025-02-27", "Acme", 100), ("2025-03-02", "Acme", 300)])
    done = d.add_record(store, MIA, "plans", "Acme", {"kind": "holiday_promotion", "side": "theirs",
                                           "period_start": "2025-03-01", "period_end": "2025-03-04"})
    d.add_record(store, MIA, "plans", "Acme", {"kind": "holiday_promotion", "side": "theirs",       # still running
                                    "period_start": "2025-06-01", "period_end": "2025-06-30"})
    d.add_record(store, MIA, "plans", "Acme", {"kind": "budget", "side": "ours",                    # not a promotion
                                    "period_start": "2025-01-01", "period_end": "2025-01-31"})
    f = p.uplift_frame(store, VIEWER, dt.date(2025, 6, 15))
    assert f[["id", "sales_during", "sales_before", "uplift_share"]].values.tolist() == [[done, 300.0, 100.0, 2.0]]


def test_the_exchange_checklist_starts_empty_and_keeps_unmentioned_items(store):
    assert p.get_exchange_checklist(store, VIEWER, "Acme") == {k: False for k in d.EXCHANGE_ITEMS}
    v = d.get_account(store, MIA, "Acme")["version"]
    p.set_exchange_checklist(store, MIA, "Acme", {"their_ad_agencies": True}, expected_version=v)
    got = p.set_exchange_checklist(store, MIA, "Acme", {"our_event_calendar_sent": True}, expected_version=v + 1)
    assert {k for k, done in got.items() if done} == {"their_ad_agencies", "our_event_calendar_sent"}
    assert p.get_exchange_checklist(store, VIEWER, "Acme") == got
    rows = store.cursor().execute(
        "select who, field from audit_log where table_name = 'accounts' and field = 'exchange_checklist'").fetchall()
    assert rows == [("mia", "exchange_checklist"), ("mia", "exchange_checklist")]


def test_the_exchange_checklist_rejects_unknown_items_stale_versions_and_viewers(store):
    with pytest.raises(d.ValidationError):
        p.set_exchange_checklist(store, MIA, "Acme", {"free_lunch": True})
    with pytest.raises(d.VersionConflict):
        p.set_exchange_checklist(store, MIA, "Acme", {"their_ad_agencies": True}, expected_version=99)
    with pytest.raises(PermissionDenied):
        p.set_exchange_checklist(store, VIEWER, "Acme", {"their_ad_agencies": True})
    with pytest.raises(d.ValidationError):
        d.upsert_account(store, MIA, "Acme", {"exchange_checklist": {"their_ad_agencies": "yes"}})


def test_every_checklist_item_belongs_to_step_one_or_two():
    labelled = {k.removeprefix("plan.exchange.") for k in LABELS if k.startswith("plan.exchange.")}
    assert set(p.EXCHANGE_STEPS) == set(d.EXCHANGE_ITEMS) == labelled
    assert sorted(p.EXCHANGE_STEPS.values()) == [1, 1, 1, 2, 2, 2]


def test_a_price_change_compares_the_days_before_it_with_the_days_from_it_on(store):
    # changed on 2025-03-10, 3 days: before 03-07..03-09, after 03-10..03-12
    add_sales(store, [("2025-03-06", "Acme", 999), ("2025-03-07", "Acme", 100), ("2025-03-09", "Acme", 100),
                      ("2025-03-10", "Acme", 50), ("2025-03-12", "Acme", 100), ("2025-03-13", "Acme", 999)])
    rid = d.add_record(store, MIA, "price_changes", "Acme", {"changed_on": "2025-03-10", "old_price": 10, "new_price": 12})
    e = p.price_change_effect(store, rid, days=3)
    assert (e["before_start"], e["after_end"]) == (dt.date(2025, 3, 7), dt.date(2025, 3, 12))
    assert (e["sales_before"], e["sales_after"]) == (200.0, 150.0)
    assert e["change_share"] == pytest.approx(-0.25)


def test_price_change_effects_lists_every_live_change_of_the_account_with_the_same_windows(store):
    # days=3. Change A on 03-10: before 03-07..03-09 = 100 + 100, after 03-10..03-12 = 50 + 100.
    # Change B on 03-20: before 03-17..03-19 = nothing sold, after 03-20..03-22 = 40.
    # Beta's line on 03-08 and the deleted change must not count.
    add_sales(store, [("2025-03-06", "Acme", 999), ("2025-03-07", "Acme", 100), ("2025-03-09", "Acme", 100),
                      ("2025-03-10", "Acme", 50), ("2025-03-12", "Acme", 100), ("2025-03-13", "Acme", 999),
                      ("2025-03-21", "Acme", 40), ("2025-03-08", "Beta", 7777)])
    a = d.add_record(store, MIA, "price_changes", "Acme", {"changed_on": "2025-03-10", "product": "茶", "old_price": 10,
                                                "new_price": 12})
    b = d.add_record(store, MIA, "price_changes", "Acme", {"changed_on": "2025-03-20", "old_price": 5, "new_price": 4})
    gone = d.add_record(store, MIA, "price_changes", "Acme", {"changed_on": "2025-03-11"})
    d.delete_record(store, MIA, "price_changes", gone)
    e = p.price_change_effects(store, VIEWER, "Acme", days=3)
    assert list(e.columns) == p.PRICE_EFFECT_COLUMNS
    assert e["id"].tolist() == [b, a]                                      # newest first
    assert e["changed_on"].tolist() == [dt.date(2025, 3, 20), dt.date(2025, 3, 10)]
    assert e["sales_before"].tolist() == [0.0, 200.0]
    assert e["sales_after"].tolist() == [40.0, 150.0]
    assert e["change_share"].iloc[0] is None                               # nothing sold before: no ratio
    assert e["change_share"].iloc[1] == pytest.approx(-0.25)
    single = p.price_change_effect(store, a, days=3)
    assert (single["sales_before"], single["sales_after"]) == (200.0, 150.0)


def test_price_change_effects_is_empty_for_an_account_without_price_changes(store):
    e = p.price_change_effects(store, VIEWER, "Nobody")
    assert e.empty and list(e.columns) == p.PRICE_EFFECT_COLUMNS
