"""The dossier page's pieces (header card, tabs, department gaps) and the Plans page.

Thin renderers: they read widgets, call :mod:`kam_core.dossier`,
:mod:`kam_core.dossier.plans` and :mod:`kam_core.sales` (through the cached readers of :mod:`.context`), and show the result.
The domain layer checks every access rule itself; here controls are only
hidden or disabled so nobody is offered what they may not do.

Optimistic concurrency in a Streamlit page: the version a user edits is the
one shown when they *started* editing, so every editor keeps a snapshot of
what it showed in ``st.session_state`` and saves against the snapshot's
versions. The snapshot is refreshed on every run without pending edits, so a
page that is only being looked at always shows the latest data.
"""
from __future__ import annotations

import datetime as dt
from typing import Any, Iterable

import pandas as pd
import streamlit as st

from kam_core import auth, dossier

from kam_core.ui import charts

from kam_core.dossier import plans, targets

from kam_core.exports import reports
from kam_core.dossier import (ACCOUNT_FACT_FIELDS, BASIC_FIELDS, CONTACT_ROLES, DECISION_ROLES, EXCHANGE_ITEMS, PERSONAL_FIELDS,
                       PLAN_KINDS, POLICY_LEVELS, PROMOTION_KINDS, SCORE_FIELDS, SPECS)
from kam_core.locales.formatting import MISSING, format_amount, format_number, format_pct, format_signed_pct, tier_label
from kam_core.locales.labels import join_items, label_or, t
from kam_core.permissions import PermissionDenied, can
from kam_core.ui import attention as attention_view
from kam_core.ui import clickthrough, context, tables
from kam_core.ui.text import escape_md

EXPIRY_DAYS = 60
PRICE_EFFECT_DAYS = 30
OWNER_ROLES = ("manager", "director")
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Which label each record field is shown with (keys in kam_core.locales.labels).
FIELD_LABELS: dict[str, dict[str, str]] = {
    "contacts": {"role": "contact.role", "name": "contact.name", "title": "contact.title",
                 "authority": "contact.authority", "spending_limit": "contact.spending_limit",
                 "phone": "dossier.phone", "email": "dossier.email", "personal_notes": "contact.notes",
                 "influence": "contact.influence", "relationship": "contact.relationship"},
    "negotiations": {"held_on": "record.date", "topic": "record.topic", "our_participants": "record.our_participants",
                     "their_participants": "record.their_participants", "summary": "record.summary",
                     "outcome": "record.outcome", "follow_up_on": "record.follow_up"},
    "agreements": {"title": "record.agreement_title", "signed_on": "record.signed_on", "valid_from": "record.valid_from",
                   "valid_to": "record.valid_to", "terms": "record.terms", "target_amount": "record.targets",
                   "rebate_share": "record.rebate", "status": "record.status", "category": "record.category"},
    "price_changes": {"changed_on": "record.date", "product": "record.product", "old_price": "record.old_price",
                      "new_price": "record.new_price", "reason": "record.reason"},
    "plans": {"kind": "plan.kind", "side": "plan.side", "title": "plan.title", "period_start": "plan.start",
              "period_end": "plan.end", "budget": "plan.budget", "status": "plan.status", "notes": "plan.notes"},
    "goals": {"year": "goal.year", "title": "goal.title", "target_tier": "goal.target_tier", "status": "goal.status",
              "notes": "plan.notes"},
    "action_items": {"title": "action.title", "goal_id": "action.goal", "owner": "action.owner",
                     "due_on": "action.due_on", "status": "action.status", "notes": "plan.notes"},
    "accounts": {**{f: f"dossier.{f}" for f in (*BASIC_FIELDS, *ACCOUNT_FACT_FIELDS)},
                 "own_suppliers": "dossier.suppliers",
                 **{f: f"dossier.score.{f.removeprefix('score_')}" for f in SCORE_FIELDS},
                 "exchange_checklist": "plan.exchange_checklist", "owner": "dossier.owner",
                 "backup_owner": "dossier.backup_owner", "name": "col.account"},
}
# Label prefix of each coded (choice) field.
CHOICE_PREFIX: dict[tuple[str, str], str] = {
    ("contacts", "role"): "role", ("contacts", "influence"): "influence",
    ("agreements", "status"): "agreement.status", ("plans", "kind"): "plan.kind",
    ("plans", "side"): "plan.side", ("plans", "status"): "plan.status",
    ("goals", "target_tier"): "tier", ("goals", "status"): "goal.status", ("action_items", "status"): "action.status",
}
CRITERIA_MARKS = {"pass": "✅", "fail": "❌", "unknown": "❔"}


