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

The session lives in ``st.session_state`` as a signed token (kam_core.auth)
refreshed on every run; an idle timeout ends it. So that a page reload keeps the
session, the token is also written to a ``kam_session`` cookie by a small script
(Streamlit cannot set cookies from the server) and read back through
``st.context.cookies`` when a new browser session starts. That cookie is
SameSite=Strict, Secure on https, but not HttpOnly (scripts set it); sign-out
deletes it and revokes its token in this server process.
"""
from __future__ import annotations

import json
import os
import threading
from datetime import datetime
from pathlib import Path
from urllib.parse import urlsplit

import streamlit as st

from kam_core import auth
from kam_core.auth import AuthError, PasswordPolicyError, UserError
from kam_core.i18n import LABELS, normalise_lang
from kam_core.permissions import PermissionDenied, User
from kam_core.store import Store

TOKEN_KEY = "kam_session_token"
DESTINATION_KEY = "kam_after_sign_in"
COOKIE_NAME = "kam_session"
LOCAL_USER = User("local", "director")
"""The user every page sees when ``KAM_AUTH=off``."""
# The cookie's last-seen time is rewritten at most this often (each write is a script in the page).
COOKIE_REFRESH_SECONDS = 300

_revoked: set[str] = set()          # tokens signed out in this process (their cookie may linger)
_revoked_lock = threading.Lock()

# Labels live in kam_core.i18n under signin.*; _t gathers them for one language.
_TEXT_KEYS = ("title", "name", "password", "submit", "first_title", "first_help", "repeat", "create", "differ",
              "timeout", "signed_out", "sign_out", "signed_in_as", "oidc_button", "oidc_no_user", "oidc_no_users",
              "disabled")


def _t(lang: str | None) -> dict:
    lang = normalise_lang(lang)
    # raw texts: some carry a {placeholder} filled where they are shown
    text = {k: LABELS[f"signin.{k}"][lang] for k in _TEXT_KEYS}
    text["roles"] = {r: LABELS[f"signin.role.{r}"][lang] for r in ("director", "manager", "viewer")}
    return text


def auth_enabled() -> bool:
    """False only when ``KAM_AUTH`` is ``off`` (or 0/false/no): development and command line use."""
    return os.environ.get("KAM_AUTH", "on").strip().lower() not in {"off", "0", "false", "no"}


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


def idle_timeout_seconds() -> int:
    """``KAM_IDLE_MINUTES`` (default 30) in seconds."""
    try:
        minutes = float(os.environ.get("KAM_IDLE_MINUTES", "30"))
    except ValueError:
        minutes = 30
    return max(60, int(minutes * 60))


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


def _secret(store: Store) -> bytes:
    folder = Path(store.path).parent if str(store.path) != ":memory:" else None
    return auth.session_secret(folder / ".session_secret" if folder else None)


def _now() -> datetime:
    return auth.utcnow()


def _cookie_token() -> str | None:
    try:
        value = st.context.cookies.get(COOKIE_NAME)
    except Exception:  # no browser context (bare script, some test runners)
        return None
    return value or None


def _queue_cookie(token: str | None) -> None:
    """Write (or, with None, delete) the session cookie in this run's page output."""
    st.session_state["_kam_cookie_op"] = ("set", token) if token else ("delete", None)


def _emit_cookie_script() -> None:
    op = st.session_state.pop("_kam_cookie_op", None)
    if op is None:
        return
    kind, token = op
    if kind == "set":
        value = f"{COOKIE_NAME}={token}; path=/; SameSite=Strict; max-age={auth.MAX_SESSION_SECONDS}"
        st.session_state["_kam_cookie_at"] = _now()
    else:
        value = f"{COOKIE_NAME}=; path=/; SameSite=Strict; max-age=0"
    # json.dumps quotes the value for JavaScript; the token alphabet is [A-Za-z0-9_.-] anyway.
    script = ("<script>(function(){var c=" + json.dumps(value) + ";"
              "if(location.protocol==='https:'){c+='; Secure';}"
              "try{(window.parent||window).document.cookie=c;}catch(e){document.cookie=c;}})();</script>")
    try:
        st.sidebar.html(script, unsafe_allow_javascript=True)
    except Exception:  # cookie persistence is a comfort; the session_state session still works
        pass


def _is_revoked(token: str) -> bool:
    with _revoked_lock:
        return token in _revoked


def _start_session(store: Store, user: User) -> None:
    token = auth.issue_session_token(user, _secret(store), _now())
    st.session_state[TOKEN_KEY] = token
    st.session_state.pop("_kam_notice", None)
    _queue_cookie(token)


