"""Input arrays consumed in the kernel, delta synapses, and the defaults that make model units obvious."""
import math

import numpy as np
import pytest

from braingo_core.errors import SimulationError
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDB, BrainDBBuilder
from sim_nets import assert_same_state, spiking_config, spiking_net


def test_input_array_equals_per_tick_inputs(tmp_path):
    """An input array gives bitwise the state of set_inputs + run(1) per tick."""
    db = spiking_net(tmp_path / "n.braindb", plastic=False)
    rng = np.random.default_rng(5)
    drive = rng.normal(0.0, 150.0, (300, 60))
    ref = Simulation(db, spiking_config(stdp=False))
    ref.record([1, 2])
    for row in drive:
        ref.set_inputs(np.arange(60), row)
        ref.run(1)
    ref.clear_stimulus()
    ref.run(50)
    sim = Simulation(db, spiking_config(stdp=False))
    sim.record([1, 2])
    sim.set_input_array(drive)
    sim.run(350)
    assert_same_state(sim, ref)
    np.testing.assert_array_equal(sim.recorder.spikes()[1], ref.recorder.spikes()[1])
    assert ref.n_spikes == sim.n_spikes > 0
    with pytest.raises(SimulationError, match=r"expected shape \(ticks, 60\)"):
        sim.set_input_array(np.zeros((5, 3)))
    with pytest.raises(SimulationError, match="non-finite current at row 2, neuron 1"):
        bad = np.zeros((5, 60))
        bad[2, 1] = np.nan
        sim.set_input_array(bad)


def _pair(path, kind, delay_ms=None):
    b = BrainDBBuilder(dt_ms=0.1)
    b.add_neuron_type("lif", "lif", {"v_th_mV": 0.0})
    b.add_receptor("d", kind, tau_decay_ms=5.0)
    b.add_neurons(2, "lif", cm_pF=200.0, g_leak_nS=10.0, e_leak_mV=-70.0)
    b.add_synapse(0, 1, 50.0, delay_ms=delay_ms, receptor="d")
    return b.write(path)


def test_delta_synapse_is_a_one_tick_current(tmp_path):
    db = _pair(tmp_path / "d.braindb", "delta")
    assert BrainDB(db).receptors["tau_decay_ms"][0] == 0.0
    sim = Simulation(db, {"threads": 1})
    sim.set_initial_state(v_mV=[10.0, -70.0])        # neuron 0 fires in tick 0 (v_th 0 mV)
    sim.record([1])
    sim.run(5)
    ids, ticks = sim.recorder.spikes()
    assert ids.tolist() == [0] and ticks.tolist() == [0]
    v = sim.recorder.voltages()[1][:, 0]
    tau = 200.0 / 10.0
    jump = 50.0 * tau * -math.expm1(-0.1 / tau) / 200.0     # 50 pA for one tick onto the membrane
    assert v[0] == v[1] == -70.0                     # no delay: the update of tick 1 sees it
    assert v[2] == pytest.approx(-70.0 + jump, rel=1e-12)
    assert v[3] == pytest.approx(-70.0 + jump * math.exp(-0.1 / tau), rel=1e-12)   # then only leak


def test_no_delay_means_the_next_update(tmp_path):
    one = BrainDB(_pair(tmp_path / "a.braindb", "current"))
    assert one.synapses["delay_ticks"].tolist() == [0]


def test_izhikevich_defaults_and_u0(tmp_path):
    b = BrainDBBuilder(dt_ms=0.5)
    b.add_neuron_type("rs", "izhikevich")
    b.add_neuron_type("l", "lif")
    b.add_neurons(2, "rs")
    b.add_neurons(1, "l")
    db = BrainDB(b.write(tmp_path / "i.braindb"))
    assert db.neuron_attrs["cm_pF"].tolist() == [1.0, 1.0, 250.0]    # Izhikevich input in mV/ms
    sim = Simulation(db)
    sim.set_neuron_input(0, 10.0)
    sim.run(2000)
    assert sim.n_spikes > 10                          # a network built with defaults is not silent
    sim.set_initial_state(u=[-10.0, -20.0, 0.0])
    sim.reset()
    assert sim.state["u"].tolist() == [-10.0, -20.0, 0.0]
