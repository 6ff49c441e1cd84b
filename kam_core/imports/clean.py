"""Explicit parsers for text cells: numbers and dates, as DuckDB macros and Python twins.

The importer never lets a sniffer decide what a cell means. Every sheet arrives
as text, and the pipeline applies the macros installed by :func:`install_macros`
column-wise inside DuckDB (vectorised, no Python UDF on the hot path). The
functions :func:`parse_number` and :func:`parse_date` implement *the same rules*
in Python, built from the same regular expressions, for single values and tests.

Numbers — ``kam_number(txt) -> DOUBLE``:
    surrounding spaces/NBSP/ideographic space, a leading apostrophe (Excel
    text-number), full-width digits and ``．－＋，（）％￥``, currency ``¥ ￥ RMB CNY 元``
    anywhere, thousands separators (strict groups of three: ``1,234`` yes,
    ``1234,50`` no — a European decimal comma is *rejected*, never read as
    123450), ``(1,234.00)`` / ``（1,234.00）`` / ``1234.50-`` / ``100.20 CR``
    negatives, a leading ``+``, ``%`` (value / 100), scientific notation.
    A space between two digits (``12 34``) is rejected.

Empty markers (NULL, and "ok") — compared case-insensitively after trimming and
dropping a leading apostrophe: ``'' - -- — —— / 无 null n/a #n/a nan none`` and
the Excel error values ``#DIV/0! #REF! #VALUE! #NAME? #NUM! #NULL!`` (those are
*also* reported by the ``kam_excel_error(txt)`` macro so the pipeline can count
them per column, bad_inputs §1.8).

Dates — ``kam_date(txt, date_order) -> DATE`` (``kam_date1904`` for workbooks
in the 1904 date system):
    Excel serials (a plain number 1‥2958465 with an optional fraction; the
    1900 leap-year bug is honoured: 60 → NULL, 61 → 1900-03-01), ``yyyy-m-d``
    with ``- / .`` separators, ``yyyy年m月d日`` (or ``号``), ``yyyymmdd``, and the
    three-field forms whose first field is 1–2 digits, read by ``date_order``:
    ``dmy``/``mdy`` take ``d/m/yyyy`` or ``d/m/yy``; ``ymd`` takes ``yy/m/d``.
    Two-digit years are 20yy. A trailing weekday (``星期五``, ``周一``,
    ``(Mon)``, ``Monday``) is dropped and not trusted; a time part
    (``9:41``, ``12:30:00``, ``T12:30``, ``下午3:30``, ``pm``, ``Z``/``+08:00``) is
    ignored. Impossible dates (``2018-02-29``, month 13) are NULL, never
    rolled over. Years outside 1000‥9999 are NULL.
"""
from __future__ import annotations

import datetime as _dt
import math
import re
from dataclasses import dataclass, field

import duckdb

__all__ = [
    "DATE_ORDERS",
    "EMPTY_MARKERS",
    "EXCEL_ERRORS",
    "DateOrderChoice",
    "date_order_choice",
    "date_orders",
    "install_macros",
    "is_blank",
    "is_excel_error",
    "parse_date",
    "parse_number",
]

DATE_ORDERS: tuple[str, ...] = ("ymd", "dmy", "mdy")

EXCEL_ERRORS: tuple[str, ...] = ("#div/0!", "#ref!", "#value!", "#name?", "#num!", "#null!", "#n/a")
EMPTY_MARKERS: tuple[str, ...] = (
    "", "-", "--", "—", "——", "/", "无", "null", "n/a", "nan", "none",
) + EXCEL_ERRORS

# One translation table for both twins. Full-width forms and the odd minus/space
# characters become ASCII; BOM and zero-width characters are deleted.
_TR_FROM = "０１２３４５６７８９．－＋，（）％￥／：\u2212" + "\u00a0\u3000\u2009\u202f\t\r\n"
_TR_TO = "0123456789.-+,()%¥/:-" + " " * 7
_TR_DELETE = "\ufeff\u200b\u200c\u200d\u2060"
_TRANSLATE = {ord(a): b for a, b in zip(_TR_FROM, _TR_TO)}
_TRANSLATE.update({ord(c): None for c in _TR_DELETE})
assert len(_TR_FROM) == len(_TR_TO)

