"""Benchmarks: each stage of ``ccredit score`` next to the floor and a naive baseline, in one run.

    python benchmarks/make_data.py --size town        # once per size (city: ~30 s)
    python benchmarks/run.py --size town [--stages] [--repeat 3]
    python benchmarks/run.py --size city
    python benchmarks/run.py --size stress            # streaming the 10M-record CSV only

Every measurement runs in its own subprocess: wall time from the parent, peak memory as the
child's ``ru_maxrss`` (``os.wait4``), which counts numpy/calamine/XlsxWriter allocations that
tracemalloc misses. Measured in the same run, so machine noise cancels in the ratios:

* ccredit: stages read / merge / score / write (one process, peak RSS after each stage) and the
  whole ``ccredit score`` command;
* floor: reading the same inputs with the fastest reader here (python-calamine ``to_python`` for
  xlsx, the pandas C engine for CSV) and writing the same cells ccredit wrote (every sheet of its
  workbook, plus any CSV beside it) as plain values with XlsxWriter in constant-memory mode;
* naive: a plain pandas script — ``read_excel`` (default engine), ``merge``, a weighted sum,
  ``to_excel`` (default engine);
* merge + score alone (no I/O) on growing sizes (``--scaling``), ``ccredit --help`` /
  ``--version`` against ``python -c "import typer"``, and the survey tabulation if that command exists.
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
AS_OF = "2026-11-30"
APPLICANTS = "申报材料汇总.xlsx"


# -- measuring a child process ---------------------------------------------------------------------

def _python() -> list[str]:
    # -S keeps a development checkout's own package first when another editable install exists.
    return [sys.executable, "-S"] if sys.flags.no_site else [sys.executable]


_BLOCKER = """
import sys
class _NoPyarrow:
    def find_spec(self, name, path=None, target=None):
        if name == "pyarrow" or name.startswith("pyarrow."):
            raise ImportError("pyarrow hidden by benchmarks/run.py")
sys.meta_path.insert(0, _NoPyarrow())
"""


def _no_pyarrow_dir() -> str:
    """A folder whose sitecustomize.py makes pyarrow unimportable: 'without pyarrow' in one env."""
    d = Path(tempfile.gettempdir()) / "ccredit-bench-no-pyarrow"
    d.mkdir(exist_ok=True)
    (d / "sitecustomize.py").write_text(_BLOCKER, encoding="utf-8")
    return str(d)


def _env(no_pyarrow: bool = False) -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT)] + [p for p in sys.path if p.endswith("site-packages")] if sys.flags.no_site else [str(ROOT)]
    if no_pyarrow:
        paths.insert(0, _no_pyarrow_dir())
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def has(module: str) -> bool:
    import importlib.util

    return importlib.util.find_spec(module) is not None


def measure(args: list[str], *, capture: bool = True, no_pyarrow: bool = False) -> dict:
    """Run a child; wall seconds, peak RSS (MB), exit code and the last JSON line it printed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_env(no_pyarrow), cwd=ROOT)
    out_b = proc.stdout.read() if capture else b""
    err_b = proc.stderr.read()
    _, status, usage = os.wait4(proc.pid, 0)
    wall = time.perf_counter() - t0
    proc.returncode = os.waitstatus_to_exitcode(status)
    result = {"wall": wall, "rss_mb": usage.ru_maxrss / 1024, "rc": proc.returncode}
    lines = [ln for ln in out_b.decode("utf-8", "replace").splitlines() if ln.startswith("{")]
    if lines:
        result.update(json.loads(lines[-1]))
    if proc.returncode not in (0, 1):
        result["error"] = err_b.decode("utf-8", "replace")[-2000:]
    return result


def worker(kind: str, *extra: str) -> list[str]:
    return _python() + [str(Path(__file__).resolve()), "--worker", kind, *extra]


def _rss_mb() -> float:
    import resource

    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


# -- workers (run in the child) --------------------------------------------------------------------

def _sources(applicants: Path):
    from cluster_credit_cli.inputs.discovery import discover_sources
    from cluster_credit_cli.model.config import load_model

    model = load_model(None)
    given = dict(panel=None, auditor=None, association=None, innovation=None, credit_system=None, bank=None)
    return model, discover_sources(applicants, model, given)


