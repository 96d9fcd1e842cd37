"""Manifest entries: idempotency keys, atomic per-round files, the aggregate manifest."""

from __future__ import annotations

import hashlib
import json

from hypothesis import given
from hypothesis import strategies as st

from cluster_credit_cli import __version__
from cluster_credit_cli.batch.manifest import (
    MANIFEST_FILE, RoundRecord, content_key, entry_path, idempotency_key, load_all, load_entry, rebuild,
    save_entry, sha256_file, up_to_date,
)

H1, H2 = "a" * 64, "b" * 64


def record(name="2024-1", hashes=(H1, H2), model="m1", tool="0.1.0", as_of="2024-06-30", outcome="ok"):
    inputs = [{"kind": f"k{i}", "path": f"f{i}.xlsx", "sha256": h, "size": 1} for i, h in enumerate(hashes)]
    return RoundRecord(name, inputs, model, tool, as_of, outcome=outcome)


def test_sha256_file(tmp_path):
    p = tmp_path / "x.bin"
    p.write_bytes(b"abc" * 1000)
    assert sha256_file(p, chunk=7) == hashlib.sha256(b"abc" * 1000).hexdigest()


@given(st.lists(st.text(min_size=1, max_size=8), min_size=1, max_size=6), st.randoms())
def test_key_ignores_input_order(hashes, rnd):
    shuffled = list(hashes)
    rnd.shuffle(shuffled)
    assert idempotency_key(hashes, "m", "1", "2024-01-01") == idempotency_key(shuffled, "m", "1", "2024-01-01")


def test_key_changes_with_each_component():
    base = idempotency_key([H1, H2], "m", "1", "2024-01-01")
    assert len({base,
                idempotency_key([H1], "m", "1", "2024-01-01"),
                idempotency_key([H1, H2], "m2", "1", "2024-01-01"),
                idempotency_key([H1, H2], "m", "2", "2024-01-01"),
                idempotency_key([H1, H2], "m", "1", "2024-01-02")}) == 5
    assert content_key([H1, H2], "m", "1") == idempotency_key([H2, H1], "m", "1", None)


def test_up_to_date_rules():
    prev = record()
    assert up_to_date(prev, record(), as_of_explicit=True)
    assert not up_to_date(prev, record(as_of="2024-07-01"), as_of_explicit=True)
    assert up_to_date(prev, record(as_of="2024-07-01"), as_of_explicit=False)  # nightly default date
    assert not up_to_date(prev, record(hashes=(H1,)), as_of_explicit=False)
    assert not up_to_date(prev, record(model="m2"), as_of_explicit=False)
    assert not up_to_date(prev, record(tool="9"), as_of_explicit=False)
    assert not up_to_date(None, record(), as_of_explicit=False)
    assert not up_to_date(record(outcome="error"), record(), as_of_explicit=False)  # retried
    assert up_to_date(record(outcome="failed"), record(), as_of_explicit=False)  # same bad files: skip


def test_save_load_rebuild(tmp_path):
    a = record("第一批")
    a.outputs = ["processed/第一批/评级结果.xlsx"]
    a.started, a.finished = "s", "f"
    save_entry(tmp_path, a)
    save_entry(tmp_path, record("b/2", outcome="failed"))
    assert entry_path(tmp_path, "b/2").name == "b_2.json"
    back = load_entry(tmp_path, "第一批")
    assert back == a and back.key == a.key
    assert load_entry(tmp_path, "missing") is None
    path = rebuild(tmp_path)
    data = json.loads((tmp_path / MANIFEST_FILE).read_text(encoding="utf-8"))
    assert path.name == MANIFEST_FILE and data["tool_version"] == __version__
    assert set(data["rounds"]) == {"第一批", "b/2"}
    assert data["rounds"]["第一批"]["inputs"][0]["sha256"] == H1
    assert data["rounds"]["第一批"]["outputs"] == ["processed/第一批/评级结果.xlsx"]
    assert set(load_all(tmp_path)) == {"第一批", "b/2"}
    # no temporary files left beside them
    assert not [p for p in tmp_path.rglob("*") if ".tmp" in p.name]


def test_unreadable_entry_means_redo(tmp_path):
    save_entry(tmp_path, record("r"))
    entry_path(tmp_path, "r").write_text("{garbage", encoding="utf-8")
    assert load_entry(tmp_path, "r") is None
    assert load_all(tmp_path) == {}


def test_bad_outcome_refused(tmp_path):
    import pytest

    with pytest.raises(ValueError):
        save_entry(tmp_path, record(outcome="maybe"))
