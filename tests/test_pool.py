"""The pool after the rating: ledger import, fund, DPD buckets, concentration, limits, early
warnings, history. Expectations are computed by hand in the comments."""

from __future__ import annotations

import csv
import dataclasses
import datetime as dt
import json
import math
import sqlite3
from pathlib import Path

import pandas as pd
import pytest
from openpyxl import Workbook, load_workbook
from typer.testing import CliRunner

import regdata as R
from cluster_credit_cli.cli import app
from cluster_credit_cli.model.config import load_model
from cluster_credit_cli.outputs.excel import display_width
from cluster_credit_cli.pool.book import BOOK_COLUMNS, import_snapshot, load_book, loan_history, snapshots
from cluster_credit_cli.pool.config import pool_config
from cluster_credit_cli.pool.status import bucket, concentration, lorenz, pool_history, pool_status
from cluster_credit_cli.problems import ConfigError, UsageError
from cluster_credit_cli.register.store import record_run

runner = CliRunner()
D = dt.date
HEADER = ["贷款编号", "借款人名称", "统一社会信用代码", "合同金额", "放款日期", "到期日期", "贷款余额", "逾期天数", "五级分类",
          "贷款状态", "代偿金额", "代偿日期", "追偿回收", "追偿回收日期", "细分行业"]


def loan(no, n, amount, outstanding=None, disbursed=D(2026, 8, 1), maturity=D(2027, 7, 31), dpd=None, cls="正常",
         status=None, paid=None, paid_on=None, rec=None, rec_on=None, sector=None, code=None):
    return [no, f"东莞市测试{n}号模具有限公司", code or R.code(n), amount, disbursed, maturity,
            amount if outstanding is None else outstanding, dpd, cls, status, paid, paid_on, rec, rec_on, sector]


def write_ledger(path: Path, rows: list[list], header=HEADER, title: str | None = None) -> Path:
    wb = Workbook()
    ws = wb.active
    if title:
        ws.append([title])
        ws.append([])
    ws.append(header)
    for r in rows:
        ws.append(r)
    wb.save(path)
    return path


def write_fund(path: Path, rows: list[list]) -> Path:
    return write_ledger(path, rows, header=["日期", "类型", "金额", "出资方", "贷款编号", "备注"])


@pytest.fixture(scope="module")
def reg(tmp_path_factory):
    """A register with round A (2026-06-30) and round B (2026-12-31) of regdata.

    Round A: E1 AAA, E2 AA, E3 A, E4 AAA, E6 AAA, E8 AA (E5 ineligible). Quotas: requested 400,
    capped per grade (AAA 500 → 400, AA 300, A 200). Round B: E2 falls to A (solvency), E4 is
    vetoed by the bank (overdue 120 days), E7 enters (AA).
    """
    base = tmp_path_factory.mktemp("pool")
    db = base / "reg.db"
    ents, recs = R.round_a()
    record_run(db, R.score(R.write_round(base / "a", ents, recs), R.A_DAY))
    ents, recs = R.round_b()
    record_run(db, R.score(R.write_round(base / "b", ents, recs), R.B_DAY))
    return db


@pytest.fixture
def db(reg, tmp_path):
    target = tmp_path / "reg.db"
    src = sqlite3.connect(reg)
    dst = sqlite3.connect(target)
    src.backup(dst)
    src.close()
    dst.close()
    return target


@pytest.fixture(scope="module")
def model():
    return load_model()


def with_pool(model, **changes):
    """The model with [pool] keys changed (limits merged)."""
    pool = json.loads(json.dumps(model.pool))
    for k, v in changes.items():
        if k == "limits":
            pool["limits"].update(v)
        else:
            pool[k] = v
    return dataclasses.replace(model, pool=pool)


# -- pure measures -----------------------------------------------------------------------------------

def test_one_borrower_has_hhi_1_and_gini_0():
    c = concentration([250.0])
    assert (c["cr1"], c["cr5"], c["cr10"], c["hhi"], c["equivalent_n"], c["gini"]) == (1.0, 1.0, 1.0, 1.0, 1.0, 0.0)
    assert lorenz([250.0]) == [(0.0, 0.0), (1.0, 1.0)]


@pytest.mark.parametrize("n", [2, 4, 12])
def test_n_equal_borrowers_have_hhi_1_over_n_and_gini_0(n):
    c = concentration([100.0] * n)
    assert c["hhi"] == pytest.approx(1 / n)
    assert c["equivalent_n"] == pytest.approx(n)
    assert c["gini"] == pytest.approx(0.0, abs=1e-12)
    assert c["cr1"] == pytest.approx(1 / n)
    assert c["cr10"] == pytest.approx(min(10, n) / n)


