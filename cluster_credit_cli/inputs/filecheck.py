"""Preflight of input files: classify hostile and odd files before any parser sees them.

Files arrive on a shared drive from many outside parties. python-calamine (Rust) aborts the whole
process on some inputs and allocates the full used range of a sheet, so nothing reaches it
unchecked. ``preflight`` looks at a file within bounded time and memory and returns a
``FileVerdict``: ``ok`` with the ``kind`` to read it as (and the CSV ``encoding``), or a specific
``code`` with a message naming the file, what is wrong and what to do.

Checks, cheapest first:

* the name: Excel's owner files (``~$...``) are lock files, not data;
* the magic bytes, not the extension: zip (xlsx), OLE compound file (old .xls, or a
  password-protected workbook: an ``EncryptedPackage`` stream), HTML/text disguised as .xls, text;
* zip archives: the end-of-central-directory record is read by hand first (entry count, directory
  size) so a million-entry directory is refused before ``zipfile`` builds it; then the declared
  uncompressed sizes and compression ratios; only then every part is streamed with byte caps,
  which also verifies CRCs (a truncated or lying archive fails here, never in the parser);
* every XML part: ``<!DOCTYPE``/``<!ENTITY`` (billion laughs, external entities) is refused --
  no part of a real xlsx has a DTD;
* every worksheet: declared ``<dimension>``, the highest row/column actually used and the area
  (rows x columns, which is what a reader allocates) against caps;
* warnings (the file is still read): hidden sheets, merged cells in the header area, formulas
  without a cached value (Excel never computed them, so the reader sees blanks);
* CSV: NUL bytes (binary), encoding by BOM, then strict UTF-8, GBK, GB18030, UTF-16 without BOM;
  line count and field count against the caps.
"""

from __future__ import annotations

import codecs
import re
import struct
import zipfile
import zlib
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # pragma: no cover
    from cluster_credit_cli.problems import Problems

ZIP_MAGIC = b"PK\x03\x04"
ZIP_EMPTY = b"PK\x05\x06"
CFB_MAGIC = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
XLSX_SUFFIXES = (".xlsx", ".xlsm", ".xltx", ".xltm")
CHUNK = 1 << 20


@dataclass(frozen=True)
class Limits:
    """Caps for one file. Defaults are far above any real review-round file."""

    max_file_bytes: int = 256 * 1024 * 1024
    max_entries: int = 5_000  # parts in an xlsx; real ones have tens to a few hundred
    max_central_directory: int = 4 * 1024 * 1024
    max_total_uncompressed: int = 512 * 1024 * 1024
    max_entry_uncompressed: int = 256 * 1024 * 1024
    # Apache POI refuses ratios above 100; sheets of one repeated value compress a little better.
    max_ratio: float = 200.0
    ratio_grace_bytes: int = 1024 * 1024  # small parts may have any ratio
    max_cells: int = 10_000_000  # rows x columns of a sheet's used range (what a reader allocates)
    header_rows: int = 10  # merged cells in these top rows are reported
    # A text line longer than this is not a table row (500 columns of 2,000 characters).
    max_line_chars: int = 1_000_000
    # True: judge a sheet by the cells that hold a value, as calamine does; its declared <dimension>
    # and formatted-but-empty rows and cells do not count. XLSForms and survey exports saved by
    # LibreOffice declare and format 1,024 columns x 1,048,576 rows.
    sparse: bool = False


@dataclass
class Finding:
    """A non-fatal observation about a readable file (reported as a warning)."""

    code: str
    message: str
    sheet: str | None = None
    cell: str | None = None


@dataclass
class FileVerdict:
    """What ``preflight`` found. ``ok`` False means: do not parse, report ``code``/``message``."""

    path: Path
    ok: bool
    code: str  # "ok" or an error code (see ERROR_CODES)
    message: str
    kind: str | None = None  # "xlsx" | "xls" | "csv" (by content, not by extension)
    encoding: str | None = None  # CSV only: the codec to decode it with
    sheets: list[str] = field(default_factory=list)  # workbook order
    hidden_sheets: list[str] = field(default_factory=list)
    chart_sheets: list[str] = field(default_factory=list)  # chart/dialog/macro sheets: no cells to read
    warnings: list[Finding] = field(default_factory=list)

    def add_to(self, problems: "Problems", file: str | None = None) -> None:
        """Record the verdict in a problems report: the error (if any) and every warning."""
        name = file or self.path.name
        if not self.ok:
            problems.add(name, None, None, None, self.code, self.message, "error")
        for w in self.warnings:
            problems.add(name, w.sheet, _row_of(w.cell), w.cell, w.code, w.message, "warning")


ERROR_CODES = {
    "file_not_found", "file_empty", "file_too_large", "owner_file", "not_xlsx", "corrupt_zip",
    "encrypted", "xls_unsupported", "corrupt_xls", "xls_is_html", "zip_bomb", "too_many_parts",
    "sheet_too_large", "xml_entities", "xml_encoding", "xlsb_unsupported", "ods_unsupported",
    "not_text", "csv_encoding_unknown", "csv_too_large", "unreadable",
}


class _Reject(Exception):
    def __init__(self, code: str, message: str, kind: str | None = None):
        super().__init__(message)
        self.code, self.message, self.kind = code, message, kind


