"""Dossier: one account's numbers, people, facts, records, plans and history on one page (policy §4)."""
import streamlit as st

from kam_core.permissions import PermissionDenied
from kam_core.ui import aliases, context, dossier_tabs, errors

ctx = context.current()
st.title(ctx.t("page.dossier"))
if ctx.year is None:
    context.empty_state(ctx)
table = context.tier_table(ctx)
context.scope_notes(ctx)
try:
    account = dossier_tabs.pick_account(ctx, table)
    if account is None:
        st.info(ctx.t("dossier.no_match"))
    else:
        dossier_tabs.render_dossier(ctx, account, table)
    dossier_tabs.department_section(ctx)
    aliases.alias_section(ctx)
except PermissionDenied as exc:
    st.error(errors.permission_text(exc, ctx.lang))
