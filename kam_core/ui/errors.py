"""What a user sees when something breaks: a short message with an error id, never a traceback.

``dashboard.py`` runs the whole frame (sign-in, sidebar, the page) inside
:func:`guard`; ``app.py`` passes :func:`show_failure` to ``st.App`` as its
``on_script_error`` for what the frame cannot catch (widget callbacks).
Either way the full trace goes to the server log under the same id, and
``client.showErrorDetails = "none"`` in ``.streamlit/config.toml`` stops
Streamlit from sending any exception text to the browser by itself.
"""
from __future__ import annotations

import contextlib
import logging
import secrets
import sys
from typing import Iterator

import streamlit as st

from kam_core.locales.labels import normalise_lang, t
from kam_core.permissions import PermissionDenied
from kam_core.ui.text import escape_md

LOG = logging.getLogger("kam_core.dashboard")


def _log() -> logging.Logger:
    # The dashboard's own logger writes to the server's stderr even when nobody configured logging.
    if not LOG.handlers:
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s"))
        LOG.addHandler(handler)
        LOG.setLevel(logging.INFO)
    return LOG


def _lang() -> str:
    ctx = st.session_state.get("kam_ctx")
    if ctx is not None:
        return ctx.lang
    try:
        return normalise_lang(st.query_params.get("lang"))
    except Exception:  # no script context
        return normalise_lang(None)


def show_failure(exc: BaseException) -> bool:
    """Log ``exc`` with its trace under a new error id and show the user the id in their language.

    Returns True: the failure is shown (``st.App``'s ``on_script_error`` then shows nothing else).
    """
    error_id = secrets.token_hex(4)
    _log().error("error %s: %s", error_id, type(exc).__name__, exc_info=exc)
    try:
        st.error(t("error.unexpected", _lang(), id=error_id), icon=":material/error:")
    except Exception:  # showing the message must not hide the failure
        _log().exception("error %s: could not show the message", error_id)
    return True


@contextlib.contextmanager
def guard() -> Iterator[None]:
    """Run the block; an exception (not ``st.stop``/``st.rerun``, which are not ``Exception``) is shown
    by :func:`show_failure` and ends the run quietly."""
    try:
        yield
    except Exception as exc:
        show_failure(exc)


def permission_text(exc: PermissionDenied, lang: str) -> str:
    """A refusal of :mod:`kam_core.permissions` in the user's words (Markdown-safe), from its code."""
    params = dict(exc.params)
    if "action" in params:
        params["action"] = t(f"permission.action.{params['action']}", lang)
    if "user" in params:
        params["user"] = escape_md(params["user"])
    return t(f"permission.{exc.code}", lang, **params)
