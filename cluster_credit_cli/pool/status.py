"""The pool at a date: capacity and its use, the fund, overdue and non-performing loans,
concentration, limits and the early-warning list (``ccredit pool status``), and the same key
figures for every snapshot (``ccredit pool history``).

Definitions (docs/readme-pool.md):

* a loan is *live* when its outstanding balance is above 0; counts and ratios are over live loans;
* fund balance = contributions − guarantees paid + recoveries + interest; capacity = balance ×
  leverage (the model's ``[pool] leverage``); utilisation = outstanding ÷ capacity; effective
  leverage = outstanding ÷ balance;
* days-past-due buckets 1–30, 31–90, >90 (a loan at 30 days is in 1–30, at 31 in 31–90, at 90 in
  31–90, at 91 in >90); non-performing = classified 次级/可疑/损失, or more than 90 days past due;
* concentration over borrowers' outstanding (a borrower = one credit code): CR_n = share of the n
  largest; HHI = Σ shareᵢ² (1 for one borrower, 1/n for n equal ones) and its equivalent number
  of borrowers 1/HHI; Gini = Σᵢ (2i − n − 1)·xᵢ ÷ (n·Σx) over ascending exposures (0 when all are
  equal) with the Lorenz curve it comes from;
* a limit is breached when the figure is above it; loans that link to no rating count as below
  every grade in the low-grade share.
"""

from __future__ import annotations

import datetime as _dt
import math
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Sequence

import numpy as np
import pandas as pd

from cluster_credit_cli.i18n import say
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.pool.book import Book, load_book, snapshots
from cluster_credit_cli.pool.config import CLASSES, NPL_CLASSES, PoolConfig, pool_config
from cluster_credit_cli.register.store import opened

BUCKETS = ["1-30", "31-90", ">90"]
UNRATED = "未评级"
WARNING_KINDS = ["overdue", "guarantee_paid", "downgraded", "new_negative", "maturing", "unrated"]


def bucket(dpd: int) -> str | None:
    """Days-past-due bucket: None when current."""
    if dpd <= 0:
        return None
    if dpd <= 30:
        return "1-30"
    if dpd <= 90:
        return "31-90"
    return ">90"


def is_npl(classification: str | None, dpd: int) -> bool:
    """Non-performing: classified 次级/可疑/损失, or more than 90 days past due whatever the class
    says (a loan that late is non-performing under the five-category rules)."""
    return (isinstance(classification, str) and classification in NPL_CLASSES) or dpd > 90


def concentration(exposures: Sequence[float]) -> dict[str, Any]:
    """CR1/5/10, HHI, 1/HHI and Gini of positive exposures (None for an empty book)."""
    x = np.sort(np.asarray([v for v in exposures if v and v > 0], dtype=float))[::-1]
    n, total = len(x), float(x.sum()) if len(x) else 0.0
    if n == 0 or total <= 0:
        return {"n": 0, "total": 0.0, "cr1": None, "cr5": None, "cr10": None, "hhi": None, "equivalent_n": None,
                "gini": None, "largest": None}
    shares = x / total
    hhi = float(np.sum(shares ** 2))
    asc = x[::-1]
    i = np.arange(1, n + 1)
    gini = float(np.sum((2 * i - n - 1) * asc) / (n * total))
    return {"n": n, "total": total, "cr1": float(shares[:1].sum()), "cr5": float(shares[:5].sum()),
            "cr10": float(shares[:10].sum()), "hhi": hhi, "equivalent_n": 1.0 / hhi, "gini": max(gini, 0.0),
            "largest": float(x[0])}


def lorenz(exposures: Sequence[float]) -> list[tuple[float, float]]:
    """Points of the Lorenz curve: (share of borrowers, share of exposure), smallest first, from (0, 0)."""
    x = np.sort(np.asarray([v for v in exposures if v and v > 0], dtype=float))
    if not len(x):
        return []
    cum = np.cumsum(x) / x.sum()
    n = len(x)
    return [(0.0, 0.0)] + [((k + 1) / n, float(cum[k])) for k in range(n)]


