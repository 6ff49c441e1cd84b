"""Every page read in both languages, in a real browser: no code names, no other language, no "None", nothing cut.

The demo database (sales plus the demo dossiers) with one director is served by
``streamlit run app.py`` (``demo_server``, tests/conftest.py); Debian's Chromium signs in once and visits Overview,
Import, Rankings, Tiers (every tab), Dossier (every tab, for the demo's top
account), Plans and Settings, in Chinese and in English (signed in on the Overview's URL with
``?lang=``, then through the sidebar): one test per language, both on one pytest-xdist worker (see
tests/conftest.py), sharing the server with the click-through test.
On each page (and tab) every expander is opened and what a user can read is
collected: the main area's and the sidebar's text (chart text included), the text
a style draws (::before/::after content), and every dataframe's headers and drawn
cells (read from the grid itself: the canvas has no DOM text, see
``browser_helpers.read_page``). On Import the file dropzone is read at rest and
with a file dragged over it, and its button must open the file picker from the
keyboard under its name in the page's language. It fails on

* ``snake_case``: an ASCII code name such as ``sales_without`` (both languages);
* ``english``: an English word on a Chinese page, outside the allowlist below;
* ``cjk``: a Chinese character on an English page outside the demo data's own
  names and texts (accounts, suppliers, brands, products, stores, regions,
  categories, and what the demo dossiers hold: names, addresses, notes);
* ``none``: "None", "nan", "NaN", "NaT" or "<NA>";
* ``error``: a traceback or an error box (the page failed, so it could not be read);
* ``cut``: a metric (label, value, delta), tab or expander title or static table
  header whose text ends in "…" or overflows its box, or a dataframe column
  title wider than its column, at 1,440 px and at 1,280 px.

The failure lists every violation as ``(language, page, kind, text)``, one a
line, so the message is the defect list.
"""
from __future__ import annotations

import re
import time
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api", reason="playwright (the Python package) is not installed")
from browser_helpers import require_chromium  # noqa: E402

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402
from playwright.sync_api import TimeoutError as PlaywrightTimeout  # noqa: E402

from kam_core.locales.labels import t  # noqa: E402
from kam_core.sales import figures, tiers  # noqa: E402
from kam_core.store import open_store  # noqa: E402

from browser_helpers import (evidence_on_failure, go_to, main, open_expanders,  # noqa: E402
                             read_page, wait_drawn, wait_idle)
from browser_helpers import DEMO_DIRECTOR as DIRECTOR  # noqa: E402

WIDTHS = (1440, 1280)
HEIGHT = 900
# (name in the report, URL path); the walk signs in on the first's URL and opens the others through the sidebar
PAGES = [("Overview", ""), ("Import", "import"), ("Rankings", "rankings"), ("Tiers", "tiers"),
         ("Dossier", "dossier"), ("Plans", "plans"), ("Settings", "settings")]

# ASCII words a Chinese page may show, each with its reason. Anything else in Latin letters
# (two or more) on a Chinese page is an English word to translate.
ZH_ASCII_ALLOWED = {
    "SKU": "the stock-keeping unit: Chinese retail writes SKU",
    "CNY": "the currency code",
    "KPI": "the usual abbreviation in Chinese business reports",
    "ABC": "ABC 分类, the name of the method",
    "HHI": "赫芬达尔指数 (HHI), the index's standard abbreviation",
    "Excel": "a product name",
    "CSV": "a file format's name",
    "XML": "a file format's name",
    "MB": "a unit",
    "SMTP": "a protocol's name (mail settings)",
    "STARTTLS": "a protocol's name (mail settings)",
}
# Whole lines allowed anywhere: the language switch names each language in its own words, so a
# reader who cannot read the current language still finds it.
SWITCH_LINES = {"语言 · Language", "中文", "English"}