def field_label(kind: str, name: str, lang: str) -> str:
    """The localised name of a dossier field (the field code when it has no label)."""
    key = FIELD_LABELS.get(kind, {}).get(name)
    return t(key, lang) if key else name


def choice_label(kind: str, name: str, code: Any, lang: str) -> str:
    """The localised name of a coded value (a role, a plan kind …); unknown codes as they are."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return MISSING
    prefix = CHOICE_PREFIX.get((kind, name))
    return label_or(f"{prefix}.{code}", lang, str(code)) if prefix else str(code)


def _flash(kind: str, text: str) -> None:
    st.session_state.setdefault("dz_flash", []).append((kind, text))


def show_flash() -> None:
    """Messages left by the run that saved (a save reruns the page to show fresh data)."""
    for kind, text in st.session_state.pop("dz_flash", []):
        getattr(st, kind)(text)


def _show(v: Any) -> str:
    if v is None or (not isinstance(v, (str, dict, list)) and pd.isna(v)):
        return "—"
    return str(v)


def _save_account(ctx, snap_key: str, n: int, save) -> None:
    """Run one audited write of the account's fields and say how it went.

    Invalid input stays on the form; a version conflict shows both values and
    drops the snapshot so the form shows what is stored now.
    """
    try:
        save()
    except dossier.ValidationError as exc:
        for line in _invalid_lines(exc, "accounts", ctx.lang):
            st.error(line)
        return
    except dossier.VersionConflict as exc:
        for line in conflict_lines(exc, "accounts", ctx.lang):
            _flash("error", line)
    except PermissionDenied as exc:
        st.error(ctx.t("dossier.denied", message=escape_md(exc)))
        return
    else:
        _flash("success", ctx.t("dossier.saved", n=n))
    st.session_state.pop(snap_key, None)
    st.rerun()


def conflict_lines(exc: dossier.VersionConflict, kind: str, lang: str) -> list[str]:
    """One message per field the user changed: who changed it, their value and yours."""
    who = escape_md(exc.updated_by or "?")
    if not exc.fields:
        return [t("dossier.conflict", lang, who=who, field="—", theirs="—", yours="—")]
    return [t("dossier.conflict", lang, who=who, field=field_label(kind, f, lang), theirs=escape_md(_show(theirs)), yours=escape_md(_show(yours)))
            for f, (theirs, yours) in exc.fields.items()]


def _invalid_lines(exc: dossier.ValidationError, kind: str, lang: str) -> list[str]:
    return [t("dossier.invalid", lang, field=field_label(kind, f, lang), message=escape_md(m)) for f, m in exc.errors.items()]


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
        cols = st.columns(6)
        cols[0].metric(ctx.t("col.tier"), tier_label(r["tier"], ctx.lang))
        cols[1].metric(ctx.t("col.rank"), format_number(r["rank"]))
        cols[2].metric(ctx.t("col.share"), format_pct(r["share"], 2))
        cols[3].metric(ctx.t("col.margin"), format_pct(r["margin"], 1))
        cols[4].metric(ctx.t("col.yoy"), format_signed_pct(r["yoy"], 1))
        cols[5].metric(ctx.t("col.to_next_tier"), format_amount(r["to_next_tier"], ctx.unit, ctx.lang))
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
    c = dossier.completeness(ctx.store, ctx.user, account, lang=ctx.lang)
    st.progress(float(c["score"]), text=ctx.t("dossier.completeness", pct=format_pct(c["score"], 0))
                + f" ({c['present']}/{c['total']})")
    if c["missing"]:
        st.caption(ctx.t("dossier.missing", items=join_items(c["missing"], ctx.lang)))


def no_dossier(ctx: context.Context, account: str) -> None:
    """The account has sales but no dossier: invite those who may create one."""
    st.info(ctx.t("dossier.no_dossier", account=escape_md(account)))
    if can(ctx.user, "edit_dossier"):
        if st.button(ctx.t("dossier.create"), key="dz_create", type="primary"):
            try:
                dossier.upsert_account(ctx.store, ctx.user, account, {})
            except PermissionDenied as exc:
                st.error(ctx.t("dossier.denied", message=escape_md(exc)))
                return
            _flash("success", ctx.t("dossier.created"))
            st.rerun()
    else:
        st.caption(ctx.t("dossier.no_dossier_ask"))


# ---------------------------------------------------------------- generic record editor
def _column_config(kind: str, fields: Iterable[str], lang: str,
                   references: dict[str, dict[Any, str]] | None = None) -> dict[str, Any]:
    """The editor's column of each field; ``references``: field → {stored value: shown text} of a goal or user field."""
    spec = SPECS[kind]
    config: dict[str, Any] = {}
    for name in fields:
        f = spec.fields[name]
        label = field_label(kind, name, lang)
        if f.kind in ("goal", "user"):
            shown = (references or {}).get(name, {})
            config[name] = st.column_config.SelectboxColumn(
                label, options=list(shown), format_func=lambda v, m=shown: m.get(v, MISSING if v is None else str(v)))
        elif f.kind == "year":
            config[name] = st.column_config.NumberColumn(label, min_value=1990, max_value=2100, step=1, format="%d",
                                                         required=f.required)
        elif f.kind == "choice":
            config[name] = st.column_config.SelectboxColumn(
                label, options=list(f.choices), required=f.required,
                format_func=lambda v, k=kind, n=name: choice_label(k, n, v, lang))
        elif f.kind == "date":
            config[name] = st.column_config.DateColumn(label, format="YYYY-MM-DD", required=f.required)
        elif f.kind in ("money", "price"):
            config[name] = st.column_config.NumberColumn(label, min_value=0, format="%,.2f")
        elif f.kind == "share":
            config[name] = st.column_config.NumberColumn(label + " (0–1)", min_value=0.0, max_value=1.0, format="%.3f")
        elif f.kind == "score":
            config[name] = st.column_config.NumberColumn(label + " (1–5)", min_value=1, max_value=5, step=1)
        else:
            config[name] = st.column_config.TextColumn(label, required=f.required)
    return config


