"""Analytic hierarchy process (AHP): pairwise matrices to weights, consistency, hierarchy.

Pure numpy, plain data in and out. The pieces:

* ``parse_value`` / ``parse_matrix``: a sheet's cells (numbers, ``"1/3"``, ``"３"``, blanks) to a
  matrix with NaN for missing judgments, plus Problems-style records (file, sheet, row, column,
  code, message). Blanks *below* the diagonal are reciprocals of the cell above; a judgment
  missing on both sides of the diagonal is missing, never read as 1.
* ``complete_matrix``: the Bozóki–Fülöp–Rónyai (2010) completion, which chooses the missing
  judgments that minimise λmax. λmax is a convex function of the logarithms of the missing
  entries, so any descent reaches the optimum: one missing entry is a 1-D golden-section search;
  several use a quasi-Newton descent with the exact gradient (BFR's cyclic coordinates reach the
  same point, only more slowly). The completion is unique only when the known judgments connect
  all items; when they do not, the matrix is reported instead of completed.
* ``analyse_matrix``: local weights (principal eigenvector by default, or normalised row
  geometric means), λmax, CI = (λmax − n)/(n − 1), CR = CI / RI(n) against a chosen RI table, a
  flag when CR ≥ 0.10 and the judgments most responsible (largest |ln(a_ij·w_j/w_i)|, with the
  value that would be consistent with the weights). λmax is always the matrix's principal
  eigenvalue, whichever weighting method is chosen, so the CR does not depend on the method.
* ``aggregate_geometric``: several experts' matrices combined entry by entry by the geometric mean
  (AIJ, aggregation of individual judgments); an entry missing for some experts is the geometric
  mean of those who gave it.
* ``analyse_hierarchy``: one matrix per node; the root is the node no other node names as a child;
  global weight = parent's global weight × local weight.
"""

from __future__ import annotations

import math
import re
import unicodedata
from dataclasses import dataclass, field
from typing import Any, Iterable, Sequence

import numpy as np

from cluster_credit_cli.problems import Problems

CR_THRESHOLD = 0.10
RECIPROCITY_TOLERANCE = 0.05  # |a_ij·a_ji − 1| allowed: 0.33 against 3 is a reciprocal, 0.5 against 3 is not
SAATY_SCALE = (1 / 9, 9.0)

# Random Index tables, n -> RI. n = 1, 2 are 0 in every table (such matrices are always consistent).
RI_TABLES: dict[str, dict[int, float]] = {
    # Saaty (1980), The Analytic Hierarchy Process; n = 11..15 as extended by Saaty.
    "saaty": {3: 0.58, 4: 0.90, 5: 1.12, 6: 1.24, 7: 1.32, 8: 1.41, 9: 1.45, 10: 1.49,
              11: 1.51, 12: 1.48, 13: 1.56, 14: 1.57, 15: 1.59},
    # Alonso & Lamata (2006), Int. J. Uncertainty, Fuzziness and Knowledge-Based Systems 14(4).
    "alonso-lamata": {3: 0.5245, 4: 0.8815, 5: 1.1086, 6: 1.2479, 7: 1.3417, 8: 1.4056, 9: 1.4499,
                      10: 1.4854, 11: 1.5141, 12: 1.5365, 13: 1.5551, 14: 1.5713, 15: 1.5838},
    # Donegan & Dodd (1991), Mathematical and Computer Modelling 15(10), 135-137.
    "donegan-dodd": {3: 0.4914, 4: 0.8286, 5: 1.0591, 6: 1.1797, 7: 1.2519, 8: 1.3171, 9: 1.3733,
                     10: 1.4055, 11: 1.4213, 12: 1.4497, 13: 1.4643, 14: 1.4822, 15: 1.4969},
    # The table printed in Chinese textbooks (e.g. 数学建模 courses).
    "cn-textbook": {3: 0.52, 4: 0.89, 5: 1.12, 6: 1.26, 7: 1.36, 8: 1.41, 9: 1.46, 10: 1.49,
                    11: 1.52, 12: 1.54, 13: 1.56, 14: 1.58, 15: 1.59},
}
RI_LABELS = {
    "saaty": ("Saaty 经典表 (1980)", "Saaty classic (1980)"),
    "alonso-lamata": ("Alonso–Lamata (2006)", "Alonso–Lamata (2006)"),
    "donegan-dodd": ("Donegan–Dodd (1991)", "Donegan–Dodd (1991)"),
    "cn-textbook": ("国内教材表", "Chinese textbook table"),
}
METHODS = ("eigen", "geometric")


def random_index(n: int, table: str = "saaty") -> float | None:
    """RI for an n×n matrix, 0 for n ≤ 2, None when the table does not reach n."""
    if table not in RI_TABLES:
        raise ValueError(f"unknown RI table {table!r}; choose one of {', '.join(RI_TABLES)}")
    if n <= 2:
        return 0.0
    return RI_TABLES[table].get(n)


# -- parsing -----------------------------------------------------------------------------------