def test_unequal_book_by_hand():
    # 50/30/20: shares .5 .3 .2 → HHI .25+.09+.04 = .38, 1/HHI 2.6316; Gini over ascending 20, 30, 50:
    # Σ(2i−n−1)x = −2·20 + 0·30 + 2·50 = 60 → 60 / (3·100) = 0.2
    c = concentration([30.0, 50.0, 20.0, 0.0])
    assert c["n"] == 3
    assert c["cr1"] == pytest.approx(0.5)
    assert c["cr5"] == pytest.approx(1.0)
    assert c["hhi"] == pytest.approx(0.38)
    assert c["equivalent_n"] == pytest.approx(1 / 0.38)
    assert c["gini"] == pytest.approx(0.2)
    pts = lorenz([30.0, 50.0, 20.0])
    assert pts == [(0.0, 0.0), pytest.approx((1 / 3, 0.2)), pytest.approx((2 / 3, 0.5)), pytest.approx((1.0, 1.0))]
    # 12 borrowers 120, 110, ... 10: top 10 = 780 − 30 = 750 of 780
    c = concentration([10.0 * k for k in range(1, 13)])
    assert c["cr10"] == pytest.approx(750 / 780)
    assert c["cr5"] == pytest.approx((120 + 110 + 100 + 90 + 80) / 780)
    assert concentration([])["hhi"] is None


@pytest.mark.parametrize("dpd,expected", [(0, None), (1, "1-30"), (30, "1-30"), (31, "31-90"), (90, "31-90"),
                                          (91, ">90"), (400, ">90")])
def test_dpd_bucket_edges(dpd, expected):
    assert bucket(dpd) == expected


# -- import and status on a register ------------------------------------------------------------------

def test_buckets_npl_fund_and_utilisation_by_hand(db, tmp_path, model):
    # Loans of E1, E2, E3, E6, E8 (all rated in run A); DPD 30, 31, 90, 91 and 0.
    rows = [loan("L1", 1, 100, dpd=30, cls="关注"), loan("L2", 2, 200, dpd=31, cls="关注"),
            loan("L3", 3, 100, dpd=90, cls="次级"), loan("L6", 6, 300, dpd=91),  # 91 days: NPL whatever the class
            loan("L8", 8, 300, outstanding=300, cls=None),
            loan("L9", 8, 50, outstanding=0, status="结清")]  # settled: not live
    fund = write_fund(tmp_path / "fund.xlsx", [
        ["2026-07-01", "出资", 600, "镇政府", None, None], ["2026-07-01", "注资", 400, "协会", None, None],
        ["2026-09-01", "代偿支出", 150, "银行", "Lx", None], ["2026-10-01", "追偿收回", 60, "法院", "Lx", None],
        ["2026-10-21", "利息", 2, "银行", None, None], ["2027-01-05", "利息", 9, "银行", None, "after the snapshot"]])
    res = import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model, fund=fund)
    codes = [p.code for p in res.problems]
    assert "after_as_of" in codes and "fund_ledger_mismatch" in codes  # the ledger paid 0, the fund 150
    st = pool_status(db, model=model, as_of=D(2026, 11, 15))
    js = st.to_json()
    # balance = 1000 − 150 + 60 + 2 = 912; capacity 9120; outstanding 100+200+100+300+300 = 1000
    assert js["fund"] == {"contributions": 1000.0, "payouts": 150.0, "recoveries": 60.0, "interest": 2.0,
                          "balance": 912.0}
    assert js["capacity"] == 9120.0 and js["outstanding"] == 1000.0
    assert js["utilisation"] == pytest.approx(1000 / 9120, abs=1e-6)
    assert js["effective_leverage"] == pytest.approx(1000 / 912, abs=1e-6)
    assert (js["loans"], js["borrowers"]) == (5, 5)
    assert js["overdue"]["1-30"] == {"count": 1, "amount": 100.0, "ratio": 0.1, "count_ratio": 0.2}
    assert js["overdue"]["31-90"] == {"count": 2, "amount": 300.0, "ratio": 0.3, "count_ratio": 0.4}
    assert js["overdue"][">90"] == {"count": 1, "amount": 300.0, "ratio": 0.3, "count_ratio": 0.2}
    # NPL: L3 (次级) and L6 (91 days, still 正常 in the ledger) = 400 of 1000
    assert js["npl_ratio"] == 0.4 and js["npl"]["count"] == 2
    by = {g["grade"]: g for g in js["by_grade"]}  # at run A: E1, E6 AAA; E2, E8 AA; E3 A
    assert by["AAA"]["outstanding"] == 400.0 and by["AAA"]["overdue_>90"] == 300.0 and by["AAA"]["overdue_1-30"] == 100.0
    assert by["AA"]["outstanding"] == 500.0 and by["AA"]["overdue_31-90"] == 200.0 and by["AA"]["npl_amount"] == 0.0
    assert by["A"]["npl_ratio"] == 1.0
    # five-category classes × grade at rating (L8 carries no class)
    assert js["classes"] == {"正常": {"AAA": 300.0}, "关注": {"AAA": 100.0, "AA": 200.0}, "次级": {"A": 100.0}, "可疑": {}, "损失": {},
                             "": {"AA": 300.0}}
    assert set(js) >= {"as_of", "fund", "leverage", "capacity", "outstanding", "utilisation", "loans", "borrowers",
                       "overdue", "npl_ratio", "concentration", "breaches", "warnings"}
    assert set(js["concentration"]["borrower"]) == {"cr1", "cr5", "cr10", "hhi", "equivalent_n", "gini"}


