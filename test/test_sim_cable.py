"""An active Hodgkin-Huxley cable against Brian2's SpatialNeuron: propagation, velocity, traces, conduction block.

The cable: N_COMP cylinders of DX_UM x DIAM_UM in a row, classic Na/K/leak in every compartment (6.3 C
kinetics, Ri 100 ohm cm, Cm 1 uF/cm2), a 0.5 ms current pulse into compartment 0, dt 0.01 ms. Both sides get
specific densities over the same lateral areas and voltages at compartment centres with half-compartment axial
resistances, so the spatial discretisation is the same. The time discretisations differ: Brian2 updates the
gates first, then solves V by backward Euler with the new gates; the engine holds the start-of-step gates
(as its point models do) and solves V implicitly with exponential-Euler-matched diagonals. That makes the
engine's spike arrive ~2 % (~5 dt) later at the far end at dt 0.01 ms; at dt 0.001 ms the two agree to 0.2 %
in travel time and 0.3 mV RMS at the far end (measured with the helpers below; too slow for the suite).
"""
import math

import numpy as np
import pytest

from braingo_core.sim import Simulation
from braingo_core.sim.kernels_neuron import hh_rates
from braingo_core.storage import BrainDBBuilder
from sim_nets import HH_GATES_BRIAN2

b2 = pytest.importorskip("brian2")
from brian2 import (Cylinder, Network, SpatialNeuron, StateMonitor, cm, defaultclock, mV, ms, ohm, pA,  # noqa: E402
                    prefs, siemens, start_scope, uF, um)

prefs.codegen.target = "numpy"
prefs.logging.console_log_level = "ERROR"

DT_MS = 0.01
N_COMP, DX_UM, DIAM_UM, RA_OHM_CM = 20, 50.0, 2.0, 100.0
G_NA, G_K, G_L = 0.12, 0.036, 3e-4                       # S/cm2
E_NA, E_K, E_L = 50.0, -77.0, -54.387                     # mV
V_REST = -65.0
T_ON_MS, T_PULSE_MS, T_END_MS, I_PULSE_PA = 1.0, 0.5, 8.0, 1000.0
BLOCK = slice(5, 15)                                      # compartments without Na in the block test
BRIDGED = slice(7, 13)                                    # a Na-free stretch short enough to be jumped
NEAR, FAR = 1, N_COMP - 2                                 # velocity between these (away from the sealed ends)


def _gates_at(v_mV):
    am, bm, ah, bh, an, bn = hh_rates(v_mV)
    return np.array([am / (am + bm), ah / (ah + bh), an / (an + bn)])


def _comps(n):
    return [dict(parent=k - 1, length_um=DX_UM, diam_um=DIAM_UM, cm_uF_cm2=1.0, g_pas_S_cm2=G_L, e_pas_mV=E_L,
                 ra_ohm_cm=RA_OHM_CM) for k in range(n)]


def _engine_db(path, cut=None, cut_na=True):
    """One HH neuron holding the whole cable; with ``cut`` (a slice), the cable is three HH neurons (before,
    inside, after the slice; the inside one without Na unless ``cut_na``) joined end to end by compartment
    gap junctions equal to the axial conductance, because an HH type has one Na density for all its
    compartments."""
    b = BrainDBBuilder(dt_ms=DT_MS)
    hh = b.add_neuron_type("hh", "hh", {"g_na_S_cm2": G_NA, "g_k_S_cm2": G_K, "e_na_mV": E_NA, "e_k_mV": E_K})
    if cut is None:
        b.add_neuron(neuron_type=hh, compartments=_comps(N_COMP))
        return b.write(path)
    middle = hh if cut_na else b.add_neuron_type("hh_no_na", "hh", {"g_na_S_cm2": 0.0, "g_k_S_cm2": G_K,
                                                                    "e_na_mV": E_NA, "e_k_mV": E_K})
    sizes = [cut.start, cut.stop - cut.start, N_COMP - cut.stop]
    for k, size in enumerate(sizes):
        b.add_neuron(neuron_type=middle if k == 1 else hh, compartments=_comps(size))
    r_half_ohm = RA_OHM_CM * (DX_UM * 0.5e-4) / (math.pi * (DIAM_UM * 1e-4) ** 2 / 4.0)
    g_axial_nS = 1e9 / (2.0 * r_half_ohm)
    b.add_gap_junction(0, 1, g_axial_nS, comp_a=sizes[0] - 1, comp_b=0)
    b.add_gap_junction(1, 2, g_axial_nS, comp_a=sizes[1] - 1, comp_b=0)
    return b.write(path)


