"""Regenerate the survey samples and their codebooks.

    python sample_data/make_survey_sample.py

Writes

* ``config/survey/hengli_codebook.xlsx`` -- the seven questions of table 1 of the Hengli paper
  (seed 000), raw numeric answers (revenue in 万元, founding year, head count, funding gap)
  binned in the codebook, firm age derived as ``2018 - ${成立年份}``;
* ``sample_data/问卷数据.xlsx`` -- 109 returned questionnaires, 104 valid (5 answer fewer than
  half of the questions), whose tabulation reproduces table 1's counts. The paper's ownership
  counts (71/9/8/9/8) sum to 105; this sample uses 其它 = 7 so the block sums to 104;
* ``config/survey/4c_codebook.xlsx`` and ``sample_data/4C满意度问卷.xlsx`` -- a small 4C
  satisfaction survey (seed 002): twelve 5-point Likert items in four dimensions, a yes/no
  question with a ``relevant`` follow-up (loan amount and term, binned as in seed 002's
  tables 1-2) and a multiple-choice question.

* ``config/survey/loan_xlsform.xlsx`` and ``sample_data/survey_exports/`` -- the worked examples of
  docs/readme-survey.md: one XLSForm (a group with a ``relevant``, a multiple-choice question,
  explicit ``code``s) and four firms' answers as Kobo, ODK Central, split, flat and 问卷星
  (按选项文本 / 按选项序号) exports.

Deterministic: the same files every run. Raw values deliberately sit on every bin edge
(300 and 2000 万元, ages 5/6/10/11/15/16, 20/300/301/1000 people ...).
"""

from __future__ import annotations

import datetime as dt
import random
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from cluster_credit_cli.outputs.excel import Column, Workbook, write_table  # noqa: E402

FIXED_TIME = dt.datetime(2026, 11, 1)  # a fixed creation time keeps regenerated files byte-identical


def _fixed(wb: Workbook) -> Workbook:
    wb.book.set_properties({"created": FIXED_TIME})
    return wb

SURVEY_COLS = ["type", "name", "label", "label::English", "bins", "calculation", "relevant", "dimension", "tabulate"]
CHOICE_COLS = ["list_name", "name", "label", "label::English", "range"]


def write_codebook(path: Path, survey: list[list[str]], choices: list[list[str]], settings: list[tuple[str, str]],
                   dimensions: list[list[str]] | None = None) -> None:
    with _fixed(Workbook(path)) as wb:
        write_table(wb, "survey", [Column(c) for c in SURVEY_COLS], [r + [""] * (len(SURVEY_COLS) - len(r)) for r in survey])
        write_table(wb, "choices", [Column(c) for c in CHOICE_COLS], [r + [""] * (len(CHOICE_COLS) - len(r)) for r in choices])
        keys = [k for k, _ in settings]
        write_table(wb, "settings", [Column(k) for k in keys], [[v for _, v in settings]], autofilter=False)
        if dimensions:
            write_table(wb, "dimensions", [Column(c) for c in ("name", "label", "label::English")], dimensions)


# -- Hengli (table 1 of seed 000) --------------------------------------------------------------

OWNERSHIP = [("民营", "Private", 71), ("港资", "Hong Kong", 9), ("台资", "Taiwan", 8), ("外资", "Foreign", 9),
             ("其它", "Other", 7)]  # paper prints 8: 71+9+8+9+8 = 105 != 104
USE = [("扩大生产规模", "Expand production", 29), ("技术研发和改造", "R&D and upgrading", 22),
       ("维持正常生产", "Keep production running", 26), ("归还拖欠货款", "Repay overdue payables", 5),
       ("其他", "Other", 22)]
CHANNEL = [("自有资金", "Own funds", 63), ("政府拨款", "Government grants", 1), ("民间借贷", "Private lending", 6),
           ("银行借款", "Bank loans", 14), ("其他方式", "Other", 20)]
# (name, label, English, range, count)
REVENUE = [("lt300", "小于300万", "< 3 million", "<300", 56), ("300to2000", "300万~2000万", "3-20 million", "[300,2000)", 36),
           ("2000to40000", "2000万~4亿", "20-400 million", "[2000,40000]", 12)]
