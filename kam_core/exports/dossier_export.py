"""The dossier export: one account's facts and records as a workbook, personal details only when allowed.

Everything is read through :mod:`kam_core.dossier` (which checks
``read_dossier``); codes kept in the records (a contact's role, a plan's
kind, a status) are written as words of the reader's language.
"""
from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal
from typing import Any

from kam_core import audit
from kam_core.exports.xlsx import (close_workbook, column_label, download_name, frame_rows, kv_rows, new_workbook,
                                   report_label, safe_text, tier_words, unique_sheet_name, write_table)
from kam_core.locales.columns import column_kind
from kam_core.locales.labels import label_or, normalise_lang, t
from kam_core.permissions import User, can
from kam_core.store import Store

RECORD_COLUMNS: dict[str, tuple[str, ...]] = {  # kind -> columns exported, in order (ids, versions, audit left out)
    "contacts": ("role", "name", "title", "authority", "influence", "relationship",
                 "spending_limit", "phone", "email", "personal_notes"),
    "negotiations": ("held_on", "topic", "our_participants", "their_participants", "summary", "outcome",
                     "follow_up_on"),
    "agreements": ("title", "signed_on", "valid_from", "valid_to", "terms", "target_amount", "category",
                   "rebate_share", "status"),
    "price_changes": ("changed_on", "product", "old_price", "new_price", "reason"),
    "plans": ("kind", "side", "title", "period_start", "period_end", "budget", "status", "notes"),
    "goals": ("year", "title", "target_tier", "status", "notes"),
    "action_items": ("title", "goal_id", "owner", "due_on", "status", "notes"),
}
FACT_FIELDS: tuple[str, ...] = (
    "name", "owner", "backup_owner", "phone", "address", "fax", "email", "website",
    "org_structure", "history", "business_goals", "direction", "product_positioning", "competitors",
    "own_suppliers", "resources", "market_share", "industry_rank", "main_products", "price_policy",
    "score_brand_awareness", "score_cooperation", "score_supply_priority",
    "score_new_product_priority", "updated_by", "updated_at")
_FACT_LABEL_KEYS = {"name": "report.label.account", "owner": "dossier.owner", "backup_owner": "dossier.backup_owner",
                    "own_suppliers": "dossier.suppliers", "updated_by": "report.col.updated_by",
                    "updated_at": "report.col.updated_at"}
_CODE_LABELS = {  # (kind, column) -> the catalogue's prefix for the words of its codes
    ("contacts", "role"): "role", ("contacts", "influence"): "influence",
    ("agreements", "status"): "agreement.status",
    ("plans", "kind"): "plan.kind", ("plans", "side"): "plan.side", ("plans", "status"): "plan.status",
    ("goals", "status"): "goal.status", ("action_items", "status"): "action.status",
}
_CONTACT_FIELD_KEYS = {"phone": "dossier.phone", "email": "dossier.email",  # one name per field with the facts
                       "personal_notes": "contact.notes"}


def _fact_label(field: str, lang: str) -> str:
    if field in _FACT_LABEL_KEYS:
        return t(_FACT_LABEL_KEYS[field], lang)
    if field.startswith("score_"):
        return t(f"dossier.score.{field.removeprefix('score_')}", lang)
    return t(f"dossier.{field}", lang)


def _record_header(kind: str, column: str, lang: str) -> str:
    if kind == "contacts":
        if column in _CONTACT_FIELD_KEYS:
            return t(_CONTACT_FIELD_KEYS[column], lang)
        return t(f"contact.{column}", lang)
    return column_label(column, lang)


def _value_kind(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, int) and not isinstance(value, bool):
        return "int"  # a score or a rank: no decimals
    if isinstance(value, (float, Decimal)):
        return "number"
    return "text"


def _code_words(kind: str, column: str, values: Any, lang: str) -> list:
    """A record column's codes as words (a code the catalogue does not know is kept as typed)."""
    if kind == "goals" and column == "target_tier":
        return tier_words(values, lang)
    prefix = _CODE_LABELS[(kind, column)]
    return [None if v is None or v != v else label_or(f"{prefix}.{v}", lang, str(v)) for v in values]


def build_dossier_export(store: Store, account: str, user: User, include_personal: bool = False,
                         lang: str = "zh") -> bytes:
    """One account's dossier as xlsx: facts, contacts, negotiations, agreements, price changes, plans.

    Contacts' personal fields (:data:`kam_core.dossier.PERSONAL_FIELDS`: phone,
    e-mail, personal notes, spending limit) are in the file only when
    ``include_personal`` is asked for *and* the user may ``export_personal`` on
    this account (a director, or its owner / backup owner); such an export is
    recorded in the audit log (action ``export``). Otherwise those columns are
    left out, not blanked. Reading goes through :mod:`kam_core.dossier`, which
    checks ``read_dossier``.
    """
    from kam_core import dossier

    lang = normalise_lang(lang)
    facts = dossier.get_account(store, user, account) or {"name": account}
    owner, backup = facts.get("owner"), facts.get("backup_owner")
    personal = include_personal and can(user, "export_personal", owner=owner, backup_owner=backup)

    title = report_label("title.dossier", lang, account=account)
    buffer = io.BytesIO()
    wb, formats = new_workbook(buffer, title)
    ws = wb.add_worksheet(unique_sheet_name(wb, report_label("sheet.facts", lang)))
    ws.write_string(0, 0, safe_text(title), formats.title)
    ws.write_string(1, 0, report_label("label.personal_included" if personal else "label.personal_omitted", lang))
    kv_rows(ws, formats, 3, [(_fact_label(f, lang), facts.get(f), _value_kind(facts.get(f))) for f in FACT_FIELDS])
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 60)

    for kind, wanted in RECORD_COLUMNS.items():
        frame = dossier.list_records(store, user, account, kind)
        cols = [c for c in wanted if c in frame.columns
                and (personal or kind != "contacts" or c not in dossier.PERSONAL_FIELDS)]
        frame = frame[cols].copy()
        for c in cols:
            if (kind, c) in _CODE_LABELS or (kind, c) == ("goals", "target_tier"):
                frame[c] = _code_words(kind, c, frame[c].astype(object).tolist(), lang)
        write_table(wb, formats, report_label(f"sheet.{kind}", lang), cols, frame_rows(frame),
                    kinds=["text" if (kind, c) in _CODE_LABELS else column_kind(c, frame[c]) for c in cols],
                    headers=[_record_header(kind, c, lang) for c in cols])

    data = close_workbook(wb, buffer)
    if personal:
        with store.transaction() as tx:
            audit.record(tx, user.name, "export", "accounts", account, field="personal",
                         new=download_name("dossier", None, account))
    return data
