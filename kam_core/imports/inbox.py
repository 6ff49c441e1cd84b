"""The import inbox: the running dashboard imports the exports an ERP drops into a folder.

``<inbox>`` is the ``inbox_dir`` setting (default ``inbox`` beside the
database: ``data/inbox/``). The dashboard's :class:`InboxWatcher` (started by
``service.start_owner``) looks every few seconds:

* A file is taken once its size and modification time were the same at two
  looks in a row (a file still being written is not touched); hidden and
  temporary names (``.x``, ``~$x``, ``*.partial``, ``*.tmp``, ``*.crdownload``)
  never are. It is first renamed into ``<inbox>/.processing/``.
* It goes through the import pipeline (``prepare_import`` → ``commit_import``)
  under the same rules as every import, with the mapping saved for its header
  layout, as importer ``inbox`` (the ``imports`` row and an audit row say so).
* Loaded: it moves to ``<inbox>/done/`` (named ``YYYYMMDD-HHMMSS_<name>``)
  with ``<that name>.report.txt``, the validation report.
* A file that needs a person — a header layout with no saved mapping
  (``unknown_layout``), a day/month question, totals that do not match, the same
  bytes as a loaded import, or a file the importer refuses — moves to
  ``<inbox>/needs-review/`` with its ``.report.txt`` and a ``.review.json``
  the Import page reads to list it with a button to finish it there. Once an
  import of those bytes is loaded after it went to review (finished on the
  page, or by a command), it moves to ``done/`` too.
* The load is one transaction: a file is loaded whole or not at all, and the
  duplicate check means the same bytes are never loaded twice. A dashboard
  killed while a file is in ``.processing/`` finds it there on its next start:
  loaded already (its bytes are in an ``inbox`` import) → ``done/``, else back
  into the inbox for another try.
"""
from __future__ import annotations

import hashlib
import json
import os
import sys
import threading
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from kam_core import audit
from kam_core.imports.errors import DecisionNeeded, ImportRejected
from kam_core.permissions import User, require
from kam_core.settings import get_settings
from kam_core.store import Store

IMPORTER = "inbox"
REVIEW, DONE, WORK = "needs-review", "done", ".processing"
SCAN_SECONDS = 5.0
_SKIP_SUFFIXES = (".partial", ".tmp", ".crdownload", ".part", ".swp")
# One lock for every move in and out of an inbox in this process: the watcher's thread and
# the Import page (finish, dismiss) never move the same file at once.
_moving = threading.RLock()


def inbox_dir(store: Store, settings: dict[str, Any] | None = None) -> Path | None:
    """The inbox folder of ``store`` (relative settings are relative to the database's folder), or
    None when the setting is empty or the store is in memory."""
    value = (settings or get_settings(store))["inbox_dir"].strip()
    if not value or str(store.path) == ":memory:":
        return None
    path = Path(value).expanduser()
    return path if path.is_absolute() else Path(store.path).resolve().parent / path


def _candidate(path: Path) -> bool:
    name = path.name
    return not name.startswith((".", "~$")) and not name.lower().endswith(_SKIP_SUFFIXES)


def _stamp(now: datetime | None = None) -> str:
    return f"{now or datetime.now():%Y%m%d-%H%M%S}"


def _free_name(folder: Path, name: str) -> Path:
    target, n = folder / name, 2
    while target.exists():
        stem, ext = os.path.splitext(name)
        target, n = folder / f"{stem}_{n}{ext}", n + 1
    return target


def _sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Outcome:
    """What one look did with one file."""

    file: str
    status: str                  # loaded | review | done (finished elsewhere) | retry
    import_id: int | None = None
    code: str | None = None
    stored_as: str | None = None


@dataclass
class ReviewItem:
    """A file waiting in ``needs-review/`` for a person."""

    stored_as: str               # its name in needs-review/
    file: str                    # the name it arrived with
    code: str
    message: str
    details: dict[str, Any]
    options: list[str]
    sha256: str
    received_at: str
    path: Path
    params: dict[str, Any] = field(default_factory=dict)   # the rejection's figures, for the page's words

    def read(self) -> bytes:
        return self.path.read_bytes()


