"""The command line beside a running dashboard: the process that owns the database runs the command.

Most tests serve from this very process (``service.start_owner`` on a store, as the
dashboard's store factory does) and call the command line's ``main``; the ones that kill
one side run the owner (``owner_process.py``) and the command as separate processes.
"""
from __future__ import annotations

import csv
import io
import json
import os
import signal
import socket
import stat
import subprocess
import sys
from multiprocessing.connection import AuthenticationError, Client
from pathlib import Path

import openpyxl
import pytest

import hostile_files as hf
from kam_core import auth, service
from kam_core.cli import main
from kam_core.store import open_store

ROOT = Path(__file__).resolve().parents[1]
CSV_2025 = "日期,供应商,销售额,成本\n2025-03-01,甲,20000000,15000000\n2025-03-02,乙,4999999.99,4000000\n"


@pytest.fixture
def owned(tmp_path):
    """A database this process owns and serves, as a running dashboard does."""
    store = open_store(tmp_path / "kam.duckdb")
    service.start_owner(store)
    yield store
    service.stop_owner(store)
    store.close()


def write(tmp_path, name, text):
    p = tmp_path / name
    p.write_text(text, encoding="utf-8")
    return str(p)


def run(capsys, *argv):
    code = main(list(argv))
    out, err = capsys.readouterr()
    return code, out, err


def test_with_the_database_owned_every_command_runs_and_answers_as_it_does_alone(owned, tmp_path, capsys, monkeypatch):
    def not_here(*_):
        raise AssertionError("the command opened the database itself")

    monkeypatch.setattr("kam_core.cli.open_store", not_here)
    db = str(owned.path)
    f = write(tmp_path, "a.csv", CSV_2025)
    code, out, err = run(capsys, "--db", db, "import", f)
    assert code == 0, err
    assert "rows read: 2" in out and "loaded import 1: 2 rows from a.csv" in out
    assert owned.cursor().execute("select count(*), sum(amount)::double from sales").fetchone() == (2, 24999999.99)

    code, out, _ = run(capsys, "--db", db, "imports", "--format", "json")
    [row] = json.loads(out)
    assert code == 0 and row["file_name"] == "a.csv" and row["rows_loaded"] == 2 and row["imported_by"] == "cli"

    code, out, _ = run(capsys, "--db", db, "tiers", "--year", "2025")
    assert code == 0
    assert out.splitlines()[1] == "甲,2025,20000000.00,5000000.00,0.250000,0.800000,0.833333,1,1,0.800000,A,,partner,30000000.00"

    code, _, err = run(capsys, "--db", db, "report", "--year", "2025", "--out", str(tmp_path / "r.xlsx"))
    assert code == 0, err
    assert openpyxl.load_workbook(tmp_path / "r.xlsx").sheetnames[0] == "汇总"
    code, _, err = run(capsys, "--db", db, "share-pack", "甲", "--year", "2025", "--out", str(tmp_path / "p.xlsx"))
    assert code == 0, err
    assert (tmp_path / "p.xlsx").stat().st_size > 0

    monkeypatch.setattr(sys, "stdin", io.StringIO("correct horse battery\n"))
    code, out, err = run(capsys, "--db", db, "users", "add", "ann", "--role", "viewer")
    assert code == 0, err
    assert "added ann (viewer)" in out
    code, out, _ = run(capsys, "--db", db, "users", "list", "--format", "json")
    assert [u["name"] for u in json.loads(out)] == ["ann"]

    code, out, _ = run(capsys, "--db", db, "undo", "1")
    assert code == 0 and "2 rows removed" in out
    assert owned.cursor().execute("select count(*) from sales").fetchone() == (0,)


def test_a_handed_over_command_keeps_the_checks_and_exit_codes(owned, tmp_path, capsys):
    db = str(owned.path)
    f = write(tmp_path, "a.csv", CSV_2025)
    assert run(capsys, "--db", db, "import", f)[0] == 0
    code, _, err = run(capsys, "--db", db, "import", f)
    assert code == 2 and "rejected (duplicate_file)" in err
    d = write(tmp_path, "d.csv", "date,supplier,amount\n03/04/2025,A,1\n")
    code, _, err = run(capsys, "--db", db, "import", d)
    assert code == 2 and "date_order" in err
    code, _, err = run(capsys, "--db", db, "import", str(tmp_path / "missing.csv"))
    assert code == 2 and "missing.csv" in err
    code, _, err = run(capsys, "--db", db, "undo", "7")
    assert code == 2 and "there is no import 7" in err
    assert owned.cursor().execute("select count(*) from imports").fetchone() == (1,)


