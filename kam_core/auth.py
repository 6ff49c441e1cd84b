"""Local users, passwords, sign-in, lockout and server-side sessions.

No streamlit here: the sign-in view (``kam_core/ui/signin.py``), the
session routes (``kam_core/ui/web.py``) and the command line call these
functions. Passwords are hashed with argon2 (``argon2-cffi``); a password, a
hash or a session token is never written to the audit log, printed or logged
(the ``sessions`` table holds only the tokens' SHA-256).

Times are naive UTC ``datetime`` values (the ``users`` table stores
``timestamp`` without a zone); every time-dependent function takes ``now`` so
tests can move the clock.
"""
from __future__ import annotations

import argparse
import getpass
import hashlib
import json
import os
import secrets
import sys
import threading
import unicodedata
from dataclasses import dataclass
from datetime import datetime, timedelta, timezone
from typing import IO, Any

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from kam_core import audit
from kam_core.permissions import ROLES, SYSTEM, PermissionDenied, User, require
from kam_core.safe_text import is_email
from kam_core.store import Store

MIN_PASSWORD_LENGTH = 8
# argon2 hashes whatever it is given; a cap stops a megabyte "password" from tying up a core.
MAX_PASSWORD_LENGTH = 1024
MAX_NAME_LENGTH = 64
MAX_FAILED_LOGINS = 5
LOCKOUT = timedelta(minutes=15)
IDLE_TIMEOUT_SECONDS = 30 * 60
# A token older than this is refused even when the user stayed active (a stolen token ages out).
MAX_SESSION_SECONDS = 12 * 60 * 60

# One hasher for the process; tests may swap it for a cheaper one (argon2.profiles.CHEAPEST).
_HASHER = PasswordHasher()
# Verified against when the user is unknown, so an unknown name costs as much time as a wrong password.
_DUMMY_HASH: str | None = None

INVALID_CREDENTIALS = "Unknown user or wrong password."

DEMO_USERS: dict[str, str] = {"zhang_gm": "director", "li_kam": "manager", "wang_view": "viewer"}
"""Demo-only accounts, one per role: name → role (passwords are random, printed once by ``demo``)."""


class AuthError(Exception):
    """Sign-in refused. ``reason`` is ``invalid`` (unknown user or wrong password,
    deliberately not told apart), ``disabled`` or ``locked`` (``locked_until`` set)."""

    def __init__(self, reason: str, message: str, locked_until: datetime | None = None):
        super().__init__(message)
        self.reason = reason
        self.locked_until = locked_until


class PasswordPolicyError(ValueError):
    """The new password does not meet the policy. ``code``: ``not_text``, ``too_short`` (``min``),
    ``too_long`` (``max``) or ``blank``; ``str()`` is the command line's English sentence."""

    def __init__(self, code: str, message: str, **params: int):
        super().__init__(message)
        self.code = code
        self.params = params


class UserError(ValueError):
    """A user change that cannot be made: bad name or role, duplicate, unknown user, last director.

    ``code`` names the refusals of a user name a form can meet (``name_not_text``, ``name_empty``,
    ``name_too_long`` with ``max``, ``name_bad_characters``); others are ``other``, said by ``str()``."""

    def __init__(self, message: str, code: str = "other", **params: int):
        super().__init__(message)
        self.code = code
        self.params = params


def utcnow() -> datetime:
    """Naive UTC now, the clock every default ``now`` uses."""
    return datetime.now(timezone.utc).replace(tzinfo=None)


# -- passwords -------------------------------------------------------------
def check_password_policy(password: str) -> None:
    """Raise :class:`PasswordPolicyError` unless ``password`` is acceptable."""
    if not isinstance(password, str):
        raise PasswordPolicyError("not_text", "The password must be text.")
    if len(password) < MIN_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_short", f"The password must have at least {MIN_PASSWORD_LENGTH} characters.",
                                  min=MIN_PASSWORD_LENGTH)
    if len(password) > MAX_PASSWORD_LENGTH:
        raise PasswordPolicyError("too_long", f"The password must have at most {MAX_PASSWORD_LENGTH} characters.",
                                  max=MAX_PASSWORD_LENGTH)
    if not password.strip():
        raise PasswordPolicyError("blank", "The password cannot be only spaces.")


