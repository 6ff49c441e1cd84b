"""The frame every page shares: the store, the signed-in user, language, filters.

``dashboard.py`` calls :func:`prepare` once per run (it renders the sidebar);
pages call :func:`current` and the cached readers below. Filters and the
language live in the URL (``st.query_params``) so a link reproduces a view;
they are mirrored in the session so they survive a page switch.
Results are cached by the store's data version, which every import, undo and
settings change bumps: new data shows at once, nothing else is recomputed.
"""
from __future__ import annotations

import datetime as dt
import functools
import json
import os
import atexit
import threading
import time
from dataclasses import dataclass, field
from typing import Any, Callable

import pandas as pd
import streamlit as st

from kam_core.ui import charts, tables

from kam_core import dossier
from kam_core.locales.formatting import format_number, format_pct, period_sentence
from kam_core.imports.pipeline import list_imports
from kam_core.locales.labels import join_items, setting_help, setting_label, t
from kam_core.sales import accounts as account_sales
from kam_core.sales import figures, periods, tiers
from kam_core.sales import projection as projections
from kam_core.permissions import SYSTEM, User, can
from kam_core.settings import SETTINGS, Setting, SettingsError, get_settings, save_settings
from kam_core.store import Store, open_store, resolve_db_path
from kam_core.ui.text import escape_md

URL_KEYS = ("year", "region", "category", "store", "lang", "account", "mine")


@dataclass
class Context:
    store: Store
    user: User
    lang: str
    unit: str
    settings: dict[str, Any]
    version: int
    years: list[int]
    year: int | None
    filters: periods.Filters
    options: dict[str, Any] = field(default_factory=dict)
    mine: frozenset[str] | None = None
    """"My accounts" (owned or backed up by the user) when that switch is on; None: every account."""

    @property
    def key(self) -> tuple:
        """What a cached result depends on besides its own arguments."""
        return (str(self.store.path), self.version)

    def t(self, key: str, **fmt: Any) -> str:
        return t(key, self.lang, **fmt)


# ---------------------------------------------------------------- cached readers
# The store or context is not hashed; the db path, the data version (every import,
# undo or settings change bumps it), the year and the filters in the key make every
# change a miss. Dossier readers add the dossier's version as an argument.
# Results are small frames, never lines.

def cached_by_data_version(max_entries: int = 32) -> Callable:
    """Cache ``reader(source, *args)`` per database, data version and ``args``; when ``source`` is a
    :class:`Context` (a page's view), also per selected year and filters. The one cache of this module's
    readers: ``source`` itself is not hashed, its key is."""
    def decorate(reader: Callable) -> Callable:
        def compute(key: tuple, args: tuple, _source: Context | Store) -> Any:
            return reader(_source, *args)

        # Streamlit keys a cache by the function's qualified name and source: give each its own.
        compute.__qualname__ = compute.__name__ = f"{reader.__qualname__}_cached"
        cached = st.cache_data(show_spinner=False, max_entries=max_entries)(compute)

        @functools.wraps(reader)
        def read(source: Context | Store, *args: Any) -> Any:
            return cached(_cache_key(source), args, source)
        return read
    return decorate


def _cache_key(source: Context | Store) -> tuple:
    if isinstance(source, Context):
        return (str(source.store.path), source.version, source.year, _fkey(source))
    return (str(source.path), source.data_version())


@cached_by_data_version(max_entries=8)
def _options(store: Store) -> dict[str, Any]:
    return account_sales.filter_options(store)


@cached_by_data_version(max_entries=8)
def _years(store: Store) -> list[int]:
    return figures.available_years(store)


def _fkey(ctx: Context) -> str:
    return json.dumps([ctx.filters.region, ctx.filters.category, ctx.filters.store], ensure_ascii=False)


@st.cache_resource(show_spinner=False)
def _store_for(path: str) -> Store:
    from kam_core.service import start_owner   # this process owns the file: commands, schedules and the inbox go through it
    store = start_owner(open_store(path))
    # The figures' SQL is compiled once per process; doing it now keeps it out of the first view.
    stop = threading.Event()
    if warmup_enabled():
        worker = threading.Thread(target=_compile_quietly, args=(store, stop), name="kam-warmup", daemon=True)
        _warmers.append((stop, worker))
        worker.start()
    return store


def warmup_enabled() -> bool:
    """``KAM_WARMUP=0`` starts no background warm-up: each page computes its figures on its first view
    (the page tests, whose stores live for one test; a machine where background work would compete)."""
    return os.environ.get("KAM_WARMUP", "1") != "0"


