"""Every label the interface shows, in Chinese (zh-CN) and English, read from one catalogue.

The words live in ``kam_core/locales/zh.toml`` and ``en.toml``, one file per
language with the same keys, so a translator edits text without touching Python.

``t(key, lang, **fmt)`` looks a label up and fills its ``{placeholders}``.
A missing key raises :class:`MissingLabel` under pytest (or when
``KAM_I18N_STRICT=1``) so a forgotten label fails a test; in the running app
it falls back to the key itself, because a page showing ``kpi.sales`` is
better than a page that crashes.

Settings are declared in :mod:`kam_core.settings`; their short names
(``setting.<key>``) and help texts (``setting_help.<key>``) are labels here.
"""
from __future__ import annotations

import os
import string
import tomllib
from pathlib import Path

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"


class MissingLabel(KeyError):
    """A label key (or one of its languages, or a format value) is missing."""


_DIR = Path(__file__).resolve().parent


def _flatten(tables: dict, lang: str) -> dict[str, str]:
    """``{"kpi": {"sales": "…"}}`` → ``{"kpi.sales": "…"}``: one table per area, one key per label."""
    flat: dict[str, str] = {}
    for area, entries in tables.items():
        if not isinstance(entries, dict):
            raise ValueError(f"{lang}.toml: {area!r} is not a table of labels")
        for name, text in entries.items():
            if not isinstance(text, str):
                raise ValueError(f"{lang}.toml: {area}.{name} is not a text")
            flat[f"{area}.{name}"] = text
    return flat


def load_catalogue(directory: Path = _DIR) -> dict[str, dict[str, str]]:
    """Every label, ``{key: {lang: text}}``, read from ``<lang>.toml`` in ``directory``.

    TOML itself refuses a key written twice in one file, so a repeated label
    cannot silently overwrite the first. A key missing from one language
    falls back to the default language at run time (and fails the catalogue
    tests).
    """
    per_lang = {}
    for lang in LANGS:
        with open(directory / f"{lang}.toml", "rb") as fh:
            per_lang[lang] = _flatten(tomllib.load(fh), lang)
    keys = list(per_lang[DEFAULT_LANG]) + [k for lang in LANGS for k in per_lang[lang] if k not in per_lang[DEFAULT_LANG]]
    return {k: {lang: per_lang[lang][k] for lang in LANGS if k in per_lang[lang]} for k in keys}


LABELS: dict[str, dict[str, str]] = load_catalogue()


def _strict() -> bool:
    return os.environ.get("KAM_I18N_STRICT") == "1" or "PYTEST_CURRENT_TEST" in os.environ


def normalise_lang(lang: str | None) -> str:
    """``"zh-CN"``, ``"zh_cn"``, ``"ZH"`` → ``"zh"``; ``"en-US"`` → ``"en"``; anything else → the default."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else DEFAULT_LANG


def has_label(key: str) -> bool:
    """True when ``key`` is in the table."""
    return key in LABELS


def t(key: str, lang: str, **fmt: object) -> str:
    """The label for ``key`` in ``lang`` with ``fmt`` filled into its placeholders.

    Missing key (or missing format value): raises :class:`MissingLabel` under
    tests, returns the key (or the unfilled text) in the running app.
    """
    entry = LABELS.get(key)
    if entry is None:
        if _strict():
            raise MissingLabel(f"no label {key!r}")
        return key
    text = entry.get(normalise_lang(lang)) or entry.get(DEFAULT_LANG) or next(iter(entry.values()))
    if not fmt and "{" not in text:
        return text
    try:
        return text.format(**fmt)
    except (KeyError, IndexError) as exc:
        if _strict():
            raise MissingLabel(f"label {key!r} needs {exc}") from exc
        return text


def join_items(items, lang: str) -> str:
    """A list in a sentence: ``甲、乙、丙`` in Chinese, ``a, b, c`` in English."""
    return ("、" if normalise_lang(lang) == "zh" else ", ").join(str(i) for i in items)


def label_or(key: str, lang: str, default: str) -> str:
    """The label for ``key``, or ``default`` when the table has none.

    For labels of data values (a plan kind typed in by a user, an unknown
    tier) where a missing label is expected and not a bug.
    """
    return t(key, lang) if key in LABELS else default


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` in a label."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def setting_label(key: str, lang: str) -> str:
    """Short name of a setting from :data:`kam_core.settings.SETTINGS`."""
    return t(f"setting.{key}", lang)


def setting_help(key: str, lang: str) -> str:
    """The help text of a setting of :data:`kam_core.settings.SETTINGS` (``setting_help.<key>``)."""
    return t(f"setting_help.{key}", lang)
