"""The command line beside a real running dashboard (``streamlit run dashboard.py``, a page open
in Debian's Chromium): every command works on the same database, and once the dashboard
stops nothing listens and the commands open the file themselves again."""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from pathlib import Path

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api", reason="playwright (the Python package) is not installed")
from browser_helpers import require_chromium  # noqa: E402

require_chromium()

import openpyxl  # noqa: E402
from playwright.sync_api import expect  # noqa: E402

from browser_helpers import ROOT, VIEWPORT, StreamlitServer, wait_idle  # noqa: E402
from kam_core import service  # noqa: E402
from kam_core.locales.labels import t  # noqa: E402

CSV_2025 = "日期,供应商,销售额,成本\n2025-03-01,甲,20000000,15000000\n2025-03-02,乙,4999999.99,4000000\n"
TIERS_2025 = [
    "account,year,sales,gross_profit,margin,share,profit_share,rank,profit_rank,cum_share,abc,yoy,tier,to_next_tier",
    "甲,2025,20000000.00,5000000.00,0.250000,0.800000,0.833333,1,1,0.800000,A,,partner,30000000.00",
    "乙,2025,4999999.99,999999.99,0.200000,0.200000,0.166667,2,2,1.000000,B,,none,0.01",
]


def command(db: Path, *argv: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "kam_core", "--db", str(db), *argv], cwd=cwd, input=stdin,
                          capture_output=True, text=True, timeout=300, env={**os.environ, "PYTHONPATH": str(ROOT)})


def test_every_command_works_on_the_database_of_a_running_dashboard(tmp_path: Path, browser) -> None:
    db = tmp_path / "kam.duckdb"
    (tmp_path / "a.csv").write_text(CSV_2025, encoding="utf-8")
    with StreamlitServer(db, tmp_path / "streamlit.log", extra_env={"KAM_AUTH": "off", "KAM_AUTO_DEMO": "0"}) as server:
        page = browser.new_page(viewport=VIEWPORT)
        page.goto(server.url)
        wait_idle(page)
        expect(page.get_by_text(t("empty.no_data", "zh"))).to_be_visible(timeout=60_000)
        owner = service.read_owner(db)
        assert owner is not None and owner.pid == server.proc.pid, server.log_text()

        done = command(db, "import", "a.csv", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert "loaded import 1: 2 rows from a.csv" in done.stdout
        done = command(db, "imports", "--format", "json")
        assert [(r["id"], r["file_name"], r["rows_loaded"]) for r in json.loads(done.stdout)] == [(1, "a.csv", 2)]
        done = command(db, "tiers", "--year", "2025")
        assert done.returncode == 0 and done.stdout.splitlines() == TIERS_2025
        done = command(db, "report", "--year", "2025", "--out", "tiers.xlsx", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert openpyxl.load_workbook(tmp_path / "tiers.xlsx").sheetnames[0] == "汇总"
        done = command(db, "share-pack", "甲", "--year", "2025", "--out", "pack.xlsx", cwd=tmp_path)
        assert done.returncode == 0, done.stderr
        assert len(openpyxl.load_workbook(tmp_path / "pack.xlsx").sheetnames) > 1
        done = command(db, "users", "add", "ann", "--role", "viewer", stdin="a long enough secret\n")
        assert done.returncode == 0 and "added ann (viewer)" in done.stdout, done.stderr
        done = command(db, "users", "list", "--format", "json")
        assert [u["name"] for u in json.loads(done.stdout)] == ["ann"]

        # the open page sees what the commands did
        page.reload()
        wait_idle(page)
        expect(page.get_by_text(t("empty.no_data", "zh"))).to_have_count(0)
        expect(page.locator('[data-testid="stException"]')).to_have_count(0)

        done = command(db, "undo", "1")
        assert done.returncode == 0 and "2 rows removed" in done.stdout, done.stderr
        page.context.close()
        port = owner.port

    # the dashboard has stopped: nobody listens, no owner file, and commands open the file again
    assert not service.owner_file(db).exists()
    with pytest.raises(ConnectionRefusedError):
        socket.create_connection(("127.0.0.1", port), timeout=5).close()
    done = command(db, "imports", "--format", "json")
    assert done.returncode == 0 and json.loads(done.stdout)[0]["status"] == "undone"


HOLD = """
import duckdb, sys, time
con = duckdb.connect(sys.argv[1])
print("HELD", flush=True)
time.sleep(600)
"""


def test_a_page_opened_while_another_process_holds_the_file_comes_back_by_itself(tmp_path: Path, browser) -> None:
    db = tmp_path / "kam.duckdb"
    holder = subprocess.Popen([sys.executable, "-c", HOLD, str(db)], stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "HELD"
        # No demo on the fresh file: the page coming back is the point, not what it then loads.
        with StreamlitServer(db, tmp_path / "streamlit.log", extra_env={"KAM_AUTH": "off", "KAM_AUTO_DEMO": "0"}) as server:
            page = browser.new_page(viewport=VIEWPORT)
            page.goto(f"{server.url}/?lang=en")
            notice = page.get_by_text(t("busy.by_other", "en", pid=holder.pid))
            expect(notice).to_be_visible(timeout=60_000)
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            holder.kill()
            holder.wait(timeout=30)
            # no reload: the page's own retry finds the file free and the app comes up (the Overview, empty)
            expect(page.get_by_role("heading", name=t("page.overview", "en"))).to_be_visible(timeout=120_000)
            expect(page.get_by_text(t("empty.no_data", "en"))).to_be_visible()
            expect(notice).to_have_count(0)
            expect(page.locator('[data-testid="stException"]')).to_have_count(0)
            page.context.close()
    finally:
        if holder.poll() is None:
            holder.kill()
            holder.wait(timeout=30)