_APOSTROPHE_RE = "^' *"
_CURRENCY_RE = "(?i)rmb|cny|¥|元"
# Spaces next to a non-digit go ("¥ 1,234", "( 5 )", "100.20 CR"); spaces between
# digits stay and make the value invalid ("12 34" is not a number).
_NUM_SPACES_RE = " *([^0-9 ]) *"
_NUM_CORE = (
    r"(?:(?:[0-9]{1,3}(?:,[0-9]{3})+|[0-9]+)(?:\.[0-9]*)?|\.[0-9]+)(?:[eE][+-]?[0-9]+)?"
)
# Every accepted shape in one anchored pattern, so validation is a single DFA match
# (capture groups cost RE2 four times as much on a million rows): a sign, or
# parentheses, or a trailing minus/CR — at most one of them — and at most one %.
_NUM_RE = (
    rf"^(?:[+-]?{_NUM_CORE}%?|\({_NUM_CORE}(?:%?\)|\)%)|{_NUM_CORE}(?:%?(?:-|CR)|(?:-|CR)%))$"
)
_NUM_STRIP = "(),%+CR"  # removed before the cast; a leading/trailing '-' is trimmed too
# Plain numbers as the readers write them (repr(float), ints): no cleaning needed.
_NUM_FAST_RE = r"^-?[0-9]+(?:\.[0-9]+)?(?:[eE][+-]?[0-9]+)?$"
_NUM_FAST2_RE = r"^-?[0-9]{1,3}(?:,[0-9]{3})+(?:\.[0-9]+)?$"
_DATE_FAST_RE = r"^[1-9][0-9]{3}-[0-9]{2}-[0-9]{2}(?: [0-9]{2}:[0-9]{2}:[0-9]{2})?$"
# Year-first dates with a weekday or a time (POS and WPS exports); the general
# path gives the same result, only slower.
_DATE_FAST2_RE = (
    r"^[1-9][0-9]{3}[-/][0-9]{1,2}[-/][0-9]{1,2}"
    r"(?: (?:星期|周)[一二三四五六日天]| [0-9]{1,2}:[0-9]{2}(?::[0-9]{2})?)?$"
)

_WEEKDAY_RE = (
    r"(?i)[ ,]*\(?(?:(?:星期|周|礼拜)[一二三四五六日天七]|"
    r"(?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\.?)\)?$"
)
_TIME_RE = (
    r"(?i)(?:[ T]+|[ ]*(?:上午|下午|晚上|中午))(?:上午|下午|晚上|中午)?[0-9]{1,2}:[0-9]{2}"
    r"(?::[0-9]{2}(?:\.[0-9]+)?)?(?: ?[ap]\.?m\.?)?(?: ?(?:z|[+-][0-9]{2}:?[0-9]{2}))?$"
)
_SERIAL_RE = r"^[0-9]{1,7}(?:\.[0-9]+)?$"
_ISO_RE = r"^([1-9][0-9]{3})-([0-9]{1,2})-([0-9]{1,2})$"
_COMPACT_RE = r"^([1-9][0-9]{3})([0-9]{2})([0-9]{2})$"
_SHORT_Y4_RE = r"^([0-9]{1,2})-([0-9]{1,2})-([1-9][0-9]{3})$"
_SHORT_Y2_RE = r"^([0-9]{1,2})-([0-9]{1,2})-([0-9]{2})$"
_YMD_Y2_RE = r"^([0-9]{2})-([0-9]{1,2})-([0-9]{1,2})$"
# (pattern, replacement) per order for the forms whose first field is not a year.
_ORDER_FORMS: dict[str, list[tuple[str, str]]] = {
    "ymd": [(_YMD_Y2_RE, r"20\1-\2-\3")],
    "dmy": [(_SHORT_Y4_RE, r"\3-\2-\1"), (_SHORT_Y2_RE, r"20\3-\2-\1")],
    "mdy": [(_SHORT_Y4_RE, r"\3-\1-\2"), (_SHORT_Y2_RE, r"20\3-\1-\2")],
}
_SERIAL_MAX_1900 = 2958465  # 9999-12-31
_SERIAL_MAX_1904 = _SERIAL_MAX_1900 - 1462