_warmers: list[tuple[threading.Event, threading.Thread]] = []
_warmed: dict[str, int] = {}


def wait_for_warmup(store: Store, timeout: float = 120.0) -> bool:
    """Whether the background warm-up has caught up with the store's data version (benchmarks, tests);
    False at once when there is none (``KAM_WARMUP=0``)."""
    if not warmup_enabled():
        return False
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if _warmed.get(str(store.path)) == store.data_version():
            return True
        time.sleep(0.05)
    return False


@atexit.register
def _stop_warmers() -> None:
    # A thread left inside a DuckDB query while the interpreter exits aborts the process.
    for stop, _ in _warmers:
        stop.set()
    for _, worker in _warmers:
        worker.join(timeout=60)


def _compile_quietly(store: Store, stop: threading.Event) -> None:
    """Compile the figures' SQL, then keep the first views' figures ready whenever the data changes.

    Only a head start: a page computes whatever is not ready itself, so any failure here is dropped.
    """
    from kam_core.service import background_enabled
    from kam_core.sales import warmup

    try:
        figures.compile_queries(store)
        seen = None
        while not stop.is_set():
            version = store.data_version()
            if version != seen:
                warmup.warm(store)
                if seen is not None:        # new data while serving: ready the next visitor's first view
                    _warm_views(store, version)
                seen = _warmed[str(store.path)] = version
            if not background_enabled():
                return
            stop.wait(2.0)
    except Exception:  # noqa: BLE001 - the store closed, or a page will hit the same error and show it
        return


def _warm_views(store: Store, version: int) -> None:
    """Fill this layer's caches for the default view (the latest year, no filter, every account, the default
    language), so that the first person to open a page after the data changed finds its tables and charts ready.

    The same readers the pages call, under the same keys: a view that differs (another year, a filter,
    "my accounts") computes its own on its first run.
    """
    years = _years(store)
    if not years:
        return
    settings = get_settings(store)
    ctx = Context(store=store, user=SYSTEM, lang=settings["language"], unit=settings["amount_unit"],
                  settings=settings, version=version, years=years, year=years[-1], filters=periods.Filters(),
                  options=_options(store))
    table = tier_table(ctx)
    if table.empty:
        return
    overview(ctx)
    overview_charts(ctx, table)
    rankings_charts(ctx, table)
    move = migration(ctx)
    if not move.empty:
        migration_chart(ctx, move)
    tier_csv(ctx, ctx.lang)
    projection(ctx)
    backtest(ctx)
    criteria(ctx)
    top = str(table["account"].iloc[0])     # the Dossier page opens on the top-ranked account
    account_monthly(ctx, top)
    for by in ("category", "region"):
        account_mix(ctx, top, by)
    account_top_products(ctx, top)
    account_recent_orders(ctx, top)
    account_stock(ctx, top)


def get_store() -> Store:
    """One store (one DuckDB connection) per database file, shared by all sessions."""
    return _store_for(str(resolve_db_path()))


def ensure_first_start_data(store: Store, lang: str) -> None:
    """On a fresh database (no import ever), load the demo data so the product is alive at once."""
    if os.environ.get("KAM_AUTO_DEMO", "1") == "0":
        return
    if st.session_state.get("_kam_started") == str(store.path):
        return
    if list_imports(store):
        st.session_state["_kam_started"] = str(store.path)
        return
    from kam_core import demo

    with st.spinner(t("empty.load_demo", lang) + " …"):
        demo.load_demo(store)
        demo.load_demo_extras(store)


def _url_list(name: str) -> list[str]:
    return [v for v in st.query_params.get_all(name) if v]


def _remember_url() -> None:
    """Mirror the URL's filters into the session, or restore them after a page switch."""
    saved = st.session_state.setdefault("kam_url", {})
    present = {k: st.query_params.get_all(k) for k in URL_KEYS if st.query_params.get_all(k)}
    if present:
        saved.clear()
        saved.update(present)
    elif saved:
        for k, v in saved.items():
            st.query_params[k] = v


def _set_url(name: str, value: Any) -> None:
    saved = st.session_state.setdefault("kam_url", {})
    if value in (None, "", [], ()):
        if name in st.query_params:
            del st.query_params[name]
        saved.pop(name, None)
    else:
        st.query_params[name] = value
        saved[name] = value if isinstance(value, list) else [str(value)]


