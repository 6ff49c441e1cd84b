"""Tiers: the policy's thresholds, who is where, who is close, who moved, the six criteria, the targets."""
import streamlit as st

from kam_core.locales.formatting import format_amount, format_count, tier_label
from kam_core.sales import tiers
from kam_core.ui import context, tier_tabs

ctx = context.current()
st.title(ctx.t("page.tiers"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)

st.subheader(ctx.t("tier.thresholds_title"))
st.caption(ctx.t("tier.basis_note", basis=ctx.t(f"tier.basis.{ctx.settings['tier_basis']}")))
rows = tiers.tier_thresholds(table, ctx.settings)
for col, row in zip(st.columns(len(rows)), rows):
    col.metric(tier_label(row["tier"], ctx.lang), format_count(row["accounts"], ctx.lang),
               help=ctx.t(f"tier.{row['tier']}.desc"))
    if row["relation"] == "unknown":
        col.caption(ctx.t("tier.unknown.note"))
    else:
        col.caption(ctx.t(f"tier.threshold_{row['relation']}", amount=format_amount(row["bound"], "yuan", ctx.lang)))

names = [ctx.t("kpi.accounts_per_tier"), ctx.t("tier.near_boundary"),
         ctx.t("tier.migration_title", prev=ctx.year - 1, year=ctx.year), ctx.t("tier.checklist_title"),
         ctx.t("tier.stop_impact_title"), ctx.t("target.title")]
t_accounts, t_near, t_move, t_check, t_stop, t_targets = tier_tabs.remembered_tabs(names)
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
    tier_tabs.stop_tab(ctx, table)
with t_targets:
    tier_tabs.targets_tab(ctx)

st.divider()
tier_tabs.downloads(ctx)
