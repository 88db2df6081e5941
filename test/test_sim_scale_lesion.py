"""Weight scales of the Simulation config (point and C. elegans engines) and lesions in the C. elegans model."""
import math

import numpy as np
import pytest

from braingo_core.errors import SimulationError, SnapshotError
from braingo_core.sim import Simulation
from braingo_core.sim.celegans.network import CelegansNetwork
from braingo_core.storage import BrainDBBuilder
from sim_nets import graded_net


def _pair_db(path):
    """L0 -> L1 through a current synapse of 100 pA (delay 1 ms); L0 is driven to spike."""
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("lif", "lif", {"v_reset_mV": -65.0, "v_th_mV": -50.0, "t_ref_ms": 2.0})
    syn = b.add_receptor("syn", "current", tau_decay_ms=2.0)
    b.add_neurons(2, t, names=["L0", "L1"], cm_pF=250.0, g_leak_nS=12.5, e_leak_mV=-65.0)
    b.add_synapse("L0", "L1", 100.0, receptor=syn, delay_ms=1.0)
    return b.write(path)


def _worm_db(path):
    """Two passive one-compartment C. elegans cells X, Y: X -graded-> Y and X =gap= Y."""
    b = BrainDBBuilder(dt_ms=0.025)
    t = b.add_neuron_type("worm", model="celegans")
    comp = [dict(kind="soma", length_um=3.0, diam_um=3.0, ra_ohm_cm=380.0, g_pas_S_cm2=1e-4, e_pas_mV=-60.0)]
    passive = dict(cm_pF=0.28, g_leak_nS=0.028, e_leak_mV=-60.0)
    exc = b.add_receptor("exc", kind="graded", e_rev_mV=30.0, g_max_nS=0.49, v_th_mV=-50.0, delta_mV=5.0,
                         k_per_ms=0.5)
    b.add_neuron(name="X", neuron_type=t, compartments=comp, **passive)
    b.add_neuron(name="Y", neuron_type=t, compartments=comp, **passive)
    b.add_synapse("X", "Y", 2.0, receptor=exc, syn_type="graded")
    b.add_gap_junction("X", "Y", 0.01)
    return b.write(path)


@pytest.mark.parametrize("key", ["synapse_weight_scale", "gap_weight_scale"])
@pytest.mark.parametrize("bad", [-0.5, math.nan, math.inf, "1", True, None])
def test_scale_validation(tmp_path, key, bad):
    with pytest.raises(SimulationError, match=key):
        Simulation(graded_net(tmp_path / "g.braindb"), {key: bad})


def _synaptic_current(db, scale):
    sim = Simulation(db, {"synapse_weight_scale": scale})
    sim.set_neuron_input("L0", 400.0)
    sim.record([])
    sim.run(600)
    assert sim.recorder.spikes()[0].size > 3 and np.all(sim.recorder.spikes()[0] == 0)
    return sim.state["ga"][0, 1], sim.get_neuron_voltage("L1")


def test_synapse_scale_point_engine(tmp_path):
    db = _pair_db(tmp_path / "pair.braindb")
    full, v_full = _synaptic_current(db, 1.0)
    half, v_half = _synaptic_current(db, 0.5)
    none, v_none = _synaptic_current(db, 0.0)
    assert full > 10.0 and half == 0.5 * full and none == 0.0          # pA onto L1
    assert v_full > v_half > v_none == -65.0


def test_gap_scale_point_engine(tmp_path):
    db = graded_net(tmp_path / "g.braindb")
    out = []
    for scale in (1.0, 0.0):
        sim = Simulation(db, {"gap_weight_scale": scale})
        sim.set_neuron_input("B", 50.0)
        sim.run(2000)
        out.append(sim.get_neuron_voltage("C"))
    assert out[0] > -64.0 and out[1] == -65.0