def _key(loan: pd.Series) -> str:
    return loan["code"] or f"#{loan['loan_no']}"


@dataclass
class PoolStatus:
    asked: _dt.date
    book: Book
    unit: str
    grades: list[str]  # the model's grades, best first, then UNRATED
    outstanding: float
    capacity: float
    utilisation: float | None
    effective_leverage: float | None
    live: pd.DataFrame  # the live loans, with bucket / npl / grade_key
    borrowers: pd.DataFrame  # per enterprise: quota granted vs drawn
    overdue: dict[str, dict[str, float]]
    npl: dict[str, float | None]
    by_grade: pd.DataFrame
    classes: pd.DataFrame  # outstanding by five-category class × grade at rating
    concentration: dict[str, Any]
    sector: dict[str, Any] | None
    lorenz: list[tuple[float, float]]
    limits: list[dict[str, Any]]  # every configured limit with value and breached flag
    warnings: list[dict[str, Any]]
    history: pd.DataFrame = field(default_factory=pd.DataFrame)  # snapshots up to the date (fund over time)
    latest_run: dict[str, Any] | None = None
    notes: list[str] = field(default_factory=list)

    @property
    def breaches(self) -> list[dict[str, Any]]:
        return [b for b in self.limits if b["breached"]]

    @property
    def fund(self) -> dict[str, float]:
        return self.book.fund

    def to_json(self) -> dict[str, Any]:
        def r(v: Any, nd: int = 6) -> Any:
            return None if v is None or (isinstance(v, float) and math.isnan(v)) else round(float(v), nd)

        conc = {k: r(self.concentration[k]) for k in ("cr1", "cr5", "cr10", "hhi", "equivalent_n", "gini")}
        sector = None if self.sector is None else {
            **{k: r(self.sector[k]) for k in ("cr1", "cr5", "cr10", "hhi", "equivalent_n", "gini")},
            "sectors": self.sector["n"], "coverage": r(self.sector["coverage"]),
            "shares": {k: r(v) for k, v in self.sector["shares"].items()}}
        return {
            "as_of": self.asked.isoformat(), "snapshot": self.book.as_of.isoformat(), "unit": self.unit,
            "fund": {k: r(self.fund[k], 4) for k in ("contributions", "payouts", "recoveries", "interest", "balance")},
            "fund_source": self.book.fund_source,
            "leverage": r(self.book.leverage), "effective_leverage": r(self.effective_leverage),
            "capacity": r(self.capacity, 4), "outstanding": r(self.outstanding, 4),
            "utilisation": r(self.utilisation), "loans": int(len(self.live)),
            "borrowers": int(self.live["key"].nunique()) if len(self.live) else 0,
            "overdue": {b: {k: r(v, 6 if "ratio" in k else 4) if k != "count" else int(v)
                            for k, v in self.overdue[b].items()} for b in BUCKETS},
            "npl_ratio": r(self.npl["ratio"]),
            "classes": {c["class"] or "": {g: r(c[g], 4) for g in self.grades if c[g]}
                        for c in (self.classes.to_dict("records") if len(self.classes) else [])},
            "npl": {k: (int(v) if k == "count" else r(v)) for k, v in self.npl.items()},
            "by_grade": [{k: (r(v, 6) if isinstance(v, float) else v) for k, v in row.items()}
                         for row in self.by_grade.to_dict("records")],
            "concentration": {"borrower": conc, "sector": sector},
            "breaches": [{"limit": b["limit"], "value": r(b["value"]), "threshold": r(b["threshold"])}
                         for b in self.breaches],
            "warnings": [{k: w[k] for k in ("code", "name", "kind", "detail", "loan_no")} for w in self.warnings],
            "quotas": [{k: (r(v, 4) if isinstance(v, float) else v) for k, v in row.items()}
                       for row in self.borrowers.to_dict("records")],
        }


def _grade_order(model: Model) -> list[str]:
    return model.grade_labels() + [UNRATED]


