"""Mutual exclusion for unattended batch runs on a shared folder.

Two layers, both plain files in the outbox created with ``O_CREAT | O_EXCL`` (the one file
operation that SMB and local file systems both make atomic on the server):

* the **run lock** ``.ccredit-batch.lock``: one batch run per outbox at a time. It holds JSON with
  host, pid, start time and a random token; the holder refreshes its modification time (heartbeat)
  between rounds so a long run is not mistaken for a dead one;
* a **claim** per round ``claims/<round>.claim``: taken before a round is processed and dropped
  after its manifest entry is written. Even if two runs somehow both believe they hold the run
  lock (a stale-lock race across machines, clocks that disagree), a round is processed only by
  the one that created its claim, and the other re-reads the manifest after claiming.

A lock or claim is **stale** when it was made on this host by a process that no longer exists, or
when its last heartbeat is older than ``max_age`` seconds. A stale file is taken over under a
short-lived *break* file (also ``O_EXCL``): the breaker re-reads the stale file, checks that its
token is still the one judged stale, removes it and creates its own. Without the break file two
breakers could each delete the other's fresh lock.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import socket
import time
import uuid
from dataclasses import asdict, dataclass, field
from pathlib import Path

LOCK_NAME = ".ccredit-batch.lock"
CLAIMS_DIR = "claims"
DEFAULT_MAX_AGE = 6 * 3600.0
BREAK_MAX_AGE = 60.0  # a break file older than this was left by a crashed breaker
UNREADABLE_GRACE = 30.0  # a lock with unparsable JSON this young may be in the middle of being written


@dataclass
class LockInfo:
    host: str
    pid: int
    started: str  # ISO 8601, UTC
    token: str
    purpose: str = "batch"
    tool_version: str = ""

    @classmethod
    def mine(cls, purpose: str = "batch") -> "LockInfo":
        from cluster_credit_cli import __version__

        return cls(socket.gethostname(), os.getpid(),
                   time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime()), uuid.uuid4().hex, purpose, __version__)

    def describe(self) -> str:
        return f"host {self.host}, pid {self.pid}, started {self.started}"


class LockHeld(Exception):
    """Another live process holds the lock (or claim)."""

    def __init__(self, path: Path, holder: LockInfo | None):
        self.path, self.holder = path, holder
        who = holder.describe() if holder else "a holder whose lock file is being written"
        super().__init__(f"{path.name} is held by {who}")


def pid_alive(pid: int) -> bool:
    """Whether a process with this id exists on this machine (never signals or kills it)."""
    if pid <= 0:
        return False
    if os.name == "nt":  # pragma: no cover - exercised on Windows only
        import ctypes

        kernel32 = ctypes.windll.kernel32
        handle = kernel32.OpenProcess(0x1000, False, pid)  # PROCESS_QUERY_LIMITED_INFORMATION
        if not handle:
            return ctypes.get_last_error() == 5  # access denied: it exists
        try:
            code = ctypes.c_ulong()
            kernel32.GetExitCodeProcess(handle, ctypes.byref(code))
            return code.value == 259  # STILL_ACTIVE
        finally:
            kernel32.CloseHandle(handle)
    try:
        os.kill(pid, 0)  # signal 0: existence check only
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def _read(path: Path) -> LockInfo | None:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        return LockInfo(**{k: data[k] for k in ("host", "pid", "started", "token")},
                        purpose=data.get("purpose", ""), tool_version=data.get("tool_version", ""))
    except (OSError, ValueError, KeyError, TypeError):
        return None


def _age(path: Path) -> float | None:
    try:
        return max(0.0, time.time() - path.stat().st_mtime)
    except OSError:
        return None


def _create(path: Path, info: LockInfo) -> bool:
    """Create ``path`` exclusively and write ``info``; False if it already exists."""
    try:
        fd = os.open(path, os.O_CREAT | os.O_EXCL | os.O_WRONLY, 0o644)
    except FileExistsError:
        return False
    with os.fdopen(fd, "w", encoding="utf-8") as fh:
        json.dump(asdict(info), fh, ensure_ascii=False)
        fh.flush()
        os.fsync(fh.fileno())
    return True


@dataclass
class ExclusiveFile:
    """One lock-like file: acquire (with stale takeover), heartbeat, release."""

    path: Path
    max_age: float = DEFAULT_MAX_AGE
    purpose: str = "batch"
    info: LockInfo | None = None
    events: list[str] = field(default_factory=list)  # what happened, for the run log

    def stale_reason(self, holder: LockInfo | None) -> str | None:
        age = _age(self.path)
        if age is None:
            return None  # gone meanwhile: not stale, just retry
        if holder is None:
            return f"unreadable and {age:.0f}s old" if age > UNREADABLE_GRACE else None
        if holder.host == socket.gethostname() and not pid_alive(holder.pid):
            return f"its process {holder.pid} on {holder.host} is gone"
        if age > self.max_age:
            return f"no heartbeat for {age:.0f}s (limit {self.max_age:.0f}s)"
        return None

    def acquire(self) -> LockInfo:
        """Take the file or raise ``LockHeld``. A stale file is taken over and an event recorded."""
        self.path.parent.mkdir(parents=True, exist_ok=True)
        mine = LockInfo.mine(self.purpose)
        for _ in range(5):
            if _create(self.path, mine):
                self.info = mine
                return mine
            holder = _read(self.path)
            reason = self.stale_reason(holder)
            if reason is None:
                if self.path.exists():
                    raise LockHeld(self.path, holder)
                continue  # released between our attempts
            if self._break(holder, reason, mine):
                self.info = mine
                return mine
        raise LockHeld(self.path, _read(self.path))

    def _break(self, judged: LockInfo | None, reason: str, mine: LockInfo) -> bool:
        brk = self.path.with_name(self.path.name + ".break")
        if not _create(brk, mine):
            age = _age(brk)
            if age is not None and age > BREAK_MAX_AGE:
                with contextlib.suppress(FileNotFoundError):
                    brk.unlink()
                self.events.append(f"removed a break file left {age:.0f}s ago: {brk.name}")
            return False
        try:
            current = _read(self.path)
            same = (current is None and judged is None) or (
                current is not None and judged is not None and current.token == judged.token)
            if not same or self.stale_reason(current) is None:
                return False  # someone else took it over meanwhile; it is fresh now
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
            if not _create(self.path, mine):
                return False
            self.events.append(f"took over stale {self.path.name} "
                               f"({judged.describe() if judged else 'unreadable'}): {reason}")
            return True
        finally:
            with contextlib.suppress(FileNotFoundError):
                brk.unlink()

    def still_mine(self) -> bool:
        current = _read(self.path)
        return bool(self.info and current and current.token == self.info.token)

    def heartbeat(self) -> None:
        """Refresh the modification time so a long run is not judged stale."""
        if self.info is not None:
            with contextlib.suppress(OSError):
                os.utime(self.path)

    def release(self) -> None:
        """Remove the file if it is still ours (never someone else's that took it over)."""
        if self.info is not None and self.still_mine():
            with contextlib.suppress(FileNotFoundError):
                self.path.unlink()
        self.info = None

    def __enter__(self) -> "ExclusiveFile":
        self.acquire()
        return self

    def __exit__(self, *exc) -> None:
        self.release()


def run_lock(outbox: Path, *, max_age: float = DEFAULT_MAX_AGE) -> ExclusiveFile:
    """The run lock of an outbox (not yet acquired)."""
    return ExclusiveFile(Path(outbox) / LOCK_NAME, max_age, "batch")


def claim_name(round_name: str) -> str:
    """A file-system-safe claim name for a round folder name (kept readable)."""
    safe = re.sub(r'[<>:"/\\|?*\x00-\x1f]', "_", round_name).strip(" .") or "_"
    return safe[:150] + ".claim"


def round_claim(outbox: Path, round_name: str, *, max_age: float = DEFAULT_MAX_AGE) -> ExclusiveFile:
    """The claim of one round (not yet acquired)."""
    return ExclusiveFile(Path(outbox) / CLAIMS_DIR / claim_name(round_name), max_age, f"round {round_name}")


def try_claim(outbox: Path, round_name: str, *, max_age: float = DEFAULT_MAX_AGE) -> ExclusiveFile | None:
    """Claim a round; None if a live process holds it."""
    claim = round_claim(outbox, round_name, max_age=max_age)
    try:
        claim.acquire()
    except LockHeld:
        return None
    return claim
