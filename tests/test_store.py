"""The store's migrations survive a process killed right after them."""
from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from kam_core.store import MIGRATIONS, open_store

ROOT = Path(__file__).resolve().parents[1]


def test_a_process_killed_right_after_migrating_a_new_file_leaves_a_file_that_opens(tmp_path):
    # DuckDB 1.5.6 cannot replay migration 5's ALTER TABLE from the WAL; the store checkpoints after migrating.
    path = tmp_path / "kam.duckdb"
    subprocess.run([sys.executable, "-c", "import os\nfrom kam_core.store import open_store\n"
                    f"store = open_store({str(path)!r})\nos._exit(9)"], cwd=ROOT, check=False, timeout=120)
    store = open_store(path)
    try:
        versions = store.cursor().execute("select max(version) from schema_migrations").fetchone()[0]
        assert versions == len(MIGRATIONS)
        assert "category" in [d[0] for d in store.cursor().execute("select * from agreements").description]
    finally:
        store.close()


def test_kam_db_threads_caps_the_threads_of_every_store_and_a_bad_value_is_named(tmp_path, monkeypatch):
    wanted = len(os.sched_getaffinity(0)) + 1            # not DuckDB's default (one per core)
    monkeypatch.setenv("KAM_DB_THREADS", str(wanted))
    store = open_store(tmp_path / "kam.duckdb")
    try:
        assert store.cursor().execute("select current_setting('threads')").fetchone()[0] == wanted
    finally:
        store.close()
    for bad in ("0", "two", "-1", "²"):
        monkeypatch.setenv("KAM_DB_THREADS", bad)
        with pytest.raises(ValueError, match=f"KAM_DB_THREADS .*{bad!r}"):
            open_store(tmp_path / "kam.duckdb")
    monkeypatch.delenv("KAM_DB_THREADS")
    open_store(tmp_path / "kam.duckdb").close()      # the refused opens left the file free
