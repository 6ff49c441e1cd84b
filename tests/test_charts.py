"""Chart builders: tiny literal frames in, figures with hand-computed values out."""
from __future__ import annotations

import json

import pandas as pd
import plotly.graph_objects as go
import plotly.io as pio
import pytest

from kam_core.ui import charts

# Four accounts, 100M yuan in all. Shares 0.60/0.25/0.10/0.05, so the
# cumulative shares are 0.60, 0.85, 0.95, 1.00 and the shares *before* each
# account 0, 0.60, 0.85, 0.95 → A, A, B, C with the 80 %/95 % cut-offs.
TIERS = pd.DataFrame({
    "account": ["甲", "乙", "丙", "丁"],
    "sales": [60e6, 25e6, 10e6, 5e6],
    "gross_profit": [6e6, -1e6, 2e6, 0.5e6],
    "margin": [0.10, -0.04, 0.20, 0.10],
    "rank": [1, 2, 3, 4],
    "tier": ["strategic", "partner", "ordinary", "ordinary"],
})

MIGRATION = pd.DataFrame({
    "account": ["a", "b", "c", "d", "e", "f"],
    "tier_prev": ["partner", "ordinary", None, "none", "strategic", "ordinary"],
    "tier": ["strategic", "ordinary", "partner", None, "partner", "ordinary"],
    "movement": ["up", "same", "new", "lost", "down", "same"],
})

PLANS = pd.DataFrame({
    "account": ["甲", "乙", "甲"],
    "kind": ["monthly_promotion", "budget", "holiday_promotion"],
    "start": ["2025-01-05", "2025-04-01", "2025-02-10"],
    "end": ["2025-01-20", None, "2025-02-20"],
    "side": ["ours", "theirs", "ours"],
    "status": ["done", "planned", "running"],
    "budget": [10_000.0, 20_000.0, 5_000.0],
})

MONTHLY_ONE = pd.DataFrame({
    "month": pd.to_datetime(["2025-01-01", "2025-02-01", "2025-03-01"]),
    "sales": [100_000.0, 200_000.0, 150_000.0],
})
PROMOTIONS = pd.DataFrame({"start": ["2025-02-01"], "end": ["2025-02-15"], "label": ["春节促销"]})
PRICE_CHANGES = pd.DataFrame({"date": ["2025-03-10"], "label": ["提价 5%"]})


def _builders(frame):
    """Every builder called on the same frame (for the empty-frame tests)."""
    return {
        "monthly_trend_by_tier": lambda lang: charts.monthly_trend_by_tier(frame, "wan", lang),
        "tier_distribution": lambda lang: charts.tier_distribution(frame, "wan", lang),
        "pareto_chart": lambda lang: charts.pareto_chart(frame, lang),
        "portfolio_scatter": lambda lang: charts.portfolio_scatter(frame, "wan", lang),
        "top_n_bar": lambda lang: charts.top_n_bar(frame, 10, "sales", "wan", lang),
        "migration_sankey": lambda lang: charts.migration_sankey(frame, lang),
        "sales_trend": lambda lang: charts.sales_trend(frame, None, None, "wan", lang),
        "plans_timeline": lambda lang: charts.plans_timeline(frame, lang),
        "budget_by_quarter": lambda lang: charts.budget_by_quarter(frame, lang),
    }


@pytest.mark.parametrize("name", sorted(_builders(None)))
@pytest.mark.parametrize("frame", [None, pd.DataFrame()], ids=["none", "empty"])
@pytest.mark.parametrize(("lang", "note"), [("zh", "暂无数据"), ("en", "No data")])
def test_an_empty_frame_gives_a_figure_with_a_localised_no_data_note(name, frame, lang, note):
    fig = _builders(frame)[name](lang)
    assert isinstance(fig, go.Figure)
    assert len(fig.data) == 0
    assert [a.text for a in fig.layout.annotations] == [note]
    assert (fig.layout.annotations[0].x, fig.layout.annotations[0].y) == (0.5, 0.5)


def test_figures_use_a_cjk_font_and_the_white_template():
    fig = charts.pareto_chart(TIERS, "zh")
    assert fig.layout.font.family.startswith("Noto Sans CJK SC")
    assert fig.layout.template == pio.templates["plotly_white"]


