"""The Import page's parts: the options form, the report, confirm, and the history with undo."""
from __future__ import annotations

import csv
import hashlib
import io
import json

import pandas as pd
import streamlit as st

from kam_core.locales.formatting import MISSING, format_amount, format_number
from kam_core.locales.labels import LABELS, join_items, label_or, placeholders
from kam_core.imports import mapping as field_mapping
from kam_core.imports.detect import Limits
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.imports.pipeline import (ACCOUNT_SOURCES, DATE_ORDERS, UNITS, ImportOptions, ImportPlan, commit_import,
                               ValidationReport, import_limits, inspect_file, list_imports, prepare_import,
                               undo_import)
from kam_core.safe_text import safe_text
from kam_core.demo import DEMO_FILE_NAME
from kam_core.permissions import can
from kam_core.ui.context import Context
from kam_core.ui.tables import styled
from kam_core.ui.text import escape_md

AUTO = "auto"


def uploader_key() -> str:
    """The file uploader's key: a new key is the way to empty the widget in the browser too."""
    return f"import_files_{st.session_state.get('import_uploads', 0)}"


def clear_uploader() -> None:
    """After a confirmed import: the loaded file leaves the uploader."""
    st.session_state.pop(uploader_key(), None)
    st.session_state["import_uploads"] = st.session_state.get("import_uploads", 0) + 1


# Streamlit's dropzone writes its own English ("Upload", "200MB per file", "Drag and drop files
# here") and st.file_uploader has no parameter for them (streamlit 1.67). The rule below hides
# those texts (visibility: hidden also keeps them out of the text a reader or screen reader
# gets) and draws the catalogue's words in their place; the button stays the same button
# (focusable, Enter or Space opens the file picker, its accessible name is our word).
_DROPZONE_CSS = """<style>
{scope} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"] > p {{ display: none; }}
{scope} [data-testid="stFileUploaderDropzone"] button [data-testid="stMarkdownContainer"]::after {{ content: {browse}; }}
{scope} [data-testid="stFileUploaderDropzoneInstructions"] span,
{scope} [data-testid="stFileUploaderDropzone"] > div:not([data-testid]) > span {{
  visibility: hidden; font-size: 0; white-space: normal; }}
{scope} [data-testid="stFileUploaderDropzoneInstructions"] span::after {{
  content: {hint}; visibility: visible; font-size: 0.875rem; }}
{scope} [data-testid="stFileUploaderDropzone"] > div:not([data-testid]) > span::after {{
  content: {drop}; visibility: visible; font-size: 0.875rem; }}
</style>"""


def css_string(text: str) -> str:
    """A text as a CSS string literal (quotes, backslashes, line ends and '<' escaped)."""
    out = text.replace("\\", "\\\\").replace('"', '\\"').replace("\n", "\\a ").replace("<", "\\3c ")
    return f'"{out}"'


def dropzone_style(ctx: Context, limit_mb: int, key: str) -> str:
    """The style that makes the uploader ``key``'s dropzone speak the page's language."""
    return _DROPZONE_CSS.format(
        scope=f".st-key-{key}", browse=css_string(ctx.t("upload.browse")),
        hint=css_string(ctx.t("upload.hint", mb=format_number(limit_mb, lang=ctx.lang))),
        drop=css_string(ctx.t("upload.drop")))


def dropzone_words(ctx: Context, limit_mb: int) -> None:
    """Before the uploader: its dropzone's button and instructions in the catalogue's words."""
    st.html(dropzone_style(ctx, limit_mb, uploader_key()))


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()[:16]


