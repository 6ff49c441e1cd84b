"""The dashboard's own HTTP side: the session cookie route and the guard on downloads.

``app.py`` mounts these through ``st.App`` (Streamlit's ASGI application), the
way Streamlit's own ``st.login`` sets its identity cookie: a script run cannot
send HTTP headers, an HTTP route can.

* ``POST {base}/kam/session`` with a one-time handoff code as its body (see
  :func:`kam_core.auth.start_session`) answers with
  ``Set-Cookie: kam_session=<token>; HttpOnly; SameSite=Strict; Path=…; Max-Age=…``
  (``Secure`` when the request came over HTTPS). Page scripts never see the token.
* ``DELETE {base}/kam/session`` ends the session the cookie names and deletes it.
* ``{base}/media/…`` (Streamlit's download and media URLs) answers only a request
  whose cookie names an open session, and only the session of a browser tab that
  was shown the file: another signed-in user holding the URL gets nothing, and
  after a sign-out a download link is dead.

Both routes refuse a request whose ``Origin`` is not this server, so another
site cannot plant or remove the cookie.
"""
from __future__ import annotations

import hashlib
import threading
from typing import Any, Callable
from urllib.parse import urlsplit

from kam_core import auth
from kam_core.store import Store

COOKIE_NAME = "kam_session"
SESSION_PATH = "kam/session"
MEDIA_PATH = "media/"

_mounted = False


def mounted() -> bool:
    """True in a process whose server has these routes (started through ``app.py``)."""
    return _mounted


def base_path() -> str:
    """``server.baseUrlPath`` as ``/`` or ``/prefix`` (no trailing slash unless it is the root)."""
    from streamlit import config

    base = (config.get_option("server.baseUrlPath") or "").strip("/")
    return "/" + base if base else "/"


def url(path: str) -> str:
    """The server path of one of this module's routes, e.g. ``/kam/session``."""
    base = base_path()
    return (base if base.endswith("/") else base + "/") + path


def _same_origin(headers: dict[str, str]) -> bool:
    origin = headers.get("origin")
    if not origin:
        return False
    host = headers.get("x-forwarded-host") or headers.get("host") or ""
    return urlsplit(origin).netloc.lower() == host.split(",")[0].strip().lower()


def _is_https(scheme: str) -> bool:
    from streamlit import config

    return scheme == "https" or bool(config.get_option("server.sslCertFile"))


def _cookie_header(token: str | None, secure: bool) -> str:
    if token:
        value = f"{COOKIE_NAME}={token}; Max-Age={auth.MAX_SESSION_SECONDS}"
    else:
        value = f"{COOKIE_NAME}=; Max-Age=0"
    return value + f"; Path={base_path()}; HttpOnly; SameSite=Strict" + ("; Secure" if secure else "")


def _cookie_from(headers: dict[str, str]) -> str | None:
    # Split by hand: http.cookies gives up on the whole header when any other cookie of the
    # host has a character it dislikes, and then an open session would look signed out.
    for part in headers.get("cookie", "").split(";"):
        name, _, value = part.strip().partition("=")
        if name == COOKIE_NAME and value:
            return value.strip('"')
    return None


def session_routes(get_store: Callable[[], Store]) -> list[Any]:
    """The ``/kam/session`` route for ``st.App(routes=…)``; ``get_store`` returns the dashboard's store."""
    from starlette.concurrency import run_in_threadpool
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.routing import Route

    global _mounted
    _mounted = True

    async def session(request: Request) -> Response:
        headers = {k.lower(): v for k, v in request.headers.items()}
        if not _same_origin(headers):
            return Response("cross-origin request refused", status_code=403)
        secure = _is_https(request.url.scheme)
        response = Response(status_code=204, headers={"Cache-Control": "no-store"})
        if request.method == "POST":
            code = (await request.body())[:200].decode("ascii", "replace").strip()
            token = auth.redeem_handoff(code)
            if token is None:
                return Response("no such sign-in", status_code=403, headers={"Cache-Control": "no-store"})
            response.headers.append("Set-Cookie", _cookie_header(token, secure))
            return response
        # DELETE: sign-out (the page's own session has been ended already; this one is the cookie's).
        cookie = _cookie_from(headers)
        if cookie:
            await run_in_threadpool(auth.end_session, get_store(), cookie)
        response.headers.append("Set-Cookie", _cookie_header(None, secure))
        return response

    return [Route(url(SESSION_PATH), session, methods=["POST", "DELETE"])]


