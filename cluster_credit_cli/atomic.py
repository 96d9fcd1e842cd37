"""Atomic file output: a reader sees the old outputs of a run or the new ones, never a mix.

Every output of ccredit (workbooks, JSON, CSV, Markdown) is written through ``atomic_path`` /
``atomic_write``: the content goes to a temporary file in the target's own folder (same file
system, so the final ``os.replace`` is a rename), is flushed and fsynced, then replaces the target.

* **One run, one set** (``output_set``): inside the block every output stays a complete
  temporary file; only when the block ends without an error are they all renamed into place, one
  after the other. A run that fails half-way (disk full, a refused ``--json`` or register) leaves
  every previous output untouched and removes its temporaries.
* **Modes**: a new output gets the mode a plain ``open()`` would give it under the process umask
  (``mkstemp`` alone would make it 0600 and lock colleagues on a share out); a replaced file keeps
  its mode.
* **Stale temporaries** of ccredit's own naming (``.<stem>.<8 chars>.tmp<suffix>``) left by a
  killed run are removed on the next write into that folder once older than ``STALE_TEMP_AGE``
  (the batch run lock's stale age), so another live run's temporaries are never touched.
* **Errors** of the file system become ``OutputError`` (a usage error: exit code 2) naming the
  user's path, never the hidden temporary, and saying what to do.
* If the replace is refused -- on Windows that is what happens while the target is open in
  Excel -- the result is kept under a new, free name beside it and the caller is told.
"""

from __future__ import annotations

import contextlib
import contextvars
import errno
import os
import re
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

from cluster_credit_cli.i18n import say
from cluster_credit_cli.problems import UsageError

# Same as batch.lock.DEFAULT_MAX_AGE: a temporary older than a stale run lock belongs to no live run.
STALE_TEMP_AGE = 6 * 3600.0
# ".<stem>.<mkstemp's 8 characters>.tmp<suffix>" -- the only names the cleanup ever removes.
_TEMP_NAME = re.compile(r"^\..*\.[a-z0-9_]{8}\.tmp(\.[A-Za-z0-9]{1,8})?$")


class OutputError(UsageError):
    """An output could not be written; the message names the user's path and what to do."""


@dataclass
class WriteOutcome:
    """Where the content really ended up, and why if that is not the requested path."""

    requested: Path
    written: Path
    note: str = ""
    # What the file could not hold (Excel's row and cell limits), said in the summary too.
    truncated: list[str] = field(default_factory=list)

    @property
    def diverted(self) -> bool:
        return self.written != self.requested


def describe_os_error(exc: OSError, path: Path | str, *, writing: bool | None = True) -> str:
    """One line naming ``path`` (never a temporary), what went wrong and what to do."""
    p = str(path)
    code = exc.errno
    if code in (errno.ENOSPC, getattr(errno, "EDQUOT", -1)):
        return say(f"磁盘已满，无法写入 {p}；已保留之前的输出。请释放空间后重新运行。",
                   f"disk full while writing {p}; the previous outputs are kept. Free some space and run again.")
    if code == errno.EROFS:
        return say(f"{p} 所在位置是只读的；请换一个输出文件夹（--out）后重新运行。",
                   f"{p} is on a read-only file system; choose another output folder (--out) and run again.")
    if code in (errno.EACCES, errno.EPERM):
        what = {True: "write", False: "read", None: "use"}[writing]
        zh = {True: "写入", False: "读取", None: "访问"}[writing]
        return say(f"没有权限{zh} {p}；请申请权限，或换一个{'输出文件夹（--out）' if writing else '路径'}。",
                   f"no permission to {what} {p}; ask for access or choose another "
                   f"{'output folder (--out)' if writing else 'path'}.")
    if code == errno.EISDIR:
        return say(f"{p} 是文件夹，请给出其中的文件名。", f"{p} is a folder; give the name of a file in it.")
    if code in (errno.ENOTDIR, errno.ENOENT):
        return say(f"{p}：路径中的文件夹不存在或不是文件夹。", f"{p}: a folder on the path is missing or not a folder.")
    reason = exc.strerror or type(exc).__name__
    what = {True: "write", False: "read", None: "use"}[writing]
    zh = {True: "无法写入", False: "无法读取", None: "无法访问"}[writing]
    return say(f"{zh} {p}（{reason}）。", f"cannot {what} {p}: {reason}.")