def _t(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def _row_of(cell: str | None) -> int | None:
    m = re.match(r"[A-Z]+(\d+)", cell or "")
    return int(m.group(1)) if m else None


def col_number(letters: str) -> int:
    n = 0
    for ch in letters:
        n = n * 26 + (ord(ch) - 64)
    return n


# -- entry point ---------------------------------------------------------------------------------

def preflight(path: Path, *, max_rows: int, max_cols: int, limits: Limits | None = None,
              lang: str | None = None) -> FileVerdict:
    """Classify ``path`` before parsing. Never raises for a bad file; returns a verdict.

    Messages are in ``lang`` (default: the current run's language, see ``i18n.use_lang``).
    """
    if lang is None:
        from cluster_credit_cli.i18n import current_lang

        lang = current_lang()
    path = Path(path)
    limits = limits or Limits()
    verdict = FileVerdict(path, True, "ok", "")
    try:
        _check(path, verdict, max_rows, max_cols, limits, lang)
    except _Reject as r:
        return replace(verdict, ok=False, code=r.code, message=r.message, kind=r.kind or verdict.kind)
    except OSError as exc:
        if isinstance(exc, FileNotFoundError):
            return replace(verdict, ok=False, code="file_not_found",
                           message=_t(lang, f"{path.name}：文件不存在。", f"{path.name}: file not found."))
        return replace(verdict, ok=False, code="unreadable", message=_t(
            lang, f"{path.name}：无法读取（{exc.strerror or type(exc).__name__}），本轮不使用该文件；"
            "请检查文件权限或重新复制该文件。",
            f"{path.name}: cannot be read ({exc.strerror or type(exc).__name__}); the round goes on without "
            "it. Check the file's permissions or copy it again."))
    except Exception as exc:  # noqa: BLE001 - a file must never crash the run; refuse what we cannot judge
        return replace(verdict, ok=False, code="unreadable", message=_t(
            lang, f"{path.name}：无法检查该文件（{type(exc).__name__}: {exc}），为安全起见不读取；请在 Excel 中另存后再放回。",
            f"{path.name}: the file cannot be checked ({type(exc).__name__}: {exc}); not read, to be safe. "
            "Save it again from Excel and put it back."))
    return verdict


def _check(path: Path, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits, lang: str) -> None:
    name = path.name
    if name.startswith("~$"):
        raise _Reject("owner_file", _t(
            lang, f"{name}：这是 Excel 打开文件时生成的临时锁定文件，不是数据；请忽略或在 Excel 关闭后删除。",
            f"{name}: an Excel owner (lock) file created while the workbook is open, not data; "
            "ignore it, or delete it once Excel is closed."))
    if not path.is_file():
        raise _Reject("file_not_found", _t(lang, f"{name}：文件不存在。", f"{name}: file not found."))
    size = path.stat().st_size
    if size == 0:
        raise _Reject("file_empty", _t(lang, f"{name}：文件是空的（0 字节），请重新导出或复制。",
                                       f"{name}: the file is empty (0 bytes); export or copy it again."))
    if size > lim.max_file_bytes:
        raise _Reject("file_too_large", _t(
            lang, f"{name}：文件 {size // 2**20} MB，超过上限 {lim.max_file_bytes // 2**20} MB；请只导出本轮需要的数据。",
            f"{name}: {size // 2**20} MB is above the limit of {lim.max_file_bytes // 2**20} MB; "
            "export only the data this round needs."))
    with open(path, "rb") as fh:
        head = fh.read(4096)
    suffix = path.suffix.lower()
    if head.startswith((ZIP_MAGIC, ZIP_EMPTY)):
        v.kind = "xlsx"
        _check_zip(path, v, max_rows, max_cols, lim, lang)
    elif head.startswith(CFB_MAGIC):
        _check_cfb(path, v, max_rows, max_cols, lim, lang)
    elif head.startswith(b"PK"):
        raise _Reject("corrupt_zip", _t(
            lang, f"{name}：压缩包结构损坏（文件头异常），请从原始来源重新获取该文件。",
            f"{name}: a damaged zip archive (bad header); get the file again from its source."), "xlsx")
    elif suffix in XLSX_SUFFIXES:
        what = _describe_text(head)
        raise _Reject("not_xlsx", _t(
            lang, f"{name}：扩展名是 {suffix}，但内容不是 Excel 工作簿（{what[0]}）；请在 Excel 中打开并另存为 .xlsx，"
            "或让对方重新导出。",
            f"{name}: named {suffix} but the content is not an Excel workbook ({what[1]}); open it in "
            "Excel and save it as .xlsx, or ask the sender to export it again."))
    elif suffix == ".xls" and _looks_html(head):
        raise _Reject("xls_is_html", _t(
            lang, f"{name}：这是网页（HTML）格式冒充的 .xls（很多系统这样导出）；请在 Excel 中打开，"
            "文件 > 另存为 > Excel 工作簿 (.xlsx)。",
            f"{name}: an HTML page saved with an .xls name (many systems export this way); open it "
            "in Excel and use File > Save As > Excel Workbook (.xlsx)."))
    else:
        v.kind = "csv"
        _check_text(path, v, max_rows, max_cols, lim, lang)
        if suffix in (".xls", ".xlsx"):
            v.warnings.append(Finding("text_named_excel", _t(
                lang, f"{name}：扩展名是 {suffix}，实际是文本表格（{v.encoding}），按 CSV 读取。",
                f"{name}: named {suffix} but it is a text table ({v.encoding}); read as CSV.")))


def _looks_html(head: bytes) -> bool:
    h = head.lstrip(b"\xef\xbb\xbf \t\r\n").lower()
    return h.startswith((b"<html", b"<!doctype html", b"<table", b"<?xml", b"<meta")) or b"<html" in h[:512]


def _describe_text(head: bytes) -> tuple[str, str]:
    if _looks_html(head):
        return "网页 HTML", "an HTML page"
    if b"\x00" in head and not head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return "未知的二进制数据", "unknown binary data"
    return "纯文本，可能是 CSV", "plain text, perhaps a CSV"


# -- zip (xlsx) ----------------------------------------------------------------------------------

def _read_eocd(path: Path, lang: str) -> tuple[int, int]:
    """(entry count, central directory size) from the end records, without zipfile."""
    name = path.name
    size = path.stat().st_size
    with open(path, "rb") as fh:
        back = min(size, 65_557)  # EOCD (22) + the longest comment (65535)
        fh.seek(size - back)
        tail = fh.read(back)
        pos = tail.rfind(b"PK\x05\x06")
        if pos < 0 or len(tail) - pos < 22:
            raise _Reject("corrupt_zip", _t(
                lang, f"{name}：文件不完整（压缩包末尾的目录缺失，多为复制或下载中断），请重新获取完整文件。",
                f"{name}: the file is incomplete (the archive's closing directory is missing, usually an "
                "interrupted copy or download); get the complete file again."), "xlsx")
        entries, cd_size = struct.unpack("<HI", tail[pos + 10:pos + 16])
        if entries == 0xFFFF or cd_size == 0xFFFFFFFF:
            loc = pos - 20
            if loc >= 0 and tail[loc:loc + 4] == b"PK\x06\x07":
                z64_off = struct.unpack("<Q", tail[loc + 8:loc + 16])[0]
                if z64_off + 56 <= size:
                    fh.seek(z64_off)
                    rec = fh.read(56)
                    if rec[:4] == b"PK\x06\x06":
                        entries = struct.unpack("<Q", rec[32:40])[0]
                        cd_size = struct.unpack("<Q", rec[40:48])[0]
    return entries, cd_size


_SHEET_TYPES = ("/worksheet", "/chartsheet", "/dialogsheet", "/xlmacrosheet")


def _check_zip(path: Path, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits, lang: str) -> None:
    name = path.name
    entries, cd_size = _read_eocd(path, lang)
    if entries > lim.max_entries or cd_size > lim.max_central_directory:
        raise _Reject("too_many_parts", _t(
            lang, f"{name}：压缩包声明了 {entries} 个部件（上限 {lim.max_entries}），不像正常的工作簿，已拒绝读取；"
            "请对方在 Excel 中另存为新的 .xlsx。",
            f"{name}: the archive declares {entries} parts (limit {lim.max_entries}), which no normal "
            "workbook has; refused. Ask the sender to save it from Excel as a new .xlsx."), "xlsx")
    try:
        zf = zipfile.ZipFile(path)
    except (zipfile.BadZipFile, EOFError, ValueError, struct.error, NotImplementedError, OSError) as exc:
        raise _Reject("corrupt_zip", _t(
            lang, f"{name}：压缩包损坏（{exc}），请从原始来源重新获取该文件。",
            f"{name}: a damaged archive ({exc}); get the file again from its source."), "xlsx") from None
    with zf:
        infos = zf.infolist()
        names = {i.filename for i in infos}
        total = 0
        for info in infos:
            total += info.file_size
            ratio = info.file_size / max(info.compress_size, 1)
            if (info.file_size > lim.max_entry_uncompressed or total > lim.max_total_uncompressed
                    or (info.file_size > lim.ratio_grace_bytes and ratio > lim.max_ratio)):
                raise _Reject("zip_bomb", _t(
                    lang, f"{name}：压缩包内的 {info.filename} 声明解压后 {info.file_size:,} 字节"
                    f"（压缩比 {ratio:,.0f}:1，累计 {total:,} 字节），超过安全上限，疑似“压缩炸弹”，未解压；"
                    "如确为正常文件，请删除多余数据后另存。",
                    f"{name}: part {info.filename} declares {info.file_size:,} bytes uncompressed "
                    f"(ratio {ratio:,.0f}:1, {total:,} bytes so far), above the safety limits: a likely zip "
                    "bomb, not decompressed. If the file is genuine, remove surplus data and save it again."),
                    "xlsx")
            if info.flag_bits & 0x1:
                raise _Reject("encrypted", _encrypted_message(name, lang), "xlsx")
        if "xl/workbook.xml" not in names:
            if "xl/workbook.bin" in names:
                raise _Reject("xlsb_unsupported", _t(
                    lang, f"{name}：这是二进制工作簿（.xlsb），请在 Excel 中另存为 .xlsx。",
                    f"{name}: a binary workbook (.xlsb); save it from Excel as .xlsx."), "xlsx")
            if "mimetype" in names and "content.xml" in names:
                raise _Reject("ods_unsupported", _t(
                    lang, f"{name}：这是 OpenDocument 表格（.ods），请另存为 .xlsx。",
                    f"{name}: an OpenDocument spreadsheet (.ods); save it as .xlsx."), "xlsx")
            raise _Reject("not_xlsx", _t(
                lang, f"{name}：是压缩包但不是 Excel 工作簿（缺少 xl/workbook.xml，可能是 Word 文档或其他压缩文件）；"
                "请提供 .xlsx 工作簿。",
                f"{name}: a zip archive but not an Excel workbook (no xl/workbook.xml; perhaps a Word "
                "document or another archive); provide an .xlsx workbook."), "xlsx")

        sheets = _sheet_parts(zf, names, lang, name)
        v.sheets = [s for s, _, _ in sheets]
        v.hidden_sheets = [s for s, _, state in sheets if state in ("hidden", "veryHidden")]
        v.chart_sheets = [s for s, part, state in sheets if part and "/worksheets/" not in part and state != "unlisted"]
        if v.hidden_sheets:
            v.warnings.append(Finding("hidden_sheets", _t(
                lang, f"{name}：有隐藏的工作表 {', '.join(v.hidden_sheets)}，除非在配置中指定，否则不读取。",
                f"{name}: hidden sheet(s) {', '.join(v.hidden_sheets)} are ignored unless configured.")))
        part_sheet = {part: s for s, part, _ in sheets}
        for info in infos:
            if info.is_dir():
                continue
            if info.filename in part_sheet:
                _scan_sheet(zf, info, part_sheet[info.filename], v, max_rows, max_cols, lim, lang, name)
            elif info.filename.lower().endswith((".xml", ".rels", ".vml")):
                _scan_xml(zf, info, lang, name)
            else:
                _drain(zf, info, lang, name)


def _encrypted_message(name: str, lang: str) -> str:
    return _t(lang, f"{name}：工作簿设置了打开密码，无法读取；请在 Excel 中 文件 > 信息 > 保护工作簿 > 用密码进行加密，"
              "清除密码后另存，再放回。",
              f"{name}: the workbook is password-protected and cannot be read; in Excel use File > Info > "
              "Protect Workbook > Encrypt with Password, clear the password, save, and put it back.")


def _open_part(zf: zipfile.ZipFile, info: zipfile.ZipInfo, lang: str, name: str):
    try:
        return zf.open(info)
    except NotImplementedError as exc:
        raise _Reject("corrupt_zip", _t(lang, f"{name}：{info.filename} 使用了不支持的压缩方式（{exc}）；请在 Excel 中另存。",
                                        f"{name}: {info.filename} uses an unsupported compression ({exc}); "
                                        "save it again from Excel."), "xlsx") from None
    except RuntimeError:  # zipfile: "File is encrypted, password required"
        raise _Reject("encrypted", _encrypted_message(name, lang), "xlsx") from None
    except (zipfile.BadZipFile, EOFError, OSError, ValueError) as exc:
        raise _corrupt(info, exc, lang, name) from None


def _corrupt(info: zipfile.ZipInfo, exc: Exception, lang: str, name: str) -> _Reject:
    return _Reject("corrupt_zip", _t(
        lang, f"{name}：压缩包内的 {info.filename} 已损坏或不完整（{exc}），请从原始来源重新获取该文件。",
        f"{name}: part {info.filename} is damaged or incomplete ({exc}); get the file again from its source."),
        "xlsx")


def _chunks(zf: zipfile.ZipFile, info: zipfile.ZipInfo, lang: str, name: str):
    """Stream a part in chunks. zipfile stops at the declared size and checks the CRC at the end,
    so a part that lies about its size fails here instead of inflating without bound."""
    fh = _open_part(zf, info, lang, name)
    try:
        while True:
            try:
                chunk = fh.read(CHUNK)
            except (zipfile.BadZipFile, zlib.error, EOFError, OSError, ValueError) as exc:
                raise _corrupt(info, exc, lang, name) from None
            if not chunk:
                return
            yield chunk
    finally:
        fh.close()


def _drain(zf, info, lang, name) -> None:
    for _ in _chunks(zf, info, lang, name):
        pass


_DTD = re.compile(rb"<!(?i:doctype|entity)")
_DTD16 = [s.encode(enc) for s in ("<!DOCTYPE", "<!ENTITY", "<!doctype", "<!entity")
          for enc in ("utf-16-le", "utf-16-be")]


def _xml_parts(zf, info, lang, name):
    """Chunks of an XML part cut after the last '>' so tags are never split; DTDs refused."""
    tail = b""
    first = True
    for chunk in _chunks(zf, info, lang, name):
        if first:
            first = False
            if chunk.startswith((b"\xff\xfe", b"\xfe\xff")) or chunk[1:2] == b"\x00" or chunk[:1] == b"\x00":
                if any(p in chunk for p in _DTD16):
                    raise _entities(info, lang, name)
                raise _Reject("xml_encoding", _t(
                    lang, f"{name}：{info.filename} 不是 UTF-8 编码的 XML（Excel 不会这样保存），已拒绝；请在 Excel 中另存。",
                    f"{name}: {info.filename} is XML not in UTF-8 (Excel never saves that); refused. "
                    "Save it again from Excel."), "xlsx")
        buf = tail + chunk
        cut = buf.rfind(b">") + 1
        if cut == 0 and len(buf) > 4 * CHUNK:  # a huge text node: keep only what could start a tag
            cut = len(buf) - 64
        part, tail = buf[:cut], buf[cut:]
        if b"!" in part and _DTD.search(part):  # (a one-byte memchr first: "<!" is rare)
            raise _entities(info, lang, name)
        yield part
    if tail and _DTD.search(tail):
        raise _entities(info, lang, name)
    if tail:
        yield tail


def _entities(info, lang, name) -> _Reject:
    return _Reject("xml_entities", _t(
        lang, f"{name}：{info.filename} 含有 DTD/实体声明（<!DOCTYPE 或 <!ENTITY），正常 Excel 文件没有，"
        "可能是“实体膨胀”或外部实体攻击，已拒绝读取；请对方在 Excel 中重新保存。",
        f"{name}: {info.filename} contains a DTD or entity declaration (<!DOCTYPE / <!ENTITY), which no "
        "Excel file has: an entity-expansion or external-entity attack; refused. Ask the sender to save "
        "it again from Excel."), "xlsx")


def _scan_xml(zf, info, lang, name) -> None:
    for _ in _xml_parts(zf, info, lang, name):
        pass


def _read_small_xml(zf, part: str, lang: str, name: str, cap: int = 16 * 1024 * 1024) -> bytes:
    info = zf.getinfo(part)
    out = bytearray()
    for chunk in _xml_parts(zf, info, lang, name):
        out += chunk
        if len(out) > cap:
            raise _Reject("zip_bomb", _t(lang, f"{name}：{part} 异常巨大，已拒绝。",
                                         f"{name}: {part} is abnormally large; refused."), "xlsx")
    return bytes(out)


_ATTR = re.compile(rb'([\w:]+)\s*=\s*"([^"]*)"')
_SHEET_EL = re.compile(rb"<(?:\w+:)?sheet\b([^>]*)/?>")
_REL_EL = re.compile(rb"<(?:\w+:)?Relationship\b([^>]*)/?>")


def _attrs(raw: bytes) -> dict[str, str]:
    import html

    return {k.decode().split(":")[-1]: html.unescape(val.decode("utf-8", "replace"))
            for k, val in _ATTR.findall(raw)}


def _sheet_parts(zf, names: set[str], lang: str, name: str) -> list[tuple[str, str, str]]:
    """(sheet name, part path, state) in workbook order, from workbook.xml and its rels."""
    wb = _read_small_xml(zf, "xl/workbook.xml", lang, name)
    rels: dict[str, str] = {}
    if "xl/_rels/workbook.xml.rels" in names:
        for raw in _REL_EL.findall(_read_small_xml(zf, "xl/_rels/workbook.xml.rels", lang, name)):
            a = _attrs(raw)
            target = a.get("Target", "")
            target = target.lstrip("/") if target.startswith("/") else "xl/" + target
            # normalise "xl/./worksheets/../worksheets/sheet1.xml"
            parts: list[str] = []
            for p in target.split("/"):
                if p == "..":
                    if parts:
                        parts.pop()
                elif p not in ("", "."):
                    parts.append(p)
            rels[a.get("Id", "")] = "/".join(parts)
    out = []
    for raw in _SHEET_EL.findall(wb):
        a = _attrs(raw)
        part = rels.get(a.get("id", ""), "")
        out.append((a.get("name", "?"), part, a.get("state", "visible")))
    # Worksheet parts not referenced by the workbook are still scanned as sheets: a reader may open them.
    known = {p for _, p, _ in out}
    for n in sorted(names):
        if re.fullmatch(r"xl/worksheets/[^/]+\.xml", n) and n not in known:
            out.append((n.rsplit("/", 1)[-1], n, "unlisted"))
    return out


_DIM = re.compile(rb'<(?:\w+:)?dimension\b[^>]*\bref="\$?([A-Z]{1,3})\$?(\d+)(?::\$?([A-Z]{1,3})\$?(\d+))?"')
# Regexes led by a literal are an order of magnitude faster than ones led by "<" or \b, which
# matters on 100+ MB of sheet XML. Attributes are normally separated by one space; a chunk with
# another whitespace before r= is scanned with the slower, general patterns.
_NUM_FAST = re.compile(rb' r="[A-Z]{0,3}(\d+)"')  # rows: r="12"; cells: r="AB12"
_REF_SLOW = re.compile(rb'\sr\s*=\s*["\']\$?([A-Z]{0,3})\$?(\d+)["\']')
# Any other spelling XML allows around the "=" of an r attribute sends a chunk to the slow path.
_ODD_REF = (b"r='", b"r =", b"r\t", b"r\n", b"r\r", b"r= ", b"r=\t", b"r=\n", b"r=\r")


def _has(part: bytes, needle: bytes) -> bool:
    """``needle in part``, first asking whether its rarest byte is there at all: one byte is looked
    for with memchr, many times faster than a multi-byte search, and sheet XML rarely holds a quote,
    a tab or a newline (or an "f" outside formulas, tested the same way below)."""
    rare = needle[-1:]
    return rare in part and needle in part
_LETTERS_FAST = re.compile(rb' r="([A-Z]{1,3})\d')
_NO_VALUE = re.compile(
    rb"(?:</(?:\w+:)?f>|<(?:\w+:)?f\b[^>]*/>)\s*"
    rb"(?:<(?:\w+:)?v\s*/>|<(?:\w+:)?v>\s*</(?:\w+:)?v>)?\s*</(?:\w+:)?c>")
_CELL_START = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]+\d+)"[^>]*>')
_VALUED = re.compile(rb'<(?:\w+:)?c\b[^>]*?\br="([A-Z]{1,3})(\d+)"[^>]*?(?<!/)>')  # a cell with content
_MERGE = re.compile(rb'<(?:\w+:)?mergeCell\b[^>]*\bref="([A-Z]{1,3})(\d+)(?::([A-Z]{1,3})(\d+))?"')


