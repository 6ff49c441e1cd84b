"""Plotly figure builders: frames in, figures out.

Pure functions, no streamlit and no database: a page fetches a frame from the
domain layer and hands it here. Every visible word comes from
:mod:`kam_core.locales.labels` (``lang``), every amount is in yuan on the way in and is
shown in the chosen unit (``"wan"`` → 万元, ``"yuan"`` → 元) on axes and in
hover text. An empty frame gives a figure with a centred, localised
"no data" note instead of an exception, so a page never has to guard a chart.
"""
from __future__ import annotations

import functools
import html
import math
import re
from collections.abc import Sequence

import pandas as pd
import plotly.express as px
import plotly.graph_objects as go
import plotly.io as pio

from kam_core.locales.formatting import amount_scale, format_amount, format_number, largest, month_label, tier_label
from kam_core.locales.labels import label_or, t
from kam_core.sales.tiers import TIERS, UNKNOWN, tier_codes

FONT_FAMILY = "Noto Sans CJK SC, Microsoft YaHei, PingFang SC, sans-serif"
# Darkest for the most important tier; "none" is grey so it recedes.
TIER_COLOURS: dict[str, str] = {
    "strategic": "#1b4f72",
    "partner": "#2e86c1",
    "ordinary": "#f0a030",
    "none": "#b8bec4",
}
ABC_COLOURS: dict[str, str] = {"A": "#1b4f72", "B": "#5dade2", "C": "#c8d6e0"}
MOVEMENT_COLOURS: dict[str, str] = {
    "up": "rgba(39, 174, 96, 0.45)",
    "down": "rgba(192, 57, 43, 0.45)",
    "same": "rgba(150, 160, 170, 0.35)",
    "new": "rgba(46, 134, 193, 0.45)",
    "lost": "rgba(90, 90, 90, 0.45)",
}
SIDE_COLOURS: dict[str, str] = {"ours": "#1b4f72", "theirs": "#f0a030"}
PROMOTION_FILL = "#f5cba7"
_OTHER_COLOUR = "#7f8c8d"
# Above this many accounts the names under the Pareto bars are unreadable.
_MAX_NAMED_BARS = 40
# Portfolio x axis turns logarithmic when the largest sales exceed the smallest this many times.
_LOG_SPREAD = 100


# --- shared pieces ---------------------------------------------------------

def _is_empty(df: pd.DataFrame | None) -> bool:
    return df is None or len(df) == 0


def _complete_rows(df: pd.DataFrame | None, columns: list[str]) -> pd.DataFrame | None:
    """Rows with every one of ``columns`` present; None for no frame or an empty one."""
    return None if _is_empty(df) else df.dropna(subset=columns)


# Figures are built without plotly's per-property validation: it cost 30–120 ms a chart (a page
# draws three), and every property here is a fixed literal that tests/test_charts.py renders.
_PLACEMENT = ("row", "col", "secondary_y")
_NESTED = ("marker", "line")


def _names(values: "pd.Series | Sequence[object]") -> list[str]:
    """Account names as plotly shows them: it renders ``<b>``, ``<a href>`` and the like in
    labels and hover text, so a name is escaped to read as itself (plotly decodes the entities)."""
    return [html.escape(str(v), quote=False) for v in values]


def _figure(*data: dict) -> go.Figure:
    # the template goes in at construction: set later, plotly walks it property by property (~1 s)
    return go.Figure(data=list(data), layout={"template": _template()}, _validate=False)


def _add(fig: go.Figure, kind: str, **props: object) -> None:
    """``fig.add_<kind>(**props)`` without validation (``marker_color`` → ``marker.color``)."""
    place = {k: props.pop(k) for k in _PLACEMENT if k in props}
    trace: dict = {"type": kind}
    for key, value in props.items():
        head, _, rest = key.partition("_")
        if rest and head in _NESTED:
            trace.setdefault(head, {})[rest] = value
        else:
            trace[key] = value
    fig.add_trace(trace, **place)


@functools.lru_cache(maxsize=1)
def _template() -> dict:
    return pio.templates["plotly_white"].to_plotly_json()


def _style(title: str | None) -> dict:
    """The layout every chart shares: CJK font, margins, the legend above, the title at the left."""
    style = {
        "font": {"family": FONT_FAMILY, "size": 13},
        "hoverlabel": {"font": {"family": FONT_FAMILY}},
        # room above the plot for the title and a legend that may wrap to two lines (English labels)
        "margin": {"l": 50, "r": 30, "t": 110 if title else 60, "b": 50},
        "legend": {"orientation": "h", "yanchor": "bottom", "y": 1.02, "xanchor": "left", "x": 0},
    }
    if title:
        style["title"] = {"text": title, "x": 0, "xanchor": "left", "y": 0.98, "yref": "container", "yanchor": "top"}
    return style


