"""Rankings: who sells most and who earns most, the portfolio, the top N."""
import streamlit as st

from kam_core import charts
from kam_core.views import context, tables
from kam_core.views.text import escape_md

ctx = context.current()
st.title(ctx.t("page.rankings"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)

columns = ["rank", "account", "sales", "share", "gross_profit", "margin", "profit_rank", "yoy", "abc", "tier"]
shown, config = tables.localise(table, columns, ctx.lang, ctx.unit, link_accounts=True)
event = st.dataframe(shown, column_config=config, hide_index=True, width="stretch", height=420,
                     on_select="rerun", selection_mode="single-row", key="rankings_table")
rows = event.selection.rows if event and event.selection else []
if rows:
    account = table.iloc[rows[0]]["account"]
    st.page_link("app_pages/dossier.py", label=ctx.t("rankings.open_dossier", account=escape_md(account)), icon="📇",
                 query_params=context.url_params({"account": account}))

st.plotly_chart(context.chart(ctx, "portfolio", lambda: charts.portfolio_scatter(table, ctx.unit, ctx.lang)),
                width="stretch")
c1, c2 = st.columns([1, 3])
n = c1.slider(ctx.t("rankings.top_n"), 5, 30, 10, key="rankings_n")
by = c1.radio(ctx.t("rankings.by"), ("sales", "gross_profit"), format_func=lambda v: ctx.t(f"kpi.{v}"),
              key="rankings_by")
c2.plotly_chart(context.chart(ctx, "top_n", lambda: charts.top_n_bar(table, n, by, ctx.unit, ctx.lang), n, by),
                width="stretch")
