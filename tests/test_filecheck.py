"""Every hostile or odd input file gets its own code, fast, and without being inflated."""

from __future__ import annotations

import io
import os
import zipfile
from pathlib import Path

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from cluster_credit_cli.inputs.filecheck import ERROR_CODES, Limits, col_number, detect_encoding, preflight
from cluster_credit_cli.problems import Problems
from hostile import (
    BILLION_LAUGHS, EXTERNAL_ENTITY, biff8_workbook, declared_bomb, lying_size, real_ratio_bomb,
    sheet_xml, write_cfb, write_xlsx,
)

CAPS = dict(max_rows=100_000, max_cols=500)


def check(path: Path, **kw):
    return preflight(path, **{**CAPS, **kw})


def codes(verdict) -> set[str]:
    return {w.code for w in verdict.warnings}


# -- good files ----------------------------------------------------------------------------------

def test_plain_xlsx_is_ok(tmp_path):
    v = check(write_xlsx(tmp_path / "申报.xlsx"))
    assert (v.ok, v.code, v.kind, v.warnings, v.sheets) == (True, "ok", "xlsx", [], ["Sheet1"])


def test_xlsxwriter_and_openpyxl_files_are_ok(tmp_path):
    import openpyxl
    import xlsxwriter

    p1 = tmp_path / "a.xlsx"
    book = xlsxwriter.Workbook(p1)
    sh = book.add_worksheet("数据")
    for i in range(200):
        sh.write_row(i, 0, [f"企业{i}", i, i * 1.5])
    book.close()
    p2 = tmp_path / "b.xlsx"
    wb = openpyxl.Workbook()
    wb.active.append(["代码", "名称"])
    wb.active.append(["1", "x"])
    wb.save(p2)
    for p in (p1, p2):
        v = check(p)
        assert v.ok and v.kind == "xlsx" and not v.warnings, v


def test_calamine_reads_what_preflight_passes(tmp_path):
    from python_calamine import CalamineWorkbook

    p = write_xlsx(tmp_path / "x.xlsx")
    assert check(p).ok
    rows = CalamineWorkbook.from_path(str(p)).get_sheet_by_index(0).to_python()
    assert rows[1] == ["91330000000000000X", "甲公司"]


# -- not a workbook ------------------------------------------------------------------------------

def test_owner_file(tmp_path):
    p = tmp_path / "~$申报材料汇总.xlsx"
    p.write_bytes(b"\x08zhangsan" + b"\x00" * 150)
    v = check(p)
    assert (v.ok, v.code) == (False, "owner_file")
    assert "~$申报材料汇总.xlsx" in v.message


def test_random_bytes_named_xlsx(tmp_path):
    p = tmp_path / "银行.xlsx"
    p.write_bytes(os.urandom(5000).replace(b"PK", b"pk").replace(b"\xd0\xcf", b"xx"))
    v = check(p, lang="en")
    assert (v.ok, v.code) == (False, "not_xlsx")
    assert "银行.xlsx" in v.message and "save it as .xlsx" in v.message


def test_csv_named_xlsx(tmp_path):
    p = tmp_path / "协会.xlsx"
    p.write_text("代码,名称\n1,x\n", encoding="utf-8")
    v = check(p)
    assert (v.ok, v.code) == (False, "not_xlsx")


def test_empty_file(tmp_path):
    p = tmp_path / "e.xlsx"
    p.write_bytes(b"")
    assert check(p).code == "file_empty"


def test_missing_file(tmp_path):
    assert check(tmp_path / "nope.xlsx").code == "file_not_found"


def test_docx_renamed(tmp_path):
    p = tmp_path / "doc.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("[Content_Types].xml", "<Types/>")
        zf.writestr("word/document.xml", "<document/>")
    v = check(p)
    assert (v.ok, v.code) == (False, "not_xlsx")


def test_xlsb_and_ods(tmp_path):
    p = tmp_path / "b.xlsx"
    with zipfile.ZipFile(p, "w") as zf:
        zf.writestr("xl/workbook.bin", b"\x00" * 10)
    assert check(p).code == "xlsb_unsupported"
    q = tmp_path / "o.xlsx"
    with zipfile.ZipFile(q, "w") as zf:
        zf.writestr("mimetype", "application/vnd.oasis.opendocument.spreadsheet")
        zf.writestr("content.xml", "<x/>")
    assert check(q).code == "ods_unsupported"