def _styled(fig: go.Figure, title: str | None) -> go.Figure:
    fig.update_layout(_style(title))
    return fig


def _built(data: list[dict], layout: dict, title: str | None) -> go.Figure:
    """A figure from plain trace and layout dicts in one step (each update call costs milliseconds)."""
    return go.Figure(data=data, layout={"template": _template(), **layout, **_style(title)}, _validate=False)


def empty_figure(lang: str, title: str | None = None) -> go.Figure:
    """A blank figure with a centred, localised "no data" note."""
    fig = _figure()
    fig.add_annotation(
        text=t("chart.no_data", lang), x=0.5, y=0.5, xref="paper", yref="paper",
        showarrow=False, font=dict(size=16, color="#7f8c8d"),
    )
    fig.update_xaxes(visible=False)
    fig.update_yaxes(visible=False)
    return _styled(fig, title)


def _scale(unit: str, lang: str, values: "pd.Series | Sequence[object] | float | None") -> tuple[int, str]:
    """The one scale of a chart's amounts, from the largest of ``values`` (yuan): 万元 or 亿元, K / M / bn CNY."""
    magnitude = values if isinstance(values, (int, float)) or values is None else largest(values)
    return amount_scale(unit, lang, magnitude)


def _amount_title(key: str, suffix: str, lang: str) -> str:
    """Axis title with the scale: ``销售额（万元）`` / ``Sales (M CNY)``."""
    return t("format.with_unit", lang, title=t(key, lang), unit=suffix)


def _amount_hover(unit: str, suffix: str, var: str) -> str:
    """Hover-template piece for an amount already divided into the chart's scale (``suffix``)."""
    if unit == "yuan":
        return f"¥%{{{var}:,.2f}}"
    return f"%{{{var}:,.2f}} {suffix}"


def _tiers_in(values: Sequence[object]) -> list[str]:
    """Tier codes present, policy order first, then any unexpected code."""
    present = [str(v) for v in pd.unique(pd.Series(values).dropna())]
    return [c for c in TIERS if c in present] + sorted(c for c in present if c not in TIERS)


def _tier_colour(code: str) -> str:
    return TIER_COLOURS.get(code, _OTHER_COLOUR)


def _month_labels(months: pd.Series, lang: str = "zh") -> list[str]:
    """``2026年1月`` / ``Jan 2026`` for datetimes, dates and ``2026-01`` texts alike (a month axis needs no day)."""
    def one(m: object) -> str:
        if hasattr(m, "strftime"):
            return month_label(m, lang)
        text = str(m)
        return month_label(f"{text}-01", lang) if re.fullmatch(r"\d{4}-\d{2}", text) else text

    return [one(m) for m in months]


def month_tickformat(lang: str) -> str:
    """A date axis' month ticks in the page's language (plotly's d3 format): ``2026年1月`` / ``Jan 2026``."""
    return t("format.month_axis", lang)


def day_hoverformat(lang: str) -> str:
    """A day in hover text: ``2026-01-15`` in both languages."""
    return "%Y-%m-%d"


def _by_rank(tier_table: pd.DataFrame) -> pd.DataFrame:
    """Rows in sales-rank order (``rank`` column when present; else sales desc, name asc)."""
    if "rank" in tier_table.columns and tier_table["rank"].notna().all():
        return tier_table.sort_values(["rank", "account"], kind="stable")
    return tier_table.sort_values(["sales", "account"], ascending=[False, True], kind="stable")


# --- Overview --------------------------------------------------------------

def monthly_by_tier(monthly_sales: pd.DataFrame, tier_table: pd.DataFrame) -> pd.DataFrame:
    """``[month, tier, sales]`` from ``metrics.monthly_sales`` and a tier table.

    Accounts the tier table does not know count as ``"none"``.
    """
    if _is_empty(monthly_sales):
        return pd.DataFrame({"month": [], "tier": [], "sales": []})
    tiers = tier_table[["account"]].assign(tier=tier_codes(tier_table)) if not _is_empty(tier_table) else pd.DataFrame(
        {"account": pd.Series([], dtype=object), "tier": pd.Series([], dtype=object)})
    merged = monthly_sales[["month", "account", "sales"]].merge(tiers, on="account", how="left")
    merged["tier"] = merged["tier"].fillna("none")
    return (merged.groupby(["month", "tier"], as_index=False, sort=True)["sales"].sum()
            [["month", "tier", "sales"]])