def _max_col(letters: set[bytes]) -> int:
    return max((col_number(x.decode()) for x in letters), default=0)


class _Inconclusive(Exception):
    """The bounded scan cannot tell that a sheet is within the limits: scan it exactly."""


# A reference with 2+ letters or 6+ digits, as the exact scan's patterns would read it: fast
# (_LETTERS_FAST, _NUM_FAST) or general (_REF_SLOW); each matches a prefix of any such reference.
_SIX_DIGITS = re.compile(rb' r="[A-Z]{0,3}\d{6}')
_TWO_LETTERS = re.compile(rb' r="[A-Z]{2}')
_SLOW_LONG = re.compile(rb'\sr\s*=\s*["\']\$?[A-Z]{0,3}\$?\d{6}')
_SLOW_WIDE = re.compile(rb'\sr\s*=\s*["\']\$?[A-Z]{2}')
_BOUND_ROWS, _BOUND_COLS = 99_999, 26


def _scan_sheet(zf, info, sheet: str, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits,
                lang: str, name: str) -> None:
    """Refuse a sheet beyond the limits; warn about formulas without values and merged headers.

    A first scan only bounds the largest row and column (enough for nearly every sheet: under
    100,000 rows and 26 columns); if it cannot show the sheet is within the limits, the exact scan
    runs from the start, so what is refused and every message is as the exact scan alone gives.
    """
    if not lim.sparse:
        try:
            return _scan_sheet_pass(zf, info, sheet, v, max_rows, max_cols, lim, lang, name, bounded=True)
        except _Inconclusive:
            pass
    _scan_sheet_pass(zf, info, sheet, v, max_rows, max_cols, lim, lang, name, bounded=False)


