"""The inbox on the Import page (what waits, what needs a person, with a button to finish it
here) and its folder on the Settings page."""
from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
import streamlit as st

from kam_core.imports import inbox
from kam_core.locales.labels import setting_help
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.settings import SettingsError, save_settings
from kam_core.ui import importer
from kam_core.ui.context import Context, settings_refusal
from kam_core.locales.formatting import MISSING


@dataclass
class InboxFile:
    """A reviewed file handed to the Import page's flow as if it had been uploaded."""

    name: str
    data: bytes

    def getvalue(self) -> bytes:
        return self.data


def reason_text(ctx: Context, item: inbox.ReviewItem) -> str:
    if item.code == "unknown_layout":
        return ctx.t("inbox.reason.unknown_layout")
    exc = DecisionNeeded(item.code, item.message, item.options, item.details, item.params) \
        if item.options or item.details else ImportRejected(item.code, item.message, item.params)
    return importer.rejection_text(ctx, exc, markdown=False)   # shown in a table cell


def review_pick(ctx: Context) -> list[InboxFile] | None:
    """The inbox's state and the files that need a person; the one being finished, as an upload."""
    root = inbox.inbox_dir(ctx.store, ctx.settings)
    if root is None:
        return None
    inbox.settle_reviewed(ctx.store, root)      # finished here (or by a command) since: now in done/
    items = {i.stored_as: i for i in inbox.review_items(root)}
    counts = inbox.state(root)
    line = ctx.t("inbox.state", folder=str(root), **counts)
    if msg := st.session_state.pop("inbox_message", None):
        st.success(msg)
    finishing = st.session_state.get("inbox_finishing")
    if finishing not in items:
        st.session_state.pop("inbox_finishing", None)
        finishing = None
    if not items:            # nothing needs a person: one line
        st.caption(line)
        return None
    st.subheader(ctx.t("inbox.title"))
    st.caption(ctx.t("inbox.help", folder=str(root), seconds=int(inbox.SCAN_SECONDS)))
    st.caption(line)
    st.dataframe(pd.DataFrame({
        ctx.t("inbox.col.received"): [i.received_at for i in items.values()],
        ctx.t("inbox.col.file"): [i.file for i in items.values()],
        ctx.t("inbox.col.reason"): [reason_text(ctx, i) for i in items.values()],
    }), hide_index=True, width="stretch", placeholder=MISSING)
    if finishing is not None:
        item = items[finishing]
        c1, c2 = st.columns([4, 1])
        c1.info(ctx.t("inbox.finishing", file=item.file))
        if c2.button(ctx.t("inbox.cancel"), key="inbox_cancel"):
            st.session_state.pop("inbox_finishing", None)
            st.rerun()
        return [InboxFile(item.file, item.read())]
    pick = st.selectbox(ctx.t("inbox.pick"), list(items), key="inbox_pick",
                        format_func=lambda k: f"{items[k].file} · {items[k].received_at}")
    c1, c2 = st.columns(2)
    if c1.button(ctx.t("inbox.finish"), type="primary", key="inbox_finish"):
        st.session_state["inbox_finishing"] = pick
        st.rerun()
    if c2.button(ctx.t("inbox.dismiss"), key="inbox_dismiss"):
        inbox.dismiss(ctx.store, root, pick, ctx.user)
        st.session_state["inbox_message"] = ctx.t("inbox.dismissed", file=items[pick].file)
        st.rerun()
    st.divider()
    return None


def folder_setting(ctx: Context) -> None:
    """The inbox folder, on the Settings page (directors)."""
    st.markdown(f"**{ctx.t('inbox.folder_title')}**")
    root = inbox.inbox_dir(ctx.store, ctx.settings)
    st.caption(ctx.t("inbox.folder_now", folder=str(root)) if root else ctx.t("inbox.off"))
    with st.form("inbox_folder_form"):
        value = st.text_input(ctx.t("setting.inbox_dir"), value=ctx.settings["inbox_dir"],
                              help=setting_help("inbox_dir", ctx.lang))
        submitted = st.form_submit_button(ctx.t("inbox.save"))
    if submitted and value.strip() != ctx.settings["inbox_dir"]:
        try:
            save_settings(ctx.store, {"inbox_dir": value.strip()}, user=ctx.user)
        except SettingsError as exc:
            st.error(settings_refusal(ctx, exc))
        else:
            st.session_state["schedule_message"] = ("ok", ctx.t("settings.saved"))
            st.rerun()
