"""The Dossier page's pieces: account picker, header card, completeness, the seven tabs, owners and department gaps.

Thin renderers: they read widgets, call :mod:`kam_core.dossier` and
:mod:`kam_core.sales` (through the cached readers of :mod:`.context`), and show
the result. The domain checks every access rule itself; here controls are
only hidden or disabled so nobody is offered what they may not do.
"""
from __future__ import annotations

import datetime as dt
from typing import Any

import pandas as pd
import streamlit as st

from kam_core import auth, dossier
from kam_core.dossier import plans, targets
from kam_core.dossier.fields import (ACCOUNT_FACT_FIELDS, BASIC_FIELDS, EXCHANGE_ITEMS, PERSONAL_FIELDS,
                                     PROMOTION_KINDS, SCORE_FIELDS)
from kam_core.dossier.records import OWNER_ROLES
from kam_core.locales.formatting import (MISSING, format_amount, format_number, format_pct, format_signed_pct,
                                         is_missing, tier_label)
from kam_core.locales.labels import join_items, label_or
from kam_core.permissions import PermissionDenied, can
from kam_core.ui import attention as attention_view, errors
from kam_core.ui import charts, context, tables
from kam_core.ui.dossier_exports import exports_section
from kam_core.ui.org_chart import org_chart_dot
from kam_core.ui.plans_page import uplift_table
from kam_core.ui.record_editor import (blank, choice_label, field_label, flash, invalid_lines, record_table,
                                       save_account, show_flash, show_value, user_label, value_label)
from kam_core.ui.text import escape_md

EXPIRY_DAYS = 60
TAB_KEY = "dz_tab"
"""Session-state key of the dossier's open tab (its label)."""
PRICE_EFFECT_DAYS = 30
CRITERIA_MARKS = {"pass": "✅", "fail": "❌", "unknown": "❔"}


# ---------------------------------------------------------------- account picker
def pick_account(ctx: context.Context, table: pd.DataFrame) -> str | None:
    """Search (names and aliases) and choose an account; the choice is kept in ``?account=``.

    Default: the account in the URL (an alias resolves to its account), else the top-ranked one.
    """
    wanted = st.query_params.get("account")
    if wanted:
        found = dossier.search_accounts(ctx.store, wanted, limit=1)
        wanted = found[0] if found else wanted
    query = st.text_input(ctx.t("dossier.search"), key="dz_search", help=ctx.t("dossier.search_help"))
    ranked = table["account"].tolist() if len(table) else []
    if query.strip():
        options = dossier.search_accounts(ctx.store, query)
        if not options:
            st.info(ctx.t("dossier.no_match"))
            return None
    else:
        with_dossier = [a for a in dossier.search_accounts(ctx.store, "", limit=100_000) if a not in set(ranked)]
        options = ranked + with_dossier
    if wanted and wanted not in options and not query.strip():
        options = [wanted, *options]
    if not options:
        return None
    index = options.index(wanted) if wanted in options else 0
    account = st.selectbox(ctx.t("dossier.pick_account"), options, index=index, key=f"dz_pick_{query.strip()}")
    if account != st.query_params.get("account"):
        context._set_url("account", account)
    return account