def test_html_named_xls(tmp_path):
    p = tmp_path / "信用系统.xls"
    p.write_text("<html><body><table><tr><td>1</td></tr></table></body></html>", encoding="utf-8")
    v = check(p)
    assert (v.ok, v.code) == (False, "xls_is_html")


def test_text_named_xls_is_read_as_csv(tmp_path):
    p = tmp_path / "导出.xls"
    p.write_bytes("代码\t名称\n1\t甲\n".encode("gbk"))
    v = check(p)
    assert (v.ok, v.kind, v.encoding) == (True, "csv", "gbk")
    assert codes(v) == {"text_named_excel"}


# -- broken archives -----------------------------------------------------------------------------

@pytest.mark.parametrize("keep", [0.3, 0.6, 0.95])
def test_truncated_xlsx(tmp_path, keep):
    good = write_xlsx(tmp_path / "good.xlsx").read_bytes()
    p = tmp_path / "cut.xlsx"
    p.write_bytes(good[: int(len(good) * keep)])
    v = check(p)
    assert (v.ok, v.code, v.kind) == (False, "corrupt_zip", "xlsx")


def test_corrupt_deflate_data(tmp_path):
    data = bytearray(write_xlsx(tmp_path / "g.xlsx", [("S", "visible", sheet_xml() * 20)]).read_bytes())
    # Damage the middle of the first compressed member; the directory stays intact.
    for i in range(60, 120):
        data[i] ^= 0x5A
    p = tmp_path / "bad.xlsx"
    p.write_bytes(bytes(data))
    v = check(p)
    assert (v.ok, v.code) == (False, "corrupt_zip")


def test_size_lie_caught_by_crc(tmp_path):
    v = check(lying_size(tmp_path / "lie.xlsx"))
    assert (v.ok, v.code) == (False, "corrupt_zip")


# -- bombs ---------------------------------------------------------------------------------------

def test_ten_gb_declared_bomb_refused_before_inflating(tmp_path):
    p = declared_bomb(tmp_path / "bomb.xlsx", declared=10 * 1024**3)
    assert p.stat().st_size < 10_000
    v = check(p, lang="en")
    assert (v.ok, v.code) == (False, "zip_bomb")
    assert "10,737,418,240" in v.message and "bomb.xlsx" in v.message


def test_high_ratio_bomb(tmp_path):
    p = real_ratio_bomb(tmp_path / "ratio.xlsx", megabytes=40)
    assert check(p).code == "zip_bomb"
    # A higher ratio cap lets the same (genuine, if silly) file through the ratio check.
    assert check(p, limits=Limits(max_ratio=10_000)).code != "zip_bomb"


def test_total_size_cap(tmp_path):
    p = write_xlsx(tmp_path / "t.xlsx", extra_parts={f"xl/media/p{i}.bin": os.urandom(3000) for i in range(5)})
    assert check(p, limits=Limits(max_total_uncompressed=10_000)).code == "zip_bomb"
    assert check(p).ok


def test_entry_count_from_end_record(tmp_path):
    p = write_xlsx(tmp_path / "many.xlsx", extra_parts={f"xl/x{i}.xml": "<a/>" for i in range(60)})
    v = check(p, limits=Limits(max_entries=50))
    assert (v.ok, v.code) == (False, "too_many_parts")
    assert check(p).ok


def test_forged_entry_count_refused_without_zipfile(tmp_path, monkeypatch):
    data = bytearray(write_xlsx(tmp_path / "g.xlsx").read_bytes())
    eocd = data.rfind(b"PK\x05\x06")
    data[eocd + 8:eocd + 12] = b"\xfe\xff\xfe\xff"  # 65534 entries on disk and in total
    p = tmp_path / "forged.xlsx"
    p.write_bytes(bytes(data))

    def boom(*a, **k):  # the count must be refused before zipfile parses the directory
        raise AssertionError("zipfile opened")

    monkeypatch.setattr(zipfile, "ZipFile", boom)
    assert check(p).code == "too_many_parts"


# -- XML tricks ----------------------------------------------------------------------------------

@pytest.mark.parametrize("prolog", [BILLION_LAUGHS, EXTERNAL_ENTITY])
def test_entities_in_sheet_refused(tmp_path, prolog):
    p = write_xlsx(tmp_path / "e.xlsx", [("S", "visible", sheet_xml(prolog=prolog))])
    v = check(p)
    assert (v.ok, v.code) == (False, "xml_entities")
    assert "xl/worksheets/sheet1.xml" in v.message