def hash_password(password: str) -> str:
    """The argon2id hash of ``password`` after checking the policy."""
    check_password_policy(password)
    return _HASHER.hash(password)


def verify_password(password_hash: str | None, password: str) -> bool:
    """True when ``password`` matches ``password_hash``; False for no hash or a damaged one."""
    if not password_hash or not isinstance(password, str) or len(password) > MAX_PASSWORD_LENGTH:
        return False
    try:
        return _HASHER.verify(password_hash, password)
    except (VerifyMismatchError, VerificationError, InvalidHashError):
        return False


def _burn_time(password: str) -> None:
    global _DUMMY_HASH
    if _DUMMY_HASH is None:
        _DUMMY_HASH = _HASHER.hash(secrets.token_urlsafe(16))
    verify_password(_DUMMY_HASH, password[:MAX_PASSWORD_LENGTH] if isinstance(password, str) else "")


# -- users -----------------------------------------------------------------
def _clean_name(name: str) -> str:
    if not isinstance(name, str):
        raise UserError("The user name must be text.", "name_not_text")
    name = unicodedata.normalize("NFKC", name).strip()
    if not name:
        raise UserError("The user name is empty.", "name_empty")
    if len(name) > MAX_NAME_LENGTH:
        raise UserError(f"The user name must have at most {MAX_NAME_LENGTH} characters.", "name_too_long",
                        max=MAX_NAME_LENGTH)
    if any(unicodedata.category(ch)[0] in "CZ" and ch != " " for ch in name):
        raise UserError("The user name contains control or separator characters.", "name_bad_characters")
    return name


def _clean_email(email: str | None) -> str | None:
    if email is None:
        return None
    email = email.strip()
    if not email:
        return None
    if not is_email(email):
        raise UserError("The e-mail address is not valid.")
    return email


def _check_role(role: str) -> str:
    if role not in ROLES:
        raise UserError(f"Unknown role {role!r}; one of {', '.join(ROLES)}.")
    return role


def _row(cur, name: str) -> dict | None:
    """The user row by name, compared case-insensitively (names are unique regardless of case)."""
    r = cur.execute(
        "select name, role, password_hash, email, disabled, failed_logins, locked_until, created_at"
        " from users where lower(name) = lower(?)",
        [name],
    ).fetchone()
    if r is None:
        return None
    keys = ("name", "role", "password_hash", "email", "disabled", "failed_logins", "locked_until", "created_at")
    return dict(zip(keys, r))


def has_users(store: Store) -> bool:
    """True once at least one user exists (a fresh install has none)."""
    return bool(store.cursor().execute("select exists (select 1 from users)").fetchone()[0])


def get_user(store: Store, name: str) -> User | None:
    """The enabled user called ``name``, or None (unknown or disabled)."""
    row = _row(store.cursor(), name)
    if row is None or row["disabled"]:
        return None
    return User(row["name"], row["role"])


def user_by_email(store: Store, email: str) -> User | None:
    """The enabled user with this e-mail (case-insensitive), for OpenID Connect sign-in; None when
    no user or more than one user has it (an ambiguous match must not pick one)."""
    if not email or not email.strip():
        return None
    rows = store.cursor().execute(
        "select name, role from users where lower(email) = lower(?) and not disabled", [email.strip()]
    ).fetchall()
    return User(rows[0][0], rows[0][1]) if len(rows) == 1 else None


def list_users(store: Store, actor: User = SYSTEM) -> list[dict]:
    """Every user with ``name, role, email, disabled, failed_logins, locked_until, created_at``,
    sorted by name; never the password hash. Requires ``manage_users``."""
    require(actor, "manage_users")
    rows = store.cursor().execute(
        "select name, role, email, disabled, failed_logins, locked_until, created_at, password_hash is not null"
        " from users order by lower(name)"
    ).fetchall()
    keys = ("name", "role", "email", "disabled", "failed_logins", "locked_until", "created_at", "has_password")
    return [dict(zip(keys, r)) for r in rows]


