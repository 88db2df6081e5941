"""The fly model against Brian2 (the paper's simulator): identical spike trains on a generated network.

Brian2 runs Shiu et al.'s equations as written in their model.py (``(unless refractory)`` on v and g,
reset of v and g, ``rfc`` 0 for driven neurons, one delay) with the same stored Poisson input
(SpikeGeneratorGroup onto v); braingo's ``fly`` backend reads the same .braindb.
"""
import numpy as np
import pytest

from braingo_core.loaders.flywire import FLY_DRIVE, SHIU, brian2_model, write_fly_db
from braingo_core.loaders.flywire_like import generate
from braingo_core.sim.fly_engine import FlyEngine
from braingo_core.storage import BrainDB

brian2 = pytest.importorskip("brian2")

N, EDGES, N_DRIVEN, T_MS = 2000, 150_000, 300, 300.0


def stored_drive(n_ticks, driven, seed=7):
    """(ticks, neuron ids) of Bernoulli(200 Hz x dt) input, sorted by (tick, id)."""
    rng = np.random.default_rng(seed)
    hits = rng.random((n_ticks, driven.size)) < FLY_DRIVE["rate_Hz"] * SHIU["dt_ms"] * 1e-3
    t, j = np.nonzero(hits)
    return t.astype(np.int64), driven[j]


def run_brian2(db, driven, in_t, in_i, t_ms, record=None):
    """Spike (ids, ticks) of Shiu's Brian2 model on ``db``'s connections, in (tick, id) order.

    ``driven`` get rfc = 0 (as Shiu's Poisson targets); stored input (ticks ``in_t``, neurons ``in_i``) adds
    the drive weight to v. With ``record`` = a neuron id, also returns its v and g (mV) at the end of each tick.
    """
    from brian2 import (Network, SpikeGeneratorGroup, SpikeMonitor, StateMonitor, Synapses, defaultclock, ms, mV,
                        prefs, start_scope)

    start_scope()
    prefs.codegen.target = "numpy"
    defaultclock.dt = SHIU["dt_ms"] * ms
    neu, syn = brian2_model(db, no_refractory=driven)
    targets = np.unique(in_i)
    gen = SpikeGeneratorGroup(targets.size, np.searchsorted(targets, in_i), in_t * SHIU["dt_ms"] * ms)
    inp = Synapses(gen, neu, on_pre=f"v_post += {FLY_DRIVE['weight_mV']}*mV")
    inp.connect(i=np.arange(targets.size), j=targets)
    mon = SpikeMonitor(neu)
    objs = [neu, syn, gen, inp, mon]
    if record is not None:
        state = StateMonitor(neu, ["v", "g"], record=[record], when="end")
        objs.append(state)
    Network(*objs).run(t_ms * ms)
    ticks = np.rint(np.asarray(mon.t / ms) / SHIU["dt_ms"]).astype(np.int64)
    ids = np.asarray(mon.i, np.int64)
    order = np.lexsort((ids, ticks))
    if record is None:
        return ids[order], ticks[order]
    return ids[order], ticks[order], np.asarray(state.v[0] / mV), np.asarray(state.g[0] / mV)


def run_braingo(path, driven, in_t, in_i, t_ms, dense=False):
    eng = FlyEngine(path, drive={"ids": driven.tolist(), "rate_Hz": 0.0}, dense=dense)
    eng.set_input(in_t, in_i, FLY_DRIVE["weight_mV"])
    ids, ticks = [], []
    eng.advance(int(round(t_ms / eng.dt_ms)), lambda i, t: (ids.append(i.astype(np.int64)), ticks.append(t.copy())))
    return np.concatenate(ids), np.concatenate(ticks), eng


def refractory_arrivals(db, ids, ticks, ref_ticks, delay_ticks):
    """Synaptic events that reached a neuron during its refractory period (from the spike trains)."""
    rp = np.asarray(db.row_ptr, np.int64)
    post = np.asarray(db.synapses["post_neuron"], np.int64)
    by_neuron = {}
    for i, t in zip(ids.tolist(), ticks.tolist()):
        by_neuron.setdefault(i, []).append(t)
    n = 0
    for i, t in zip(ids.tolist(), ticks.tolist()):
        for k in post[rp[i]:rp[i + 1]].tolist():
            s = by_neuron.get(k)
            if s is None:
                continue
            a = t + delay_ticks
            j = np.searchsorted(s, a, side="left") - 1       # latest spike of k strictly before the arrival
            n += j >= 0 and a - s[j] < ref_ticks[k]
    return n