@pytest.mark.parametrize("part", ["xl/sharedStrings.xml", "[Content_Types].xml", "xl/styles.xml"])
def test_entities_in_any_part_refused(tmp_path, part):
    xml = EXTERNAL_ENTITY + "<sst>&xxe;</sst>"
    if part == "[Content_Types].xml":
        p = write_xlsx(tmp_path / "e.xlsx")
        buf = io.BytesIO()
        with zipfile.ZipFile(p) as src, zipfile.ZipFile(buf, "w") as dst:
            for info in src.infolist():
                dst.writestr(info.filename, xml if info.filename == part else src.read(info))
        p.write_bytes(buf.getvalue())
    else:
        p = write_xlsx(tmp_path / "e.xlsx", extra_parts={part: xml})
    assert check(p).code == "xml_entities"


def test_doctype_split_across_chunks_is_found(tmp_path, monkeypatch):
    import cluster_credit_cli.inputs.filecheck as fc

    monkeypatch.setattr(fc, "CHUNK", 7)  # every tag straddles chunk boundaries
    p = write_xlsx(tmp_path / "e.xlsx", [("S", "visible", sheet_xml(prolog=BILLION_LAUGHS))])
    assert fc.preflight(p, **CAPS).code == "xml_entities"
    assert fc.preflight(write_xlsx(tmp_path / "ok.xlsx"), **CAPS).ok


def test_utf16_part_refused(tmp_path):
    p = write_xlsx(tmp_path / "u.xlsx", [("S", "visible", "x")],
                   extra_parts={"xl/worksheets/sheet1.xml": sheet_xml().encode("utf-16")})
    assert check(p).code == "xml_encoding"


# -- dimensions ----------------------------------------------------------------------------------

def test_absurd_declared_dimension(tmp_path):
    p = write_xlsx(tmp_path / "d.xlsx", [("名单", "visible", sheet_xml(dimension="A1:XFD1048576"))])
    v = check(p, lang="en")
    assert (v.ok, v.code) == (False, "sheet_too_large")
    assert "'名单'" in v.message and "1,048,576 rows x 16,384 columns" in v.message


def test_far_away_cell_caught_without_dimension(tmp_path):
    far = '<row r="1000000"><c r="AB1000000"><v>1</v></c></row>'
    p = write_xlsx(tmp_path / "f.xlsx", [("S", "visible", sheet_xml(extra_cells=far))])
    assert check(p, max_rows=2_000_000, max_cols=500).code == "sheet_too_large"  # 28M cells > area cap


@pytest.mark.parametrize("spelling", ['r= "{}"', 'r=\r"{}"', 'r\r="{}"', 'r =\t"{}"', "r='{}'"])
def test_far_away_cell_caught_however_its_reference_is_spaced(tmp_path, spelling):
    # Past the first megabyte (whose xmlns:r="…" already sends it to the careful scan).
    usual = "".join(f'<row r="{i}"><c r="A{i}"><v>1</v></c></row>' for i in range(3, 40_000))
    far = usual + f'<row {spelling.format(1000000)}><c {spelling.format("AB1000000")}><v>1</v></c></row>'
    p = write_xlsx(tmp_path / "f.xlsx", [("S", "visible", sheet_xml(extra_cells=far))])
    assert check(p, max_rows=2_000_000, max_cols=500).code == "sheet_too_large"


def test_column_cap(tmp_path):
    wide = '<row r="3"><c r="ZZ3"><v>1</v></c></row>'
    p = write_xlsx(tmp_path / "w.xlsx", [("S", "visible", sheet_xml(extra_cells=wide))])
    assert check(p, max_cols=100).code == "sheet_too_large"
    assert check(p, max_cols=1000).ok


def test_row_count_without_r_attributes(tmp_path):
    rows = "".join("<row><c><v>1</v></c></row>" for _ in range(300))
    p = write_xlsx(tmp_path / "r.xlsx", [("S", "visible", sheet_xml(extra_cells=rows))])
    assert check(p, max_rows=200).code == "sheet_too_large"
    assert check(p, max_rows=400).ok


def test_col_number():
    assert [col_number(x) for x in ("A", "Z", "AA", "XFD")] == [1, 26, 27, 16384]


# -- warnings ------------------------------------------------------------------------------------

