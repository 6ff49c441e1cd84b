"""Shared fixtures and helpers for the AppTests of Overview, Import, Rankings, Tiers and Settings.

Test modules in this folder import from here (``from core_fixtures import ...``);
``tests/pages/conftest.py`` belongs to the dossier and plans tests.
pytest's default ``prepend`` import mode puts a test file's folder on
``sys.path`` when the folder has no ``__init__.py``. Fixtures imported into a
test module are found by pytest like fixtures defined there.

The fixture database is built through the real import path
(``kam_core.imports.pipeline.import_file``) from a tiny literal CSV whose numbers
are worked out by hand below. The latest year is 2025; its lines end on 7 July,
so it is unfinished: it is compared with 2024 through 7 July (every 2024 line is
earlier, so that is all of 2024's figures) and the Tiers page shows a run-rate
projection.

2025 (total 125,000,000.00; gross profit 14,000,000.00; margin 11.2 %):

=======  ==============  ==========  ======  =========  =========
account  sales           profit      region  tier       to next
=======  ==============  ==========  ======  =========  =========
Alpha    50,000,000.00   5,000,000   华东    strategic  —
Echo     45,000,000.01   4,500,000   华南    partner    4,999,999.99 (within 10 % of 50M)
Bravo    20,000,000.00   3,000,000   华东    partner    30,000,000
Charlie   5,000,000.00   1,000,000   华南    ordinary   15,000,000
Delta     4,999,999.99     500,000   华南    none       0.01 (within 10 % of 5M)
=======  ==============  ==========  ======  =========  =========

Alpha is two lines (30M + 20M). HHI = 10,000 × (0.4² + 0.36² + 0.16² + 0.04² + 0.04²) ≈ 3,184.

2024 (total 86,000,000; gross profit 9,000,000): Alpha 40M (partner), Bravo 25M
(partner), Foxtrot 10M (ordinary, lost in 2025), Charlie 6M (ordinary), Delta
5M (ordinary). So 2024 → 2025: Alpha up, Echo new, Delta down, Foxtrot lost,
Bravo and Charlie the same. Tier counts 2025 vs 2024: strategic 1 (+1),
partner 2 (+0), ordinary 1 (−2), none 1 (+1). Sales +45.3 % (125/86 − 1),
gross profit +55.6 % (14/9 − 1).
"""
from __future__ import annotations

import re
import shutil
from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

from kam_core.imports.pipeline import import_file
from kam_core.store import open_store

ROOT = Path(__file__).resolve().parents[2]
DASHBOARD = str(ROOT / "dashboard.py")
TIMEOUT = 60

FIXTURE_CSV = """日期,门店,区域,供应商,品类,销售额,毛利
2025-01-15,上海一店,华东,Alpha,饮料,30000000.00,3000000.00
2025-06-15,上海一店,华东,Alpha,饮料,20000000.00,2000000.00
2025-03-10,广州一店,华南,Echo,零食,45000000.01,4500000.00
2025-04-20,上海二店,华东,Bravo,日化,20000000.00,3000000.00
2025-05-05,广州一店,华南,Charlie,零食,5000000.00,1000000.00
2025-07-07,广州二店,华南,Delta,日化,4999999.99,500000.00
2024-02-01,上海一店,华东,Alpha,饮料,40000000.00,4000000.00
2024-03-01,上海二店,华东,Bravo,日化,25000000.00,2500000.00
2024-04-01,上海二店,华东,Foxtrot,饮料,10000000.00,1400000.00
2024-05-01,广州一店,华南,Charlie,零食,6000000.00,600000.00
2024-06-01,广州二店,华南,Delta,日化,5000000.00,500000.00
""".encode("utf-8")

ACCOUNTS_2025 = ["Alpha", "Echo", "Bravo", "Charlie", "Delta"]
ACCOUNTS_2024 = ["Alpha", "Bravo", "Foxtrot", "Charlie", "Delta"]

# A second, separate small file for the upload test: two lines, 300.00 in total.
UPLOAD_CSV = """日期,门店,区域,供应商,品类,销售额,毛利
2025-09-01,上海一店,华东,Golf,饮料,100.00,10.00
2025-09-02,上海一店,华东,Golf,饮料,200.00,20.00
""".encode("utf-8")


@pytest.fixture(scope="session")
def fixture_db_file(tmp_path_factory) -> Path:
    """The fixture database, built once through the real importer; tests get copies."""
    path = tmp_path_factory.mktemp("kam_master") / "fixture.duckdb"
    store = open_store(path)
    try:
        import_file(store, FIXTURE_CSV, "fixture.csv")
    finally:
        store.close()
    return path


@pytest.fixture
def fixture_db(fixture_db_file, tmp_path, monkeypatch) -> Path:
    """A private copy of the fixture database, selected for the app with ``KAM_DB``.

    A copy per test because the app keeps one connection per file open for the
    whole process (``st.cache_resource``) and some tests write (settings, imports).
    """
    path = tmp_path / "kam.duckdb"
    shutil.copy(fixture_db_file, path)
    app_env(monkeypatch, path)
    return path