def work_stages(data: Path, out: Path, detail_limit: int | None, as_of: str, detail: str) -> dict:
    """One process doing what ``ccredit score --json --db`` does, each output timed on its own."""
    import datetime as dt

    from cluster_credit_cli.outputs import rating_workbook as report
    from cluster_credit_cli.rating.pipeline import score_round
    from cluster_credit_cli.register.store import record_run

    t0 = time.perf_counter()
    applicants = data / APPLICANTS
    model, sources = _sources(applicants)
    rss: dict[str, float] = {}
    order = ["read", "merge", "score"]

    def progress(name: str) -> None:
        i = order.index(name) if name in order else -1
        if i > 0:
            rss[order[i - 1]] = _rss_mb()

    result = score_round(applicants, sources, model=model, as_of=dt.date.fromisoformat(as_of), progress=progress)
    rss["score"] = _rss_mb()
    stages = {k: {"wall": v, "rss_mb": rss.get(k)} for k, v in result.timings.items()}
    # the detail CSVs' own time, inside the workbook stage
    csv_time = [0.0]
    real_csv = report._write_csv

    def timed_csv(*a, **k):
        t = time.perf_counter()
        real_csv(*a, **k)
        csv_time[0] += time.perf_counter() - t
    report._write_csv = timed_csv
    t1 = time.perf_counter()
    report.write_rating_workbook(result, out, detail_limit=detail_limit, detail=detail)
    stages["workbook"] = {"wall": time.perf_counter() - t1 - csv_time[0], "rss_mb": _rss_mb()}
    if csv_time[0]:
        stages["detail CSVs"] = {"wall": csv_time[0], "rss_mb": None}
    t1 = time.perf_counter()
    report.write_json(result, out.with_suffix(".json"))
    stages["json"] = {"wall": time.perf_counter() - t1, "rss_mb": _rss_mb()}
    db = out.with_suffix(".db")
    db.unlink(missing_ok=True)
    t1 = time.perf_counter()
    record_run(db, result)
    stages["register"] = {"wall": time.perf_counter() - t1, "rss_mb": _rss_mb()}
    return {"stages": stages, "total_in_process": time.perf_counter() - t0,
            "enterprises": len(result.table), "problems": len(result.problems),
            "records": 0 if result.merged.records is None else len(result.merged.records)}


def work_floor_read(data: Path) -> dict:
    """Every input read with the fastest reader here: calamine for xlsx, pyarrow (else pandas C) for CSV."""
    from python_calamine import CalamineWorkbook

    from cluster_credit_cli.inputs.reading import detect_encoding

    t0 = time.perf_counter()
    cells = 0
    csv_reader = "pyarrow" if has("pyarrow") else "pandas-c"
    for path in sorted(data.iterdir()):
        if path.suffix == ".xlsx":
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            cells += sum(len(r) for r in rows)
        elif path.suffix == ".csv":
            with open(path, "rb") as fh:
                enc = detect_encoding(fh.read(1 << 20))  # a cut multi-byte character is not Latin-1
            if csv_reader == "pyarrow":
                from pyarrow import csv as pacsv

                table = pacsv.read_csv(path, read_options=pacsv.ReadOptions(encoding=enc),
                                       convert_options=pacsv.ConvertOptions(strings_can_be_null=False))
                cells += table.num_rows * table.num_columns
            else:
                import pandas as pd

                frame = pd.read_csv(path, dtype=str, encoding=enc, engine="c", keep_default_na=False)
                cells += frame.size
    return {"read": time.perf_counter() - t0, "cells": cells, "csv_reader": csv_reader}


def work_floor_csv(folder: Path, stem: str, target: Path) -> dict:
    """The detail CSVs ccredit wrote, written again with the fastest CSV writer here."""
    import csv

    files = sorted(folder.glob(stem + "_*.csv"))
    tables = []
    for p in files:
        with open(p, encoding="utf-8-sig", newline="") as fh:
            rows = list(csv.reader(fh))
        tables.append((rows[0], [list(c) for c in zip(*rows[1:])] if len(rows) > 1 else [[] for _ in rows[0]]))
    writer = "pyarrow" if has("pyarrow") else "polars" if has("polars") else "csv.writer"
    t0 = time.perf_counter()
    cells = 0
    for k, (header, cols) in enumerate(tables):
        dest = target.with_name(f"{target.stem}_{k}.csv")
        if writer == "pyarrow":
            import pyarrow as pa
            from pyarrow import csv as pacsv

            pacsv.write_csv(pa.table(dict(zip(header, cols))), dest)
        elif writer == "polars":
            import polars as pl

            pl.DataFrame(dict(zip(header, cols))).write_csv(dest)
        else:
            with open(dest, "w", encoding="utf-8-sig", newline="") as fh:
                w = csv.writer(fh)
                w.writerow(header)
                w.writerows(zip(*cols))
        cells += len(header) * (len(cols[0]) if cols else 0)
    return {"write": time.perf_counter() - t0, "cells": cells, "writer": writer, "files": len(files)}


