"""The Tiers page's tabs: accounts per tier, near the next tier, migration, criteria, stop impact, targets.

Every table row that stands for an account opens its dossier (:mod:`.clickthrough`);
"my accounts", when on, narrows each list (:func:`context.listed`).
"""
from __future__ import annotations

from typing import Any, Sequence

import pandas as pd
import streamlit as st

from kam_core import dossier
from kam_core.exports import reports
from kam_core.locales.formatting import amount_scale, format_amount, format_rate, tier_label
from kam_core.sales import tiers
from kam_core.ui import clickthrough, context, tables


def gap_text(ctx: context.Context, amount: float) -> str:
    """The gap to the next tier in the chosen unit, in yuan when the unit would round it to zero."""
    divisor, _ = amount_scale(ctx.unit, ctx.lang)
    unit = ctx.unit if abs(amount) >= divisor / 100 else "yuan"
    return format_amount(amount, unit, ctx.lang)


TAB_KEY = "tiers_tab"
KEPT_TAB_KEY = "tiers_tab_kept"


def remembered_tabs(names: list[str]) -> Sequence[Any]:
    """The page's tabs, opening on the one the user last had open in this session.

    A row clicked in a tab opens the dossier; Back then returns here. The tabs' own state goes when
    another page runs, so the open tab is also kept by its position (names change with the
    language) in a plain session key, and put back before the tabs are drawn.
    """
    kept = st.session_state.get(KEPT_TAB_KEY)
    if TAB_KEY not in st.session_state and isinstance(kept, int) and 0 <= kept < len(names):
        st.session_state[TAB_KEY] = names[kept]

    def keep() -> None:
        shown = st.session_state.get(TAB_KEY)
        st.session_state[KEPT_TAB_KEY] = names.index(shown) if shown in names else 0

    return st.tabs(names, key=TAB_KEY, on_change=keep)


def accounts_tab(ctx: context.Context, table: pd.DataFrame) -> None:
    """The accounts of the picked tier, then the seasonal projection of an unfinished year."""
    codes = tiers.tier_codes(table)
    pick = st.segmented_control(ctx.t("col.tier"), [r["tier"] for r in tiers.tier_counts(table)],
                                format_func=lambda v: tier_label(v, ctx.lang), default="strategic", key="tiers_pick")
    part = context.listed(ctx, table[codes == pick] if pick else table)
    # with a tier picked above, a tier column would repeat it on every row (and push 距下一级 out of view)
    columns = ["rank", "account", "basis_amount", "sales", "share", "margin", "yoy"] + ([] if pick else ["tier"])
    shown, config = tables.localise(
        part, columns + ["to_next_tier"], ctx.lang, ctx.unit, link_accounts=True, link_params=context.url_params())
    clickthrough.table(shown, f"tiers_accounts_{pick}", part["account"], column_config=config)
    proj = context.listed(ctx, context.projection(ctx))
    if not proj.empty:
        st.markdown(f"**{ctx.t('projection.label')}**")
        st.caption(ctx.t("projection.note"))
        st.caption(context.backtest_note(ctx))
        shown, config = tables.localise(
            proj, ["account", "ytd_sales", "months_covered", "projected", "projected_naive", "method", "projected_tier"],
            ctx.lang, ctx.unit)
        clickthrough.table(shown, "tiers_projection", proj["account"], column_config=config)


def near_tab(ctx: context.Context, table: pd.DataFrame) -> None:
    """Accounts within 10 % below the next tier, with the gap."""
    near = context.listed(ctx, tiers.near_boundary(table, within=0.10))
    if near.empty:
        st.info(ctx.t("tiers.none_near"))
        return
    shown = pd.DataFrame({
        "account": near["account"], "tier": [tier_label(v, ctx.lang) for v in near["tier"]],
        "gap": [ctx.t("tier.gap_up", amount=gap_text(ctx, v)) for v in near["to_next_tier"]],
    })
    config = {name: st.column_config.TextColumn(ctx.t(key), width=tables.fit_width(ctx.t(key), list(shown[name])))
              for name, key in (("account", "col.account"), ("tier", "col.tier"), ("gap", "col.to_next_tier"))}
    clickthrough.table(shown, "tiers_near", near["account"], column_config=config)


