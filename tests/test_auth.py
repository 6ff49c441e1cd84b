"""Users, passwords, lockout, session tokens and their audit trail (kam_core.auth)."""
from __future__ import annotations

import io
from argparse import ArgumentParser
from datetime import datetime, timedelta

import pytest
from argon2 import PasswordHasher, profiles

from kam_core import audit, auth
from kam_core.auth import AuthError, PasswordPolicyError, UserError
from kam_core.permissions import PermissionDenied, User
from kam_core.store import open_store

T0 = datetime(2025, 3, 1, 9, 0, 0)
PW = "correct horse"


@pytest.fixture(autouse=True)
def cheap_hasher(monkeypatch):
    # The production parameters cost ~50 ms a hash; the cheapest profile keeps the file fast
    # while exercising the same code path.
    monkeypatch.setattr(auth, "_HASHER", PasswordHasher.from_parameters(profiles.CHEAPEST))
    monkeypatch.setattr(auth, "_DUMMY_HASH", None)


@pytest.fixture
def store():
    s = open_store(":memory:")
    yield s
    s.close()


def audit_rows(store, action=None):
    rows = list(reversed(audit.history(store.cursor())))
    return [r for r in rows if action is None or r["action"] == action]


def stored_hash(store, name):
    return store.cursor().execute("select password_hash from users where name = ?", [name]).fetchone()[0]


# -- hashing ---------------------------------------------------------------
def test_the_stored_hash_is_argon2_and_not_the_password(store):
    auth.create_user(store, "li", "manager", PW)
    h = stored_hash(store, "li")
    assert h != PW and PW not in h and h.startswith("$argon2id$")
    assert auth.verify_password(h, PW) and not auth.verify_password(h, PW + "x")


def test_a_damaged_or_missing_hash_never_verifies():
    assert auth.verify_password(None, PW) is False
    assert auth.verify_password("not-a-hash", PW) is False


@pytest.mark.parametrize("password", ["", "short7c", "        ", "x" * 1025])
def test_passwords_outside_the_policy_are_refused(store, password):
    with pytest.raises(PasswordPolicyError):
        auth.create_user(store, "li", "manager", password)
    assert not auth.has_users(store)


def test_eight_characters_is_enough():
    auth.check_password_policy("12345678")


# -- users -----------------------------------------------------------------
def test_first_admin_only_on_an_empty_database(store):
    assert not auth.has_users(store)
    admin = auth.create_first_admin(store, "zhang", PW)
    assert admin == User("zhang", "director") and auth.has_users(store)
    with pytest.raises(PermissionDenied) as refused:
        auth.create_first_admin(store, "intruder", PW)
    assert refused.value.code == "admin_exists"
    assert [u["name"] for u in auth.list_users(store)] == ["zhang"]


def test_only_a_director_may_change_users(store):
    auth.create_user(store, "li", "manager", PW)
    li = User("li", "manager")
    for call in (lambda: auth.create_user(store, "x", "viewer", PW, actor=li),
                 lambda: auth.disable_user(store, "li", actor=li),
                 lambda: auth.set_role(store, "li", "director", actor=li),
                 lambda: auth.reset_password(store, "li", "new password", actor=li),
                 lambda: auth.list_users(store, actor=User("wang", "viewer"))):
        with pytest.raises(PermissionDenied):
            call()
    assert auth.get_user(store, "li") == li


def test_user_names_are_unique_regardless_of_case_and_roles_are_checked(store):
    auth.create_user(store, "Li_KAM", "manager", PW)
    with pytest.raises(UserError):
        auth.create_user(store, "li_kam", "viewer", PW)
    with pytest.raises(UserError):
        auth.create_user(store, "root", "admin", PW)
    with pytest.raises(UserError):
        auth.create_user(store, "  ", "viewer", PW)


def test_the_last_director_can_be_neither_disabled_nor_demoted(store):
    auth.create_first_admin(store, "zhang", PW)
    with pytest.raises(UserError):
        auth.set_role(store, "zhang", "manager")
    with pytest.raises(UserError):
        auth.disable_user(store, "zhang")
    auth.create_user(store, "chen", "director", PW)
    auth.set_role(store, "zhang", "viewer")
    assert auth.get_user(store, "zhang") == User("zhang", "viewer")


