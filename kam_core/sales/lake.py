"""The lines and rollups as a Parquet lake, so Spark reads them where they live.

``export_lake(store, DIR)`` writes ``DIR/<table>/year=YYYY/*.parquet`` (Hive
partitions by calendar year) for ``sales`` and its rollups (``sales_daily``,
``sales_monthly``, ``sales_by_region``, ``sales_by_sku``), then ``DIR/_lake.json`` naming the tables, the store's data
version and when. A reader (``KAM_ENGINE=spark``, see :mod:`kam_core.engine`)
registers each table from its folder; the partition column ``year`` comes
along and no figure reads it. The lake is a snapshot: export again after
imports. Each table is written to a fresh folder and swapped in, and the
stamp comes last, so a reader never sees half a lake under a new stamp.
"""
from __future__ import annotations

import datetime as dt
import json
import shutil
from pathlib import Path

from kam_core.store import Store

LAKE_TABLES = {"sales": "date", "sales_daily": "date", "sales_monthly": "month", "sales_by_region": "month",
               "sales_by_sku": "month"}
"""Table → the date column its year partition comes from."""


def export_lake(store: Store, directory: Path) -> dict[str, int]:
    """Write the lake into ``directory`` (created if needed); returns rows written per table."""
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    cur = store.cursor()
    written: dict[str, int] = {}
    for table, date_col in LAKE_TABLES.items():
        fresh = directory / f".{table}.new"
        shutil.rmtree(fresh, ignore_errors=True)
        fresh.mkdir()
        n = cur.execute(f"select count(*) from {table}").fetchone()[0]
        # COPY takes no bound parameters for its target; the path is quoted as a literal.
        target = str(fresh).replace("'", "''")
        if n:
            cur.execute(f"copy (select *, year({date_col}) as year from {table}) to '{target}'"
                        f" (format parquet, partition_by (year), overwrite_or_ignore)")
        else:  # an empty table still needs its schema for the reader
            (fresh / "year=0").mkdir()
            cur.execute(f"copy (select * from {table} limit 0) to '{target}/year=0/empty.parquet' (format parquet)")
        old = directory / table
        if old.exists():
            shutil.rmtree(old)
        fresh.rename(old)
        written[table] = int(n)
    stamp = {"tables": list(LAKE_TABLES), "data_version": store.data_version(),
             "exported_at": dt.datetime.now().isoformat(timespec="seconds"), "rows": written}
    tmp = directory / "._lake.json"
    tmp.write_text(json.dumps(stamp, ensure_ascii=False, indent=1), encoding="utf-8")
    tmp.replace(directory / "_lake.json")
    return written
