"""Alias management: raw account names from imports, suggested matches, merge and split with history.

A raw name whose account has no dossier is one the department has not
recognised yet; :func:`kam_core.imports.accounts.suggest_aliases` proposes the
dossier account it probably is. Merging (and splitting back out) goes through
:func:`kam_core.imports.aliases.merge_alias`, which moves the loaded lines, writes the
audit log and bumps the data version so every figure is recomputed.
"""
from __future__ import annotations

import pandas as pd
import streamlit as st

from kam_core import audit, dossier
from kam_core.imports import aliases as import_aliases
from kam_core.imports.accounts import suggest_aliases
from kam_core.locales.formatting import MISSING, format_number
from kam_core.permissions import PermissionDenied, can
from kam_core.ui import context, errors
from kam_core.ui.record_editor import invalid_lines
from kam_core.ui.text import escape_md


@context.cached_by_data_version(max_entries=8)
def _aliases(ctx: context.Context, dossier_version: int) -> tuple[pd.DataFrame, list[str], list]:
    """The aliases, the accounts with a dossier, and the suggested matches of the unknown names.

    Cached by data version (a merge bumps it) and dossier version (a new dossier makes a
    name known): matching every unknown name against every dossier on each rerun was a
    tenth of the server's time on the Dossier page.
    """
    aliases = dossier.list_aliases(ctx.store, ctx.user)
    known = sorted(aliases.loc[aliases["has_dossier"], "account"].unique()) if len(aliases) else []
    unknown = _unknown_with_lines(aliases) if len(aliases) else aliases
    return aliases, known, suggest_aliases(unknown["alias"].tolist(), known) if len(unknown) else []


def _unknown_with_lines(aliases: pd.DataFrame) -> pd.DataFrame:
    """The names without a dossier that still count lines: a name whose imports were all
    undone is no name to recognise (undone demo data left 1,851 of them)."""
    return aliases[~aliases["has_dossier"] & (aliases["lines"] > 0)]


def alias_section(ctx: context.Context) -> None:
    """The alias manager (an expander); shown to those who may manage aliases."""
    if not can(ctx.user, "manage_aliases"):
        return
    with st.expander(ctx.t("alias.title")):
        st.caption(ctx.t("alias.help"))
        aliases, known, pairs = _aliases(ctx, dossier.dossier_version(ctx.store))
        if aliases.empty:
            st.info(ctx.t("alias.none"))
            return
        unknown = _unknown_with_lines(aliases)
        without_lines = int((~aliases["has_dossier"] & (aliases["lines"] == 0)).sum())
        st.markdown(f"**{ctx.t('alias.suggestions')}**")
        if pairs:
            st.dataframe(pd.DataFrame(pairs, columns=[ctx.t("alias.raw"), ctx.t("alias.candidate"), ctx.t("alias.score")]),
                         hide_index=True, width="stretch", placeholder=MISSING)
        else:
            st.caption(ctx.t("alias.no_suggestions"))
        st.markdown(f"**{ctx.t('alias.unknown', n=len(unknown))}**")
        st.dataframe(unknown[["alias", "account", "lines"]].rename(columns={
            "alias": ctx.t("alias.raw"), "account": ctx.t("col.account"), "lines": ctx.t("col.lines")}),
            hide_index=True, width="stretch", height=200, placeholder=MISSING)
        if without_lines:
            st.caption(ctx.t("import_alias.without_lines", n=format_number(without_lines)))

        labels = {r.alias_key: f"{r.alias} → {r.account}" for r in aliases.itertuples()}
        suggested = pairs[0][0] if pairs else None
        keys = list(labels)
        first = next((k for k, a in zip(aliases["alias_key"], aliases["alias"]) if a == suggested), keys[0])
        with st.form("alias_merge"):
            key = st.selectbox(ctx.t("alias.raw"), keys, index=keys.index(first), format_func=labels.get,
                               key="alias_pick")
            targets = sorted(set(aliases["account"]) | set(known))
            default = targets.index(pairs[0][1]) if pairs and pairs[0][1] in targets else 0
            target = st.selectbox(ctx.t("alias.merge_into"), targets, index=default, key="alias_target")
            c1, c2 = st.columns(2)
            merge = c1.form_submit_button(ctx.t("alias.merge"), type="primary")
            split = c2.form_submit_button(ctx.t("alias.split"))
        if merge or split:
            raw = aliases.set_index("alias_key").loc[key, "alias"]
            account = target if merge else raw
            try:
                moved = import_aliases.merge_alias(ctx.store, ctx.user, key, account)
            except PermissionDenied as exc:
                st.error(errors.permission_text(exc, ctx.lang))
            except dossier.NotFound:
                st.error(ctx.t("dossier.not_found"))
            except dossier.ValidationError as exc:
                st.error(" ".join(invalid_lines(exc, "accounts", ctx.lang)))
            else:
                st.session_state.setdefault("dz_flash", []).append(
                    ("success", ctx.t("alias.merged", alias=escape_md(raw), account=escape_md(account), n=moved)))
                st.rerun()
        rows = audit.history(ctx.store.cursor(), table="account_aliases", limit=50)
        if rows:
            st.markdown(f"**{ctx.t('alias.history')}**")
            st.dataframe(pd.DataFrame(rows)[["happened_at", "who", "record_key", "old_value", "new_value"]].rename(columns={
                "happened_at": ctx.t("audit.when"), "who": ctx.t("audit.who"), "record_key": ctx.t("alias.raw"),
                "old_value": ctx.t("audit.old"), "new_value": ctx.t("audit.new")}), hide_index=True, width="stretch", placeholder=MISSING)
