"""The dossier's record editor: field and choice labels, an editable grid per record kind, and saving its edits.

Optimistic concurrency in a Streamlit page: the version a user edits is the
one shown when they *started* editing, so every editor keeps a snapshot of
what it showed in ``st.session_state`` and saves against the snapshot's
versions. The snapshot is refreshed on every run without pending edits, so a
page that is only being looked at always shows the latest data.
"""
from __future__ import annotations

from typing import Any, Iterable

import pandas as pd
import streamlit as st

from kam_core import dossier
from kam_core.dossier.queries import checklist
from kam_core.dossier.fields import ACCOUNT_FACT_FIELDS, BASIC_FIELDS, RECORD_KINDS, SCORE_FIELDS, SPECS, item_label_key
from kam_core.locales.formatting import MISSING
from kam_core.locales.labels import join_items, label_or, t
from kam_core.permissions import SYSTEM, PermissionDenied
from kam_core.ui import context, errors
from kam_core.ui.text import escape_md

DATE_PATTERN = r"^\d{4}-\d{2}-\d{2}$"
"""What a date cell of the editor takes: YYYY-MM-DD."""

# Which label each record field is shown with (keys in the catalogue, kam_core/locales).
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
    # the completeness line names these fields through the same function, so both say the same words
    "accounts": {**{f: item_label_key(f) for f in (*BASIC_FIELDS, *ACCOUNT_FACT_FIELDS, *SCORE_FIELDS)},
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
for _kind in RECORD_KINDS:                 # every record belongs to an account (the audit log's insert rows name it)
    FIELD_LABELS[_kind]["account"] = "col.account"


def field_label(kind: str, name: str, lang: str) -> str:
    """The localised name of a dossier field (the field code when it has no label)."""
    key = FIELD_LABELS.get(kind, {}).get(name)
    return t(key, lang) if key else name


def value_label(kind: str, name: str, value: Any, lang: str) -> Any:
    """A stored value as a person reads it: a coded field's label (a role, a plan status …), the §5
    checklist as the items it has ticked, else the value."""
    if (kind, name) in CHOICE_PREFIX:
        return choice_label(kind, name, value, lang)
    if (kind, name) == ("accounts", "exchange_checklist") and not blank(value):
        try:
            ticked = [item for item, done in checklist(value).items() if done]
        except (ValueError, TypeError, AttributeError):
            return value
        return join_items([t(f"plan.exchange.{item}", lang) for item in ticked], lang) or t("plan.exchange_none", lang)
    return MISSING if blank(value) else value


def user_label(name: Any, lang: str) -> str:
    """A user name as the history shows it: the product's own writes as "system" in the page's words."""
    if blank(name):
        return MISSING
    return t("audit.system", lang) if name == SYSTEM.name else str(name)


def choice_label(kind: str, name: str, code: Any, lang: str) -> str:
    """The localised name of a coded value (a role, a plan kind …); unknown codes as they are."""
    if code is None or (isinstance(code, float) and pd.isna(code)):
        return MISSING
    prefix = CHOICE_PREFIX.get((kind, name))
    return label_or(f"{prefix}.{code}", lang, str(code)) if prefix else str(code)


def flash(kind: str, text: str) -> None:
    st.session_state.setdefault("dz_flash", []).append((kind, text))


def show_flash() -> None:
    """Messages left by the run that saved (a save reruns the page to show fresh data)."""
    for kind, text in st.session_state.pop("dz_flash", []):
        getattr(st, kind)(text)


def show_value(v: Any) -> str:
    if v is None or (not isinstance(v, (str, dict, list)) and pd.isna(v)):
        return "—"
    return str(v)


def save_account(ctx, snap_key: str, n: int, save) -> None:
    """Run one audited write of the account's fields and say how it went.

    Invalid input stays on the form; a version conflict shows both values and
    drops the snapshot so the form shows what is stored now.
    """
    try:
        save()
    except dossier.ValidationError as exc:
        for line in invalid_lines(exc, "accounts", ctx.lang):
            st.error(line)
        return
    except dossier.VersionConflict as exc:
        for line in conflict_lines(exc, "accounts", ctx.lang):
            flash("error", line)
    except PermissionDenied as exc:
        st.error(errors.permission_text(exc, ctx.lang))
        return
    else:
        flash("success", ctx.t("dossier.saved", n=n))
    st.session_state.pop(snap_key, None)
    st.rerun()


def conflict_lines(exc: dossier.VersionConflict, kind: str, lang: str) -> list[str]:
    """One message per field the user changed: who changed it, their value and yours."""
    who = escape_md(exc.updated_by or "?")
    if not exc.fields:
        return [t("dossier.conflict", lang, who=who, field="—", theirs="—", yours="—")]
    return [t("dossier.conflict", lang, who=who, field=field_label(kind, f, lang), theirs=escape_md(show_value(theirs)), yours=escape_md(show_value(yours)))
            for f, (theirs, yours) in exc.fields.items()]


def invalid_lines(exc: dossier.ValidationError, kind: str, lang: str) -> list[str]:
    """Each refused field in the page's words, from its code and figures (the English text only for a refusal
    that has no code)."""
    lines = []
    for f, english in exc.errors.items():
        code, params = exc.codes.get(f, (None, {}))
        if code is None:
            message = escape_md(english)
        else:
            shown = {k: escape_md(v) for k, v in params.items()}
            if "other" in params:
                shown["other"] = field_label(kind, params["other"], lang)
            if "role" in params:
                shown["role"] = label_or(f"signin.role.{params['role']}", lang, str(params["role"]))
            message = t(f"dossier.invalid.{code}", lang, **shown)
        name = t("dossier.whole_record", lang) if f == "_" else field_label(kind, f, lang)
        lines.append(t("dossier.invalid", lang, field=name, message=message))
    return lines




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
            # typed as text: the browser's own date editor shows mm/dd/yyyy in an English browser
            config[name] = st.column_config.TextColumn(label, required=f.required, validate=DATE_PATTERN,
                                                       help=t("dossier.date_help", lang))
        elif f.kind in ("money", "price"):
            config[name] = st.column_config.NumberColumn(label, min_value=0, format="%,.2f")
        elif f.kind == "share":
            config[name] = st.column_config.NumberColumn(label + " (0–1)", min_value=0.0, max_value=1.0, format="percent")
        elif f.kind == "score":
            config[name] = st.column_config.NumberColumn(label + " (1–5)", min_value=1, max_value=5, step=1)
        else:
            config[name] = st.column_config.TextColumn(label, required=f.required)
    return config


def as_iso_dates(frame: pd.DataFrame, kind: str) -> pd.DataFrame:
    """``frame`` with its date fields as ``YYYY-MM-DD`` text (None when empty), as the editor shows and takes them."""
    out = frame.copy()
    for name, f in SPECS[kind].fields.items():
        if f.kind == "date" and name in out.columns:
            out[name] = pd.Series([None if blank(v) else pd.Timestamp(v).date().isoformat() for v in out[name]],
                                  index=out.index, dtype=object)
    return out


def _has_edits(state: Any) -> bool:
    if not isinstance(state, dict):
        return False
    return bool(state.get("edited_rows") or state.get("added_rows") or state.get("deleted_rows"))


def blank(v: Any) -> bool:
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
    return str(value) if not blank(value) else f"#{row.get('id')}"


def apply_edits(ctx: context.Context, account: str, kind: str, shown: pd.DataFrame, state: dict,
                fields: list[str]) -> tuple[int, list[tuple[str, str]]]:
    """Save the editor's edits (changed, added, deleted rows) against the versions in ``shown``.

    Returns the number of rows saved and ``(kind, message)`` problems, kind being
    ``invalid``, ``conflict`` or ``denied``.
    """
    saved, problems = 0, []
    jobs: list[tuple[str, Any, Any]] = []
    for pos, changes in (state.get("edited_rows") or {}).items():
        jobs.append(("update", shown.iloc[int(pos)], {f: (None if blank(v) else v) for f, v in changes.items()
                                                      if f in fields}))
    for pos in state.get("deleted_rows") or []:
        jobs.append(("delete", shown.iloc[int(pos)], None))
    for new in state.get("added_rows") or []:
        values = {f: v for f, v in (new or {}).items() if f in fields and not blank(v)}
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
            problems += [("invalid", f"{escape_md(name)}: {m}") for m in invalid_lines(exc, kind, ctx.lang)]
        except dossier.VersionConflict as exc:
            problems += [("conflict", f"{escape_md(name)}: {m}") for m in conflict_lines(exc, kind, ctx.lang)]
        except PermissionDenied as exc:
            problems.append(("denied", f"{escape_md(name)}: " + errors.permission_text(exc, ctx.lang)))
        except dossier.NotFound:
            problems.append(("denied", f"{escape_md(name)}: " + ctx.t("dossier.not_found")))
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
    rows = None     # every row of the kind, the deleted ones too, when this run reads them
    if shown is None or not keep:
        rows = dossier.list_records(ctx.store, ctx.user, account, kind, include_deleted=True)
        live = rows[rows["deleted_at"].isna()]
        shown = as_iso_dates(live[["id", "version", *fields]].reset_index(drop=True), kind)
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
                view[name] = [MISSING if blank(v) else shown_as.get(v, str(v)) for v in view[name]]
                config[name] = st.column_config.TextColumn(field_label(kind, name, ctx.lang))
        st.dataframe(view, column_config=config, hide_index=True, width="stretch", placeholder=MISSING)
        return shown
    # an empty cell (a blank note, a new row not yet typed in) shows empty, never "None"
    st.data_editor(shown, key=key, column_order=fields, column_config=config, num_rows="dynamic",
                   hide_index=True, width="stretch", placeholder="")
    state = st.session_state.get(key) or {}
    if st.button(ctx.t("dossier.save"), key=save_key, type="primary"):
        saved, problems = apply_edits(ctx, account, kind, shown, state, fields)
        if saved == 0 and problems and all(k == "invalid" for k, _ in problems):
            for _, text in problems:
                st.error(text)   # keep the edits so they can be corrected
            return shown
        if saved:
            flash("success", ctx.t("dossier.saved", n=saved))
        for _, text in problems:
            flash("error", text)
        st.session_state.pop(snap_key, None)
        st.session_state[gen_key] = st.session_state.get(gen_key, 0) + 1
        st.rerun()
    _deleted_records(ctx, account, kind, rows)
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
            if not blank(v):
                out[name].setdefault(int(v) if f.kind == "goal" else v, f"#{int(v)}" if f.kind == "goal" else str(v))
    return out


def _deleted_records(ctx: context.Context, account: str, kind: str, rows: pd.DataFrame | None = None) -> None:
    """The kind's deleted records, each to restore; ``rows``: all of them, deleted ones included, if already read."""
    data = dossier.list_records(ctx.store, ctx.user, account, kind, include_deleted=True) if rows is None else rows
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
                st.error(errors.permission_text(exc, ctx.lang))
                return
            st.session_state.pop(f"dz_snap_{kind}_{account}", None)
            flash("success", ctx.t("dossier.restored"))
            st.rerun()
