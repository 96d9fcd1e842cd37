"""Generate a realistic review round at benchmark size.

    python benchmarks/make_data.py --size town|city|stress [--out DIR] [--applicants N --records N]

Writes, in the layouts of shared/spec/input-files.md and with the mess real files have:

* 申报材料汇总.xlsx — applicants: a title row and a blank row above the header, variant headers
  (spaces, full-width brackets, unit suffixes), ratings as numbers or as labels (优良中差劣), 无 for
  no lease, founding dates as real dates / Chinese text / slashed text / Excel serials, codes in
  lower case or with spaces, a few broken check digits, duplicate applicant rows, a blank spacer
  row and a footer note row (填表人) that is not an applicant;
* 评审小组核定.xlsx — panel-verified values for about a third of the applicants;
* 会计师事务所审计数据.xlsx — columns in another order, an English alias, extra enterprises;
* 行业协会评价.xlsx, 合作银行征信.xlsx (some second overdue rows per enterprise);
* 社会信用系统导出.csv — the credit-system export, GB18030, one row per record, most records for
  enterprises that did not apply, dates in four forms, a few broken codes.

Sizes: town 1,000 applicants / 10,000 records; city 40,000 / 1,000,000; stress 100,000 /
10,000,000 (the CSV is ~1 GB, built with numpy in chunks and streamed to disk).
Deterministic for a given size and seed. Data goes under benchmarks/data/ (git-ignored).
"""

from __future__ import annotations

import argparse
import datetime as dt
import sys
import time
from pathlib import Path

import numpy as np

AS_OF = dt.date(2026, 11, 30)
SIZES = {"town": (1_000, 10_000), "city": (40_000, 1_000_000), "stress": (100_000, 10_000_000)}
ALNUM = np.array(list("0123456789ABCDEFGHJKLMNPQRTUWXY"))
_WEIGHTS = np.array([1, 3, 9, 27, 19, 26, 16, 17, 20, 29, 25, 13, 8, 24, 10, 30, 28])
LABELS = ["劣", "差", "中", "良", "优"]
TOWNS = ["横沥镇"] * 18 + ["常平镇", "东坑镇"]
RECORD_TYPES = np.array(["行政处罚", "司法诉讼", "劳资纠纷", "严重失信", "失信被执行人"])
CREDIT_FILE = "社会信用系统导出.csv"


def make_codes(rng: np.random.Generator, n: int, region: str = "441900") -> np.ndarray:
    """``n`` distinct valid unified social credit codes (GB 32100-2015 check digit), vectorised."""
    out: list[str] = []
    seen: set[str] = set()
    while len(out) < n:
        k = n - len(out)
        body = rng.integers(0, 31, size=(k, 9))
        prefix = np.array([int(c) for c in "91" + region])
        vals = np.hstack([np.tile(prefix, (k, 1)), body])
        check = (31 - (vals * _WEIGHTS).sum(axis=1) % 31) % 31
        chars = ALNUM[np.hstack([vals, check[:, None]])]
        for row in chars:
            s = "".join(row)
            if s not in seen:
                seen.add(s)
                out.append(s)
    return np.array(out, dtype=object)


def corrupt(code: str) -> str:
    """The same code with a wrong check digit (a typo the reader must report)."""
    last = code[-1]
    return code[:-1] + ("0" if last != "0" else "1")


def company_names(rng: np.random.Generator, n: int, start: int = 0) -> np.ndarray:
    a = np.array(list("恒永华锐鸿冠博联金嘉乐宏三景拓广协德明启长宝合创兴达信源丰泰盛"))
    b = np.array(["精密模具", "五金模具", "塑胶模具", "压铸模具", "模架", "精工", "冲压模具", "注塑模具", "机械", "汽车模具"])
    i = np.arange(start, start + n)
    first = a[rng.integers(0, len(a), n)]
    second = a[rng.integers(0, len(a), n)]
    kind = b[rng.integers(0, len(b), n)]
    return np.array([f"东莞市{x}{y}{k}有限公司{j:06d}" for x, y, k, j in zip(first, second, kind, i)], dtype=object)


