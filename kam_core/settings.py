"""Every setting declared once, with its default, validation and help text.

The Settings page, the command line's ``--help`` and the metrics all read
from :data:`SETTINGS`; values live in the ``settings`` table as JSON.
"""
from __future__ import annotations

import json
import re
from dataclasses import dataclass
from typing import Any, Callable

from kam_core import audit
from kam_core.imports.detect import Limits
from kam_core.permissions import SYSTEM, User, require
from kam_core.store import Store


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
    help_en: str
    help_zh: str
    check: Callable[[Any], bool] = lambda v: True
    choices: tuple | None = None


def _money(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and v >= 0


def _text(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 500 and "\n" not in v and "\x00" not in v


def _fraction(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool) and 0 <= v <= 1


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in [
        Setting("tier_strategic_min", 50_000_000, "Yearly amount (CNY) from which an account is a strategic key account (policy 1.3).",
                "战略性大客户的年度金额下限（元，政策 1.3）。", _money),
        Setting("tier_partner_min", 20_000_000, "Yearly amount (CNY) from which an account is a partner key account.",
                "伙伴式大客户的年度金额下限（元）。", _money),
        Setting("tier_ordinary_min", 5_000_000, "Yearly amount (CNY) from which an account is an ordinary key account; below it, not a key account.",
                "普通大客户的年度金额下限（元）；低于此值不是大客户。", _money),
        Setting("tier_basis", "sales", "What the tier thresholds are compared with: sales, or cost of goods purchased.",
                "分级依据：销售额，或采购成本。", choices=("sales", "cost")),
        Setting("abc_a_max", 0.80, "Cumulative share before an account below which it is class A.",
                "累计占比（不含本客户）低于此值为 A 类。", _fraction),
        Setting("abc_b_max", 0.95, "Cumulative share before an account below which it is class B (else C).",
                "累计占比（不含本客户）低于此值为 B 类，否则 C 类。", _fraction),
        Setting("fiscal_start_month", 1, "First month of the fiscal year (1 = calendar year); a fiscal year is named by the calendar year it starts in.",
                "财年起始月份（1 为自然年）；财年以其开始的自然年命名。",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 12),
        Setting("criteria_min_share", 0.01, "Minimum share of sales and of gross profit for criterion 3 (policy 1.2).",
                "标准③：销售占比和毛利占比的最低值（政策 1.2）。", _fraction),
        Setting("criteria_top_n", 10, "Criterion 2: an account must rank within this many by sales.",
                "标准②：销售排名需在前若干名之内。",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1),
        Setting("attention_sales_drop_share", 0.10,
                "Needs attention: an account whose like-for-like sales fell by more than this share against the same days a year earlier (0.10 = 10 %).",
                "需要关注：同口径销售额（与上年同期相比）下降超过此比例的客户（0.10 即 10%）。", _fraction),
        Setting("attention_min_completeness", 0.50,
                "Needs attention: a dossier whose completeness (the policy's 26 items) is below this share.",
                "需要关注：档案完整度（政策要求的 26 项）低于此比例的客户。", _fraction),
        Setting("import_max_columns", Limits.max_columns,
                "Most columns an imported sheet may have (real exports have tens). A wider file is refused at once, "
                "before it is read: every column costs memory and time for each of its lines.",
                "导入工作表最多允许的列数（实际导出文件通常只有几十列）。超过此数的文件在读取前即被拒绝：每多一列，每行都要多占内存和时间。",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 20 <= v <= 16_384),
        Setting("amount_unit", "wan", "Unit in which amounts are shown: yuan or wan (10,000 yuan).",
                "金额显示单位：元或万元。", choices=("yuan", "wan")),
        Setting("language", "zh", "Default interface language.", "默认界面语言。", choices=("zh", "en")),
        Setting("inbox_dir", "inbox", "Folder the running dashboard imports new exports from (relative to the database's folder; empty turns the inbox off).",
                "运行中的看板自动导入该文件夹中的新导出文件（相对于数据库所在文件夹；留空则关闭收件箱）。", _text),
        Setting("smtp_host", "", "Mail server for scheduled reports (empty: no e-mail).",
                "定时报表使用的邮件服务器（留空则不发邮件）。", _text),
        Setting("smtp_port", 587, "Mail server port (587 with STARTTLS, 25 without).",
                "邮件服务器端口（STARTTLS 通常为 587，不加密为 25）。",
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535),
        Setting("smtp_starttls", True, "Encrypt the mail connection with STARTTLS.", "使用 STARTTLS 加密邮件连接。",
                lambda v: isinstance(v, bool)),
        Setting("smtp_user", "", "User name on the mail server (empty: send without signing in).",
                "邮件服务器用户名（留空则不登录直接发送）。", _text),
        Setting("smtp_sender", "", "Sender address of scheduled mails (empty: the user name).",
                "定时邮件的发件人地址（留空则使用用户名）。", _text),
        Setting("smtp_password_env", "KAM_SMTP_PASSWORD",
                "Environment variable holding the mail password when Streamlit's secrets have no [smtp] password; the password is never stored in the database.",
                "当 Streamlit secrets 中没有 [smtp] password 时，从该环境变量读取邮件密码；密码从不存入数据库。",
                lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) is not None),
    ]
}


class SettingsError(ValueError):
    """A setting value was refused; the message names the rule."""


def get_settings(store: Store) -> dict[str, Any]:
    """All settings: stored values over defaults."""
    values = {k: s.default for k, s in SETTINGS.items()}
    for key, raw in store.cursor().execute("select key, value from settings").fetchall():
        if key in SETTINGS:
            values[key] = json.loads(raw)
    return values


def validate_settings(values: dict[str, Any]) -> None:
    for key, value in values.items():
        s = SETTINGS.get(key)
        if s is None:
            raise SettingsError(f"unknown setting {key!r}")
        if s.choices is not None and value not in s.choices:
            raise SettingsError(f"{key} must be one of {', '.join(map(str, s.choices))}")
        if not s.check(value):
            raise SettingsError(f"{key}: {value!r} is not allowed ({s.help_en})")
    if not (values["tier_ordinary_min"] < values["tier_partner_min"] < values["tier_strategic_min"]):
        raise SettingsError("tier thresholds must increase: ordinary < partner < strategic")
    if not values["abc_a_max"] < values["abc_b_max"]:
        raise SettingsError("ABC cut-offs must increase: A < B")


def save_settings(store: Store, changes: dict[str, Any], user: User = SYSTEM) -> dict[str, Any]:
    """Validate the merged settings and store the changed ones in one audited transaction."""
    require(user, "manage_settings")
    before = get_settings(store)
    merged = {**before, **changes}
    validate_settings(merged)
    with store.transaction() as cur:
        for key, value in changes.items():
            cur.execute(
                "insert or replace into settings (key, value, updated_at) values (?, ?, current_timestamp)",
                [key, json.dumps(value)],
            )
            audit.record(cur, user.name, "update", "settings", key, "value", json.dumps(before[key]), json.dumps(value))
        Store.bump_data_version(cur)
    return merged
