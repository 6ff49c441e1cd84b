"""Dossier domain layer: validation, versions, audit, soft delete, reads with access rules."""
from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from kam_core import auth
from kam_core import dossier as d
from kam_core.imports import aliases
from kam_core.demo.dossiers import load_demo_dossiers
from kam_core.locales.labels import t
from kam_core.permissions import SYSTEM, PermissionDenied, User
from sales_lines import add_sales
from kam_core.store import open_store

DIRECTOR = User("dee", "director")
MIA = User("mia", "manager")      # owns Acme
MAX = User("max", "manager")      # owns Beta, backs up Acme
VIEWER = User("val", "viewer")
TODAY = dt.date(2025, 6, 15)


@pytest.fixture
def store():
    s = open_store(":memory:")
    s.cursor().execute(
        "insert into users (name, role) values ('dee', 'director'), ('mia', 'manager'),"
        " ('max', 'manager'), ('val', 'viewer')"
    )
    d.set_owner(s, DIRECTOR, "Acme", "mia", "max")
    d.set_owner(s, DIRECTOR, "Beta", "max", None)
    yield s
    s.close()


def errors_of(exc_info) -> dict[str, str]:
    return exc_info.value.errors


def audit_rows(store, table: str, key) -> list[tuple]:
    return store.cursor().execute(
        "select who, action, field, old_value, new_value from audit_log"
        " where table_name = ? and record_key = ? order by id", [table, str(key)]
    ).fetchall()


# -- validation -----------------------------------------------------------
def test_a_contact_without_role_and_name_reports_both_as_required(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "contacts", "Acme", {"title": "采购员"})
    assert errors_of(e) == {"role": "is required", "name": "is required"}


def test_blank_text_counts_as_missing_for_required_fields(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "   "})
    assert set(errors_of(e)) == {"name"}


@pytest.mark.parametrize("email", ["li.na@example.com", "a+b@sub.example.cn", "X_Y-1@example.org"])
def test_well_formed_email_addresses_are_accepted(store, email):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "李娜", "email": email})
    assert d.list_contacts(store, MIA, "Acme").set_index("id").loc[cid, "email"] == email


@pytest.mark.parametrize("email", ["li.na@example", "no-at-sign.example.com", "a b@example.com", "a@@example.com",
                                   "a@example.c", "@example.com"])
def test_malformed_email_addresses_are_rejected(store, email):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "李娜", "email": email})
    assert "e-mail" in errors_of(e)["email"]


@pytest.mark.parametrize("phone", [
    "13800001234", "138-0000-1234", "138 0000 1234", "+86 138 0000 1234", "+8613800001234",
    "021-12345678", "0755-1234567", "(021)12345678", "+86 21 1234 5678", "400-123-4567",
    "021-12345678-801", "021-12345678转801", "０２１－１２３４５６７８",
])
def test_chinese_mobile_and_landline_numbers_are_accepted(store, phone):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "张伟", "phone": phone})
    assert d.list_contacts(store, MIA, "Acme").set_index("id").loc[cid, "phone"] == phone.strip()


@pytest.mark.parametrize("phone", ["12800001234", "1380000123", "138000012345", "021-1234", "abc",
                                   "138@0000@1234", "21-12345678", "+1 650 253 0000"])
def test_malformed_phone_numbers_are_rejected(store, phone):
    with pytest.raises(d.ValidationError) as e:
        d.upsert_account(store, MIA, "Acme", {"phone": phone})
    assert "phone number" in errors_of(e)["phone"]


def test_fax_follows_the_phone_rule(store):
    with pytest.raises(d.ValidationError) as e:
        d.upsert_account(store, MIA, "Acme", {"fax": "12345"})
    assert set(errors_of(e)) == {"fax"}


def test_an_agreement_ending_before_it_starts_is_rejected_and_equal_dates_are_fine(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "agreements", "Acme", {"title": "年度协议", "valid_from": "2025-02-01", "valid_to": "2025-01-31"})
    assert "valid_to" in errors_of(e)
    rid = d.add_record(store, MIA, "agreements", "Acme", {"title": "一日协议", "valid_from": "2025-02-01", "valid_to": "2025-02-01"})
    assert rid > 0


def test_a_plan_period_ending_before_it_starts_is_rejected(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "plans", "Acme", {"kind": "monthly_promotion", "side": "ours",
                                        "period_start": dt.date(2025, 5, 10), "period_end": dt.date(2025, 5, 9)})
    assert set(errors_of(e)) == {"period_end"}


def test_a_follow_up_before_the_meeting_is_rejected(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "negotiations", "Acme", {"held_on": "2025-05-10", "topic": "返利", "follow_up_on": "2025-05-01"})
    assert set(errors_of(e)) == {"follow_up_on"}


