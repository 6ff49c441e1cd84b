"""Scheduled reports: a named schedule builds the tier report or one account's share pack and
delivers it to a folder and/or by e-mail; every run is logged and audited.

Schedules are rows of ``schedules`` (so a restart loses none) and run inside the
dashboard process: a :class:`ScheduleRunner` (started by ``service.start_owner``) hands
them to APScheduler's ``BackgroundScheduler`` as cron triggers in the server's
local time, and first runs, once, each schedule whose last due time passed
while the dashboard was down (:func:`missed_runs`). A run answers one due time
(``schedule_runs.due_at``) and a due time is never run twice. ``python -m
kam_core schedules run NAME`` runs one by hand (for cron). The mail password
comes from Streamlit's secrets (``[smtp] password``) or the environment
variable the ``smtp_password_env`` setting names, never from the database.
"""
from __future__ import annotations

import functools
import json
import os
import re
import smtplib
import ssl
import threading
import tomllib
from dataclasses import asdict, dataclass, field
from datetime import date, datetime, timedelta, tzinfo
from email.message import EmailMessage
from pathlib import Path
from typing import Any

from kam_core import audit
from kam_core.locales.labels import t
from kam_core.permissions import User, require
from kam_core.safe_text import is_email
from kam_core.settings import get_settings
from kam_core.store import PROJECT_ROOT, Store

CADENCES = ("monthly", "weekly")
REPORTS = ("tier_report", "share_pack")
YEARS = ("current", "previous")
LANGS = ("zh", "en")
WEEKDAYS = ("mon", "tue", "wed", "thu", "fri", "sat", "sun")
LAST_DAY = 0            # monthly on day 0: the month's last day
MAX_DAY = 28            # later days are not in every month: "last day" covers them
XLSX_TYPE = ("application", "vnd.openxmlformats-officedocument.spreadsheetml.sheet")
_TIME = re.compile(r"([01]\d|2[0-3]):[0-5]\d")


class ScheduleError(ValueError):
    """A schedule was refused; ``code`` keys the page's label (``schedule.error.<code>``)."""

    def __init__(self, code: str, message: str):
        super().__init__(message)
        self.code = code


@dataclass
class Schedule:
    name: str
    cadence: str = "monthly"
    day: int = 1                     # monthly: 1–28 or LAST_DAY; weekly: 0 = Monday … 6 = Sunday
    at: str = "07:00"                # HH:MM, the server's local time
    report: str = "tier_report"
    account: str | None = None       # the share pack's account
    year: str = "current"            # of the run's date (fiscal year when a fiscal start month is set)
    lang: str = "zh"
    region: tuple[str, ...] = ()
    category: tuple[str, ...] = ()
    store: tuple[str, ...] = ()
    folder: str | None = None
    recipients: tuple[str, ...] = ()
    enabled: bool = True
    created_by: str | None = field(default=None, compare=False)
    updated_at: datetime | None = field(default=None, compare=False)

    def filters(self) -> dict[str, list[str]]:
        return {"region": list(self.region), "category": list(self.category), "store": list(self.store)}


def validate(s: Schedule) -> None:
    """Raise :class:`ScheduleError` unless ``s`` can run."""
    if not s.name or not s.name.strip() or len(s.name) > 60 or any(ord(c) < 32 for c in s.name):
        raise ScheduleError("name", "a schedule needs a name of at most 60 characters")
    if s.cadence not in CADENCES:
        raise ScheduleError("cadence", f"cadence must be one of {', '.join(CADENCES)}")
    if s.cadence == "monthly" and not (isinstance(s.day, int) and 0 <= s.day <= MAX_DAY):
        raise ScheduleError("day", f"a monthly schedule runs on day 1–{MAX_DAY} or on the last day")
    if s.cadence == "weekly" and not (isinstance(s.day, int) and 0 <= s.day <= 6):
        raise ScheduleError("day", "a weekly schedule runs on one weekday")
    if not _TIME.fullmatch(s.at or ""):
        raise ScheduleError("time", "the time must be HH:MM")
    if s.report not in REPORTS:
        raise ScheduleError("report", f"report must be one of {', '.join(REPORTS)}")
    if s.report == "share_pack" and not (s.account or "").strip():
        raise ScheduleError("account", "a share pack needs its account")
    if s.year not in YEARS or s.lang not in LANGS:
        raise ScheduleError("year", "year must be current or previous, language zh or en")
    if not (s.folder or "").strip() and not s.recipients:
        raise ScheduleError("where", "a schedule needs a folder or at least one e-mail recipient")
    bad = [r for r in s.recipients if not is_email(r)]   # the users' and contacts' rule
    if bad:
        raise ScheduleError("recipients", f"not an e-mail address: {', '.join(bad)}")


