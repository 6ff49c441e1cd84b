"""How tables look on the pages: localised headers, amounts in one readable scale per column, ratios as %.

Cells are shown through :mod:`kam_core.locales.formatting` (Babel): thousands
separators, "—" for none (never "None"/"nan"), while the frame under them
keeps numbers, so a column still sorts by value. Every table's amounts are in
the same scale (万元, M CNY in English, or yuan by the setting). The unit of an amount
column goes in the header's help (the tooltip), not in its title, and every
column gets a width that fits its header and its widest cell, so nothing is
cut with "…" on a 1,280 px screen.
"""
from __future__ import annotations

from typing import Any, Callable, Mapping, Sequence
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st
from pandas.io.formats.style import Styler

from kam_core.locales.formatting import (MISSING, amount_scale, format_date, format_number, format_text, is_missing,
                                         movement_label, tier_label)
from kam_core.locales.labels import label_or, t

AMOUNT_COLUMNS = {"sales", "gross_profit", "cost", "to_next_tier", "basis_amount", "projected", "projected_naive",
                  "ytd_sales",
                  "sales_without", "gross_profit_without", "stop_sales_loss", "stop_profit_loss"}
RATIO_COLUMNS = {"margin", "share", "profit_share", "cum_share", "yoy", "sales_drop_share", "profit_drop_share"}
BAR_COLUMNS = {"share", "profit_share"}
TIER_COLUMNS = {"tier", "tier_prev", "projected_tier"}
COUNT_COLUMNS = {"rank", "profit_rank", "lines", "qty", "year"}
DATE_COLUMNS = {"date", "valid_from", "valid_to", "last_order"}

# pixels per character of a header or a cell, and the cell's padding with the sort arrow
_WIDE_PX, _NARROW_PX, _PAD_PX = 15, 8, 30
_MIN_PX, _MAX_PX = 56, 360


def text_px(text: str) -> int:
    """About how wide ``text`` is in the table's font: CJK characters twice a Latin one."""
    return sum(_WIDE_PX if ord(ch) > 0x2E7F else _NARROW_PX for ch in str(text))


def fit_width(label: str, cells: Sequence[str]) -> int:
    """A column's width in pixels: its header and its widest cell, padded, within sensible bounds."""
    widest = max([text_px(label), *(text_px(c) for c in cells[:500])]) + _PAD_PX
    return int(min(_MAX_PX, max(_MIN_PX, widest)))


def _shown_text(values: Sequence[object]) -> list[object]:
    return [MISSING if is_missing(v) else v for v in values]


def styled(out: pd.DataFrame, formats: Mapping[str, Callable[[Any], str]]) -> Styler:
    """``out`` with each column in ``formats`` shown through its formatter and every missing cell as "—".

    Streamlit shows a Styler's cell texts and keeps its frame's values for sorting; a column's
    ``column_config`` must then carry no ``format`` of its own (that would win).
    """
    shown = out.style
    shown.format(na_rep=MISSING)
    for col, fmt in formats.items():
        if col in out.columns:
            shown.format(_once(fmt), subset=[col])
    return shown


def _once(fmt: Callable[[Any], str]) -> Callable[[Any], str]:
    """``fmt`` for a Styler, each distinct value formatted once (widths and cells ask for the same texts);
    ``fmt`` itself when it is one already."""
    if getattr(fmt, "formats_once", False):
        return fmt
    texts: dict[Any, str] = {}

    def shown(v: Any) -> str:
        if is_missing(v):
            return MISSING
        try:
            return texts[v]
        except KeyError:
            texts[v] = text = fmt(v)
            return text
        except TypeError:           # an unhashable value
            return fmt(v)

    shown.formats_once = True  # type: ignore[attr-defined]
    return shown


def column_header(col: str, lang: str, labels: Mapping[str, str] | None = None) -> str:
    """A column's header: its label key in ``labels`` when given there, else ``col.<name>``, else the name."""
    return t(labels[col], lang) if labels and col in labels else label_or(f"col.{col}", lang, col)