def test_hidden_sheets_reported(tmp_path):
    p = write_xlsx(tmp_path / "h.xlsx", [("数据", "visible", sheet_xml()), ("隐藏", "hidden", sheet_xml()),
                                         ("很隐藏", "veryHidden", sheet_xml())])
    v = check(p)
    assert v.ok and v.sheets == ["数据", "隐藏", "很隐藏"] and v.hidden_sheets == ["隐藏", "很隐藏"]
    assert codes(v) == {"hidden_sheets"}


def test_merged_header_reported(tmp_path):
    p = write_xlsx(tmp_path / "m.xlsx", [("S", "visible", sheet_xml(merges=["A1:B2", "C50:D50"]))])
    v = check(p)
    assert v.ok and codes(v) == {"merged_header"}
    w = v.warnings[0]
    assert "A1:B2" in w.message and "C50" not in w.message and w.sheet == "S"


def test_formulas_without_cached_values(tmp_path):
    cells = ('<row r="3"><c r="A3"><f>SUM(B1:B2)</f></c><c r="B3"><f>1+1</f><v>2</v></c>'
             '<c r="C3"><f t="shared" si="0"/><v></v></c></row>')
    p = write_xlsx(tmp_path / "f.xlsx", [("S", "visible", sheet_xml(extra_cells=cells))])
    v = check(p, lang="en")
    assert v.ok and codes(v) == {"formula_no_value"}
    w = v.warnings[0]
    assert "2 formula(s)" in w.message and "A3" in w.message and "C3" in w.message and "B3" not in w.message
    problems = Problems()
    v.add_to(problems)
    assert [(p.code, p.severity, p.sheet, p.row) for p in problems] == [("formula_no_value", "warning", "S", 3)]


def test_openpyxl_formulas_warned(tmp_path):
    import openpyxl

    wb = openpyxl.Workbook()
    wb.active.append(["a", "b"])
    wb.active.append([1, "=A2*2"])
    p = tmp_path / "o.xlsx"
    wb.save(p)
    assert codes(check(p)) == {"formula_no_value"}


# -- OLE compound files --------------------------------------------------------------------------

def test_encrypted_looking_cfb(tmp_path):
    p = write_cfb(tmp_path / "加密.xlsx", {"EncryptionInfo": b"\x04\x00\x04\x00", "EncryptedPackage": b"x" * 10})
    v = check(p, lang="en")
    assert (v.ok, v.code) == (False, "encrypted")
    assert "加密.xlsx" in v.message and "password" in v.message


def test_really_encrypted_xlsx(tmp_path):
    from msoffcrypto.format.ooxml import OOXMLFile

    plain = write_xlsx(tmp_path / "plain.xlsx")
    out = tmp_path / "secret.xlsx"
    with open(plain, "rb") as src, open(out, "wb") as dst:
        OOXMLFile(src).encrypt("pw", dst)
    assert check(out).code == "encrypted"


def test_old_xls_read_with_xlrd(tmp_path):
    p = write_cfb(tmp_path / "旧.xls", {"Workbook": biff8_workbook([(0, 0, 1.0), (4, 2, 2.5)])})
    v = check(p)
    assert (v.ok, v.kind, v.sheets) == (True, "xls", ["Sheet1"])
    assert codes(v) == {"old_xls"}
    assert check(p, max_rows=3).code == "sheet_too_large"


def test_old_xls_without_xlrd_says_how_to_convert(tmp_path, monkeypatch):
    import builtins

    real_import = builtins.__import__

    def no_xlrd(name, *a, **k):
        if name == "xlrd":
            raise ImportError("no xlrd")
        return real_import(name, *a, **k)

    monkeypatch.setattr(builtins, "__import__", no_xlrd)
    p = write_cfb(tmp_path / "旧.xls", {"Workbook": biff8_workbook([(0, 0, 1.0)])})
    v = check(p, lang="en")
    assert (v.ok, v.code, v.kind) == (False, "xls_unsupported", "xls")
    assert "Save As" in v.message


def test_broken_xls(tmp_path):
    p = write_cfb(tmp_path / "坏.xls", {"Workbook": b"\x00\x01garbage"})
    assert check(p).code == "corrupt_xls"


def test_word_doc_renamed(tmp_path):
    p = write_cfb(tmp_path / "d.xls", {"WordDocument": b"x"})
    assert check(p).code == "not_xlsx"


# -- CSV -----------------------------------------------------------------------------------------

TEXT = "统一社会信用代码,企业名称,备注\n91330000000000000X,甲公司,鑫淼犇\n"


