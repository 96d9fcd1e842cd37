"""Unattended batch runs: every subfolder of an inbox is one review round.

``run_batch`` is the core behind ``ccredit batch``. Per run:

1. take the outbox's run lock (``lock.run_lock``; held by a live process -> ``BatchLocked``);
2. list the rounds (subfolders of the inbox; hidden, ``~$`` and ``_``-prefixed ones skipped) and
   their input files (Excel owner files, hidden and temporary files ignored, as in ``discovery``);
3. wait ``settle_seconds`` once and compare every file's size and modification time: a round with a
   file still being written (or one that appeared or vanished) is left for the next run;
4. for each ready round, one by one and isolated (an exception ends that round only): find its
   files, hash them, skip it when the manifest already holds the same key (unless ``force``),
   claim it (``lock.try_claim``), re-check the manifest, score it, write the outputs atomically to
   ``OUTBOX/processed/<round>/`` (or an error report to ``OUTBOX/failed/<round>/``), record the
   manifest entry, drop the claim;
5. rebuild ``manifest.json``, write ``last-run.json`` (the summary for the scheduler) and append
   every event to ``batch.log``.

Outputs of a round that an earlier run put in the other folder (processed vs failed) are moved
to ``OUTBOX/superseded/`` rather than deleted: nothing computed is lost, nothing stale is shown
beside new results.
"""

from __future__ import annotations

import datetime as _dt
import fnmatch
import json
import os
import shutil
import time
import traceback
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any, Callable

from cluster_credit_cli.i18n import diverted_note
from cluster_credit_cli import __version__
from cluster_credit_cli.atomic import WriteOutcome, atomic_write_text
from cluster_credit_cli.i18n import say, use_lang
from cluster_credit_cli.batch.lock import DEFAULT_MAX_AGE, LockHeld, LockInfo, run_lock, try_claim
from cluster_credit_cli.batch.manifest import (
    RoundRecord, load_entry, now_iso, rebuild, save_entry, sha256_file, up_to_date,
)
from cluster_credit_cli.problems import UsageError

LOG_NAME = "batch.log"
SUMMARY_NAME = "last-run.json"
PROCESSED, FAILED, SUPERSEDED = "processed", "failed", "superseded"
# Always ignored inside a round, whatever the model's discovery settings say.
TEMP_PATTERNS = ("~$*", ".*", "*.tmp", "*.tmp.*", "*.part", "*.partial", "*.crdownload", "*~", "thumbs.db",
                 "desktop.ini")


class BatchLocked(Exception):
    """Another live batch run holds the outbox (exit code 3)."""

    def __init__(self, held: LockHeld):
        self.holder: LockInfo | None = held.holder
        super().__init__(str(held))


@dataclass
class RoundReport:
    round: str
    action: str  # processed | failed | error | skipped | not_ready | claimed | would_run | refused (a link)
    outcome: str | None = None  # manifest outcome (ok | problems | failed | error)
    message: str = ""
    outputs: list[str] = field(default_factory=list)
    problems: int = 0
    notes: list[str] = field(default_factory=list)  # e.g. an output kept under a new name


@dataclass
class BatchReport:
    inbox: str
    outbox: str
    as_of: str
    model_hash: str
    tool_version: str
    dry_run: bool
    force: bool
    started: str
    finished: str = ""
    rounds: list[RoundReport] = field(default_factory=list)
    events: list[str] = field(default_factory=list)

    @property
    def exit_code(self) -> int:
        """0 all good; 1 a round failed, errored or had data problems."""
        # Rounds skipped as unchanged were reported by the run that processed them.
        bad = any(r.action in ("failed", "error", "refused") or (r.action == "processed" and r.outcome == "problems")
                  for r in self.rounds)
        return 1 if bad else 0

    def count(self, action: str) -> int:
        return sum(r.action == action for r in self.rounds)

    def to_json(self) -> dict[str, Any]:
        data = asdict(self)
        data["exit_code"] = self.exit_code
        data["counts"] = {a: self.count(a) for a in
                          ("processed", "failed", "error", "skipped", "not_ready", "claimed", "would_run",
                           "refused")}
        return data