def localise(df: pd.DataFrame, columns: Sequence[str], lang: str, unit: str,
             link_accounts: bool = False, link_params: Mapping[str, Any] | None = None,
             labels: Mapping[str, str] | None = None,
             ) -> tuple[Styler, dict[str, Any]]:
    """A display table of ``df[columns]`` and the matching ``st.column_config``.

    Amounts are divided into the tables' one scale (万元 / M CNY, so that two
    tables on a page read alike; the ``yuan`` setting keeps yuan), named in the
    header's help; ratios become percentages; tier and
    movement codes become the policy's words; missing cells read "—". With
    ``link_accounts`` an extra column links to the account's dossier (with
    ``link_params``: the view's year and filters, :func:`kam_core.ui.context.url_params`).
    ``labels``: a label key for a column whose header is not ``col.<name>``.
    """
    out = pd.DataFrame(index=df.index)
    config: dict[str, Any] = {}
    formats: dict[str, Callable[[Any], str]] = {}
    for col in columns:
        if col not in df.columns:
            continue
        label = column_header(col, lang, labels)
        values = df[col]
        if col in AMOUNT_COLUMNS:
            divisor, suffix = amount_scale(unit, lang)
            digits = 0 if unit == "yuan" else 2
            out[col] = pd.to_numeric(values, errors="coerce") / divisor
            formats[col] = _once(lambda v, d=digits: format_number(v, d, lang))
            cells = [formats[col](v) for v in out[col]]
            config[col] = st.column_config.NumberColumn(label, help=t("format.unit_help", lang, unit=suffix),
                                                        width=fit_width(label, cells))
        elif col in RATIO_COLUMNS:
            out[col] = pd.to_numeric(values, errors="coerce") * 100
            if col in BAR_COLUMNS and len(out[col].dropna()):
                top = float(out[col].max()) if out[col].max() > 0 else 1.0
                config[col] = st.column_config.ProgressColumn(label, format="%.1f%%", min_value=0.0, max_value=top,
                                                              width=max(fit_width(label, []), 110))
            else:
                formats[col] = _once(lambda v: format_number(v, 1, lang) + "%")
                cells = [formats[col](v) for v in out[col]]
                config[col] = st.column_config.NumberColumn(label, width=fit_width(label, cells))
        elif col in TIER_COLUMNS or col in ("method", "movement"):
            if col == "method":
                words = [MISSING if is_missing(v) else label_or(f"projection.method.{v}", lang, str(v)) for v in values]
            elif col == "movement":
                words = [movement_label(v, lang) for v in values]
            else:
                words = [tier_label(v, lang) for v in values]
            out[col] = words
            config[col] = st.column_config.TextColumn(label, width=fit_width(label, words))
        elif col == "months_covered":
            out[col] = pd.to_numeric(values, errors="coerce")
            formats[col] = lambda v: format_number(v, 1, lang)
            config[col] = st.column_config.NumberColumn(label, width=fit_width(label, ["12.0"]))
        elif col in COUNT_COLUMNS:
            out[col] = pd.to_numeric(values, errors="coerce") if col != "year" else values
            count_text = _once(lambda v: format_number(v, 0, lang))
            if col != "year":
                formats[col] = count_text
            cells = [count_text(v) for v in out[col]]
            config[col] = st.column_config.NumberColumn(label, width=fit_width(label, cells))
        elif col in DATE_COLUMNS:
            out[col] = [format_date(v, lang) for v in values]
            config[col] = st.column_config.TextColumn(label, width=fit_width(label, list(out[col])))
        else:
            out[col] = _shown_text(values)
            cells = [format_text(v) for v in values]
            width = fit_width(label, cells) if col != "account" else max(fit_width(label, cells), 160)
            config[col] = st.column_config.TextColumn(label, width=width)
    if link_accounts and "account" in df.columns:
        word = label_or("col.dossier", lang, "dossier")
        out["dossier"] = [dossier_link(a, link_params) for a in df["account"]]
        config["dossier"] = st.column_config.LinkColumn(word, display_text=word, width=fit_width(word, [word]))
    return styled(out, formats), config


def table_csv(df: pd.DataFrame, columns: Sequence[str], lang: str, labels: Mapping[str, str] | None = None) -> bytes:
    """A page's table as the CSV it offers, in the page's language (Chinese Excel opens it).

    Headers are the columns' labels (an amount's with 元 / CNY, a ratio's with %); amounts in
    yuan to the fen, ratios as percentages to two decimals, tiers and movements in words, days as
    dates; an empty cell for none. Numbers stay numbers (no separators), so a sheet can add them up.
    """
    out = pd.DataFrame(index=df.index)
    for col in columns:
        if col not in df.columns:
            continue
        label = column_header(col, lang, labels)
        values = df[col]
        if col in AMOUNT_COLUMNS:
            header = t("tiers.csv_header_unit", lang, label=label, unit=t("format.unit_yuan", lang))
            out[header] = pd.to_numeric(values, errors="coerce").round(2)
        elif col in RATIO_COLUMNS:
            header = t("tiers.csv_header_unit", lang, label=label, unit="%")
            out[header] = (pd.to_numeric(values, errors="coerce") * 100).round(2)
        elif col in TIER_COLUMNS:
            out[label] = [None if is_missing(v) else tier_label(v, lang) for v in values]
        elif col == "movement":
            out[label] = [None if is_missing(v) else movement_label(v, lang) for v in values]
        elif col in COUNT_COLUMNS:
            out[label] = pd.to_numeric(values, errors="coerce").astype("Int64")
        elif col in DATE_COLUMNS:
            out[label] = [None if is_missing(v) else format_date(v, lang) for v in values]
        else:
            out[label] = [None if is_missing(v) else v for v in values]
    from kam_core.exports.reports import table_to_csv_bytes

    return table_to_csv_bytes(out)


def dossier_link(account: str, params: Mapping[str, Any] | None = None) -> str:
    """``./dossier?…&account=…``: the account's dossier with ``params`` (year, filters) kept."""
    query = {k: v for k, v in (params or {}).items() if k != "account"}
    query["account"] = account
    return "./dossier?" + urlencode(query, doseq=True, quote_via=quote)