def _sql_str(s: str) -> str:
    """A SQL string literal for one of this module's own constants (never user text)."""
    return "'" + s.replace("'", "''") + "'"


def _sql_list(items: tuple[str, ...] | list[str]) -> str:
    """A list literal for ``list_contains``: an ``IN (…)`` of six or more constants becomes a
    hash join per use in DuckDB, which costs ~0.15 s per column on a million rows."""
    return "[" + ", ".join(_sql_str(i) for i in items) + "]"


def _py_repl(r: str) -> str:
    """RE2 writes back-references as \\1, so does Python; kept as a seam if they ever differ."""
    return r


def _macro_sql() -> list[str]:
    tr_from = _sql_str(_TR_FROM + _TR_DELETE)
    tr_to = _sql_str(_TR_TO)
    tr_class = _sql_str("[" + _TR_FROM + _TR_DELETE + "]")
    empty = _sql_list(EMPTY_MARKERS)
    errors = _sql_list(EXCEL_ERRORS)
    order_cases = []
    for order, forms in _ORDER_FORMS.items():
        inner = " ".join(
            f"when regexp_full_match(d, {_sql_str(p)}) then regexp_replace(d, {_sql_str(p)}, {_sql_str(r)})"
            for p, r in forms
        )
        order_cases.append(f"when o = {_sql_str(order)} then (case {inner} end)")
    order_sql = " ".join(order_cases)
    return [
        # -- shared -------------------------------------------------------------
        # translate() with a long table costs ~1 s per million cells; run it only
        # on the cells that hold one of the characters it changes.
        f"""create or replace macro kam__prep(txt) as
            trim(regexp_replace(trim(
              case when regexp_matches(txt, {tr_class}) then translate(txt, {tr_from}, {tr_to}) else txt end),
              {_sql_str(_APOSTROPHE_RE)}, ''))""",
        f"create or replace macro kam__blank_prepped(p) as (p is null or list_contains({empty}, lower(p)))",
        "create or replace macro kam_is_blank(txt) as kam__blank_prepped(kam__prep(txt))",
        f"create or replace macro kam_excel_error(txt) as coalesce(list_contains({errors}, lower(kam__prep(txt))), false)",
        # -- numbers ------------------------------------------------------------
        # Lambdas over a one-element list bind an intermediate once: macros are
        # inlined, and DuckDB does not share repeated sub-expressions inside CASE.
        f"""create or replace macro kam__num_core(p) as
            trim(regexp_replace(regexp_replace(p, {_sql_str(_CURRENCY_RE)}, '', 'g'),
                                {_sql_str(_NUM_SPACES_RE)}, '\\1', 'g'))""",
        f"""create or replace macro kam__num_clean(c) as
            case when regexp_full_match(c, {_sql_str(_NUM_RE)}) then
              try_cast(trim(translate(c, {_sql_str(_NUM_STRIP)}, ''), '-') as double)
              * (case when starts_with(c, '-') or starts_with(c, '(')
                        or ends_with(rtrim(c, '%'), '-') or ends_with(rtrim(c, '%'), 'CR')
                      then -1.0 else 1.0 end)
              / (case when contains(c, '%') then 100.0 else 1.0 end)
            end""",
        # isfinite: "1e400" is text, not infinity; both twins refuse it.
        "create or replace macro kam__num_finite(v) as case when isfinite(v) then v end",
        # An empty cell (NULL) is settled first: the lambda below costs ~1 µs a cell even for
        # NULL (1M blank lines: 0.3 s a column).
        f"""create or replace macro kam_number(txt) as
            case when txt is null then null::double
                 when regexp_full_match(txt, {_sql_str(_NUM_FAST_RE)}) then kam__num_finite(try_cast(txt as double))
                 when regexp_full_match(txt, {_sql_str(_NUM_FAST2_RE)}) then try_cast(replace(txt, ',', '') as double)
                 else list_transform([kam__prep(txt)], lambda p:
                        case when kam__blank_prepped(p) then null
                             else list_transform([kam__num_core(p)], lambda c: kam__num_finite(kam__num_clean(c)))[1]
                        end)[1]
            end""",
        """create or replace macro kam_number_ok(txt) as
            (kam_number(txt) is not null or kam_is_blank(txt))""",
        # -- dates --------------------------------------------------------------
        f"""create or replace macro kam__date_strip(p) as
            regexp_replace(regexp_replace(regexp_replace(p,
                {_sql_str(_WEEKDAY_RE)}, ''), {_sql_str(_TIME_RE)}, ''), {_sql_str(_WEEKDAY_RE)}, '')""",
        """create or replace macro kam__date_seps(d) as
            replace(replace(translate(d, '年月/. ', '----'), '日', ''), '号', '')""",
        f"""create or replace macro kam__date_iso(d, o) as
            case
              when regexp_full_match(d, {_sql_str(_ISO_RE)}) then d
              when regexp_full_match(d, {_sql_str(_COMPACT_RE)})
                then regexp_replace(d, {_sql_str(_COMPACT_RE)}, '\\1-\\2-\\3')
              {order_sql}
            end""",
        f"""create or replace macro kam__date_serial(n, is1904) as
            case
              when is1904 then (
                case when n between 0 and {_SERIAL_MAX_1904} then date '1904-01-01' + cast(n as integer) end)
              when n between 1 and 59 then date '1899-12-31' + cast(n as integer)
              when n between 61 and {_SERIAL_MAX_1900} then date '1899-12-30' + cast(n as integer)
            end""",
        f"""create or replace macro kam__date_d(d, o, is1904) as
            case when regexp_full_match(d, {_sql_str(_SERIAL_RE)})
                   then kam__date_serial(floor(cast(d as double)), is1904)
                 else try_cast(kam__date_iso(kam__date_seps(d), o) as date) end""",
        f"""create or replace macro kam__date(txt, o, is1904) as
            case when txt is null then null::date
                 when regexp_full_match(txt, {_sql_str(_DATE_FAST_RE)}) then try_cast(left(txt, 10) as date)
                 when regexp_full_match(txt, {_sql_str(_SERIAL_RE)})
                   then kam__date_serial(floor(cast(txt as double)), is1904)
                 when regexp_full_match(txt, {_sql_str(_DATE_FAST2_RE)})
                   then try_cast(replace(split_part(txt, ' ', 1), '/', '-') as date)
                 else list_transform([kam__prep(txt)], lambda p:
                        case when kam__blank_prepped(p) then null
                             else list_transform([kam__date_strip(p)], lambda d: kam__date_d(d, o, is1904))[1]
                        end)[1]
            end""",
        "create or replace macro kam_date(txt, date_order) as kam__date(txt, date_order, false)",
        "create or replace macro kam_date1904(txt, date_order) as kam__date(txt, date_order, true)",
        """create or replace macro kam_date_ok(txt, date_order) as
            (kam_date(txt, date_order) is not null or kam_is_blank(txt))""",
        """create or replace macro kam_date1904_ok(txt, date_order) as
            (kam_date1904(txt, date_order) is not null or kam_is_blank(txt))""",
    ]