def test_date_order_is_checked_against_the_stored_record_on_update(store):
    rid = d.add_record(store, MIA, "agreements", "Acme", {"title": "年度协议", "valid_from": "2025-01-01", "valid_to": "2025-12-31"})
    with pytest.raises(d.ValidationError) as e:
        d.update_record(store, MIA, "agreements", rid, {"valid_from": "2026-01-01"}, expected_version=1)
    assert "valid_to" in errors_of(e)


@pytest.mark.parametrize("value", ["next week", "2025-02-30", 20250101, "1899-01-01"])
def test_things_that_are_not_dates_are_rejected(store, value):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "negotiations", "Acme", {"held_on": value, "topic": "返利"})
    assert "date" in errors_of(e)["held_on"]


def test_dates_are_accepted_in_iso_slash_and_chinese_forms(store):
    ids = [d.add_record(store, MIA, "negotiations", "Acme", {"held_on": v, "topic": "t"})
           for v in ("2025-03-01", "2025/3/1", "2025年3月1日", dt.datetime(2025, 3, 1, 9, 30))]
    got = d.list_records(store, MIA, "Acme", "negotiations").set_index("id").loc[ids, "held_on"]
    assert {x.date() for x in got} == {dt.date(2025, 3, 1)}


@pytest.mark.parametrize("score", [0, 6, 3.5, "x", True, -1])
def test_scores_outside_whole_numbers_one_to_five_are_rejected(store, score):
    with pytest.raises(d.ValidationError) as e:
        d.upsert_account(store, MIA, "Acme", {"score_cooperation": score})
    assert "1 to 5" in errors_of(e)["score_cooperation"] or "number" in errors_of(e)["score_cooperation"]


def test_scores_one_to_five_are_stored_as_integers(store):
    acct = d.upsert_account(store, MIA, "Acme", {"score_brand_awareness": 1, "score_cooperation": "4",
                                                 "score_supply_priority": 5.0, "score_new_product_priority": None})
    assert (acct["score_brand_awareness"], acct["score_cooperation"], acct["score_supply_priority"],
            acct["score_new_product_priority"]) == (1, 4, 5, None)


def test_a_contact_relationship_strength_is_a_score_too(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳", "relationship": 9})
    assert set(errors_of(e)) == {"relationship"}


def test_roles_kinds_sides_and_influence_must_come_from_their_lists(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "contacts", "Acme", {"role": "ceo", "name": "王芳", "influence": "boss"})
    assert set(errors_of(e)) == {"role", "influence"}
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "plans", "Acme", {"kind": "party", "side": "both"})
    assert set(errors_of(e)) == {"kind", "side"}


def test_a_role_typed_with_spaces_and_capitals_is_normalised(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "Purchasing Manager", "name": "王芳"})
    assert d.list_contacts(store, MIA, "Acme").set_index("id").loc[cid, "role"] == "purchasing_manager"


def test_a_negative_budget_is_rejected_and_zero_or_thousands_commas_are_fine(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "plans", "Acme", {"kind": "budget", "side": "ours", "budget": -1})
    assert errors_of(e) == {"budget": "must be zero or more"}
    rid = d.add_record(store, MIA, "plans", "Acme", {"kind": "budget", "side": "ours", "budget": "1,000.5"})
    d.add_record(store, MIA, "plans", "Acme", {"kind": "budget", "side": "ours", "budget": 0})
    row = store.cursor().execute("select budget from plans where id = ?", [rid]).fetchone()
    assert row[0] == Decimal("1000.50")


def test_a_rebate_share_above_one_is_rejected(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "agreements", "Acme", {"title": "返利", "rebate_share": 3})
    assert set(errors_of(e)) == {"rebate_share"}


def test_unknown_fields_and_owner_fields_cannot_be_written_through_upsert(store):
    with pytest.raises(d.ValidationError) as e:
        d.upsert_account(store, MIA, "Acme", {"owner": "mia", "colour": "red", "phone": "x"})
    assert set(errors_of(e)) == {"owner", "colour", "phone"}


