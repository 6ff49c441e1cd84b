"""The store's migrations survive a process killed right after them."""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

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
