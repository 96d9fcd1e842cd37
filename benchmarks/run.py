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


def _env() -> dict[str, str]:
    env = dict(os.environ)
    paths = [str(ROOT)] + [p for p in sys.path if p.endswith("site-packages")] if sys.flags.no_site else [str(ROOT)]
    env["PYTHONPATH"] = os.pathsep.join(paths + ([env["PYTHONPATH"]] if env.get("PYTHONPATH") else []))
    return env


def measure(args: list[str], *, capture: bool = True) -> dict:
    """Run a child; wall seconds, peak RSS (MB), exit code and the last JSON line it printed."""
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.PIPE if capture else subprocess.DEVNULL,
                            stderr=subprocess.PIPE, env=_env(), cwd=ROOT)
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


def work_stages(data: Path, out: Path, detail_limit: int | None) -> dict:
    import datetime as dt

    from cluster_credit_cli.outputs import rating_workbook as report
    from cluster_credit_cli.rating.pipeline import score_round

    t0 = time.perf_counter()
    applicants = data / APPLICANTS
    model, sources = _sources(applicants)
    rss: dict[str, float] = {}
    order = ["read", "merge", "score"]

    def progress(name: str) -> None:
        i = order.index(name)
        if i:
            rss[order[i - 1]] = _rss_mb()

    result = score_round(applicants, sources, model=model, as_of=dt.date.fromisoformat(AS_OF), progress=progress)
    rss["score"] = _rss_mb()
    t1 = time.perf_counter()
    report.write_rating_workbook(result, out, detail_limit=detail_limit)
    write = time.perf_counter() - t1
    rss["write"] = _rss_mb()
    stages = {k: {"wall": v, "rss_mb": rss.get(k)} for k, v in result.timings.items()}
    stages["write"] = {"wall": write, "rss_mb": rss["write"]}
    return {"stages": stages, "total_in_process": time.perf_counter() - t0,
            "enterprises": len(result.table), "problems": len(result.problems),
            "records": 0 if result.merged.records is None else len(result.merged.records)}


def work_floor_read(data: Path) -> dict:
    import pandas as pd
    from python_calamine import CalamineWorkbook

    from cluster_credit_cli.inputs.reading import detect_encoding

    t0 = time.perf_counter()
    cells = 0
    for path in sorted(data.iterdir()):
        if path.suffix == ".xlsx":
            rows = CalamineWorkbook.from_path(str(path)).get_sheet_by_index(0).to_python()
            cells += sum(len(r) for r in rows)
        elif path.suffix == ".csv":
            with open(path, "rb") as fh:
                enc = detect_encoding(fh.read(1 << 20))
            frame = pd.read_csv(path, dtype=str, encoding=enc, engine="c", keep_default_na=False)
            cells += frame.size
    return {"read": time.perf_counter() - t0, "cells": cells}


def work_floor_write(workbook: Path, target: Path) -> dict:
    """Write the same cells as ``workbook`` (and its CSVs) as plain values, constant-memory."""
    import csv

    import xlsxwriter
    from python_calamine import CalamineWorkbook

    book = CalamineWorkbook.from_path(str(workbook))
    sheets = [(name, book.get_sheet_by_name(name).to_python()) for name in book.sheet_names]
    sidecars = []
    for p in workbook.parent.glob(workbook.stem + "_*.csv"):
        with open(p, encoding="utf-8-sig", newline="") as fh:
            sidecars.append(list(csv.reader(fh)))
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
    for pkg in ("pandas", "numpy", "python-calamine", "XlsxWriter", "openpyxl", "typer", "rich"):
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
    return f"  {label:<34}{wall:9.2f} s {mem}  {ratio}"