@pytest.mark.parametrize("encoding,expected", [
    ("utf-8", "utf-8"), ("utf-8-sig", "utf-8-sig"), ("utf-16", "utf-16"),
    ("utf-16-le", "utf-16-le"), ("gbk", "gbk"), ("gb18030", "gb18030"),
])
def test_csv_encodings(tmp_path, encoding, expected):
    text = TEXT + ("𠀀,GB18030-only\n" if encoding == "gb18030" else "")
    p = tmp_path / "x.csv"
    p.write_bytes(text.encode(encoding))
    v = check(p)
    assert (v.ok, v.kind, v.encoding) == (True, "csv", expected)
    assert p.read_bytes().decode(v.encoding).replace("\ufeff", "") == text


def test_binary_named_csv(tmp_path):
    p = tmp_path / "x.csv"
    p.write_bytes(b"\x00\x01\x02\xff" * 300 + b"\x00\x00\x00")
    assert check(p).code == "not_text"


def test_csv_caps(tmp_path):
    p = tmp_path / "x.csv"
    p.write_text("a,b\n" * 500, encoding="utf-8")
    assert check(p, max_rows=100).code == "csv_too_large"
    q = tmp_path / "y.csv"
    q.write_text(",".join(["a"] * 800) + "\n", encoding="utf-8")
    assert check(q, max_cols=500).code == "csv_too_large"


def test_detect_encoding_utf16_be_without_bom(tmp_path):
    p = tmp_path / "b.csv"
    p.write_bytes("code,name\n1,x\n".encode("utf-16-be"))
    assert detect_encoding(p) == "utf-16-be"


# -- properties ----------------------------------------------------------------------------------

@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(data=st.binary(max_size=3000), suffix=st.sampled_from([".xlsx", ".xls", ".csv", ".txt"]))
def test_arbitrary_bytes_never_raise(tmp_path, data, suffix):
    p = tmp_path / f"f{suffix}"
    p.write_bytes(data)
    v = check(p)
    assert v.ok or v.code in ERROR_CODES
    assert v.ok or p.name in v.message