def test_monthly_trend_stacks_one_trace_per_tier_in_policy_order():
    monthly = pd.DataFrame({"month": [2, 1, 1], "tier": ["strategic", "none", "strategic"],
                            "sales": [30_000.0, 20_000.0, 10_000.0]})
    fig = charts.monthly_trend_by_tier(monthly, "wan", "zh")
    assert fig.layout.barmode == "stack"
    assert [tr.name for tr in fig.data] == ["战略性大客户", "非大客户"]
    assert list(fig.data[0].x) == ["1", "2"]
    assert list(fig.data[0].y) == [1.0, 3.0]
    assert list(fig.data[1].y) == [2.0, 0.0]  # no 'none' sales in month 2
    assert fig.data[0].marker.color == charts.TIER_COLOURS["strategic"]
    assert "万元" in fig.data[0].hovertemplate


def test_monthly_trend_labels_dated_months_as_year_month():
    monthly = pd.DataFrame({"month": pd.to_datetime(["2025-02-01", "2025-01-01"]),
                            "tier": ["partner", "partner"], "sales": [1.0, 2.0]})
    fig = charts.monthly_trend_by_tier(monthly, "yuan", "en")
    assert list(fig.data[0].x) == ["Jan 2025", "Feb 2025"]
    assert fig.layout.yaxis.title.text == "Sales (CNY)"


def test_monthly_by_tier_joins_tiers_and_counts_unknown_accounts_as_none():
    monthly_sales = pd.DataFrame({"month": [1, 1, 1], "account": ["甲", "乙", "戊"],
                                  "sales": [5.0, 7.0, 11.0], "gross_profit": [1.0, 1.0, 1.0]})
    out = charts.monthly_by_tier(monthly_sales, TIERS)
    assert out.to_dict("records") == [
        {"month": 1, "tier": "none", "sales": 11.0},
        {"month": 1, "tier": "partner", "sales": 7.0},
        {"month": 1, "tier": "strategic", "sales": 5.0},
    ]


def test_tier_distribution_counts_accounts_and_sums_sales_for_all_four_tiers():
    fig = charts.tier_distribution(TIERS, "wan", "en")
    counts, sales = fig.data          # horizontal bars: tiers on y, values on x
    assert list(counts.y) == ["Strategic key account", "Partner key account", "Ordinary key account",
                              "Not a key account"]
    assert list(counts.x) == [1, 1, 2, 0]
    assert list(sales.x) == [60.0, 25.0, 15.0, 0.0]   # 60,000,000 yuan = 60 M CNY (English counts in millions)
    assert [a.text for a in fig.layout.annotations] == ["Accounts", "Sales (M CNY)"]  # panel titles


def test_tier_distribution_panel_titles_in_chinese():
    fig = charts.tier_distribution(TIERS, "yuan", "zh")
    assert [a.text for a in fig.layout.annotations] == ["客户数", "销售额（元）"]
    assert list(fig.data[0].y)[0] == "战略性大客户"


def test_pareto_bars_follow_rank_and_the_line_is_the_cumulative_share():
    shuffled = TIERS.sample(frac=1, random_state=3)
    fig = charts.pareto_chart(shuffled, "zh")
    bars, line = fig.data
    assert list(bars.x) == ["甲", "乙", "丙", "丁"]
    assert list(bars.y) == [6000.0, 2500.0, 1000.0, 500.0]
    assert list(line.y) == pytest.approx([0.60, 0.85, 0.95, 1.00])
    assert line.yaxis == "y2"


def test_pareto_colours_bars_by_abc_class_with_the_cut_rule():
    fig = charts.pareto_chart(TIERS, "en")
    c = charts.ABC_COLOURS
    assert list(fig.data[0].marker.color) == [c["A"], c["A"], c["B"], c["C"]]
    assert list(fig.data[0].customdata) == ["Class A", "Class A", "Class B", "Class C"]


def test_pareto_draws_dashed_cut_lines_on_the_share_axis():
    fig = charts.pareto_chart(TIERS, "zh", a_cut=0.7, b_cut=0.9)
    lines = [(s.y0, s.yref, s.line.dash) for s in fig.layout.shapes]
    assert lines == [(0.7, "y2", "dash"), (0.9, "y2", "dash")]
    assert [a.text for a in fig.layout.annotations] == ["A 类界线 70%", "B 类界线 90%"]


@pytest.mark.parametrize(("lang", "y1", "y2"), [("zh", "销售额（万元）", "累计占比"),
                                                 ("en", "Sales (M CNY)", "Cumulative share")])
