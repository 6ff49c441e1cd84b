"""Excel and CSV exports: the tier report, the data-sharing pack, the dossier export.

Every workbook is written with xlsxwriter through one table writer
(:func:`write_table`), which is where the safety rules live:

* text cells go through :func:`safe_text` and ``write_string`` — a value that
  came from an uploaded file and starts with ``= + - @``, tab or CR gets a
  leading ``'`` (OWASP, CWE-1236) and is never written as a formula;
* numbers stay numbers, dates stay dates, each with a number format;
* a table longer than Excel's 1,048,576 rows continues on ``Name (2)``,
  ``Name (3)``… sheets, never cut;
* the header row is frozen, autofiltered and the columns are sized for CJK
  text (a wide character counts as two).

Workbooks are built on request (a click, a command), never on a page rerun;
big detail sheets stream row by row (``constant_memory``).

Labels come from :mod:`kam_core.locales.labels` where it has them (columns, tiers,
criteria); the report-only labels (sheet names, the Method sheet) are kept in
:data:`REPORT_LABELS` here.
"""
from __future__ import annotations

import datetime as dt
import hashlib
import io
import math
import re
import unicodedata
from dataclasses import dataclass
from typing import Any, Callable, Iterable, Iterator, Mapping, Sequence

import pandas as pd
import xlsxwriter
from xlsxwriter.workbook import Workbook
from xlsxwriter.worksheet import Worksheet

from kam_core import audit
from kam_core.locales.labels import has_label, join_items, normalise_lang, t
from kam_core.permissions import SYSTEM, User, can, require
from kam_core.safe_text import FORMULA_START, safe_text
from kam_core.store import Store

EXCEL_MAX_ROWS = 1_048_576
"""Rows per worksheet in Excel; longer tables continue on another sheet."""
SHEET_NAME_MAX = 31
MONEY_FORMAT = '"¥"#,##0.00'
RATIO_FORMAT = "0.00%"
DATE_FORMAT = "yyyy-mm-dd"
DATETIME_FORMAT = "yyyy-mm-dd hh:mm:ss"
INT_FORMAT = "#,##0"
QTY_FORMAT = "#,##0.###"
NUMBER_FORMAT = "#,##0.00"
TOP_SKUS = 50
COVER_WEEKS = 8
"""Weeks of sales that weeks of cover averages over (see ``sales.accounts.weeks_of_cover``)."""

_SHEET_NAME_BAD = re.compile(r"[\[\]:*?/\\]")

# Column kinds: how a column is written and formatted.
_MONEY = {"sales", "gross_profit", "cost", "amount", "to_next_tier", "basis_amount", "next_threshold",
          "amount_total", "profit_total", "stock_value", "budget", "target_amount", "spending_limit",
          "sales_without", "gross_profit_without", "old_price", "new_price", "value", "threshold"}
_RATIO = {"margin", "share", "profit_share", "cum_share", "yoy", "rebate_share", "share_of_account",
          "top1_share", "top10_share", "sales_drop_share", "profit_drop_share"}
_INT = {"year", "rank", "profit_rank", "lines", "lines_without_profit", "n_accounts", "id", "import_id",
        "rows_loaded", "rows_rejected", "rows_skipped", "rows_read", "accounts", "version", "skus", "goal_id"}
_QTY = {"qty", "qty_on_hand", "avg_weekly_qty"}
_NUMBER = {"weeks_of_cover", "hhi", "relationship"}
_DATE = {"date", "month", "snapshot_date", "date_min", "date_max", "held_on", "follow_up_on", "signed_on",
         "valid_from", "valid_to", "changed_on", "period_start", "period_end", "start", "end", "due_on"}
_DATETIME = {"generated_at", "imported_at", "updated_at"}