def test_fund_from_config_and_ledger_without_a_fund_file(db, tmp_path, model):
    rows = [loan("L1", 1, 200, outstanding=0, status="代偿", paid=200, paid_on=D(2026, 9, 1), rec=50,
                 rec_on=D(2026, 10, 1)),
            loan("L2", 2, 100)]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model)
    book = load_book(db, D(2026, 11, 1), model=model)
    # guarantee_fund 1000 − 200 + 50
    assert book.fund == {"contributions": 1000.0, "payouts": 200.0, "recoveries": 50.0, "interest": 0.0,
                         "balance": 850.0}
    assert book.capacity == 8500.0 and book.fund_source == "config"
    st = pool_status(db, model=model, as_of=D(2026, 10, 31))
    paid = [w for w in st.warnings if w["kind"] == "guarantee_paid"]
    assert [(w["loan_no"], w["amount"]) for w in paid] == [("L1", 150.0)]


def test_limits_and_breaches(db, tmp_path, model):
    # E1 400 (run A AAA), E3 100 (A), E8 300 (AA), E6 200 (AAA): total 1000
    rows = [loan("L1", 1, 400), loan("L3", 3, 100), loan("L8", 8, 300), loan("L6", 6, 200)]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model)
    m = with_pool(model, limits={"largest_single_share": 0.40, "top10_share": 0.99, "low_grade": "AA",
                                 "low_grade_share": 0.35, "largest_single_amount": 350})
    st = pool_status(db, model=m, as_of=D(2026, 10, 31))
    got = {b["limit"]: (b["value"], b["threshold"], b["breached"]) for b in st.limits}
    assert got["largest_single_share"] == (pytest.approx(0.4), 0.4, False)  # equal to the limit: not a breach
    assert got["top10_share"] == (pytest.approx(1.0), 0.99, True)
    assert got["low_grade_share"] == (pytest.approx(0.4), 0.35, True)  # AA and below: E8 300 + E3 100
    assert got["largest_single_amount"] == (400.0, 350.0, True)
    assert {b["limit"] for b in st.to_json()["breaches"]} == {"top10_share", "low_grade_share", "largest_single_amount"}


def test_a_bad_limit_is_a_config_error_naming_the_key(model):
    with pytest.raises(ConfigError, match=r"pool\.limits\.top10_share: must be a fraction"):
        pool_config(with_pool(model, limits={"top10_share": 1.5}))
    with pytest.raises(ConfigError, match=r"pool\.limits\.low_grade: 'Z' is not a grade"):
        pool_config(with_pool(model, limits={"low_grade": "Z"}))
    with pytest.raises(ConfigError, match=r"pool\.limits\.top_share: unknown key"):
        pool_config(with_pool(model, limits={"top_share": 0.5}))


def test_each_loan_links_to_the_run_in_force_at_disbursement(db, tmp_path, model):
    rows = [loan("LA", 2, 300, disbursed=D(2026, 8, 1)),   # after run A, before run B → run A (AA, quota 300)
            loan("LB", 1, 300, disbursed=D(2027, 1, 15)),  # after run B → run B
            loan("LC", 3, 100, disbursed=D(2026, 6, 30)),  # on run A's date → run A
            loan("LD", 6, 100, disbursed=D(2026, 5, 1)),   # before any rating
            loan("LE", 5, 100),                            # E5: ineligible in A, admitted only in B (later)
            loan("LF", 2, 350, disbursed=D(2026, 8, 2))]   # above run A's quota of 300
    res = import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2027, 1, 31), model=model)
    book = load_book(db, model=model)
    runs = dict(zip(book.loans["loan_no"], book.loans["run_id"]))
    assert runs == {"LA": 1, "LB": 2, "LC": 1, "LD": None, "LE": None, "LF": 1}
    grades = dict(zip(book.loans["loan_no"], book.loans["grade"]))
    assert grades["LA"] == "AA" and grades["LB"] == "AAA" and grades["LD"] is None
    probs = {(p.code, p.row) for p in res.problems}
    assert probs == {("disbursed_before_rating", 5), ("disbursed_before_rating", 6), ("above_quota", 7)}


def test_a_loan_of_an_enterprise_rated_but_never_admitted(tmp_path, model):
    db = tmp_path / "reg.db"
    record_run(db, R.score(R.write_round(tmp_path / "a", [R.ent(1, 5), R.ent(5, 5, town="清溪镇")]), R.A_DAY))
    res = import_snapshot(db, write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100), loan("L5", 5, 100)]),
                          as_of=D(2026, 10, 31), model=model)
    (p,) = [p for p in res.problems if p.severity == "error"]
    assert (p.code, p.row) == ("not_admitted", 3) and "L5" in p.message and "未评级" in p.message


