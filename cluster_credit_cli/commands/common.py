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
        raise UsageError(f"--as-of: '{value}' is not a date in the form YYYY-MM-DD") from None


def check_lang(lang: str) -> str:
    from cluster_credit_cli.problems import UsageError

    if lang not in ("zh", "en"):
        raise UsageError(f"--lang: '{lang}' is not supported; use zh or en")
    return lang


def err(message: str) -> None:
    typer.echo(message, err=True)


def guard(func):
    """Map exceptions of a command to exit codes; tracebacks only with --debug."""

    @functools.wraps(func)
    def wrapper(*args, **kwargs):
        from cluster_credit_cli.problems import UsageError

        debug = bool(kwargs.get("debug")) or bool(os.environ.get("CCREDIT_DEBUG"))
        try:
            return func(*args, **kwargs)
        except typer.Exit:
            raise
        except UsageError as exc:
            if debug:
                raise
            err(f"错误 / error: {exc}")
            raise typer.Exit(2) from None
        except KeyboardInterrupt:
            err("interrupted")
            raise typer.Exit(130) from None
        except Exception as exc:  # noqa: BLE001 - the boundary of the program
            if debug:
                raise
            err(f"unexpected error: {type(exc).__name__}: {exc} (run with --debug for the traceback)")
            raise typer.Exit(2) from None

    return wrapper


def existing_file(path: Optional[Path], what: str) -> Optional[Path]:
    from cluster_credit_cli.problems import UsageError

    if path is None:
        return None
    if not Path(path).is_file():
        raise UsageError(f"{what}: file not found: {path}")
    return Path(path)


def stdout_is_terminal() -> bool:
    return sys.stdout.isatty()


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