def work_floor_json(source: Path, target: Path) -> dict:
    """The JSON ccredit wrote, serialised again with the fastest encoder here (orjson, else C json)."""
    doc = json.loads(source.read_text(encoding="utf-8"))
    encoder = "orjson" if has("orjson") else "json (C, no indent)"
    t0 = time.perf_counter()
    if encoder == "orjson":
        import orjson

        target.write_bytes(orjson.dumps(doc, option=orjson.OPT_INDENT_2))
    else:
        target.write_text(json.dumps(doc, ensure_ascii=False), encoding="utf-8")
    return {"write": time.perf_counter() - t0, "encoder": encoder, "bytes": target.stat().st_size}


def work_floor_register(db: Path, target: Path) -> dict:
    """The run and result rows ccredit stored, inserted into a fresh SQLite file in one transaction."""
    import sqlite3

    src = sqlite3.connect(db)
    run = src.execute("SELECT * FROM runs ORDER BY id DESC LIMIT 1").fetchone()
    run_cols = [d[0] for d in src.execute("SELECT * FROM runs LIMIT 0").description]
    rows = src.execute("SELECT * FROM results WHERE run_id = ?", (run[0],)).fetchall()
    cols = [d[0] for d in src.execute("SELECT * FROM results LIMIT 0").description]
    src.close()
    target.unlink(missing_ok=True)
    t0 = time.perf_counter()
    conn = sqlite3.connect(target, isolation_level=None)
    conn.execute(f"CREATE TABLE runs ({', '.join(run_cols)})")
    conn.execute(f"CREATE TABLE results ({', '.join(cols)})")
    conn.execute("BEGIN")
    conn.execute(f"INSERT INTO runs VALUES ({', '.join('?' * len(run_cols))})", run)
    conn.executemany(f"INSERT INTO results VALUES ({', '.join('?' * len(cols))})", rows)
    conn.execute("COMMIT")
    conn.close()
    return {"write": time.perf_counter() - t0, "rows": len(rows)}


def work_floor_write(workbook: Path, target: Path) -> dict:
    """Write the same cells as ``workbook`` as plain values, XlsxWriter constant-memory."""
    import csv

    import xlsxwriter
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(workbook))
    sheets = [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]
    sidecars: list = []  # the detail CSVs have a floor of their own (work_floor_csv)
    t0 = time.perf_counter()
    wb = xlsxwriter.Workbook(str(target), {"constant_memory": True, "strings_to_numbers": False,
                                           "strings_to_formulas": False, "strings_to_urls": False})
    cells = 0
    for name, rows in sheets:
        ws = wb.add_worksheet(name)
        for r, row in enumerate(rows):
            ws.write_row(r, 0, row)
            cells += len(row)
    wb.close()
    for k, rows in enumerate(sidecars):
        with open(target.with_name(f"{target.stem}_{k}.csv"), "w", encoding="utf-8-sig", newline="") as fh:
            csv.writer(fh).writerows(rows)
            cells += sum(len(r) for r in rows)
    return {"write": time.perf_counter() - t0, "cells": cells}


