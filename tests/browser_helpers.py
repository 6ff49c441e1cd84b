"""Helpers for the real-browser test: a Streamlit server in a subprocess and Streamlit DOM waits.

Kept apart from ``test_browser.py`` so the test reads as the user's story.
Chromium is Debian's headless shell (``/usr/bin/chromium-headless-shell``, package
chromium-headless-shell: the same Blink without the desktop browser around it) driven by
Playwright's Python API; ``playwright install`` is never run.
"""
from __future__ import annotations

import contextlib
import os
import re
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import Browser, BrowserContext, Locator, Page, expect

ROOT = Path(__file__).resolve().parents[1]
# The headless shell draws the same pages as ``/usr/bin/chromium --headless`` for about 7 % less CPU
# (language walks and click-through: 77.7 against 83.1 busy CPU-seconds, two runs each).
CHROMIUM = Path("/usr/bin/chromium-headless-shell")
CHROMIUM_ARGS = ["--no-sandbox", "--disable-gpu", "--disable-background-networking", "--disable-component-update",
                 "--disable-sync", "--no-first-run", "--disable-quic"]
VIEWPORT = {"width": 1400, "height": 900}


def require_chromium() -> None:
    """Skip the calling test module when the browser is not installed (``scripts/install-test-deps.sh`` installs it)."""
    if not CHROMIUM.exists():
        import pytest
        pytest.skip(f"Chromium's headless shell ({CHROMIUM}) is not installed: bash scripts/install-test-deps.sh "
                    "(apt-get install chromium-headless-shell fonts-noto-cjk fonts-noto-color-emoji)",
                    allow_module_level=True)


DEMO_DIRECTOR = "zhao_director"     # the director of ``demo_server`` (tests/conftest.py)


class Hidden(str):
    """A password that does not show in pytest's tracebacks or logs."""

    def __repr__(self) -> str:
        return "'***'"


def free_port() -> int:
    """A TCP port on the loopback interface that nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class StreamlitServer:
    """``streamlit run app.py`` (the dashboard's server) on a free loopback port with its own database.

    Used as a context manager: the process is always terminated (then killed
    if it does not stop), and its log is kept in ``log_path`` for failures.
    """

    def __init__(self, db_path: Path, log_path: Path, extra_env: dict[str, str] | None = None) -> None:
        self.db_path = Path(db_path)
        self.log_path = Path(log_path)
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.extra_env = extra_env or {}
        self.proc: subprocess.Popen | None = None

    def __enter__(self) -> "StreamlitServer":
        self._start("wb")
        return self

    def restart(self) -> None:
        """Stop the server and start it again on the same port and database (a dashboard restarted);
        its log goes on in the same file."""
        self.stop()
        self._start("ab")

    def _start(self, log_mode: str) -> None:
        env = dict(os.environ)
        env.update({"KAM_DB": str(self.db_path), "PYTHONUNBUFFERED": "1"})
        # The browser test signs in like a user; a development switch must not skip that.
        env.pop("KAM_AUTH", None)
        env.pop("KAM_AUTH_AS", None)
        env.update(self.extra_env)
        self._log = open(self.log_path, log_mode)
        self.proc = subprocess.Popen(
            [sys.executable, "-m", "streamlit", "run", "app.py", "--server.port", str(self.port),
             "--server.address", "127.0.0.1", "--server.headless", "true",
             "--browser.gatherUsageStats", "false"],
            cwd=ROOT, env=env, stdout=self._log, stderr=subprocess.STDOUT)
        try:
            self.wait_healthy()
        except BaseException:
            self.stop()
            raise

    def wait_healthy(self, timeout: float = 60.0) -> None:
        """Poll ``/_stcore/health`` until it answers ``ok``."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.proc is not None and self.proc.poll() is not None:
                raise RuntimeError(f"streamlit exited with {self.proc.returncode}:\n{self.log_text()}")
            try:
                with urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=2) as r:
                    if r.status == 200:
                        return
            except OSError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"streamlit did not answer within {timeout:.0f}s:\n{self.log_text()}")

    def log_text(self) -> str:
        try:
            return self.log_path.read_text(encoding="utf-8", errors="replace")[-5000:]
        except OSError:
            return ""

    def stop(self) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=15)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(timeout=15)
        if getattr(self, "_log", None) is not None:
            self._log.close()

    def __exit__(self, *exc: object) -> None:
        self.stop()


