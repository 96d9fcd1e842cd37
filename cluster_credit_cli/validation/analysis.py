"""The validation of a cohort: discrimination, calibration, stability, and whether it is enough.

``validate(cohort, settings, model)`` takes a ``Cohort`` (one row per rated obligor with its
outcome, from the register or an outcome file) and returns a ``Validation``: plain data with
``to_json()`` (the documented JSON), ``red`` (a test is red: exit 1) and ``summary_lines``.
"""

from __future__ import annotations

import datetime as _dt
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from cluster_credit_cli.model.config import Model
from cluster_credit_cli.problems import Problems
from cluster_credit_cli.rating.grades import grade_of, round_half_up
from cluster_credit_cli.validation import stats
from cluster_credit_cli.validation.settings import Settings


PLANNING_AUC = 0.75  # the AUC the "defaults needed" figure is planned for (at most)


@dataclass
class Cohort:
    """Rated obligors with outcomes. ``frame`` columns: code, name, rating_date, score, grade, pd
    (NaN unless the source gives one), defaulted (bool), run_id (None for a file); ``indicators``:
    same index, one column per dimension / leaf key (points or 0–100 scores)."""

    frame: pd.DataFrame
    source: str  # "register" | the outcome file's name
    definition: str  # the default definition in words (the output's language)
    horizon_months: int | None  # None: as the file says (the bank's own horizon)
    indicators: pd.DataFrame | None = None
    indicator_meta: dict[str, dict[str, Any]] = field(default_factory=dict)  # key -> name, name_en, level
    excluded: list[tuple[str, int]] = field(default_factory=list)  # (reason in words, count)
    reference: pd.DataFrame | None = None  # the latest round: score, grade, indicator keys
    reference_label: str | None = None  # e.g. "run #7 (2026-12-31)"
    migrations: list[dict[str, Any]] = field(default_factory=list)  # {"from", "to", "matrix" K×K in grade order}
    problems: Problems = field(default_factory=Problems)
    as_of: _dt.date | None = None


@dataclass
class Validation:
    cohort: Cohort
    settings: Settings
    lang: str
    grade_order: list[str]
    score_kind: str  # "score" | "grade" (AUC on the grade's rank when no scores are given)
    n: int
    defaults: int
    auc: stats.Auc
    ks: stats.KS
    roc: list[tuple[float, float]]
    cap: list[tuple[float, float]]
    auc_light: str | None
    grades: list[dict[str, Any]]
    pd_source: str | None
    monotonic: bool | None
    monotonic_breaks: list[tuple[str, str]]
    hosmer_lemeshow: tuple[float, int, float] | None
    hl_light: str | None
    psi_score: float | None
    psi_grade: float | None
    psi_lights: dict[str, str | None]
    psi_tables: dict[str, list[dict[str, Any]]]
    csi: list[dict[str, Any]]
    indicators: list[dict[str, Any]]
    migration: list[dict[str, Any]]
    needed_defaults: int | None
    conclusive: bool
    note: str
    notes: list[str]
    meta: dict[str, Any] = field(default_factory=dict)  # model name, file, hash; tool version

    @property
    def lights(self) -> list[str]:
        out = [self.auc_light, self.hl_light, *self.psi_lights.values(), *(g["light"] for g in self.grades)]
        return [x for x in out if x]

    @property
    def red(self) -> bool:
        return "red" in self.lights

    def to_json(self) -> dict[str, Any]:
        a = self.auc
        hl = self.hosmer_lemeshow
        return {
            "horizon_months": self.cohort.horizon_months,
            "definition": self.cohort.definition,
            "n": self.n,
            "defaults": self.defaults,
            "auc": _r(a.auc),
            "auc_ci": [_r(a.ci[0]), _r(a.ci[1])] if a.ci else None,
            "accuracy_ratio": _r(a.accuracy_ratio),
            "ks": _r(self.ks.ks),
            "ks_score": self.ks.score if self.score_kind == "score" else _grade_at(self, self.ks.score),
            "grades": [{k: g[k] for k in ("grade", "n", "defaults", "observed_rate", "pd", "binomial_p", "jeffreys_p",
                                          "light")} for g in self.grades],
            "monotonic": self.monotonic,
            "hosmer_lemeshow": {"statistic": _r(hl[0]), "df": hl[1], "p": _r(hl[2])} if hl else None,
            "psi": {"score": _r(self.psi_score), "grade": _r(self.psi_grade)},
            "indicators": [{"key": i["key"], "auc": _r(i["auc"])} for i in self.indicators],
            "conclusive": self.conclusive,
            "note": self.note,
        }