def test_a_loan_for_an_unrated_code_is_a_problem_not_silently_accepted(db, tmp_path, model):
    path = write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100), loan("L99", 99, 100)])
    r = runner.invoke(app, ["pool", "import", str(path), "--as-of", "2026-10-31", "--db", str(db), "--json", "-"])
    assert r.exit_code == 1, r.output
    data = json.loads(r.stdout)
    assert data["loans"] == 2 and data["linked"] == 1
    (p,) = [p for p in data["problems"] if p["code"] == "unrated_code"]
    assert p["row"] == 3 and p["column"] == "统一社会信用代码" and R.code(99) in p["message"] and "L99" in p["message"]
    st = pool_status(db, model=model, as_of=D(2026, 10, 31))
    assert [(w["kind"], w["loan_no"]) for w in st.warnings if w["kind"] == "unrated"] == [("unrated", "L99")]
    # It still counts in the exposure (the money is lent), under "unrated"
    assert st.outstanding == 200.0
    assert st.by_grade.set_index("grade").loc["未评级", "outstanding"] == 100.0


def test_reimporting_the_same_snapshot_is_idempotent(db, tmp_path, model):
    path = write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100), loan("L2", 2, 200)])
    first = runner.invoke(app, ["pool", "import", str(path), "--as-of", "2026-10-31", "--db", str(db)])
    assert first.exit_code == 0, first.output
    assert "已导入" in first.output
    # The same loans re-exported as a GBK CSV with a title row: the same snapshot
    csv_path = tmp_path / "l.csv"
    with open(csv_path, "w", encoding="gb18030", newline="") as fh:
        w = csv.writer(fh)
        w.writerow(["贷款台账"])
        w.writerow(HEADER)
        for r in [loan("L1", 1, 100), loan("L2", 2, 200)]:
            w.writerow(["" if v is None else f"{v.year}年{v.month}月{v.day}日" if isinstance(v, dt.date) else v
                        for v in r])
    again = runner.invoke(app, ["pool", "import", str(csv_path), "--as-of", "2026-10-31", "--db", str(db)])
    assert again.exit_code == 0, again.output
    assert "已存在，内容相同，未改动" in again.output
    assert len(snapshots(db)) == 1 and len(loan_history(db)) == 2
    changed = write_ledger(tmp_path / "l2.xlsx", [loan("L1", 1, 100, outstanding=90), loan("L2", 2, 200)])
    refused = runner.invoke(app, ["pool", "import", str(changed), "--as-of", "2026-10-31", "--db", str(db)])
    assert refused.exit_code == 2 and "--replace" in refused.output
    assert load_book(db, model=model).loans["outstanding"].tolist() == [100.0, 200.0]
    replaced = runner.invoke(app, ["pool", "import", str(changed), "--as-of", "2026-10-31", "--db", str(db),
                                   "--replace"])
    assert replaced.exit_code == 0 and "已替换" in replaced.output
    assert load_book(db, model=model).loans["outstanding"].tolist() == [90.0, 200.0]
    assert len(snapshots(db)) == 1


def test_bad_rows_are_reported_with_row_and_column(db, tmp_path, model):
    rows = [loan("L1", 1, 100, cls="很差"), loan(None, 2, 100), loan("L1", 3, 100), loan("L4", 3, -5),
            loan("L5", 6, 100, maturity=D(2026, 1, 1)), loan("L6", 8, 100, code="91441900abc")]
    res = import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows, title="东莞银行 贷款台账"), as_of=D(2026, 10, 31),
                          model=model)
    got = {(p.code, p.row, p.column) for p in res.problems}
    assert ("bad_classification", 4, "五级分类") in got
    assert ("missing_loan_no", 5, "贷款编号") in got
    assert ("duplicate_loan", 6, "贷款编号") in got
    assert ("negative_amount", 7, "合同金额") in got and ("negative_amount", 7, "贷款余额") in got
    assert ("maturity_before_disbursement", 8, "到期日期") in got
    assert ("bad_code", 9, "统一社会信用代码") in got
    assert res.loans == 4  # the row without a number and the repeated number are not imported (and said so)