# ---------------------------------------------------------------- Streamlit DOM
# Every browser context the tests open carries this script (``add_run_tracker``). In the page, it numbers
# in one sequence the script runs the page asks the server for (a BackMsg whose field 11, ``rerun_script``,
# comes first: tag byte 0x5a) and the runs the server says have finished (a ForwardMsg with field 6,
# ``script_finished``, other than 2, "ended early for a rerun": the run that replaces it finishes later).
# The page is idle once the last finished run came after the last request: a click's rerun is seen as
# soon as it is asked for and as soon as it ends, where a fixed pause could only guess whether it started.
RUNS_JS = r"""
(() => {
  if (window.__kamRuns) return;
  const runs = window.__kamRuns = {seq: 0, requested: 0, finished: 0};
  const varint = (b, i) => {
    let v = 0, shift = 0, x;
    do { x = b[i++]; v += (x & 0x7f) * 2 ** shift; shift += 7; } while (x & 0x80 && i < b.length);
    return [v, i];
  };
  const finishedStatus = (b) => {          // a ForwardMsg's script_finished (field 6), or -1
    let i = 0;
    while (i < b.length) {
      let key, v;
      [key, i] = varint(b, i);
      const field = Math.floor(key / 8), wire = key & 7;
      if (wire === 0) { [v, i] = varint(b, i); if (field === 6) return v; }
      else if (wire === 2) { [v, i] = varint(b, i); i += v; }
      else if (wire === 1) i += 8;
      else if (wire === 5) i += 4;
      else return -1;
    }
    return -1;
  };
  const bytes = (d) => d instanceof ArrayBuffer ? new Uint8Array(d)
    : ArrayBuffer.isView(d) ? new Uint8Array(d.buffer, d.byteOffset, d.byteLength) : null;
  const Native = window.WebSocket;
  window.WebSocket = class extends Native {
    constructor(...args) {
      super(...args);
      this.addEventListener('message', (event) => {
        const b = bytes(event.data);
        const status = b ? finishedStatus(b) : -1;
        if (status >= 0 && status !== 2) runs.finished = ++runs.seq;
      });
    }
    send(data) {
      const b = bytes(data);
      if (b && b.length && b[0] === 0x5a) runs.requested = ++runs.seq;
      return super.send(data);
    }
  };
})();
"""

# What "idle" means in the page: the last run the page asked for has finished (or, with none asked for
# yet, the first), Streamlit's own run state agrees, and nothing of the last run is still drawn faded.
_IDLE_CHECKS = r"""
  const runs = window.__kamRuns;
  if (!runs) throw new Error('no run tracker in this page: open it in a context from browser_helpers (add_run_tracker)');
  if (runs.finished <= runs.requested) return false;
  const app = document.querySelector('[data-testid="stApp"]');
  if (!app || app.getAttribute('data-test-script-state') !== 'notRunning') return false;
  if (document.querySelector('[data-testid="stStatusWidget"]')) return false;
  if (document.querySelector('[data-stale="true"]')) return false;
"""
_IDLE_JS = "() => {" + _IDLE_CHECKS + "  return true;\n}"


def _two_frames(page: Page) -> None:
    """Let the page draw twice: the handlers of the last click, key or resize have run by then."""
    page.evaluate("() => new Promise(r => requestAnimationFrame(() => requestAnimationFrame(r)))")


def add_run_tracker(context: BrowserContext) -> BrowserContext:
    """Install ``RUNS_JS`` in every page ``context`` opens from now on (``wait_idle`` needs it)."""
    context.add_init_script(RUNS_JS)
    return context