def write_xlsx(path: Path, title: list[str] | None, header: list[str], rows) -> None:
    """Write a sheet quickly (XlsxWriter constant-memory); dates are real date cells."""
    import xlsxwriter

    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_suffix(".tmp.xlsx")
    wb = xlsxwriter.Workbook(str(tmp), {"constant_memory": True, "strings_to_numbers": False,
                                        "strings_to_formulas": False, "strings_to_urls": False,
                                        "default_date_format": "yyyy-mm-dd"})
    ws = wb.add_worksheet("Sheet1")
    r = 0
    for line in title or []:
        ws.write_string(r, 0, line)
        r += 1
    if title:
        r += 1  # a blank row between title and header, as people do
    ws.write_row(r, 0, header)
    for row in rows:
        r += 1
        for j, v in enumerate(row):
            if v is None or v == "":
                continue
            if isinstance(v, str):
                ws.write_string(r, j, v)
            elif isinstance(v, dt.date):
                ws.write_datetime(r, j, v)
            else:
                ws.write_number(r, j, v)
    wb.close()
    tmp.replace(path)


def _date_cells(rng: np.random.Generator, dates: list[dt.date]) -> list[object]:
    """Dates as people type them: real date cells mostly, some text, some Excel serials."""
    form = rng.integers(0, 10, len(dates))
    out: list[object] = []
    for d, f in zip(dates, form):
        if f < 6:
            out.append(d)
        elif f == 6:
            out.append(f"{d.year}年{d.month}月{d.day}日")
        elif f == 7:
            out.append(f"{d.year}/{d.month}/{d.day}")
        elif f == 8:
            out.append(float((d - dt.date(1899, 12, 30)).days))
        else:
            out.append(d.isoformat())
    return out


