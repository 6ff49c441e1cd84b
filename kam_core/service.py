"""The database's owner lets the command line in: a command hands its work to the running dashboard.

DuckDB lets one process open a file read-write, and while it has it no other
process can open it at all. The dashboard keeps its store open for as long as
it runs, so it *owns* the file; a command started beside it (``python -m
kam_core tiers …``) finds the owner's address in a private file beside the
database, sends it the parsed command, and the dashboard runs that command on
its own store, through the same per-command functions the command line runs
when it opens the file itself (``commands.run_command``). Validation, transactions,
permissions and audit are therefore the same code, not a second copy. Why this
and not DuckDB's Quack protocol: ``docs/DESIGN.md`` (measured).

* Transport: ``multiprocessing.connection`` (standard library) over TCP on
  127.0.0.1 only, a port the system picks. Both sides prove they know the
  token (HMAC challenge in each direction, as ``multiprocessing.managers``
  does), so a command never sends anything to a process that merely took the
  port over, and the token itself never crosses the socket. Messages are JSON,
  never pickles.
* The owner file ``<database>.owner`` (mode 0600: only the dashboard's own user
  can read it) holds the pid, the port and the token; it is written only by the
  process that holds the database's lock, replaced atomically, and removed when
  the dashboard exits. A dashboard killed outright leaves it behind: a command
  then finds nobody answering and opens the file itself, as it does when no
  dashboard runs. Nothing listens when no dashboard runs.
* A handed-over command runs to its end in the dashboard even when the command
  that sent it is killed meanwhile: an import is loaded whole (``undo`` removes
  it) or, if the dashboard itself dies first, not at all, because the import
  commits in one transaction.
"""
from __future__ import annotations

import argparse
import atexit
import concurrent.futures
import contextlib
import io
import json
import os
import secrets
import socket
import sys
import threading
import time
from dataclasses import dataclass
from multiprocessing.connection import AuthenticationError, Connection, answer_challenge, deliver_challenge
from pathlib import Path, PurePath
from typing import Any, Callable, Iterator

from kam_core.imports.worker import process_alive

OWNER_SUFFIX = ".owner"
PROTOCOL = 1
MAX_REQUEST_BYTES = 1 << 20
HANDSHAKE_SECONDS = 10.0
# Commands run two at a time (the machine has two cores); each pool thread keeps its
# own DuckDB cursor and Ibis backend, so the second command on a thread starts warm.
_POOL = concurrent.futures.ThreadPoolExecutor(max_workers=2, thread_name_prefix="kam-command")

Runner = Callable[[Any, argparse.Namespace], int]


def owner_file(db_path: str | os.PathLike) -> Path:
    """Where the owner of ``db_path`` leaves its address: ``kam.duckdb`` → ``kam.duckdb.owner``."""
    return Path(os.path.abspath(db_path) + OWNER_SUFFIX)


@dataclass(frozen=True)
class OwnerInfo:
    pid: int
    port: int
    token: str
    db: str


def read_owner(db_path: str | os.PathLike) -> OwnerInfo | None:
    """The owner's address, or None when no file is there (or it cannot be read or parsed)."""
    try:
        raw = json.loads(owner_file(db_path).read_text(encoding="utf-8"))
        return OwnerInfo(pid=int(raw["pid"]), port=int(raw["port"]), token=str(raw["token"]), db=str(raw["db"]))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _write_owner(path: Path, info: OwnerInfo) -> None:
    """Write the owner file 0600 from the first byte, then rename it into place."""
    tmp = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    with contextlib.suppress(FileNotFoundError):
        tmp.unlink()
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as f:
        json.dump(info.__dict__, f)
    os.replace(tmp, path)


# ---------------------------------------------------------------- output of a handed-over command
_local = threading.local()
_routing_lock = threading.Lock()
_routing_users = 0