# Report-only labels: (zh, en). Columns, tiers and criteria come from i18n.
REPORT_LABELS: dict[str, tuple[str, str]] = {
    "title.tier_report": ("{year} 年度大客户分级报告", "Key account tier report {year}"),
    "title.share_pack": ("{account} · {year} 年度销售与库存数据共享", "{account} · sales and inventory {year}"),
    "title.dossier": ("{account} · 大客户档案", "{account} · key account dossier"),
    "sheet.summary": ("汇总", "Summary"),
    "sheet.top_sales": ("销售前十", "Top 10 by sales"),
    "sheet.top_profit": ("毛利前十", "Top 10 by profit"),
    "sheet.migration": ("级别变动", "Migration"),
    "sheet.near_boundary": ("临界客户", "Near boundary"),
    "sheet.attention": ("需要关注", "Needs attention"),
    "sheet.method": ("方法说明", "Method"),
    "sheet.monthly": ("月度销售", "Monthly"),
    "sheet.by_store": ("门店", "By store"),
    "sheet.by_region": ("区域", "By region"),
    "sheet.top_skus": ("商品排行", "Top SKUs"),
    "sheet.returns": ("退货", "Returns"),
    "sheet.inventory": ("库存", "Inventory"),
    "sheet.facts": ("企业信息", "Facts"),
    "sheet.contacts": ("联系人", "Contacts"),
    "sheet.negotiations": ("谈判记录", "Negotiations"),
    "sheet.agreements": ("协议", "Agreements"),
    "sheet.price_changes": ("价格变动", "Price changes"),
    "sheet.plans": ("营销计划", "Plans"),
    "sheet.goals": ("年度目标", "Goals"),
    "sheet.action_items": ("行动项", "Action items"),
    "sheet.table": ("数据", "Data"),
    "label.item": ("项目", "Item"),
    "label.value": ("数值", "Value"),
    "label.field": ("字段", "Field"),
    "label.tier": ("级别", "Tier"),
    "label.accounts": ("客户数", "Accounts"),
    "label.sales_per_tier": ("各级别销售额", "Sales per tier"),
    "label.imports": ("使用的导入批次", "Imports used"),
    "label.no_imports": ("（无）", "(none)"),
    "label.account": ("客户", "Account"),
    "label.year": ("年度", "Year"),
    "label.period_start": ("期间开始", "Period start"),
    "label.period_end": ("期间结束（不含）", "Period end (exclusive)"),
    "label.fiscal_start_month": ("财年起始月份", "Fiscal year start month"),
    "label.basis": ("分级依据", "Tier basis"),
    "label.threshold.strategic": ("战略性大客户下限（元）", "Strategic from (CNY)"),
    "label.threshold.partner": ("伙伴式大客户下限（元）", "Partner from (CNY)"),
    "label.threshold.ordinary": ("普通大客户下限（元）", "Ordinary from (CNY)"),
    "label.abc_a_max": ("A 类累计占比上限", "Class A: cumulative share before below"),
    "label.abc_b_max": ("B 类累计占比上限", "Class B: cumulative share before below"),
    "label.criteria_min_share": ("标准③最低占比", "Criterion 3 minimum share"),
    "label.criteria_top_n": ("标准②排名", "Criterion 2 rank within"),
    "label.generated_at": ("生成时间", "Generated at"),
    "label.filters": ("数据范围（筛选）", "Lines covered (filters)"),
    "label.counted_through": ("统计截至", "Counted through"),
    "label.compared_from": ("对比期间开始", "Compared with, from"),
    "label.compared_through": ("对比期间截至", "Compared with, through"),
    "label.tiers_under_filter": ("级别口径", "How tiers are graded"),
    "label.backtest_seasonal": ("季节性预测回测误差（前 {months} 个月推全年）", "Seasonal projection, backtest error from {months} months"),
    "label.backtest_naive": ("简单年化回测误差（前 {months} 个月推全年）", "Run rate, backtest error from {months} months"),
    "label.generated_by": ("生成人", "Generated by"),
    "label.qty": ("数量", "Quantity"),
    "label.lines": ("行数", "Lines"),
    "label.no_inventory": ("未导入该客户的库存数据。", "No inventory has been imported for this account."),
    "label.personal_included": ("含个人信息：仅限内部使用", "Includes personal data: internal use only"),
    "label.personal_omitted": ("不含联系人个人信息", "Contacts' personal details omitted"),
    "col.file_name": ("文件名", "File name"),
    "col.sha256": ("SHA-256", "SHA-256"),
    "col.rows_loaded": ("导入行数", "Rows loaded"),
    "col.amount_total": ("金额合计", "Amount total"),
    "col.date_min": ("最早日期", "First date"),
    "col.date_max": ("最晚日期", "Last date"),
    "col.imported_at": ("导入时间", "Imported at"),
    "col.id": ("编号", "ID"),
    "col.owner": ("大客户经理", "Owner"),
    "col.next_threshold": ("下一级下限", "Next threshold"),
    "col.qty": ("数量", "Quantity"),
    "col.store": ("门店", "Store"),
    "col.region": ("区域", "Region"),
    "col.sku": ("商品编码", "SKU"),
    "col.product": ("商品名称", "Product"),
    "col.amount": ("金额", "Amount"),
    "col.date": ("日期", "Date"),
    "col.share_of_account": ("占本客户销售", "Share of this account's sales"),
    "col.snapshot_date": ("库存日期", "Snapshot date"),
    "col.qty_on_hand": ("库存数量", "Qty on hand"),
    "col.stock_value": ("库存金额", "Stock value"),
    "col.avg_weekly_qty": ("近 8 周周均销量", "Avg weekly qty, last 8 weeks"),
    "col.weeks_of_cover": ("可售周数", "Weeks of cover"),
    "col.skus": ("商品数", "SKUs"),
    "col.role": ("角色", "Role"), "col.name": ("姓名", "Name"), "col.title": ("标题", "Title"),
    "col.phone": ("电话", "Phone"), "col.email": ("电子邮件", "E-mail"),
    "col.personal_notes": ("个人特点", "Personal notes"), "col.stores": ("门店数", "Stores"),
    "col.held_on": ("日期", "Date"), "col.topic": ("主题", "Topic"),
    "col.our_participants": ("我方参与人", "Our participants"),
    "col.their_participants": ("对方参与人", "Their participants"), "col.summary": ("摘要", "Summary"),
    "col.outcome": ("结果", "Outcome"), "col.follow_up_on": ("跟进日期", "Follow up on"),
    "col.signed_on": ("签订日期", "Signed on"), "col.valid_from": ("生效日期", "Valid from"),
    "col.valid_to": ("到期日期", "Valid to"), "col.terms": ("条款", "Terms"),
    "col.target_amount": ("目标金额", "Target amount"), "col.rebate_share": ("返利比例", "Rebate share"),
    "col.status": ("状态", "Status"), "col.changed_on": ("变动日期", "Changed on"),
    "col.old_price": ("原价", "Old price"), "col.new_price": ("新价", "New price"), "col.reason": ("原因", "Reason"),
    "col.period_start": ("开始", "Start"), "col.period_end": ("结束", "End"), "col.budget": ("预算", "Budget"),
    "col.notes": ("备注", "Notes"),
    "col.target_tier": ("目标级别", "Target tier"), "col.goal_id": ("所属目标编号", "Goal ID"),
    "col.due_on": ("截止日期", "Due on"), "col.kind": ("类型", "Kind"), "col.side": ("提供方", "Side"),
    "col.tier_prev": ("上年级别", "Tier last year"), "col.movement": ("变动", "Movement"),
    "col.c1": ("标准①", "Criterion 1"), "col.c2": ("标准②", "Criterion 2"), "col.c3": ("标准③", "Criterion 3"),
    "col.c4": ("标准④", "Criterion 4"), "col.c5": ("标准⑤", "Criterion 5"), "col.c6": ("标准⑥", "Criterion 6"),
}