def url_params(extra: dict[str, Any] | None = None) -> dict[str, Any]:
    """The current filters as query params, for links to other pages."""
    out = {k: (v if len(v) > 1 else v[0]) for k, v in st.session_state.get("kam_url", {}).items() if v}
    out.update(extra or {})
    return out


LANGS = ("zh", "en")


def choose_language(store: Store) -> str:
    """The language of this run, with the sidebar's switch: the switch, else ``?lang=`` in the URL, else the
    settings' default. ``dashboard.py`` calls it first, so the first start, the sign-in and the
    create-administrator forms speak it too, and a visitor can switch before signing in.

    The label is in the page's language; each choice is named in its own ("中文", "English"), so a
    reader of the other language finds the switch without a bilingual label.
    """
    _remember_url()
    lang_param = st.query_params.get("lang")
    lang = lang_param if lang_param in LANGS else get_settings(store)["language"]
    choice = st.sidebar.radio(t("sidebar.language", lang), LANGS, index=LANGS.index(lang),
                              format_func=lambda v: t(f"lang.{v}", v), horizontal=True, key="kam_lang")
    if choice != lang:
        lang = choice
        _set_url("lang", lang)
    return lang


def prepare(store: Store, user: User, lang: str) -> Context:
    """Render the shared sidebar (below the language switch) and return the context for this run."""
    _remember_url()
    settings = get_settings(store)
    version = store.data_version()
    opts = _options(store)
    years = _years(store)

    sb = st.sidebar
    sb.subheader(t("sidebar.filters", lang))
    year = None
    if years:
        try:
            wanted = int(st.query_params.get("year", years[-1]))
        except ValueError:
            wanted = years[-1]
        if wanted not in years:
            wanted = years[-1]
        year = sb.selectbox(t("sidebar.year", lang), years, index=years.index(wanted), key="kam_year")
        _set_url("year", year)
    picked = {}
    for name, options_key in (("region", "regions"), ("category", "categories"), ("store", "stores")):
        choices = opts.get(options_key, [])
        current = [v for v in _url_list(name) if v in choices]
        picked[name] = sb.multiselect(t(f"sidebar.{name}", lang), choices, default=current,
                                      placeholder=t("sidebar.all", lang), key=f"kam_{name}")
        _set_url(name, list(picked[name]))
    mine = _my_accounts_switch(store, user, lang)
    if opts.get("date_min"):
        sb.caption(t("sidebar.data_range", lang, start=opts["date_min"], end=opts["date_max"]))
    sb.caption(t("sidebar.database", lang) + f": `{store.path.name}`")
    ctx = Context(store=store, user=user, lang=lang, unit=settings["amount_unit"], settings=settings,
                  version=version, years=years, year=year,
                  filters=periods.Filters(region=tuple(picked["region"]), category=tuple(picked["category"]),
                                          store=tuple(picked["store"])),
                  options=opts, mine=mine)
    st.session_state["kam_ctx"] = ctx
    return ctx


@cached_by_data_version(max_entries=64)
def _owned(store: Store, dossier_version: int, name: str) -> tuple[str, ...]:
    return tuple(dossier.owned_accounts(store, name))


def _my_accounts_switch(store: Store, user: User, lang: str) -> frozenset[str] | None:
    """The sidebar's "my accounts" switch, for whoever owns or backs up an account.

    On by default for a manager, off for others; ``?mine=0`` / ``?mine=1`` in the
    URL only when it differs from that default, so a shared link shows each
    reader their own default. Returns the accounts when on, else None.
    """
    owned = _owned(store, dossier.dossier_version(store), user.name)
    if not owned:
        return None
    default = user.role == "manager"
    wanted = {"1": True, "0": False}.get(st.query_params.get("mine", ""), default)
    on = st.sidebar.toggle(t("sidebar.mine", lang, n=len(owned)), value=wanted, key="kam_mine",
                           help=t("sidebar.mine_help", lang))
    _set_url("mine", None if on == default else ("1" if on else "0"))
    return frozenset(owned) if on else None


def listed(ctx: Context, frame: pd.DataFrame, column: str = "account") -> pd.DataFrame:
    """``frame``'s rows of "my accounts" when that switch is on (ranks and shares stay the view's)."""
    if ctx.mine is None or column not in frame.columns:
        return frame
    return frame[frame[column].isin(ctx.mine)]


def mine_note(ctx: Context) -> None:
    """Under the title, when "my accounts" narrows the lists: say so."""
    if ctx.mine is not None:
        st.caption(ctx.t("mine.note", n=len(ctx.mine)))


