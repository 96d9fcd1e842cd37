"""Options shared by every command (defined once, csvkit-style) and the error boundary.

``guard`` turns ``UsageError`` into exit code 2 with a one-line message, and any unexpected
exception into a short message without a traceback unless ``--debug`` was given.
"""

from __future__ import annotations

import contextlib
import datetime as _dt
import functools
import os
import sys
from pathlib import Path
from typing import Optional

import typer

ConfigOpt = typer.Option(None, "--config", "-c", help="Model file (TOML) to use instead of config/model.toml.",
                         metavar="PATH")
LangOpt = typer.Option("zh", "--lang", help="Language of labels and messages: zh or en.")
OutOpt = typer.Option(None, "--out", "-o", help="Output workbook path.", metavar="PATH")
JsonOpt = typer.Option(None, "--json", help="Also write the machine-readable result here.", metavar="PATH")
QuietOpt = typer.Option(False, "--quiet", "-q", help="Print nothing but errors.")
DebugOpt = typer.Option(False, "--debug", help="Show tracebacks for unexpected errors.")
AsOfOpt = typer.Option(None, "--as-of", help="Evaluation date YYYY-MM-DD (default: today).", metavar="DATE")


def parse_as_of(value: Optional[str]) -> _dt.date:
    from cluster_credit_cli.problems import UsageError

    if not value:
        return _dt.date.today()
    try:
        day = _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(_say(f"--as-of：“{value}”不是 YYYY-MM-DD 形式的日期（如 2026-11-30）",
                              f"--as-of: '{value}' is not a date in the form YYYY-MM-DD")) from None
    # Ages, record windows and the register need room either side of the date (year 1 underflows).
    if not _dt.date(1900, 1, 1) <= day <= _dt.date(2999, 12, 31):
        raise UsageError(_say(f"--as-of：{day.isoformat()} 不在 1900-01-01 … 2999-12-31 之间；请给出本轮的评价基准日",
                              f"--as-of: {day.isoformat()} is outside 1900-01-01 … 2999-12-31; give the evaluation "
                              "date of the round"))
    return day


def check_lang(lang: str) -> str:
    from cluster_credit_cli.problems import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang: '{lang}' is not supported; use zh or en / 不支持“{lang}”，请用 zh 或 en")
    return lang


def err(message: str) -> None:
    from cluster_credit_cli.text import printable

    typer.echo(printable(message), err=True)


@contextlib.contextmanager
def escaped_output():
    """While a command runs, everything it prints goes through ``text.EscapingStream``."""
    from cluster_credit_cli.text import EscapingStream

    saved = sys.stdout, sys.stderr
    if not isinstance(sys.stdout, EscapingStream):
        sys.stdout = EscapingStream(sys.stdout)
    if not isinstance(sys.stderr, EscapingStream):
        sys.stderr = EscapingStream(sys.stderr)
    try:
        yield
    finally:
        sys.stdout, sys.stderr = saved


def _say(zh: str, en: str) -> str:
    from cluster_credit_cli.i18n import say

    return say(zh, en)


