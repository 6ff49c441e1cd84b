"""The Import page's parts: the options form, the report, confirm, and the history with undo."""
from __future__ import annotations

import hashlib
import json

import pandas as pd
import streamlit as st

from kam_core.locales.formatting import format_amount, format_number
from kam_core.locales.labels import LABELS, join_items, label_or
from kam_core.imports import mapping as field_mapping
from kam_core.imports.detect import Limits
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.pipeline import (ACCOUNT_SOURCES, DATE_ORDERS, UNITS, ImportOptions, ImportPlan, commit_import,
                               import_limits, inspect_file, list_imports, prepare_import, undo_import)
from kam_core.permissions import can
from kam_core.ui.context import Context
from kam_core.ui.text import escape_md

AUTO = "auto"


def uploader_key() -> str:
    """The file uploader's key: a new key is the way to empty the widget in the browser too."""
    return f"import_files_{st.session_state.get('import_uploads', 0)}"


def clear_uploader() -> None:
    """After a confirmed import: the loaded file leaves the uploader."""
    st.session_state.pop(uploader_key(), None)
    st.session_state["import_uploads"] = st.session_state.get("import_uploads", 0) + 1


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def rejection_text(ctx: Context, exc: ImportRejected, markdown: bool = True) -> str:
    """The localised headline for a rejection code, then the importer's own explanation.

    A question (``DecisionNeeded``) is put in the page's words instead: the importer's
    own sentence speaks of command-line flags. With ``markdown`` (for st.error and the
    like) the file's own text in it is escaped; a table cell takes it plain.
    """
    esc = escape_md if markdown else str
    if isinstance(exc, DecisionNeeded):
        asked = _decision_text(ctx, exc, esc)
        if asked:
            return asked
    head = label_or(f"import_error.{exc.code}", ctx.lang, "")
    detail = esc(exc.message)
    if exc.params and f"import_error.{exc.code}.detail" in LABELS:
        detail = esc(ctx.t(f"import_error.{exc.code}.detail",
                           **{k: format_number(v) if isinstance(v, int) else v for k, v in exc.params.items()}))
    return f"{head} — {detail}" if head else detail


def _decision_text(ctx: Context, need: DecisionNeeded, esc=escape_md) -> str | None:
    d = need.details or {}
    if need.code == "duplicate_file" and "id" in d:
        return ctx.t("import.duplicate_file", id=d["id"], when=d.get("when", "—"))
    if need.code == "date_order" and need.options:
        orders = " / ".join(ctx.t(f"date_order.{o}") for o in need.options)
        return ctx.t("import.need_date_order", examples=join_items(map(esc, d.get("examples", [])), ctx.lang) or "—", orders=orders)
    if need.code == "totals_mismatch" and "difference" in d:
        return ctx.t("import.totals_mismatch", file_total=format_amount(d["file_total"], "yuan", ctx.lang),
                     lines_total=format_amount(d["lines_total"], "yuan", ctx.lang),
                     difference=format_amount(d["difference"], "yuan", ctx.lang))
    if need.code == "unmapped_required" and need.options:
        names = [" / ".join(ctx.t(f"field.{f}") for f in ("qty", "amount")) if f == "qty or amount"
                 else ctx.t(f"field.{f}") for f in need.options]
        text = ctx.t("import.need_columns", fields=join_items(names, ctx.lang))
        mapped = d.get("mapping", {})
        if "supplier" in need.options:   # the account comes from the supplier, and the file has none
            alt = next((f for f in ("brand", "product") if f in mapped), None)
            if alt:
                source = "brand" if alt == "brand" else "product_prefix"
                text += " " + ctx.t("import.need_columns_alt", field=ctx.t(f"field.{alt}"),
                                    source=ctx.t(f"account_from.{source}"))
        return text
    return None