def work_naive(data: Path, target: Path) -> dict:
    """What a capable analyst would write first: pandas defaults end to end."""
    import numpy as np
    import pandas as pd

    t0 = time.perf_counter()
    app = pd.read_excel(data / APPLICANTS, header=2)
    aud = pd.read_excel(data / "会计师事务所审计数据.xlsx", header=2)
    ass = pd.read_excel(data / "行业协会评价.xlsx", header=0)
    bank = pd.read_excel(data / "合作银行征信.xlsx", header=2)
    rec = pd.read_csv(data / "社会信用系统导出.csv", encoding="gb18030")
    t1 = time.perf_counter()
    key = "统一社会信用代码"
    m = app.merge(aud, on=key, how="left", suffixes=("", "_aud"))
    m = m.merge(ass, on=key, how="left", suffixes=("", "_ass"))
    m = m.merge(bank.drop_duplicates(key), on=key, how="left", suffixes=("", "_bank"))
    counts = rec.groupby(key).size()
    m["记录数"] = m[key].map(counts).fillna(0)
    numeric = m.select_dtypes("number")
    weights = np.full(numeric.shape[1], 1.0 / max(numeric.shape[1], 1))
    m["总分"] = numeric.fillna(0).to_numpy() @ weights
    t2 = time.perf_counter()
    m.to_excel(target, index=False)
    t3 = time.perf_counter()
    return {"read": t1 - t0, "merge_score": t2 - t1, "write": t3 - t2}


def work_mergescore(data: Path, repeat: int) -> dict:
    """merge + score + gates + assembling the table, inputs already in memory (no I/O)."""
    import datetime as dt

    from cluster_credit_cli.rating.gates import evaluate_gates
    from cluster_credit_cli.rating.merge import merge_sources
    from cluster_credit_cli.rating.pipeline import _assemble, read_inputs
    from cluster_credit_cli.problems import Problems
    from cluster_credit_cli.rating.scoring import score_all

    applicants = data / APPLICANTS
    model, sources = _sources(applicants)
    problems = Problems()
    tables, _ = read_inputs({"applicants": applicants, **{k: v for k, v in sources.items() if v}}, model,
                            problems, "zh")
    as_of = dt.date.fromisoformat(AS_OF)
    times = []
    for _ in range(repeat):
        p = Problems()
        t0 = time.perf_counter()
        merged = merge_sources(tables, model, p)
        t1 = time.perf_counter()
        scores = score_all(merged, model, as_of, set(tables), p)
        gates = evaluate_gates(merged, model, as_of)
        _assemble(merged, scores, gates, model, "zh", False)
        t2 = time.perf_counter()
        times.append((t1 - t0, t2 - t1))
    best = min(times, key=sum)
    recs = tables["credit_system"].data if "credit_system" in tables else None
    return {"merge": best[0], "score": best[1], "enterprises": len(merged.codes),
            "records": 0 if recs is None else len(recs)}


def work_stream(data: Path) -> dict:
    """The applicants, then the record export streamed against their codes (as read_inputs does)."""
    from cluster_credit_cli.model.config import load_model
    from cluster_credit_cli.rating.pipeline import _applicant_codes
    from cluster_credit_cli.problems import Problems
    from cluster_credit_cli.inputs.reading import read_records_streaming, read_source

    model = load_model(None)
    problems = Problems()
    t0 = time.perf_counter()
    app = read_source(data / APPLICANTS, "applicants", model, problems)
    t1 = time.perf_counter()
    table = read_records_streaming(data / "社会信用系统导出.csv", "credit_system", model, problems,
                                   keep=_applicant_codes(app))
    t2 = time.perf_counter()
    if table is None:  # refused: say why, and fail the benchmark (exit 1 would pass as "problems")
        print("; ".join(p.message for p in problems), file=sys.stderr)
        raise SystemExit(3)
    return {"applicants": t1 - t0, "stream": t2 - t1, "kept_rows": len(table.data), "dropped": table.dropped,
            "problems": len(problems)}


# -- the parent: run and print ---------------------------------------------------------------------

def machine() -> dict:
    import importlib.metadata as md

    mem = ""
    try:
        with open("/proc/meminfo") as fh:
            mem = f"{int(fh.readline().split()[1]) / 1024 / 1024:.1f} GB"
    except OSError:
        pass
    versions = {}
    for pkg in ("pandas", "numpy", "python-calamine", "XlsxWriter", "openpyxl", "pyarrow", "orjson", "typer", "rich"):
        try:
            versions[pkg] = md.version(pkg)
        except md.PackageNotFoundError:
            versions[pkg] = "-"
    return {"cpus": os.cpu_count(), "memory": mem, "python": platform.python_version(),
            "platform": platform.platform(), "versions": versions}


