"""Issue 12 item 7: one language at a time.

Every command runs in both languages over the sample round and over a hostile round (typos in
headers, ambiguous numbers, a broken code, an export that is not a workbook, a missing file); no
message may mix scripts outside quoted user data. With the default Chinese no English sentence
appears; with ``--lang en`` no Chinese character, Chinese punctuation or unit.

User data is taken out before the check: every text in the input files (names, headers, cell
values), file names and paths, and anything between quotes.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path

import pytest
from conftest import AUDITOR_HEADER, applicant, auditor, build_round, code, ent, write_xlsx
from openpyxl import load_workbook
from typer.testing import CliRunner

from cluster_credit_cli.cli import app

ROOT = Path(__file__).resolve().parent.parent
runner = CliRunner()

CJK = re.compile(r"[\u3000-\u303f\u3400-\u9fff\uff00-\uffef]")
QUOTED = re.compile(r"“[^”]*”|‘[^’]*’|'[^'\n]*'|\"[^\"\n]*\"|「[^」]*」")
# Words that are not English prose in a Chinese message: formats, names, options, statistics.
ZH_ALLOWED = {"xlsx", "xlsm", "xls", "csv", "json", "toml", "ccredit", "sha", "sheet", "utf", "gbk", "gb18030",
              "lambda", "max", "chi", "fisher", "cnk", "true", "false", "aaa", "bbb", "html", "bom", "debug",
              "pdf", "png", "xml", "zip", "ole", "mb", "kb", "gb", "cr", "ri", "ci", "ahp", "rank",
              # XLSForm types of a drafted codebook (the format's own keywords)
              "select_one", "select_multiple", "select", "one", "multiple", "integer", "decimal", "text",
              "calculate", "toml", "model", "list", "yyyy", "utc", "excel", "sqlite", "wps", "libreoffice",
              "hyperlink", "http", "pid"}


def user_texts(folder: Path) -> set[str]:
    """Every text a user put in the round's files, and the files' names."""
    out: set[str] = set()
    for path in folder.rglob("*"):
        if not path.is_file():
            continue
        out.update({path.name, path.stem})
        if path.suffix == ".xlsx":
            try:
                wb = load_workbook(path, read_only=True)
            except Exception:  # noqa: BLE001 - a hostile file: its name is all we take
                continue
            for ws in wb.worksheets:
                out.add(ws.title)
                for row in ws.iter_rows(values_only=True):
                    out.update(str(v) for v in row if v is not None)
        elif path.suffix == ".csv":
            for enc in ("utf-8-sig", "gb18030"):
                try:
                    text = path.read_text(encoding=enc)
                    break
                except UnicodeDecodeError:
                    continue
            for line in text.splitlines():
                out.update(c.strip() for c in line.split(",") if c.strip())
    from cluster_credit_cli.text import clean_text, normalize_header

    out |= {clean_text(t) for t in out} | {normalize_header(t) for t in out}  # as ccredit shows them
    return {t for t in out if t.strip()}


def leftovers(text: str, data: set[str]) -> str:
    """The output without quoted parts, user data, paths and option names."""
    text = QUOTED.sub(" ", text)
    text = re.sub(r"\b[0-9a-f]{6,}\b", " ", text)  # hashes, before user data cuts them up
    text = re.sub(r"[^\s\t（）()：:，,；;]*[/\\][^\s\t（）()：:，,；;]*", " ", text)  # paths
    for t in sorted(data, key=len, reverse=True):
        # short ASCII cells ("id", "no") would cut words apart; CJK data of 2+ characters is safe
        if len(t) >= 4 or (len(t) >= 2 and not t.isascii()):
            text = text.replace(t, " ")
    text = re.sub(r"--[a-z][a-z-]*", " ", text)  # option names
    text = re.sub(r"ccredit(?: [a-z][a-z-]*)*", " ", text)  # a command to type ("先运行 ccredit pool import")
    text = re.sub(r"\b[A-Z_]{3,}\b", " ", text)  # placeholders of a command line (DATE, PATH)
    text = re.sub(r"\b[a-z]+(?:_[a-z]+)+\b", " ", text)  # problem codes (bad_code), stable keys for scripts
    # batch.log: time, pid, round, event code, detail — the event column is a code for scripts
    text = re.sub(r"^([^\t\n]*\tpid=[^\t\n]*\t[^\t\n]*\t)[a-z_]+\t", r"\1", text, flags=re.M)
    return text


def mixed(text: str, lang: str, data: set[str]) -> list[str]:
    bad = []
    for line in leftovers(text, data).splitlines():
        if lang == "en":
            if CJK.search(line):
                bad.append(line.strip())
        else:
            words = [w for w in re.findall(r"[A-Za-z]{3,}", line) if w.lower() not in ZH_ALLOWED]
            if words:
                bad.append(line.strip())
    return bad


def hostile_round(folder: Path) -> Path:
    import datetime as dt

    from conftest import record

    paths = build_round(folder, [ent(1), ent(2), ent(3), ent(4, aud={"营业收入": "1,2,3"})], credit_csv="gb18030",
                        records=[record(1, "行政处罚", dt.date(2026, 12, 1)), record(3, "严重失信", dt.date(2025, 1, 1))])
    write_xlsx(paths["applicants"], [
        applicant(1), applicant(2, **{"申请贷款金额（万元）": -5}), applicant(3, 技术水平=None),
        applicant(4), applicant(5, 统一社会信用代码=code(1)[:17] + ("0" if code(1)[17] != "0" else "1")),
        applicant(2, 企业名称="东莞市另一家模具有限公司")])
    write_xlsx(paths["auditor"], [auditor(1), auditor(2), auditor(4, 营业收入="1,2,3")], AUDITOR_HEADER,
               rename={"流动负债": "流动负责"})
    paths["bank"].write_bytes(b"this is not a workbook")
    return paths["applicants"]


def sample_round(folder: Path) -> Path:
    folder.mkdir(parents=True, exist_ok=True)
    for f in (ROOT / "sample_data").iterdir():
        if f.suffix in (".xlsx", ".csv") and "问卷" not in f.name:
            shutil.copy2(f, folder / f.name)
    return folder / "申报材料汇总.xlsx"


def commands(applicants: Path, work: Path, lang: str) -> list[list[str]]:
    folder = applicants.parent
    js = work / f"result_{lang}.json"
    db = work / f"reg_{lang}.db"
    cmds = [
        ["score", applicants, "--as-of", "2026-11-30", "--out", work / f"r_{lang}.xlsx", "--json", js, "--db", db],
        ["score", applicants, "--as-of", "2026-12-31", "--out", work / f"r2_{lang}.xlsx", "--db", db],
        ["score", applicants, "--bank", folder / "没有这个文件.xlsx"],
        ["score", applicants, "--as-of", "2026-13-01"],
        ["check", applicants, "--as-of", "2026-11-30", "--out", work / f"c_{lang}.xlsx"],
        ["check", folder / "没有这个文件.xlsx"],
        ["model", "show"], ["model", "check"], ["model", "export", work / f"m_{lang}.xlsx"],
        ["template", "auditor", "--out", work / f"t_{lang}.xlsx"], ["template", "nothing"],
        ["weights", "template", "--out", work / f"w_{lang}.xlsx"],
        ["weights", "ahp", work / f"w_{lang}.xlsx", "--out", work / f"wa_{lang}.xlsx"],
        ["weights", "entropy", js], ["weights", "sensitivity", js, "--draws", "20", "--seed", "1",
                                      "--out", work / f"s_{lang}.xlsx"],
        ["runs", "--db", db], ["history", code(1), "--db", db], ["compare", "--db", db, "--out", work / f"cmp_{lang}.xlsx"],
        ["runs", "--db", work / "no_register.db"],
        ["monitor", "--credit-system", folder / "社会信用系统导出.csv", "--db", db, "--as-of", "2027-01-31",
         "--out", work / f"mon_{lang}.xlsx"],
        ["survey", ROOT / "sample_data" / "问卷数据.xlsx", "--codebook", ROOT / "config/survey/hengli_codebook.xlsx",
         "--out", work / f"sv_{lang}.xlsx"],
        ["survey", "codebook", ROOT / "sample_data" / "问卷数据.xlsx", "--out", work / f"cb_{lang}.xlsx"],
        ["pool", "status", "--db", db, "--as-of", "2026-12-31", "--out", work / f"ps_{lang}.xlsx"],
        ["pool", "history", "--db", db, "--out", work / f"ph_{lang}.xlsx"],
        ["validate", "--db", db, "--out", work / f"v_{lang}.xlsx"],
        ["batch", folder.parent / "inbox", "--out", work / f"outbox_{lang}", "--settle", "0", "--as-of", "2026-11-30"],
    ]
    return [[str(a) for a in c] + ["--lang", lang] for c in cmds]


@pytest.mark.parametrize("lang", ["zh", "en"])
@pytest.mark.parametrize("which", ["sample", "hostile"])
def test_every_command_speaks_one_language(tmp_path, lang, which):
    folder = tmp_path / "round"
    applicants = sample_round(folder) if which == "sample" else hostile_round(folder)
    work = tmp_path / "work"
    work.mkdir()
    shutil.copytree(folder, tmp_path / "inbox" / "2026Q4")  # the same round, for batch
    # + the model's name as recorded in the register (history keeps the name the run had)
    data = user_texts(folder) | user_texts(ROOT / "sample_data") | {str(tmp_path), "横沥模具中小微企业综合信用评估"}
    failures = {}
    for i, args in enumerate(commands(applicants, work, lang)):
        res = runner.invoke(app, args, env={"COLUMNS": "200"})
        assert "Traceback" not in res.output and res.exit_code in (0, 1, 2), (args, res.output)
        text = res.output
        if args[0] == "batch":  # and what batch writes for people: its log and the round's summary
            outbox = Path(args[args.index("--out") + 1])
            text += "\n".join(p.read_text(encoding="utf-8") for p in outbox.rglob("*")
                              if p.suffix in (".log", ".md") and p.is_file())
        bad = mixed(text, lang, data)
        if bad:
            failures[f"{i}: {' '.join(a if '/' not in a else Path(a).name for a in args)}"] = bad[:6]
    assert not failures, json.dumps(failures, ensure_ascii=False, indent=1)


def test_the_checker_itself_catches_mixed_scripts():
    assert mixed("Pool: 3,100 of 10,000 万元 allocated", "en", set())
    assert mixed("missing: F1 Solvency、F2 Operating efficiency", "en", set())
    assert not mixed("Written: “申报材料汇总_评级结果.xlsx”", "en", set())
    assert mixed("错误 / error: --bank: file not found: x.xlsx", "zh", set())
    assert not mixed("已写入：/tmp/x/申报材料汇总_评级结果_2026-11-30.xlsx", "zh", set())
    assert not mixed("企业 Acme Moulds 的名称不一致", "zh", {"Acme Moulds"})