CRITERIA_MARKS = {"pass": "✅", "fail": "❌", "unknown": "❔"}


def criteria_view(checklist: pd.DataFrame, lang: str, link_params: Mapping[str, Any] | None = None
                  ) -> tuple[Styler, dict[str, Any]]:
    """The six criteria as marks and how many are met, then what the data says for ⑤ and ⑥ and which of
    score or data decided, and a link to the account's dossier."""
    from kam_core.sales.tiers import criteria_met

    account_label = label_or("col.account", lang, "account")
    out = pd.DataFrame({"account": checklist["account"]})
    config: dict[str, Any] = {"account": st.column_config.TextColumn(
        account_label, width=max(160, fit_width(account_label, [str(a) for a in checklist["account"]])))}
    formats: dict[str, Callable[[Any], str]] = {}
    met = label_or("col.criteria_met", lang, "criteria_met")
    out["criteria_met"] = criteria_met(checklist)
    formats["criteria_met"] = lambda v: t("crit.met_count", lang, n=int(v))
    config["criteria_met"] = st.column_config.NumberColumn(
        met, width=fit_width(met, [t("crit.met_count", lang, n=6)]))
    for i in range(1, 7):
        c = f"c{i}"
        short = label_or(f"crit.{i}.short", lang, c)
        out[c] = [CRITERIA_MARKS.get(v, v) for v in checklist[c]]
        config[c] = st.column_config.TextColumn(short, help=label_or(f"crit.{i}", lang, c),
                                                width=fit_width(short, ["✅"]))
    for col in ("stockout_share", "company_stockout_share", "new_sku_share", "company_new_sku_share"):
        label = label_or(f"col.{col}", lang, col)
        out[col] = pd.to_numeric(checklist[col], errors="coerce") * 100
        formats[col] = lambda v: format_number(v, 1, lang) + "%"
        config[col] = st.column_config.NumberColumn(label, width=fit_width(label, ["100.0%"]))
    for c in ("c5", "c6"):
        label = label_or(f"col.{c}_by", lang, c)
        out[f"{c}_by"] = [label_or(f"crit.by.{v}", lang, MISSING) if v else MISSING for v in checklist[f"{c}_by"]]
        config[f"{c}_by"] = st.column_config.TextColumn(label, width=fit_width(label, list(out[f"{c}_by"])))
    word = label_or("col.dossier", lang, "dossier")
    out["dossier"] = [dossier_link(a, link_params) for a in checklist["account"]]
    config["dossier"] = st.column_config.LinkColumn(word, display_text=word, width=fit_width(word, [word]))
    return styled(out, formats), config


TARGET_AMOUNTS = ("target_amount", "actual", "expected", "projected_end")


def targets_view(frame: pd.DataFrame, lang: str, unit: str) -> tuple[Styler, dict[str, Any]]:
    """Agreements' targets (:func:`kam_core.dossier.targets.targets_frame`) as a table: amounts in one scale, progress in %."""
    out = pd.DataFrame({
        "account": frame["account"], "title": frame["title"],
        "category": [c if isinstance(c, str) else label_or("attention.all_categories", lang, MISSING)
                     for c in frame["category"]],
        "valid_from": [format_date(v, lang) for v in frame["valid_from"]],
        "valid_to": [format_date(v, lang) for v in frame["valid_to"]],
    })
    config: dict[str, Any] = {
        "account": st.column_config.TextColumn(label_or("col.account", lang, "account")),
        "title": st.column_config.TextColumn(label_or("record.agreement_title", lang, "title")),
        "category": st.column_config.TextColumn(label_or("col.category", lang, "category")),
        "valid_from": st.column_config.TextColumn(label_or("record.valid_from", lang, "from"),
                                                  width=fit_width(label_or("record.valid_from", lang, "from"),
                                                                  ["2026-12-31"])),
        "valid_to": st.column_config.TextColumn(label_or("record.valid_to", lang, "to"),
                                                width=fit_width(label_or("record.valid_to", lang, "to"),
                                                                ["2026-12-31"])),
    }
    formats: dict[str, Callable[[Any], str]] = {}
    divisor, suffix = amount_scale(unit, lang)
    digits = 0 if unit == "yuan" else 2
    for col in TARGET_AMOUNTS:
        label = label_or(f"target.col.{col}", lang, col)
        out[col] = pd.to_numeric(frame[col], errors="coerce") / divisor
        formats[col] = _once(lambda v: format_number(v, digits, lang))
        config[col] = st.column_config.NumberColumn(label, help=t("format.unit_help", lang, unit=suffix),
                                                    width=fit_width(label, [formats[col](v) for v in out[col]]))
    out["progress_share"] = pd.to_numeric(frame["progress_share"], errors="coerce") * 100
    config["progress_share"] = st.column_config.ProgressColumn(
        label_or("target.col.progress_share", lang, "progress"), format="%.1f%%", min_value=0.0, max_value=100.0)
    out["state"] = [label_or(f"target.state.{s}", lang, str(s)) for s in frame["state"]]
    config["state"] = st.column_config.TextColumn(label_or("target.col.state", lang, "state"))
    return styled(out, formats), config