# -- rounds and their files ----------------------------------------------------------------------

def _ignored(name: str, patterns: list[str]) -> bool:
    low = name.lower()
    return any(fnmatch.fnmatch(low, p.lower()) for p in (*TEMP_PATTERNS, *patterns))


def _inside(path: Path, folder: Path) -> bool:
    try:
        real, base = path.resolve(), folder.resolve()
    except (OSError, RuntimeError):  # a symlink loop
        return False
    return real == base or base in real.parents


def _is_link(entry: os.DirEntry) -> bool:
    # A Windows junction is no symlink to is_symlink(); resolving it outside the folder catches it.
    return entry.is_symlink() or bool(getattr(entry, "is_junction", lambda: False)())


def scan_inbox(inbox: Path) -> tuple[list[Path], list[str]]:
    """(round folders by name, names refused because they are links or lead outside the inbox).

    Nothing behind a refused name is read: a round linked to / or to another user's folder is
    reported by its name only.
    """
    rounds, refused = [], []
    for e in sorted(os.scandir(inbox), key=lambda e: e.name):
        if e.name.startswith((".", "~$", "_")):
            continue
        if _is_link(e) or (e.is_dir(follow_symlinks=False) and not _inside(Path(e.path), Path(inbox))):
            refused.append(e.name)
        elif e.is_dir(follow_symlinks=False):
            rounds.append(Path(e.path))
    return rounds, refused


def list_rounds(inbox: Path) -> list[Path]:
    """Round folders of an inbox, by name (links and folders outside the inbox left out)."""
    return scan_inbox(inbox)[0]


def scan_round(folder: Path, patterns: list[str]) -> tuple[list[Path], list[str]]:
    """(input files of a round, names refused because they are links or lead outside the round)."""
    files, refused = [], []
    for e in sorted(os.scandir(folder), key=lambda e: e.name):
        if _ignored(e.name, patterns):
            continue
        if _is_link(e):
            refused.append(e.name)
        elif e.is_file(follow_symlinks=False):
            if _inside(Path(e.path), folder):
                files.append(Path(e.path))
            else:
                refused.append(e.name)
    return files, refused


def round_files(folder: Path, patterns: list[str]) -> list[Path]:
    return scan_round(folder, patterns)[0]


def snapshot(files: list[Path]) -> dict[str, tuple[int, int]]:
    out = {}
    for p in files:
        try:
            st = p.stat()
        except OSError:
            continue
        out[p.name] = (st.st_size, st.st_mtime_ns)
    return out


# -- the run -------------------------------------------------------------------------------------

_COUNT_ZH = {"processed": "已处理", "ok": "正常", "problems": "有问题", "failed": "失败", "error": "出错",
             "skipped": "跳过", "not_ready": "未就绪", "claimed": "他人处理中", "would_run": "将处理"}
_OUTCOME_ZH = {"ok": "正常", "problems": "有数据问题", "failed": "失败", "error": "出错"}
_EVENT_ZH = {"start": "开始", "end": "结束", "processed": "已处理", "failed": "失败", "skipped": "跳过",
             "not_ready": "未就绪", "error": "出错", "claimed": "他人处理中", "would_run": "将处理",
             "diverted": "另存", "stale_lock": "过期锁", "stale_claim": "过期认领", "lock_held": "已被锁定",
             "no_rounds": "没有轮次", "refused_link": "拒绝链接", "settle": "等待稳定", "registered": "已登记"}


class _Log:
    """One line per event with a timestamp, appended to OUTBOX/batch.log (not in a dry run)."""

    def __init__(self, outbox: Path, enabled: bool, echo: Callable[[str], None] | None):
        self.path = outbox / LOG_NAME
        self.enabled, self.echo = enabled, echo
        self.lines: list[str] = []

    def __call__(self, round_name: str, event: str, detail: str = "") -> None:
        from cluster_credit_cli.text import one_line

        stamp = _dt.datetime.now().astimezone().isoformat(timespec="seconds")
        # Names come from the inbox: a newline or tab in them is escaped, so one event is one line.
        name, detail = one_line(round_name or "-"), one_line(" ".join(detail.split()))
        line = f"{stamp}\tpid={os.getpid()}\t{name}\t{event}\t{detail}"
        self.lines.append(line)
        if self.echo:  # for a person: the event in words of the run's language
            word = say(_EVENT_ZH.get(event, event), event)
            self.echo(f"{name}{say('：', ': ')}{word}" + (f" — {detail}" if detail else ""))
        if self.enabled:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            with open(self.path, "a", encoding="utf-8") as fh:  # one short write per line
                fh.write(line + "\n")