def test_a_record_cannot_be_moved_to_another_account(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳"})
    with pytest.raises(d.ValidationError) as e:
        d.update_record(store, MIA, "contacts", cid, {"account": "Beta"})
    assert set(errors_of(e)) == {"account"}


def test_a_failed_validation_writes_nothing(store):
    before = store.cursor().execute("select count(*) from audit_log").fetchone()[0]
    with pytest.raises(d.ValidationError):
        d.upsert_account(store, MIA, "Acme", {"address": "上海", "email": "bad"})
    assert store.cursor().execute("select count(*) from audit_log").fetchone()[0] == before
    assert d.get_account(store, MIA, "Acme")["address"] is None


# -- optimistic concurrency -------------------------------------------------
def test_two_edits_from_the_same_version_conflict_and_the_second_sees_both_values(store):
    v = d.get_account(store, MIA, "Acme")["version"]
    d.upsert_account(store, MIA, "Acme", {"phone": "021-11111111"}, expected_version=v)
    with pytest.raises(d.VersionConflict) as e:
        d.upsert_account(store, MAX, "Acme", {"phone": "021-22222222"}, expected_version=v)
    assert e.value.fields == {"phone": ("021-11111111", "021-22222222")}
    assert (e.value.expected_version, e.value.current_version) == (v, v + 1)
    assert e.value.updated_by == "mia"
    assert "021-11111111" in str(e.value) and "021-22222222" in str(e.value) and "mia" in str(e.value)
    assert d.get_account(store, MIA, "Acme")["phone"] == "021-11111111"


def test_a_stale_contact_edit_conflicts_and_leaves_the_first_edit_in_place(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳", "title": "采购员"})
    d.update_record(store, MIA, "contacts", cid, {"title": "高级采购员"}, expected_version=1)
    with pytest.raises(d.VersionConflict) as e:
        d.update_record(store, MAX, "contacts", cid, {"title": "采购主管"}, expected_version=1)
    assert e.value.fields == {"title": ("高级采购员", "采购主管")}
    row = d.list_contacts(store, MIA, "Acme").iloc[0]
    assert (row["title"], row["version"]) == ("高级采购员", 2)


def test_the_version_increments_once_per_write_and_not_for_a_write_that_changes_nothing(store):
    assert d.get_account(store, MIA, "Acme")["version"] == 1      # created by set_owner in one insert
    a = d.upsert_account(store, MIA, "Acme", {"phone": "021-11111111", "address": "上海"}, expected_version=1)
    assert a["version"] == 2
    a = d.upsert_account(store, MIA, "Acme", {"phone": "021-11111111"}, expected_version=2)
    assert a["version"] == 2


# -- audit trail ------------------------------------------------------------
def test_each_changed_field_leaves_one_audit_row_with_old_and_new_values(store):
    d.upsert_account(store, MIA, "Acme", {"address": "上海", "website": "a.example.com"})
    d.upsert_account(store, MIA, "Acme", {"address": "北京", "website": "a.example.com", "score_cooperation": 4})
    rows = [r for r in audit_rows(store, "accounts", "Acme") if r[2] in ("address", "website", "score_cooperation")]
    assert rows == [
        ("mia", "update", "address", None, "上海"),
        ("mia", "update", "website", None, "a.example.com"),
        ("mia", "update", "address", "上海", "北京"),
        ("mia", "update", "score_cooperation", None, "4"),
    ]


def test_adding_a_record_audits_each_given_field_as_an_insert(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳", "phone": "138-0000-0001"})
    assert audit_rows(store, "contacts", cid) == [
        ("mia", "insert", "account", None, "Acme"),
        ("mia", "insert", "role", None, "buyer"),
        ("mia", "insert", "name", None, "王芳"),
        ("mia", "insert", "phone", None, "138-0000-0001"),
    ]


def test_owner_assignment_is_audited(store):
    d.set_owner(store, DIRECTOR, "Acme", "max", "mia")
    rows = [r for r in audit_rows(store, "accounts", "Acme") if r[2] in ("owner", "backup_owner")]
    assert rows[-2:] == [("dee", "update", "owner", "mia", "max"), ("dee", "update", "backup_owner", "max", "mia")]


def test_account_history_collects_account_and_record_changes_newest_first(store):
    d.upsert_account(store, MIA, "Acme", {"address": "上海"})
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳"})
    d.update_record(store, MIA, "contacts", cid, {"name": "王芳芳"})
    d.add_record(store, MAX, "contacts", "Beta", {"role": "buyer", "name": "别的"})
    h = d.account_history(store, DIRECTOR, "Acme")
    assert list(h[["table_name", "field", "old_value", "new_value"]].head(1).itertuples(index=False, name=None)) == [
        ("contacts", "name", "王芳", "王芳芳")]
    assert "别的" not in set(h["new_value"].dropna())
    assert ("accounts", "address") in set(zip(h["table_name"], h["field"]))


# -- soft delete and restore ------------------------------------------------
def test_a_deleted_contact_disappears_from_the_list_and_comes_back_on_restore(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳"})
    d.delete_record(store, MIA, "contacts", cid)
    assert d.list_contacts(store, MIA, "Acme").empty
    assert d.list_contacts(store, MIA, "Acme", include_deleted=True)["id"].tolist() == [cid]
    with pytest.raises(d.ValidationError):
        d.update_record(store, MIA, "contacts", cid, {"title": "x"})
    d.restore_record(store, MIA, "contacts", cid)
    assert d.list_contacts(store, MIA, "Acme")["id"].tolist() == [cid]
    assert [r[1] for r in audit_rows(store, "contacts", cid)][-2:] == ["delete", "restore"]


def test_soft_delete_works_for_every_record_kind(store):
    ids = {
        "negotiations": d.add_record(store, MIA, "negotiations", "Acme", {"held_on": "2025-01-02", "topic": "t"}),
        "agreements": d.add_record(store, MIA, "agreements", "Acme", {"title": "t"}),
        "price_changes": d.add_record(store, MIA, "price_changes", "Acme", {"changed_on": "2025-01-02", "new_price": 9.9}),
        "plans": d.add_record(store, MIA, "plans", "Acme", {"kind": "other", "side": "theirs"}),
    }
    for kind, rid in ids.items():
        d.delete_record(store, MIA, kind, rid)
        assert d.list_records(store, VIEWER, "Acme", kind).empty, kind
        d.restore_record(store, MIA, kind, rid)
        assert d.list_records(store, VIEWER, "Acme", kind)["id"].tolist() == [rid], kind


def test_editing_a_missing_record_says_it_does_not_exist(store):
    with pytest.raises(d.NotFound):
        d.update_record(store, MIA, "plans", 999, {"title": "x"})


# -- permissions ------------------------------------------------------------
def test_a_viewer_cannot_edit_anything(store):
    with pytest.raises(PermissionDenied):
        d.upsert_account(store, VIEWER, "Acme", {"address": "上海"})
    with pytest.raises(PermissionDenied):
        d.add_record(store, VIEWER, "contacts", "Acme", {"role": "buyer", "name": "王芳"})
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳"})
    with pytest.raises(PermissionDenied):
        d.delete_record(store, VIEWER, "contacts", cid)


def test_a_manager_edits_own_and_backed_up_accounts_but_not_others(store):
    d.upsert_account(store, MIA, "Acme", {"address": "上海"})
    d.upsert_account(store, MAX, "Acme", {"address": "北京"})       # backup owner
    with pytest.raises(PermissionDenied):
        d.upsert_account(store, MIA, "Beta", {"address": "上海"})
    cid = d.add_record(store, MAX, "contacts", "Beta", {"role": "buyer", "name": "王芳"})
    with pytest.raises(PermissionDenied):
        d.update_record(store, MIA, "contacts", cid, {"title": "x"})
    with pytest.raises(PermissionDenied):
        d.restore_record(store, MIA, "contacts", cid)


def test_only_a_director_creates_a_dossier_for_an_unowned_account(store):
    with pytest.raises(PermissionDenied):
        d.upsert_account(store, MIA, "Gamma", {"address": "上海"})
    assert d.upsert_account(store, DIRECTOR, "Gamma", {"address": "上海"})["version"] == 1


def test_only_directors_assign_owners_and_only_to_managers_or_directors(store):
    with pytest.raises(PermissionDenied):
        d.set_owner(store, MIA, "Acme", "mia", None)
    with pytest.raises(d.ValidationError) as e:
        d.set_owner(store, DIRECTOR, "Acme", "nobody", "val")
    assert set(errors_of(e)) == {"owner", "backup_owner"}
    with pytest.raises(d.ValidationError):
        d.set_owner(store, DIRECTOR, "Acme", "mia", "mia")


def test_a_manager_sees_personal_fields_only_on_own_accounts_and_a_director_everywhere(store):
    d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳", "phone": "138-0000-0001",
                                       "email": "w@example.com", "personal_notes": "喜欢茶", "spending_limit": 1000})
    d.add_record(store, MAX, "contacts", "Beta", {"role": "buyer", "name": "李娜", "phone": "138-0000-0002",
                                       "email": "l@example.com", "personal_notes": "喜欢咖啡", "spending_limit": 2000})
    own = d.list_contacts(store, MIA, "Acme").iloc[0]
    assert (own["phone"], own["email"], own["personal_notes"], own["spending_limit"]) == (
        "138-0000-0001", "w@example.com", "喜欢茶", 1000.0)
    other = d.list_contacts(store, MIA, "Beta")
    assert other.attrs["personal_hidden"] is True
    assert other[["phone", "email", "personal_notes", "spending_limit"]].isna().all().all()
    assert other.iloc[0]["name"] == "李娜"      # the person is visible, the details are not
    viewer = d.list_contacts(store, VIEWER, "Acme")
    assert viewer[["phone", "email", "personal_notes", "spending_limit"]].isna().all().all()
    boss = d.list_contacts(store, DIRECTOR, "Beta").iloc[0]
    assert (boss["phone"], boss["spending_limit"]) == ("138-0000-0002", 2000.0)


def test_history_masks_personal_values_for_viewers_but_not_for_the_owner(store):
    cid = d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "王芳", "phone": "138-0000-0001"})
    d.update_record(store, MIA, "contacts", cid, {"phone": "138-0000-0009"})
    hv = d.account_history(store, VIEWER, "Acme")
    phone_rows = hv[(hv["table_name"] == "contacts") & (hv["field"] == "phone")].fillna("")
    assert phone_rows[["old_value", "new_value"]].values.tolist() == [[d.MASK, d.MASK], ["", d.MASK]]
    assert "王芳" in set(hv["new_value"])
    ho = d.account_history(store, MIA, "Acme")
    phone_rows = ho[(ho["table_name"] == "contacts") & (ho["field"] == "phone")].fillna("")
    assert phone_rows[["old_value", "new_value"]].values.tolist() == [["138-0000-0001", "138-0000-0009"],
                                                                        ["", "138-0000-0001"]]


