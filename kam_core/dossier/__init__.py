"""Account dossiers (policy §4) and joint marketing plans (§5): the only code that reads or writes their tables
(accounts, contacts, negotiations, agreements, price_changes, plans, goals, action_items).

One module per job:

* :mod:`.fields`: the vocabulary (roles, kinds, statuses …), the field specifications and input validation;
* :mod:`.records`: every write (validated, versioned, audited, soft deletes);
* :mod:`.queries`: reads, completeness and the department's to-dos;
* :mod:`.plans`: plans beside the sales they should move; :mod:`.targets`: agreements' targets against sales.

Callers write ``from kam_core import dossier`` and ``dossier.add_record(...)``;
the names below are that public face. The demo dossiers are made by
:mod:`kam_core.demo.dossiers`. Raw names from imports and merging them into
accounts are :mod:`kam_core.imports.aliases`'s; :func:`list_aliases` here marks
which of them have a dossier.
"""
from __future__ import annotations

from kam_core.dossier.fields import (ACCOUNT_FACT_FIELDS, ACCOUNT_SPEC, ACTION_STATUSES, AGREEMENT_STATUSES,
                                     BASIC_FIELDS, CLOSED_AGREEMENT_STATUSES, COMPLETENESS_RECORDS, CONTACT_ROLES,
                                     DECISION_ROLES, EXCHANGE_ITEMS, GOAL_STATUSES, INFLUENCE, MASK,
                                     OPEN_ACTION_STATUSES, PERSONAL_FIELDS, PLAN_KINDS, PLAN_RECORD_KINDS,
                                     PLAN_SIDES, PLAN_STATUSES, POLICY_BASIC_FIELDS, POLICY_LEVELS,
                                     PROMOTION_KINDS, RECORD_KINDS, SCORE_FIELDS, SPECS, TARGET_TIERS, NotFound,
                                     ValidationError, VersionConflict, item_label_key)
from kam_core.dossier.queries import (OVERDUE_COLUMNS, TARGET_AGREEMENT_COLUMNS, account_history, account_owners,
                                      active_user_names, agreements_with_targets, completeness,
                                      completeness_scores, department_gaps, dossier_accounts, dossier_version,
                                      expiring_agreements, get_account, last_negotiations, list_aliases,
                                      list_contacts, list_records, may_edit, may_read_personal, overdue_actions,
                                      owned_accounts, scores_frame, search_accounts)
from kam_core.dossier.records import (OWNER_ROLES, add_record, delete_record, restore_record, set_owner,
                                      update_record, upsert_account)

__all__ = [
    "ACCOUNT_FACT_FIELDS", "ACCOUNT_SPEC", "ACTION_STATUSES", "AGREEMENT_STATUSES", "BASIC_FIELDS",
    "CLOSED_AGREEMENT_STATUSES", "COMPLETENESS_RECORDS", "CONTACT_ROLES", "DECISION_ROLES", "EXCHANGE_ITEMS",
    "GOAL_STATUSES", "INFLUENCE", "MASK", "OPEN_ACTION_STATUSES", "OVERDUE_COLUMNS", "OWNER_ROLES",
    "PERSONAL_FIELDS", "PLAN_KINDS", "PLAN_RECORD_KINDS", "PLAN_SIDES", "PLAN_STATUSES", "POLICY_BASIC_FIELDS",
    "POLICY_LEVELS", "PROMOTION_KINDS", "RECORD_KINDS", "SCORE_FIELDS", "SPECS", "TARGET_AGREEMENT_COLUMNS", "account_owners",
    "TARGET_TIERS", "NotFound", "ValidationError", "VersionConflict", "account_history", "active_user_names",
    "add_record", "agreements_with_targets", "completeness", "completeness_scores", "delete_record",
    "department_gaps", "dossier_accounts", "dossier_version", "expiring_agreements", "get_account", "item_label_key",
    "last_negotiations", "list_aliases", "list_contacts", "list_records", "may_edit", "may_read_personal",
    "overdue_actions", "owned_accounts", "restore_record", "scores_frame", "search_accounts",
    "set_owner", "update_record", "upsert_account",
]
