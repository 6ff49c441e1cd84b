"""The dossier's downloads: the data-sharing pack and the dossier export, built on click and kept for this session."""
from __future__ import annotations

from typing import Any

import streamlit as st

from kam_core import dossier
from kam_core.exports import reports
from kam_core.permissions import PermissionDenied, can
from kam_core.ui import context, errors

EXPANDER_KEY = "dz_exports"
XLSX_MIME = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"


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
        st.error(errors.permission_text(exc, ctx.lang))
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
               lambda: reports.build_share_pack(ctx.store, account, int(ctx.year), user=ctx.user, lang=ctx.lang))
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
    # Stateful (a key, and a rerun on opening): it stays open through the rerun of 生成, so the download shows.
    with st.expander(ctx.t("dossier.exports"), key=EXPANDER_KEY, on_change="rerun"):
        c1, c2 = st.columns(2)
        with c1:
            if ctx.year is not None:
                share_pack_box(ctx, account)
        with c2:
            if acct is not None:
                dossier_export_box(ctx, account, acct)