def test_early_warnings_downgrades_maturing_and_new_records(db, tmp_path, model):
    asof = D(2027, 1, 31)
    rows = [loan("L2", 2, 300, disbursed=D(2026, 8, 1), maturity=D(2027, 8, 1)),  # AA at A → A at B: downgraded
            loan("L4", 4, 400, disbursed=D(2026, 8, 1), maturity=D(2027, 8, 1)),  # AAA → vetoed at B
            loan("L1", 1, 100, disbursed=D(2026, 8, 1), maturity=asof + dt.timedelta(days=30)),  # maturing (edge)
            loan("L6", 6, 100, disbursed=D(2026, 8, 1), maturity=asof + dt.timedelta(days=31)),  # not yet
            loan("L3", 3, 100, disbursed=D(2026, 8, 1), maturity=D(2027, 1, 20)),  # matured, still outstanding
            loan("L8", 8, 100, disbursed=D(2026, 8, 1), maturity=D(2027, 9, 1))]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=asof, model=model)
    credit = R.write_credit(tmp_path / "信用系统.csv", [(R.code(8), "行政处罚", D(2027, 1, 15)),
                                                       (R.code(8), "行政处罚", D(2027, 1, 16)),
                                                       (R.code(8), "劳资纠纷", D(2027, 1, 20))])
    from cluster_credit_cli.register.monitor import monitor

    mon = monitor(db, model=model, credit_system=credit, as_of=asof)
    st = pool_status(db, model=model, as_of=asof, monitor=mon)
    kinds = [(w["kind"], w["code"]) for w in st.warnings]
    assert kinds == [("downgraded", R.code(2)), ("downgraded", R.code(4)), ("new_negative", R.code(8)),
                     ("maturing", R.code(3)), ("maturing", R.code(1))]
    det = {w["code"]: w["detail"] for w in st.warnings if w["kind"] == "downgraded"}
    assert det[R.code(2)] == "放款时 AA（运行 #1）→ 运行 #2（2026-12-31）A"
    assert det[R.code(4)] == "放款时 AAA（运行 #1）→ 运行 #2（2026-12-31）未评级/否决"
    assert "已于 2027-01-20 到期仍未结清" in st.warnings[3]["detail"]


def test_status_cli_json_summary_and_exit_codes(db, tmp_path, model):
    rows = [loan(f"L{n}", n, 100, maturity=D(2027, 12, 31)) for n in (1, 3, 6, 8)]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model)
    out = tmp_path / "status.xlsx"
    r = runner.invoke(app, ["pool", "status", "--as-of", "2026-11-30", "--db", str(db), "--out", str(out)])
    # four equal borrowers: CR1 25% > 15% → breach, exit 1
    assert r.exit_code == 1, r.output
    lines = r.output.splitlines()
    assert lines[0] == f"资金池状况 2026-11-30（台账快照 2026-10-31；登记簿 {db.name}）"
    assert lines[1] == "资金池余额 1,000.00 万元 = 出资 1,000.00 − 代偿 0.00 + 追回 0.00 + 利息 0.00"
    assert lines[2] == "授信容量  10,000.00（10 倍）；在贷 400.00，使用 4.0%；实际杠杆 0.40 倍"
    assert lines[3] == "在贷      4 笔 / 4 家；逾期 0 笔 0.00（0.0%）；不良率 0.0%（0 笔）"
    # quotas at the loans' rating (run A): E1 400, E6 400, E3 200, E8 300; and the enterprises with a
    # quota in the latest run on 2026-11-30 (run A again) and no loan: E2 300, E4 400 → 2000, 6 firms, 2 idle
    assert "额度      核定 2,000.00（6 家）；已用 400.00（20.0%）；2 家未用款" in lines
    assert "集中度    最大户 25.0% 前5 100.0% 前10 100.0% HHI 0.250（≈4.0 户）基尼 0.00" in lines
    assert "限额      ✗ 最大单户占比 25.0% > 15.0%  突破" in lines
    assert [line for line in lines if display_width(line) > 80 and not line.startswith("已写入")] == []
    assert "无预警。" in r.output and out.is_file()
    wb = load_workbook(out)
    assert wb.sheetnames == ["概览", "按评级", "额度使用", "贷款明细", "集中度", "预警", "资金池", "导入问题"]
    assert len(wb["概览"]._charts) == 1 and len(wb["集中度"]._charts) == 1 and len(wb["资金池"]._charts) == 1
    # JSON on stdout; with limits no book breaks and no warning, exit 0
    cfg = tmp_path / "model.toml"
    text = Path(model.path).read_text(encoding="utf-8").replace("largest_single_share = 0.15", "largest_single_share = 0.30")
    text = text.replace("top10_share = 0.80", "top10_share = 1.0")
    cfg.write_text(text, encoding="utf-8")
    r = runner.invoke(app, ["pool", "status", "--as-of", "2026-11-30", "--db", str(db), "--json", "-", "-c", str(cfg),
                            "--out", str(out)])
    assert r.exit_code == 0, r.output
    js = json.loads(r.stdout)
    assert js["breaches"] == [] and js["warnings"] == []
    assert js["concentration"]["borrower"] == {"cr1": 0.25, "cr5": 1.0, "cr10": 1.0, "hhi": 0.25, "equivalent_n": 4.0,
                                               "gini": 0.0}
    assert js["concentration"]["sector"] is None
    r = runner.invoke(app, ["pool", "status", "--as-of", "2026-09-30", "--db", str(db)])
    assert r.exit_code == 2 and "ccredit pool import" in r.output


def test_sector_concentration_where_the_ledger_carries_it(db, tmp_path, model):
    rows = [loan("L1", 1, 100, sector="注塑模具"), loan("L3", 3, 100, sector="注塑模具"), loan("L6", 6, 200, sector="冲压模具"),
            loan("L8", 8, 100)]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model)
    sec = pool_status(db, model=model, as_of=D(2026, 10, 31)).to_json()["concentration"]["sector"]
    # of the 400 that carries a sector: 200/200 → HHI .5, coverage 400/500
    assert sec["hhi"] == 0.5 and sec["equivalent_n"] == 2.0 and sec["coverage"] == 0.8 and sec["sectors"] == 2