def install_macros(con: duckdb.DuckDBPyConnection, *, temporary: bool = False) -> None:
    """Create (or replace) the ``kam_*`` macros on ``con``; safe to call repeatedly.

    Public macros: ``kam_number(txt)``, ``kam_number_ok(txt)``,
    ``kam_date(txt, date_order)``, ``kam_date_ok(txt, date_order)``,
    ``kam_date1904(txt, date_order)``, ``kam_date1904_ok(txt, date_order)``,
    ``kam_is_blank(txt)`` (NULL or an empty marker) and ``kam_excel_error(txt)``.
    Macros named ``kam__*`` are internal.

    By default the macros are stored in the database (so every cursor of a
    store sees them, and a newer version simply replaces them). With
    ``temporary=True`` they live only in this connection's temp catalog — for
    read-only databases or throw-away connections.
    """
    kind = "create or replace temp macro" if temporary else "create or replace macro"
    for sql in _macro_sql():
        con.execute(sql.replace("create or replace macro", kind, 1))


# -- Python twins -------------------------------------------------------------

_re = {name: re.compile(pat) for name, pat in {
    "apos": _APOSTROPHE_RE, "cur": _CURRENCY_RE, "sp": _NUM_SPACES_RE, "num": _NUM_RE,
    "wd": _WEEKDAY_RE, "time": _TIME_RE, "serial": _SERIAL_RE, "iso": _ISO_RE,
    "compact": _COMPACT_RE,
}.items()}
_order_re = {o: [(re.compile(p), _py_repl(r)) for p, r in forms] for o, forms in _ORDER_FORMS.items()}
_EMPTY_SET = frozenset(EMPTY_MARKERS)
_NUM_STRIP_TABLE = {ord(ch): None for ch in _NUM_STRIP}
_ERROR_SET = frozenset(EXCEL_ERRORS)