def run_batch(inbox: Path, outbox: Path, *, model, as_of: _dt.date | None = None, dry_run: bool = False,
              force: bool = False, settle_seconds: float = 60.0, lang: str = "zh",
              max_lock_age: float = DEFAULT_MAX_AGE, echo: Callable[[str], None] | None = None,
              sleep: Callable[[float], None] = time.sleep, db: Path | None = None) -> BatchReport:
    """Process every ready round of ``inbox`` into ``outbox``; see the module docstring.

    Raises ``UsageError`` for a missing inbox and ``BatchLocked`` when another run holds the outbox.
    """
    inbox, outbox = Path(inbox), Path(outbox)
    if not inbox.is_dir():
        raise UsageError(say(f"收件夹不存在：{inbox}", f"inbox folder not found: {inbox}"))
    if outbox.resolve() == inbox.resolve() or inbox.resolve() in outbox.resolve().parents:
        raise UsageError(say("发件夹不能在收件夹之内", "the outbox must not be inside the inbox"))
    if db is not None and inbox.resolve() in Path(db).resolve().parents:
        raise UsageError(say(f"--db {db}：评级登记簿不能在收件夹之内", f"--db {db}: the register must not be inside the inbox"))
    explicit = as_of is not None
    day = as_of or _dt.date.today()
    report = BatchReport(str(inbox), str(outbox), day.isoformat(), model.hash, __version__, dry_run, force,
                         now_iso())
    log = _Log(outbox, not dry_run, echo)
    lock = run_lock(outbox, max_age=max_lock_age)
    if not dry_run:
        outbox.mkdir(parents=True, exist_ok=True)
        try:
            lock.acquire()
        except LockHeld as held:
            log("", "lock_held", str(held))
            raise BatchLocked(held) from None
        for e in lock.events:
            log("", "stale_lock", e)
    try:
        with use_lang(lang):
            # The detail in the run's language (the event column stays a code for scripts).
            log("", "start", say(f"收件夹 {inbox}；基准日 {day.isoformat()}{'' if explicit else '（今天）'}；"
                                 f"模型 {model.hash[:12]}；版本 {__version__}{'；强制重算' if force else ''}"
                                 f"{'；试运行' if dry_run else ''}",
                                 f"inbox={inbox} as_of={day.isoformat()}{'' if explicit else ' (today)'} "
                                 f"model={model.hash[:12]} tool={__version__}{' force' if force else ''}"
                                 f"{' dry-run' if dry_run else ''}"))
            _run_rounds(inbox, outbox, report, log, lock, model=model, day=day, explicit=explicit,
                        dry_run=dry_run, force=force, settle=settle_seconds, lang=lang, sleep=sleep,
                        db=Path(db).resolve() if db is not None else None)
            report.finished = now_iso()
            counts = {k: v for k, v in report.to_json()["counts"].items() if v}
            log("", "end", say("；".join(f"{_COUNT_ZH.get(k, k)} {v}" for k, v in counts.items())
                               + f"；退出码 {report.exit_code}",
                               " ".join(f"{k}={v}" for k, v in counts.items()) + f" exit={report.exit_code}"))
            report.events = log.lines
            if not dry_run:
                rebuild(outbox)
                atomic_write_text(outbox / SUMMARY_NAME,
                                  json.dumps(report.to_json(), ensure_ascii=False, indent=2) + "\n")
    finally:
        if not dry_run:
            lock.release()
    return report


