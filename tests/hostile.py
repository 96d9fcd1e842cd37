"""Builders for hostile and odd input files, made cheaply in a test's tmp_path.

Nothing here needs network or fixtures on disk: zip bombs are declared, not inflated; the OLE
compound file (old .xls / encrypted workbook container) is written by a tiny CFB writer.
"""

from __future__ import annotations

import io
import struct
import zipfile
from pathlib import Path

CONTENT_TYPES = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.relationships+xml"/>'
    '<Default Extension="xml" ContentType="application/xml"/>'
    '<Override PartName="/xl/workbook.xml" '
    'ContentType="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet.main+xml"/>'
    '{overrides}</Types>'
)
ROOT_RELS = (
    '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
    '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/relationships/'
    'officeDocument" Target="xl/workbook.xml"/></Relationships>'
)
NS = 'xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main" ' \
     'xmlns:r="http://schemas.openxmlformats.org/officeDocument/2006/relationships"'


def sheet_xml(rows: list[list[str | int]] | None = None, *, dimension: str | None = None,
              extra_cells: str = "", merges: list[str] | None = None, prolog: str = "") -> str:
    """A worksheet part with inline strings / numbers."""
    rows = rows if rows is not None else [["统一社会信用代码", "企业名称"], ["91330000000000000X", "甲公司"]]
    body = []
    for i, row in enumerate(rows, start=1):
        cells = []
        for j, value in enumerate(row):
            ref = f"{chr(65 + j)}{i}"
            if isinstance(value, (int, float)):
                cells.append(f'<c r="{ref}"><v>{value}</v></c>')
            else:
                cells.append(f'<c r="{ref}" t="inlineStr"><is><t>{value}</t></is></c>')
        body.append(f'<row r="{i}">{"".join(cells)}</row>')
    dim = f'<dimension ref="{dimension}"/>' if dimension else ""
    merge = ""
    if merges:
        merge = f'<mergeCells count="{len(merges)}">' + "".join(f'<mergeCell ref="{m}"/>' for m in merges) \
            + "</mergeCells>"
    return (f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n{prolog}<worksheet {NS}>{dim}'
            f'<sheetData>{"".join(body)}{extra_cells}</sheetData>{merge}</worksheet>')


def write_xlsx(path: Path, sheets: list[tuple[str, str, str]] | None = None,
               extra_parts: dict[str, bytes | str] | None = None) -> Path:
    """A minimal xlsx: sheets are (name, state, sheet xml)."""
    sheets = sheets if sheets is not None else [("Sheet1", "visible", sheet_xml())]
    wb_sheets, rels, overrides = [], [], []
    for i, (name, state, _) in enumerate(sheets, start=1):
        st = "" if state == "visible" else f' state="{state}"'
        wb_sheets.append(f'<sheet name="{name}" sheetId="{i}"{st} r:id="rId{i}"/>')
        rels.append(f'<Relationship Id="rId{i}" Type="http://schemas.openxmlformats.org/officeDocument/'
                    f'2006/relationships/worksheet" Target="worksheets/sheet{i}.xml"/>')
        overrides.append(f'<Override PartName="/xl/worksheets/sheet{i}.xml" ContentType="application/'
                         'vnd.openxmlformats-officedocument.spreadsheetml.worksheet+xml"/>')
    parts: dict[str, bytes | str] = {
        "[Content_Types].xml": CONTENT_TYPES.format(overrides="".join(overrides)),
        "_rels/.rels": ROOT_RELS,
        "xl/workbook.xml": f'<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n<workbook {NS}>'
                           f'<sheets>{"".join(wb_sheets)}</sheets></workbook>',
        "xl/_rels/workbook.xml.rels": '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        '<Relationships xmlns="http://schemas.openxmlformats.org/package/2006/relationships">'
        + "".join(rels) + "</Relationships>",
    }
    for i, (_, _, xml) in enumerate(sheets, start=1):
        parts[f"xl/worksheets/sheet{i}.xml"] = xml
    parts.update(extra_parts or {})
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        for name, data in parts.items():
            zf.writestr(name, data)
    return path


def declared_bomb(path: Path, declared: int = 10 * 1024**3) -> Path:
    """An xlsx whose sheet part *declares* ``declared`` bytes uncompressed (zip64), built in ms.

    zipfile writes the central directory from its ZipInfo list at close, so changing the recorded
    size before closing gives the lie a real bomb tells, without inflating anything.
    """
    write_xlsx(path)
    buf = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("xl/sharedStrings.xml", "<sst/>" * 100)
        zf.filelist[-1].file_size = declared
    path.write_bytes(buf.getvalue())
    return path


def real_ratio_bomb(path: Path, megabytes: int = 40) -> Path:
    """A part of ``megabytes`` MB of one repeated byte: tiny on disk, ratio ~1000:1."""
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as zf:
        zf.writestr("[Content_Types].xml", CONTENT_TYPES.format(overrides=""))
        zf.writestr("xl/workbook.xml", f"<workbook {NS}><sheets/></workbook>")
        zf.writestr("xl/sharedStrings.xml", b" " * (megabytes * 1024 * 1024))
    return path


