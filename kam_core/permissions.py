"""Who may do what: the role × action × ownership rule, checked in kam_core.

Pages may hide what a user cannot do, but the domain functions call
:func:`require` themselves, so a page that forgets still cannot leak or change
anything (issue: access control).
"""
from __future__ import annotations

from dataclasses import dataclass

ROLES = ("director", "manager", "viewer")

# action -> (roles allowed on any account, roles allowed only on accounts they own or back up)
_RULES: dict[str, tuple[frozenset[str], frozenset[str]]] = {
    "read_numbers": (frozenset(ROLES), frozenset()),
    "export_report": (frozenset(ROLES), frozenset()),
    "read_dossier": (frozenset(ROLES), frozenset()),          # facts, records, plans (no personal details)
    "read_personal": (frozenset({"director"}), frozenset({"manager"})),   # contacts' phone, e-mail, notes
    "edit_dossier": (frozenset({"director"}), frozenset({"manager"})),
    "export_personal": (frozenset({"director"}), frozenset({"manager"})),
    "import": (frozenset({"director", "manager"}), frozenset()),
    "undo_import": (frozenset({"director"}), frozenset()),
    "manage_settings": (frozenset({"director"}), frozenset()),
    "manage_users": (frozenset({"director"}), frozenset()),
    "assign_owner": (frozenset({"director"}), frozenset()),
    "manage_aliases": (frozenset({"director", "manager"}), frozenset()),
    "read_audit": (frozenset({"director"}), frozenset()),                 # the audit log names people and changes
}
ACTIONS = tuple(_RULES)


@dataclass(frozen=True)
class User:
    """The acting user; ``role`` is one of :data:`ROLES`."""

    name: str
    role: str


SYSTEM = User("system", "director")
"""Used by the command line and the demo loader, which run with the server's own rights."""


class PermissionDenied(PermissionError):
    """The acting user may not do this. ``code`` names the refusal, ``params`` its details; ``str()`` is an
    English sentence for the command line, the pages say it from the catalogue (``permission.<code>``).

    Codes: ``denied`` (user, action: one of :data:`ACTIONS`) and ``admin_exists`` (the first administrator
    is made once).
    """

    def __init__(self, code: str, **params: str):
        self.code = code
        self.params = params
        super().__init__(_english(code, params))


def _english(code: str, p: dict[str, str]) -> str:
    if code == "denied":
        return f"{p['user']} may not {p['action'].replace('_', ' ')}"
    if code == "admin_exists":
        return "An administrator already exists; ask them to create your user."
    return code


def can(user: User | None, action: str, *, owner: str | None = None, backup_owner: str | None = None) -> bool:
    """True when ``user`` may do ``action`` on an account owned by ``owner`` / ``backup_owner``."""
    if user is None or user.role not in ROLES:
        return False
    anywhere, own_only = _RULES[action]
    if user.role in anywhere:
        return True
    return user.role in own_only and user.name in {owner, backup_owner} - {None}


def require(user: User | None, action: str, *, owner: str | None = None, backup_owner: str | None = None) -> None:
    """Raise :class:`PermissionDenied` unless :func:`can` allows it."""
    if not can(user, action, owner=owner, backup_owner=backup_owner):
        raise PermissionDenied("denied", user=user.name if user else "anonymous", action=action)