def _run_rounds(inbox, outbox, report, log, lock, *, model, day, explicit, dry_run, force, settle, lang,
                sleep, db=None) -> None:
    patterns = list(model.discovery.get("ignore", []))
    rounds, refused = scan_inbox(inbox)
    for name in refused:
        msg = say("是符号链接或指向收件夹以外，未读取；请把文件本身复制进收件夹",
                  "a link, or leads outside the inbox: not read; copy the files themselves into the inbox")
        report.rounds.append(RoundReport(name, "refused", message=msg))
        log(name, "refused_link", msg)
    if not rounds:
        log("", "no_rounds", say("收件夹中没有轮次子文件夹", "no round folders in the inbox"))
        return
    before = {r.name: snapshot(round_files(r, patterns)) for r in rounds}
    # Wait only when a file changed within the settle window: old files that nothing touches
    # are complete, and a nightly run over them should not sleep a minute for nothing.
    now_ns = time.time_ns()
    recent = sorted(name for name, snap in before.items()
                    if any(now_ns - mtime < settle * 1e9 for _, mtime in snap.values()))
    if settle > 0 and recent:
        log("", "settle", say(f"{', '.join(recent)} 中有文件在 {settle:g} 秒内被修改，等待 {settle:g} 秒",
                              f"files of {', '.join(recent)} changed within {settle:g}s; waiting {settle:g}s"))
        sleep(settle)
    elif settle > 0:
        log("", "settle", say(f"所有文件在 {settle:g} 秒内均未修改，不等待",
                              f"no file changed within {settle:g}s; no wait"))
    for folder in rounds:
        name = folder.name
        try:
            files = round_files(folder, patterns)
            if snapshot(files) != before[name]:
                report.rounds.append(RoundReport(name, "not_ready", message=say(
                    f"文件在 {settle:g} 秒内仍有变化，下次再处理", f"files still changing within {settle:g}s; left for the next run")))
                log(name, "not_ready", report.rounds[-1].message)
                continue
            rep = _one_round(folder, files, outbox, log, lock, model=model, day=day, explicit=explicit,
                             dry_run=dry_run, force=force, lang=lang, db=db, patterns=patterns)
            rep.notes += [say(f"{name}/{link}：是符号链接或指向轮次文件夹以外，未读取",
                              f"{name}/{link}: a link, or leads outside the round folder: not read")
                          for link in scan_round(folder, patterns)[1]]
            report.rounds.append(rep)
        except Exception as exc:  # noqa: BLE001 - one round's trouble never stops the others
            report.rounds.append(RoundReport(name, "error", "error", f"{type(exc).__name__}: {exc}"))
            log(name, "error", f"{type(exc).__name__}: {exc}")


def fingerprint(path: Path) -> str:
    """SHA-256 of an input, or a stand-in when hashing it would be wrong.

    A file above the preflight's size cap is refused anyway: it is not read in full to hash it
    (a 20 GiB export took 51 s). An unreadable one (no permission) is reported by the round, not
    an error that retries it forever. Size, modification and change times stand in for their
    content, so fixing the file (or its permissions) makes the round run again.
    """
    from cluster_credit_cli.inputs.filecheck import Limits

    st = path.stat()
    stand_in = f"{st.st_size}:{st.st_mtime_ns}:{st.st_ctime_ns}"
    if st.st_size > Limits().max_file_bytes:
        return "unhashed:" + stand_in
    try:
        return sha256_file(path)
    except OSError:
        return "unreadable:" + stand_in