def label(key: str, lang: str, **fmt: Any) -> str:
    """A report label: from :mod:`kam_core.locales.labels` when it has ``key``, else :data:`REPORT_LABELS`."""
    lang = normalise_lang(lang)
    if has_label(key):
        return t(key, lang, **fmt)
    zh, en = REPORT_LABELS.get(key, (key, key))
    text = zh if lang == "zh" else en
    return text.format(**fmt) if fmt else text


def column_label(column: str, lang: str) -> str:
    """The header for a column name (``col.<name>``), or the name itself."""
    key = f"col.{column}"
    if has_label(key) or key in REPORT_LABELS:
        return label(key, lang)
    return column


def download_name(kind: str, year: int | None, account: str | None = None, ext: str = "xlsx") -> str:
    """An ASCII-only file name such as ``kam_tier_report_2025.xlsx``.

    An account name adds its ASCII letters and digits (if any) and, whenever
    that loses characters (Chinese names), 8 hex digits of its SHA-256 so two
    accounts never share a name. The readable (Chinese) title is inside the
    workbook, not in the file name, because browsers and mail clients mangle
    non-ASCII names.
    """
    parts = ["kam", _slug(kind) or "export"]
    if account is not None:
        slug = _slug(account)[:40].strip("_")
        exact = slug and slug == account.strip().lower().replace(" ", "_")
        digest = hashlib.sha256(account.encode("utf-8")).hexdigest()[:8]
        parts.append(slug if exact else "_".join(p for p in (slug, digest) if p))
    if year is not None:
        parts.append(str(int(year)))
    return "_".join(parts) + "." + (_slug(ext) or "xlsx")


def _slug(text: str) -> str:
    ascii_text = unicodedata.normalize("NFKD", str(text)).encode("ascii", "ignore").decode("ascii")
    return re.sub(r"[^a-z0-9]+", "_", ascii_text.lower()).strip("_")


# -- the table writer -------------------------------------------------------------------
def display_width(text: str) -> int:
    """Columns a text takes in a spreadsheet: CJK wide and full-width characters count 2."""
    if text.isascii():
        return len(text)
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def column_kind(column: str, series: pd.Series | None = None) -> str:
    """How a column is written: money, ratio, int, qty, number, date, datetime or text.

    Known names decide first (so a ratio column full of NaN is still a ratio);
    otherwise the dtype does.
    """
    for kind, names in (("money", _MONEY), ("ratio", _RATIO), ("int", _INT), ("qty", _QTY),
                        ("number", _NUMBER), ("date", _DATE), ("datetime", _DATETIME)):
        if column in names:
            return kind
    if column.endswith("_share"):
        return "ratio"
    if series is not None:
        if pd.api.types.is_bool_dtype(series):
            return "text"
        if pd.api.types.is_integer_dtype(series):
            return "int"
        if pd.api.types.is_float_dtype(series):
            return "number"
        if pd.api.types.is_datetime64_any_dtype(series):
            return "datetime"
    return "text"


class Formats:
    """The number formats of one workbook, created once."""

    def __init__(self, wb: Workbook):
        self.header = wb.add_format({"bold": True, "bg_color": "#DDEBF7", "border": 1, "text_wrap": True,
                                     "valign": "top"})
        self.title = wb.add_format({"bold": True, "font_size": 14})
        self.bold = wb.add_format({"bold": True})
        self.by_kind: dict[str, Any] = {
            "money": wb.add_format({"num_format": MONEY_FORMAT}),
            "ratio": wb.add_format({"num_format": RATIO_FORMAT}),
            "int": wb.add_format({"num_format": INT_FORMAT}),
            "qty": wb.add_format({"num_format": QTY_FORMAT}),
            "number": wb.add_format({"num_format": NUMBER_FORMAT}),
            "date": wb.add_format({"num_format": DATE_FORMAT}),
            "datetime": wb.add_format({"num_format": DATETIME_FORMAT}),
            "text": None,
        }


_WIDTH_BY_KIND = {"money": 16, "ratio": 10, "int": 8, "qty": 10, "number": 10, "date": 11, "datetime": 19}
_WIDTH_SAMPLE = 2000  # rows looked at to size text columns; the rest follow the same data


def _is_missing(value: Any) -> bool:
    if value is None or value is pd.NA or value is pd.NaT:
        return True
    return isinstance(value, float) and value != value


def _cell_writer(ws: Worksheet, kind: str, fmt: Any) -> Callable[[int, int, Any], Any]:
    """A function writing one non-missing value of a column of ``kind``."""
    write_string, write_number, write_datetime = ws.write_string, ws.write_number, ws.write_datetime

    def as_text(r: int, c: int, v: Any) -> Any:
        if v.__class__ is not str:
            if isinstance(v, (int, float)) and not isinstance(v, bool):
                return write_number(r, c, v)
            v = v.isoformat() if isinstance(v, (dt.date, dt.datetime)) else str(v)
        if v.startswith(FORMULA_START):
            v = "'" + v
        return write_string(r, c, v)

    if kind == "text":
        return as_text

    def as_number(r: int, c: int, v: Any) -> Any:
        try:
            v = float(v)
        except (TypeError, ValueError):
            return as_text(r, c, v)
        if math.isinf(v):
            return None
        return write_number(r, c, v, fmt)

    if kind in ("date", "datetime"):
        def as_date(r: int, c: int, v: Any) -> Any:
            if isinstance(v, pd.Timestamp):
                v = v.to_pydatetime()
            if isinstance(v, (dt.date, dt.datetime)):
                return write_datetime(r, c, v, fmt)
            return as_text(r, c, v)
        return as_date
    return as_number


