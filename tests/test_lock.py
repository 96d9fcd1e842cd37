"""Run lock and per-round claims: exclusive, stale ones taken over, never someone else's deleted."""

from __future__ import annotations

import json
import multiprocessing as mp
import os
import socket
import time
from pathlib import Path

import pytest

from cluster_credit_cli.batch.lock import (
    LOCK_NAME, ExclusiveFile, LockHeld, LockInfo, claim_name, pid_alive, round_claim, run_lock, try_claim,
)


def dead_pid() -> int:
    """A pid that surely belongs to no process: a child that has already exited."""
    p = mp.get_context("spawn").Process(target=time.sleep, args=(0,))
    p.start()
    p.join()
    return p.pid


def write_lock(path: Path, *, host: str | None = None, pid: int | None = None, token: str = "old") -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps({"host": host or socket.gethostname(), "pid": pid or os.getpid(),
                                "started": "2020-01-01T00:00:00Z", "token": token}), encoding="utf-8")


def test_lock_contents_and_release(tmp_path):
    lock = run_lock(tmp_path)
    info = lock.acquire()
    data = json.loads((tmp_path / LOCK_NAME).read_text(encoding="utf-8"))
    assert data["host"] == socket.gethostname() and data["pid"] == os.getpid() and data["token"] == info.token
    assert data["started"].endswith("Z")
    with pytest.raises(LockHeld) as exc:
        run_lock(tmp_path).acquire()
    assert str(os.getpid()) in str(exc.value)
    lock.release()
    assert not (tmp_path / LOCK_NAME).exists()
    with run_lock(tmp_path):
        assert (tmp_path / LOCK_NAME).exists()
    assert not (tmp_path / LOCK_NAME).exists()


def test_live_lock_of_other_host_is_respected(tmp_path):
    write_lock(tmp_path / LOCK_NAME, host="other-machine", pid=1)
    with pytest.raises(LockHeld) as exc:
        run_lock(tmp_path).acquire()
    assert exc.value.holder.host == "other-machine"


def test_stale_lock_dead_pid_taken_over(tmp_path):
    write_lock(tmp_path / LOCK_NAME, pid=dead_pid())
    lock = run_lock(tmp_path)
    info = lock.acquire()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["token"] == info.token
    assert len(lock.events) == 1 and "took over stale" in lock.events[0] and "is gone" in lock.events[0]


def test_stale_lock_by_age_taken_over(tmp_path):
    path = tmp_path / LOCK_NAME
    write_lock(path, host="other-machine", pid=1)
    old = time.time() - 3600
    os.utime(path, (old, old))
    lock = run_lock(tmp_path, max_age=600)
    lock.acquire()
    assert "no heartbeat" in lock.events[0]
    # the same lock with a generous max age is respected
    write_lock(tmp_path / "b" / LOCK_NAME, host="other-machine", pid=1)
    os.utime(tmp_path / "b" / LOCK_NAME, (old, old))
    with pytest.raises(LockHeld):
        run_lock(tmp_path / "b", max_age=7200).acquire()


def test_heartbeat_keeps_lock_fresh(tmp_path):
    lock = run_lock(tmp_path, max_age=600)
    lock.acquire()
    old = time.time() - 3600
    os.utime(tmp_path / LOCK_NAME, (old, old))
    lock.heartbeat()
    # A process on another host would now see a fresh lock.
    other = ExclusiveFile(tmp_path / LOCK_NAME, 600)
    holder = LockInfo("x", 1, "", lock.info.token)
    assert other.stale_reason(holder) is None


def test_unreadable_young_lock_is_held_old_one_is_stale(tmp_path):
    path = tmp_path / LOCK_NAME
    path.write_text("{not json", encoding="utf-8")
    with pytest.raises(LockHeld):
        run_lock(tmp_path).acquire()
    old = time.time() - 120
    os.utime(path, (old, old))
    lock = run_lock(tmp_path)
    lock.acquire()
    assert "unreadable" in lock.events[0]


def test_release_never_removes_a_lock_taken_over_by_another(tmp_path):
    lock = run_lock(tmp_path)
    lock.acquire()
    write_lock(tmp_path / LOCK_NAME, host="other-machine", pid=1, token="theirs")
    lock.release()
    assert json.loads((tmp_path / LOCK_NAME).read_text())["token"] == "theirs"


