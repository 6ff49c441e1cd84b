"""Account dossiers (policy §4) and joint marketing plans (§5): the only writer of their tables.

Every public function takes the acting :class:`~kam_core.permissions.User` and
checks the access rule itself, so a page that forgets cannot leak or change
anything. Every write is validated, runs in one transaction, bumps the row's
``version`` (optimistic concurrency: a stale ``expected_version`` raises
:class:`VersionConflict` naming both values) and appends one audit row per
changed field. Deletes are soft (``deleted_at``) and can be restored.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import random
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any, Sequence

import pandas as pd

from kam_core import audit, permissions
from kam_core.permissions import SYSTEM, User
from kam_core.sales import accounts as account_sales
from kam_core.sales import lines as sales_lines
from kam_core.store import Store

# --------------------------------------------------------------------------
# Vocabulary
# --------------------------------------------------------------------------
CONTACT_ROLES: tuple[str, ...] = (
    "buyer", "purchasing_manager", "purchasing_director", "finance_director", "sales_manager",
    "distribution_manager", "general_manager", "chairman", "marketing_head", "other",
)
POLICY_LEVELS: tuple[str, ...] = CONTACT_ROLES[:8]
"""The eight levels of people policy §4.1 asks the dossier to hold."""
DECISION_ROLES: tuple[str, ...] = ("general_manager", "chairman", "purchasing_director")
INFLUENCE: tuple[str, ...] = ("decision_maker", "influencer", "user", "blocker")
PLAN_KINDS: tuple[str, ...] = (
    "yearly_market_plan", "monthly_promotion", "quarterly_advertising", "budget", "new_product_launch",
    "launch_event", "holiday_promotion", "data_exchange", "other",
)
PROMOTION_KINDS: tuple[str, ...] = ("monthly_promotion", "holiday_promotion", "new_product_launch", "launch_event")
PLAN_SIDES: tuple[str, ...] = ("ours", "theirs")
PLAN_STATUSES: tuple[str, ...] = ("proposed", "agreed", "running", "done", "cancelled")
AGREEMENT_STATUSES: tuple[str, ...] = ("draft", "active", "expired", "terminated", "renewed")
CLOSED_AGREEMENT_STATUSES: tuple[str, ...] = ("terminated", "renewed")
"""An agreement in one of these states no longer needs attention when it runs out."""
GOAL_STATUSES: tuple[str, ...] = ("open", "achieved", "missed", "dropped")
TARGET_TIERS: tuple[str, ...] = ("strategic", "partner", "ordinary")
ACTION_STATUSES: tuple[str, ...] = ("open", "in_progress", "done", "cancelled")
OPEN_ACTION_STATUSES: tuple[str, ...] = ("open", "in_progress")
"""An action item in one of these states (or without a status) is still to do; past its due date it is overdue."""

BASIC_FIELDS: tuple[str, ...] = ("phone", "address", "fax", "email", "website")
POLICY_BASIC_FIELDS: tuple[str, ...] = ("phone", "address", "fax", "email")
ACCOUNT_FACT_FIELDS: tuple[str, ...] = (
    "org_structure", "history", "business_goals", "direction", "product_positioning", "competitors",
    "own_suppliers", "resources", "market_share", "industry_rank", "main_products", "price_policy",
)
SCORE_FIELDS: tuple[str, ...] = (
    "score_brand_awareness", "score_cooperation", "score_supply_priority", "score_new_product_priority",
)
EXCHANGE_ITEMS: tuple[str, ...] = (
    # §5 step 1: received from the account
    "their_marketing_structure", "their_ad_agencies", "their_contact_person",
    # §5 step 2: given to the account
    "our_marketing_structure_sent", "our_event_calendar_sent", "our_seasonal_promotions_sent",
)
RECORD_KINDS: tuple[str, ...] = ("contacts", "negotiations", "agreements", "price_changes", "plans", "goals",
                                 "action_items")
PLAN_RECORD_KINDS: tuple[str, ...] = ("goals", "action_items")
"""The account plan (policy §5, like Salesforce's account plans): goals for a year and the action items toward them."""
PERSONAL_FIELDS: tuple[str, ...] = ("phone", "email", "personal_notes", "spending_limit")
"""Contact fields shown only to users with ``read_personal`` on the account."""
MASK = "•••"

LABELS: dict[str, tuple[str, str]] = {
    "buyer": ("Buyer", "采购员"), "purchasing_manager": ("Purchasing manager", "采购经理"),
    "purchasing_director": ("Purchasing director", "采购总监"), "finance_director": ("Finance director", "财务总监"),
    "sales_manager": ("Sales manager", "销售经理"), "distribution_manager": ("Distribution manager", "配送经理"),
    "general_manager": ("General manager", "总经理"), "chairman": ("Chairman", "董事长"),
    "marketing_head": ("Marketing head", "市场负责人"), "other": ("Other", "其他"),
    "phone": ("Phone", "电话"), "address": ("Address", "地址"), "fax": ("Fax", "传真"),
    "email": ("E-mail", "电子邮件"), "website": ("Website", "网站"),
    "org_structure": ("Organisation structure", "组织结构"), "history": ("History", "发展历史"),
    "business_goals": ("Business goals", "经营目标"), "direction": ("Direction of development", "发展方向"),
    "product_positioning": ("Product positioning", "产品定位"), "competitors": ("Competitors", "竞争对手"),
    "own_suppliers": ("Its suppliers", "供应商"), "resources": ("Resources", "资源"),
    "market_share": ("Market share", "市场占有率"), "industry_rank": ("Industry rank", "行业排名"),
    "main_products": ("Main products (function, look, design fit)", "主要产品（功能、外观、设计）"),
    "price_policy": ("Price maintenance and changes", "价格维护与变化"),
    "negotiation": ("At least one negotiation record", "至少一条谈判记录"),
    "agreement": ("At least one agreement", "至少一份协议"),
}


def label(key: str, lang: str = "en") -> str:
    """Human label of a role, field or completeness item (``lang`` ``en`` or ``zh``)."""
    en, zh = LABELS.get(key, (key.replace("_", " ").capitalize(), key))
    return zh if lang == "zh" else en


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
class ValidationError(ValueError):
    """One or more fields are invalid; ``errors`` maps field → message."""

    def __init__(self, errors: dict[str, str]):
        self.errors = dict(errors)
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


class NotFound(LookupError):
    """The account or record does not exist."""


class VersionConflict(RuntimeError):
    """Someone saved the record after you loaded it.

    ``fields`` maps each field you changed to ``(theirs, yours)``: the value
    now stored and the value you tried to save.
    """

    def __init__(self, table: str, key: Any, expected_version: int, current_version: int,
                 fields: dict[str, tuple[Any, Any]], updated_by: str | None, updated_at: Any):
        self.table, self.key = table, key
        self.expected_version, self.current_version = expected_version, current_version
        self.fields, self.updated_by, self.updated_at = fields, updated_by, updated_at
        parts = [f"{f}: theirs {_show(t)} vs yours {_show(y)}" for f, (t, y) in fields.items()]
        super().__init__(
            f"{table} {key!r} was changed by {updated_by or 'someone'} at {updated_at} "
            f"(now version {current_version}; you edited version {expected_version}). "
            + ("; ".join(parts) if parts else "Reload to see their changes.")
        )


def _show(v: Any) -> str:
    return "(empty)" if v is None else repr(str(v))


# --------------------------------------------------------------------------
# Field specifications and normalisation
# --------------------------------------------------------------------------
@dataclass(frozen=True)
class _Field:
    kind: str                       # text longtext email phone date money price share score choice checklist
                                    # year user (a users.name) goal (a goals.id of the same account)
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class _Spec:
    table: str
    fields: dict[str, _Field]
    order: tuple[tuple[str, str], ...] = ()      # (earlier, later) date pairs
    sort: str = "id"
    personal: tuple[str, ...] = field(default=())


_T, _L = _Field("text"), _Field("longtext")

ACCOUNT_SPEC = _Spec("accounts", {
    "phone": _Field("phone"), "address": _T, "fax": _Field("phone"), "email": _Field("email"), "website": _T,
    **{f: _L for f in ACCOUNT_FACT_FIELDS},
    **{f: _Field("score") for f in SCORE_FIELDS},
    "exchange_checklist": _Field("checklist"),
})

SPECS: dict[str, _Spec] = {
    "contacts": _Spec("contacts", {
        "role": _Field("choice", True, CONTACT_ROLES), "name": _Field("text", True), "title": _T,
        "authority": _L, "spending_limit": _Field("money"), "phone": _Field("phone"), "email": _Field("email"),
        "personal_notes": _L, "influence": _Field("choice", False, INFLUENCE), "relationship": _Field("score"),
    }, sort="id", personal=PERSONAL_FIELDS),
    "negotiations": _Spec("negotiations", {
        "held_on": _Field("date", True), "topic": _Field("text", True), "our_participants": _T,
        "their_participants": _T, "summary": _L, "outcome": _L, "follow_up_on": _Field("date"),
    }, order=(("held_on", "follow_up_on"),), sort="held_on desc, id desc"),
    "agreements": _Spec("agreements", {
        "title": _Field("text", True), "signed_on": _Field("date"), "valid_from": _Field("date"),
        "valid_to": _Field("date"), "terms": _L, "target_amount": _Field("money"), "rebate_share": _Field("share"),
        "status": _Field("choice", False, AGREEMENT_STATUSES), "category": _T,
    }, order=(("valid_from", "valid_to"),), sort="valid_to desc nulls last, id desc"),
    "price_changes": _Spec("price_changes", {
        "changed_on": _Field("date", True), "product": _T, "old_price": _Field("price"),
        "new_price": _Field("price"), "reason": _L,
    }, sort="changed_on desc, id desc"),
    "plans": _Spec("plans", {
        "kind": _Field("choice", True, PLAN_KINDS), "side": _Field("choice", True, PLAN_SIDES), "title": _T,
        "period_start": _Field("date"), "period_end": _Field("date"), "budget": _Field("money"),
        "status": _Field("choice", False, PLAN_STATUSES), "notes": _L,
    }, order=(("period_start", "period_end"),), sort="period_start desc nulls last, id desc"),
    "goals": _Spec("goals", {
        "year": _Field("year", True), "title": _Field("text", True),
        "target_tier": _Field("choice", False, TARGET_TIERS), "status": _Field("choice", False, GOAL_STATUSES),
        "notes": _L,
    }, sort="year desc, id"),
    "action_items": _Spec("action_items", {
        "title": _Field("text", True), "goal_id": _Field("goal"), "owner": _Field("user"),
        "due_on": _Field("date"), "status": _Field("choice", False, ACTION_STATUSES), "notes": _L,
    }, sort="due_on nulls last, id"),
}

_EMAIL = re.compile(r"^[A-Za-z0-9._%+\-]+@(?:[A-Za-z0-9](?:[A-Za-z0-9\-]*[A-Za-z0-9])?\.)+[A-Za-z]{2,}$")
_PHONE_CHARS = re.compile(r"^\+?[\d \-()]+$")
_EXTENSION = re.compile(r"\s*(?:转|ext\.?|x|#)\s*\d{1,6}$", re.IGNORECASE)
_PHONE_FORMS = (
    re.compile(r"^(?:\+?86)?1[3-9]\d{9}$"),          # mobile, optionally with the country code
    re.compile(r"^0\d{2,3}\d{7,8}$"),                # landline with its trunk-0 area code
    re.compile(r"^\+86[1-9]\d{1,2}\d{7,8}$"),        # landline dialled from abroad
    re.compile(r"^[48]00\d{7}$"),                    # 400 / 800 service numbers
)
_TEXT_MAX = {"text": 500, "longtext": 10_000}
_MONEY_MAX = Decimal("1e15")
_DATE_FORMATS = ("%Y-%m-%d", "%Y/%m/%d", "%Y.%m.%d", "%Y年%m月%d日")


class _Invalid(Exception):
    pass


def _is_blank(v: Any) -> bool:
    if v is None:
        return True
    if isinstance(v, str):
        return not v.strip()
    if isinstance(v, float):
        return math.isnan(v)
    try:
        return bool(pd.isna(v)) if not isinstance(v, (dict, list, tuple, set)) else False
    except (TypeError, ValueError):
        return False


def _valid_phone(text: str) -> bool:
    text = unicodedata.normalize("NFKC", text).strip()
    main = _EXTENSION.sub("", text)
    if not _PHONE_CHARS.match(main):
        return False
    compact = re.sub(r"[ \-()]", "", main)
    if any(p.match(compact) for p in _PHONE_FORMS):
        return True
    # 021-12345678-801: a landline followed by a dashed extension
    head, _, ext = main.rpartition("-")
    if head and ext.strip().isdigit() and len(ext.strip()) <= 6:
        c = re.sub(r"[ \-()]", "", head)
        return bool(_PHONE_FORMS[1].match(c) or _PHONE_FORMS[2].match(c))
    return False


def _to_date(v: Any) -> dt.date:
    if isinstance(v, pd.Timestamp):
        return v.date()
    if isinstance(v, dt.datetime):
        return v.date()
    if isinstance(v, dt.date):
        d = v
    elif isinstance(v, str):
        s = unicodedata.normalize("NFKC", v).strip()
        s = s.split(" ")[0].split("T")[0]
        for fmt in _DATE_FORMATS:
            try:
                d = dt.datetime.strptime(s, fmt).date()
                break
            except ValueError:
                continue
        else:
            raise _Invalid("a date like 2025-03-31")
    else:
        raise _Invalid("a date like 2025-03-31")
    if not 1990 <= d.year <= 2100:
        raise _Invalid("a date between 1990 and 2100")
    return d


def _to_decimal(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise _Invalid("a number")
    if isinstance(v, float):
        v = repr(v)
    if isinstance(v, str):
        v = unicodedata.normalize("NFKC", v).strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        d = Decimal(v)
    except (InvalidOperation, TypeError, ValueError):
        raise _Invalid("a number") from None
    if not d.is_finite():
        raise _Invalid("a number")
    return d


def _normalise_value(f: _Field, v: Any) -> Any:
    """The stored form of ``v``, or raise :class:`_Invalid` with the message for the user."""
    if f.kind == "checklist":
        if _is_blank(v) if not isinstance(v, dict) else False:
            return None
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                raise _Invalid("a checklist of §5 items") from None
        if not isinstance(v, dict):
            raise _Invalid("a checklist of §5 items")
        unknown = set(v) - set(EXCHANGE_ITEMS)
        if unknown:
            raise _Invalid("unknown items: " + ", ".join(sorted(map(str, unknown))))
        if any(not isinstance(x, bool) for x in v.values()):
            raise _Invalid("each item is done (true) or not (false)")
        return json.dumps({k: bool(v.get(k, False)) for k in EXCHANGE_ITEMS}, sort_keys=True)
    if _is_blank(v):
        return None
    if f.kind in ("text", "longtext"):
        s = str(v).strip()
        if len(s) > _TEXT_MAX[f.kind]:
            raise _Invalid(f"at most {_TEXT_MAX[f.kind]} characters")
        return s
    if f.kind == "email":
        s = str(v).strip()
        if not _EMAIL.match(s):
            raise _Invalid("an e-mail address like name@example.com")
        return s
    if f.kind == "phone":
        s = str(v).strip()
        if not _valid_phone(s):
            raise _Invalid("a phone number like 138-0000-0000, 021-12345678 or +86 21 1234 5678")
        return s
    if f.kind == "date":
        return _to_date(v)
    if f.kind in ("money", "price"):
        d = _to_decimal(v)
        if d < 0:
            raise _Invalid("zero or more")
        if d >= _MONEY_MAX:
            raise _Invalid("too large")
        return d.quantize(Decimal("0.01") if f.kind == "money" else Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if f.kind == "share":
        d = _to_decimal(v)
        if not 0 <= d <= 1:
            raise _Invalid("a share between 0 and 1 (3 % is 0.03)")
        return float(d)
    if f.kind == "score":
        d = _to_decimal(v)
        if d != d.to_integral_value():
            raise _Invalid("a whole number from 1 to 5")
        if not 1 <= d <= 5:
            raise _Invalid("a whole number from 1 to 5")
        return int(d)
    if f.kind == "year":
        d = _to_decimal(v)
        if d != d.to_integral_value() or not 1990 <= d <= 2100:
            raise _Invalid("a year between 1990 and 2100")
        return int(d)
    if f.kind == "goal":
        d = _to_decimal(v)
        if d != d.to_integral_value() or d < 1:
            raise _Invalid("one of the account's goals")
        return int(d)
    if f.kind == "user":
        s = str(v).strip()
        if len(s) > 500:
            raise _Invalid("a user name")
        return s
    if f.kind == "choice":
        s = unicodedata.normalize("NFKC", str(v)).strip().lower().replace(" ", "_").replace("-", "_")
        if s not in f.choices:
            raise _Invalid("one of " + ", ".join(f.choices))
        return s
    raise AssertionError(f.kind)


def _normalise(spec: _Spec, changes: dict[str, Any], *, forbidden: dict[str, str] | None = None) -> dict[str, Any]:
    """Validate ``changes`` field by field; all problems are reported together."""
    if not isinstance(changes, dict):
        raise ValidationError({"_": "changes must be a mapping of field to value"})
    out, errors = {}, {}
    for name, value in changes.items():
        if forbidden and name in forbidden:
            errors[name] = forbidden[name]
            continue
        f = spec.fields.get(name)
        if f is None:
            errors[str(name)] = "unknown field"
            continue
        try:
            out[name] = _normalise_value(f, value)
        except _Invalid as e:
            errors[name] = f"must be {e}"
    if errors:
        raise ValidationError(errors)
    return out


def _check_whole(spec: _Spec, merged: dict[str, Any]) -> None:
    """Required fields present and date pairs in order, on the record as it would be saved."""
    errors = {}
    for name, f in spec.fields.items():
        if f.required and merged.get(name) is None:
            errors[name] = "is required"
    for a, b in spec.order:
        if merged.get(a) is not None and merged.get(b) is not None and merged[a] > merged[b]:
            errors[b] = f"must be on or after {a} ({merged[a]})"
    if errors:
        raise ValidationError(errors)


# --------------------------------------------------------------------------
# Internal write helpers (all run inside a caller's transaction)
# --------------------------------------------------------------------------
_RECORD_FORBIDDEN = {"id": "is assigned automatically", "account": "cannot be moved to another account",
                     "version": "is managed by the store", "deleted_at": "use delete/restore",
                     "updated_by": "is managed by the store", "updated_at": "is managed by the store"}
_ACCOUNT_FORBIDDEN = {"name": "cannot be renamed here", "owner": "is set by a director (set_owner)",
                      "backup_owner": "is set by a director (set_owner)", "version": "is managed by the store",
                      "deleted_at": "accounts are not deleted here", "updated_by": "is managed by the store",
                      "updated_at": "is managed by the store"}


def _fetch_one(cur, sql: str, params: list) -> dict | None:
    rel = cur.execute(sql, params)
    row = rel.fetchone()
    if row is None:
        return None
    return dict(zip([d[0] for d in rel.description], row))


def _account_row(cur, name: str) -> dict | None:
    return _fetch_one(cur, "select * from accounts where name = ?", [name])


def _account_name(name: Any) -> str:
    if not isinstance(name, str) or not name.strip():
        raise ValidationError({"name": "is required"})
    if len(name.strip()) > 500:
        raise ValidationError({"name": "at most 500 characters"})
    return name.strip()


def _require_edit(user: User, acct: dict | None) -> None:
    permissions.require(user, "edit_dossier", owner=acct and acct["owner"], backup_owner=acct and acct["backup_owner"])


def _audit_insert(cur, who: str, table: str, key: Any, values: dict[str, Any]) -> None:
    rows = [(f, v) for f, v in values.items() if v is not None]
    for f, v in rows or [(None, None)]:
        audit.record(cur, who, "insert", table, key, f, None, v)


def _create_account(cur, who: str, name: str, values: dict[str, Any]) -> None:
    cols = ["name", "updated_by", *values]
    cur.execute(
        f"insert into accounts ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [name, who, *values.values()],
    )
    _audit_insert(cur, who, "accounts", name, {"name": name, **values})


def _apply_update(cur, who: str, table: str, keycol: str, row: dict, values: dict[str, Any],
                  expected_version: int | None) -> bool:
    """Write the fields of ``values`` that differ from ``row``; False when nothing changed."""
    key = row[keycol]
    if expected_version is not None and int(expected_version) != row["version"]:
        raise VersionConflict(table, key, int(expected_version), row["version"],
                              {f: (row[f], v) for f, v in values.items()}, row["updated_by"], row["updated_at"])
    diff = {f: v for f, v in values.items() if row[f] != v}
    if not diff:
        return False
    sets = ", ".join(f"{f} = ?" for f in diff)
    cur.execute(
        f"update {table} set {sets}, version = version + 1, updated_by = ?, updated_at = current_timestamp"
        f" where {keycol} = ? and version = ?",
        [*diff.values(), who, key, row["version"]],
    )
    for f, v in diff.items():
        audit.record(cur, who, "update", table, key, f, row[f], v)
    return True


def _insert_record(cur, who: str, kind: str, account: str, values: dict[str, Any]) -> int:
    spec = SPECS[kind]
    _check_whole(spec, values)
    rid = cur.execute("select nextval('record_id_seq')").fetchone()[0]
    cols = ["id", "account", "updated_by", *values]
    cur.execute(
        f"insert into {spec.table} ({', '.join(cols)}) values ({', '.join('?' for _ in cols)})",
        [rid, account, who, *values.values()],
    )
    _audit_insert(cur, who, spec.table, rid, {"account": account, **values})
    return int(rid)


def _check_references(cur, kind: str, account: str, values: dict[str, Any]) -> None:
    """A goal of the same account and an existing, enabled user, where a record points at them."""
    errors = {}
    for name, f in SPECS[kind].fields.items():
        v = values.get(name)
        if v is None:
            continue
        if f.kind == "goal":
            ok = cur.execute("select 1 from goals where id = ? and account = ? and deleted_at is null",
                             [v, account]).fetchone()
            if not ok:
                errors[name] = f"must be one of the account's goals (no goal #{v} at {account})"
        elif f.kind == "user":
            r = cur.execute("select disabled from users where name = ?", [v]).fetchone()
            if r is None:
                errors[name] = f"no user named {v!r}"
            elif r[0]:
                errors[name] = f"{v} is disabled"
    if errors:
        raise ValidationError(errors)


def _record_row(cur, kind: str, record_id: int) -> dict:
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    row = _fetch_one(cur, f"select * from {SPECS[kind].table} where id = ?", [int(record_id)])
    if row is None:
        raise NotFound(f"{kind} record {record_id} does not exist")
    return row


# --------------------------------------------------------------------------
# Public writes
# --------------------------------------------------------------------------
def upsert_account(store: Store, user: User, name: str, changes: dict[str, Any],
                   expected_version: int | None = None) -> dict:
    """Create the dossier of account ``name`` or change its fields; returns the stored account.

    ``changes`` may hold the basic, important-info, score and ``exchange_checklist``
    fields. ``expected_version`` is the version the user loaded; ``None`` skips
    the check (scripts). Raises :class:`ValidationError`, :class:`VersionConflict`
    or :class:`~kam_core.permissions.PermissionDenied`.
    """
    name = _account_name(name)
    with store.transaction() as cur:
        row = _account_row(cur, name)
        _require_edit(user, row)
        values = _normalise(ACCOUNT_SPEC, changes, forbidden=_ACCOUNT_FORBIDDEN)
        if row is None:
            _create_account(cur, user.name, name, {k: v for k, v in values.items() if v is not None})
        else:
            _apply_update(cur, user.name, "accounts", "name", row, values, expected_version)
    return get_account(store, user, name)


def set_owner(store: Store, user: User, account: str, owner: str | None, backup_owner: str | None = None) -> dict:
    """Assign the key account manager and the backup (directors only); creates the dossier if needed."""
    permissions.require(user, "assign_owner")
    account = _account_name(account)
    errors = {}
    with store.transaction() as cur:
        for fld, who in (("owner", owner), ("backup_owner", backup_owner)):
            if who is None:
                continue
            r = cur.execute("select role, disabled from users where name = ?", [who]).fetchone()
            if r is None:
                errors[fld] = f"no user named {who!r}"
            elif r[0] not in ("manager", "director"):
                errors[fld] = f"{who} is a {r[0]}; owners are managers or directors"
        if owner is not None and owner == backup_owner:
            errors["backup_owner"] = "must differ from the owner"
        if errors:
            raise ValidationError(errors)
        row = _account_row(cur, account)
        values = {"owner": owner, "backup_owner": backup_owner}
        if row is None:
            _create_account(cur, user.name, account, {k: v for k, v in values.items() if v is not None})
        else:
            _apply_update(cur, user.name, "accounts", "name", row, values, None)
    return get_account(store, user, account)


def add_record(store: Store, user: User, kind: str, account: str, values: dict[str, Any]) -> int:
    """Add a contact / negotiation / agreement / price change / plan to ``account``; returns its id.

    The account's dossier is created when it does not exist yet.
    """
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    account = _account_name(account)
    with store.transaction() as cur:
        acct = _account_row(cur, account)
        _require_edit(user, acct)
        clean = _normalise(SPECS[kind], values, forbidden=_RECORD_FORBIDDEN)
        _check_references(cur, kind, account, clean)
        if acct is None:
            _create_account(cur, user.name, account, {})
        return _insert_record(cur, user.name, kind, account, {k: v for k, v in clean.items() if v is not None})


def update_record(store: Store, user: User, kind: str, record_id: int, changes: dict[str, Any],
                  expected_version: int | None = None) -> dict:
    """Change fields of one record; returns the stored record (personal fields visible: you may edit it)."""
    with store.transaction() as cur:
        row = _record_row(cur, kind, record_id)
        _require_edit(user, _account_row(cur, row["account"]))
        if row["deleted_at"] is not None:
            raise ValidationError({"_": "the record is deleted; restore it first"})
        values = _normalise(SPECS[kind], changes, forbidden=_RECORD_FORBIDDEN)
        _check_whole(SPECS[kind], {**row, **values})
        _check_references(cur, kind, row["account"], values)
        _apply_update(cur, user.name, SPECS[kind].table, "id", row, values, expected_version)
        return _record_row(cur, kind, record_id)


def _set_deleted(store: Store, user: User, kind: str, record_id: int, delete: bool) -> None:
    with store.transaction() as cur:
        row = _record_row(cur, kind, record_id)
        _require_edit(user, _account_row(cur, row["account"]))
        if (row["deleted_at"] is not None) == delete:
            return
        cur.execute(
            f"update {SPECS[kind].table} set deleted_at = {'current_timestamp' if delete else 'null'},"
            " version = version + 1, updated_by = ?, updated_at = current_timestamp where id = ?",
            [user.name, int(record_id)],
        )
        audit.record(cur, user.name, "delete" if delete else "restore", SPECS[kind].table, int(record_id))


def delete_record(store: Store, user: User, kind: str, record_id: int) -> None:
    """Soft-delete: the record disappears from lists but stays restorable and in the history."""
    _set_deleted(store, user, kind, record_id, True)


def restore_record(store: Store, user: User, kind: str, record_id: int) -> None:
    """Undo a soft delete."""
    _set_deleted(store, user, kind, record_id, False)


# Named wrappers, so pages read like the domain.
def add_contact(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Add a person at ``account`` (``role`` and ``name`` required); returns the contact id."""
    return add_record(store, user, "contacts", account, values)


def update_contact(store: Store, user: User, contact_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change a contact; see :func:`update_record`."""
    return update_record(store, user, "contacts", contact_id, changes, expected_version)


def delete_contact(store: Store, user: User, contact_id: int) -> None:
    """Soft-delete a contact."""
    delete_record(store, user, "contacts", contact_id)


def restore_contact(store: Store, user: User, contact_id: int) -> None:
    """Restore a soft-deleted contact."""
    restore_record(store, user, "contacts", contact_id)


def add_negotiation(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Record a negotiation (``held_on`` and ``topic`` required)."""
    return add_record(store, user, "negotiations", account, values)


def update_negotiation(store: Store, user: User, record_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change a negotiation record."""
    return update_record(store, user, "negotiations", record_id, changes, expected_version)


def delete_negotiation(store: Store, user: User, record_id: int) -> None:
    """Soft-delete a negotiation record."""
    delete_record(store, user, "negotiations", record_id)


def restore_negotiation(store: Store, user: User, record_id: int) -> None:
    """Restore a negotiation record."""
    restore_record(store, user, "negotiations", record_id)


def add_agreement(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Record an agreement (``title`` required; ``valid_from`` ≤ ``valid_to``)."""
    return add_record(store, user, "agreements", account, values)


def update_agreement(store: Store, user: User, record_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change an agreement."""
    return update_record(store, user, "agreements", record_id, changes, expected_version)


def delete_agreement(store: Store, user: User, record_id: int) -> None:
    """Soft-delete an agreement."""
    delete_record(store, user, "agreements", record_id)


def restore_agreement(store: Store, user: User, record_id: int) -> None:
    """Restore an agreement."""
    restore_record(store, user, "agreements", record_id)


def add_price_change(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Record a price change (``changed_on`` required)."""
    return add_record(store, user, "price_changes", account, values)


def update_price_change(store: Store, user: User, record_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change a price change record."""
    return update_record(store, user, "price_changes", record_id, changes, expected_version)


def delete_price_change(store: Store, user: User, record_id: int) -> None:
    """Soft-delete a price change record."""
    delete_record(store, user, "price_changes", record_id)


def restore_price_change(store: Store, user: User, record_id: int) -> None:
    """Restore a price change record."""
    restore_record(store, user, "price_changes", record_id)


def add_plan(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Record a joint marketing plan (``kind`` and ``side`` required; ``period_start`` ≤ ``period_end``)."""
    return add_record(store, user, "plans", account, values)


def update_plan(store: Store, user: User, record_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change a plan."""
    return update_record(store, user, "plans", record_id, changes, expected_version)


def delete_plan(store: Store, user: User, record_id: int) -> None:
    """Soft-delete a plan."""
    delete_record(store, user, "plans", record_id)


def restore_plan(store: Store, user: User, record_id: int) -> None:
    """Restore a plan."""
    restore_record(store, user, "plans", record_id)


def add_goal(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Set a goal of the account plan (``year`` and ``title`` required, e.g. "move to 战略性")."""
    return add_record(store, user, "goals", account, values)


def update_goal(store: Store, user: User, record_id: int, changes: dict[str, Any], expected_version: int | None = None) -> dict:
    """Change a goal."""
    return update_record(store, user, "goals", record_id, changes, expected_version)


def add_action_item(store: Store, user: User, account: str, values: dict[str, Any]) -> int:
    """Add an action item (``title`` required; ``owner`` a user, ``goal_id`` one of the account's goals)."""
    return add_record(store, user, "action_items", account, values)


def update_action_item(store: Store, user: User, record_id: int, changes: dict[str, Any],
                       expected_version: int | None = None) -> dict:
    """Change an action item (its status, due date, owner …)."""
    return update_record(store, user, "action_items", record_id, changes, expected_version)


# --------------------------------------------------------------------------
# Reads
# --------------------------------------------------------------------------
def dossier_version(store: Store) -> int:
    """Changes whenever any dossier table is written: a cheap cache key for pages."""
    tables = ["accounts", *RECORD_KINDS]
    r = store.cursor().execute(
        f"select coalesce(max(id), 0) from audit_log where table_name in ({', '.join('?' for _ in tables)})", tables
    ).fetchone()
    return int(r[0])


def _owners(cur, account: str) -> tuple[str | None, str | None]:
    r = cur.execute("select owner, backup_owner from accounts where name = ?", [account]).fetchone()
    return (r[0], r[1]) if r else (None, None)


def may_read_personal(store: Store, user: User, account: str) -> bool:
    """True when ``user`` may see contacts' personal details at ``account``."""
    owner, backup = _owners(store.cursor(), account)
    return permissions.can(user, "read_personal", owner=owner, backup_owner=backup)


def may_edit(store: Store, user: User, account: str) -> bool:
    """True when ``user`` may change ``account``'s dossier (pages use it to show or hide editors)."""
    owner, backup = _owners(store.cursor(), account)
    return permissions.can(user, "edit_dossier", owner=owner, backup_owner=backup)


def get_account(store: Store, user: User, name: str) -> dict | None:
    """The account's dossier fields, owner and version (``exchange_checklist`` as a dict); None if none."""
    permissions.require(user, "read_dossier")
    row = _account_row(store.cursor(), str(name).strip())
    if row is None or row["deleted_at"] is not None:
        return None
    row["exchange_checklist"] = _checklist(row["exchange_checklist"])
    return row


def _checklist(text: str | None) -> dict[str, bool]:
    data = json.loads(text) if text else {}
    return {k: bool(data.get(k, False)) for k in EXCHANGE_ITEMS}


def _records_df(cur, kind: str, account: str, include_deleted: bool) -> pd.DataFrame:
    spec = SPECS[kind]
    sql = f"select * from {spec.table} where account = ?"
    if not include_deleted:
        sql += " and deleted_at is null"
    return cur.execute(sql + f" order by {spec.sort}", [account]).df()


def list_contacts(store: Store, user: User, account: str, include_deleted: bool = False) -> pd.DataFrame:
    """The account's people, ordered by policy level; personal fields blanked unless the user may read them.

    ``df.attrs['personal_hidden']`` tells whether blanking happened.
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    df = _records_df(cur, "contacts", account, include_deleted)
    owner, backup = _owners(cur, account)
    hidden = not permissions.can(user, "read_personal", owner=owner, backup_owner=backup)
    if hidden:
        for col in PERSONAL_FIELDS:
            df[col] = pd.Series([None] * len(df), index=df.index, dtype=df[col].dtype if col == "spending_limit" else object)
    if len(df):
        rank = {r: i for i, r in enumerate(CONTACT_ROLES)}
        df = df.assign(_o=df["role"].map(rank)).sort_values(["_o", "name", "id"], kind="stable").drop(columns="_o")
        df = df.reset_index(drop=True)
    df.attrs["personal_hidden"] = hidden
    return df


def list_records(store: Store, user: User, account: str, kind: str, include_deleted: bool = False) -> pd.DataFrame:
    """Negotiations, agreements, price_changes or plans of ``account`` (contacts via :func:`list_contacts`)."""
    if kind == "contacts":
        return list_contacts(store, user, account, include_deleted)
    if kind not in SPECS:
        raise ValueError(f"unknown record kind {kind!r}; one of {', '.join(RECORD_KINDS)}")
    permissions.require(user, "read_dossier")
    return _records_df(store.cursor(), kind, account, include_deleted)


def account_history(store: Store, user: User, account: str, limit: int = 1000) -> pd.DataFrame:
    """Every audited change to the account and its records, newest first.

    Personal contact values are shown as ``•••`` to users who may not read them.
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    parts = ["(table_name = 'accounts' and record_key = ?)"]
    params: list[Any] = [account]
    for kind in RECORD_KINDS:
        parts.append(f"(table_name = '{kind}' and record_key in (select cast(id as varchar) from {kind} where account = ?))")
        params.append(account)
    df = cur.execute(
        "select happened_at, who, action, table_name, record_key, field, old_value, new_value from audit_log"
        f" where {' or '.join(parts)} order by id desc limit ?", [*params, int(limit)],
    ).df()
    owner, backup = _owners(cur, account)
    if not permissions.can(user, "read_personal", owner=owner, backup_owner=backup) and len(df):
        personal = (df["table_name"] == "contacts") & df["field"].isin(PERSONAL_FIELDS)
        for col in ("old_value", "new_value"):
            df[col] = df[col].astype(object)
            df.loc[personal & df[col].notna(), col] = MASK
    return df


def _fold(s: str) -> str:
    return unicodedata.normalize("NFKC", s).casefold().strip()


def search_accounts(store: Store, query: str, limit: int = 50) -> list[str]:
    """Canonical account names matching ``query`` in the name or any alias; exact, then prefix, then substring."""
    rows = [(a, a) for a in account_sales.account_names(store)] + store.cursor().execute(
        "select name, name from accounts where deleted_at is null"
        " union select account, alias from account_aliases"
        " union select account, alias_key from account_aliases"
    ).fetchall()
    q = _fold(query or "")
    best: dict[str, int] = {}
    for name, text in rows:
        t = _fold(text or "")
        if not q:
            rank = 0
        elif t == q:
            rank = 0
        elif t.startswith(q):
            rank = 1
        elif q in t:
            rank = 2
        else:
            continue
        best[name] = min(rank, best.get(name, 9))
    return sorted(best, key=lambda n: (best[n], n))[:limit]


def expiring_agreements(store: Store, today: dt.date, within_days: int = 60) -> pd.DataFrame:
    """Live agreements whose ``valid_to`` falls within ``within_days`` from ``today`` (inclusive).

    Agreements carry no personal details, so every role may read this list.
    Columns: ``id, account, title, valid_to, status, days_left``; soonest first.
    """
    today = _to_date(today)
    return store.cursor().execute(
        "select id, account, title, valid_to, status, datediff('day', ?::date, valid_to) as days_left"
        " from agreements where deleted_at is null and valid_to between ? and ?"
        " and coalesce(status, '') not in ('terminated', 'renewed')"
        " order by valid_to, account, id",
        [today, today, today + dt.timedelta(days=int(within_days))],
    ).df()


def department_gaps(store: Store, user: User, today: dt.date, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Accounts with no decision-maker contact, or with an expired agreement not replaced by a live one.

    ``accounts`` limits the check (e.g. to the key accounts); by default every
    dossier. A decision maker is a general manager, chairman or purchasing
    director, or anyone marked ``decision_maker``. An expired agreement counts
    unless it is terminated/renewed or the account has an agreement valid on
    or after ``today``. Columns: ``account, owner, no_decision_maker,
    expired_agreements, last_expired``.
    """
    permissions.require(user, "read_dossier")
    today = _to_date(today)
    cur = store.cursor()
    if accounts is None:
        names = [r[0] for r in cur.execute("select name from accounts where deleted_at is null order by name").fetchall()]
    else:
        names = list(dict.fromkeys(accounts))
    cols = ["account", "owner", "no_decision_maker", "expired_agreements", "last_expired"]
    if not names:
        return pd.DataFrame(columns=cols)
    df = cur.execute(
        f"""
        with dm as (
            select distinct account from contacts
            where deleted_at is null
              and (role in ({', '.join('?' for _ in DECISION_ROLES)}) or influence = 'decision_maker')
        ), live as (
            select distinct account from agreements
            where deleted_at is null and (valid_to >= ? or (valid_to is null and valid_from is not null))
              and coalesce(status, '') not in ('terminated', 'renewed')
        ), expired as (
            select account, count(*) as n, max(valid_to) as last_expired from agreements
            where deleted_at is null and valid_to < ? and coalesce(status, '') not in ('terminated', 'renewed')
            group by account
        )
        select g.account, a.owner,
               dm.account is null as no_decision_maker,
               case when live.account is null then coalesce(e.n, 0) else 0 end as expired_agreements,
               case when live.account is null then e.last_expired end as last_expired
        from (select unnest(?::varchar[]) as account) g
        left join accounts a on a.name = g.account
        left join dm on dm.account = g.account
        left join live on live.account = g.account
        left join expired e on e.account = g.account
        where dm.account is null or (live.account is null and e.n > 0)
        order by g.account
        """,
        [*DECISION_ROLES, today, today, names],
    ).df()
    return df[cols]


def completeness(store: Store, user: User, account: str, lang: str = "en") -> dict:
    """How much of the policy's dossier list (§4) is filled in.

    Items: a contact at each of the eight levels, the four basic-info fields,
    the twelve important-info fields, at least one negotiation and one
    agreement (26 in all). Returns ``score`` (0–1), ``present``, ``total``,
    ``missing`` (labels) and ``missing_keys``.
    """
    permissions.require(user, "read_dossier")
    cur = store.cursor()
    row = _account_row(cur, account) or {}
    roles = {r[0] for r in cur.execute(
        "select distinct role from contacts where account = ? and deleted_at is null", [account]).fetchall()}
    n_neg = cur.execute("select count(*) from negotiations where account = ? and deleted_at is null", [account]).fetchone()[0]
    n_agr = cur.execute("select count(*) from agreements where account = ? and deleted_at is null", [account]).fetchone()[0]
    items = _completeness_items(row, roles, n_neg, n_agr, lang)
    present = sum(ok for _, _, ok in items)
    return {
        "score": present / len(items), "present": present, "total": len(items),
        "missing": [lab for _, lab, ok in items if not ok],
        "missing_keys": [k for k, _, ok in items if not ok],
    }


def _completeness_items(row: dict, roles: set[str], n_neg: int, n_agr: int, lang: str) -> list[tuple[str, str, bool]]:
    """The policy's 26 dossier items (key, label, present) of one account."""
    items: list[tuple[str, str, bool]] = []
    for r in POLICY_LEVELS:
        items.append((f"contact:{r}", label(r, lang), r in roles))
    for f in (*POLICY_BASIC_FIELDS, *ACCOUNT_FACT_FIELDS):
        items.append((f, label(f, lang), row.get(f) not in (None, "")))
    items.append(("negotiation", label("negotiation", lang), n_neg > 0))
    items.append(("agreement", label("agreement", lang), n_agr > 0))
    return items


def completeness_scores(store: Store, user: User, accounts: Sequence[str]) -> dict[str, float]:
    """:func:`completeness`'s ``score`` of many accounts in four queries (0 for an account without a dossier)."""
    permissions.require(user, "read_dossier")
    names = list(dict.fromkeys(accounts))
    if not names:
        return {}
    cur = store.cursor()
    fields = (*POLICY_BASIC_FIELDS, *ACCOUNT_FACT_FIELDS)
    rel = cur.execute(f"select name, {', '.join(fields)} from accounts where deleted_at is null"
                      " and list_contains(?, name)", [names])
    rows = {r[0]: dict(zip(fields, r[1:])) for r in rel.fetchall()}
    roles: dict[str, set[str]] = {}
    for a, role in cur.execute("select distinct account, role from contacts where deleted_at is null"
                               " and list_contains(?, account)", [names]).fetchall():
        roles.setdefault(a, set()).add(role)
    counts = {}
    for table in ("negotiations", "agreements"):
        counts[table] = dict(cur.execute(f"select account, count(*) from {table} where deleted_at is null"
                                         " and list_contains(?, account) group by account", [names]).fetchall())
    out = {}
    for a in names:
        if a not in rows:
            out[a] = 0.0
            continue
        items = _completeness_items(rows[a], roles.get(a, set()), counts["negotiations"].get(a, 0),
                                    counts["agreements"].get(a, 0), "en")
        out[a] = sum(ok for _, _, ok in items) / len(items)
    return out


def owned_accounts(store: Store, user_name: str) -> list[str]:
    """The dossiers ``user_name`` owns or backs up, by name ("my accounts")."""
    return [r[0] for r in store.cursor().execute(
        "select name from accounts where deleted_at is null and (owner = ? or backup_owner = ?) order by name",
        [user_name, user_name]).fetchall()]


def active_user_names(store: Store) -> list[str]:
    """Names of the users who are not disabled (who an action item can be given to)."""
    return [r[0] for r in store.cursor().execute(
        "select name from users where not disabled order by name").fetchall()]


def dossier_accounts(store: Store) -> list[str]:
    """Every account that has a dossier, by name."""
    return [r[0] for r in store.cursor().execute(
        "select name from accounts where deleted_at is null order by name").fetchall()]


def last_negotiations(store: Store, user: User, accounts: Sequence[str]) -> dict[str, dt.date | None]:
    """The date of each account's latest live negotiation record (None when it has none)."""
    permissions.require(user, "read_dossier")
    names = list(dict.fromkeys(accounts))
    found = dict(store.cursor().execute(
        "select account, max(held_on) from negotiations where deleted_at is null and list_contains(?, account)"
        " group by account", [names]).fetchall()) if names else {}
    return {a: found.get(a) for a in names}


OVERDUE_COLUMNS = ["id", "account", "title", "owner", "due_on", "status", "days_overdue"]


def overdue_actions(store: Store, user: User, today: dt.date, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Action items still to do (:data:`OPEN_ACTION_STATUSES` or no status) whose due date is before ``today``.

    Columns :data:`OVERDUE_COLUMNS` (``days_overdue`` = today − due date), the longest overdue first.
    """
    permissions.require(user, "read_dossier")
    today = _to_date(today)
    names = None if accounts is None else list(dict.fromkeys(accounts))
    df = store.cursor().execute(
        "select id, account, title, owner, due_on, status, datediff('day', due_on, ?::date) as days_overdue"
        " from action_items where deleted_at is null and due_on < ?"
        " and (status is null or list_contains(?, status))"
        " and (?::varchar[] is null or list_contains(?::varchar[], account))"
        " order by due_on, account, id",
        [today, today, list(OPEN_ACTION_STATUSES), names, names]).df()
    return df[OVERDUE_COLUMNS]


TARGET_AGREEMENT_COLUMNS = ["id", "account", "title", "valid_from", "valid_to", "target_amount", "category", "status"]


def agreements_with_targets(store: Store, user: User, accounts: Sequence[str] | None = None) -> pd.DataFrame:
    """Live agreements that carry a target amount: :data:`TARGET_AGREEMENT_COLUMNS`, by account and end date."""
    permissions.require(user, "read_dossier")
    names = None if accounts is None else list(dict.fromkeys(accounts))
    df = store.cursor().execute(
        f"select {', '.join(TARGET_AGREEMENT_COLUMNS[:5])}, target_amount::double as target_amount, category, status"
        " from agreements where deleted_at is null and target_amount is not null"
        " and (?::varchar[] is null or list_contains(?::varchar[], account))"
        " order by account, valid_to nulls last, id", [names, names]).df()
    return df[TARGET_AGREEMENT_COLUMNS]


def scores_frame(store: Store) -> pd.DataFrame:
    """Qualitative scores per dossier (no personal data): ``account, brand_awareness, cooperation,
    supply_priority, new_product_priority`` (nullable integers), for the criteria checklist."""
    df = store.cursor().execute(
        "select name as account, " + ", ".join(f"{f} as {f.removeprefix('score_')}" for f in SCORE_FIELDS)
        + " from accounts where deleted_at is null order by name"
    ).df()
    for f in SCORE_FIELDS:
        c = f.removeprefix("score_")
        df[c] = df[c].astype("Int64")
    return df


# --------------------------------------------------------------------------
# Demo dossiers
# --------------------------------------------------------------------------
_SURNAMES = "王李张刘陈杨黄赵周吴徐孙马朱胡郭何林罗高"
_GIVEN = ["伟", "芳", "娜", "敏", "静", "丽", "强", "磊", "军", "洋", "勇", "艳", "杰", "娟", "涛", "明", "超", "秀英", "霞", "平"]
_TOPICS = ["年度返利条款", "新品进场", "节日促销支持", "价格调整", "账期与付款", "库存数据共享", "陈列与端架"]
_PRODUCTS = ["主力系列", "新品系列", "礼盒装", "家庭装", "经典款"]


def load_demo_dossiers(store: Store, accounts: list[str], seed: int = 7, owners: Sequence[str] = (),
                       today: dt.date | None = None) -> int:
    """Fictional dossiers for ``accounts`` (written as SYSTEM, one transaction); returns how many were created.

    People, phone numbers (138-0000-xxxx) and e-mail addresses (example.com)
    are invented. The first account has every policy level and an agreement
    expiring within 60 days; the second has an agreement that has expired;
    completeness varies across the rest. Promotions are placed in the last
    year of each account's sales so uplift has data; the first three have an
    account plan (a goal, an action done, one overdue). Accounts that already
    have a dossier are skipped. ``owners`` (existing manager users) are
    assigned round-robin.
    """
    rng = random.Random(seed)
    today = today or dt.date.today()
    who = SYSTEM.name
    created = 0
    phone_no = 0
    with store.transaction() as cur:
        for i, name in enumerate(accounts):
            if _account_row(cur, name) is not None:
                continue
            created += 1
            last = account_sales.last_sale_date(store, name) or today
            n = i + 1
            facts: dict[str, Any] = {
                "phone": f"021-5555-{1000 + n:04d}", "fax": f"021-5556-{1000 + n:04d}",
                "address": f"上海市示例区虚构路 {10 + n} 号（演示数据）", "email": f"info@account{n}.example.com",
                "website": f"https://account{n}.example.com",
                "org_structure": "总经理下设采购、销售、市场、财务、物流五个部门（演示）",
                "history": f"{1995 + rng.randrange(20)} 年成立，全国性品牌（演示）",
                "business_goals": "三年内全国市场占有率提升 5 个百分点（演示）",
                "direction": "向中高端产品线延伸（演示）", "product_positioning": "中高端家庭消费（演示）",
                "competitors": "两家同类全国品牌（演示）", "own_suppliers": "原料由三家长期供应商提供（演示）",
                "resources": "全国 12 个仓库，自有配送车队（演示）", "market_share": f"{rng.randrange(5, 25)}%（演示）",
                "industry_rank": f"行业第 {rng.randrange(1, 10)} 名（演示）",
                "main_products": "功能实用、包装简洁，适合大众市场（演示）",
                "price_policy": "全国统一零售指导价，每年一次调价（演示）",
                **{f: rng.randint(2, 5) for f in SCORE_FIELDS},
                "exchange_checklist": {k: rng.random() < 0.5 for k in EXCHANGE_ITEMS},
            }
            if i >= 2:  # leave gaps so completeness differs between accounts
                for f in rng.sample(ACCOUNT_FACT_FIELDS + ("fax", "email"), k=min(14, 2 + 2 * i)):
                    facts.pop(f, None)
            _create_account(cur, who, name, {k: v for k, v in _normalise(ACCOUNT_SPEC, facts).items() if v is not None})
            if owners:
                own = owners[i % len(owners)]
                backup = owners[(i + 1) % len(owners)] if len(owners) > 1 else None
                _apply_update(cur, who, "accounts", "name", _account_row(cur, name),
                              {"owner": own, "backup_owner": backup}, None)

            roles = list(POLICY_LEVELS) + ["marketing_head"] if i == 0 else rng.sample(CONTACT_ROLES[:9], k=max(2, 8 - 2 * i))
            if i == 3:  # one account without any decision maker
                roles = [r for r in roles if r not in DECISION_ROLES] or ["buyer"]
            used: set[str] = set()
            for role in roles:
                phone_no += 1
                person = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
                while person in used:
                    person = rng.choice(_SURNAMES) + rng.choice(_GIVEN)
                used.add(person)
                decision = role in ("general_manager", "chairman") or (role == "purchasing_director" and i != 3)
                _insert_record(cur, who, "contacts", name, _normalise(SPECS["contacts"], {
                    "role": role, "name": person, "title": label(role, "zh"),
                    "authority": "可决定年度采购合同" if decision else "负责日常订单与对账",
                    "spending_limit": (5_000_000 if decision else rng.choice([50_000, 200_000, 500_000])),
                    "phone": f"138-0000-{phone_no:04d}", "email": f"contact{phone_no}@example.com",
                    "personal_notes": rng.choice(["喜欢打羽毛球", "注重数据，会前需准备报表", "偏好上午开会", "关注新品"]) + "（虚构）",
                    "influence": "decision_maker" if decision else rng.choice(["influencer", "user", "user", "blocker"]),
                    "relationship": rng.randint(2, 5),
                }))

            for k in range(rng.randint(1, 3) if i != 4 else 0):
                held = last - dt.timedelta(days=rng.randrange(20, 300))
                _insert_record(cur, who, "negotiations", name, _normalise(SPECS["negotiations"], {
                    "held_on": held, "topic": rng.choice(_TOPICS), "our_participants": "大客户经理、采购部",
                    "their_participants": "采购经理、销售经理", "summary": "双方就条款交换意见（演示）",
                    "outcome": rng.choice(["达成一致", "待对方确认", "下次继续"]),
                    "follow_up_on": held + dt.timedelta(days=14),
                }))

            if i == 0:
                agreements = [("年度供货协议", today - dt.timedelta(days=335), today + dt.timedelta(days=30), "active")]
            elif i == 1:
                agreements = [("年度返利协议", today - dt.timedelta(days=385), today - dt.timedelta(days=20), "active")]
            elif i == 4:
                agreements = []
            else:
                start = dt.date(today.year, 1, 1)
                agreements = [("年度框架协议", start, dt.date(today.year, 12, 31), "active")]
            for title, vf, vt, status in agreements:
                _insert_record(cur, who, "agreements", name, _normalise(SPECS["agreements"], {
                    "title": title, "signed_on": vf - dt.timedelta(days=10), "valid_from": vf, "valid_to": vt,
                    "terms": "年销售额达标返利（演示）", "target_amount": rng.randrange(10, 60) * 1_000_000,
                    "rebate_share": rng.choice([0.01, 0.02, 0.03]), "status": status,
                }))

            for k in range(rng.randint(0, 2)):
                old = Decimal(rng.randrange(1000, 20000)) / 100
                _insert_record(cur, who, "price_changes", name, _normalise(SPECS["price_changes"], {
                    "changed_on": last - dt.timedelta(days=rng.randrange(30, 330)), "product": rng.choice(_PRODUCTS),
                    "old_price": old, "new_price": (old * Decimal("1.05")).quantize(Decimal("0.01")),
                    "reason": "原材料成本上涨（演示）",
                }))

            year_start = dt.date(last.year, 1, 1)
            _insert_record(cur, who, "plans", name, _normalise(SPECS["plans"], {
                "kind": "yearly_market_plan", "side": "theirs", "title": "年度市场计划",
                "period_start": year_start, "period_end": dt.date(last.year, 12, 31),
                "budget": rng.randrange(5, 30) * 100_000, "status": "agreed",
            }))
            for k in range(rng.randint(1, 3)):
                start = last - dt.timedelta(days=rng.randrange(40, 300))
                end = start + dt.timedelta(days=rng.choice([6, 13, 29]))
                _insert_record(cur, who, "plans", name, _normalise(SPECS["plans"], {
                    "kind": rng.choice(["monthly_promotion", "holiday_promotion", "new_product_launch"]),
                    "side": rng.choice(PLAN_SIDES), "title": rng.choice(["店庆促销", "节日买赠", "新品试吃", "会员日"]),
                    "period_start": start, "period_end": end, "budget": rng.randrange(1, 20) * 10_000,
                    "status": "done" if end < today else "agreed",
                }))
            _insert_record(cur, who, "plans", name, _normalise(SPECS["plans"], {
                "kind": "quarterly_advertising", "side": "ours", "title": "季度广告投放",
                "period_start": today + dt.timedelta(days=15), "period_end": today + dt.timedelta(days=105),
                "budget": rng.randrange(1, 10) * 50_000, "status": "proposed",
            }))
            if i < 3:  # an account plan (policy §5) on the first three: a goal, one action done, one overdue
                goal = _insert_record(cur, who, "goals", name, _normalise(SPECS["goals"], {
                    "year": today.year, "title": ("保持战略性大客户地位", "联合双11促销", "新品首发进场")[i],
                    "target_tier": "strategic" if i == 0 else None, "status": "open"}))
                doer = owners[i % len(owners)] if owners else None
                for title, due, status in (("确认年度联合营销方案", today - dt.timedelta(days=40), "done"),
                                           ("寄送新品样品与报价", today - dt.timedelta(days=5 + i), "open")):
                    _insert_record(cur, who, "action_items", name, {k: v for k, v in _normalise(
                        SPECS["action_items"], {"title": title, "goal_id": goal, "owner": doer, "due_on": due,
                                                "status": status}).items() if v is not None})
    return created


# --------------------------------------------------------------------------
# Account aliases (raw names from imports → canonical accounts)
# --------------------------------------------------------------------------
def list_aliases(store: Store, user: User) -> pd.DataFrame:
    """Every raw name seen in imports and the account it counts for.

    Columns ``alias_key, alias, account, has_dossier, lines`` (sales lines of
    that account), sorted by account then alias. An alias whose account has
    no dossier is a name the department has not yet recognised.
    """
    permissions.require(user, "read_numbers")
    df = store.cursor().execute(
        """
        select a.alias_key, a.alias, a.account, d.name is not null as has_dossier
        from account_aliases a
        left join (select name from accounts where deleted_at is null) d on d.name = a.account
        order by a.account, a.alias
        """
    ).df()
    lines = account_sales.lines_per_account(store)
    df["lines"] = [int(lines.get(a, 0)) for a in df["account"]]
    return df


def merge_alias(store: Store, user: User, alias_key_: str, account: str) -> int:
    """Count raw name ``alias_key_`` for ``account`` from now on, and move its lines already loaded.

    Updates ``account_aliases``, the ``sales`` and ``inventory`` lines whose raw
    name has that key, records the change in the audit log and bumps the data
    version (every cached figure is recomputed). Splitting an alias back out is
    the same call with its own name as ``account``. Returns the number of
    sales lines moved. Raises :class:`NotFound` for an unknown alias key.
    """
    from kam_core.imports.accounts import alias_key as key_of

    permissions.require(user, "manage_aliases")
    account = _account_name(account)
    with store.transaction() as cur:
        row = cur.execute("select alias, account from account_aliases where alias_key = ?", [alias_key_]).fetchone()
        if row is None:
            raise NotFound(f"alias {alias_key_!r} does not exist")
        old = row[1]
        if old == account:
            return 0
        mine = sorted({r for r in sales_lines.raw_names(cur, old) if key_of(r) == alias_key_})
        cur.execute("update account_aliases set account = ? where alias_key = ?", [account, alias_key_])
        moved = sales_lines.move_lines(cur, old, account, mine)
        audit.record(cur, user.name, "merge_alias", "account_aliases", alias_key_, "account", old, account)
        Store.bump_data_version(cur)
    return int(moved)
