"""The batch manifest: what was processed, from which exact inputs, with what result.

One JSON file per round in ``OUTBOX/manifest/<round>.json`` -- written atomically, and only by the
process holding that round's claim, so two runs can never lose each other's updates -- plus
``OUTBOX/manifest.json``, the whole picture, rebuilt from the per-round files at the end of a run.

A round is up to date when its idempotency key matches: the sorted SHA-256 of its input files,
the model hash, the tool version and the as-of date. Batch runs without an explicit ``--as-of``
compare the key without the date (``content_key``), so a nightly run does not rescore everything
just because the calendar moved; ``--as-of`` given explicitly must match too.
"""

from __future__ import annotations

import hashlib
import json
import time
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from cluster_credit_cli.atomic import atomic_write_text
from cluster_credit_cli.batch.lock import claim_name

MANIFEST_DIR = "manifest"
MANIFEST_FILE = "manifest.json"
SCHEMA = 1
# Outcomes: ok (clean), problems (results written, data problems found), failed (inputs unusable:
# not retried until they change), error (unexpected or I/O error: retried on the next run).
OUTCOMES = ("ok", "problems", "failed", "error")


def sha256_file(path: Path, chunk: int = 1 << 20) -> str:
    h = hashlib.sha256()
    with open(path, "rb") as fh:
        while data := fh.read(chunk):
            h.update(data)
    return h.hexdigest()


def _digest(payload: dict[str, Any]) -> str:
    return hashlib.sha256(json.dumps(payload, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def idempotency_key(input_hashes: list[str], model_hash: str, tool_version: str, as_of: str | None) -> str:
    """Key of one processing: sorted input hashes, model hash, tool version, as-of date."""
    return _digest({"inputs": sorted(input_hashes), "model": model_hash, "tool": tool_version, "as_of": as_of})


def content_key(input_hashes: list[str], model_hash: str, tool_version: str) -> str:
    """The same key without the as-of date (for runs that let the date default to today)."""
    return idempotency_key(input_hashes, model_hash, tool_version, None)


def now_iso() -> str:
    return time.strftime("%Y-%m-%dT%H:%M:%S%z")


@dataclass
class RoundRecord:
    round: str
    inputs: list[dict[str, Any]]  # {"kind", "path" (relative to the round folder), "sha256", "size"}
    model_hash: str
    tool_version: str
    as_of: str
    outcome: str = "error"
    outputs: list[str] = field(default_factory=list)  # relative to the outbox
    started: str = ""
    finished: str = ""
    message: str = ""
    problems: int = 0
    key: str = ""
    content_key: str = ""
    schema: int = SCHEMA
    # The rating register run this round's inputs were recorded as (batch --db), and for which key:
    # a rerun of the same inputs (--force, a lost output) is not recorded twice.
    register_db: str = ""
    register_run: int | None = None
    register_key: str = ""

    def __post_init__(self) -> None:
        hashes = [i["sha256"] for i in self.inputs]
        self.key = idempotency_key(hashes, self.model_hash, self.tool_version, self.as_of)
        self.content_key = content_key(hashes, self.model_hash, self.tool_version)

    def as_dict(self) -> dict[str, Any]:
        return asdict(self)

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "RoundRecord":
        known = {k: data[k] for k in ("round", "inputs", "model_hash", "tool_version", "as_of", "outcome",
                                      "outputs", "started", "finished", "message", "problems", "register_db", "register_run",
                                      "register_key") if k in data}
        return cls(**known)


def entry_path(outbox: Path, round_name: str) -> Path:
    return Path(outbox) / MANIFEST_DIR / (claim_name(round_name)[: -len(".claim")] + ".json")


def load_entry(outbox: Path, round_name: str) -> RoundRecord | None:
    """The recorded entry of a round; None if absent or unreadable (then the round is redone)."""
    try:
        data = json.loads(entry_path(outbox, round_name).read_text(encoding="utf-8"))
        record = RoundRecord.from_dict(data)
    except (OSError, ValueError, TypeError, KeyError):
        return None
    return record if record.round == round_name else None


def save_entry(outbox: Path, record: RoundRecord) -> Path:
    """Write a round's entry atomically (call only while holding the round's claim)."""
    if record.outcome not in OUTCOMES:
        raise ValueError(f"unknown outcome {record.outcome!r}")
    path = entry_path(outbox, record.round)
    atomic_write_text(path, json.dumps(record.as_dict(), ensure_ascii=False, indent=2) + "\n")
    return path


def up_to_date(previous: RoundRecord | None, current: RoundRecord, *, as_of_explicit: bool) -> bool:
    """Whether ``previous`` already covers ``current``'s inputs, so the round can be skipped.

    Rounds that ended in ``error`` (unexpected or I/O trouble) are always retried.
    """
    if previous is None or previous.outcome == "error":
        return False
    if as_of_explicit:
        return previous.key == current.key
    return previous.content_key == current.content_key


def load_all(outbox: Path) -> dict[str, RoundRecord]:
    out: dict[str, RoundRecord] = {}
    folder = Path(outbox) / MANIFEST_DIR
    if folder.is_dir():
        for p in sorted(folder.glob("*.json")):
            try:
                rec = RoundRecord.from_dict(json.loads(p.read_text(encoding="utf-8")))
            except (OSError, ValueError, TypeError, KeyError):
                continue
            out[rec.round] = rec
    return out


def rebuild(outbox: Path) -> Path:
    """Write ``manifest.json`` (every round's entry) atomically from the per-round files."""
    from cluster_credit_cli import __version__

    rounds = load_all(outbox)
    payload = {
        "schema": SCHEMA,
        "tool_version": __version__,
        "updated": now_iso(),
        "rounds": {name: rec.as_dict() for name, rec in sorted(rounds.items())},
    }
    path = Path(outbox) / MANIFEST_FILE
    atomic_write_text(path, json.dumps(payload, ensure_ascii=False, indent=2) + "\n")
    return path
