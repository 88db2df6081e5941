"""Simulation API and engine semantics: graded/gap reference, lesions, reset, STDP, recording, bad input."""
import math

import numpy as np
import pytest

from braingo_core.errors import SimulationError, SnapshotError
from braingo_core.sim import Simulation, parse_stimulus
from braingo_core.storage import BrainDBBuilder, save_snapshot
from sim_nets import graded_net, spiking_config, spiking_net


@pytest.fixture(scope="module")
def graded_db(tmp_path_factory):
    return graded_net(tmp_path_factory.mktemp("g") / "g.braindb")


def _reference_graded(n_ticks, i_a, dt=0.1):
    """Plain-numpy stepping of A -graded-> B =gap= C with the engine's scheme (spec 5.1/5.2)."""
    v = np.full(3, -65.0)
    sinf = lambda vp: 1.0 / (1.0 + math.exp((-20.0 - vp) / 5.0))  # noqa: E731
    s = sinf(v[0])
    i_ext = np.array([i_a, 0.0, 0.0])
    for _ in range(n_ticks):
        g = 5.0 * float(np.float32(0.49)) * s             # g_max_nS is stored as float32
        gext = np.array([0.0, g + 0.5, 0.5])
        dext = np.array([0.0, g * 30.0 + 0.5 * v[2], 0.5 * v[1]])
        gtot = 1.0 + gext
        vinf = (1.0 * -65.0 + dext + i_ext) / gtot
        v = np.clip(vinf + (v - vinf) * np.exp(-dt * gtot / 10.0), -100.0, 60.0)
        si = sinf(v[0])
        s = si + (s - si) * math.exp(-dt * 0.5 / (1.0 - si))
    return v


def test_graded_synapse_and_gap_match_reference(graded_db):
    sim = Simulation(graded_db)
    sim.set_neuron_input("A", 60.0)
    sim.run(3000)
    np.testing.assert_allclose(sim.voltages_mV()[:3], _reference_graded(3000, 60.0), rtol=0, atol=1e-9)
    assert sim.get_neuron_voltage("B") > -60.0 and sim.get_neuron_voltage("C") > -65.0


def test_graded_mode_overrides_types(graded_db):
    sim = Simulation(graded_db, {"model": "graded"})
    sim.set_neuron_input("L0", 400.0)
    sim.run(2000)
    expected = -65.0 + 400.0 / 12.5 * (1.0 - math.exp(-200.0 / 20.0))
    assert sim.n_spikes == 0 and sim.get_neuron_voltage("L0") == pytest.approx(expected, abs=1e-9)


def test_lif_spikes_reach_target_after_delay(graded_db):
    sim = Simulation(graded_db)
    sim.record(["L0", "L1"])
    sim.set_neuron_input("L0", 400.0)
    sim.run(400)
    ids, ticks = sim.recorder.spikes()
    first = int(ticks[ids == 3][0])
    t, v = sim.recorder.voltages()
    l1 = v[:, 1]
    # the delay is 10 ticks: the spike of tick n first changes the update of tick n + 11 (seen at row n + 12)
    assert np.all(l1[:first + 12] == -65.0) and l1[first + 12] > -65.0


def test_lesion_restore_and_reset(graded_db):
    sim = Simulation(graded_db)
    sim.set_neuron_input("A", 60.0)
    sim.lesion(["A"])
    sim.run(2000)
    v = sim.voltages_mV()
    assert v[0] == -65.0 and abs(v[1] + 65.0) < 0.05 and abs(v[2] + 65.0) < 0.05
    sim.restore("A")
    sim.run(2000)
    assert sim.get_neuron_voltage("A") > -10.0
    after = sim.voltages_mV()
    sim.reset()
    assert sim.tick == 0 and np.all(sim.voltages_mV() == -65.0)
    sim.lesion(["A"])
    sim.run(2000)
    sim.restore(["A"])
    sim.run(2000)
    np.testing.assert_array_equal(sim.voltages_mV(), after)


