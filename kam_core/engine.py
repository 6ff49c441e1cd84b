"""Which engine runs the figures: DuckDB (the store itself) or Apache Spark.

The yearly figures (:mod:`kam_core.sales.figures`) are Ibis expressions over
the sales package's tables; this module hands them a backend and runs them.

* ``KAM_ENGINE`` unset or ``duckdb``: Ibis compiles the expressions on a
  DuckDB backend over a *cursor of the store's own connection* (DuckDB lets
  only one process open the file read-write, and inside a process every
  connection must come from the same database instance, so a second
  ``duckdb.connect(path)`` is not an option; the session settings Ibis changes
  stay private to that cursor). One backend per store, made once and used by
  one thread at a time, only to compile; the compiled SQL then runs on the
  calling thread's own cursor (``store.cursor()``). Making a backend costs
  ~0.5 s and looking a table up as much again, which a page's new script
  thread would otherwise pay on every rerun.
* ``KAM_ENGINE=spark`` (a local ``local[2]`` session), ``spark://host:port``
  (a standalone master) or ``sc://host:port`` (Spark Connect): Spark reads the
  lines and rollups where they live, the Parquet lake that
  ``python -m kam_core lake export DIR`` writes (``KAM_LAKE=DIR``; default
  ``lake/`` beside the database file). Nothing is copied through this process.

Queries are compiled once per *shape*: the parameters that only change values
(dates, filter lists, thresholds) are named placeholders bound at run time, so
a filter change or another year reuses the compiled SQL.
"""
from __future__ import annotations

import itertools
import json
import os
import threading
import weakref
from pathlib import Path
from typing import Any, Callable, Hashable, Mapping

import pandas as pd

import ibis
from ibis.backends import BaseBackend

from kam_core.store import Store

ENGINE_ENV = "KAM_ENGINE"
LAKE_ENV = "KAM_LAKE"
SPARK_JVM_OPTIONS = "-XX:TieredStopAtLevel=1 -XX:+UseSerialGC"

_duckdb_backends: "weakref.WeakKeyDictionary[Store, BaseBackend]" = weakref.WeakKeyDictionary()
_backend_lock = threading.Lock()
_compile_lock = threading.RLock()
_spark_lock = threading.Lock()
# Compiled SQL per query key: building and compiling an Ibis expression costs
# ~60–90 ms, more than the query itself on small and mid-sized data.
_compiled_sql: dict[Hashable, str] = {}
_COMPILED_SQL_MAX = 512
_view_numbers = itertools.count(1)
# lake directory -> (lake stamp, backend) for Spark; one Spark session per process.
_spark_backends: dict[str, tuple[str, BaseBackend]] = {}
_PARAM = "kamp_"


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


def table(backend: BaseBackend, name: str) -> ibis.Table:
    """Table ``name`` as an Ibis expression on ``backend`` (Spark: the lake's view of it).

    Cached on the backend: looking a table up costs a schema query, and the
    schema only changes through migrations, which run before any backend exists.
    """
    cache = backend.__dict__.setdefault("_kam_tables", {})
    found = cache.get(name)
    if found is None:
        found = cache[name] = backend.table(backend.__dict__.get("_kam_views", {}).get(name, name))
    return found


class Params:
    """The run-time values of a query, handed to its builder as Ibis expressions.

    On DuckDB each is a named placeholder (compiled once, bound at run time);
    on other engines it is the literal value.
    """

    def __init__(self, values: Mapping[str, Any], placeholders: bool):
        self.values = dict(values)
        self.placeholders = placeholders

    def __call__(self, name: str, type_: Any) -> ibis.Value:
        if name not in self.values:
            raise KeyError(f"no value for query parameter {name!r}")
        dtype = ibis.dtype(type_)
        if not self.placeholders:
            return ibis.literal(self.values[name], type=dtype)
        if dtype.is_array():
            return ibis.literal([_PARAM + name], type=dtype)
        return ibis.literal(_PARAM + name).cast(dtype)


def _bind(sql: str, values: Mapping[str, Any]) -> tuple[str, dict[str, Any]]:
    """Turn the placeholders Ibis wrote (``'kamp_x'``, ``['kamp_x']``) into ``$x`` and the values to bind."""
    used = {}
    for name, value in values.items():
        for text in (f"['{_PARAM}{name}']", f"'{_PARAM}{name}'"):
            if text in sql:
                sql = sql.replace(text, f"${name}")
                used[name] = list(value) if isinstance(value, (tuple, list)) else value
    return sql, used