def _r(x: float | None, digits: int = 6) -> float | None:
    return None if x is None or (isinstance(x, float) and np.isnan(x)) else round(float(x), digits)


def _grade_at(v: "Validation", value: float | None) -> str | None:
    """With grade-rank scores, the KS point names a grade."""
    if value is None:
        return None
    k = len(v.grade_order) - int(round(value))
    return v.grade_order[k] if 0 <= k < len(v.grade_order) else None


def _word(lang: str, zh: str, en: str) -> str:
    return en if lang == "en" else zh


def grade_order(frame: pd.DataFrame, model: Model) -> list[str]:
    """Best grade first: the model's order when the grades are the model's; else by the mean PD
    (ascending) or the mean score (descending) of each grade; else alphabetical."""
    present = [g for g in pd.unique(frame["grade"].dropna()) if g]
    labels = model.grade_labels()
    if all(g in labels for g in present):
        return [g for g in labels]
    by = frame.dropna(subset=["grade"]).groupby("grade")
    if frame["pd"].notna().any():
        return list(by["pd"].mean().sort_values(kind="stable").index)
    if frame["score"].notna().any():
        return list(by["score"].mean().sort_values(ascending=False, kind="stable").index)
    return sorted(present)


def _auc_light(auc: stats.Auc, s: Settings) -> str | None:
    """Red only when the AUC is shown to be poor (its whole 95 % interval below auc_red); yellow when
    the estimate is below auc_yellow (or below auc_red without the evidence to call it red)."""
    if auc.auc is None or auc.ci is None:  # no interval (fewer than two of a class): no verdict
        return None
    hi = auc.ci[1]
    return "red" if hi < s.auc_red else "yellow" if auc.auc < s.auc_yellow else "green"


def _psi_light(value: float | None, s: Settings) -> str | None:
    if value is None:
        return None
    return "red" if value > s.psi_red else "yellow" if value > s.psi_yellow else "green"


