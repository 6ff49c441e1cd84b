"""Every label the interface shows, in Chinese (zh-CN) and English, in one table.

``t(key, lang, **fmt)`` looks a label up and fills its ``{placeholders}``.
A missing key raises :class:`MissingLabel` under pytest (or when
``KAM_I18N_STRICT=1``) so a forgotten label fails a test; in the running app
it falls back to the key itself, because a page showing ``kpi.sales`` is
better than a page that crashes.

Setting help texts live once, in :mod:`kam_core.settings`; this module only
holds their short names (:func:`setting_label`) and hands the help through
(:func:`setting_help`).
"""
from __future__ import annotations

import os
import string

LANGS: tuple[str, ...] = ("zh", "en")
DEFAULT_LANG = "zh"


class MissingLabel(KeyError):
    """A label key (or one of its languages, or a format value) is missing."""


# (key, zh, en). Grouped by where the label appears; keys are dotted
# `area.name` so a page can find its own labels with one prefix.
_ROWS: tuple[tuple[str, str, str], ...] = (
    # --- application and pages -------------------------------------------
    ("app.title", "大客户管理看板", "Key Account Dashboard"),
    ("app.subtitle", "大客户部 · 销售、分级与档案", "Key account department · sales, tiers and dossiers"),
    ("page.overview", "总览", "Overview"),
    ("page.import", "导入数据", "Import"),
    ("page.rankings", "排名", "Rankings"),
    ("page.tiers", "大客户分级", "Tiers"),
    ("page.settings", "设置", "Settings"),
    ("page.dossier", "客户档案", "Dossier"),
    ("page.plans", "共赢营销计划", "Joint marketing plans"),
    # --- sidebar ----------------------------------------------------------
    ("sidebar.filters", "筛选", "Filters"),
    ("sidebar.year", "年度", "Year"),
    ("sidebar.region", "区域", "Region"),
    ("sidebar.category", "品类", "Category"),
    ("sidebar.store", "门店", "Store"),
    ("sidebar.all", "全部", "All"),
    ("sidebar.language", "语言", "Language"),
    ("sidebar.database", "当前数据库", "Database in use"),
    ("sidebar.data_range", "数据范围：{start} 至 {end}", "Data from {start} to {end}"),
    ("sidebar.signed_in_as", "当前用户：{user}", "Signed in as {user}"),
    ("sidebar.sign_out", "退出登录", "Sign out"),
    ("lang.zh", "中文", "Chinese"),
    ("lang.en", "English", "English"),
    # --- KPIs -------------------------------------------------------------
    ("kpi.sales", "销售额", "Sales"),
    ("kpi.gross_profit", "毛利", "Gross profit"),
    ("kpi.margin", "毛利率", "Margin"),
    ("kpi.accounts_per_tier", "各级大客户数", "Accounts per tier"),
    ("kpi.n_accounts", "客户数", "Accounts"),
    ("kpi.top1_share", "第一大占比", "Top-1 share"),
    ("kpi.top10_share", "前十大占比", "Top-10 share"),
    ("kpi.hhi", "集中度指数 HHI", "Concentration (HHI)"),
    ("kpi.hhi_help", "各客户销售占比平方和 × 10,000；越高越依赖少数客户。",
     "Sum of squared sales shares × 10,000; higher means more dependent on a few accounts."),
    ("kpi.yoy", "同比", "Change vs last year"),
    ("kpi.vs_last_year", "同比基准年", "Change vs"),
    ("kpi.change_vs_last_year", "较上年 {change}", "{change} vs last year"),
    ("kpi.no_last_year", "无上年数据", "No data for last year"),
    ("kpi.lines", "明细行数", "Sales lines"),
    ("kpi.lines_without_profit", "无毛利数据的行", "Lines without profit"),
    ("kpi.margin_note", "毛利率只按有毛利数据的行计算（{n} 行无毛利）。",
     "Margin counts only lines with a known profit ({n} lines without)."),
    # --- table columns (tier table / rankings) ----------------------------
    ("col.account", "客户/供应商", "Account"),
    ("col.year", "年度", "Year"),
    ("col.month", "月份", "Month"),
    ("col.sales", "销售额", "Sales"),
    ("col.cost", "成本", "Cost"),
    ("col.gross_profit", "毛利", "Gross profit"),
    ("col.margin", "毛利率", "Margin"),
    ("col.share", "销售占比", "Sales share"),
    ("col.profit_share", "毛利占比", "Profit share"),
    ("col.rank", "销售排名", "Rank"),
    ("col.profit_rank", "毛利排名", "Profit rank"),
    ("col.cum_share", "累计占比", "Cumulative share"),
    ("col.abc", "ABC 分类", "ABC class"),
    ("col.yoy", "同比", "YoY"),
    ("col.tier", "级别", "Tier"),
    ("col.tier_prev", "上年级别", "Tier last year"),
    ("col.movement", "变动", "Movement"),
    ("col.to_next_tier", "距下一级", "To next tier"),
    ("col.basis_amount", "分级依据金额", "Amount on tier basis"),
    ("col.lines", "行数", "Lines"),
    ("col.lines_without_profit", "无毛利行数", "Lines without profit"),
    ("col.projected_amount", "年化金额", "Annualised amount"),
    ("col.projected_tier", "预测级别", "Projected tier"),
    ("col.criteria", "标准", "Criteria"),
    ("col.criteria_met", "满足标准数", "Criteria met"),
    ("col.dossier", "档案", "Dossier"),
    ("col.stop_sales_loss", "损失销售额", "Sales lost"),
    ("col.stop_profit_loss", "损失毛利", "Gross profit lost"),
    ("col.stop_share_of_total", "占总销售额", "Share of total sales"),
    # --- tiers (policy 1.3 wording) --------------------------------------
    ("tier.strategic", "战略性大客户", "Strategic key account"),
    ("tier.partner", "伙伴式大客户", "Partner key account"),
    ("tier.ordinary", "普通大客户", "Ordinary key account"),
    ("tier.none", "非大客户", "Not a key account"),
    ("tier.strategic.desc", "与企业同步发展，战略紧密相连", "Grows with the company; strategies closely linked"),
    ("tier.partner.desc", "主要供货商和重要合作伙伴：合作生产、品牌共建",
     "Main supplier and important partner: joint production, co-branding"),
    ("tier.ordinary.desc", "提供日常必需的产品", "Everyday products the business cannot do without"),
    ("tier.none.desc", "年度金额低于普通大客户下限", "Yearly amount below the ordinary key account threshold"),
    ("tier.threshold_from", "年度金额 ≥ {amount}", "Yearly amount ≥ {amount}"),
    ("tier.threshold_below", "年度金额 < {amount}", "Yearly amount < {amount}"),
    ("tier.basis.sales", "销售额", "Sales"),
    ("tier.basis.cost", "采购成本", "Cost of goods purchased"),
    ("tier.basis_note", "分级依据：{basis}", "Tier basis: {basis}"),
    ("tier.thresholds_title", "分级标准（政策 1.3）", "Tier thresholds (policy 1.3)"),
    ("tier.gap_up", "还差 {amount} 升级", "{amount} short of the next tier"),
    ("tier.top_tier", "已是最高级", "Already in the top tier"),
    ("tier.near_boundary", "距升级不足 10% 的客户", "Accounts within 10 % of the next tier"),
    ("tiers.none_near", "没有距升级不足 10% 的客户。", "No account is within 10 % of the next tier."),
    ("tier.export_xlsx", "导出 Excel", "Export to Excel"),
    ("tier.export_csv", "导出 CSV", "Export to CSV"),
    ("tier.stop_impact_title", "若该客户停止合作（前十大）", "If this account stopped (top ten)"),
    ("tier.checklist_title", "大客户六项标准（政策 1.2）", "The six key account criteria (policy 1.2)"),
    ("tier.migration_title", "级别变动（{prev} → {year}）", "Tier migration ({prev} → {year})"),
    # --- movements --------------------------------------------------------
    ("move.up", "升级", "Up"),
    ("move.down", "降级", "Down"),
    ("move.same", "持平", "Same"),
    ("move.new", "新增", "New"),
    ("move.lost", "流失", "Lost"),
    # --- ABC --------------------------------------------------------------
    ("abc.title", "ABC 分类", "ABC classes"),
    ("abc.A", "A 类", "Class A"),
    ("abc.B", "B 类", "Class B"),
    ("abc.C", "C 类", "Class C"),
    ("abc.rule", "累计占比（不含本客户）< {a} 为 A 类，< {b} 为 B 类，其余为 C 类。",
     "A while the cumulative share before the account is < {a}, B while < {b}, else C."),
    # --- criteria (policy 1.2) -------------------------------------------
    ("crit.1", "① 产品品牌具有较高的知名度", "① Its brand is well known"),
    ("crit.2", "② 产品的市场占有率占本企业销量的前十位",
     "② Its products are in the top ten of the company's sales"),
    ("crit.3", "③ 销售及利润的贡献比重大", "③ It contributes a large share of sales and profit"),
    ("crit.4", "④ 与本企业的配合、日常沟通和销售支持情况良好",
     "④ It cooperates well: daily communication and sales support"),
    ("crit.5", "⑤ 优先保证本企业的货源", "⑤ It gives the company priority of supply"),
    ("crit.6", "⑥ 优先保证首销或新产品上柜", "⑥ It gives the company first launch / new products on shelves first"),
    ("crit.1.short", "品牌知名度", "Brand awareness"),
    ("crit.2.short", "销售前十", "Top ten by sales"),
    ("crit.3.short", "销售及利润贡献", "Sales and profit contribution"),
    ("crit.4.short", "配合与沟通", "Cooperation"),
    ("crit.5.short", "货源优先", "Supply priority"),
    ("crit.6.short", "首销/新品优先", "New-product priority"),
    ("crit.2.rule", "销售排名 ≤ {n}", "Sales rank ≤ {n}"),
    ("crit.3.rule", "销售占比和毛利占比均 ≥ {pct}", "Sales share and profit share both ≥ {pct}"),
    ("crit.score.rule", "档案评分 ≥ 4 分（满分 5 分）", "Dossier score ≥ 4 of 5"),
    ("crit.pass", "满足", "Met"),
    ("crit.fail", "不满足", "Not met"),
    ("crit.unknown", "未评分", "Not scored"),
    ("crit.met_count", "满足 {n}/6 项", "{n} of 6 met"),
    # --- rankings page ----------------------------------------------------
    ("rankings.top_n", "显示前几名", "How many to show"),
    ("rankings.by", "排序依据", "Rank by"),
    ("rankings.open_dossier", "打开 {account} 的档案", "Open the dossier of {account}"),
    # --- import wizard ----------------------------------------------------
    ("import.upload", "上传文件", "Upload files"),
    ("import.upload_help", "支持 xlsx、xls、xlsb、ods、csv，可一次上传多个文件。",
     "xlsx, xls, xlsb, ods or csv; several files at once are fine."),
    ("import.file", "选择文件", "File"),
    ("import.read_only", "你没有导入数据的权限。", "You do not have permission to import data."),
    ("import.auto", "自动识别", "Detect automatically"),
    ("import.pick_sheet", "请至少选择一个工作表。", "Choose at least one sheet."),
    ("import.kind", "数据类型", "Data kind"),
    ("import.kind.sales", "销售明细", "Sales lines"),
    ("import.kind.inventory", "库存快照", "Inventory snapshot"),
    ("import.reading", "正在读取文件…", "Reading the file…"),
    ("import.loading", "正在写入数据库…", "Loading into the database…"),
    ("import.sheet", "工作表", "Sheet"),
    ("import.sheets", "选择工作表", "Choose sheets"),
    ("import.sheet_hidden", "（隐藏）", "(hidden)"),
    ("import.sheet_rows", "{n} 行", "{n} rows"),
    ("import.header_row", "表头所在行", "Header row"),
    ("import.header_row_help", "0 表示自动识别；否则填写表头在 Excel 中的行号。",
     "0 finds the header automatically; otherwise the header's row number as Excel shows it."),
    ("import.preview", "预览", "Preview"),
    ("import.title_rows", "表头上方的标题", "Title above the header"),
    ("import.mapping", "字段对应", "Column mapping"),
    ("import.mapping_help", "已按列名自动匹配，可逐项修改。", "Suggested from the column names; change any of them."),
    ("import.mapping_profile_used", "已使用上次相同表头的对应关系。", "Reused the mapping saved for these headers."),
    ("import.field", "字段", "Field"),
    ("import.column", "文件中的列", "Column in the file"),
    ("import.not_mapped", "（不导入）", "(not imported)"),
    ("import.required_missing", "缺少必需字段：{fields}", "Required fields missing: {fields}"),
    ("field.date", "日期", "Date"),
    ("field.supplier", "供应商", "Supplier"),
    ("field.brand", "品牌", "Brand"),
    ("field.category", "品类", "Category"),
    ("field.store", "门店", "Store"),
    ("field.region", "区域", "Region"),
    ("field.sku", "商品编码", "SKU"),
    ("field.product", "商品名称", "Product"),
    ("field.qty", "数量", "Quantity"),
    ("field.amount", "销售额", "Amount"),
    ("field.cost", "成本", "Cost"),
    ("field.profit", "毛利", "Profit"),
    ("field.unit_price", "单价", "Unit price"),
    ("import.date_order", "日期是 年-月-日、日-月-年 还是 月-日-年？",
     "Are the dates year-month-day, day-month-year or month-day-year?"),
    ("import.date_order_help", "这一列的日期可以有多种读法，请选择正确的顺序。",
     "The dates in this column can be read more than one way; choose the right order."),
    ("date_order.ymd", "年-月-日", "year-month-day"),
    ("date_order.dmy", "日-月-年", "day-month-year"),
    ("date_order.mdy", "月-日-年", "month-day-year"),
    ("import.unit", "金额单位", "Unit of the amounts"),
    ("import.unit_from_header", "按列名识别（如“销售额(万元)”），否则为元", "From the header (e.g. “销售额(万元)”), else yuan"),
    ("import.account_from", "大客户取自", "Account taken from"),
    ("account_from.supplier", "供应商", "Supplier"),
    ("account_from.brand", "品牌", "Brand"),
    ("account_from.product_prefix", "商品名称前缀", "Product name prefix"),
    ("import.check", "检查", "Check"),
    ("import.report", "校验报告", "Validation report"),
    ("import.rows_read", "读取行数", "Rows read"),
    ("import.rows_accepted", "可导入行数", "Rows accepted"),
    ("import.rows_skipped", "跳过行数", "Rows skipped"),
    ("import.rows_rejected", "拒绝行数", "Rows rejected"),
    ("import.skipped_by_reason", "跳过原因", "Skipped, by reason"),
    ("import.rejected_by_reason", "拒绝原因", "Rejected, by reason"),
    ("skip.blank", "空行", "Blank rows"),
    ("skip.totals", "合计/小计行", "Totals rows"),
    ("skip.repeated_header", "重复的表头行", "Repeated header rows"),
    ("reject.bad_date", "日期无法识别", "Date not understood"),
    ("reject.missing_date", "缺少日期", "Date missing"),
    ("reject.bad_number", "数字无法识别", "Number not understood"),
    ("reject.missing_amount", "缺少金额", "Amount missing"),
    ("reject.missing_account", "缺少客户名称", "Account name missing"),
    ("import.rejected_rows", "被拒绝的行", "Rejected rows"),
    ("import.col_sheet", "工作表", "Sheet"),
    ("import.col_row", "行号", "Row"),
    ("import.col_column", "列", "Column"),
    ("import.col_value", "值", "Value"),
    ("import.col_reason", "原因", "Reason"),
    ("import.reconciliation", "核对：文件合计 {file_total}，导入合计 {loaded_total}，差额 {difference}",
     "Reconciliation: file total {file_total}, loaded total {loaded_total}, difference {difference}"),
    ("import.reconciliation_ok", "核对一致：文件合计行 {file_total}，明细合计 {parsed_total}",
     "Totals agree: the file's totals row {file_total}, the lines {parsed_total}"),
    ("import.no_total_row", "文件中没有合计行，无法与文件合计核对。", "The file has no totals row to reconcile with."),
    ("import.download_report", "下载校验报告", "Download the report"),
    ("import.download_rejected", "下载被拒绝的行（CSV）", "Download rejected rows (CSV)"),
    ("import.confirm", "确认导入", "Confirm and load"),
    ("import.cancel", "取消", "Cancel"),
    ("import.done", "已导入 {rows} 行（导入编号 {id}）。", "Loaded {rows} rows (import {id})."),
    ("import.nothing_written", "未写入任何数据。", "Nothing was written."),
    ("import.duplicate_file", "这个文件已于 {when} 导入过（导入编号 {id}）。确定要再次导入吗？",
     "This file was already imported on {when} (import {id}). Import it again?"),
    ("import.force", "仍然导入", "Import anyway"),
    ("import.history", "导入记录", "Import history"),
    ("import.undo", "撤销", "Undo"),
    ("import.undo_confirm", "确定撤销导入 {id} 吗？该次导入的所有行都会删除。",
     "Undo import {id}? All its rows will be removed."),
    ("import.undone", "已撤销导入 {id}，删除 {rows} 行。", "Import {id} undone; {rows} rows removed."),
    ("import.no_history", "还没有导入记录。", "No imports yet."),
    ("import.col_file", "文件名", "File"),
    ("import.col_imported_at", "导入时间", "Imported at"),
    ("import.col_rows_loaded", "导入行数", "Rows loaded"),
    ("import.col_amount_total", "金额合计", "Amount total"),
    ("import.col_dates", "日期范围", "Dates"),
    ("import.col_status", "状态", "Status"),
    ("import.status.active", "有效", "Active"),
    ("import.status.undone", "已撤销", "Undone"),
    ("import.size_limit", "上传大小上限：{mb} MB", "Upload size limit: {mb} MB"),
    ("import.rejected_file", "无法导入 {file}：{reason}", "Cannot import {file}: {reason}"),
    ("import_error.empty", "文件是空的。", "The file is empty."),
    ("import_error.too_large", "文件超过大小上限。", "The file is over the size limit."),
    ("import_error.encrypted", "文件有密码保护，请先在 Excel 中取消密码。",
     "The file is password-protected; remove the password in Excel first."),
    ("import_error.truncated", "文件不完整（可能下载中断）。", "The file is incomplete (perhaps a broken download)."),
    ("import_error.html_as_xls", "这是另存为 .xls 的网页，请在 Excel 中另存为 xlsx。",
     "This is a web page saved as .xls; save it as xlsx in Excel."),
    ("import_error.spreadsheetml_2003", "这是 Excel 2003 XML 格式，请另存为 xlsx。",
     "This is Excel 2003 XML; save it as xlsx."),
    ("import_error.zip_bomb", "文件解压后过大，已拒绝。", "The file expands to far too much data; refused."),
    ("import_error.xml_entities", "文件含有不安全的 XML 内容，已拒绝。", "The file contains unsafe XML; refused."),
    ("import_error.strict_ooxml_unsupported", "不支持 Strict Open XML 格式，请另存为普通 xlsx。",
     "Strict Open XML is not supported; save it as an ordinary xlsx."),
    ("import_error.power_pivot_only", "数据只在 Power Pivot 模型中，工作表里没有明细。",
     "The data is only in a Power Pivot model; no sheet holds the lines."),
    ("import_error.not_a_spreadsheet", "这不是表格文件。", "This is not a spreadsheet."),
    ("import_error.binary_unknown", "无法识别的文件格式。", "Unknown file format."),
    ("import_error.field_count", "CSV 第 {record} 条记录的列数与表头不一致。",
     "CSV record {record} has a different number of fields than the header."),
    # --- units ------------------------------------------------------------
    ("unit.yuan", "元", "CNY"),
    ("unit.thousand", "千元", "thousand CNY"),
    ("unit.wan", "万元", "10k CNY"),
    ("unit.label", "金额单位：{unit}", "Amounts in {unit}"),
    # --- empty states and common actions ---------------------------------
    ("empty.no_data", "还没有数据。请先导入销售明细，或载入演示数据看看效果。",
     "No data yet. Import a sales export first, or load the demo data to look around."),
    ("empty.no_data_year", "{year} 年没有数据。", "No data for {year}."),
    ("empty.no_match", "没有符合筛选条件的数据。", "Nothing matches the filters."),
    ("empty.go_import", "去导入数据", "Go to Import"),
    ("empty.load_demo", "载入演示数据", "Load demo data"),
    ("empty.demo_loaded", "已载入演示数据。", "Demo data loaded."),
    ("empty.no_previous_year", "没有上一年的数据，无法比较。", "No data for the previous year to compare with."),
    ("action.save", "保存", "Save"),
    ("action.saved", "已保存。", "Saved."),
    ("action.cancel", "取消", "Cancel"),
    ("action.delete", "删除", "Delete"),
    ("action.restore", "恢复", "Restore"),
    ("action.edit", "编辑", "Edit"),
    ("action.add", "添加", "Add"),
    ("action.download", "下载", "Download"),
    ("action.search", "搜索", "Search"),
    ("action.reset", "恢复默认", "Reset to default"),
    # --- projection -------------------------------------------------------
    ("projection.label", "预测（按年化）", "Projection (annualised run rate)"),
    ("projection.note", "年度尚未结束：按已有月份的销售额年化，仅供参考，不改变实际级别。",
     "The year is not finished: sales so far annualised by the months covered; a guide only, the actual tier is unchanged."),
    ("projection.note_detail", "{year} 年尚未结束：按截至 {through} 的 {months} 个月年化。",
     "{year} is not finished: annualised from {months} months up to {through}."),
    # --- settings page ----------------------------------------------------
    ("settings.read_only", "你可以查看设置，但没有修改权限。", "You can view the settings but not change them."),
    ("settings.saved", "设置已保存，所有页面立即生效。", "Settings saved; every page uses them now."),
    ("settings.error", "无法保存：{message}", "Not saved: {message}"),
    ("settings.group.tiers", "大客户分级", "Tiers"),
    ("settings.group.abc", "ABC 分类", "ABC classes"),
    ("settings.group.criteria", "大客户标准", "Key account criteria"),
    ("settings.group.display", "显示", "Display"),
    ("settings.group.import", "导入", "Import"),
    ("settings.thresholds_increase", "分级金额必须递增：普通 < 伙伴式 < 战略性。",
     "Tier thresholds must increase: ordinary < partner < strategic."),
    ("settings.abc_increase", "ABC 分界必须递增：A < B。", "ABC cut-offs must increase: A < B."),
    ("setting.tier_strategic_min", "战略性大客户下限（元）", "Strategic key account from (CNY)"),
    ("setting.tier_partner_min", "伙伴式大客户下限（元）", "Partner key account from (CNY)"),
    ("setting.tier_ordinary_min", "普通大客户下限（元）", "Ordinary key account from (CNY)"),
    ("setting.tier_basis", "分级依据", "Tier basis"),
    ("setting.abc_a_max", "A 类累计占比上限", "Class A cumulative share limit"),
    ("setting.abc_b_max", "B 类累计占比上限", "Class B cumulative share limit"),
    ("setting.fiscal_start_month", "财年起始月份", "Fiscal year start month"),
    ("setting.criteria_min_share", "标准③最低占比", "Criterion ③ minimum share"),
    ("setting.criteria_top_n", "标准②排名范围", "Criterion ② top N"),
    ("setting.amount_unit", "金额显示单位", "Amount unit"),
    ("setting.language", "默认语言", "Default language"),
    ("setting.max_upload_mb", "上传大小上限（MB）", "Upload size limit (MB)"),
    # --- charts -----------------------------------------------------------
    ("chart.no_data", "暂无数据", "No data"),
    ("chart.monthly_trend", "月度销售额（按级别）", "Monthly sales by tier"),
    ("chart.tier_distribution", "各级客户数与销售额", "Accounts and sales per tier"),
    ("chart.accounts", "客户数", "Accounts"),
    ("chart.pareto", "帕累托图：销售额与累计占比", "Pareto: sales and cumulative share"),
    ("chart.cum_share", "累计占比", "Cumulative share"),
    ("chart.rank_axis", "客户（按销售额排名）", "Accounts by sales rank"),
    ("chart.cut_line", "{cls} 类界线 {pct}", "Class {cls} cut {pct}"),
    ("chart.portfolio", "客户组合：销售额 × 毛利率", "Portfolio: sales × margin"),
    ("chart.median", "中位数", "Median"),
    ("chart.bubble_note", "气泡大小 = 毛利绝对值", "Bubble size = |gross profit|"),
    ("chart.top_n.sales", "销售额前 {n} 名", "Top {n} by sales"),
    ("chart.top_n.gross_profit", "毛利前 {n} 名", "Top {n} by gross profit"),
    ("chart.migration", "级别变动", "Tier migration"),
    ("chart.prev_year", "上年", "Last year"),
    ("chart.this_year", "本年", "This year"),
    ("chart.n_accounts", "{n} 个客户", "{n} accounts"),
    ("chart.sales_trend", "月度销售额", "Monthly sales"),
    ("chart.promotion", "促销", "Promotion"),
    ("chart.price_change", "价格调整", "Price change"),
    ("chart.plans_timeline", "共赢营销计划时间表", "Joint marketing plans timeline"),
    ("chart.budget_by_quarter", "各季度营销预算：我方与对方", "Marketing budget by quarter: ours vs theirs"),
    ("chart.quarter", "季度", "Quarter"),
    ("chart.budget", "预算", "Budget"),
    ("chart.period", "期间", "Period"),
    # --- dossier (issue 5) ------------------------------------------------
    ("dossier.pick_account", "选择客户", "Choose an account"),
    ("dossier.search_help", "可输入客户名称或别名", "Type a name or an alias"),
    ("dossier.tab.sales", "销售", "Sales"),
    ("dossier.tab.contacts", "联系人", "Contacts"),
    ("dossier.tab.facts", "企业信息", "Company facts"),
    ("dossier.tab.records", "过程记录", "Records"),
    ("dossier.tab.plans", "营销计划", "Plans"),
    ("dossier.tab.history", "修改记录", "History"),
    ("dossier.owner", "大客户经理", "Key account manager"),
    ("dossier.backup_owner", "备份负责人", "Backup owner"),
    ("dossier.aliases", "别名", "Aliases"),
    ("dossier.phone", "电话", "Phone"),
    ("dossier.address", "地址", "Address"),
    ("dossier.fax", "传真", "Fax"),
    ("dossier.email", "电邮", "E-mail"),
    ("dossier.website", "网站", "Website"),
    ("dossier.org_structure", "组织架构", "Organisation structure"),
    ("dossier.history", "发展历史", "History"),
    ("dossier.business_goals", "经营目标", "Business goals"),
    ("dossier.direction", "发展方向", "Direction of development"),
    ("dossier.product_positioning", "产品定位", "Product positioning"),
    ("dossier.competitors", "竞争对手状况", "Competitors"),
    ("dossier.suppliers", "供应商状况", "Its suppliers"),
    ("dossier.resources", "资源状况", "Resources"),
    ("dossier.market_share", "市场占有率", "Market share"),
    ("dossier.industry_rank", "行业排名", "Industry rank"),
    ("dossier.main_products", "主要产品功能、外观及设计的适销性", "Main products: function, look, design fit"),
    ("dossier.price_policy", "市场价格维护及价格变化", "Price maintenance and price changes"),
    ("dossier.score.brand_awareness", "品牌知名度", "Brand awareness"),
    ("dossier.score.cooperation", "配合程度", "Cooperation"),
    ("dossier.score.supply_priority", "货源优先", "Supply priority"),
    ("dossier.score.new_product_priority", "新品优先", "New-product priority"),
    ("dossier.score_help", "1 分最低，5 分最高；≥ 4 分视为满足对应标准。",
     "1 lowest, 5 highest; 4 or more meets the matching criterion."),
    ("dossier.completeness", "档案完整度 {pct}", "Dossier completeness {pct}"),
    ("dossier.missing", "缺少：{items}", "Missing: {items}"),
    ("dossier.missing_decision_maker", "缺少决策人联系人的客户", "Accounts without a decision-maker contact"),
    ("dossier.expired_agreements", "协议已过期的客户", "Accounts with expired agreements"),
    ("dossier.expiring_soon", "{days} 天内到期", "Expires within {days} days"),
    ("dossier.conflict", "保存失败：{who} 已在你编辑期间修改了“{field}”（对方：{theirs}；你：{yours}）。请刷新后再改。",
     "Not saved: {who} changed “{field}” while you were editing (theirs: {theirs}; yours: {yours}). Reload and try again."),
    ("dossier.deleted", "已删除（可恢复）", "Deleted (can be restored)"),
    ("dossier.show_deleted", "显示已删除", "Show deleted"),
    ("dossier.stock_on_hand", "库存数量", "Stock on hand"),
    ("dossier.stock_value", "库存金额", "Stock value"),
    ("dossier.weeks_of_cover", "可售周数", "Weeks of cover"),
    ("dossier.top_products", "主要商品", "Top products"),
    ("dossier.category_mix", "品类构成", "Category mix"),
    ("dossier.region_mix", "门店/区域构成", "Store and region mix"),
    ("role.buyer", "采购员", "Buyer"),
    ("role.purchasing_manager", "采购经理", "Purchasing manager"),
    ("role.purchasing_director", "采购总监", "Purchasing director"),
    ("role.finance_director", "财务总监", "Finance director"),
    ("role.sales_manager", "销售经理", "Sales manager"),
    ("role.distribution_manager", "配送经理", "Distribution manager"),
    ("role.general_manager", "总经理", "General manager"),
    ("role.chairman", "董事长", "Chairman"),
    ("role.marketing_head", "市场部负责人", "Marketing head"),
    ("role.other", "其他", "Other"),
    ("contact.name", "姓名", "Name"),
    ("contact.title", "职务", "Title"),
    ("contact.authority", "权限", "Authority"),
    ("contact.spending_limit", "审批额度", "Spending limit"),
    ("contact.notes", "个人特点", "Personal notes"),
    ("contact.influence", "影响力", "Influence"),
    ("contact.relationship", "关系强度", "Relationship strength"),
    ("influence.decision_maker", "决策者", "Decision maker"),
    ("influence.influencer", "影响者", "Influencer"),
    ("influence.user", "使用者", "User"),
    ("influence.blocker", "阻碍者", "Blocker"),
    ("record.negotiations", "谈判记录", "Negotiations"),
    ("record.agreements", "协议", "Agreements"),
    ("record.orders_inventory", "订购与库存", "Orders and inventory"),
    ("record.price_changes", "价格调整", "Price changes"),
    ("record.date", "日期", "Date"),
    ("record.topic", "议题", "Topic"),
    ("record.our_participants", "我方参与人", "Our participants"),
    ("record.their_participants", "对方参与人", "Their participants"),
    ("record.summary", "摘要", "Summary"),
    ("record.outcome", "结果", "Outcome"),
    ("record.follow_up", "跟进日期", "Follow-up date"),
    ("record.agreement_title", "协议名称", "Title"),
    ("record.signed_on", "签订日期", "Signed on"),
    ("record.valid_from", "生效日期", "Valid from"),
    ("record.valid_to", "到期日期", "Valid to"),
    ("record.terms", "条款", "Terms"),
    ("record.targets", "目标", "Targets"),
    ("record.rebate", "返利", "Rebate"),
    ("record.product", "商品或系列", "Product or range"),
    ("record.old_price", "原价", "Old price"),
    ("record.new_price", "新价", "New price"),
    ("record.reason", "原因", "Reason"),
    ("agreement.status.draft", "草拟", "Draft"),
    ("agreement.status.active", "生效中", "Active"),
    ("agreement.status.expired", "已过期", "Expired"),
    ("agreement.status.terminated", "已终止", "Terminated"),
    ("audit.who", "修改人", "Who"),
    ("audit.when", "时间", "When"),
    ("audit.field", "字段", "Field"),
    ("audit.old", "原值", "Old value"),
    ("audit.new", "新值", "New value"),
    # --- plans (policy §5) ------------------------------------------------
    ("plan.kind", "类型", "Kind"),
    ("plan.side", "提供方", "Side"),
    ("plan.status", "状态", "Status"),
    ("plan.start", "开始", "Start"),
    ("plan.end", "结束", "End"),
    ("plan.budget", "预算", "Budget"),
    ("plan.notes", "备注", "Notes"),
    ("plan.kind.yearly_market_plan", "年度市场规划", "Yearly market plan"),
    ("plan.kind.monthly_promotion", "月度促销计划", "Monthly promotion"),
    ("plan.kind.quarterly_advertising", "季度广告计划", "Quarterly advertising"),
    ("plan.kind.budget", "营销费用计划", "Marketing budget"),
    ("plan.kind.new_product_launch", "新品发布", "New-product launch"),
    ("plan.kind.launch_event", "发布会", "Launch event"),
    ("plan.kind.holiday_promotion", "节庆促销", "Holiday promotion"),
    ("plan.kind.info_exchange", "数据/信息交换", "Data/information exchange"),
    ("plan.kind.other", "其他", "Other"),
    ("plan.side.ours", "我方", "Ours"),
    ("plan.side.theirs", "对方", "Theirs"),
    ("plan.status.planned", "计划中", "Planned"),
    ("plan.status.running", "进行中", "Running"),
    ("plan.status.done", "已完成", "Done"),
    ("plan.status.cancelled", "已取消", "Cancelled"),
    ("plan.uplift", "促销提升", "Promotion uplift"),
    ("plan.uplift_note", "与促销前同样长度的期间相比", "Compared with the same-length period before"),
    ("plan.exchange_checklist", "资料交换清单（政策 5 第 1–2 步）", "Exchange checklist (policy §5 steps 1–2)"),
    ("plan.exchange.their_marketing_structure", "已收到对方市场部组织结构、负责人及联系方式",
     "Received their marketing structure, heads and contacts"),
    ("plan.exchange.their_ad_agencies", "已收到对方合作广告公司信息", "Received their ad agencies"),
    ("plan.exchange.their_contact_person", "已收到对方指定联系人及权责", "Received their appointed contact and duties"),
    ("plan.exchange.our_structure_sent", "已提供我方市场部结构、职能及联系方式",
     "Sent our marketing structure, duties and contacts"),
    ("plan.exchange.our_calendar_sent", "已提供我方重要活动及季节促销日程", "Sent our major events and seasonal promotion calendar"),
)


