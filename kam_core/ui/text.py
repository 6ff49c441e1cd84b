"""User text shown as text: account names, dossier fields, plan names, file and sheet names.

Most Streamlit elements render the string they are given as Markdown:
``st.markdown``, ``st.write``, ``st.caption``, titles and headers,
``st.info``/``success``/``warning``/``error``, metric labels, page-link, button,
checkbox, expander and tab labels, help texts, progress texts. An account called
``![x](http://127.0.0.1:9/t.png) **md**`` would be an image request and bold text.
So every piece of text that came from a user or a file goes through
:func:`escape_md` on its way into one of those; the labels around it are ours
and keep their Markdown. Tables (``st.dataframe``, ``st.data_editor``), text
inputs and select options show text as it is and need nothing.
"""
from __future__ import annotations

import string
from typing import Any

_ESCAPED = {ch: "\\" + ch for ch in string.punctuation}
# CommonMark lets any ASCII punctuation be backslash-escaped; Streamlit's own syntax (`:red[…]`,
# `:material/icon:`, `$…$`) is punctuation too. A line break would start a new Markdown block.
_ESCAPED.update({"\r": " ", "\n": " "})
_TABLE = str.maketrans(_ESCAPED)


def escape_md(value: Any) -> str:
    """``value`` as text that Markdown shows exactly as it is (None → empty)."""
    if value is None:
        return ""
    return str(value).translate(_TABLE)