def _scan_sheet_pass(zf, info, sheet: str, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits,
                     lang: str, name: str, bounded: bool) -> None:
    rows_seen = 0
    max_row = 0
    max_c = 0
    no_value: list[str] = []
    n_no_value = 0
    merges: list[str] = []

    def too_large(rows: int, cols: int, how: str, how_en: str) -> _Reject:
        return _Reject("sheet_too_large", _t(
            lang, f"{name}：工作表“{sheet}”{how}为 {rows:,} 行 × {cols:,} 列，超过上限（{max_rows:,} 行、{max_cols:,} 列、"
            f"{lim.max_cells:,} 个单元格），已拒绝读取；请删除数据区以外的空行空列（Ctrl+End 可看到最后使用的单元格）后另存。",
            f"{name}: sheet '{sheet}' {how_en} {rows:,} rows x {cols:,} columns, above the limits "
            f"({max_rows:,} rows, {max_cols:,} columns, {lim.max_cells:,} cells); refused. Delete the empty "
            "rows and columns beyond the data (Ctrl+End shows the last used cell) and save again."), "xlsx")

    def check(rows: int, cols: int, how: str, how_en: str) -> None:
        if rows > max_rows or cols > max_cols or rows * cols > lim.max_cells:
            raise too_large(rows, cols, how, how_en)

    for part in _xml_parts(zf, info, lang, name):
        if lim.sparse:
            for m in _VALUED.finditer(part):
                max_c = max(max_c, col_number(m.group(1).decode()))
                max_row = max(max_row, int(m.group(2)))
            check(max_row, max_c, "实际使用", "uses")
        else:
            if max_row == 0 and rows_seen == 0:
                m = _DIM.search(part)
                if m:
                    r2 = int(m.group(4) or m.group(2))
                    c2 = col_number((m.group(3) or m.group(1)).decode())
                    check(r2, c2, "声明的范围", "declares")
            rows_seen += part.count(b"<row") + (part.count(b":row") if b":" in part else 0)
            # Every r=" preceded by one space (the usual case), no single quotes or spaced "=": fast path.
            odd = part.count(b'r="') != part.count(b' r="') or any(_has(part, odd) for odd in _ODD_REF)
            if bounded:
                # Bounds, not the largest row and column: no reference with 6+ digits (rows <
                # 100,000) or 2+ letters (columns <= 26), two searches instead of collecting every
                # reference, with the patterns the exact scan would use on this chunk. Anything
                # else, or bounds over a limit: the exact scan decides.
                wide, long = (_SLOW_WIDE, _SLOW_LONG) if odd else (_TWO_LETTERS, _SIX_DIGITS)
                if wide.search(part) or long.search(part):
                    raise _Inconclusive
                rows = max(_BOUND_ROWS, rows_seen)
                if rows > max_rows or _BOUND_COLS > max_cols or rows * _BOUND_COLS > lim.max_cells:
                    raise _Inconclusive
            else:
                if odd:
                    refs = _REF_SLOW.findall(part)
                    letters = {c for c, _ in refs if c}
                    numbers = {r for _, r in refs}
                else:
                    letters = set(_LETTERS_FAST.findall(part))
                    numbers = set(_NUM_FAST.findall(part))
                if letters:
                    max_c = max(max_c, _max_col(letters))
                if numbers:
                    max_row = max(max_row, max(map(int, numbers)))
                check(max(max_row, rows_seen), max_c, "实际使用", "uses")
        if b"f" in part and (b"f>" in part or b"<f " in part or b":f " in part):
            for m in _NO_VALUE.finditer(part):
                n_no_value += 1
                if len(no_value) < 5:
                    opened = [c for c in _CELL_START.finditer(part, max(0, m.start() - 4096), m.start())]
                    no_value.append(opened[-1].group(1).decode() if opened else "?")
        if b"g" in part and b"mergeCell" in part:
            for m in _MERGE.finditer(part):
                r1 = int(m.group(2))
                if r1 <= lim.header_rows and len(merges) < 10:
                    merges.append(m.group(0).split(b'ref="')[1].rstrip(b'"').decode())
    if n_no_value:
        v.warnings.append(Finding("formula_no_value", _t(
            lang, f"{name}：工作表“{sheet}”有 {n_no_value} 个公式没有计算结果（例如 {', '.join(no_value)}）："
            "该文件不是由 Excel 保存的，公式从未被计算，这些单元格将按空值读取；请在 Excel 中打开、保存后再放回。",
            f"{name}: sheet '{sheet}' has {n_no_value} formula(s) without a computed value (e.g. "
            f"{', '.join(no_value)}): Excel never calculated them, so they read as blank; open the file in "
            "Excel, save it, and put it back."), sheet, no_value[0] if no_value else None))
    if merges:
        v.warnings.append(Finding("merged_header", _t(
            lang, f"{name}：工作表“{sheet}”表头区域有合并单元格 {', '.join(merges)}：只有左上角单元格有文字；"
            "如表头占两行，请改为一行、每列一个标题。",
            f"{name}: sheet '{sheet}' has merged cells in the header area ({', '.join(merges)}): only the "
            "top-left cell holds the text; if the header spans two rows, make it one row with one title per "
            "column."), sheet, merges[0].split(":")[0]))


