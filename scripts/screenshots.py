"""Full-page screenshots of every page in both languages, for docs/.

    python3 scripts/screenshots.py [--out docs] [--width 1440]

Builds the demo database (sales plus the demo dossiers) in a temporary folder
with one director, serves it with ``streamlit run app.py`` and signs in with
Debian's Chromium headless shell (``/usr/bin/chromium-headless-shell``) through Playwright, the way the
browser tests do (tests/browser_helpers.py). Then, for zh and en, each page
is opened and saved whole as ``<out>/<page>-<lang>.png``: overview, import,
rankings, tiers, dossier (the demo's top account), plans, settings. Tiers and
the dossier are shown on their first tab. The previous screenshots in ``<out>``
are removed first, so the folder holds exactly this set.
"""
from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import quote

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "tests"))

from playwright.sync_api import expect, sync_playwright  # noqa: E402

from browser_helpers import (CHROMIUM, CHROMIUM_ARGS, StreamlitServer, TrackedBrowser, main, shoot,  # noqa: E402
                             wait_drawn, wait_idle)
from kam_core import auth, demo  # noqa: E402
from kam_core.locales.labels import t  # noqa: E402
from kam_core.sales import figures, tiers  # noqa: E402
from kam_core.store import open_store  # noqa: E402

DIRECTOR = "docs_director"
PAGES = [("overview", ""), ("import", "import"), ("rankings", "rankings"), ("tiers", "tiers"),
         ("dossier", "dossier"), ("plans", "plans"), ("settings", "settings")]


def build_store(path: Path, password: str) -> str:
    """The demo database with one director; returns the account whose dossier is shown (the year's top)."""
    store = open_store(path)
    try:
        demo.load_demo(store)
        demo.load_demo_extras(store)
        auth.create_user(store, DIRECTOR, "director", password)
        year = figures.available_years(store)[-1]
        top = str(tiers.assign_tiers(store, year)["account"].iloc[0])
        store.cursor().execute("checkpoint")
    finally:
        store.close()
    return top


def sign_in(page, url: str, password: str) -> None:
    m = main(page)
    page.goto(f"{url}/?lang=zh")   # the sign-in page speaks Chinese unless told otherwise
    expect(m.locator("h1").first).to_have_text(t("signin.title", "zh"), timeout=120_000)
    wait_idle(page)
    m.get_by_label(t("signin.name", "zh")).fill(DIRECTOR)
    m.get_by_label(t("signin.password", "zh"), exact=True).fill(password)
    m.get_by_role("button", name=t("signin.submit", "zh")).click()
    expect(m.locator("h1").first).to_have_text(t("page.overview", "zh"))
    wait_idle(page)


def main_(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs", help="folder for the PNG files (default docs/)")
    parser.add_argument("--width", type=int, default=1440, help="window width in pixels (default 1440)")
    args = parser.parse_args(argv)
    if not CHROMIUM.exists():
        print(f"{CHROMIUM} is not installed (bash scripts/install-test-deps.sh)", file=sys.stderr)
        return 2
    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    started = time.monotonic()
    expect.set_options(timeout=60_000)
    with tempfile.TemporaryDirectory(prefix="kam-shots-") as tmp:
        tmp_path = Path(tmp)
        password = "pw-" + secrets.token_urlsafe(12)
        account = build_store(tmp_path / "kam.duckdb", password)
        with StreamlitServer(tmp_path / "kam.duckdb", tmp_path / "streamlit.log") as server, \
                sync_playwright() as pw:
            browser = TrackedBrowser(pw.chromium.launch(executable_path=str(CHROMIUM), headless=True,
                                                        args=CHROMIUM_ARGS))
            try:
                page = browser.new_page(viewport={"width": args.width, "height": 900}, locale="zh-CN")
                sign_in(page, server.url, password)
                for old in out.glob("*.png"):
                    old.unlink()
                for lang in ("zh", "en"):
                    for name, path in PAGES:
                        query = f"?lang={lang}" + (f"&account={quote(account)}" if name == "dossier" else "")
                        page.goto(f"{server.url}/{path}{query}")
                        expect(main(page).locator("h1").first).to_be_visible()
                        wait_idle(page)
                        wait_drawn(page, 300)
                        shot = shoot(page, out / f"{name}-{lang}.png")
                        print(f"{shot.relative_to(ROOT) if shot.is_relative_to(ROOT) else shot}")
            except BaseException:
                print(f"streamlit log (tail):\n{server.log_text()}", file=sys.stderr)
                raise
            finally:
                browser.close()
    print(f"{len(PAGES) * 2} screenshots in {time.monotonic() - started:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main_())