def _sheet_name(wb: Workbook, wanted: str) -> str:
    """A valid, unused sheet name close to ``wanted`` (Excel: ≤ 31 chars, no []:*?/\\)."""
    base = _SHEET_NAME_BAD.sub("_", wanted).strip("'") or "Sheet"
    base = base[:SHEET_NAME_MAX]
    taken = {name.lower() for name in wb.sheetnames}
    name, n = base, 2
    while name.lower() in taken:
        suffix = f" ({n})"
        name = base[: SHEET_NAME_MAX - len(suffix)] + suffix
        n += 1
    return name


@dataclass
class _Sheet:
    ws: Worksheet
    first_data_row: int
    last_row: int


def write_table(
    wb: Workbook,
    formats: Formats,
    sheet_name: str,
    columns: Sequence[str],
    rows: Iterable[Sequence[Any]],
    *,
    kinds: Sequence[str] | None = None,
    headers: Sequence[str] | None = None,
    title: str | None = None,
    ws: Worksheet | None = None,
    start_row: int = 0,
    freeze: bool = True,
) -> list[Worksheet]:
    """Write a table (header + rows) to a new sheet and return the sheet(s) used.

    ``kinds`` per column (see :func:`column_kind`; default from the names),
    ``headers`` the visible header texts (default: the column names). With a
    ``title`` the first row holds it and the header follows. Rows beyond
    Excel's limit continue on ``sheet_name (2)``… with the header repeated.
    The header row is frozen and autofiltered and the columns are sized.
    Passing ``ws`` (and ``start_row``) writes below existing content of that
    sheet instead of creating one; such a table is not split. ``freeze=False``
    leaves the panes alone (a table low on a sheet would freeze half the screen).
    """
    kinds = list(kinds) if kinds is not None else [column_kind(c) for c in columns]
    headers = list(headers) if headers is not None else list(columns)
    n_cols = len(columns)
    sheets: list[_Sheet] = []
    widths = [display_width(str(h)) for h in headers]
    sampled = 0

    def open_sheet() -> _Sheet:
        if ws is not None and not sheets:
            sheet, row = ws, start_row
        else:
            sheet, row = wb.add_worksheet(_sheet_name(wb, sheet_name)), 0
        if title:
            sheet.write_string(row, 0, safe_text(title), formats.title)
            row += 1
        for c, h in enumerate(headers):
            sheet.write_string(row, c, safe_text(str(h)), formats.header)
        return _Sheet(sheet, row + 1, row)

    current = open_sheet()
    sheets.append(current)
    writers = [_cell_writer(current.ws, k, formats.by_kind[k]) for k in kinds]
    r = current.first_data_row
    for values in rows:
        if r >= EXCEL_MAX_ROWS:
            if ws is not None:
                raise ValueError(f"table {sheet_name!r} does not fit below row {start_row}; "
                                 f"Excel allows {EXCEL_MAX_ROWS:,} rows")
            current.last_row = r - 1
            current = open_sheet()
            sheets.append(current)
            writers = [_cell_writer(current.ws, k, formats.by_kind[k]) for k in kinds]
            r = current.first_data_row
        for c, v in enumerate(values):
            if v is None or v != v:  # None or NaN (frame_rows turned NA/NaT into None)
                continue
            writers[c](r, c, v)
        if sampled < _WIDTH_SAMPLE:
            sampled += 1
            for c, v in enumerate(values):
                if kinds[c] == "text" and v.__class__ is str:
                    w = display_width(v) + (1 if v.startswith(FORMULA_START) else 0)
                    if w > widths[c]:
                        widths[c] = w
        r += 1
    current.last_row = r - 1

    for s in sheets:
        header_row = s.first_data_row - 1
        if freeze:
            s.ws.freeze_panes(s.first_data_row, 0)
        s.ws.autofilter(header_row, 0, max(s.last_row, header_row), max(n_cols - 1, 0))
        for c in range(n_cols):
            floor = _WIDTH_BY_KIND.get(kinds[c], 6)
            s.ws.set_column(c, c, min(max(widths[c], floor) + 2, 80))
    return [s.ws for s in sheets]