AGE = [("gt15", "＞15", "> 15", ">15", 12), ("11to15", "11~15", "11-15", "(10,15]", 35),
       ("6to10", "6~10", "6-10", "(5,10]", 18), ("le5", "≤5", "≤ 5", "<=5", 39)]
STAFF = [("lt20", "小于20人", "< 20", "<20", 26), ("20to300", "20—300人", "20-300", "[20,300]", 75),
         ("301to1000", "301—1000人", "301-1000", "(300,1000]", 2), ("gt1000", "1000人以上", "> 1000", ">1000", 1)]
GAP = [("none", "不缺乏资金", "No gap", "<=0", 51), ("lt100", "100万以下", "< 1 million", "(0,100)", 27),
       ("100to500", "100-500万", "1-5 million", "[100,500)", 20), ("500to1000", "500-1000万", "5-10 million", "[500,1000]", 3),
       ("gt1000", "1000万以上", "> 10 million", ">1000", 3)]

# Raw values per bin; edges first so they are always used, then a range to draw the rest from.
REVENUE_RAW = {"lt300": ([299.9, 0.5], (5, 299)), "300to2000": ([300, 1999.5], (301, 1990)),
               "2000to40000": ([2000, 40000], (2100, 38000))}
YEAR_RAW = {"gt15": ([2002], (1985, 2001)), "11to15": ([2007, 2003], (2004, 2006)),
            "6to10": ([2012, 2008], (2009, 2011)), "le5": ([2013, 2018], (2013, 2017))}
STAFF_RAW = {"lt20": ([19, 1], (3, 18)), "20to300": ([20, 300], (21, 280)), "301to1000": ([301, 1000], (302, 999)),
             "gt1000": ([1001], (1001, 1500))}
GAP_RAW = {"none": ([0], (0, 0)), "lt100": ([99.9, 0.5], (10, 95)), "100to500": ([100, 499.9], (110, 480)),
           "500to1000": ([500, 1000], (550, 950)), "gt1000": ([1000.1, 3000], (1200, 5000))}


def _raw_values(rng: random.Random, spec: dict, bins: list[tuple], integer: bool) -> list[float]:
    out: list[float] = []
    for name, *_rest, count in bins:
        edges, (lo, hi) = spec[name]
        vals = list(edges[:count])
        while len(vals) < count:
            vals.append(rng.randint(int(lo), int(hi)) if integer else round(rng.uniform(lo, hi), 1))
        out.extend(vals)
    rng.shuffle(out)
    return out


def _labels(rng: random.Random, items: list[tuple]) -> list[str]:
    out = [label for label, _en, count in items for _ in range(count)]
    rng.shuffle(out)
    return out