def test_cron_beside_the_running_dashboard_runs_the_schedule_in_it(owned, tmp_path, capsys):
    from kam_core import schedules
    from kam_core.permissions import User

    f = write(tmp_path, "a.csv", CSV_2025)
    assert run(capsys, "--db", str(owned.path), "import", f)[0] == 0
    schedules.save_schedule(owned, schedules.Schedule("nightly", year="previous", folder="out"), User("boss", "director"))
    code, out, err = run(capsys, "--db", str(owned.path), "schedules", "run", "nightly")
    assert code == 0, err
    assert out.startswith("schedule nightly: ok — kam_tier_report_")
    [logged] = schedules.run_log(owned)          # logged in the owner's own store
    assert logged["trigger"] == "command" and len(list((tmp_path / "out").glob("*.xlsx"))) == 1


def test_a_password_is_read_by_the_command_and_the_dashboard_applies_the_same_rules(owned, capsys, monkeypatch):
    db = str(owned.path)
    monkeypatch.setattr(sys, "stdin", io.StringIO("short\n"))
    code, _, err = run(capsys, "--db", db, "users", "add", "bob", "--role", "manager")
    assert code == 2 and "at least" in err
    assert auth.list_users(owned) == []
    monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough secret\n"))
    assert run(capsys, "--db", db, "users", "add", "bob", "--role", "manager")[0] == 0
    assert auth.authenticate(owned, "bob", "a long enough secret").role == "manager"
    audited = owned.cursor().execute(
        "select who, action, record_key, field from audit_log where table_name = 'users' order by id").fetchall()
    assert ("system", "insert", "bob", "role") in audited


def test_file_names_are_read_from_the_commands_folder_not_the_dashboards(owned, tmp_path, capsys, monkeypatch):
    here = tmp_path / "elsewhere"
    here.mkdir()
    (here / "a.csv").write_text(CSV_2025, encoding="utf-8")
    monkeypatch.chdir(here)
    assert run(capsys, "--db", str(owned.path), "import", "a.csv")[0] == 0
    code, _, err = run(capsys, "--db", str(owned.path), "report", "--year", "2025", "--out", "r.xlsx")
    assert code == 0, err
    assert (here / "r.xlsx").is_file()


def test_the_owner_file_is_private_and_names_a_port_on_loopback_only(owned):
    path = service.owner_file(owned.path)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    info = service.read_owner(owned.path)
    assert info.pid == os.getpid() and len(info.token) == 64
    server = service.owned_by_this_process(owned).server
    assert server._sock.getsockname() == ("127.0.0.1", info.port)


def test_a_caller_without_the_token_is_refused_and_nothing_runs(owned):
    info = service.read_owner(owned.path)
    with pytest.raises(AuthenticationError):
        Client(("127.0.0.1", info.port), family="AF_INET", authkey=b"0" * 64)
    # the server still serves the right caller afterwards
    assert service.hand_over(owned.path, {"command": "imports", "format": "json", "db": str(owned.path),
                                          "__paths__": []}, out=io.StringIO()) == 0


def test_when_the_dashboard_stops_nothing_listens_and_commands_open_the_file_themselves(tmp_path, capsys):
    store = open_store(tmp_path / "kam.duckdb")
    service.start_owner(store)
    port = service.read_owner(store.path).port
    service.stop_owner(store)
    store.close()
    assert not service.owner_file(tmp_path / "kam.duckdb").exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    f = write(tmp_path, "a.csv", CSV_2025)
    assert run(capsys, "--db", str(tmp_path / "kam.duckdb"), "import", f)[0] == 0


def test_an_owner_file_left_by_a_killed_dashboard_does_not_stop_commands(tmp_path, capsys):
    db = tmp_path / "kam.duckdb"
    with socket.socket() as s:          # a port nobody listens on any more
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    service._write_owner(service.owner_file(db), service.OwnerInfo(999999, port, "ab" * 32, str(db)))
    f = write(tmp_path, "a.csv", CSV_2025)
    code, out, err = run(capsys, "--db", str(db), "import", f)
    assert code == 0, err
    assert "loaded import 1" in out