# -- OLE compound file (xls, encrypted xlsx) -----------------------------------------------------

def _check_cfb(path: Path, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits, lang: str) -> None:
    name = path.name
    streams = _cfb_streams(path)
    if "encryptedpackage" in streams or "encryptioninfo" in streams:
        raise _Reject("encrypted", _encrypted_message(name, lang), "xlsx")
    if not ({"workbook", "book"} & streams):
        raise _Reject("not_xlsx", _t(
            lang, f"{name}：是 Office 旧格式文件，但不是 Excel 工作簿（可能是 Word 的 .doc）；请提供 .xlsx 工作簿。",
            f"{name}: an old-format Office file but not an Excel workbook (perhaps a Word .doc); provide an "
            ".xlsx workbook."))
    v.kind = "xls"
    try:
        import xlrd
    except ImportError:
        raise _Reject("xls_unsupported", _t(
            lang, f"{name}：旧版 .xls 工作簿，本机无法读取；请在 Excel 中打开，文件 > 另存为 > Excel 工作簿 (.xlsx)，"
            "或安装 xlrd（pip install xlrd）。",
            f"{name}: an old .xls workbook that cannot be read here; open it in Excel and use File > Save As > "
            "Excel Workbook (.xlsx), or install xlrd (pip install xlrd)."), "xls") from None
    try:
        book = xlrd.open_workbook(str(path), on_demand=True)
    except Exception as exc:  # noqa: BLE001 - xlrd raises many types for broken BIFF
        if "encrypt" in str(exc).lower():
            raise _Reject("encrypted", _encrypted_message(name, lang), "xls") from None
        raise _Reject("corrupt_xls", _t(
            lang, f"{name}：旧版 .xls 工作簿已损坏（{exc}）；请在 Excel 中打开并另存为 .xlsx。",
            f"{name}: a damaged old .xls workbook ({exc}); open it in Excel and save it as .xlsx."), "xls") from None
    try:
        v.sheets = book.sheet_names()
        for i, sheet_name in enumerate(v.sheets):
            sh = book.sheet_by_index(i)
            if sh.visibility:
                v.hidden_sheets.append(sheet_name)
            if sh.nrows > max_rows or sh.ncols > max_cols or sh.nrows * sh.ncols > lim.max_cells:
                raise _Reject("sheet_too_large", _t(
                    lang, f"{name}：工作表“{sheet_name}”有 {sh.nrows:,} 行 × {sh.ncols:,} 列，超过上限；请删除多余数据后另存为 .xlsx。",
                    f"{name}: sheet '{sheet_name}' has {sh.nrows:,} rows x {sh.ncols:,} columns, above the limits; "
                    "remove surplus data and save it as .xlsx."), "xls")
            book.unload_sheet(i)
    except _Reject:
        raise
    except Exception as exc:  # noqa: BLE001
        raise _Reject("corrupt_xls", _t(lang, f"{name}：旧版 .xls 工作簿已损坏（{exc}）；请在 Excel 中打开并另存为 .xlsx。",
                                        f"{name}: a damaged old .xls workbook ({exc}); open it in Excel and "
                                        "save it as .xlsx."), "xls") from None
    finally:
        book.release_resources()
    if v.hidden_sheets:
        v.warnings.append(Finding("hidden_sheets", _t(
            lang, f"{name}：有隐藏的工作表 {', '.join(v.hidden_sheets)}，除非在配置中指定，否则不读取。",
            f"{name}: hidden sheet(s) {', '.join(v.hidden_sheets)} are ignored unless configured.")))
    v.warnings.append(Finding("old_xls", _t(
        lang, f"{name}：旧版 .xls 格式，已读取；建议以后另存为 .xlsx。",
        f"{name}: old .xls format, read; saving it as .xlsx in future is recommended.")))