def frame_rows(df: pd.DataFrame) -> Iterator:
    """The rows of a frame as tuples of plain Python values, column by column (fast)."""
    columns = []
    for name in df.columns:
        s = df[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            values = [None if pd.isna(v) else v.to_pydatetime() for v in s]
        elif s.dtype.kind == "f":
            values = s.tolist()  # NaN is skipped by the writer
        else:  # nullable and object columns: pd.NA / NaT / NaN become None
            values = [None if m else v for v, m in zip(s.tolist(), s.isna().tolist())]
        columns.append(values)
    return zip(*columns) if columns else iter(())


def write_frame(wb: Workbook, formats: Formats, sheet_name: str, df: pd.DataFrame, lang: str,
                **options: Any) -> list[Worksheet]:
    """:func:`write_table` for a DataFrame, with localised headers and kinds from names/dtypes."""
    columns = [str(c) for c in df.columns]
    kinds = [column_kind(c, df[c]) for c in df.columns]
    headers = [column_label(c, lang) for c in columns]
    return write_table(wb, formats, sheet_name, columns, frame_rows(df), kinds=kinds, headers=headers, **options)


def _new_workbook(buffer: io.BytesIO, title: str, *, constant_memory: bool = True) -> tuple[Workbook, Formats]:
    # constant_memory streams each row to a temp file: memory stays flat for big
    # detail sheets; strings are written inline instead of shared.
    wb = xlsxwriter.Workbook(buffer, {"constant_memory": constant_memory, "strings_to_formulas": False,
                                     "strings_to_numbers": False, "strings_to_urls": False,
                                     "default_date_format": DATE_FORMAT})
    wb.set_properties({"title": title, "comments": "KAM Dashboard"})
    return wb, Formats(wb)


def _close(wb: Workbook, buffer: io.BytesIO) -> bytes:
    wb.close()
    return buffer.getvalue()


def table_to_xlsx_bytes(df: pd.DataFrame, sheet_name: str = "Data", lang: str = "zh") -> bytes:
    """One table as an xlsx workbook: formats, frozen header, autofilter, split past Excel's row limit."""
    buffer = io.BytesIO()
    wb, formats = _new_workbook(buffer, sheet_name)
    write_frame(wb, formats, sheet_name, df, lang)
    return _close(wb, buffer)


def table_to_csv_bytes(df: pd.DataFrame) -> bytes:
    """A table as CSV that Chinese Excel opens: UTF-8 with BOM, CRLF, formula-safe text cells.

    Numbers are written as numbers; text cells go through :func:`safe_text`;
    dates as ``YYYY-MM-DD``.
    """
    out = df.copy()
    for name in out.columns:
        s = out[name]
        if pd.api.types.is_datetime64_any_dtype(s):
            continue
        if not (pd.api.types.is_numeric_dtype(s) or pd.api.types.is_bool_dtype(s)):
            out[name] = s.astype(object).map(safe_text)
    text = out.to_csv(index=False, lineterminator="\r\n", date_format="%Y-%m-%d")
    return text.encode("utf-8-sig")


# -- tier report ----------------------------------------------------------------------------
def _kv_rows(ws: Worksheet, formats: Formats, row: int, items: Sequence[tuple[str, Any, str]]) -> int:
    """Key/value rows (label, value, kind) from ``row``; returns the next free row."""
    for text, value, kind in items:
        ws.write_string(row, 0, safe_text(text), formats.bold)
        if not _is_missing(value):
            _cell_writer(ws, kind, formats.by_kind[kind])(row, 1, value)
        row += 1
    return row


def _owners(store: Store) -> pd.DataFrame:
    rows = store.cursor().execute("select name, owner from accounts where deleted_at is null").fetchall()
    return pd.DataFrame(rows, columns=["account", "owner"], dtype=object)


def imports_used(store: Store, start: dt.date, end: dt.date, kind: str = "sales") -> pd.DataFrame:
    """Loaded imports of ``kind`` whose date range overlaps [start, end), oldest first."""
    rows = store.cursor().execute(
        "select id, file_name, sha256, rows_loaded, cast(amount_total as double), date_min, date_max, imported_at"
        " from imports where status = 'loaded' and kind = ? and date_min < ? and date_max >= ? order by id",
        [kind, end, start],
    ).fetchall()
    return pd.DataFrame(rows, columns=["id", "file_name", "sha256", "rows_loaded", "amount_total",
                                       "date_min", "date_max", "imported_at"], dtype=object)


def build_tier_report(
    store: Store,
    year: int,
    lang: str = "zh",
    user: User = SYSTEM,
    settings: Mapping[str, Any] | None = None,
    filters: Any = None,
    today: dt.date | None = None,
) -> bytes:
    """The tier report workbook for ``year`` (issue 6), for the lines ``filters`` keep (all by default).

    Sheets: Summary (KPIs, accounts and sales per tier with a column chart),
    one per tier (the tier table with owner and criteria), Top 10 by sales,
    Top 10 by profit, Migration (Y−1 → Y), Near boundary, Needs attention
    (:mod:`kam_core.attention` for every account, as of ``today``, default
    the day it is built) and Method (thresholds, basis, fiscal year, ABC
    cut-offs, the imports used, when).
    The tier table's values are those of :func:`kam_core.tiers.tier_csv`.
    """
    from kam_core import dossier
    from kam_core.sales import figures, periods, projection, tiers  # here: CSV helpers stay importable without ibis

    require(user, "export_report")
    lang = normalise_lang(lang)
    settings = periods.resolve_settings(store, settings)
    table = tiers.assign_tiers(store, year, settings=settings, filters=filters)
    summary = figures.year_summary(store, year, settings=settings, table=table, filters=filters)
    migration = tiers.tier_migration(store, year, settings=settings, table=table, filters=filters)
    people = _owners(store)
    criteria = tiers.criteria_checklist(store, year, settings=settings, scores=dossier.scores_frame(store),
                                        table=table, filters=filters)[["account", *tiers.CRITERIA]]
    for c in criteria.columns:
        if c != "account":  # pass / fail / unknown → 满足 / 不满足 / 未评分
            criteria[c] = [label(f"crit.{v}", lang) if has_label(f"crit.{v}") else v for v in criteria[c]]
    near = tiers.near_boundary(table)
    start, end = periods.fiscal_year_bounds(year, int(settings["fiscal_start_month"]))
    period = periods.period_of(store, year, settings)
    backtest = projection.backtest(store, settings)
    backtest = backtest[backtest["year"].isna()]
    generated_at = dt.datetime.now().replace(microsecond=0)

    title = label("title.tier_report", lang, year=year)
    buffer = io.BytesIO()
    wb, formats = _new_workbook(buffer, title, constant_memory=False)

    # Summary
    ws = wb.add_worksheet(_sheet_name(wb, label("sheet.summary", lang)))
    ws.write_string(0, 0, title, formats.title)
    kpis = [
        (label("kpi.sales", lang), summary.get("sales"), "money"),
        (label("kpi.gross_profit", lang), summary.get("gross_profit"), "money"),
        (label("kpi.margin", lang), summary.get("margin"), "ratio"),
        (label("kpi.n_accounts", lang), summary.get("n_accounts"), "int"),
        (label("kpi.top1_share", lang), summary.get("top1_share"), "ratio"),
        (label("kpi.top10_share", lang), summary.get("top10_share"), "ratio"),
        (label("kpi.hhi", lang), summary.get("hhi"), "number"),
        (label("kpi.lines", lang), summary.get("lines"), "int"),
        (label("kpi.lines_without_profit", lang), summary.get("lines_without_profit"), "int"),
    ]
    row = _kv_rows(ws, formats, 2, kpis)
    row += 1
    tier_header_row = row
    for c, h in enumerate([label("label.tier", lang), label("label.accounts", lang),
                           column_label("sales", lang), column_label("share", lang)]):
        ws.write_string(row, c, h, formats.header)
    total_sales = float(table["sales"].sum()) if len(table) else 0.0
    codes = tiers.tier_codes(table)
    shown_tiers = tiers.tiers_in(table)
    for tier in shown_tiers:
        row += 1
        part = table[codes == tier]
        sales = float(part["sales"].sum())
        ws.write_string(row, 0, label(f"tier.{tier}", lang))
        ws.write_number(row, 1, len(part), formats.by_kind["int"])
        ws.write_number(row, 2, sales, formats.by_kind["money"])
        if total_sales:
            ws.write_number(row, 3, sales / total_sales, formats.by_kind["ratio"])
    ws.set_column(0, 0, max(display_width(k[0]) for k in kpis) + 4)
    ws.set_column(1, 3, 18)
    chart = wb.add_chart({"type": "column"})
    sheet_ref = ws.get_name()
    chart.add_series({
        "name": label("label.sales_per_tier", lang),
        "categories": [sheet_ref, tier_header_row + 1, 0, tier_header_row + len(shown_tiers), 0],
        "values": [sheet_ref, tier_header_row + 1, 2, tier_header_row + len(shown_tiers), 2],
        "data_labels": {"value": True, "num_format": MONEY_FORMAT},
    })
    chart.set_title({"name": label("label.sales_per_tier", lang)})
    chart.set_legend({"none": True})
    chart.set_y_axis({"num_format": '"¥"#,##0'})
    ws.insert_chart(2, 5, chart, {"x_scale": 1.3, "y_scale": 1.2})

    # One sheet per tier: the tier table, owner and criteria
    crit_cols = [c for c in criteria.columns if c != "account"]
    detail = table[tiers.TIER_COLUMNS].merge(people[["account", "owner"]], on="account", how="left")
    detail = detail.merge(criteria, on="account", how="left")
    detail["owner"] = detail["owner"].astype(object).where(detail["owner"].notna(), None)
    crit_headers = [label(f"crit.{c[1:]}.short", lang) if has_label(f"crit.{c[1:]}.short") else c
                    for c in crit_cols]
    detail_codes = tiers.tier_codes(detail)
    for tier in shown_tiers:
        part = detail[detail_codes == tier]
        columns = list(part.columns)
        headers = [column_label(c, lang) for c in tiers.TIER_COLUMNS] + [label("dossier.owner", lang)] + crit_headers
        write_table(wb, formats, label(f"tier.{tier}", lang), columns, frame_rows(part),
                    kinds=[column_kind(c, part[c]) for c in columns], headers=headers)

    top_cols = ["rank", "account", "sales", "gross_profit", "margin", "share", "profit_share", "profit_rank", "tier"]
    write_frame(wb, formats, label("sheet.top_sales", lang), table.sort_values("rank").head(10)[top_cols], lang)
    by_profit = table[table["profit_rank"].notna()].sort_values("profit_rank").head(10)
    write_frame(wb, formats, label("sheet.top_profit", lang),
                by_profit[["profit_rank", "account", "gross_profit", "margin", "profit_share", "sales", "share",
                           "rank", "tier"]], lang)
    write_frame(wb, formats, label("sheet.migration", lang), migration, lang)
    write_frame(wb, formats, label("sheet.near_boundary", lang),
                near[["account", "rank", "tier", "basis_amount", "next_threshold", "to_next_tier", "sales", "share"]],
                lang)
    _attention_sheet(wb, formats, store, user, year, today or dt.date.today(), settings, people, lang)

    # Method
    ws = wb.add_worksheet(_sheet_name(wb, label("sheet.method", lang)))
    ws.write_string(0, 0, title, formats.title)
    basis = str(settings["tier_basis"])
    items = [
        (label("label.year", lang), year, "int"),
        (label("label.fiscal_start_month", lang), int(settings["fiscal_start_month"]), "int"),
        (label("label.period_start", lang), start, "date"),
        (label("label.period_end", lang), end, "date"),
        (label("label.counted_through", lang), period.through, "date"),
        (label("label.compared_from", lang), period.prev_start, "date"),
        (label("label.compared_through", lang), period.prev_through, "date"),
        (label("label.basis", lang), label(f"tier.basis.{basis}", lang), "text"),
        (label("label.threshold.strategic", lang), settings["tier_strategic_min"], "money"),
        (label("label.threshold.partner", lang), settings["tier_partner_min"], "money"),
        (label("label.threshold.ordinary", lang), settings["tier_ordinary_min"], "money"),
        (label("label.abc_a_max", lang), settings["abc_a_max"], "ratio"),
        (label("label.abc_b_max", lang), settings["abc_b_max"], "ratio"),
        (label("label.criteria_top_n", lang), settings["criteria_top_n"], "int"),
        (label("label.criteria_min_share", lang), settings["criteria_min_share"], "ratio"),
        (label("label.filters", lang), _filters_text(filters, lang), "text"),
        *([(label("label.tiers_under_filter", lang), label("filters.tier_note", lang, scope=join_items(
            [label(f"filters.scope.{d}", lang) for d in filters.active()], lang)), "text")] if filters else []),
        *[item for r in backtest.itertuples() for item in (
            (label("label.backtest_seasonal", lang, months=int(r.months)), r.seasonal_mape, "ratio"),
            (label("label.backtest_naive", lang, months=int(r.months)), r.naive_mape, "ratio"))],
        (label("label.generated_at", lang), generated_at, "datetime"),
        (label("label.generated_by", lang), user.name, "text"),
    ]
    row = _kv_rows(ws, formats, 2, items) + 1
    ws.write_string(row, 0, label("label.imports", lang), formats.bold)
    used = imports_used(store, start, end)
    write_frame(wb, formats, "", used, lang, ws=ws, start_row=row + 1, freeze=False)
    ws.set_column(0, 0, max(display_width(i[0]) for i in items) + 4)
    ws.set_column(1, 1, 22)
    ws.set_column(2, 2, 66)  # the sha256
    return _close(wb, buffer)


def _attention_sheet(wb: Workbook, formats: Formats, store: Store, user: User, year: int, today: dt.date,
                     settings: Mapping[str, Any], people: pd.DataFrame, lang: str) -> None:
    """The needs-attention list of every account: account, owner, reason and the figure behind it (in yuan)."""
    from kam_core import attention

    items = attention.attention_items(store, user, year, today, settings=settings)
    frame = attention.attention_frame(items, lang, "yuan").merge(people, on="account", how="left")
    frame["owner"] = frame["owner"].astype(object).where(frame["owner"].notna(), None)
    columns = ["account", "owner", "reason", "figure"]
    write_table(wb, formats, label("sheet.attention", lang), columns, frame_rows(frame[columns]),
                kinds=["text"] * 4, headers=[column_label("account", lang), label("dossier.owner", lang),
                                             label("attention.col.reason", lang), label("attention.col.figure", lang)])


def _filters_text(filters: Any, lang: str) -> str:
    """Which lines the report covers, e.g. ``区域: 华东; 品类: 饮料`` — or all of them."""
    parts = [f"{label(f'sidebar.{name}', lang)}: {', '.join(getattr(filters, name))}"
             for name in ("region", "category", "store") if filters is not None and getattr(filters, name)]
    return "; ".join(parts) if parts else label("sidebar.all", lang)


# -- data-sharing pack ------------------------------------------------------------------------
def build_share_pack(store: Store, account: str, year: int, user: User = SYSTEM) -> bytes:
    """One account's own sales and inventory for ``year`` (policy §3.1 data sharing).

    Sheets: Summary, Monthly (sales, quantity, lines), By store, By region,
    Top SKUs, Returns (the negative lines), Inventory (latest snapshot with
    weeks of cover = qty on hand / average weekly qty over the
    :data:`COVER_WEEKS` weeks up to the snapshot). Every query is narrowed to
    ``account``; shares are of the account's own total, never of the
    company's, and cost and profit (our margin) are left out.
    """
    from kam_core.sales import accounts as account_sales
    from kam_core.sales.periods import fiscal_year_bounds, resolve_settings

    require(user, "export_report")
    if not account_sales.has_account(store, account):
        # a typo must not produce an empty pack that looks like an account with no sales
        raise ValueError(f"no account is called {account!r}")
    lang = "zh"
    settings = resolve_settings(store, None)
    start, end = fiscal_year_bounds(year, int(settings["fiscal_start_month"]))
    total = account_sales.totals(store, account, start, end)
    total_sales, total_qty, n_lines = total["sales"], total["qty"], total["lines"]
    monthly = account_sales.monthly(store, account, year, settings, years_back=0)[["month", "sales", "qty", "lines"]]
    by_store = account_sales.mix(store, account, year, "store", settings).rename(columns={"share": "share_of_account"})
    by_store = by_store[["store", "region", "sales", "qty", "share_of_account"]]
    by_region = account_sales.mix(store, account, year, "region", settings).rename(columns={"share": "share_of_account"})
    by_region = by_region[["region", "sales", "qty", "stores", "share_of_account"]]
    top_skus = account_sales.top_products(store, account, year, TOP_SKUS, settings).rename(
        columns={"share": "share_of_account"})[["sku", "product", "sales", "qty", "share_of_account"]]
    returns = account_sales.returns(store, account, start, end)
    inventory = account_sales.weeks_of_cover(store, account, COVER_WEEKS, by_store=True, before=end).rename(
        columns={"weekly_qty": "avg_weekly_qty"})

    title = label("title.share_pack", lang, account=account, year=year)
    buffer = io.BytesIO()
    wb, formats = _new_workbook(buffer, title)
    ws = wb.add_worksheet(_sheet_name(wb, label("sheet.summary", lang)))
    ws.write_string(0, 0, safe_text(title), formats.title)
    _kv_rows(ws, formats, 2, [
        (label("label.account", lang), account, "text"),
        (label("label.year", lang), year, "int"),
        (label("label.period_start", lang), start, "date"),
        (label("label.period_end", lang), end, "date"),
        (column_label("sales", lang), total_sales, "money"),
        (label("label.qty", lang), total_qty, "qty"),
        (label("label.lines", lang), n_lines, "int"),
        (label("label.generated_at", lang), dt.datetime.now().replace(microsecond=0), "datetime"),
    ])
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, max(24, display_width(account) + 2))
    for key, frame in (("sheet.monthly", monthly), ("sheet.by_store", by_store), ("sheet.by_region", by_region),
                       ("sheet.top_skus", top_skus), ("sheet.returns", returns)):
        write_frame(wb, formats, label(key, lang), frame, lang)
    if len(inventory):
        write_frame(wb, formats, label("sheet.inventory", lang), inventory, lang)
    else:
        ws_inv = wb.add_worksheet(_sheet_name(wb, label("sheet.inventory", lang)))
        ws_inv.write_string(0, 0, label("label.no_inventory", lang))
    return _close(wb, buffer)