def _run_engine(path):
    """Voltages (mV) of every compartment at the start of every tick: float64[n_ticks, N_COMP]."""
    sim = Simulation(path, {"threads": 1})
    assert sim.state["v"].shape == (N_COMP,)
    sim.state["v"][:] = V_REST
    sim.state["gates"][:] = _gates_at(V_REST)[:, None]
    on, off, n = (round(t / DT_MS) for t in (T_ON_MS, T_ON_MS + T_PULSE_MS, T_END_MS))
    out = np.empty((n, N_COMP))
    for k in range(n):
        out[k] = sim.state["v"]
        if k in (on, off):
            sim.set_neuron_input(0, I_PULSE_PA if k == on else 0.0)
        sim.run(1)
    return out


def _run_brian(na_off=None):
    start_scope()
    defaultclock.dt = DT_MS * ms
    eqs = """Im = gl*(El - v) + gNa*m**3*h*(ENa - v) + gK*n**4*(EK - v) : amp/meter**2
    I : amp (point current)
    gNa : siemens/meter**2
""" + HH_GATES_BRIAN2
    ns = dict(gl=G_L * siemens / cm ** 2, El=E_L * mV, ENa=E_NA * mV, gK=G_K * siemens / cm ** 2, EK=E_K * mV)
    morpho = Cylinder(n=N_COMP, diameter=DIAM_UM * um, length=N_COMP * DX_UM * um)
    G = SpatialNeuron(morpho, eqs, Cm=1 * uF / cm ** 2, Ri=RA_OHM_CM * ohm * cm, method="exponential_euler",
                      namespace=ns)
    gna = np.full(N_COMP, G_NA)
    if na_off is not None:
        gna[na_off] = 0.0
    G.gNa = gna * siemens / cm ** 2
    G.v = V_REST * mV
    G.m, G.h, G.n = _gates_at(V_REST)
    mon = StateMonitor(G, "v", record=True)
    net = Network(G, mon)
    net.run(T_ON_MS * ms)
    G.I[0] = I_PULSE_PA * pA
    net.run(T_PULSE_MS * ms)
    G.I[0] = 0 * pA
    net.run((T_END_MS - T_ON_MS - T_PULSE_MS) * ms)
    return np.asarray(mon.v / mV).T


def _arrival_ms(trace):
    """First upward crossing of 0 mV (linear interpolation between ticks), NaN if none."""
    k = np.flatnonzero((trace[:-1] < 0.0) & (trace[1:] >= 0.0))
    if not k.size:
        return math.nan
    k = k[0]
    return (k + trace[k] / (trace[k] - trace[k + 1])) * DT_MS


@pytest.fixture(scope="module")
def full(tmp_path_factory):
    return _run_engine(_engine_db(tmp_path_factory.mktemp("cable") / "full.braindb")), _run_brian()


def test_spike_reaches_far_end_at_brian2_velocity(full):
    mine, theirs = full
    assert mine.shape == theirs.shape == (round(T_END_MS / DT_MS), N_COMP)
    assert mine[:, -1].max() > 20.0 and theirs[:, -1].max() > 20.0
    t_mine = [_arrival_ms(mine[:, c]) for c in range(N_COMP)]
    assert np.all(np.diff(t_mine) > 0)                   # it travels from compartment 0 outwards
    travel_mine = t_mine[FAR] - t_mine[NEAR]
    travel_theirs = _arrival_ms(theirs[:, FAR]) - _arrival_ms(theirs[:, NEAR])
    assert travel_theirs > 1.0                           # many ticks, so 5 % is a real test
    assert abs(travel_mine / travel_theirs - 1.0) < 0.05
    assert abs(t_mine[-1] - _arrival_ms(theirs[:, -1])) < 0.05 * _arrival_ms(theirs[:, -1])