def current() -> Context:
    """The context ``dashboard.py`` prepared for this run."""
    return st.session_state["kam_ctx"]


@cached_by_data_version(max_entries=32)
def period(ctx: Context, year: int | None = None) -> periods.Period:
    """The days the selected year counts and the days it is compared with (the one period rule)."""
    return periods.period_of(ctx.store, ctx.year if year is None else year, ctx.settings)


@cached_by_data_version(max_entries=64)
def tier_table(ctx: Context, year: int | None = None) -> pd.DataFrame:
    """The year's accounts in the view, with their company-wide tiers."""
    return tiers.assign_tiers(ctx.store, ctx.year if year is None else year, filters=ctx.filters,
                              settings=ctx.settings)


@cached_by_data_version(max_entries=32)
def overview(ctx: Context) -> dict[str, Any]:
    """The Overview's KPIs, their changes against the comparison window, and the tier counts with theirs."""
    p = period(ctx)
    table = tier_table(ctx)
    now = figures.year_summary(ctx.store, ctx.year, ctx.filters, ctx.settings, table=table, period=p)
    before_table = tiers.assign_tiers(ctx.store, ctx.year - 1, filters=ctx.filters, settings=ctx.settings,
                                      period=p.previous())
    before = figures.year_summary(ctx.store, ctx.year - 1, ctx.filters, ctx.settings, table=before_table,
                                  period=p.previous())
    return {"now": now, "changes": figures.year_changes(now, before), "period": p,
            "has_before": before["n_accounts"] > 0,
            "tiers": tiers.tier_counts(table, before_table if len(before_table) else None)}


@cached_by_data_version(max_entries=32)
def monthly_by_tier(ctx: Context) -> pd.DataFrame:
    monthly = figures.monthly_sales(ctx.store, ctx.year, filters=ctx.filters, settings=ctx.settings)
    return charts.monthly_by_tier(monthly, tier_table(ctx))


@cached_by_data_version(max_entries=32)
def migration(ctx: Context) -> pd.DataFrame:
    return tiers.tier_migration(ctx.store, ctx.year, filters=ctx.filters, settings=ctx.settings, table=tier_table(ctx))


@cached_by_data_version(max_entries=16)
def projection(ctx: Context) -> pd.DataFrame:
    """The company-wide seasonal projection of the year's accounts in the view (empty for a complete year)."""
    proj = projections.seasonal_projection(ctx.store, ctx.year, settings=ctx.settings)
    return proj[proj["account"].isin(set(tier_table(ctx)["account"]))].reset_index(drop=True)


@cached_by_data_version(max_entries=4)
def backtest(ctx: Context) -> pd.DataFrame:
    """The projection's backtest on the past complete years (pooled rows only), company-wide."""
    bt = projections.backtest(ctx.store, settings=ctx.settings)
    return bt[bt["year"].isna()].reset_index(drop=True)


def criteria(ctx: Context) -> pd.DataFrame:
    """The six criteria of the year's accounts in the view (company-wide), with the dossiers' scores."""
    return _criteria(ctx, dossier.dossier_version(ctx.store))


@cached_by_data_version(max_entries=16)
def _criteria(ctx: Context, dossier_version: int) -> pd.DataFrame:
    return tiers.criteria_checklist(ctx.store, ctx.year, settings=ctx.settings, scores=dossier.scores_frame(ctx.store),
                                    filters=ctx.filters, table=tier_table(ctx))


@st.cache_resource(show_spinner=False, max_entries=256)
def _figure(db: str, version: int, year: int | None, fkey: str, lang: str, unit: str, name: str, args: tuple,
            _build: Callable) -> Any:
    return _build()


def overview_charts(ctx: Context, table: pd.DataFrame) -> tuple[Any, Any, Any]:
    """The Overview's figures: the monthly trend by tier, the tier distribution, the Pareto chart."""
    return (chart(ctx, "monthly_trend", lambda: charts.monthly_trend_by_tier(monthly_by_tier(ctx), ctx.unit, ctx.lang)),
            chart(ctx, "tier_distribution", lambda: charts.tier_distribution(table, ctx.unit, ctx.lang)),
            chart(ctx, "pareto", lambda: charts.pareto_chart(table, ctx.lang, ctx.settings["abc_a_max"],
                                                             ctx.settings["abc_b_max"])))


def migration_chart(ctx: Context, move: pd.DataFrame) -> Any:
    """The Tiers page's Sankey of the year's moves (``move``: :func:`migration`)."""
    return chart(ctx, "migration", lambda: charts.migration_sankey(move, ctx.lang))