def _latest_run(db: Path, as_of: _dt.date) -> tuple[dict[str, Any] | None, dict[str, dict[str, Any]]]:
    """The latest rating run dated on or before ``as_of`` and its results by code."""
    from cluster_credit_cli.register.store import get_run, results_of

    with opened(db) as conn:
        row = conn.execute("SELECT id FROM runs WHERE as_of <= ? ORDER BY as_of DESC, id DESC LIMIT 1",
                           (as_of.isoformat(),)).fetchone()
        if row is None:
            return None, {}
        run = get_run(conn, row[0])
        return run, {r["code"]: r for r in results_of(conn, run["id"])}


def pool_status(db: str | Path, *, model: Model, as_of: _dt.date, monitor: Any = None,
                lang: str = "zh") -> PoolStatus:
    """Every figure of ``ccredit pool status`` for the latest snapshot on or before ``as_of``.

    ``monitor`` is an optional ``register.monitor.MonitorResult`` (new negative records)."""
    db = Path(db)
    cfg = pool_config(model)
    book = load_book(db, as_of, model=model)
    grades = _grade_order(model)
    loans = book.loans.copy()
    loans["key"] = pd.Series([_key(x) for x in loans[["code", "loan_no"]].to_dict("records")], index=loans.index,
                             dtype=object)
    loans["grade_key"] = loans["grade"].map(lambda g: g if isinstance(g, str) and g else UNRATED)
    live = loans[loans["outstanding"].fillna(0) > 0].copy()
    live["bucket"] = live["dpd"].map(bucket)
    live["npl"] = pd.Series([is_npl(c, d) for c, d in zip(live["classification"], live["dpd"])], index=live.index,
                            dtype=bool)  # typed: an empty object column would select columns, not rows
    outstanding = float(live["outstanding"].sum())
    n = len(live)
    capacity = book.capacity
    overdue = {}
    for b in BUCKETS:
        sel = live[live["bucket"] == b]
        amount = float(sel["outstanding"].sum())
        overdue[b] = {"count": len(sel), "amount": amount, "ratio": amount / outstanding if outstanding else None,
                      "count_ratio": len(sel) / n if n else None}
    npl_sel = live[live["npl"]]
    npl = {"count": len(npl_sel), "amount": float(npl_sel["outstanding"].sum()),
           "ratio": float(npl_sel["outstanding"].sum()) / outstanding if outstanding else None,
           "count_ratio": len(npl_sel) / n if n else None}

    rows = []
    for g in grades:
        sel = live[live["grade_key"] == g]
        amt = float(sel["outstanding"].sum())
        row = {"grade": g, "loans": len(sel), "outstanding": amt, "share": amt / outstanding if outstanding else None}
        for b in BUCKETS:
            part = sel[sel["bucket"] == b]
            row[f"overdue_{b}"] = float(part["outstanding"].sum())
            row[f"overdue_{b}_count"] = len(part)
        bad = sel[sel["npl"]]
        row["npl_amount"], row["npl_count"] = float(bad["outstanding"].sum()), len(bad)
        row["npl_ratio"] = row["npl_amount"] / amt if amt else None
        rows.append(row)
    by_grade = pd.DataFrame(rows)
    cls_rows = []
    for c in CLASSES + [None]:
        sel = live[live["classification"].map(lambda v: v == c if c else not isinstance(v, str)).astype(bool)]
        if c is None and sel.empty:
            continue
        cls_rows.append({"class": c or "", **{g: float(sel.loc[sel["grade_key"] == g, "outstanding"].sum())
                                              for g in grades},
                         "count": len(sel), "amount": float(sel["outstanding"].sum())})
    classes = pd.DataFrame(cls_rows)

    exposures = live.groupby("key", sort=False)["outstanding"].sum() if n else pd.Series(dtype=float)
    conc = concentration(exposures.tolist())
    sector = None
    with_sector = live[live["sector"].map(lambda s: isinstance(s, str) and bool(s)).astype(bool)]
    if len(with_sector):
        by_sector = with_sector.groupby("sector")["outstanding"].sum()
        sector = concentration(by_sector.tolist())
        sector["coverage"] = float(with_sector["outstanding"].sum()) / outstanding if outstanding else None
        sector["shares"] = (by_sector / by_sector.sum()).sort_values(ascending=False).to_dict()

    limits = _limits(cfg, conc, live, outstanding, grades)
    run, results = _latest_run(db, as_of)
    borrowers = _borrowers(loans, results, run)
    warnings = early_warnings(loans, live, as_of, cfg, grades, results, run, monitor, lang)
    hist = snapshots(db)
    hist = hist[hist["as_of"] <= book.as_of].reset_index(drop=True) if len(hist) else hist
    notes = list(book.notes)
    if (as_of - book.as_of).days > 45:
        notes.append(say(f"最新快照为 {book.as_of}，距 {as_of} 已 {(as_of - book.as_of).days} 天：请导入新的台账",
                         f"the latest snapshot is of {book.as_of}, {(as_of - book.as_of).days} days before {as_of}: "
                         "import a fresh ledger"))
    return PoolStatus(as_of, book, cfg.unit, grades, outstanding, capacity,
                      outstanding / capacity if capacity else None,
                      outstanding / book.fund["balance"] if book.fund["balance"] > 0 else None,
                      live, borrowers, overdue, npl, by_grade, classes, conc, sector, lorenz(exposures.tolist()),
                      limits, warnings, hist, run, notes)


