"""The frame every page shares: the store, the signed-in user, language, filters.

``dashboard.py`` calls :func:`prepare` once per run (it renders the sidebar);
pages call :func:`current` and the cached readers below. Filters and the
language live in the URL (``st.query_params``) so a link reproduces a view;
they are mirrored in the session so they survive a page switch.
Results are cached by the store's data version, which every import, undo and
settings change bumps: new data shows at once, nothing else is recomputed.
"""
from __future__ import annotations

import json
import os
from dataclasses import dataclass, field
from datetime import date
from typing import Any

import pandas as pd
import streamlit as st

from .. import catalog, charts, metrics, tiers
from ..i18n import t
from ..permissions import User, can
from ..settings import get_settings
from ..store import Store, open_store, resolve_db_path

URL_KEYS = ("year", "region", "category", "store", "lang", "account")


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
    filters: metrics.Filters
    options: dict[str, Any] = field(default_factory=dict)

    @property
    def key(self) -> tuple:
        """What a cached result depends on besides its own arguments."""
        return (str(self.store.path), self.version)

    def t(self, key: str, **fmt: Any) -> str:
        return t(key, self.lang, **fmt)


@st.cache_resource(show_spinner=False)
def _store_for(path: str) -> Store:
    from ..service import start_owner   # this process owns the file: commands, schedules and the inbox go through it
    return start_owner(open_store(path))


def get_store() -> Store:
    """One store (one DuckDB connection) per database file, shared by all sessions."""
    return _store_for(str(resolve_db_path()))


def ensure_first_start_data(store: Store, lang: str) -> None:
    """On a fresh database (no import ever), load the demo data so the product is alive at once."""
    if os.environ.get("KAM_AUTO_DEMO", "1") == "0":
        return
    if store.cursor().execute("select count(*) from imports").fetchone()[0] > 0:
        return
    from .. import demo

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


def prepare(store: Store, user: User) -> Context:
    """Render the shared sidebar and return the context for this run."""
    _remember_url()
    settings = get_settings(store)
    lang_param = st.query_params.get("lang")
    lang = lang_param if lang_param in ("zh", "en") else settings["language"]
    version = store.data_version()
    opts = _options(str(store.path), version)
    years = _years(str(store.path), version, settings["fiscal_start_month"], store)

    sb = st.sidebar
    choice = sb.radio("语言 · Language", ("zh", "en"), index=0 if lang == "zh" else 1,
                      format_func=lambda v: t(f"lang.{v}", v), horizontal=True, key="kam_lang")
    if choice != lang:
        lang = choice
        _set_url("lang", lang)
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
    if opts.get("date_min"):
        sb.caption(t("sidebar.data_range", lang, start=opts["date_min"], end=opts["date_max"]))
    sb.caption(t("sidebar.database", lang) + f": `{store.path.name}`")
    ctx = Context(store=store, user=user, lang=lang, unit=settings["amount_unit"], settings=settings,
                  version=version, years=years, year=year,
                  filters=metrics.Filters(region=tuple(picked["region"]), category=tuple(picked["category"]),
                                          store=tuple(picked["store"])),
                  options=opts)
    st.session_state["kam_ctx"] = ctx
    return ctx


def current() -> Context:
    """The context ``dashboard.py`` prepared for this run."""
    return st.session_state["kam_ctx"]


# ---------------------------------------------------------------- cached readers
# The store is passed with a leading underscore (not hashed); the db path and
# the data version in the key make every import, undo or settings change a miss.

@st.cache_data(show_spinner=False, max_entries=8)
def _options(db: str, version: int) -> dict[str, Any]:
    return catalog.filter_options(_store_for(db))


@st.cache_data(show_spinner=False, max_entries=8)
def _years(db: str, version: int, fiscal_start: int, _store: Store) -> list[int]:
    return metrics.available_years(_store)


def _fkey(ctx: Context) -> str:
    return json.dumps([ctx.filters.region, ctx.filters.category, ctx.filters.store], ensure_ascii=False)


@st.cache_data(show_spinner=False, max_entries=64)
def _tier_table(db: str, version: int, year: int, fkey: str, _ctx: Context) -> pd.DataFrame:
    return tiers.assign_tiers(_ctx.store, year, filters=_ctx.filters, settings=_ctx.settings)


