"""The fly backend over MPI (real mpiexec, MPICH from PyPI): identical spikes and state at 1-4 ranks."""
import os
import shutil
import subprocess
import sys

import numpy as np
import pytest

from braingo_core.loaders.flywire_like import build_like_flywire
from braingo_core.sim.fly_engine import FlyEngine
from braingo_core.sim.mpi_backend import block_of
from braingo_core.storage import BrainDB

pytest.importorskip("mpi4py")
HERE = os.path.dirname(os.path.abspath(__file__))
MPIEXEC = shutil.which("mpiexec", path=os.path.dirname(sys.executable)) or shutil.which("mpiexec")
DRIVEN = ",".join(str(i) for i in range(3, 3000, 20))            # 150 neurons, all ranks
DURATION_MS = 60.0


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    path = build_like_flywire(tmp_path_factory.mktemp("mpi") / "fly.braindb", 3000, 327_000, seed=8)
    eng = FlyEngine(path, drive={"ids": [int(x) for x in DRIVEN.split(",")]}, seed=3)
    ids, ticks = [], []
    eng.advance(int(round(DURATION_MS / eng.dt_ms)), lambda i, t: (ids.append(i.copy()), ticks.append(t.copy())))
    ref = {k: v.copy() for k, v in eng.state_arrays().items()}
    ref.update(ids=np.concatenate(ids), ticks=np.concatenate(ticks))
    assert np.unique(ref["ids"]).size > 150 + 20          # the network spikes too, not only the driven
    return path, ref


def mpiexec(n, *args, timeout=240):
    env = dict(os.environ, PYTHONPATH=os.pathsep.join([os.path.dirname(HERE), os.environ.get("PYTHONPATH", "")]))
    return subprocess.run([MPIEXEC, "-n", str(n), *args], capture_output=True, text=True, timeout=timeout, env=env)


@pytest.mark.parametrize("ranks", [2, 3, 4])
def test_any_rank_count_gives_the_single_process_spikes_and_state(net, tmp_path, ranks):
    path, ref = net
    out = tmp_path / "out.npz"
    r = mpiexec(ranks, sys.executable, os.path.join(HERE, "mpi_fly_run.py"), str(path), str(out),
                str(DURATION_MS), DRIVEN)
    assert r.returncode == 0, r.stderr[-2000:]
    got = np.load(out)
    for key in ("ids", "ticks", "v", "g", "last", "rng", "tick"):
        np.testing.assert_array_equal(got[key].astype(ref[key].dtype), ref[key], err_msg=key)
    assert int(got["windows"]) == int(round(DURATION_MS / 0.1)) // 18 + 1          # one exchange per delay
    lo, hi = block_of(3000, 0, ranks)
    post = np.asarray(BrainDB(path).synapses["post_neuron"])
    assert int(got["local_synapses"]) == np.count_nonzero((post >= lo) & (post < hi))    # rank 0: its targets only


def test_mpiexec_braingo_run_fly_writes_the_same_npz(net, tmp_path):
    path, ref = net
    out1, out2 = tmp_path / "one.npz", tmp_path / "two.npz"
    cli = [sys.executable, "-m", "braingo_core.cli", "run-fly", str(path), "-d", "30", "--drive", DRIVEN,
           "--seed", "3"]
    assert mpiexec(1, *cli, "--npz", str(out1)).returncode == 0
    r = mpiexec(2, *cli, "--npz", str(out2))
    assert r.returncode == 0, r.stderr[-2000:]
    assert r.stdout.count('"ranks": 2') == 1                  # rank 0 reports, the others stay quiet
    a, b = np.load(out1), np.load(out2)
    assert a["ids"].size > 100
    np.testing.assert_array_equal(a["ids"], b["ids"])
    np.testing.assert_array_equal(a["times_ms"], b["times_ms"])


def test_simulation_api_under_mpiexec(net, tmp_path):
    path, ref = net
    out = tmp_path / "api.npz"
    r = mpiexec(2, sys.executable, os.path.join(HERE, "mpi_fly_run.py"), str(path), str(out), str(DURATION_MS),
                DRIVEN, "api")
    assert r.returncode == 0, r.stderr[-2000:]
    got = np.load(out)
    assert int(got["ranks"]) == 2
    np.testing.assert_array_equal(got["ids"], ref["ids"])
    np.testing.assert_array_equal(got["ticks"], ref["ticks"])
    np.testing.assert_array_equal(got["v"], ref["v"])                 # voltages joined over the ranks
    assert got["v_rec"].shape == (int(DURATION_MS / 0.1) // 50, 3)


def test_snapshot_restores_on_another_rank_count(net, tmp_path):
    path, _ = net
    driven = [int(x) for x in DRIVEN.split(",")]
    one = FlyEngine(path, drive={"ids": driven}, seed=3)
    one.advance(300)
    one.save_snapshot(tmp_path / "one.snap")
    ids = []
    one.advance(300, lambda i, t: ids.append(i.copy()))
    run = [sys.executable, os.path.join(HERE, "mpi_fly_run.py"), str(path)]
    r = mpiexec(3, *run, str(tmp_path / "three.npz"), "30", DRIVEN, "load=" + str(tmp_path / "one.snap"))
    assert r.returncode == 0, r.stderr[-2000:]
    got = np.load(tmp_path / "three.npz")
    np.testing.assert_array_equal(got["ids"], np.concatenate(ids))
    for key in ("v", "g", "last", "rng", "tick"):
        np.testing.assert_array_equal(got[key], one.state_arrays()[key], err_msg=key)
    r = mpiexec(2, *run, str(tmp_path / "two.npz"), "30", DRIVEN, "save=" + str(tmp_path / "two.snap"))
    assert r.returncode == 0, r.stderr[-2000:]
    back = FlyEngine(path, drive={"ids": driven}, seed=3)
    back.load_snapshot(tmp_path / "two.snap")
    fresh = FlyEngine(path, drive={"ids": driven}, seed=3)
    fresh.advance(300)
    for key, arr in fresh.state_arrays().items():
        np.testing.assert_array_equal(back.state_arrays()[key], arr, err_msg=key)


@pytest.mark.parametrize("fault", ["die", "raise", "hang"])
def test_a_failed_rank_stops_the_others(net, tmp_path, fault):
    path, _ = net
    r = mpiexec(2, sys.executable, os.path.join(HERE, "mpi_fly_run.py"), str(path), str(tmp_path / "x.npz"),
                "2000", DRIVEN, fault, timeout=120)          # would run long if the survivor went on or hung
    assert r.returncode != 0
    assert not (tmp_path / "x.npz").exists()
    if fault == "raise":
        assert "MPI rank 1 of 2 failed: injected failure" in r.stderr
    if fault == "hang":                                     # rank 0 gives up waiting and aborts the job
        assert "MPI rank 0 of 2 failed: no spike exchange from the other ranks within 2 s" in r.stderr