def rejection_text(ctx: Context, exc: ImportRejected, markdown: bool = True) -> str:
    """The localised headline for a rejection code, then its figures in a localised sentence.

    A question (``DecisionNeeded``) is put in the page's words instead: the importer's
    own sentence speaks of command-line flags. With ``markdown`` (for st.error and the
    like) the file's own text in it is escaped; a table cell takes it plain.
    """
    esc = escape_md if markdown else str
    if isinstance(exc, DecisionNeeded):
        asked = _decision_text(ctx, exc, esc)
        if asked:
            return asked
    head = label_or(f"import_error.{exc.code}", ctx.lang, "") or ctx.t("import_error.other", code=exc.code)
    key = f"import_error.{exc.code}.detail"
    if key not in LABELS or not placeholders(LABELS[key]["zh"]) <= set(exc.params):
        return head           # the importer's own sentence is the command line's
    params = {k: ctx.t(f"field.{v}") if k == "field" else format_number(v) if isinstance(v, int) else esc(str(v))
              for k, v in exc.params.items()}
    return f"{head} — {ctx.t(key, **params)}"


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
                        help=ctx.t("import.unit_from_header_help"), key=f"unit_{sha}")
    # The box shows the header row the importer found (the check stores it, see
    # _show_found_header); that row, or 0, leaves the header to the importer.
    box, found = f"hdr_{sha}", st.session_state.get(f"hdr_found_{sha}")
    reset = st.session_state.pop(f"hdr_reset_{sha}", False)
    if found is not None and (reset or not st.session_state.get(box)):
        st.session_state[box] = found
    header_row = c3.number_input(ctx.t("import.header_row"), min_value=0, step=1, help=ctx.t("import.header_row_help"),
                                 key=box, **({} if box in st.session_state else {"value": 0}))
    order = c3.selectbox(ctx.t("import.date_order"), (AUTO,) + DATE_ORDERS,
                         format_func=lambda v: ctx.t("import.auto") if v == AUTO else ctx.t(f"date_order.{v}"),
                         key=f"order_{sha}")
    if not picked:
        st.warning(ctx.t("import.pick_sheet"))
        return None
    overrides = st.session_state.setdefault(f"map_{sha}", {})
    return ImportOptions(sheets=list(picked), mapping=dict(overrides),
                         header_row=None if int(header_row) in (0, found) else int(header_row),
                         account_from=account_from, date_order=None if order == AUTO else order,
                         unit=None if unit == AUTO else unit, kind=kind,
                         force=bool(st.session_state.get(f"force_{sha}")),
                         keep_apart=list(st.session_state.get(f"apart_{sha}", [])))


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
        # keyed by the columns too: the selects of another header row (other columns) must not carry over
        layout = field_mapping.header_signature(columns)[:8]
        for i, f in enumerate(field_mapping.FIELDS):
            options = [none] + list(columns)
            value = current.get(f, none)
            choice = cols[i % 4].selectbox(ctx.t(f"field.{f}"), options,
                                           index=options.index(value) if value in options else 0,
                                           key=f"mapsel_{sha}_{layout}_{f}")
            if choice != value:
                overrides[f] = "" if choice == none else choice
                forget_plans()
                st.rerun()


def _show_found_header(sha: str, options: ImportOptions, sheets: list[dict]) -> None:
    """Keep the header row the importer found for the options form's box, and show it there
    (a rerun: the box is drawn before the file is checked)."""
    if options.header_row is not None or not sheets:
        return
    row, before = int(sheets[0]["header_row"]), st.session_state.get(f"hdr_found_{sha}")
    if before != row:
        st.session_state[f"hdr_found_{sha}"] = row
        if st.session_state.get(f"hdr_{sha}") in (None, 0, before):   # the box showed no choice of the user's
            st.session_state[f"hdr_reset_{sha}"] = True
            st.rerun()


def show_decision(ctx: Context, need: DecisionNeeded, data: bytes, options: ImportOptions | None = None) -> None:
    """The importer needs an answer: say what and how to give it (the form above has the control)."""
    if options is not None:
        _show_found_header(_sha(data), options, (need.details or {}).get("sheets") or [])
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
        st.dataframe(frame, hide_index=True, width="stretch", placeholder=MISSING)


def reason_text(ctx: Context, row: dict) -> str:
    """A rejected cell's reason in the user's language, from its code and parameters."""
    code = row.get("code")
    if not code:            # a report stored before reasons had codes
        return str(row.get("reason") or "")
    key = f"reject.{code}"
    params = {k: ctx.t(f"field.{v}") if k in ("field", "given") else v for k, v in (row.get("params") or {}).items()}
    return ctx.t(key, **{k: v for k, v in params.items() if k in placeholders(LABELS[key]["zh"])})


def skip_text(ctx: Context, counts: dict[str, int]) -> str:
    """Lines skipped, by reason: ``空行 1、合计行 2``."""
    return join_items([f"{ctx.t(f'import_skip.{k}')} {format_number(v)}" for k, v in counts.items()], ctx.lang)


def rejected_text(ctx: Context, counts: dict[str, int]) -> str:
    """Lines rejected, by reason code: ``日期无法识别 3``."""
    return join_items([f"{reason_text(ctx, {'code': k})} {format_number(v)}" for k, v in counts.items()], ctx.lang)


def _unit_text(ctx: Context, multiplier: int) -> str:
    name = {v: k for k, v in UNITS.items()}.get(int(multiplier))
    return ctx.t(f"unit.{name}") if name else f"× {format_number(multiplier)}"


