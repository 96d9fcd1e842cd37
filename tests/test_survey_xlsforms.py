"""pyxform's own test forms (tests/data/xlsforms, pinned commit, with its licence): every form pyxform
accepts loads, or fails naming every unsupported feature; for every loadable form, generated exports
in the Kobo, ODK Central, flat and split layouts tabulate exactly as an independent pandas count."""

from __future__ import annotations

import csv
import random
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from cluster_credit_cli.problems import ConfigError
from cluster_credit_cli.survey.codebook import load_codebook
from cluster_credit_cli.survey.stats import frequencies, read_responses

FORMS = Path(__file__).parent / "data" / "xlsforms"
ACCEPTED = [line.strip() for line in (FORMS / "ACCEPTED.txt").read_text(encoding="utf-8").splitlines()
            if line.strip() and not line.startswith("#")]

# Forms refused, and what the message must name (every unsupported feature, all at once).
REFUSED = {
    "bug_example_xls/bad_calc.xlsx": ["row 2", "because pyxform doesn't know what to do"],
    "example_xls/bad_calc.xlsx": ["row 2", "because pyxform doesn't know what to do"],
    "bug_example_xls/extra_columns.xls": ["row 19999", "party like it's 19999"],
    "example_xls/pull_data.xlsx": ["row 2", "pulldata()"],
    "example_xls/default_time_demo.xls": ["start_time (time)"],
    "example_xls/gps.xls": ["location (gps)"],
    "example_xls/hidden.xls": ["hidden_test (hidden)"],
    "example_xls/simple_loop.xls": ["loop over my_table"],
    "example_xls/tutorial.xls": ["name (repeat member)", "pregnant (repeat member)"],  # all in a repeat
}


def test_the_corpus_is_pinned_with_its_licence():
    assert (FORMS / "LICENSE").read_text().startswith("Copyright (c) 2015, XLSForm")
    assert "51e5bfe" in (FORMS / "README.md").read_text(encoding="utf-8")
    assert len(ACCEPTED) == 49 and all((FORMS / f).is_file() for f in ACCEPTED)


@pytest.mark.parametrize("form", ACCEPTED)
def test_every_accepted_form_loads_or_names_what_is_unsupported(form):
    try:
        cb = load_codebook(FORMS / form)
    except ConfigError as exc:
        assert form in REFUSED, f"{form} refused: {exc}"
        for needle in REFUSED[form]:
            assert needle in str(exc)
        return
    assert form not in REFUSED
    assert cb.questions


def test_the_ucl_form_loads_despite_1024_columns_and_math():
    cb = load_codebook(FORMS / "bug_example_xls" / "UCL_Biomass_Plot_Form.xlsx")
    assert len(cb.questions) > 10


def test_or_other_languages_and_duplicates():
    cb = load_codebook(FORMS / "example_xls" / "or_other.xlsx")
    fav = cb.question("fav_color")
    assert [c.name for c in cb.lists[fav.list_name].choices][-1] == "other"
    assert cb.question("fav_color_other").relevant == "selected(${fav_color}, 'other')"
    cb = load_codebook(FORMS / "example_xls" / "choice_filter_test.xlsx")  # allow_choice_duplicates
    assert [c.name for c in cb.lists["counties"].choices] == ["king", "pierce", "cameron"]
    assert any("allow_choice_duplicates" in n for n in cb.notes)
    cb = load_codebook(FORMS / "example_xls" / "loop.xls")  # 'list name', 'label:english'
    assert cb.question("available_toilet_types").type == "select_multiple"


def _loadable():
    out = []
    for form in ACCEPTED:
        if form in REFUSED:
            continue
        out.append(form)
    return out


LAYOUTS = ("flat", "kobo", "odk", "split")


def _header(q, layout):
    if layout == "kobo" and q.path:
        return "/".join(q.path + (q.name,))
    if layout == "odk" and q.path:
        return "-".join(q.path + (q.name,))
    return q.name


def _generate(cb, rng: random.Random, n: int):
    """Answers per question (None = blank) for the unconditional tabulated questions."""
    answers = {}
    for q in cb.questions:
        if q.type == "calculate" or q.conditions or q.other_of:
            continue
        lst = cb.choices_of(q)
        col = []
        for _ in range(n):
            if rng.random() < 0.1:
                col.append(None)
            elif q.type == "select_one":
                col.append(rng.choice(lst.choices).name)
            elif q.type == "select_multiple":
                k = rng.randint(1, min(3, len(lst.choices)))
                col.append(rng.sample([c.name for c in lst.choices], k))
            elif q.type == "integer":
                col.append(rng.randint(-5, 500))
            elif q.type == "decimal":
                col.append(round(rng.uniform(0, 1000), 2))
            elif q.is_date:
                col.append(f"2024-{rng.randint(1, 12):02d}-{rng.randint(1, 28):02d}")
            else:
                col.append(rng.choice(["alpha", "beta gamma", "甲乙", "x"]))
        answers[q.name] = col
    return answers