def test_user_changes_are_audited_without_password_or_hash(store):
    auth.create_user(store, "li", "manager", PW, email="li@example.com")
    auth.set_role(store, "li", "viewer")
    auth.reset_password(store, "li", "another secret")
    auth.disable_user(store, "li")
    got = [(r["who"], r["action"], r["record_key"], r["field"], r["old_value"], r["new_value"])
           for r in audit_rows(store)]
    assert got == [
        ("system", "insert", "li", "role", None, "manager"),
        ("system", "insert", "li", "email", None, "li@example.com"),
        ("system", "insert", "li", "password", None, "(set)"),
        ("system", "update", "li", "role", "manager", "viewer"),
        ("system", "update", "li", "password", None, "(reset)"),
        ("system", "update", "li", "disabled", "False", "True"),
    ]


def test_list_users_never_returns_the_hash(store):
    auth.create_user(store, "li", "manager", PW)
    (row,) = auth.list_users(store)
    assert "password_hash" not in row and row["has_password"] is True
    assert stored_hash(store, "li") not in repr(row)


def test_an_oidc_user_is_found_by_email_and_cannot_sign_in_with_a_password(store):
    auth.create_user(store, "wang", "viewer", None, email="Wang@Example.com")
    assert auth.user_by_email(store, "wang@example.com") == User("wang", "viewer")
    assert auth.user_by_email(store, "other@example.com") is None
    with pytest.raises(AuthError) as exc:
        auth.authenticate(store, "wang", "", now=T0)
    assert exc.value.reason == "invalid"


# -- sign-in and lockout -----------------------------------------------------
def test_sign_in_with_the_right_password_returns_the_user_and_is_audited(store):
    auth.create_user(store, "li", "manager", PW)
    assert auth.authenticate(store, "li", PW, now=T0) == User("li", "manager")
    (row,) = audit_rows(store, "sign_in")
    assert (row["who"], row["record_key"]) == ("li", "li")


def test_unknown_user_and_wrong_password_get_the_same_message(store):
    auth.create_user(store, "li", "manager", PW)
    with pytest.raises(AuthError) as unknown:
        auth.authenticate(store, "nobody", PW, now=T0)
    with pytest.raises(AuthError) as wrong:
        auth.authenticate(store, "li", "wrong password", now=T0)
    assert str(unknown.value) == str(wrong.value) == auth.INVALID_CREDENTIALS
    assert unknown.value.reason == wrong.value.reason == "invalid"
    failed = audit_rows(store, "sign_in_failed")
    assert [(r["who"], r["record_key"], r["new_value"]) for r in failed] == [
        (None, "nobody", "unknown user"), ("li", "li", "wrong password")]


def test_five_failures_lock_the_user_for_fifteen_minutes(store):
    auth.create_user(store, "li", "manager", PW)
    reasons = []
    for i in range(5):
        with pytest.raises(AuthError) as exc:
            auth.authenticate(store, "li", f"guess number {i}", now=T0 + timedelta(seconds=i))
        reasons.append(exc.value.reason)
    assert reasons == ["invalid"] * 4 + ["locked"]
    assert exc.value.locked_until == T0 + timedelta(seconds=4) + timedelta(minutes=15)
    # Locked: even the right password is refused, one second before the end.
    with pytest.raises(AuthError) as exc:
        auth.authenticate(store, "li", PW, now=T0 + timedelta(minutes=15, seconds=3))
    assert exc.value.reason == "locked"
    # At the end of the lock the right password works and the counter starts again.
    assert auth.authenticate(store, "li", PW, now=T0 + timedelta(minutes=15, seconds=4)) == User("li", "manager")
    row = store.cursor().execute("select failed_logins, locked_until from users").fetchone()
    assert row == (0, None)


def test_four_failures_then_success_reset_the_count(store):
    auth.create_user(store, "li", "manager", PW)
    for _ in range(4):
        with pytest.raises(AuthError):
            auth.authenticate(store, "li", "wrong password", now=T0)
    auth.authenticate(store, "li", PW, now=T0)
    for _ in range(4):
        with pytest.raises(AuthError) as exc:
            auth.authenticate(store, "li", "wrong password", now=T0)
        assert exc.value.reason == "invalid"


def test_a_wrong_password_after_an_expired_lock_starts_a_fresh_count(store):
    auth.create_user(store, "li", "manager", PW)
    for _ in range(5):
        with pytest.raises(AuthError):
            auth.authenticate(store, "li", "wrong password", now=T0)
    later = T0 + timedelta(minutes=20)
    with pytest.raises(AuthError) as exc:
        auth.authenticate(store, "li", "wrong password", now=later)
    assert exc.value.reason == "invalid"
    assert store.cursor().execute("select failed_logins from users").fetchone()[0] == 1