def note_text(ctx: Context, note: dict, esc=escape_md) -> str:
    """One of the report's notes (a code and its figures) in the user's language."""
    params = {k: esc(v) if isinstance(v, str) else format_number(v) if isinstance(v, int) else v
              for k, v in note.items() if k not in ("code", "text")}
    return ctx.t(f"import.warn.{note['code']}", **params)


def choices(ctx: Context, d: dict) -> list[tuple[str, str]]:
    """How the file was read, as (label, words): the mapping, each money column's unit,
    where the account comes from, and the date order."""
    return [
        (ctx.t("import.mapping"), join_items([f"{ctx.t(f'field.{f}')} ← {h}" for f, h in d["mapping"].items()], ctx.lang)),
        (ctx.t("import.unit"), join_items([f"{ctx.t(f'field.{f}')}: {_unit_text(ctx, m)}" for f, m in d["units"].items()],
                                          ctx.lang) or "—"),
        (ctx.t("import.account_from"), ctx.t("account_from." + d["account_from"].replace("-", "_"))),
        (ctx.t("import_report.date_order"), ctx.t(f"date_order.{d['date_order']}")),
    ]


def report_csv(ctx: Context, report: ValidationReport) -> bytes:
    """The validation report to download, in the user's language: a summary, then every rejected cell.

    UTF-8 with a BOM so that Excel opens it; the file's own text is made formula-safe.
    """
    d = report.data
    money = lambda v: format_number(v, 2)  # noqa: E731 - yuan, as the file gave them
    summary: list[tuple[str, str]] = [
        (ctx.t("import_report.file"), d["file_name"]),
        (ctx.t("import_report.format"), " · ".join(x for x in (d["format"], d.get("encoding")) if x)),
    ]
    for sheet in d["sheets"]:
        summary.append((ctx.t("import.sheet"), ctx.t("import_report.sheet", name=sheet["name"],
                                                         row=format_number(sheet["header_row"]))))
        if sheet.get("title"):
            summary.append((ctx.t("import.title_rows"), sheet["title"]))
    summary += choices(ctx, d) + [
        (ctx.t("import.rows_read"), format_number(d["rows_read"])),
        (ctx.t("import.rows_accepted"), format_number(d["rows_accepted"])),
        (ctx.t("import.rows_skipped"), format_number(d["rows_skipped"])),
        (ctx.t("import.rows_rejected"), format_number(d["rows_rejected"])),
    ]
    if d["skipped_by_reason"]:
        summary.append((ctx.t("import.skipped_by_reason"), skip_text(ctx, d["skipped_by_reason"])))
    if d.get("rejected_by_code"):
        summary.append((ctx.t("import.rejected_by_reason"), rejected_text(ctx, d["rejected_by_code"])))
    summary += [
        (ctx.t("import_report.dates"), f"{d['date_min'] or '—'} … {d['date_max'] or '—'}"),
        (ctx.t("import_report.amount_loaded"), money(d["amount_loaded"])),
    ]
    r = d["reconciliation"]
    summary.append((ctx.t("import_report.reconciliation"),
                    ctx.t("import.no_total_row") if r["file_total"] is None else
                    ctx.t("import.reconciliation_ok", file_total=money(r["file_total"]), parsed_total=money(r["lines_total"]))))
    if r.get("rejected_amount"):
        summary.append(("", ctx.t("import.rejected_amount", amount=money(r["rejected_amount"]),
                                  loaded=money(d["amount_loaded"]))))
    for note in d.get("notes", []):
        summary.append((ctx.t("import_report.note"), note_text(ctx, note, esc=str)))
    buf = io.StringIO()
    w = csv.writer(buf)
    for label, value in summary:
        w.writerow([label, safe_text(value)])
    w.writerow([])
    w.writerow([ctx.t(f"import.col_{c}") for c in ("sheet", "row", "column", "value", "reason")])
    for row in report.rejected:
        w.writerow([safe_text(row["sheet"]), format_number(row["row"]), safe_text(row["column"]),
                    safe_text(row["value"]) if row["value"] is not None else "", reason_text(ctx, row)])
    return ("\ufeff" + buf.getvalue()).encode("utf-8")