def make_hengli(root: Path) -> None:
    survey = [
        ["select_one ownership", "企业性质", "企业性质", "Ownership"],
        ["decimal", "年销售收入", "年销售收入", "Annual sales (10k yuan)", "revenue"],
        ["integer", "成立年份", "成立年份", "Year founded", "", "", "", "", "no"],
        ["calculate", "企业年龄", "企业年龄/年", "Firm age (years)", "age", "2018 - ${成立年份}"],
        ["integer", "员工人数", "企业规模/人", "Head count", "staff"],
        ["decimal", "资金缺口", "资金缺口", "Funding gap (10k yuan)", "gap"],
        ["select_one use", "资金用途", "资金用途", "Use of funds"],
        ["select_one channel", "补充资金的主要渠道", "补充资金的主要渠道", "Main funding channel"],
    ]
    choices: list[list[str]] = []
    for ln, items in (("ownership", OWNERSHIP), ("use", USE), ("channel", CHANNEL)):
        for i, (label, en, _c) in enumerate(items, start=1):
            choices.append([ln, str(i), label, en])
    for ln, items in (("revenue", REVENUE), ("age", AGE), ("staff", STAFF), ("gap", GAP)):
        for name, label, en, rng_text, _c in items:
            choices.append([ln, name, label, en, rng_text])
    settings = [("title", "横沥模具中小企业调查样本的基本情况"), ("survey_date", "2018-10"), ("handed_out", "109"),
                ("valid_min_share", "0.5")]
    write_codebook(root / "config" / "survey" / "hengli_codebook.xlsx", survey, choices, settings)

    rng = random.Random(20181031)
    n = 104
    own = _labels(rng, OWNERSHIP)
    use = _labels(rng, USE)
    chan = _labels(rng, CHANNEL)
    # a few firms wrote the numeric code of the choice instead of its text (1 = first choice)
    use_codes = {lab: str(i) for i, (lab, _e, _c) in enumerate(USE, start=1)}
    for i in rng.sample(range(n), 8):
        use[i] = use_codes[use[i]]
    revenue = _raw_values(rng, REVENUE_RAW, REVENUE, integer=False)
    years = _raw_values(rng, YEAR_RAW, AGE, integer=True)
    staff = _raw_values(rng, STAFF_RAW, STAFF, integer=True)
    gap = _raw_values(rng, GAP_RAW, GAP, integer=False)
    header = ["问卷编号", "企业性质", "年销售收入（万元）", "成立年份", "员工人数（人）", "资金缺口（万元）", "资金用途",
              "补充资金的主要渠道"]
    rows = [[own[i], revenue[i], years[i], staff[i], gap[i], use[i], chan[i]] for i in range(n)]
    # five returned questionnaires answer 0-3 of the 7 questions: invalid by the rule
    invalid = [["民营", 120, None, None, None, None, None], ["港资", None, 2010, None, None, "扩大生产规模", None],
               [None, None, None, None, None, None, "自有资金"], ["民营", None, None, 15, 0, None, None],
               [None, None, None, None, None, None, None]]
    invalid[4][0] = "其它"  # one answer only
    for pos, r in zip(sorted(rng.sample(range(n + 5), 5)), invalid):
        rows.insert(pos, r)
    body = [[f"HL{i + 1:03d}", *r] for i, r in enumerate(rows)]
    cols = [Column(h, "number" if j in (2, 5) else "int" if j in (3, 4) else "text", decimals=1)
            for j, h in enumerate(header)]
    with _fixed(Workbook(root / "sample_data" / "问卷数据.xlsx")) as wb:
        sheet, _ = write_table(wb, "问卷录入", cols, body, title="横沥模具中小企业融资状况调查问卷（录入表）")


# -- 4C satisfaction (seed 002) ----------------------------------------------------------------

DIMENSIONS = [("needs", "融资需求满足", "Customer needs"), ("cost", "融资成本", "Cost"),
              ("convenience", "融资便利", "Convenience"), ("communication", "企业沟通", "Communication")]
ITEMS = [  # name, label, English, dimension, mean level of the simulated answers
    ("n1", "信贷产品丰富程度", "Range of credit products", "needs", 3.3),
    ("n2", "融资额度满足融资需求程度", "Loan amount meets needs", "needs", 3.2),
    ("n3", "信贷产品期限与融资需求的匹配度", "Loan term fits needs", "needs", 3.9),
    ("c1", "融资综合成本", "Overall financing cost", "cost", 3.1),
    ("c2", "担保抵押要求", "Collateral requirements", "cost", 3.0),
    ("c3", "入驻担保机构数量", "Number of guarantee institutions", "cost", 3.2),
    ("v1", "银企对接效率", "Bank-firm matching speed", "convenience", 4.5),
    ("v2", "资金到账速度", "Speed of disbursement", "convenience", 4.4),
    ("v3", "融资手续办理效率", "Paperwork efficiency", "convenience", 4.1),
    ("m1", "平台界面友好程度", "Platform usability", "communication", 4.1),
    ("m2", "金融机构服务态度及效率", "Bank service attitude", "communication", 4.0),
    ("m3", "平台服务态度及效率", "Platform service attitude", "communication", 4.0),
]
LIKERT = [("1", "非常不满意", "Very dissatisfied"), ("2", "不满意", "Dissatisfied"), ("3", "一般", "Neutral"),
          ("4", "满意", "Satisfied"), ("5", "非常满意", "Very satisfied")]
SIZE = [("micro", "微型企业", "Micro"), ("small", "小型企业", "Small"), ("medium", "中型企业", "Medium")]
CHANNELS = [("bank", "银行贷款", "Bank loan"), ("guarantee", "担保贷款", "Guaranteed loan"),
            ("private", "民间借贷", "Private lending"), ("lease", "融资租赁", "Leasing"), ("own", "自有资金", "Own funds")]
