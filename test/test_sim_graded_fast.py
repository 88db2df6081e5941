"""The graded fast path (kernels_graded) against the general loop (kernels_loop) on the worm in graded mode."""
import numpy as np
import pytest

from braingo_core.errors import SimulationError
from braingo_core.loaders.baaiworm import bundled_database
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDBBuilder
from sim_nets import graded_net, state_dump

WORM = {"model": "graded", "synapse_weight_scale": 0.1, "gap_weight_scale": 20.0}


@pytest.fixture(scope="module")
def worm_path():
    return str(bundled_database())


def _worm(path, graded, **cfg):
    sim = Simulation(path, dict(WORM, **cfg))
    assert sim._eng.graded
    sim._eng.graded = graded                  # the general loop runs on the same state arrays
    return sim


def _scenario(path, graded, snap):
    """2000 ticks with drive, a lesion (then a partial restore) and a snapshot round trip at tick 1100."""
    sim = _worm(path, graded)
    sim.set_neuron_input("AVBL", 100.0)
    sim.set_inputs(["AVBR", "PLML"], [80.0, 40.0])
    sim.record(["AVBL", "AVAL", "DB01", "VA05"], every=5)
    sim.run(600)
    sim.lesion(["AVAL", "DB01"])
    sim.run(500)
    sim.save_snapshot(snap)
    sim.run(400)
    sim.load_snapshot(snap)
    sim.restore(["DB01"])
    sim.run(900)
    return sim


def test_fast_path_matches_general_loop(worm_path, tmp_path):
    fast = _scenario(worm_path, True, tmp_path / "f.snap")
    ref = _scenario(worm_path, False, tmp_path / "r.snap")
    assert fast.tick == ref.tick == 2000
    got, want = state_dump(fast), state_dump(ref)
    for k in want:
        np.testing.assert_allclose(got[k], want[k], rtol=0, atol=1e-9, err_msg=k)
    v_fast, v_ref = fast.recorder.voltages()[1], ref.recorder.voltages()[1]
    assert v_fast.shape == v_ref.shape == (600 // 5 + 500 // 5 + 400 // 5 + 900 // 5, 4)
    np.testing.assert_allclose(v_fast, v_ref, rtol=0, atol=1e-9)
    aval = fast.db.neuron_id("AVAL")
    rest = fast._eng.net.node_el[fast._eng.net.soma[aval]]
    assert fast.get_neuron_voltage("AVAL") == rest          # lesioned: held at rest
    assert np.ptp(fast.voltages_mV()) > 1.0                  # the drive moved the network
    assert np.ptp(v_fast[:, 2]) > 0.1                        # DB01 moves again after its restore


def test_snapshot_round_trip_continues_identically(worm_path, tmp_path):
    sim = _worm(worm_path, True)
    sim.set_neuron_input("AVBL", 100.0)
    sim.lesion(["AVAL"])
    sim.run(300)
    sim.save_snapshot(tmp_path / "s.snap")
    sim.run(200)
    first = state_dump(sim)
    sim.load_snapshot(tmp_path / "s.snap")
    sim.run(200)
    for k, val in state_dump(sim).items():
        np.testing.assert_array_equal(val, first[k], err_msg=k)


def test_thread_settings_give_the_same_state(worm_path):
    out = []
    for threads in (1, 2):
        sim = _worm(worm_path, True, threads=threads)
        sim.set_neuron_input("AVBL", 100.0)
        sim.run(300)
        out.append(state_dump(sim))
    for k in out[0]:
        np.testing.assert_array_equal(out[0][k], out[1][k], err_msg=k)


@pytest.mark.parametrize("graded", [True, False])
def test_diverging_neuron_stops_the_run(worm_path, graded):
    sim = _worm(worm_path, graded)
    sim.record(["AVBL"])
    sim.run(10)
    pre = sim._eng.net.soma[sim.db.neuron_id("AVBL")]
    slot = np.flatnonzero(np.asarray(sim.state["s_gate"])[:, pre] > 0)[0]
    sim.state["s_gate"][slot, pre] = np.nan     # AVBL's graded release turns its targets' V into NaN
    with pytest.raises(SimulationError, match=r"diverged at tick 10") as exc:
        sim.run(10)
    assert sim.tick == 10
    assert np.isnan(sim.get_neuron_voltage(int(str(exc.value).split("(id ")[1].split(")")[0])))
    assert sim.recorder.voltages()[1].shape[0] >= 10


def test_diverging_neuron_names_the_same_neuron(worm_path):
    msgs = []
    for graded in (True, False):
        sim = _worm(worm_path, graded)
        sim.run(5)
        pre = sim._eng.net.soma[sim.db.neuron_id("AVBL")]
        sim.state["s_gate"][:, pre] = np.nan
        with pytest.raises(SimulationError) as exc:
            sim.run(5)
        msgs.append(str(exc.value))
    assert msgs[0] == msgs[1]


def test_only_pure_graded_networks_take_the_path(tmp_path):
    mixed = graded_net(tmp_path / "g.braindb")              # has a spike synapse L0 -> L1
    assert not Simulation(mixed)._eng.graded
    assert not Simulation(mixed, {"model": "graded"})._eng.graded
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("g", model="graded")
    exc = b.add_receptor("exc", kind="graded", e_rev_mV=30.0, g_max_nS=0.5, v_th_mV=-20.0, delta_mV=5.0,
                         k_per_ms=0.5)
    b.add_receptor("drive", "current", tau_decay_ms=2.0)
    b.add_neurons(3, neuron_type=t, names=["A", "B", "C"], cm_pF=10.0, g_leak_nS=1.0, e_leak_mV=-65.0)
    b.add_synapse("A", "B", 5.0, receptor=exc, syn_type="graded")
    b.add_gap_junction("B", "C", 0.5)
    pure = b.write(tmp_path / "p.braindb")
    assert Simulation(pure)._eng.graded
    pois = {"n": 10, "rate_Hz": 5.0, "weight": 1.0, "receptor": "drive"}
    assert not Simulation(pure, {"poisson": pois})._eng.graded
