"""safe_cell: nothing exported opens as a formula."""

from __future__ import annotations

import pytest

from common.spreadsheets import safe_cell, safe_row


@pytest.mark.parametrize(
    "text",
    ["=1+1", '=HYPERLINK("http://evil.example","click")', "+61 2 9000 0000", "-2+3", "@SUM(A1)",
     "\t=1+1", "\r=1+1", "=", "-"],
)  # fmt: skip
def test_text_that_would_start_a_formula_is_quoted(text):
    assert safe_cell(text) == "'" + text


@pytest.mark.parametrize("value", ["Lodge Antiquity", "a=b", " =1", "", "'=quoted", "1+1"])
def test_other_text_is_left_as_it_is(value):
    assert safe_cell(value) == value


@pytest.mark.parametrize("value", [None, 0, -5, 1.5, True])
def test_values_that_are_not_text_pass_through(value):
    assert safe_cell(value) is value


def test_safe_row_quotes_each_cell():
    assert safe_row({"a": "=1", "b": 2, "c": "ok"}) == {"a": "'=1", "b": 2, "c": "ok"}
