"""Options shared by every command (defined once, csvkit-style) and the error boundary.

``guard`` turns ``UsageError`` into exit code 2 with a one-line message, and any unexpected
exception into a short message without a traceback unless ``--debug`` was given.
"""

from __future__ import annotations

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
        return _dt.date.fromisoformat(value.strip())
    except ValueError:
        raise UsageError(_say(f"--as-of：“{value}”不是 YYYY-MM-DD 形式的日期（如 2026-11-30）",
                              f"--as-of: '{value}' is not a date in the form YYYY-MM-DD")) from None


def check_lang(lang: str) -> str:
    from cluster_credit_cli.problems import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang: '{lang}' is not supported; use zh or en / 不支持“{lang}”，请用 zh 或 en")
    return lang


def err(message: str) -> None:
    typer.echo(message, err=True)


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
            # Messages raised anywhere below (say()) come in the command's language, one at a time.
            with use_lang(lang):
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

    with tempfile.TemporaryDirectory(prefix="ccredit-json-") as tmp:
        target = Path(tmp) / "result.json"
        write(target)
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
        if Path(p).resolve() == t:
            raise UsageError(f"{option} {target} is one of the inputs; choose another file name")
    return Path(target)
