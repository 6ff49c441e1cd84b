"""The dossier's vocabulary and field rules: which records exist, what each field holds, how input is checked.

Pure: no store, no SQL. :func:`normalise` turns what a user typed into the
stored form (or raises :class:`ValidationError` with every problem at once);
:func:`check_whole` checks a record as it would be saved (required fields,
dates in order). The view layer turns codes into words; the label key of a
completeness item is :func:`item_label_key`.
"""
from __future__ import annotations

import datetime as dt
import json
import math
import re
import unicodedata
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

import pandas as pd

from kam_core.safe_text import is_email

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
CLOSED_AGREEMENT_STATUSES: tuple[str, ...] = ("terminated", "renewed")
"""An agreement in one of these states no longer needs attention when it runs out."""
AGREEMENT_STATUSES: tuple[str, ...] = ("draft", "active", "expired", *CLOSED_AGREEMENT_STATUSES)
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


# --------------------------------------------------------------------------
# Errors
# --------------------------------------------------------------------------
class ValidationError(ValueError):
    """One or more fields are invalid. ``errors`` maps field → an English message (the command line's),
    ``codes`` maps field → ``(code, params)``, which the pages word from the catalogue
    (``dossier.invalid.<code>``); field ``"_"`` is the record as a whole."""

    def __init__(self, errors: dict[str, str], codes: dict[str, tuple[str, dict[str, Any]]] | None = None):
        self.errors = dict(errors)
        self.codes = dict(codes or {})
        super().__init__("; ".join(f"{k}: {v}" for k, v in self.errors.items()))


def invalid(field: str, code: str, english: str, **params: Any) -> ValidationError:
    """One field's refusal: its code and figures, and the English sentence."""
    return ValidationError({field: english}, {field: (code, params)})


class NotFound(LookupError):
    """The account or record does not exist."""


def account_name(name: Any) -> str:
    """``name`` trimmed; a missing or over-long name is a :class:`ValidationError`.

    The rule for every account name written: a dossier's, and the account an
    alias counts for (:func:`kam_core.imports.aliases.merge_alias`).
    """
    if not isinstance(name, str) or not name.strip():
        raise invalid("name", "required", "is required")
    if len(name.strip()) > 500:
        raise invalid("name", "too_long", "at most 500 characters", max=500)
    return name.strip()


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
class Field:
    kind: str                       # text longtext email phone date money price share score choice checklist
                                    # year user (a users.name) goal (a goals.id of the same account)
    required: bool = False
    choices: tuple[str, ...] = ()


@dataclass(frozen=True)
class Spec:
    table: str
    fields: dict[str, Field]
    order: tuple[tuple[str, str], ...] = ()      # (earlier, later) date pairs
    sort: str = "id"
    personal: tuple[str, ...] = field(default=())


_T, _L = Field("text"), Field("longtext")

ACCOUNT_SPEC = Spec("accounts", {
    "phone": Field("phone"), "address": _T, "fax": Field("phone"), "email": Field("email"), "website": _T,
    **{f: _L for f in ACCOUNT_FACT_FIELDS},
    **{f: Field("score") for f in SCORE_FIELDS},
    "exchange_checklist": Field("checklist"),
})