def test_present_stimulus_restores_inputs(graded_db):
    sim = Simulation(graded_db)
    sim.set_neuron_input("C", 5.0)
    sim.present_stimulus("A:60,1:10", 100.0)
    assert sim.tick == 1000 and sim.get_neuron_voltage("A") > -10.0
    assert sim.state["v"].shape[0] >= 3
    sim.present_stimulus({"A": 0.0}, 0.0)
    sim.clear_stimulus()
    assert parse_stimulus("0:30, AVBL:-2.5") == [("0", 30.0), ("AVBL", -2.5)]


def _stdp_pair(tmp_path, dt_pair_ticks):
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("lif", "lif", {"v_reset_mV": -65.0, "v_th_mV": -50.0, "t_ref_ms": 1.0})
    r = b.add_receptor("syn", "current", tau_decay_ms=1.0)
    b.add_neurons(2, t, names=["pre", "post"], cm_pF=10.0, g_leak_nS=10.0, e_leak_mV=-65.0)
    b.add_synapse("pre", "post", 0.5, receptor=r, plastic=True, w_max=1.0)
    sim = Simulation(b.write(tmp_path / f"stdp{dt_pair_ticks}.braindb"), {"stdp": {"a_plus": 0.01}})
    first, second = ("pre", "post") if dt_pair_ticks > 0 else ("post", "pre")
    sim.run(100)
    for who, wait in ((first, abs(dt_pair_ticks)), (second, 1)):
        sim.set_neuron_input(who, 1e5)
        sim.run(1)
        sim.clear_stimulus()
        sim.run(wait - 1)
    sim.run(1000)                                  # past the 100 ms weight batch
    return float(sim.state["w_plastic"][0])


@pytest.mark.parametrize("dt_ticks", [100, -100])
def test_stdp_pair_rule(tmp_path, dt_ticks):
    w = _stdp_pair(tmp_path, dt_ticks)
    expected = 0.5 + 0.01 * math.exp(-0.5) if dt_ticks > 0 else 0.5 - 0.0105 * math.exp(-0.5)
    assert w == pytest.approx(expected, abs=1e-12)


def test_recording_npz_and_png(tmp_path):
    sim = Simulation(spiking_net(tmp_path / "s.braindb"), spiking_config())
    rec = sim.record([0, 5], every=10)
    sim.run(1000)
    t, v = rec.voltages()
    assert v.shape == (100, 2) and t[1] == pytest.approx(1.0)
    ids, ticks = rec.spikes()
    assert ids.size == sim.n_spikes > 0 and np.all(np.diff(ticks) >= 0)
    rec.save_npz(tmp_path / "r.npz")
    with np.load(tmp_path / "r.npz") as f:
        assert f["v_mV"].shape == (100, 2) and f["spike_ids"].size == ids.size
    rec.plot(tmp_path / "r.png")
    assert (tmp_path / "r.png").read_bytes()[:4] == b"\x89PNG"


# ------------------------------------------------------------------ bad input
def test_bad_inputs(graded_db, tmp_path):
    sim = Simulation(graded_db)
    for bad in (lambda: sim.set_neuron_input("NOPE", 1.0), lambda: sim.set_neuron_input(99, 1.0),
                lambda: sim.present_stimulus("AVBX:3", 1.0), lambda: sim.present_stimulus("A3", 1.0),
                lambda: sim.run_ms(-1.0), lambda: sim.run(-5), lambda: sim.run(1.5),
                lambda: sim.present_stimulus("A:1", float("nan")),
                lambda: sim.set_neuron_input("A", float("nan")), lambda: sim.set_neuron_input("A", math.inf),
                lambda: sim.set_inputs(["A", "B"], [1.0, math.inf]), lambda: sim.lesion(["A", "Z"]),
                lambda: sim.set_inputs(np.array([0, 99]), 1.0), lambda: sim.set_inputs(np.array([-1]), 1.0),
                lambda: Simulation(graded_db, {"modle": "graded"}), lambda: Simulation(graded_db, {"model": "x"}),
                lambda: Simulation(graded_db, {"threads": 0}), lambda: Simulation(graded_db, {"stdp": {"tau": 1}})):
        with pytest.raises(SimulationError):
            bad()
    sim.set_inputs(np.array([1, 0], dtype=np.int32), [2.0, 3.0])    # integer arrays skip the name lookup
    by_name = Simulation(graded_db)
    by_name.set_inputs(["A", "B"], [3.0, 2.0])
    sim.run(20)
    by_name.run(20)
    np.testing.assert_array_equal(sim.voltages_mV(), by_name.voltages_mV())