AMOUNT = [("le100", "100万元以下(含)", "<= 1 million", "<=100"), ("100to200", "100~200万元", "1-2 million", "(100,200]"),
          ("200to300", "200~300万元", "2-3 million", "(200,300]"), ("300to500", "300~500万元", "3-5 million", "(300,500]"),
          ("500to1000", "500~1000万元", "5-10 million", "(500,1000]"), ("gt1000", "1000万元以上", "> 10 million", ">1000")]
TERM = [("le3", "3个月以下(含)", "<= 3 months", "<=3"), ("3to6", "3~6个月", "3-6 months", "(3,6]"),
        ("6to12", "6~12个月", "6-12 months", "(6,12]"), ("12to36", "12~36个月", "12-36 months", "(12,36]"),
        ("gt36", "36个月以上", "> 36 months", ">36")]


def make_4c(root: Path) -> None:
    survey = [["select_one size", "企业规模", "企业规模", "Firm size"],
              ["select_one yesno", "获得贷款", "是否通过平台获得贷款", "Got a loan via the platform"],
              ["decimal", "贷款金额", "贷款金额（万元）", "Loan amount (10k yuan)", "amount", "", "${获得贷款} = 'yes'"],
              ["integer", "贷款期限", "贷款期限（月）", "Loan term (months)", "term", "", "${获得贷款} = 'yes'"],
              ["select_multiple channels", "融资渠道", "融资渠道（可多选）", "Funding channels (multiple)"]]
    for name, label, en, dim, _m in ITEMS:
        survey.append(["select_one likert5", name, label, en, "", "", "", dim])
    choices = [["size", n, lab, en] for n, lab, en in SIZE]
    choices += [["yesno", "yes", "是", "Yes"], ["yesno", "no", "否", "No"]]
    choices += [["channels", n, lab, en] for n, lab, en in CHANNELS]
    choices += [["likert5", n, lab, en] for n, lab, en in LIKERT]
    choices += [["amount", n, lab, en, r] for n, lab, en, r in AMOUNT]
    choices += [["term", n, lab, en, r] for n, lab, en, r in TERM]
    settings = [("title", "嘉兴市金融信用信息共享平台满意度调查（4C模型）"), ("survey_date", "2022-06"), ("handed_out", "90")]
    write_codebook(root / "config" / "survey" / "4c_codebook.xlsx", survey, choices, settings,
                   [list(d) for d in DIMENSIONS])

    rng = random.Random(4)
    header = ["序号", "企业规模", "是否通过平台获得贷款", "贷款金额（万元）", "贷款期限（月）", "融资渠道（可多选）"] + [i[1] for i in ITEMS]
    body = []
    for k in range(80):
        size = rng.choices(["微型企业", "小型企业", "中型企业"], [4, 5, 2])[0]
        got = rng.random() < 0.7
        amount = rng.choice([50, 100, 150, 200, 260, 300, 450, 500, 800, 1000, 1500]) if got else None
        term = rng.choice([3, 6, 12, 24, 36, 48]) if got else None
        chans = rng.sample([c[1] for c in CHANNELS], rng.randint(1, 3))
        answers = []
        for _n, _l, _e, _d, mean in ITEMS:
            x = round(rng.gauss(mean, 0.8))
            answers.append(min(5, max(1, x)))
        body.append([f"Q{k + 1:03d}", size, "是" if got else "否", amount, term, "、".join(chans), *answers])
    # two questionnaires returned nearly blank: invalid
    body.append(["Q081", "小型企业"] + [None] * (len(header) - 2))
    body.append(["Q082", None, "否"] + [None] * (len(header) - 3))
    cols = [Column(h, "int" if j >= 6 or j in (3, 4) else "text") for j, h in enumerate(header)]
    with _fixed(Workbook(root / "sample_data" / "4C满意度问卷.xlsx")) as wb:
        write_table(wb, "问卷", cols, body)


# -- the platform exports of docs/readme-survey.md ---------------------------------------------

LOAN_FIRMS = [("yes", 50, ["bank"]), ("yes", 20, ["bank", "friends"]), ("no", None, None), ("yes", 10, ["friends"])]
LOAN_LABELS = {"yes": "是", "no": "否", "bank": "银行", "friends": "亲友"}
LOAN_CODES = {"yes": 1, "no": 2, "bank": 1, "friends": 2}


