"""KAM Dashboard: the frame. Page config, sign-in, the shared sidebar, navigation."""
from pathlib import Path

import streamlit as st

from kam_core.locales.labels import DEFAULT_LANG, t
from kam_core.ui import busy, context, errors, saved

st.set_page_config(page_title=t("app.title", DEFAULT_LANG), page_icon=":material/dashboard:", layout="wide")

# A failure anywhere in the frame or a page is a short message with an error id; the trace goes to the log.
with errors.guard():
    store = busy.store_or_wait()   # another process holding the file: a notice that retries, not a traceback
    lang = context.choose_language(store)   # the sidebar's switch, before anything else speaks
    st.set_page_config(page_title=t("app.title", lang))   # the browser tab in the page's language
    context.ensure_first_start_data(store, lang)

    from kam_core.ui import signin  # noqa: E402  (after page config)

    user = signin.require_sign_in(store, lang)
    ctx = context.prepare(store, user, lang)
    signin.sign_out_button(ctx.lang)

    here = Path(__file__).parent
    PAGES = [  # (script, label key, icon)
        ("overview", "page.overview", ":material/dashboard:"),
        ("import", "page.import", ":material/upload_file:"),
        ("rankings", "page.rankings", ":material/leaderboard:"),
        ("tiers", "page.tiers", ":material/workspace_premium:"),
        ("dossier", "page.dossier", ":material/contact_page:"),
        ("plans", "page.plans", ":material/handshake:"),
        ("settings", "page.settings", ":material/settings:"),
    ]
    names = [name for name, _, _ in PAGES if (here / "app_pages" / f"{name}.py").exists()]
    pages = [st.Page(f"app_pages/{name}.py", title=ctx.t(label), icon=icon, url_path=name, default=(name == "overview"))
             for name, label, icon in PAGES if name in names]
    page = st.navigation(pages)
    here_now = saved.page_name(pages, names, page)
    saved.after_sign_in(names, here_now)   # a link opened before signing in: its page, now
    saved.sidebar(ctx, here_now)           # save this view, reopen or share a saved one
    page.run()
    st.sidebar.caption(t("app.title", ctx.lang))
