"""The one gateway to DuckDB: connection, schema, numbered migrations, cursors.

Every other module asks a :class:`Store` for a cursor (one per call or per
thread, all from one shared connection) and owns the SQL of its own tables.
Migrations are plain SQL strings applied in order and recorded in
``schema_migrations``; a migration never changes once it has landed.
"""
from __future__ import annotations

import contextlib
import os
import threading
from pathlib import Path
from typing import Iterator

import duckdb

PROJECT_ROOT = Path(__file__).resolve().parent.parent
DEFAULT_DB = PROJECT_ROOT / "data" / "kam.duckdb"

MIGRATIONS: list[str] = [
    # 1: import batches, sales facts, aliases, mapping profiles, settings
    """
    create sequence if not exists import_id_seq start 1;
    create table imports (
        id integer primary key,
        kind varchar not null default 'sales',          -- sales | inventory
        file_name varchar not null,
        sha256 varchar not null,
        sheets varchar not null,                         -- JSON list of sheet names
        file_format varchar,
        encoding varchar,
        delimiter varchar,
        header_row integer,
        title varchar,                                   -- title rows above the header
        mapping varchar,                                 -- JSON {field: header}
        unit varchar,                                    -- yuan | thousand | wan
        account_from varchar,                            -- supplier | brand | product-prefix
        date_order varchar,
        rows_read integer not null default 0,
        rows_loaded integer not null default 0,
        rows_skipped integer not null default 0,
        rows_rejected integer not null default 0,
        amount_total decimal(18,2),
        profit_total decimal(18,2),
        date_min date,
        date_max date,
        report varchar,                                  -- JSON validation report
        imported_by varchar,
        imported_at timestamp not null default current_timestamp,
        status varchar not null default 'loaded',        -- loaded | undone
        undone_at timestamp
    );
    create table sales (
        import_id integer not null,
        source_sheet varchar,
        source_row integer,
        date date not null,
        account varchar not null,                        -- canonical account name
        account_raw varchar,                             -- the name as the export spelled it
        supplier varchar,
        brand varchar,
        category varchar,
        store varchar,
        region varchar,
        sku varchar,
        product varchar,
        qty decimal(18,3),
        -- Yuan with 4 decimals: real exports carry sub-cent line amounts (129.696), and
        -- rounding each line to cents would stop the file total reconciling.
        amount decimal(18,4) not null,
        cost decimal(18,4),
        profit decimal(18,4),
        unit_price decimal(18,4)
    );
    create table inventory (
        import_id integer not null,
        source_sheet varchar,
        source_row integer,
        snapshot_date date not null,
        account varchar not null,
        account_raw varchar,
        sku varchar,
        product varchar,
        store varchar,
        qty_on_hand decimal(18,3),
        stock_value decimal(18,4)
    );
    create table account_aliases (
        alias_key varchar primary key,                   -- normalised raw name
        alias varchar not null,                          -- a raw spelling as first seen
        account varchar not null,
        created_at timestamp not null default current_timestamp
    );
    create table mapping_profiles (
        signature varchar primary key,                   -- normalised header signature
        mapping varchar not null,                        -- JSON {field: header}
        options varchar,                                 -- JSON {unit, account_from, date_order}
        used_count integer not null default 1,
        updated_at timestamp not null default current_timestamp
    );
    create table settings (
        key varchar primary key,
        value varchar not null,                          -- JSON
        updated_at timestamp not null default current_timestamp
    );
    create table data_version (
        id integer primary key,
        version bigint not null
    );
    insert into data_version values (1, 1);
    """,
    # 2: dossiers (policy §4), win-win marketing plans (§5), users and the audit log
    """
    create sequence if not exists record_id_seq start 1;
    create table users (
        name varchar primary key,
        role varchar not null,                           -- director | manager | viewer
        password_hash varchar,
        email varchar,
        disabled boolean not null default false,
        failed_logins integer not null default 0,
        locked_until timestamp,
        created_at timestamp not null default current_timestamp
    );
    create table accounts (
        name varchar primary key,                        -- canonical account name (= sales.account)
        owner varchar,                                   -- users.name of the key account manager
        backup_owner varchar,
        phone varchar, address varchar, fax varchar, email varchar, website varchar,
        org_structure varchar, history varchar, business_goals varchar, direction varchar,
        product_positioning varchar, competitors varchar, own_suppliers varchar, resources varchar,
        market_share varchar, industry_rank varchar, main_products varchar, price_policy varchar,
        score_brand_awareness integer, score_cooperation integer,
        score_supply_priority integer, score_new_product_priority integer,
        exchange_checklist varchar,                      -- JSON of policy §5 steps 1–2 items
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table contacts (
        id integer primary key,
        account varchar not null,
        role varchar not null,
        name varchar not null,
        title varchar, authority varchar, spending_limit decimal(18,2),
        phone varchar, email varchar, personal_notes varchar,
        influence varchar, relationship integer,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table negotiations (
        id integer primary key,
        account varchar not null,
        held_on date not null,
        topic varchar not null,
        our_participants varchar, their_participants varchar,
        summary varchar, outcome varchar, follow_up_on date,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table agreements (
        id integer primary key,
        account varchar not null,
        title varchar not null,
        signed_on date, valid_from date, valid_to date,
        terms varchar, target_amount decimal(18,2), rebate_share double,
        status varchar,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table price_changes (
        id integer primary key,
        account varchar not null,
        changed_on date not null,
        product varchar,
        old_price decimal(18,4), new_price decimal(18,4),
        reason varchar,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table plans (
        id integer primary key,
        account varchar not null,
        kind varchar not null,
        side varchar not null,                           -- ours | theirs
        title varchar,
        period_start date, period_end date,
        budget decimal(18,2),
        status varchar,
        notes varchar,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table audit_log (
        id bigint primary key,
        happened_at timestamp not null default current_timestamp,
        who varchar,
        action varchar not null,                         -- insert | update | delete | restore | sign_in | sign_in_failed | export
        table_name varchar,
        record_key varchar,
        field varchar,
        old_value varchar,
        new_value varchar
    );
    create sequence if not exists audit_id_seq start 1;
    """,
    # 3: rollups of the sales lines, maintained by kam_core.sales.rollup inside every
    # import's, undo's and alias merge's own transaction (derived data: sales.rollup.rebuild
    # makes them again from the lines). Sums are exact decimals; NULL where no line had a value.
    # DECIMAL(18,4) like the lines, not (38,4): summing 128-bit decimals is 3× slower, and one
    # import's month of one account in one store and category stays far below 10^14 yuan.
    """
    create table sales_daily (
        import_id integer not null,
        date date not null,
        account varchar not null,
        amount decimal(18,4) not null,                   -- Σ amount
        profit decimal(18,4),                            -- Σ profit over lines whose profit is known
        known_amount decimal(18,4),                      -- Σ amount over those same lines
        cost decimal(18,4),                              -- Σ cost over lines whose cost is known
        qty decimal(18,3),
        lines bigint not null,
        lines_with_profit bigint not null
    );
    create table sales_monthly (
        import_id integer not null,
        month date not null,                             -- first day of the calendar month
        account varchar not null,
        region varchar,
        store varchar,
        category varchar,
        amount decimal(18,4) not null,
        profit decimal(18,4),
        known_amount decimal(18,4),
        cost decimal(18,4),
        qty decimal(18,3),
        lines bigint not null,
        lines_with_profit bigint not null
    );
    create table sales_by_region (
        import_id integer not null,
        month date not null,
        account varchar not null,
        region varchar,
        category varchar,
        amount decimal(18,4) not null,
        profit decimal(18,4),
        known_amount decimal(18,4),
        cost decimal(18,4),
        qty decimal(18,3),
        lines bigint not null,
        lines_with_profit bigint not null
    );
    create table sales_by_sku (
        import_id integer not null,
        month date not null,
        account varchar not null,
        sku varchar,
        region varchar,
        category varchar,
        product varchar,                                 -- a name its lines gave (one of them, if several)
        amount decimal(18,4) not null,
        profit decimal(18,4),
        qty decimal(18,3),
        lines bigint not null
    );
    insert into sales_by_sku
    select import_id, date_trunc('month', date)::date, account, sku, region, category, any_value(product), sum(amount),
           sum(profit), sum(qty), count(*)
    from sales group by import_id, date_trunc('month', date), account, sku, region, category;
    insert into sales_daily
    select import_id, date, account, sum(amount), sum(profit), sum(amount) filter (where profit is not null),
           sum(cost), sum(qty), count(*), count(profit)
    from sales group by import_id, date, account;
    insert into sales_monthly
    select import_id, date_trunc('month', date)::date, account, region, store, category, sum(amount), sum(profit),
           sum(amount) filter (where profit is not null), sum(cost), sum(qty), count(*), count(profit)
    from sales group by all;
    insert into sales_by_region
    select import_id, month, account, region, category, sum(amount), sum(profit), sum(known_amount), sum(cost), sum(qty),
           sum(lines), sum(lines_with_profit)
    from sales_monthly group by all;
    """,
    # 4: scheduled reports (kam_core/schedules.py) and their run log
    """
    create table schedules (
        name varchar primary key,
        cadence varchar not null,                        -- monthly | weekly
        day integer not null,                            -- monthly: 1–28, 0 = last day; weekly: 0 = Monday … 6
        at_time varchar not null,                        -- HH:MM, the server's local time
        report varchar not null,                         -- tier_report | share_pack
        account varchar,                                 -- the share pack's account
        year varchar not null default 'current',         -- current | previous (of the run's date)
        lang varchar not null default 'zh',
        filters varchar not null default '{}',           -- JSON {region: [], category: [], store: []}
        folder varchar,
        recipients varchar not null default '[]',        -- JSON list of e-mail addresses
        enabled boolean not null default true,
        created_by varchar,
        created_at timestamp not null default current_timestamp,
        updated_at timestamp not null default current_timestamp
    );
    create sequence if not exists schedule_run_id_seq start 1;
    create table schedule_runs (
        id integer primary key,
        schedule varchar not null,
        due_at timestamp,                                -- the fire time this run answers (none for a run by hand)
        trigger varchar not null,                        -- time | missed | manual | command
        started_at timestamp not null,
        finished_at timestamp not null,
        report varchar not null,
        year integer,
        file_name varchar,
        delivered_to varchar not null default '[]',      -- JSON list: folder paths and mail addresses
        status varchar not null,                         -- ok | failed
        error varchar
    );
    """,
    # 5: sign-in sessions, so that a sign-out, a disabled user, a changed password and an idle
    # timeout hold across restarts (kam_core.auth owns this table)
    """
    create table sessions (
        token_hash varchar primary key,                  -- SHA-256 of the cookie's token, never the token
        user_name varchar not null,                      -- users.name
        created_at timestamp not null,
        last_seen_at timestamp not null,                 -- written at most once a minute
        ended_at timestamp,
        end_reason varchar                               -- sign_out | idle_timeout | expired | password | disabled | replaced
    );
    """,
    # 6: the account plan (policy §5: goals for the year and action items, kept like the other
    # dossier records by kam_core.dossier), a category on agreements for per-category targets,
    # and saved views (kam_core.saved_views: a named page with its filters and year)
    """
    alter table agreements add column category varchar;    -- the target counts this category only (null: all)
    create table goals (
        id integer primary key,
        account varchar not null,
        year integer not null,                           -- the (fiscal) year the goal is for
        title varchar not null,
        target_tier varchar,                             -- strategic | partner | ordinary: the tier the goal aims at
        status varchar,                                  -- open | achieved | missed | dropped
        notes varchar,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create table action_items (
        id integer primary key,
        account varchar not null,
        title varchar not null,
        goal_id integer,                                 -- goals.id of the same account (optional)
        owner varchar,                                   -- users.name of who does it
        due_on date,
        status varchar,                                  -- open | in_progress | done | cancelled
        notes varchar,
        version integer not null default 1,
        deleted_at timestamp,
        updated_by varchar,
        updated_at timestamp not null default current_timestamp
    );
    create sequence if not exists saved_view_id_seq start 1;
    create table saved_views (
        id integer primary key,
        owner varchar not null,                          -- users.name of who saved it
        name varchar not null,
        page varchar not null,                           -- the page's url path (overview, rankings, …)
        params varchar not null default '{}',            -- JSON {year, region: [], category: [], store: [], mine}
        created_at timestamp not null default current_timestamp,
        unique (owner, name)
    );
    """,
]