def _one_round(folder: Path, files: list[Path], outbox: Path, log, lock, *, model, day, explicit, dry_run,
               force, lang, db=None, patterns=()) -> RoundReport:
    from cluster_credit_cli.inputs.discovery import discover_sources, find_applicants

    name = folder.name
    started = now_iso()
    for link in scan_round(folder, list(patterns))[1]:
        log(name, "refused_link", say(f"{link}：是符号链接或指向轮次文件夹以外，未读取",
                                      f"{link}: a link, or leads outside the round folder: not read"))
    inputs = [{"kind": None, "path": p.name, "sha256": fingerprint(p), "size": p.stat().st_size} for p in files]
    if not dry_run:
        _classify(folder, inputs)
    try:
        applicants = find_applicants(folder, model, links=False)
        sources = discover_sources(applicants, model, {}, links=False)
        kinds = {p.name: k for k, p in sources.items()}
        for i in inputs:
            i["kind"] = kinds.get(i["path"])
        problem = None
    except UsageError as exc:
        sources, problem = {}, str(exc)
    record = RoundRecord(name, inputs, model.hash, __version__, day.isoformat(), started=started)
    previous = load_entry(outbox, name)
    if not force and up_to_date(previous, record, as_of_explicit=explicit):
        msg = say(f"输入未变化，已于 {previous.finished} 处理（{previous.outcome}）",
                  f"inputs unchanged, processed {previous.finished} ({previous.outcome})")
        log(name, "skipped", msg)
        return RoundReport(name, "skipped", previous.outcome, msg, list(previous.outputs), previous.problems)
    if dry_run:
        msg = say(f"将处理：{len(files)} 个文件" + (f"；将失败：{problem}" if problem else ""),
                  f"would run: {len(files)} file(s)" + (f"; would fail: {problem}" if problem else ""))
        log(name, "would_run", msg)
        return RoundReport(name, "would_run", message=msg)
    claim = try_claim(outbox, name, max_age=lock.max_age)
    if claim is None:
        msg = say("另一个进程正在处理该轮次", "another process is processing this round")
        log(name, "claimed", msg)
        return RoundReport(name, "claimed", message=msg)
    try:
        for e in claim.events:
            log(name, "stale_claim", e)
        # Someone may have finished it between our first look and the claim.
        previous = load_entry(outbox, name)
        if not force and up_to_date(previous, record, as_of_explicit=explicit):
            msg = say("另一个运行已同时处理完该轮次", "finished by another run meanwhile")
            log(name, "skipped", msg)
            return RoundReport(name, "skipped", previous.outcome, msg, list(previous.outputs), previous.problems)
        lock.heartbeat()
        log(name, "start", say(f"{len(files)} 个文件：", f"{len(files)} file(s): ")
            + ", ".join(f"{i['path']}={i['sha256'][:12]}" for i in inputs))
        rep = _process(folder, sources, problem, record, outbox, model=model, day=day, lang=lang, db=db,
                       previous=previous, explicit=explicit)
        if record.register_run is not None and record.register_run != (previous.register_run if previous else None):
            log(name, "registered", f"run #{record.register_run} → {db}")
        record.finished = now_iso()
        save_entry(outbox, record)
        for note in rep.notes:
            log(name, "diverted", note)
        log(name, rep.action, say(f"结果 {_OUTCOME_ZH.get(rep.outcome, rep.outcome)}；问题 {rep.problems} 条；"
                                  f"输出 {'、'.join(rep.outputs)}",
                                  f"outcome={rep.outcome} problems={rep.problems} outputs={','.join(rep.outputs)}")
            + (f" — {rep.message}" if rep.message else ""))
        return rep
    finally:
        claim.release()


def _classify(folder: Path, inputs: list[dict[str, Any]]) -> None:
    """Record each input's preflight verdict (code and message) for the manifest and error report."""
    from cluster_credit_cli.inputs.filecheck import preflight
    from cluster_credit_cli.inputs.reading import MAX_COLS, MAX_ROWS

    for i in inputs:
        v = preflight(folder / i["path"], max_rows=MAX_ROWS, max_cols=MAX_COLS)
        i["check"] = v.code
        if not v.ok:
            i["check_message"] = v.message
        if v.warnings:
            i["warnings"] = [w.code for w in v.warnings]


def _rel(outbox: Path, outcome: WriteOutcome) -> str:
    return outcome.written.relative_to(outbox).as_posix()


def _retire(outbox: Path, kind: str, name: str) -> None:
    """Move an earlier outcome folder of this round aside (kept, not shown beside new results)."""
    old = outbox / kind / name
    if old.exists():
        stamp = _dt.datetime.now().strftime("%Y%m%d-%H%M%S")
        dest = outbox / SUPERSEDED / f"{name}.{kind}.{stamp}.{os.getpid()}"
        dest.parent.mkdir(parents=True, exist_ok=True)
        shutil.move(str(old), str(dest))