_FRACTION = re.compile(r"^([0-9]*\.?[0-9]+)\s*/\s*([0-9]*\.?[0-9]+)$")


def parse_value(value: Any) -> float:
    """A judgment cell as a number; NaN for a blank. Raises ValueError for anything else.

    Accepts numbers, numeric text, fractions ``"1/3"`` and full-width forms (``"１／３"``).
    """
    if value is None:
        return math.nan
    if isinstance(value, bool):
        raise ValueError(str(value))
    if isinstance(value, (int, float, np.integer, np.floating)):
        return float(value)
    text = unicodedata.normalize("NFKC", str(value)).strip().replace("÷", "/")
    if text == "":
        return math.nan
    match = _FRACTION.match(text)
    if match:
        den = float(match.group(2))
        if den == 0:
            raise ValueError(text)
        return float(match.group(1)) / den
    try:
        return float(text)
    except ValueError:
        raise ValueError(text) from None


def column_letter(index: int) -> str:
    """0-based column index to spreadsheet letters (0 -> A)."""
    letters = ""
    index += 1
    while index:
        index, rem = divmod(index - 1, 26)
        letters = chr(65 + rem) + letters
    return letters


@dataclass
class PairwiseMatrix:
    """One expert's judgments for one node: ``values[i, j]`` = how much more item i than j; NaN = missing."""

    node: str
    names: list[str]
    values: np.ndarray
    expert: str | None = None
    file: str = ""
    sheet: str | None = None
    labels: dict[str, str] = field(default_factory=dict)  # display names for messages (default: the names)
    cells: dict[tuple[int, int], str] = field(default_factory=dict)  # (i, j), i < j -> cell the judgment came from
    title: str = ""  # the block's top-left cell (the template writes the parent's name there)
    where: str = ""  # how messages name this matrix when it is no one file's (an aggregate)

    def label(self, name: str) -> str:
        return self.labels.get(name, name)

    @property
    def n(self) -> int:
        return len(self.names)

    def missing_pairs(self) -> list[tuple[int, int]]:
        n = self.n
        return [(i, j) for i in range(n) for j in range(i + 1, n) if np.isnan(self.values[i, j])]


def _label(value: Any) -> str:
    return unicodedata.normalize("NFKC", str(value)).strip() if value is not None else ""


def _key(value: Any) -> str:
    """Names are compared after width (NFKC) and whitespace normalisation only: case, brackets and
    their contents count, so "Tom (Education)" and "Tom (Experience)" are two items."""
    return re.sub(r"\s+", "", _label(value))