def test_a_port_that_is_no_longer_the_dashboards_gets_nothing_and_the_command_opens_the_file(
        tmp_path, capsys, monkeypatch):
    monkeypatch.setattr(service, "HANDSHAKE_SECONDS", 0.2)
    db = tmp_path / "kam.duckdb"
    with socket.create_server(("127.0.0.1", 0)) as squatter:   # listens, never says a word
        service._write_owner(service.owner_file(db),
                             service.OwnerInfo(os.getpid(), squatter.getsockname()[1], "ab" * 32, str(db)))
        monkeypatch.setattr(sys, "stdin", io.StringIO("a long enough secret\n"))
        code, out, err = run(capsys, "--db", str(db), "users", "add", "ann", "--role", "viewer")
        assert code == 0, err
        conn, _ = squatter.accept()
        with conn:
            conn.settimeout(5)
            assert conn.recv(4096) == b""        # the command sent it nothing, not even the password
    s = open_store(db)
    try:
        assert [u["name"] for u in auth.list_users(s)] == ["ann"]
    finally:
        s.close()


# ---------------------------------------------------------------- killed mid-way (separate processes)
def _start_owner(db: Path, hold: Path) -> subprocess.Popen:
    env = {**os.environ, "KAM_TEST_HOLD_COMMIT": str(hold)}
    proc = subprocess.Popen([sys.executable, str(ROOT / "tests" / "owner_process.py"), str(db)], env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    assert proc.stdout.readline().strip() == "READY", proc.stderr.read()
    return proc


def _command(db: Path, *argv: str) -> subprocess.Popen:
    return subprocess.Popen([sys.executable, "-m", "kam_core", "--db", str(db), *argv], cwd=ROOT,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def _finish(proc: subprocess.Popen) -> None:
    if proc.poll() is None:
        proc.kill()
    proc.wait(timeout=30)


def _lines_and_imports(db: Path) -> tuple[int, list]:
    store = open_store(db)
    try:
        lines = store.cursor().execute("select count(*) from sales").fetchone()[0]
        imports = store.cursor().execute("select id, rows_loaded, status from imports").fetchall()
        return lines, imports
    finally:
        store.close()


def _import_held_at_its_commit(tmp_path: Path) -> tuple[Path, Path, subprocess.Popen, subprocess.Popen]:
    """An owner, and a command whose 3,000-line import the owner holds just before its COMMIT."""
    db, hold = tmp_path / "kam.duckdb", tmp_path / "release"
    big = tmp_path / "big.csv"
    big.write_bytes(hf.sales_csv(3000, seed=3))
    owner = _start_owner(db, hold)
    cmd = _command(db, "import", str(big))
    try:
        assert owner.stdout.readline().strip() == "HOLDING"   # lines inserted, COMMIT not yet run
    except BaseException:
        _finish(cmd)
        _finish(owner)
        raise
    return db, hold, owner, cmd


@pytest.mark.slow
def test_a_command_killed_in_the_middle_of_an_import_leaves_it_loaded_whole(tmp_path):
    db, hold, owner, cmd = _import_held_at_its_commit(tmp_path)
    try:
        os.kill(cmd.pid, signal.SIGKILL)
        _finish(cmd)
        hold.touch()
        # the owner reports each command it ran once it has finished it
        for line in owner.stderr:
            if "ran `import`" in line:
                assert "exit 0" in line and "its caller had gone" in line
                break
        owner.send_signal(signal.SIGTERM)
        owner.wait(timeout=30)
    finally:
        _finish(owner)
    lines, [(_, rows, status)] = _lines_and_imports(db)
    assert (lines, rows, status) == (3000, 3000, "loaded")


@pytest.mark.slow
def test_a_dashboard_killed_in_the_middle_of_an_import_leaves_nothing_of_it(tmp_path):
    db, _, owner, cmd = _import_held_at_its_commit(tmp_path)
    try:
        os.kill(owner.pid, signal.SIGKILL)
        out, err = cmd.communicate(timeout=60)
    finally:
        _finish(owner)
        _finish(cmd)
    assert cmd.returncode == 1
    assert "stopped before the command finished" in err
    assert _lines_and_imports(db) == (0, [])
    # the owner file it left behind does not stand in the way: the command opens the file itself
    again = _command(db, "import", str(tmp_path / "big.csv"))
    out, err = again.communicate(timeout=120)
    assert again.returncode == 0, err
    lines, [(_, rows, status)] = _lines_and_imports(db)
    assert (lines, rows, status) == (3000, 3000, "loaded")
