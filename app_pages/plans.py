"""Joint marketing plans (policy §5): timeline, budgets by quarter, promotion uplift, exchange checklists."""
import streamlit as st

from kam_core.permissions import PermissionDenied
from kam_core.ui import context, errors, plans_page

ctx = context.current()
st.title(ctx.t("page.plans"))
if ctx.year is None:
    context.empty_state(ctx)
context.mine_note(ctx)
try:
    plans_page.plans_page(ctx)
except PermissionDenied as exc:
    st.error(errors.permission_text(exc, ctx.lang))