SPECS: dict[str, Spec] = {
    "contacts": Spec("contacts", {
        "role": Field("choice", True, CONTACT_ROLES), "name": Field("text", True), "title": _T,
        "authority": _L, "spending_limit": Field("money"), "phone": Field("phone"), "email": Field("email"),
        "personal_notes": _L, "influence": Field("choice", False, INFLUENCE), "relationship": Field("score"),
    }, sort="id", personal=PERSONAL_FIELDS),
    "negotiations": Spec("negotiations", {
        "held_on": Field("date", True), "topic": Field("text", True), "our_participants": _T,
        "their_participants": _T, "summary": _L, "outcome": _L, "follow_up_on": Field("date"),
    }, order=(("held_on", "follow_up_on"),), sort="held_on desc, id desc"),
    "agreements": Spec("agreements", {
        "title": Field("text", True), "signed_on": Field("date"), "valid_from": Field("date"),
        "valid_to": Field("date"), "terms": _L, "target_amount": Field("money"), "rebate_share": Field("share"),
        "status": Field("choice", False, AGREEMENT_STATUSES), "category": _T,
    }, order=(("valid_from", "valid_to"),), sort="valid_to desc nulls last, id desc"),
    "price_changes": Spec("price_changes", {
        "changed_on": Field("date", True), "product": _T, "old_price": Field("price"),
        "new_price": Field("price"), "reason": _L,
    }, sort="changed_on desc, id desc"),
    "plans": Spec("plans", {
        "kind": Field("choice", True, PLAN_KINDS), "side": Field("choice", True, PLAN_SIDES), "title": _T,
        "period_start": Field("date"), "period_end": Field("date"), "budget": Field("money"),
        "status": Field("choice", False, PLAN_STATUSES), "notes": _L,
    }, order=(("period_start", "period_end"),), sort="period_start desc nulls last, id desc"),
    "goals": Spec("goals", {
        "year": Field("year", True), "title": Field("text", True),
        "target_tier": Field("choice", False, TARGET_TIERS), "status": Field("choice", False, GOAL_STATUSES),
        "notes": _L,
    }, sort="year desc, id"),
    "action_items": Spec("action_items", {
        "title": Field("text", True), "goal_id": Field("goal"), "owner": Field("user"),
        "due_on": Field("date"), "status": Field("choice", False, ACTION_STATUSES), "notes": _L,
    }, sort="due_on nulls last, id"),
}

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