def test_pareto_axis_titles_are_localised(lang, y1, y2):
    fig = charts.pareto_chart(TIERS, lang)
    assert (fig.layout.yaxis.title.text, fig.layout.yaxis2.title.text) == (y1, y2)


def test_pareto_with_no_positive_sales_is_a_no_data_figure():
    fig = charts.pareto_chart(TIERS.assign(sales=0.0), "en")
    assert len(fig.data) == 0 and fig.layout.annotations[0].text == "No data"


def test_portfolio_has_one_trace_per_tier_and_quadrant_lines_at_the_medians():
    fig = charts.portfolio_scatter(TIERS, "wan", "zh")
    assert [tr.name for tr in fig.data] == ["战略性大客户", "伙伴式大客户", "普通大客户"]
    ordinary = fig.data[2]
    assert list(ordinary.text) == ["丙", "丁"]
    assert list(ordinary.x) == [1000.0, 500.0]
    assert list(ordinary.y) == [0.20, 0.10]
    assert list(ordinary.marker.size) == [200.0, 50.0]  # |gross profit| in 万元
    assert list(fig.data[1].marker.size) == [100.0]  # the loss-maker's bubble is |−100|
    # median sales of 6000/2500/1000/500 万元 = 1750; median margin of .10/−.04/.20/.10 = .10
    vline, hline = fig.layout.shapes
    assert (vline.x0, vline.x1, vline.line.dash) == (1750.0, 1750.0, "dash")
    assert (hline.y0, hline.y1, hline.line.dash) == (0.10, 0.10, "dash")
    assert "%{text}" in ordinary.hovertemplate
    assert fig.layout.xaxis.title.text == "销售额（万元）" and fig.layout.yaxis.title.text == "毛利率"


def test_portfolio_uses_a_log_sales_axis_when_sales_span_over_a_hundredfold():
    wide = pd.DataFrame({"account": ["大", "中", "小"], "sales": [1e9, 1e7, 1e6],
                         "gross_profit": [1e8, 1e6, 1e5], "margin": [0.1, 0.1, 0.1],
                         "tier": ["strategic", "partner", "none"]})
    fig = charts.portfolio_scatter(wide, "wan", "en")
    assert fig.layout.xaxis.type == "log"
    # the largest, 1e9 yuan, sets the scale: bn CNY; shapes keep data coordinates: median 1e7 yuan = 0.01 bn
    assert fig.layout.shapes[0].x0 == pytest.approx(0.01)
    median_note = next(a for a in fig.layout.annotations if a.yref == "paper")
    assert median_note.x == pytest.approx(-2.0)  # annotations take log10 positions
    assert fig.layout.xaxis.title.text == "Sales (bn CNY)"


def test_portfolio_keeps_a_linear_axis_for_a_narrow_sales_range():
    assert charts.portfolio_scatter(TIERS, "wan", "en").layout.xaxis.type == "linear"


def test_portfolio_leaves_out_accounts_without_a_margin():
    fig = charts.portfolio_scatter(TIERS.assign(margin=[0.1, None, None, None]), "yuan", "en")
    assert [tr.name for tr in fig.data] == ["Strategic key account"]
    assert list(fig.data[0].x) == [60e6]
    assert "¥%{x:,.2f}" in fig.data[0].hovertemplate


def test_top_n_bar_puts_the_largest_on_top():
    fig = charts.top_n_bar(TIERS, 3, "gross_profit", "yuan", "en")
    bar = fig.data[0]
    assert bar.orientation == "h"
    assert list(bar.y) == ["甲", "丙", "丁"]
    assert list(bar.x) == [6e6, 2e6, 0.5e6]
    assert list(fig.layout.yaxis.categoryarray) == ["甲", "丙", "丁"]
    assert fig.layout.yaxis.autorange == "reversed"  # first category drawn at the top
    assert fig.layout.title.text == "Top 3 by gross profit"
    assert fig.layout.xaxis.title.text == "Gross profit (CNY)"


def test_top_n_bar_breaks_ties_by_account_name():
    tied = pd.DataFrame({"account": ["b", "a", "c"], "sales": [5.0, 5.0, 9.0], "tier": ["none"] * 3})
    fig = charts.top_n_bar(tied, 2, "sales", "yuan", "zh")
    assert list(fig.data[0].y) == ["c", "a"]
    assert fig.layout.title.text == "销售额前 2 名"


def test_top_n_bar_refuses_an_unknown_measure():
    with pytest.raises(ValueError, match="by must be"):
        charts.top_n_bar(TIERS, 3, "margin", "wan", "zh")