def run_size(size: str, args) -> dict:
    data = HERE / "data" / size
    if not (data / APPLICANTS).is_file():
        sys.exit(f"no data for {size}: run  python benchmarks/make_data.py --size {size}")
    tmp = Path(tempfile.mkdtemp(prefix=f"ccredit-bench-{size}-"))
    out = tmp / "ratings.xlsx"
    res: dict = {"size": size}
    limit = ["--detail-limit", str(args.detail_limit)] if args.detail_limit else []
    cmd = measure(_python() + ["-m", "cluster_credit_cli", "score", str(data / APPLICANTS), "--as-of", AS_OF,
                               "--out", str(out), "--quiet", *limit], capture=False)
    if "error" in cmd:
        sys.exit(cmd["error"])
    res["command"] = cmd
    res["floor_read"] = measure(worker("floor-read", str(data)))
    res["floor_write"] = measure(worker("floor-write", str(out), str(tmp / "floor.xlsx")))
    res["floor"] = res["floor_read"]["read"] + res["floor_write"]["write"]
    if not args.no_naive:
        res["naive"] = measure(worker("naive", str(data), str(tmp / "naive.xlsx")))
    if args.stages:
        res["stages"] = measure(worker("stages", str(data), str(tmp / "stages.xlsx"), str(args.detail_limit or 0)))
    res["outputs"] = sorted((p.name, p.stat().st_size) for p in tmp.iterdir() if p.name.startswith("ratings"))
    return res


def print_size(res: dict) -> None:
    floor = res["floor"]
    print(f"\n== {res['size']} ==")
    print(f"  {'':<34}{'wall':>11} {'peak RSS':>11}  vs floor")
    if "stages" in res:
        st = res["stages"]
        for name, s in st["stages"].items():
            ref = res["floor_read"]["read"] if name == "read" else res["floor_write"]["write"] if name == "write" else None
            print(fmt_row(f"stage {name}", s["wall"], s["rss_mb"], ref))
        print(f"  ({st['enterprises']:,} enterprises, {st['records']:,} applicant records, {st['problems']:,} problems)")
    c = res["command"]
    print(fmt_row("ccredit score (whole command)", c["wall"], c["rss_mb"], floor))
    print(fmt_row("floor: read (calamine / pandas C)", res["floor_read"]["read"], res["floor_read"]["rss_mb"]))
    print(fmt_row("floor: write (XlsxWriter const-mem)", res["floor_write"]["write"], res["floor_write"]["rss_mb"]))
    print(fmt_row("floor: read + write", floor, None))
    if "naive" in res:
        n = res["naive"]
        print(fmt_row("naive pandas script", n["wall"], n["rss_mb"], floor))
        print(f"  naive / ccredit: {n['wall'] / c['wall']:.2f}×  (read {n['read']:.1f} s, merge+score "
              f"{n['merge_score']:.2f} s, write {n['write']:.1f} s)")
    print(f"  ccredit / floor: {c['wall'] / floor:.2f}×; outputs: "
          + ", ".join(f"{n} ({s / 1e6:.1f} MB)" for n, s in res["outputs"]))


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--size", choices=["town", "city", "stress"], action="append")
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
        fn = {"stages": lambda: work_stages(Path(r[0]), Path(r[1]), int(r[2]) or None),
              "floor-read": lambda: work_floor_read(Path(r[0])),
              "floor-write": lambda: work_floor_write(Path(r[0]), Path(r[1])),
              "naive": lambda: work_naive(Path(r[0]), Path(r[1])),
              "mergescore": lambda: work_mergescore(Path(r[0]), int(r[1])),
              "stream": lambda: work_stream(Path(r[0]))}[args.worker]
        print(json.dumps(fn()))
        return 0

    report: dict = {"date": time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime()), "machine": machine()}
    m = report["machine"]
    print(f"{report['date']} · {m['cpus']} CPUs · {m['memory']} · Python {m['python']} · "
          + ", ".join(f"{k} {v}" for k, v in m["versions"].items()))
    sizes = args.size or ([] if (args.scaling is not None or args.startup) else ["town"])
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
        res = run_size(size, args)
        report[size] = res
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