def monthly_trend_by_tier(monthly: pd.DataFrame, unit: str = "wan", lang: str = "zh") -> go.Figure:
    """Stacked monthly sales bars, one trace per tier present, in policy order.

    ``monthly``: ``[month, tier, sales]`` (sales in yuan; month a date or a label).
    """
    title = t("chart.monthly_trend", lang)
    if _is_empty(monthly):
        return empty_figure(lang, title)
    table = monthly.pivot_table(index="month", columns="tier", values="sales", aggfunc="sum", fill_value=0)
    table = table.sort_index()
    divisor, suffix = _scale(unit, lang, table.sum(axis=1))
    x = _month_labels(pd.Series(table.index), lang)
    hover = f"%{{fullData.name}}<br>%{{x}}: {_amount_hover(unit, suffix, 'y')}<extra></extra>"
    data = [{"type": "bar", "x": x, "y": (table[code] / divisor).tolist(), "name": tier_label(code, lang),
             "marker": {"color": _tier_colour(code)}, "hovertemplate": hover}
            for code in _tiers_in(list(table.columns))]
    layout = {"barmode": "stack", "xaxis": {"title": {"text": t("col.month", lang)}, "type": "category"},
              "yaxis": {"title": {"text": _amount_title("col.sales", suffix, lang)}, "tickformat": ","}}
    return _built(data, layout, title)


def tier_distribution(tier_table: pd.DataFrame, unit: str = "wan", lang: str = "zh") -> go.Figure:
    """Two bar panels over the four tiers: number of accounts, and their sales.

    Every tier is shown, with 0 where it has no account, so the picture
    keeps its shape from year to year.
    """
    title = t("chart.tier_distribution", lang)
    if _is_empty(tier_table):
        return empty_figure(lang, title)
    codes = tier_codes(tier_table)
    order = list(TIERS) + ([UNKNOWN] if (codes == UNKNOWN).any() else [])
    grouped = tier_table.assign(tier=codes).groupby("tier")["sales"].agg(["count", "sum"]).reindex(order, fill_value=0)
    divisor, suffix = _scale(unit, lang, grouped["sum"])
    labels = [tier_label(c, lang) for c in order]
    colours = [_tier_colour(c) for c in order]
    # Horizontal bars on one shared tier axis: the tier names read level, once,
    # and the two panels cannot overlap each other's labels (panels 0.4 and 0.6 wide, 0.06 apart).
    bars = {"type": "bar", "y": labels, "orientation": "h", "marker": {"color": colours}, "showlegend": False}
    data = [
        {**bars, "x": grouped["count"].astype(int).tolist(), "name": t("chart.accounts", lang),
         "hovertemplate": "%{y}: %{x:,}<extra></extra>", "xaxis": "x", "yaxis": "y"},
        {**bars, "x": (grouped["sum"] / divisor).tolist(), "name": t("col.sales", lang),
         "hovertemplate": f"%{{y}}: {_amount_hover(unit, suffix, 'x')}<extra></extra>", "xaxis": "x2", "yaxis": "y2"},
    ]
    panel_title = {"font": {"size": 16}, "showarrow": False, "xanchor": "center", "xref": "paper", "y": 1.0,
                   "yanchor": "bottom", "yref": "paper"}
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 0.376], "tickformat": ",", "nticks": 3},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "autorange": "reversed"},
        "xaxis2": {"anchor": "y2", "domain": [0.436, 1.0], "tickformat": ",", "nticks": 3},
        "yaxis2": {"anchor": "x2", "domain": [0.0, 1.0], "matches": "y", "showticklabels": False},
        "annotations": [{**panel_title, "text": t("chart.accounts", lang), "x": 0.188},
                        {**panel_title, "text": _amount_title("col.sales", suffix, lang), "x": 0.718}],
    }
    return _built(data, layout, title)


