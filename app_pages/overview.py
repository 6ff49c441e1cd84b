"""Overview: the year's KPIs against the comparison window, what needs attention, the trend by tier, tiers, Pareto."""
import streamlit as st

from kam_core.locales.formatting import format_amount, format_count, format_number, format_pct, metric_delta, tier_label
from kam_core.ui import attention, clickthrough, context

ctx = context.current()
st.title(ctx.t("page.overview"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)

ov = context.overview(ctx)
now, changes = ov["now"], ov["changes"]
c = st.columns(3)
c[0].metric(ctx.t("kpi.sales"), format_amount(now["sales"], ctx.unit, ctx.lang),
            metric_delta(changes["sales"], "pct", ctx.lang))
c[1].metric(ctx.t("kpi.gross_profit"), format_amount(now["gross_profit"], ctx.unit, ctx.lang),
            metric_delta(changes["gross_profit"], "pct", ctx.lang))
c[2].metric(ctx.t("kpi.margin"), format_pct(now["margin"], lang=ctx.lang), metric_delta(changes["margin"], "pp", ctx.lang))
c = st.columns(3)
c[0].metric(ctx.t("kpi.top10_share"), format_pct(now["top10_share"], lang=ctx.lang),
            metric_delta(changes["top10_share"], "pp", ctx.lang), delta_color="inverse")
c[1].metric(ctx.t("kpi.hhi"), format_number(now["hhi"], lang=ctx.lang), metric_delta(changes["hhi"], "number", ctx.lang),
            delta_color="inverse", help=ctx.t("kpi.hhi_help"))
c[2].metric(ctx.t("kpi.n_accounts"), format_count(now["n_accounts"], ctx.lang),
            metric_delta(changes["n_accounts"], "number", ctx.lang))

tc = st.columns(len(ov["tiers"]))
for col, row in zip(tc, ov["tiers"]):
    col.metric(tier_label(row["tier"], ctx.lang), format_count(row["accounts"], ctx.lang),
               metric_delta(row["change"], "number", ctx.lang))
if now.get("lines_without_profit"):
    st.caption(ctx.t("kpi.margin_note", n=format_count(now["lines_without_profit"], ctx.lang)))

attention.attention_section(ctx)   # 需要关注: my accounts for a manager, every account for a director

left, right = st.columns([3, 2])
trend, distribution, pareto = context.overview_charts(ctx, table)
left.plotly_chart(trend, width="stretch")
right.plotly_chart(distribution, width="stretch")
clickthrough.chart(pareto, "ov_pareto", table["account"])   # a bar opens that account's dossier