class InboxWatcher:
    """Looks at one store's inbox; :meth:`scan` is one look, :meth:`start` looks every ``interval`` seconds."""

    def __init__(self, store: Store, interval: float | None = None):
        self.store = store
        self.interval = SCAN_SECONDS if interval is None else interval
        self._seen: dict[str, tuple[int, int]] = {}
        self._scanning = threading.Lock()
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    # -- the folders -----------------------------------------------------
    def folder(self) -> Path | None:
        root = inbox_dir(self.store)
        if root is None or not root.parent.is_dir():
            return None
        for sub in (root, root / REVIEW, root / DONE, root / WORK):
            sub.mkdir(exist_ok=True)
        return root

    # -- one look --------------------------------------------------------
    def scan(self, now: datetime | None = None) -> list[Outcome]:
        """Take the files whose size held still since the last look; settle reviewed ones.

        Only the moves hold the process's inbox lock, never an import: the Import page
        does not wait for a big file to load.
        """
        with self._scanning:
            root = self.folder()
            if root is None:
                return []
            out = settle_reviewed(self.store, root)
            with _moving:
                present = {}
                for path in sorted(root.iterdir()):
                    if not path.is_file() or not _candidate(path):
                        continue
                    try:
                        st = path.stat()
                    except FileNotFoundError:
                        continue
                    present[path.name] = (st.st_size, st.st_mtime_ns)
                stable = [name for name, sig in present.items() if self._seen.get(name) == sig and sig[0] > 0]
                self._seen = {name: sig for name, sig in present.items() if name not in stable}
                taken = []
                for name in stable:
                    try:
                        os.replace(root / name, root / WORK / name)
                    except FileNotFoundError:
                        continue   # gone meanwhile
                    taken.append(name)
            for name in taken:   # .processing/ is this watcher's alone
                out.append(_import(self.store, root, root / WORK / name, name, now))
            return out

    def recover(self) -> list[Outcome]:
        """Files a killed dashboard left in ``.processing/``: loaded → ``done/``, else back to the inbox."""
        with self._scanning, _moving:
            root = self.folder()
            if root is None:
                return []
            out = []
            for work in sorted((root / WORK).iterdir()):
                if not work.is_file():
                    continue
                row = _loaded_import(self.store, _sha(work.read_bytes()), by=IMPORTER)
                if row is not None:
                    done = _to_done(root, work, work.name, row[1], None)
                    out.append(Outcome(work.name, "done", row[0], stored_as=done.name))
                else:
                    os.replace(work, _free_name(root, work.name))
                    out.append(Outcome(work.name, "retry"))
            return out

    # -- in the dashboard process ------------------------------------------
    def start(self) -> "InboxWatcher":
        self.recover()
        self._thread = threading.Thread(target=self._loop, name="kam-inbox", daemon=True)
        self._thread.start()
        return self

    def _loop(self) -> None:
        while not self._stop.wait(self.interval):
            try:
                for outcome in self.scan():
                    print(f"kam inbox: {outcome.file}: {outcome.status}"
                          f"{' ' + outcome.code if outcome.code else ''}", file=sys.__stderr__)
            except Exception as exc:  # noqa: BLE001 - the watcher keeps watching; the log says why
                print(f"kam inbox: {type(exc).__name__}: {exc}", file=sys.__stderr__)

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)


def _import(store: Store, root: Path, work: Path, name: str, now: datetime | None) -> Outcome:
    from kam_core.imports.pipeline import ImportOptions, commit_import, prepare_import

    data = work.read_bytes()
    last_id = store.cursor().execute("select coalesce(max(id), 0) from imports").fetchone()[0]
    try:
        plan = prepare_import(store, data, name, ImportOptions())
    except ImportRejected as exc:
        return _to_review(store, root, work, name, data, exc, last_id, None, now)
    try:
        if not plan.report.data["profile_used"]:
            need = DecisionNeeded("unknown_layout",
                                  "no mapping is saved for this header layout: finish this file once on the Import "
                                  "page; files with the same columns then load by themselves",
                                  details={"columns": plan.report.data["sheets"][0]["columns"],
                                           "mapping": plan.mapping, "preview": plan.report.data["preview"]})
            return _to_review(store, root, work, name, data, need, last_id, plan.report.to_text(), now)
        try:
            import_id = commit_import(store, plan, user=IMPORTER)
        except ImportRejected as exc:   # e.g. the same bytes committed meanwhile
            return _to_review(store, root, work, name, data, exc, last_id, plan.report.to_text(), now)
        report = plan.report.to_text()
    finally:
        plan.close()
    with store.transaction() as cur:
        audit.record(cur, IMPORTER, "import", "imports", import_id, "file_name", None, name)
    done = _to_done(root, work, name, report, now)
    return Outcome(name, "loaded", import_id, stored_as=done.name)


def _to_done(root: Path, work: Path, name: str, report: str | None, now: datetime | None) -> Path:
    with _moving:
        target = _free_name(root / DONE, f"{_stamp(now)}_{name}")
        if report:
            _write_text(target.with_name(target.name + ".report.txt"), report)
        os.replace(work, target)
        return target


def _to_review(store: Store, root: Path, work: Path, name: str, data: bytes, exc: ImportRejected, last_id: int,
               report: str | None, now: datetime | None) -> Outcome:
    with _moving:
        return _review_file(root, work, name, data, exc, last_id, report, now)


def _review_file(root: Path, work: Path, name: str, data: bytes, exc: ImportRejected, last_id: int,
                 report: str | None, now: datetime | None) -> Outcome:
    target = _free_name(root / REVIEW, f"{_stamp(now)}_{name}")
    details = getattr(exc, "details", {}) or {}
    review = {"file": name, "code": exc.code, "message": exc.message, "params": exc.params,
              "options": getattr(exc, "options", []),
              "details": details, "sha256": _sha(data), "last_import_id": int(last_id),
              "received_at": f"{now or datetime.now():%Y-%m-%d %H:%M}"}
    _write_text(target.with_name(target.name + ".report.txt"), _review_text(name, exc, details, report))
    _write_text(target.with_name(target.name + ".review.json"), json.dumps(review, ensure_ascii=False, default=str))
    os.replace(work, target)
    return Outcome(name, "review", code=exc.code, stored_as=target.name)


