"""Sign-in in front of every page: local users, OpenID Connect, or (development only) none.

``dashboard.py`` calls :func:`require_sign_in` before ``st.navigation(...).run()``,
so no page runs without a session; pages read the user with :func:`current_user`
and pass it to kam_core, which checks the rules itself.

Modes, decided per request:

* ``KAM_AUTH=off`` in the environment: no sign-in, everyone is the director
  ``local``. For development and the command line only; never on a shared server.
* OpenID Connect, when ``.streamlit/secrets.toml`` has an ``[auth]`` section:
  ``st.login`` / ``st.user``, matched to a user of the database by e-mail.
* Otherwise local users with passwords. A fresh install without users shows
  "create the administrator" (Metabase/Grafana convention) so the first start
  leads straight into the product.

A session is a row of the store's ``sessions`` table (kam_core.auth), named by a
random token that is rotated at every sign-in. The token is kept in
``st.session_state`` (server memory) and, so that a reload or a new tab keeps the
session, in a ``kam_session`` cookie that is HttpOnly, SameSite=Strict and Secure
on https. A script run cannot send HTTP headers, so the cookie is set the way
``st.login`` sets its own: by an HTTP route of the server (``kam_core/ui/web.py``,
mounted by ``app.py``). The page hands that route a one-time code, never the
token. Sign-out, a disabled user, a changed password and the idle timeout end
the row, so they hold after a restart and an old cookie opens nothing.
"""
from __future__ import annotations

import json
import logging
import os
from datetime import datetime
from urllib.parse import urlsplit

import streamlit as st

from kam_core import auth
from kam_core.auth import AuthError, PasswordPolicyError, UserError
from kam_core.locales.labels import LABELS, normalise_lang, t
from kam_core.permissions import PermissionDenied, User
from kam_core.store import Store
from kam_core.ui import web
from kam_core.ui.errors import permission_text
from kam_core.ui.text import escape_md

TOKEN_KEY = "kam_session_token"
DESTINATION_KEY = "kam_after_sign_in"
COOKIE_NAME = web.COOKIE_NAME
LOCAL_USER = User("local", "director")
"""The user every page sees when ``KAM_AUTH=off``."""

# Labels live in kam_core.locales.labels under signin.*; _t gathers them for one language.
_TEXT_KEYS = ("title", "name", "password", "submit", "first_title", "first_help", "repeat", "create", "differ",
              "timeout", "signed_out", "sign_out", "signed_in_as", "oidc_button", "oidc_no_user", "oidc_no_users",
              "disabled")


def _t(lang: str | None) -> dict:
    lang = normalise_lang(lang)
    # raw texts: some carry a {placeholder} filled where they are shown
    text = {k: LABELS[f"signin.{k}"][lang] for k in _TEXT_KEYS}
    text["roles"] = {r: LABELS[f"signin.role.{r}"][lang] for r in ("director", "manager", "viewer")}
    return text


auth_enabled = auth.auth_enabled
idle_timeout_seconds = auth.idle_timeout_seconds


def _local_user() -> User:
    """The ``KAM_AUTH=off`` user: the director ``local``, or, for tests of other roles,
    ``KAM_AUTH_AS=role`` or ``role:name`` (e.g. ``viewer`` or ``manager:li_kam``).

    Test-only hook: it is read only when sign-in is already off (development),
    so it grants nothing that ``KAM_AUTH=off`` does not.
    """
    spec = os.environ.get("KAM_AUTH_AS", "").strip()
    if not spec:
        return LOCAL_USER
    role, _, name = spec.partition(":")
    return User(name.strip() or f"local_{role.strip()}", role.strip())


def _oidc_provider() -> tuple[bool, str | None]:
    """(configured, provider name for ``st.login``) from ``st.secrets['auth']``."""
    try:
        section = st.secrets.get("auth") if "auth" in st.secrets else None
    except Exception:  # no secrets file at all: Streamlit raises rather than returning empty
        return False, None
    if not section:
        return False, None
    if "client_id" in section:
        return True, None
    named = [k for k, v in section.items() if hasattr(v, "keys") and "client_id" in v]
    return True, (named[0] if named else None)


def _now() -> datetime:
    return auth.utcnow()


def _cookie_token() -> str | None:
    """The ``kam_session`` cookie the browser sent when this browser session connected."""
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser context (bare script, some test runners)
        return None
    return value or None


def _queue_cookie(handoff: str | None) -> None:
    """Set (with the handoff code of a new session) or, with None, delete the cookie in this run's page."""
    st.session_state["_kam_cookie_op"] = handoff