def execute(store: Store, key: Hashable, build: Callable[[Params], ibis.Table],
            params: Mapping[str, Any] | None = None) -> pd.DataFrame:
    """Run the table expression ``build(p)`` on the store's engine as a pandas frame.

    ``key`` must determine the expression's *shape* completely (query name and
    every argument that changes its structure); ``params`` are the values the
    builder reads through ``p(name, type)``. On DuckDB the compiled SQL is kept
    under ``key`` and the values are bound, so repeated calls skip Ibis.
    """
    params = params or {}
    if engine_name() != "duckdb":
        return connect(store).execute(build(Params(params, placeholders=False)))
    bound_sql, values = _bind(compiled(store, key, build, params), params)
    # The compiled SQL runs on the calling thread's own cursor of the store: no Ibis on the way.
    return store.cursor().execute(bound_sql, values).to_arrow_table().to_pandas()


def compiled(store: Store, key: Hashable, build: Callable[[Params], ibis.Table],
             params: Mapping[str, Any] | None = None) -> str:
    """The DuckDB SQL of ``build`` with ``$name`` placeholders, compiled once per ``key`` (see :func:`execute`).

    Calling it ahead of time (a server's start) takes the 30–50 ms of Ibis out of a user's first view.
    """
    sql = _compiled_sql.get(key)
    if sql is None:
        with _compile_lock:   # one Ibis backend per store, used by one thread at a time
            sql = _compiled_sql.get(key)
            if sql is None:
                sql = str(_duckdb_backend(store).compile(build(Params(params or {}, placeholders=True))))
                if len(_compiled_sql) >= _COMPILED_SQL_MAX:
                    _compiled_sql.clear()
                _compiled_sql[key] = sql
    return sql


# -- DuckDB -------------------------------------------------------------------
def _duckdb_backend(store: Store) -> BaseBackend:
    """The store's Ibis backend, made once (~0.5 s, and as much again per table looked up).

    Only compiling uses it, under ``_compile_lock``: queries run on the calling thread's
    own cursor, so a page's new script thread never pays for a backend of its own.
    """
    with _backend_lock:
        backend = _duckdb_backends.get(store)
        if backend is None:
            backend = _duckdb_backends[store] = ibis.duckdb.from_connection(store.connection.cursor())
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


def source_stamp(store: Store) -> str:
    """What results of the figures depend on besides the store's data version: the engine, and Spark's lake."""
    if engine_name() == "duckdb":
        return "duckdb"
    stamp = lake_dir(store) / "_lake.json"
    return "spark:" + (stamp.read_text(encoding="utf-8") if stamp.exists() else "")


def lake_dir(store: Store) -> Path:
    """Where Spark reads the lines and rollups: ``KAM_LAKE``, else ``lake/`` beside the database file."""
    env = os.environ.get(LAKE_ENV)
    return Path(env) if env else Path(store.path).parent / "lake"


def _spark_backend(store: Store, engine: str) -> BaseBackend:
    master = "local[2]" if engine in ("", "spark") else engine
    lake = lake_dir(store)
    stamp_file = lake / "_lake.json"
    if not stamp_file.exists():
        raise FileNotFoundError(
            f"no Parquet lake at {lake}: run `python -m kam_core lake export {lake}` first (or set {LAKE_ENV})")
    stamp = stamp_file.read_text(encoding="utf-8")
    with _spark_lock:
        cached = _spark_backends.get(str(lake))
        if cached is not None and cached[0] == stamp:
            return cached[1]
        session = spark_session(master)
        number = next(_view_numbers)
        views = {}
        for name in json.loads(stamp)["tables"]:
            view = f"kam_{number}_{name}"
            session.read.parquet(str(lake / name)).createOrReplaceTempView(view)
            views[name] = view
        if cached is not None:
            for view in cached[1].__dict__.get("_kam_views", {}).values():
                session.catalog.dropTempView(view)
        backend = ibis.pyspark.connect(session)
        backend.__dict__["_kam_views"] = views
        _spark_backends[str(lake)] = (stamp, backend)
        return backend


def stop_spark() -> None:
    """Stop the local Spark session and forget the tables copied into it."""
    with _spark_lock:
        _spark_backends.clear()
        from pyspark.sql import SparkSession

        session = SparkSession.getActiveSession()
        if session is not None:
            session.stop()
