"""The dashboard's HTTP side (kam_core/ui/web.py): the cookie route and the guard on downloads.

Driven as the ASGI app it is, without a server: each test sends one request and
reads the status and headers a browser would get.
"""
from __future__ import annotations

import asyncio

import pytest
from argon2 import PasswordHasher, profiles

from kam_core import auth
from kam_core.permissions import User
from kam_core.store import open_store
from kam_core.ui import web

HOST = "127.0.0.1:8501"


@pytest.fixture
def store(monkeypatch):
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.delenv("KAM_AUTH", raising=False)
    s = open_store(":memory:")
    auth.create_user(s, "li", "manager", "correct horse")
    yield s
    s.close()


@pytest.fixture
def app(store):
    from starlette.applications import Starlette
    from starlette.responses import PlainTextResponse
    from starlette.routing import Route

    async def media(request):
        return PlainTextResponse("the file")

    return Starlette(routes=[*web.session_routes(lambda: store), Route("/media/abc.csv", media)],
                     middleware=[web.media_guard(lambda: store)])


def call(app, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b"",
         scheme: str = "http") -> tuple[int, list[str], bytes]:
    """One request: (status, Set-Cookie headers, body)."""
    headers = {"host": HOST, **(headers or {})}
    scope = {"type": "http", "method": method, "path": path, "raw_path": path.encode(), "query_string": b"",
             "headers": [(k.lower().encode(), v.encode()) for k, v in headers.items()], "scheme": scheme,
             "server": ("127.0.0.1", 8501), "client": ("127.0.0.1", 50000), "root_path": "",
             "http_version": "1.1", "asgi": {"version": "3.0"}}
    sent: list[dict] = []
    delivered = False

    async def receive():
        nonlocal delivered
        if not delivered:
            delivered = True
            return {"type": "http.request", "body": body, "more_body": False}
        return {"type": "http.disconnect"}

    async def send(message):
        sent.append(message)

    asyncio.run(app(scope, receive, send))
    start = sent[0]
    cookies = [v.decode() for k, v in start["headers"] if k == b"set-cookie"]
    return start["status"], cookies, b"".join(m.get("body", b"") for m in sent[1:])


def test_a_handoff_code_from_this_site_sets_an_httponly_strict_cookie_once(app, store):
    new = auth.start_session(store, User("li", "manager"))
    status, cookies, _ = call(app, "POST", "/kam/session", {"origin": f"http://{HOST}"}, new.handoff.encode())
    assert status == 204
    [cookie] = cookies
    parts = [p.strip() for p in cookie.split(";")]
    assert parts[0] == f"kam_session={new.token}"
    assert {"HttpOnly", "SameSite=Strict", "Path=/", f"Max-Age={auth.MAX_SESSION_SECONDS}"} <= set(parts)
    assert "Secure" not in parts                          # plain http: a Secure cookie would be dropped
    again = call(app, "POST", "/kam/session", {"origin": f"http://{HOST}"}, new.handoff.encode())
    assert again[0] == 403 and again[1] == []


def test_over_https_the_cookie_is_also_secure(app, store):
    new = auth.start_session(store, User("li", "manager"))
    status, [cookie], _ = call(app, "POST", "/kam/session", {"origin": f"https://{HOST}"}, new.handoff.encode(),
                               scheme="https")
    assert status == 204 and "Secure" in [p.strip() for p in cookie.split(";")]


@pytest.mark.parametrize("origin", [None, "http://evil.example", f"http://{HOST}.evil.example"])
def test_another_site_can_neither_set_nor_delete_the_cookie(app, store, origin):
    new = auth.start_session(store, User("li", "manager"))
    headers = {"origin": origin} if origin else {}
    assert call(app, "POST", "/kam/session", headers, new.handoff.encode())[:2] == (403, [])
    headers["cookie"] = f"kam_session={new.token}"
    assert call(app, "DELETE", "/kam/session", headers)[:2] == (403, [])
    assert auth.resume_session(store, new.token)[0] == User("li", "manager")
    assert auth.redeem_handoff(new.handoff) == new.token  # the refused requests did not use it up


def test_the_sign_out_request_ends_the_cookies_session_and_deletes_the_cookie(app, store):
    new = auth.start_session(store, User("li", "manager"))
    status, [cookie], _ = call(app, "DELETE", "/kam/session",
                               {"origin": f"http://{HOST}", "cookie": f"other=x; kam_session={new.token}"})
    assert status == 204
    assert cookie.startswith("kam_session=;") and "Max-Age=0" in cookie
    assert auth.resume_session(store, new.token) == (None, "sign_out")


