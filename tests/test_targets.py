"""Agreements' targets against actual sales: the pro-rata path, progress and the projected end, worked by hand."""
from __future__ import annotations

import datetime as dt

import pytest

from kam_core import dossier

from kam_core.dossier import targets
from kam_core.permissions import SYSTEM
from kam_core.store import open_store
from sales_lines import add_sales

D = dt.date


def test_a_target_behind_its_path_halfway_through_the_year():
    # 36,000,000 over 2025 (365 days); sales counted through 30 June: 181 days.
    got = targets.progress(36_000_000, D(2025, 1, 1), D(2025, 12, 31), 15_000_000, D(2025, 6, 30))
    assert got["days_total"] == 365 and got["days_counted"] == 181
    assert got["expected"] == pytest.approx(17_852_054.79, abs=0.01)          # 36M × 181 / 365
    assert got["progress_share"] == pytest.approx(15 / 36)                     # 41.7 %
    assert got["expected_share"] == pytest.approx(181 / 365)
    assert got["projected_end"] == pytest.approx(30_248_618.78, abs=0.01)     # 15M × 365 / 181
    assert got["state"] == "behind"


def test_a_target_at_or_above_its_path_is_on_track_and_one_reached_early_is_met():
    on = targets.progress(36_000_000, D(2025, 1, 1), D(2025, 12, 31), 18_000_000, D(2025, 6, 30))
    assert on["state"] == "on_track"                                           # 18M ≥ 17.85M
    met = targets.progress(36_000_000, D(2025, 1, 1), D(2025, 12, 31), 36_000_000, D(2025, 6, 30))
    assert met["state"] == "met" and met["progress_share"] == 1.0


def test_after_the_end_the_whole_period_counts_and_a_shortfall_is_missed():
    got = targets.progress(36_000_000, D(2025, 1, 1), D(2025, 12, 31), 30_000_000, D(2026, 1, 10))
    assert got["counted_through"] == D(2025, 12, 31) and got["days_counted"] == 365
    assert got["expected"] == 36_000_000 and got["projected_end"] == 30_000_000
    assert got["state"] == "missed"


def test_a_target_that_has_not_started_expects_nothing_and_one_without_dates_has_no_period():
    early = targets.progress(10_000_000, D(2025, 1, 1), D(2025, 12, 31), 0.0, D(2024, 12, 31))
    assert early["state"] == "not_started" and early["expected"] == 0.0 and early["projected_end"] is None
    undated = targets.progress(10_000_000, None, D(2025, 12, 31), 0.0, D(2025, 6, 30))
    assert undated["state"] == "no_period" and undated["expected"] is None


@pytest.fixture
def store():
    s = open_store(":memory:")
    add_sales(s, ["date", "account", "category", "amount"], [
        ("2025-01-15", "Acme", "饮料", 10_000_000),
        ("2025-03-20", "Acme", "日化", 5_000_000),
        ("2025-06-30", "Acme", "饮料", 2_000_000),     # the last line loaded: the as-of date
        ("2025-06-30", "Beta", "饮料", 1),
    ])
    yield s
    s.close()


def test_targets_count_the_accounts_sales_through_the_as_of_date_and_only_the_targets_category(store):
    whole = dossier.add_record(store, SYSTEM, "agreements", "Acme", {
        "title": "年度目标", "valid_from": "2025-01-01", "valid_to": "2025-12-31", "target_amount": 36_000_000})
    drinks = dossier.add_record(store, SYSTEM, "agreements", "Acme", {
        "title": "饮料目标", "valid_from": "2025-01-16", "valid_to": "2025-12-31", "target_amount": 20_000_000,
        "category": "饮料"})
    undated = dossier.add_record(store, SYSTEM, "agreements", "Acme", {"title": "无期限", "target_amount": 1_000})
    dossier.add_record(store, SYSTEM, "agreements", "Acme", {"title": "无目标", "valid_from": "2025-01-01"})
    got = targets.targets_frame(store, SYSTEM).set_index("id")
    assert sorted(got.index) == sorted([whole, drinks, undated])          # only agreements with a target
    w = got.loc[whole]
    assert w["actual"] == 17_000_000                                     # 10M + 5M + 2M, every category
    assert w["counted_through"] == D(2025, 6, 30) and w["days_counted"] == 181
    assert w["expected"] == pytest.approx(17_852_054.79, abs=0.01)
    assert w["state"] == "behind"
    d = got.loc[drinks]
    # 饮料 from 16 January: the 15 January line is outside; 16 Jan – 30 Jun is 166 of 350 days
    assert d["actual"] == 2_000_000
    assert (d["days_counted"], d["days_total"]) == (166, 350)
    assert d["expected"] == pytest.approx(20_000_000 * 166 / 350)        # 9,485,714.29
    assert d["projected_end"] == pytest.approx(2_000_000 * 350 / 166)    # 4,216,867.47
    assert got.loc[undated, "state"] == "no_period"


def test_a_deleted_agreement_has_no_target_row(store):
    rid = dossier.add_record(store, SYSTEM, "agreements", "Acme", {"title": "t", "valid_from": "2025-01-01",
                                                        "valid_to": "2025-12-31", "target_amount": 1})
    dossier.delete_record(store, SYSTEM, "agreements", rid)
    assert targets.targets_frame(store, SYSTEM).empty