def check_writable(target: str | os.PathLike[str]) -> None:
    """Refuse early (before any computation) an output path that cannot be written.

    Raises ``OutputError`` when ``target`` is a folder, or its folder exists and is not writable
    (read-only mount, no permission). A missing folder is created later and checked then.
    """
    target = Path(target)
    if target.is_dir():
        raise OutputError(describe_os_error(OSError(errno.EISDIR, "is a directory"), target))
    _refuse_special(target)
    folder = target.parent
    while not folder.exists() and folder != folder.parent:
        folder = folder.parent
    if not folder.is_dir():
        raise OutputError(describe_os_error(OSError(errno.ENOTDIR, "not a directory"), target))
    try:
        st = os.statvfs(folder) if hasattr(os, "statvfs") else None
    except OSError:
        st = None
    if st is not None and st.f_flag & getattr(os, "ST_RDONLY", 1):
        raise OutputError(describe_os_error(OSError(errno.EROFS, "read-only"), target))
    if not os.access(folder, os.W_OK | os.X_OK):
        raise OutputError(describe_os_error(OSError(errno.EACCES, "permission denied"), target))


# -- file modes ----------------------------------------------------------------------------------

_umask_lock = threading.Lock()


def _umask() -> int:
    with _umask_lock:  # reading the umask means setting it; keep that window closed to other threads
        mask = os.umask(0o022)
        os.umask(mask)
    return mask


def _final_mode(target: Path) -> int:
    try:
        return target.stat().st_mode & 0o7777
    except OSError:
        return 0o666 & ~_umask()


# -- stale temporaries ---------------------------------------------------------------------------

_swept: set[str] = set()


def is_temp_name(name: str) -> bool:
    return bool(_TEMP_NAME.match(name))


def sweep_stale_temps(folder: str | os.PathLike[str], *, max_age: float = STALE_TEMP_AGE,
                      now: float | None = None) -> list[Path]:
    """Remove ccredit's own temporaries in ``folder`` older than ``max_age``; return what was removed."""
    folder = Path(folder)
    now = time.time() if now is None else now
    removed = []
    try:
        entries = list(os.scandir(folder))
    except OSError:
        return removed
    for e in entries:
        if not is_temp_name(e.name):
            continue
        with contextlib.suppress(OSError):
            st = e.stat(follow_symlinks=False)
            if not e.is_file(follow_symlinks=False) or now - st.st_mtime < max_age:
                continue
            os.unlink(e.path)
            removed.append(Path(e.path))
    return removed


def _sweep_once(folder: Path) -> None:
    key = str(folder.resolve())
    if key not in _swept:
        _swept.add(key)
        sweep_stale_temps(folder)


# -- one run, one set ----------------------------------------------------------------------------

@dataclass
class OutputSet:
    """Outputs staged as complete temporaries, renamed into place together by ``commit``."""

    staged: list[tuple[Path, Path, WriteOutcome]] = field(default_factory=list)
    # Outputs an earlier run may have left that this run did not write (a detail CSV when the
    # sheet now fits in the workbook): removed at commit, so the set on disk belongs together.
    stale: set[Path] = field(default_factory=set)

    def add(self, tmp: Path, target: Path) -> WriteOutcome:
        self.stale.discard(target)
        for _, t, _o in self.staged:
            if t == target:
                raise OutputError(say(f"{target}：同一次运行中被指定为两个输出。", f"{target} is named for two outputs of one run."))
        outcome = WriteOutcome(target, target)
        self.staged.append((tmp, target, outcome))
        return outcome

    def commit(self) -> None:
        folders = set()
        try:
            while self.staged:
                tmp, target, outcome = self.staged[0]
                done = _replace(tmp, target)
                outcome.written, outcome.note = done.written, done.note
                self.staged.pop(0)
                folders.add(target.parent)
        except OutputError:
            self.discard()
            raise
        except OSError as exc:
            target = self.staged[0][1]
            self.discard()
            raise OutputError(describe_os_error(exc, target)) from None
        for path in self.stale:
            with contextlib.suppress(OSError):
                if path.is_file() and not path.is_symlink():
                    path.unlink()
                    folders.add(path.parent)
        for f in folders:
            _fsync_dir(f)

    def discard(self) -> None:
        for tmp, _, _ in self.staged:
            with contextlib.suppress(OSError):
                tmp.unlink()
        self.staged.clear()