def parse_recipients(text: str) -> tuple[str, ...]:
    """``"a@x.cn, b@x.cn; c@x.cn"`` → the addresses, in order, each once."""
    seen: dict[str, None] = {}
    for part in re.split(r"[,;\s]+", text or ""):
        if part:
            seen.setdefault(part, None)
    return tuple(seen)


# ---------------------------------------------------------------- the table
_COLUMNS = ("name", "cadence", "day", "at_time", "report", "account", "year", "lang", "filters", "folder",
            "recipients", "enabled", "created_by", "updated_at")


def _from_row(row: tuple) -> Schedule:
    d = dict(zip(_COLUMNS, row))
    filters = json.loads(d["filters"] or "{}")
    return Schedule(name=d["name"], cadence=d["cadence"], day=d["day"], at=d["at_time"], report=d["report"],
                    account=d["account"], year=d["year"], lang=d["lang"],
                    region=tuple(filters.get("region", ())), category=tuple(filters.get("category", ())),
                    store=tuple(filters.get("store", ())), folder=d["folder"],
                    recipients=tuple(json.loads(d["recipients"] or "[]")), enabled=bool(d["enabled"]),
                    created_by=d["created_by"], updated_at=d["updated_at"])


def list_schedules(store: Store) -> list[Schedule]:
    """Every schedule, by name."""
    rows = store.cursor().execute(f"select {', '.join(_COLUMNS)} from schedules order by name").fetchall()
    return [_from_row(r) for r in rows]


def get_schedule(store: Store, name: str) -> Schedule:
    row = store.cursor().execute(f"select {', '.join(_COLUMNS)} from schedules where name = ?", [name]).fetchone()
    if row is None:
        raise ScheduleError("unknown", f"there is no schedule {name!r}")
    return _from_row(row)


def _definition(s: Schedule) -> str:
    d = asdict(s)
    d.pop("created_by")
    d.pop("updated_at")
    return json.dumps(d, ensure_ascii=False, default=list)


