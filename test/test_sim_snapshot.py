"""Snapshot continuity in a fresh process and determinism across thread counts (bitwise)."""
import os
import subprocess
import sys

import numpy as np
import pytest

from braingo_core.sim import Simulation
from sim_nets import spiking_config, spiking_net, state_dump

HERE = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(HERE)

SCRIPT = """
import sys, numpy as np
sys.path[:0] = [{root!r}, {here!r}]
from braingo_core.sim import Simulation
from sim_nets import spiking_config, state_dump
sim = Simulation({db!r}, spiking_config(threads={threads}, stdp={stdp}))
sim.set_neuron_input(3, 150.0)
if {snap!r}:
    sim.load_snapshot({snap!r})
sim.run({ticks})
np.savez({out!r}, n_spikes=sim.n_spikes, **state_dump(sim))
"""


def _child(tmp_path, db, out, ticks, snap="", threads=1, numba_threads=1, stdp=True):
    code = SCRIPT.format(root=ROOT, here=HERE, db=str(db), snap=str(snap), ticks=ticks, out=str(out),
                         threads=threads, stdp=stdp)
    env = dict(os.environ, NUMBA_NUM_THREADS=str(numba_threads))
    subprocess.run([sys.executable, "-c", code], check=True, env=env, cwd=tmp_path, timeout=300)
    with np.load(out) as f:
        return {k: f[k] for k in f.files}


def _assert_same(a, b):
    assert a.keys() == b.keys()
    for k in a:
        np.testing.assert_array_equal(a[k], b[k], err_msg=k)


@pytest.fixture(scope="module")
def net_db(tmp_path_factory):
    return spiking_net(tmp_path_factory.mktemp("snap") / "net.braindb")


@pytest.mark.parametrize("stdp", [True, False])
def test_snapshot_continuity_in_fresh_process(net_db, tmp_path, stdp):
    n = 1550                                        # 155 ms: mid STDP batch and mid window, ring full of events
    full = Simulation(net_db, spiking_config(stdp=stdp))
    full.set_neuron_input(3, 150.0)
    full.run(2 * n)
    half = Simulation(net_db, spiking_config(stdp=stdp))
    half.set_neuron_input(3, 150.0)
    half.run(n)
    half.save_snapshot(tmp_path / "half.snap")
    assert np.any(half.state["ring"] != 0) and (not stdp or np.any(half.state["dw"] != 0))
    resumed = _child(tmp_path, net_db, tmp_path / "resumed.npz", n, snap=tmp_path / "half.snap", stdp=stdp)
    expected = state_dump(full)
    assert int(resumed.pop("n_spikes")) == full.n_spikes > 100
    _assert_same(resumed, expected)
    if stdp:
        assert np.any(expected["w_plastic"] != Simulation(net_db).state["w_plastic"])   # STDP did act


def test_windows_equal_tick_by_tick(net_db):
    """Runs of 1 tick per call (forced single-tick windows) equal one long windowed run, bitwise."""
    one = Simulation(net_db, spiking_config(stdp=False))
    assert one._eng.window == 11                  # shortest delay 1.0 ms = 10 ticks
    many = Simulation(net_db, spiking_config(stdp=False))
    one.run(700)
    for _ in range(700):
        many.run(1)
    _assert_same(state_dump(one), state_dump(many))


@pytest.mark.parametrize("stdp", [True, False])
def test_same_state_with_one_and_two_threads(net_db, tmp_path, stdp):
    one = _child(tmp_path, net_db, tmp_path / "t1.npz", 1000, threads=2, numba_threads=1, stdp=stdp)
    two = _child(tmp_path, net_db, tmp_path / "t2.npz", 1000, threads=2, numba_threads=2, stdp=stdp)
    assert int(one["n_spikes"]) > 50
    _assert_same(one, two)