def options_form(ctx: Context, data: bytes, file_name: str) -> ImportOptions | None:
    """Sheet, header row, kind, account source, unit, date order and the mapping overrides."""
    sha = _sha(data)
    try:
        with st.spinner(ctx.t("import.reading")):
            fmt, sheets = _inspect(data, file_name, import_limits(ctx.settings))
    except ImportRejected as exc:
        st.error(rejection_text(ctx, exc))
        st.caption(ctx.t("import.nothing_written"))
        return None
    visible = [s for s in sheets if s.visible and s.n_rows > 0] or sheets
    c1, c2, c3 = st.columns(3)
    kind = c1.radio(ctx.t("import.kind"), ("sales", "inventory"), horizontal=True,
                    format_func=lambda v: ctx.t(f"import.kind.{v}"), key=f"kind_{sha}")
    sheet_names = [s.name for s in sheets]
    if len(sheets) > 1:
        def describe(name):
            info = sheets[sheet_names.index(name)]
            hidden = f" ({ctx.t('import.sheet_hidden')})" if not info.visible else ""
            return f"{name} · {ctx.t('import.sheet_rows', n=format_number(info.n_rows))}{hidden}"
        picked = c1.multiselect(ctx.t("import.sheets"), sheet_names, default=[visible[0].name],
                                format_func=describe, key=f"sheets_{sha}")
    else:
        picked = sheet_names
    account_from = c2.radio(ctx.t("import.account_from"), ACCOUNT_SOURCES,
                            format_func=lambda v: ctx.t("account_from." + v.replace("-", "_")), key=f"acc_{sha}")
    unit = c2.selectbox(ctx.t("import.unit"), (AUTO,) + tuple(UNITS),
                        format_func=lambda v: ctx.t("import.unit_from_header") if v == AUTO else ctx.t(f"unit.{v}"),
                        key=f"unit_{sha}")
    header_row = c3.number_input(ctx.t("import.header_row"), min_value=0, value=0, step=1,
                                 help=ctx.t("import.header_row_help"), key=f"hdr_{sha}")
    order = c3.selectbox(ctx.t("import.date_order"), (AUTO,) + DATE_ORDERS,
                         format_func=lambda v: ctx.t("import.auto") if v == AUTO else ctx.t(f"date_order.{v}"),
                         key=f"order_{sha}")
    if not picked:
        st.warning(ctx.t("import.pick_sheet"))
        return None
    overrides = st.session_state.setdefault(f"map_{sha}", {})
    return ImportOptions(sheets=list(picked), mapping=dict(overrides), header_row=int(header_row) or None,
                         account_from=account_from, date_order=None if order == AUTO else order,
                         unit=None if unit == AUTO else unit, kind=kind,
                         force=bool(st.session_state.get(f"force_{sha}")))


@st.cache_data(show_spinner=False, max_entries=4)
def _inspect(data: bytes, file_name: str, limits: Limits):
    return inspect_file(data, file_name, limits)


def checked_plan(ctx: Context, data: bytes, file_name: str, opts: ImportOptions) -> ImportPlan:
    """Prepare the import once per file and options; the plan is kept in the session."""
    key = (_sha(data), json.dumps(opts.__dict__, sort_keys=True, default=str), ctx.version)
    cache = st.session_state.setdefault("import_plans", {})
    if key in cache:
        plan = cache[key]
        if isinstance(plan, Exception):
            raise plan
        return plan
    bar = st.progress(0.0, text=ctx.t("import.reading"))
    try:
        plan = prepare_import(ctx.store, data, file_name, opts,
                              progress=lambda f, msg: bar.progress(min(f, 1.0), text=f"{ctx.t('import.reading')} {escape_md(msg)}"))
    except ImportRejected as exc:
        forget_plans()
        st.session_state["import_plans"][key] = exc
        raise
    finally:
        bar.empty()
    forget_plans()
    st.session_state["import_plans"][key] = plan
    return plan


def forget_plans() -> None:
    """Drop the checked plans of this session, freeing their staging engines."""
    for plan in st.session_state.get("import_plans", {}).values():
        if isinstance(plan, ImportPlan):
            plan.close()
    st.session_state["import_plans"] = {}


def _mapping_editor(ctx: Context, sha: str, columns: list[str], current: dict[str, str]) -> None:
    """One select per field; a change is stored as an override and the file is checked again."""
    with st.expander(ctx.t("import.mapping"), expanded=False):
        st.caption(ctx.t("import.mapping_help"))
        overrides = st.session_state.setdefault(f"map_{sha}", {})
        cols = st.columns(4)
        none = "—"
        for i, f in enumerate(field_mapping.FIELDS):
            options = [none] + list(columns)
            value = current.get(f, none)
            choice = cols[i % 4].selectbox(ctx.t(f"field.{f}"), options,
                                           index=options.index(value) if value in options else 0,
                                           key=f"mapsel_{sha}_{f}")
            if choice != value:
                overrides[f] = "" if choice == none else choice
                forget_plans()
                st.rerun()


