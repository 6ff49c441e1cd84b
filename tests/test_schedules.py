"""Scheduled reports: kept in the store, due on the right days, caught up once after downtime,
delivered to a folder and by mail (a local SMTP server on 127.0.0.1), logged and audited."""
from __future__ import annotations

import email
import io
import shutil
import socket
import ssl
import subprocess
import time
from datetime import date, datetime, timedelta
from email import policy
from pathlib import Path

import openpyxl
import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import AuthResult

from kam_core import schedules as sched
from kam_core.cli import main
from kam_core.imports.pipeline import import_file
from kam_core.permissions import PermissionDenied, User
from kam_core.settings import save_settings
from kam_core.store import open_store

DIRECTOR = User("boss", "director")
TODAY = date.today()


@pytest.fixture
def store(tmp_path):
    s = open_store(tmp_path / "kam.duckdb")
    lines = "日期,供应商,销售额,成本\n" + "".join(
        f"{y}-01-15,甲,{amount},{amount * 0.8}\n{y}-01-16,乙,{amount / 4},{amount * 0.2}\n"
        for y, amount in ((TODAY.year - 1, 30_000_000), (TODAY.year, 60_000_000)))
    import_file(s, lines.encode("utf-8"), "sales.csv")
    yield s
    s.close()


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class Inbox:
    """An aiosmtpd handler that keeps every message it is given."""

    def __init__(self):
        self.messages: list[tuple[list[str], email.message.EmailMessage]] = []

    async def handle_DATA(self, server, session, envelope):
        self.messages.append((list(envelope.rcpt_tos), email.message_from_bytes(envelope.content, policy=policy.default)))
        return "250 OK"


@pytest.fixture
def smtp():
    """A plain SMTP server on 127.0.0.1 (no TLS, no sign-in)."""
    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port())
    controller.start()
    yield controller, inbox
    controller.stop()


def mail_to(store, port: int, **more) -> None:
    save_settings(store, {"smtp_host": "127.0.0.1", "smtp_port": port, "smtp_starttls": False, **more})


def attachment(message):
    [part] = list(message.iter_attachments())
    return part.get_filename(), part.get_content()


def test_a_schedule_is_kept_in_the_store_across_a_restart(tmp_path):
    s = open_store(tmp_path / "k.duckdb")
    saved = sched.save_schedule(s, sched.Schedule("月报", cadence="monthly", day=5, at="07:30", folder="reports",
                                                  region=("华东",), recipients=("a@example.cn",)), DIRECTOR)
    s.close()
    s = open_store(tmp_path / "k.duckdb")
    [again] = sched.list_schedules(s)
    assert again == saved and again.region == ("华东",) and again.recipients == ("a@example.cn",)
    assert again.created_by == "boss"
    s.close()


def test_the_rules_refuse_a_schedule_that_cannot_run(store):
    with pytest.raises(sched.ScheduleError) as e:
        sched.save_schedule(store, sched.Schedule("p", report="share_pack", folder="x"), DIRECTOR)
    assert e.value.code == "account"
    with pytest.raises(sched.ScheduleError) as e:
        sched.save_schedule(store, sched.Schedule("p"), DIRECTOR)
    assert e.value.code == "where"
    with pytest.raises(sched.ScheduleError) as e:
        sched.save_schedule(store, sched.Schedule("p", recipients=("not-an-address",)), DIRECTOR)
    assert e.value.code == "recipients"
    # the users' and contacts' e-mail rule: a one-letter top-level domain or a label ending in "-" is no address
    for address in ("gm@example.c", "gm@mail-.example.cn"):
        with pytest.raises(sched.ScheduleError) as e:
            sched.save_schedule(store, sched.Schedule("p", recipients=("ok@example.cn", address)), DIRECTOR)
        assert e.value.code == "recipients" and address in str(e.value) and "ok@example.cn" not in str(e.value)
    with pytest.raises(sched.ScheduleError) as e:
        sched.save_schedule(store, sched.Schedule("p", day=29, folder="x"), DIRECTOR)
    assert e.value.code == "day"
    with pytest.raises(PermissionDenied):
        sched.save_schedule(store, sched.Schedule("p", folder="x"), User("li", "manager"))
    assert sched.list_schedules(store) == []