def test_may_edit_and_may_read_personal_follow_the_rules(store):
    assert d.may_edit(store, MIA, "Acme") and not d.may_edit(store, MIA, "Beta") and not d.may_edit(store, VIEWER, "Acme")
    assert d.may_read_personal(store, MAX, "Acme") and not d.may_read_personal(store, VIEWER, "Acme")


# -- derived reads ----------------------------------------------------------
def test_completeness_on_a_worked_example(store):
    # present: phone, address (2 basic) + org_structure, history (2 facts) + buyer, chairman (2 levels)
    # + one negotiation = 7 of 8 + 4 + 12 + 2 = 26; 'other' is not a policy level, the agreement is deleted.
    d.upsert_account(store, MIA, "Acme", {"phone": "021-12345678", "address": "上海", "org_structure": "x", "history": "y"})
    d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "a"})
    d.add_record(store, MIA, "contacts", "Acme", {"role": "chairman", "name": "b"})
    d.add_record(store, MIA, "contacts", "Acme", {"role": "other", "name": "c"})
    d.add_record(store, MIA, "negotiations", "Acme", {"held_on": "2025-01-02", "topic": "t"})
    d.delete_record(store, MIA, "agreements", d.add_record(store, MIA, "agreements", "Acme", {"title": "t"}))
    c = d.completeness(store, VIEWER, "Acme")
    assert (c["present"], c["total"]) == (7, 26)
    assert c["score"] == pytest.approx(7 / 26)
    assert len(c["missing_keys"]) == 19
    assert {"contact:purchasing_manager", "fax", "email", "agreement", "price_policy"} <= set(c["missing_keys"])
    assert not {"contact:buyer", "contact:chairman", "phone", "negotiation"} & set(c["missing_keys"])
    named = {lang: [t(d.item_label_key(k), lang) for k in c["missing_keys"]] for lang in ("en", "zh")}
    assert "Fax" in named["en"] and "传真" in named["zh"]
    assert "Purchasing manager" in named["en"] and "至少一份协议" in named["zh"]


