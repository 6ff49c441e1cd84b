"""The same Ibis expressions on a local Apache Spark, reading the Parquet lake, give DuckDB's tables.

Spark reads what ``python -m kam_core lake export DIR`` wrote (``KAM_LAKE``),
never a copy through this process. Needs Java (17) and pyspark 4.0.5; the
session binds to 127.0.0.1 and uses quick-start JVM options (see
``kam_core.engine.spark_session``). About half a minute on two cores, most of
it the JVM and the first query.
"""
from __future__ import annotations

import datetime as dt
import random
import shutil
from decimal import Decimal

import pandas as pd
import pytest

from kam_core import cli, engine
from kam_core.sales import figures as metrics
from kam_core.sales import tiers
from kam_core.sales.periods import Filters
from kam_core.settings import SETTINGS
from kam_core.store import open_store
from sales_lines import add_sales

pytestmark = [
    pytest.mark.spark,
    pytest.mark.slow,
    pytest.mark.skipif(shutil.which("java") is None, reason="Spark needs Java; no `java` on PATH"),
]
pytest.importorskip("pyspark", reason="pyspark is not installed (requirements-dev.txt pins 4.0.5)")

# The hand-worked edge cases (exact thresholds, ties, gap year, returns, unknown
# cost and profit) of tests/test_metrics.py.
from test_metrics import LINES as HAND_LINES, add_lines  # noqa: E402


def generated_lines(seed: int = 7) -> list[tuple]:
    rng = random.Random(seed)
    lines = []
    for year in (2023, 2024, 2025):
        for i in range(30):
            if (i + year) % 7 == 0:
                continue
            for _ in range(rng.randint(5, 25)):
                day = dt.date(year, 1, 1) + dt.timedelta(days=rng.randrange(365))
                amount = Decimal(str(round(rng.uniform(-0.05, 1) * 9_000_000 / (i + 1), 2)))
                cost = (amount * Decimal("0.8")).quantize(Decimal("0.01")) if rng.random() < 0.7 else None
                profit = amount - cost if cost is not None else None
                lines.append((day.isoformat(), f"客户{i:02d}", amount, cost, profit, rng.choice(["North", "South"])))
    return lines


def make_store(path, lines):
    s = open_store(path)
    add_lines(s, lines)
    # the lake beside the database file, where the Spark engine looks by default
    assert cli.main(["--db", str(path), "lake", "export", str(path.parent / "lake")]) == 0
    return s


@pytest.fixture(scope="module")
def stores(tmp_path_factory):
    made = [make_store(tmp_path_factory.mktemp("hand") / "hand.duckdb", HAND_LINES),
            make_store(tmp_path_factory.mktemp("gen") / "gen.duckdb", generated_lines())]
    yield made
    for s in made:
        s.close()


@pytest.fixture(scope="module")
def on_spark():
    """Run a figures call with ``KAM_ENGINE=spark``; stop the session at the end."""
    with pytest.MonkeyPatch.context() as mp:
        mp.setenv("SPARK_LOCAL_IP", "127.0.0.1")
        mp.delenv(engine.LAKE_ENV, raising=False)

        def run(call, *args, **kwargs):
            mp.setenv(engine.ENGINE_ENV, "spark")
            try:
                return call(*args, **kwargs)
            finally:
                mp.delenv(engine.ENGINE_ENV)

        yield run
    engine.stop_spark()


def defaults(**changes) -> dict:
    return {**{k: s.default for k, s in SETTINGS.items()}, **changes}


CASES = [
    ("sales basis", {}, None, None),
    ("cost basis", {}, "cost", None),
    ("fiscal April, filtered, moved thresholds",
     {"fiscal_start_month": 4, "tier_ordinary_min": 1_000_000, "abc_a_max": 0.6}, None, Filters(region=("North",))),
]


@pytest.mark.parametrize("which", [0, 1], ids=["hand-worked", "generated"])
@pytest.mark.parametrize("label,changes,basis,filters", CASES, ids=[c[0] for c in CASES])
def test_tier_table_on_spark_equals_duckdb(stores, on_spark, which, label, changes, basis, filters):
    store = stores[which]
    settings = defaults(**changes)
    duck = tiers.assign_tiers(store, 2025, basis=basis, filters=filters, settings=settings)
    spark = on_spark(tiers.assign_tiers, store, 2025, basis=basis, filters=filters, settings=settings)
    assert len(duck) > 0
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9, atol=1e-9)


def test_summary_months_and_years_on_spark_equal_duckdb(stores, on_spark):
    store = stores[1]
    assert on_spark(metrics.available_years, store) == metrics.available_years(store) == [2023, 2024, 2025]
    duck, spark = metrics.year_summary(store, 2025), on_spark(metrics.year_summary, store, 2025)
    assert spark == pytest.approx(duck, rel=1e-9)
    pd.testing.assert_frame_equal(on_spark(metrics.monthly_sales, store, 2025), metrics.monthly_sales(store, 2025),
                                  check_exact=False, rtol=1e-9)


def test_an_unfinished_year_on_spark_reads_the_part_month_from_the_lake_like_duckdb(stores, on_spark):
    store = stores[1]
    filters = Filters(region=("North",))
    duck = tiers.assign_tiers(store, 2025, filters=filters, period=_mid_june(store))
    spark = on_spark(tiers.assign_tiers, store, 2025, filters=filters, period=_mid_june(store))
    assert len(duck) > 0 and duck["yoy"].notna().any()
    pd.testing.assert_frame_equal(spark, duck, check_exact=False, rtol=1e-9, atol=1e-9)


def _mid_june(store):
    """2025 counted to 14 June against 2024 to 14 June, with later lines in the store: both windows end mid-month."""
    import dataclasses

    from kam_core.sales.periods import as_of_date, year_period

    return dataclasses.replace(year_period(2025, dt.date(2025, 6, 14), defaults()), as_of=as_of_date(store))


def test_spark_sees_a_new_import_once_the_lake_is_exported_again(stores, on_spark):
    store = stores[0]
    add_sales(store, ["date", "account", "amount"], [("2026-02-02", "Late", "1.00")], import_id=2)
    assert len(on_spark(tiers.assign_tiers, store, 2026)) == 0       # the lake is a snapshot
    assert cli.main(["--db", str(store.path), "lake", "export", str(store.path.parent / "lake")]) == 0
    assert list(on_spark(tiers.assign_tiers, store, 2026)["account"]) == ["Late"]