def current_user(store: Store) -> User | None:
    """The signed-in user for this browser session, or None. Refreshes the idle clock."""
    if not auth_enabled():
        return _local_user()
    configured, _ = _oidc_provider()
    if configured:
        return _current_oidc_user(store)
    now, secret = _now(), _secret(store)
    token = st.session_state.get(TOKEN_KEY)
    from_cookie = False
    if not token:
        token = _cookie_token()
        from_cookie = token is not None
        if from_cookie and _is_revoked(token):
            token = None
    if not token:
        return None
    refreshed = auth.refresh_session_token(token, secret, now, idle_timeout_seconds(), store=store)
    if refreshed is None:
        st.session_state.pop(TOKEN_KEY, None)
        if not from_cookie:
            st.session_state["_kam_notice"] = "timeout"
        _queue_cookie(None)
        return None
    st.session_state[TOKEN_KEY] = refreshed
    written = st.session_state.get("_kam_cookie_at")
    if from_cookie or written is None or (now - written).total_seconds() > COOKIE_REFRESH_SECONDS:
        _queue_cookie(refreshed)
    return auth.verify_session_token(refreshed, secret, now, idle_timeout_seconds(), store=store)


def _current_oidc_user(store: Store) -> User | None:
    if not getattr(st.user, "is_logged_in", False):
        return None
    email = st.user.get("email")
    if st.user.get("email_verified") is False:
        return None
    user = auth.user_by_email(store, email) if email else None
    if user is None:
        return None
    now = _now()
    last = st.session_state.get("_kam_oidc_seen")
    if last is not None and (now - last).total_seconds() > idle_timeout_seconds():
        st.session_state.pop("_kam_oidc_seen", None)
        st.session_state["_kam_notice"] = "timeout"
        auth.record_sign_out(store, user, "idle_timeout")
        st.logout()
        return None
    if last is None:
        auth.record_sign_in(store, user, "oidc")
    st.session_state["_kam_oidc_seen"] = now
    return user


def require_sign_in(store: Store, lang: str | None = None) -> User:
    """The signed-in user; otherwise renders the sign-in (or create-administrator) form and stops
    the script, so nothing after this call runs without a session."""
    st.session_state["_kam_store"] = store
    user = current_user(store)
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
    it once they are signed in (:func:`kam_core.views.saved.after_sign_in`); the link's query stays in the URL."""
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
        except (PasswordPolicyError, UserError, PermissionDenied, AuthError) as exc:
            st.error(str(exc))
            return
        _start_session(store, user)
        st.rerun()


def _oidc_form(store: Store, text: dict, provider: str | None) -> None:
    st.title(text["title"])
    if getattr(st.user, "is_logged_in", False):
        if not auth.has_users(store):
            st.warning(text["oidc_no_users"])
        else:
            st.warning(text["oidc_no_user"].format(email=st.user.get("email") or "?"))
        if st.button(text["sign_out"]):
            st.logout()
        return
    if st.button(text["oidc_button"], type="primary"):
        st.login(provider) if provider else st.login()


def sign_out(store: Store | None = None) -> None:
    """End the session: audit it, revoke the token in this process and delete the cookie."""
    store = store or st.session_state.get("_kam_store")
    token = st.session_state.pop(TOKEN_KEY, None)
    cookie = _cookie_token()
    with _revoked_lock:
        _revoked.update(t for t in (token, cookie) if t)
    user = None
    if store is not None and token:
        user = auth.verify_session_token(token, _secret(store), _now(), idle_timeout_seconds(), store=store)
    if store is not None and user is not None:
        auth.record_sign_out(store, user)
    st.session_state.pop("_kam_cookie_at", None)
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
    user = None
    if configured:
        user = _current_oidc_user(store) if store is not None else None
    elif st.session_state.get(TOKEN_KEY) and store is not None:
        user = auth.verify_session_token(st.session_state[TOKEN_KEY], _secret(store), _now(),
                                         idle_timeout_seconds(), store=store)
    if user is not None:
        st.sidebar.caption(f"{text['signed_in_as']}: **{user.name}** · {text['roles'].get(user.role, user.role)}")
    if configured:
        if st.sidebar.button(text["sign_out"], key="kam_sign_out"):
            if user is not None and store is not None:
                auth.record_sign_out(store, user, "oidc")
            st.session_state.pop("_kam_oidc_seen", None)
            st.logout()
    else:
        st.sidebar.button(text["sign_out"], key="kam_sign_out", on_click=sign_out, args=(store,))