def parse_matrix(rows: Sequence[Sequence[Any]], *, node: str, problems: Problems, file: str = "",
                 sheet: str | None = None, expert: str | None = None, first_row: int = 1,
                 first_col: int = 0, lang: str = "zh") -> PairwiseMatrix | None:
    """Cells of one block (names along its first row and first column) to a ``PairwiseMatrix``.

    ``first_row`` is the spreadsheet row (1-based) of ``rows[0]`` and ``first_col`` the 0-based
    column of ``rows[r][0]``, so problems point at the real cell. Returns None when the block is
    unusable (names do not match, not square, bad cells); every reason is added to ``problems``.
    """
    zh = lang != "en"
    where = f"{file}" + (f"[{sheet}]" if sheet else "")
    wz, we = (f"{where}：", f"{where}: ") if where else ("", "")
    who = (f"（专家 {expert}）" if zh else f" (expert {expert})") if expert else ""
    errors_before = sum(1 for p in problems if p.severity == "error")

    def add(row, col, code, zh_msg, en_msg, severity="error"):
        cell = column_letter(first_col + col) if col is not None else None
        problems.add(file, sheet, (first_row + row) if row is not None else None, cell, code,
                     (zh_msg if zh else en_msg) + who, severity)

    rows = [list(r) for r in rows]
    header = rows[0] if rows else []
    col_names = [_label(v) for v in header[1:]]
    while col_names and col_names[-1] == "":
        col_names.pop()
    body = [r for r in rows[1:] if _label(r[0] if r else "")]
    row_names = [_label(r[0]) for r in body]
    if not col_names or not row_names:
        add(0, 0, "ahp_empty", f"{wz}节点 {node} 没有判断矩阵（第一行和第一列应为下级指标名称）",
            f"{we}node {node} has no pairwise matrix (children's names go along the first row and column)")
        return None
    if len(set(map(_key, col_names))) != len(col_names):
        keys = [_key(x) for x in col_names]
        twice = "、".join(dict.fromkeys(x for x, k in zip(col_names, keys) if keys.count(k) > 1))
        add(0, None, "ahp_duplicate_name", f"{wz}第一行有重复的指标名称：{twice}",
            f"{we}a name appears twice in the first row: {twice}")
        return None
    if len(row_names) != len(col_names):
        add(0, None, "ahp_not_square",
            f"{wz}矩阵不是方阵：第一行 {len(col_names)} 个名称，第一列 {len(row_names)} 个",
            f"{we}the matrix is not square: {len(col_names)} names in the first row, {len(row_names)} in the first column")
        return None
    col_index = {_key(n): j for j, n in enumerate(col_names)}
    if set(map(_key, row_names)) != set(col_index):
        only_rows = sorted(set(row_names) - set(col_names))
        only_cols = sorted(set(col_names) - set(row_names))
        add(0, None, "ahp_names_mismatch",
            f"{wz}第一行与第一列的名称不一致（只在列：{'、'.join(only_rows) or '-'}；只在行：{'、'.join(only_cols) or '-'}），请使两者相同",
            f"{we}the names along the first row and first column differ (only in the column: "
            f"{', '.join(only_rows) or '-'}; only in the row: {', '.join(only_cols) or '-'}); make them the same")
        return None
    n = len(col_names)
    raw = np.full((n, n), np.nan)
    # position of each (row-name order) row in the sheet; matrix order follows the first row
    sheet_row_of = {}
    ok = True
    body_rows = [i for i, r in enumerate(rows) if i > 0 and _label(r[0] if r else "")]
    for r_pos, r_idx in enumerate(body_rows):
        i = col_index[_key(row_names[r_pos])]
        sheet_row_of[i] = r_idx
        cells = rows[r_idx]
        for j in range(n):
            c = j + 1
            value = cells[c] if c < len(cells) else None
            try:
                x = parse_value(value)
            except ValueError:
                add(r_idx, c, "ahp_bad_value",
                    f"{wz}{row_names[r_pos]} 对 {col_names[j]} 的判断 {value!r} 不是数字或分数（如 3 或 1/3）",
                    f"{we}judgment {value!r} of {row_names[r_pos]} over {col_names[j]} is not a number or fraction (e.g. 3 or 1/3)")
                ok = False
                continue
            if not np.isnan(x) and x <= 0:
                add(r_idx, c, "ahp_not_positive",
                    f"{wz}{row_names[r_pos]} 对 {col_names[j]} 的判断 {value!r} 必须大于 0",
                    f"{we}judgment {value!r} of {row_names[r_pos]} over {col_names[j]} must be greater than 0")
                ok = False
                continue
            raw[i, j] = x
    if not ok:
        return None
    values = np.full((n, n), np.nan)
    cells: dict[tuple[int, int], str] = {}

    def ref(r_idx: int, c: int) -> str:
        return f"{column_letter(first_col + c)}{first_row + r_idx}"
    for i in range(n):
        d = raw[i, i]
        if not np.isnan(d) and not math.isclose(d, 1.0, rel_tol=1e-9):
            add(sheet_row_of[i], i + 1, "ahp_diagonal",
                f"{wz}对角线上 {col_names[i]} 与自身的比较应为 1，现为 {d:g}",
                f"{we}the diagonal entry of {col_names[i]} against itself must be 1, found {d:g}")
            ok = False
        values[i, i] = 1.0
    for i in range(n):
        for j in range(i + 1, n):
            # i < j in first-row order: (i, j) is above the diagonal, the judgment experts fill in.
            up, low = i, j
            a, b = raw[up, low], raw[low, up]
            if np.isnan(a) and np.isnan(b):
                continue
            cells[(up, low)] = ref(sheet_row_of[up], low + 1)
            if np.isnan(a):
                a = 1.0 / b
                cells[(up, low)] = ref(sheet_row_of[low], up + 1)
            elif not np.isnan(b) and abs(a * b - 1.0) > RECIPROCITY_TOLERANCE:
                add(sheet_row_of[low], up + 1, "ahp_not_reciprocal",
                    f"{wz}{col_names[low]} 对 {col_names[up]} 为 {b:g}，应为对称位置 {a:g} 的倒数 {1 / a:.4g}；下三角可留空",
                    f"{we}{col_names[low]} over {col_names[up]} is {b:g} but must be the reciprocal {1 / a:.4g} "
                    f"of {a:g} across the diagonal; the lower triangle may be left blank")
                ok = False
                continue
            values[up, low] = a
            values[low, up] = 1.0 / a
            if not (SAATY_SCALE[0] - 1e-9 <= a <= SAATY_SCALE[1] + 1e-9):
                add(sheet_row_of[up], low + 1, "ahp_off_scale",
                    f"{wz}判断值 {a:g} 超出 1–9 标度（1/9 至 9）",
                    f"{we}judgment {a:g} is outside Saaty's 1–9 scale (1/9 to 9)", severity="warning")
    if not ok or sum(1 for p in problems if p.severity == "error") > errors_before:
        return None
    title = _label(header[0]) if header else ""
    return PairwiseMatrix(node=node, names=col_names, values=values, expert=expert, file=file, sheet=sheet,
                          cells=cells, title=title)


# -- completion (Bozóki–Fülöp–Rónyai) --------------------------------------------------------------

def lambda_max(matrix: np.ndarray) -> float:
    """The Perron (largest real) eigenvalue of a positive matrix."""
    return float(np.max(np.linalg.eigvals(matrix).real))


def _connected(n: int, known: Iterable[tuple[int, int]]) -> bool:
    parent = list(range(n))

    def find(x):
        while parent[x] != x:
            parent[x] = parent[parent[x]]
            x = parent[x]
        return x

    for i, j in known:
        parent[find(i)] = find(j)
    return len({find(i) for i in range(n)}) == 1