def pareto_chart(tier_table: pd.DataFrame, lang: str = "zh", a_cut: float = 0.8, b_cut: float = 0.95,
                 unit: str = "wan") -> go.Figure:
    """Sales bars in rank order with the cumulative share line on a right axis.

    Bars are coloured by ABC class computed with the same rule as the
    metrics (A while the share *before* the account is < ``a_cut``, B while
    < ``b_cut``); dashed lines mark both cut-offs.
    """
    title = t("chart.pareto", lang)
    if _is_empty(tier_table):
        return empty_figure(lang, title)
    ranked = _by_rank(tier_table)
    sales = ranked["sales"].astype(float)
    total = float(sales.sum())
    if total <= 0:
        return empty_figure(lang, title)
    divisor, suffix = _scale(unit, lang, sales)
    cum = sales.cumsum() / total
    before = cum - sales / total
    classes = ["A" if b < a_cut else "B" if b < b_cut else "C" for b in before]
    accounts = _names(ranked["account"])
    data = [
        {"type": "bar", "x": accounts, "y": (sales / divisor).tolist(), "name": t("col.sales", lang),
         "marker": {"color": [ABC_COLOURS[c] for c in classes]},
         "customdata": [t(f"abc.{c}", lang) for c in classes],
         "hovertemplate": f"%{{x}}<br>{_amount_hover(unit, suffix, 'y')}<br>%{{customdata}}<extra></extra>",
         "xaxis": "x", "yaxis": "y"},
        {"type": "scatter", "x": accounts, "y": cum.tolist(), "name": t("chart.cum_share", lang),
         "mode": "lines+markers", "line": {"color": "#c0392b", "width": 2}, "marker": {"size": 4},
         "hovertemplate": "%{x}<br>%{y:.1%}<extra></extra>", "xaxis": "x", "yaxis": "y2"},
    ]
    cuts = (("A", a_cut), ("B", b_cut))
    layout = {
        "xaxis": {"anchor": "y", "domain": [0.0, 0.94], "title": {"text": t("chart.rank_axis", lang)},
                  "type": "category", "categoryorder": "array", "categoryarray": accounts,
                  "showticklabels": len(accounts) <= _MAX_NAMED_BARS},
        "yaxis": {"anchor": "x", "domain": [0.0, 1.0], "title": {"text": _amount_title("col.sales", suffix, lang)},
                  "tickformat": ","},
        # Own ticks: by default the right axis copies the left axis' tick spacing (7 %, 21 %, …).
        "yaxis2": {"anchor": "x", "overlaying": "y", "side": "right", "title": {"text": t("chart.cum_share", lang)},
                   "tickformat": ".0%", "range": [0, 1.05], "tickmode": "array",
                   "tickvals": [0, 0.2, 0.4, 0.6, 0.8, 1.0], "showgrid": False},
        "shapes": [{"type": "line", "x0": 0, "x1": 1, "y0": cut, "y1": cut,
                    "line": {"dash": "dash", "color": "#7f8c8d", "width": 1}, "xref": "x domain", "yref": "y2"}
                   for _, cut in cuts],
        # Placed by hand on the right axis (an hline's own annotation lands on the primary one).
        "annotations": [{"font": {"color": "#5d6d7e", "size": 11}, "showarrow": False,
                         "text": t("chart.cut_line", lang, cls=cls, pct=f"{cut:.0%}"), "x": 1, "xanchor": "right",
                         "xref": "paper", "y": cut, "yanchor": "top", "yref": "y2"} for cls, cut in cuts],
    }
    return _built(data, layout, title)


# --- Rankings --------------------------------------------------------------