# -- dossier export -------------------------------------------------------------------------
_RECORD_COLUMNS = {  # kind -> columns exported, in order (ids, versions and audit columns left out)
    "contacts": ("role", "name", "title", "authority", "influence", "relationship",
                 "spending_limit", "phone", "email", "personal_notes"),
    "negotiations": ("held_on", "topic", "our_participants", "their_participants", "summary", "outcome",
                     "follow_up_on"),
    "agreements": ("title", "signed_on", "valid_from", "valid_to", "terms", "target_amount", "category",
                   "rebate_share", "status"),
    "price_changes": ("changed_on", "product", "old_price", "new_price", "reason"),
    "plans": ("kind", "side", "title", "period_start", "period_end", "budget", "status", "notes"),
    "goals": ("year", "title", "target_tier", "status", "notes"),
    "action_items": ("title", "goal_id", "owner", "due_on", "status", "notes"),
}
_FACT_FIELDS = ("name", "owner", "backup_owner", "phone", "address", "fax", "email", "website",
                "org_structure", "history", "business_goals", "direction", "product_positioning", "competitors",
                "own_suppliers", "resources", "market_share", "industry_rank", "main_products", "price_policy",
                "score_brand_awareness", "score_cooperation", "score_supply_priority",
                "score_new_product_priority", "updated_by", "updated_at")
