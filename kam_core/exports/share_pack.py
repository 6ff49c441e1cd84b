"""The data-sharing pack (policy §3.1): one account's own sales and inventory for a year, as a workbook.

Every figure is asked of :mod:`kam_core.sales.accounts`, narrowed to the
account; shares are of the account's own total, never of the company's, and
cost and profit (our margin) are left out.
"""
from __future__ import annotations

import datetime as dt
import io

from kam_core.exports.xlsx import (close_workbook, column_label, display_width, kv_rows, new_workbook, report_label,
                                   safe_text, unique_sheet_name, write_frame)
from kam_core.locales.labels import normalise_lang
from kam_core.permissions import SYSTEM, User, require
from kam_core.store import Store

TOP_SKUS = 50
"""Products listed on the Top SKUs sheet."""


class UnknownAccount(ValueError):
    """No sales were ever loaded for the account asked for (a typo must not give an empty pack)."""

    def __init__(self, account: str):
        self.account = account
        super().__init__(f"no account is called {account!r}")


def build_share_pack(store: Store, account: str, year: int, user: User = SYSTEM, lang: str = "zh") -> bytes:
    """One account's own sales and inventory for ``year`` (policy §3.1 data sharing), in ``lang``.

    Sheets: Summary, Monthly (sales, quantity, lines), By store, By region,
    Top SKUs, Returns (the negative lines), Inventory (latest snapshot with
    weeks of cover = qty on hand / average weekly qty over the
    :data:`kam_core.sales.accounts.COVER_WEEKS` weeks up to the snapshot).
    Raises :class:`UnknownAccount` (a ``ValueError``) for an account without sales.
    """
    from kam_core.sales import accounts as account_sales
    from kam_core.sales.periods import fiscal_year_bounds, resolve_settings

    require(user, "export_report")
    if not account_sales.has_account(store, account):
        raise UnknownAccount(account)
    lang = normalise_lang(lang)
    settings = resolve_settings(store, None)
    start, end = fiscal_year_bounds(year, int(settings["fiscal_start_month"]))
    total = account_sales.totals(store, account, start, end)
    monthly = account_sales.monthly(store, account, year, settings, years_back=0)[["month", "sales", "qty", "lines"]]
    by_store = account_sales.mix(store, account, year, "store", settings).rename(columns={"share": "share_of_account"})
    by_store = by_store[["store", "region", "sales", "qty", "share_of_account"]]
    by_region = account_sales.mix(store, account, year, "region", settings).rename(columns={"share": "share_of_account"})
    by_region = by_region[["region", "sales", "qty", "stores", "share_of_account"]]
    top_skus = account_sales.top_products(store, account, year, TOP_SKUS, settings).rename(
        columns={"share": "share_of_account"})[["sku", "product", "sales", "qty", "share_of_account"]]
    returns = account_sales.returns(store, account, start, end)
    inventory = account_sales.weeks_of_cover(store, account, account_sales.COVER_WEEKS, by_store=True,
                                             before=end).rename(columns={"weekly_qty": "avg_weekly_qty"})

    title = report_label("title.share_pack", lang, account=account, year=year)
    buffer = io.BytesIO()
    wb, formats = new_workbook(buffer, title)
    ws = wb.add_worksheet(unique_sheet_name(wb, report_label("sheet.summary", lang)))
    ws.write_string(0, 0, safe_text(title), formats.title)
    kv_rows(ws, formats, 2, [
        (report_label("label.account", lang), account, "text"),
        (report_label("label.year", lang), year, "int"),
        (report_label("label.period_start", lang), start, "date"),
        (report_label("label.period_end", lang), end, "date"),
        (column_label("sales", lang), total["sales"], "money"),
        (report_label("label.qty", lang), total["qty"], "qty"),
        (report_label("label.lines", lang), total["lines"], "int"),
        (report_label("label.generated_at", lang), dt.datetime.now().replace(microsecond=0), "datetime"),
    ])
    ws.set_column(0, 0, 20)
    ws.set_column(1, 1, max(24, display_width(account) + 2))
    for key, frame in (("sheet.monthly", monthly), ("sheet.by_store", by_store), ("sheet.by_region", by_region),
                       ("sheet.top_skus", top_skus), ("sheet.returns", returns)):
        write_frame(wb, formats, report_label(key, lang), frame, lang)
    if len(inventory):
        write_frame(wb, formats, report_label("sheet.inventory", lang), inventory, lang)
    else:
        ws_inv = wb.add_worksheet(unique_sheet_name(wb, report_label("sheet.inventory", lang)))
        ws_inv.write_string(0, 0, report_label("label.no_inventory", lang))
    return close_workbook(wb, buffer)