def build(size: str, out: Path, *, applicants: int | None = None, records: int | None = None,
          seed: int = 20261130, log=print) -> dict[str, Path]:
    """Write one round into ``out``; returns source kind -> file."""
    n_app, n_rec = SIZES[size] if size in SIZES else (0, 0)
    n = applicants or n_app
    n_rec = records if records is not None else n_rec
    rng = np.random.default_rng(seed)
    out.mkdir(parents=True, exist_ok=True)
    t0 = time.perf_counter()
    codes = make_codes(rng, n)
    names = company_names(rng, n)
    files: dict[str, Path] = {}

    # -- applicants -----------------------------------------------------------------------------
    days = rng.integers(200, 9000, n)
    founded = [AS_OF - dt.timedelta(days=int(x)) for x in days]
    too_young = rng.random(n) < 0.01
    for i in np.flatnonzero(too_young):
        founded[i] = AS_OF - dt.timedelta(days=int(rng.integers(10, 300)))
    towns = np.array(TOWNS)[rng.integers(0, len(TOWNS), n)]
    account = np.where(rng.random(n) < 0.97, "是", "否")
    ratings = rng.choice([2, 3, 4, 4, 5, 5], size=(n, 9))
    as_label = rng.random(n) < 0.25
    lease = np.where(rng.random(n) < 0.15, -1, rng.choice([100, 98, 92, 88, 75, 60], n))
    pay = rng.choice([100, 97, 95, 90, 86, 72], n)
    rec = rng.choice([99, 95, 92, 85, 80, 66], n)
    staff = rng.integers(8, 300, n)
    amount = rng.choice([100, 150, 200, 300, 500, 800], n)
    purpose = np.array(["购置设备", "流动资金", "厂房改造", "原材料采购"])[rng.integers(0, 4, n)]
    blank_ratings = rng.random(n) < 0.01
    header = ["序号", "统一社会信用代码", " 企业名称 ", "法定代表人", "成立日期", "注册地址", "所在镇街", "从业人数（人）",
              "申请贷款金额（万元）", "贷款用途", "合作银行结算账户(是/否)", "战略定位", "企业使命", "领导力水平",
              "财务管理水平", "设备设施管理", "人力资源管理水平", "质量管理水平", "技术水平", "销售水平",
              "应付货款按期支付率(%)", "应收账款按期回收率（%）", "设备租金按期支付率(%)", "联系人", "联系电话"]
    fdates = _date_cells(rng, founded)
    shown_codes = codes.copy()
    mess = rng.random(n)
    bad = set(np.flatnonzero(mess < 0.002).tolist())
    for i in range(n):
        if i in bad:
            shown_codes[i] = corrupt(codes[i])
        elif mess[i] < 0.01:
            shown_codes[i] = codes[i].lower()
        elif mess[i] < 0.02:
            c = codes[i]
            shown_codes[i] = f"{c[:6]} {c[6:12]} {c[12:]}"
    phones = rng.integers(1_000_000, 9_999_999, n)

    def app_rows():
        for i in range(n):
            r = ratings[i]
            rv: list[object] = [LABELS[x - 1] for x in r] if as_label[i] else [int(x) for x in r]
            if blank_ratings[i]:
                rv = [None] * 9
            yield [i + 1, shown_codes[i], names[i], "张" + "伟芳娜敏静丽强磊军洋"[i % 10], fdates[i],
                   f"广东省东莞市{towns[i]}工业路{i % 300 + 1}号", towns[i], int(staff[i]), int(amount[i]),
                   purpose[i], account[i], *rv, int(pay[i]), int(rec[i]),
                   "无" if lease[i] < 0 else int(lease[i]), f"李{i % 100}", f"0769-8{phones[i]}"]
        # Duplicate applicant rows (same code twice): a conflict the secretary must resolve.
        for k, i in enumerate(range(5, n, max(n // 3, 1))):
            yield [n + k + 1, codes[i], names[i], "王五", founded[i], "广东省东莞市横沥镇", "横沥镇", 30, 999,
                   "流动资金", "是", 4, 4, 4, 4, 4, 4, 4, 4, 4, 95, 95, 95, "王五", "0769-80000000"]
        yield [None] * len(header)  # a blank spacer row
        yield ["填表人：资金池办公室", None, None, None, None, None, None, None, None, None, None]

    files["applicants"] = out / "申报材料汇总.xlsx"
    write_xlsx(files["applicants"], ["2026年第四季度横沥镇中小微模具企业资金池贷款申报汇总表"], header, app_rows())
    log(f"  applicants: {n:,} rows ({time.perf_counter() - t0:.1f} s)")

    # -- panel ----------------------------------------------------------------------------------
    pheader = ["统一社会信用代码", "企业名称", "战略定位", "企业使命", "领导力水平", "财务管理水平", "设备设施管理",
               "人力资源管理水平", "质量管理水平", "技术水平", "销售水平", "应付货款按期支付率", "应收账款按期回收率",
               "设备租金按期支付率", "核定人"]
    pr = rng.choice([3, 4, 5], size=(n, 9))
    files["panel"] = out / "评审小组核定.xlsx"
    write_xlsx(files["panel"], ["资金池信用评审小组核定表"], pheader,
               ([codes[i], names[i], *map(int, pr[i]), int(pay[i]), int(rec[i]),
                 "无" if lease[i] < 0 else 95, "评审小组"] for i in range(0, n, 3)))

    # -- auditor (plus non-applicants) ----------------------------------------------------------
    extra = max(n // 10, 1)
    a_codes = np.concatenate([codes, make_codes(rng, extra)])
    a_names = np.concatenate([names, company_names(rng, extra, start=n)])
    m = len(a_codes)
    assets = rng.integers(800, 9000, m)
    liab = np.round(assets * rng.uniform(0.25, 0.9, m))
    ca = np.round(assets * rng.uniform(0.3, 0.6, m))
    cl = np.round(ca / rng.uniform(0.7, 2.4, m))
    rev = rng.integers(600, 12000, m)
    last = np.round(rev / rng.uniform(0.85, 1.3, m))
    profit = np.round(rev * rng.uniform(-0.03, 0.14, m), 1)
    ra, rb = np.round(rev / rng.uniform(3, 10, m)), np.round(rev / rng.uniform(3, 10, m))
    opinion = np.where(rng.random(m) < 0.97, "标准无保留", "保留")
    skip = rng.random(m) < 0.01  # no audited statements: incomplete
    aheader = ["企业名称", "统一社会信用代码", "审计年度", "Total assets", "负债总额（万元）", "流动资产", "流动负债",
               "营业收入（万元）", "上年营业收入", "净利润", "应收账款期初", "应收账款期末", "审计意见", "审计机构"]
    files["auditor"] = out / "会计师事务所审计数据.xlsx"
    write_xlsx(files["auditor"], ["会计师事务所审计数据（单位：万元）"], aheader,
               ([a_names[i], a_codes[i], 2025, int(assets[i]), float(liab[i]), float(ca[i]), float(cl[i]), int(rev[i]),
                 float(last[i]), float(profit[i]), float(ra[i]), float(rb[i]), opinion[i], "广信会计师事务所"]
                for i in range(m) if not skip[i]))

    # -- association ----------------------------------------------------------------------------
    sheader = ["统一社会信用代码", "企业名称", "企业文化建设", "品牌美誉度", "集群孵化", "会员级别", "协同创新项目数",
               "协会否决(是/否)", "否决理由"]
    culture = np.array([3, 4, 5, "良", "优"], dtype=object)[rng.integers(0, 5, n)]
    brand = rng.integers(3, 6, n)
    incub = np.array(["集群内孵化", "本地创业", "本地创业", "外部迁入"])[rng.integers(0, 4, n)]
    member = np.array(["会长单位", "副会长单位", "理事单位", "会员单位", "会员单位", "非会员"])[rng.integers(0, 6, n)]
    projects = rng.choice([0, 0, 1, 1, 2, 3, 4], n)
    aveto = rng.random(n) < 0.005
    files["association"] = out / "行业协会评价.xlsx"
    write_xlsx(files["association"], None, sheader,
               ([codes[i], names[i], culture[i] if isinstance(culture[i], str) else int(culture[i]), int(brand[i]),
                 incub[i], member[i], int(projects[i]), "是" if aveto[i] else "否",
                 "拖欠会员企业货款，经协会调解未果" if aveto[i] else ""] for i in range(n)))

    # -- bank (second overdue rows for some) ------------------------------------------------------
    bheader = ["统一社会信用代码", "企业名称", "结算账户(是/否)", "近24个月最长逾期天数", "企业家个人信用", "银行否决(是/否)", "否决理由"]
    overdue = rng.choice([0, 0, 0, 0, 5, 20, 45], n)
    overdue[rng.random(n) < 0.005] = 120
    pcredit = np.where(rng.random(n) < 0.01, "不良", np.where(rng.random(n) < 0.1, "一般", "良好"))
    unknown = rng.random(n) < 0.01
    second = np.flatnonzero(rng.random(n) < 0.02)

    def bank_rows():
        for i in range(n):
            if not unknown[i]:
                yield [codes[i], names[i], account[i], int(overdue[i]), pcredit[i], "否", ""]
        for i in second:
            yield [codes[i], names[i], account[i], 35, "良好", "否", "第二笔逾期"]

    files["bank"] = out / "合作银行征信.xlsx"
    write_xlsx(files["bank"], ["东莞银行横沥支行 企业征信情况"], bheader, bank_rows())
    log(f"  panel/auditor/association/bank written ({time.perf_counter() - t0:.1f} s)")

    # -- credit system records (CSV, GB18030, streamed in chunks) ----------------------------------
    files["credit_system"] = out / CREDIT_FILE
    write_records(files["credit_system"], rng, codes, names, n_rec)
    log(f"  credit system: {n_rec:,} records ({time.perf_counter() - t0:.1f} s)")
    return files


def write_records(path: Path, rng: np.random.Generator, codes: np.ndarray, names: np.ndarray, n_rec: int,
                  chunk: int = 500_000) -> None:
    """The credit-system export: ~25% of records for applicants, the rest for other enterprises."""
    n_other = max(len(codes) * 2, n_rec // 40, 10)
    other = make_codes(rng, n_other, region="441901")
    other_names = company_names(rng, n_other, start=10_000_000)
    all_codes = np.concatenate([codes, other]).astype(object)
    all_names = np.array([s.replace(",", "，") for s in np.concatenate([names, other_names])], dtype=object)
    prefix = all_codes + "," + all_names + ","
    bad_prefix = np.array([corrupt(c) for c in all_codes[:1000]], dtype=object) + "," + all_names[:1000] + ","
    # Date texts for every day in the window, in the forms the systems export.
    span = 2600
    days = [AS_OF - dt.timedelta(days=int(d)) for d in range(span)]
    forms = [np.array([d.isoformat() for d in days], dtype=object),
             np.array([f"{d.year}/{d.month}/{d.day}" for d in days], dtype=object),
             np.array([f"{d.year}年{d.month}月{d.day}日" for d in days], dtype=object),
             np.array([str((d - dt.date(1899, 12, 30)).days) for d in days], dtype=object)]
    types = np.array([t + "," for t in RECORD_TYPES], dtype=object)
    tmp = path.with_suffix(".tmp")
    with open(tmp, "wb") as fh:
        fh.write("统一社会信用代码,企业名称,记录类型,决定日期,文书编号,涉案金额（元）,当事人角色,状态,备注\r\n".encode("gb18030"))
        done = 0
        while done < n_rec:
            k = min(chunk, n_rec - done)
            applicant = rng.random(k) < 0.25
            idx = np.where(applicant, rng.integers(0, len(codes), k), rng.integers(len(codes), len(all_codes), k))
            pre = prefix[idx]
            badm = rng.random(k) < 0.0005
            if badm.any():
                pre[badm] = bad_prefix[rng.integers(0, len(bad_prefix), int(badm.sum()))]
            # Serious-dishonesty listings are rare for applicants (each one vetoes), common elsewhere.
            tp = np.where(applicant, rng.choice(5, k, p=[0.45, 0.35, 0.195, 0.003, 0.002]),
                          rng.choice(5, k, p=[0.35, 0.35, 0.2, 0.05, 0.05]))
            day = rng.integers(0, span, k)
            form = rng.choice(4, k, p=[0.5, 0.2, 0.15, 0.15])
            date = np.empty(k, dtype=object)
            for f in range(4):
                sel = form == f
                date[sel] = forms[f][day[sel]]
            serial = np.arange(done, done + k).astype(str).astype(object)
            lawsuit = tp == 1
            role = np.where(lawsuit, np.where(rng.random(k) < 0.5, "原告", "被告"), "").astype(object)
            status = np.where(rng.random(k) < 0.7, "已结案", "未结案").astype(object)
            status[(tp >= 3) & (rng.random(k) < 0.2)] = "已移出"
            amount = rng.integers(1000, 200000, k).astype(str).astype(object)
            line = (pre + types[tp] + date + ",（2025）粤1971执" + serial + "号," + amount + "," + role + ","
                    + status + ",\r\n")
            fh.write("".join(line.tolist()).encode("gb18030"))
            done += k
    tmp.replace(path)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=sorted(SIZES), default="town")
    ap.add_argument("--out", type=Path, default=None, help="default: benchmarks/data/SIZE")
    ap.add_argument("--applicants", type=int, default=None, help="override the number of applicants")
    ap.add_argument("--records", type=int, default=None, help="override the number of credit records")
    ap.add_argument("--seed", type=int, default=20261130)
    args = ap.parse_args(argv)
    out = args.out or Path(__file__).resolve().parent / "data" / args.size
    t0 = time.perf_counter()
    print(f"generating {args.size} round into {out}", file=sys.stderr)
    build(args.size, out, applicants=args.applicants, records=args.records, seed=args.seed,
          log=lambda m: print(m, file=sys.stderr))
    print(f"done in {time.perf_counter() - t0:.1f} s", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