# ---------------------------------------------------------------- header card
def header_card(ctx: context.Context, account: str, acct: dict | None, table: pd.DataFrame,
                checklist: pd.DataFrame) -> None:
    """Tier, rank, share, margin, yoy, to-next-tier, owner and the six criteria of ``account``."""
    st.subheader(escape_md(account))
    row = table[table["account"] == account]
    if row.empty:
        st.caption(ctx.t("dossier.no_sales_year", year=ctx.year))
    else:
        r = row.iloc[0]
        # The tier is a word, too long for a metric's large type in a sixth of the page: a badge above them.
        st.markdown(f"**{ctx.t('col.tier')}**: :blue-badge[{escape_md(tier_label(r['tier'], ctx.lang))}]")
        cols = st.columns(5)
        cols[0].metric(ctx.t("col.rank"), format_number(r["rank"]))
        cols[1].metric(ctx.t("col.share"), format_pct(r["share"], 2))
        cols[2].metric(ctx.t("col.margin"), format_pct(r["margin"], 1))
        cols[3].metric(ctx.t("col.yoy"), format_signed_pct(r["yoy"], 1))
        cols[4].metric(ctx.t("col.to_next_tier"), format_amount(r["to_next_tier"], ctx.unit, ctx.lang))
        if is_missing(r["to_next_tier"]):      # the dash says why: there is no tier above
            cols[4].caption(ctx.t("tier.top_tier"))
    owner = escape_md((acct or {}).get("owner")) or ctx.t("dossier.no_owner")
    backup = escape_md((acct or {}).get("backup_owner"))
    line = f"**{ctx.t('dossier.owner')}**: {owner}"
    if backup:
        line += f" · **{ctx.t('dossier.backup_owner')}**: {backup}"
    st.markdown(line)
    crit = checklist[checklist["account"] == account]
    if not crit.empty:
        c = crit.iloc[0]
        marks = [f"{CRITERIA_MARKS.get(c[f'c{i}'], '❔')} {ctx.t(f'crit.{i}.short')}" for i in range(1, 7)]
        met = sum(c[f"c{i}"] == "pass" for i in range(1, 7))
        st.markdown(f"**{ctx.t('dossier.criteria')}** ({ctx.t('crit.met_count', n=met)}): " + " · ".join(marks))


def completeness_box(ctx: context.Context, account: str) -> None:
    """The completeness score against the policy's list, and what is missing."""
    c = dossier.completeness(ctx.store, ctx.user, account)
    st.progress(float(c["score"]), text=ctx.t("dossier.completeness", pct=format_pct(c["score"], 0))
                + f" ({c['present']}/{c['total']})")
    if c["missing_keys"]:
        # the same catalogue key as the facts tab's field label, so both name a field one way
        missing = [ctx.t(dossier.item_label_key(k)) for k in c["missing_keys"]]
        st.caption(ctx.t("dossier.missing", items=join_items(missing, ctx.lang)))


def no_dossier(ctx: context.Context, account: str) -> None:
    """The account has sales but no dossier: invite those who may create one."""
    st.info(ctx.t("dossier.no_dossier", account=escape_md(account)))
    if can(ctx.user, "edit_dossier"):
        if st.button(ctx.t("dossier.create"), key="dz_create", type="primary"):
            try:
                dossier.upsert_account(ctx.store, ctx.user, account, {})
            except PermissionDenied as exc:
                st.error(errors.permission_text(exc, ctx.lang))
                return
            flash("success", ctx.t("dossier.created"))
            st.rerun()
    else:
        st.caption(ctx.t("dossier.no_dossier_ask"))




def contacts_tab(ctx: context.Context, account: str, editable: bool) -> None:
    """Org chart by level and the people table (personal details only for those allowed)."""
    contacts = dossier.list_contacts(ctx.store, ctx.user, account)
    hidden = contacts.attrs.get("personal_hidden", True)
    st.markdown(f"**{ctx.t('dossier.org_chart')}**")
    st.graphviz_chart(org_chart_dot(contacts, ctx.lang), width="stretch")
    if hidden:
        st.caption(ctx.t("dossier.personal_hidden"))
    record_table(ctx, account, "contacts", editable and not hidden, hidden=PERSONAL_FIELDS if hidden else ())


# ---------------------------------------------------------------- company facts
def _same(a: Any, b: Any) -> bool:
    if blank(a) and blank(b):
        return True
    return str(a).strip() == str(b).strip() if not (blank(a) or blank(b)) else False


