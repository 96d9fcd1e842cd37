"""The ``ccredit`` command line: a thin layer over the library.

Each command parses options, calls one core function that takes and returns plain data, prints
a summary and maps the outcome to an exit code. Heavy imports (pandas, openpyxl) happen inside
commands so ``ccredit --help`` stays quick.

Exit codes: 0 success; 1 data problems found (results still written); 2 usage or config error;
3 (batch) another run holds the lock.
"""

from __future__ import annotations

import sys

import typer

from cluster_credit_cli import __version__

app = typer.Typer(
    name="ccredit",
    help="ccredit — 产业集群中小企业综合信用评估 / cluster SME credit evaluation.\n\n"
    "Example: ccredit score sample_data/申报材料汇总.xlsx",
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,
    pretty_exceptions_enable=False,
)


def _version(value: bool) -> None:
    if value:
        typer.echo(f"ccredit {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    version: bool = typer.Option(False, "--version", callback=_version, is_eager=True,
                                 help="Print the version and exit."),
) -> None:
    """ccredit — 产业集群中小企业综合信用评估 / cluster SME credit evaluation.

    Example: ccredit score sample_data/申报材料汇总.xlsx
    """


def main(argv: list[str] | None = None) -> None:
    try:
        app(args=argv if argv is not None else sys.argv[1:], prog_name="ccredit")
    except SystemExit:
        _flush_stdout()
        raise
    except BrokenPipeError:
        _pipe_closed()
    _flush_stdout()


def _flush_stdout() -> None:
    try:
        sys.stdout.flush()
    except BrokenPipeError:
        _pipe_closed()


def _pipe_closed() -> None:
    """The reader of our output went away (``ccredit … | head``): stop quietly, as Unix tools do.

    Standard output is pointed at devnull so the interpreter's last flush does not complain, and
    the exit code is the shell's for a process ended by SIGPIPE (128 + 13).
    """
    import os

    try:
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, sys.stdout.fileno())
    except (OSError, ValueError):  # no real file descriptor (a test runner's stream)
        pass
    raise SystemExit(141)


def _build() -> None:
    """Add every command module's commands and sub-apps; the modules never import this one."""
    from cluster_credit_cli.commands import batch, model_cmd, register, score, survey, validate, weights

    for mod in (score, register, batch, model_cmd, validate):
        app.registered_commands += mod.app.registered_commands
    app.add_typer(model_cmd.model_app, name="model")
    app.add_typer(survey.survey_app, name="survey")
    app.add_typer(weights.weights_app, name="weights")
    from cluster_credit_cli.commands import pool

    app.add_typer(pool.pool_app, name="pool")
    from cluster_credit_cli.commands import pool_risk  # noqa: F401 - adds `pool risk` to pool_app
    from cluster_credit_cli.commands import report

    app.registered_commands += report.app.registered_commands


_build()
