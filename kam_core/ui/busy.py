"""A page opened while another process holds the database: it says so, retries by itself,
and comes back without a reload.

DuckDB lets one process have the file. When the dashboard starts while a
command-line import has it, opening the store fails with DuckDB's lock error
(which names the other process's pid). The frame then shows that in the user's
language instead of a traceback, and a fragment re-runs every few seconds to
try again; the first success re-runs the whole app.
"""
from __future__ import annotations

import re
from pathlib import Path

import duckdb
import streamlit as st

from kam_core.locales.labels import t
from kam_core.store import Store
from kam_core.ui import context

RETRY_SECONDS = 3
_PID = re.compile(r"\(PID (\d+)\)")


def is_lock_conflict(exc: BaseException) -> bool:
    """True for DuckDB's "Could not set lock on file …: Conflicting lock is held …"."""
    return isinstance(exc, duckdb.IOException) and "lock" in str(exc).lower()


def lock_holder(exc: BaseException) -> int | None:
    """The pid DuckDB names as holding the file, if it names one."""
    m = _PID.search(str(exc))
    return int(m.group(1)) if m else None


def holder_kind(pid: int | None) -> str:
    """``import`` for a ``kam_core … import`` process, ``command`` for another kam_core
    command, else ``other`` (read from /proc; nothing is shown of the command line itself)."""
    if pid is None:
        return "other"
    try:
        argv = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return "other"
    words = [a.decode("utf-8", "replace") for a in argv]
    if "kam_core" not in words:
        return "other"
    return "import" if "import" in words[words.index("kam_core"):] else "command"


def _lang() -> str:
    """Before the store opens there are no settings: the URL's language, else the browser's."""
    lang = st.query_params.get("lang")
    if lang in ("zh", "en"):
        return lang
    locale = (getattr(st.context, "locale", None) or "").lower()
    return "en" if locale.startswith("en") else "zh"


def store_or_wait() -> Store:
    """The shared store; while another process holds the file, the notice and a self-retry, then a stop."""
    try:
        return context.get_store()
    except duckdb.IOException as exc:
        if not is_lock_conflict(exc):
            raise
        lang = _lang()
        pid = lock_holder(exc)
        st.title(t("app.title", lang))
        st.warning(t(f"busy.by_{holder_kind(pid)}", lang, pid=pid if pid is not None else "?"),
                   icon=":material/hourglass_top:")
        _retry(lang)
        st.stop()


@st.fragment(run_every=RETRY_SECONDS)
def _retry(lang: str) -> None:
    try:
        context.get_store()
    except duckdb.IOException as exc:
        if not is_lock_conflict(exc):
            raise
        st.caption(t("busy.retrying", lang, seconds=RETRY_SECONDS))
        return
    st.rerun()   # the file is free: the whole app runs again, now with its store