def facts_tab(ctx: context.Context, account: str, acct: dict, editable: bool) -> None:
    """The policy's basic and important-information fields and the 1–5 scores, as one form."""
    snap_key = f"dz_facts_{account}"
    snap = st.session_state.get(snap_key)
    saving = snap is not None and bool(st.session_state.get(f"dz_facts_submit_{account}_{snap['version']}"))
    if snap is None or not saving:
        snap = dict(acct)
        st.session_state[snap_key] = snap
    ver = snap["version"]
    values: dict[str, Any] = {}
    with st.form(f"dz_facts_form_{account}_{ver}"):
        cols = st.columns(len(BASIC_FIELDS))
        for col, f in zip(cols, BASIC_FIELDS):
            values[f] = col.text_input(field_label("accounts", f, ctx.lang), value=snap.get(f) or "",
                                       key=f"dz_f_{account}_{ver}_{f}", disabled=not editable)
        cols = st.columns(2)
        for i, f in enumerate(ACCOUNT_FACT_FIELDS):
            values[f] = cols[i % 2].text_area(field_label("accounts", f, ctx.lang), value=snap.get(f) or "", height=80,
                                              key=f"dz_f_{account}_{ver}_{f}", disabled=not editable)
        st.caption(ctx.t("dossier.score_help"))
        cols = st.columns(len(SCORE_FIELDS))
        for col, f in zip(cols, SCORE_FIELDS):
            current = snap.get(f)
            options = [None, 1, 2, 3, 4, 5]
            index = options.index(int(current)) if not blank(current) and int(current) in options else 0
            values[f] = col.selectbox(field_label("accounts", f, ctx.lang), options, index=index,
                                      format_func=lambda v: MISSING if v is None else str(v),
                                      key=f"dz_f_{account}_{ver}_{f}", disabled=not editable)
        submitted = st.form_submit_button(ctx.t("dossier.save"), key=f"dz_facts_submit_{account}_{ver}",
                                          disabled=not editable, type="primary")
    if not (submitted and editable):
        return
    changes = {f: (None if blank(v) else v) for f, v in values.items() if not _same(v, snap.get(f))}
    if not changes:
        st.info(ctx.t("dossier.nothing_changed"))
        return
    save_account(ctx, snap_key, len(changes),
                  lambda: dossier.upsert_account(ctx.store, ctx.user, account, changes, expected_version=int(ver)))


# ---------------------------------------------------------------- price changes and the sales around them
@st.cache_data(show_spinner=False, max_entries=64)
def _price_effects(path: str, version: int, account: str, records: tuple, role: str, days: int,
                   _store: Any, _user: Any) -> pd.DataFrame:
    # Keyed by the sales data version and the (id, version) of every live price change,
    # so an import or an edited change date recomputes it and a plain rerun costs nothing.
    return plans.price_change_effects(_store, _user, account, days=days)


def price_effects(ctx: context.Context, account: str, changes: pd.DataFrame,
                  days: int = PRICE_EFFECT_DAYS) -> pd.DataFrame:
    """:func:`kam_core.dossier.plans.price_change_effects` of ``account``, cached; ``changes`` is its live price changes."""
    records = tuple(zip(changes["id"].astype(int).tolist(), changes["version"].astype(int).tolist()))
    if not records:
        return pd.DataFrame(columns=plans.PRICE_EFFECT_COLUMNS)
    return _price_effects(str(ctx.store.path), ctx.version, account, records, ctx.user.role, days, ctx.store, ctx.user)


def price_effect_table(ctx: context.Context, account: str, changes: pd.DataFrame,
                       days: int = PRICE_EFFECT_DAYS) -> None:
    """Each price change beside the account's sales in the ``days`` before and from it on (issue 5)."""
    st.markdown(f"**{ctx.t('dossier.price_effect', days=days)}**")
    effects = price_effects(ctx, account, changes, days)
    if effects.empty:
        st.caption(ctx.t("dossier.no_price_changes"))
        return
    view = pd.DataFrame({
        ctx.t("record.date"): [str(d) for d in effects["changed_on"]],
        ctx.t("record.product"): [show_value(v) for v in effects["product"]],
        ctx.t("record.old_price"): [format_number(v, 2) for v in effects["old_price"]],
        ctx.t("record.new_price"): [format_number(v, 2) for v in effects["new_price"]],
        ctx.t("dossier.sales_before"): [format_amount(v, ctx.unit, ctx.lang) for v in effects["sales_before"]],
        ctx.t("dossier.sales_after"): [format_amount(v, ctx.unit, ctx.lang) for v in effects["sales_after"]],
        ctx.t("dossier.sales_change"): [format_signed_pct(v, 1) for v in effects["change_share"]],
    })
    st.dataframe(view, hide_index=True, width="stretch", key=f"dz_price_effect_{account}", placeholder=MISSING)
    st.caption(ctx.t("dossier.price_effect_note"))