def show_decision(ctx: Context, need: DecisionNeeded, data: bytes) -> None:
    """The importer needs an answer: say what and how to give it (the form above has the control)."""
    st.warning(rejection_text(ctx, need))
    if need.code == "date_order":
        st.info(ctx.t("import.date_order_help"))
    if need.code == "duplicate_file":
        sha = _sha(data)
        if st.button(ctx.t("import.force"), key=f"force_btn_{sha}"):
            st.session_state[f"force_{sha}"] = True   # this file, for this session: checked again, as new
            forget_plans()
            st.rerun()
    details = need.details or {}
    if details.get("columns"):
        _preview(ctx, details)
        _mapping_editor(ctx, _sha(data), details["columns"], details.get("mapping", {}))
    st.caption(ctx.t("import.nothing_written"))


def _preview(ctx: Context, details: dict) -> None:
    if details.get("preview"):
        st.markdown(f"**{ctx.t('import.preview')}**")
        frame = pd.DataFrame(details["preview"]).astype("string").rename(columns={"row": ctx.t("import.col_row")})
        st.dataframe(frame, hide_index=True, width="stretch")


REASON_KEYS = {"date is missing": "reject.missing_date", "not a valid date": "reject.bad_date",
               "not a number": "reject.bad_number", "amount is missing": "reject.missing_amount",
               "number out of range": "reject.out_of_range",
               "cost (amount − profit) out of range": "reject.derived_out_of_range",
               "profit (amount − cost) out of range": "reject.derived_out_of_range",
               "text longer than 32,767 characters": "reject.text_too_long"}


def reason_text(ctx: Context, reason: str) -> str:
    """A rejection reason in the user's language (the CSV report keeps the English one)."""
    if reason in REASON_KEYS:
        return ctx.t(REASON_KEYS[reason])
    if reason.endswith(" is missing"):
        return ctx.t("reject.missing_account")
    return reason


def show_report(ctx: Context, plan: ImportPlan) -> None:
    """The validation report: what was read, skipped, rejected, and whether the totals reconcile."""
    d = plan.report.data
    st.subheader(ctx.t("import.report"))
    sheet = d["sheets"][0]
    st.caption(" · ".join(x for x in [
        f"{d['format']}", d.get("encoding") or "", f"{ctx.t('import.header_row')}: {sheet['header_row']}",
        f"{ctx.t('import.title_rows')}: {escape_md(sheet['title'])}" if sheet.get("title") else ""] if x))
    _preview(ctx, d)
    _mapping_editor(ctx, plan.sha256[:16], sheet["columns"], plan.mapping)
    c = st.columns(4)
    c[0].metric(ctx.t("import.rows_read"), format_number(d["rows_read"]))
    c[1].metric(ctx.t("import.rows_accepted"), format_number(d["rows_accepted"]))
    c[2].metric(ctx.t("import.rows_skipped"), format_number(d["rows_skipped"]))
    c[3].metric(ctx.t("import.rows_rejected"), format_number(d["rows_rejected"]))
    if d["skipped_by_reason"]:
        st.caption(ctx.t("import.skipped_by_reason") + ": " + ", ".join(
            f"{label_or('skip.' + k, ctx.lang, k)} {v}" for k, v in d["skipped_by_reason"].items()))
    st.write(f"{ctx.t('kpi.sales')}: **{format_amount(d['amount_loaded'], 'yuan', ctx.lang)}** · "
             f"{d['date_min']} … {d['date_max']} · {ctx.t('kpi.n_accounts')}: {d['accounts']}")
    r = d["reconciliation"]
    if r["file_total"] is None:
        st.info(ctx.t("import.no_total_row"))
    else:
        st.success(ctx.t("import.reconciliation_ok", file_total=format_amount(r["file_total"], "yuan", ctx.lang),
                         parsed_total=format_amount(r["lines_total"], "yuan", ctx.lang)))
    if r.get("rejected_amount"):
        # the file's lines add up, but the rejected ones will not be loaded: say how much stays out
        st.warning(ctx.t("import.rejected_amount", amount=format_amount(r["rejected_amount"], "yuan", ctx.lang),
                         loaded=format_amount(d["amount_loaded"], "yuan", ctx.lang)))
    for note in d.get("notes", []):
        params = {k: escape_md(v) for k, v in note.items() if k not in ("code", "text")}
        st.warning(ctx.t(f"import.warn.{note['code']}", **params))
    with st.expander(ctx.t("import.mapping") + ": " + ", ".join(
            f"{ctx.t('field.' + k)}←{escape_md(v)}" for k, v in d["mapping"].items())):
        st.json({"mapping": d["mapping"], "units": d["units"], "account_from": d["account_from"],
                 "date_order": d["date_order"]})
    if plan.report.rejected:
        st.markdown(f"**{ctx.t('import.rejected_rows')}**")
        frame = pd.DataFrame(plan.report.rejected[:1000])
        frame["reason"] = [reason_text(ctx, r) for r in frame["reason"]]
        frame = frame.rename(columns={
            "sheet": ctx.t("import.col_sheet"), "row": ctx.t("import.col_row"), "column": ctx.t("import.col_column"),
            "value": ctx.t("import.col_value"), "reason": ctx.t("import.col_reason")})
        st.dataframe(frame, hide_index=True, width="stretch", height=240)
    st.download_button(ctx.t("import.download_report"), plan.report.to_csv(),
                       file_name=f"import_report_{plan.sha256[:8]}.csv", mime="text/csv", key="import_report_dl")


