"""The unified social credit code (GB 32100-2015): normalisation and check digit."""

from __future__ import annotations

import pandas as pd
import pytest
from conftest import code

from cluster_credit_cli.inputs.identity import code_problem, make_code, normalize_code, normalize_codes, normalize_name

GOOD = code(1)  # 91441900000000001W


def test_make_code_is_valid():
    assert GOOD == "91441900000000001W"
    assert code_problem(GOOD) is None
    assert code_problem(make_code("91441900MA4UABCDE")) is None


@pytest.mark.parametrize("raw", [
    "91441900000000001w",                  # lower case
    "９１４４１９００００００００００１Ｗ",  # full-width
    " 914419 000000 00001W ",              # spaces
    "914419-00000000-001W",                # dashes
    "91441900000000001W\u3000",           # ideographic space
])
def test_normalize_code(raw):
    assert normalize_code(raw) == GOOD
    assert code_problem(normalize_code(raw)) is None


def test_wrong_check_digit_names_the_right_one():
    bad = GOOD[:17] + "X"
    assert code_problem(bad) == "校验码错误（最后一位应为 W）"


def test_wrong_length_and_characters():
    assert code_problem(GOOD[:17]) == "共 17 位，统一社会信用代码应为 18 位"
    assert code_problem("") == "empty"
    body = "91441900I0000000"  # I is not allowed
    assert "不允许" in code_problem(body + "0" + "W")


def test_english_messages():
    from cluster_credit_cli.i18n import use_lang

    with use_lang("en"):
        assert code_problem(GOOD[:17] + "X") == "check digit is wrong (the last character should be W)"


def test_normalize_codes_vectorised():
    codes, reasons = normalize_codes(pd.Series([" 91441900000000001w", GOOD[:17] + "1", None, ""], dtype=object))
    assert codes.tolist()[0] == GOOD
    assert reasons.iloc[0] is None or pd.isna(reasons.iloc[0])
    assert "校验码" in reasons.iloc[1]
    assert reasons.iloc[3] == "empty"


def test_normalize_name():
    assert normalize_name(" 东莞市 横沥模具（集团）有限公司 ") == "东莞市横沥模具(集团)有限公司"
    assert normalize_name(None) == "" and normalize_name(float("nan")) == ""