SNAKE = re.compile(r"(?<![A-Za-z0-9_])[A-Za-z][A-Za-z0-9]*(?:_[A-Za-z0-9]+)+(?![A-Za-z0-9_])")
WORD = re.compile(r"(?<![A-Za-z])[A-Za-z]{2,}(?![A-Za-z])")
CJK = re.compile(r"[\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff\u3000-\u303f\uff01-\uff5e\u2e80-\u2fdf]+")
RAW_NONE = re.compile(r"(?<![A-Za-z])(None|nan|NaN|NaT|<NA>)(?![A-Za-z])")
# Not words: addresses, e-mail, file names with an extension, file paths.
NOT_WORDS = re.compile(r"https?://\S+|www\.\S+|\S+@\S+\.\w+|\S+\.(?:xlsx|xls|xlsb|xlsm|csv|ods|duckdb|json|png|pdf)\b"
                       r"|(?<![\w/])(?:~|\.{1,2})?(?:/[\w.\-]+){2,}/?", re.IGNORECASE)
CODE_VALUE = re.compile(r"^[a-z0-9_]+$")


# ---------------------------------------------------------------- the demo store and its own words
DOSSIER_TABLES = ("accounts", "contacts", "negotiations", "agreements", "price_changes", "plans", "goals",
                  "action_items")
NAME_COLUMNS = {"sales": ("account", "account_raw", "supplier", "brand", "category", "store", "region", "sku",
                          "product"),
                "inventory": ("account", "account_raw", "sku", "product", "store")}


def data_literals(store) -> set[str]:
    """Every text the demo data itself holds, as it would be shown.

    The names of sales and inventory (accounts, suppliers, brands, categories, stores, regions,
    SKUs, products) and the free text of the demo dossiers. A dossier column whose every value
    is a lower-case code (``ours``, ``holiday_promotion``, ``system``) is a code, not data:
    showing it is a defect, so it is left out; so are JSON columns.
    """
    cur = store.cursor()
    out: set[str] = set()
    for table, columns in NAME_COLUMNS.items():
        for col in columns:
            out.update(r[0] for r in cur.execute(f'select distinct "{col}" from {table} where "{col}" is not null'
                                                 ).fetchall())
    for table in DOSSIER_TABLES:
        cols = [r[0] for r in cur.execute(
            "select column_name from information_schema.columns where table_name = ? and data_type = 'VARCHAR'",
            [table]).fetchall()]
        for col in cols:
            values = [str(r[0]) for r in cur.execute(
                f'select distinct "{col}" from {table} where "{col}" is not null').fetchall()]
            if not values or all(CODE_VALUE.match(v) for v in values) or values[0].startswith(("{", "[")):
                continue
            out.update(values)
    return {v.strip() for v in out if v and v.strip()}


@pytest.fixture(scope="module")
def demo_store(demo_db_template: Path) -> dict:
    """The demo data's own words and the account whose dossier is read, from the template that
    ``demo_server`` (tests/conftest.py) serves a copy of, with its director."""
    store = open_store(demo_db_template, read_only=True)
    try:
        year = figures.available_years(store)[-1]
        top = str(tiers.assign_tiers(store, year)["account"].iloc[0])
        has_dossier = store.cursor().execute("select count(*) from accounts where name = ?", [top]).fetchone()[0]
        assert has_dossier == 1, f"the demo's top account {top} has no dossier"
        literals = data_literals(store)
        users = {r[0] for r in store.cursor().execute("select name from users").fetchall()} | {DIRECTOR}
    finally:
        store.close()
    return {"account": top, "literals": literals, "users": users}