def _emit_cookie_script() -> None:
    """A tiny script in the page that asks the server's cookie route to set or delete the cookie."""
    if "_kam_cookie_op" not in st.session_state:
        return
    handoff = st.session_state.pop("_kam_cookie_op")
    if not web.mounted():   # served without app.py (AppTest, a bare `streamlit run dashboard.py`)
        _warn_not_mounted()
        return
    request = ({"method": "POST", "body": handoff} if handoff else {"method": "DELETE"})
    request.update({"credentials": "same-origin", "headers": {"Content-Type": "text/plain"}})
    # json.dumps quotes both for JavaScript; the code alphabet is [A-Za-z0-9_-] anyway. The script
    # removes itself, and the code is good once, for a minute, and only for setting the cookie.
    script = ("<script>(function(s){fetch(" + json.dumps(web.url(web.SESSION_PATH)) + "," + json.dumps(request)
              + ").catch(function(){});if(s){s.remove();}})(document.currentScript);</script>")
    try:
        st.sidebar.html(script, unsafe_allow_javascript=True)
    except Exception:  # the cookie is a comfort; the session in session_state still works
        pass


_warned = False


def _warn_not_mounted() -> None:
    global _warned
    if not _warned:
        _warned = True
        logging.getLogger("kam_core.dashboard").warning(
            "served without app.py: no session cookie (a reload asks to sign in again) and download links are"
            " not tied to a session; start the dashboard with `streamlit run app.py`")


def _start_session(store: Store, user: User) -> None:
    """A new session with a new token (any token the browser brought is ended), and its cookie."""
    brought = st.session_state.get(TOKEN_KEY) or _cookie_token()
    new = auth.start_session(store, user, _now(), replaces=brought)
    st.session_state[TOKEN_KEY] = new.token
    st.session_state.pop("_kam_notice", None)
    _queue_cookie(new.handoff)


def current_user(store: Store) -> User | None:
    """The signed-in user for this browser session, or None. Moves the session's idle clock."""
    if not auth_enabled():
        return _local_user()
    configured, _ = _oidc_provider()
    if configured:
        return _current_oidc_user(store)
    token = st.session_state.get(TOKEN_KEY)
    from_cookie = not token
    if from_cookie:
        token = _cookie_token()
        # st.context.cookies keeps what the browser sent at connection time: a cookie found dead
        # is not asked about again on every rerun of the sign-in form.
        if not token or token == st.session_state.get("_kam_dead_cookie"):
            return None
    user, reason = auth.resume_session(store, token, _now(), idle_timeout_seconds())
    if user is None:
        st.session_state.pop(TOKEN_KEY, None)
        if reason == "idle_timeout" and not from_cookie:
            st.session_state["_kam_notice"] = "timeout"
        st.session_state["_kam_dead_cookie"] = _cookie_token()
        _queue_cookie(None)   # a dead cookie is deleted
        return None
    st.session_state[TOKEN_KEY] = token
    return user


def _current_oidc_user(store: Store) -> User | None:
    """The database user matching ``st.user``'s e-mail, with a session of our own (for the idle
    timeout, sign-out across restarts and the download guard)."""
    if not getattr(st.user, "is_logged_in", False):
        return None
    email = st.user.get("email")
    if st.user.get("email_verified") is False:
        return None
    user = auth.user_by_email(store, email) if email else None
    if user is None:
        return None
    token = st.session_state.get(TOKEN_KEY)
    if token:
        found, reason = auth.resume_session(store, token, _now(), idle_timeout_seconds())
        if found is not None and found.name == user.name:
            return found
        # This browser session's own session ended (idle, disabled elsewhere …): sign out of the provider too.
        st.session_state.pop(TOKEN_KEY, None)
        if reason == "idle_timeout":
            st.session_state["_kam_notice"] = "timeout"
        st.logout()
        return None
    cookie = _cookie_token()
    if cookie:
        found, _ = auth.resume_session(store, cookie, _now(), idle_timeout_seconds())
        if found is not None and found.name == user.name:
            st.session_state[TOKEN_KEY] = cookie
            return found
    auth.record_sign_in(store, user, "oidc")
    _start_session(store, user)
    return user


def require_sign_in(store: Store, lang: str | None = None) -> User:
    """The signed-in user; otherwise renders the sign-in (or create-administrator) form and stops
    the script, so nothing after this call runs without a session."""
    st.session_state["_kam_store"] = store
    user = current_user(store)
    st.session_state[web.SIGNED_IN_KEY] = user   # also tells the download guard whose page this is
    _emit_cookie_script()
    if user is not None:
        return user
    text = _t(lang)
    _remember_destination()
    notice = st.session_state.pop("_kam_notice", None)
    if notice:
        st.info(text[notice])
    configured, provider = _oidc_provider()
    if configured:
        _oidc_form(store, text, provider)
    elif not auth.has_users(store):
        _first_admin_form(store, text, lang)
    else:
        _sign_in_form(store, text, lang)
    st.stop()
    raise AssertionError("unreachable")  # st.stop() raises; keeps type checkers and tests honest