def test_a_completeness_item_and_its_field_are_named_by_the_same_label():
    # the completeness line and the facts tab ask the catalogue for the same key, so one wording
    assert d.item_label_key("email") == "dossier.email" and t("dossier.email", "zh") == "电邮"
    assert d.item_label_key("org_structure") == "dossier.org_structure" and t("dossier.org_structure", "zh") == "组织架构"
    assert d.item_label_key("own_suppliers") == "dossier.suppliers"
    assert d.item_label_key("contact:marketing_head") == "role.marketing_head"
    assert d.item_label_key("negotiation") == "dossier.item.negotiation"


def test_an_account_without_a_dossier_has_completeness_zero(store):
    c = d.completeness(store, VIEWER, "Nobody")
    assert (c["score"], c["present"], len(c["missing_keys"])) == (0.0, 0, 26)


def test_department_gaps_list_missing_decision_makers_and_unreplaced_expired_agreements(store):
    for name in ("A", "B", "C", "D", "E"):
        d.upsert_account(store, DIRECTOR, name, {})
    d.add_record(store, DIRECTOR, "contacts", "A", {"role": "chairman", "name": "a"})
    d.add_record(store, DIRECTOR, "agreements", "A", {"title": "old", "valid_to": "2025-06-14"})
    d.add_record(store, DIRECTOR, "contacts", "B", {"role": "buyer", "name": "b", "influence": "decision_maker"})
    d.add_record(store, DIRECTOR, "contacts", "C", {"role": "buyer", "name": "c"})
    d.add_record(store, DIRECTOR, "contacts", "D", {"role": "general_manager", "name": "d"})
    d.add_record(store, DIRECTOR, "agreements", "D", {"title": "old", "valid_to": "2025-01-01"})
    d.add_record(store, DIRECTOR, "agreements", "D", {"title": "new", "valid_to": "2025-06-15"})
    d.add_record(store, DIRECTOR, "contacts", "E", {"role": "purchasing_director", "name": "e"})
    d.add_record(store, DIRECTOR, "agreements", "E", {"title": "old", "valid_to": "2025-01-01", "status": "renewed"})
    gaps = d.department_gaps(store, VIEWER, TODAY, accounts=["A", "B", "C", "D", "E"])
    assert gaps[["account", "no_decision_maker", "expired_agreements"]].values.tolist() == [
        ["A", False, 1], ["C", True, 0]]
    assert gaps.iloc[0]["last_expired"].date() == dt.date(2025, 6, 14)