def test_templates_come_back_readable(db, tmp_path, model):
    path = tmp_path / "台账模板.xlsx"
    r = runner.invoke(app, ["template", "ledger", "--out", str(path)])
    assert r.exit_code == 0, r.output
    wb = load_workbook(path)
    ws = wb.active
    headers = [c.value for c in ws[1]]
    assert headers[:4] == ["统一社会信用代码", "借款人名称", "贷款编号", "贷款余额（万元）"] and "五级分类" in headers
    assert ws.cell(2, headers.index("五级分类") + 1).value == "正常 / 关注 / 次级 / 可疑 / 损失"
    values = {"贷款编号": "T1", "统一社会信用代码": R.code(1), "贷款余额（万元）": 80, "合同金额（万元）": 100,
              "放款日期": "2026-08-01", "五级分类": "正常"}
    for j, h in enumerate(headers, 1):
        ws.cell(3, j, values.get(h))
    wb.save(path)
    res = import_snapshot(db, path, as_of=D(2026, 10, 31), model=model)
    assert res.loans == 1 and res.linked == 1 and not [p for p in res.problems if p.severity == "error"]
    r = runner.invoke(app, ["template", "fund", "--out", str(tmp_path / "fund.xlsx"), "--lang", "en"])
    assert r.exit_code == 0
    assert [c.value for c in load_workbook(tmp_path / "fund.xlsx").active[1]][:3] == ["Date", "Kind", "Amount"]


def test_book_contract_columns_and_types(db, tmp_path, model):
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100, dpd=5), loan("L99", 99, 50)]),
                    as_of=D(2026, 10, 31), model=model)
    import_snapshot(db, write_ledger(tmp_path / "l2.xlsx", [loan("L1", 1, 100, outstanding=90)]),
                    as_of=D(2026, 11, 30), model=model)
    book = load_book(db, D(2026, 11, 15), model=model)
    assert book.as_of == D(2026, 10, 31) and book.leverage == 10.0
    assert list(book.loans.columns) == BOOK_COLUMNS
    first = book.loans.iloc[0]
    assert isinstance(first["disbursed"], dt.date) and isinstance(first["run_id"], int) and first["dpd"] == 5
    assert book.loans.iloc[1]["run_id"] is None and book.loans.iloc[1]["grade"] is None
    assert set(book.fund) == {"contributions", "payouts", "recoveries", "interest", "balance"}
    hist = loan_history(db)
    assert list(hist.columns) == BOOK_COLUMNS + ["snapshot_as_of"] and len(hist) == 3
    snaps = snapshots(db)
    assert list(snaps.columns) == ["snapshot_id", "as_of", "imported_at", "loans", "outstanding", "fund_balance"]
    assert snaps["outstanding"].tolist() == [150.0, 90.0]
    with pytest.raises(UsageError, match="pool import"):
        load_book(db, D(2026, 1, 1), model=model)


# -- the 12-snapshot sample ------------------------------------------------------------------------------

SAMPLE = Path(__file__).resolve().parents[1] / "sample_data"


@pytest.fixture(scope="module")
def sample_db(tmp_path_factory):
    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.rating.pipeline import score_round

    model = load_model()
    db = tmp_path_factory.mktemp("sample") / "reg.db"
    app_file = SAMPLE / "申报材料汇总.xlsx"
    record_run(db, score_round(app_file, discover_sources(app_file, model, {}), model=model, as_of=D(2026, 11, 30)))
    for f in sorted((SAMPLE / "pool").glob("贷款台账_*")):
        day = D.fromisoformat(f.stem.split("_")[1])
        res = import_snapshot(db, f, as_of=day, model=model, fund=SAMPLE / "pool" / "资金池收支.xlsx")
        assert res.linked == res.loans == 16 and not [p for p in res.problems if p.severity == "error"], res.problems
    return db


def test_sample_has_twelve_snapshots_and_its_story(sample_db):
    model = load_model()
    hist = pool_history(sample_db, model=model)
    assert len(hist) == 12 and hist["as_of"].iloc[0] == D(2026, 12, 31) and hist["as_of"].iloc[-1] == D(2027, 11, 30)
    # The fund: 1000 paid in; 2.10 + 2.05 + 1.86 interest; the pool paid 200 on 2027-08-15, got 80 back on 10-20
    assert hist["fund_balance"].round(2).tolist() == [1000.0, 1000.0, 1000.0, 1002.1, 1002.1, 1002.1, 1004.15, 1004.15,
                                                      804.15, 806.01, 886.01, 886.01]
    # Non-performing while HL2026120003 was 次级/可疑 (June, July), then HL2026120011 (次级) in November
    assert [x > 0 for x in hist["npl_ratio"]] == [False] * 6 + [True, True] + [False] * 3 + [True]