def _insert_user(cur, name: str, role: str, password_hash: str | None, email: str | None, who: str) -> None:
    if _row(cur, name) is not None:
        raise UserError(f"A user called {name!r} already exists.")
    if email is not None:
        taken = cur.execute("select name from users where lower(email) = lower(?)", [email]).fetchone()
        if taken:
            raise UserError("Another user already has this e-mail address.")
    cur.execute(
        "insert into users (name, role, password_hash, email) values (?, ?, ?, ?)",
        [name, role, password_hash, email],
    )
    audit.record(cur, who, "insert", "users", name, "role", None, role)
    if email is not None:
        audit.record(cur, who, "insert", "users", name, "email", None, email)
    if password_hash is not None:
        # That a password was set is worth recording; the hash itself never is.
        audit.record(cur, who, "insert", "users", name, "password", None, "(set)")


def create_user(store: Store, name: str, role: str, password: str | None = None,
                email: str | None = None, actor: User = SYSTEM) -> User:
    """Add a user; ``password`` None makes a user who can only sign in through OpenID Connect
    (matched by ``email``). Requires ``manage_users``; audited."""
    require(actor, "manage_users")
    name, role, email = _clean_name(name), _check_role(role), _clean_email(email)
    password_hash = hash_password(password) if password is not None else None
    with store.transaction() as cur:
        _insert_user(cur, name, role, password_hash, email, actor.name)
    return User(name, role)


def create_first_admin(store: Store, name: str, password: str, email: str | None = None) -> User:
    """Create the first director on a fresh install; refused once any user exists."""
    name, email = _clean_name(name), _clean_email(email)
    password_hash = hash_password(password)
    with store.transaction() as cur:
        # Checked inside the writing transaction: writers are serialised, so two browsers
        # racing on a fresh install cannot both become administrator.
        if cur.execute("select exists (select 1 from users)").fetchone()[0]:
            raise PermissionDenied("admin_exists")
        _insert_user(cur, name, "director", password_hash, email, name)
    return User(name, "director")


def _existing(cur, name: str) -> dict:
    row = _row(cur, name)
    if row is None:
        raise UserError(f"No user called {name!r}.")
    return row


def _active_directors(cur) -> int:
    return cur.execute("select count(*) from users where role = 'director' and not disabled").fetchone()[0]


def disable_user(store: Store, name: str, actor: User = SYSTEM) -> None:
    """Stop ``name`` from signing in and end their open sessions. Requires
    ``manage_users``; the last enabled director and the actor themself cannot be disabled."""
    require(actor, "manage_users")
    with store.transaction() as cur:
        row = _existing(cur, name)
        if row["disabled"]:
            return
        if row["name"] == actor.name:
            raise UserError("You cannot disable your own user.")
        if row["role"] == "director" and _active_directors(cur) <= 1:
            raise UserError("This is the last enabled director; make another director first.")
        cur.execute("update users set disabled = true where name = ?", [row["name"]])
        audit.record(cur, actor.name, "update", "users", row["name"], "disabled", False, True)
        end_user_sessions(cur, row["name"], "disabled")


def enable_user(store: Store, name: str, actor: User = SYSTEM) -> None:
    """Allow a disabled user to sign in again (also clears a lockout). Requires ``manage_users``."""
    require(actor, "manage_users")
    with store.transaction() as cur:
        row = _existing(cur, name)
        if not row["disabled"]:
            return
        cur.execute("update users set disabled = false, failed_logins = 0, locked_until = null where name = ?",
                    [row["name"]])
        audit.record(cur, actor.name, "update", "users", row["name"], "disabled", True, False)


def set_role(store: Store, name: str, role: str, actor: User = SYSTEM) -> None:
    """Change a user's role. Requires ``manage_users``; the last enabled director keeps the role."""
    require(actor, "manage_users")
    role = _check_role(role)
    with store.transaction() as cur:
        row = _existing(cur, name)
        if row["role"] == role:
            return
        if row["role"] == "director" and not row["disabled"] and _active_directors(cur) <= 1:
            raise UserError("This is the last enabled director; make another director first.")
        cur.execute("update users set role = ? where name = ?", [role, row["name"]])
        audit.record(cur, actor.name, "update", "users", row["name"], "role", row["role"], role)