def _limits(cfg: PoolConfig, conc: dict[str, Any], live: pd.DataFrame, outstanding: float,
            grades: list[str]) -> list[dict[str, Any]]:
    lim = cfg.limits
    out = []

    def add(name: str, value: float | None, threshold: float | None) -> None:
        if threshold is None:
            return
        out.append({"limit": name, "value": value, "threshold": threshold,
                    "breached": value is not None and value > threshold + 1e-12})

    add("largest_single_share", conc["cr1"], lim["largest_single_share"])
    add("largest_single_amount", conc["largest"], lim["largest_single_amount"])
    add("top10_share", conc["cr10"], lim["top10_share"])
    if lim["low_grade"] is not None:
        low = set(grades[grades.index(lim["low_grade"]):])  # that grade, every lower one and the unrated
        amt = float(live.loc[live["grade_key"].isin(low), "outstanding"].sum())
        add("low_grade_share", amt / outstanding if outstanding else None, lim["low_grade_share"])
    return out


def _borrowers(loans: pd.DataFrame, results: dict[str, dict[str, Any]], run: dict[str, Any] | None) -> pd.DataFrame:
    """Quota granted vs drawn per enterprise: every borrower in the snapshot and every enterprise
    with a quota in the latest run."""
    cols = ["code", "name", "grade", "run_id", "quota", "loans", "contract", "outstanding", "headroom", "used",
            "grade_now", "quota_now"]
    rows = {}
    for key, sel in loans.groupby("key", sort=False):
        first = sel.iloc[0]
        linked = sel[sel["run_id"].notna()]
        last = linked.sort_values("disbursed", key=lambda s: s.map(lambda d: d or _dt.date.min)).iloc[-1] \
            if len(linked) else None
        quota = float(last["quota"]) if last is not None and not pd.isna(last["quota"]) else None
        out = float(sel["outstanding"].fillna(0).sum())
        now = results.get(first["code"] or "")
        rows[key] = {"code": first["code"] or "", "name": first["name"] or (now or {}).get("name"),
                     "grade": last["grade"] if last is not None else None,
                     "run_id": int(last["run_id"]) if last is not None else None, "quota": quota,
                     "loans": int((sel["outstanding"].fillna(0) > 0).sum()),
                     "contract": float(sel.loc[sel["outstanding"].fillna(0) > 0, "contract_amount"].fillna(0).sum()),
                     "outstanding": out, "headroom": (quota - out) if quota is not None else None,
                     "used": (out / quota) if quota else None,
                     "grade_now": (now or {}).get("grade"), "quota_now": (now or {}).get("quota")}
    for code, res in results.items():
        if res.get("quota") and code not in rows:
            rows[code] = {"code": code, "name": res["name"], "grade": res["grade"], "run_id": run["id"] if run else None,
                          "quota": float(res["quota"]), "loans": 0, "contract": 0.0, "outstanding": 0.0,
                          "headroom": float(res["quota"]), "used": 0.0, "grade_now": res["grade"],
                          "quota_now": res["quota"]}
    frame = pd.DataFrame(list(rows.values()), columns=cols)
    return frame.sort_values(["outstanding", "quota"], ascending=False, na_position="last").reset_index(drop=True)