def test_monthly_on_the_last_day_and_weekly_on_monday_are_due_when_the_calendar_says():
    month_end = sched.Schedule("m", day=sched.LAST_DAY, at="18:00")
    due = sched.due_times(month_end, datetime(2026, 1, 31, 18, 0), datetime(2026, 4, 30, 18, 0))
    assert [(d.month, d.day, d.hour) for d in due] == [(2, 28, 18), (3, 31, 18), (4, 30, 18)]
    monday = sched.Schedule("w", cadence="weekly", day=0, at="07:05")
    due = sched.due_times(monday, datetime(2026, 12, 1), datetime(2026, 12, 15))   # a Tuesday to a Tuesday
    assert [(d.day, d.strftime("%a"), d.hour, d.minute) for d in due] == [(7, "Mon", 7, 5), (14, "Mon", 7, 5)]


def test_saving_and_deleting_a_schedule_updates_the_running_dashboards_jobs(store):
    from kam_core import service

    service.start_owner(store)
    try:
        runner = sched.runner_for(store)
        sched.save_schedule(store, sched.Schedule("w", cadence="weekly", day=4, at="17:30", folder="x"), DIRECTOR)
        assert runner.next_run("w").strftime("%a %H:%M") == "Fri 17:30"
        sched.save_schedule(store, sched.Schedule("w", cadence="weekly", day=4, at="17:30", folder="x",
                                                  enabled=False), DIRECTOR)
        assert runner.next_run("w") is None
        sched.save_schedule(store, sched.Schedule("w", cadence="monthly", day=2, at="06:00", folder="x"), DIRECTOR)
        assert runner.next_run("w").strftime("%d %H:%M") == "02 06:00"
        sched.delete_schedule(store, "w", DIRECTOR)
        assert runner.next_run("w") is None
    finally:
        service.stop_owner(store)


def test_the_runner_of_a_store_is_found_while_it_runs_and_only_for_that_store(store, tmp_path):
    other = open_store(tmp_path / "other.duckdb")
    assert sched.runner_for(store) is None
    runner = sched.ScheduleRunner(store).start()
    try:
        assert sched.runner_for(store) is runner
        assert sched.runner_for(other) is None
        sched.save_schedule(store, sched.Schedule("w", cadence="weekly", day=4, at="17:30", folder="x"), DIRECTOR)
        assert runner.next_run("w").strftime("%a %H:%M") == "Fri 17:30"   # a save reaches the running jobs
    finally:
        runner.stop()
        other.close()
    assert sched.runner_for(store) is None


def test_the_year_is_the_run_dates_year_or_the_one_before_fiscal_years_included():
    assert sched.report_year(sched.Schedule("a"), date(2026, 2, 1)) == 2026
    assert sched.report_year(sched.Schedule("a", year="previous"), date(2026, 2, 1)) == 2025
    assert sched.report_year(sched.Schedule("a"), date(2026, 2, 1), fiscal_start_month=4) == 2025


def test_runs_missed_while_the_dashboard_was_down_are_caught_up_once_on_start(store, tmp_path):
    now = datetime.now()
    sched.save_schedule(store, sched.Schedule("monthly", day=1, at="07:00", folder=str(tmp_path / "out")), DIRECTOR,
                        now=now - timedelta(days=70))   # created 70 days ago: two or three first-of-months passed
    first = datetime(now.year, now.month, 1, 7, 0)
    last_due = first if now >= first else datetime(now.year - (now.month == 1), (now.month - 2) % 12 + 1, 1, 7, 0)
    [(name, due)] = sched.missed_runs(store)
    assert (name, due.replace(tzinfo=None)) == ("monthly", last_due)

    runner = sched.ScheduleRunner(store).start()    # what the dashboard does on start
    try:
        deadline = time.monotonic() + 120                # a bound, not a measurement
        while not sched.run_log(store) and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        runner.stop()
    [run] = sched.run_log(store)
    assert (run["trigger"], run["due_at"], run["status"]) == ("missed", last_due, "ok")
    assert len(list((tmp_path / "out").glob("kam_tier_report_*.xlsx"))) == 1
    assert sched.missed_runs(store) == []            # started again later: nothing more to catch up
    assert sched.run_schedule(store, "monthly", trigger="missed", due_at=due) is None   # and a due time runs once