def _process(folder: Path, sources: dict[str, Path], problem: str | None, record: RoundRecord, outbox: Path, *,
             model, day, lang, db=None, previous: RoundRecord | None = None, explicit: bool = False) -> RoundReport:
    from cluster_credit_cli.atomic import output_set
    from cluster_credit_cli.outputs import rating_workbook as rpt
    from cluster_credit_cli.rating.pipeline import score_round

    name = folder.name
    result = None
    error_kind = None
    if problem is None:
        try:
            result = score_round(sources["applicants"], {k: v for k, v in sources.items() if k != "applicants"},
                                 model=model, as_of=day, lang=lang)
        except UsageError as exc:
            error_kind, problem = "failed", str(exc)
        except Exception as exc:  # noqa: BLE001 - an unexpected error ends this round only
            error_kind = "error"
            problem = f"{type(exc).__name__}: {exc}\n" + "".join(traceback.format_exc(limit=8))
    else:
        error_kind = "failed"

    if result is None:
        _retire(outbox, PROCESSED, name)
        target = outbox / FAILED / name
        with output_set():
            outcomes = write_error_report(target, record, problem or "", lang)
        record.outcome, record.message = error_kind or "failed", (problem or "").splitlines()[0] if problem else ""
        record.outputs = [_rel(outbox, o) for o in outcomes]
        return RoundReport(name, "failed" if record.outcome == "failed" else "error", record.outcome,
                           record.message, record.outputs, 0, [diverted_note(o) for o in outcomes if o.diverted])

    _retire(outbox, FAILED, name)
    target = outbox / PROCESSED / name
    applicants = sources["applicants"]
    # The round's outputs are one set (and, with a register, recorded with it): all or none.
    with output_set():
        outcomes = [rpt.write_rating_workbook(result, rpt.default_output(target / applicants.name, day, lang))]
        outcomes.append(rpt.write_json(result, target / "result.json"))
        outcomes.append(write_problems_csv(target / "problems.csv", result.problems.as_dicts(), lang))
        outcomes.append(atomic_write_text(target / "summary.md", round_markdown(name, result, lang)))
        if db is not None:
            _register(db, result, record, previous, explicit)
    record.outcome = "problems" if result.problems else "ok"
    record.problems = len(result.problems)
    record.inputs = [{**i, "kind": next((x["kind"] for x in result.inputs if Path(x["path"]).name == i["path"]),
                                        i["kind"])} for i in record.inputs]
    record.outputs = [_rel(outbox, o) for o in outcomes]
    return RoundReport(name, "processed", record.outcome, "", record.outputs, record.problems,
                       [diverted_note(o) for o in outcomes if o.diverted])


def _register(db: Path, result, record: RoundRecord, previous: RoundRecord | None, explicit: bool) -> None:
    """Record the round in the rating register once per input key (a --force rerun is not a new run)."""
    from cluster_credit_cli.register.store import record_run

    key = record.key if explicit else record.content_key
    if (previous is not None and previous.register_run is not None and previous.register_key == key
            and previous.register_db == str(db)):
        record.register_db, record.register_run, record.register_key = previous.register_db, previous.register_run, key
        return
    record.register_run = record_run(db, result)
    record.register_db, record.register_key = str(db), key


# -- text outputs (escaped against formula injection) --------------------------------------------

def md_cell(value: Any) -> str:
    """A Markdown table cell: formula-like text quoted, pipes escaped, line breaks flattened."""
    from cluster_credit_cli.outputs.excel import escape_for_text_output

    if value is None:
        return ""
    if isinstance(value, float):
        return f"{value:g}"
    from cluster_credit_cli.text import one_line

    text = escape_for_text_output(value) if isinstance(value, str) else value
    return one_line(str(text).replace("\r", " ").replace("\n", " ")).replace("\\", "\\\\").replace("|", "\\|").replace("\r", " ").replace("\n", " ")