def _fmt(v: float) -> str:
    return f"{v:,.2f}".rstrip("0").rstrip(".")


def early_warnings(loans: pd.DataFrame, live: pd.DataFrame, as_of: _dt.date, cfg: PoolConfig, grades: list[str],
                   results: dict[str, dict[str, Any]], run: dict[str, Any] | None, monitor: Any,
                   lang: str) -> list[dict[str, Any]]:
    """Loans overdue or paid by the pool, borrowers downgraded since disbursement or with new negative
    records, loans maturing within the horizon, loans that link to no rating."""
    en = lang == "en"
    out: list[dict[str, Any]] = []
    u = cfg.unit
    live_rows = live.to_dict("records")

    def add(loan_or_code, name, kind, detail, loan_no=None, amount=None, order=0.0):
        out.append({"code": loan_or_code, "name": name, "kind": kind, "detail": detail, "loan_no": loan_no,
                    "amount": amount, "_order": order})

    for x in live_rows:
        if x["dpd"] > 0:
            cls = f", {x['classification']}" if isinstance(x["classification"], str) else ""
            add(x["code"], x["name"], "overdue",
                f"loan {x['loan_no']}: {x['dpd']} days past due ({x['bucket']}{cls}), outstanding "
                f"{_fmt(x['outstanding'])} {u}" if en else
                f"贷款 {x['loan_no']} 逾期 {x['dpd']} 天（{x['bucket']}{'，' + x['classification'] if cls else ''}），"
                f"余额 {_fmt(x['outstanding'])} {u}", x["loan_no"], x["outstanding"], -x["dpd"])
    for x in loans.to_dict("records"):
        if x["paid_amount"] > 0 and x["recovered_amount"] < x["paid_amount"] - 1e-9:
            left = x["paid_amount"] - x["recovered_amount"]
            add(x["code"], x["name"], "guarantee_paid",
                f"loan {x['loan_no']}: the pool paid {_fmt(x['paid_amount'])} {u}"
                f"{' on ' + str(x['paid_date']) if x['paid_date'] else ''}, recovered {_fmt(x['recovered_amount'])}, "
                f"{_fmt(left)} still to recover" if en else
                f"贷款 {x['loan_no']} 资金池代偿 {_fmt(x['paid_amount'])} {u}"
                f"{'（' + str(x['paid_date']) + '）' if x['paid_date'] else ''}，已追回 {_fmt(x['recovered_amount'])}，"
                f"待追偿 {_fmt(left)}", x["loan_no"], left)
    if run is not None:
        order = {g: i for i, g in enumerate(grades)}
        seen = set()
        for x in live_rows:
            code = x["code"]
            if not isinstance(x["grade"], str) or code in seen or code not in results or x["run_id"] == run["id"]:
                continue
            now = results[code]["grade"]
            if now is None or order.get(now, 0) > order.get(x["grade"], 0):
                seen.add(code)
                what = now or ("not graded / vetoed" if en else "未评级/否决")
                add(code, x["name"], "downgraded",
                    f"{x['grade']} at disbursement (run #{x['run_id']}) → {what} in run #{run['id']} ({run['as_of']})"
                    if en else f"放款时 {x['grade']}（运行 #{x['run_id']}）→ 运行 #{run['id']}（{run['as_of']}）{what}")
    if monitor is not None:
        codes = set(live["code"])
        for kind, items in (("alert", monitor.alerts), ("watch", monitor.watch)):
            for a in items:
                if a["code"] not in codes:
                    continue
                reasons = ("; " if en else "；").join(a.get("reasons") or []) or ", ".join(
                    str(e.get("type") or e.get("key") or "") for e in a.get("events") or [])
                grade = (f"{a['grade_then']} → {a['grade_now'] or ('vetoed' if en else '否决')}"
                         if kind == "alert" else a["grade_then"])
                add(a["code"], a["name"], "new_negative",
                    f"new negative records since the rating ({grade}): {reasons}" if en
                    else f"评级后新增负面记录（{grade}）：{reasons}")
    horizon = as_of + _dt.timedelta(days=cfg.maturing_days)
    for x in live_rows:
        m = x["maturity"]
        if m is None or x["dpd"] > 0 or m > horizon:
            continue
        days = (m - as_of).days
        add(x["code"], x["name"], "maturing",
            (f"loan {x['loan_no']} matures on {m} (in {days} days), outstanding {_fmt(x['outstanding'])} {u}"
             if days >= 0 else f"loan {x['loan_no']} matured on {m} and is still outstanding ({_fmt(x['outstanding'])} {u})")
            if en else
            (f"贷款 {x['loan_no']} 将于 {m} 到期（{days} 天后），余额 {_fmt(x['outstanding'])} {u}" if days >= 0 else
             f"贷款 {x['loan_no']} 已于 {m} 到期仍未结清（余额 {_fmt(x['outstanding'])} {u}）"),
            x["loan_no"], x["outstanding"], days)
    for x in live_rows:
        if x["run_id"] is None:
            when = x["disbursed"] or ("no date" if en else "无放款日期")
            add(x["code"], x["name"], "unrated",
                f"loan {x['loan_no']} links to no rating in force at its disbursement ({when})" if en else
                f"贷款 {x['loan_no']} 在放款日（{when}）没有有效的入池评级", x["loan_no"], x["outstanding"])
    rank = {k: i for i, k in enumerate(WARNING_KINDS)}
    # By kind, then the worst first: most days past due, soonest maturity, largest amount.
    out.sort(key=lambda w: (rank[w["kind"]], w.pop("_order"), -(w["amount"] or 0), w["code"] or ""))
    return out


