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


def test_normalize_codes_gives_code_problem_of_each_normal_form():
    """The array check (well-formed codes and check digits at once) says what code_problem says,
    code by code, for valid codes and every way a code goes wrong."""
    valid = code(7)
    wrong_digit = valid[:17] + ("0" if valid[17] != "0" else "1")
    odd = [valid, valid.lower(), " " + valid + " ", wrong_digit, valid[:17], valid + "1", "A" + valid[1:],
           valid[:10] + "I" + valid[11:], valid[:10] + "O" + valid[11:], valid[:10] + "Z" + valid[11:],
           "９１" + valid[2:], valid[:17] + "é", "é" * 18, "1" * 18, "0" * 18, "", "-", "91-44-19" + valid[8:],
           valid[:8] + "abcdefghij", "ABCDEFGH" + valid[8:], 123, None, valid[:16] + "Ⅰ" + valid[17]]
    codes, reasons = normalize_codes(pd.Series(odd + odd[::-1], dtype=object))
    expected = [code_problem(normalize_code(v)) for v in odd + odd[::-1]]
    assert codes.tolist() == [normalize_code(v) for v in odd + odd[::-1]]
    assert [None if pd.isna(r) else r for r in reasons.tolist()] == expected
    assert expected.count(None) >= 4 and len({e for e in expected if e}) >= 3