def test_migration_sankey_counts_accounts_per_flow_with_new_and_lost_nodes():
    fig = charts.migration_sankey(MIGRATION, "zh")
    sankey = fig.data[0]
    assert list(sankey.node.label) == ["战略性大客户", "伙伴式大客户", "普通大客户", "非大客户", "新增",
                                       "战略性大客户", "伙伴式大客户", "普通大客户", "流失"]
    flows = list(zip(sankey.link.source, sankey.link.target, sankey.link.value))
    # left 0–4: strategic, partner, ordinary, none, new; right 5–8: strategic, partner, ordinary, lost
    assert flows == [(0, 6, 1), (1, 5, 1), (2, 7, 2), (3, 8, 1), (4, 6, 1)]
    assert list(sankey.link.customdata) == ["降级", "升级", "持平", "流失", "新增"]
    assert sankey.link.color[1] == charts.MOVEMENT_COLOURS["up"]


def test_migration_sankey_labels_in_english():
    fig = charts.migration_sankey(MIGRATION, "en")
    assert fig.data[0].node.label[4] == "New" and fig.data[0].node.label[-1] == "Lost"
    assert fig.layout.title.text == "Tier migration"


def test_sales_trend_draws_the_line_shades_promotions_and_marks_price_changes():
    fig = charts.sales_trend(MONTHLY_ONE, PROMOTIONS, PRICE_CHANGES, "wan", "zh")
    line, marks = fig.data
    assert list(line.y) == [10.0, 20.0, 15.0]
    assert list(line.x) == ["2025-01-01", "2025-02-01", "2025-03-01"]
    (promo,) = fig.layout.shapes
    assert (promo.type, promo.x0, promo.x1) == ("rect", "2025-02-01", "2025-02-15")
    assert [a.text for a in fig.layout.annotations] == ["春节促销"]
    assert list(marks.x) == ["2025-03-10"] and list(marks.y) == [15.0]  # sits on March's sales
    assert marks.name == "价格调整"


def test_sales_trend_without_promotions_or_price_changes_is_one_line():
    fig = charts.sales_trend(MONTHLY_ONE, None, pd.DataFrame(), "yuan", "en")
    assert len(fig.data) == 1 and len(fig.layout.shapes) == 0
    assert fig.layout.yaxis.title.text == "Sales (CNY)"


def test_plans_timeline_has_one_trace_per_side_and_a_day_for_a_missing_end():
    fig = charts.plans_timeline(PLANS, "zh")
    assert [tr.name for tr in fig.data] == ["我方", "对方"]
    ours, theirs = fig.data
    # one row per account and kind, so 甲's two promotions do not sit on one line
    assert list(ours.y) == ["甲 · 月度促销计划", "甲 · 节庆促销"]
    assert list(theirs.y) == ["乙 · 营销费用计划"]
    assert list(theirs.x) == [86_400_000]  # px.timeline: bar length in ms from its base
    assert fig.layout.yaxis.title.text == "客户/供应商"


def test_budget_by_quarter_sums_ours_and_theirs_per_starting_quarter():
    fig = charts.budget_by_quarter(PLANS, "en")
    assert fig.layout.barmode == "group"
    ours, theirs = fig.data
    assert (ours.name, theirs.name) == ("Ours", "Theirs")
    assert list(ours.x) == ["2025 Q1", "2025 Q2"]
    assert list(ours.y) == [15.0, 0.0]  # 10,000 + 5,000 yuan in Q1 = 15 K CNY
    assert list(theirs.y) == [0.0, 20.0]
    assert fig.layout.yaxis.title.text == "Budget (K CNY)"


def test_budget_by_quarter_without_any_budget_is_a_no_data_figure():
    fig = charts.budget_by_quarter(PLANS.assign(budget=None), "zh")
    assert len(fig.data) == 0 and fig.layout.annotations[0].text == "暂无数据"


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_builder_serialises_to_json(lang):
    figures = [
        charts.monthly_trend_by_tier(pd.DataFrame({"month": [1], "tier": ["partner"], "sales": [1.0]}), "wan", lang),
        charts.tier_distribution(TIERS, "wan", lang), charts.pareto_chart(TIERS, lang),
        charts.portfolio_scatter(TIERS, "wan", lang), charts.top_n_bar(TIERS, 2, "sales", "wan", lang),
        charts.migration_sankey(MIGRATION, lang),
        charts.sales_trend(MONTHLY_ONE, PROMOTIONS, PRICE_CHANGES, "wan", lang),
        charts.plans_timeline(PLANS, lang), charts.budget_by_quarter(PLANS, lang),
    ]
    for fig in figures:
        assert fig.to_json().startswith("{")


