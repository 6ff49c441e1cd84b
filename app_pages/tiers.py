"""Tiers: the policy's thresholds, who is where, who is close, who moved, the six criteria, the targets."""
import streamlit as st

from kam_core import dossier

from kam_core.exports import reports
from kam_core.locales.formatting import format_amount, format_number, tier_label
from kam_core.sales import tiers
from kam_core.ui import context, tier_tabs

ctx = context.current()
st.title(ctx.t("page.tiers"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)
s = ctx.settings

st.subheader(ctx.t("tier.thresholds_title"))
st.caption(ctx.t("tier.basis_note", basis=ctx.t(f"tier.basis.{s['tier_basis']}")))
counts = tiers.tier_counts(table)
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

t_accounts, t_near, t_move, t_check, t_stop, t_targets = st.tabs([
    ctx.t("kpi.accounts_per_tier"), ctx.t("tier.near_boundary"),
    ctx.t("tier.migration_title", prev=ctx.year - 1, year=ctx.year), ctx.t("tier.checklist_title"),
    ctx.t("tier.stop_impact_title"), ctx.t("target.title")])
# every row that stands for an account opens its dossier (kam_core/ui/tier_tabs.py)
with t_accounts:
    tier_tabs.accounts_tab(ctx, table)
with t_near:
    tier_tabs.near_tab(ctx, table)
with t_move:
    tier_tabs.migration_tab(ctx)
with t_check:
    tier_tabs.criteria_tab(ctx)
with t_stop:
    tier_tabs.stop_tab(ctx)
with t_targets:
    tier_tabs.targets_tab(ctx)

st.divider()
c1, c2 = st.columns(2)
# A workbook is built on click for exactly this view; a stale one is never offered.
stamp = (ctx.year, ctx.filters, ctx.lang, ctx.version, ctx.user.name, dossier.dossier_version(ctx.store))
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