def _golden(f, lo: float, hi: float, tol: float = 1e-10) -> float:
    """Minimum of a convex function on [lo, hi] by golden-section search."""
    g = (math.sqrt(5) - 1) / 2
    c, d = hi - g * (hi - lo), lo + g * (hi - lo)
    fc, fd = f(c), f(d)
    while hi - lo > tol:
        if fc < fd:
            hi, d, fd = d, c, fc
            c = hi - g * (hi - lo)
            fc = f(c)
        else:
            lo, c, fc = c, d, fd
            d = lo + g * (hi - lo)
            fd = f(d)
    return (lo + hi) / 2


def _perron(matrix: np.ndarray) -> tuple[float, np.ndarray, np.ndarray]:
    """λmax with right (u) and left (v) Perron vectors scaled so that v·u = 1."""
    vals, vecs = np.linalg.eig(matrix)
    k = int(np.argmax(vals.real))
    u = np.abs(vecs[:, k].real)
    lvals, lvecs = np.linalg.eig(matrix.T)
    v = np.abs(lvecs[:, int(np.argmax(lvals.real))].real)
    return float(vals[k].real), u, v / float(v @ u)


def complete_matrix(values: np.ndarray, *, max_iter: int = 500, tol: float = 1e-10
                    ) -> tuple[np.ndarray, list[tuple[int, int, float]]]:
    """Fill NaN judgments (above and below the diagonal) so that λmax is minimal (Bozóki–Fülöp–Rónyai).

    Works on t = ln a_ij of the missing entries, where λmax is convex. One missing entry: a
    golden-section search on t. Several: the cyclic-coordinate idea of BFR converges slowly
    (linearly), so a quasi-Newton descent (BFGS) on all t at once is used, with the exact gradient
    ∂λmax/∂t_ij = a_ij·v_i·u_j − a_ji·v_j·u_i (u, v the right and left Perron vectors, v·u = 1);
    convexity makes the local minimum it finds the global one.

    Returns the completed matrix and the filled entries (i, j, a_ij) for i < j. Raises ValueError
    when the known judgments do not connect every item (the optimum is then not unique).
    """
    a = np.array(values, dtype=float)
    n = a.shape[0]
    missing = [(i, j) for i in range(n) for j in range(i + 1, n) if np.isnan(a[i, j])]
    if not missing:
        return a, []
    known = [(i, j) for i in range(n) for j in range(i + 1, n) if not np.isnan(a[i, j])]
    if not _connected(n, known):
        raise ValueError("the known judgments do not connect all items")
    rows = np.array([i for i, _ in missing])
    cols = np.array([j for _, j in missing])

    def fill(t: np.ndarray) -> None:
        a[rows, cols] = np.exp(t)
        a[cols, rows] = np.exp(-t)

    bound = 2 * math.log(81.0)  # far outside the 1/9..9 scale
    if len(missing) == 1:
        def f1(x: float) -> float:
            fill(np.array([x]))
            return lambda_max(a)
        t = np.array([_golden(f1, -bound, bound)])
    else:
        from scipy.optimize import minimize  # heavy import only when several entries are missing

        def f(t: np.ndarray) -> tuple[float, np.ndarray]:
            fill(t)
            lam, u, v = _perron(a)
            grad = a[rows, cols] * v[rows] * u[cols] - a[cols, rows] * v[cols] * u[rows]
            return lam, grad

        res = minimize(f, np.zeros(len(missing)), jac=True, method="BFGS",
                       options={"gtol": tol, "maxiter": max_iter})
        t = np.clip(res.x, -bound, bound)
    fill(t)
    return a, [(i, j, float(a[i, j])) for i, j in missing]


# -- weights and consistency -------------------------------------------------------------------------

def eigen_weights(matrix: np.ndarray) -> np.ndarray:
    vals, vecs = np.linalg.eig(matrix)
    k = int(np.argmax(vals.real))
    w = np.abs(vecs[:, k].real)
    return w / w.sum()


def geometric_weights(matrix: np.ndarray) -> np.ndarray:
    g = np.exp(np.log(matrix).mean(axis=1))
    return g / g.sum()


@dataclass
class Culprit:
    """A judgment far from what the weights imply: a_ij against the consistent value w_i/w_j."""

    row: str
    column: str
    value: float
    consistent: float
    deviation: float  # |ln(a_ij · w_j / w_i)|

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "value": self.value,
                "consistent": self.consistent, "deviation": self.deviation}


