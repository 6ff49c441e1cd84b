"""How tables look on the pages: localised headers, amounts in the chosen unit, ratios as %."""
from __future__ import annotations

from typing import Any, Mapping, Sequence
from urllib.parse import quote, urlencode

import pandas as pd
import streamlit as st

from kam_core.locales.formatting import amount_scale, movement_label, tier_label
from kam_core.locales.labels import label_or

AMOUNT_COLUMNS = {"sales", "gross_profit", "cost", "to_next_tier", "basis_amount", "projected", "projected_naive",
                  "ytd_sales",
                  "sales_without", "gross_profit_without", "stop_sales_loss", "stop_profit_loss"}
RATIO_COLUMNS = {"margin", "share", "profit_share", "cum_share", "yoy", "sales_drop_share", "profit_drop_share"}
BAR_COLUMNS = {"share", "profit_share"}


def localise(df: pd.DataFrame, columns: Sequence[str], lang: str, unit: str,
             link_accounts: bool = False, link_params: Mapping[str, Any] | None = None
             ) -> tuple[pd.DataFrame, dict[str, Any]]:
    """A display copy of ``df[columns]`` and the matching ``st.column_config``.

    Amounts are divided into ``unit`` (元/万元), ratios become percentages,
    tier and movement codes become the policy's words. With ``link_accounts``
    an extra column links to the account's dossier (with ``link_params``: the
    view's year and filters, :func:`kam_core.ui.context.url_params`).
    """
    divisor, suffix = amount_scale(unit, lang)
    out = pd.DataFrame(index=df.index)
    config: dict[str, Any] = {}
    for col in columns:
        if col not in df.columns:
            continue
        label = label_or(f"col.{col}", lang, col)
        values = df[col]
        if col in AMOUNT_COLUMNS:
            out[col] = pd.to_numeric(values, errors="coerce") / divisor
            config[col] = st.column_config.NumberColumn(f"{label} ({suffix})", format="%,.2f" if unit == "wan" else "%,.0f",
                                                        width="small")
        elif col in RATIO_COLUMNS:
            out[col] = pd.to_numeric(values, errors="coerce") * 100
            if col in BAR_COLUMNS and len(out[col].dropna()):
                top = float(out[col].max()) if out[col].max() > 0 else 1.0
                config[col] = st.column_config.ProgressColumn(label, format="%.2f%%", min_value=0.0, max_value=top)
            else:
                config[col] = st.column_config.NumberColumn(label, format="%.2f%%", width="small")
        elif col in ("tier", "tier_prev", "projected_tier"):
            out[col] = [tier_label(v, lang) for v in values]
            config[col] = st.column_config.TextColumn(label)
        elif col == "method":
            out[col] = [label_or(f"projection.method.{v}", lang, str(v)) for v in values]
            config[col] = st.column_config.TextColumn(label)
        elif col == "movement":
            out[col] = [movement_label(v, lang) for v in values]
            config[col] = st.column_config.TextColumn(label)
        elif col == "months_covered":
            out[col] = pd.to_numeric(values, errors="coerce")
            config[col] = st.column_config.NumberColumn(label, format="%.1f", width="small")
        elif col in ("rank", "profit_rank", "abc", "year"):
            out[col] = values
            config[col] = st.column_config.Column(label, width="small")
        else:
            out[col] = values
            config[col] = st.column_config.Column(label)
    if link_accounts and "account" in df.columns:
        out["dossier"] = [dossier_link(a, link_params) for a in df["account"]]
        config["dossier"] = st.column_config.LinkColumn(label_or("col.dossier", lang, "dossier"),
                                                        display_text=label_or("col.dossier", lang, "dossier"))
    return out, config


def dossier_link(account: str, params: Mapping[str, Any] | None = None) -> str:
    """``./dossier?…&account=…``: the account's dossier with ``params`` (year, filters) kept."""
    query = {k: v for k, v in (params or {}).items() if k != "account"}
    query["account"] = account
    return "./dossier?" + urlencode(query, doseq=True, quote_via=quote)


def _quote(text: str) -> str:
    from urllib.parse import quote

    return quote(str(text), safe="")


CRITERIA_MARKS = {"pass": "✅", "fail": "❌", "unknown": "❔"}


def criteria_view(checklist: pd.DataFrame, lang: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """The six criteria as marks, then what the data says for ⑤ and ⑥ and which of score or data decided."""
    out = pd.DataFrame({"account": checklist["account"]})
    config: dict[str, Any] = {"account": st.column_config.TextColumn(label_or("col.account", lang, "account"))}
    for i in range(1, 7):
        c = f"c{i}"
        out[c] = [CRITERIA_MARKS.get(v, v) for v in checklist[c]]
        config[c] = st.column_config.TextColumn(label_or(f"crit.{i}.short", lang, c), width="small")
    for col in ("stockout_share", "company_stockout_share", "new_sku_share", "company_new_sku_share"):
        out[col] = pd.to_numeric(checklist[col], errors="coerce") * 100
        config[col] = st.column_config.NumberColumn(label_or(f"col.{col}", lang, col), format="%.1f%%", width="small")
    for c in ("c5", "c6"):
        out[f"{c}_by"] = [label_or(f"crit.by.{v}", lang, "—") if v else "—" for v in checklist[f"{c}_by"]]
        config[f"{c}_by"] = st.column_config.TextColumn(label_or(f"col.{c}_by", lang, c), width="small")
    return out, config


TARGET_AMOUNTS = ("target_amount", "actual", "expected", "projected_end")


def targets_view(frame: pd.DataFrame, lang: str, unit: str) -> tuple[pd.DataFrame, dict[str, Any]]:
    """Agreements' targets (:func:`kam_core.dossier.targets.targets_frame`) as a table: amounts in ``unit``, progress in %."""
    divisor, suffix = amount_scale(unit, lang)
    out = pd.DataFrame({
        "account": frame["account"], "title": frame["title"],
        "category": [c if isinstance(c, str) else label_or("attention.all_categories", lang, "—")
                     for c in frame["category"]],
        "valid_from": frame["valid_from"], "valid_to": frame["valid_to"],
    })
    config: dict[str, Any] = {
        "account": st.column_config.TextColumn(label_or("col.account", lang, "account")),
        "title": st.column_config.TextColumn(label_or("record.agreement_title", lang, "title")),
        "category": st.column_config.TextColumn(label_or("col.category", lang, "category")),
        "valid_from": st.column_config.DateColumn(label_or("record.valid_from", lang, "from"), format="YYYY-MM-DD"),
        "valid_to": st.column_config.DateColumn(label_or("record.valid_to", lang, "to"), format="YYYY-MM-DD"),
    }
    for col in TARGET_AMOUNTS:
        out[col] = pd.to_numeric(frame[col], errors="coerce") / divisor
        config[col] = st.column_config.NumberColumn(f"{label_or(f'target.col.{col}', lang, col)} ({suffix})",
                                                    format="%,.2f" if unit == "wan" else "%,.0f")
    out["progress_share"] = pd.to_numeric(frame["progress_share"], errors="coerce") * 100
    config["progress_share"] = st.column_config.ProgressColumn(
        label_or("target.col.progress_share", lang, "progress"), format="%.1f%%", min_value=0.0, max_value=100.0)
    out["state"] = [label_or(f"target.state.{s}", lang, str(s)) for s in frame["state"]]
    config["state"] = st.column_config.TextColumn(label_or("target.col.state", lang, "state"))
    return out, config