# ---------------------------------------------------------------- sales
def sales_tab(ctx: context.Context, account: str) -> None:
    """Monthly trend with promotions and price changes; category and store/region mix; top products."""
    monthly = context.account_monthly(ctx, account)
    promos = plans.plans_frame(ctx.store, ctx.user, account=account, kinds=PROMOTION_KINDS)
    promo_frame = pd.DataFrame({
        "start": promos["period_start"], "end": promos["period_end"],
        "label": [choice_label("plans", "kind", k, ctx.lang) if blank(ti) else ti
                  for k, ti in zip(promos["kind"], promos["title"])],
    }) if len(promos) else None
    changes = dossier.list_records(ctx.store, ctx.user, account, "price_changes")
    price_frame = None
    if len(changes):
        # The marker carries the sales change of the 30 days after vs before (the Records tab has the amounts).
        share = price_effects(ctx, account, changes).set_index("id")["change_share"].to_dict()
        price_frame = pd.DataFrame({
            "date": changes["changed_on"],
            "label": [f"{p or ''} {format_number(o, 2)} → {format_number(n, 2)}".strip()
                      + ("" if share.get(int(i)) is None else f" ({format_signed_pct(share[int(i)], 1)})")
                      for i, p, o, n in zip(changes["id"], changes["product"], changes["old_price"],
                                            changes["new_price"])],
        })
    trend = context.chart(ctx, "sales_trend", lambda: charts.sales_trend(monthly, promo_frame, price_frame, ctx.unit,
                                                                        ctx.lang), account, dossier.dossier_version(ctx.store))
    st.plotly_chart(trend, width="stretch",
                    key=f"dz_trend_{account}")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**{ctx.t('dossier.category_mix')}**")
        m = context.account_mix(ctx, account, "category")
        shown, config = tables.localise(m, ["category", "sales", "share"], ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch", placeholder=MISSING)
    with c2:
        st.markdown(f"**{ctx.t('dossier.region_mix')}**")
        by = st.segmented_control(ctx.t("dossier.mix_by"), ("region", "store"), default="region",
                                  format_func=lambda v: ctx.t(f"col.{v}"), key="dz_mix_by") or "region"
        m = context.account_mix(ctx, account, by)
        shown, config = tables.localise(m, [by, "sales", "share"], ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch", placeholder=MISSING)
    st.markdown(f"**{ctx.t('dossier.top_products')}**")
    top = context.account_top_products(ctx, account)
    shown, config = tables.localise(top, ["sku", "product", "qty", "sales", "gross_profit", "share"], ctx.lang, ctx.unit)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch", placeholder=MISSING)


# ---------------------------------------------------------------- records
def agreement_alerts(ctx: context.Context, account: str, today: dt.date) -> None:
    """Agreements running out within 60 days (warning) or already run out (error)."""
    agreements = dossier.list_records(ctx.store, ctx.user, account, "agreements")
    for _, a in agreements.iterrows():
        if blank(a["valid_to"]) or a.get("status") in dossier.CLOSED_AGREEMENT_STATUSES:
            continue
        days = (pd.Timestamp(a["valid_to"]).date() - today).days
        if 0 <= days <= EXPIRY_DAYS:
            st.warning(f"⚠️ {escape_md(a['title'])} · {ctx.t('dossier.expires_in', days=days)} ({pd.Timestamp(a['valid_to']).date()})")
        elif days < 0:
            st.error(f"⛔ {escape_md(a['title'])} · {ctx.t('dossier.expired_on', date=pd.Timestamp(a['valid_to']).date())}")


def records_tab(ctx: context.Context, account: str, editable: bool, today: dt.date) -> None:
    """Negotiations, agreements (expiring ones highlighted), price changes, orders and inventory."""
    st.markdown(f"#### {ctx.t('record.negotiations')}")
    record_table(ctx, account, "negotiations", editable)
    st.markdown(f"#### {ctx.t('record.agreements')}")
    agreement_alerts(ctx, account, today)
    record_table(ctx, account, "agreements", editable)
    target_progress(ctx, account)
    st.markdown(f"#### {ctx.t('record.price_changes')}")
    shown = record_table(ctx, account, "price_changes", editable)
    price_effect_table(ctx, account, shown)
    st.markdown(f"#### {ctx.t('record.orders_inventory')}")
    c1, c2 = st.columns(2)
    with c1:
        st.markdown(f"**{ctx.t('dossier.recent_orders')}**")
        orders = context.account_recent_orders(ctx, account)
        shown, config = tables.localise(orders, ["date", "lines", "qty", "sales"], ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch", placeholder=MISSING)
    with c2:
        stock = context.account_stock(ctx, account)
        if stock.empty:
            st.info(ctx.t("dossier.no_inventory"))
        else:
            st.markdown(f"**{ctx.t('dossier.snapshot', date=pd.Timestamp(stock['snapshot_date'].iloc[0]).date())}**")
            view = stock.drop(columns=["snapshot_date"]).rename(columns={
                "sku": ctx.t("col.sku"), "product": ctx.t("col.product"), "qty_on_hand": ctx.t("dossier.stock_on_hand"),
                "stock_value": ctx.t("dossier.stock_value"), "weekly_qty": ctx.t("dossier.weekly_qty"),
                "weeks_of_cover": ctx.t("dossier.weeks_of_cover")})
            st.dataframe(view, hide_index=True, width="stretch", placeholder=MISSING)


def target_progress(ctx: context.Context, account: str) -> None:
    """Each of the account's targets: actual against the target, the pro-rata expectation and the end on this pace."""
    frame = targets.targets_frame(ctx.store, ctx.user, [account])
    if frame.empty:
        return
    st.markdown(f"**{ctx.t('target.dossier_title')}**")
    for r in frame.itertuples(index=False):
        share = r.progress_share if r.progress_share is not None and not pd.isna(r.progress_share) else 0.0
        scope = escape_md(r.category) if r.category else ctx.t("attention.all_categories")
        st.progress(min(max(float(share), 0.0), 1.0), text=ctx.t(
            "target.line", title=escape_md(r.title), scope=scope, state=ctx.t(f"target.state.{r.state}"),
            actual=format_amount(r.actual, ctx.unit, ctx.lang), target=format_amount(r.target_amount, ctx.unit, ctx.lang),
            progress=format_pct(r.progress_share), expected=format_amount(r.expected, ctx.unit, ctx.lang),
            projected=format_amount(r.projected_end, ctx.unit, ctx.lang),
            through=r.counted_through.isoformat() if r.counted_through else MISSING))
    st.caption(ctx.t("target.note"))


# ---------------------------------------------------------------- account plan (goals and action items)
def account_plan_tab(ctx: context.Context, account: str, editable: bool, today: dt.date) -> None:
    """Policy §5 as an account plan: the year's goals, and the action items with owner, due date and status."""
    st.caption(ctx.t("goal.help"))
    st.markdown(f"#### {ctx.t('goal.title_plural')}")
    record_table(ctx, account, "goals", editable)
    st.markdown(f"#### {ctx.t('action.title_plural')}")
    late = dossier.overdue_actions(ctx.store, ctx.user, today, [account])
    for r in late.itertuples(index=False):
        st.warning(ctx.t("attention.action_overdue", title=escape_md(r.title), days=int(r.days_overdue)), icon="⏰")
    record_table(ctx, account, "action_items", editable)


# ---------------------------------------------------------------- plans
def checklist_form(ctx: context.Context, account: str, acct: dict, editable: bool) -> None:
    """Policy §5 steps 1–2: what was received from the account and what we sent, saved with its version."""
    st.markdown(f"**{ctx.t('plan.exchange_checklist')}**")
    snap_key = f"dz_check_{account}"
    snap = st.session_state.get(snap_key)
    saving = snap is not None and bool(st.session_state.get(f"dz_check_submit_{account}_{snap['version']}"))
    if snap is None or not saving:
        snap = {"version": acct["version"], "items": dict(acct["exchange_checklist"])}
        st.session_state[snap_key] = snap
    ver = snap["version"]
    with st.form(f"dz_check_form_{account}_{ver}"):
        ticks = {k: st.checkbox(f"{plans.EXCHANGE_STEPS[k]}. " + ctx.t(f"plan.exchange.{k}"), value=snap["items"][k],
                                key=f"dz_c_{account}_{ver}_{k}", disabled=not editable) for k in EXCHANGE_ITEMS}
        submitted = st.form_submit_button(ctx.t("dossier.save"), key=f"dz_check_submit_{account}_{ver}",
                                          disabled=not editable)
    if not (submitted and editable):
        return
    changes = {k: v for k, v in ticks.items() if v != snap["items"][k]}
    if not changes:
        return
    save_account(ctx, snap_key, len(changes),
                  lambda: plans.set_exchange_checklist(ctx.store, ctx.user, account, changes, expected_version=int(ver)))




def plans_tab(ctx: context.Context, account: str, acct: dict, editable: bool, today: dt.date) -> None:
    """The account's joint plans (editable), its §5 checklist and its promotions' uplift."""
    record_table(ctx, account, "plans", editable)
    c1, c2 = st.columns(2)
    with c1:
        checklist_form(ctx, account, acct, editable)
    with c2:
        uplift_table(ctx, plans.uplift_frame(ctx.store, ctx.user, today, account=account))


# ---------------------------------------------------------------- history
def history_tab(ctx: context.Context, account: str) -> None:
    """Every audited change to the account and its records, newest first."""
    hist = dossier.account_history(ctx.store, ctx.user, account)
    if hist.empty:
        st.info(ctx.t("dossier.history_empty"))
        return
    view = pd.DataFrame({
        ctx.t("audit.when"): hist["happened_at"],
        ctx.t("audit.who"): [user_label(w, ctx.lang) for w in hist["who"]],
        ctx.t("dossier.action"): [label_or(f"audit.action.{a}", ctx.lang, str(a)) for a in hist["action"]],
        ctx.t("dossier.record"): [label_or(f"record.{tb}", ctx.lang, str(tb)) + f" #{k}" if tb != "accounts"
                                  else str(k) for tb, k in zip(hist["table_name"], hist["record_key"])],
        ctx.t("audit.field"): [field_label(tb, f, ctx.lang) if isinstance(f, str) else MISSING
                               for tb, f in zip(hist["table_name"], hist["field"])],
        ctx.t("audit.old"): [value_label(tb, f, v, ctx.lang)
                             for tb, f, v in zip(hist["table_name"], hist["field"], hist["old_value"])],
        ctx.t("audit.new"): [value_label(tb, f, v, ctx.lang)
                             for tb, f, v in zip(hist["table_name"], hist["field"], hist["new_value"])],
    })
    st.dataframe(view, hide_index=True, width="stretch", key=f"dz_history_{account}", placeholder=MISSING)


# ---------------------------------------------------------------- owners (directors only)
def owner_section(ctx: context.Context, account: str, acct: dict | None) -> None:
    """Directors choose the owner and the backup among active managers and directors; hidden for others."""
    if not can(ctx.user, "assign_owner"):
        return
    current = ((acct or {}).get("owner"), (acct or {}).get("backup_owner"))
    ver = (acct or {}).get("version", 0)
    with st.expander(ctx.t("dossier.assign_owners")):
        st.caption(ctx.t("dossier.assign_owners_help"))
        eligible = [u["name"] for u in auth.list_users(ctx.store, ctx.user)
                    if not u["disabled"] and u["role"] in OWNER_ROLES]
        if not eligible:
            st.info(ctx.t("dossier.no_eligible_users"))
        # A current owner who is no longer an active user stays selectable (and marked) so
        # the form opens on what is stored; set_owner refuses to save it again.
        stale = [c for c in dict.fromkeys(current) if c and c not in eligible]
        options: list[str | None] = [None, *eligible, *stale]

        def show(name: str | None) -> str:
            if name is None:
                return ctx.t("dossier.no_owner")
            return ctx.t("dossier.not_a_user", name=name) if name in stale else name

        with st.form(f"dz_owner_form_{account}_{ver}"):
            c1, c2 = st.columns(2)
            owner = c1.selectbox(ctx.t("dossier.owner"), options, index=options.index(current[0]),
                                 format_func=show, key=f"dz_owner_{account}_{ver}")
            backup = c2.selectbox(ctx.t("dossier.backup_owner"), options, index=options.index(current[1]),
                                  format_func=show, key=f"dz_backup_{account}_{ver}")
            submitted = st.form_submit_button(ctx.t("dossier.save"), key=f"dz_owner_submit_{account}_{ver}")
    if not submitted:
        return
    if (owner, backup) == current:
        st.info(ctx.t("dossier.nothing_changed"))
        return
    try:
        dossier.set_owner(ctx.store, ctx.user, account, owner, backup)
    except dossier.ValidationError as exc:
        for line in invalid_lines(exc, "accounts", ctx.lang):
            st.error(line)
        return
    except PermissionDenied as exc:
        st.error(errors.permission_text(exc, ctx.lang))
        return
    flash("success", ctx.t("dossier.owners_saved"))
    st.rerun()




# ---------------------------------------------------------------- the whole dossier
def render_dossier(ctx: context.Context, account: str, table: pd.DataFrame, today: dt.date | None = None) -> None:
    """Header card, completeness and the six tabs of ``account``; without a dossier, the invitation."""
    today = today or dt.date.today()
    show_flash()
    acct = dossier.get_account(ctx.store, ctx.user, account)
    header_card(ctx, account, acct, table, context.criteria(ctx))
    attention_view.dossier_attention(ctx, account, today)   # 需要关注, this account's items
    if acct is None:
        no_dossier(ctx, account)
        owner_section(ctx, account, acct)
        exports_section(ctx, account, acct)
        sales_tab(ctx, account)
        return
    completeness_box(ctx, account)
    owner_section(ctx, account, acct)
    exports_section(ctx, account, acct)
    editable = dossier.may_edit(ctx.store, ctx.user, account)
    if not editable:
        st.caption("🔒 " + ctx.t("dossier.read_only"))
    names = ["sales", "contacts", "facts", "records", "plans", "account_plan", "history"]
    # Stateful tabs (a key, and a rerun on switching): the server keeps the open tab, so the rerun after
    # a save shows the tab the user saved on instead of the first one.
    tabs = st.tabs([ctx.t(f"dossier.tab.{n}") for n in names], key=TAB_KEY, on_change="rerun")
    with tabs[0]:
        sales_tab(ctx, account)
    with tabs[1]:
        contacts_tab(ctx, account, editable)
    with tabs[2]:
        facts_tab(ctx, account, acct, editable)
    with tabs[3]:
        records_tab(ctx, account, editable, today)
    with tabs[4]:
        plans_tab(ctx, account, acct, editable, today)
    with tabs[5]:
        account_plan_tab(ctx, account, editable, today)
    with tabs[6]:
        history_tab(ctx, account)


def department_section(ctx: context.Context, today: dt.date | None = None) -> None:
    """Department-wide to-dos: dossiers without a decision maker or with expired agreements; agreements expiring."""
    today = today or dt.date.today()
    with st.expander(ctx.t("dossier.gaps_title")):
        gaps = dossier.department_gaps(ctx.store, ctx.user, today)
        if gaps.empty:
            st.success(ctx.t("dossier.no_gaps"))
        else:
            view = pd.DataFrame({
                ctx.t("col.account"): gaps["account"],
                ctx.t("dossier.owner"): gaps["owner"].fillna(MISSING),
                ctx.t("dossier.missing_decision_maker"): ["⚠️" if v else "" for v in gaps["no_decision_maker"]],
                ctx.t("dossier.expired_agreements"): gaps["expired_agreements"].astype(int),
                ctx.t("dossier.last_expired"): [MISSING if blank(v) else str(pd.Timestamp(v).date()) for v in gaps["last_expired"]],
                ctx.t("col.dossier"): [tables.dossier_link(a, context.url_params()) for a in gaps["account"]],
            })
            st.dataframe(view, hide_index=True, width="stretch", column_config={
                ctx.t("col.dossier"): st.column_config.LinkColumn(ctx.t("col.dossier"), display_text=ctx.t("col.dossier"))}, placeholder=MISSING)
        soon = dossier.expiring_agreements(ctx.store, today, EXPIRY_DAYS)
        st.markdown(f"**{ctx.t('dossier.expiring_title', days=EXPIRY_DAYS)}**")
        if soon.empty:
            st.caption(MISSING)
        else:
            st.dataframe(pd.DataFrame({
                ctx.t("col.account"): soon["account"], ctx.t("record.agreement_title"): soon["title"],
                ctx.t("record.valid_to"): [pd.Timestamp(v).date() for v in soon["valid_to"]],
                ctx.t("dossier.days_left"): soon["days_left"].astype(int),
            }), hide_index=True, width="stretch", placeholder=MISSING)