class TrackedBrowser:
    """A Playwright ``Browser`` whose contexts all carry the run tracker (``RUNS_JS``); the rest is the browser's."""

    def __init__(self, browser: Browser) -> None:
        self._browser = browser

    def new_context(self, **options) -> BrowserContext:
        return add_run_tracker(self._browser.new_context(**options))

    def new_page(self, **options) -> Page:
        """A page in a context of its own (close it with ``page.context.close()``)."""
        return self.new_context(**options).new_page()

    def __getattr__(self, name: str):
        return getattr(self._browser, name)


def wait_idle(page: Page, timeout: float = 60_000) -> None:
    """Wait until the app is loaded and the last script run the page asked for has finished and been drawn.

    Two animation frames first, so the handlers of the last click or key have sent their rerun request.
    """
    page.wait_for_selector('[data-testid="stApp"]', timeout=timeout)
    _two_frames(page)
    page.wait_for_function(_IDLE_JS, timeout=timeout, polling="raf")


def wait_charts(page: Page) -> None:
    """Wait until every Plotly chart on the page has drawn its SVG (plotly.js loads lazily)."""
    charts = main(page).locator('[data-testid="stPlotlyChart"]')
    for i in range(charts.count()):
        expect(charts.nth(i).locator(".main-svg").first).to_be_attached()
    page.wait_for_timeout(300)


def main(page: Page) -> Locator:
    return page.locator('[data-testid="stMain"]')


def sidebar(page: Page) -> Locator:
    return page.locator('[data-testid="stSidebar"]')


def go_to(page: Page, label: str) -> None:
    """Open a page through the sidebar navigation (keeps the browser session)."""
    sidebar(page).locator('[data-testid="stSidebarNav"] a').filter(has_text=label).first.click()
    wait_idle(page)
    expect(main(page).locator("h1").first).to_contain_text(label)


def metric_value(page: Page, label: str) -> str:
    """The value text of the ``st.metric`` whose label is exactly ``label``."""
    metric = main(page).locator('[data-testid="stMetric"]').filter(
        has=page.locator('[data-testid="stMetricLabel"]', has_text=re.compile(rf"^\s*{re.escape(label)}\s*$")))
    expect(metric.first).to_be_visible()
    return metric.first.locator('[data-testid="stMetricValue"]').inner_text().strip()


# How many 万元 one shown unit is worth.
_UNITS_IN_WAN = {"亿元": 10_000.0, "万元": 1.0, "元": 0.0001, "bn CNY": 100_000.0, "M CNY": 100.0, "K CNY": 0.1,
                 "CNY": 0.0001}


def wan_value(text: str) -> tuple[float, float]:
    """``"12,345.67 万元"`` / ``"19.60 亿元"`` / ``"1.25 M CNY"`` → (the amount in 万元, the step it is shown to).

    The step (0.01 亿元 for two decimals, …) is how far apart two shown values can be, in 万元, so callers
    compare with the precision the page chose.
    """
    m = re.search(r"([−-]?[\d,]+(?:\.(\d+))?)\s*(亿元|万元|元|bn CNY|M CNY|K CNY|CNY)", text)
    if not m:
        raise ValueError(f"no amount in {text!r}")
    scale = _UNITS_IN_WAN[m.group(3)]
    decimals = len(m.group(2) or "")
    return float(m.group(1).replace(",", "").replace("−", "-")) * scale, 10.0 ** -decimals * scale


def content_height(page: Page) -> int:
    """How tall the page would be without Streamlit's inner scrolling (main area or sidebar)."""
    return int(page.evaluate(
        """() => {
            const block = document.querySelector('[data-testid="stMainBlockContainer"]');
            const side = document.querySelector('[data-testid="stSidebarContent"]');
            const main = block ? block.offsetTop + block.scrollHeight : 0;
            return Math.max(main, side ? side.scrollHeight : 0);
        }"""))


