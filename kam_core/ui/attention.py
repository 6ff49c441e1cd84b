"""需要关注 · Needs attention on the Overview (the view's accounts) and at the top of a dossier (one account)."""
from __future__ import annotations

import datetime as dt

import pandas as pd
import streamlit as st

from kam_core import attention as rules
from kam_core.ui import clickthrough, context, tables
from kam_core.locales.formatting import MISSING


def attention_section(ctx: context.Context, today: dt.date | None = None) -> None:
    """The Overview's list: one row per item (account, reason, figure, a link); a row opens its dossier."""
    today = today or dt.date.today()
    items = context.attention(ctx, today)
    st.subheader(ctx.t("attention.title"))
    st.caption(" ".join([ctx.t("attention.scope_mine" if ctx.mine is not None else "attention.scope_all"),
                         ctx.t("attention.scope_note", year=ctx.year, today=today.isoformat())]))
    if not items:
        st.success(ctx.t("attention.none"))
        return
    frame = rules.attention_frame(items, ctx.lang, ctx.unit)
    shown, config = _view(ctx, frame, link=True)
    st.caption(ctx.t("attention.count", n=len(frame)))
    clickthrough.table(shown, "ov_attention", list(frame["account"]), column_config=config,
                       height=min(420, 38 + 35 * len(frame)))


def dossier_attention(ctx: context.Context, account: str, today: dt.date | None = None) -> None:
    """At the top of a dossier: the account's items (nothing when there are none)."""
    today = today or dt.date.today()
    items = context.attention(ctx, today, accounts=(account,))
    if not items:
        return
    frame = rules.attention_frame(items, ctx.lang, ctx.unit)
    shown, config = _view(ctx, frame.drop(columns=["account"]), link=False)
    st.markdown(f"**⚠️ {ctx.t('attention.title')}** · {ctx.t('attention.count', n=len(frame))}")
    st.dataframe(shown, column_config=config, hide_index=True, width="stretch", key=f"dz_attention_{account}", placeholder=MISSING)


def _view(ctx: context.Context, frame: pd.DataFrame, link: bool) -> tuple[pd.DataFrame, dict]:
    shown = frame[[c for c in ("account", "reason", "figure") if c in frame.columns]].copy()
    # wide enough for the sentences (the table scrolls sideways rather than cutting them)
    config = {"account": st.column_config.TextColumn(ctx.t("col.account"), width=tables.fit_width(
                  ctx.t("col.account"), [str(a) for a in shown["account"]]) if "account" in shown.columns else None),
              "reason": st.column_config.TextColumn(ctx.t("attention.col.reason"), width=_sentence_width(
                  ctx.t("attention.col.reason"), shown["reason"])),
              "figure": st.column_config.TextColumn(ctx.t("attention.col.figure"), width=_sentence_width(
                  ctx.t("attention.col.figure"), shown["figure"]))}
    if link:
        shown["dossier"] = [tables.dossier_link(a, context.url_params()) for a in frame["account"]]
        config["dossier"] = st.column_config.LinkColumn(ctx.t("col.dossier"), display_text=ctx.t("col.dossier"))
    return shown, config


def _sentence_width(label: str, cells: pd.Series) -> int:
    return max(400, min(720, max([tables.text_px(label), *(tables.text_px(c) for c in cells)]) + 24))
