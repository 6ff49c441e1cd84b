"""Suite-wide: how the tests share this machine's cores.

pytest.ini runs the suite on pytest-xdist workers (``-n auto --dist loadgroup``), one per core
(``pytest_xdist_auto_num_workers`` below). The run is CPU-bound from start to end (the browser
tests' Chromium and servers included), and a third worker on two cores cost more than it filled:
the same tests took 521 busy CPU-seconds with three workers and 458 with two (less switching
between processes), and the run 268 s instead of 245 s. ``PYTEST_XDIST_AUTO_NUM_WORKERS`` or
``-n N`` choose another count; ``-n 0`` runs everything in one process.

Each test marked ``browser`` (a ``streamlit run`` server, most with Debian's Chromium) joins one
of two xdist groups, and each group runs on one worker, its tests one after another: at most two
browsers run at once, and they are the longest units of work, so xdist hands them out
first (the browser groups, then the other ``slow`` tests: see ``_start_rank``). The groups are
about even in time, and the tests that only read the demo (the language walks, one test per
language, and the click-through) share the first group's worker and one server (``demo_server``).
The ``spark`` tests are one group, so one worker starts their module's Spark session (a JVM)
once, and so are the tests of each module in ``MODULE_GROUPS``.

``demo_db_template`` is the demo database built once per run (by the first worker that needs
it); tests copy the file instead of generating the demo again.
"""
from __future__ import annotations

import fcntl
import functools
import os
import sys
from pathlib import Path

import pytest

# The suite starts some hundred Python processes (workers, servers, command lines) that import the
# same modules: where the environment turns bytecode caches off (PYTHONDONTWRITEBYTECODE), each
# compiled kam_core again and each worker rewrote every test module's asserts again. The first
# process to import a module writes its cache (``__pycache__``, ignored by git); the rest read it.
sys.dont_write_bytecode = False
os.environ.pop("PYTHONDONTWRITEBYTECODE", None)

# The workers keep both cores busy (see above), and each test's data is small: one DuckDB thread per
# database does the same work with less CPU than a pool per connection contending for the cores.
# Set before anything opens a store; servers and command lines the tests start inherit it.
os.environ.setdefault("KAM_DB_THREADS", "1")



def _scan_components_once() -> None:
    """Every AppTest's first run scans all installed packages for Streamlit components (about 0.2 s of
    CPU reading 150 packages' metadata; Streamlit 1.67, ``AppTest._run``), where a server scans once at
    start. The packages do not change during a run: the first scan's result serves every AppTest."""
    from streamlit.components.v2 import manifest_scanner

    manifest_scanner.scan_component_manifests = functools.cache(manifest_scanner.scan_component_manifests)


@pytest.fixture(scope="session", autouse=True)
def _components_scanned_once() -> None:
    """In each process that runs tests (not in xdist's controller, which only hands them out: this file's
    imports are kept to what the controller needs, about a second less before the workers start)."""
    _scan_components_once()

# The second browser group (each group is about 100-120 s under load on this machine). The tests on
# ``demo_server`` stay in the first group, so they share one worker and one server (each finds the
# figures the one before computed): server starts and first views fewer.
SECOND_BROWSER_GROUP = ("test_browser_sessions.py", "test_browser.py")
# Modules whose module-scoped fixtures are costly (the demo generated, the reference store built):
# each is one group, so one worker builds them once instead of every worker that gets one of its tests.
MODULE_GROUPS = ("test_demo.py", "test_metrics_reference.py")


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int | None:
    if os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS"):
        return None                      # xdist reads it
    return len(os.sched_getaffinity(0))


def _group(item: pytest.Item) -> str | None:
    if item.get_closest_marker("browser") is not None:
        return "browser_b" if item.path.name in SECOND_BROWSER_GROUP else "browser_a"
    if item.get_closest_marker("spark") is not None:
        return "spark"
    if item.path.name in MODULE_GROUPS:
        return item.path.stem
    return None


