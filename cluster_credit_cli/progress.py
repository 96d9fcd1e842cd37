"""A per-stage progress line for long runs, shown only where a person is watching.

``StageProgress`` is the ``progress`` callable ``pipeline.score_round`` accepts (called with the
stage name as each stage starts). It draws a rich status line on the terminal only when stdout
is a terminal, the user did not ask for ``--quiet``, and the work lasts longer than a moment
(``delay`` seconds): a town's round finishes before anything is drawn, a city's shows each stage.
In batch and CI logs (no TTY) it draws nothing.
"""

from __future__ import annotations

import sys
import threading
import time

STAGES = {"read": ("读取输入文件", "reading the inputs"), "merge": ("合并各来源数据", "merging the sources"),
          "score": ("计分、否决与评级", "scoring, gates and grades"),
          "sensitivity": ("权重敏感性分析", "weight sensitivity"), "write": ("写出评级结果", "writing the results")}


OPTIONAL_STAGES = {"sensitivity"}  # counted only in runs that have them


class _Ticking:
    """The current stage's text, rendered afresh at every refresh of the status line."""

    def __init__(self, progress: "StageProgress"):
        self.progress = progress

    def __rich__(self) -> str:
        return self.progress.text(self.progress.current or "")


class StageProgress:
    def __init__(self, enabled: bool, lang: str = "zh", delay: float = 0.7, console=None):
        self.enabled = enabled
        self.lang = lang
        self.delay = delay
        self.console = console
        self.current: str | None = None
        self.seen: list[str] = []
        self._t0 = time.perf_counter()
        self._status = None
        self._timer: threading.Timer | None = None
        self._lock = threading.Lock()
        self._closed = False

    @classmethod
    def for_cli(cls, quiet: bool, lang: str) -> "StageProgress":
        return cls(enabled=not quiet and sys.stdout.isatty(), lang=lang)

    def text(self, name: str) -> str:
        label = STAGES.get(name, (name, name))[1 if self.lang == "en" else 0]
        n = len(self.seen)
        total = len(STAGES) - len(OPTIONAL_STAGES) + len(OPTIONAL_STAGES & set(self.seen))
        return f"[{n}/{total}] {label} …  {time.perf_counter() - self._t0:.0f} s"

    def __call__(self, name: str) -> None:
        if name == self.current:
            return  # the command already announced this stage (it starts before the model is read)
        self.current = name
        self.seen.append(name)
        if not self.enabled:
            return
        with self._lock:
            if self._status is not None:
                self._status.update(_Ticking(self))
            elif self._timer is None:
                self._timer = threading.Timer(self.delay, self._start)
                self._timer.daemon = True
                self._timer.start()

    def _start(self) -> None:
        with self._lock:
            if self._closed or self.current is None:
                return
            if self.console is None:
                from rich.console import Console

                self.console = Console(stderr=True)
            # A renderable, not a string: the status line re-renders it several times a second, so
            # the seconds tick during a long stage instead of showing when the stage began.
            self._status = self.console.status(_Ticking(self))
            self._status.start()

    @property
    def shown(self) -> bool:
        return self._status is not None

    def close(self) -> None:
        with self._lock:
            self._closed = True
            if self._timer is not None:
                self._timer.cancel()
            if self._status is not None:
                self._status.stop()

    def __enter__(self) -> "StageProgress":
        return self

    def __exit__(self, *exc) -> None:
        self.close()
