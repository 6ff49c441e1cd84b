"""The process that parses workbooks under memory and time limits.

Workers are forked from a forkserver that has ``excel`` (fastexcel, python-calamine,
pyarrow) loaded, so a worker starts in a few milliseconds. Starting that server costs
~0.15 s, once: the Import page and the command line start it with :func:`warm_up`
while the user picks a file or the database opens. Each worker writes the sheets it
read to a private directory in shared memory (``/dev/shm``) as Arrow files, which this
process maps without copying; only the small rest of the result goes through the pipe.

This module imports only the standard library (and ``detect``), so warming up costs
nothing. See ``docs/DESIGN.md`` (Ingest).
"""
from __future__ import annotations

import concurrent.futures
import dataclasses
import functools
import logging
import os
import shutil
import stat
import tempfile
import threading
import time
from pathlib import Path

from kam_core.imports.detect import MB, Limits, check_container
from kam_core.imports.errors import ImportRejected

_lock = threading.Lock()
_context = None

# A workbook is a zip (xlsx, xlsb, ods) or an OLE2 compound file (xls).
_WORKBOOK_MAGIC = (b"PK\x03\x04", b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1")


def context():
    """A forkserver started once, with ``excel`` preloaded: forking the threaded dashboard
    process itself could copy a lock some other thread holds."""
    global _context
    with _lock:
        if _context is None:
            import multiprocessing

            ctx = multiprocessing.get_context("forkserver")
            ctx.set_forkserver_preload(["kam_core.imports.excel"])
            _context = ctx
    from multiprocessing import forkserver

    forkserver.ensure_running()  # returns at once; a new server imports its modules in the background
    return _context


def warm_up() -> None:
    """Start the forkserver now, so that the first workbook does not wait for it.

    Only a head start: if the server cannot start, the page goes on and the first
    workbook's read reports why.
    """
    try:
        context()
    except (OSError, ValueError, RuntimeError):
        pass
    _sweep_spools()


def warm_up_for(paths) -> None:
    """:func:`warm_up` if any of ``paths`` starts like a workbook (the command line's files).

    Only regular files are looked at: reading the head of a pipe (``<(cat f)``,
    ``/dev/stdin``) would take those bytes from the import that reads it next.
    """
    for path in paths:
        try:
            if not stat.S_ISREG(os.stat(path).st_mode):
                continue
            with open(path, "rb") as f:
                head = f.read(8)
        except OSError:
            continue
        if head.startswith(_WORKBOOK_MAGIC):
            warm_up()
            return


def _start_without_main(proc) -> None:
    """Start ``proc`` without re-running the parent's ``__main__`` in the child.

    multiprocessing re-imports the parent's main script in every child; here that
    is Streamlit's runner or a test harness, which must not run again. The worker
    needs only ``excel``, which it imports by name.
    """
    from multiprocessing import spawn

    with _lock:
        original = spawn.get_preparation_data

        def preparation_data(name):
            data = original(name)
            data.pop("init_main_from_path", None)
            data.pop("init_main_from_name", None)
            return data

        spawn.get_preparation_data = preparation_data
        try:
            proc.start()
        finally:
            spawn.get_preparation_data = original


_SPOOL_PREFIX = "kam-sheets-"


def _spool_root() -> str:
    """Shared memory where the system has it (Linux: ``/dev/shm``), else the temp directory."""
    shm = Path("/dev/shm")
    return str(shm) if shm.is_dir() and os.access(shm, os.W_OK | os.X_OK) else tempfile.gettempdir()


def _new_spool() -> str:
    """A private directory for the worker's sheets, named after this process."""
    return tempfile.mkdtemp(prefix=f"{_SPOOL_PREFIX}{os.getpid()}-", dir=_spool_root())


@functools.cache  # once per process: the page warms up on every rerun
def _sweep_spools() -> None:
    """Remove the spools of processes that are gone: a process killed while a worker
    parsed (the out-of-memory killer, say) leaves the worker's sheets in shared memory."""
    try:
        entries = list(os.scandir(_spool_root()))
    except OSError:
        return
    for entry in entries:
        if not entry.name.startswith(_SPOOL_PREFIX) or not entry.is_dir(follow_symlinks=False):
            continue
        pid = entry.name[len(_SPOOL_PREFIX):].split("-", 1)[0]
        if pid.isdigit() and not process_alive(int(pid)):
            shutil.rmtree(entry.path, ignore_errors=True)


def process_alive(pid: int) -> bool:
    """Whether process ``pid`` exists (another user's process counts as alive)."""
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # another user's process
    return True


_SCANNER = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kam-package-scan")


def parse(data: bytes, fmt: str, sheets: list[str] | None, limits: Limits, list_only: bool):
    """``excel.read_workbook`` in a worker: ``(infos, raw sheets)`` or ``ImportRejected``.

    While the worker parses, this process watches it: a worker whose resident memory
    passes :meth:`Limits.worker_rss_budget` (which grows with the upload) is stopped, so
    what a small file costs follows what it holds, whatever its cells claim; so is one
    that runs past ``limits.parse_seconds``.
    """
    try:
        ctx = context()  # a server that is not running yet loads its modules during the checks below
    except OSError as exc:
        raise _unavailable(exc) from exc
    # The checks that read no part (size, entries, declared sizes and ratios, encryption) come
    # first. Inflating every part (DTDs, nested archives, cells beyond the column limit) runs
    # before the worker starts for a small package, and beside it for a big one, whose
    # worker it stops if the package fails; the worker itself skips that scan.
    check_container(data, fmt, limits, inflate=False)
    if fmt in _ZIP_FORMATS and _declared_size(data) <= _SCAN_FIRST_BELOW:
        check_container(data, fmt, limits)  # remembered: the scan below returns at once
    from kam_core.imports import excel

    scan = _SCANNER.submit(check_container, data, fmt, limits)
    spool = proc = parent = None
    try:
        try:
            spool = _new_spool()
            parent, child = ctx.Pipe(duplex=False)
        except OSError as exc:  # no file descriptors or no room left, say
            raise _unavailable(exc) from exc
        try:
            proc = ctx.Process(target=excel.worker_main, args=(child, data, fmt, sheets, limits, list_only, spool),
                               daemon=True)
            _start_without_main(proc)
        except OSError as exc:
            raise _unavailable(exc) from exc
        finally:
            child.close()
        _watch(proc, parent, scan, limits, len(data))
        try:
            reply = parent.recv()
        except EOFError:
            raise _died(proc, spool) from None
        if reply[0] == "rejected":
            raise ImportRejected(*reply[1:])
        infos, raws = reply[1]
        return infos, [raw if raw.batch is not None else dataclasses.replace(raw, batch=_mapped(spool, i))
                       for i, raw in enumerate(raws)]
    finally:
        if proc is not None and proc.pid is not None:  # started
            if proc.is_alive():
                proc.kill()
            proc.join(5)
        if parent is not None:
            parent.close()
        if spool is not None:
            _log_worker_stderr(spool)
            shutil.rmtree(spool, ignore_errors=True)  # the maps stay valid: the memory goes with the grid
        if not scan.done():
            scan.cancel()


_ZIP_FORMATS = ("xlsx", "xlsb", "ods")
# A package that unpacks to less than this is scanned before its worker starts (~30 ms at
# most), so that a small hostile file is refused by name before anything parses it.
_SCAN_FIRST_BELOW = 16 << 20
_WATCH_SECONDS = 0.01


def _declared_size(data: bytes) -> int:
    """Σ declared uncompressed sizes of a zip's parts (the checks before this one passed)."""
    import io
    import zipfile

    with zipfile.ZipFile(io.BytesIO(data)) as zf:
        return sum(i.file_size for i in zf.infolist())


def _watch(proc, parent, scan: concurrent.futures.Future, limits: Limits, upload_size: int) -> None:
    """Wait for the worker's reply, stopping it when it needs more memory or time than the
    file deserves, or when the package scan refuses the file (the scan's reason wins)."""
    deadline = time.monotonic() + limits.parse_seconds
    budget = limits.worker_rss_budget(upload_size)
    while True:
        if scan.done():
            scan.result()  # a package that fails the scan is refused with the scan's reason
        # memory is looked at before each wait, so a worker that is over its budget is stopped even
        # when its reply comes within the first wait
        if _resident(proc.pid) > budget:
            scan.result()
            raise ImportRejected(
                "too_large", f"Reading this workbook needed more than {budget / MB:,.0f} MB, the most a "
                             f"{_size_text(upload_size)} file may use, and was stopped. Its cells may be spread far "
                             "apart (a value far below or right of the data): copy the data to a new sheet, "
                             "or save only the sheet you need, and upload again.")
        if parent.poll(_WATCH_SECONDS):
            scan.result()
            return
        if time.monotonic() > deadline:
            scan.result()
            raise ImportRejected("too_slow", f"Reading the workbook took longer than {limits.parse_seconds:.0f} s "
                                             "and was stopped. Split it or save only the sheet you need.")


def _resident(pid: int) -> int:
    """Resident memory of a process in bytes (0 where /proc cannot tell)."""
    try:
        with open(f"/proc/{pid}/statm", "rb") as f:
            return int(f.read().split()[1]) * _PAGE
    except (OSError, ValueError, IndexError):
        return 0


_PAGE = os.sysconf("SC_PAGE_SIZE") if hasattr(os, "sysconf") else 4096


def _size_text(n: int) -> str:
    return f"{n / MB:,.1f} MB" if n >= MB else f"{max(n // 1024, 1):,} KB"


def _died(proc, spool: str) -> ImportRejected:
    """Why a worker ended without a reply: out of memory (its address-space limit), or a reader
    that crashed on a damaged file."""
    proc.join(5)
    said = _worker_stderr(spool)
    if "memory allocation" in said or proc.exitcode == -9:
        return ImportRejected("too_large", "Reading this workbook was stopped: it needed more memory than an "
                                           "import may use. Split it or save only the sheet you need.")
    return ImportRejected("damaged", "The workbook is damaged: its reader stopped on it. Open it in Excel/WPS; if "
                                     "it opens, save it again as .xlsx and upload that, otherwise ask for the "
                                     "export again.")


def _worker_stderr(spool: str) -> str:
    """What the worker printed into its spool (``excel.WORKER_STDERR``, the file its entry point
    writes); :func:`parse` has loaded ``excel`` before any worker starts."""
    from kam_core.imports.excel import WORKER_STDERR

    try:
        with open(os.path.join(spool, WORKER_STDERR), "rb") as f:
            return f.read()[-4000:].decode("utf-8", "replace").strip()
    except OSError:
        return ""


def _log_worker_stderr(spool: str) -> None:
    """What the worker printed (a reader's panic, say) goes to the server's log, not to the user."""
    text = _worker_stderr(spool)
    if text:
        logging.getLogger(__name__).info("the workbook reader printed: %s", text)


def _unavailable(exc: OSError) -> ImportRejected:
    return ImportRejected("reader_unavailable", f"The workbook reader could not start ({exc}). Try again in a "
                                                "moment; if it keeps failing, restart the dashboard.")


def _mapped(spool: str, i: int):
    """Sheet ``i`` as the worker wrote it, mapped, not copied."""
    import pyarrow as pa

    with pa.memory_map(os.path.join(spool, f"{i}.arrow")) as source:
        return pa.ipc.open_file(source).get_batch(0)