def save_schedule(store: Store, s: Schedule, user: User, now: datetime | None = None) -> Schedule:
    """Add or replace the schedule named ``s.name`` (directors: ``manage_settings``); audited."""
    require(user, "manage_settings")
    s.name = s.name.strip()
    s.folder = (s.folder or "").strip() or None
    s.account = (s.account or "").strip() or None
    validate(s)
    stamp = _naive(now) if now is not None else datetime.now()
    values = [s.cadence, s.day, s.at, s.report, s.account, s.year, s.lang,
              json.dumps(s.filters(), ensure_ascii=False), s.folder, json.dumps(list(s.recipients), ensure_ascii=False),
              s.enabled]
    with store.transaction() as cur:
        before = cur.execute(f"select {', '.join(_COLUMNS)} from schedules where name = ?", [s.name]).fetchone()
        if before is None:
            cur.execute("insert into schedules (name, cadence, day, at_time, report, account, year, lang, filters, folder,"
                        " recipients, enabled, created_by, created_at, updated_at)"
                        " values (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                        [s.name, *values, user.name, stamp, stamp])
            audit.record(cur, user.name, "insert", "schedules", s.name, "definition", None, _definition(s))
        else:
            cur.execute("update schedules set cadence = ?, day = ?, at_time = ?, report = ?, account = ?, year = ?,"
                        " lang = ?, filters = ?, folder = ?, recipients = ?, enabled = ?, updated_at = ?"
                        " where name = ?", [*values, stamp, s.name])
            audit.record(cur, user.name, "update", "schedules", s.name, "definition",
                         _definition(_from_row(before)), _definition(s))
    _changed(store)
    return get_schedule(store, s.name)


def delete_schedule(store: Store, name: str, user: User) -> None:
    """Remove a schedule (its run log stays); audited."""
    require(user, "manage_settings")
    old = get_schedule(store, name)
    with store.transaction() as cur:
        cur.execute("delete from schedules where name = ?", [name])
        audit.record(cur, user.name, "delete", "schedules", name, "definition", _definition(old), None)
    _changed(store)


# ---------------------------------------------------------------- when
@functools.lru_cache(maxsize=1)
def _local_zone() -> tzinfo:
    from apscheduler.triggers.cron import CronTrigger

    return CronTrigger().timezone   # APScheduler's idea of the server's zone, so both agree


def _naive(moment: datetime) -> datetime:
    """Timestamps are stored in the server's local time, without a zone."""
    return moment.astimezone(_local_zone()).replace(tzinfo=None) if moment.tzinfo else moment


def _aware(moment: datetime) -> datetime:
    return moment if moment.tzinfo else moment.replace(tzinfo=_local_zone())


def cron_trigger(s: Schedule):
    """The APScheduler trigger for ``s`` in the server's local time."""
    from apscheduler.triggers.cron import CronTrigger

    hour, minute = (int(x) for x in s.at.split(":"))
    if s.cadence == "monthly":
        return CronTrigger(day="last" if s.day == LAST_DAY else s.day, hour=hour, minute=minute)
    return CronTrigger(day_of_week=WEEKDAYS[s.day], hour=hour, minute=minute)


def due_times(s: Schedule, after: datetime, until: datetime) -> list[datetime]:
    """The times ``s`` was due strictly after ``after`` and up to ``until`` (zone-aware)."""
    trigger = cron_trigger(s)
    after, until = _aware(after), _aware(until)
    out: list[datetime] = []
    moment = trigger.get_next_fire_time(None, after + timedelta(seconds=1))
    while moment is not None and moment <= until and len(out) < 10_000:
        out.append(moment)
        moment = trigger.get_next_fire_time(moment, moment + timedelta(seconds=1))
    return out


def next_due(s: Schedule, now: datetime | None = None) -> datetime | None:
    return cron_trigger(s).get_next_fire_time(None, _aware(now or datetime.now(_local_zone())) + timedelta(seconds=1))


def missed_runs(store: Store, now: datetime | None = None) -> list[tuple[str, datetime]]:
    """``(name, last due time)`` of each enabled schedule that was due since its last run (or since it
    was last changed) and has not run for it: what the dashboard was down for. Once per schedule."""
    now = _aware(now or datetime.now(_local_zone()))
    last = dict(store.cursor().execute(
        "select schedule, max(due_at) from schedule_runs where due_at is not null group by schedule").fetchall())
    out = []
    for s in list_schedules(store):
        if not s.enabled:
            continue
        since = max(x for x in (last.get(s.name), s.updated_at) if x is not None)
        due = due_times(s, since, now)
        if due:
            out.append((s.name, due[-1]))
    return out


def report_year(s: Schedule, today: date, fiscal_start_month: int = 1) -> int:
    """The year a run on ``today`` reports: the (fiscal) year ``today`` is in, or the one before."""
    current = today.year if today.month >= fiscal_start_month else today.year - 1
    return current - (1 if s.year == "previous" else 0)


# ---------------------------------------------------------------- what
def build_report(store: Store, s: Schedule, year: int) -> tuple[bytes, str]:
    """The workbook and its file name. The one place that knows where the report builders live."""
    from kam_core.exports import reports
    from kam_core.sales.periods import Filters

    user = User(f"schedule:{s.name}", "director")
    if s.report == "tier_report":
        filters = Filters(region=s.region, category=s.category, store=s.store) if any(s.filters().values()) else None
        data = reports.build_tier_report(store, year, lang=s.lang, user=user, filters=filters)
        return data, reports.download_name("tier_report", year)
    data = reports.build_share_pack(store, s.account, year, user=user, lang=s.lang)
    return data, reports.download_name("share_pack", year, s.account)


# ---------------------------------------------------------------- where
@dataclass(frozen=True)
class MailServer:
    host: str
    port: int
    starttls: bool
    user: str
    sender: str
    password_env: str


class MailError(RuntimeError):
    """The report could not be mailed; the message says why."""


def mail_server(settings: dict[str, Any]) -> MailServer | None:
    """The mail server of the settings, or None when none is set."""
    if not settings["smtp_host"].strip():
        return None
    return MailServer(settings["smtp_host"].strip(), settings["smtp_port"], settings["smtp_starttls"],
                      settings["smtp_user"].strip(), settings["smtp_sender"].strip(), settings["smtp_password_env"])


def _secrets_files() -> list[Path]:
    """Where Streamlit reads its secrets: the working folder's, the project's, the user's."""
    return [Path.cwd() / ".streamlit" / "secrets.toml", PROJECT_ROOT / ".streamlit" / "secrets.toml",
            Path.home() / ".streamlit" / "secrets.toml"]


def mail_password(server: MailServer) -> str | None:
    """``[smtp] password`` from Streamlit's secrets, else the environment variable the settings name."""
    for path in _secrets_files():
        try:
            section = tomllib.loads(path.read_text(encoding="utf-8")).get("smtp", {})
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError):
            continue
        if isinstance(section, dict) and isinstance(section.get("password"), str) and section["password"]:
            return section["password"]
    return os.environ.get(server.password_env) or None