def test_a_download_link_answers_only_a_request_with_an_open_session(app, store, monkeypatch):
    new = auth.start_session(store, User("li", "manager"))
    # the file was drawn on li's page
    monkeypatch.setattr(web, "users_given", lambda file_id: {"li"} if file_id == "abc" else set())
    # A foreign cookie the stdlib parser chokes on must not hide ours.
    with_cookie = {"cookie": f'odd=a"b; kam_session={new.token}'}
    assert call(app, "GET", "/media/abc.csv", with_cookie)[::2] == (200, b"the file")
    assert call(app, "GET", "/media/abc.csv")[::2] == (404, b"not found")
    assert call(app, "GET", "/media/abc.csv", {"cookie": "kam_session=" + "x" * 43})[0] == 404
    auth.end_session(store, new.token)
    assert call(app, "GET", "/media/abc.csv", with_cookie)[0] == 404
    monkeypatch.setenv("KAM_AUTH", "off")                  # development: no sign-in, no guard
    assert call(app, "GET", "/media/abc.csv")[0] == 200


def test_a_download_link_answers_only_the_user_whose_page_was_given_it(app, store, monkeypatch):
    auth.create_user(store, "wang", "manager", "another horse")
    li_first = auth.start_session(store, User("li", "manager"))
    li_second = auth.start_session(store, User("li", "manager"))   # li signed in again in another tab
    wang = auth.start_session(store, User("wang", "manager"))
    monkeypatch.setattr(web, "users_given", lambda file_id: {"li"} if file_id == "abc" else set())
    assert call(app, "GET", "/media/abc.csv", {"cookie": f"kam_session={li_first.token}"})[::2] == (200, b"the file")
    assert call(app, "GET", "/media/abc.csv", {"cookie": f"kam_session={li_second.token}"})[0] == 200
    # wang is signed in, and holds the URL, but his page never showed that file
    assert call(app, "GET", "/media/abc.csv", {"cookie": f"kam_session={wang.token}"})[::2] == (404, b"not found")
    auth.end_session(store, li_first.token)                          # li signs out in the first tab
    assert call(app, "GET", "/media/abc.csv", {"cookie": f"kam_session={li_first.token}"})[0] == 404


def test_the_user_a_file_was_drawn_for_is_kept_while_the_page_reruns_and_goes_with_the_file(monkeypatch):
    from types import SimpleNamespace

    from streamlit.runtime import Runtime
    from streamlit.runtime import media_file_manager as mfm
    from streamlit.runtime.memory_media_file_storage import MemoryMediaFileStorage

    web.track_media_owners()
    web.track_media_owners()                      # once per process, however often it is called
    manager = mfm.MediaFileManager(MemoryMediaFileStorage("/media"))
    monkeypatch.setattr(Runtime, "instance", classmethod(lambda cls: SimpleNamespace(media_file_mgr=manager)))
    run = {"tab": "s1", "user": "li"}
    monkeypatch.setattr(mfm, "_get_session_id", lambda: run["tab"])
    monkeypatch.setattr(web, "_signed_in_name", lambda: run["user"])
    link = manager.add(b"li's figures", "text/csv", "1.2", "a.csv", is_for_static_download=True)
    file_id = link.rsplit("/", 1)[-1].split(".")[0]
    assert web.users_given(file_id) == {"li"}
    manager.clear_session_refs("s1")              # li's page starts a new run …
    assert web.users_given(file_id) == {"li"}     # … and its download link still answers li
    run.update(tab="s2", user="wang")
    manager.add(b"li's figures", "text/csv", "1.2", "a.csv", is_for_static_download=True)
    assert web.users_given(file_id) == {"li", "wang"}   # the same bytes drawn on wang's page too
    run.update(tab="s3", user=None)
    other = manager.add(b"other", "text/csv", "1.3", "b.csv", is_for_static_download=True)   # a signed-out page
    assert web.users_given(other.rsplit("/", 1)[-1].split(".")[0]) == set()
    manager.clear_session_refs("s2")
    manager.clear_session_refs("s3")
    manager.remove_orphaned_files()               # no page shows it any more: Streamlit marks a download …
    assert web.users_given(file_id) == {"li", "wang"}
    manager.remove_orphaned_files()               # … and drops it at the next sweep
    assert web.users_given(file_id) == set() and web.users_given("nothing") == set()