@settings(max_examples=60, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(cut=st.integers(min_value=0, max_value=4000), flips=st.lists(st.integers(0, 4000), max_size=5))
def test_damaged_xlsx_never_raises(tmp_path, cut, flips):
    good = bytearray(write_xlsx(tmp_path / "g.xlsx").read_bytes())
    for i in flips:
        if i < len(good):
            good[i] ^= 0xFF
    p = tmp_path / "d.xlsx"
    p.write_bytes(bytes(good[: max(cut, 1)]) if cut < len(good) else bytes(good))
    v = check(p)
    assert v.ok or v.code in ERROR_CODES


@settings(max_examples=40, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(text=st.text(st.characters(blacklist_characters="\x00"), max_size=200), encoding=st.sampled_from(["utf-8", "utf-8-sig", "gb18030", "utf-16"]))
def test_any_text_csv_decodes_back(tmp_path, text, encoding):
    try:
        raw = ("a,b\n" + text).encode(encoding)
    except UnicodeEncodeError:
        return
    p = tmp_path / "t.csv"
    p.write_bytes(raw)
    v = check(p)
    if v.ok:
        decoded = raw.decode(v.encoding)  # strict: the codec chosen reads every byte
        if decoded.lstrip("\ufeff") != ("a,b\n" + text).lstrip("\ufeff"):
            # short GB18030 text can be valid UTF-8 too ('元' = D4 AA = 'Ԫ'): UTF-8 is tried first
            assert encoding == "gb18030" and v.encoding == "utf-8"
    else:
        assert v.code in ERROR_CODES


@pytest.mark.parametrize("cell", [
    '<c\tr="ZZ5"><v>1</v></c>', "<c r='ZZ5'><v>1</v></c>", '<c r = "ZZ5"><v>1</v></c>',
    '<c t="n"  r="ZZ5"><v>1</v></c>', '<x:c r="ZZ5"><x:v>1</x:v></x:c>',
])
def test_far_cell_found_whatever_the_attribute_spelling(tmp_path, cell):
    p = write_xlsx(tmp_path / "w.xlsx", [("S", "visible", sheet_xml(extra_cells=f'<row r="5">{cell}</row>'))])
    assert check(p, max_cols=100).code == "sheet_too_large"


def test_far_row_without_cell_refs(tmp_path):
    rows = '<row r="900000"><c><v>1</v></c></row>'
    p = write_xlsx(tmp_path / "r.xlsx", [("S", "visible", sheet_xml(extra_cells=rows))])
    assert check(p, max_rows=100_000).code == "sheet_too_large"


def test_streaming_keeps_memory_bounded(tmp_path):
    """40 MB of XML inflated under relaxed ratio limits: streamed in chunks, never held whole."""
    import tracemalloc

    p = real_ratio_bomb(tmp_path / "big.xlsx", megabytes=40)
    tracemalloc.start()
    try:
        v = check(p, limits=Limits(max_ratio=1e9))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert v.code != "zip_bomb"
    assert peak < 16 * 1024 * 1024, peak


def test_declared_bomb_needs_no_memory(tmp_path):
    import tracemalloc

    p = declared_bomb(tmp_path / "b.xlsx", declared=50 * 1024**3)
    tracemalloc.start()
    try:
        assert check(p).code == "zip_bomb"
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert peak < 4 * 1024 * 1024, peak


def test_csv_refusals_and_encodings_do_not_depend_on_which_comes_first(tmp_path):
    """The encoding is the first codec that decodes the whole file; a line refused before a byte
    that no codec decodes still makes the file one of unknown encoding, and a refused GBK file
    keeps its encoding (the scan and the detection are one pass, with the old outcomes)."""
    long_line = "统一社会信用代码," + "甲" * 1_200_000 + "\n"
    p = tmp_path / "gbk_long.csv"
    p.write_bytes(long_line.encode("gbk") + "a,b\n".encode("gbk"))
    v = preflight(p, max_rows=100, max_cols=50)
    assert (v.code, v.encoding) == ("csv_too_large", "gbk")
    q = tmp_path / "long_then_undecodable.csv"
    q.write_bytes(long_line.encode("gbk") + b"a,\x81\x20\xff\n")
    assert preflight(q, max_rows=100, max_cols=50).code == "csv_encoding_unknown"
    r = tmp_path / "gb18030_only.csv"  # a four-byte GB18030 character (not in GBK) after a long line
    r.write_bytes(long_line.encode("gb18030") + "a,\U00020000\n".encode("gb18030"))
    v = preflight(r, max_rows=100, max_cols=50)
    assert (v.code, v.encoding) == ("csv_too_large", "gb18030")
    s = tmp_path / "fine.csv"
    s.write_bytes("代码,名称\n1,甲\n".encode("gb18030") + "2,\U00020000\n".encode("gb18030"))
    v = preflight(s, max_rows=100, max_cols=50)
    assert v.ok and v.encoding == "gb18030"


@pytest.mark.parametrize("extra, limits", [
    ("", {}),
    ('<row r="99999"><c r="Y99999"><v>1</v></c></row>', {}),
    ('<row r="99999"><c r="Y99999"><v>1</v></c></row>', {"max_rows": 99_998}),
    ('<row r="100000"><c r="A100000"><v>1</v></c></row>', {}),
    ('<row r="100000"><c r="A100000"><v>1</v></c></row>', {"max_rows": 99_999}),
    ('<row r="7"><c r="AA7"><v>1</v></c></row>', {"max_cols": 26}),
    ('<row r="7"><c r="$ZZ$7"><v>1</v></c></row>', {"max_cols": 100}),
    ('<row r="7"><c r="$A$3000000"><v>1</v></c></row>', {}),
    ("<row r='7'><c r='Z900000'><v>1</v></c></row>", {}),
    ('<row r="7"><c\tr="Z99999"><v>1</v></c></row>', {"max_rows": 5000}),
    ('<row r="500000"><c><v>1</v></c></row>' * 3, {"max_rows": 200_000}),
    ('<row r="9"><c r="Z9"><f>1+1</f></c></row>', {}),
])
def test_bounded_sheet_scan_decides_as_the_exact_scan(tmp_path, monkeypatch, extra, limits):
    """The first, bounded scan of a sheet (rows < 100,000, columns <= 26) gives the verdict and
    the messages the exact scan alone gives, however the references are written."""
    from cluster_credit_cli.inputs import filecheck

    p = write_xlsx(tmp_path / "b.xlsx", [("S", "visible", sheet_xml(extra_cells=extra))])
    kw = {"max_rows": 2_000_000, "max_cols": 500, **limits}
    got = check(p, **kw)
    monkeypatch.setattr(filecheck, "_scan_sheet", lambda *a: filecheck._scan_sheet_pass(*a, bounded=False))
    exact = check(p, **kw)
    assert (got.ok, got.code, got.message, got.warnings) == (exact.ok, exact.code, exact.message, exact.warnings)
