"""Which engine runs the metrics: DuckDB (the store itself) or Apache Spark.

``metrics`` and ``tiers`` are Ibis expressions over one table, ``sales``; this
module hands them a backend and that table.

* ``KAM_ENGINE`` unset or ``duckdb``: an Ibis DuckDB backend on a *cursor of the
  store's own connection*. DuckDB lets only one process open the file
  read-write, and inside a process every connection must come from the same
  database instance, so a second ``duckdb.connect(path)`` is not an option. A
  cursor is a separate session on the same instance: it sees committed imports
  at once, and the session settings Ibis changes (time zone, no replacement
  scans) stay private to it instead of leaking into the store's cursors. One
  backend per (store, thread), because DuckDB cursors are not thread-safe.
* ``KAM_ENGINE=spark`` (a local ``local[2]`` session), ``spark://host:port``
  (a standalone master) or ``sc://host:port`` (Spark Connect): the ``sales``
  rows are copied out of the DuckDB store into a Spark temporary view
  (``kam_sales_<n>``, one per store) and copied again whenever the store's
  data version changes. That copy is meant for tests, benchmarks and modest
  data; a production cluster would register the same table from its own
  storage and reuse these expressions.
"""
from __future__ import annotations

import itertools
import os
import threading
import weakref
from typing import Any, Callable, Hashable

import pandas as pd

import ibis
from ibis.backends import BaseBackend

from .store import Store

ENGINE_ENV = "KAM_ENGINE"
SPARK_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

_local = threading.local()
_spark_lock = threading.Lock()
# Compiled SQL per query key: building and compiling an Ibis expression costs
# ~60–90 ms, more than the query itself on small and mid-sized data.
_compiled_sql: dict[Hashable, str] = {}
_COMPILED_SQL_MAX = 512
_view_numbers = itertools.count(1)
# store -> (data_version, backend) for Spark; one Spark session per process.
_spark_backends: "weakref.WeakKeyDictionary[Store, tuple[int, BaseBackend]]" = weakref.WeakKeyDictionary()


def _engine_value(engine: str | None) -> str:
    return (engine if engine is not None else os.environ.get(ENGINE_ENV, "")).strip()


def engine_name(engine: str | None = None) -> str:
    """``"duckdb"`` or ``"spark"`` for an engine string (default: ``KAM_ENGINE``)."""
    value = _engine_value(engine)
    if value in ("", "duckdb"):
        return "duckdb"
    if value == "spark" or value.startswith(("spark://", "sc://", "local")):
        return "spark"
    raise ValueError(f"{ENGINE_ENV}={value!r}: expected duckdb, spark, spark://host:port or sc://host:port")


def connect(store: Store, engine: str | None = None) -> BaseBackend:
    """The Ibis backend on which the metrics of ``store`` run.

    ``engine`` overrides ``KAM_ENGINE`` (same values). Backends are cached, so
    calling this on every page run is cheap.
    """
    if engine_name(engine) == "spark":
        return _spark_backend(store, _engine_value(engine))
    return _duckdb_backend(store)


def sales_table(backend: BaseBackend) -> ibis.Table:
    """The ``sales`` table as an Ibis expression on ``backend``.

    Cached on the backend: looking the table up costs a schema query, and the
    schema only changes through migrations, which run before any backend exists.
    """
    table = getattr(backend, "_kam_sales_table", None)
    if table is None:
        table = backend.table(getattr(backend, "_kam_sales_view", "sales"))
        backend._kam_sales_table = table
    return table


def execute(store: Store, key: Hashable, build: Callable[[], ibis.Table]) -> pd.DataFrame:
    """Run the table expression ``build()`` on the store's engine as a pandas frame.

    ``key`` must determine the expression completely (query name and every
    parameter that shapes it): on DuckDB the compiled SQL is kept under it, so
    repeated calls skip Ibis. Other engines compile each time.
    """
    backend = connect(store)
    if engine_name() != "duckdb":
        return backend.execute(build())
    sql = _compiled_sql.get(key)
    if sql is None:
        sql = str(backend.compile(build()))
        if len(_compiled_sql) >= _COMPILED_SQL_MAX:
            _compiled_sql.clear()
        _compiled_sql[key] = sql
    return backend.con.sql(sql).to_arrow_table().to_pandas()


# -- DuckDB -------------------------------------------------------------------
def _duckdb_backend(store: Store) -> BaseBackend:
    backends = getattr(_local, "duckdb", None)
    if backends is None:
        backends = _local.duckdb = weakref.WeakKeyDictionary()
    backend = backends.get(store)
    if backend is None:
        backend = ibis.duckdb.from_connection(store.connection.cursor())
        backends[store] = backend
    return backend


# -- Spark --------------------------------------------------------------------
def spark_session(master: str = "local[2]") -> Any:
    """A Spark session for ``master`` (``local[2]``, ``spark://…`` or ``sc://…``).

    Local sessions bind to 127.0.0.1 and use the quick-start JVM options, so a
    laptop without a resolvable host name or with little memory still starts.
    """
    from pyspark.sql import SparkSession

    if master.startswith("sc://"):
        return SparkSession.builder.remote(master).getOrCreate()
    builder = SparkSession.builder.master(master).appName("kam-dashboard")
    if master.startswith("local"):
        os.environ.setdefault("SPARK_LOCAL_IP", "127.0.0.1")
        builder = (
            builder.config("spark.driver.host", "127.0.0.1")
            .config("spark.driver.bindAddress", "127.0.0.1")
            .config("spark.ui.enabled", "false")
            .config("spark.sql.shuffle.partitions", "2")
            .config("spark.driver.extraJavaOptions", SPARK_JVM_OPTIONS)
            .config("spark.executor.extraJavaOptions", SPARK_JVM_OPTIONS)
        )
    # Dates must not shift with the machine's zone; Arrow makes the copy fast.
    builder = builder.config("spark.sql.session.timeZone", "UTC").config(
        "spark.sql.execution.arrow.pyspark.enabled", "true"
    )
    session = builder.getOrCreate()
    if not master.startswith("sc://"):
        # Every metrics query has whole-table windows; Spark warns about each one.
        session.sparkContext.setLogLevel("ERROR")
    return session


def _spark_backend(store: Store, engine: str) -> BaseBackend:
    master = "local[2]" if engine in ("", "spark") else engine
    version = store.data_version()
    with _spark_lock:
        cached = _spark_backends.get(store)
        if cached is not None and cached[0] == version:
            return cached[1]
        session = spark_session(master)
        arrow = store.connection.cursor().execute("select * from sales").to_arrow_table()
        frame = session.createDataFrame(arrow)
        # One session serves every store in the process: each gets its own view.
        view = f"kam_sales_{next(_view_numbers)}"
        frame.createOrReplaceTempView(view)
        if cached is not None:
            session.catalog.dropTempView(cached[1]._kam_sales_view)
        backend = ibis.pyspark.connect(session)
        backend._kam_sales_view = view
        _spark_backends[store] = (version, backend)
        return backend


def stop_spark() -> None:
    """Stop the local Spark session and forget the tables copied into it."""
    with _spark_lock:
        _spark_backends.clear()
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