def test_reset_password_lifts_a_lockout(store):
    auth.create_user(store, "li", "manager", PW)
    for _ in range(5):
        with pytest.raises(AuthError):
            auth.authenticate(store, "li", "wrong password", now=T0)
    auth.reset_password(store, "li", "brand new pw")
    assert auth.authenticate(store, "li", "brand new pw", now=T0) == User("li", "manager")


def test_a_disabled_user_is_refused_and_told_so_only_with_the_right_password(store):
    auth.create_first_admin(store, "zhang", PW)
    auth.create_user(store, "li", "manager", PW)
    auth.disable_user(store, "li", actor=User("zhang", "director"))
    with pytest.raises(AuthError) as exc:
        auth.authenticate(store, "li", "wrong password", now=T0)
    assert exc.value.reason == "invalid"
    with pytest.raises(AuthError) as exc:
        auth.authenticate(store, "li", PW, now=T0)
    assert exc.value.reason == "disabled"
    assert auth.get_user(store, "li") is None
    auth.enable_user(store, "li")
    assert auth.authenticate(store, "li", PW, now=T0) == User("li", "manager")


def test_no_password_or_hash_ever_reaches_the_audit_log(store):
    auth.create_first_admin(store, "zhang", PW)
    auth.create_user(store, "li", "manager", "li password 1")
    auth.reset_password(store, "li", "li password 2")
    with pytest.raises(AuthError):
        auth.authenticate(store, "li", "li password 1", now=T0)
    auth.authenticate(store, "li", "li password 2", now=T0)
    auth.change_own_password(store, User("li", "manager"), "li password 2", "li password 3")
    dump = repr(store.cursor().execute("select * from audit_log").fetchall())
    hashes = [h for (h,) in store.cursor().execute("select password_hash from users").fetchall()]
    for secret in [PW, "li password 1", "li password 2", "li password 3", "$argon2", *hashes]:
        assert secret not in dump


def test_change_own_password_needs_the_old_one(store):
    auth.create_user(store, "li", "manager", PW)
    with pytest.raises(AuthError):
        auth.change_own_password(store, User("li", "manager"), "not it at all", "new password")
    auth.change_own_password(store, User("li", "manager"), PW, "new password")
    assert auth.authenticate(store, "li", "new password", now=T0) == User("li", "manager")


# -- sessions ----------------------------------------------------------------
def _signed_in(store, name="li", role="manager", now=T0, **kw):
    if auth.get_user(store, name) is None:
        auth.create_user(store, name, role, PW)
    return auth.start_session(store, User(name, role), now, **kw)


def test_a_session_lasts_until_thirty_minutes_of_idleness(store):
    token = _signed_in(store).token
    assert auth.resume_session(store, token, T0 + timedelta(seconds=1800)) == (User("li", "manager"), None)
    idle_until = T0 + timedelta(seconds=1800 + 1800)
    assert auth.resume_session(store, token, idle_until + timedelta(seconds=1)) == (None, "idle_timeout")
    # ended for good: a request that would have been in time (a clock set back) does not reopen it
    assert auth.resume_session(store, token, idle_until) == (None, "idle_timeout")
    assert [r["new_value"] for r in audit_rows(store, "sign_out")] == ["idle_timeout"]


def test_activity_moves_the_idle_clock_but_not_the_twelve_hour_limit(store):
    token = _signed_in(store).token
    t = T0
    for _ in range(24):  # active every 29 minutes for 11 h 36 min
        t += timedelta(minutes=29)
        assert auth.resume_session(store, token, t)[0] == User("li", "manager")
    assert auth.resume_session(store, token, T0 + timedelta(hours=12, seconds=1)) == (None, "expired")


def test_a_signed_out_session_stays_signed_out_after_a_restart(tmp_path):
    path = tmp_path / "kam.duckdb"
    first = open_store(path)
    token = _signed_in(first).token
    kept = _signed_in(first, "wang", "viewer").token
    assert auth.end_session(first, token, now=T0 + timedelta(minutes=1)) == "li"
    first.close()
    restarted = open_store(path)   # a new process: nothing of the old one's memory is left
    try:
        assert auth.resume_session(restarted, token, T0 + timedelta(minutes=2)) == (None, "sign_out")
        assert auth.resume_session(restarted, kept, T0 + timedelta(minutes=2)) == (User("wang", "viewer"), None)
    finally:
        restarted.close()


