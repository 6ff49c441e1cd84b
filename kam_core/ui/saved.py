"""The sidebar's saved views: save this page with its filters and year, reopen one, copy its link.

Opening a view sets the sidebar's widgets in a callback (before they are
drawn, so their remembered state does not win over the view) and then
switches page with the view's query parameters. A link opened in a new
browser session needs none of that: the frame reads the URL.
"""
from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

import streamlit as st

from kam_core import saved_views
from kam_core.saved_views import InvalidView, SavedView
from kam_core.ui import context
from kam_core.ui.text import escape_md
from kam_core.ui.signin import DESTINATION_KEY

_PENDING = "kam_view_go"


def base_url(page: str) -> str:
    """The app's address as the browser sees it (``http://host:port[/prefix]``), or ``.`` when unknown."""
    try:
        url = st.context.url
    except Exception:  # noqa: BLE001 - no browser context (bare runs, some test runners)
        url = None
    if not url:
        return "."
    parts = urlsplit(url)
    path = parts.path.rstrip("/")
    if page and path.endswith("/" + page):
        path = path[: -len(page) - 1]
    return f"{parts.scheme}://{parts.netloc}{path}"


def _open(view: SavedView, ctx: context.Context) -> None:
    """Callback: put the view's year, filters and switch into the sidebar's widgets, then ask for the page."""
    p = view.params
    if "year" in p:
        try:
            year = int(p["year"])
        except ValueError:
            year = None
        if year in ctx.years:
            st.session_state["kam_year"] = year
    for name, options_key in (("region", "regions"), ("category", "categories"), ("store", "stores")):
        values = p.get(name, [])
        values = values if isinstance(values, list) else [values]
        st.session_state[f"kam_{name}"] = [v for v in values if v in ctx.options.get(options_key, [])]
    if "mine" in p:
        st.session_state["kam_mine"] = p["mine"] == "1"
    else:
        st.session_state.pop("kam_mine", None)   # the reader's own default
    st.session_state["kam_url"] = {k: (v if isinstance(v, list) else [v]) for k, v in p.items()}
    st.session_state[_PENDING] = view


def _delete(view: SavedView, ctx: context.Context) -> None:
    try:
        saved_views.delete_view(ctx.store, ctx.user, view.id)
    except InvalidView:
        pass   # already gone (another tab): the list below is read afresh


def follow_pending(ctx: context.Context) -> None:
    """Switch to the page of a view opened in this run's callback (before the page runs)."""
    view = st.session_state.pop(_PENDING, None)
    if view is not None:
        st.switch_page(f"app_pages/{view.page}.py", query_params=view.params)


def sidebar(ctx: context.Context, page: str) -> None:
    """The "saved views" expander: name and save the current view; each saved one to open, share or delete."""
    follow_pending(ctx)
    with st.sidebar.expander(ctx.t("views.title")):
        name = st.text_input(ctx.t("views.name"), key="kam_view_name", placeholder=ctx.t("views.name_hint"))
        if st.button(ctx.t("views.save"), key="kam_view_save", disabled=page not in saved_views.PAGES):
            params = context.url_params()
            if page != "dossier":
                params.pop("account", None)      # remembered from a dossier visit, not part of this view
            try:
                view = saved_views.save_view(ctx.store, ctx.user, name, page, params)
            except InvalidView as exc:
                st.error(ctx.t(f"views.error.{exc.code}"))
            else:
                st.success(ctx.t("views.saved", name=escape_md(view.name)))
        views = saved_views.list_views(ctx.store, ctx.user)
        if not views:
            st.caption(ctx.t("views.none"))
        base = base_url(page)
        for view in views:
            c1, c2 = st.columns([4, 1])
            c1.button(escape_md(view.name), key=f"kam_view_open_{view.id}", on_click=_open, args=(view, ctx),
                      help=ctx.t("views.open_help", page=ctx.t(f"page.{view.page}")), width="stretch")
            c2.button("✕", key=f"kam_view_del_{view.id}", on_click=_delete, args=(view, ctx),
                      help=ctx.t("views.delete"))
            st.code(saved_views.view_link(view, base), language=None, wrap_lines=True)
        st.caption(ctx.t("views.share_help"))


def after_sign_in(names: list[str], current: str) -> None:
    """Right after signing in, open the page the visitor's link asked for (with the link's year and filters)."""
    wanted = st.session_state.pop(DESTINATION_KEY, None)
    if wanted and wanted in names and wanted != current:
        st.switch_page(f"app_pages/{wanted}.py", query_params=context.url_params())


def page_name(pages: list[Any], names: list[str], current: Any) -> str:
    """The url path of the page ``st.navigation`` chose (the default page's own name, not "")."""
    for name, p in zip(names, pages):
        if p is current:
            return name
    return getattr(current, "url_path", "") or names[0]