def _start_rank(item: pytest.Item) -> int:
    if item.get_closest_marker("browser") is not None:
        return 0
    return 1 if item.get_closest_marker("slow") is not None else 2


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        group = _group(item)
        if group:
            item.add_marker(pytest.mark.xdist_group(group))
    # xdist hands out work in this order (pytest.ini turns off its reordering by group size):
    # the browser groups first, then the other slow tests, so no long test is left for the end.
    items.sort(key=_start_rank)


@pytest.fixture(scope="module")
def duckdb_default_threads():
    """DuckDB with its default threads (one per core) for a module, as the product runs: a query whose
    result depends on row order that only one thread keeps shows up here. Use it before any store opens."""
    with pytest.MonkeyPatch.context() as mp:
        mp.delenv("KAM_DB_THREADS", raising=False)
        yield


@pytest.fixture(scope="module")
def browser():
    """Debian's Chromium headless shell through Playwright, started once per test module that asks for it.
    Each test opens its own context (``browser.new_page()`` or ``browser.new_context()``), so no cookie or
    storage passes from one test to the next, and each context carries the run tracker ``wait_idle`` reads
    (``browser_helpers.TrackedBrowser``); a Playwright driver and a browser start cost about 2 CPU-s."""
    from playwright.sync_api import sync_playwright

    from browser_helpers import CHROMIUM, CHROMIUM_ARGS, TrackedBrowser

    with sync_playwright() as pw:
        chromium = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        try:
            yield TrackedBrowser(chromium)
        finally:
            chromium.close()


@pytest.fixture(scope="session")
def demo_server(demo_db_template: Path, tmp_path_factory: pytest.TempPathFactory):
    """``streamlit run app.py`` on a copy of the demo database with one director (``DEMO_DIRECTOR``), for
    the browser tests that only read: the language walks and the click-through. They are in the first
    browser group, so one worker starts it once, and each finds the figures the others computed.
    Yields ``server`` (a ``browser_helpers.StreamlitServer``) and ``password``. A test reads what it
    expects of the data from the template (``open_store(demo_db_template, read_only=True)``): the
    server holds its copy."""
    import secrets
    import shutil

    from browser_helpers import DEMO_DIRECTOR, Hidden, StreamlitServer
    from kam_core import auth
    from kam_core.store import open_store

    folder = tmp_path_factory.mktemp("demo_server")
    path = folder / "kam.duckdb"
    shutil.copyfile(demo_db_template, path)
    password = Hidden("pw-" + secrets.token_urlsafe(12))
    store = open_store(path)
    try:
        auth.create_user(store, DEMO_DIRECTOR, "director", str(password))
        store.cursor().execute("checkpoint")
    finally:
        store.close()
    with StreamlitServer(path, folder / "streamlit.log") as server:
        yield {"server": server, "password": password}


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database built once for the whole run: sales, aliases and demo dossiers (no users).

    Under xdist the first worker to ask builds it in the run's shared temporary directory, under a
    file lock, and the others wait for it and use the same file. Read it only through a copy.
    """
    root = tmp_path_factory.getbasetemp()
    if os.environ.get("PYTEST_XDIST_WORKER"):
        root = root.parent                   # the run's directory, above each worker's own
    path = root / "demo_template" / "kam.duckdb"
    path.parent.mkdir(parents=True, exist_ok=True)
    with open(path.parent / "lock", "w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        try:
            if not path.exists():
                building = path.with_name("building.duckdb")
                for leftover in (building, building.with_name(building.name + ".wal")):
                    leftover.unlink(missing_ok=True)      # of a build that died part-way
                from kam_core import demo
                from kam_core.store import open_store

                store = open_store(building)
                try:
                    demo.load_demo(store)
                    demo.load_demo_extras(store)
                    store.cursor().execute("checkpoint")
                finally:
                    store.close()
                building.rename(path)        # whole or not there: a failed build leaves no template
        finally:
            fcntl.flock(lock, fcntl.LOCK_UN)
    return path