def first_chart_bottom(page: Page) -> int:
    """The page y of the bottom of the first chart (for a "first screen" shot that ends below it)."""
    return int(page.evaluate(
        """() => {
            const c = document.querySelector('[data-testid="stMain"] [data-testid="stPlotlyChart"]');
            const main = document.querySelector('[data-testid="stMain"]');
            if (!c) { return 900; }
            return c.getBoundingClientRect().bottom + (main ? main.scrollTop : 0);
        }"""))


def shoot(page: Page, path: Path, height: int | None = None) -> Path:
    """A screenshot of the whole page, or of its top ``height`` pixels.

    Streamlit scrolls inside its own container, so a plain full-page shot
    would only show the viewport: the viewport is made as tall as the content
    for the shot and restored afterwards.
    """
    size = page.viewport_size or VIEWPORT
    tall = height or max(size["height"], content_height(page))
    page.set_viewport_size({"width": size["width"], "height": tall})
    page.wait_for_timeout(800)  # charts re-layout to the new size
    wait_idle(page)
    path.parent.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(path), full_page=height is None)
    page.set_viewport_size(size)
    page.wait_for_timeout(300)
    return path


# ---------------------------------------------------------------- reading what a page shows
# Streamlit's dataframes are drawn on a canvas (Glide Data Grid). Its hidden accessibility
# table holds only the rows in view and the raw values (11.560443620779749, not "11.56%"),
# so the grid's own props are read instead, through React's fiber on the canvas: the
# columns with their drawn widths, and getCellContent([col, row]) whose displayData is
# the text the canvas draws. A missing value is drawn as the element's placeholder, by
# default "None" (Streamlit's DataFrame widget: cells with isMissingValue).
_READ_PAGE_JS = r"""
([maxRows, texts]) => {
  const shown = (el) => {
    if (!el) return false;
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && getComputedStyle(el).visibility !== 'hidden'
        && !el.closest('details:not([open])');   // a closed expander keeps its content laid out
  };
  const mainEl = document.querySelector('[data-testid="stMain"]');
  const sideEl = document.querySelector('[data-testid="stSidebar"]');
  const code = !texts ? [] : [...document.querySelectorAll('[data-testid="stMain"] code, [data-testid="stMain"] pre, '
                                            + '[data-testid="stSidebar"] code')]
      .filter(shown).map(e => e.innerText.trim()).filter(Boolean);
  const gridProps = (canvas) => {
    const key = Object.keys(canvas).find(k => k.startsWith('__reactFiber'));
    let f = key ? canvas[key] : null, grid = null, placeholder = null;
    while (f) {
      const p = f.memoizedProps;
      if (p && typeof p === 'object') {
        if (!grid && Array.isArray(p.columns) && typeof p.getCellContent === 'function' && p.theme) grid = p;
        if (p.element && typeof p.element === 'object' && 'placeholder' in p.element) {
          placeholder = p.element.placeholder; break;
        }
      }
      f = f.return;
    }
    return {grid, placeholder};
  };
  const measure = document.createElement('canvas').getContext('2d');
  const grids = [];
  for (const df of document.querySelectorAll('[data-testid="stMain"] [data-testid="stDataFrame"]')) {
    if (!shown(df)) continue;
    let found = null;
    for (const c of df.querySelectorAll('canvas')) { const r = gridProps(c); if (r.grid) { found = r; break; } }
    if (!found) { grids.push({headers: [], cells: [], cut: [], unreadable: true}); continue; }
    const p = found.grid, th = p.theme;
    const missing = (found.placeholder === null || found.placeholder === undefined) ? 'None' : found.placeholder;
    const canvasWidth = (df.querySelector('canvas') || df).clientWidth;
    // Glide widens columns with "grow" when the columns do not fill the grid.
    const base = p.columns.map(c => c.width || 0);
    const total = base.reduce((a, b) => a + b, 0);
    const growTotal = p.columns.reduce((a, c) => a + (c.grow || 0), 0);
    const extra = Math.max(0, canvasWidth - total);
    const widths = p.columns.map((c, i) => base[i] + (growTotal > 0 ? extra * (c.grow || 0) / growTotal : 0));
    measure.font = th.headerFontFull || `${th.headerFontStyle} ${th.fontFamily}`;
    const pad = th.cellHorizontalPadding || 8;
    const headers = [], cut = [];
    p.columns.forEach((c, i) => {
      const title = (c.title || '').trim();
      if (!title) return;
      headers.push(title);
      // Glide draws the title from the left padding (after the icon, 1.3 icon sizes) and clips it
      // at the column's right edge.
      const room = widths[i] - pad - (c.icon ? Math.ceil((th.headerIconSize || 18) * 1.3) : 0);
      const need = measure.measureText(title).width;
      if (title.endsWith('…') || need > room + 0.5) cut.push({text: title, need: Math.round(need), room: Math.round(room)});
    });
    const cells = [];
    const rows = Math.min(p.rows || 0, maxRows);
    for (let r = 0; r < rows; r++) {
      for (let c = 0; c < p.columns.length; c++) {
        let cell;
        try { cell = p.getCellContent([c, r]); } catch (e) { continue; }
        if (!cell || cell.kind === 'marker') continue;
        if (cell.isMissingValue) { if (missing) cells.push(missing); continue; }
        const d = cell.data;
        if (typeof cell.displayData === 'string') cells.push(cell.displayData);
        else if (Array.isArray(d)) d.forEach(v => typeof v === 'string' && cells.push(v));
        else if (d && typeof d === 'object') {
          for (const k of ['label', 'displayText', 'displayDate']) if (typeof d[k] === 'string') cells.push(d[k]);
          for (const k of ['displayValues', 'values', 'tags']) if (Array.isArray(d[k])) d[k].forEach(v => typeof v === 'string' && cells.push(v));
        }
      }
    }
    grids.push({headers, cells: cells.filter(s => s && s.trim()), cut});
  }
  // Elements whose text is cut: metric labels, values and deltas, tab names, expander titles,
  // static table headers. Cut = the text ends with "…" or an element inside scrolls sideways.
  const cutEls = [];
  const boxes = document.querySelectorAll(
      '[data-testid="stMain"] [data-testid="stMetricLabel"], [data-testid="stMain"] [data-testid="stMetricValue"], '
      + '[data-testid="stMain"] [data-testid="stMetricDelta"], [data-testid="stMain"] [role="tab"], '
      + '[data-testid="stMain"] [data-testid="stExpander"] summary, [data-testid="stMain"] [data-testid="stTable"] th, '
      + '[data-testid="stMain"] [data-testid="stMarkdownContainer"] th');
  for (const box of boxes) {
    if (!shown(box)) continue;
    const text = box.innerText.trim();
    if (!text) continue;
    let over = text.endsWith('…');
    for (const el of [box, ...box.querySelectorAll('*')]) {
      if (el.clientWidth > 0 && el.scrollWidth > el.clientWidth + 1 && getComputedStyle(el).overflowX !== 'visible') over = true;
    }
    if (over) cutEls.push(text);
  }
  // Material icons are drawn from their names (a font ligature): the name is in the text, not on screen.
  const icons = !texts ? [] : [...new Set([...document.querySelectorAll('[data-testid="stIconMaterial"]')]
      .map(e => e.textContent.trim()).filter(Boolean))];
  // A failed page: a traceback, or an error box (the frame's "something went wrong, error id …").
  const errors = !texts ? [] : [...document.querySelectorAll('[data-testid="stException"], [data-testid="stAlertContentError"]')]
      .filter(shown).map(e => e.innerText.trim().split('\n')[0]);
  // Text a style draws (::before / ::after content): not in innerText, but on screen.
  const drawn = [];
  for (const root of texts ? [mainEl, sideEl] : []) {
    if (!root) continue;
    for (const el of root.querySelectorAll('*')) {
      if (el.closest('details:not([open])')) continue;
      const r = el.getBoundingClientRect();
      if (r.width <= 0 || r.height <= 0) continue;
      for (const pseudo of ['::before', '::after']) {
        const st = getComputedStyle(el, pseudo);
        const c = st.content;
        if (!c || c[0] !== '"' || st.display === 'none' || st.visibility !== 'visible') continue;
        const text = c.slice(1, -1).replace(/\\([0-9a-fA-F]{1,6}) ?/g, (m, h) => String.fromCodePoint(parseInt(h, 16)))
            .replace(/\\(.)/g, '$1').trim();
        if (text) drawn.push(text);
      }
    }
  }
  return {main: mainEl && texts ? mainEl.innerText : '', sidebar: sideEl && texts ? sideEl.innerText : '', code, icons, grids,
          cut: cutEls, errors, drawn};
}
"""


