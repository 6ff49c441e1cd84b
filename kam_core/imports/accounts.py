"""Account names: normalisation, aliases from ``account_aliases``, and look-alike suggestions.

An *account* is the canonical name the product ranks (a supplier, a brand …).
Raw spellings from files are mapped through ``account_aliases(alias_key,
alias, account)``: ``alias_key`` is :func:`alias_key` of the raw name. A raw name
nobody has seen becomes its own account, named :func:`normalise_name` of it.
Look-alikes are only *suggested* (:func:`suggest_aliases`); merging is the
user's decision (bad_inputs §3.8).
"""
from __future__ import annotations

import difflib
import re
import unicodedata
from typing import Iterable, Mapping

import duckdb

__all__ = [
    "alias_key",
    "apart_names",
    "exact_key",
    "folded_names",
    "new_alias_rows",
    "normalise_name",
    "product_prefix",
    "resolve_accounts",
    "suggest_aliases",
]

_INVISIBLE = dict.fromkeys(map(ord, "\ufeff\u200b\u200c\u200d\u2060"), None)
_BRACKETS = str.maketrans({"【": "[", "】": "]", "〔": "(", "〕": ")"})
_WS = re.compile(r"\s+")
# Longest first, so 股份有限公司 goes before 有限公司 before 公司.
_SUFFIXES = re.compile(
    r"(?:股份有限公司|有限责任公司|集团有限公司|有限公司|集团|公司"
    r"|(?<![a-z])(?:co\.?,?\s*ltd\.?|company\s+limited|limited|ltd\.?|inc\.?|incorporated|llc|corp\.?"
    r"|corporation|gmbh))"
    r"[\s,.]*$",
    re.IGNORECASE,
)


def normalise_name(s: str | None) -> str:
    """The display form of a name: NFKC (full-width → half-width), trimmed, spaces
    collapsed, brackets half-width, company suffixes dropped while something remains
    (``某某集团有限公司`` → ``某某``, ``ACME Co., Ltd.`` → ``ACME``, but ``集团`` stays)."""
    if s is None:
        return ""
    t = unicodedata.normalize("NFKC", str(s)).translate(_INVISIBLE).translate(_BRACKETS)
    t = _WS.sub(" ", t).strip()
    while True:
        m = _SUFFIXES.search(t)
        if not m or m.start() == 0:
            break
        rest = t[: m.start()].rstrip(" ,.")
        if not rest:
            break
        t = rest
    return t


def tidy_name(s: str | None) -> str:
    """A raw name as an account name: NFKC, invisible characters gone, spaces collapsed, trimmed.

    Unlike :func:`normalise_name` it keeps company suffixes, so a new account is
    named as the export spelled it (``甲食品有限公司``), while matching uses the key.
    """
    if s is None:
        return ""
    t = unicodedata.normalize("NFKC", str(s)).translate(_INVISIBLE).translate(_BRACKETS)
    return _WS.sub(" ", t).strip()


def alias_key(s: str | None) -> str:
    """The alias-table key of a raw name: :func:`normalise_name`, casefolded."""
    return normalise_name(s).casefold()


_PREFIX = re.compile(r"^[^\s,，、;；:：/|()（）\[\]【】·.。!！?？]+")


def product_prefix(name: str | None) -> str:
    """The first word of a product name, used as a brand when there is no brand column.

    ``Fiskars 剪刀, 蓝色`` → ``Fiskars``; ``施乐 打印纸`` → ``施乐``; without a
    separator the whole (normalised) name is returned; ``''`` for empty input.
    """
    t = unicodedata.normalize("NFKC", name or "").translate(_INVISIBLE).strip()
    m = _PREFIX.match(t)
    return m.group(0) if m else ""


def suggest_aliases(
    unknown: list[str], known: list[str], threshold: float = 0.85
) -> list[tuple[str, str, float]]:
    """Pairs ``(unknown raw name, known name, score)`` that look like one account.

    The score is difflib's ratio on :func:`alias_key` forms (1.0 when they are
    equal after normalisation). Sorted by unknown name order, then score
    descending. Nothing is merged here.
    """
    known_keys = [(k, alias_key(k)) for k in dict.fromkeys(known)]
    out: list[tuple[str, str, float]] = []
    for u in dict.fromkeys(unknown):
        uk = alias_key(u)
        if not uk:
            continue
        sm = difflib.SequenceMatcher(None, autojunk=False)
        sm.set_seq2(uk)
        found = []
        for k, kk in known_keys:
            if not kk or k == u:
                continue
            sm.set_seq1(kk)
            if sm.real_quick_ratio() < threshold or sm.quick_ratio() < threshold:
                continue
            score = sm.ratio()
            if score >= threshold:
                found.append((u, k, round(score, 3)))
        found.sort(key=lambda t: -t[2])
        out.extend(found)
    return out