class _Routed:
    """Stands in for ``sys.stdout``/``sys.stderr``/``sys.stdin``: the thread running a
    handed-over command reads and writes its client's streams, every other thread the
    process's own. The per-command functions print as they do on the command line."""

    def __init__(self, inner: Any, name: str):
        self._inner = inner
        self._name = name

    def _target(self) -> Any:
        return getattr(_local, self._name, None) or self._inner

    def write(self, text: str) -> int:
        return self._target().write(text)

    def flush(self) -> None:
        self._target().flush()

    def read(self, size: int | None = -1) -> str:
        return self._target().read(size)

    def readline(self, size: int | None = -1) -> str:
        return self._target().readline(size)

    def isatty(self) -> bool:
        return self._target().isatty()

    def __getattr__(self, name: str) -> Any:   # encoding, fileno, buffer … of the real stream
        return getattr(self._target(), name)


@contextlib.contextmanager
def _streams_of(out: Any, err: Any, stdin: Any) -> Iterator[None]:
    global _routing_users
    with _routing_lock:
        if _routing_users == 0:
            sys.stdout, sys.stderr, sys.stdin = (_Routed(sys.stdout, "out"), _Routed(sys.stderr, "err"),
                                                 _Routed(sys.stdin, "stdin"))
        _routing_users += 1
    _local.out, _local.err, _local.stdin = out, err, stdin
    try:
        yield
    finally:
        _local.out = _local.err = _local.stdin = None
        with _routing_lock:
            _routing_users -= 1
            if _routing_users == 0:
                for name in ("stdout", "stderr", "stdin"):
                    stream = getattr(sys, name)
                    if isinstance(stream, _Routed):
                        setattr(sys, name, stream._inner)


class _ToClient(io.TextIOBase):
    """A command's stdout or stderr, sent to its client as it is written. A client that
    went away stops receiving; the command itself goes on."""

    def __init__(self, conn: Connection, kind: str, lock: threading.Lock):
        self._conn, self._kind, self._lock = conn, kind, lock
        self.gone = False

    def write(self, text: str) -> int:
        if text and not self.gone:
            try:
                with self._lock:
                    self._conn.send_bytes(json.dumps({self._kind: text}).encode("utf-8"))
            except OSError:
                self.gone = True
        return len(text)

    def isatty(self) -> bool:
        return False