@pytest.fixture
def auth_db(fixture_db_file, tmp_path, monkeypatch) -> Path:
    """A copy of the fixture database (no users yet) with sign-in switched on, as in production."""
    path = tmp_path / "kam.duckdb"
    shutil.copy(fixture_db_file, path)
    app_env(monkeypatch, path, auth=True)
    return path


@pytest.fixture
def empty_db(tmp_path, monkeypatch) -> Path:
    """A fresh database with no data and the demo auto-load switched off."""
    path = tmp_path / "empty.duckdb"
    app_env(monkeypatch, path)
    return path


def app_env(monkeypatch, path: Path, auth: bool = False) -> None:
    monkeypatch.setenv("KAM_DB", str(path))
    if auth:
        monkeypatch.delenv("KAM_AUTH", raising=False)
    else:
        monkeypatch.setenv("KAM_AUTH", "off")
    monkeypatch.setenv("KAM_AUTO_DEMO", "0")
    monkeypatch.setenv("KAM_WARMUP", "0")   # a store per test: no background work beside the page's own


def app_factory(path: Path, monkeypatch) -> Callable[..., AppTest]:
    """Factory on the database ``path``: ``make(page=None, query=None, role=None) -> AppTest``, not yet run.

    With ``page`` the first ``run()`` shows ``page`` (``"app_pages/dossier.py"``), as a link to it
    would; ``query`` sets URL query params; ``role`` runs as another user (``"viewer"``,
    ``"manager:li_kam"``, see kam_core/ui/signin.py) instead of the local director.
    """
    app_env(monkeypatch, path)
    monkeypatch.delenv("KAM_AUTH_AS", raising=False)

    def make(page: str | None = None, query: dict[str, str] | None = None, role: str | None = None) -> AppTest:
        if role:
            monkeypatch.setenv("KAM_AUTH_AS", role)
        return new_app(page, query)

    return make


def new_app(script: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """An AppTest of the whole frame, not yet run, whose first run shows ``script`` (``app_pages/<page>.py``)
    with URL ``query`` params, as a link to that page would: Overview never runs. Before a first run AppTest
    names a page by its file name, and the frame's st.Page url_path is that name (``app_pages/dossier.py`` →
    ``dossier``); a name that did not match would show Overview, which every page test would see."""
    at = AppTest.from_file(DASHBOARD, default_timeout=TIMEOUT)
    for key, value in (query or {}).items():
        at.query_params[key] = value
    if script:
        at.switch_page(script)
    return at


def open_page(page: str | None = None, lang: str | None = None, query: dict[str, str] | None = None) -> AppTest:
    """Run the dashboard (optionally on ``app_pages/<page>.py``, with URL ``query`` params) and
    return it, checked for exceptions."""
    at = new_app(f"app_pages/{page}.py" if page else None, {**({"lang": lang} if lang else {}), **(query or {})})
    at.run()
    assert not at.exception, [e.value for e in at.exception]
    return at


def open_shared_page(fixture_file: Path, folder: Path, page: str | None = None,
                     query: dict[str, str] | None = None) -> AppTest:
    """``open_page(page, query=query)`` on a copy of ``fixture_file`` in ``folder``, for a module-scoped fixture
    whose tests only read what the page shows (none clicks, sets a widget or runs it again, so they share one run)."""
    path = folder / "kam.duckdb"
    shutil.copy(fixture_file, path)
    with pytest.MonkeyPatch.context() as mp:
        app_env(mp, path)
        return open_page(page, query=query)


def metrics_by_label(at: AppTest) -> dict[str, str]:
    """Every ``st.metric`` on the page as label → value text."""
    return {m.label: m.value for m in at.metric}


def deltas_by_label(at: AppTest) -> dict[str, str]:
    """Every ``st.metric`` on the page as label → delta text."""
    return {m.label: m.delta for m in at.metric}


def texts(at: AppTest) -> str:
    """All markdown, caption, message and heading text of the page and sidebar, joined."""
    parts = [e.value for kind in ("title", "subheader", "markdown", "caption", "info", "success", "warning", "error")
             for e in getattr(at, kind)]
    return "\n".join(str(p) for p in parts)


def as_shown(markdown: str) -> str:
    """Markdown source as the browser shows it, as far as escapes go: ``li\\_kam`` → ``li_kam``.

    User text reaches Markdown escaped (kam_core/ui/text.py); AppTest reports the source.
    """
    return re.sub(r"\\([!-/:-@\[-`{-~])", r"\1", markdown)


def dataframe_with(at: AppTest, column: str):
    """The first ``st.dataframe`` on the page whose frame has ``column``."""
    for df in at.dataframe:
        if column in df.value.columns:
            return df.value
    raise LookupError(f"no dataframe with a column {column!r}")


def sidebar_widget(at: AppTest, kind: str, key: str):
    """The sidebar widget of ``kind`` (``selectbox``, ``multiselect``, ``radio``) with ``key``."""
    for w in getattr(at.sidebar, kind):
        if w.key == key:
            return w
    raise LookupError(f"no sidebar {kind} with key {key!r}")