def test_scales_in_celegans_engine_and_snapshot(tmp_path):
    db = _worm_db(tmp_path / "worm.braindb")
    ref = Simulation(db)
    scaled = Simulation(db, {"synapse_weight_scale": 0.3, "gap_weight_scale": 0.0})
    np.testing.assert_allclose(scaled._eng.net._syn_wg, 0.3 * ref._eng.net._syn_wg, rtol=1e-15)
    assert ref._eng.net._gj_g[0] > 0 and scaled._eng.net._gj_g[0] == 0.0
    silent = Simulation(db, {"synapse_weight_scale": 0.0, "gap_weight_scale": 0.0})
    for sim in (ref, scaled, silent):
        sim.set_neuron_input("X", 5.0)
        sim.run(4000)
    y = [sim.get_neuron_voltage("Y") for sim in (ref, scaled, silent)]
    assert y[0] > y[1] > y[2] == pytest.approx(-60.0, abs=1e-9)
    scaled.save_snapshot(tmp_path / "s.snap")
    with pytest.raises(SnapshotError, match="synapse_weight_scale"):
        ref.load_snapshot(tmp_path / "s.snap")


def _passive(n, **kw):
    one = np.ones(n)
    return CelegansNetwork(0.1, np.arange(n), -one, 10 * one, 10 * one, 100 * one, one, 1e-4 * one, -60.0 * one,
                           np.zeros((n, 16)), **kw)


SYN = dict(pre_comp=[0], post_comp=[1], weight=[3.0], g_max_nS=[0.49], e_rev_mV=[30.0], v_th_mV=[-40.0],
           delta_mV=[5.0], k_per_ms=[0.5])
GAP = dict(comp_a=[1], comp_b=[2], g_nS=[0.2])
NO_SYN = dict(SYN, weight=[0.0])
NO_GAP = dict(GAP, g_nS=[0.0])


def test_celegans_lesion_silences_a_cell():
    """A -graded-> B =gap= C: a lesioned cell is held at rest, releases nothing and passes no gap current."""
    inj = [20.0, 5.0, 0.0]
    net = _passive(3, synapses=SYN, gap_junctions=GAP)
    net.set_lesion([0])
    net.step(3000, inj)
    no_syn = _passive(3, synapses=NO_SYN, gap_junctions=GAP)
    no_syn.step(3000, [0.0, 5.0, 0.0])
    v = net.soma_voltages_mV()
    assert v[0] == -60.0 and v[1] > -60.0
    np.testing.assert_array_equal(v, no_syn.soma_voltages_mV())
    net.set_lesion([0], False)
    net.set_lesion([2])
    net.step(3000, inj)
    no_gap = _passive(3, synapses=SYN, gap_junctions=NO_GAP)
    no_gap.step(3000, [0.0, 5.0, 0.0])
    no_gap.step(3000, inj)                                 # 30 membrane time constants: the first phase is forgotten
    v = net.soma_voltages_mV()
    assert v[2] == -60.0 and v[0] > -50.0                  # A is back and driven
    np.testing.assert_allclose(v[:2], no_gap.soma_voltages_mV()[:2], rtol=0, atol=1e-12)
    with pytest.raises(SimulationError, match="out of range"):
        net.set_lesion([3])


def test_celegans_lesion_through_simulation(tmp_path):
    db = _worm_db(tmp_path / "worm.braindb")
    sim = Simulation(db)
    sim.lesion("X")
    sim.set_neuron_input("X", 5.0)
    sim.run(4000)
    assert sim.get_neuron_voltage("X") == -60.0 and sim.get_neuron_voltage("Y") == pytest.approx(-60.0, abs=1e-9)
    sim.save_snapshot(tmp_path / "l.snap")
    other = Simulation(db)
    other.load_snapshot(tmp_path / "l.snap")
    assert other._eng.lesion.tolist() == [1, 0]
    sim.restore("X")
    sim.run(4000)
    assert sim.get_neuron_voltage("X") > -59.0 and sim.get_neuron_voltage("Y") > -60.0 + 1e-6
