"""The dashboard opened while another process holds the database: a notice in the user's
language that retries by itself, never a traceback, and the pages once the file is free."""
from __future__ import annotations

import fcntl
import os
import signal
import struct
import subprocess
import sys
import time
from pathlib import Path

import pytest

from kam_core.locales.labels import t

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "tests"))
import hostile_files as hf  # noqa: E402

HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("HELD", flush=True)
time.sleep(600)
"""


def lock_is_held(path: Path) -> bool:
    """Whether some process holds DuckDB's lock on ``path`` (asked with F_GETLK: nothing is taken)."""
    fd = os.open(path, os.O_RDWR)
    try:
        query = struct.pack("hhqqi4x", fcntl.F_WRLCK, os.SEEK_SET, 0, 0, 0)
        return struct.unpack("hhqqi4x", fcntl.fcntl(fd, fcntl.F_GETLK, query))[0] != fcntl.F_UNLCK
    finally:
        os.close(fd)


def wait_until_held(path: Path, proc: subprocess.Popen) -> None:
    deadline = time.monotonic() + 300     # a bound, not a measurement
    while not lock_is_held(path):
        assert proc.poll() is None, proc.stderr.read()
        assert time.monotonic() < deadline, "the import never took the file"
        time.sleep(0.02)


def warnings_text(at) -> str:
    return " ".join(w.value for w in at.warning)


def test_a_page_opened_while_another_program_holds_the_file_says_so_in_english(app, demo_db):
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(demo_db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        at = app(query={"lang": "en"}).run()
        assert not at.exception
        assert warnings_text(at) == t("busy.by_other", "en", pid=holder.pid)
        assert at.caption[0].value == t("busy.retrying", "en", seconds=3)
    finally:
        holder.kill()
        holder.wait(timeout=30)
    at.run()
    assert not at.exception and not at.warning


# The import is stopped (SIGSTOP) as soon as it holds the file, so the page waits for as long as the
# test keeps it stopped, whatever the file's size: the file only has to keep the import on the file
# long enough to be seen holding it. The import takes the file at its start (0.2 s) and keeps it to
# its end: 20,000 lines hold it for 1.2 s on a quiet machine, the check polls every 20 ms. 100,000
# lines (2.6 s) and a million (26 s in the suite) showed nothing more.
BIG_LINES = 20_000


@pytest.mark.slow
def test_a_page_opened_during_a_long_command_line_import_waits_and_then_shows_the_data(app, demo_db, tmp_path):
    big = tmp_path / "big.csv"
    big.write_bytes(hf.sales_csv(BIG_LINES, seed=11))
    cmd = subprocess.Popen([sys.executable, "-m", "kam_core", "--db", str(demo_db), "import", str(big)], cwd=ROOT,
                           stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    try:
        wait_until_held(demo_db, cmd)
        os.kill(cmd.pid, signal.SIGSTOP)     # holds the file for as long as the page needs
        try:
            at = app().run()
            assert not at.exception
            assert warnings_text(at) == t("busy.by_import", "zh", pid=cmd.pid)
            at.run()                          # the retry finds it still busy: the same notice, no error
            assert not at.exception and warnings_text(at) == t("busy.by_import", "zh", pid=cmd.pid)
        finally:
            os.kill(cmd.pid, signal.SIGCONT)
        out, err = cmd.communicate(timeout=600)
        assert cmd.returncode == 0, err
        assert f"{BIG_LINES:,} rows from big.csv" in out, out[-2000:]
    finally:
        if cmd.poll() is None:
            cmd.kill()
            cmd.wait(timeout=30)
    at.run()
    assert not at.exception and not at.warning
    assert at.title[0].value == t("page.overview", "zh")