def send_mail(server: MailServer, recipients: tuple[str, ...], subject: str, body: str, file_name: str,
              data: bytes, ssl_context: ssl.SSLContext | None = None) -> None:
    """Mail ``data`` as an attachment named ``file_name`` to ``recipients``."""
    msg = EmailMessage()
    msg["From"] = server.sender or server.user or "kam-dashboard@localhost"
    msg["To"] = ", ".join(recipients)
    msg["Subject"] = subject
    msg.set_content(body)
    msg.add_attachment(data, maintype=XLSX_TYPE[0], subtype=XLSX_TYPE[1], filename=file_name)
    password = None
    if server.user:
        password = mail_password(server)
        if password is None:
            raise MailError(f"no mail password: set [smtp] password in Streamlit's secrets or ${server.password_env}")
    with smtplib.SMTP(server.host, server.port, timeout=60) as smtp:
        smtp.ehlo()
        if server.starttls:
            smtp.starttls(context=ssl_context or ssl.create_default_context())
            smtp.ehlo()
        if server.user:
            smtp.login(server.user, password)
        smtp.send_message(msg)


def _folder(store: Store, folder: str) -> Path:
    path = Path(folder).expanduser()
    return path if path.is_absolute() else Path(store.path).resolve().parent / path


def _write_to_folder(folder: Path, file_name: str, data: bytes, when: datetime) -> Path:
    """``kam_tier_report_2025_20261201-0700.xlsx`` in ``folder``, written whole or not at all."""
    folder.mkdir(parents=True, exist_ok=True)
    stem, ext = os.path.splitext(file_name)
    target = folder / f"{stem}_{when:%Y%m%d-%H%M}{ext}"
    n = 2
    while target.exists():
        target = folder / f"{stem}_{when:%Y%m%d-%H%M}_{n}{ext}"
        n += 1
    tmp = folder / f".{target.name}.partial"
    tmp.write_bytes(data)
    os.replace(tmp, target)
    return target


# ---------------------------------------------------------------- a run
_run_locks: dict[tuple[str, str], threading.Lock] = {}
_run_locks_guard = threading.Lock()
RUN_COLUMNS = ("id", "schedule", "due_at", "trigger", "started_at", "finished_at", "report", "year", "file_name",
               "delivered_to", "status", "error")


def _run_lock(store: Store, name: str) -> threading.Lock:
    with _run_locks_guard:
        return _run_locks.setdefault((str(store.path), name), threading.Lock())


def run_schedule(store: Store, name: str, trigger: str = "manual", due_at: datetime | None = None,
                 now: datetime | None = None, ssl_context: ssl.SSLContext | None = None) -> dict[str, Any] | None:
    """Build and deliver one schedule's report; log and audit the run. Returns the run-log row,
    or None when the due time ``due_at`` was already run."""
    with _run_lock(store, name):
        s = get_schedule(store, name)
        due = _naive(due_at) if due_at is not None else None
        if due is not None and store.cursor().execute(
                "select 1 from schedule_runs where schedule = ? and due_at = ?", [name, due]).fetchone():
            return None
        started = _naive(now) if now is not None else datetime.now()
        settings = get_settings(store)
        year = report_year(s, started.date(), settings["fiscal_start_month"])
        delivered: list[str] = []
        errors: list[str] = []
        file_name = None
        try:
            data, file_name = build_report(store, s, year)
        except Exception as exc:  # noqa: BLE001 - a run that fails is logged, not raised
            errors.append(f"report: {type(exc).__name__}: {exc}")
        else:
            if s.folder:
                try:
                    delivered.append(str(_write_to_folder(_folder(store, s.folder), file_name, data, started)))
                except OSError as exc:
                    errors.append(f"folder {s.folder}: {exc}")
            if s.recipients:
                server = mail_server(settings)
                try:
                    if server is None:
                        raise MailError("no mail server is set (Settings → mail server)")
                    report_name = t(f"schedule.report.{s.report}", s.lang)
                    send_mail(server, s.recipients,
                              t("schedule.mail_subject", s.lang, name=s.name, report=report_name, year=year),
                              t("schedule.mail_body", s.lang, name=s.name, report=report_name, year=year,
                                when=f"{started:%Y-%m-%d %H:%M}"),
                              file_name, data, ssl_context=ssl_context)
                    delivered.extend(s.recipients)
                except (MailError, smtplib.SMTPException, OSError, ssl.SSLError) as exc:
                    errors.append(f"mail: {type(exc).__name__}: {exc}")
        status = "failed" if errors else "ok"
        row = {"schedule": name, "due_at": due, "trigger": trigger, "started_at": started,
               "finished_at": datetime.now() if now is None else started, "report": s.report, "year": year,
               "file_name": file_name, "delivered_to": delivered, "status": status,
               "error": "; ".join(errors) or None}
        with store.transaction() as cur:
            row["id"] = cur.execute("select nextval('schedule_run_id_seq')").fetchone()[0]
            cur.execute(f"insert into schedule_runs ({', '.join(RUN_COLUMNS)}) values ({', '.join('?' * len(RUN_COLUMNS))})",
                        [row["id"], name, due, trigger, started, row["finished_at"], s.report, year, file_name,
                         json.dumps(delivered, ensure_ascii=False), status, row["error"]])
            audit.record(cur, f"schedule:{name}", "export" if status == "ok" else "export_failed", "schedules", name,
                         s.report, None, json.dumps({"year": year, "trigger": trigger, "delivered_to": delivered,
                                                     "error": row["error"]}, ensure_ascii=False))
        return row


