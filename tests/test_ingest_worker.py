"""Workbooks are parsed in a worker process under memory and time limits."""
from __future__ import annotations

import os
import resource
import subprocess
import sys
import threading
from pathlib import Path

import pytest

import hostile_files as hf
from kam_core.imports import readers, worker
from kam_core.imports.detect import MB, Limits
from kam_core.imports.errors import ImportRejected
from kam_core.imports.pipeline import import_file
from kam_core.store import open_store

ROOT = Path(__file__).resolve().parents[1]


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


def _spools(monkeypatch, make=None) -> list[str]:
    """Record the spool directories the worker is given (``make``: where to put them)."""
    made = []
    original = worker._new_spool

    def new_spool():
        made.append(make() if make else original())
        return made[-1]

    monkeypatch.setattr(worker, "_new_spool", new_spool)
    return made


def test_the_sheets_come_back_through_shared_memory_which_is_removed_afterwards(monkeypatch):
    data = hf.sales_xlsx(300)
    spools = _spools(monkeypatch)
    infos, grids = readers.read_workbook(data, "xlsx", limits=Limits(isolate=True))
    assert len(spools) == 1 and not os.path.exists(spools[0])
    # the grid is still readable after its file is gone: the map keeps the pages
    assert grids[0].table.equals(readers.read_workbook(data, "xlsx", limits=Limits(isolate=False))[1][0].table)
    assert grids[0].table.num_rows == 301


def test_a_stopped_worker_leaves_no_spool_behind(monkeypatch):
    spools = _spools(monkeypatch)
    with pytest.raises(ImportRejected):
        readers.read_workbook(hf.sales_xlsx(20000), "xlsx", limits=Limits(parse_seconds=0.01))
    assert len(spools) == 1 and not os.path.exists(spools[0])


def test_when_the_spool_cannot_be_written_the_sheets_come_through_the_pipe(monkeypatch, tmp_path):
    # a directory that does not exist stands for a full or vanished /dev/shm
    _spools(monkeypatch, make=lambda: str(tmp_path / "gone" / "spool"))
    data = hf.sales_xlsx(300)
    _, grids = readers.read_workbook(data, "xlsx", limits=Limits(isolate=True))
    assert grids[0].table.equals(readers.read_workbook(data, "xlsx", limits=Limits(isolate=False))[1][0].table)


@pytest.mark.parametrize("content, starts", [
    (hf.sales_xlsx(3), True),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504, True),   # an OLE2 file: xls
    ("日期,供应商,销售额\n2025-01-01,甲,1\n".encode(), False),
], ids=["xlsx", "xls", "csv"])   # named: the xlsx bytes hold the time they were made, and xdist's workers must agree
def test_the_command_line_starts_the_reader_only_for_workbooks(monkeypatch, tmp_path, content, starts):
    calls = []
    monkeypatch.setattr(worker, "warm_up", lambda: calls.append(1))
    path = tmp_path / "upload"
    path.write_bytes(content)
    worker.warm_up_for([str(tmp_path / "missing.xlsx"), str(path)])
    assert calls == ([1] if starts else [])


def test_a_reader_server_that_cannot_start_does_not_stop_the_page_that_warms_it(monkeypatch):
    def refuse():
        raise OSError("no room for the server's socket")

    monkeypatch.setattr(worker, "context", refuse)
    worker.warm_up()                       # returns: the Import page renders on
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(hf.sales_xlsx(3), "xlsx", limits=Limits(isolate=True))
    assert exc.value.code == "reader_unavailable" and "no room for the server's socket" in exc.value.message


def test_when_the_worker_cannot_be_set_up_the_user_gets_a_reason_and_no_spool_is_left(monkeypatch):
    spools = _spools(monkeypatch)
    ctx = worker.context()

    class NoPipes:
        def __getattr__(self, name):
            return getattr(ctx, name)

        def Pipe(self, duplex=True):  # noqa: N802 - multiprocessing's name
            raise OSError(24, "Too many open files")

    monkeypatch.setattr(worker, "context", lambda: NoPipes())
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(hf.sales_xlsx(3), "xlsx", limits=Limits(isolate=True))
    assert exc.value.code == "reader_unavailable"
    assert len(spools) == 1 and not os.path.exists(spools[0])