# ---------------------------------------------------------------- the owner's side
class CommandServer:
    """Runs commands handed over by other processes on ``store``, until :meth:`stop`."""

    def __init__(self, store: Any, run: Runner):
        self.store = store
        self.run = run
        self.db = str(Path(store.path).resolve())
        self.token = secrets.token_hex(32)
        self._sock: socket.socket | None = None
        self.port: int | None = None
        self.log = sys.stderr

    def start(self) -> "CommandServer":
        sock = socket.create_server(("127.0.0.1", 0), backlog=16)
        self._sock = sock
        self.port = sock.getsockname()[1]
        _write_owner(owner_file(self.db), OwnerInfo(os.getpid(), self.port, self.token, self.db))
        threading.Thread(target=self._accept, name="kam-command-server", daemon=True).start()
        atexit.register(self.stop)
        return self

    def stop(self) -> None:
        """Stop listening and remove the owner file (if it is still this server's)."""
        sock, self._sock = self._sock, None
        if sock is None:
            return
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)   # wakes the thread blocked in accept()
        sock.close()
        info = read_owner(self.db)
        if info is not None and info.token == self.token:
            with contextlib.suppress(FileNotFoundError):
                owner_file(self.db).unlink()

    def _accept(self) -> None:
        while self._sock is not None:
            try:
                client, _ = self._sock.accept()
            except OSError:
                if self._sock is None:
                    return
                time.sleep(0.1)   # e.g. out of file descriptors: try again, without spinning
                continue
            # One thread per connection (as multiprocessing.managers does): a client that
            # connects and says nothing holds only its own thread.
            threading.Thread(target=self._serve, args=(Connection(client.detach()),),
                             name="kam-command-client", daemon=True).start()

    def _serve(self, conn: Connection) -> None:
        with conn:
            key = self.token.encode("ascii")
            try:
                deliver_challenge(conn, key)
                answer_challenge(conn, key)
                request = json.loads(conn.recv_bytes(MAX_REQUEST_BYTES))
            except (AuthenticationError, OSError, EOFError, ValueError):
                return   # not one of ours, or gone: nothing was run
            lock = threading.Lock()
            out, err = _ToClient(conn, "out", lock), _ToClient(conn, "err", lock)
            try:
                code = _POOL.submit(self._run_request, request, out, err).result()
            except Exception as exc:  # noqa: BLE001 - the client gets the reason
                err.write(f"error: the dashboard could not run the command: {type(exc).__name__}: {exc}\n")
                code = 1
            print(f"kam: ran `{request.get('args', {}).get('command')}` for process {request.get('pid')}: "
                  f"exit {code}{' (its caller had gone)' if out.gone else ''}", file=self.log)
            with contextlib.suppress(OSError):
                with lock:
                    conn.send_bytes(json.dumps({"exit": code}).encode("utf-8"))

    def _run_request(self, request: dict, out: _ToClient, err: _ToClient) -> int:
        if request.get("v") != PROTOCOL:
            err.write("error: this command and the running dashboard are different versions; restart the dashboard\n")
            return 1
        if str(Path(request.get("db", "")).resolve()) != self.db:
            err.write(f"error: the dashboard here runs on {self.db}, not on {request.get('db')}\n")
            return 1
        args = argparse.Namespace(**_from_portable(request["args"]))
        stdin = io.StringIO(request.get("stdin") or "")
        with _streams_of(out, err, stdin):
            return self.run(self.store, args)


# ---------------------------------------------------------------- the command's side
def to_portable(args: argparse.Namespace, path_args: tuple[str, ...], cwd: str | None = None) -> dict[str, Any]:
    """The parsed command as JSON values, every file named absolutely (the dashboard has its own folder)."""
    cwd = cwd or os.getcwd()

    def absolute(value: Any) -> Any:
        if isinstance(value, list):
            return [absolute(v) for v in value]
        return None if value is None else os.path.join(cwd, os.fspath(value))

    out: dict[str, Any] = {"__paths__": []}
    for key, value in vars(args).items():
        if isinstance(value, PurePath) or (isinstance(value, list) and value and isinstance(value[0], PurePath)):
            out["__paths__"].append(key)
            value = absolute(value)
        elif key in path_args:
            value = absolute(value)
        out[key] = value
    return out


def _from_portable(data: dict[str, Any]) -> dict[str, Any]:
    values = dict(data)
    for key in values.pop("__paths__", []):
        v = values[key]
        values[key] = [Path(x) for x in v] if isinstance(v, list) else (None if v is None else Path(v))
    return values


def _connect(info: OwnerInfo) -> Connection | None:
    """An authenticated connection to the owner, or None. Whatever listens on the port must send its
    challenge within ``HANDSHAKE_SECONDS`` (a stale file's port may belong to something else by now)."""
    try:
        sock = socket.create_connection(("127.0.0.1", info.port), timeout=HANDSHAKE_SECONDS)
    except OSError:
        return None
    sock.settimeout(None)
    conn = Connection(sock.detach())
    key = info.token.encode("ascii")
    try:
        if not conn.poll(HANDSHAKE_SECONDS):
            raise EOFError("no challenge")
        answer_challenge(conn, key)     # the owner checks we know the token …
        deliver_challenge(conn, key)    # … and we check it does, before sending anything
    except (OSError, EOFError, AuthenticationError):
        conn.close()
        return None
    return conn