def read_page(page: Page, max_rows: int = 1000, texts: bool = True) -> dict:
    """What the page shows now: ``main`` and ``sidebar`` text (charts' SVG text included),
    ``code`` (literal spans), ``icons`` (names of the Material icons, which are in the text
    but drawn as pictures), ``grids`` (per dataframe: ``headers``, drawn ``cells``, ``cut`` headers
    as {text, need, room} in pixels), ``cut`` (metric, tab, expander or table-header texts cut short),
    ``errors`` (first lines of tracebacks and error boxes) and ``drawn`` (texts that a style draws
    as ::before / ::after content, which innerText leaves out).

    ``texts=False`` reads only what is cut (``cut`` and the grids' ``cut`` headers; the text fields
    come back empty): the second width's check, without the scan of every element's styles again.
    """
    return page.evaluate(_READ_PAGE_JS, [max_rows, texts])


_DRAWN_JS = "() => {" + _IDLE_CHECKS + r"""
  const shown = (el) => {
    const r = el.getBoundingClientRect();
    return r.width > 0 && r.height > 0 && !el.closest('details:not([open])');
  };
  const m = document.querySelector('[data-testid="stMain"]');
  if (!m) return false;
  for (const c of m.querySelectorAll('[data-testid="stPlotlyChart"]')) if (shown(c) && !c.querySelector('.main-svg')) return false;
  for (const g of m.querySelectorAll('[data-testid="stDataFrame"]')) if (shown(g) && !g.querySelector('canvas')) return false;
  return true;
}
"""