def set_email(store: Store, name: str, email: str | None, actor: User = SYSTEM) -> None:
    """Set or clear the e-mail used to match OpenID Connect sign-ins. Requires ``manage_users``."""
    require(actor, "manage_users")
    email = _clean_email(email)
    with store.transaction() as cur:
        row = _existing(cur, name)
        if email is not None:
            taken = cur.execute("select name from users where lower(email) = lower(?) and name <> ?",
                                [email, row["name"]]).fetchone()
            if taken:
                raise UserError("Another user already has this e-mail address.")
        cur.execute("update users set email = ? where name = ?", [email, row["name"]])
        audit.record(cur, actor.name, "update", "users", row["name"], "email", row["email"], email)


def reset_password(store: Store, name: str, password: str, actor: User = SYSTEM) -> None:
    """Give ``name`` a new password, lift any lockout and end their open sessions. Requires
    ``manage_users``; audited without the password or hash."""
    require(actor, "manage_users")
    password_hash = hash_password(password)
    with store.transaction() as cur:
        row = _existing(cur, name)
        cur.execute("update users set password_hash = ?, failed_logins = 0, locked_until = null where name = ?",
                    [password_hash, row["name"]])
        audit.record(cur, actor.name, "update", "users", row["name"], "password", None, "(reset)")
        end_user_sessions(cur, row["name"], "password")


def change_own_password(store: Store, user: User, old_password: str, new_password: str, *,
                        keep_token: str | None = None) -> None:
    """A signed-in user replaces their own password after proving the old one (no role needed).

    Every other session of the user ends (``keep_token``, the session making the change, stays open)."""
    with store.transaction() as cur:
        row = _existing(cur, user.name)
        if not verify_password(row["password_hash"], old_password):
            raise AuthError("invalid", "The current password is wrong.")
        password_hash = hash_password(new_password)
        cur.execute("update users set password_hash = ? where name = ?", [password_hash, row["name"]])
        audit.record(cur, user.name, "update", "users", row["name"], "password", None, "(changed)")
        end_user_sessions(cur, row["name"], "password", keep_token=keep_token)


# -- sign-in ---------------------------------------------------------------
def authenticate(store: Store, name: str, password: str, now: datetime | None = None) -> User:
    """Check a name and password; returns the :class:`User` or raises :class:`AuthError`.

    After :data:`MAX_FAILED_LOGINS` wrong passwords in a row the user is locked for
    :data:`LOCKOUT`; while locked even the right password is refused (so guessing stops).
    Sign-ins and failed sign-ins are audited (the typed name, never the password).
    """
    now = now or utcnow()
    typed = (name or "").strip()[:MAX_NAME_LENGTH] if isinstance(name, str) else ""
    with store.transaction() as cur:
        row = _row(cur, typed) if typed else None
        if row is None:
            _burn_time(password)
            audit.record(cur, None, "sign_in_failed", "users", typed, None, None, "unknown user")
            error: AuthError | None = AuthError("invalid", INVALID_CREDENTIALS)
        else:
            error = _check_known_user(cur, row, password, now)
    # The audit rows and counters above are committed even when sign-in fails.
    if error is not None:
        raise error
    return User(row["name"], row["role"])


def _check_known_user(cur, row: dict, password: str, now: datetime) -> AuthError | None:
    user = row["name"]
    locked_until = row["locked_until"]
    failures = row["failed_logins"] or 0
    if locked_until is not None and now < locked_until:
        audit.record(cur, user, "sign_in_failed", "users", user, None, None, "locked")
        return AuthError("locked", f"Too many failed sign-ins; try again after {locked_until:%H:%M} UTC.",
                         locked_until)
    if locked_until is not None:  # the lock has run out: a fresh count starts
        failures = 0
    if not verify_password(row["password_hash"], password):
        failures += 1
        new_lock = now + LOCKOUT if failures >= MAX_FAILED_LOGINS else None
        cur.execute("update users set failed_logins = ?, locked_until = ? where name = ?",
                    [failures, new_lock, user])
        audit.record(cur, user, "sign_in_failed", "users", user, None, None, "wrong password")
        if new_lock is not None:
            audit.record(cur, user, "update", "users", user, "locked_until", None, new_lock.isoformat(" "))
            return AuthError("locked", f"Too many failed sign-ins; try again after {new_lock:%H:%M} UTC.",
                             new_lock)
        return AuthError("invalid", INVALID_CREDENTIALS)
    # Disabled is only revealed to someone who knows the password.
    if row["disabled"]:
        audit.record(cur, user, "sign_in_failed", "users", user, None, None, "disabled")
        return AuthError("disabled", "This user is disabled; ask a director.")
    cur.execute("update users set failed_logins = 0, locked_until = null where name = ?", [user])
    audit.record(cur, user, "sign_in", "users", user)
    return None