@cached_by_data_version(max_entries=16)
def tier_csv(ctx: Context, lang: str) -> bytes:
    """The view's tier table as the Tiers page's CSV download, made once per view and language."""
    return tables.table_csv(tier_table(ctx), tiers.TIER_COLUMNS, lang)


RANKINGS_TOP = (10, "sales")
"""The Rankings page's top-N chart at first: the ten largest by sales."""


def rankings_charts(ctx: Context, listed: pd.DataFrame, n: int = RANKINGS_TOP[0],
                    by: str = RANKINGS_TOP[1]) -> tuple[Any, Any]:
    """The Rankings page's figures for the accounts ``listed``: the portfolio scatter and the top ``n`` by ``by``."""
    return (chart(ctx, "portfolio", lambda: charts.portfolio_scatter(listed, ctx.unit, ctx.lang)),
            chart(ctx, "top_n", lambda: charts.top_n_bar(listed, n, by, ctx.unit, ctx.lang), n, by))


def chart(ctx: Context, name: str, build: Callable[[], Any], *args: Any) -> Any:
    """The figure ``build()`` makes for this view, made once per data version, year, filters, language and unit.

    Shared, not copied (``st.plotly_chart`` only reads it): building the Overview's three
    figures took longer than the rest of a rerun. ``name`` and ``args`` tell the figures apart.
    """
    mine = None if ctx.mine is None else tuple(sorted(ctx.mine))   # "my accounts" narrows what a chart shows
    return _figure(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), ctx.lang, ctx.unit, name, (mine, *args),
                   build)


# -- one account's drill-down, for the dossier (cached like the pages' figures) ----------------------------
@cached_by_data_version(max_entries=64)
def account_monthly(ctx: Context, account: str) -> pd.DataFrame:
    return account_sales.monthly(ctx.store, account, ctx.year, ctx.settings, ctx.filters)


@cached_by_data_version(max_entries=128)
def account_mix(ctx: Context, account: str, by: str) -> pd.DataFrame:
    return account_sales.mix(ctx.store, account, ctx.year, by, ctx.settings, ctx.filters)


@cached_by_data_version(max_entries=64)
def account_top_products(ctx: Context, account: str, n: int = 10) -> pd.DataFrame:
    return account_sales.top_products(ctx.store, account, ctx.year, n, ctx.settings, ctx.filters)


@cached_by_data_version(max_entries=64)
def account_recent_orders(ctx: Context, account: str) -> pd.DataFrame:
    return account_sales.recent_orders(ctx.store, account)


@cached_by_data_version(max_entries=64)
def account_stock(ctx: Context, account: str) -> pd.DataFrame:
    return account_sales.weeks_of_cover(ctx.store, account)


def attention(ctx: Context, today: dt.date | None = None, accounts: tuple[str, ...] | None = None) -> list:
    """The needs-attention items ("my accounts" when on, or ``accounts``) for the selected year and today."""
    today = today or dt.date.today()
    scope = accounts if accounts is not None else None if ctx.mine is None else tuple(sorted(ctx.mine))
    return _attention(ctx.store, ctx.user, ctx.year, scope, today.isoformat(), dossier.dossier_version(ctx.store))


@cached_by_data_version(max_entries=16)
def _attention(store: Store, user: User, year: int | None, mine: tuple[str, ...] | None, today: str,
               dossier_version: int) -> list:
    # Keyed by the store, not the view: the rules judge each account company-wide, so a filter is no new list.
    from kam_core import attention as rules
    return rules.attention_items(store, user, year, dt.date.fromisoformat(today), settings=get_settings(store),
                                 accounts=mine)


def targets(ctx: Context) -> pd.DataFrame:
    """Every agreement with a target ("my accounts" when on), with its actual sales and progress."""
    mine = None if ctx.mine is None else tuple(sorted(ctx.mine))
    return _targets(ctx.store, ctx.user, mine, dossier.dossier_version(ctx.store))


@cached_by_data_version(max_entries=16)
def _targets(store: Store, user: User, mine: tuple[str, ...] | None, dossier_version: int) -> pd.DataFrame:
    # every agreement's target, whatever the view's year and filters: keyed by the store
    from kam_core.dossier import targets as progress
    return progress.targets_frame(store, user, mine)