def _build(rows: tuple[tuple[str, str, str], ...]) -> dict[str, dict[str, str]]:
    table: dict[str, dict[str, str]] = {}
    for key, zh, en in rows:
        # A repeated key would silently overwrite the first label.
        if key in table:
            raise ValueError(f"duplicate label key {key!r}")
        table[key] = {"zh": zh, "en": en}
    return table


LABELS: dict[str, dict[str, str]] = _build(_ROWS)


def _strict() -> bool:
    return os.environ.get("KAM_I18N_STRICT") == "1" or "PYTEST_CURRENT_TEST" in os.environ


def normalise_lang(lang: str | None) -> str:
    """``"zh-CN"``, ``"zh_cn"``, ``"ZH"`` → ``"zh"``; ``"en-US"`` → ``"en"``; anything else → the default."""
    code = (lang or "").strip().lower().replace("_", "-").split("-")[0]
    return code if code in LANGS else DEFAULT_LANG


def has_label(key: str) -> bool:
    """True when ``key`` is in the table."""
    return key in LABELS


def t(key: str, lang: str, **fmt: object) -> str:
    """The label for ``key`` in ``lang`` with ``fmt`` filled into its placeholders.

    Missing key (or missing format value): raises :class:`MissingLabel` under
    tests, returns the key (or the unfilled text) in the running app.
    """
    entry = LABELS.get(key)
    if entry is None:
        if _strict():
            raise MissingLabel(f"no label {key!r}")
        return key
    text = entry.get(normalise_lang(lang), entry[DEFAULT_LANG])
    if not fmt and "{" not in text:
        return text
    try:
        return text.format(**fmt)
    except (KeyError, IndexError) as exc:
        if _strict():
            raise MissingLabel(f"label {key!r} needs {exc}") from exc
        return text


def label_or(key: str, lang: str, default: str) -> str:
    """The label for ``key``, or ``default`` when the table has none.

    For labels of data values (a plan kind typed in by a user, an unknown
    tier) where a missing label is expected and not a bug.
    """
    return t(key, lang) if key in LABELS else default


def placeholders(text: str) -> set[str]:
    """Names of the ``{placeholders}`` in a label."""
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


def setting_label(key: str, lang: str) -> str:
    """Short name of a setting from :data:`kam_core.settings.SETTINGS`."""
    return t(f"setting.{key}", lang)


def setting_help(key: str, lang: str) -> str:
    """The setting's help text, as declared once in :mod:`kam_core.settings`."""
    from .settings import SETTINGS  # imported late: settings pulls in the store

    s = SETTINGS.get(key)
    if s is None:
        if _strict():
            raise MissingLabel(f"no setting {key!r}")
        return key
    return s.help_zh if normalise_lang(lang) == "zh" else s.help_en