# Which sign-in session each browser tab (a Streamlit session) runs under, as a digest of its
# token: the frame records it on every run (bind_tab), the guard reads it.
_tab_tokens: dict[str, str] = {}
_tab_lock = threading.Lock()


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8", "replace")).hexdigest()


def bind_tab(tab_id: str, token: str | None) -> None:
    """Record that the browser tab ``tab_id`` is signed in with ``token`` (None: signed out)."""
    with _tab_lock:
        if token:
            _tab_tokens[tab_id] = _digest(token)
        else:
            _tab_tokens.pop(tab_id, None)


# Which browser tabs were given each media file: Streamlit forgets a tab's files at the start of
# each of its runs and lists them again as the run draws them, so its own list is empty while the
# page reruns (a download click reruns it). This map keeps every tab a file was given for as long
# as Streamlit keeps the file.
_file_tabs: dict[str, set[str]] = {}


def track_media_owners() -> None:
    """Note, for every media file Streamlit adds, the browser tab it was added for (once per process)."""
    from streamlit.runtime import media_file_manager as mfm

    if getattr(mfm.MediaFileManager.add, "_kam_tracked", False):
        return
    plain_add = mfm.MediaFileManager.add

    def add(self: Any, *args: Any, **kwargs: Any) -> str:
        link = plain_add(self, *args, **kwargs)
        tab = mfm._get_session_id()
        with _tab_lock:
            _file_tabs.setdefault(_file_id(link), set()).add(tab)
            if len(_file_tabs) > 1000:   # drop the files Streamlit no longer keeps
                kept = set(getattr(self, "_file_metadata", {}))
                for gone in [f for f in _file_tabs if f not in kept]:
                    del _file_tabs[gone]
        return link

    add._kam_tracked = True  # type: ignore[attr-defined]
    mfm.MediaFileManager.add = add  # type: ignore[method-assign]


def tabs_showing(file_id: str) -> set[str]:
    """The browser tabs (Streamlit sessions) that were given the media file ``file_id``, while
    Streamlit still keeps it."""
    try:
        from streamlit.runtime import Runtime

        manager = Runtime.instance().media_file_mgr
        kept = file_id in dict(getattr(manager, "_file_metadata", {}))
        by_session = dict(getattr(manager, "_files_by_session_and_coord", {}))
    except Exception:  # no runtime
        return set()
    if not kept:
        return set()
    with _tab_lock:
        given = set(_file_tabs.get(file_id, ()))
    return given | {sid for sid, by_coord in by_session.items() if file_id in dict(by_coord).values()}


def _file_id(path: str) -> str:
    """``abc123`` of ``…/media/abc123.csv``."""
    return path.rsplit("/", 1)[-1].split(".", 1)[0]


class MediaGuard:
    """ASGI middleware: Streamlit's ``/media/…`` files only for the browser that was shown them.

    Streamlit serves a download button's bytes from an unguessable-looking but
    unauthenticated URL that outlives the page; this makes every such URL answer
    only a request whose cookie is the sign-in session of a browser tab holding
    the file, while that session is open (404 otherwise, as for a file that does
    not exist).
    """

    def __init__(self, app: Any, get_store: Callable[[], Store]) -> None:
        self.app = app
        self.get_store = get_store

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and auth.auth_enabled() and scope.get("path", "").startswith(url(MEDIA_PATH)):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            token = _cookie_from(headers)
            if not (token and self._shown_to(token, scope["path"]) and await self._open_session(token)):
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b"not found"})
                return
        await self.app(scope, receive, send)

    @staticmethod
    def _shown_to(token: str, path: str) -> bool:
        """Whether a browser tab signed in with ``token`` was shown the file at ``path``."""
        tabs = tabs_showing(_file_id(path))
        with _tab_lock:
            return _digest(token) in {_tab_tokens.get(tab) for tab in tabs}

    async def _open_session(self, token: str | None) -> bool:
        if not token:
            return False
        from starlette.concurrency import run_in_threadpool

        user, _ = await run_in_threadpool(auth.resume_session, self.get_store(), token, None,
                                          auth.idle_timeout_seconds(), touch=False)
        return user is not None


def media_guard(get_store: Callable[[], Store]) -> Any:
    """The :class:`MediaGuard` as a Starlette ``Middleware`` for ``st.App(middleware=…)``."""
    from starlette.middleware import Middleware

    return Middleware(MediaGuard, get_store=get_store)