@pytest.mark.parametrize("change, reason", [
    (lambda s: auth.disable_user(s, "li"), "disabled"),
    (lambda s: auth.reset_password(s, "li", "a brand new secret"), "password"),
])
def test_disabling_a_user_or_resetting_their_password_ends_their_sessions_for_good(tmp_path, change, reason):
    path = tmp_path / "kam.duckdb"
    s = open_store(path)
    auth.create_first_admin(s, "zhang", PW)
    tokens = [_signed_in(s).token, _signed_in(s).token]   # two browsers
    boss = _signed_in(s, "zhang", "director").token
    change(s)
    s.close()
    s = open_store(path)
    try:
        assert [auth.resume_session(s, t, T0) for t in tokens] == [(None, reason)] * 2
        assert auth.resume_session(s, boss, T0) == (User("zhang", "director"), None)
        auth.enable_user(s, "li")   # enabling again does not revive the old sessions
        assert auth.resume_session(s, tokens[0], T0) == (None, reason)
    finally:
        s.close()


def test_changing_ones_own_password_ends_every_other_session_of_that_user(store):
    here, there = _signed_in(store).token, _signed_in(store).token
    auth.change_own_password(store, User("li", "manager"), PW, "new password", keep_token=here)
    assert auth.resume_session(store, here, T0)[0] == User("li", "manager")
    assert auth.resume_session(store, there, T0) == (None, "password")


def test_every_sign_in_gets_a_new_token_and_ends_the_one_the_browser_brought(store):
    planted = _signed_in(store, "wang", "viewer").token   # e.g. a token someone fixed in the victim's browser
    first = _signed_in(store, replaces=planted)
    second = _signed_in(store)
    assert len({planted, first.token, second.token}) == 3
    assert auth.resume_session(store, planted, T0) == (None, "replaced")
    assert auth.resume_session(store, first.token, T0)[0] == User("li", "manager")


def test_a_role_change_applies_to_an_open_session_at_once(store):
    auth.create_first_admin(store, "zhang", PW)
    token = _signed_in(store).token
    auth.set_role(store, "li", "viewer")
    assert auth.resume_session(store, token, T0) == (User("li", "viewer"), None)


def test_a_handoff_code_gives_its_token_once_and_only_within_a_minute(store):
    new = _signed_in(store)
    assert auth.redeem_handoff(new.handoff, T0 + timedelta(seconds=30)) == new.token
    assert auth.redeem_handoff(new.handoff, T0 + timedelta(seconds=31)) is None
    late = _signed_in(store)
    assert auth.redeem_handoff(late.handoff, T0 + timedelta(seconds=61)) is None
    assert late.handoff != late.token


def test_the_store_keeps_only_a_digest_of_each_token(store):
    new = _signed_in(store)
    stored = " ".join(str(v) for row in store.cursor().execute("select * from sessions").fetchall() for v in row)
    assert new.token not in stored and new.handoff not in stored
    assert auth._digest(new.token) in stored


@pytest.mark.parametrize("token", [None, "", "short", "x" * 200, "不是令牌" * 10, 12345])
def test_a_missing_or_malformed_token_opens_nothing(store, token):
    _signed_in(store)
    assert auth.resume_session(store, token, T0) == (None, "unknown")
    assert auth.end_session(store, token) is None


# -- demo and command line ---------------------------------------------------
def test_demo_users_are_one_per_role_and_only_created_once(store):
    created = auth.demo_users(store)
    assert sorted((u["name"], u["role"]) for u in auth.list_users(store)) == [
        ("li_kam", "manager"), ("wang_view", "viewer"), ("zhang_gm", "director")]
    assert auth.authenticate(store, "li_kam", created["li_kam"], now=T0) == User("li_kam", "manager")
    assert len(set(created.values())) == 3 and all(len(p) >= 16 for p in created.values())
    assert auth.demo_users(store) == {}


def run_cli(store, argv, stdin_text=""):
    parser = ArgumentParser()
    auth.add_users_arguments(parser)
    out, err = io.StringIO(), io.StringIO()
    code = auth.users_command(store, parser.parse_args(argv), out, err, stdin=io.StringIO(stdin_text))
    return code, out.getvalue(), err.getvalue()