def _cfb_streams(path: Path) -> set[str]:
    """Lower-cased stream names of an OLE compound file (olefile; else a scan of directory entries)."""
    try:
        import olefile

        with olefile.OleFileIO(str(path)) as ole:
            return {"/".join(e).lower() for e in ole.listdir(streams=True, storages=False)}
    except ImportError:  # pragma: no cover - olefile comes with msoffcrypto-tool
        pass
    except Exception:  # noqa: BLE001 - a broken directory: fall back to the raw scan below
        pass
    found = set()
    with open(path, "rb") as fh:
        data = fh.read(8 * CHUNK)
    for n in ("EncryptedPackage", "EncryptionInfo", "Workbook", "Book"):
        if n.encode("utf-16-le") + b"\x00\x00" in data:
            found.add(n.lower())
    return found


# -- text (CSV) ----------------------------------------------------------------------------------

def _decodes(path: Path, encoding: str) -> bool:
    dec = codecs.getincrementaldecoder(encoding)("strict")
    try:
        with open(path, "rb") as fh:
            while chunk := fh.read(CHUNK):
                dec.decode(chunk)
        dec.decode(b"", final=True)
        return True
    except UnicodeDecodeError:
        return False


_TEXT_CODECS = ("utf-8", "gbk", "gb18030")  # tried in this order: the first that decodes the whole file


