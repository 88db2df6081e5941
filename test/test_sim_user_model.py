"""A user-defined model (models.register_model): run by the general loop, checked against plain Python."""
import numpy as np
import pytest
from numba import njit

from braingo_core.errors import BrainDBFormatError, BuilderError
from braingo_core.models import NEURON_MODELS, register_model
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDBBuilder
from sim_nets import assert_same_state


def qif_step(v, u, i_in, p, dt):
    """Quadratic integrate-and-fire with spike-triggered adaptation u (forward Euler); p = k, v_r, v_c, v_peak,
    v_reset."""
    v_new = v + dt * (p[0] * (v - p[1]) * (v - p[2]) - u + i_in)
    u = u - dt * 0.05 * u
    if v_new >= p[3]:
        return p[4], u + 2.0, True
    return v_new, u, False


QIF = NEURON_MODELS.get("qif") or register_model(
    "qif", (("k", 0.04), ("v_r_mV", -60.0), ("v_c_mV", -40.0), ("v_peak_mV", 20.0), ("v_reset_mV", -55.0)),
    njit(qif_step), "quadratic integrate-and-fire with adaptation (test model)")


def _db(path, n, synapses):
    b = BrainDBBuilder(dt_ms=0.1)
    b.add_neuron_type("q", "qif")
    b.add_receptor("d", kind="delta")
    b.add_neurons(n, "q", e_leak_mV=-60.0, params={"k": np.linspace(0.03, 0.05, n)})
    if synapses:
        rng = np.random.default_rng(3)
        pre, post = np.nonzero(rng.random((n, n)) < 0.3)
        b.add_synapses(pre, post, rng.normal(5.0, 2.0, pre.size), 0.5, receptor="d")
    return b.write(path)


@pytest.mark.slow                         # compiles the loop variant of the user model (not cached on disk)
def test_user_model_matches_python(tmp_path):
    n, ticks = 12, 3000
    currents = np.linspace(3.0, 9.0, n)
    sim = Simulation(_db(tmp_path / "q.braindb", n, False), {"threads": 1})
    sim.set_inputs(np.arange(n), currents)
    sim.record(np.arange(n))
    sim.run(ticks)
    ids, t = sim.recorder.spikes()
    v_rec = sim.recorder.voltages()[1]
    p = np.array([[k, -60.0, -40.0, 20.0, -55.0] for k in np.linspace(0.03, 0.05, n)])
    v, u = np.full(n, -60.0), np.zeros(n)
    ref_v, ref_spikes = [], []
    for tick in range(ticks):
        ref_v.append(v.copy())
        for i in range(n):
            i_in = ((0.0 - 0.0 * v[i]) + currents[i]) / 1.0          # the loop's input sum, cm_pF = 1
            v[i], u[i], fired = qif_step(v[i], u[i], i_in, p[i], 0.1)
            if fired:
                ref_spikes.append((tick, i))
    assert len(ref_spikes) > 50
    np.testing.assert_array_equal(v_rec, np.array(ref_v))
    assert list(zip(t.tolist(), ids.tolist())) == ref_spikes


@pytest.mark.slow
def test_user_model_network_snapshot_continues(tmp_path):
    db = _db(tmp_path / "n.braindb", 30, True)
    full = Simulation(db, {"threads": 2})
    full.set_inputs(np.arange(30), 6.0)
    full.run(2000)
    half = Simulation(db, {"threads": 1})
    half.set_inputs(np.arange(30), 6.0)
    half.run(900)
    half.save_snapshot(tmp_path / "s.snap")
    cont = Simulation(db, {"threads": 2})
    cont.load_snapshot(tmp_path / "s.snap")
    cont.run(1100)
    assert_same_state(cont, full)
    assert full.n_spikes > 100


def test_register_model_errors(tmp_path):
    with pytest.raises(BuilderError, match="exists already"):
        register_model("qif", (), QIF.step, "again")
    with pytest.raises(BuilderError, match="numba.njit step"):
        register_model("plain", (("a", 1.0),), qif_step, "not compiled")
    b = BrainDBBuilder()
    b.add_neuron_type("q", "qif")
    b.add_neurons(1, "q")
    path = b.write(tmp_path / "u.braindb")
    del NEURON_MODELS["qif"]
    from braingo_core.models import MODEL_BY_CODE
    del MODEL_BY_CODE[QIF.code]
    try:
        with pytest.raises(BrainDBFormatError, match="register_model"):      # refused as the file opens
            Simulation(path)
    finally:
        NEURON_MODELS["qif"], MODEL_BY_CODE[QIF.code] = QIF, QIF