def wait_drawn(page: Page, pause: int = 100, timeout: float = 30_000) -> None:
    """Two frames and ``pause`` ms, then until the page is idle (``wait_idle``'s checks) and every
    visible chart and dataframe has drawn. For a change in the browser alone (a tab shown, the
    window resized), and after a page load to wait for the whole run, not only its first elements."""
    _two_frames(page)
    page.wait_for_timeout(pause)
    page.wait_for_function(_DRAWN_JS, timeout=timeout, polling="raf")


def wait_grids(page: Page, timeout: float = 30_000) -> None:
    """Wait until every visible dataframe on the page has drawn its canvas."""
    grids = main(page).locator('[data-testid="stDataFrame"]:visible')
    for i in range(grids.count()):
        grids.nth(i).locator("canvas").first.wait_for(state="attached", timeout=timeout)


def open_expanders(page: Page) -> int:
    """Open every closed, visible expander in the main area (a click on its title, which runs no script);
    returns how many were opened."""
    opened = page.evaluate("""() => {
        const closed = [...document.querySelectorAll(
            '[data-testid="stMain"] [data-testid="stExpander"] details:not([open]) > summary')]
            .filter(s => { const r = s.getBoundingClientRect(); return r.width > 0 && r.height > 0; });
        closed.forEach(s => s.click());
        return closed.length;
    }""")
    if opened:
        wait_drawn(page)
    return int(opened)


@contextlib.contextmanager
def evidence_on_failure(page: Page, server: "StreamlitServer", folder: Path):
    """Around a browser walk: when it fails, keep a screenshot in ``folder`` and print the server's log tail."""
    try:
        yield
    except BaseException:
        try:
            shoot(page, folder / "failure.png")
        except Exception:
            pass
        print(f"\nstreamlit log (tail):\n{server.log_text()}")
        raise