def validate(cohort: Cohort, settings: Settings, model: Model, *, lang: str = "zh") -> Validation:
    frame = cohort.frame.copy()
    notes: list[str] = []
    if "pd" not in frame.columns:
        frame["pd"] = np.nan
    # Grades from the model's bands where only a score is given (stated).
    no_grade = frame["grade"].isna() & frame["score"].notna()
    if no_grade.any():
        frame.loc[no_grade, "grade"] = grade_of(round_half_up(frame.loc[no_grade, "score"].to_numpy(),
                                                              model.grade_decimals), model)
        notes.append(_word(lang, f"{int(no_grade.sum())} 条记录只有评分：等级按模型的等级标准由评分得出",
                           f"{int(no_grade.sum())} rows give only a score: their grade follows from the model's bands"))
    order = grade_order(frame, model)
    bad = frame["defaulted"].to_numpy(dtype=bool)
    n, d = len(frame), int(bad.sum())

    # Discrimination: on the score where every row has one, else on the grade's rank.
    if frame["score"].notna().all() and n:
        score_kind, score = "score", frame["score"].to_numpy(dtype=float)
    elif frame["grade"].notna().all() and n:
        score_kind = "grade"
        rank = {g: len(order) - i for i, g in enumerate(order)}
        score = frame["grade"].map(rank).to_numpy(dtype=float)
        if frame["score"].notna().any():
            notes.append(_word(lang, "部分记录没有评分：区分能力按等级计算", "some rows have no score: discrimination is "
                                                                     "measured on the grades"))
    else:
        score_kind, score = "score", frame["score"].to_numpy(dtype=float)
    if n and score_kind == "score" and frame["score"].isna().any():
        left = int(frame["score"].isna().sum())
        notes.append(_word(lang, f"{left} 条记录没有评分，未计入区分能力", f"{left} rows without a score are left out of "
                                                                   "the discrimination measures"))
    auc = stats.auc_delong(score, bad)
    ks = stats.ks(score, bad)

    # Calibration per grade.
    pd_table, pd_source = dict(settings.pd), settings.pd_source
    if frame["pd"].notna().any():
        pd_table = {g: float(v) for g, v in frame.groupby("grade")["pd"].mean().dropna().items()}
        pd_source = "file"
    grades = []
    for g in order:
        mask = (frame["grade"] == g).to_numpy()
        gt = stats.grade_test(int(mask.sum()), int(bad[mask].sum()), pd_table.get(g))
        p = gt.jeffreys_p if settings.light_test == "jeffreys" else gt.binomial_p
        grades.append({"grade": g, "n": gt.n, "defaults": gt.defaults, "observed_rate": _r(gt.observed),
                       "pd": gt.pd, "binomial_p": _r(gt.binomial_p), "jeffreys_p": _r(gt.jeffreys_p),
                       "light": stats.light(p, settings.p_yellow, settings.p_red) if gt.n else None,
                       "ci": gt.ci, "expected": gt.expected})
    if not pd_table:
        notes.append(_word(lang, "没有各等级的违约概率（PD）表：校准检验未做（在模型文件 [validation].pd 或 [risk].pd 中设定）",
                           "no PD per grade: calibration tests are not done (set [validation].pd or [risk].pd in the "
                           "model file)"))
    used = [g for g in grades if g["n"]]
    mono, breaks = stats.monotonic([g["observed_rate"] for g in used]) if used else (None, [])
    mono_breaks = [(used[i]["grade"], used[i + 1]["grade"]) for i in breaks]
    hl = stats.hosmer_lemeshow([g["n"] for g in used], [g["defaults"] for g in used], [g["pd"] for g in used])
    hl_light = stats.light(hl[2], settings.p_yellow, settings.p_red) if hl else None

    # Stability against the latest round.
    psi_score = psi_grade = None
    psi_tables: dict[str, list[dict[str, Any]]] = {"score": [], "grade": []}
    csi: list[dict[str, Any]] = []
    ref = cohort.reference
    if ref is not None and len(ref):
        if score_kind == "score" and ref["score"].notna().any():
            edges = stats.score_bins(score)
            e, a = stats.binned_counts(score, edges), stats.binned_counts(ref["score"].to_numpy(dtype=float), edges)
            psi_score = stats.psi(e, a)
            psi_tables["score"] = _bin_rows(edges, e, a)
        e = np.array([(frame["grade"] == g).sum() for g in order])
        a = np.array([(ref["grade"] == g).sum() for g in order])
        psi_grade = stats.psi(e, a)
        psi_tables["grade"] = [{"bin": g, "expected": int(x), "actual": int(y)} for g, x, y in zip(order, e, a)]
        if cohort.indicators is not None:
            for key in cohort.indicators.columns:
                if key not in ref.columns or cohort.indicator_meta.get(key, {}).get("level") != "leaf":
                    continue
                mine = cohort.indicators[key].to_numpy(dtype=float)
                edges = stats.score_bins(mine)
                e, a = stats.binned_counts(mine, edges), stats.binned_counts(ref[key].to_numpy(dtype=float), edges)
                value = stats.psi(e, a)
                csi.append({"key": key, "csi": value, "light": _psi_light(value, settings)})
    elif ref is None:
        notes.append(_word(lang, "没有最新一轮评级可比：稳定性（PSI）未算（给出 --db 登记簿）",
                           "no latest round to compare with: stability (PSI) is not computed (give the register, --db)"))
    psi_lights = {"score": _psi_light(psi_score, settings), "grade": _psi_light(psi_grade, settings)}

    # Discrimination per dimension and leaf.
    indicators = []
    if cohort.indicators is not None:
        for key in cohort.indicators.columns:
            r = stats.auc_delong(cohort.indicators[key].to_numpy(dtype=float), bad)
            meta = cohort.indicator_meta.get(key, {})
            indicators.append({"key": key, "name": meta.get("name_en") if lang == "en" and meta.get("name_en")
                               else meta.get("name", key), "level": meta.get("level"), "auc": r.auc,
                               "ci": r.ci, "n": r.n_good + r.n_bad})

    migration = []
    for mig in cohort.migrations:
        migration.append({**{k: mig[k] for k in ("from", "to")}, **stats.migration_stability(mig["matrix"])})

    # Enough defaults to conclude?
    half = settings.auc_half_width
    if 0 < d < n:
        # Planned at the observed AUC but at most PLANNING_AUC: an AUC from a few defaults may look
        # better than it is, and a higher AUC would promise a narrower interval than it delivers.
        rate = d / n
        needed = stats.defaults_needed(min(auc.auc, PLANNING_AUC), rate, half)
    else:  # no AUC to go by: plan with PLANNING_AUC at the default rate the PD table expects
        with_pd = [g for g in used if g["pd"] is not None]
        rate = sum(g["n"] * g["pd"] for g in with_pd) / sum(g["n"] for g in with_pd) if with_pd else None
        needed = stats.defaults_needed(PLANNING_AUC, rate, half) if rate else None
    conclusive = bool(d and d < n and needed is not None and d >= needed)
    note = _note(lang, n, d, needed, half, conclusive, rate)
    from cluster_credit_cli import __version__

    meta = {"model": model.name, "model_file": str(model.path), "model_hash": model.hash, "tool_version": __version__}
    return Validation(cohort, settings, lang, order, score_kind, n, d, auc, ks, stats.roc_points(score, bad),
                      stats.cap_points(score, bad), _auc_light(auc, settings), grades, pd_source, mono,
                      mono_breaks, hl, hl_light, psi_score, psi_grade, psi_lights, psi_tables, csi, indicators,
                      migration, needed, conclusive, note, notes, meta)