def test_spools_of_processes_that_are_gone_are_swept_when_the_reader_warms_up(monkeypatch, tmp_path):
    monkeypatch.setattr(worker, "_spool_root", lambda: str(tmp_path))
    gone = subprocess.Popen(["true"])
    gone.wait()
    orphan = tmp_path / f"kam-sheets-{gone.pid}-x1"           # left by a process killed mid-parse
    ours = tmp_path / f"kam-sheets-{os.getpid()}-x2"          # a parse of this process, still running
    other = tmp_path / "kam-something-else"
    for d in (orphan, ours, other):
        d.mkdir()
        (d / "0.arrow").write_bytes(b"x")
    worker._sweep_spools.cache_clear()       # the sweep runs once per process
    worker.warm_up()
    assert not orphan.exists() and ours.exists() and other.exists()


def test_the_command_line_does_not_read_the_head_of_a_pipe(monkeypatch, tmp_path):
    calls = []
    monkeypatch.setattr(worker, "warm_up", lambda: calls.append(1))
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    reading = threading.Thread(target=worker.warm_up_for, args=([str(fifo)],), daemon=True)
    reading.start()                        # opening the pipe would block here (or eat its first bytes)
    reading.join(5)
    assert not reading.is_alive() and calls == []


# --- a reader that panics (python-calamine's PanicException is a BaseException) -----------

REAL = Path(__file__).resolve().parents[1].parent / "shared" / "fixtures" / "real"
needs_real = pytest.mark.skipif(not REAL.is_dir(), reason="real fixtures live in ../shared/fixtures/real, absent here")


def _cut_xls() -> bytes:
    """The real dish-profit .xls cut at 21,110 bytes: its sector table points past the end,
    and calamine panics ("range end index 120 out of range for slice of length 118")."""
    return (REAL / "dsfta_catering_dish_profit.xls").read_bytes()[:21_110]


@needs_real
@pytest.mark.parametrize("isolate", [True, False], ids=["in the worker", "in this process"])
def test_a_damaged_xls_that_makes_the_reader_panic_is_refused_as_damaged_not_as_memory(tmp_path, isolate):
    from kam_core.imports.pipeline import prepare_import

    store = open_store(tmp_path / "p.duckdb")
    with pytest.raises(ImportRejected) as exc:
        prepare_import(store, _cut_xls(), "dish.xls", limits=Limits(isolate=isolate))
    assert exc.value.code == "damaged"
    assert "memory" not in exc.value.message
    store.close()


@needs_real
def test_a_reader_panic_prints_no_rust_backtrace_for_the_user(tmp_path):
    cut = tmp_path / "dish.xls"
    cut.write_bytes(_cut_xls())
    env = {**os.environ, "RUST_BACKTRACE": "1", "KAM_AUTO_DEMO": "0"}
    out = subprocess.run([sys.executable, "-m", "kam_core", "--db", str(tmp_path / "c.duckdb"), "import", str(cut)],
                         capture_output=True, text=True, env=env, cwd=ROOT, timeout=120)
    assert out.returncode == 2
    assert out.stderr.startswith("rejected (damaged): ")
    assert "panicked" not in out.stderr and "backtrace" not in out.stderr


class PanicException(BaseException):
    """Stands for pyo3's PanicException, which derives from BaseException."""


def test_the_worker_answers_a_panic_with_a_refusal_instead_of_dying(monkeypatch):
    from kam_core.imports import excel

    def panic(*args, **kwargs):
        raise PanicException("index out of bounds: the len is 3 but the index is 7")

    monkeypatch.setattr(excel, "read_workbook", panic)
    # worker_main runs here in the test's own process: keep it from capping this process's address
    # space and from sending its stderr away, as it does to the worker (Chromium, started later by
    # the browser tests, inherits the cap and dies at launch)
    monkeypatch.setattr(resource, "setrlimit", lambda *args: None)
    monkeypatch.setattr(excel, "_stderr_to_spool", lambda spool: None)
    sent = []

    class Conn:
        def send(self, message):
            sent.append(message)

        def close(self):
            pass

    excel.worker_main(Conn(), b"", "xls", None, Limits(), False)
    assert sent[0][:2] == ("rejected", "damaged")


def test_a_worker_whose_memory_outgrows_what_its_file_may_use_is_stopped_with_that_reason():
    # a budget below what any worker holds at its start: the watch stops it at once
    data = hf.sales_xlsx(200)
    with pytest.raises(ImportRejected) as exc:
        readers.read_workbook(data, "xlsx", limits=Limits(worker_rss_base=1 * MB, worker_rss_per_byte=0))
    assert exc.value.code == "too_large"
    assert "needed more than 1 MB, the most a" in exc.value.message
    # with the normal budget (200 MB + 50 × its size) the same file reads
    assert readers.read_workbook(data, "xlsx", limits=Limits())[1][0].table.num_rows == 201
