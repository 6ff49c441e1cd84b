"""The role × action × ownership matrix of kam_core.permissions, written out by hand from issue 7."""
from __future__ import annotations

import pytest

from kam_core.permissions import ACTIONS, ROLES, SYSTEM, PermissionDenied, User, can, require

# For each action: (director, manager on own account, manager on another's, viewer on own, viewer on another's).
# "own" means the user is the account's owner; the backup owner is checked separately below.
MATRIX: dict[str, tuple[bool, bool, bool, bool, bool]] = {
    #                   dir    mgr own mgr other vw own  vw other
    "read_numbers":    (True,  True,  True,  True,  True),
    "export_report":   (True,  True,  True,  True,  True),
    "read_dossier":    (True,  True,  True,  True,  True),
    "read_personal":   (True,  True,  False, False, False),
    "edit_dossier":    (True,  True,  False, False, False),
    "export_personal": (True,  True,  False, False, False),
    "import":          (True,  True,  True,  False, False),
    "undo_import":     (True,  False, False, False, False),
    "manage_settings": (True,  False, False, False, False),
    "manage_users":    (True,  False, False, False, False),
    "assign_owner":    (True,  False, False, False, False),
    "manage_aliases":  (True,  True,  True,  False, False),
    "read_audit":      (True,  False, False, False, False),
}

CASES = [
    (action, role, owns, expected[i])
    for action, expected in MATRIX.items()
    for i, (role, owns) in enumerate(
        [("director", False), ("manager", True), ("manager", False), ("viewer", True), ("viewer", False)])
]


def test_the_matrix_covers_every_declared_action():
    assert set(MATRIX) == set(ACTIONS)


@pytest.mark.parametrize("action, role, owns, expected", CASES)
def test_each_role_may_do_exactly_what_the_matrix_says(action, role, owns, expected):
    user = User("alice", role)
    owner = "alice" if owns else "bob"
    assert can(user, action, owner=owner, backup_owner="carol") is expected


@pytest.mark.parametrize("action", ["read_personal", "edit_dossier", "export_personal"])
def test_a_backup_owner_has_the_same_rights_as_the_owner(action):
    assert can(User("carol", "manager"), action, owner="bob", backup_owner="carol") is True


@pytest.mark.parametrize("action", ["read_personal", "edit_dossier", "export_personal"])
def test_an_account_without_owner_is_nobodys_own_account(action):
    # A manager called None-like must not match an unset owner.
    assert can(User("alice", "manager"), action, owner=None, backup_owner=None) is False


def test_a_director_may_act_on_any_account_without_being_named():
    assert all(can(User("zhang", "director"), a, owner="someone else") for a in ACTIONS)


@pytest.mark.parametrize("user", [None, User("mallory", "admin"), User("mallory", "")])
def test_no_user_or_an_unknown_role_may_do_nothing(user):
    assert not any(can(user, a, owner="mallory") for a in ACTIONS)


def test_require_raises_permission_denied_naming_the_action():
    with pytest.raises(PermissionDenied, match="wang may not edit dossier") as refused:
        require(User("wang", "viewer"), "edit_dossier", owner="wang")
    assert (refused.value.code, refused.value.params) == ("denied", {"user": "wang", "action": "edit_dossier"})


def test_a_refusal_is_said_in_the_pages_language_from_its_code():
    from kam_core.ui.errors import permission_text

    with pytest.raises(PermissionDenied) as refused:
        require(User("wang_*x*", "viewer"), "undo_import")
    assert permission_text(refused.value, "zh") == "wang\\_\\*x\\* 没有权限撤销导入。"   # the name shown as text
    assert permission_text(refused.value, "en") == "wang\\_\\*x\\* may not undo imports."
    assert permission_text(PermissionDenied("admin_exists"), "zh") == "管理员已存在，请让管理员为你创建用户。"


def test_every_action_has_words_in_both_languages():
    from kam_core.locales.labels import t

    assert all(t(f"permission.action.{a}", lang) for a in ACTIONS for lang in ("zh", "en"))


def test_require_is_silent_when_allowed_and_system_is_a_director():
    require(SYSTEM, "manage_users")
    assert SYSTEM.role == "director" and set(ROLES) == {"director", "manager", "viewer"}


def test_an_unknown_action_is_a_programming_error_not_a_silent_no():
    with pytest.raises(KeyError):
        can(SYSTEM, "launch_rockets")
