"""The dashboard in a real browser, as a manager uses it on a fresh install.

Starts ``streamlit run app.py`` on a free loopback port with a fresh
database (the demo data loads on first start), then drives Debian's Chromium
through Playwright: create the administrator, sign out and sign in again, read
the Overview, upload the demo's messy export, check the validation report,
confirm, see the new totals, open Rankings and Tiers, switch to English,
download the tier workbook and open it, switch back, open a dossier by
selecting its row on Rankings and change the company phone. With ``KAM_SCREENSHOTS`` set, full-page
screenshots of each step go to the folder it names; without it the walk takes none (nothing reads
them, and each costs over a second), only a failure's, in a temporary folder. The screenshots in
``docs/`` are made by ``scripts/screenshots.py``.

The expected figures come from an independent source: the demo generator's
lines summed in pandas (:func:`kam_core.demo.generate_sales`) and the sample
file's true total (:func:`kam_core.demo.sample_totals`), never from the app's
own SQL.
"""
from __future__ import annotations

import io
import os
import re
import secrets
from datetime import date
from pathlib import Path
from urllib.parse import quote

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api", reason="playwright (the Python package) is not installed")
from browser_helpers import require_chromium  # noqa: E402

require_chromium()

import openpyxl  # noqa: E402
from playwright.sync_api import Page, expect  # noqa: E402

from kam_core import demo  # noqa: E402
from kam_core.locales.formatting import tier_label  # noqa: E402

from browser_helpers import (ROOT, VIEWPORT, Hidden, StreamlitServer, go_to,  # noqa: E402
                             main, metric_value, shoot, sidebar, wait_charts, wait_idle, wan_value)

NEW_PHONE = "021-6688-1234"


def demo_sales_of_year(year: int, today: date) -> float:
    """The demo's sales of ``year`` in yuan, summed from the generator's lines (cents per line)."""
    lines = demo.generate_sales(today=today)
    in_year = lines[lines["date"].dt.year == year]
    return round(float(in_year["amount"].round(2).sum()), 2)


@pytest.fixture
def shots(tmp_path: Path) -> dict[str, Path]:
    """Where screenshots go: a tmp folder (or ``KAM_SCREENSHOTS``), and ``docs/`` when asked."""
    folder = Path(os.environ.get("KAM_SCREENSHOTS") or tmp_path / "screenshots")
    folder.mkdir(parents=True, exist_ok=True)
    return {"dir": folder, "work": tmp_path}


def save_shot(page: Page, shots: dict[str, Path], name: str) -> Path | None:
    """A step's screenshot, when ``KAM_SCREENSHOTS`` asks for them."""
    if not os.environ.get("KAM_SCREENSHOTS"):
        return None
    return shoot(page, shots["dir"] / f"{name}.png")


def switch_language(page: Page, label: str) -> None:
    sidebar(page).locator('[data-testid="stRadio"]').get_by_text(label, exact=True).click()
    wait_idle(page)


def test_a_manager_signs_in_imports_the_messy_export_and_sees_it_on_every_page(tmp_path: Path, shots, browser) -> None:
    expect.set_options(timeout=30_000)
    today = date.today()
    sample_dir = tmp_path / "samples"
    xlsx = next(p for p in demo.write_sample_exports(sample_dir, today) if p.suffix == ".xlsx")
    sample_total = demo.sample_totals(today)[xlsx.name]
    sample_year = today.year if today.month > 1 else today.year - 1  # the last full month's year
    before_yuan = demo_sales_of_year(sample_year, today)
    admin, password = "admin_kam", Hidden("pw-" + secrets.token_urlsafe(12))  # made up per run, never stored

    with StreamlitServer(tmp_path / "kam.duckdb", tmp_path / "streamlit.log") as server:
        page = browser.new_page(viewport=VIEWPORT, locale="zh-CN", accept_downloads=True)
        try:
            _run_story(page, server, shots, xlsx, sample_total, sample_year, before_yuan, admin, password)
        except BaseException:
            try:
                shoot(page, shots["dir"] / "failure.png")
            except Exception:
                pass
            print(f"\nscreenshots: {shots['dir']}\nstreamlit log (tail):\n{server.log_text()}")
            raise
        finally:
            page.context.close()
    print(f"\nscreenshots: {shots['dir']}")