# DuckDB's buffer limit while an import loads its lines (see Store.load_memory_budget).
LOAD_MEMORY_LIMIT = "256MB"


def resolve_db_path(path: str | os.PathLike | None = None) -> Path:
    """The database file to use: an explicit path, else ``KAM_DB``, else the default."""
    if path:
        return Path(path)
    env = os.environ.get("KAM_DB")
    return Path(env) if env else DEFAULT_DB


class Store:
    """One DuckDB database: a shared connection and a cursor per thread."""

    def __init__(self, path: str | os.PathLike | None = None, *, read_only: bool = False):
        self.path = resolve_db_path(path) if path != ":memory:" else Path(":memory:")
        if str(self.path) != ":memory:":
            self.path.parent.mkdir(parents=True, exist_ok=True)
        self._con = duckdb.connect(str(self.path), read_only=read_only)
        threads = os.environ.get("KAM_DB_THREADS", "").strip()
        if threads:                       # a cap for a shared machine (README); DuckDB's default: one per core
            count = int(threads) if threads.isascii() and threads.isdigit() else 0
            if count < 1:
                self._con.close()
                raise ValueError(f"KAM_DB_THREADS must be a whole number of threads, 1 or more, not {threads!r}")
            self._con.execute("set threads = ?", [count])
        self._local = threading.local()
        self._write_lock = threading.RLock()
        self._budget_lock = threading.Lock()
        self._budget_users = 0
        if not read_only:
            self.migrate()

    # -- connections -----------------------------------------------------
    @property
    def connection(self) -> duckdb.DuckDBPyConnection:
        """The shared connection; prefer :meth:`cursor` in code that may run on threads."""
        return self._con

    def cursor(self) -> duckdb.DuckDBPyConnection:
        """A cursor for the calling thread (DuckDB cursors are not thread-safe)."""
        cur = getattr(self._local, "cursor", None)
        if cur is None:
            cur = self._con.cursor()
            self._local.cursor = cur
        return cur

    @contextlib.contextmanager
    def transaction(self, cursor: duckdb.DuckDBPyConnection | None = None) -> Iterator[duckdb.DuckDBPyConnection]:
        """A fresh cursor (or the given one, left open) inside BEGIN … COMMIT; ROLLBACK on any exception.

        Writers are serialised by a lock so two imports cannot interleave.
        """
        with self._write_lock:
            cur = cursor if cursor is not None else self._con.cursor()
            cur.execute("begin transaction")
            try:
                yield cur
            except BaseException:
                cur.execute("rollback")
                if cursor is None:
                    cur.close()
                raise
            cur.execute("commit")
            if cursor is None:
                cur.close()

    @contextlib.contextmanager
    def load_memory_budget(self, limit: str = LOAD_MEMORY_LIMIT) -> Iterator[None]:
        """Hold DuckDB's buffers to ``limit`` while a big file loads, then give the default back.

        Loading a million lines otherwise keeps ~400 MB of written blocks cached
        in DuckDB's buffer pool; with the limit they are evicted as they are
        written (measured: peak 740 → 570 MB, no slower). Queries running at the
        same moment share the limit (DuckDB spills to disk beyond it). Nested and
        concurrent loads share one budget; the last one out resets it.
        """
        with self._budget_lock:
            self._budget_users += 1
            if self._budget_users == 1:
                self._con.execute(f"set memory_limit = '{limit}'")
        try:
            yield
        finally:
            with self._budget_lock:
                self._budget_users -= 1
                if self._budget_users == 0:
                    self._con.execute("reset memory_limit")

    @contextlib.contextmanager
    def finishing(self, cursor: duckdb.DuckDBPyConnection) -> Iterator[duckdb.DuckDBPyConnection]:
        """Finish the transaction already begun on ``cursor``: COMMIT after the block, ROLLBACK on any exception.

        Serialised with :meth:`transaction` by the same lock.
        """
        with self._write_lock:
            try:
                yield cursor
                cursor.execute("commit")
            except BaseException:
                try:
                    cursor.execute("rollback")
                except duckdb.Error:
                    pass  # a failed COMMIT has already rolled back
                raise

    def close(self) -> None:
        self._con.close()

    # -- schema ----------------------------------------------------------
    def migrate(self) -> int:
        """Apply every migration not yet applied; returns the schema version."""
        cur = self._con.cursor()
        cur.execute(
            "create table if not exists schema_migrations ("
            " version integer primary key, applied_at timestamp default current_timestamp)"
        )
        done = {r[0] for r in cur.execute("select version from schema_migrations").fetchall()}
        applied = False
        for number, sql in enumerate(MIGRATIONS, start=1):
            if number in done:
                continue
            cur.execute("begin transaction")
            try:
                cur.execute(sql)
                cur.execute("insert into schema_migrations (version) values (?)", [number])
            except BaseException:
                cur.execute("rollback")
                raise
            cur.execute("commit")
            applied = True
        if applied:
            # Fold the schema changes into the file now: DuckDB 1.5.6 cannot replay an ALTER TABLE
            # ADD COLUMN on a table with a default expression from the WAL ("GetDefaultDatabase
            # with no default database set"), so a process killed before its next checkpoint
            # would leave a file nobody can open.
            cur.execute("checkpoint")
        cur.close()
        return len(MIGRATIONS)

    # -- data version: changes on every import, undo or settings change --
    def data_version(self) -> int:
        return int(self.cursor().execute("select version from data_version where id = 1").fetchone()[0])

    @staticmethod
    def bump_data_version(cur: duckdb.DuckDBPyConnection) -> None:
        """Call inside the writing transaction so readers see data and version together."""
        cur.execute("update data_version set version = version + 1 where id = 1")


def open_store(path: str | os.PathLike | None = None, *, read_only: bool = False) -> Store:
    """Open (and migrate) the database at ``path`` / ``KAM_DB`` / ``data/kam.duckdb``."""
    return Store(path, read_only=read_only)
