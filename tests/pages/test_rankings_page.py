"""Rankings: the table in rank order, and the sidebar filters that change it."""
from __future__ import annotations

import math

import pytest

from core_fixtures import (ACCOUNTS_2024, ACCOUNTS_2025, dataframe_with, fixture_db,  # noqa: F401
                           fixture_db_file, open_page, sidebar_widget)


def ranking(at):
    return dataframe_with(at, "rank")


def test_the_ranking_lists_the_accounts_in_rank_order_with_their_figures(fixture_db):
    at = open_page("rankings")
    assert [t.value for t in at.title] == ["排名"]
    df = ranking(at)
    assert list(df["account"]) == ACCOUNTS_2025
    assert list(df["rank"]) == [1, 2, 3, 4, 5]
    # amounts in 万元, ratios in percent
    assert list(df["sales"]) == pytest.approx([5000.0, 4500.000001, 2000.0, 500.0, 499.999999])
    assert df["share"].iloc[0] == pytest.approx(40.0)
    assert df["margin"].iloc[2] == pytest.approx(15.0)            # Bravo 3M / 20M
    assert df["yoy"].iloc[0] == pytest.approx(25.0)               # Alpha 50M vs 40M
    assert math.isnan(df["yoy"].iloc[1])                           # Echo is new
    assert list(df["tier"]) == ["战略性大客户", "伙伴式大客户", "伙伴式大客户", "普通大客户", "非大客户"]
    assert df["dossier"].iloc[0] == "./dossier?year=2025&account=Alpha"     # the link keeps the view's year


def test_the_dossier_links_keep_the_views_filters(fixture_db):
    at = open_page("rankings")
    sidebar_widget(at, "multiselect", "kam_region").set_value(["华东", "华南"]).run()
    assert ranking(at)["dossier"].iloc[0] == (
        "./dossier?year=2025&region=%E5%8D%8E%E4%B8%9C&region=%E5%8D%8E%E5%8D%97&account=Alpha")


def test_choosing_another_year_in_the_sidebar_changes_the_table(fixture_db):
    at = open_page("rankings")
    sidebar_widget(at, "selectbox", "kam_year").set_value(2024).run()
    assert not at.exception
    df = ranking(at)
    assert list(df["account"]) == ACCOUNTS_2024
    assert list(df["sales"]) == pytest.approx([4000.0, 2500.0, 1000.0, 600.0, 500.0])


def test_a_region_filter_narrows_the_table_to_that_regions_accounts(fixture_db):
    at = open_page("rankings")
    sidebar_widget(at, "multiselect", "kam_region").set_value(["华东"]).run()
    assert not at.exception
    df = ranking(at)
    assert list(df["account"]) == ["Alpha", "Bravo"]
    assert list(df["share"]) == pytest.approx([100 * 50 / 70, 100 * 20 / 70])
    assert at.query_params["region"] == "华东"


def test_the_top_n_chart_can_rank_by_gross_profit(fixture_db):
    at = open_page("rankings")
    at.radio(key="rankings_by").set_value("gross_profit").run()
    at.slider(key="rankings_n").set_value(5).run()
    assert not at.exception
