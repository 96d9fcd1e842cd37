"""``reading.detect_encoding`` on a sample that ends in the middle of a multi-byte character."""

from __future__ import annotations

import pytest

from cluster_credit_cli.inputs.reading import detect_encoding

TEXT = "统一社会信用代码,记录类型,日期\n" + "91441900MA4UL0X97B,行政处罚,2025年1月10日\n" * 50


@pytest.mark.parametrize("encoding", ["gb18030", "utf-8"])
def test_cut_mid_character_is_not_latin1(encoding):
    data = TEXT.encode(encoding)
    # every cut point of the last line, including those inside a two-, three- or four-byte character
    for cut in range(len(data) - 40, len(data)):
        assert detect_encoding(data[:cut]) == encoding, cut


def test_four_byte_gb18030_cut():
    data = ("企业𠀀" * 100).encode("gb18030")  # U+20000 is four bytes in GB18030
    assert detect_encoding(data[:-1]) == detect_encoding(data[:-2]) == detect_encoding(data[:-3]) == "gb18030"


def test_not_gb18030_still_latin1():
    assert detect_encoding(b"abc\x80\x80\x80\xff\xff def") == "latin-1"
