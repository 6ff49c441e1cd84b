"""Saved views: a named page with its year, filters and "my accounts" switch, to reopen or share as a link.

A view belongs to the user who saved it (``saved_views``, migration 5); a
name is unique per user and saving it again replaces it. Sharing is the
link itself (:func:`view_link`): whoever opens it sees that page with those
filters, after signing in, with their own rights and their own "my accounts"
default unless the view fixed it. Every save and delete is audited.
"""
from __future__ import annotations

import json
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Mapping
from urllib.parse import quote, urlencode

from kam_core import audit
from kam_core.permissions import User
from kam_core.store import Store

PAGES = ("overview", "rankings", "tiers", "dossier", "plans", "import", "settings")
"""The pages (their url paths) a view can be saved on."""
PARAM_KEYS = ("year", "region", "category", "store", "mine", "account", "lang")
"""The URL parameters a view keeps, in link order."""
NAME_MAX = 100
VALUES_MAX = 200


class InvalidView(ValueError):
    """A view that cannot be saved; ``code`` names why (``name_required``, ``name_too_long``, ``unknown_page``,
    ``bad_params``, ``not_found``)."""

    def __init__(self, code: str, message: str):
        self.code = code
        super().__init__(message)


@dataclass(frozen=True)
class SavedView:
    id: int
    owner: str
    name: str
    page: str
    params: dict[str, Any] = field(default_factory=dict)


def _clean_name(name: Any) -> str:
    text = unicodedata.normalize("NFKC", str(name or "")).strip()
    if not text:
        raise InvalidView("name_required", "a view needs a name")
    if len(text) > NAME_MAX or any(unicodedata.category(c).startswith("C") for c in text):
        raise InvalidView("name_too_long", f"a view's name is at most {NAME_MAX} printable characters")
    return text


def clean_params(params: Mapping[str, Any]) -> dict[str, Any]:
    """The view's parameters: only :data:`PARAM_KEYS`, each a text or a list of texts (empty ones dropped)."""
    out: dict[str, Any] = {}
    for key in PARAM_KEYS:
        value = params.get(key)
        values = value if isinstance(value, (list, tuple)) else [] if value in (None, "") else [value]
        if len(values) > VALUES_MAX or not all(isinstance(v, (str, int)) and len(str(v)) <= 500 for v in values):
            raise InvalidView("bad_params", f"{key}: at most {VALUES_MAX} short values")
        values = [str(v) for v in values if str(v) != ""]
        if values:
            out[key] = values if isinstance(value, (list, tuple)) else values[0]
    unknown = set(params) - set(PARAM_KEYS)
    if unknown:
        raise InvalidView("bad_params", "unknown parameters: " + ", ".join(sorted(map(str, unknown))))
    return out


def save_view(store: Store, user: User, name: str, page: str, params: Mapping[str, Any]) -> SavedView:
    """Save (or replace) ``user``'s view ``name`` of ``page`` with ``params``; returns it."""
    name = _clean_name(name)
    if page not in PAGES:
        raise InvalidView("unknown_page", f"no page {page!r}; one of {', '.join(PAGES)}")
    clean = clean_params(params)
    definition = json.dumps({"page": page, "params": clean}, ensure_ascii=False, sort_keys=True)
    with store.transaction() as cur:
        row = cur.execute("select id, page, params from saved_views where owner = ? and name = ?",
                          [user.name, name]).fetchone()
        if row is None:
            vid = int(cur.execute("select nextval('saved_view_id_seq')").fetchone()[0])
            cur.execute("insert into saved_views (id, owner, name, page, params) values (?, ?, ?, ?, ?)",
                        [vid, user.name, name, page, json.dumps(clean, ensure_ascii=False, sort_keys=True)])
            audit.record(cur, user.name, "insert", "saved_views", vid, "definition", None, definition)
        else:
            vid = int(row[0])
            before = json.dumps({"page": row[1], "params": json.loads(row[2])}, ensure_ascii=False, sort_keys=True)
            cur.execute("update saved_views set page = ?, params = ?, created_at = current_timestamp where id = ?",
                        [page, json.dumps(clean, ensure_ascii=False, sort_keys=True), vid])
            audit.record(cur, user.name, "update", "saved_views", vid, "definition", before, definition)
    return SavedView(vid, user.name, name, page, clean)


def list_views(store: Store, user: User) -> list[SavedView]:
    """``user``'s saved views, by name."""
    rows = store.cursor().execute("select id, owner, name, page, params from saved_views where owner = ?"
                                  " order by name", [user.name]).fetchall()
    return [SavedView(int(i), o, n, p, json.loads(q)) for i, o, n, p, q in rows]


def delete_view(store: Store, user: User, view_id: int) -> None:
    """Delete one of ``user``'s own views (someone else's is not found)."""
    with store.transaction() as cur:
        row = cur.execute("select name, page, params from saved_views where id = ? and owner = ?",
                          [int(view_id), user.name]).fetchone()
        if row is None:
            raise InvalidView("not_found", f"{user.name} has no saved view #{view_id}")
        cur.execute("delete from saved_views where id = ?", [int(view_id)])
        audit.record(cur, user.name, "delete", "saved_views", int(view_id), "definition",
                     json.dumps({"name": row[0], "page": row[1], "params": json.loads(row[2])}, ensure_ascii=False,
                                sort_keys=True), None)


def view_link(view: SavedView, base: str = ".") -> str:
    """The view as a link: ``<base>/<page>?year=…&region=…`` (``base`` is the app's address)."""
    query = urlencode({k: view.params[k] for k in PARAM_KEYS if k in view.params}, doseq=True, quote_via=quote)
    return f"{base.rstrip('/')}/{view.page}" + (f"?{query}" if query else "")
