"""Shared AppTest fixtures for page tests.

``demo_db`` is a private copy of a small demo database (the demo sales plus
demo dossiers for the top 20 accounts), built once per run (``demo_db_template``
in ``tests/conftest.py``) and copied per test, so a test may write to it; ``read_only_db``
is one copy per module for the tests that only read, and ``read_app`` its ``app``. ``app`` makes an ``AppTest`` of the whole
frame (``dashboard.py``) opened on one page, with ``KAM_AUTH=off`` (the local
director) unless a role is given (``KAM_AUTH_AS``, see kam_core/ui/signin.py).

    def test_x(app):
        at = app("app_pages/dossier.py", query={"account": "某某"}).run()   # the first run shows the Dossier
        assert not at.exception
"""
from __future__ import annotations

import shutil
from pathlib import Path
from typing import Callable

import pytest
from streamlit.testing.v1 import AppTest

from core_fixtures import app_factory


@pytest.fixture
def demo_db(demo_db_template: Path, tmp_path: Path) -> Path:
    """A private copy of the demo database for one test (path to the file)."""
    path = tmp_path / "kam.duckdb"
    shutil.copyfile(demo_db_template, path)
    return path


@pytest.fixture
def app(demo_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """Factory: ``app(page=None, query=None, role=None) -> AppTest`` on the test's own ``demo_db``;
    call ``.run()`` on it (see ``core_fixtures.app_factory``)."""
    return app_factory(demo_db, monkeypatch)


@pytest.fixture(scope="module")
def read_only_db(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A copy of the demo database for a module's tests that only read it (path to the file)."""
    path = tmp_path_factory.mktemp("demo_read") / "kam.duckdb"
    shutil.copyfile(demo_db_template, path)
    return path


@pytest.fixture
def read_app(read_only_db: Path, monkeypatch: pytest.MonkeyPatch) -> Callable[..., AppTest]:
    """``app`` on the module's shared copy (``read_only_db``), for the tests that run a page and write
    nothing: in one process they find the figures the ones before computed, as a second visitor would."""
    return app_factory(read_only_db, monkeypatch)
