"""Every question about the sales and inventory lines, answered in one place.

This package is the only code that reads or writes ``sales``, ``inventory``
and their rollups (``sales_daily``, ``sales_monthly``); a test fails when SQL
naming them appears anywhere else. Everything else asks it through functions
named for what they return.

* :mod:`.periods` — filters, fiscal years, and the one period rule (the "as
  of" date; an unfinished year is compared with the same days of the year
  before).
* :mod:`.rollup` — the rollups kept inside every import's, undo's and alias
  merge's own transaction, their rebuild and their check against the lines.
* :mod:`.lines` — writing lines: the import's load, undo, alias moves, literal lines.
* :mod:`.figures` — the yearly per-account figures (sales, profit, shares,
  ranks, ABC, growth), the year's summary and its changes, monthly sales:
  Ibis expressions over the rollups, so every engine runs one definition.
* :mod:`.tiers` — the policy's tiers, migration, projection and criteria on
  those figures, always company-wide (a filter never re-grades an account).
* :mod:`.accounts` — one account's drill-down: monthly trend, mix, top
  products, order days, weeks of cover, sales between dates; the filter choices.
* :mod:`.lake` — the lines and rollups as Hive-partitioned Parquet for Spark.

The submodules are imported explicitly (``from kam_core.sales import figures``)
so that the importer, which only needs :mod:`.rollup` and :mod:`.lines`, does
not load Ibis and pandas.
"""