def confirm_button(ctx: Context, plan: ImportPlan) -> None:
    if st.button(ctx.t("import.confirm"), type="primary", key="import_confirm"):
        bar = st.progress(0.0, text=ctx.t("import.loading"))
        try:
            import_id = commit_import(ctx.store, plan, user=ctx.user,
                                      progress=lambda f, m: bar.progress(min(f, 1.0), text=ctx.t("import.loading")))
        except ImportRejected as exc:
            st.error(rejection_text(ctx, exc))
            return
        finally:
            bar.empty()
        forget_plans()
        st.session_state["import_done"] = ctx.t("import.done", id=import_id,
                                                rows=format_number(plan.report.data["rows_accepted"]))
        clear_uploader()
        _disarm_undo()
        st.rerun()


def history(ctx: Context) -> None:
    """Every import, newest first; undo asks for confirmation first."""
    if msg := st.session_state.pop("import_done", None):
        st.success(msg)
    rows = list_imports(ctx.store)
    if not rows:
        st.caption(ctx.t("import.no_history"))
        return
    frame = pd.DataFrame(rows)
    shown = pd.DataFrame({
        "id": frame["id"],
        ctx.t("import.col_file"): frame["file_name"],
        ctx.t("import.col_imported_at"): frame["imported_at"].str.slice(0, 16).str.replace("T", " ", regex=False),
        ctx.t("import.col_rows_loaded"): frame["rows_loaded"],
        ctx.t("import.col_amount_total"): [format_amount(v, ctx.unit, ctx.lang) for v in frame["amount_total"]],
        ctx.t("import.col_dates"): frame["date_min"].fillna("") + " … " + frame["date_max"].fillna(""),
        ctx.t("import.col_status"): [ctx.t("import.status.active") if s == "loaded" else ctx.t("import.status.undone")
                                     for s in frame["status"]],
    })
    st.dataframe(shown, hide_index=True, width="stretch")
    if not can(ctx.user, "undo_import"):
        return
    loaded = [r["id"] for r in rows if r["status"] == "loaded"]
    if not loaded:
        return
    c1, c2 = st.columns([2, 3])
    # Set through the session state, not left to the widget's default: after an
    # import the browser kept showing the old pick while the page had moved to the newest.
    if st.session_state.get("undo_pick") not in loaded:
        st.session_state["undo_pick"] = loaded[0]
    pick = c1.selectbox(ctx.t("import.undo"), loaded, key="undo_pick",
                        format_func=lambda i: f"#{i} {next(r['file_name'] for r in rows if r['id'] == i)}")
    sure = c2.checkbox(ctx.t("import.undo_confirm", id=pick), key="undo_sure")
    if c2.button(ctx.t("import.undo"), disabled=not sure, key="undo_go"):
        n = undo_import(ctx.store, int(pick), user=ctx.user)
        st.session_state["import_done"] = ctx.t("import.undone", id=pick, rows=format_number(n))
        forget_plans()
        _disarm_undo()
        st.rerun()


def _disarm_undo() -> None:
    """After an import or an undo: untick the confirmation (the next undo must be confirmed
    again) and let the picker start at the newest import again."""
    st.session_state.pop("undo_sure", None)
    st.session_state.pop("undo_pick", None)