@dataclass
class NodeResult:
    node: str
    names: list[str]
    matrix: np.ndarray
    weights: dict[str, float]
    lambda_max: float
    ci: float
    ri: float | None
    cr: float | None
    ri_table: str
    method: str
    consistent: bool
    culprits: list[Culprit] = field(default_factory=list)
    completed: list[tuple[str, str, float]] = field(default_factory=list)
    experts: int = 1
    file: str = ""
    sheet: str | None = None
    expert_details: list["ExpertDetail"] = field(default_factory=list)  # several experts: each one's own view

    def as_dict(self) -> dict[str, Any]:
        out = {"weights": dict(self.weights), "lambda_max": self.lambda_max, "ci": self.ci, "cr": self.cr,
               "ri": self.ri, "ri_table": self.ri_table, "method": self.method, "consistent": self.consistent,
               "experts": self.experts, "culprits": [c.as_dict() for c in self.culprits],
               "completed": [{"row": r, "column": c, "value": v} for r, c, v in self.completed]}
        if self.expert_details:
            out["matrix"] = [[float(x) for x in row] for row in self.matrix]  # the aggregate the CR is about
            out["expert_details"] = [d.as_dict() for d in self.expert_details]
        return out


def culprits(matrix: np.ndarray, weights: np.ndarray, names: Sequence[str], top: int = 3) -> list[Culprit]:
    """Judgments (i < j) ordered by |ln(a_ij·w_j/w_i)|, largest first."""
    n = len(names)
    out = []
    for i in range(n):
        for j in range(i + 1, n):
            dev = abs(math.log(matrix[i, j] * weights[j] / weights[i]))
            out.append(Culprit(names[i], names[j], float(matrix[i, j]), float(weights[i] / weights[j]), dev))
    out.sort(key=lambda c: -c.deviation)
    return [c for c in out[:top] if c.deviation > 1e-9]


def analyse_matrix(pm: PairwiseMatrix, *, method: str = "eigen", ri_table: str = "saaty",
                   complete: bool = True, problems: Problems | None = None, lang: str = "zh",
                   top_culprits: int = 3) -> NodeResult | None:
    """Weights, λmax, CI, CR of one node. Missing judgments are completed (BFR) or reported.

    Returns None (with a problem) when judgments are missing and cannot or may not be completed.
    """
    if method not in METHODS:
        raise ValueError(f"unknown method {method!r}; choose eigen or geometric")
    problems = problems if problems is not None else Problems()
    zh = lang != "en"
    where = pm.where or pm.file + (f"[{pm.sheet}]" if pm.sheet else "")
    wz, we = (f"{where}：", f"{where}: ") if where else ("", "")
    missing = pm.missing_pairs()
    matrix = pm.values
    completed: list[tuple[str, str, float]] = []
    if missing:
        listing = ("、" if zh else ", ").join(f"{pm.label(pm.names[i])}/{pm.label(pm.names[j])}" for i, j in missing)
        if not complete:
            problems.add(pm.file, pm.sheet, None, None, "ahp_missing",
                         f"{wz}节点 {pm.label(pm.node)} 缺少判断 {listing}；请补填，或去掉 --no-complete 让工具按最小 λmax 补全"
                         if zh else f"{we}node {pm.label(pm.node)} lacks judgments {listing}; fill them in, or drop "
                         "--no-complete to let the tool complete them by minimal λmax")
            return None
        try:
            matrix, filled = complete_matrix(pm.values)
        except ValueError:
            problems.add(pm.file, pm.sheet, None, None, "ahp_missing_disconnected",
                         f"{wz}节点 {pm.label(pm.node)} 缺少判断 {listing}，已知判断不能把所有指标连起来，无法唯一补全；请补填"
                         if zh else f"{we}node {pm.label(pm.node)} lacks judgments {listing} and the known ones do not connect "
                         "all items, so no unique completion exists; fill them in")
            return None
        completed = [(pm.names[i], pm.names[j], v) for i, j, v in filled]
        problems.add(pm.file, pm.sheet, None, None, "ahp_completed",
                     f"{wz}节点 {pm.label(pm.node)} 的缺失判断已按 Bozóki–Fülöp–Rónyai 方法（最小 λmax）补全："
                     + "、".join(f"{pm.label(r)}/{pm.label(c)}={v:.3f}" for r, c, v in completed) if zh else
                     f"{we}missing judgments of node {pm.label(pm.node)} completed by the Bozóki–Fülöp–Rónyai method "
                     "(minimal λmax): " + ", ".join(f"{pm.label(r)}/{pm.label(c)}={v:.3f}" for r, c, v in completed), severity="warning")
    n = pm.n
    w = eigen_weights(matrix) if method == "eigen" else geometric_weights(matrix)
    lam = lambda_max(matrix) if n > 1 else 1.0
    ci = (lam - n) / (n - 1) if n > 1 else 0.0
    ci = max(ci, 0.0) if abs(ci) < 1e-12 else ci
    ri = random_index(n, ri_table)
    if n <= 2:
        cr: float | None = 0.0
    elif ri is None:
        cr = None
        problems.add(pm.file, pm.sheet, None, None, "ahp_ri_unavailable",
                     f"{wz}{n} 阶矩阵超出 RI 表范围，未计算 CR" if zh else
                     f"{we}the RI table has no value for n = {n}; CR not computed", severity="warning")
    else:
        cr = ci / ri
    consistent = cr is None or cr < CR_THRESHOLD
    bad = culprits(matrix, w, pm.names, top_culprits) if not consistent else []
    if not consistent:
        worst = "；".join(f"{pm.label(c.row)} 对 {pm.label(c.column)} 为 {c.value:.3g}（与权重一致的值约 {c.consistent:.3g}）" for c in bad) if zh \
            else "; ".join(f"{pm.label(c.row)} over {pm.label(c.column)} is {c.value:.3g} (the weights imply about {c.consistent:.3g})" for c in bad)
        problems.add(pm.file, pm.sheet, None, None, "ahp_inconsistent",
                     f"{wz}节点 {pm.label(pm.node)} 的一致性比率 CR={cr:.3f} ≥ 0.10，判断不一致，请专家复核。最可能的判断：{worst}"
                     if zh else f"{we}node {pm.label(pm.node)} has consistency ratio CR={cr:.3f} ≥ 0.10; ask the experts to "
                     f"revise. Most responsible judgments: {worst}")
    return NodeResult(node=pm.node, names=list(pm.names), matrix=matrix,
                      weights={name: float(x) for name, x in zip(pm.names, w)}, lambda_max=float(lam),
                      ci=float(ci), ri=ri, cr=None if cr is None else float(cr), ri_table=ri_table,
                      method=method, consistent=consistent, culprits=bad, completed=completed,
                      file=pm.file, sheet=pm.sheet)