def test_the_users_command_reads_the_password_from_stdin_and_never_prints_it(store):
    code, out, err = run_cli(store, ["add", "li", "--role", "manager"], "a piped secret\n")
    assert (code, err) == (0, "")
    assert auth.authenticate(store, "li", "a piped secret", now=T0) == User("li", "manager")
    code, out, _ = run_cli(store, ["list"])
    assert code == 0 and "li" in out and "manager" in out and "a piped secret" not in out and "$argon2" not in out
    assert run_cli(store, ["add", "wang", "--role", "viewer"], "short\n")[0] == 2
    assert run_cli(store, ["set-role", "nobody", "viewer"])[0] == 2
    code, _, _ = run_cli(store, ["reset-password", "li"], "another secret\n")
    assert code == 0 and auth.authenticate(store, "li", "another secret", now=T0).name == "li"


def test_the_users_command_has_no_password_option():
    parser = ArgumentParser()
    auth.add_users_arguments(parser)
    with pytest.raises(SystemExit):
        parser.parse_args(["add", "li", "--role", "manager", "--password", "x"])


# -- the Streamlit sign-in view (AppTest, no browser) ------------------------
def _signin_app():
    import streamlit as st

    from kam_core.store import open_store
    from kam_core.ui.signin import require_sign_in, sign_out_button

    # One store per AppTest session (st.cache_resource would share one across the tests' databases).
    if "test_store" not in st.session_state:
        st.session_state.test_store = open_store()
    store = st.session_state.test_store
    user = require_sign_in(store, "en")
    sign_out_button("en", store)
    st.markdown(f"PAGE for {user.name} as {user.role}")


@pytest.fixture
def app_env(tmp_path, monkeypatch):
    from streamlit.testing.v1 import AppTest

    monkeypatch.setenv("KAM_DB", str(tmp_path / "kam.duckdb"))
    monkeypatch.delenv("KAM_AUTH", raising=False)
    return lambda: AppTest.from_function(_signin_app, default_timeout=30)


def page_text(at):
    return " ".join(m.value for m in at.markdown)


def test_a_fresh_install_asks_for_the_administrator_and_then_opens_the_page(app_env, tmp_path):
    at = app_env().run()
    assert at.title[0].value == "Create the administrator" and "PAGE" not in page_text(at)
    at.text_input(key="kam_first_name").input("zhang")
    at.text_input(key="kam_first_password").input(PW)
    at.text_input(key="kam_first_repeat").input(PW)
    at.button[0].click().run()
    assert "PAGE for zhang as director" in page_text(at)


def test_the_page_is_unreachable_without_the_right_password_and_sign_out_ends_it(app_env, tmp_path):
    s = open_store(tmp_path / "kam.duckdb")
    auth.create_user(s, "li", "manager", PW)
    s.close()
    at = app_env().run()
    assert at.title[0].value == "Sign in" and "PAGE" not in page_text(at)
    at.text_input(key="kam_sign_in_name").input("li")
    at.text_input(key="kam_sign_in_password").input("wrong password")
    at.button[0].click().run()
    assert at.error[0].value == auth.INVALID_CREDENTIALS and "PAGE" not in page_text(at)
    at.text_input(key="kam_sign_in_password").input(PW)
    at.button[0].click().run()
    assert "PAGE for li as manager" in page_text(at)
    at.sidebar.button(key="kam_sign_out").click().run()
    assert at.title[0].value == "Sign in" and "PAGE" not in page_text(at)
    assert at.info[0].value == "You are signed out."


def test_an_idle_session_is_signed_out(app_env, tmp_path, monkeypatch):
    from kam_core.ui import signin

    s = open_store(tmp_path / "kam.duckdb")
    auth.create_user(s, "li", "manager", PW)
    s.close()
    clock = [T0]
    monkeypatch.setattr(signin, "_now", lambda: clock[0])
    monkeypatch.setattr(auth, "utcnow", lambda: clock[0])
    at = app_env().run()
    at.text_input(key="kam_sign_in_name").input("li")
    at.text_input(key="kam_sign_in_password").input(PW)
    at.button[0].click().run()
    clock[0] = T0 + timedelta(minutes=29)
    at.run()
    assert "PAGE for li" in page_text(at)
    clock[0] = T0 + timedelta(minutes=29 + 31)
    at.run()
    assert "PAGE" not in page_text(at) and at.info[0].value.startswith("You were signed out")


def test_kam_auth_off_opens_the_page_as_a_local_director(app_env, monkeypatch):
    monkeypatch.setenv("KAM_AUTH", "off")
    at = app_env().run()
    assert "PAGE for local as director" in page_text(at)