def migration_tab(ctx: context.Context) -> None:
    """The Sankey of the year's moves and the accounts that moved."""
    move = context.migration(ctx)
    if move.empty:
        st.info(ctx.t("empty.no_previous_year"))
        return
    st.plotly_chart(context.migration_chart(ctx, move), width="stretch")
    changed = context.listed(ctx, move[move["movement"] != "same"])
    shown, config = tables.localise(changed, ["account", "tier_prev", "tier", "movement"], ctx.lang, ctx.unit)
    clickthrough.table(shown, "tiers_migration", changed["account"], column_config=config)


def criteria_tab(ctx: context.Context) -> None:
    """The six criteria (policy 1.2) with how many each account meets, the data beside scores ⑤ and ⑥,
    and a link to the dossier (a row opens it too)."""
    s = ctx.settings
    checklist = context.listed(ctx, context.criteria(ctx)).head(50)
    st.caption(ctx.t("crit.2.rule", n=s["criteria_top_n"]) + " · "
               + ctx.t("crit.3.rule", pct=format_rate(s["criteria_min_share"], ctx.lang)) + " · "
               + ctx.t("crit.score.rule"))
    st.caption(ctx.t("crit.data.rule"))
    shown, config = tables.criteria_view(checklist, ctx.lang, context.url_params())
    clickthrough.table(shown, "tiers_criteria", checklist["account"], column_config=config)


STOP_COLUMNS = ["account", "sales", "gross_profit", "sales_without", "sales_drop_share", "profit_drop_share"]
STOP_LABELS = {"sales_without": "tiers.stop.sales_without", "sales_drop_share": "tiers.stop.sales_drop_share",
               "profit_drop_share": "tiers.stop.profit_drop_share"}


@context.cached_by_data_version(max_entries=16)
def _stop_impact(ctx: context.Context, picked: tuple[str, ...]) -> pd.DataFrame:
    return tiers.stop_impact(ctx.store, ctx.year, filters=ctx.filters, settings=ctx.settings, accounts=picked)


def stop_tab(ctx: context.Context, table: pd.DataFrame | None = None) -> None:
    """If one of the picked accounts stopped (the top ten unless others are picked): the totals without it."""
    table = context.tier_table(ctx) if table is None else table
    names = list(context.listed(ctx, table)["account"])
    picked = st.multiselect(ctx.t("tiers.stop.pick"), names, default=names[:10], key="tiers_stop_pick",
                            placeholder=ctx.t("tiers.stop.pick_placeholder"))
    if not picked:
        st.info(ctx.t("tiers.stop.none_picked"))
        return
    impact = _stop_impact(ctx, tuple(picked))
    shown, config = tables.localise(impact, STOP_COLUMNS, ctx.lang, ctx.unit, labels=STOP_LABELS)
    clickthrough.table(shown, "tiers_stop", impact["account"], column_config=config)


def targets_tab(ctx: context.Context) -> None:
    """Every agreement with a target: actual sales against the target and its pro-rata path."""
    frame = context.targets(ctx)
    st.caption(ctx.t("target.note"))
    if frame.empty:
        st.info(ctx.t("target.none"))
        return
    shown, config = tables.targets_view(frame, ctx.lang, ctx.unit)
    clickthrough.table(shown, "tiers_targets", frame["account"], column_config=config)


def downloads(ctx: context.Context) -> None:
    """The tier report (built on click for exactly this view; a stale one is never offered) and the table as CSV."""
    c1, c2 = st.columns(2)
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
    c2.download_button(ctx.t("tier.export_csv"), context.tier_csv(ctx, ctx.lang),
                       file_name=f"kam_tiers_{ctx.year}.csv", mime="text/csv", key="tiers_csv")