def exact_key(s: str | None) -> str:
    """The alias-table key of one spelling kept apart from the names it folds with:
    ``=`` and :func:`tidy_name`, casefolded (``合肥恒宏农业集团`` is not ``合肥恒宏农业集团有限公司``)."""
    t = tidy_name(s).casefold()
    return "=" + t if t else ""


def apart_names(cur: duckdb.DuckDBPyConnection, raw_names: Iterable[str | None],
                keep_apart: Iterable[str] = ()) -> set[str]:
    """The names that are their own account whatever their suffix: those the user keeps apart
    now (compared as :func:`tidy_name`) and those kept apart before (their exact key is in
    ``account_aliases``)."""
    raws = [r for r in dict.fromkeys(raw_names) if r is not None and exact_key(r)]
    wanted = {tidy_name(n) for n in keep_apart}
    keys = sorted({exact_key(r) for r in raws})
    known = {r[0] for r in cur.execute(
        "select alias_key from account_aliases where list_contains(?, alias_key)", [keys]).fetchall()} if keys else set()
    return {r for r in raws if tidy_name(r) in wanted or exact_key(r) in known}


def resolve_accounts(cur: duckdb.DuckDBPyConnection, raw_names: Iterable[str | None],
                     apart: Iterable[str] = ()) -> dict[str, str]:
    """Map each distinct raw name to its account.

    A name whose :func:`alias_key` is in ``account_aliases`` gets that row's
    account; any other name becomes its own account, named by the first
    spelling of its key (:func:`tidy_name`), so ``甲公司`` and ``甲有限公司`` in one
    file are one account. None and names that normalise to ``''`` are left out.
    A name in ``apart`` (:func:`apart_names`) is matched by its :func:`exact_key`
    only, and is its own account unless that key says otherwise.
    """
    apart = set(apart)
    raws = [r for r in dict.fromkeys(raw_names) if r is not None]
    keys = {r: exact_key(r) if r in apart else alias_key(r) for r in raws}
    wanted = sorted({k for k in keys.values() if k})
    known: dict[str, str] = {}
    if wanted:
        rows = cur.execute(
            "select alias_key, account from account_aliases where list_contains(?, alias_key)", [wanted]
        ).fetchall()
        known = dict(rows)
    first: dict[str, str] = {}
    for r, k in keys.items():
        if k and k not in known:
            first.setdefault(k, tidy_name(r))
    return {r: known.get(k) or first[k] for r, k in keys.items() if k}


def new_alias_rows(mapping: Mapping[str, str], known_keys: Iterable[str] = (),
                   apart: Iterable[str] = ()) -> list[tuple[str, str, str]]:
    """Rows ``(alias_key, alias, account)`` to insert for a :func:`resolve_accounts` result.

    One row per alias key (the first raw spelling wins), skipping ``known_keys``;
    a name in ``apart`` gets its :func:`exact_key`.
    Insert with ``insert into account_aliases (alias_key, alias, account) values
    (?, ?, ?) on conflict (alias_key) do nothing`` so a key already present is kept.
    """
    skip, apart = set(known_keys), set(apart)
    rows: dict[str, tuple[str, str, str]] = {}
    for raw, account in mapping.items():
        k = exact_key(raw) if raw in apart else alias_key(raw)
        if k and k not in skip and k not in rows:
            rows[k] = (k, raw, account)
    return list(rows.values())


def folded_names(mapping: Mapping[str, str], apart: Iterable[str] = ()) -> list[tuple[str, str]]:
    """``(raw name, account)`` for each name the company-suffix rules folded into an account
    spelled otherwise (``合肥恒宏农业集团`` → ``合肥恒宏农业集团有限公司``), sorted."""
    apart = set(apart)
    return sorted((raw, account) for raw, account in mapping.items()
                  if raw not in apart and tidy_name(raw) != account and alias_key(raw) == alias_key(account))
