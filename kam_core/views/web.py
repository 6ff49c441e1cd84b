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
  whose cookie names an open session; after a sign-out a download link is dead.

Both routes refuse a request whose ``Origin`` is not this server, so another
site cannot plant or remove the cookie.
"""
from __future__ import annotations

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


class MediaGuard:
    """ASGI middleware: Streamlit's ``/media/…`` files only for a browser with an open session.

    Streamlit serves a download button's bytes from an unguessable-looking but
    unauthenticated URL that outlives the page; this makes every such URL answer
    only while the session that could see it is open (404 otherwise, as for a
    file that does not exist).
    """

    def __init__(self, app: Any, get_store: Callable[[], Store]) -> None:
        self.app = app
        self.get_store = get_store

    async def __call__(self, scope: dict, receive: Any, send: Any) -> None:
        if scope.get("type") == "http" and auth.auth_enabled() and scope.get("path", "").startswith(url(MEDIA_PATH)):
            headers = {k.decode("latin-1").lower(): v.decode("latin-1") for k, v in scope.get("headers", [])}
            if not await self._open_session(_cookie_from(headers)):
                await send({"type": "http.response.start", "status": 404,
                            "headers": [(b"content-type", b"text/plain"), (b"cache-control", b"no-store")]})
                await send({"type": "http.response.body", "body": b"not found"})
                return
        await self.app(scope, receive, send)

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