def guard(func):
    """Map exceptions of a command to exit codes; tracebacks only with --debug."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from cluster_credit_cli.problems import UsageError

        from cluster_credit_cli.i18n import use_lang

        debug = bool(kwargs.get("debug")) or bool(os.environ.get("CCREDIT_DEBUG"))
        lang = kwargs.get("lang") if kwargs.get("lang") in ("zh", "en") else "zh"
        en = lang == "en"
        try:
            # Messages raised anywhere below (say()) come in the command's language, one at a time;
            # everything printed goes through text.EscapingStream (control characters escaped).
            with use_lang(lang), escaped_output():
                return func(*args, **kwargs)
        except typer.Exit:
            raise
        except UsageError as exc:
            if debug:
                raise
            err(f"error: {exc}" if en else f"错误：{exc}")
            raise typer.Exit(2) from None
        except BrokenPipeError:
            # The reader went away (``ccredit … | head``): stop quietly, as Unix tools do, with the
            # shell's code for a process ended by SIGPIPE; stdout to devnull so the last flush is quiet.
            try:
                devnull = os.open(os.devnull, os.O_WRONLY)
                os.dup2(devnull, sys.stdout.fileno())
            except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
                pass
            raise typer.Exit(141) from None
        except KeyboardInterrupt:
            err("interrupted" if en else "已中断")
            raise typer.Exit(130) from None
        except OSError as exc:
            # A file-system error that no layer below named: still one line naming the path.
            if debug:
                raise
            from cluster_credit_cli.atomic import describe_os_error

            err(f"error: {describe_os_error(exc, exc.filename or '?', writing=None)}" if en else
                f"错误：{describe_os_error(exc, exc.filename or '?', writing=None)}")
            raise typer.Exit(2) from None
        except MemoryError:
            if debug:
                raise
            err("error: out of memory; the input is too large for this machine." if en else
                "错误：内存不足，输入文件对本机过大。")
            raise typer.Exit(2) from None
        except Exception as exc:  # noqa: BLE001 - the boundary of the program
            if debug:
                raise
            err(f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)" if en else
                f"意外错误：{type(exc).__name__}：{exc}（加 --debug 运行可看到出错的位置）")
            raise typer.Exit(2) from None

    return wrapper


def existing_file(path: Optional[Path], what: str) -> Optional[Path]:
    from cluster_credit_cli.problems import UsageError

    if path is None:
        return None
    if not Path(path).is_file():
        raise UsageError(_say(f"{what}：找不到文件 {path}", f"{what}: file not found: {path}"))
    return Path(path)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


def check_outputs(outputs: dict[str, Optional[Path]], inputs: list[Optional[Path]]) -> None:
    """Refuse (exit 2), before any computation, outputs that would destroy an input or cannot be written.

    ``outputs`` maps an option label (``--out``) to its path (None or "-" = not written); ``inputs``
    are every file the run reads. An output that is the same file as an input -- same device and
    inode, after symlinks and hard links -- or as another output is refused; so is an output that
    is a folder or lies in a folder that cannot be written (read-only mount, no permission).
    """
    from cluster_credit_cli.atomic import OutputError, check_writable
    from cluster_credit_cli.problems import UsageError

    def ident(p: Path):
        try:
            st = os.stat(p)
        except OSError:
            return None
        return (st.st_dev, st.st_ino)

    from cluster_credit_cli.model.config import DEFAULT_CONFIG

    read = {}
    for p in [*inputs, DEFAULT_CONFIG]:  # without --config the shipped model file is read
        if p is not None and ident(Path(p)) is not None:
            read.setdefault(ident(Path(p)), Path(p))
    seen: dict = {}
    for label, p in outputs.items():
        if p is None or str(p) == "-":
            continue
        p = Path(p)
        key = ident(p)
        if key is not None and key in read:
            raise UsageError(_say(f"{label} {p}：这是本次运行的输入文件 {read[key]}，不能覆盖；请换一个输出路径。",
                                  f"{label} {p} is one of the inputs of this run (the input file {read[key]}) and "
                                  "would be overwritten; choose another output path."))
        where = key or os.path.abspath(os.path.realpath(p))
        if where in seen:
            raise UsageError(_say(f"{label} {p} 与 {seen[where][0]} 是同一个文件，请为每个输出给出各自的路径。",
                                  f"{label} {p} is the same file as "
                                  f"{seen[where][0]}; give each output its own path."))
        seen[where] = (label, p)
        try:
            check_writable(p)
        except OutputError as exc:
            raise OutputError(f"{label}: {exc}") from None


def to_stdout(path: Optional[Path]) -> bool:
    """``--json -``: the machine-readable result goes to standard output (and nothing else does)."""
    return path is not None and str(path) == "-"


def emit_json(path: Optional[Path], write):
    """Write the JSON with ``write(path)``; for ``-`` write it to standard output instead.

    ``write`` is the command's own writer (it writes atomically to a path); for ``-`` it writes
    to a temporary file whose text is then copied to stdout, so every writer gets ``-`` for free.
    Returns the writer's outcome, or None for stdout.
    """
    if path is None:
        return None
    if not to_stdout(path):
        return write(Path(path))
    import tempfile

    from cluster_credit_cli.atomic import outside_set

    with tempfile.TemporaryDirectory(prefix="ccredit-json-") as tmp, outside_set():
        target = Path(tmp) / "result.json"
        write(target)  # written at once, not staged with the run's files
        text = target.read_text(encoding="utf-8")
    sys.stdout.write(text if text.endswith("\n") else text + "\n")
    sys.stdout.flush()
    return None


def display_width(text: str) -> int:
    """Columns ``text`` takes in a terminal: a CJK character takes two."""
    from rich.cells import cell_len

    return cell_len(text)


def pad(text: str, width: int, right: bool = False) -> str:
    """``text`` padded with spaces to ``width`` terminal columns (``f"{text:<width}"`` by display width)."""
    fill = " " * max(0, width - display_width(text))
    return fill + text if right else text + fill


def beside_input(inputs, word_zh: str, word_en: str, lang: str, ext: str = ".xlsx") -> Path:
    """Where a command writes when no --out is given (the one convention of all commands): beside
    its first input, named after the input and what the file holds (``判断矩阵_权重.xlsx``); with
    several inputs, after what it holds and how many went in (``权重_3份文件.xlsx``)."""
    inputs = [Path(p) for p in inputs]
    first = inputs[0]
    if len(inputs) == 1:
        return first.with_name(f"{first.stem}_{word_en if lang == 'en' else word_zh}{ext}")
    n = len(inputs)
    return first.with_name(f"{word_en}_{n}_files{ext}" if lang == "en" else f"{word_zh}_{n}份文件{ext}")


def not_an_input(target: Path, inputs, option: str = "--out") -> Path:
    """Refuse to write over one of the command's own inputs."""
    from cluster_credit_cli.problems import UsageError

    t = Path(target).resolve()
    for p in inputs:
        # Same path after symlinks, or the same file by another name (a hard link): same inode.
        if Path(p).resolve() == t or (t.exists() and Path(p).exists() and os.path.samefile(p, t)):
            raise UsageError(f"{option} {target} is one of the inputs; choose another file name")
    return Path(target)


