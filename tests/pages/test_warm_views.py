"""After new data arrives while the dashboard runs, the next visitor's Overview is ready before they open it."""
from __future__ import annotations

from kam_core.imports.pipeline import import_file
from kam_core.sales import periods
from kam_core.ui import charts, context


def test_the_overview_after_an_import_shows_the_new_account_with_its_figures_computed_ahead(app, monkeypatch):
    monkeypatch.setenv("KAM_WARMUP", "1")   # as a server runs (the page tests turn it off)
    at = app().run()
    assert not at.exception
    before = {m.label: m.value for m in at.metric}
    store = context.get_store()
    day = periods.as_of_date(store)
    import_file(store, f"日期,供应商,销售额\n{day.isoformat()},测试新供应商有限公司,1234.50\n".encode(), "new.csv")
    assert context.wait_for_warmup(store, timeout=60)

    built = []
    for name in ("monthly_trend_by_tier", "tier_distribution", "pareto_chart"):
        real = getattr(charts, name)
        monkeypatch.setattr(charts, name, lambda *a, _real=real, _name=name, **k: built.append(_name) or _real(*a, **k))
    summaries = []
    real_summary = context.figures.year_summary
    monkeypatch.setattr(context.figures, "year_summary", lambda *a, **k: summaries.append(1) or real_summary(*a, **k))

    at.run()
    assert not at.exception
    after = {m.label: m.value for m in at.metric}
    assert int(after["客户数"].replace(",", "")) == int(before["客户数"].replace(",", "")) + 1
    # this view's figures were made in the background as soon as the import committed
    assert built == [] and summaries == []

    # only the default view is prepared ahead: the English page builds its own, with the same count
    at.sidebar.radio(key="kam_lang").set_value("en").run()
    assert not at.exception
    assert "pareto_chart" in built
    english = {m.label: m.value for m in at.metric}
    assert english["Accounts"] == after["客户数"]


def test_without_the_warm_up_the_first_view_computes_its_own_figures(app, monkeypatch):
    monkeypatch.setenv("KAM_WARMUP", "0")
    built = []
    real = charts.pareto_chart
    monkeypatch.setattr(charts, "pareto_chart", lambda *a, **k: built.append(1) or real(*a, **k))
    at = app().run()
    assert not at.exception
    assert built == [1] and "客户数" in {m.label for m in at.metric}
    assert context.wait_for_warmup(context.get_store(), timeout=60) is False   # at once: there is none