def test_a_schedule_that_fires_mails_the_tier_report_and_logs_and_audits_the_run(store, smtp):
    controller, inbox = smtp
    mail_to(store, controller.port, smtp_sender="kam@example.cn")
    sched.save_schedule(store, sched.Schedule("周报", cadence="weekly", day=0, at="08:00", lang="en",
                                              recipients=("gm@example.cn", "finance@example.cn")), DIRECTOR)
    runner = sched.ScheduleRunner(store).start()
    try:
        job = runner.scheduler.get_job("schedule:周报")
        assert job.next_run_time.strftime("%a %H:%M") == "Mon 08:00"
        run = job.func(*job.args)                     # what APScheduler calls at that time
    finally:
        runner.stop()
    assert run["status"] == "ok" and run["trigger"] == "time", run["error"]

    [(rcpt, message)] = inbox.messages
    assert rcpt == ["gm@example.cn", "finance@example.cn"]
    assert message["From"] == "kam@example.cn"
    assert message["Subject"] == f"[KAM Dashboard] tier report {TODAY.year} (周报)"
    name, data = attachment(message)
    assert name == f"kam_tier_report_{TODAY.year}.xlsx"
    book = openpyxl.load_workbook(io.BytesIO(data))
    assert book.sheetnames[0] == "Summary"
    assert "Needs attention" in book.sheetnames           # the scheduled tier report carries the attention list

    [logged] = sched.run_log(store)
    assert logged["delivered_to"] == ["gm@example.cn", "finance@example.cn"] and logged["year"] == TODAY.year
    who, action, key = store.cursor().execute(
        "select who, action, record_key from audit_log where table_name = 'schedules' order by id desc limit 1").fetchone()
    assert (who, action, key) == ("schedule:周报", "export", "周报")


def test_a_share_pack_for_the_previous_year_goes_to_the_folder(store, tmp_path):
    sched.save_schedule(store, sched.Schedule("甲 pack", report="share_pack", account="甲", year="previous",
                                              folder="packs"), DIRECTOR)
    run = sched.run_schedule(store, "甲 pack", now=datetime(TODAY.year, 6, 1, 7, 0))
    assert run["status"] == "ok", run["error"]
    [path] = run["delivered_to"]
    assert Path(path).parent == tmp_path / "packs"       # relative to the database's folder
    assert Path(path).name.startswith(f"kam_share_pack_") and f"_{TODAY.year - 1}_" in Path(path).name
    assert run["year"] == TODAY.year - 1
    assert not list((tmp_path / "packs").glob(".*partial"))


def test_a_share_pack_scheduled_in_english_is_written_in_english(store, tmp_path):
    import openpyxl

    from kam_core.locales.labels import t

    sched.save_schedule(store, sched.Schedule("甲 en", report="share_pack", account="甲", year="previous",
                                              folder="packs", lang="en"), DIRECTOR)
    run = sched.run_schedule(store, "甲 en", now=datetime(TODAY.year, 6, 1, 7, 0))
    assert run["status"] == "ok", run["error"]
    [path] = run["delivered_to"]
    sheets = openpyxl.load_workbook(path, read_only=True).sheetnames
    assert sheets[0] == t("report.sheet.summary", "en") == "Summary"       # not 汇总