def _run_story(page: Page, server: StreamlitServer, shots, xlsx: Path, sample_total: float, sample_year: int,
               before_yuan: float, admin: str, password: str) -> None:
    m = main(page)
    # --- a fresh install asks for the administrator; no page is reachable before that
    page.goto(f"{server.url}/?year={sample_year}")
    expect(m.locator("h1").first).to_have_text("创建管理员", timeout=120_000)  # first start loads the demo
    wait_idle(page)
    expect(m.locator('[data-testid="stMetric"]')).to_have_count(0)
    expect(sidebar(page).locator('[data-testid="stSidebarNav"]')).to_have_count(0)
    m.get_by_label("用户名").fill(admin)
    m.get_by_label("密码", exact=True).fill(str(password))
    m.get_by_label("再次输入密码").fill(str(password))
    m.get_by_role("button", name="创建并登录").click()
    expect(m.locator("h1").first).to_have_text("总览")
    wait_idle(page)

    # --- sign out, then sign in through the ordinary form
    sidebar(page).get_by_role("button", name="退出登录").click()
    expect(m.locator("h1").first).to_have_text("登录")
    expect(m.get_by_text("已退出登录。")).to_be_visible()
    m.get_by_label("用户名").fill(admin)
    m.get_by_label("密码", exact=True).fill("wrong-" + str(password))
    m.get_by_role("button", name="登录").click()
    expect(m.get_by_text("用户名或密码错误。")).to_be_visible()
    m.get_by_label("密码", exact=True).fill(str(password))
    m.get_by_role("button", name="登录").click()
    expect(m.locator("h1").first).to_have_text("总览")
    wait_idle(page)
    expect(sidebar(page).get_by_text(admin)).to_be_visible()

    # --- Overview shows the demo's sales of the year, in 万元
    wait_charts(page)
    sales_before, step = wan_value(metric_value(page, "销售额"))
    assert sales_before == pytest.approx(before_yuan / 10_000, abs=step / 2 + 1e-6)
    save_shot(page, shots, "overview_before")

    # --- Import: upload the messy workbook, read the validation report, confirm
    go_to(page, "导入数据")
    page.locator('[data-testid="stFileUploaderDropzoneInput"]').set_input_files(str(xlsx))
    expect(m.get_by_text("校验报告", exact=True)).to_be_visible(timeout=60_000)
    wait_idle(page)
    n_lines = int(demo.sample_summary()[xlsx.name]["rows"])
    assert metric_value(page, "读取行数") == f"{n_lines + 1:,}"  # the lines and the 合计 row
    assert metric_value(page, "可导入行数") == f"{n_lines:,}"
    assert metric_value(page, "跳过行数") == "1"
    assert metric_value(page, "拒绝行数") == "0"
    total_text = f"¥{sample_total:,.2f}"
    expect(m.locator('[data-testid="stAlert"]').filter(has_text="核对一致")).to_contain_text(
        f"文件合计行 {total_text}，明细合计 {total_text}")
    save_shot(page, shots, "import_report")
    m.get_by_role("button", name="确认导入").click()
    expect(m.get_by_text(re.compile(rf"已导入 {n_lines:,} 行"))).to_be_visible(timeout=60_000)
    wait_idle(page)
    history = m.locator('[data-testid="stDataFrame"]').last
    expect(history.locator('td[role="gridcell"]').filter(has_text=xlsx.name)).to_have_count(1)
    save_shot(page, shots, "import_done")

    # --- Overview: sales grew by the file's total
    go_to(page, "总览")
    wait_charts(page)
    sales_after, step = wan_value(metric_value(page, "销售额"))
    assert sales_after == pytest.approx((before_yuan + sample_total) / 10_000, abs=step / 2 + 1e-6)
    assert sales_after - sales_before == pytest.approx(sample_total / 10_000, abs=step + 1e-6)
    save_shot(page, shots, "overview")

    # --- Rankings: the table is there, first row is rank 1
    go_to(page, "排名")
    grid = m.locator('[data-testid="stDataFrame"]').first
    expect(grid.locator('td[role="gridcell"]').first).to_have_text("1")
    top_account = grid.locator('td[role="gridcell"][aria-colindex="2"]').first.inner_text().strip()
    assert top_account
    wait_charts(page)
    save_shot(page, shots, "rankings")

    # --- Tiers: the policy's thresholds and a tier count per tier
    go_to(page, "大客户分级")
    expect(m.get_by_text("分级标准（政策 1.3）")).to_be_visible()
    strategic_count = int(metric_value(page, tier_label("strategic", "zh")))
    assert strategic_count > 0
    save_shot(page, shots, "tiers")

    # --- English: labels change, then the tier workbook is built and downloaded
    switch_language(page, "English")
    expect(m.locator("h1").first).to_have_text("Tiers")
    expect(m.get_by_text("Tier thresholds (policy 1.3)")).to_be_visible()
    expect(sidebar(page).locator('[data-testid="stSidebarNav"]')).to_contain_text("Rankings")
    assert int(metric_value(page, tier_label("strategic", "en"))) == strategic_count
    save_shot(page, shots, "tiers_en")
    m.get_by_role("button", name="Export to Excel").click()
    download_button = m.locator('[data-testid="stDownloadButton"]').filter(has_text=re.compile(r"^\s*Download\s*$"))
    expect(download_button).to_be_visible(timeout=60_000)
    with page.expect_download(timeout=60_000) as info:
        download_button.locator("button").click()
    download = info.value
    assert download.suggested_filename.endswith(".xlsx")
    saved = shots["work"] / download.suggested_filename
    download.save_as(saved)
    _check_tier_workbook(saved, sample_year, strategic_count, before_yuan + sample_total)

    switch_language(page, "中文")
    expect(m.locator("h1").first).to_have_text("大客户分级")

    # --- Dossier: from Rankings, select the top row (it opens the dossier), change the company phone
    if any((ROOT / folder / "dossier.py").exists() for folder in ("app_pages", "pages")):
        _edit_a_dossier_from_rankings(page, shots, top_account)


