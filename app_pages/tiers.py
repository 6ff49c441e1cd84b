"""Tiers: the policy's thresholds, who is where, who is close, who moved, the six criteria."""
import streamlit as st

from kam_core import charts, reports
from kam_core.formatting import amount_scale, format_amount, format_number, tier_label
from kam_core.sales import tiers
from kam_core.views import context, tables
from kam_core.views.text import escape_md

ctx = context.current()
st.title(ctx.t("page.tiers"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)
s = ctx.settings

st.subheader(ctx.t("tier.thresholds_title"))
st.caption(ctx.t("tier.basis_note", basis=ctx.t(f"tier.basis.{s['tier_basis']}")))
counts = tiers.tier_counts(table)
shown_tiers = [row["tier"] for row in counts]
codes = tiers.tier_codes(table)
cols = st.columns(len(counts))
bounds = {"strategic": s["tier_strategic_min"], "partner": s["tier_partner_min"], "ordinary": s["tier_ordinary_min"]}
for col, row in zip(cols, counts):
    tier = row["tier"]
    if tier in bounds:
        limit = ctx.t("tier.threshold_from", amount=format_amount(bounds[tier], "yuan", ctx.lang))
    elif tier == tiers.UNKNOWN:
        limit = ctx.t("tier.unknown.note")
    else:
        limit = ctx.t("tier.threshold_below", amount=format_amount(bounds["ordinary"], "yuan", ctx.lang))
    col.metric(tier_label(tier, ctx.lang), format_number(row["accounts"]), help=ctx.t(f"tier.{tier}.desc"))
    col.caption(limit)

t_accounts, t_near, t_move, t_check, t_stop = st.tabs([
    ctx.t("kpi.accounts_per_tier"), ctx.t("tier.near_boundary"),
    ctx.t("tier.migration_title", prev=ctx.year - 1, year=ctx.year), ctx.t("tier.checklist_title"),
    ctx.t("tier.stop_impact_title")])


def gap_text(amount: float) -> str:
    """The gap to the next tier in the chosen unit, in yuan when the unit would round it to zero."""
    divisor, _ = amount_scale(ctx.unit, ctx.lang)
    unit = ctx.unit if abs(amount) >= divisor / 100 else "yuan"
    return format_amount(amount, unit, ctx.lang)


with t_accounts:
    pick = st.segmented_control(ctx.t("col.tier"), shown_tiers, format_func=lambda v: tier_label(v, ctx.lang),
                                default="strategic", key="tiers_pick")
    part = table[codes == pick] if pick else table
    shown, config = tables.localise(
        part, ["rank", "account", "basis_amount", "sales", "share", "margin", "yoy", "tier", "to_next_tier"],
        ctx.lang, ctx.unit, link_accounts=True)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch")
    proj = context.projection(ctx)
    if not proj.empty:
        st.markdown(f"**{ctx.t('projection.label')}**")
        st.caption(ctx.t("projection.note"))
        st.caption(context.backtest_note(ctx))
        shown, config = tables.localise(
            proj, ["account", "ytd_sales", "months_covered", "projected", "projected_naive", "method", "projected_tier"],
            ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch")

with t_near:
    near = tiers.near_boundary(table, within=0.10)
    if near.empty:
        st.info(ctx.t("tiers.none_near"))
    for row in near.itertuples():
        st.write(f"**{escape_md(row.account)}** · {tier_label(row.tier, ctx.lang)} · "
                 + ctx.t("tier.gap_up", amount=gap_text(row.to_next_tier)))

with t_move:
    move = context.migration(ctx)
    if move.empty:
        st.info(ctx.t("empty.no_previous_year"))
    else:
        st.plotly_chart(context.chart(ctx, "migration", lambda: charts.migration_sankey(move, ctx.lang)), width="stretch")
        changed = move[move["movement"] != "same"]
        shown, config = tables.localise(changed, ["account", "tier_prev", "tier", "movement"], ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch")

with t_check:
    checklist = context.criteria(ctx)
    st.caption(ctx.t("crit.2.rule", n=s["criteria_top_n"]) + " · "
               + ctx.t("crit.3.rule", pct=f"{s['criteria_min_share'] * 100:g}%") + " · " + ctx.t("crit.score.rule"))
    st.caption(ctx.t("crit.data.rule"))
    shown, config = tables.criteria_view(checklist.head(50), ctx.lang)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch")

with t_stop:
    impact = context.stop_impact(ctx)
    shown, config = tables.localise(
        impact, ["account", "sales", "gross_profit", "sales_without", "sales_drop_share", "profit_drop_share"],
        ctx.lang, ctx.unit)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch")

st.divider()
c1, c2 = st.columns(2)
# A workbook is built on click for exactly this view; a stale one is never offered.
stamp = (ctx.year, ctx.filters, ctx.lang, ctx.version, ctx.user.name)
if c1.button(ctx.t("tier.export_xlsx"), key="tiers_build"):
    with st.spinner("…"):
        st.session_state["tiers_xlsx"] = (stamp, reports.build_tier_report(
            ctx.store, ctx.year, lang=ctx.lang, user=ctx.user, filters=ctx.filters))
built = st.session_state.get("tiers_xlsx")
if built and built[0] == stamp:
    c1.download_button(ctx.t("action.download"), built[1],
                       file_name=reports.download_name("tier_report", ctx.year), key="tiers_download",
                       mime="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet")
c2.download_button(ctx.t("tier.export_csv"), context.tier_csv(ctx),
                   file_name=f"kam_tiers_{ctx.year}.csv", mime="text/csv", key="tiers_csv")
