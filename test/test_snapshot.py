"""Snapshots: round trip, binding to the database, corruption, truncation, kill -9 during a write."""
import os
import signal
import subprocess
import sys
import time

import numpy as np
import pytest

from braingo_core.errors import SnapshotError, StorageWriteError
from braingo_core.storage import BrainDB, load_snapshot, save_snapshot
from conftest import build_small_db


def _arrays():
    return {"v": np.linspace(-70, -50, 20), "ref_until": np.full(20, np.iinfo(np.int64).max),
            "lesion": np.arange(20, dtype=np.uint8) % 2, "weights": np.arange(80, dtype=np.float32),
            "ring": np.arange(64, dtype=np.float64).reshape(16, 4), "empty": np.zeros(0),
            "empty_2d": np.zeros((0, 3), np.float32)}


def test_round_trip(small_db_path, tmp_path):
    db = BrainDB(small_db_path)
    path = tmp_path / "a.braindb.snapshot"
    rng = np.random.default_rng(3)
    extra = {"rng": rng.bit_generator.state, "stdp_enabled": True}
    save_snapshot(path, db.fingerprint, 1234, db.dt_ms, _arrays(), extra)
    snap = load_snapshot(path, db)
    assert snap.tick == 1234 and snap.dt_ms == db.dt_ms
    for name, a in _arrays().items():
        assert snap.arrays[name].dtype == a.dtype and snap.arrays[name].shape == a.shape
        assert snap.arrays[name].tobytes() == a.tobytes()
    restored = np.random.default_rng()
    restored.bit_generator.state = snap.extra["rng"]
    assert restored.random() == rng.random()


def test_snapshot_of_another_database(small_db_path, tmp_path):
    other = BrainDB(build_small_db(str(tmp_path / "other.braindb"), seed=2))
    path = tmp_path / "s.snapshot"
    save_snapshot(path, other.fingerprint, 1, other.dt_ms, _arrays())
    with pytest.raises(SnapshotError, match="another database"):
        load_snapshot(path, BrainDB(small_db_path))


def test_dt_mismatch(small_db_path, tmp_path):
    db = BrainDB(small_db_path)
    path = tmp_path / "s.snapshot"
    save_snapshot(path, db.fingerprint, 1, 0.05, _arrays())
    with pytest.raises(SnapshotError, match="dt"):
        load_snapshot(path, db)


def test_truncated_snapshot(small_db_path, tmp_path):
    db = BrainDB(small_db_path)
    path = tmp_path / "s.snapshot"
    size = save_snapshot(path, db.fingerprint, 1, db.dt_ms, _arrays())
    for cut in (size - 8, 300, 50):
        with open(path, "r+b") as f:
            f.truncate(cut)
        with pytest.raises(SnapshotError, match="truncated"):
            load_snapshot(path, db)


def test_flipped_byte_anywhere(small_db_path, tmp_path):
    db = BrainDB(small_db_path)
    path = tmp_path / "s.snapshot"
    size = save_snapshot(path, db.fingerprint, 1, db.dt_ms, _arrays())
    good = open(path, "rb").read()
    for off in (20, 140, size - 40):
        bad = bytearray(good)
        bad[off] ^= 0xFF
        open(path, "wb").write(bad)
        with pytest.raises(SnapshotError):
            load_snapshot(path, db)


def test_not_a_snapshot(tmp_path):
    p = tmp_path / "x.snapshot"
    p.write_bytes(b"hello world" * 20)
    with pytest.raises(SnapshotError, match="magic"):
        load_snapshot(p)
    with pytest.raises(SnapshotError, match="directory"):
        load_snapshot(tmp_path)
    with pytest.raises(SnapshotError, match="no such"):
        load_snapshot(tmp_path / "missing")


WRITER = """
import sys, numpy as np
from braingo_core.storage import save_snapshot
big = np.full(40_000_000, 7.0)   # 320 MB: each write takes long enough to be killed midway
print("ready", flush=True)
while True:
    save_snapshot(sys.argv[1], sys.argv[2], 2, 0.1, {"big": big})
"""


def test_kill_during_write_keeps_previous_snapshot(small_db_path, tmp_path):
    db = BrainDB(small_db_path)
    path = tmp_path / "live.snapshot"
    save_snapshot(path, db.fingerprint, 1, db.dt_ms, _arrays())
    proc = subprocess.Popen([sys.executable, "-c", WRITER, str(path), db.fingerprint], stdout=subprocess.PIPE,
                            cwd=os.path.dirname(os.path.dirname(__file__)))
    assert proc.stdout.readline().strip() == b"ready"
    pattern = f".{path.name}.tmp-{proc.pid}-*"
    deadline = time.monotonic() + 60
    while not list(tmp_path.glob(pattern)) and time.monotonic() < deadline:
        time.sleep(0.005)
    time.sleep(0.05)
    os.kill(proc.pid, signal.SIGKILL)
    proc.wait()
    snap = load_snapshot(path, db)     # either the original or a completed rewrite, never a torn file
    assert snap.tick in (1, 2)
    if snap.tick == 1:
        assert snap.arrays["weights"].tobytes() == _arrays()["weights"].tobytes()
    left = list(tmp_path.glob(pattern))
    save_snapshot(path, db.fingerprint, 3, db.dt_ms, _arrays())     # the next write cleans up the dead writer's file
    assert left and not list(tmp_path.glob(f".{path.name}.tmp-*")) and load_snapshot(path, db).tick == 3


def test_planted_temp_links_are_never_written_through(small_db_path, tmp_path):
    """Symlinks planted under every temp name a writer could pick (old and new schemes) are left alone."""
    db = BrainDB(small_db_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    path = tmp_path / "s.snapshot"
    (tmp_path / f".{path.name}.tmp-{os.getpid()}").symlink_to(victim)
    dead = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    (tmp_path / f".{path.name}.tmp-{int(dead.stdout)}-0123").symlink_to(victim)
    save_snapshot(path, db.fingerprint, 1, db.dt_ms, _arrays())
    assert victim.read_text() == "keep me" and load_snapshot(path, db).tick == 1
    # a planted link under a dead writer's name is not a regular file: it is left, not followed or deleted
    assert (tmp_path / f".{path.name}.tmp-{int(dead.stdout)}-0123").is_symlink()


def test_temp_file_is_created_exclusively(small_db_path, tmp_path, monkeypatch):
    """Even when the random temp name is guessed and planted as a link, the victim is not written."""
    import braingo_core.storage.atomic as atomic
    db = BrainDB(small_db_path)
    victim = tmp_path / "victim.txt"
    victim.write_text("keep me")
    path = tmp_path / "s.snapshot"
    monkeypatch.setattr(atomic.secrets, "token_hex", lambda n: "guessed")
    (tmp_path / f".{path.name}.tmp-{os.getpid()}-guessed").symlink_to(victim)
    with pytest.raises(StorageWriteError, match="unique temp file"):
        save_snapshot(path, db.fingerprint, 1, db.dt_ms, _arrays())
    assert victim.read_text() == "keep me" and not path.exists()