# -- aggregation -----------------------------------------------------------------------------------

def aggregate_geometric(matrices: Sequence[PairwiseMatrix], problems: Problems | None = None,
                        lang: str = "zh") -> PairwiseMatrix | None:
    """Element-wise geometric mean of several experts' matrices for the same node (AIJ).

    The items are matched by name (order may differ between experts); all experts must compare
    the same items. An entry that some experts left blank is the mean of the others'.
    """
    if not matrices:
        return None
    problems = problems if problems is not None else Problems()
    first = matrices[0]
    names = list(first.names)
    keys = [_key(x) for x in names]
    n = len(names)
    logs = np.zeros((n, n))
    counts = np.zeros((n, n))
    for pm in matrices:
        if sorted(map(_key, pm.names)) != sorted(keys):
            problems.add(pm.file, pm.sheet, None, None, "ahp_experts_differ",
                         f"{pm.file}[{pm.sheet}]：专家 {pm.expert or '?'} 比较的指标与 {first.expert or '第一位专家'} 不同"
                         if lang != "en" else f"{pm.file}[{pm.sheet}]: expert {pm.expert or '?'} compares other items than "
                         f"{first.expert or 'the first expert'}")
            return None
        order = [[_key(x) for x in pm.names].index(k) for k in keys]
        v = pm.values[np.ix_(order, order)]
        known = ~np.isnan(v)
        logs[known] += np.log(v[known])
        counts[known] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        mean = np.where(counts > 0, np.exp(logs / np.maximum(counts, 1)), np.nan)
    np.fill_diagonal(mean, 1.0)
    # The aggregate is no one's file: messages name it as such (its numbers are written to an extra sheet).
    k = len(matrices)
    sheet = first.sheet or first.node
    where = (f"{sheet}（{k} 位专家的几何平均合成矩阵，见结果工作簿“{AGGREGATE_SHEET[0]}”表）" if lang != "en" else
             f"{sheet} (geometric mean of {k} experts; see the sheet '{AGGREGATE_SHEET[1]}' of the result workbook)")
    return PairwiseMatrix(node=first.node, names=names, values=mean, expert=None, file="", sheet=first.sheet,
                          labels=dict(first.labels), title=first.title, where=where)


AGGREGATE_SHEET = ("合成判断矩阵", "Aggregated matrices")


@dataclass
class ExpertJudgment:
    """One judgment of one expert, against the weights of the group's aggregate."""

    row: str
    column: str
    cell: str  # where the expert wrote it ("C2"), in ``file[sheet]``
    value: float
    implied: float  # w_i / w_j of the aggregate's weights
    deviation: float  # ln(a_ij · w_j / w_i): this expert's departure from the group's weights
    contribution: float  # this judgment's part of the aggregate's Σ e_ij² (see ``explain_group``)

    def as_dict(self) -> dict[str, Any]:
        return {"row": self.row, "column": self.column, "cell": self.cell, "value": self.value,
                "implied": self.implied, "deviation": self.deviation, "contribution": self.contribution}


@dataclass
class ExpertDetail:
    expert: str
    file: str
    sheet: str | None
    cr: float | None  # the expert's own matrix (completed if judgments are missing); None if not computable
    lambda_max: float | None
    consistent: bool | None
    share: float  # this expert's share of the aggregate's inconsistency Σ e_ij² (shares sum to 1)
    judgments: list[ExpertJudgment] = field(default_factory=list)  # the ones contributing most, largest first

    def as_dict(self) -> dict[str, Any]:
        return {"expert": self.expert, "file": self.file, "sheet": self.sheet, "cr": self.cr,
                "lambda_max": self.lambda_max, "consistent": self.consistent, "share": self.share,
                "judgments": [j.as_dict() for j in self.judgments]}

    @property
    def place(self) -> str:
        return self.file + (f"[{self.sheet}]" if self.sheet else "")