def make_exports(root: Path) -> None:
    import csv

    survey_cols = ["type", "name", "label", "relevant"]
    survey = [["select_one yn", "loan", "是否获得贷款", ""], ["begin group", "detail", "贷款情况", "${loan} = 'yes'"],
              ["decimal", "amount", "贷款金额（万元）", ""], ["select_multiple src", "source", "资金来源", ""],
              ["end group", "", "", ""]]
    choice_cols = ["list_name", "name", "label", "code"]
    choices = [["yn", "yes", "是", "1"], ["yn", "no", "否", "2"], ["src", "bank", "银行", "1"], ["src", "friends", "亲友", "2"]]
    with _fixed(Workbook(root / "config" / "survey" / "loan_xlsform.xlsx")) as wb:
        write_table(wb, "survey", [Column(c) for c in survey_cols], survey)
        write_table(wb, "choices", [Column(c) for c in choice_cols], choices)
    out = root / "sample_data" / "survey_exports"
    out.mkdir(exist_ok=True)

    def write_csv(name: str, header: list[str], rows: list[list]) -> None:
        with (out / name).open("w", encoding="utf-8", newline="") as f:
            w = csv.writer(f, lineterminator="\n")
            w.writerow(header)
            w.writerows(rows)

    def opts(src, fn):
        return [fn(k) for k in ("bank", "friends")] if src else ["", ""]

    write_csv("kobo.csv", ["start", "loan", "detail/amount", "detail/source", "detail/source/bank",
                           "detail/source/friends", "_id", "_uuid", "_submission_time", "_index"],
              [["2024-05-01T09:00:00", a, amt or "", " ".join(src or []), *opts(src, lambda k: int(k in src)),
                i, f"5f1c0a2e-{i:04d}", "2024-05-02T10:00:00", i] for i, (a, amt, src) in enumerate(LOAN_FIRMS, 1)])
    write_csv("odk_central.csv", ["SubmissionDate", "loan", "detail-amount", "detail-source", "meta-instanceID", "KEY"],
              [["2024-05-02T10:00:00.000Z", a, amt or "", " ".join(src or []), f"uuid:{i}", f"uuid:{i}"]
               for i, (a, amt, src) in enumerate(LOAN_FIRMS, 1)])
    write_csv("split.csv", ["loan", "amount", "source/bank", "source/friends"],
              [[a, amt or "", *opts(src, lambda k: int(k in src))] for a, amt, src in LOAN_FIRMS])
    write_csv("flat.csv", ["是否获得贷款", "贷款金额（万元）", "资金来源"],
              [[LOAN_LABELS[a], amt or "", "、".join(LOAN_LABELS[k] for k in src or [])] for a, amt, src in LOAN_FIRMS])
    meta = ["序号", "提交答卷时间", "所用时间", "来源", "来源详情", "来自IP"]

    def meta_row(i):
        return [str(i), f"2024/5/{i} 10:00:00", "45秒", "手机提交", "直接访问", "10.0.0.1(浙江-嘉兴)"]

    text_rows = [meta_row(i) + [LOAN_LABELS[a], str(amt) if amt else "(跳过)",
                                "┋".join(LOAN_LABELS[k] for k in src) if src else "(跳过)"]
                 for i, (a, amt, src) in enumerate(LOAN_FIRMS, 1)]
    num_rows = [meta_row(i) + [str(LOAN_CODES[a]), str(amt) if amt else "-3",
                               *(opts(src, lambda k: str(int(k in src))) if src else ["-3", "-3"])]
                for i, (a, amt, src) in enumerate(LOAN_FIRMS, 1)]
    for name, header, rows in (("问卷星_按选项文本.xlsx", meta + ["1、是否获得贷款", "2、贷款金额（万元）", "3、资金来源"], text_rows),
                               ("问卷星_按选项序号.xlsx", meta + ["1、是否获得贷款", "2、贷款金额（万元）", "3(银行)", "3(亲友)"],
                                num_rows)):
        with _fixed(Workbook(out / name)) as wb:
            write_table(wb, "Sheet1", [Column(h) for h in header], rows)


if __name__ == "__main__":
    make_hengli(ROOT)
    make_4c(ROOT)
    make_exports(ROOT)
    print("wrote config/survey/hengli_codebook.xlsx, sample_data/问卷数据.xlsx, "
          "config/survey/4c_codebook.xlsx, sample_data/4C满意度问卷.xlsx, config/survey/loan_xlsform.xlsx, "
          "sample_data/survey_exports/")