# ---------------------------------------------------------------- the checks
class Checker:
    """Collects violations as (language, page, kind, text).

    A text is reported once per language, page and kind: what stands above a page's tabs (the
    dossier's header card) is seen again on every tab and reported with the first.
    """

    def __init__(self, literals: set[str], users: set[str]) -> None:
        self.violations: list[tuple[str, str, str, str]] = []
        self._seen: set[tuple[str, str, str, str]] = set()
        self._read: set[tuple[str, str, str]] = set()   # texts already checked, per language and page
        self.dropzones: dict[str, dict[str, list[str]]] = {}   # the Import dropzone's drawn words, per language
        self._names = literals | users
        # By first character, longest first, so a name is removed whole before a shorter one inside it.
        self._by_first: dict[str, list[str]] = {}
        for s in sorted(self._names, key=len, reverse=True):
            self._by_first.setdefault(s[0], []).append(s)

    def add(self, lang: str, page: str, kind: str, text: str) -> None:
        key = (lang, page.split(" › ")[0], kind, text)
        if key not in self._seen:
            self._seen.add(key)
            self.violations.append((lang, page, kind, text))

    def _clean(self, text: str, code: list[str]) -> str:
        for c in sorted(code, key=len, reverse=True):
            text = text.replace(c, " ")
        return NOT_WORDS.sub(" ", self._strip_names(text))

    def _strip_names(self, text: str) -> str:
        out, i = [], 0
        while i < len(text):
            for name in self._by_first.get(text[i], ()):
                if text.startswith(name, i):
                    out.append(" ")
                    i += len(name)
                    break
            else:
                out.append(text[i])
                i += 1
        return "".join(out)

    def words(self, lang: str, page: str, text: str, code: list[str], icons: frozenset[str] = frozenset()) -> None:
        """The word checks on one block of text (a page's text or one grid cell or header)."""
        base = page.split(" › ")[0]
        for line in text.splitlines():
            line = line.strip()
            if not line or line in SWITCH_LINES or line in icons or line in self._names:
                continue
            if (lang, base, line) in self._read:
                continue
            self._read.add((lang, base, line))
            shown = line if len(line) <= 90 else line[:87] + "…"
            for m in RAW_NONE.finditer(line):
                self.add(lang, page, "none", f"{m.group(1)} in «{shown}»")
            clean = self._clean(line, code)
            for m in SNAKE.finditer(clean):
                self.add(lang, page, "snake_case", f"{m.group(0)} in «{shown}»")
            clean = RAW_NONE.sub(" ", SNAKE.sub(" ", clean))
            if lang == "zh":
                for m in WORD.finditer(clean):
                    if m.group(0) not in ZH_ASCII_ALLOWED:
                        self.add(lang, page, "english", f"{m.group(0)} in «{shown}»")
            else:
                for m in CJK.finditer(clean):
                    if not re.search(r"[\u3400-\u9fff]", m.group(0)):
                        continue   # CJK punctuation alone (、。「」) is reported with the words around it
                    self.add(lang, page, "cjk", f"{m.group(0)} in «{shown}»")

    def page_text(self, lang: str, page: str, seen: dict, sidebar: bool) -> None:
        for error in seen.get("errors", []):
            self.add(lang, page, "error", error)
        icons = frozenset(seen["icons"])
        self.words(lang, page, seen["main"], seen["code"], icons)
        self.words(lang, page, "\n".join(seen.get("drawn", [])), seen["code"], icons)
        if sidebar:
            self.words(lang, "sidebar", seen["sidebar"], seen["code"], icons)
        for grid in seen["grids"]:
            if grid.get("unreadable"):
                self.add(lang, page, "unreadable", "a dataframe whose cells could not be read")
            for header in grid["headers"]:
                self.words(lang, page, header, [])
            for cell in grid["cells"]:
                self.words(lang, page, cell, [])

    def cuts(self, lang: str, page: str, seen: dict, width: int) -> None:
        for text in seen["cut"]:
            self.add(lang, page, "cut", f"{text} at {width} px")
        for grid in seen["grids"]:
            for c in grid["cut"]:
                self.add(lang, page, "cut_header",
                         f"{c['text']} at {width} px (needs {c['need']} px, has {c['room']} px)")


# ---------------------------------------------------------------- the browser walk
def settle(page: Page) -> None:
    """After a page load: the run finished (twice, 200 ms apart, for a page that reruns itself), then every
    visible chart and dataframe drawn."""
    wait_idle(page)
    wait_drawn(page, 0)
    wait_drawn(page, 200)


def sign_in(page: Page, url: str, password: str, lang: str) -> None:
    """Sign in on the Overview's URL in ``lang``: the page shown after it is the walk's first page."""
    m = main(page)
    page.goto(f"{url}/?lang={lang}")
    expect(m.locator("h1").first).to_have_text(t("signin.title", lang), timeout=120_000)
    wait_idle(page)
    m.get_by_label(t("signin.name", lang)).fill(DIRECTOR)
    m.get_by_label(t("signin.password", lang), exact=True).fill(password)
    m.get_by_role("button", name=t("signin.submit", lang)).click()