def tier_table(ctx: Context, year: int | None = None) -> pd.DataFrame:
    y = ctx.year if year is None else year
    return _tier_table(str(ctx.store.path), ctx.version, y, _fkey(ctx), ctx)


@st.cache_data(show_spinner=False, max_entries=64)
def _summary(db: str, version: int, year: int, fkey: str, _ctx: Context) -> dict:
    return metrics.year_summary(_ctx.store, year, filters=_ctx.filters, settings=_ctx.settings)


def summary(ctx: Context, year: int | None = None) -> dict:
    return _summary(str(ctx.store.path), ctx.version, ctx.year if year is None else year, _fkey(ctx), ctx)


@st.cache_data(show_spinner=False, max_entries=32)
def _same_period(db: str, version: int, year: int, fkey: str, _ctx: Context) -> dict | None:
    return metrics.same_period_last_year(_ctx.store, year, filters=_ctx.filters, settings=_ctx.settings)


def same_period(ctx: Context) -> dict | None:
    """Last year's figures over the same days, when the selected year is not finished."""
    return _same_period(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), ctx)


@st.cache_data(show_spinner=False, max_entries=32)
def _monthly_by_tier(db: str, version: int, year: int, fkey: str, _ctx: Context) -> pd.DataFrame:
    monthly = metrics.monthly_sales(_ctx.store, year, filters=_ctx.filters, settings=_ctx.settings)
    return charts.monthly_by_tier(monthly, _tier_table(db, version, year, fkey, _ctx))


def monthly_by_tier(ctx: Context) -> pd.DataFrame:
    return _monthly_by_tier(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), ctx)


@st.cache_data(show_spinner=False, max_entries=32)
def _migration(db: str, version: int, year: int, fkey: str, _ctx: Context) -> pd.DataFrame:
    return tiers.tier_migration(_ctx.store, year, filters=_ctx.filters, settings=_ctx.settings)


def migration(ctx: Context) -> pd.DataFrame:
    return _migration(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), ctx)


@st.cache_data(show_spinner=False, max_entries=16)
def _projection(db: str, version: int, year: int, fkey: str, today: date, _ctx: Context) -> pd.DataFrame:
    return tiers.run_rate_projection(_ctx.store, year, today=today, settings=_ctx.settings, filters=_ctx.filters)


def projection(ctx: Context) -> pd.DataFrame:
    # today is part of the key: a year stops being "open" at midnight, not at the next import
    return _projection(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), date.today(), ctx)


@st.cache_data(show_spinner=False, max_entries=16)
def _stop_impact(db: str, version: int, year: int, fkey: str, _ctx: Context) -> pd.DataFrame:
    return tiers.stop_impact(_ctx.store, year, top=10, filters=_ctx.filters, settings=_ctx.settings)


def stop_impact(ctx: Context) -> pd.DataFrame:
    return _stop_impact(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), ctx)


def criteria(ctx: Context) -> pd.DataFrame:
    scores = None
    try:
        from .. import dossier
        scores = dossier.scores_frame(ctx.store)
    except (ImportError, AttributeError):
        scores = None
    return _criteria(str(ctx.store.path), ctx.version, ctx.year, _fkey(ctx), _dossier_version(ctx), ctx, scores)


def _dossier_version(ctx: Context) -> str:
    row = ctx.store.cursor().execute("select count(*), max(updated_at), sum(version) from accounts").fetchone()
    return str(row)


@st.cache_data(show_spinner=False, max_entries=16)
def _criteria(db: str, version: int, year: int, fkey: str, dver: str, _ctx: Context, _scores) -> pd.DataFrame:
    return tiers.criteria_checklist(_ctx.store, year, settings=_ctx.settings, scores=_scores, filters=_ctx.filters,
                                    table=_tier_table(db, version, year, fkey, _ctx))


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
            from .. import demo
            with st.spinner(ctx.t("empty.load_demo") + " …"):
                demo.load_demo(ctx.store)
                demo.load_demo_extras(ctx.store)
            st.rerun()
    st.stop()