def explain_group(group: Sequence[PairwiseMatrix], aggregate: NodeResult, *, method: str = "eigen",
                  ri_table: str = "saaty", top: int = 3) -> list[ExpertDetail]:
    """Each expert's own CR, and which of their judgments make the aggregate inconsistent.

    With w the aggregate's weights, the aggregate's log-deviation of a judgment is
    e_ij = ln(a_ij·w_j/w_i), and since a_ij is the geometric mean of the K_ij experts who gave it,
    e_ij = (1/K_ij)·Σ_k d^k_ij with d^k_ij = ln(a^k_ij·w_j/w_i). The aggregate's inconsistency
    Σ_{i<j} e_ij² (the geometric consistency index up to a constant, which moves with the CR) then
    splits exactly into per-judgment parts c^k_ij = e_ij·d^k_ij/K_ij: positive where the expert
    pulls the aggregate away from consistency, negative where they pull it back. An expert's share is
    the sum of their parts over the total; their judgments with the largest positive parts are named.
    """
    names = list(aggregate.names)
    keys = [_key(x) for x in names]
    n = len(names)
    w = np.array([aggregate.weights[x] for x in names])
    implied = w[:, None] / w[None, :]
    counts = np.zeros((n, n))
    per_expert = []
    for pm in group:
        pos = {_key(x): i for i, x in enumerate(pm.names)}
        order = [pos[k] for k in keys]
        v = pm.values[np.ix_(order, order)]
        cell_of = {}
        for (i, j), ref in pm.cells.items():
            a, b = keys.index(_key(pm.names[i])), keys.index(_key(pm.names[j]))
            cell_of[(min(a, b), max(a, b))] = ref
        per_expert.append((pm, v, cell_of))
        known = ~np.isnan(v)
        counts[known] += 1
    with np.errstate(invalid="ignore", divide="ignore"):
        e = np.log(aggregate.matrix / implied)
    upper = np.triu(np.ones((n, n), dtype=bool), 1) & (counts > 0)  # cells no one gave were completed: no one's part
    total = float(np.sum(e[upper] ** 2))
    details = []
    for pm, v, cell_of in per_expert:
        judgments = []
        part_sum = 0.0
        for i in range(n):
            for j in range(i + 1, n):
                if np.isnan(v[i, j]):
                    continue
                d = math.log(v[i, j] / implied[i, j])
                c = e[i, j] * d / counts[i, j]
                part_sum += c
                judgments.append(ExpertJudgment(names[i], names[j], cell_of.get((i, j), ""), float(v[i, j]),
                                                float(implied[i, j]), d, c))
        judgments.sort(key=lambda x: -x.contribution)
        own = analyse_matrix(pm, method=method, ri_table=ri_table, complete=True, problems=Problems())
        details.append(ExpertDetail(
            expert=pm.expert or pm.file or "?", file=pm.file, sheet=pm.sheet,
            cr=None if own is None else own.cr, lambda_max=None if own is None else own.lambda_max,
            consistent=None if own is None else own.consistent,
            share=part_sum / total if total > 1e-15 else 0.0,
            judgments=[x for x in judgments[:top] if x.contribution > 1e-12]))
    return details


def fraction(x: float) -> str:
    """A judgment as people write it: 3, 1/7, 2.5."""
    if x >= 1:
        return f"{x:.3g}"
    inv = 1 / x
    return f"1/{inv:.3g}" if abs(inv - round(inv)) < 1e-6 else f"{x:.3g}"