def test_expiring_agreements_include_the_sixtieth_day_and_exclude_past_and_terminated_ones(store):
    for title, vt, status in [("in60", TODAY + dt.timedelta(days=60), None), ("in61", TODAY + dt.timedelta(days=61), None),
                              ("today", TODAY, "active"), ("past", TODAY - dt.timedelta(days=1), None),
                              ("ended", TODAY + dt.timedelta(days=5), "terminated")]:
        d.add_record(store, MIA, "agreements", "Acme", {"title": title, "valid_to": vt, "status": status})
    e = d.expiring_agreements(store, TODAY)
    assert e[["title", "days_left"]].values.tolist() == [["today", 0], ["in60", 60]]


def test_search_finds_accounts_by_name_alias_and_sales_with_exact_matches_first(store):
    cur = store.cursor()
    add_sales(store, ["date", "account", "amount"], [("2025-01-01", "Acme Foods", 1), ("2025-01-01", "Zeta", 1)])
    cur.execute("insert into account_aliases (alias_key, alias, account) values ('宝洁', '宝洁（中国）有限公司', 'Zeta')")
    assert d.search_accounts(store, "acme") == ["Acme", "Acme Foods"]
    assert d.search_accounts(store, "宝洁") == ["Zeta"]
    assert d.search_accounts(store, "ＡＣＭＥ ｆｏｏｄｓ") == ["Acme Foods"]
    assert d.search_accounts(store, "") == ["Acme", "Acme Foods", "Beta", "Zeta"]


def test_scores_frame_has_one_row_per_dossier_with_nullable_scores(store):
    d.upsert_account(store, MIA, "Acme", {"score_brand_awareness": 5, "score_cooperation": 4,
                                          "score_supply_priority": 3, "score_new_product_priority": 2})
    f = d.scores_frame(store)
    assert list(f.columns) == ["account", "brand_awareness", "cooperation", "supply_priority", "new_product_priority"]
    assert f.iloc[0].tolist() == ["Acme", 5, 4, 3, 2]
    assert f.iloc[1]["account"] == "Beta" and f.iloc[1].iloc[1:].isna().all()


def test_the_dossier_version_moves_on_every_dossier_write_only(store):
    v0 = d.dossier_version(store)
    d.upsert_account(store, MIA, "Acme", {"address": "上海"})
    v1 = d.dossier_version(store)
    store.cursor().execute("insert into audit_log (id, who, action) values (nextval('audit_id_seq'), 'x', 'sign_in')")
    assert v1 > v0 and d.dossier_version(store) == v1


# -- demo dossiers ----------------------------------------------------------
def test_demo_dossiers_are_fictional_complete_enough_and_loaded_once(store):
    names = ["Acme", "Beta", "Gamma", "Delta", "Eps", "Zeta"]
    today = dt.date(2025, 6, 15)
    assert load_demo_dossiers(store, names, today=today) == 4     # Acme and Beta already had dossiers
    assert load_demo_dossiers(store, ["Gamma", "Delta", "Eps", "Zeta"], today=today) == 0
    fresh = open_store(":memory:")
    assert load_demo_dossiers(fresh, names, today=today) == 6
    assert d.completeness(fresh, SYSTEM, "Acme")["score"] == 1.0
    contacts = fresh.cursor().execute("select phone, email from contacts").fetchall()
    assert all(p.startswith("138-0000-") and e.endswith("@example.com") for p, e in contacts)
    exp = d.expiring_agreements(fresh, today)
    assert "Acme" in set(exp["account"])
    late = d.overdue_actions(fresh, SYSTEM, today)
    assert list(zip(late["account"], late["days_overdue"])) == [("Gamma", 7), ("Beta", 6), ("Acme", 5)]
    gaps = d.department_gaps(fresh, SYSTEM, today)
    assert gaps.set_index("account").loc["Beta", "expired_agreements"] == 1
    assert bool(gaps.set_index("account").loc["Delta", "no_decision_maker"])
    again = open_store(":memory:")
    load_demo_dossiers(again, names, today=today)
    q = "select role, name, phone from contacts order by id"
    assert again.cursor().execute(q).fetchall() == fresh.cursor().execute(q).fetchall()   # fixed seed


# -- aliases: merge and split ----------------------------------------------
def _sales_with_aliases(store):
    cur = store.cursor()
    add_sales(store, ["date", "account", "account_raw", "amount"], [
        ("2025-01-02", "Acme", "Acme", 100), ("2025-01-03", "Acme Trading", "Acme Trading", 20),
        ("2025-01-04", "Acme Trading", "ACME TRADING", 3), ("2025-01-05", "Acme Trading", "Acme Trading Ltd", 5)])
    cur.execute(
        "insert into account_aliases (alias_key, alias, account) values"
        " ('acme', 'Acme', 'Acme'), ('acme trading', 'Acme Trading', 'Acme Trading')"
    )