def _has_edits(state: Any) -> bool:
    if not isinstance(state, dict):
        return False
    return bool(state.get("edited_rows") or state.get("added_rows") or state.get("deleted_rows"))


def _blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    try:
        return bool(pd.isna(v))
    except (TypeError, ValueError):
        return False


def _row_name(kind: str, row: pd.Series, lang: str) -> str:
    first = {"contacts": "name", "negotiations": "topic", "agreements": "title", "price_changes": "product",
             "plans": "title", "goals": "title", "action_items": "title"}[kind]
    value = row.get(first)
    return str(value) if not _blank(value) else f"#{row.get('id')}"


def apply_edits(ctx: context.Context, account: str, kind: str, shown: pd.DataFrame, state: dict,
                fields: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """Save the editor's edits (changed, added, deleted rows) against the versions in ``shown``.

    Returns the number of rows saved and ``(kind, message)`` problems, kind being
    ``invalid``, ``conflict`` or ``denied``.
    """
    saved, problems = 0, []
    jobs: list[tuple[str, Any, Any]] = []
    for pos, changes in (state.get("edited_rows") or {}).items():
        jobs.append(("update", shown.iloc[int(pos)], {f: (None if _blank(v) else v) for f, v in changes.items()
                                                      if f in fields}))
    for pos in state.get("deleted_rows") or []:
        jobs.append(("delete", shown.iloc[int(pos)], None))
    for new in state.get("added_rows") or []:
        values = {f: v for f, v in (new or {}).items() if f in fields and not _blank(v)}
        if values:
            jobs.append(("add", None, values))
    for action, row, values in jobs:
        name = _row_name(kind, row, ctx.lang) if row is not None else ctx.t("dossier.new_row")
        try:
            if action == "update":
                if values:
                    dossier.update_record(ctx.store, ctx.user, kind, int(row["id"]), values,
                                          expected_version=int(row["version"]))
            elif action == "delete":
                dossier.delete_record(ctx.store, ctx.user, kind, int(row["id"]))
            else:
                dossier.add_record(ctx.store, ctx.user, kind, account, values)
            saved += 1
        except dossier.ValidationError as exc:
            problems += [("invalid", f"{escape_md(name)}: {m}") for m in _invalid_lines(exc, kind, ctx.lang)]
        except dossier.VersionConflict as exc:
            problems += [("conflict", f"{escape_md(name)}: {m}") for m in conflict_lines(exc, kind, ctx.lang)]
        except (PermissionDenied, dossier.NotFound) as exc:
            problems.append(("denied", f"{escape_md(name)}: " + ctx.t("dossier.denied", message=escape_md(exc))))
    return saved, problems


def editor_key(kind: str, account: str) -> str:
    """The session-state key of the current ``st.data_editor`` of ``kind`` at ``account``."""
    return f"dz_edit_{kind}_{account}_{st.session_state.get(f'dz_gen_{kind}_{account}', 0)}"


def record_table(ctx: context.Context, account: str, kind: str, editable: bool,
                 hidden: Iterable[str] = ()) -> pd.DataFrame:
    """The account's records of ``kind``: an editable table for editors, read-only otherwise.

    Returns the rows shown (with ``id`` and ``version``).
    """
    fields = [f for f in SPECS[kind].fields if f not in set(hidden)]
    snap_key, gen_key = f"dz_snap_{kind}_{account}", f"dz_gen_{kind}_{account}"
    key = editor_key(kind, account)
    save_key = f"dz_save_{kind}_{account}_{st.session_state.get(gen_key, 0)}"
    keep = _has_edits(st.session_state.get(key)) or bool(st.session_state.get(save_key))
    shown = st.session_state.get(snap_key)
    if shown is None or not keep:
        data = dossier.list_records(ctx.store, ctx.user, account, kind)
        shown = data[["id", "version", *fields]].reset_index(drop=True)
        st.session_state[snap_key] = shown
    references = _references(ctx, account, kind, shown)
    config = _column_config(kind, fields, ctx.lang, references)
    if not editable:
        view = shown[fields].copy()
        for (k, name), _ in CHOICE_PREFIX.items():
            if k == kind and name in view.columns:
                view[name] = [choice_label(kind, name, v, ctx.lang) for v in view[name]]
                config[name] = st.column_config.TextColumn(field_label(kind, name, ctx.lang))
        for name, shown_as in references.items():
            if name in view.columns:
                view[name] = [MISSING if _blank(v) else shown_as.get(v, str(v)) for v in view[name]]
                config[name] = st.column_config.TextColumn(field_label(kind, name, ctx.lang))
        st.dataframe(view, column_config=config, hide_index=True, width="stretch")
        return shown
    st.data_editor(shown, key=key, column_order=fields, column_config=config, num_rows="dynamic",
                   hide_index=True, width="stretch")
    state = st.session_state.get(key) or {}
    if st.button(ctx.t("dossier.save"), key=save_key, type="primary"):
        saved, problems = apply_edits(ctx, account, kind, shown, state, fields)
        if saved == 0 and problems and all(k == "invalid" for k, _ in problems):
            for _, text in problems:
                st.error(text)   # keep the edits so they can be corrected
            return shown
        if saved:
            _flash("success", ctx.t("dossier.saved", n=saved))
        for _, text in problems:
            _flash("error", text)
        st.session_state.pop(snap_key, None)
        st.session_state[gen_key] = st.session_state.get(gen_key, 0) + 1
        st.rerun()
    _deleted_records(ctx, account, kind)
    return shown


def _references(ctx: context.Context, account: str, kind: str, shown: pd.DataFrame) -> dict[str, dict[Any, str]]:
    """What a goal or user field may point at, and how each is shown: the account's live goals
    (``#id title``) and the active users, plus whatever the rows already hold."""
    out: dict[str, dict[Any, str]] = {}
    for name, f in SPECS[kind].fields.items():
        if f.kind == "goal":
            goals = dossier.list_records(ctx.store, ctx.user, account, "goals")
            out[name] = {int(i): f"#{int(i)} {t_}" for i, t_ in zip(goals["id"], goals["title"])}
        elif f.kind == "user":
            out[name] = {u: u for u in dossier.active_user_names(ctx.store)}
        else:
            continue
        for v in shown[name] if name in shown.columns else []:
            if not _blank(v):
                out[name].setdefault(int(v) if f.kind == "goal" else v, f"#{int(v)}" if f.kind == "goal" else str(v))
    return out


def _deleted_records(ctx: context.Context, account: str, kind: str) -> None:
    data = dossier.list_records(ctx.store, ctx.user, account, kind, include_deleted=True)
    gone = data[data["deleted_at"].notna()]
    if gone.empty:
        return
    with st.expander(ctx.t("dossier.deleted") + f" ({len(gone)})"):
        ids = gone["id"].astype(int).tolist()
        names = {int(r["id"]): _row_name(kind, r, ctx.lang) for _, r in gone.iterrows()}
        pick = st.selectbox(ctx.t("dossier.deleted"), ids, format_func=lambda i: names[i], key=f"dz_del_{kind}_{account}")
        if st.button(ctx.t("action.restore"), key=f"dz_restore_{kind}_{account}"):
            try:
                dossier.restore_record(ctx.store, ctx.user, kind, int(pick))
            except PermissionDenied as exc:
                st.error(ctx.t("dossier.denied", message=escape_md(exc)))
                return
            st.session_state.pop(f"dz_snap_{kind}_{account}", None)
            _flash("success", ctx.t("dossier.restored"))
            st.rerun()


# ---------------------------------------------------------------- contacts
ORG_PARENT: dict[str, str | None] = {
    "chairman": None, "general_manager": "chairman", "purchasing_director": "general_manager",
    "finance_director": "general_manager", "sales_manager": "general_manager", "marketing_head": "general_manager",
    "distribution_manager": "general_manager", "purchasing_manager": "purchasing_director",
    "buyer": "purchasing_manager", "other": "general_manager",
}


def org_chart_dot(contacts: pd.DataFrame, lang: str) -> str:
    """A Graphviz org chart of the account's people by the policy's levels (top: chairman).

    Each level is one box listing its people (★ decision maker); a policy level
    nobody fills is drawn dashed and marked vacant. Pure: tested without streamlit.
    """
    people: dict[str, list[str]] = {}
    for _, r in contacts.iterrows():
        star = "★" if (r.get("influence") == "decision_maker" or r.get("role") in DECISION_ROLES) else ""
        people.setdefault(str(r["role"]), []).append(star + str(r["name"]))
    levels = [r for r in CONTACT_ROLES if r in POLICY_LEVELS or r in people]

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph org {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fontname="sans-serif"];']
    for role in levels:
        name = label_or(f"role.{role}", lang, role)
        if role in people:
            lines.append(f"  {role} [label={q(name + chr(10) + '、'.join(people[role]))}, fillcolor=\"#d6eaf8\"];")
        else:
            vacant = t("dossier.vacant", lang)
            lines.append(f"  {role} [label={q(name + chr(10) + vacant)}, style=\"rounded,dashed\", color=\"#999999\","
                         f" fontcolor=\"#999999\"];")
    for role in levels:
        parent = ORG_PARENT.get(role)
        while parent is not None and parent not in levels:
            parent = ORG_PARENT.get(parent)
        if parent is not None:
            lines.append(f"  {parent} -> {role};")
    lines.append("}")
    return "\n".join(lines)


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
    if _blank(a) and _blank(b):
        return True
    return str(a).strip() == str(b).strip() if not (_blank(a) or _blank(b)) else False


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
            index = options.index(int(current)) if not _blank(current) and int(current) in options else 0
            values[f] = col.selectbox(field_label("accounts", f, ctx.lang), options, index=index,
                                      format_func=lambda v: MISSING if v is None else str(v),
                                      key=f"dz_f_{account}_{ver}_{f}", disabled=not editable)
        submitted = st.form_submit_button(ctx.t("dossier.save"), key=f"dz_facts_submit_{account}_{ver}",
                                          disabled=not editable, type="primary")
    if not (submitted and editable):
        return
    changes = {f: (None if _blank(v) else v) for f, v in values.items() if not _same(v, snap.get(f))}
    if not changes:
        st.info(ctx.t("dossier.nothing_changed"))
        return
    _save_account(ctx, snap_key, len(changes),
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
        ctx.t("record.product"): [_show(v) for v in effects["product"]],
        ctx.t("record.old_price"): [format_number(v, 2) for v in effects["old_price"]],
        ctx.t("record.new_price"): [format_number(v, 2) for v in effects["new_price"]],
        ctx.t("dossier.sales_before"): [format_amount(v, ctx.unit, ctx.lang) for v in effects["sales_before"]],
        ctx.t("dossier.sales_after"): [format_amount(v, ctx.unit, ctx.lang) for v in effects["sales_after"]],
        ctx.t("dossier.sales_change"): [format_signed_pct(v, 1) for v in effects["change_share"]],
    })
    st.dataframe(view, hide_index=True, width="stretch", key=f"dz_price_effect_{account}")
    st.caption(ctx.t("dossier.price_effect_note"))