class Invalid(Exception):
    """A value a field cannot hold: ``code`` and ``params`` for the pages, the text for the command line."""

    def __init__(self, code: str, english: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(english)


def is_blank(v: Any) -> bool:
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


def to_date(v: Any) -> dt.date:
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
            raise Invalid("date", "a date like 2025-03-31")
    else:
        raise Invalid("date", "a date like 2025-03-31")
    if not 1990 <= d.year <= 2100:
        raise Invalid("date_range", "a date between 1990 and 2100")
    return d


def _to_decimal(v: Any) -> Decimal:
    if isinstance(v, bool):
        raise Invalid("number", "a number")
    if isinstance(v, float):
        v = repr(v)
    if isinstance(v, str):
        v = unicodedata.normalize("NFKC", v).strip().replace(",", "").replace("¥", "").replace("￥", "")
    try:
        d = Decimal(v)
    except (InvalidOperation, TypeError, ValueError):
        raise Invalid("number", "a number") from None
    if not d.is_finite():
        raise Invalid("number", "a number")
    return d


def normalise_value(f: Field, v: Any) -> Any:
    """The stored form of ``v``, or raise :class:`Invalid` with the message for the user."""
    if f.kind == "checklist":
        if is_blank(v) if not isinstance(v, dict) else False:
            return None
        if isinstance(v, str):
            try:
                v = json.loads(v)
            except ValueError:
                raise Invalid("checklist", "a checklist of §5 items") from None
        if not isinstance(v, dict):
            raise Invalid("checklist", "a checklist of §5 items")
        unknown = set(v) - set(EXCHANGE_ITEMS)
        if unknown:
            raise Invalid("checklist_unknown", "unknown items: " + ", ".join(sorted(map(str, unknown))),
                          items=", ".join(sorted(map(str, unknown))))
        if any(not isinstance(x, bool) for x in v.values()):
            raise Invalid("checklist_bool", "each item is done (true) or not (false)")
        return json.dumps({k: bool(v.get(k, False)) for k in EXCHANGE_ITEMS}, sort_keys=True)
    if is_blank(v):
        return None
    if f.kind in ("text", "longtext"):
        s = str(v).strip()
        if len(s) > _TEXT_MAX[f.kind]:
            raise Invalid("too_long", f"at most {_TEXT_MAX[f.kind]} characters", max=_TEXT_MAX[f.kind])
        return s
    if f.kind == "email":
        s = str(v).strip()
        if not is_email(s):
            raise Invalid("email", "an e-mail address like name@example.com")
        return s
    if f.kind == "phone":
        s = str(v).strip()
        if not _valid_phone(s):
            raise Invalid("phone", "a phone number like 138-0000-0000, 021-12345678 or +86 21 1234 5678")
        return s
    if f.kind == "date":
        return to_date(v)
    if f.kind in ("money", "price"):
        d = _to_decimal(v)
        if d < 0:
            raise Invalid("non_negative", "zero or more")
        if d >= _MONEY_MAX:
            raise Invalid("too_large", "too large")
        return d.quantize(Decimal("0.01") if f.kind == "money" else Decimal("0.0001"), rounding=ROUND_HALF_UP)
    if f.kind == "share":
        d = _to_decimal(v)
        if not 0 <= d <= 1:
            raise Invalid("share", "a share between 0 and 1 (3 % is 0.03)")
        return float(d)
    if f.kind == "score":
        d = _to_decimal(v)
        if d != d.to_integral_value():
            raise Invalid("score", "a whole number from 1 to 5")
        if not 1 <= d <= 5:
            raise Invalid("score", "a whole number from 1 to 5")
        return int(d)
    if f.kind == "year":
        d = _to_decimal(v)
        if d != d.to_integral_value() or not 1990 <= d <= 2100:
            raise Invalid("year", "a year between 1990 and 2100")
        return int(d)
    if f.kind == "goal":
        d = _to_decimal(v)
        if d != d.to_integral_value() or d < 1:
            raise Invalid("goal", "one of the account's goals")
        return int(d)
    if f.kind == "user":
        s = str(v).strip()
        if len(s) > 500:
            raise Invalid("user_name", "a user name")
        return s
    if f.kind == "choice":
        s = unicodedata.normalize("NFKC", str(v)).strip().lower().replace(" ", "_").replace("-", "_")
        if s not in f.choices:
            raise Invalid("choice", "one of " + ", ".join(f.choices))
        return s
    raise AssertionError(f.kind)


def normalise(spec: Spec, changes: dict[str, Any], *, forbidden: dict[str, str] | None = None) -> dict[str, Any]:
    """Validate ``changes`` field by field; all problems are reported together."""
    if not isinstance(changes, dict):
        raise invalid("_", "not_mapping", "changes must be a mapping of field to value")
    out, errors, codes = {}, {}, {}
    for name, value in changes.items():
        if forbidden and name in forbidden:
            errors[name], codes[name] = forbidden[name], ("read_only", {})
            continue
        f = spec.fields.get(name)
        if f is None:
            errors[str(name)], codes[str(name)] = "unknown field", ("unknown_field", {})
            continue
        try:
            out[name] = normalise_value(f, value)
        except Invalid as e:
            errors[name], codes[name] = f"must be {e}", (e.code, e.params)
    if errors:
        raise ValidationError(errors, codes)
    return out


def check_whole(spec: Spec, merged: dict[str, Any]) -> None:
    """Required fields present and date pairs in order, on the record as it would be saved."""
    errors, codes = {}, {}
    for name, f in spec.fields.items():
        if f.required and merged.get(name) is None:
            errors[name], codes[name] = "is required", ("required", {})
    for a, b in spec.order:
        if merged.get(a) is not None and merged.get(b) is not None and merged[a] > merged[b]:
            errors[b] = f"must be on or after {a} ({merged[a]})"
            codes[b] = ("not_before", {"other": a, "value": merged[a]})
    if errors:
        raise ValidationError(errors, codes)


# Fields no write may set: the store manages them (why, for the user, is the value).
RECORD_FORBIDDEN = {"id": "is assigned automatically", "account": "cannot be moved to another account",
                     "version": "is managed by the store", "deleted_at": "use delete/restore",
                     "updated_by": "is managed by the store", "updated_at": "is managed by the store"}
ACCOUNT_FORBIDDEN = {"name": "cannot be renamed here", "owner": "is set by a director (set_owner)",
                      "backup_owner": "is set by a director (set_owner)", "version": "is managed by the store",
                      "deleted_at": "accounts are not deleted here", "updated_by": "is managed by the store",
                      "updated_at": "is managed by the store"}


COMPLETENESS_RECORDS: tuple[str, ...] = ("negotiation", "agreement")
"""The two record items of the completeness list: at least one negotiation, at least one agreement."""


def item_label_key(item: str) -> str:
    """The catalogue key (:mod:`kam_core.locales`) naming a completeness item or an account field.

    ``contact:<role>`` → ``role.<role>``; ``negotiation``/``agreement`` →
    ``dossier.item.<item>``; an account field → ``dossier.<field>`` (the key the
    facts tab labels the field with, so both name it the same way).
    """
    if item.startswith("contact:"):
        return "role." + item.removeprefix("contact:")
    if item in COMPLETENESS_RECORDS:
        return f"dossier.item.{item}"
    if item == "own_suppliers":
        return "dossier.suppliers"
    if item in SCORE_FIELDS:
        return "dossier.score." + item.removeprefix("score_")
    return f"dossier.{item}"
