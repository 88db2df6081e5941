"""Izhikevich integration schemes (models.py: euler, netm, substeps) against Brian2 running the same scheme."""
import numpy as np
import pytest

from braingo_core.errors import BuilderError
from braingo_core.models import IZHIKEVICH_PRESETS
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDB, BrainDBBuilder

b2 = pytest.importorskip("brian2")
from brian2 import NeuronGroup, Network, SpikeMonitor, StateMonitor, defaultclock, ms, prefs, start_scope  # noqa: E402

prefs.codegen.target = "numpy"
prefs.logging.console_log_level = "ERROR"

#: dv of Izhikevich 2003 in Brian2 syntax (v mV, u, I in mV/ms: the engine's input pA / cm_pF with cm_pF = 1).
DV = "0.04*v**2 + 5*v + 140 - u + I"
PRESETS = ("RS", "FS", "CH", "IB", "LTS")


def _engine(path, scheme, substeps, dt, currents, ticks):
    b = BrainDBBuilder(dt_ms=dt)
    for name in PRESETS:
        b.add_neuron_type(name, "izhikevich", IZHIKEVICH_PRESETS[name], scheme=scheme, substeps=substeps)
    n = len(currents)
    for i in range(n):
        b.add_neurons(1, PRESETS[i % len(PRESETS)], cm_pF=1.0, e_leak_mV=-65.0)
    db = b.write(path)
    assert BrainDB(db).neuron_types["scheme"].tolist() == [["euler", "netm", "substeps"].index(scheme)] * 5
    sim = Simulation(db, {"threads": 1})
    sim.set_inputs(np.arange(n), currents)
    sim.record(np.arange(n))
    sim.run(ticks)
    t, v = sim.recorder.voltages()
    return sim.recorder.spikes(), v


def _brian(scheme, substeps, dt, currents, ticks):
    start_scope()
    defaultclock.dt = dt * ms
    n = len(currents)
    G = NeuronGroup(n, "a : 1\nb : 1\nc : 1\nd : 1\nv : 1\nu : 1\nI : 1\ndv1 : 1", threshold="v >= 30",
                    reset="v = c\nu += d")
    for k in "abcd":
        key = "c_mV" if k == "c" else k
        setattr(G, k, [IZHIKEVICH_PRESETS[PRESETS[i % len(PRESETS)]][key] for i in range(n)])
    G.v = -65.0
    G.u = G.b * -65.0
    G.set_states({"I": currents})
    if scheme == "netm":
        code = f"v += {0.5 * dt!r}*({DV})\nv += {0.5 * dt!r}*({DV})\nu += {dt!r}*a*(b*v - u)"
    else:
        h = dt / substeps
        code = "\n".join([f"dv1 = {DV}\nu += {h!r}*(a*(b*v - u))\nv += {h!r}*dv1"] * substeps)
    G.run_regularly(code, when="groups")
    spikes, trace = SpikeMonitor(G), StateMonitor(G, "v", record=True, when="start")
    Network(G, spikes, trace).run(ticks * dt * ms)
    order = np.lexsort((np.asarray(spikes.i[:]), np.asarray(spikes.t / ms)))
    ids = np.asarray(spikes.i[:])[order]
    return (ids, np.rint(np.asarray(spikes.t / ms)[order] / dt).astype(np.int64)), np.asarray(trace.v).T


@pytest.mark.parametrize("scheme,substeps,dt", [("netm", 1, 1.0), ("substeps", 4, 1.0), ("substeps", 2, 0.5)])
def test_scheme_matches_brian2(tmp_path, scheme, substeps, dt):
    rng = np.random.default_rng(11)
    currents = rng.uniform(3.0, 15.0, 25)
    ticks = int(round(1000 / dt))
    (ids, t), v = _engine(tmp_path / "izh.braindb", scheme, substeps, dt, currents, ticks)
    (bids, bt), bv = _brian(scheme, substeps, dt, currents, ticks)
    assert ids.size > 200
    np.testing.assert_array_equal(t, bt)
    np.testing.assert_array_equal(ids, bids)
    np.testing.assert_allclose(v, bv, rtol=0, atol=1e-9)


def test_netm_fires_less_than_euler_at_1ms(tmp_path):
    """At dt 1 ms one forward-Euler step overshoots; net.m's half-steps give fewer spikes (issue: ~25 %)."""
    currents = np.full(10, 10.0)
    euler = _engine(tmp_path / "e.braindb", "euler", 1, 1.0, currents, 1000)[0][0].size
    netm = _engine(tmp_path / "n.braindb", "netm", 1, 1.0, currents, 1000)[0][0].size
    assert netm < euler


def test_scheme_validation():
    b = BrainDBBuilder()
    with pytest.raises(BuilderError, match=r"unknown integration scheme 'rk4'.*\['euler', 'netm', 'substeps'\]"):
        b.add_neuron_type("x", "izhikevich", scheme="rk4")
    with pytest.raises(BuilderError, match="substeps"):
        b.add_neuron_type("y", "izhikevich", scheme="substeps", substeps=0)
    with pytest.raises(BuilderError, match=r"valid: \['exponential'\]"):
        b.add_neuron_type("z", "lif", scheme="euler")