def detect_encoding(path: Path) -> str | None:
    """The codec of a text file: BOM, then strict UTF-8, GBK, GB18030; UTF-16 without BOM by NULs."""
    decided, enc = _encoding_by_head(path)
    if decided:
        return enc
    for enc in _TEXT_CODECS:
        if _decodes(path, enc):
            return enc
    return None


def _encoding_by_head(path: Path) -> tuple[bool, str | None]:
    """(True, codec or None) when the first megabyte decides (a BOM, UTF-16 or binary NULs);
    (False, None) when the whole file must be tried with each of ``_TEXT_CODECS``."""
    with open(path, "rb") as fh:
        head = fh.read(CHUNK)
    if head.startswith(b"\xef\xbb\xbf"):
        return True, "utf-8-sig"
    if head.startswith((b"\xff\xfe", b"\xfe\xff")):
        return True, "utf-16"
    if len(head) >= 4 and b"\x00" in head:
        # UTF-8/GBK text never holds NUL; UTF-16 holds it on one side of ASCII characters.
        even, odd = head[0::2].count(0), head[1::2].count(0)
        dense = len(head) // 16  # CSV text is full of ASCII digits, commas and newlines
        if odd > max(9 * even, dense) and _decodes(path, "utf-16-le"):
            return True, "utf-16-le"
        if even > max(9 * odd, dense) and _decodes(path, "utf-16-be"):
            return True, "utf-16-be"
        return True, None  # NUL bytes in anything else: binary, not a text table
    return False, None