def _remember_destination() -> None:
    """Keep the page a signed-out visitor's link asked for (the last part of its path), so the frame can open
    it once they are signed in (:func:`kam_core.ui.saved.after_sign_in`); the link's query stays in the URL."""
    try:
        url = st.context.url
    except Exception:  # no browser context (bare runs, some test runners)
        url = None
    if url:
        st.session_state.setdefault(DESTINATION_KEY, urlsplit(url).path.rstrip("/").rsplit("/", 1)[-1])


def _error_text(exc: AuthError, lang: str | None) -> str:
    labels = LABELS.get(f"signin.error.{exc.reason}")
    return labels[normalise_lang(lang)] if labels else str(exc)


def _sign_in_form(store: Store, text: dict, lang: str | None) -> None:
    st.title(text["title"])
    with st.form("kam_sign_in"):
        name = st.text_input(text["name"], key="kam_sign_in_name")
        password = st.text_input(text["password"], type="password", key="kam_sign_in_password")
        submitted = st.form_submit_button(text["submit"], type="primary")
    if submitted:
        try:
            user = auth.authenticate(store, name, password)
        except AuthError as exc:
            st.error(_error_text(exc, lang))
            return
        _start_session(store, user)
        st.rerun()


def _first_admin_form(store: Store, text: dict, lang: str | None) -> None:
    st.title(text["first_title"])
    st.caption(text["first_help"])
    with st.form("kam_first_admin"):
        name = st.text_input(text["name"], key="kam_first_name")
        password = st.text_input(text["password"], type="password", key="kam_first_password")
        repeat = st.text_input(text["repeat"], type="password", key="kam_first_repeat")
        submitted = st.form_submit_button(text["create"], type="primary")
    if submitted:
        if password != repeat:
            st.error(text["differ"])
            return
        try:
            user = auth.create_first_admin(store, name, password)
            auth.authenticate(store, user.name, password)  # audited as a sign-in like any other
        except PermissionDenied as exc:
            st.error(permission_text(exc, lang))
            return
        except (PasswordPolicyError, UserError) as exc:
            st.error(t(f"signin.refused.{exc.code}", normalise_lang(lang), **exc.params) if exc.code != "other"
                     else escape_md(exc))
            return
        except AuthError as exc:
            st.error(_error_text(exc, lang))
            return
        _start_session(store, user)
        st.rerun()


def _oidc_form(store: Store, text: dict, provider: str | None) -> None:
    st.title(text["title"])
    if getattr(st.user, "is_logged_in", False):
        if not auth.has_users(store):
            st.warning(text["oidc_no_users"])
        else:
            st.warning(text["oidc_no_user"].format(email=escape_md(st.user.get("email") or "?")))
        if st.button(text["sign_out"]):
            st.logout()
        return
    if st.button(text["oidc_button"], type="primary"):
        st.login(provider) if provider else st.login()


def sign_out(store: Store | None = None) -> None:
    """End the session (audited, in the store, so it holds after a restart), forget everything this
    browser session kept (built exports included) and delete the cookie."""
    store = store or st.session_state.get("_kam_store")
    token = st.session_state.get(TOKEN_KEY)
    cookie = _cookie_token()
    if store is not None:
        for ended in dict.fromkeys(x for x in (token, cookie) if x):
            auth.end_session(store, ended, "sign_out", _now())
    st.session_state.clear()
    st.session_state["_kam_notice"] = "signed_out"
    _queue_cookie(None)


def sign_out_button(lang: str | None = None, store: Store | None = None) -> None:
    """In the sidebar: who is signed in, their role, and a sign-out button (nothing when
    ``KAM_AUTH=off``)."""
    if not auth_enabled():
        return
    text = _t(lang)
    configured, _ = _oidc_provider()
    store = store or st.session_state.get("_kam_store")
    user = st.session_state.get(web.SIGNED_IN_KEY)   # as require_sign_in found it in this run
    if user is not None:
        st.sidebar.caption(f"{text['signed_in_as']}: **{escape_md(user.name)}** · "
                           f"{text['roles'].get(user.role, user.role)}")
    if configured:
        if st.sidebar.button(text["sign_out"], key="kam_sign_out"):
            sign_out(store)
            st.logout()
    else:
        st.sidebar.button(text["sign_out"], key="kam_sign_out", on_click=sign_out, args=(store,))