def _check_tier_workbook(path: Path, year: int, strategic_count: int, sales_yuan: float) -> None:
    wb = openpyxl.load_workbook(io.BytesIO(path.read_bytes()), read_only=True)
    names = wb.sheetnames
    tier_sheets = [tier_label(t, "en") for t in ("strategic", "partner", "ordinary", "none")]
    assert names[0] == "Summary"
    assert all(name in names for name in tier_sheets), names
    summary = {row[0]: row[1] for row in wb["Summary"].iter_rows(values_only=True) if row and row[0]}
    assert summary["Key account tier report %d" % year] is None
    assert summary["Sales"] == pytest.approx(sales_yuan, abs=0.01)
    strategic = [r for r in wb[tier_sheets[0]].iter_rows(min_row=2, values_only=True) if r and r[0]]
    assert len(strategic) == strategic_count
    assert all(r[1] == year for r in strategic)
    wb.close()


def _edit_a_dossier_from_rankings(page: Page, shots, account: str) -> None:
    m = main(page)
    go_to(page, "排名")
    grid = m.locator('[data-testid="stDataFrame"]').first
    expect(grid.locator('td[role="gridcell"]').first).to_have_text("1")
    grid.scroll_into_view_if_needed()
    box = grid.bounding_box()
    assert box is not None
    # The grid is a canvas: click the row-selection marker of the first data row
    # (left edge, below the header row).
    # Selecting the row opens the account's dossier at once.
    page.mouse.click(box["x"] + 16, box["y"] + 35 + 17)
    expect(m.locator("h1").first).to_have_text("客户档案")
    wait_idle(page)
    expect(m.locator("h3").filter(has_text=account).first).to_be_visible()
    assert "account=" + quote(account, safe="") in page.url  # the link reproduces the view

    page.get_by_role("tab", name="企业信息").click()
    form = m.locator('[data-testid="stForm"]').filter(has=page.get_by_label("电话", exact=True))
    phone = form.get_by_label("电话", exact=True)
    expect(phone).to_be_visible()
    old_phone = phone.input_value()
    assert old_phone != NEW_PHONE
    phone.fill(NEW_PHONE)
    form.get_by_role("button", name="保存修改").click()
    wait_idle(page)
    expect(m.get_by_text("已保存 1 处修改。")).to_be_visible()
    page.get_by_role("tab", name="企业信息").click()
    expect(m.locator('[data-testid="stForm"]').get_by_label("电话", exact=True).first).to_have_value(NEW_PHONE)
    save_shot(page, shots, "dossier_facts")
    page.get_by_role("tab", name="修改记录").click()
    history = m.locator('[data-testid="stDataFrame"]').filter(
        has=page.locator('td[role="gridcell"]', has_text=NEW_PHONE))
    expect(history).to_have_count(1)
    page.get_by_role("tab", name="销售").click()
    wait_charts(page)
    save_shot(page, shots, "dossier")
