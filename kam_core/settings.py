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


KINDS = ("money", "ratio", "int", "month", "choice", "bool", "text", "env_name")
"""How a setting's value is checked and shown: ``money`` (yuan, a number ≥ ``low``), ``ratio`` (a 0–1
fraction, shown as a percentage), ``int`` and ``month`` (whole numbers in ``low``..``high``), ``choice``
(one of ``choices``), ``bool``, ``text`` (one line) and ``env_name`` (an environment variable's name)."""


class SettingsError(ValueError):
    """A setting value was refused. ``code`` names the rule, ``params`` its figures; ``str()`` is an
    English sentence for the command line, the pages say it from the catalogue (``settings.refused.<code>``).

    Codes: ``unknown`` (key), ``not_choice`` (key, value, choices), ``out_of_bounds`` (key, value, low,
    high; ``high`` None when there is no upper bound), ``invalid`` (key, value: not a value of its kind),
    ``thresholds_increase`` and ``abc_increase`` (the order the policy needs).
    """

    def __init__(self, code: str, **params: Any):
        self.code = code
        self.params = params
        super().__init__(_english(code, params))


def _english(code: str, p: dict[str, Any]) -> str:
    if code == "unknown":
        return f"unknown setting {p['key']!r}"
    if code == "not_choice":
        return f"{p['key']} must be one of {', '.join(map(str, p['choices']))}"
    if code == "out_of_bounds":
        bounds = f"at least {p['low']}" if p["high"] is None else f"from {p['low']} to {p['high']}"
        return f"{p['key']}: {p['value']!r} is not allowed (must be {bounds})"
    if code == "invalid":
        return f"{p['key']}: {p['value']!r} is not allowed ({setting_help(p['key'], 'en')})"
    if code == "thresholds_increase":
        return "tier thresholds must increase: ordinary < partner < strategic"
    if code == "abc_increase":
        return "ABC cut-offs must increase: A < B"
    return code


def _number(v: Any) -> bool:
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def _whole(v: Any) -> bool:
    return isinstance(v, int) and not isinstance(v, bool)


def _one_line(v: Any) -> bool:
    return isinstance(v, str) and len(v) <= 500 and "\n" not in v and "\x00" not in v


_OF_KIND: dict[str, Callable[[Any], bool]] = {
    "money": _number, "ratio": _number, "int": _whole, "month": _whole,
    "choice": lambda v: True, "bool": lambda v: isinstance(v, bool), "text": _one_line,
    "env_name": lambda v: isinstance(v, str) and re.fullmatch(r"[A-Za-z_][A-Za-z0-9_]*", v) is not None,
}


@dataclass(frozen=True)
class Setting:
    """One setting: its default, kind and bounds (the check and the Settings page both read them), and
    where the Settings page shows it (``group``; None: elsewhere, e.g. the mail server's form)."""

    key: str
    default: Any
    kind: str
    low: float | None = None
    high: float | None = None
    step: float | None = None
    choices: tuple | None = None
    group: str | None = None
    choice_label: str | None = None
    """Label key prefix of the choices' names (``tier.basis`` → ``tier.basis.sales``)."""

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"{self.key}: unknown kind {self.kind!r}")

    def refusal(self, value: Any) -> SettingsError | None:
        """Why ``value`` is refused for this setting, or None when it is allowed."""
        if self.choices is not None:
            return None if value in self.choices else \
                SettingsError("not_choice", key=self.key, value=value, choices=self.choices)
        if not _OF_KIND[self.kind](value):
            return SettingsError("invalid", key=self.key, value=value)
        if (self.low is not None and value < self.low) or (self.high is not None and value > self.high):
            return SettingsError("out_of_bounds", key=self.key, value=value, low=self.low, high=self.high)
        return None

    def check(self, value: Any) -> bool:
        return self.refusal(value) is None


SETTINGS: dict[str, Setting] = {
    s.key: s
    for s in [
        Setting("tier_strategic_min", 50_000_000, "money", low=0, step=1_000_000, group="tiers"),
        Setting("tier_partner_min", 20_000_000, "money", low=0, step=1_000_000, group="tiers"),
        Setting("tier_ordinary_min", 5_000_000, "money", low=0, step=1_000_000, group="tiers"),
        Setting("tier_basis", "sales", "choice", choices=("sales", "cost"), group="tiers",
                choice_label="tier.basis"),
        Setting("abc_a_max", 0.80, "ratio", low=0, high=1, step=0.01, group="abc"),
        Setting("abc_b_max", 0.95, "ratio", low=0, high=1, step=0.01, group="abc"),
        Setting("fiscal_start_month", 1, "month", low=1, high=12, group="abc"),
        Setting("criteria_min_share", 0.01, "ratio", low=0, high=1, step=0.005, group="criteria"),
        Setting("criteria_top_n", 10, "int", low=1, high=100, step=1, group="criteria"),
        Setting("attention_sales_drop_share", 0.10, "ratio", low=0, high=1, step=0.01, group="attention"),
        Setting("attention_min_completeness", 0.50, "ratio", low=0, high=1, step=0.05, group="attention"),
        Setting("import_max_columns", Limits.max_columns, "int", low=20, high=16_384, step=10, group="import"),
        Setting("amount_unit", "wan", "choice", choices=("yuan", "wan"), group="display", choice_label="amount_unit"),
        Setting("language", "zh", "choice", choices=("zh", "en"), group="display", choice_label="lang"),
        Setting("inbox_dir", "inbox", "text"),
        Setting("smtp_host", "", "text"),
        Setting("smtp_port", 587, "int", low=1, high=65535),
        Setting("smtp_starttls", True, "bool"),
        Setting("smtp_user", "", "text"),
        Setting("smtp_sender", "", "text"),
        Setting("smtp_password_env", "KAM_SMTP_PASSWORD", "env_name"),
    ]
}
GROUPS = ("tiers", "abc", "criteria", "attention", "import", "display")
"""The Settings page's sections, in order (each setting names its own)."""


def get_settings(store: Store) -> dict[str, Any]:
    """All settings: stored values over defaults."""
    values = {k: s.default for k, s in SETTINGS.items()}
    for key, raw in store.cursor().execute("select key, value from settings").fetchall():
        if key in SETTINGS:
            values[key] = json.loads(raw)
    return values


def validate_settings(values: dict[str, Any]) -> None:
    """Raise :class:`SettingsError` for the first value its setting refuses, then for an order the policy needs."""
    for key, value in values.items():
        s = SETTINGS.get(key)
        if s is None:
            raise SettingsError("unknown", key=key)
        refusal = s.refusal(value)
        if refusal is not None:
            raise refusal
    if not (values["tier_ordinary_min"] < values["tier_partner_min"] < values["tier_strategic_min"]):
        raise SettingsError("thresholds_increase")
    if not values["abc_a_max"] < values["abc_b_max"]:
        raise SettingsError("abc_increase")


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