def portfolio_scatter(tier_table: pd.DataFrame, unit: str = "wan", lang: str = "zh") -> go.Figure:
    """Sales (x) against margin (y), bubble area ∝ |gross profit|, one trace per tier.

    Dashed lines at the median sales and the median margin split the
    accounts into four quadrants. Accounts without a known margin are left out.
    """
    title = t("chart.portfolio", lang)
    data = _complete_rows(tier_table, ["sales", "margin"])
    if _is_empty(data):
        return empty_figure(lang, title)
    divisor, suffix = _scale(unit, lang, data["sales"])
    x_all = data["sales"].astype(float) / divisor
    gp = data["gross_profit"].astype(float).fillna(0.0)
    size_all = gp.abs() / divisor
    # Area sizing, largest bubble ≈ 40 px across, so one giant does not hide the rest.
    biggest = float(size_all.max())
    sizeref = 2.0 * biggest / 40**2 if biggest > 0 else 1.0
    fig = _figure()
    for code in _tiers_in(data["tier"].tolist() if "tier" in data.columns else ["none"]):
        mask = data["tier"].astype(str) == code if "tier" in data.columns else pd.Series(True, index=data.index)
        _add(fig, "scatter",
            x=x_all[mask].tolist(), y=data.loc[mask, "margin"].astype(float).tolist(),
            mode="markers", name=tier_label(code, lang),
            text=_names(data.loc[mask, "account"]),
            customdata=(gp[mask] / divisor).tolist(),
            marker=dict(size=size_all[mask].tolist(), sizemode="area", sizeref=sizeref, sizemin=4,
                        color=_tier_colour(code), opacity=0.75, line=dict(width=0.5, color="white")),
            hovertemplate=(
                "<b>%{text}</b><br>"
                f"{t('col.sales', lang)}: {_amount_hover(unit, suffix, 'x')}<br>"
                f"{t('col.margin', lang)}: %{{y:.1%}}<br>"
                f"{t('col.gross_profit', lang)}: {_amount_hover(unit, suffix, 'customdata')}"
                "<extra>%{fullData.name}</extra>"
            ),
        )
    # Sales follow a Pareto curve: on a linear axis one giant squeezes everyone
    # else against the y axis, so a wide positive range gets a log axis.
    log_x = bool((x_all > 0).all()) and float(x_all.max()) > _LOG_SPREAD * float(x_all.min())
    median = t("chart.median", lang)
    median_x = float(x_all.median())
    fig.add_vline(x=median_x, line_dash="dash", line_color="#7f8c8d", line_width=1)
    # Annotations on a log axis take log10 positions (shapes do not), so this one is placed by hand.
    fig.add_annotation(text=median, x=math.log10(median_x) if log_x else median_x, xref="x", xanchor="left",
                       y=0, yref="paper", yanchor="bottom", showarrow=False, font=dict(size=11, color="#5d6d7e"))
    fig.add_hline(y=float(data["margin"].astype(float).median()), line_dash="dash", line_color="#7f8c8d",
                  line_width=1, annotation_text=median, annotation_position="top left",
                  annotation_font=dict(size=11, color="#5d6d7e"))
    fig.update_xaxes(title_text=_amount_title("col.sales", suffix, lang), tickformat=",",
                     type="log" if log_x else "linear")
    fig.update_yaxes(title_text=t("col.margin", lang), tickformat=".0%")
    return _styled(fig, title)


def top_n_bar(tier_table: pd.DataFrame, n: int = 10, by: str = "sales", unit: str = "wan",
              lang: str = "zh") -> go.Figure:
    """Horizontal bars of the ``n`` largest accounts by ``sales`` or ``gross_profit``, largest on top.

    The trace lists accounts largest first; the y axis is reversed so that
    the first is drawn at the top. Ties are broken by account name.
    """
    if by not in ("sales", "gross_profit"):
        raise ValueError(f"top_n_bar: by must be 'sales' or 'gross_profit', not {by!r}")
    title = t(f"chart.top_n.{by}", lang, n=n)
    data = _complete_rows(tier_table, [by])
    if _is_empty(data):
        return empty_figure(lang, title)
    data = data.sort_values([by, "account"], ascending=[False, True], kind="stable").head(n)
    divisor, suffix = _scale(unit, lang, data[by])
    accounts = _names(data["account"])
    tiers = data["tier"].astype(str).tolist() if "tier" in data.columns else ["none"] * len(data)
    fig = _figure()
    _add(fig, "bar",
        x=(data[by].astype(float) / divisor).tolist(), y=accounts, orientation="h",
        name=t(f"col.{by}", lang),
        marker_color=[_tier_colour(c) for c in tiers],
        # every bar in the axis' one scale (a mix of 亿元 and 万元 would not compare at a glance)
        text=[format_amount(v, unit, lang) if unit == "yuan" else f"{format_number(v / divisor, 2, lang)} {suffix}"
              for v in data[by]], textposition="auto",
        customdata=[tier_label(c, lang) for c in tiers],
        hovertemplate=f"<b>%{{y}}</b><br>{_amount_hover(unit, suffix, 'x')}<br>%{{customdata}}<extra></extra>",
    )
    fig.update_yaxes(type="category", categoryorder="array", categoryarray=accounts, autorange="reversed",
                     title_text=t("col.account", lang))
    fig.update_xaxes(title_text=_amount_title(f"col.{by}", suffix, lang), tickformat=",")
    return _styled(fig, title)


# --- Tiers -----------------------------------------------------------------