def backtest_note(ctx: Context) -> str:
    """The backtest's errors, seasonal beside run rate, per horizon, in one sentence."""
    bt = backtest(ctx)
    if bt.empty:
        return ctx.t("projection.no_backtest")
    items = [ctx.t("projection.backtest_item", months=int(r.months), seasonal=format_pct(r.seasonal_mape),
                   naive=format_pct(r.naive_mape)) for r in bt.itertuples()]
    return ctx.t("projection.backtest", items=join_items(items, ctx.lang))


def scope_notes(ctx: Context) -> None:
    """Under the title: which days the figures count and compare, and what a filter does and does not change."""
    p = period(ctx)
    lines = []
    note = figures.period_note(p, dt.date.today()) if ctx.year is not None else None
    if note is not None:
        lines.append(period_sentence(*note, ctx.lang))
    if ctx.filters:
        scope = join_items([ctx.t(f"filters.scope.{d}") for d in ctx.filters.active()], ctx.lang)
        lines.append(ctx.t("filters.tier_note", scope=scope))
    for line in lines:
        st.caption(line)
    mine_note(ctx)


def tier_table_or_stop(ctx: Context) -> pd.DataFrame:
    """The selected year's tier table; the empty state (and a stop) when there is nothing to show."""
    if ctx.year is None:
        empty_state(ctx)
    table = tier_table(ctx)
    if table.empty:
        empty_state(ctx, no_year_data=True)
    return table


def empty_state(ctx: Context, no_year_data: bool = False) -> None:
    """No data at all: say so, link to Import, offer the demo data; then stop the page."""
    st.info(ctx.t("empty.no_data_year", year=ctx.year) if no_year_data else ctx.t("empty.no_data"))
    c1, c2 = st.columns(2)
    with c1:
        st.page_link("app_pages/import.py", label=ctx.t("empty.go_import"), icon=":material/upload_file:")
    with c2:
        if not no_year_data and can(ctx.user, "import") and st.button(ctx.t("empty.load_demo"), key="kam_load_demo"):
            from kam_core import demo
            with st.spinner(ctx.t("empty.load_demo") + " …"):
                demo.load_demo(ctx.store)
                demo.load_demo_extras(ctx.store)
            st.rerun()
    st.stop()


def percent_digits(setting: Setting) -> int:
    """Decimals a ratio setting shows as a percentage: as many as its step has (step 0.005 → 0.5 % → 1)."""
    return len(f"{(setting.step or 0.01) * 100:g}".partition(".")[2])


def setting_value_text(ctx: Context, setting: Setting | None, value: Any) -> str:
    """A setting's value as the Settings page shows it: ratios as percentages, numbers with separators."""
    if setting is not None and setting.kind == "ratio" and isinstance(value, (int, float)):
        return format_pct(value, percent_digits(setting))
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return format_number(value, 0 if float(value).is_integer() else 2)
    if setting is not None and setting.choice_label and value in (setting.choices or ()):
        return ctx.t(f"{setting.choice_label}.{value}")
    return escape_md(repr(value) if isinstance(value, str) else value)


def settings_refusal(ctx: Context, exc: SettingsError) -> str:
    """A refusal of :mod:`kam_core.settings` in the user's words, from its code and figures (Markdown-safe)."""
    p = exc.params
    setting = SETTINGS.get(p.get("key"))
    fmt: dict[str, Any] = {}
    if "key" in p:
        fmt["setting"] = setting_label(setting.key, ctx.lang) if setting else escape_md(p["key"])
    if "value" in p:
        fmt["value"] = setting_value_text(ctx, setting, p["value"])
    if exc.code == "not_choice":
        fmt["choices"] = join_items([setting_value_text(ctx, setting, c) for c in p["choices"]], ctx.lang)
    if exc.code == "invalid":
        fmt["help"] = setting_help(setting.key, ctx.lang)
    code = exc.code
    if code == "out_of_bounds":
        fmt["low"] = setting_value_text(ctx, setting, p["low"])
        if p["high"] is None:
            code = "below_low"
        else:
            fmt["high"] = setting_value_text(ctx, setting, p["high"])
    return ctx.t(f"settings.refused.{code}", **fmt)


def save_changed_settings(ctx: Context, values: dict[str, Any]) -> str | None:
    """Save those of ``values`` that differ from the current settings (validated, audited, as the
    user). Returns None when saved, else the refusal in the user's words, for ``settings.error``."""
    changes = {k: v for k, v in values.items() if v != ctx.settings[k]}
    try:
        if changes:
            save_settings(ctx.store, changes, user=ctx.user)
    except SettingsError as exc:
        return settings_refusal(ctx, exc)
    return None