def show_report(ctx: Context, plan: ImportPlan) -> None:
    """The validation report: what was read, skipped, rejected, and whether the totals reconcile."""
    d = plan.report.data
    _show_found_header(plan.sha256[:16], plan.options, d["sheets"])
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
        st.caption(ctx.t("import.skipped_by_reason") + ": " + skip_text(ctx, d["skipped_by_reason"]))
    st.write(f"{ctx.t('kpi.sales')}: **{format_amount(d['amount_loaded'], 'yuan', ctx.lang)}** · "
             f"{d['date_min']} … {d['date_max']} · {ctx.t('kpi.n_accounts')}: {format_number(d['accounts'])}")
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
        st.warning(note_text(ctx, note))
    _keep_apart(ctx, plan)
    with st.expander(ctx.t("import.mapping") + ": " + ", ".join(
            f"{ctx.t('field.' + k)}←{escape_md(v)}" for k, v in d["mapping"].items())):
        for label, value in choices(ctx, d):
            st.markdown(f"{label}: {escape_md(value)}")
    if plan.report.rejected:
        st.markdown(f"**{ctx.t('import.rejected_rows')}**")
        shown = plan.report.rejected[:1000]
        frame = pd.DataFrame({
            ctx.t("import.col_sheet"): [r["sheet"] for r in shown],
            ctx.t("import.col_row"): [r["row"] for r in shown],
            ctx.t("import.col_column"): [r["column"] for r in shown],
            ctx.t("import.col_value"): pd.Series([r["value"] for r in shown], dtype="string"),
            ctx.t("import.col_reason"): [reason_text(ctx, r) for r in shown]})
        st.dataframe(frame, hide_index=True, width="stretch", height=240, placeholder=MISSING)
    st.download_button(ctx.t("import.download_report"), report_csv(ctx, plan.report),
                       file_name=f"import_report_{plan.sha256[:8]}.csv", mime="text/csv", key="import_report_dl")


def _keep_apart(ctx: Context, plan: ImportPlan) -> None:
    """The names the suffix rules folded into another account's name, to keep apart if the
    user knows them to be other accounts (the file is checked again)."""
    kept = list(plan.options.keep_apart)
    choices = [raw for raw, _ in plan.report.data.get("folded_names", [])] + [k for k in kept]
    if not choices:
        return
    sha = plan.sha256[:16]
    picked = st.multiselect(ctx.t("import_report.keep_apart"), sorted(set(choices)), default=sorted(set(kept)),
                            help=ctx.t("import_report.keep_apart_help"), key=f"apart_pick_{sha}")
    if sorted(picked) != sorted(kept):
        st.session_state[f"apart_{sha}"] = sorted(picked)
        forget_plans()
        st.rerun()


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
        ctx.t("report.col.id"): frame["id"],
        ctx.t("import.col_file"): [file_label(ctx, f) for f in frame["file_name"]],
        ctx.t("import.col_imported_at"): frame["imported_at"].str.slice(0, 16).str.replace("T", " ", regex=False),
        ctx.t("import.col_rows_loaded"): frame["rows_loaded"],   # grouped when shown (styled below)
        ctx.t("import.col_amount_total"): [format_amount(v, ctx.unit, ctx.lang) for v in frame["amount_total"]],
        ctx.t("import.col_dates"): frame["date_min"].fillna("") + " … " + frame["date_max"].fillna(""),
        ctx.t("import.col_status"): [ctx.t("import.status.active") if s == "loaded" else ctx.t("import.status.undone")
                                     for s in frame["status"]],
    })
    rows_col = ctx.t("import.col_rows_loaded")
    st.dataframe(styled(shown, {rows_col: lambda n: format_number(n, lang=ctx.lang)}), hide_index=True,
                 width="stretch", placeholder=MISSING)
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
    names = {r["id"]: file_label(ctx, r["file_name"]) for r in rows}
    # another pick unticks the box: a confirmation is for the import it names
    pick = c1.selectbox(ctx.t("import.undo"), loaded, key="undo_pick", format_func=lambda i: f"#{i} {names[i]}",
                        on_change=_untick_undo)
    sure = c2.checkbox(ctx.t("import.undo_confirm", id=pick), key="undo_sure")
    if c2.button(ctx.t("import.undo"), disabled=not sure, key="undo_go"):
        n = undo_import(ctx.store, int(pick), user=ctx.user)
        st.session_state["import_done"] = ctx.t("import.undone", id=pick, rows=format_number(n))
        forget_plans()
        _disarm_undo()
        st.rerun()


def file_label(ctx: Context, file_name: str) -> str:
    """An import's file name as shown: the demo data's import is named by a label."""
    return ctx.t("import_report.demo_file") if file_name == DEMO_FILE_NAME else file_name


def _untick_undo() -> None:
    st.session_state.pop("undo_sure", None)


def _disarm_undo() -> None:
    """After an import or an undo: untick the confirmation (the next undo must be confirmed
    again) and let the picker start at the newest import again."""
    st.session_state.pop("undo_sure", None)
    st.session_state.pop("undo_pick", None)