def startup(repeat: int) -> dict:
    def median(args):
        return statistics.median(measure(args, capture=False)["wall"] for _ in range(repeat))

    typer_t = median(_python() + ["-c", "import typer"])
    help_t = median(_python() + ["-m", "cluster_credit_cli", "--help"])
    version_t = median(_python() + ["-m", "cluster_credit_cli", "--version"])
    trace = subprocess.run(_python() + ["-X", "importtime", "-m", "cluster_credit_cli", "--help"],
                           capture_output=True, text=True, env=_env(), cwd=ROOT).stderr
    heavy = sorted({m for m in ("pandas", "numpy", "openpyxl", "xlsxwriter", "scipy", "python_calamine")
                    if f" {m}\n" in trace or f"| {m}\n" in trace.replace("  ", " ")})
    return {"import_typer": typer_t, "help": help_t, "version": version_t, "heavy_imports_on_help": heavy}


def fmt_row(label: str, wall: float, rss: float | None, ref: float | None = None) -> str:
    ratio = f"{wall / ref:6.2f}×" if ref else "       "
    mem = f"{rss:8.0f} MB" if rss is not None else "           "
    return f"  {label:<42}{wall:9.2f} s {mem}  {ratio}"


def run_data(label: str, data: Path, args) -> dict:
    """The whole command, its stages and the fair floor of every output it writes, in one run."""
    if not (data / APPLICANTS).is_file():
        sys.exit(f"no {APPLICANTS} in {data}: run  python benchmarks/make_data.py --size {label}  or give --data DIR")
    tmp = Path(tempfile.mkdtemp(prefix=f"ccredit-bench-{label}-"))
    out = tmp / "ratings.xlsx"
    res: dict = {"size": label, "data": str(data), "as_of": args.as_of, "detail": args.detail}
    limit = ["--detail-limit", str(args.detail_limit)] if args.detail_limit else []
    # As users run it: workbook, JSON and the rating register (a fresh file in the run's folder).
    cmd_args = _python() + ["-m", "cluster_credit_cli", "score", str(data / APPLICANTS), "--as-of", args.as_of,
                            "--out", str(out), "--json", str(tmp / "ratings.json"), "--db", str(tmp / "ccredit.db"),
                            "--detail", args.detail, "--quiet", *limit]
    variants = [("", False)] + ([(" (pyarrow hidden)", True)] if has("pyarrow") else [])
    res["pyarrow_installed"] = has("pyarrow")
    for suffix, hide in variants:
        if hide:  # a fresh register each time: the same run would otherwise be compared with itself
            (tmp / "ccredit.db").unlink(missing_ok=True)
        cmd = measure(cmd_args, capture=False, no_pyarrow=hide)
        if "error" in cmd:
            sys.exit(cmd["error"])
        res["command" + suffix] = cmd
        if args.stages:
            st = measure(worker("stages", str(data), str(tmp / f"stages{int(hide)}.xlsx"),
                                str(args.detail_limit or 0), args.as_of, "csv"), no_pyarrow=hide)
            if "error" in st:
                sys.exit(st["error"])
            res["stages" + suffix] = st
    if args.detail != "off":  # the lean run: what a round costs without the two detail sheets
        lean_args = [a if a != args.detail else "off" for a in cmd_args]
        lean_args[lean_args.index("--out") + 1] = str(tmp / "lean.xlsx")
        lean_args[lean_args.index("--json") + 1] = str(tmp / "lean.json")
        lean_args[lean_args.index("--db") + 1] = str(tmp / "lean.db")
        res["command --detail off"] = measure(lean_args, capture=False)
    floor = {"read": measure(worker("floor-read", str(data))),
             "workbook": measure(worker("floor-write", str(out), str(tmp / "floor.xlsx"))),
             "json": measure(worker("floor-json", str(tmp / "ratings.json"), str(tmp / "floor.json"))),
             "register": measure(worker("floor-register", str(tmp / "ccredit.db"), str(tmp / "floor.db")))}
    if args.stages:  # the detail CSVs of the stages run (written with --detail csv)
        floor["detail CSVs"] = measure(worker("floor-csv", str(tmp), "stages0", str(tmp / "floor.csv")))
    for k, v in floor.items():
        if "error" in v:
            sys.exit(f"floor {k}: {v['error']}")
    res["floor_parts"] = {k: v.get("read", v.get("write")) for k, v in floor.items()}
    res["floor_detail"] = floor
    # The command's own floor: the outputs that command wrote (detail CSVs only if it wrote them).
    wrote_csv = any(tmp.glob("ratings_*.csv"))
    res["floor"] = sum(v for k, v in res["floor_parts"].items() if k != "detail CSVs" or wrote_csv)
    if not args.no_naive and label in ("town", "city") and (data / "社会信用系统导出.csv").is_file():
        res["naive"] = measure(worker("naive", str(data), str(tmp / "naive.xlsx")))
    res["outputs"] = sorted((p.name, p.stat().st_size) for p in tmp.iterdir() if p.name.startswith("ratings")
                            or p.name == "ccredit.db")
    return res