def _review_text(name: str, exc: ImportRejected, details: dict[str, Any], report: str | None) -> str:
    """What a person reads beside a file in needs-review/: why, what was read of it, and the report if any."""
    lines = [f"{name}: needs a person ({exc.code})", exc.message]
    for key in ("columns", "examples"):
        if details.get(key):
            lines.append(f"{key}: {', '.join(map(str, details[key]))}")
    if details.get("mapping"):
        lines.append("mapping: " + ", ".join(f"{k}←{v}" for k, v in details["mapping"].items()))
    for key in ("file_total", "lines_total", "difference", "id", "file", "when"):
        if key in details:
            lines.append(f"{key}: {details[key]}")
    if report:
        lines += ["", report]
    return "\n".join(lines) + "\n"


def _write_text(path: Path, text: str) -> None:
    tmp = path.with_name(f".{path.name}.partial")
    tmp.write_text(text, encoding="utf-8")
    os.replace(tmp, path)


def _loaded_import(store: Store, sha: str, by: str | None = None, after_id: int = 0) -> tuple[int, str | None] | None:
    """``(id, report text)`` of a loaded import of these bytes (by ``by``, newer than ``after_id``)."""
    sql = "select id, report from imports where sha256 = ? and status = 'loaded' and id > ?"
    params: list[Any] = [sha, after_id]
    if by is not None:
        sql += " and imported_by = ?"
        params.append(by)
    row = store.cursor().execute(sql + " order by id desc limit 1", params).fetchone()
    if row is None:
        return None
    return int(row[0]), _report_text(row[1])


def _report_text(report_json: str | None) -> str | None:
    if not report_json:
        return None
    from kam_core.imports.pipeline import ValidationReport

    data = json.loads(report_json)
    rejected = data.pop("rejected_rows", [])
    try:
        return ValidationReport(data, rejected).to_text()
    except (KeyError, TypeError, ValueError):
        return None


# ---------------------------------------------------------------- needs-review
def review_items(root: Path) -> list[ReviewItem]:
    """The files waiting for a person, oldest first."""
    items = []
    folder = root / REVIEW
    if not folder.is_dir():
        return items
    for meta in sorted(folder.glob("*.review.json")):
        path = meta.with_name(meta.name[: -len(".review.json")])
        try:
            r = json.loads(meta.read_text(encoding="utf-8"))
        except (OSError, ValueError):
            continue
        if path.is_file():
            items.append(ReviewItem(path.name, r["file"], r["code"], r["message"], r.get("details") or {},
                                    r.get("options") or [], r["sha256"], r["received_at"], path,
                                    r.get("params") or {}))
    return items


def settle_reviewed(store: Store, root: Path) -> list[Outcome]:
    """Move to ``done/`` each reviewed file whose bytes were loaded after it went to review."""
    with _moving:
        return _settle(store, root)


def _settle(store: Store, root: Path) -> list[Outcome]:
    out = []
    for item in review_items(root):
        meta = item.path.with_name(item.path.name + ".review.json")
        last_id = json.loads(meta.read_text(encoding="utf-8")).get("last_import_id", 0)
        row = _loaded_import(store, item.sha256, after_id=last_id)
        if row is None:
            continue
        done = _to_done(root, item.path, item.file, row[1], None)
        for extra in (meta, item.path.with_name(item.path.name + ".report.txt")):
            extra.unlink(missing_ok=True)
        out.append(Outcome(item.file, "done", row[0], stored_as=done.name))
    return out


def dismiss(store: Store, root: Path, stored_as: str, user: User | str) -> Path:
    """A person decided not to import a reviewed file: it moves to ``done/``, unloaded; audited.
    A signed-in :class:`User` must be allowed to import."""
    if isinstance(user, User):
        require(user, "import")
    with _moving:
        return _dismiss(store, root, stored_as, user.name if isinstance(user, User) else user)


def _dismiss(store: Store, root: Path, stored_as: str, who: str) -> Path:
    item = next(i for i in review_items(root) if i.stored_as == stored_as)
    meta = item.path.with_name(item.path.name + ".review.json")
    note = f"{item.file}: not imported ({item.code}), dismissed by {who}\n{item.message}\n"
    done = _to_done(root, item.path, item.file, note, None)
    meta.unlink(missing_ok=True)
    item.path.with_name(item.path.name + ".report.txt").unlink(missing_ok=True)
    with store.transaction() as cur:
        audit.record(cur, who, "dismiss", "inbox", item.file, "code", None, item.code)
    return done


def state(root: Path) -> dict[str, int]:
    """How many files wait in the inbox, wait for review, and were done."""
    def count(folder: Path, skip_reports: bool = True) -> int:
        if not folder.is_dir():
            return 0
        return sum(1 for p in folder.iterdir() if p.is_file() and _candidate(p)
                   and not (skip_reports and p.name.endswith((".report.txt", ".review.json"))))
    return {"waiting": count(root), "review": count(root / REVIEW), "done": count(root / DONE)}