def migration_sankey(migration: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Accounts flowing from last year's tier (left) to this year's (right).

    ``migration``: ``[account, tier_prev, tier, movement]``. A ``new`` account
    flows from a "new" node, a ``lost`` one into a "lost" node. Link width =
    number of accounts; link colour = movement. Only nodes that carry a flow
    are drawn.
    """
    title = t("chart.migration", lang)
    if _is_empty(migration):
        return empty_figure(lang, title)
    movement = migration["movement"].astype("string")
    src = migration["tier_prev"].astype("string")
    dst = migration["tier"].astype("string")
    src = src.where(~(movement.eq("new").fillna(False) | src.isna()), "new")
    dst = dst.where(~(movement.eq("lost").fillna(False) | dst.isna()), "lost")
    flows = (pd.DataFrame({"src": src, "dst": dst, "movement": movement.fillna("same")})
             .groupby(["src", "dst"], as_index=False, sort=False)
             .agg(value=("movement", "size"), movement=("movement", "first")))
    left_order = list(TIERS) + ["new"]
    right_order = list(TIERS) + ["lost"]
    left = [c for c in left_order if c in set(flows["src"])] + sorted(set(flows["src"]) - set(left_order))
    right = [c for c in right_order if c in set(flows["dst"])] + sorted(set(flows["dst"]) - set(right_order))
    prev_word, this_word = t("chart.prev_year", lang), t("chart.this_year", lang)

    def node_label(code: str) -> str:
        return label_or(f"move.{code}", lang, code) if code in ("new", "lost") else tier_label(code, lang)

    labels = [node_label(c) for c in left] + [node_label(c) for c in right]
    sides = [prev_word] * len(left) + [this_word] * len(right)
    colours = ([TIER_COLOURS.get(c, _OTHER_COLOUR) for c in left]
               + [TIER_COLOURS.get(c, _OTHER_COLOUR) for c in right])
    flows = flows.assign(
        s=[left.index(c) for c in flows["src"]],
        d=[len(left) + right.index(c) for c in flows["dst"]],
    ).sort_values(["s", "d"])
    n_accounts = t("chart.n_accounts", lang, n="%{value}")
    # Plotly draws a node's name beside it, across the links (and over the other column when the
    # chart is narrow); the names are drawn instead outside the two columns, level with their nodes.
    left_sizes = [int(flows.loc[flows["src"] == c, "value"].sum()) for c in left]
    right_sizes = [int(flows.loc[flows["dst"] == c, "value"].sum()) for c in right]
    left_y, right_y = _sankey_centres(left_sizes, right_sizes)
    sankey = dict(type="sankey",
        arrangement="fixed", domain={"x": [_SANKEY_LEFT, 1 - _SANKEY_LEFT], "y": [0, 1]},
        textfont={"color": "rgba(0,0,0,0)", "size": 1, "shadow": "none"},
        node=dict(label=labels, color=colours, customdata=sides, pad=_SANKEY_PAD_PX, thickness=18,
                  x=[0.001] * len(left) + [0.999] * len(right), y=left_y + right_y,
                  hovertemplate=f"%{{customdata}} · %{{label}}<br>{n_accounts}<extra></extra>"),
        link=dict(
            source=flows["s"].tolist(), target=flows["d"].tolist(), value=flows["value"].astype(int).tolist(),
            color=[MOVEMENT_COLOURS.get(m, MOVEMENT_COLOURS["same"]) for m in flows["movement"]],
            customdata=[label_or(f"move.{m}", lang, m) for m in flows["movement"]],
            hovertemplate=f"%{{source.label}} → %{{target.label}}<br>%{{customdata}}: {n_accounts}<extra></extra>",
        ),
    )
    names = [{"text": f"{html.escape(label, quote=False)} · {n}", "x": x, "xanchor": anchor, "y": 1 - y,
              "xref": "paper", "yref": "paper", "yanchor": "middle", "showarrow": False, "font": {"size": 12}}
             for label, n, y, x, anchor in zip(
                 labels, left_sizes + right_sizes, left_y + right_y,
                 [_SANKEY_LEFT - 0.015] * len(left) + [1 - _SANKEY_LEFT + 0.015] * len(right),
                 ["right"] * len(left) + ["left"] * len(right))]
    sides_titles = [{"text": word, "x": x, "xanchor": anchor, "y": 1.0, "yanchor": "bottom", "xref": "paper",
                     "yref": "paper", "showarrow": False, "font": {"size": 12, "color": "#5d6d7e"}}
                    for word, x, anchor in ((prev_word, _SANKEY_LEFT, "left"), (this_word, 1 - _SANKEY_LEFT, "right"))]
    return _built([sankey], {"annotations": names + sides_titles, "height": _SANKEY_HEIGHT}, title)


_SANKEY_LEFT = 0.22        # the columns' names take the outer 22 % on each side
_SANKEY_HEIGHT = 460
_SANKEY_PAD_PX = 18
_SANKEY_PLOT_PX = _SANKEY_HEIGHT - 110 - 50   # the figure less the shared top and bottom margins


def _sankey_centres(left: list[int], right: list[int]) -> tuple[list[float], list[float]]:
    """Each node's centre (0 = top, 1 = bottom), as plotly stacks them: one scale for both columns,
    set by the column that needs it most, and the nodes a pad apart from the top down."""
    pad = _SANKEY_PAD_PX / _SANKEY_PLOT_PX

    def scale(sizes: list[int]) -> float:
        total = sum(sizes)
        return (1 - pad * (len(sizes) - 1)) / total if total else 0.0

    k = min(scale(left), scale(right))

    def centres(sizes: list[int]) -> list[float]:
        out, top = [], 0.0
        for size in sizes:
            h = max(size * k, 0.001)
            out.append(round(top + h / 2, 4))
            top += h + pad
        return out

    return centres(left), centres(right)


# --- Dossier ---------------------------------------------------------------

def sales_trend(monthly_one_account: pd.DataFrame, promotions: pd.DataFrame | None = None,
                price_changes: pd.DataFrame | None = None, unit: str = "wan", lang: str = "zh") -> go.Figure:
    """One account's monthly sales line, promotion periods shaded, price changes marked.

    ``monthly_one_account``: ``[month, sales]`` with ``month`` a date or
    ``YYYY-MM`` text; ``promotions``: ``[start, end, label]``;
    ``price_changes``: ``[date, label]``. A price-change marker sits on the
    line at its month (0 when that month has no sales).
    """
    title = t("chart.sales_trend", lang)
    if _is_empty(monthly_one_account):
        return empty_figure(lang, title)
    data = monthly_one_account.assign(month=pd.to_datetime(monthly_one_account["month"].astype(str)))
    data = data.groupby("month", as_index=False)["sales"].sum().sort_values("month")
    divisor, suffix = _scale(unit, lang, data["sales"])
    fig = _figure()
    _add(fig, "scatter",
        x=data["month"].dt.strftime("%Y-%m-%d").tolist(), y=(data["sales"] / divisor).tolist(),
        mode="lines+markers", name=t("col.sales", lang), line=dict(color=TIER_COLOURS["strategic"], width=2),
        hovertemplate=f"%{{x|{month_tickformat(lang)}}}<br>{_amount_hover(unit, suffix, 'y')}<extra></extra>",
    )
    if not _is_empty(promotions):
        promo_word = t("chart.promotion", lang)
        for row in promotions.dropna(subset=["start"]).itertuples(index=False):
            start = pd.Timestamp(row.start)
            end = pd.Timestamp(row.end) if pd.notna(row.end) else start
            label = str(row.label) if pd.notna(row.label) else promo_word
            fig.add_vrect(
                x0=start.strftime("%Y-%m-%d"), x1=max(end, start).strftime("%Y-%m-%d"),
                fillcolor=PROMOTION_FILL, opacity=0.35, layer="below", line_width=0,
                annotation_text=label, annotation_position="top left", annotation_font_size=11,
            )
    if not _is_empty(price_changes):
        changes = price_changes.dropna(subset=["date"])
        dates = pd.to_datetime(changes["date"])
        by_month = dict(zip(data["month"], data["sales"] / divisor))
        y = [float(by_month.get(d.to_period("M").to_timestamp(), 0.0)) for d in dates]
        if len(changes):
            _add(fig, "scatter",
                x=dates.dt.strftime("%Y-%m-%d").tolist(), y=y, mode="markers", name=t("chart.price_change", lang),
                marker=dict(symbol="diamond", size=11, color="#c0392b", line=dict(width=1, color="white")),
                text=changes["label"].astype(str).tolist(),
                hovertemplate="%{x|%Y-%m-%d}<br>%{text}<extra>%{fullData.name}</extra>",
            )
    fig.update_xaxes(title_text=t("col.month", lang), type="date", tickformat=month_tickformat(lang))
    fig.update_yaxes(title_text=_amount_title("col.sales", suffix, lang), tickformat=",", rangemode="tozero")
    return _styled(fig, title)


# --- Plans -----------------------------------------------------------------

def _plan_periods(plans: pd.DataFrame) -> pd.DataFrame:
    data = plans.copy()
    data["start"] = pd.to_datetime(data["start"])
    end = pd.to_datetime(data["end"]) if "end" in data.columns else data["start"]
    # A one-day event (or a missing end) would be a zero-width, invisible bar.
    data["end"] = end.where(end > data["start"], data["start"] + pd.Timedelta(days=1))
    return data


def plans_timeline(plans: pd.DataFrame, lang: str = "zh") -> go.Figure:
    """Joint marketing plans as bars on a time axis, one row per account and kind, coloured by side.

    One row per (account, kind) keeps a year-long market plan from hiding the
    promotions of the same account under it.

    ``plans``: ``[account, kind, start, end, side, status]``; unknown kind or
    status codes are shown as they are.
    """
    title = t("chart.plans_timeline", lang)
    data = _complete_rows(plans, ["start"])
    if _is_empty(data):
        return empty_figure(lang, title)
    data = _plan_periods(data)
    side_labels = {s: t(f"plan.side.{s}", lang) for s in ("ours", "theirs")}
    kinds = [label_or(f"plan.kind.{k}", lang, str(k)) for k in data["kind"]]
    frame = pd.DataFrame({
        "account": _names(data["account"]),
        "row": [f"{a} · {k}" for a, k in zip(_names(data["account"]), kinds)],
        "start": data["start"],
        "end": data["end"],
        "side": [side_labels.get(s, str(s)) for s in data["side"]],
        "kind": kinds,
        "status": [label_or(f"plan.status.{s}", lang, str(s)) for s in data.get("status", [""] * len(data))],
    }).sort_values(["account", "row"], kind="stable")
    fig = px.timeline(
        frame, x_start="start", x_end="end", y="row", color="side",
        hover_data={"kind": True, "status": True, "side": True, "account": True, "row": False},
        color_discrete_map={side_labels[s]: c for s, c in SIDE_COLOURS.items()},
        category_orders={"side": [side_labels["ours"], side_labels["theirs"]]},
        labels={"account": t("col.account", lang), "side": t("plan.side", lang), "kind": t("plan.kind", lang),
                "status": t("plan.status", lang), "start": t("plan.start", lang), "end": t("plan.end", lang)},
    )
    fig.update_yaxes(autorange="reversed", title_text=t("col.account", lang))
    fig.update_xaxes(title_text=t("chart.period", lang), tickformat=month_tickformat(lang))
    fig = _styled(fig, title)
    # the legend names the sides by itself; its title would sit on the chart title
    fig.update_layout(legend_title_text="", height=max(320, 120 + 22 * frame["row"].nunique()))
    return fig


def budget_by_quarter(plans: pd.DataFrame, lang: str = "zh", unit: str = "wan") -> go.Figure:
    """Plan budgets summed by the quarter each plan starts in: ours vs theirs, grouped bars.

    ``plans`` needs ``start``, ``side`` and ``budget`` (yuan); plans without a
    budget are left out. Both sides always get a trace (0 where empty).
    """
    title = t("chart.budget_by_quarter", lang)
    data = _complete_rows(plans, ["start", "budget"])
    if _is_empty(data):
        return empty_figure(lang, title)
    quarters = pd.to_datetime(data["start"]).dt.to_period("Q")
    table = (data.assign(quarter=quarters, budget=data["budget"].astype(float))
             .pivot_table(index="quarter", columns="side", values="budget", aggfunc="sum", fill_value=0)
             .sort_index())
    divisor, suffix = _scale(unit, lang, table.to_numpy().ravel())
    x = [f"{p.year} Q{p.quarter}" for p in table.index]
    fig = _figure()
    for side in ("ours", "theirs"):
        values = table[side] if side in table.columns else pd.Series(0.0, index=table.index)
        _add(fig, "bar",
            x=x, y=(values / divisor).tolist(), name=t(f"plan.side.{side}", lang), marker_color=SIDE_COLOURS[side],
            hovertemplate=f"%{{fullData.name}}<br>%{{x}}: {_amount_hover(unit, suffix, 'y')}<extra></extra>",
        )
    fig.update_layout(barmode="group")
    fig.update_xaxes(title_text=t("chart.quarter", lang), type="category")
    fig.update_yaxes(title_text=_amount_title("chart.budget", suffix, lang), tickformat=",")
    return _styled(fig, title)
