"""KAM Dashboard: the frame. Page config, sign-in, the shared sidebar, navigation."""
import streamlit as st

from kam_core.i18n import t
from kam_core.views import context

st.set_page_config(page_title="大客户管理看板 · KAM Dashboard", page_icon="📊", layout="wide")

store = context.get_store()
context.ensure_first_start_data(store, st.query_params.get("lang", "zh"))

from kam_core.views import signin  # noqa: E402  (after page config)

user = signin.require_sign_in(store)
ctx = context.prepare(store, user)
signin.sign_out_button(ctx.lang)

from pathlib import Path  # noqa: E402

pages = [
    st.Page("pages/overview.py", title=ctx.t("page.overview"), icon="📊", url_path="overview", default=True),
    st.Page("pages/import.py", title=ctx.t("page.import"), icon="📥", url_path="import"),
    st.Page("pages/rankings.py", title=ctx.t("page.rankings"), icon="🏆", url_path="rankings"),
    st.Page("pages/tiers.py", title=ctx.t("page.tiers"), icon="🎯", url_path="tiers"),
    st.Page("pages/dossier.py", title=ctx.t("page.dossier"), icon="📇", url_path="dossier"),
    st.Page("pages/plans.py", title=ctx.t("page.plans"), icon="🤝", url_path="plans"),
    st.Page("pages/settings.py", title=ctx.t("page.settings"), icon="⚙️", url_path="settings"),
]
# A page joins the navigation once its script exists (dossier and plans arrive with their issue).
here = Path(__file__).parent
st.navigation([p for p in pages if (here / "pages" / f"{p.url_path}.py").exists()]).run()
st.sidebar.caption(t("app.title", ctx.lang))