def pool_history(db: str | Path, *, model: Model) -> pd.DataFrame:
    """Per snapshot: as_of, loans, outstanding, fund balance, capacity, utilisation, NPL ratio, HHI."""
    cols = ["as_of", "loans", "borrowers", "outstanding", "fund_balance", "capacity", "utilisation", "overdue",
            "npl_ratio", "hhi", "equivalent_n", "gini"]
    rows = []
    for _, s in snapshots(db).iterrows():
        book = load_book(db, s["as_of"], model=model)
        live = book.loans[book.loans["outstanding"].fillna(0) > 0]
        keys = [_key(x) for x in live[["code", "loan_no"]].to_dict("records")]
        out = float(live["outstanding"].sum())
        npl = [is_npl(c, d) for c, d in zip(live["classification"], live["dpd"])]
        npl_amt = float(live.loc[npl, "outstanding"].sum()) if len(live) else 0.0
        conc = concentration(live.assign(k=keys).groupby("k")["outstanding"].sum().tolist() if len(live) else [])
        rows.append({"as_of": book.as_of, "loans": len(live), "borrowers": len(set(keys)), "outstanding": out,
                     "fund_balance": book.fund["balance"], "capacity": book.capacity,
                     "utilisation": out / book.capacity if book.capacity else None,
                     "overdue": float(live.loc[live["dpd"] > 0, "outstanding"].sum()),
                     "npl_ratio": npl_amt / out if out else None, "hhi": conc["hhi"],
                     "equivalent_n": conc["equivalent_n"], "gini": conc["gini"]})
    return pd.DataFrame(rows, columns=cols)