def test_merging_an_alias_moves_its_lines_records_it_and_bumps_the_data_version(store):
    _sales_with_aliases(store)
    before = store.data_version()
    moved = aliases.merge_alias(store, MIA, "acme trading", "Acme")
    # 'Acme Trading', 'ACME TRADING' and 'Acme Trading Ltd' all normalise to the key 'acme trading'
    assert moved == 3
    cur = store.cursor()
    assert cur.execute("select account, sum(amount) from sales group by account").fetchall() == [("Acme", Decimal("128.00"))]
    assert cur.execute("select account from account_aliases where alias_key = 'acme trading'").fetchone() == ("Acme",)
    assert audit_rows(store, "account_aliases", "acme trading") == [
        ("mia", "merge_alias", "account", "Acme Trading", "Acme")]
    assert store.data_version() > before


def test_splitting_an_alias_back_out_restores_its_own_account(store):
    _sales_with_aliases(store)
    aliases.merge_alias(store, MIA, "acme trading", "Acme")
    assert aliases.merge_alias(store, MIA, "acme trading", "Acme Trading") == 3
    rows = store.cursor().execute("select account, sum(amount) from sales group by account order by 1").fetchall()
    assert rows == [("Acme", Decimal("100.00")), ("Acme Trading", Decimal("28.00"))]


def test_a_viewer_may_not_merge_aliases_and_an_unknown_alias_is_reported(store):
    _sales_with_aliases(store)
    with pytest.raises(PermissionDenied):
        aliases.merge_alias(store, VIEWER, "acme trading", "Acme")
    with pytest.raises(d.NotFound):
        aliases.merge_alias(store, MIA, "no such name", "Acme")
    assert store.cursor().execute("select count(*) from sales where account = 'Acme'").fetchone() == (1,)


def test_list_aliases_tells_which_raw_names_have_a_dossier(store):
    _sales_with_aliases(store)
    df = d.list_aliases(store, VIEWER)
    assert df[["alias", "account", "has_dossier", "lines"]].values.tolist() == [
        ["Acme", "Acme", True, 1], ["Acme Trading", "Acme Trading", False, 3]]


def test_the_alias_list_marks_the_accounts_it_is_told_have_a_dossier(store):
    _sales_with_aliases(store)
    df = aliases.list_aliases(store, VIEWER, ["Acme Trading"])
    assert df.columns.tolist() == ["alias_key", "alias", "account", "has_dossier", "lines"]
    assert df[["alias", "has_dossier", "lines"]].values.tolist() == [["Acme", False, 1], ["Acme Trading", True, 3]]
    assert sorted(aliases.alias_names(store)) == [("Acme", "Acme"), ("Acme", "acme"), ("Acme Trading", "Acme Trading"),
                                                  ("Acme Trading", "acme trading")]


def test_the_exchange_frame_lists_each_dossiers_ticked_items(store):
    from kam_core.dossier import plans

    plans.set_exchange_checklist(store, MIA, "Acme", {"their_ad_agencies": True, "our_event_calendar_sent": True})
    df = plans.exchange_frame(store, VIEWER)
    assert df["account"].tolist() == ["Acme", "Beta"]
    assert df["done"].tolist() == [2, 0]
    assert df.loc[0, "their_ad_agencies"] and not df.loc[0, "their_marketing_structure"]
    assert plans.exchange_frame(store, VIEWER, accounts=["Beta"])["account"].tolist() == ["Beta"]


# -- the account plan: goals and action items (policy §5) ------------------------------------
def test_a_goal_needs_a_year_and_a_title_and_aims_at_one_of_the_policys_tiers(store):
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "goals", "Acme", {"target_tier": "gold"})
    assert errors_of(e) == {"target_tier": "must be one of strategic, partner, ordinary"}
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "goals", "Acme", {"year": 1899, "title": "x"})
    assert errors_of(e) == {"year": "must be a year between 1990 and 2100"}
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "goals", "Acme", {"notes": "x"})
    assert errors_of(e) == {"year": "is required", "title": "is required"}
    gid = d.add_record(store, MIA, "goals", "Acme", {"year": "2025", "title": "升级为战略性大客户", "target_tier": "Strategic"})
    goal = d.list_records(store, VIEWER, "Acme", "goals").iloc[0]
    assert (goal["id"], goal["year"], goal["target_tier"]) == (gid, 2025, "strategic")


def test_an_action_item_points_at_a_goal_of_the_same_account_and_an_existing_user(store):
    acme_goal = d.add_record(store, MIA, "goals", "Acme", {"year": 2025, "title": "双11联合促销"})
    beta_goal = d.add_record(store, MAX, "goals", "Beta", {"year": 2025, "title": "新品首发"})
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "action_items", "Acme", {"title": "确认方案", "goal_id": beta_goal, "owner": "nobody"})
    assert errors_of(e) == {"goal_id": f"must be one of the account's goals (no goal #{beta_goal} at Acme)",
                            "owner": "no user named 'nobody'"}
    aid = d.add_record(store, MIA, "action_items", "Acme", {"title": "确认方案", "goal_id": acme_goal, "owner": "max",
                                                 "due_on": "2025-06-30", "status": "in progress"})
    row = d.list_records(store, VIEWER, "Acme", "action_items").iloc[0]
    assert (row["id"], row["goal_id"], row["owner"], row["status"]) == (aid, acme_goal, "max", "in_progress")
    d.delete_record(store, MIA, "goals", acme_goal)
    with pytest.raises(d.ValidationError) as e:
        d.update_record(store, MIA, "action_items", aid, {"goal_id": acme_goal})
    assert set(errors_of(e)) == {"goal_id"}                   # a deleted goal is no longer a goal to point at