def test_an_account_name_with_plotly_tags_is_shown_as_text_and_still_opens_its_dossier():
    from kam_core.ui.clickthrough import account_of_point

    name = '<a href="http://127.0.0.1:9/x">点我</a> <b>Acme</b>'
    table = pd.DataFrame({"account": [name, "Beta"], "rank": [1, 2], "sales": [100.0, 50.0], "tier": ["none", "none"],
                          "margin": [0.1, 0.2], "gross_profit": [10.0, 10.0]})
    for fig in (charts.pareto_chart(table), charts.top_n_bar(table), charts.portfolio_scatter(table)):
        shown = json.dumps(fig.to_dict(), ensure_ascii=False)
        assert "<a href" not in shown and "<b>Acme" not in shown       # plotly would render these as a link and bold
        assert "&lt;a href=" in shown
    escaped = charts.pareto_chart(table).to_dict()["data"][0]["x"][0]
    assert account_of_point({"x": escaped}, {name, "Beta"}) == name


def test_month_axes_speak_chinese_in_the_chinese_ui():
    monthly = pd.DataFrame({"month": pd.to_datetime(["2025-02-01", "2025-01-01"]),
                            "tier": ["partner", "partner"], "sales": [1.0, 2.0]})
    assert list(charts.monthly_trend_by_tier(monthly, "wan", "zh").data[0].x) == ["2025年1月", "2025年2月"]
    assert list(charts.monthly_trend_by_tier(monthly.assign(month=["2025-02", "2025-01"]), "wan", "zh").data[0].x) \
        == ["2025年1月", "2025年2月"]
    trend = charts.sales_trend(MONTHLY_ONE, None, None, "wan", "zh")
    assert trend.layout.xaxis.tickformat == "%Y年%-m月"
    assert charts.plans_timeline(PLANS, "zh").layout.xaxis.tickformat == "%Y年%-m月"
    assert charts.plans_timeline(PLANS, "en").layout.xaxis.tickformat == "%b %Y"


def test_chinese_amounts_of_a_hundred_million_and_more_are_charted_in_yi():
    big = TIERS.assign(sales=TIERS["sales"] * 1000)       # the top: 60,000,000,000 yuan = 600 亿元
    fig = charts.pareto_chart(big, "zh")
    assert fig.layout.yaxis.title.text == "销售额（亿元）"
    assert list(fig.data[0].y) == [600.0, 250.0, 100.0, 50.0]


def test_the_sankey_names_its_nodes_outside_the_two_columns():
    fig = charts.migration_sankey(MIGRATION, "zh")
    sankey = fig.data[0]
    left_edge, right_edge = sankey.domain.x
    assert sankey.textfont.color == "rgba(0,0,0,0)"          # plotly's own names (over the links) are hidden
    names = [a for a in fig.layout.annotations if a.text not in ("上年", "本年")]
    # five nodes on the left (strategic, partner, ordinary, none, new), four on the right
    assert [a.text for a in names[:5]] == ["战略性大客户 · 1", "伙伴式大客户 · 1", "普通大客户 · 2", "非大客户 · 1", "新增 · 1"]
    assert all(a.x < left_edge and a.xanchor == "right" for a in names[:5])
    assert all(a.x > right_edge and a.xanchor == "left" for a in names[5:])
    # each name is level with its node (paper y counts from the bottom, node y from the top)
    assert [round(1 - a.y, 4) for a in names] == list(sankey.node.y)
    assert list(sankey.node.y[:5]) == sorted(sankey.node.y[:5])


def test_the_top_n_bars_are_labelled_in_the_axis_one_scale():
    big = TIERS.assign(sales=[2.27e8, 8.6e7, 1e7, 5e6])      # the top above one 亿, the rest below
    fig = charts.top_n_bar(big, 3, "sales", "wan", "zh")
    assert fig.layout.xaxis.title.text == "销售额（亿元）"
    assert list(fig.data[0].text) == ["2.27 亿元", "0.86 亿元", "0.10 亿元"]
    fig = charts.top_n_bar(big, 2, "sales", "wan", "en")
    assert list(fig.data[0].text) == ["227.00 M CNY", "86.00 M CNY"]