def record_sign_in(store: Store, user: User, method: str) -> None:
    """Audit a sign-in made elsewhere (OpenID Connect, ``method`` e.g. ``oidc``)."""
    with store.transaction() as cur:
        audit.record(cur, user.name, "sign_in", "users", user.name, None, None, method)


def record_sign_out(store: Store, user: User, reason: str = "sign_out") -> None:
    """Audit a sign-out or an idle timeout (``reason``)."""
    with store.transaction() as cur:
        audit.record(cur, user.name, "sign_out", "users", user.name, None, None, reason)


# -- sessions ----------------------------------------------------------------
# A session is a row of ``sessions`` named by the SHA-256 of a random token; the token itself lives
# only in the browser's cookie and in the server's memory of that browser session. Ending a session
# is an update of its row, so a sign-out, a disabled user, a changed password or an idle timeout
# holds after a restart of the dashboard, and an old cookie cannot bring the session back.
SESSION_END_REASONS = ("sign_out", "idle_timeout", "expired", "password", "disabled", "replaced")
# last_seen_at is written at most this often (a write per rerun would queue every session behind the
# store's write lock); the idle timeout is therefore kept to the minute.
SESSION_TOUCH_SECONDS = 60
# Ended sessions are kept this long (for "you were signed out" and the audit's context), then deleted.
SESSION_KEEP_DAYS = 30
# A handoff code (which the browser exchanges for the HttpOnly cookie) is good once, for this long.
HANDOFF_SECONDS = 60

_handoffs: dict[str, tuple[str, datetime]] = {}   # sha256(code) -> (token, valid until)
_handoffs_lock = threading.Lock()


@dataclass(frozen=True)
class NewSession:
    """A session just started: ``token`` names it; ``handoff`` is the one-time code the browser
    exchanges for a cookie holding ``token`` (so the token is never visible to page scripts)."""

    token: str
    handoff: str


def auth_enabled() -> bool:
    """False only when ``KAM_AUTH`` is ``off`` (or 0/false/no): development and command line use."""
    return os.environ.get("KAM_AUTH", "on").strip().lower() not in {"off", "0", "false", "no"}


def idle_timeout_seconds() -> int:
    """``KAM_IDLE_MINUTES`` (default 30) in seconds, at least one minute."""
    try:
        minutes = float(os.environ.get("KAM_IDLE_MINUTES", "30"))
    except ValueError:
        minutes = 30
    return max(60, int(minutes * 60))


def _digest(secret: str) -> str:
    return hashlib.sha256(secret.encode("ascii", "replace")).hexdigest()


def _valid_token(token: object) -> bool:
    return isinstance(token, str) and 20 <= len(token) <= 128 and token.isascii()


def _end_rows(cur, where: str, params: list, reason: str, now: datetime) -> None:
    cur.execute(f"update sessions set ended_at = ?, end_reason = ? where ended_at is null and {where}",
                [now, reason, *params])


def end_user_sessions(cur, name: str, reason: str, now: datetime | None = None, *,
                      keep_token: str | None = None) -> None:
    """End every open session of ``name`` inside the caller's transaction (``keep_token``'s excepted)."""
    now = now or utcnow()
    if keep_token:
        _end_rows(cur, "lower(user_name) = lower(?) and token_hash <> ?", [name, _digest(keep_token)], reason, now)
    else:
        _end_rows(cur, "lower(user_name) = lower(?)", [name], reason, now)


def start_session(store: Store, user: User, now: datetime | None = None, *,
                  replaces: str | None = None) -> NewSession:
    """Open a new session for ``user`` (just authenticated) with a fresh random token.

    Every sign-in gets a new token, whatever the browser presented before: ``replaces`` (the cookie
    the browser came with, if any) is ended, so a token planted before sign-in is worth nothing after.
    """
    now = now or utcnow()
    token = secrets.token_urlsafe(32)
    with store.transaction() as cur:
        if _valid_token(replaces):
            _end_rows(cur, "token_hash = ?", [_digest(replaces)], "replaced", now)
        cur.execute("delete from sessions where ended_at < ?", [now - timedelta(days=SESSION_KEEP_DAYS)])
        cur.execute("insert into sessions (token_hash, user_name, created_at, last_seen_at) values (?, ?, ?, ?)",
                    [_digest(token), user.name, now, now])
    handoff = secrets.token_urlsafe(32)
    with _handoffs_lock:
        for code, (_, until) in list(_handoffs.items()):
            if until < now:
                del _handoffs[code]
        _handoffs[_digest(handoff)] = (token, now + timedelta(seconds=HANDOFF_SECONDS))
    return NewSession(token, handoff)