_current: contextvars.ContextVar[OutputSet | None] = contextvars.ContextVar("ccredit_output_set", default=None)


def belongs_to_set(path: str | os.PathLike[str]) -> None:
    """Say that ``path`` is part of this run's set when written: if the run does not write it,
    an old copy beside the new outputs is removed at commit. Outside a set: nothing happens."""
    staged = _current.get()
    if staged is not None:
        staged.stale.add(Path(path))


@contextlib.contextmanager
def outside_set() -> Iterator[None]:
    """Write at once inside this block even during an ``output_set`` (a scratch file read back now)."""
    token = _current.set(None)
    try:
        yield
    finally:
        _current.reset(token)


@contextlib.contextmanager
def output_set() -> Iterator[OutputSet]:
    """Stage every output written inside the block; replace them all only if the block succeeds.

    Nested blocks join the outer set. The ``WriteOutcome`` objects returned inside the block are
    updated in place when the set is committed (``written``/``note`` if a target was diverted).
    """
    outer = _current.get()
    if outer is not None:
        yield outer
        return
    staged = OutputSet()
    token = _current.set(staged)
    try:
        yield staged
    except BaseException:
        _current.reset(token)
        staged.discard()
        raise
    _current.reset(token)
    staged.commit()


# -- one file ------------------------------------------------------------------------------------

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
    raise OSError(errno.EEXIST, f"no free file name beside {target}")


def _refuse_special(target: Path) -> None:
    """A device, FIFO or socket is never replaced (``--out /dev/null`` as root would replace the device)."""
    import stat

    try:
        st = os.lstat(target)
    except OSError:
        return
    if not (stat.S_ISREG(st.st_mode) or stat.S_ISLNK(st.st_mode) or stat.S_ISDIR(st.st_mode)):
        raise OutputError(say(f"{target} 不是普通文件（设备、管道或套接字），不会被替换；请给出文件路径。",
                              f"{target} is not a regular file (a device, pipe or socket) and is never replaced; "
                              "give a file path."))


def _replace(tmp: Path, target: Path) -> WriteOutcome:
    if target.is_dir():
        raise OSError(errno.EISDIR, "is a directory", str(target))
    _refuse_special(target)
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
    On an exception the temporary file is removed and the target is untouched. Inside an
    ``output_set`` the replace waits for the set's commit.
    """
    target = Path(target)
    _refuse_special(target)
    try:
        if target.is_dir():
            raise OSError(errno.EISDIR, "is a directory")
        target.parent.mkdir(parents=True, exist_ok=True)
        _sweep_once(target.parent)
        fd, name = tempfile.mkstemp(prefix=f".{target.stem}.", suffix=f".tmp{target.suffix}",
                                    dir=target.parent)
        os.close(fd)
    except OSError as exc:
        raise OutputError(describe_os_error(exc, target)) from None
    tmp = Path(name)
    outcome: list[WriteOutcome] = []
    staged = _current.get()
    keep = False
    try:
        try:
            yield tmp, outcome
            with open(tmp, "rb+") as fh:
                os.fsync(fh.fileno())
            with contextlib.suppress(OSError):  # a share may not support modes; the content matters
                os.chmod(tmp, _final_mode(target))
            if staged is not None:
                outcome.append(staged.add(tmp, target))
                keep = True
            else:
                outcome.append(_replace(tmp, target))
                _fsync_dir(target.parent)
        except OSError as exc:
            raise OutputError(describe_os_error(exc, target)) from None
    finally:
        if not keep:
            with contextlib.suppress(OSError):
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