STAGE_FLOOR = {"read": "read", "workbook": "workbook", "detail CSVs": "detail CSVs", "json": "json",
               "register": "register"}


def print_size(res: dict) -> None:
    floor = res["floor"]
    parts = res["floor_parts"]
    fd = res["floor_detail"]
    print(f"\n== {res['size']} ({res['data']}, as of {res['as_of']}, --detail {res['detail']}) ==")
    print(f"  {'':<40}{'wall':>11} {'peak RSS':>11}  vs floor")
    for suffix in ("", " (pyarrow hidden)"):
        if "stages" + suffix in res:
            st = res["stages" + suffix]
            print(f"  stages{suffix or (' (pyarrow installed)' if res['pyarrow_installed'] else '')}, one process "
                  f"(detail CSVs written):")
            for name, s in st["stages"].items():
                ref = parts.get(STAGE_FLOOR.get(name, ""))
                print(fmt_row(f"  {name}", s["wall"], s["rss_mb"], ref))
            print(f"    ({st['enterprises']:,} enterprises, {st['records']:,} applicant records, "
                  f"{st['problems']:,} problems)")
    for suffix in ("", " (pyarrow hidden)", " --detail off"):
        if "command" + suffix in res:
            c = res["command" + suffix]
            print(fmt_row(f"ccredit score, whole command{suffix}", c["wall"], c["rss_mb"],
                          floor if suffix != " --detail off" else None))
    print(fmt_row(f"floor: read ({fd['read'].get('csv_reader')} CSV, calamine)", parts["read"], fd["read"]["rss_mb"]))
    print(fmt_row("floor: workbook (XlsxWriter const-mem)", parts["workbook"], fd["workbook"]["rss_mb"]))
    if "detail CSVs" in parts and fd["detail CSVs"].get("files"):
        print(fmt_row(f"floor: detail CSVs ({fd['detail CSVs'].get('writer')})", parts["detail CSVs"],
                      fd["detail CSVs"]["rss_mb"]))
    print(fmt_row(f"floor: JSON ({fd['json'].get('encoder')})", parts["json"], fd["json"]["rss_mb"]))
    print(fmt_row("floor: register (1 txn, executemany)", parts["register"], fd["register"]["rss_mb"]))
    print(fmt_row("floor: everything the command wrote", floor, None))
    if "naive" in res:
        n = res["naive"]
        c = res["command"]
        print(fmt_row("naive pandas script", n["wall"], n["rss_mb"], floor))
        lean = res.get("command --detail off")
        print(f"  naive / ccredit: {n['wall'] / c['wall']:.2f}×"
              + (f", naive / ccredit --detail off: {n['wall'] / lean['wall']:.2f}×" if lean else "")
              + f"  (naive: read {n['read']:.1f} s, merge+score {n['merge_score']:.2f} s, write {n['write']:.1f} s)")
    print(f"  ccredit / floor: {res['command']['wall'] / floor:.2f}×; outputs: "
          + ", ".join(f"{n} ({s / 1e6:.1f} MB)" for n, s in res["outputs"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["town", "city", "stress"], action="append")
    ap.add_argument("--data", type=Path, action="append", metavar="DIR",
                    help="a round's folder (applicants file and exports) to measure, e.g. from another generator")
    ap.add_argument("--as-of", default=AS_OF, metavar="DATE", help=f"evaluation date (default {AS_OF})")
    ap.add_argument("--detail", default="auto", choices=["auto", "csv", "off"],
                    help="the whole command's --detail (the stages always write the detail CSVs)")
    ap.add_argument("--stages", action="store_true", help="also time each stage in one process")
    ap.add_argument("--scaling", nargs="*", metavar="DIR",
                    help="merge+score alone on these data dirs (default: town, scale-10k, scale-100k if present)")
    ap.add_argument("--startup", action="store_true", help="ccredit --help/--version vs import typer")
    ap.add_argument("--no-naive", action="store_true")
    ap.add_argument("--detail-limit", type=int, default=None)
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--json", type=Path, help="also write all figures as JSON")
    ap.add_argument("--worker", help=argparse.SUPPRESS)
    ap.add_argument("rest", nargs="*", help=argparse.SUPPRESS)
    args = ap.parse_args(argv)

    if args.worker:
        r = args.rest
        fn = {"stages": lambda: work_stages(Path(r[0]), Path(r[1]), int(r[2]) or None, r[3], r[4]),
              "floor-read": lambda: work_floor_read(Path(r[0])),
              "floor-write": lambda: work_floor_write(Path(r[0]), Path(r[1])),
              "floor-csv": lambda: work_floor_csv(Path(r[0]), r[1], Path(r[2])),
              "floor-json": lambda: work_floor_json(Path(r[0]), Path(r[1])),
              "floor-register": lambda: work_floor_register(Path(r[0]), Path(r[1])),
              "naive": lambda: work_naive(Path(r[0]), Path(r[1])),
              "mergescore": lambda: work_mergescore(Path(r[0]), int(r[1])),
              "stream": lambda: work_stream(Path(r[0]))}[args.worker]
        print(json.dumps(fn()))
        return 0

    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()}
    m = report["machine"]
    print(f"{report['date']} · {m['cpus']} CPUs · {m['memory']} · Python {m['python']} · "
          + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    sizes = args.size or ([] if (args.scaling is not None or args.startup or args.data) else ["town"])
    for size in sizes:
        if size == "stress":
            path = HERE / "data" / "stress" / "社会信用系统导出.csv"
            if not path.is_file():
                sys.exit("no stress data: run  python benchmarks/make_data.py --size stress")
            r = measure(worker("stream", str(path.parent)))
            if "error" in r:
                sys.exit(r["error"])
            report["stress"] = r
            print(f"\n== stress: {path.stat().st_size / 1e9:.2f} GB of records streamed against 100,000 applicants ==")
            print(fmt_row("read applicants + stream records", r["wall"], r["rss_mb"])
                  + f"  (applicants {r['applicants']:.1f} s, records {r['stream']:.1f} s; kept {r['kept_rows']:,}, "
                    f"dropped {r['dropped']:,}, problems {r['problems']:,})")
            continue
        res = run_data(size, HERE / "data" / size, args)
        report[size] = res
        print_size(res)
    for data in args.data or []:
        res = run_data(data.name, data.resolve(), args)
        report[data.name] = res
        print_size(res)
    if args.scaling is not None:
        dirs = [Path(d) for d in args.scaling] or [HERE / "data" / d for d in ("town", "scale-10k", "city", "scale-100k")
                                                   if (HERE / "data" / d / APPLICANTS).is_file()]
        print("\n== merge + score alone (inputs in memory, best of --repeat) ==")
        report["scaling"] = []
        for d in dirs:
            r = measure(worker("mergescore", str(d), str(args.repeat)))
            if "error" in r:
                print(r["error"])
                continue
            report["scaling"].append({"dir": d.name, **r})
            total = r["merge"] + r["score"]
            print(f"  {d.name:<12}{r['enterprises']:>9,} enterprises {r['records']:>11,} records: merge "
                  f"{r['merge']:6.2f} s  score {r['score']:6.2f} s  total {total:6.2f} s  "
                  f"({total / r['enterprises'] * 1e6:.1f} µs/enterprise)")
    if args.startup:
        s = startup(max(args.repeat, 5))
        report["startup"] = s
        print("\n== start-up (median) ==")
        print(f"  python -c 'import typer' {s['import_typer']:.3f} s · ccredit --help {s['help']:.3f} s "
              f"({s['help'] / s['import_typer']:.2f}×) · --version {s['version']:.3f} s "
              f"({s['version'] / s['import_typer']:.2f}×) · heavy imports on --help: {s['heavy_imports_on_help'] or 'none'}")
        survey = (ROOT / "cluster_credit_cli" / "commands" / "survey.py").is_file()
        print("  survey tabulation: " + ("see --survey (not yet wired)" if survey else
                                          "skipped — no `ccredit survey` command in this checkout"))
    if args.json:
        args.json.write_text(json.dumps(report, ensure_ascii=False, indent=2, default=str))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