def write_json_data(data, path: Optional[Path]) -> None:
    """``--json PATH`` for a result that is plain data; ``-`` writes it to standard output."""
    import json

    if path is None:
        return
    text = json.dumps(data, ensure_ascii=False, indent=2, default=str)
    if to_stdout(path):
        sys.stdout.write(text + "\n")
        return
    from cluster_credit_cli.atomic import atomic_write_text
    from cluster_credit_cli.i18n import diverted_note

    outcome = atomic_write_text(Path(path), text)
    if outcome.diverted:
        typer.echo(diverted_note(outcome), err=True)


def console():
    """A rich console for summaries: names in them are data, never markup."""
    from rich.console import Console

    return Console(highlight=False, soft_wrap=False, markup=False)


def say_written(outcome, lang: str, quiet: bool) -> None:
    """Where a workbook went (and, if its target was locked, where it went instead)."""
    from cluster_credit_cli.i18n import diverted_note

    if outcome.diverted:
        typer.echo(diverted_note(outcome), err=True)
    if not quiet:
        typer.echo(("Written: " if lang == "en" else "已写入：") + str(outcome.written))


RegisterDbOpt = typer.Option(None, "--db", metavar="PATH", show_default=False,
                             help="The rating register (default: $CCREDIT_DB, else ccredit.db in the user's data "
                                  "folder, the one `ccredit score` records in).")
JsonOutOpt = typer.Option(None, "--json", metavar="PATH",
                          help="Write the machine-readable result here ('-' for standard output).")


def register_path(db: Optional[Path]) -> Path:
    """--db, else the one default register ``score`` records in (``register.store.default_db_path``)."""
    from cluster_credit_cli.register.store import default_db_path

    return Path(db) if db is not None else default_db_path()
