"""A small fixture builder for review rounds.

Every test describes only what it cares about; everything else defaults to a *known-good
enterprise* whose every leaf scores 100 (base 100, bonus 10, total 110, grade AAA):

* applicant: founded 2015-03-01, town 横沥镇, account 是, requested 300 万元, ratings 5, on-time rates 98;
* auditor: assets 1000, liabilities 300 (30 %), current 600 / 200 (ratio 3), revenue 2000 vs 1500
  last year (+33 %), net profit 300 (15 %), receivables 200 / 200 (turnover 10);
* association: culture 5, brand 5, 集群内孵化, 会长单位, 3 projects, no veto;
* bank: account 是, overdue 0 days, personal credit 良好, no veto;
* credit system: no records (a file with the header only).

Values are keyed by the canonical Chinese headers of input-files.md. ``None`` writes a blank
cell; ``ABSENT`` leaves the enterprise out of that source entirely.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
from pathlib import Path
from typing import Any

import pytest
from openpyxl import Workbook

from cluster_credit_cli.inputs.identity import make_code
from cluster_credit_cli.model.config import load_model

AS_OF = dt.date(2026, 6, 30)
ABSENT = object()  # leave the enterprise out of a source


def code(n: int) -> str:
    """A valid unified social credit code for enterprise number ``n``."""
    return make_code("91441900" + f"{n:09d}")


def name(n: int) -> str:
    return f"东莞市测试{n}号模具有限公司"


APPLICANT_HEADER = [
    "统一社会信用代码", "企业名称", "法定代表人", "成立日期", "注册地址", "所在镇街", "从业人数",
    "申请贷款金额（万元）", "贷款用途", "合作银行结算账户(是/否)",
    "战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平",
    "技术水平", "销售水平", "应付货款按期支付率(%)", "应收账款按期回收率(%)", "设备租金按期支付率(%)",
    "联系人", "联系电话",
]
RATING_HEADERS = ["战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理", "人力资源管理水平",
                  "质量管理水平", "技术水平", "销售水平"]
PANEL_HEADER = ["统一社会信用代码", "企业名称", *RATING_HEADERS,
                "应付货款按期支付率", "应收账款按期回收率", "设备租金按期支付率"]
AUDITOR_HEADER = ["统一社会信用代码", "企业名称", "审计年度", "资产总额", "负债总额", "流动资产", "流动负债",
                  "营业收入", "上年营业收入", "净利润", "应收账款期初", "应收账款期末", "审计意见"]
ASSOCIATION_HEADER = ["统一社会信用代码", "企业名称", "企业文化建设", "品牌美誉度", "集群孵化", "会员级别",
                      "协同创新项目数", "协会否决(是/否)", "否决理由"]
CREDIT_HEADER = ["统一社会信用代码", "企业名称", "记录类型", "决定日期", "文书编号", "涉案金额（元）",
                 "当事人角色", "状态", "备注"]
BANK_HEADER = ["统一社会信用代码", "企业名称", "结算账户(是/否)", "近24个月最长逾期天数", "企业家个人信用",
               "银行否决(是/否)", "否决理由"]


def applicant(n: int = 1, **kw: Any) -> dict[str, Any]:
    row = {
        "统一社会信用代码": code(n), "企业名称": name(n), "法定代表人": "张三", "成立日期": dt.date(2015, 3, 1),
        "注册地址": "广东省东莞市横沥镇工业路1号", "所在镇街": "横沥镇", "从业人数": 50,
        "申请贷款金额（万元）": 300, "贷款用途": "购置设备", "合作银行结算账户(是/否)": "是",
        **{h: 5 for h in RATING_HEADERS},
        "应付货款按期支付率(%)": 98, "应收账款按期回收率(%)": 98, "设备租金按期支付率(%)": 98,
        "联系人": "李四", "联系电话": "0769-83330000",
    }
    row.update(kw)
    return row


def panel(n: int = 1, **kw: Any) -> dict[str, Any]:
    row = {"统一社会信用代码": code(n), "企业名称": name(n)}
    row.update(kw)
    return row


def auditor(n: int = 1, **kw: Any) -> dict[str, Any]:
    row = {"统一社会信用代码": code(n), "企业名称": name(n), "审计年度": 2025, "资产总额": 1000, "负债总额": 300,
           "流动资产": 600, "流动负债": 200, "营业收入": 2000, "上年营业收入": 1500, "净利润": 300,
           "应收账款期初": 200, "应收账款期末": 200, "审计意见": "标准无保留"}
    row.update(kw)
    return row


def association(n: int = 1, **kw: Any) -> dict[str, Any]:
    row = {"统一社会信用代码": code(n), "企业名称": name(n), "企业文化建设": 5, "品牌美誉度": 5,
           "集群孵化": "集群内孵化", "会员级别": "会长单位", "协同创新项目数": 3, "协会否决(是/否)": "否",
           "否决理由": None}
    row.update(kw)
    return row


def bank(n: int = 1, **kw: Any) -> dict[str, Any]:
    row = {"统一社会信用代码": code(n), "企业名称": name(n), "结算账户(是/否)": "是", "近24个月最长逾期天数": 0,
           "企业家个人信用": "良好", "银行否决(是/否)": "否", "否决理由": None}
    row.update(kw)
    return row


def record(n: int = 1, kind: str = "行政处罚", date: Any = dt.date(2025, 1, 10), **kw: Any) -> dict[str, Any]:
    """One row of the social credit system export."""
    row = {"统一社会信用代码": code(n), "企业名称": name(n), "记录类型": kind, "决定日期": date,
           "文书编号": f"东罚〔2025〕{n}号", "涉案金额（元）": 5000, "当事人角色": None, "状态": "已结案", "备注": None}
    row.update(kw)
    return row


# -- writing files -----------------------------------------------------------------------------

def _header_of(rows: list[dict[str, Any]], header: list[str] | None) -> list[str]:
    out = list(header or [])
    for r in rows:
        out += [k for k in r if k not in out]
    return out


def table_xlsx(path: Path, header: list, rows: list[list], *, title: str | None = None) -> Path:
    """The plainest workbook: an optional title line, the header, the rows as given (lists)."""
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
    ws.append(header)
    for row in rows:
        ws.append(row)
    wb.save(path)
    return path


def write_xlsx(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None, *,
               title: list[str] | None = None, rename: dict[str, str] | None = None,
               drop: tuple[str, ...] = (), sheet: str = "Sheet1") -> Path:
    """Write ``rows`` (dicts keyed by header) as the first sheet; optional title rows above the header.

    ``rename`` changes how a header is spelled in the file (the dicts keep the canonical key);
    ``drop`` leaves a column out. Strings are always stored as text (never formulas); dates get
    a date format, like a real export.
    """
    cols = [h for h in _header_of(rows, header) if h not in drop]
    rename = rename or {}
    path = Path(path)
    # Many tests write the same default files: serialise each distinct content once per session.
    key = repr((cols, [[(type(r.get(h)), r.get(h)) for h in cols] for r in rows], title, rename, sheet))
    if key in _XLSX_CACHE:
        path.write_bytes(_XLSX_CACHE[key])
        return path
    wb = Workbook()
    ws = wb.active
    ws.title = sheet
    r = 1
    for line in title or []:
        ws.cell(row=r, column=1, value=line)
        r += 1
    for j, h in enumerate(cols, 1):
        ws.cell(row=r, column=j, value=rename.get(h, h))
    for row in rows:
        r += 1
        for j, h in enumerate(cols, 1):
            v = row.get(h)
            cell = ws.cell(row=r, column=j)
            cell.value = v
            if isinstance(v, str):
                cell.data_type = "s"  # '=HYPERLINK(...)' is a name here, not a formula
            elif isinstance(v, (dt.date, dt.datetime)):
                cell.number_format = "yyyy-mm-dd"
    wb.save(path)
    _XLSX_CACHE[key] = path.read_bytes()
    return path


_XLSX_CACHE: dict[str, bytes] = {}


def write_csv(path: Path, rows: list[dict[str, Any]], header: list[str] | None = None, *,
              encoding: str = "gb18030", drop: tuple[str, ...] = ()) -> Path:
    cols = [h for h in _header_of(rows, header) if h not in drop]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(cols)
    for row in rows:
        w.writerow(["" if row.get(h) is None else (row[h].isoformat() if isinstance(row.get(h), dt.date)
                                                   else row[h]) for h in cols])
    path = Path(path)
    path.write_bytes(buf.getvalue().encode(encoding))
    return path


FILE_NAMES = {"applicants": "申报材料汇总.xlsx", "panel": "评审小组核定.xlsx", "auditor": "会计师事务所审计数据.xlsx",
              "association": "行业协会评价.xlsx", "credit_system": "社会信用系统导出.xlsx", "bank": "合作银行征信.xlsx"}
HEADERS = {"applicants": APPLICANT_HEADER, "panel": PANEL_HEADER, "auditor": AUDITOR_HEADER,
           "association": ASSOCIATION_HEADER, "credit_system": CREDIT_HEADER, "bank": BANK_HEADER}
MAKERS = {"applicants": applicant, "panel": panel, "auditor": auditor, "association": association, "bank": bank}


def ent(n: int = 1, *, app: Any = None, aud: Any = None, assoc: Any = None, bnk: Any = None,
        pnl: Any = None) -> dict[str, Any]:
    """One enterprise across sources: each argument is a dict of overrides or ``ABSENT``.

    The panel is absent unless ``pnl`` is given (it is optional in a real round).
    """
    return {"n": n, "applicants": app or {}, "auditor": aud or {}, "association": assoc or {},
            "bank": bnk or {}, "panel": ABSENT if pnl is None else pnl}


def build_round(folder: Path, ents: list[dict[str, Any]] | None = None, *, records: list[dict[str, Any]] = (),
                skip: tuple[str, ...] = (), credit_csv: str | None = None) -> dict[str, Path]:
    """Write a round's files into ``folder``; returns source kind -> path.

    ``skip`` leaves whole files out (e.g. ``("credit_system",)``); ``credit_csv`` writes the
    credit-system export as CSV in that encoding instead of xlsx.
    """
    folder = Path(folder)
    folder.mkdir(parents=True, exist_ok=True)
    ents = ents if ents is not None else [ent(1)]
    paths: dict[str, Path] = {}
    for kind in ("applicants", "panel", "auditor", "association", "bank"):
        if kind in skip:
            continue
        rows = [MAKERS[kind](e["n"], **e[kind]) for e in ents if e[kind] is not ABSENT]
        if kind == "panel" and not rows:
            continue
        paths[kind] = write_xlsx(folder / FILE_NAMES[kind], rows, HEADERS[kind])
    if "credit_system" not in skip:
        if credit_csv:
            paths["credit_system"] = write_csv(folder / "社会信用系统导出.csv", list(records), CREDIT_HEADER,
                                               encoding=credit_csv)
        else:
            paths["credit_system"] = write_xlsx(folder / FILE_NAMES["credit_system"], list(records), CREDIT_HEADER)
    return paths


_DEFAULT_MODEL = []


def default_model():
    """The shipped model, loaded once per test session (it is never mutated by scoring)."""
    if not _DEFAULT_MODEL:
        _DEFAULT_MODEL.append(load_model())
    return _DEFAULT_MODEL[0]


@pytest.fixture(scope="session")
def model():
    return default_model()


def run_round(folder: Path, ents: list[dict[str, Any]] | None = None, *, as_of: dt.date = AS_OF,
              model=None, lang: str = "zh", **kw: Any):
    """Build the files and score them (explicit sources, no discovery); returns the RoundResult."""
    from cluster_credit_cli.rating.pipeline import score_round

    paths = build_round(folder, ents, **kw)
    sources = {k: v for k, v in paths.items() if k != "applicants"}
    return score_round(paths["applicants"], sources, model=model or default_model(), as_of=as_of, lang=lang)


def row_of(result, n: int = 1) -> dict[str, Any]:
    """The result table's row for enterprise ``n`` as a dict."""
    t = result.table
    hit = t[t["code"] == code(n)]
    assert len(hit) == 1, f"enterprise {n} not in the result"
    return hit.iloc[0].to_dict()


def score_one(folder: Path, *, records: list[dict[str, Any]] = (), as_of: dt.date = AS_OF, skip=(),
              **overrides: Any) -> dict[str, Any]:
    """Score one enterprise with the given per-source overrides; returns its table row."""
    result = run_round(folder, [ent(1, **overrides)], records=records, as_of=as_of, skip=skip)
    return row_of(result, 1)


def problem_codes(result) -> list[str]:
    return [p.code for p in result.problems]


@pytest.fixture(autouse=True)
def _private_register(tmp_path_factory, monkeypatch):
    """Every test gets its own default register folder: a run never lands in the user's real one."""
    monkeypatch.setenv("XDG_DATA_HOME", str(tmp_path_factory.mktemp("data-home")))
    monkeypatch.delenv("CCREDIT_DB", raising=False)
