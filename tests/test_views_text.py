"""User text reaches Markdown escaped: it shows as the same text, never as an image, a link or bold."""
from __future__ import annotations

import html
import re

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from kam_core.ui.text import escape_md

markdown_it = pytest.importorskip("markdown_it", reason="markdown-it-py (a CommonMark renderer) is not installed")
RENDER = markdown_it.MarkdownIt("commonmark").enable(["strikethrough", "table"])
HOSTILE = "![x](http://127.0.0.1:9/t.png) **md**"


def rendered(text: str) -> str:
    return RENDER.render(text)


def test_the_hostile_account_name_renders_as_its_own_text():
    out = rendered(escape_md(HOSTILE))
    assert "<img" not in out and "<strong>" not in out and "<a " not in out
    assert out == "<p>" + html.escape(HOSTILE, quote=True) + "</p>\n"


@pytest.mark.parametrize("name", [
    "# 标题", "- 列表", "1. first", "> quote", "`code`", "<b>x</b>", "&amp;", "[a](http://b.c)", "a | b",
    "~~gone~~", "_it_", "**", "\\", ":red[红]", "$x^2$", "line\nbreak",
])
def test_markdown_syntax_in_user_text_stays_text(name):
    out = rendered(escape_md(name))
    body = re.fullmatch(r"<p>(.*)</p>\n", out, re.S)
    assert body, out
    assert html.unescape(body.group(1)) == name.replace("\n", " ")


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.characters(codec="utf-8", exclude_categories=("Cs", "Cc", "Zl", "Zp")), min_size=1))
def test_any_text_renders_as_exactly_itself(name):
    name = name.strip()
    if not name:
        return
    out = rendered(escape_md(name))
    body = re.fullmatch(r"<p>(.*)</p>\n", out, re.S)
    assert body, out
    assert html.unescape(body.group(1)) == name


def test_nothing_becomes_the_empty_text():
    assert escape_md(None) == ""
