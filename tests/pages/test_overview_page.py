"""Overview: the KPI cards and tier counts a manager reads every morning, on the hand-worked fixture."""
from __future__ import annotations

import pytest

from core_fixtures import (deltas_by_label, fixture_db, fixture_db_file, metrics_by_label,  # noqa: F401
                           open_page, open_shared_page, sidebar_widget)


@pytest.fixture(scope="module")
def overview(fixture_db_file, tmp_path_factory):
    """The Overview opened once for this module's tests that only read what it shows."""
    return open_shared_page(fixture_db_file, tmp_path_factory.mktemp("overview"))


def test_the_overview_shows_the_years_kpis_worked_out_by_hand(overview):
    at = overview
    assert [t.value for t in at.title] == ["总览"]
    shown = metrics_by_label(at)
    assert shown["销售额"] == "1.25 亿元"               # 125,000,000.00: from one 亿 up, in 亿元
    assert shown["毛利"] == "1,400.00 万元"            # 14,000,000
    assert shown["毛利率"] == "11.2%"                  # 14 / 125
    assert shown["前十大占比"] == "100.0%"             # five accounts
    assert shown["集中度指数 HHI"] == "3,184"          # 10,000 × Σ share²
    assert shown["客户数"] == "5"


def test_the_kpis_compare_with_last_year(overview):
    at = overview
    delta = deltas_by_label(at)
    assert delta["销售额"] == "+45.3%"                 # 125 / 86 − 1
    assert delta["毛利"] == "+55.6%"                   # 14 / 9 − 1
    assert delta["毛利率"] == "+0.7 个百分点"          # 11.2 % − 10.47 %, in the page's words
    assert delta["集中度指数 HHI"] == "-42"            # 3,184 − 3,226.07


def test_the_overview_counts_the_accounts_per_tier_and_their_change(overview):
    at = overview
    shown, delta = metrics_by_label(at), deltas_by_label(at)
    counts = {k: shown[k] for k in ("战略性大客户", "伙伴式大客户", "普通大客户", "非大客户")}
    assert counts == {"战略性大客户": "1", "伙伴式大客户": "2", "普通大客户": "1", "非大客户": "1"}
    changes = {k: delta[k] for k in counts}
    # no change shows no arrow at all (a green "+0" read as growth)
    assert changes == {"战略性大客户": "+1", "伙伴式大客户": "", "普通大客户": "-2", "非大客户": "+1"}


def test_picking_the_previous_year_shows_its_figures_without_a_comparison(fixture_db):
    at = open_page()
    sidebar_widget(at, "selectbox", "kam_year").set_value(2024).run()
    assert not at.exception
    shown, delta = metrics_by_label(at), deltas_by_label(at)
    assert shown["销售额"] == "8,600.00 万元"
    assert shown["普通大客户"] == "3"                  # Foxtrot, Charlie, Delta
    assert delta["销售额"] == ""                       # no 2023 data to compare with
    assert at.query_params["year"] == "2024"


def test_a_region_filter_narrows_the_kpis(fixture_db):
    at = open_page()
    sidebar_widget(at, "multiselect", "kam_region").set_value(["华南"]).run()
    assert not at.exception
    shown = metrics_by_label(at)
    assert shown["销售额"] == "5,500.00 万元"          # Echo + Charlie + Delta
    assert shown["客户数"] == "3"
    assert shown["战略性大客户"] == "0"


def test_the_english_overview_counts_money_in_millions_of_cny(fixture_db):
    at = open_page(lang="en")
    shown, delta = metrics_by_label(at), deltas_by_label(at)
    assert shown["Sales"] == "125.00 M CNY"             # never "12,500.00 (10k CNY)"
    assert shown["Gross profit"] == "14.00 M CNY"
    assert delta["Margin"] == "+0.7 pp"
    assert "None" not in " ".join(shown.values()) and "nan" not in " ".join(shown.values())
