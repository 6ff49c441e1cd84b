"""Rankings: who sells most and who earns most, the portfolio, the top N."""
import streamlit as st

from kam_core.ui import clickthrough, context, tables

ctx = context.current()
st.title(ctx.t("page.rankings"))
table = context.tier_table_or_stop(ctx)
context.scope_notes(ctx)

columns = ["rank", "account", "sales", "share", "gross_profit", "margin", "profit_rank", "yoy", "abc", "tier"]
listed = context.listed(ctx, table)          # "my accounts" when that switch is on
shown, config = tables.localise(listed, columns, ctx.lang, ctx.unit, link_accounts=True,
                                link_params=context.url_params())
st.caption(ctx.t("rankings.click_hint"))
clickthrough.table(shown, "rankings_table", listed["account"], column_config=config, height=420)

scatter = st.container()                     # the portfolio above the top-N controls
c1, c2 = st.columns([1, 3])
n = c1.slider(ctx.t("rankings.top_n"), 5, 30, context.RANKINGS_TOP[0], key="rankings_n")
by = c1.radio(ctx.t("rankings.by"), ("sales", "gross_profit"), format_func=lambda v: ctx.t(f"kpi.{v}"),
              key="rankings_by")
portfolio, top = context.rankings_charts(ctx, listed, n, by)
clickthrough.chart(portfolio, "rankings_scatter", listed["account"], where=scatter)
clickthrough.chart(top, "rankings_top", listed["account"], where=c2)