_FACT_LABEL_KEYS = {"name": "label.account", "owner": "dossier.owner", "backup_owner": "dossier.backup_owner",
                    "own_suppliers": "dossier.suppliers"}


def _fact_label(field: str, lang: str) -> str:
    if field in _FACT_LABEL_KEYS:
        return label(_FACT_LABEL_KEYS[field], lang)
    for key in (f"dossier.{field}", f"dossier.score.{field.removeprefix('score_')}", f"col.{field}"):
        if has_label(key):
            return label(key, lang)
    return field


def _record_header(kind: str, column: str, lang: str) -> str:
    key = f"contact.{column}"
    if kind == "contacts" and has_label(key):
        return label(key, lang)
    return column_label(column, lang)


def _value_kind(value: Any) -> str:
    if isinstance(value, dt.datetime):
        return "datetime"
    if isinstance(value, dt.date):
        return "date"
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        return "number"
    return "text"


def build_dossier_export(store: Store, account: str, user: User, include_personal: bool = False,
                         lang: str = "zh") -> bytes:
    """One account's dossier as xlsx: facts, contacts, negotiations, agreements, price changes, plans.

    Contacts' personal fields (:data:`kam_core.dossier.PERSONAL_FIELDS`: phone,
    e-mail, personal notes, spending limit) are in the file only when
    ``include_personal`` is asked for *and* the user may ``export_personal`` on
    this account (a director, or its owner / backup owner); such an export is
    recorded in the audit log (action ``export``). Otherwise those columns are
    left out, not blanked. Reading goes through :mod:`kam_core.dossier`, which
    checks ``read_dossier``.
    """
    from kam_core import dossier

    lang = normalise_lang(lang)
    facts = dossier.get_account(store, user, account) or {"name": account}
    owner, backup = facts.get("owner"), facts.get("backup_owner")
    personal = include_personal and can(user, "export_personal", owner=owner, backup_owner=backup)

    title = label("title.dossier", lang, account=account)
    buffer = io.BytesIO()
    wb, formats = _new_workbook(buffer, title)
    ws = wb.add_worksheet(_sheet_name(wb, label("sheet.facts", lang)))
    ws.write_string(0, 0, safe_text(title), formats.title)
    ws.write_string(1, 0, label("label.personal_included" if personal else "label.personal_omitted", lang))
    _kv_rows(ws, formats, 3, [(_fact_label(f, lang), facts.get(f), _value_kind(facts.get(f))) for f in _FACT_FIELDS])
    ws.set_column(0, 0, 30)
    ws.set_column(1, 1, 60)

    for kind, wanted in _RECORD_COLUMNS.items():
        frame = dossier.list_records(store, user, account, kind)
        cols = [c for c in wanted if c in frame.columns
                and (personal or kind != "contacts" or c not in dossier.PERSONAL_FIELDS)]
        write_table(wb, formats, label(f"sheet.{kind}", lang), cols, frame_rows(frame[cols]),
                    kinds=[column_kind(c, frame[c]) for c in cols],
                    headers=[_record_header(kind, c, lang) for c in cols])

    data = _close(wb, buffer)
    if personal:
        with store.transaction() as tx:
            audit.record(tx, user.name, "export", "accounts", account, field="personal",
                         new=download_name("dossier", None, account))
    return data