def test_ring_overflow_is_an_error(graded_db):
    with pytest.raises(SimulationError, match="ring"):
        Simulation(graded_db, {"max_ring_bytes": 16})


def test_diverging_neuron_stops_the_run(tmp_path):
    sim = Simulation(spiking_net(tmp_path / "d.braindb"), {"threads": 1})
    g = np.zeros(sim.n_neurons)
    g[7] = -1e7                                    # a negative conductance makes V explode
    sim.set_initial_state(synapses={"inh": g})
    with pytest.raises(SimulationError, match=r"\(id 7\) diverged at tick 0"):
        sim.run(10)


def test_snapshot_dt_and_database_mismatch(graded_db, tmp_path):
    sim = Simulation(graded_db)
    arrays = dict(sim.state, i_ext=np.zeros(sim.n_neurons))
    save_snapshot(tmp_path / "dt.snap", sim.db.fingerprint, 0, 0.2, arrays, {"model": None})
    with pytest.raises(SnapshotError, match="dt"):
        sim.load_snapshot(tmp_path / "dt.snap")
    other = Simulation(spiking_net(tmp_path / "o.braindb"))
    other.save_snapshot(tmp_path / "o.snap")
    with pytest.raises(SnapshotError, match="another database"):
        sim.load_snapshot(tmp_path / "o.snap")


def test_hh_cable_passive_steady_state(tmp_path):
    """Two HH compartments with the channels off: the soma/dendrite steady state solves the cable's linear system."""
    b = BrainDBBuilder(dt_ms=0.025)
    t = b.add_neuron_type("hh", "hh", {"g_na_S_cm2": 0.0, "g_k_S_cm2": 0.0})
    comps = [dict(length_um=20.0, diam_um=20.0, g_pas_S_cm2=1e-4, e_pas_mV=-70.0, ra_ohm_cm=100.0),
             dict(parent=0, length_um=200.0, diam_um=2.0, g_pas_S_cm2=1e-4, e_pas_mV=-70.0, ra_ohm_cm=100.0)]
    b.add_neuron(neuron_type=t, compartments=comps)
    sim = Simulation(b.write(tmp_path / "cable.braindb"))
    sim.set_neuron_input(0, 50.0)
    sim.run(40000)                                 # 1 s >> membrane time constant (10 ms)
    area = np.array([math.pi * 20 * 20, math.pi * 2 * 200]) * 1e-8              # cm2
    gl = 1e-4 * area * 1e9                                                       # nS
    r_half = 100.0 * np.array([10e-4 / (math.pi * (20e-4) ** 2 / 4), 100e-4 / (math.pi * (2e-4) ** 2 / 4)])
    gax = 1e9 / r_half.sum()
    a = np.array([[gl[0] + gax, -gax], [-gax, gl[1] + gax]])
    v = np.linalg.solve(a, gl * -70.0 + np.array([50.0, 0.0]))
    np.testing.assert_allclose(sim.state["v"], v, atol=1e-6)
    assert sim.get_neuron_voltage(0) == pytest.approx(v[0], abs=1e-6)


@pytest.mark.parametrize("seed", [-1, 2 ** 63, 2 ** 64, True, 1.5, "1"])
def test_config_seed_must_fit_the_random_streams(seed):
    from braingo_core.sim.config import parse_config
    with pytest.raises(SimulationError, match="config seed"):
        parse_config({"seed": seed})
