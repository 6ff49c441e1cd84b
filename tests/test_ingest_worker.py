"""Workbooks are parsed in a worker process under memory and time limits."""
from __future__ import annotations

import os

import pytest

import hostile_files as hf
from kam_core.ingest import readers
from kam_core.ingest.detect import MB, Limits
from kam_core.ingest.errors import ImportRejected
from kam_core.ingest.pipeline import import_file
from kam_core.store import open_store


def test_the_worker_reads_exactly_what_the_process_itself_reads():
    data = hf.sales_xlsx(300)
    here_infos, here_grids = readers.read_workbook(data, "xlsx", limits=Limits(isolate=False))
    work_infos, work_grids = readers.read_workbook(data, "xlsx", limits=Limits(isolate=True))
    assert work_infos == here_infos
    assert [g.sheet for g in work_grids] == [g.sheet for g in here_grids]
    assert work_grids[0].table.equals(here_grids[0].table)


def test_a_parse_that_runs_past_the_time_limit_is_stopped_and_named():
    data = hf.sales_xlsx(20000)
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(data, "xlsx", limits=Limits(parse_seconds=0.01))
    assert exc.value.code == "too_slow"


def test_a_parse_that_needs_more_memory_than_allowed_is_stopped_and_the_process_goes_on(tmp_path):
    # 60,000 lines: the parser needs ~40 MB for them, where 20,000 fit in the heap the worker starts with
    data = hf.sales_xlsx(60000)
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(data, "xlsx", limits=Limits(worker_memory=8 * MB))
    assert exc.value.code == "too_large"
    # this process is untouched: the same file imports with the normal limits
    store = open_store(tmp_path / "w.duckdb")
    _, plan = import_file(store, data, "big.xlsx")
    assert plan.report.data["rows_accepted"] == 60000


def test_errors_found_in_the_worker_reach_the_user_with_their_own_code():
    data = hf.sales_xlsx(10)
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(data, "xlsx", sheets=["不存在"], limits=Limits())
    assert exc.value.code == "unknown_sheet"
