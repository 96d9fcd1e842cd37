"""A small generated review round with more mess than the benchmark's: every kind of bad cell.

``build_messy(folder)`` writes the benchmark generator's round (benchmarks/make_data.py) for a few
hundred applicants, then overwrites a fixed, seeded share of the cells of every file with what
people really type (units, labels, partial and impossible dates, negative amounts, full-width
digits, stray spaces, text in number columns ...) and adds record rows for other enterprises that
carry bad values, rows without codes, and broken codes. Deterministic: the same files every time.
"""

from __future__ import annotations

import datetime as dt
import importlib.util
import sys
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent

# What people type into cells of any column (kept as the cell's own type).
JUNK = ["", " ", "无", "N/A", "-", "abc", "1,2,3", "1.000,50", "1,234.5", "(1,000)", "-5", "-0.5", "300万元",
        "300万", "3亿元", "45 天", "12%", "95 %", "0.5", "１２３", "３００万元", "  优 ", "良", "中等", "差", "劣",
        "是", "否 ", "Y", "n", "maybe", "2023年5月", "2023-13-45", "2023/2/30", "20230506", "2023.5.6",
        "2023年5月6号", "45000", "2020-01", "1e5", "inf", "nan", "TRUE", "＝SUM(A1)", "=1+1", "\t数据\n",
        -3, -0.25, 0, 0.95, 1.5, 5, 7, 120, 45000.0, 2958466, 20231301, True, False,
        dt.datetime(2021, 3, 4), dt.datetime(2021, 3, 4, 13, 5), dt.date(1899, 12, 31)]
RECORD_JUNK = {3: ["不是日期", "2025年3月", "2025/2/30", "45000", "", "20240102", "2024.1.2", "２０２４年１月２日"],
               5: ["12万元", "-300", "1,234", "1,2,3", "", "abc", "（1000）", "５００"],
               0: ["", " ", "914419 00MA4W1X2Y3", "abc"]}


def _make_data():
    spec = importlib.util.spec_from_file_location("make_data", ROOT / "benchmarks" / "make_data.py")
    mod = importlib.util.module_from_spec(spec)
    sys.modules.setdefault("make_data", mod)
    spec.loader.exec_module(mod)
    return mod


def _mess_xlsx(path: Path, rng: np.random.Generator, share: float) -> None:
    import openpyxl

    wb = openpyxl.load_workbook(path)
    ws = wb.worksheets[0]
    header = next(r for r in range(1, 10) if sum(c.value is not None for c in ws[r]) > 3)
    rows = list(ws.iter_rows(min_row=header + 1))
    for row in rows:
        for cell in row:
            if rng.random() < share:
                v = JUNK[int(rng.integers(0, len(JUNK)))]
                cell.value = None if v == "" else v
    # The first data row again with other values (a conflicting second row), and a code in another form.
    last = ws.max_row
    for j, cell in enumerate(rows[0], start=1):
        ws.cell(last + 1, j, cell.value)
        ws.cell(last + 2, j, rows[1][j - 1].value)
    first_code = ws.cell(last + 2, 2).value
    if isinstance(first_code, str):
        ws.cell(last + 2, 2, " " + first_code.lower() + " ")
    # Rows 3 to 6 again under rows 7 to 10's codes: several rows per code with other values (in an
    # export: aggregated or reported as conflicting rows; in the applicants: duplicate applicants).
    code_col = next((j for j, c in enumerate(ws[header], start=1) if "代码" in str(c.value or "")), 1)
    for k in range(4):
        for j, cell in enumerate(rows[2 + k], start=1):
            ws.cell(last + 3 + k, j, rows[6 + k][j - 1].value if j == code_col else cell.value)
    wb.save(path)


def _mess_csv(path: Path, rng: np.random.Generator, share: float) -> None:
    text = path.read_bytes().decode("gb18030")
    lines = text.split("\r\n")
    header, body = lines[0], [ln for ln in lines[1:] if ln]
    out = []
    for ln in body:
        cells = ln.split(",")
        for j, options in RECORD_JUNK.items():
            if rng.random() < share:
                cells[j] = options[int(rng.integers(0, len(options)))]
        out.append(",".join(cells))
    # A row without a code but an applicant's name, and a spacer row.
    name = body[0].split(",")[1]
    out.insert(3, f",{name},行政处罚,2025-01-02,X1,100,,已结案,")
    out.insert(5, ",,,,,,,,")
    path.write_bytes(("\r\n".join([header, *out]) + "\r\n").encode("gb18030"))


def build_messy(folder: Path, applicants: int = 150, records: int = 1500, share: float = 0.04,
                seed: int = 7) -> dict[str, Path]:
    """The messy round in ``folder``; returns source kind -> file."""
    files = _make_data().build("town", folder, applicants=applicants, records=records, seed=seed,
                               log=lambda m: None)
    rng = np.random.default_rng(seed)
    for kind in sorted(files):
        if files[kind].suffix == ".xlsx":
            _mess_xlsx(files[kind], rng, share)
    _mess_csv(files["credit_system"], rng, share * 3)
    return files
