"""Which account a selected chart mark stands for, on the points Streamlit reports for our charts."""
from __future__ import annotations

from kam_core.ui.clickthrough import account_of_point

ACCOUNTS = {"Alpha", "Bravo", "Echo"}


def test_a_pareto_bar_names_its_account_on_the_x_axis():
    assert account_of_point({"curve_number": 0, "point_index": 1, "x": "Bravo", "y": 2000.0,
                             "customdata": "A 类"}, ACCOUNTS) == "Bravo"


def test_a_top_n_bar_names_its_account_on_the_y_axis():
    assert account_of_point({"x": 5000.0, "y": "Alpha", "customdata": "战略性大客户"}, ACCOUNTS) == "Alpha"


def test_a_portfolio_bubble_names_its_account_in_its_text():
    assert account_of_point({"x": 4500.0, "y": 0.1, "text": "Echo", "customdata": 450.0}, ACCOUNTS) == "Echo"


def test_a_plan_bar_names_its_account_in_the_hover_data():
    # px.timeline: y is "account · kind", the account is one of the hover data values
    point = {"x": "2025-03-01", "y": "Bravo · 节日促销", "customdata": ["节日促销", "已商定", "我方", "Bravo"]}
    assert account_of_point(point, ACCOUNTS) == "Bravo"


def test_a_mark_that_names_no_known_account_opens_nothing():
    assert account_of_point({"x": "2025-01", "y": 1234.0, "customdata": ["Foxtrot"]}, ACCOUNTS) is None
    assert account_of_point({}, ACCOUNTS) is None