def _explain_problems(res: NodeResult, problems: Problems, lang: str, label) -> None:
    """Per-expert CRs and the cells to revise, as problems pointing at the experts' own cells."""
    zh = lang != "en"
    sep = "、" if zh else ", "
    crs = sep.join(f"{d.expert} {'-' if d.cr is None else f'{d.cr:.3f}'}" for d in res.expert_details)
    title = label(res.node)
    if not res.consistent:
        blame = sorted(res.expert_details, key=lambda d: -d.share)
        parts = sep.join(f"{d.expert} {d.share:.0%}" for d in blame)
        problems.add("", res.sheet, None, None, "ahp_group_inconsistent",
                     f"节点 {title} 的合成矩阵 CR={res.cr:.3f} ≥ 0.10；各专家自身的 CR：{crs}；"
                     f"各专家对合成矩阵不一致性的贡献：{parts}（逐格见下列各专家的问题）" if zh else
                     f"node {title}: the aggregate's CR={res.cr:.3f} ≥ 0.10; each expert's own CR: {crs}; "
                     f"each expert's part in the aggregate's inconsistency: {parts} (cells below, per expert)")
        for d in blame:
            # name the cells of the experts who carry at least half of an equal part of the inconsistency
            if not d.judgments or d.share < 0.5 / len(blame):
                continue
            row = col = None
            first = d.judgments[0].cell
            if first:
                m = re.match(r"([A-Z]+)([0-9]+)$", first)
                col, row = m.group(1), int(m.group(2))
            cells = sep.join(
                (f"{j.cell} {label(j.row)} 对 {label(j.column)} 为 {fraction(j.value)}（合成权重对应约 {fraction(j.implied)}）"
                 if zh else f"{j.cell} {label(j.row)} over {label(j.column)} is {fraction(j.value)} "
                 f"(the group's weights imply about {fraction(j.implied)})") for j in d.judgments)
            own = "-" if d.cr is None else f"{d.cr:.3f}"
            problems.add(d.file, d.sheet, row, col, "ahp_expert_judgment",
                         f"{d.place}：专家 {d.expert}（自身 CR={own}，占合成矩阵不一致性的 {d.share:.0%}）"
                         f"最该复核的判断：{cells}" if zh else
                         f"{d.place}: expert {d.expert} (own CR={own}, {d.share:.0%} of the aggregate's "
                         f"inconsistency) should first revise: {cells}", severity="warning")
    else:
        for d in res.expert_details:
            if d.consistent is False:
                problems.add(d.file, d.sheet, None, None, "ahp_expert_inconsistent",
                             f"{d.place}：专家 {d.expert} 自身的 CR={d.cr:.3f} ≥ 0.10（合成矩阵一致，CR={res.cr:.3f}）"
                             if zh else f"{d.place}: expert {d.expert}'s own CR={d.cr:.3f} ≥ 0.10 (the aggregate is "
                             f"consistent, CR={res.cr:.3f})", severity="warning")


# -- hierarchy -------------------------------------------------------------------------------------

@dataclass
class HierarchyResult:
    nodes: dict[str, NodeResult]
    roots: list[str]
    global_weights: dict[str, float]  # every item below a root, keyed by its name
    ri_table: str
    method: str

    def as_dict(self) -> dict[str, Any]:
        return {"nodes": {k: v.as_dict() for k, v in self.nodes.items()}, "roots": list(self.roots),
                "global": dict(self.global_weights), "ri_table": self.ri_table, "method": self.method}

    @property
    def consistent(self) -> bool:
        return all(r.consistent for r in self.nodes.values())


def find_roots(children: dict[str, list[str]]) -> list[str]:
    """Nodes that no other node names as a child, in the given order."""
    named = {_key(c) for kids in children.values() for c in kids}
    return [node for node in children if _key(node) not in named]


def global_weights(results: dict[str, NodeResult], roots: Sequence[str],
                   root_weights: dict[str, float] | None = None) -> dict[str, float]:
    """Parent's global weight × local weight, down from each root (root weight 1 unless given)."""
    by_key = {_key(k): v for k, v in results.items()}
    out: dict[str, float] = {}
    seen: set[str] = set()

    def visit(node: str, weight: float):
        if _key(node) in seen:
            raise ValueError(f"the hierarchy has a cycle through {node}")
        seen.add(_key(node))
        res = by_key[_key(node)]
        for name, local in res.weights.items():
            out[name] = out.get(name, 0.0) + weight * local
            if _key(name) in by_key:
                visit(name, weight * local)
        seen.discard(_key(node))

    for root in roots:
        visit(root, (root_weights or {}).get(root, 1.0))
    return out


def analyse_hierarchy(matrices: Sequence[PairwiseMatrix], *, method: str = "eigen", ri_table: str = "saaty",
                      complete: bool = True, problems: Problems | None = None, lang: str = "zh",
                      root_weights: dict[str, float] | None = None) -> HierarchyResult:
    """All nodes' matrices (several per node = several experts) to local and global weights."""
    problems = problems if problems is not None else Problems()
    zh = lang != "en"
    groups: dict[str, list[PairwiseMatrix]] = {}
    label: dict[str, str] = {}
    for pm in matrices:
        groups.setdefault(_key(pm.node), []).append(pm)
        label.setdefault(_key(pm.node), pm.node)
    results: dict[str, NodeResult] = {}
    for key, group in groups.items():
        pm = group[0] if len(group) == 1 else aggregate_geometric(group, problems, lang)
        if pm is None:
            continue
        res = analyse_matrix(pm, method=method, ri_table=ri_table, complete=complete, problems=problems, lang=lang)
        if res is not None:
            res.experts = len(group)
            if len(group) > 1:
                res.expert_details = explain_group(group, res, method=method, ri_table=ri_table)
                _explain_problems(res, problems, lang, pm.label)
            results[label[key]] = res
    children = {node: res.names for node, res in results.items()}
    roots = find_roots(children)
    if results and not roots:
        problems.add("", None, None, None, "ahp_no_root",
                     "层次结构成环：每个矩阵都是别的矩阵的下级，找不到总目标" if zh else
                     "the hierarchy is a cycle: every matrix is named as a child by another, so there is no goal")
        return HierarchyResult(results, [], {}, ri_table, method)
    try:
        weights = global_weights(results, roots, root_weights)
    except ValueError as exc:
        problems.add("", None, None, None, "ahp_cycle", str(exc))
        weights = {}
    return HierarchyResult(results, roots, weights, ri_table, method)
