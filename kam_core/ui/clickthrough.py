"""Click-through: every chart mark and table row that stands for an account opens its dossier.

Only Streamlit's own selection events: ``on_select="rerun"`` on
``st.plotly_chart`` and ``st.dataframe``; the run that sees a selection
switches to the Dossier page with ``?account=`` and the view's year and
filters (:func:`kam_core.ui.context.url_params`). Streamlit pushes the new
page onto the browser's history, so Back returns to the page the user came
from, with its own URL. The widget's key carries a generation number that a
click bumps, so the page comes back without the old selection (which would
otherwise open the dossier again at once).
"""
from __future__ import annotations

import html
from typing import Any, Collection, Mapping, Sequence

import pandas as pd
import streamlit as st

from kam_core.locales.formatting import MISSING
from kam_core.ui import context

DOSSIER_PAGE = "app_pages/dossier.py"
_POINT_FIELDS = ("x", "y", "text", "hovertext", "label", "customdata")


def account_of_point(point: Mapping[str, Any], accounts: Collection[str]) -> str | None:
    """The account a selected chart point stands for, or None.

    Charts name their accounts in different places (the category axis of a
    bar, a scatter point's text, a timeline bar's hover data), so the first of
    the point's x, y, text, hovertext, label or customdata values that is one
    of ``accounts`` is taken.
    """
    for name in _POINT_FIELDS:
        value = point.get(name)
        for v in (value if isinstance(value, (list, tuple)) else [value]):
            if isinstance(v, str):
                for candidate in (v, html.unescape(v)):   # charts escape names (plotly renders its tags)
                    if candidate in accounts:
                        return candidate
    return None


def open_dossier(account: str) -> None:
    """Switch to the account's dossier, keeping the year and the filters (a new history entry)."""
    st.switch_page(DOSSIER_PAGE, query_params=context.url_params({"account": account}))


def _key(key: str) -> str:
    return f"{key}__{st.session_state.get(f'{key}__gen', 0)}"


def _follow(key: str, account: str | None) -> None:
    if account is None:
        return
    st.session_state[f"{key}__gen"] = st.session_state.get(f"{key}__gen", 0) + 1
    open_dossier(account)


def chart(fig: Any, key: str, accounts: Collection[str], where: Any = st, **kwargs: Any) -> None:
    """``st.plotly_chart(fig)`` in ``where``; a click on a mark of one of ``accounts`` opens its dossier."""
    kwargs.setdefault("width", "stretch")
    event = where.plotly_chart(fig, key=_key(key), on_select="rerun", selection_mode="points", **kwargs)
    points = event.selection.points if event and event.selection else []
    known = set(accounts)
    _follow(key, next((a for a in (account_of_point(p, known) for p in points) if a), None))


def table(shown: pd.DataFrame, key: str, accounts: Sequence[str], where: Any = st, **kwargs: Any) -> None:
    """``st.dataframe(shown)`` in ``where``; selecting row *i* opens the dossier of ``accounts[i]``."""
    kwargs.setdefault("hide_index", True)
    kwargs.setdefault("width", "stretch")
    kwargs.setdefault("placeholder", MISSING)
    event = where.dataframe(shown, key=_key(key), on_select="rerun", selection_mode="single-row", **kwargs)
    rows = event.selection.rows if event and event.selection else []
    names = list(accounts)
    _follow(key, names[rows[0]] if rows and rows[0] < len(names) else None)
