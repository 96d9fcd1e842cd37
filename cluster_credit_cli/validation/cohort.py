"""Cohorts with outcomes: from an outcome file, or from the register and the pool's loan book.

Register: each borrower at the rating run in force when its loan(s) were disbursed (one
observation per borrower and run; several loans under one run count once, defaulted if any
did). The observation starts at the first disbursement under that run and runs ``horizon``
months; it counts only when that window has closed by the as-of date (the last loan snapshot
on or before it), so a young loan that has not defaulted *yet* does not count as good. A loan
has defaulted at the first snapshot where the configured definition holds (days past due over
the limit, paid by the pool, classified 次级 or worse), or at the pool's payment date if earlier.
"""

from __future__ import annotations

import datetime as _dt
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.dates import months_before
from cluster_credit_cli.i18n import say
from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems, UsageError
from cluster_credit_cli.validation.analysis import Cohort
from cluster_credit_cli.validation.outcomes import read_outcomes
from cluster_credit_cli.validation.settings import Settings


def months_after(day: _dt.date, months: int) -> _dt.date:
    return months_before(day, -months)


def _word(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def file_cohort(path: Path, model: Model, settings: Settings, *, lang: str = "zh",
                horizon_given: bool = False, as_of: _dt.date | None = None) -> Cohort:
    """The cohort of an outcome file. With ``horizon_given`` (``--horizon``) a default dated later
    than the horizon after the rating counts as no default within it (needs the default date);
    with ``as_of`` ratings dated after it are left out (counted)."""
    problems = Problems()
    frame = read_outcomes(path, model, problems, lang=lang)
    excluded: list[tuple[str, int]] = []
    if as_of is not None and len(frame):
        later = (frame["rating_date"] > as_of).to_numpy()
        if later.any():
            excluded.append((_word(lang, f"评级日期晚于 {as_of}", f"rated after {as_of}"), int(later.sum())))
            frame = frame[~later].reset_index(drop=True)
    if len(frame) and frame["default_date"].notna().any():
        dd = pd.to_datetime(frame["default_date"])
        rd = pd.to_datetime(frame["rating_date"])
        before = (dd < rd).to_numpy() & frame["defaulted"].to_numpy(dtype=bool)
        for i in np.flatnonzero(before):
            problems.add(Path(path).name, None, int(frame["_row"].iloc[i]), "default_date", "default_before_rating",
                         say("违约日期早于评级日期：评级时已违约，该行未计入",
                             "the default date is before the rating date (rated after defaulting): the row is left out"))
        if before.any():
            excluded.append((_word(lang, "评级前已违约", "defaulted before the rating"), int(before.sum())))
            frame = frame[~before].reset_index(drop=True)
        if horizon_given:
            ends = [months_after(d, settings.horizon_months) for d in frame["rating_date"]]
            late = np.array([bool(f) and pd.notna(x) and x > e for f, x, e in
                             zip(frame["defaulted"], frame["default_date"], ends)], dtype=bool)
            if late.any():
                frame.loc[late, "defaulted"] = False
                excluded.append((_word(lang, f"违约晚于评级后 {settings.horizon_months} 个月，计为未违约",
                                       f"defaulted later than {settings.horizon_months} months after the rating: "
                                       "counted as no default"), int(late.sum())))
    frame["run_id"] = None
    definition = _word(lang, f"按文件 {Path(path).name} 的“是否违约”列", f"as given in {Path(path).name} (column defaulted)")
    if horizon_given:
        definition += _word(lang, f"，{settings.horizon_months} 个月内", f", within {settings.horizon_months} months")
    return Cohort(frame=frame, source=Path(path).name, definition=definition,
                  horizon_months=settings.horizon_months if horizon_given else None,
                  excluded=excluded, problems=problems, as_of=as_of)


# -- the register ---------------------------------------------------------------------------------

def default_flags(loans: pd.DataFrame, settings: Settings) -> np.ndarray:
    """Rows of loan snapshots where the default definition holds."""
    flag = np.zeros(len(loans), dtype=bool)
    if "dpd" in settings.definition:
        flag |= pd.to_numeric(loans["dpd"], errors="coerce").fillna(0).to_numpy() > settings.dpd_days
    if "paid" in settings.definition:
        paid = pd.to_numeric(loans["paid_amount"], errors="coerce").fillna(0).to_numpy() > 0
        flag |= paid | (loans["status"].astype(object) == "代偿").to_numpy()
    if "class" in settings.definition:
        flag |= loans["classification"].isin(list(settings.classes)).to_numpy()
    return flag


def _date(v: Any) -> _dt.date | None:
    if v is None or (isinstance(v, float) and np.isnan(v)) or v is pd.NaT:
        return None
    if isinstance(v, _dt.datetime):
        return v.date()
    if isinstance(v, _dt.date):
        return v
    try:
        return pd.Timestamp(v).date()
    except (ValueError, TypeError):
        return None


def loan_outcomes(history: pd.DataFrame, settings: Settings) -> pd.DataFrame:
    """One row per loan: code, name, run_id, disbursed, default_date (None if never), last_seen."""
    if history.empty:
        return pd.DataFrame(columns=["loan_no", "code", "name", "run_id", "disbursed", "default_date", "last_seen"])
    h = history.copy()
    h["_snap"] = h["snapshot_as_of"].map(_date)
    h["_flag"] = default_flags(h, settings)
    rows = []
    for loan_no, g in h.groupby("loan_no", sort=True):
        g = g.sort_values("_snap")
        last = g.iloc[-1]
        hit = g[g["_flag"]]
        when = hit["_snap"].iloc[0] if len(hit) else None
        if "paid" in settings.definition and "paid_date" in g.columns:
            paid = [d for d in g["paid_date"].map(_date) if d is not None]
            if paid and (when is None or min(paid) < when):
                when = min(paid)
        run = last.get("run_id")
        rows.append({"loan_no": loan_no, "code": last["code"], "name": last.get("name"),
                     "run_id": None if run is None or pd.isna(run) else int(run),
                     "disbursed": _date(last["disbursed"]), "default_date": when, "last_seen": g["_snap"].iloc[-1]})
    return pd.DataFrame(rows)


def register_cohort(db: Path, model: Model, settings: Settings, *, as_of: _dt.date | None = None,
                    lang: str = "zh", history: pd.DataFrame | None = None) -> Cohort:
    """The cohort of the register's loan book (``pool.book.loan_history``) with the ratings at
    disbursement (the register's runs), the latest run as the reference, and the migrations."""
    from cluster_credit_cli.register.store import list_runs, opened, results_of

    if history is None:
        from cluster_credit_cli.pool.book import loan_history

        history = loan_history(db)
    if history is None or len(history) == 0:
        raise UsageError(say(f"{db}：评级登记簿中没有可用于验证的贷款台账快照；请先导入银行的贷款台账"
                             "（ccredit pool import 台账.xlsx --as-of 日期 --db 登记簿），或用 --outcomes 给出结果文件",
                             f"{db}: the register has no loan snapshots to validate against; import the bank's loan "
                             "ledger first (`ccredit pool import LEDGER.xlsx --as-of DATE --db REGISTER`), or give "
                             "--outcomes FILE"))
    snaps = sorted({d for d in history["snapshot_as_of"].map(_date) if d is not None})
    if as_of is not None:
        snaps = [d for d in snaps if d <= as_of]
        if not snaps:
            first = min(history['snapshot_as_of'].map(_date))
            raise UsageError(say(f"{db}：{as_of} 及之前没有贷款台账快照（最早的是 {first}）",
                                 f"{db}: no loan snapshot on or before {as_of} (the first is {first})"))
        history = history[history["snapshot_as_of"].map(_date) <= as_of]
    day = snaps[-1]
    loans = loan_outcomes(history, settings)
    excluded: list[tuple[str, int]] = []
    unlinked = loans["run_id"].isna()
    if unlinked.any():
        excluded.append((_word(lang, "贷款未关联到放款时有效的评级", "loans not linked to a rating in force at disbursement"),
                         int(unlinked.sum())))
    loans = loans[~unlinked]
    horizon = settings.horizon_months
    obs, undated = [], 0
    for (code, run_id), g in loans.groupby(["code", "run_id"], sort=True):
        days = [d for d in g["disbursed"] if d is not None and d == d]
        if not days:
            undated += 1
            continue
        start = min(days)
        end = months_after(start, horizon)
        defaults = [d for d in g["default_date"] if d is not None and start <= d <= end]
        obs.append({"code": code, "name": g["name"].iloc[0], "run_id": int(run_id), "start": start, "end": end,
                    "defaulted": bool(defaults), "default_date": min(defaults) if defaults else None,
                    "mature": end <= day})
    if undated:
        excluded.append((_word(lang, "贷款没有放款日期", "loans without a disbursement date"), undated))
    frame = pd.DataFrame(obs, columns=["code", "name", "run_id", "start", "end", "defaulted", "default_date", "mature"])
    young = ~frame["mature"].astype(bool) if len(frame) else pd.Series([], dtype=bool)
    if young.any():
        excluded.append((_word(lang, f"放款未满 {horizon} 个月（观察期未结束）", f"disbursed less than {horizon} months "
                               f"before {day} (window still open)"), int(young.sum())))
    frame = frame[~young].reset_index(drop=True)

    with opened(db) as conn:
        runs = {r["id"]: r for r in list_runs(db)}
        results = {rid: {r["code"]: r for r in results_of(conn, rid)} for rid in sorted(set(frame["run_id"]))}
    # The rating of each observation and its indicator scores.
    scores, grades, dims, leaves = [], [], [], []
    for _, r in frame.iterrows():
        res = results.get(r["run_id"], {}).get(r["code"])
        scores.append(res["total"] if res else np.nan)
        grades.append(res["grade"] if res else None)
        dims.append((res or {}).get("dimensions") or {})
        leaves.append((res or {}).get("scores") or {})
    frame["score"] = pd.array(scores, dtype=float) if len(frame) else pd.Series([], dtype=float)
    frame["grade"] = grades
    frame["pd"] = np.nan
    frame["rating_date"] = [runs[rid]["as_of"] if rid in runs else None for rid in frame["run_id"]]
    ungraded = frame["grade"].isna()
    if ungraded.any():
        excluded.append((_word(lang, "放款时的评级无等级（否决、材料不全等）", "no grade in the rating at disbursement "
                               "(vetoed, incomplete ...)"), int(ungraded.sum())))
        keep = ~ungraded.to_numpy()
        frame, dims, leaves = frame[keep].reset_index(drop=True), [x for x, k in zip(dims, keep) if k], \
            [x for x, k in zip(leaves, keep) if k]
    keys_dim = [k for k in model.nodes if not model.nodes[k].is_leaf]
    keys_leaf = model.leaves()
    ind = pd.DataFrame({**{k: [x.get(k, np.nan) for x in dims] for k in keys_dim},
                        **{k: [x.get(k, np.nan) for x in leaves] for k in keys_leaf}}, dtype=float)
    ind = ind.loc[:, ind.notna().any()] if len(ind) else ind
    meta = {k: {"name": model.nodes[k].name, "name_en": model.nodes[k].name_en,
                "level": "leaf" if model.nodes[k].is_leaf else "dimension"} for k in ind.columns}

    reference, ref_label = latest_reference(db, model, lang, admitted=True)
    return Cohort(frame=frame, source="register", definition=settings.describe(lang), horizon_months=horizon,
                  indicators=ind, indicator_meta=meta, excluded=excluded, reference=reference,
                  reference_label=ref_label, migrations=migrations(db, model), as_of=day)


def latest_reference(db: Path, model: Model, lang: str = "zh", *,
                     admitted: bool = False) -> tuple[pd.DataFrame | None, str | None]:
    """The graded enterprises of the register's latest run (score, grade, leaf scores) and its label.
    ``admitted``: only those granted a quota, the population a loan cohort is drawn from."""
    from cluster_credit_cli.register.store import get_run, list_runs, opened, results_of

    if not list_runs(db):
        return None, None
    with opened(db) as conn:
        latest = get_run(conn)
        graded = [r for r in results_of(conn, latest["id"]) if r["grade"] and (not admitted or (r["quota"] or 0) > 0)]
    keys = model.leaves()
    frame = pd.DataFrame({"code": [r["code"] for r in graded], "score": [r["total"] for r in graded],
                          "grade": [r["grade"] for r in graded],
                          **{k: [(r.get("scores") or {}).get(k, np.nan) for r in graded] for k in keys}})
    frame["score"] = pd.to_numeric(frame["score"], errors="coerce")
    label = _word(lang, f"运行 #{latest['id']}（{latest['as_of']}）", f"run #{latest['id']} ({latest['as_of']})")
    if admitted:
        label += _word(lang, "获得额度的企业", ", enterprises granted a quota")
    return frame, label


def migrations(db: Path, model: Model) -> list[dict[str, Any]]:
    """The grade-to-grade migration matrix of each pair of consecutive runs (graded in both)."""
    from cluster_credit_cli.register.store import compare_runs, list_runs

    runs = list_runs(db)
    labels = model.grade_labels()
    out = []
    for a, b in zip(runs, runs[1:]):
        cmp = compare_runs(db, a["id"], b["id"])
        matrix = [[cmp.matrix.get(x, {}).get(y, 0) for y in labels] for x in labels]
        out.append({"from": a["id"], "to": b["id"], "from_as_of": a["as_of"], "to_as_of": b["as_of"], "matrix": matrix})
    return out