def _bin_rows(edges: np.ndarray, e: np.ndarray, a: np.ndarray) -> list[dict[str, Any]]:
    out = []
    bounds = [-np.inf, *edges.tolist(), np.inf]
    for i, (x, y) in enumerate(zip(e, a)):
        lo, hi = bounds[i], bounds[i + 1]
        label = (f"< {hi:.2f}" if lo == -np.inf else f"≥ {lo:.2f}" if hi == np.inf else f"{lo:.2f} – {hi:.2f}")
        out.append({"bin": label, "expected": int(x), "actual": int(y)})
    return out


def _note(lang: str, n: int, d: int, needed: int | None, half: float, conclusive: bool, rate: float | None) -> str:
    en = lang == "en"
    if n == 0:
        return "The cohort is empty: nothing to validate." if en else "样本为空：无可检验。"
    if d == 0:
        head = (f"{n} rated, no defaults: discrimination cannot be measured and a PD that is too low cannot be shown."
                if en else f"共 {n} 户，无违约：无法衡量区分能力，也无法证明违约概率偏低。")
    elif d == n:
        head = (f"{n} rated, all defaulted: discrimination cannot be measured." if en
                else f"共 {n} 户，全部违约：无法衡量区分能力。")
    elif conclusive:
        return (f"{d} defaults among {n}: enough for the AUC's 95 % interval to be within ±{half:.2f}." if en
                else f"共 {n} 户、违约 {d} 户：足以使 AUC 的 95% 区间不宽于 ±{half:.2f}。")
    else:
        head = (f"{d} defaults among {n}: too few to conclude." if en
                else f"共 {n} 户、违约 {d} 户：违约太少，尚不能下结论。")
    if needed is None:
        return head
    total = f"{int(np.ceil(needed / rate)):,}" if rate else None
    assumed = not 0 < d < n
    if en:
        tail = ((" Assuming an AUC of 0.75 and the PD table's default rate, a" if assumed else " A") +
                f"bout {needed} defaults would be needed for the AUC's 95 % interval to be within ±{half:.2f}"
                + (f" (about {total} rated obligors at the present default rate)." if total else "."))
    else:
        tail = (("假定 AUC 为 0.75、违约率如 PD 表，" if assumed else "") + f"AUC 的 95% 区间要窄到 ±{half:.2f}，约需 {needed} 户违约" + (f"（按目前违约率约需 {total} 户）。" if total else "。"))
    return head + tail