def test_near_and_far_traces_rms(full):
    mine, theirs = full
    rms = np.sqrt(np.mean((mine - theirs) ** 2, axis=0))
    # near end: the schemes' O(dt) difference on one upstroke; far end: that plus the ~5-dt later arrival
    # (a 0.05 ms shift of a 100 mV spike is worth ~3 mV RMS over 8 ms), see the module docstring
    assert rms[0] < 1.0
    assert rms[-1] < 3.5
    # with the arrival-time difference taken out, the far-end spike has Brian2's shape
    shift = round((_arrival_ms(mine[:, -1]) - _arrival_ms(theirs[:, -1])) / DT_MS)
    assert 0 <= shift <= 10
    aligned = mine[shift:, -1] - theirs[:theirs.shape[0] - shift, -1]
    assert np.sqrt(np.mean(aligned ** 2)) < 1.0


def test_cable_without_na_in_the_middle_blocks(tmp_path, full):
    # the three-neuron construction itself conducts: with Na everywhere the far end fires within 2 % of
    # the one-neuron cable (the junction currents use start-of-step voltages, the axial ones are implicit)
    split = _run_engine(_engine_db(tmp_path / "split.braindb", cut=BLOCK))
    whole = full[0]
    assert abs(_arrival_ms(split[:, -1]) / _arrival_ms(whole[:, -1]) - 1.0) < 0.02
    blocked = _run_engine(_engine_db(tmp_path / "blocked.braindb", cut=BLOCK, cut_na=False))
    theirs = _run_brian(na_off=BLOCK)
    assert theirs[:, BLOCK.start - 1].max() > 20.0
    assert blocked[:, BLOCK.start - 1].max() > 20.0                    # the spike reaches the block ...
    assert blocked[:, BLOCK.stop:].max() < -50.0 and theirs[:, BLOCK.stop:].max() < -50.0   # ... and dies there
    rms = np.sqrt(np.mean((blocked - theirs) ** 2, axis=0))
    assert rms[-1] < 1.0
    # a shorter Na-free stretch (300 um, below one length constant) is jumped, in both
    bridged = _run_engine(_engine_db(tmp_path / "bridged.braindb", cut=BRIDGED, cut_na=False))
    theirs = _run_brian(na_off=BRIDGED)
    assert bridged[:, -1].max() > 20.0 and theirs[:, -1].max() > 20.0
    assert abs(_arrival_ms(bridged[:, -1]) / _arrival_ms(theirs[:, -1]) - 1.0) < 0.05


def test_branched_stiff_cable_passive_steady_state(tmp_path):
    """The tree solve on a branched cable with 1-um compartments at dt 0.1 ms (dt*g_axial/C up to ~3e3, where an
    explicit axial step would be useless): stable, and at rest it solves the cable's linear system."""
    geo = [(-1, 10.0, 10.0), (0, 1.0, 1.0), (1, 1.0, 0.5), (1, 2.0, 0.5), (0, 1.0, 2.0), (4, 1.0, 2.0)]
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("hh", "hh", {"g_na_S_cm2": 0.0, "g_k_S_cm2": 0.0})
    b.add_neuron(neuron_type=t, compartments=[dict(parent=p, length_um=ln, diam_um=d, g_pas_S_cm2=1e-3,
                                                   e_pas_mV=-70.0, ra_ohm_cm=150.0) for p, ln, d in geo])
    sim = Simulation(b.write(tmp_path / "tree.braindb"))
    sim.set_neuron_input(0, 20.0)
    sim.run(200)                                   # 20 ms >> membrane time constant (1 ms)
    n = len(geo)
    length, diam = np.array([g[1] for g in geo]), np.array([g[2] for g in geo])
    gl = 1e-3 * math.pi * diam * length * 1e-8 * 1e9                               # nS
    r_half = 150.0 * length * 0.5e-4 / (math.pi * (diam * 1e-4) ** 2 / 4.0)       # ohm
    a = np.diag(gl)
    for k, (p, _, _) in enumerate(geo):
        if p >= 0:
            g = 1e9 / (r_half[k] + r_half[p])
            a[[k, p], [k, p]] += g
            a[k, p] -= g
            a[p, k] -= g
    v = np.linalg.solve(a, gl * -70.0 + np.eye(n)[0] * 20.0)
    assert v[0] > -69.0
    np.testing.assert_allclose(sim.state["v"], v, atol=1e-6)