def _write(path: Path, cb, answers, layout: str, n: int) -> Path:
    cols: dict[str, list] = {}
    if layout == "kobo":
        cols["start"] = ["2024-01-01T10:00:00"] * n
    for q in cb.questions:
        if q.type == "calculate":
            continue
        vals = answers.get(q.name, [None] * n)  # conditional questions: present, blank
        head = _header(q, layout)
        if q.type == "select_multiple":
            if layout in ("flat", "kobo", "odk"):
                cols[head] = [" ".join(v) if v else "" for v in vals]
            if layout in ("kobo", "split"):
                for c in cb.lists[q.list_name].choices:
                    cols[f"{head}/{c.name}"] = ["" if v is None else int(c.name in v) for v in vals]
        else:
            cols[head] = ["" if v is None else v for v in vals]
    if layout == "kobo":
        cols.update({"_id": list(range(1, n + 1)), "_uuid": [f"u{i}" for i in range(n)],
                     "_submission_time": ["2024-01-02T00:00:00"] * n, "_index": list(range(1, n + 1))})
    if layout == "odk":
        cols = {"SubmissionDate": ["2024-01-02"] * n, **cols, "meta-instanceID": [f"uuid:{i}" for i in range(n)],
                "KEY": [f"uuid:{i}" for i in range(n)]}
    with path.open("w", encoding="utf-8", newline="") as f:
        w = csv.writer(f)
        w.writerow(list(cols))
        for i in range(n):
            w.writerow([cols[k][i] for k in cols])
    return path


def _expected(cb, answers):
    """An independent tabulation with pandas: counts by choice name, n, mean, SD."""
    out = {}
    for name, vals in answers.items():
        q = cb.question(name)
        s = pd.Series(vals, dtype=object)
        given = s[s.notna()]
        if q.type == "select_one":
            vc = given.value_counts()
            out[name] = ({c.name: int(vc.get(c.name, 0)) for c in cb.lists[q.list_name].choices}, len(given))
        elif q.type == "select_multiple":
            ex = given.explode().value_counts()
            out[name] = ({c.name: int(ex.get(c.name, 0)) for c in cb.lists[q.list_name].choices}, len(given))
        elif q.type in ("integer", "decimal") and not q.bins:
            x = pd.to_numeric(given)
            out[name] = (None, len(x), float(x.mean()), float(x.std(ddof=1)))
        elif q.type in ("integer", "decimal") or q.is_date:
            out[name] = (None, len(given))
        else:
            out[name] = (None, len(given))
    return out


@pytest.mark.parametrize("form", _loadable())
def test_generated_exports_match_pandas_in_every_layout(tmp_path, form):
    cb = load_codebook(FORMS / form)
    cb.valid_min_answered, cb.valid_min_share = 1, 0.0  # tabulate every generated row
    rng = random.Random(form)
    n = 40
    answers = _generate(cb, rng, n)
    if not answers:
        pytest.skip("every question is conditional or calculated")
    for i in range(n):  # each row answers something, so every row is a returned questionnaire
        first = next(iter(answers))
        if all(answers[k][i] is None for k in answers):
            answers[first][i] = _generate(cb, random.Random(i), 1)[first][0] or answers[first][i]
    expected = _expected(cb, answers)
    for layout in LAYOUTS:
        data = read_responses(_write(tmp_path / f"{layout}.csv", cb, answers, layout, n), cb)
        bad = [p for p in data.problems if p.code in ("column_not_found", "unknown_answer", "unknown_option_column")]
        assert not bad, (layout, bad[:3])
        stats = {s.name: s for s in frequencies(data)}
        for name, exp in expected.items():
            if name not in stats:
                continue
            st = stats[name]
            counts, n_exp = exp[0], exp[1]
            assert st.n == n_exp, (layout, name)
            if counts is not None:
                assert {c.name: c.count for c in st.categories} == counts, (layout, name)
            if len(exp) == 4:
                assert st.summary["mean"] == pytest.approx(exp[2], rel=1e-12), (layout, name)
                sd = st.summary["sd"]
                assert (np.isnan(sd) and np.isnan(exp[3])) or sd == pytest.approx(exp[3], rel=1e-9), (layout, name)