def write_problems_csv(path: Path, problems: list[dict[str, Any]], lang: str) -> WriteOutcome:
    import csv
    import io

    from cluster_credit_cli.outputs.excel import escape_for_text_output
    from cluster_credit_cli.i18n import t

    keys = ["file", "sheet", "row", "column", "code", "message", "severity"]
    heads = [t(k if k != "code" else "problem_code", lang) for k in keys]
    buf = io.StringIO()
    w = csv.writer(buf, lineterminator="\r\n")
    w.writerow(heads)
    for p in problems:
        w.writerow([escape_for_text_output(p.get(k)) if p.get(k) is not None else "" for k in keys])
    # UTF-8 with BOM: Excel on Chinese Windows opens it without mojibake.
    return atomic_write_text(path, "\ufeff" + buf.getvalue())


def round_markdown(name: str, result, lang: str) -> str:
    en = lang == "en"
    lines = [f"# {md_cell(name)}", "",
             f"- {'as of' if en else '评价基准日'}: {result.as_of.isoformat()}",
             f"- {'model hash' if en else '模型哈希'}: {result.config_hash[:16]}",
             f"- {'problems' if en else '问题数'}: {len(result.problems)}", ""]
    lines += ["| " + (" | ".join(["Grade", "Enterprises"]) if en else "等级 | 企业数") + " |", "|---|---:|"]
    lines += [f"| {md_cell(g)} | {c} |" for g, c in result.grade_counts().items()]
    lines += ["", "| " + ("Rank | Code | Name | Total | Grade | Status | Reasons" if en
                          else "排名 | 统一社会信用代码 | 企业名称 | 总分 | 等级 | 状态 | 原因")
              + " |", "|---:|---|---|---:|---|---|---|"]
    from cluster_credit_cli.i18n import status_words

    for e in result.to_json()["enterprises"]:
        # Why a firm is not graded (veto, ineligible, incomplete) is said, not just implied by a blank grade.
        why = ("; " if en else "；").join(list(e["reasons"]) + list(e["missing"]))
        lines.append(f"| {e['rank'] if e['rank'] is not None else ''} | {md_cell(e['code'])} | {md_cell(e['name'])} "
                     f"| {'' if e['total'] is None else e['total']} | {md_cell(e['grade'])} "
                     f"| {md_cell(status_words(e['status'], lang))} | {md_cell(why)} |")
    if result.problems:
        lines += ["", "| " + ("File | Sheet | Row | Column | Code | Message" if en else "文件 | 工作表 | 行 | 列 | 代码 | 说明")
                  + " |", "|---|---|---:|---|---|---|"]
        for p in result.problems.as_dicts():
            lines.append("| " + " | ".join(md_cell(p[k]) if p[k] is not None else ""
                                           for k in ("file", "sheet", "row", "column", "code", "message")) + " |")
    return "\n".join(lines) + "\n"


def write_error_report(folder: Path, record: RoundRecord, problem: str, lang: str) -> list[WriteOutcome]:
    """``failed/<round>/``: what went wrong and what to do, as Markdown and JSON."""
    en = lang == "en"
    first, _, detail = problem.partition("\n")
    md = [f"# {md_cell(record.round)}: {'not processed' if en else '未能处理'}", "",
          md_cell(first), ""]
    if detail.strip():
        md += ["```", detail.rstrip(), "```", ""]
    md += ["| " + ("File | Kind | Check | Message | SHA-256" if en else "文件 | 类别 | 检查结果 | 说明 | SHA-256") + " |",
           "|---|---|---|---|---|"]
    md += [f"| {md_cell(i['path'])} | {md_cell(i['kind'] or '')} | {md_cell(i.get('check', ''))} "
           f"| {md_cell(i.get('check_message', ''))} | {i['sha256']} |" for i in record.inputs]
    md += ["", ("Fix the files in the round folder; the next run picks the round up again when they change."
                if en else "请更正轮次文件夹中的文件；文件变化后，下次运行会重新处理该轮次。"), ""]
    name = "error.md" if en else "错误报告.md"
    return [atomic_write_text(folder / name, "\n".join(md)),
            atomic_write_text(folder / "error.json", json.dumps(
                {"round": record.round, "message": first, "detail": detail, "inputs": record.inputs,
                 "as_of": record.as_of, "model_hash": record.model_hash, "tool_version": record.tool_version},
                ensure_ascii=False, indent=2) + "\n")]