# ---------------------------------------------------------------- sales
def sales_tab(ctx: context.Context, account: str) -> None:
    """Monthly trend with promotions and price changes; category and store/region mix; top products."""
    monthly = context.account_monthly(ctx, account)
    promos = plans.plans_frame(ctx.store, ctx.user, account=account, kinds=PROMOTION_KINDS)
    promo_frame = pd.DataFrame({
        "start": promos["period_start"], "end": promos["period_end"],
        "label": [choice_label("plans", "kind", k, ctx.lang) if _blank(ti) else ti
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
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch")
    with c2:
        st.markdown(f"**{ctx.t('dossier.region_mix')}**")
        by = st.segmented_control(ctx.t("dossier.mix_by"), ("region", "store"), default="region",
                                  format_func=lambda v: ctx.t(f"col.{v}"), key="dz_mix_by") or "region"
        m = context.account_mix(ctx, account, by)
        shown, config = tables.localise(m, [by, "sales", "share"], ctx.lang, ctx.unit)
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch")
    st.markdown(f"**{ctx.t('dossier.top_products')}**")
    top = context.account_top_products(ctx, account)
    shown, config = tables.localise(top, ["sku", "product", "qty", "sales", "gross_profit", "share"], ctx.lang, ctx.unit)
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch")


# ---------------------------------------------------------------- records
def agreement_alerts(ctx: context.Context, account: str, today: dt.date) -> None:
    """Agreements running out within 60 days (warning) or already run out (error)."""
    agreements = dossier.list_records(ctx.store, ctx.user, account, "agreements")
    for _, a in agreements.iterrows():
        if _blank(a["valid_to"]) or a.get("status") in dossier.CLOSED_AGREEMENT_STATUSES:
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
        st.dataframe(shown, column_config=config, hide_index=True, width="stretch")
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
            st.dataframe(view, hide_index=True, width="stretch")


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
    _save_account(ctx, snap_key, len(changes),
                  lambda: plans.set_exchange_checklist(ctx.store, ctx.user, account, changes, expected_version=int(ver)))


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
    st.dataframe(view, hide_index=True, width="stretch")


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
        ctx.t("audit.who"): hist["who"],
        ctx.t("dossier.action"): [label_or(f"audit.action.{a}", ctx.lang, str(a)) for a in hist["action"]],
        ctx.t("dossier.record"): [label_or(f"record.{tb}", ctx.lang, str(tb)) + f" #{k}" if tb != "accounts"
                                  else str(k) for tb, k in zip(hist["table_name"], hist["record_key"])],
        ctx.t("audit.field"): [field_label(tb, f, ctx.lang) if isinstance(f, str) else MISSING
                               for tb, f in zip(hist["table_name"], hist["field"])],
        ctx.t("audit.old"): hist["old_value"],
        ctx.t("audit.new"): hist["new_value"],
    })
    st.dataframe(view, hide_index=True, width="stretch", key=f"dz_history_{account}")


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
        for line in _invalid_lines(exc, "accounts", ctx.lang):
            st.error(line)
        return
    except PermissionDenied as exc:
        st.error(ctx.t("dossier.denied", message=escape_md(exc)))
        return
    _flash("success", ctx.t("dossier.owners_saved"))
    st.rerun()


# ---------------------------------------------------------------- exports (built on click only)
def _stashed(name: str, stamp: tuple) -> bytes | None:
    """The bytes built earlier in this session for exactly ``stamp``; a stale build is dropped."""
    stash = st.session_state.get(name)
    if stash is None:
        return None
    if stash["stamp"] != stamp:
        st.session_state.pop(name, None)
        return None
    return stash["data"]


def _build(ctx: context.Context, name: str, stamp: Any, build: Any) -> None:
    """Run ``build()`` and keep its bytes under ``name`` with ``stamp()`` (taken after the build)."""
    try:
        with st.spinner("…"):
            data = build()
    except PermissionDenied as exc:
        st.session_state.pop(name, None)
        st.error(ctx.t("dossier.denied", message=escape_md(exc)))
        return
    # One build per kind is kept, so switching accounts does not pile workbooks up in the session.
    st.session_state[name] = {"stamp": stamp(), "data": data}


def share_pack_box(ctx: context.Context, account: str) -> None:
    """Policy §3.1: the account's own sales and stock for ``ctx.year``, as a workbook to send it."""
    st.markdown(f"**{ctx.t('dossier.share_pack')}**")
    st.caption(ctx.t("dossier.share_pack_help", year=ctx.year))
    stamp = ("share", account, ctx.year, ctx.version, ctx.user)
    if st.button(ctx.t("dossier.build_share_pack"), key=f"dz_share_build_{account}"):
        _build(ctx, "dz_share", lambda: stamp,
               lambda: reports.build_share_pack(ctx.store, account, int(ctx.year), user=ctx.user))
    data = _stashed("dz_share", stamp)
    if data is not None:
        name = reports.download_name("share_pack", ctx.year, account)
        st.download_button(ctx.t("action.download"), data, file_name=name, mime=XLSX_MIME,
                           key="dz_share_download", help=name, icon=":material/download:")


def dossier_export_box(ctx: context.Context, account: str, acct: dict) -> None:
    """The dossier as xlsx; contacts' personal details only when asked for by someone allowed."""
    st.markdown(f"**{ctx.t('dossier.dossier_export')}**")
    st.caption(ctx.t("dossier.dossier_export_help"))
    allowed = can(ctx.user, "export_personal", owner=acct.get("owner"), backup_owner=acct.get("backup_owner"))
    if allowed:
        personal = st.checkbox(ctx.t("dossier.include_personal"), key=f"dz_export_personal_{account}",
                               help=ctx.t("dossier.include_personal_help"))
    else:
        personal = False
        st.caption(ctx.t("dossier.export_without_personal"))
    def stamp() -> tuple:
        # The dossier's change counter, read after the build because an export with personal
        # details writes its own audit row; any later edit makes the built file stale.
        return ("dossier", account, personal, ctx.lang, ctx.user, dossier.dossier_version(ctx.store))

    if st.button(ctx.t("dossier.build_export"), key=f"dz_export_build_{account}"):
        _build(ctx, "dz_export", stamp, lambda: reports.build_dossier_export(
            ctx.store, account, ctx.user, include_personal=personal, lang=ctx.lang))
    # Only looked up once something was built, so a plain rerun costs no query.
    data = _stashed("dz_export", stamp()) if "dz_export" in st.session_state else None
    if data is not None:
        name = reports.download_name("dossier", None, account)
        st.download_button(ctx.t("action.download"), data, file_name=name, mime=XLSX_MIME,
                           key="dz_export_download", help=name, icon=":material/download:")


def exports_section(ctx: context.Context, account: str, acct: dict | None) -> None:
    """The data-sharing pack and (with a dossier) the dossier export, side by side in an expander."""
    with st.expander(ctx.t("dossier.exports")):
        c1, c2 = st.columns(2)
        with c1:
            if ctx.year is not None:
                share_pack_box(ctx, account)
        with c2:
            if acct is not None:
                dossier_export_box(ctx, account, acct)


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
    tabs = st.tabs([ctx.t(f"dossier.tab.{n}") for n in names])
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
                ctx.t("dossier.last_expired"): [MISSING if _blank(v) else str(pd.Timestamp(v).date()) for v in gaps["last_expired"]],
                ctx.t("col.dossier"): [tables.dossier_link(a, context.url_params()) for a in gaps["account"]],
            })
            st.dataframe(view, hide_index=True, width="stretch", column_config={
                ctx.t("col.dossier"): st.column_config.LinkColumn(ctx.t("col.dossier"), display_text=ctx.t("col.dossier"))})
        soon = dossier.expiring_agreements(ctx.store, today, EXPIRY_DAYS)
        st.markdown(f"**{ctx.t('dossier.expiring_title', days=EXPIRY_DAYS)}**")
        if soon.empty:
            st.caption(MISSING)
        else:
            st.dataframe(pd.DataFrame({
                ctx.t("col.account"): soon["account"], ctx.t("record.agreement_title"): soon["title"],
                ctx.t("record.valid_to"): [pd.Timestamp(v).date() for v in soon["valid_to"]],
                ctx.t("dossier.days_left"): soon["days_left"].astype(int),
            }), hide_index=True, width="stretch")


