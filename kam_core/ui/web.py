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
  whose cookie names an open session of a user whose page was given the file:
  another signed-in user holding the URL gets nothing, and after a sign-out a
  download link is dead.

Both routes refuse a request whose ``Origin`` is not this server, so another
site cannot plant or remove the cookie.
"""
from __future__ import annotations

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


# The user the frame signed in for this browser tab's run (``require_sign_in`` keeps it here).
SIGNED_IN_KEY = "_kam_user"

# Who was given each media file: the users whose pages drew it. Noted when Streamlit adds the
# file, from the run that draws it, and kept for as long as Streamlit keeps the file (Streamlit's
# own list of a tab's files is emptied at the start of each of its runs, and a download click
# reruns the page while the browser fetches the file).
_file_users: dict[str, set[str]] = {}
_lock = threading.Lock()


def _signed_in_name() -> str | None:
    """The name of the user signed in for the script run on this thread, if any."""
    try:
        import streamlit as st

        user = st.session_state.get(SIGNED_IN_KEY)
    except Exception:  # not in a script run
        return None
    return getattr(user, "name", None)


def track_media_owners() -> None:
    """Note, for every media file Streamlit adds, the user it was drawn for (once per process)."""
    from streamlit.runtime import media_file_manager as mfm

    if getattr(mfm.MediaFileManager.add, "_kam_tracked", False):
        return
    plain_add = mfm.MediaFileManager.add

    def add(self: Any, *args: Any, **kwargs: Any) -> str:
        link = plain_add(self, *args, **kwargs)
        name = _signed_in_name()
        if name is not None:
            with _lock:
                _file_users.setdefault(_file_id(link), set()).add(name)
                if len(_file_users) > 1000:   # drop the files Streamlit no longer keeps
                    kept = set(getattr(self, "_file_metadata", {}))
                    for gone in [f for f in _file_users if f not in kept]:
                        del _file_users[gone]
        return link

    add._kam_tracked = True  # type: ignore[attr-defined]
    mfm.MediaFileManager.add = add  # type: ignore[method-assign]


def users_given(file_id: str) -> set[str]:
    """The users whose pages were given the media file ``file_id``, while Streamlit keeps it."""
    try:
        from streamlit.runtime import Runtime

        kept = file_id in dict(getattr(Runtime.instance().media_file_mgr, "_file_metadata", {}))
    except Exception:  # no runtime
        return set()
    if not kept:
        return set()
    with _lock:
        return set(_file_users.get(file_id, ()))


def _file_id(path: str) -> str:
    """``abc123`` of ``…/media/abc123.csv``."""
    return path.rsplit("/", 1)[-1].split(".", 1)[0]


class MediaGuard:
    """ASGI middleware: Streamlit's ``/media/…`` files only for the user who was shown them.

    Streamlit serves a download button's bytes from an unguessable-looking but
    unauthenticated URL that outlives the page; this makes every such URL answer
    only a request whose cookie names an open session of a user whose page was
    given the file (404 otherwise, as for a file that does not exist).
    """

    def __init__(self, app: Any, get_store: Callable[[], Store]) -> None:
        self.app = app
        self.get_store = get_store

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and auth.auth_enabled() and scope.get("path", "").startswith(url(MEDIA_PATH)):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            name = await self._session_user(_cookie_from(headers))
            if name is None or name not in users_given(_file_id(scope["path"])):
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b"not found"})
                return
        await self.app(scope, receive, send)

    async def _session_user(self, token: str | None) -> str | None:
        """The user whose open session ``token`` names, or None."""
        if not token:
            return None
        from starlette.concurrency import run_in_threadpool

        user, _ = await run_in_threadpool(auth.resume_session, self.get_store(), token, None,
                                          auth.idle_timeout_seconds(), touch=False)
        return user.name if user is not None else None


def media_guard(get_store: Callable[[], Store]) -> Any:
    """The :class:`MediaGuard` as a Starlette ``Middleware`` for ``st.App(middleware=…)``."""
    from starlette.middleware import Middleware

    return Middleware(MediaGuard, get_store=get_store)