def _self_signed(tmp_path: Path) -> tuple[Path, Path]:
    if shutil.which("openssl") is None:
        pytest.skip("openssl is not installed")
    cert, key = tmp_path / "cert.pem", tmp_path / "key.pem"
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=127.0.0.1",
                    "-addext", "subjectAltName=IP:127.0.0.1", "-keyout", str(key), "-out", str(cert)],
                   check=True, capture_output=True)
    return cert, key


def test_mail_goes_over_starttls_signed_in_with_the_password_from_the_environment(store, tmp_path, monkeypatch):
    cert, key = _self_signed(tmp_path)
    server_tls = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    server_tls.load_cert_chain(cert, key)
    signed_in = []

    def authenticator(server, session, envelope, mechanism, auth_data):
        ok = (auth_data.login, auth_data.password) == (b"kam", b"s3cret-from-env")
        signed_in.append(ok)
        return AuthResult(success=ok)

    inbox = Inbox()
    controller = Controller(inbox, hostname="127.0.0.1", port=free_port(), tls_context=server_tls,
                            require_starttls=True, authenticator=authenticator, auth_required=True)
    controller.start()
    try:
        mail_to(store, controller.port, smtp_starttls=True, smtp_user="kam", smtp_password_env="KAM_TEST_SMTP_PW")
        sched.save_schedule(store, sched.Schedule("tls", recipients=("gm@example.cn",)), DIRECTOR)
        client_tls = ssl.create_default_context(cafile=str(cert))
        monkeypatch.delenv("KAM_TEST_SMTP_PW", raising=False)
        monkeypatch.setattr(sched, "_secrets_files", lambda: [])
        run = sched.run_schedule(store, "tls", ssl_context=client_tls)
        assert run["status"] == "failed" and "no mail password" in run["error"] and inbox.messages == []

        monkeypatch.setenv("KAM_TEST_SMTP_PW", "s3cret-from-env")
        run = sched.run_schedule(store, "tls", ssl_context=client_tls)
        assert run["status"] == "ok", run["error"]
    finally:
        controller.stop()
    assert signed_in == [True] and len(inbox.messages) == 1
    # the password is nowhere in the database
    cur = store.cursor()
    for table in ("settings", "schedules", "schedule_runs", "audit_log"):
        text = " ".join(str(v) for row in cur.execute(f"select * from {table}").fetchall() for v in row)
        assert "s3cret-from-env" not in text


def test_the_mail_password_is_read_from_streamlits_secrets_first(tmp_path, monkeypatch):
    secrets = tmp_path / "secrets.toml"
    secrets.write_text('[smtp]\npassword = "from-secrets"\n', encoding="utf-8")
    monkeypatch.setattr(sched, "_secrets_files", lambda: [tmp_path / "missing.toml", secrets])
    monkeypatch.setenv("KAM_SMTP_PASSWORD", "from-env")
    server = sched.MailServer("h", 25, False, "u", "", "KAM_SMTP_PASSWORD")
    assert sched.mail_password(server) == "from-secrets"
    secrets.write_text("[other]\nx = 1\n", encoding="utf-8")
    assert sched.mail_password(server) == "from-env"


def test_cron_runs_a_schedule_from_the_command_line(store, tmp_path, capsys):
    sched.save_schedule(store, sched.Schedule("nightly", folder=str(tmp_path / "cron")), DIRECTOR)
    db = str(store.path)
    store.close()          # cron runs it with no dashboard: the command opens the file
    assert main(["--db", db, "schedules", "run", "nightly"]) == 0
    out = capsys.readouterr().out
    assert out.startswith("schedule nightly: ok — kam_tier_report_") and str(tmp_path / "cron") in out
    assert main(["--db", db, "schedules", "run", "nobody"]) == 2
    assert "there is no schedule 'nobody'" in capsys.readouterr().err
    s = open_store(db)
    try:
        [run] = sched.run_log(s)
        assert (run["trigger"], run["status"]) == ("command", "ok")
    finally:
        s.close()