def test_breaker_does_not_delete_a_fresh_lock(tmp_path):
    """A stale judgement made before someone else took over must not delete the new lock."""
    path = tmp_path / LOCK_NAME
    write_lock(path, pid=dead_pid(), token="stale")
    judged = LockInfo(socket.gethostname(), 0, "", "stale")
    write_lock(path, host="other-machine", pid=1, token="fresh")  # taken over meanwhile
    lock = run_lock(tmp_path)
    assert lock._break(judged, "test", LockInfo.mine()) is False
    assert json.loads(path.read_text())["token"] == "fresh"
    assert not path.with_name(LOCK_NAME + ".break").exists()


def test_leftover_break_file_is_cleared(tmp_path):
    path = tmp_path / LOCK_NAME
    write_lock(path, pid=dead_pid())
    brk = path.with_name(LOCK_NAME + ".break")
    brk.write_text("{}", encoding="utf-8")
    old = time.time() - 600
    os.utime(brk, (old, old))
    lock = run_lock(tmp_path)
    lock.acquire()  # first attempt clears the break file, a later one takes over
    assert not brk.exists()
    assert any("took over" in e for e in lock.events)


def test_pid_alive():
    assert pid_alive(os.getpid())
    assert not pid_alive(dead_pid())
    assert not pid_alive(0)


def test_claims(tmp_path):
    c = try_claim(tmp_path, "2024第一批")
    assert c is not None and (tmp_path / "claims" / "2024第一批.claim").exists()
    assert try_claim(tmp_path, "2024第一批") is None
    assert try_claim(tmp_path, "other") is not None
    c.release()
    assert try_claim(tmp_path, "2024第一批") is not None


def test_claim_names_are_safe():
    assert claim_name('a/b:c*?"<>|') == "a_b_c______.claim"
    assert claim_name("..") == "_.claim"
    assert round_claim(Path("/x"), "r").path == Path("/x/claims/r.claim")


# -- two processes racing ------------------------------------------------------------------------

def _worker(outbox: str, rounds: list[str], log: str, use_run_lock: bool, start: float) -> None:
    while time.time() < start:  # start together
        time.sleep(0.001)
    out = Path(outbox)
    lock = run_lock(out)
    if use_run_lock:
        try:
            lock.acquire()
        except LockHeld:
            with open(log, "a", encoding="utf-8") as fh:
                fh.write(f"held {os.getpid()}\n")
            return
    try:
        for r in rounds:
            claim = try_claim(out, r)
            if claim is None:
                continue
            try:
                done = out / "done" / r
                if done.exists():  # re-check after claiming: someone finished it meanwhile
                    continue
                with open(log, "a", encoding="utf-8") as fh:
                    fh.write(f"round {r} {os.getpid()}\n")
                time.sleep(0.01)
                done.parent.mkdir(parents=True, exist_ok=True)
                done.write_text("x")
            finally:
                claim.release()
    finally:
        lock.release()


@pytest.mark.parametrize("use_run_lock", [True, False])
def test_processes_racing_process_each_round_once(tmp_path, use_run_lock):
    rounds = [f"r{i:02d}" for i in range(12)]
    log = tmp_path / "log.txt"
    ctx = mp.get_context("spawn")
    start = time.time() + 1.5
    procs = [ctx.Process(target=_worker, args=(str(tmp_path / "out"), rounds, str(log), use_run_lock, start))
             for _ in range(4)]
    for p in procs:
        p.start()
    for p in procs:
        p.join(60)
        assert p.exitcode == 0
    lines = log.read_text(encoding="utf-8").splitlines()
    processed = sorted(line.split()[1] for line in lines if line.startswith("round"))
    assert processed == rounds  # every round exactly once
    if use_run_lock:
        # one or more runs may have found the lock held; whoever ran, did each round once
        assert all(line.startswith(("round", "held")) for line in lines)
    assert not (tmp_path / "out" / LOCK_NAME).exists()
    assert not list((tmp_path / "out" / "claims").glob("*.claim"))
