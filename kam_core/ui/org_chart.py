"""The account's org chart by the policy's levels, as Graphviz text (pure: no streamlit)."""
from __future__ import annotations

import pandas as pd

from kam_core.dossier.fields import CONTACT_ROLES, DECISION_ROLES, POLICY_LEVELS
from kam_core.locales.labels import join_items, label_or, t

ORG_PARENT: dict[str, str | None] = {
    "chairman": None, "general_manager": "chairman", "purchasing_director": "general_manager",
    "finance_director": "general_manager", "sales_manager": "general_manager", "marketing_head": "general_manager",
    "distribution_manager": "general_manager", "purchasing_manager": "purchasing_director",
    "buyer": "purchasing_manager", "other": "general_manager",
}


def org_chart_dot(contacts: pd.DataFrame, lang: str) -> str:
    """A Graphviz org chart of the account's people by the policy's levels (top: chairman).

    Each level is one box listing its people (★ decision maker); a policy level
    nobody fills is drawn dashed and marked vacant. Pure: tested without streamlit.
    """
    people: dict[str, list[str]] = {}
    for _, r in contacts.iterrows():
        star = "★" if (r.get("influence") == "decision_maker" or r.get("role") in DECISION_ROLES) else ""
        people.setdefault(str(r["role"]), []).append(star + str(r["name"]))
    levels = [r for r in CONTACT_ROLES if r in POLICY_LEVELS or r in people]

    def q(text: str) -> str:
        return '"' + text.replace("\\", "\\\\").replace('"', '\\"') + '"'

    lines = ["digraph org {", "  rankdir=TB;", '  node [shape=box, style="rounded,filled", fontname="sans-serif"];']
    for role in levels:
        name = label_or(f"role.{role}", lang, role)
        if role in people:
            lines.append(f"  {role} [label={q(name + chr(10) + join_items(people[role], lang))}, fillcolor=\"#d6eaf8\"];")
        else:
            vacant = t("dossier.vacant", lang)
            lines.append(f"  {role} [label={q(name + chr(10) + vacant)}, style=\"rounded,dashed\", color=\"#999999\","
                         f" fontcolor=\"#999999\"];")
    for role in levels:
        parent = ORG_PARENT.get(role)
        while parent is not None and parent not in levels:
            parent = ORG_PARENT.get(parent)
        if parent is not None:
            lines.append(f"  {parent} -> {role};")
    lines.append("}")
    return "\n".join(lines)