def test_sample_early_warnings(sample_db):
    model = load_model()
    st = pool_status(sample_db, model=model, as_of=D(2027, 11, 30))
    got = [(w["kind"], w["loan_no"]) for w in st.warnings]
    assert got == [("overdue", "HL2026120011"), ("guarantee_paid", "HL2026120003"),
                   ("maturing", "HL2026120001"), ("maturing", "HL2026120002"), ("maturing", "HL2026120004"),
                   ("maturing", "HL2026120008"), ("maturing", "HL2026120014")]
    assert st.warnings[0]["detail"] == "贷款 HL2026120011 逾期 75 天（31-90，次级），余额 100 万元"
    assert st.warnings[1]["detail"] == "贷款 HL2026120003 资金池代偿 200 万元（2027-08-15），已追回 80，待追偿 120"
    mid = pool_status(sample_db, model=model, as_of=D(2027, 5, 31))
    # May: HL2026120003 51 days late; the two 6-month loans mature in June (within 30 days)
    assert [(w["kind"], w["loan_no"]) for w in mid.warnings] == [
        ("overdue", "HL2026120003"), ("maturing", "HL2026120007"), ("maturing", "HL2026120013")]
    assert mid.overdue["31-90"]["count"] == 1 and mid.npl["count"] == 0  # 51 days, 关注: overdue but performing
    r = runner.invoke(app, ["pool", "status", "--as-of", "2027-11-30", "--db", str(sample_db), "--lang", "en",
                            "--out", str(sample_db.parent / "s.xlsx")])
    assert r.exit_code == 1
    assert "Early warnings: 7" in r.output and "overdue" in r.output
    assert [x for x in r.output.splitlines() if display_width(x) > 80 and not x.startswith("Written")] == []
    assert "Fund      886.01 = contributions 1,000.00 − guarantees paid 200.00" in r.output.splitlines()
    r = runner.invoke(app, ["pool", "history", "--db", str(sample_db), "--out", str(sample_db.parent / "h.xlsx"),
                            "--json", "-"])
    assert r.exit_code == 0
    snaps = json.loads(r.stdout)["snapshots"]
    assert [s["as_of"] for s in snaps][-1] == "2027-11-30" and snaps[-1]["fund_balance"] == 886.01
    assert len(load_workbook(sample_db.parent / "h.xlsx")["历史"]._charts) == 1


def test_an_empty_ledger_and_a_loan_without_dates_do_not_break_status(db, tmp_path, model):
    r = runner.invoke(app, ["pool", "import", str(write_ledger(tmp_path / "e.xlsx", [])), "--as-of", "2026-10-31",
                            "--db", str(db)])
    assert r.exit_code == 0 and "台账中没有贷款" in r.output
    r = runner.invoke(app, ["pool", "status", "--as-of", "2026-10-31", "--db", str(db), "--json", "-",
                            "--out", str(tmp_path / "s.xlsx")])
    assert r.exit_code == 0, r.output
    js = json.loads(r.stdout)
    assert (js["outstanding"], js["loans"], js["npl_ratio"], js["concentration"]["borrower"]["hhi"]) == (0.0, 0, None, None)
    rows = [loan("L1", 1, 100, disbursed=None, dpd=3)]
    res = import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 11, 30), model=model)
    assert [p.code for p in res.problems] == ["missing_disbursed"]
    st = pool_status(db, model=model, as_of=D(2026, 11, 30))
    assert [w["kind"] for w in st.warnings] == ["overdue", "unrated"]
    assert st.warnings[1]["detail"] == "贷款 L1 在放款日（无放款日期）没有有效的入池评级"
    r = runner.invoke(app, ["pool", "history", "--db", str(db), "--json", "-", "--out", str(tmp_path / "h.xlsx")])
    snaps = json.loads(r.stdout)["snapshots"]
    assert [(s["as_of"], s["loans"], s["hhi"]) for s in snaps] == [("2026-10-31", 0, None), ("2026-11-30", 1, 1.0)]


def test_sample_new_negative_records_join_the_early_warnings(sample_db):
    r = runner.invoke(app, ["pool", "status", "--as-of", "2027-11-30", "--db", str(sample_db), "--json", "-",
                            "--credit-system", str(SAMPLE / "pool" / "信用系统新增_2027-11-30.csv"),
                            "--out", str(sample_db.parent / "s2.xlsx")])
    assert r.exit_code == 1, r.output
    warnings = json.loads(r.stdout)["warnings"]
    (new,) = [w for w in warnings if w["kind"] == "new_negative"]
    book = load_book(sample_db, D(2027, 11, 30))
    borrower = book.loans.set_index("loan_no").loc["HL2026120006"]
    assert (new["code"], new["name"]) == (borrower["code"], borrower["name"])
    assert "S1 行政处罚：新增 2 条" in new["detail"] and "S3 劳资纠纷：新增 1 条" in new["detail"]
    assert len(warnings) == 8