def redeem_handoff(code: str, now: datetime | None = None) -> str | None:
    """The session token a handoff code stands for, once and within :data:`HANDOFF_SECONDS`; else None."""
    if not _valid_token(code):
        return None
    now = now or utcnow()
    with _handoffs_lock:
        entry = _handoffs.pop(_digest(code), None)
    if entry is None or entry[1] < now:
        return None
    return entry[0]


def resume_session(store: Store, token: str | None, now: datetime | None = None,
                   idle_timeout: int = IDLE_TIMEOUT_SECONDS, *, max_age: int = MAX_SESSION_SECONDS,
                   touch: bool = True) -> tuple[User | None, str | None]:
    """``(user, None)`` while the session ``token`` names is open, else ``(None, reason)``.

    ``reason`` is ``unknown`` (no such session) or why it ended (:data:`SESSION_END_REASONS`). The user
    is read again each time, so a role change applies at once and a disabled user's session ends.
    A session idle for more than ``idle_timeout`` seconds or older than ``max_age`` ends here (and the
    idle timeout is audited); with ``touch`` the idle clock moves to ``now``.
    """
    if not _valid_token(token):
        return None, "unknown"
    now = now or utcnow()
    key = _digest(token)
    row = store.cursor().execute(
        "select s.user_name, s.created_at, s.last_seen_at, s.ended_at, s.end_reason, u.name, u.role, u.disabled"
        " from sessions s left join users u on lower(u.name) = lower(s.user_name) where s.token_hash = ?",
        [key]).fetchone()
    if row is None:
        return None, "unknown"
    name, created, seen, ended, ended_why, user_name, role, disabled = row
    if ended is not None:
        return None, ended_why or "sign_out"
    reason = None
    if user_name is None or disabled:
        reason = "disabled"
    elif (now - created).total_seconds() > max_age:
        reason = "expired"
    elif (now - seen).total_seconds() > idle_timeout:
        reason = "idle_timeout"
    if reason is not None:
        with store.transaction() as cur:
            _end_rows(cur, "token_hash = ?", [key], reason, now)
            if reason == "idle_timeout":
                audit.record(cur, name, "sign_out", "users", name, None, None, reason)
        return None, reason
    if touch and (now - seen).total_seconds() >= SESSION_TOUCH_SECONDS:
        with store.transaction() as cur:
            cur.execute("update sessions set last_seen_at = ? where token_hash = ? and ended_at is null", [now, key])
    return User(user_name, role), None


def end_session(store: Store, token: str | None, reason: str = "sign_out", now: datetime | None = None) -> str | None:
    """End the session ``token`` names (sign-out); audited. Returns whose it was (the user name), None
    when it was not open."""
    if not _valid_token(token):
        return None
    now = now or utcnow()
    key = _digest(token)
    with store.transaction() as cur:
        row = cur.execute("select user_name from sessions where token_hash = ? and ended_at is null", [key]).fetchone()
        if row is None:
            return None
        _end_rows(cur, "token_hash = ?", [key], reason, now)
        audit.record(cur, row[0], "sign_out", "users", row[0], None, None, reason)
    return row[0]


# -- demo ------------------------------------------------------------------
def demo_users(store: Store) -> dict[str, str]:
    """Create the demo-only users of :data:`DEMO_USERS` that are missing, each with a random
    password; returns ``{name: password}`` for the ones created (print once, never store)."""
    created: dict[str, str] = {}
    for name, role in DEMO_USERS.items():
        if _row(store.cursor(), name) is not None:
            continue
        password = secrets.token_urlsafe(12)
        create_user(store, name, role, password, actor=SYSTEM)
        created[name] = password
    return created


