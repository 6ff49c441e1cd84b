"""The Plans page: every joint plan on a timeline with filters, budgets by quarter, uplift, §5 checklists,
and an editor for one account's plans (the dossier's permission rules)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kam_core import dossier
from kam_core.dossier import plans
from kam_core.dossier.fields import EXCHANGE_ITEMS, PLAN_KINDS
from kam_core.locales.formatting import MISSING, format_amount, format_signed_pct
from kam_core.ui import charts, clickthrough, context
from kam_core.ui.record_editor import blank, choice_label, record_table, show_flash

def uplift_table(ctx: context.Context, uplift: pd.DataFrame) -> None:
    """Finished promotions: sales during vs the same number of days just before."""
    st.markdown(f"**{ctx.t('plan.uplift')}**")
    st.caption(ctx.t("plan.uplift_note"))
    if uplift.empty:
        st.info(ctx.t("plan.no_uplift"))
        return
    divisor_fmt = {c: [format_amount(v, ctx.unit, ctx.lang) for v in uplift[c]] for c in ("budget", "sales_during", "sales_before")}
    view = pd.DataFrame({
        ctx.t("col.account"): uplift["account"],
        ctx.t("plan.title"): uplift["title"],
        ctx.t("plan.kind"): [choice_label("plans", "kind", k, ctx.lang) for k in uplift["kind"]],
        ctx.t("plan.start"): [pd.Timestamp(v).date() for v in uplift["period_start"]],
        ctx.t("plan.end"): [pd.Timestamp(v).date() for v in uplift["period_end"]],
        ctx.t("plan.budget"): divisor_fmt["budget"],
        ctx.t("plan.sales_during"): divisor_fmt["sales_during"],
        ctx.t("plan.sales_before"): divisor_fmt["sales_before"],
        ctx.t("plan.uplift_share"): [format_signed_pct(v) for v in uplift["uplift_share"]],
    })
    st.dataframe(view, hide_index=True, width="stretch", placeholder=MISSING)




def plans_page(ctx: context.Context, today: dt.date | None = None) -> None:
    """All joint plans on a timeline with filters; budgets by quarter; uplift; §5 checklists; the plan editor."""
    today = today or dt.date.today()
    show_flash()
    everything = plans.plans_frame(ctx.store, ctx.user)
    if everything.empty:
        st.info(ctx.t("plan.no_plans"))
        plan_editor(ctx, [])
        return
    dated = everything.dropna(subset=["period_start"])
    lo = pd.Timestamp(dated["period_start"].min()).date() if len(dated) else today
    hi = pd.Timestamp(dated["period_end"].fillna(dated["period_start"]).max()).date() if len(dated) else today
    c1, c2, c3 = st.columns([2, 2, 2])
    accounts = c1.multiselect(ctx.t("col.account"), sorted(everything["account"].unique()), key="pl_accounts",
                              placeholder=ctx.t("sidebar.all"))
    kinds = c2.multiselect(ctx.t("plan.kind"), list(PLAN_KINDS), key="pl_kinds", placeholder=ctx.t("sidebar.all"),
                           format_func=lambda k: choice_label("plans", "kind", k, ctx.lang))
    period = c3.date_input(ctx.t("chart.period"), value=(lo, hi), key="pl_period", format="YYYY-MM-DD")
    start, end = (period if isinstance(period, (tuple, list)) and len(period) == 2 else (lo, hi))
    frame = plans.plans_frame(ctx.store, ctx.user, kinds=kinds or None, start=start, end=end)
    if accounts:
        frame = frame[frame["account"].isin(accounts)]
    frame = context.listed(ctx, frame)      # "my accounts" when that switch is on
    timeline = frame.rename(columns={"period_start": "start", "period_end": "end"})
    # a bar opens its account's dossier
    clickthrough.chart(charts.plans_timeline(timeline, ctx.lang), "pl_timeline", timeline["account"])
    quarters = plans.budget_by_quarter(frame)
    # The chart groups by the quarter a row starts in; the split rows start on their quarter's first day.
    by_quarter = pd.DataFrame({
        "start": [pd.Period(q, freq="Q").start_time for q in quarters["quarter"]],
        "side": quarters["side"], "budget": quarters["budget"],
    })
    st.plotly_chart(charts.budget_by_quarter(by_quarter, ctx.lang, ctx.unit), width="stretch", key="pl_budget")
    st.caption(ctx.t("plan.budget_split_note"))

    view = pd.DataFrame({
        ctx.t("col.account"): frame["account"],
        ctx.t("plan.title"): frame["title"],
        ctx.t("plan.kind"): [choice_label("plans", "kind", k, ctx.lang) for k in frame["kind"]],
        ctx.t("plan.side"): [choice_label("plans", "side", k, ctx.lang) for k in frame["side"]],
        ctx.t("plan.status"): [choice_label("plans", "status", k, ctx.lang) for k in frame["status"]],
        ctx.t("plan.start"): [None if blank(v) else pd.Timestamp(v).date() for v in frame["period_start"]],
        ctx.t("plan.end"): [None if blank(v) else pd.Timestamp(v).date() for v in frame["period_end"]],
        ctx.t("plan.budget"): [format_amount(v, ctx.unit, ctx.lang) for v in frame["budget"]],
    })
    clickthrough.table(view, "pl_table", frame["account"])

    uplift = context.listed(ctx, plans.uplift_frame(ctx.store, ctx.user, today))
    if accounts:
        uplift = uplift[uplift["account"].isin(accounts)]
    uplift_table(ctx, uplift)

    st.markdown(f"**{ctx.t('plan.exchange_checklist')}**")
    check = plans.exchange_frame(ctx.store, ctx.user, accounts or None)
    view = pd.DataFrame({ctx.t("col.account"): check["account"]})
    for k in EXCHANGE_ITEMS:
        view[f"{plans.EXCHANGE_STEPS[k]}. {ctx.t(f'plan.exchange.{k}')}"] = ["✅" if v else "—" for v in check[k]]
    view[ctx.t("plan.exchange_done")] = [f"{n}/{len(EXCHANGE_ITEMS)}" for n in check["done"]]
    st.dataframe(view, hide_index=True, width="stretch", key="pl_exchange", placeholder=MISSING)
    plan_editor(ctx, accounts)


def plan_editor(ctx: context.Context, accounts: list[str]) -> None:
    """Add, change and delete one account's plans, with the dossier's rules: its owner, its backup owner and
    directors edit; everyone else reads. ``accounts``: the page's account filter (else every dossier)."""
    st.markdown(f"#### {ctx.t('plan.edit_title')}")
    known = dossier.dossier_accounts(ctx.store)
    options = [a for a in accounts if a in set(known)] or context.listed(ctx, pd.DataFrame({"account": known}))[
        "account"].tolist()
    if not options:
        st.caption(ctx.t("plan.no_dossier"))
        return
    account = st.selectbox(ctx.t("plan.edit_account"), options, key="pl_edit_account")
    editable = dossier.may_edit(ctx.store, ctx.user, account)
    if not editable:
        st.caption("🔒 " + ctx.t("dossier.read_only"))
    record_table(ctx, account, "plans", editable)