def hand_over(db_path: str | os.PathLike, args: dict[str, Any], stdin: Callable[[], str | None] = lambda: None,
              out: Any = None, err: Any = None) -> int | None:
    """Run the command ``args`` (see :func:`to_portable`) in the dashboard that owns ``db_path``.

    Returns its exit code, or None when no dashboard answers (no owner file, or a
    stale one): the caller then opens the file itself. ``stdin`` is asked only once
    the owner has answered (a password prompt comes after the connection is made).
    """
    info = read_owner(db_path)
    if info is None or not process_alive(info.pid):   # someone else's process: the port will tell
        return None   # no dashboard, or one killed outright
    conn = _connect(info)
    if conn is None:
        return None   # nobody answering there, or not the owner
    out = out or sys.stdout
    err = err or sys.stderr
    with conn:
        text = stdin()
        request = {"v": PROTOCOL, "db": os.path.abspath(db_path), "args": args, "stdin": text, "pid": os.getpid()}
        conn.send_bytes(json.dumps(request, default=str).encode("utf-8"))
        while True:
            try:
                frame = json.loads(conn.recv_bytes())
            except (EOFError, OSError):
                print(f"error: the dashboard (process {info.pid}) stopped before the command finished; "
                      "an import it had not finished is not in the database", file=err)
                return 1
            if "out" in frame:
                out.write(frame["out"])
                out.flush()
            elif "err" in frame:
                err.write(frame["err"])
                err.flush()
            elif "exit" in frame:
                return int(frame["exit"])


# ---------------------------------------------------------------- what the owner starts
@dataclass
class Owned:
    """What the process that owns a database runs beside its pages."""

    store: Any
    server: CommandServer
    runner: Any        # schedules.ScheduleRunner
    watcher: Any       # inbox.InboxWatcher

    def stop(self) -> None:
        self.server.stop()
        self.runner.stop()
        self.watcher.stop()


_owned: dict[str, Owned] = {}
_start_lock = threading.Lock()


def background_enabled() -> bool:
    """``KAM_BACKGROUND=0`` keeps a process from serving others (tests that want a bare store)."""
    return os.environ.get("KAM_BACKGROUND", "1") != "0"


def _key(store: Any) -> str:
    return str(Path(store.path).resolve())


def start_owner(store: Any) -> Any:
    """Start what the database's owner runs beside its pages, once per database and process (the
    dashboard's store factory calls this), and return the store: the command server, the scheduled
    reports and the import inbox. Nothing starts for a store in memory or read-only, or when
    background work is off."""
    if str(store.path) == ":memory:" or getattr(store, "read_only", False) or not background_enabled():
        return store
    from kam_core.commands import run_command
    from kam_core.imports.inbox import InboxWatcher
    from kam_core.schedules import ScheduleRunner

    with _start_lock:
        owned = _owned.get(_key(store))
        if owned is None or owned.store is not store:
            if owned is not None:
                owned.stop()
            _owned[_key(store)] = Owned(store, CommandServer(store, run_command).start(),
                                        ScheduleRunner(store).start(), InboxWatcher(store).start())
    return store


def owned_by_this_process(store: Any) -> Owned | None:
    """What :func:`start_owner` started for ``store`` in this process, if anything."""
    if str(store.path) == ":memory:":
        return None
    owned = _owned.get(_key(store))
    return owned if owned is not None and owned.store is store else None


def stop_owner(store: Any) -> None:
    """Stop what :func:`start_owner` started for ``store`` (tests; the process's exit does it too)."""
    with _start_lock:
        owned = _owned.pop(_key(store), None)
    if owned is not None:
        owned.stop()


def stop_all() -> None:
    """Stop everything :func:`start_owner` started in this process: its owner files go, nothing
    listens. The server calls this as it shuts down, because uvicorn ends the process by raising
    the SIGTERM it caught again, and ``atexit`` handlers do not run then."""
    with _start_lock:
        owned = list(_owned.values())
        _owned.clear()
    for one in owned:
        one.stop()