def test_action_items_are_versioned_audited_and_kept_in_the_accounts_history(store):
    aid = d.add_record(store, MIA, "action_items", "Acme", {"title": "寄送样品", "due_on": "2025-06-30"})
    d.update_record(store, MAX, "action_items", aid, {"status": "done"}, expected_version=1)      # MAX backs Acme up
    with pytest.raises(d.VersionConflict) as e:
        d.update_record(store, MIA, "action_items", aid, {"status": "cancelled"}, expected_version=1)
    assert e.value.fields == {"status": ("done", "cancelled")} and e.value.updated_by == "max"
    assert audit_rows(store, "action_items", aid) == [
        ("mia", "insert", "account", None, "Acme"), ("mia", "insert", "title", None, "寄送样品"),
        ("mia", "insert", "due_on", None, "2025-06-30"), ("max", "update", "status", None, "done")]
    hist = d.account_history(store, VIEWER, "Acme")
    assert ("action_items", "status", "done") in set(zip(hist["table_name"], hist["field"], hist["new_value"]))


def test_a_manager_keeps_the_plan_of_own_accounts_only(store):
    with pytest.raises(PermissionDenied):
        d.add_record(store, MIA, "goals", "Beta", {"year": 2025, "title": "x"})
    with pytest.raises(PermissionDenied):
        d.add_record(store, VIEWER, "action_items", "Acme", {"title": "x"})
    assert d.owned_accounts(store, "max") == ["Acme", "Beta"]     # owner of Beta, backup of Acme
    assert d.owned_accounts(store, "mia") == ["Acme"]


@pytest.mark.parametrize("email", ["li.na@example", "a b@example.com", "a@@example.com", "no-at-sign.example.com"])
def test_users_and_contacts_refuse_the_same_malformed_email(store, email):
    # one e-mail rule (kam_core.safe_text.is_email) for both: "li.na@example" was a valid user e-mail before
    with pytest.raises(d.ValidationError):
        d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "李娜", "email": email})
    with pytest.raises(auth.UserError):
        auth.create_user(store, "someone", "viewer", None, email=email)


def test_users_and_contacts_accept_the_same_wellformed_email(store):
    d.add_record(store, MIA, "contacts", "Acme", {"role": "buyer", "name": "李娜", "email": "li.na@example.cn"})
    auth.create_user(store, "someone", "viewer", None, email="li.na@example.cn")
    assert auth.user_by_email(store, "li.na@example.cn").name == "someone"


# -- users are asked of kam_core.auth; a whole dossier in one transaction ----------
def test_a_disabled_user_is_no_owner_of_an_action_item_and_not_offered(store):
    auth.disable_user(store, "max")
    with pytest.raises(d.ValidationError) as e:
        d.add_record(store, MIA, "action_items", "Acme", {"title": "寄送样品", "owner": "max"})
    assert errors_of(e) == {"owner": "max is disabled"}
    assert d.active_user_names(store) == ["dee", "mia", "val"]


def test_new_dossier_writes_the_account_its_owner_and_records_in_one_transaction(store):
    from kam_core.dossier import records
    with records.new_dossier(store, SYSTEM, "Gamma", {"phone": "021-12345678"}, "mia", "max") as add:
        cid = add("contacts", {"role": "buyer", "name": "王伟"})
        gid = add("goals", {"year": 2025, "title": "新品首发"})
        add("action_items", {"title": "寄样", "goal_id": gid, "owner": "mia"})
    acct = d.get_account(store, SYSTEM, "Gamma")
    assert (acct["phone"], acct["owner"], acct["backup_owner"]) == ("021-12345678", "mia", "max")
    assert d.list_contacts(store, SYSTEM, "Gamma")["id"].tolist() == [cid]
    assert audit_rows(store, "contacts", cid)[0][:2] == ("system", "insert")
    with records.new_dossier(store, SYSTEM, "Gamma", {"fax": "021-12345679"}) as add:
        assert add is None                                     # it exists: nothing is written
    assert d.get_account(store, SYSTEM, "Gamma")["fax"] is None
    with pytest.raises(d.ValidationError):
        with records.new_dossier(store, SYSTEM, "Delta", {}) as add:
            add("contacts", {"role": "buyer", "name": "李娜"})
            add("contacts", {"role": "nobody"})                 # invalid: the whole dossier is rolled back
    assert d.get_account(store, SYSTEM, "Delta") is None
    assert d.list_contacts(store, SYSTEM, "Delta").empty