def run_log(store: Store, name: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs, newest first (of one schedule when ``name`` is given)."""
    sql = f"select {', '.join(RUN_COLUMNS)} from schedule_runs"
    params: list[Any] = []
    if name is not None:
        sql += " where schedule = ?"
        params.append(name)
    rows = store.cursor().execute(sql + " order by id desc limit ?", [*params, limit]).fetchall()
    out = []
    for r in rows:
        d = dict(zip(RUN_COLUMNS, r))
        d["delivered_to"] = json.loads(d["delivered_to"] or "[]")
        out.append(d)
    return out


# ---------------------------------------------------------------- in the dashboard process
class ScheduleRunner:
    """APScheduler jobs for the enabled schedules of one store, kept in step with the table."""

    def __init__(self, store: Store):
        from apscheduler.schedulers.background import BackgroundScheduler

        self.store = store
        # A job the process was too busy to start on time still runs (once).
        self.scheduler = BackgroundScheduler(job_defaults={"coalesce": True, "max_instances": 1,
                                                           "misfire_grace_time": None})

    def start(self, now: datetime | None = None) -> "ScheduleRunner":
        with _runners_lock:
            _runners[id(self.store)] = self   # runner_for finds it; stop() lets go
        self.scheduler.start()
        self.sync()
        for name, due in missed_runs(self.store, now):
            self.scheduler.add_job(run_schedule, args=[self.store, name], kwargs={"trigger": "missed", "due_at": due},
                                   id=f"missed:{name}", replace_existing=True)   # no trigger: runs at once
        return self

    def sync(self) -> None:
        """Jobs for exactly the enabled schedules, with their current timing."""
        wanted = {s.name: s for s in list_schedules(self.store) if s.enabled}
        for job in self.scheduler.get_jobs():
            if job.id.startswith("schedule:") and job.id[len("schedule:"):] not in wanted:
                job.remove()
        for name, s in wanted.items():
            self.scheduler.add_job(self.fire, cron_trigger(s), args=[name], id=f"schedule:{name}", name=name,
                                   replace_existing=True)

    def fire(self, name: str) -> dict[str, Any] | None:
        """What a schedule's job runs: the run for the due time just reached."""
        s = get_schedule(self.store, name)
        now = datetime.now(_local_zone())
        due = due_times(s, now - timedelta(days=32), now)
        return run_schedule(self.store, name, trigger="time", due_at=due[-1] if due else now)

    def next_run(self, name: str) -> datetime | None:
        job = self.scheduler.get_job(f"schedule:{name}")
        return None if job is None else job.next_run_time

    def stop(self) -> None:
        with _runners_lock:
            if _runners.get(id(self.store)) is self:
                del _runners[id(self.store)]
        if self.scheduler.running:
            self.scheduler.shutdown(wait=False)


# The runner started for each store in this process, by the store's identity (a runner holds
# its store, so the id is not reused while the entry lives).
_runners: dict[int, ScheduleRunner] = {}
_runners_lock = threading.Lock()


def runner_for(store: Store) -> ScheduleRunner | None:
    """The runner started in this process for ``store`` (the dashboard's, by ``service.start_owner``), if any."""
    with _runners_lock:
        runner = _runners.get(id(store))
    return runner if runner is not None and runner.store is store else None


def _changed(store: Store) -> None:
    runner = runner_for(store)
    if runner is not None:
        runner.sync()