def lying_size(path: Path) -> Path:
    """A part whose central directory understates its size: the CRC check must catch it."""
    write_xlsx(path)
    buf = io.BytesIO(path.read_bytes())
    with zipfile.ZipFile(buf, "a") as zf:
        zf.writestr("xl/styles.xml", "<styleSheet>" + "x" * 50_000 + "</styleSheet>")
        zf.filelist[-1].file_size = 100
    path.write_bytes(buf.getvalue())
    return path


BILLION_LAUGHS = (
    '<?xml version="1.0"?>\n<!DOCTYPE lolz [<!ENTITY lol "lol">'
    + "".join(f'<!ENTITY lol{i} "{("&lol" + (str(i - 1) if i > 1 else "") + ";") * 10}">' for i in range(1, 10))
    + "]>\n"
)
EXTERNAL_ENTITY = '<?xml version="1.0"?>\n<!DOCTYPE x [<!ENTITY xxe SYSTEM "file:///etc/passwd">]>\n'


# -- OLE compound file ---------------------------------------------------------------------------

ENDOFCHAIN, FREESECT, FATSECT, NOSTREAM = 0xFFFFFFFE, 0xFFFFFFFF, 0xFFFFFFFD, 0xFFFFFFFF


def _dir_entry(name: str, kind: int, start: int, size: int, left=NOSTREAM, right=NOSTREAM,
               child=NOSTREAM) -> bytes:
    raw = name.encode("utf-16-le") + b"\x00\x00"
    return (raw.ljust(64, b"\x00") + struct.pack("<HBB", len(raw), kind, 1)
            + struct.pack("<III", left, right, child) + b"\x00" * 16 + struct.pack("<I", 0)
            + b"\x00" * 16 + struct.pack("<IQ", start, size))


def write_cfb(path: Path, streams: dict[str, bytes]) -> Path:
    """A version-3 compound file holding ``streams`` (each padded to >= 4096 bytes: no mini stream)."""
    names = sorted(streams, key=lambda n: (len(n), n.upper()))
    data = [streams[n].ljust(4096, b"\x00") for n in names]
    fat = [FATSECT, ENDOFCHAIN]
    starts = []
    sector = 2
    for d in data:
        count = (len(d) + 511) // 512
        starts.append(sector)
        fat += [sector + k + 1 for k in range(count - 1)] + [ENDOFCHAIN]
        sector += count
    assert len(fat) <= 128
    fat += [FREESECT] * (128 - len(fat))
    entries = [_dir_entry("Root Entry", 5, ENDOFCHAIN, 0, child=1)]
    for i, (n, d) in enumerate(zip(names, data), start=1):
        entries.append(_dir_entry(n, 2, starts[i - 1], len(d), right=i + 1 if i < len(names) else NOSTREAM))
    dir_bytes = b"".join(entries)
    dir_bytes += _dir_entry("", 0, 0, 0)[:0] + b"\x00" * ((-len(dir_bytes)) % 512)
    assert len(dir_bytes) == 512
    header = (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\x00" * 16
              + struct.pack("<HHHHH", 0x3E, 3, 0xFFFE, 9, 6) + b"\x00" * 6
              + struct.pack("<IIIIIIIII", 0, 1, 1, 0, 4096, ENDOFCHAIN, 0, ENDOFCHAIN, 0)
              + struct.pack("<I", 0) + struct.pack("<I", FREESECT) * 108)
    assert len(header) == 512
    body = struct.pack("<128I", *fat) + dir_bytes + b"".join(d.ljust((len(d) + 511) // 512 * 512, b"\x00")
                                                          for d in data)
    path.write_bytes(header + body)
    return path


def _rec(rtype: int, payload: bytes) -> bytes:
    return struct.pack("<HH", rtype, len(payload)) + payload


def biff8_workbook(cells: list[tuple[int, int, float]], sheet_name: str = "Sheet1", hidden: bool = False) -> bytes:
    """A minimal BIFF8 Workbook stream: one sheet of NUMBER cells (what xlrd needs, nothing more)."""
    bof_globals = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0005, 0, 0, 0, 0))
    name = sheet_name.encode("latin-1")
    xf = _rec(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0xFFF5, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    xfs = xf * 16 + _rec(0x00E0, struct.pack("<HHHBBBBIIH", 0, 0, 0x0001, 0x20, 0, 0, 0, 0, 0, 0x20C0))
    boundsheet_len = 4 + 8 + len(name)
    eof = _rec(0x000A, b"")
    globals_len = len(bof_globals) + len(xfs) + boundsheet_len + len(eof)
    boundsheet = _rec(0x0085, struct.pack("<IBBBB", globals_len, 1 if hidden else 0, 0, len(name), 0) + name)
    nrows = max((r for r, _, _ in cells), default=-1) + 1
    ncols = max((c for _, c, _ in cells), default=-1) + 1
    sheet = _rec(0x0809, struct.pack("<HHHHII", 0x0600, 0x0010, 0, 0, 0, 0))
    sheet += _rec(0x0200, struct.pack("<IIHHH", 0, nrows, 0, ncols, 0))
    for r, c, value in cells:
        sheet += _rec(0x0203, struct.pack("<HHHd", r, c, 16, value))
    sheet += eof
    return bof_globals + xfs + boundsheet + eof + sheet