def _prep(s: str) -> str:
    return _re["apos"].sub("", s.translate(_TRANSLATE).strip(" ")).strip(" ")


def is_blank(s: str | None) -> bool:
    """True for None and for the empty markers (``-``, ``无``, ``NULL``, ``#N/A`` …)."""
    return s is None or _prep(s).lower() in _EMPTY_SET


def is_excel_error(s: str | None) -> bool:
    """True for an Excel error value such as ``#DIV/0!`` or ``#N/A``."""
    return s is not None and _prep(s).lower() in _ERROR_SET


def parse_number(s: str | None) -> float | None:
    """Parse one number cell by the rules of ``kam_number``.

    Returns the float, or ``None`` for None and the empty markers. Raises
    ``ValueError`` when the text is non-empty and not a number (the case in
    which ``kam_number_ok`` is false).
    """
    if s is None:
        return None
    p = _prep(s)
    if p.lower() in _EMPTY_SET:
        return None
    c = _re["sp"].sub(r"\1", _re["cur"].sub("", p)).strip(" ")
    if not _re["num"].match(c):
        raise ValueError(f"not a number: {s!r}")
    v = float(c.translate(_NUM_STRIP_TABLE).strip("-"))
    if not math.isfinite(v):
        raise ValueError(f"not a number: {s!r}")
    bare = c.rstrip("%")
    if c.startswith(("-", "(")) or bare.endswith(("-", "CR")):
        v = v * -1.0
    if "%" in c:
        v = v / 100.0
    return v


def _date_strip(p: str) -> str:
    d = _re["wd"].sub("", p, count=1)
    d = _re["time"].sub("", d, count=1)
    return _re["wd"].sub("", d, count=1)


def _date_seps(d: str) -> str:
    for ch in "年月/. ":
        d = d.replace(ch, "-" if ch in "年月/." else "")
    return d.replace("日", "").replace("号", "")


def parse_date(s: str | None, order: str = "ymd", date1904: bool = False) -> _dt.date | None:
    """Parse one date cell by the rules of ``kam_date`` / ``kam_date1904``.

    Returns the date, or ``None`` for None, the empty markers *and* text that is
    not a valid date (like the macro, which returns NULL; use :func:`is_blank`
    to tell the two apart, as ``kam_date_ok`` does).
    """
    if order not in DATE_ORDERS:
        raise ValueError(f"date order must be one of {DATE_ORDERS}, not {order!r}")
    if s is None:
        return None
    p = _prep(s)
    if p.lower() in _EMPTY_SET:
        return None
    d = _date_strip(p)
    if _re["serial"].match(d):
        n = math.floor(float(d))
        if date1904:
            return _dt.date(1904, 1, 1) + _dt.timedelta(days=n) if 0 <= n <= _SERIAL_MAX_1904 else None
        if 1 <= n <= 59:
            return _dt.date(1899, 12, 31) + _dt.timedelta(days=n)
        if 61 <= n <= _SERIAL_MAX_1900:
            return _dt.date(1899, 12, 30) + _dt.timedelta(days=n)
        return None
    iso: str | None = None
    d = _date_seps(d)
    if _re["iso"].match(d):
        iso = d
    elif _re["compact"].match(d):
        iso = _re["compact"].sub(r"\1-\2-\3", d)
    else:
        for pat, rep in _order_re[order]:
            if pat.match(d):
                iso = pat.sub(rep, d)
                break
    if iso is None:
        return None
    y, m, dd = (int(x) for x in iso.split("-"))
    try:
        return _dt.date(y, m, dd)
    except ValueError:
        return None