def test_fly_model_matches_brian2_spike_for_spike(tmp_path):
    pre, post, cnt = generate(N, EDGES, seed=3)
    path = write_fly_db(tmp_path / "fly.braindb", N, pre, post, cnt)
    db = BrainDB(path)
    driven = np.arange(0, N, N // N_DRIVEN, dtype=np.int64)[:N_DRIVEN]
    n_ticks = int(round(T_MS / SHIU["dt_ms"]))
    in_t, in_i = stored_drive(n_ticks, driven)
    b_ids, b_ticks = run_brian2(db, driven, in_t, in_i, T_MS)
    g_ids, g_ticks, eng = run_braingo(path, driven, in_t, in_i, T_MS)
    undriven = ~np.isin(b_ids, driven)
    assert undriven.sum() > 200, "the network itself must spike for the comparison to mean something"
    np.testing.assert_array_equal(g_ticks, b_ticks)
    np.testing.assert_array_equal(g_ids, b_ids)
    # the comparison covers input arriving during refractoriness (it waits in g, frozen, in Brian2)
    assert refractory_arrivals(db, b_ids, b_ticks, eng.ref, 18) > 50


def test_input_during_refractoriness_is_dropped_as_in_brian2(tmp_path):
    """Two neurons (1 -> 0): 0 spikes, then 1's events reach it during its refractory period and after."""
    path = write_fly_db(tmp_path / "two.braindb", 2, [1], [0], [40])          # 11 mV per event
    db = BrainDB(path)
    in_t = np.array([10, 12, 15, 25, 31, 40, 52, 70])
    in_i = np.array([0, 1, 1, 1, 1, 1, 1, 1])         # 0 spikes at tick 11; 1 (driven, rfc 0) at t + 1
    b_ids, b_ticks, b_v, b_g = run_brian2(db, np.array([1]), in_t, in_i, 12.0, record=0)
    eng = FlyEngine(path, drive={"ids": [1], "rate_Hz": 0.0})
    eng.set_input(in_t, in_i, FLY_DRIVE["weight_mV"])
    v, g = [], []
    for _ in range(b_v.size):
        eng.advance(1)
        v.append(eng.v[0])
        g.append(eng.g[0])
    ref = eng.ref[0]
    arrivals = b_ticks[b_ids == 1] + 18
    first = b_ticks[b_ids == 0][0]
    assert np.any((arrivals > first) & (arrivals - first < ref)), "an event must reach 0 while refractory"
    assert np.all(b_g[first:first + ref] == 0.0)       # Brian2 dropped it: g stays 0 through the refractory period
    np.testing.assert_allclose(v, b_v, rtol=0, atol=1e-9)
    np.testing.assert_allclose(g, b_g, rtol=0, atol=1e-9)


def test_quiescent_skipping_is_bitwise_the_dense_loop(tmp_path):
    pre, post, cnt = generate(N, EDGES, seed=4)
    path = write_fly_db(tmp_path / "fly.braindb", N, pre, post, cnt)
    driven = np.arange(20, dtype=np.int64)
    in_t, in_i = stored_drive(2000, driven, seed=9)
    a_ids, a_ticks, a = run_braingo(path, driven, in_t, in_i, 200.0, dense=False)
    b_ids, b_ticks, b = run_braingo(path, driven, in_t, in_i, 200.0, dense=True)
    assert 0 < a.n_active < b.n_active == N          # the skipping path really skipped neurons
    np.testing.assert_array_equal(a_ids, b_ids)
    np.testing.assert_array_equal(a_ticks, b_ticks)
    for name, arr in a.state_arrays().items():
        np.testing.assert_array_equal(arr, b.state_arrays()[name], err_msg=name)


def test_fly_backend_through_simulation_api(tmp_path):
    from braingo_core.errors import SimulationError
    from braingo_core.sim import Simulation

    pre, post, cnt = generate(N, EDGES, seed=5)
    path = write_fly_db(tmp_path / "fly.braindb", N, pre, post, cnt)
    drive = {"n": 1, "rate_Hz": 200.0, "weight": FLY_DRIVE["weight_mV"], "receptor": 0, "ids": list(range(30))}
    sim = Simulation(path, {"model": "fly", "poisson": drive, "seed": 4})
    rec = sim.record([0, 5, 1999], every=10)
    sim.run_ms(50.0)
    eng = FlyEngine(path, drive={"ids": list(range(30))}, seed=4)
    ids, v_at = [], []
    for k in range(50):
        v_at.append(eng.v[[0, 5, 1999]].copy())
        eng.advance(10, lambda i, t: ids.append(i.copy()))
    s_ids, _ = rec.spikes()
    np.testing.assert_array_equal(s_ids, np.concatenate(ids))
    np.testing.assert_array_equal(rec.voltages()[1], np.array(v_at))
    assert sim.n_spikes == s_ids.size > 100
    sim.set_neuron_input(3, 10.0)
    with pytest.raises(SimulationError, match="injected currents"):
        sim.run(1)
    with pytest.raises(SimulationError, match="unknown model 'flyy'"):
        Simulation(path, {"model": "flyy"})
