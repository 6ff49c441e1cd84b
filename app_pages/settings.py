"""Settings: the policy's thresholds and the display choices, validated, applied everywhere at once.

The form is drawn from :data:`kam_core.settings.SETTINGS`: each setting's group, kind, bounds and step,
so a setting and its limits are declared once. Ratios are shown and typed as percentages.
"""
import streamlit as st

from kam_core.locales.labels import setting_help, setting_label
from kam_core.permissions import can
from kam_core.settings import GROUPS, SETTINGS, Setting
from kam_core.ui import context, schedules

ctx = context.current()
st.title(ctx.t("page.settings"))
editable = can(ctx.user, "manage_settings")
if not editable:
    st.info(ctx.t("settings.read_only"))


def widget(where, s: Setting, value):
    """The input for ``s`` in ``where``, returning the value to store (a ratio typed as a percentage → 0–1)."""
    label, help_text = setting_label(s.key, ctx.lang), setting_help(s.key, ctx.lang)
    if s.kind == "choice":
        return where.radio(label, s.choices, index=s.choices.index(value), horizontal=True, help=help_text,
                           format_func=lambda v: ctx.t(f"{s.choice_label}.{v}"))
    if s.kind == "month":
        months = list(range(int(s.low), int(s.high) + 1))
        return where.selectbox(label, months, index=months.index(value), help=help_text)
    if s.kind == "ratio":
        digits = context.percent_digits(s)
        shown = where.number_input(ctx.t("settings.percent", label=label), float(s.low) * 100, float(s.high) * 100,
                                   round(float(value) * 100, 6), round(s.step * 100, 6), format=f"%.{digits}f",
                                   help=help_text)
        return round(shown / 100, 10)
    return int(where.number_input(label, None if s.low is None else int(s.low), None if s.high is None else int(s.high),
                                  int(value), int(s.step or 1), help=help_text))


values = {}
with st.form("settings_form"):
    for group in GROUPS:
        st.subheader(ctx.t(f"settings.group.{group}"))
        shown = [s for s in SETTINGS.values() if s.group == group]
        width = min(3, len(shown))
        for start in range(0, len(shown), width):
            for where, s in zip(st.columns(width), shown[start:start + width]):
                values[s.key] = widget(where, s, ctx.settings[s.key])
    submitted = st.form_submit_button(ctx.t("action.save"), disabled=not editable)

if submitted:
    refused = context.save_changed_settings(ctx, values)
    if refused:
        st.error(ctx.t("settings.error", message=refused))
    else:
        # Shown after the rerun that applies the new values everywhere (a message
        # written before st.rerun() would vanish with it).
        st.session_state["settings_saved"] = True
        st.rerun()
elif st.session_state.pop("settings_saved", False):
    st.success(ctx.t("settings.saved"))

schedules.render(ctx)   # scheduled reports, their run log and the mail server (kam_core/ui/schedules.py)