# -- date order of a column ----------------------------------------------------

@dataclass(frozen=True)
class DateOrderChoice:
    """What the values of one text column say about its date order.

    ``possible``: the orders with the fewest unparseable non-empty values —
    normally the orders under which *every* value parses (``unparsed == 0``);
    a column with a few impossible dates (``2018-02-29``) still gets an order,
    and those rows are rejected per row by the pipeline.
    ``ambiguous``: True when two possible orders give different dates for at
    least one value (``03/04/2025``) — the pipeline must ask the user.
    ``examples``: up to five raw values that read differently (for the question).
    ``bad_counts``: unparseable non-empty values per order.
    ``order``: the order to use when not ambiguous (the first possible one in
    ``DATE_ORDERS``; every possible order gives the same dates then), else None.
    ``order_irrelevant``: all three orders fit and agree (ISO, 年月日, serials,
    or an empty column).
    """

    possible: frozenset[str]
    ambiguous: bool
    examples: list[str] = field(default_factory=list)
    bad_counts: dict[str, int] = field(default_factory=dict)

    @property
    def unparsed(self) -> int:
        """Non-empty values no possible order can read (0 when every value parses)."""
        return min(self.bad_counts.values()) if self.bad_counts else 0

    @property
    def order(self) -> str | None:
        if self.ambiguous:
            return None
        for o in DATE_ORDERS:
            if o in self.possible:
                return o
        return None

    @property
    def order_irrelevant(self) -> bool:
        return not self.ambiguous and self.possible == frozenset(DATE_ORDERS)


def _quote_ident(name: str) -> str:
    return '"' + name.replace('"', '""') + '"'


def date_order_choice(
    con: duckdb.DuckDBPyConnection, relation_sql: str, column: str, *, date1904: bool = False
) -> DateOrderChoice:
    """Decide which date orders fit ``column`` of ``relation_sql`` (a trusted name).

    The macros must be installed on ``con``. One aggregate query counts, per order,
    the values it cannot read and, per pair of orders, the values they read differently;
    a second query fetches examples only when the orders that fit disagree.
    """
    fn = "kam_date1904" if date1904 else "kam_date"
    col = _quote_ident(column)
    pairs = [(a, b) for i, a in enumerate(DATE_ORDERS) for b in DATE_ORDERS[i + 1:]]
    counts = con.execute(
        "select " + ", ".join([f"count(*) filter (where not blank and {o} is null)" for o in DATE_ORDERS]
                              + [f"count(*) filter (where not blank and {a} is distinct from {b})" for a, b in pairs])
        + f" from (select kam_is_blank({col}) as blank, "
        + ", ".join(f"{fn}({col}, '{o}') as {o}" for o in DATE_ORDERS) + f" from {relation_sql})").fetchone()
    bad_counts = dict(zip(DATE_ORDERS, (int(b) for b in counts[:len(DATE_ORDERS)])))
    differ = dict(zip(pairs, counts[len(DATE_ORDERS):]))
    fewest = min(bad_counts.values())
    possible = [o for o in DATE_ORDERS if bad_counts[o] == fewest]
    examples: list[str] = []
    disagree = [(a, b) for a, b in pairs if a in possible and b in possible and differ[(a, b)]]
    if disagree:
        test = " or ".join(f"{fn}({col}, '{a}') is distinct from {fn}({col}, '{b}')" for a, b in disagree)
        rows = con.execute(
            f"select distinct {col} from {relation_sql} where not kam_is_blank({col}) and ({test}) order by 1 limit 5"
        ).fetchall()
        examples = [r[0] for r in rows]
    return DateOrderChoice(frozenset(possible), bool(examples), examples, bad_counts)


def date_orders(con: duckdb.DuckDBPyConnection, relation_sql: str, column: str) -> set[str]:
    """The orders among ymd/dmy/mdy under which every non-empty value of the column parses."""
    choice = date_order_choice(con, relation_sql, column)
    return set(choice.possible) if choice.unparsed == 0 else set()
