"""Suite-wide: how the tests share this machine's cores.

pytest.ini runs the suite on two pytest-xdist workers (``-n 2 --dist loadgroup``). Every test
marked ``browser`` (a ``streamlit run`` server, most with Debian's Chromium) joins one xdist
group, so all of them run on the same worker one after another: two browsers never compete
for the two cores, while the other worker runs the rest. The group is the largest unit of
work, so xdist hands it out first. The ``spark`` tests are one group too, so one worker starts
their module's Spark session (a JVM) once, and so are the tests of each module in
``MODULE_GROUPS``. With ``-n 0`` everything runs in one process and
the groups are inert.

``demo_db_template`` is the demo database built once per worker; tests copy the file
instead of generating the demo again.
"""
from __future__ import annotations

from pathlib import Path

import pytest

from kam_core import demo
from kam_core.store import open_store

GROUPS = {"browser": "browser", "spark": "spark"}   # marker → xdist group
# Modules whose module-scoped fixtures are costly (the demo generated, the reference store built):
# each is one group, so one worker builds them once instead of every worker that gets one of its tests.
MODULE_GROUPS = ("test_demo.py", "test_metrics_reference.py")


@pytest.hookimpl(tryfirst=True)   # before xdist's own hook reads the groups into the test ids
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    for item in items:
        for marker, group in GROUPS.items():
            if item.get_closest_marker(marker) is not None:
                item.add_marker(pytest.mark.xdist_group(group))
                break
        else:
            if item.path.name in MODULE_GROUPS:
                item.add_marker(pytest.mark.xdist_group(item.path.stem))


@pytest.fixture(scope="session")
def demo_db_template(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The demo database built once: sales, aliases and demo dossiers (no users). Read it only through a copy."""
    path = tmp_path_factory.mktemp("demo") / "kam.duckdb"
    store = open_store(path)
    try:
        demo.load_demo(store)
        demo.load_demo_extras(store)
        store.cursor().execute("checkpoint")
    finally:
        store.close()
    return path

