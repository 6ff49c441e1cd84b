"""Overview: the year's KPIs against last year, the monthly trend by tier, tiers, Pareto."""
import streamlit as st

from kam_core import charts
from kam_core.formatting import format_amount, format_number, format_pct, format_signed_pct, tier_label
from kam_core.tiers import tier_codes, tiers_in
from kam_core.views import context

ctx = context.current()
st.title(ctx.t("page.overview"))
table = context.tier_table_or_stop(ctx)

now, prev = context.summary(ctx), context.summary(ctx, ctx.year - 1)
prev_table = context.tier_table(ctx, ctx.year - 1) if ctx.year - 1 in ctx.years else None
# An unfinished year is compared with the same days of last year, not with a whole year.
ytd = context.same_period(ctx)
money_prev = ytd if ytd is not None else prev


def change(key, ratio=False, base=prev):
    """Change vs last year: relative for amounts, in percentage points for ratios."""
    a, b = now.get(key), base.get(key)
    if a is None or b is None or (not ratio and not b):
        return None
    if ratio:
        return f"{(a - b) * 100:+.1f} pp"
    # st.metric reads the arrow's direction from an ASCII minus, not the typographic one
    return format_signed_pct(a / b - 1).replace("\u2212", "-")


if ytd is not None:
    st.caption(ctx.t("kpi.vs_same_period", year=ctx.year, through=ytd["through"], prev_through=ytd["prev_through"]))
else:
    st.caption(ctx.t("kpi.vs_last_year") + f" {ctx.year - 1}")
c = st.columns(3)
c[0].metric(ctx.t("kpi.sales"), format_amount(now["sales"], ctx.unit, ctx.lang), change("sales", base=money_prev))
c[1].metric(ctx.t("kpi.gross_profit"), format_amount(now["gross_profit"], ctx.unit, ctx.lang),
            change("gross_profit", base=money_prev))
c[2].metric(ctx.t("kpi.margin"), format_pct(now["margin"]), change("margin", ratio=True, base=money_prev))
c = st.columns(3)
c[0].metric(ctx.t("kpi.top10_share"), format_pct(now["top10_share"]), change("top10_share", ratio=True),
            delta_color="inverse")
hhi_delta = None if prev.get("hhi") is None or now.get("hhi") is None else f"{now['hhi'] - prev['hhi']:+,.0f}"
c[1].metric("HHI", format_number(now["hhi"]), hhi_delta, delta_color="inverse", help=ctx.t("kpi.hhi_help"))
c[2].metric(ctx.t("kpi.n_accounts"), format_number(now["n_accounts"]))

counts = tier_codes(table).value_counts()
prev_counts = tier_codes(prev_table).value_counts() if prev_table is not None and not prev_table.empty else None
shown = tiers_in(table)
tc = st.columns(len(shown))
for col, tier in zip(tc, shown):
    n = int(counts.get(tier, 0))
    delta = None if prev_counts is None else f"{n - int(prev_counts.get(tier, 0)):+d}"
    col.metric(tier_label(tier, ctx.lang), n, delta)
if now.get("lines_without_profit"):
    st.caption(ctx.t("kpi.margin_note", n=format_number(now["lines_without_profit"])))

left, right = st.columns([3, 2])
left.plotly_chart(charts.monthly_trend_by_tier(context.monthly_by_tier(ctx), ctx.unit, ctx.lang), width="stretch")
right.plotly_chart(charts.tier_distribution(table, ctx.unit, ctx.lang), width="stretch")
st.plotly_chart(charts.pareto_chart(table, ctx.lang, ctx.settings["abc_a_max"], ctx.settings["abc_b_max"]),
                width="stretch")
