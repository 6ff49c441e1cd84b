"""Settings: the policy's thresholds and the display choices, validated, applied everywhere at once."""
import streamlit as st

from kam_core.locales.labels import setting_help, setting_label
from kam_core.permissions import can
from kam_core.settings import SETTINGS
from kam_core.ui import context, schedules

ctx = context.current()
st.title(ctx.t("page.settings"))
s = ctx.settings
editable = can(ctx.user, "manage_settings")
if not editable:
    st.info(ctx.t("settings.read_only"))


def label(key):
    return setting_label(key, ctx.lang)


def helptext(key):
    return setting_help(key, ctx.lang)


with st.form("settings_form"):
    st.subheader(ctx.t("settings.group.tiers"))
    c = st.columns(3)
    strategic = c[0].number_input(label("tier_strategic_min"), min_value=0, value=int(s["tier_strategic_min"]),
                                  step=1_000_000, help=helptext("tier_strategic_min"))
    partner = c[1].number_input(label("tier_partner_min"), min_value=0, value=int(s["tier_partner_min"]),
                                step=1_000_000, help=helptext("tier_partner_min"))
    ordinary = c[2].number_input(label("tier_ordinary_min"), min_value=0, value=int(s["tier_ordinary_min"]),
                                 step=1_000_000, help=helptext("tier_ordinary_min"))
    basis = st.radio(label("tier_basis"), SETTINGS["tier_basis"].choices, horizontal=True,
                     index=SETTINGS["tier_basis"].choices.index(s["tier_basis"]),
                     format_func=lambda v: ctx.t(f"tier.basis.{v}"), help=helptext("tier_basis"))
    st.subheader(ctx.t("settings.group.abc"))
    c = st.columns(3)
    a_max = c[0].number_input(label("abc_a_max"), 0.0, 1.0, float(s["abc_a_max"]), 0.01, help=helptext("abc_a_max"))
    b_max = c[1].number_input(label("abc_b_max"), 0.0, 1.0, float(s["abc_b_max"]), 0.01, help=helptext("abc_b_max"))
    fiscal = c[2].selectbox(label("fiscal_start_month"), list(range(1, 13)), index=s["fiscal_start_month"] - 1,
                            help=helptext("fiscal_start_month"))
    st.subheader(ctx.t("settings.group.criteria"))
    c = st.columns(2)
    min_share = c[0].number_input(label("criteria_min_share"), 0.0, 1.0, float(s["criteria_min_share"]), 0.005,
                                  format="%.3f", help=helptext("criteria_min_share"))
    top_n = c[1].number_input(label("criteria_top_n"), 1, 100, int(s["criteria_top_n"]), help=helptext("criteria_top_n"))
    st.subheader(ctx.t("settings.group.attention"))
    c = st.columns(2)
    drop = c[0].number_input(label("attention_sales_drop_share"), 0.0, 1.0, float(s["attention_sales_drop_share"]),
                             0.01, help=helptext("attention_sales_drop_share"))
    completeness = c[1].number_input(label("attention_min_completeness"), 0.0, 1.0,
                                     float(s["attention_min_completeness"]), 0.05,
                                     help=helptext("attention_min_completeness"))
    st.subheader(ctx.t("settings.group.import"))
    max_columns = st.number_input(label("import_max_columns"), 20, 16_384, int(s["import_max_columns"]), 10,
                                  help=helptext("import_max_columns"))
    st.subheader(ctx.t("settings.group.display"))
    c = st.columns(2)
    unit = c[0].radio(label("amount_unit"), SETTINGS["amount_unit"].choices, horizontal=True,
                      index=SETTINGS["amount_unit"].choices.index(s["amount_unit"]),
                      format_func=lambda v: ctx.t(f"unit.{v}"), help=helptext("amount_unit"))
    language = c[1].radio(label("language"), SETTINGS["language"].choices, horizontal=True,
                          index=SETTINGS["language"].choices.index(s["language"]),
                          format_func=lambda v: ctx.t(f"lang.{v}"), help=helptext("language"))
    submitted = st.form_submit_button(ctx.t("action.save"), disabled=not editable)

if submitted:
    changes = {"tier_strategic_min": int(strategic), "tier_partner_min": int(partner),
               "tier_ordinary_min": int(ordinary), "tier_basis": basis, "abc_a_max": float(a_max),
               "abc_b_max": float(b_max), "fiscal_start_month": int(fiscal), "criteria_min_share": float(min_share),
               "criteria_top_n": int(top_n), "attention_sales_drop_share": float(drop),
               "attention_min_completeness": float(completeness), "import_max_columns": int(max_columns),
               "amount_unit": unit, "language": language}
    refused = context.save_changed_settings(ctx, changes)
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