def read_state(page: Page, checker: Checker, lang: str, name: str, width_now: int, sidebar: bool) -> int:
    """Check what is on screen now at ``width_now``, then the cuts at the other width; returns the width left."""
    open_expanders(page)
    seen = read_page(page)
    checker.page_text(lang, name, seen, sidebar)
    checker.cuts(lang, name, seen, width_now)
    other = WIDTHS[1] if width_now == WIDTHS[0] else WIDTHS[0]
    page.set_viewport_size({"width": other, "height": HEIGHT})
    wait_drawn(page, 150)   # grids and metrics re-layout to the new width
    checker.cuts(lang, name, read_page(page, max_rows=0, texts=False), other)
    return other


DROPZONE = '[data-testid="stFileUploaderDropzone"]'


def dropzone_words(page: Page, checker: Checker, lang: str) -> dict[str, list[str]]:
    """The Import page's dropzone: the words it draws at rest and while a file is dragged over it
    (checked like the page's text), and its button, found by its name in the page's language,
    opens the file picker from the keyboard."""
    m = main(page)
    words = {"rest": sorted(read_page(page, max_rows=0)["drawn"])}
    files = page.evaluate_handle("() => { const d = new DataTransfer();"
                                 " d.items.add(new File(['x'], 'x.csv', {type: 'text/csv'})); return d; }")
    zone = m.locator(DROPZONE)
    zone.dispatch_event("dragenter", {"dataTransfer": files})
    zone.locator(":scope > div:not([data-testid])").wait_for()    # the overlay while a file is over the zone
    seen = read_page(page, max_rows=0)
    zone.dispatch_event("dragleave", {"dataTransfer": files})
    zone.locator(":scope > div:not([data-testid])").wait_for(state="detached")
    words["drag"] = sorted(seen["drawn"])
    checker.words(lang, "Import › dragging a file", "\n".join(seen["drawn"] + [seen["main"]]), seen["code"],
                  frozenset(seen["icons"]))
    button = zone.get_by_role("button", name=t("upload.browse", lang), exact=True)
    # The drag events can make the page draw the uploader again, taking the focus with it: focus the
    # button and check it has the focus (it is reachable from the keyboard), then press Enter on the
    # button as drawn now (Playwright focuses it again first); another try covers a redraw in between.
    # The chooser opens within a second when the button had the focus, so a try waits 3 s, not 10.
    for attempt in range(3):
        button.focus()
        expect(button).to_be_focused()
        try:
            with page.expect_file_chooser(timeout=3_000):
                button.press("Enter")
            break
        except PlaywrightTimeout:
            if attempt == 2:
                raise
    return words


def walk(page: Page, account: str, checker: Checker, lang: str) -> dict[str, float]:
    """Every page and tab in ``lang``; returns seconds per page visit (for the log)."""
    timings: dict[str, float] = {}
    width = WIDTHS[0]
    m = main(page)
    for number, (name, path) in enumerate(PAGES):
        started = time.monotonic()
        if number:
            # The first page is the one signed in on (``sign_in``); onwards through the sidebar, as a
            # user goes: the language stays in the URL, and the browser keeps its loaded app (a page
            # load costs Chromium about a second of CPU).
            go_to(page, t(f"page.{name.lower()}", lang))
        expect(m.locator("h1").first).to_have_text(t(f"page.{name.lower()}", lang), timeout=60_000)
        settle(page)
        assert "/" + path in page.url and f"lang={lang}" in page.url, f"{name} ({lang}) is at {page.url}"
        if name == "Dossier":   # the sidebar opens the top-ranked account, the one the fixture chose
            expect(m.locator('[data-testid="stHeading"] h3').first).to_have_text(account)
        tabs = m.locator('[data-testid="stTabs"]').first.locator('[role="tab"]')
        tab_names = [t.strip() for t in tabs.all_inner_texts()]
        if not tab_names:
            width = read_state(page, checker, lang, name, width, sidebar=True)
        if name == "Import":
            checker.dropzones[lang] = dropzone_words(page, checker, lang)
        for i, tab in enumerate(tab_names):
            tabs.nth(i).click()
            wait_drawn(page)
            width = read_state(page, checker, lang, f"{name} › {tab}", width, sidebar=(i == 0))
        timings[f"{lang} {name}"] = round(time.monotonic() - started, 1)
    return timings


