"""In a real browser: a shared link survives sign-in, a click on a chart mark opens that account's dossier, Back returns.

The database is the demo's with one director, served by ``demo_server`` (tests/conftest.py), which
the language walks read too.
The story: a colleague's link to Rankings for one region is opened signed out;
after signing in, Rankings shows that region; a click on the largest bar of
the top-N chart opens that account's dossier with the year and the region
kept; the browser's Back button returns to Rankings with the same region.
"""
from __future__ import annotations

from pathlib import Path
from urllib.parse import parse_qs, quote, urlsplit

import pytest

pytestmark = [pytest.mark.browser, pytest.mark.slow]

pytest.importorskip("playwright.sync_api", reason="playwright (the Python package) is not installed")
from browser_helpers import require_chromium  # noqa: E402

require_chromium()

from playwright.sync_api import Page, expect  # noqa: E402

from kam_core.locales.labels import t  # noqa: E402
from kam_core.sales import accounts as account_sales  # noqa: E402
from kam_core.sales import figures, tiers  # noqa: E402
from kam_core.sales.periods import Filters  # noqa: E402
from kam_core.store import open_store  # noqa: E402

from browser_helpers import (DEMO_DIRECTOR, VIEWPORT, evidence_on_failure, go_to,  # noqa: E402,I001
                             main, wait_charts, wait_idle)


@pytest.fixture
def demo_facts(demo_db_template: Path) -> dict:
    """What the test expects of the demo that ``demo_server`` (tests/conftest.py) serves: a year, a region
    and its top account, read from the template it copied."""
    store = open_store(demo_db_template, read_only=True)
    try:
        year = figures.available_years(store)[-1]
        region = account_sales.filter_options(store)["regions"][0]
        top = tiers.assign_tiers(store, year, filters=Filters(region=(region,)))["account"].iloc[0]
    finally:
        store.close()
    return {"year": year, "region": region, "top": top}


def _query(page: Page) -> dict[str, list[str]]:
    return parse_qs(urlsplit(page.url).query)


def test_a_link_survives_sign_in_a_chart_bar_opens_its_dossier_and_back_returns(demo_facts, demo_server, browser,
                                                                              tmp_path):
    expect.set_options(timeout=60_000)
    d = demo_facts
    server = demo_server["server"]
    page = browser.new_page(viewport=VIEWPORT, locale="zh-CN")
    m = main(page)
    try:
        with evidence_on_failure(page, server, tmp_path):
            # --- a shared link, opened signed out: the sign-in form, then the linked page and filter
            page.goto(f"{server.url}/rankings?year={d['year']}&region={quote(d['region'])}")
            expect(m.locator("h1").first).to_have_text("登录", timeout=120_000)
            wait_idle(page)
            m.get_by_label("用户名").fill(DEMO_DIRECTOR)
            m.get_by_label("密码", exact=True).fill(str(demo_server["password"]))
            m.get_by_role("button", name="登录").click()
            expect(m.locator("h1").first).to_have_text("排名")
            wait_idle(page)
            assert urlsplit(page.url).path == "/rankings"
            assert _query(page)["region"] == [d["region"]] and _query(page)["year"] == [str(d["year"])]
            expect(m.get_by_text("其余数字仅含所选区域", exact=False).first).to_be_visible()

            # --- a click on the largest bar of the top-N chart opens that account's dossier
            wait_charts(page)
            top_chart = m.locator('[data-testid="stPlotlyChart"]').nth(1)
            bar = top_chart.locator("g.trace.bars g.point").first
            bar.scroll_into_view_if_needed()
            box = bar.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + box["width"] / 2, box["y"] + box["height"] / 2)
            expect(m.locator("h1").first).to_have_text("客户档案")
            wait_idle(page)
            expect(m.locator("h3").filter(has_text=d["top"]).first).to_be_visible()
            assert urlsplit(page.url).path == "/dossier"
            q = _query(page)
            assert (q["account"], q["region"], q["year"]) == ([d["top"]], [d["region"]], [str(d["year"])])

            # --- Back returns to Rankings, same region, and does not bounce to the dossier again
            page.go_back()
            expect(m.locator("h1").first).to_have_text("排名")
            wait_idle(page)
            page.wait_for_timeout(1500)
            expect(m.locator("h1").first).to_have_text("排名")
            assert urlsplit(page.url).path == "/rankings"
            assert _query(page)["region"] == [d["region"]]

            # --- Tiers, on its criteria tab: a row opens that account's dossier, Back returns to the same tab
            go_to(page, t("page.tiers", "zh"))
            criteria = m.get_by_role("tab", name=t("tier.checklist_title", "zh"))
            criteria.click()
            wait_idle(page)
            expect(criteria).to_have_attribute("aria-selected", "true")
            grid = m.locator('[role="tabpanel"]:visible [data-testid="stDataFrame"]').first
            grid.scroll_into_view_if_needed()
            cells = grid.locator('tr[aria-rowindex="2"] td[role="gridcell"]')
            expect(cells.first).to_be_attached()      # the grid draws its accessible rows after its canvas
            first_row = [c.strip() for c in cells.all_inner_texts()]
            box = grid.bounding_box()
            assert box is not None
            page.mouse.click(box["x"] + 14, box["y"] + 35 + 17)       # the first row's selection box
            expect(m.locator("h1").first).to_have_text("客户档案")
            wait_idle(page)
            assert _query(page)["account"][0] in first_row
            page.go_back()
            expect(m.locator("h1").first).to_have_text(t("page.tiers", "zh"))
            wait_idle(page)
            expect(m.get_by_role("tab", name=t("tier.checklist_title", "zh"))).to_have_attribute("aria-selected", "true")
    finally:
        page.context.close()