# ---------------------------------------------------------------- Plans page
def plans_page(ctx: context.Context, today: dt.date | None = None) -> None:
    """All joint plans on a timeline with filters; budgets by quarter; uplift; §5 checklists."""
    today = today or dt.date.today()
    everything = plans.plans_frame(ctx.store, ctx.user)
    if everything.empty:
        st.info(ctx.t("plan.no_plans"))
        return
    dated = everything.dropna(subset=["period_start"])
    lo = pd.Timestamp(dated["period_start"].min()).date() if len(dated) else today
    hi = pd.Timestamp(dated["period_end"].fillna(dated["period_start"]).max()).date() if len(dated) else today
    c1, c2, c3 = st.columns([2, 2, 2])
    accounts = c1.multiselect(ctx.t("col.account"), sorted(everything["account"].unique()), key="pl_accounts",
                              placeholder=ctx.t("sidebar.all"))
    kinds = c2.multiselect(ctx.t("plan.kind"), list(PLAN_KINDS), key="pl_kinds", placeholder=ctx.t("sidebar.all"),
                           format_func=lambda k: choice_label("plans", "kind", k, ctx.lang))
    period = c3.date_input(ctx.t("chart.period"), value=(lo, hi), key="pl_period")
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
        ctx.t("plan.start"): [None if _blank(v) else pd.Timestamp(v).date() for v in frame["period_start"]],
        ctx.t("plan.end"): [None if _blank(v) else pd.Timestamp(v).date() for v in frame["period_end"]],
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
    st.dataframe(view, hide_index=True, width="stretch", key="pl_exchange")