# -- command line helpers ----------------------------------------------------
def read_password(stdin_ok: bool = True, *, confirm: bool = True, prompt: str = "Password: ",
                  stdin: IO[str] | None = None) -> str:
    """Read a new password from the terminal (asked twice) or, when stdin is not a terminal and
    ``stdin_ok``, from the first line of stdin. Never from the command line."""
    stream = stdin if stdin is not None else sys.stdin
    if stream is not None and not stream.isatty():
        if not stdin_ok:
            raise UserError("A password must be typed at a terminal.")
        line = stream.readline()
        password = line[:-1] if line.endswith("\n") else line
        password = password[:-1] if password.endswith("\r") else password
    else:
        password = getpass.getpass(prompt)
        if confirm and getpass.getpass("Repeat: ") != password:
            raise UserError("The two passwords differ.")
    check_password_policy(password)
    return password


def add_users_arguments(parser: argparse.ArgumentParser) -> None:
    """Add ``add|list|disable|enable|set-role|set-email|reset-password`` to a ``users`` sub-parser."""
    sub = parser.add_subparsers(dest="users_command", required=True)
    p = sub.add_parser("add", help="add a user; the password is read from a prompt or stdin")
    p.add_argument("name")
    p.add_argument("--role", choices=ROLES, required=True)
    p.add_argument("--email", help="match OpenID Connect sign-ins by this e-mail")
    p.add_argument("--no-password", action="store_true", help="OpenID Connect only: no local password")
    p = sub.add_parser("list", help="list users (never passwords)")
    p.add_argument("--format", choices=("table", "json"), default="table")
    for cmd in ("disable", "enable", "reset-password"):
        sub.add_parser(cmd).add_argument("name")
    p = sub.add_parser("set-role")
    p.add_argument("name")
    p.add_argument("role", choices=ROLES)
    p = sub.add_parser("set-email")
    p.add_argument("name")
    p.add_argument("email", nargs="?", default=None)


def users_command(store: Store, args: argparse.Namespace, out: IO[str] | None = None,
                  err: IO[str] | None = None, stdin: IO[str] | None = None) -> int:
    """Run ``users …`` parsed by :func:`add_users_arguments` as :data:`SYSTEM` (the server's own
    rights). Exit codes: 0 done, 2 input rejected, 1 other failure."""
    out, err = out or sys.stdout, err or sys.stderr
    cmd = args.users_command
    try:
        if cmd == "add":
            password = None if args.no_password else read_password(stdin=stdin)
            user = create_user(store, args.name, args.role, password, args.email)
            print(f"added {user.name} ({user.role})", file=out)
        elif cmd == "list":
            rows = list_users(store)
            if args.format == "json":
                print(json.dumps(rows, default=str, ensure_ascii=False, indent=2), file=out)
            else:
                print(format_users_table(rows), file=out)
        elif cmd == "disable":
            disable_user(store, args.name)
            print(f"disabled {args.name}", file=out)
        elif cmd == "enable":
            enable_user(store, args.name)
            print(f"enabled {args.name}", file=out)
        elif cmd == "set-role":
            set_role(store, args.name, args.role)
            print(f"{args.name} is now {args.role}", file=out)
        elif cmd == "set-email":
            set_email(store, args.name, args.email)
            print(f"e-mail of {args.name} set", file=out)
        elif cmd == "reset-password":
            reset_password(store, args.name, read_password(stdin=stdin))
            print(f"password of {args.name} reset", file=out)
        else:
            print(f"unknown users command {cmd!r}", file=err)
            return 2
    except (UserError, PasswordPolicyError, PermissionDenied) as exc:
        print(str(exc), file=err)
        return 2
    return 0


def format_users_table(rows: list[dict[str, Any]]) -> str:
    """A plain-text table of :func:`list_users` rows."""
    header = ("name", "role", "email", "status", "password")
    lines = [header]
    for r in rows:
        status = "disabled" if r["disabled"] else ("locked" if r["locked_until"] and r["locked_until"] > utcnow()
                                                   else "active")
        lines.append((r["name"], r["role"], r["email"] or "", status, "yes" if r["has_password"] else "no"))
    widths = [max(len(str(line[i])) for line in lines) for i in range(len(header))]
    return "\n".join("  ".join(str(v).ljust(w) for v, w in zip(line, widths)).rstrip() for line in lines)
