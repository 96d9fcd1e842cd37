"""Atomic file output: a reader of the target sees the old file or the new one, never half of one.

Every output of ccredit (workbooks, JSON, CSV, Markdown) is written through ``atomic_write``:
the content goes to a temporary file in the target's own folder (same file system, so the final
``os.replace`` is a rename), is flushed and fsynced, then replaces the target. If the replace is
refused -- on Windows that is what happens while the target is open in Excel -- the result is kept
under a new, free name beside it and the caller is told, so nothing computed is lost.
"""

from __future__ import annotations

import contextlib
import os
import tempfile
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path


@dataclass
class WriteOutcome:
    """Where the content really ended up, and why if that is not the requested path."""

    requested: Path
    written: Path
    note: str = ""

    @property
    def diverted(self) -> bool:
        return self.written != self.requested


def _fsync_dir(folder: Path) -> None:
    # Makes the rename itself durable on POSIX; Windows has no directory handles for this.
    if os.name != "posix":
        return
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


def _free_name(target: Path) -> Path:
    for i in range(1, 1000):
        candidate = target.with_name(f"{target.stem} ({i}){target.suffix}")
        if not candidate.exists():
            return candidate
    raise OSError(f"no free file name beside {target}")


def _replace(tmp: Path, target: Path) -> WriteOutcome:
    try:
        os.replace(tmp, target)
        return WriteOutcome(target, target)
    except PermissionError:
        alt = _free_name(target)
        os.replace(tmp, alt)
        return WriteOutcome(
            target, alt, f"{target.name} could not be replaced (open in another program?); "
            f"results kept as {alt.name}",
        )


@contextlib.contextmanager
def atomic_path(target: str | os.PathLike[str]) -> Iterator[tuple[Path, list[WriteOutcome]]]:
    """Yield a temporary path beside ``target`` to write to; on success it replaces ``target``.

    The second item of the yielded tuple receives the ``WriteOutcome`` after the block ends.
    On an exception the temporary file is removed and the target is untouched.
    """
    target = Path(target)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                dir=target.parent)
    os.close(fd)
    tmp = Path(name)
    outcome: list[WriteOutcome] = []
    try:
        yield tmp, outcome
        with open(tmp, "rb+") as fh:
            os.fsync(fh.fileno())
        outcome.append(_replace(tmp, target))
        _fsync_dir(target.parent)
    finally:
        if tmp.exists():
            tmp.unlink()


def atomic_write(target: str | os.PathLike[str], writer: Callable[[Path], None]) -> WriteOutcome:
    """Call ``writer(tmp_path)`` and move the result over ``target`` atomically."""
    with atomic_path(target) as (tmp, outcome):
        writer(tmp)
    return outcome[0]


def atomic_write_bytes(target: str | os.PathLike[str], data: bytes) -> WriteOutcome:
    return atomic_write(target, lambda p: p.write_bytes(data))


def atomic_write_text(target: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> WriteOutcome:
    return atomic_write(target, lambda p: p.write_text(text, encoding=encoding, newline=""))
