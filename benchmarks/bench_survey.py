"""Time survey coding + tabulation of 100,000 questionnaires x 30 questions (not part of the tests).

    PYTHONPATH=. python benchmarks/bench_survey.py

Builds the responses in memory (reading a 13 MB xlsx is the shared reader's cost, measured
separately) and times ``read_responses`` (coding, bins, validity) plus ``frequencies``/``likert``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path[:0] = [str(ROOT), str(ROOT / "tests")]

from cluster_credit_cli.survey import stats as ss  # noqa: E402
from cluster_credit_cli.inputs.reading import Grid  # noqa: E402
from cluster_credit_cli.survey.codebook import load_codebook  # noqa: E402
from survey_util import codebook  # noqa: E402


def main(n: int = 100_000) -> None:
    survey, labels = [], [f"选项{k}" for k in range(1, 6)]
    choices = [["s", str(k), lab] for k, lab in enumerate(labels, start=1)]
    choices += [["b", "lo", "低", "<50"], ["b", "mid", "中", "[50,200)"], ["b", "hi", "高", ">=200"]]
    for i in range(30):
        if i % 3 == 0:
            survey.append(["decimal", f"x{i}", f"数值{i}", "b"])
        elif i % 3 == 1:
            survey.append(["select_one s", f"q{i}", f"单选{i}", "", "", "", f"d{i % 4}"])
        else:
            survey.append(["select_multiple s", f"m{i}", f"多选{i}"])
    rng = np.random.default_rng(0)
    rows = [[q[2] for q in survey]]
    for r in range(n):
        row = []
        for i in range(30):
            if i % 3 == 0:
                row.append(float(rng.integers(0, 400)))
            elif i % 3 == 1:
                row.append(labels[rng.integers(0, 5)] if r % 7 else float(rng.integers(1, 6)))
            else:
                row.append("、".join(labels[: int(rng.integers(1, 4))]))
        rows.append(row)
    with tempfile.TemporaryDirectory() as tmp:
        cb = load_codebook(codebook(Path(tmp) / "cb.xlsx", survey, choices))
    ss._read_grid = lambda path, sheet=None: Grid(Path("bench.xlsx"), "data", rows)  # no file: rows in memory
    t0 = time.perf_counter()
    data = ss.read_responses("bench.xlsx", cb)
    t1 = time.perf_counter()
    ss.frequencies(data)
    ss.likert(data)
    t2 = time.perf_counter()
    print(f"{n} x 30: coding {t1 - t0:.2f} s, tabulation {t2 - t1:.2f} s, total {t2 - t0:.2f} s")


if __name__ == "__main__":
    main()