def test_a_newer_pool_schema_is_refused(db, tmp_path, model):
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100)]), as_of=D(2026, 10, 31), model=model)
    con = sqlite3.connect(db)
    con.execute("UPDATE pool_schema SET version = 99")
    con.commit()
    con.close()
    r = runner.invoke(app, ["pool", "status", "--as-of", "2026-10-31", "--db", str(db)])
    assert r.exit_code == 2 and "newer ccredit" in r.output
    r = runner.invoke(app, ["pool", "import", str(tmp_path / "l.xlsx"), "--as-of", "2026-10-31", "--db", str(db)])
    assert r.exit_code == 2 and "newer ccredit" in r.output


def test_pool_config_errors_name_the_key_and_model_check_reports_them(model, tmp_path):
    with pytest.raises(ConfigError, match=r"pool\.warnings\.maturing_days: must be a whole number"):
        pool_config(with_pool(model, warnings={"maturing_days": -3}))
    fields = json.loads(json.dumps(model.pool["fields"]))
    del fields["loan_no"]
    with pytest.raises(ConfigError, match=r"pool\.fields\.loan_no: missing"):
        pool_config(with_pool(model, fields=fields))
    fields = json.loads(json.dumps(model.pool["fields"]))
    fields["name"]["aliases"].append("借据号")
    with pytest.raises(ConfigError, match=r"pool\.fields\.(name|loan_no)\.aliases: header '借据号' also names"):
        pool_config(with_pool(model, fields=fields))
    fields = json.loads(json.dumps(model.pool["fields"]))
    fields["kind"]["synonyms"]["划出"] = "支出"
    with pytest.raises(ConfigError, match=r"pool\.fields\.kind\.synonyms\.划出: '支出' is not one of"):
        pool_config(with_pool(model, fields=fields))
    cfg = tmp_path / "model.toml"
    cfg.write_text(Path(model.path).read_text(encoding="utf-8").replace("top10_share = 0.80", "top10_share = 80"),
                   encoding="utf-8")
    r = runner.invoke(app, ["model", "check", "-c", str(cfg)])
    assert r.exit_code == 2 and "pool.limits.top10_share: must be a fraction between 0 and 1, got 80" in r.output


def test_a_failed_import_leaves_the_register_unchanged(db, tmp_path, model):
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", [loan("L1", 1, 100)]), as_of=D(2026, 10, 31), model=model)
    con = sqlite3.connect(db)  # the fund rows fail after the snapshot and its loans were inserted
    con.execute("CREATE TRIGGER boom BEFORE INSERT ON pool_fund BEGIN SELECT RAISE(ABORT, 'disk I/O error'); END")
    con.commit()
    con.close()
    fund = write_fund(tmp_path / "f.xlsx", [["2026-07-01", "出资", 1000, "镇政府", None, None]])
    with pytest.raises(UsageError, match="could not be stored .* the register is unchanged"):
        import_snapshot(db, write_ledger(tmp_path / "l2.xlsx", [loan("L2", 2, 300)]), as_of=D(2026, 11, 30),
                        model=model, fund=fund)
    assert snapshots(db)["as_of"].tolist() == [D(2026, 10, 31)]
    assert loan_history(db)["loan_no"].tolist() == ["L1"]


def test_sectors_come_from_the_applicants_where_the_ledger_has_none(tmp_path, model):
    paths = R.write_round(tmp_path / "a", [R.ent(1, 5), R.ent(2, 3), R.ent(3, 2), R.ent(4, 4)])
    wb = load_workbook(paths["applicants"])
    ws = wb.active
    ws.cell(1, ws.max_column + 1, "所属行业")
    for r, sector in zip(range(2, 6), ["注塑模具", "注塑模具", "冲压模具", None]):
        ws.cell(r, ws.max_column, sector)
    wb.save(paths["applicants"])
    db = tmp_path / "reg.db"
    record_run(db, R.score(paths, R.A_DAY))
    rows = [loan("L1", 1, 100), loan("L2", 2, 100), loan("L3", 3, 200, sector="压铸模具"), loan("L4", 4, 100)]
    import_snapshot(db, write_ledger(tmp_path / "l.xlsx", rows), as_of=D(2026, 10, 31), model=model)
    book = load_book(db, model=model)
    assert book.loans["sector"].tolist() == ["注塑模具", "注塑模具", "压铸模具", None]  # the ledger's wins for L3
    assert loan_history(db, model=model)["sector"].tolist() == ["注塑模具", "注塑模具", "压铸模具", None]
    sec = pool_status(db, model=model, as_of=D(2026, 10, 31)).to_json()["concentration"]["sector"]
    assert (sec["sectors"], sec["hhi"], sec["coverage"]) == (2, 0.5, 0.8)  # 200 + 200 of 500 carry a sector
    paths["applicants"].rename(tmp_path / "moved.xlsx")
    book = load_book(db, model=model)
    assert book.loans["sector"].tolist() == [None, None, "压铸模具", None]
    assert book.notes == [f"运行 #1 的申报文件已不在 {paths['applicants'].resolve()}：细分行业只取自台账"]