def _check_text(path: Path, v: FileVerdict, max_rows: int, max_cols: int, lim: Limits, lang: str) -> None:
    name = path.name
    decided, enc = _encoding_by_head(path)
    if not decided:
        # Each codec in turn scans the file with a strict decoder: the scan that completes is the
        # detection (the whole file decoded), one pass instead of a decoding pass then a scan. A
        # refusal met before a decoding error counts only if the codec decodes the rest too, as
        # detecting first and scanning then would have refused.
        for enc in _TEXT_CODECS:
            try:
                _scan_text_lines(path, enc, max_rows, max_cols, lim, lang, errors="strict")
            except UnicodeDecodeError:
                continue
            except _Reject:
                if not _decodes(path, enc):
                    continue
                v.encoding = enc
                raise
            v.encoding = enc
            return
        enc = None
    if enc is None:
        with open(path, "rb") as fh:
            head = fh.read(CHUNK)
        if b"\x00" in head:
            raise _Reject("not_text", _t(
                lang, f"{name}：不是文本表格（含二进制数据）；请提供 .xlsx 或 .csv 文件。",
                f"{name}: not a text table (binary content); provide an .xlsx or .csv file."), "csv")
        raise _Reject("csv_encoding_unknown", _t(
            lang, f"{name}：无法识别文本编码（不是 UTF-8、GBK、GB18030 或 UTF-16）；请用 Excel 另存为 .xlsx，"
            "或另存为“CSV UTF-8”。",
            f"{name}: unknown text encoding (not UTF-8, GBK, GB18030 or UTF-16); save it from Excel as "
            ".xlsx or as 'CSV UTF-8'."), "csv")
    v.encoding = enc
    _scan_text_lines(path, enc, max_rows, max_cols, lim, lang)


_DELIMITERS = (",", "\t", ";", "|")


def _scan_text_lines(path: Path, enc: str, max_rows: int, max_cols: int, lim: Limits, lang: str,
                     errors: str = "replace") -> None:
    """Lines, the widest line and the most fields of any line, over the WHOLE file, streaming.

    Memory stays bounded by one chunk: a line is never held whole, only its length and delimiter
    counts so far, so a one-line 250 MB file is refused when its first megabyte has been seen.
    ``errors="strict"``: a byte sequence ``enc`` cannot decode raises UnicodeDecodeError.
    """
    name = path.name
    dec = codecs.getincrementaldecoder(enc)(errors)
    lines = 0
    cur_len = 0
    cur = dict.fromkeys(_DELIMITERS, 0)

    def too_wide(width: int) -> _Reject:
        return _Reject("csv_too_large", _t(
            lang, f"{name}：第 {lines + 1:,} 行有约 {width:,} 列，超过上限 {max_cols:,} 列；请检查分隔符或删除多余列。",
            f"{name}: line {lines + 1:,} has about {width:,} columns, above the limit of {max_cols:,}; check the "
            "delimiter or remove surplus columns."), "csv")

    def too_long(length: int) -> _Reject:
        return _Reject("csv_too_large", _t(
            lang, f"{name}：第 {lines + 1:,} 行长达 {length:,} 个字符以上，超过上限 {lim.max_line_chars:,}；"
            "这不像表格数据（可能缺少换行符或是其他文件），已拒绝读取。",
            f"{name}: line {lines + 1:,} is {length:,}+ characters long, above the limit of "
            f"{lim.max_line_chars:,}: not table data (missing line breaks, or another kind of file); refused."),
            "csv")

    with open(path, "rb") as fh:
        while True:
            raw = fh.read(CHUNK)
            text = dec.decode(raw, final=not raw)
            if text:
                parts = text.split("\n")
                # The first part continues the current line; the last one starts the next.
                first, complete, last = parts[0], parts[1:-1], parts[-1]
                cur_len += len(first)
                for d in _DELIMITERS:
                    cur[d] += first.count(d)
                if len(parts) > 1:
                    if cur_len > lim.max_line_chars:
                        raise too_long(cur_len)
                    if max(cur.values()) + 1 > max_cols:
                        raise too_wide(max(cur.values()) + 1)
                    lines += 1
                    if complete:
                        longest = max(map(len, complete))
                        if longest > lim.max_line_chars:
                            lines += next(i for i, x in enumerate(complete) if len(x) == longest)
                            raise too_long(longest)
                        for d in _DELIMITERS:
                            # A chunk with this few delimiters, or lines this short, cannot hold a
                            # line that has too many.
                            if longest + 1 <= max_cols or text.count(d) + 1 <= max_cols:
                                continue
                            counts = [x.count(d) for x in complete]
                            widest = max(counts)
                            if widest + 1 > max_cols:
                                lines += counts.index(widest)
                                raise too_wide(widest + 1)
                        lines += len(complete)
                    cur_len = len(last)
                    cur = {d: last.count(d) for d in _DELIMITERS}
                if cur_len > lim.max_line_chars:
                    raise too_long(cur_len)
                if max(cur.values()) + 1 > max_cols:
                    raise too_wide(max(cur.values()) + 1)
                if lines > max_rows:
                    raise _Reject("csv_too_large", _t(
                        lang, f"{name}：超过 {max_rows:,} 行的上限；请只导出本轮需要的数据。",
                        f"{name}: more than the limit of {max_rows:,} lines; export only the data this "
                        "round needs."), "csv")
            if not raw:
                break
