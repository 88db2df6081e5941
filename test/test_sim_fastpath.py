"""The LIF fast path (kernels_lif) against the general loop (kernels_loop): bitwise the same state."""
import numpy as np
import pytest

from braingo_core.sim import Simulation
from braingo_core.storage import BrainDBBuilder
from sim_nets import state_dump


def _lif_net(path, kind, plain=False, n=83, seed=2):
    """Random LIF network, delays 0.1-2 ms, receptors of ``kind``: an excitatory dual-exponential and an
    inhibitory one; ``plain``: single exponentials only, and for current synapses one receptor for both
    signs (the specialised loops of the fast path, as in the COBA and LIF 100k benchmarks)."""
    rng = np.random.default_rng(seed)
    ne = int(n * 0.8)
    pre, post = np.nonzero(rng.random((n, n)) < 0.1)
    cond = kind == "conductance"
    w = np.where(pre < ne, 3.0 if cond else 300.0, 25.0 if cond else 900.0)
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("lif", "lif", {"v_reset_mV": -60.0, "v_th_mV": -50.0, "t_ref_ms": 2.0})
    ex = b.add_receptor("exc", kind, e_rev_mV=0.0, tau_rise_ms=0.0 if plain else 0.5, tau_decay_ms=5.0)
    inh = ex if plain and not cond else b.add_receptor("inh", kind, e_rev_mV=-80.0, tau_decay_ms=10.0)
    b.add_neurons(n, t, cm_pF=200.0, g_leak_nS=10.0, e_leak_mV=-60.0)
    b.add_synapses(pre, post, w if cond else np.where(pre < ne, w, -w), rng.integers(1, 21, pre.size) * 0.1,
                   receptor=np.where(pre < ne, ex, inh))
    return b.write(path)


def _run(db, fast, threads, kind, plain):
    drive = 120.0 if kind == "conductance" else 150.0
    sim = Simulation(db, {"threads": threads, "seed": 3,
                          "poisson": {"n": 40, "rate_Hz": 50.0, "weight": drive, "receptor": "exc"}})
    assert sim._eng.fast
    sim._eng.fast = fast                       # the general loop runs on the same (split) synapse arrays
    if not plain:
        sim.set_neuron_input(5, 300.0)
    sim.record([0, 5, 17], every=3)
    sim.run(700)
    if not plain:
        sim.lesion([9])
    sim.run(301)
    if not plain:
        sim.restore([9])
    sim.run(999)
    ids, ticks = sim.recorder.spikes()
    return state_dump(sim), ids, ticks, sim.recorder.voltages()[1]


@pytest.mark.parametrize("plain", [False, True])
@pytest.mark.parametrize("kind", ["conductance", "current"])
@pytest.mark.parametrize("threads", [1, 3])          # 3 partitions even on fewer threads
def test_fast_path_equals_general_loop(tmp_path, kind, threads, plain):
    db = _lif_net(tmp_path / "n.braindb", kind, plain)
    got, ids, ticks, v = _run(db, True, threads, kind, plain)
    ref, rids, rticks, rv = _run(db, False, threads, kind, plain)
    assert ids.size > 200
    if not plain:
        assert not np.any((ids == 9) & (ticks >= 700) & (ticks < 1001))
    for k in ref:
        np.testing.assert_array_equal(got[k], ref[k], err_msg=k)
    np.testing.assert_array_equal(ids, rids)
    np.testing.assert_array_equal(ticks, rticks)
    np.testing.assert_array_equal(v, rv)
