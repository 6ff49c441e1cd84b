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
from kam_core.locales.labels import setting_help


@dataclass(frozen=True)
class Setting:
    key: str
    default: Any
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
        Setting("tier_strategic_min", 50_000_000, _money),
        Setting("tier_partner_min", 20_000_000, _money),
        Setting("tier_ordinary_min", 5_000_000, _money),
        Setting("tier_basis", "sales", choices=("sales", "cost")),
        Setting("abc_a_max", 0.80, _fraction),
        Setting("abc_b_max", 0.95, _fraction),
        Setting("fiscal_start_month", 1,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 12),
        Setting("criteria_min_share", 0.01, _fraction),
        Setting("criteria_top_n", 10,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and v >= 1),
        Setting("attention_sales_drop_share", 0.10, _fraction),
        Setting("attention_min_completeness", 0.50, _fraction),
        Setting("import_max_columns", Limits.max_columns,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 20 <= v <= 16_384),
        Setting("amount_unit", "wan", choices=("yuan", "wan")),
        Setting("language", "zh", choices=("zh", "en")),
        Setting("inbox_dir", "inbox", _text),
        Setting("smtp_host", "", _text),
        Setting("smtp_port", 587,
                lambda v: isinstance(v, int) and not isinstance(v, bool) and 1 <= v <= 65535),
        Setting("smtp_starttls", True,
                lambda v: isinstance(v, bool)),
        Setting("smtp_user", "", _text),
        Setting("smtp_sender", "", _text),
        Setting("smtp_password_env", "KAM_SMTP_PASSWORD",
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
            raise SettingsError(f"{key}: {value!r} is not allowed ({setting_help(key, 'en')})")
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
