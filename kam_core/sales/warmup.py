"""Work the pages' first view needs, done ahead: right after the data changes, in the server's background.

A view's first run after an import reads the filters' choices, the years,
the company-wide figures of the latest year and the one before (and their
comparison windows), their monthly sales, the criteria's evidence, the
projection and its backtest. They are remembered per data
version (:mod:`.memo`), so computing them as soon as the version changes
leaves the first person who opens a page only the view's own work.
"""
from __future__ import annotations

from kam_core.store import Store
from kam_core.sales import figures, projection
from kam_core.sales.accounts import criteria_evidence, filter_options
from kam_core.sales.periods import period_of, resolve_settings


def warm(store: Store) -> None:
    """Compute and remember what the first views of the latest years need."""
    settings = resolve_settings(store, None)
    filter_options(store)
    years = figures.available_years(store, settings)
    for year in years[-2:]:
        period = period_of(store, year, settings)
        figures.account_year_figures(store, year, None, settings, period=period)
        figures.account_year_figures(store, year - 1, None, settings, period=period.previous())
        criteria_evidence(store, year, settings)
        figures.monthly_sales(store, year, None, settings)
    if years:
        projection.backtest(store, settings)
        projection.seasonal_projection(store, years[-1], settings)