@pytest.mark.parametrize("lang", ["zh", "en"])
def test_every_page_reads_in_its_language_without_codes_none_or_cut_text(demo_store, demo_server, browser, lang: str,
                                                                        tmp_path: Path) -> None:
    expect.set_options(timeout=30_000)
    d = demo_store
    server = demo_server["server"]
    checker = Checker(d["literals"], d["users"])
    started = time.monotonic()
    page = browser.new_page(viewport={"width": WIDTHS[0], "height": HEIGHT}, locale="zh-CN")
    try:
        with evidence_on_failure(page, server, tmp_path):
            sign_in(page, server.url, str(demo_server["password"]), lang)
            timings = walk(page, d["account"], checker, lang)
    finally:
        page.context.close()
    print(f"\nwalked in {time.monotonic() - started:.1f} s: {timings}")
    report = "\n".join(f"  ({lang}, {page}, {kind}, {text})" for lang, page, kind, text in checker.violations)
    assert not checker.violations, (f"{len(checker.violations)} violations as (language, page, kind, text):\n"
                                    + report)
    # Streamlit's own dropzone English is gone (the checks above) and the catalogue's words are drawn in its place
    limit = t("upload.hint", "zh", mb="200")
    limit_en = t("upload.hint", "en", mb="200")
    expected = {
        "zh": {"rest": sorted(["选择文件", limit]), "drag": sorted(["选择文件", limit, "松开鼠标即可上传"])},
        "en": {"rest": sorted(["Browse files", limit_en]),
               "drag": sorted(["Browse files", limit_en, "Drop the files to upload"])},
    }
    assert checker.dropzones == {lang: expected[lang]}
    assert limit == "拖放文件到此处，单个文件不超过 200 MB"


def test_the_checks_flag_codes_other_languages_and_none_but_not_the_datas_own_names() -> None:
    checker = Checker({"合肥恒宏农业集团有限公司", "华东"}, {"zhao_director"})
    seen = {"main": "\n".join(["销售额 (万元)", "sales_without (万元)", "200MB per file", "当前用户: zhao_director",
                               "SKU 数 12", "数据库: kam.duckdb", "upload_file", "收件箱 /srv/kam/inbox"]),
            "sidebar": "语言 · Language\n中文\nEnglish", "code": [], "icons": ["upload_file"],
            "grids": [{"headers": ["客户"], "cells": ["None", "合肥恒宏农业集团有限公司"], "cut": []}], "cut": []}
    checker.page_text("zh", "Rankings", seen, sidebar=True)
    seen_en = {"main": "合肥恒宏农业集团有限公司 · 华东\n演示数据 demo\nJan 2026\nTier: 战略性…",
               "sidebar": "语言 · Language\n中文", "code": [], "icons": [],
               "grids": [{"headers": ["Sales (10k CNY)"], "cells": ["NaT"],
                          "cut": [{"text": "Sales (10k CNY)", "need": 90, "room": 59}]}],
               "cut": ["Strateg…"]}
    checker.page_text("en", "Tiers › Accounts", seen_en, sidebar=True)
    checker.cuts("en", "Tiers › Accounts", seen_en, 1280)
    assert checker.violations == [
        ("zh", "Rankings", "snake_case", "sales_without in «sales_without (万元)»"),
        ("zh", "Rankings", "english", "per in «200MB per file»"),
        ("zh", "Rankings", "english", "file in «200MB per file»"),
        ("zh", "Rankings", "none", "None in «None»"),
        ("en", "Tiers › Accounts", "cjk", "演示数据 in «演示数据 demo»"),
        ("en", "Tiers › Accounts", "cjk", "战略性 in «Tier: 战略性…»"),
        ("en", "Tiers › Accounts", "none", "NaT in «NaT»"),
        ("en", "Tiers › Accounts", "cut", "Strateg… at 1280 px"),
        ("en", "Tiers › Accounts", "cut_header", "Sales (10k CNY) at 1280 px (needs 90 px, has 59 px)"),
    ]
