"""CelegansNetwork: graded synapse and gap-junction steady states (spec §5), state API, bad input."""
import json
import math

import numpy as np
import pytest

from braingo_core.errors import LoaderError, SimulationError
from braingo_core.sim.celegans.network import CelegansNetwork
from braingo_core.sim.celegans.params import DENSITY_KEYS, check_tree, load_cell_json

# Passive single-compartment cells: L = diam = 10 µm -> A = 100π µm², C = 3.1416 pF, G = 0.31416 nS (10 ms).
AREA = 100.0 * math.pi
G_PAS = 10.0 * 1e-4 * AREA
E_PAS = -60.0


def passive_net(n, dt=0.1, **kw):
    one = np.ones(n)
    return CelegansNetwork(dt, np.arange(n), -one, 10 * one, 10 * one, 100 * one, one, 1e-4 * one, E_PAS * one,
                           np.zeros((n, 16)), **kw)


@pytest.mark.parametrize("kind,g_max_nS,e_rev_mV,k_per_ms", [("exc", 0.49, 30.0, 0.5), ("inh", 0.2, -70.0, 0.015)])
def test_graded_synapse_steady_state(kind, g_max_nS, e_rev_mV, k_per_ms):
    w, v_th, delta = 3.0, -20.0, 5.0
    syn = dict(pre_comp=[0], post_comp=[1], weight=[w], g_max_nS=[g_max_nS], e_rev_mV=[e_rev_mV],
               v_th_mV=[v_th], delta_mV=[delta], k_per_ms=[k_per_ms])
    net = passive_net(2, synapses=syn)
    i_pre = G_PAS * (-25.0 - E_PAS)                       # holds the presynaptic cell at -25 mV
    net.step(20000, [i_pre, 0.0])
    v_pre, v_post = net.soma_voltages_mV()
    assert v_pre == pytest.approx(-25.0, abs=1e-9)
    s = 1.0 / (1.0 + math.exp((v_th - v_pre) / delta))
    g_syn = w * g_max_nS * s
    expected = (G_PAS * E_PAS + g_syn * e_rev_mV) / (G_PAS + g_syn)
    assert v_post == pytest.approx(expected, abs=1e-6)
    assert net.synapse_states()[0] == pytest.approx(s, rel=1e-9)
    assert abs(v_post - E_PAS) > 1.0                     # the synapse really transmits
    # No back-action on the presynaptic cell.
    assert v_pre == pytest.approx(E_PAS + i_pre / G_PAS, abs=1e-9)


def test_gap_junction_steady_state():
    g_gj = 0.2
    net = passive_net(2, gap_junctions=dict(comp_a=[0], comp_b=[1], g_nS=[g_gj]))
    i_inj = 10.0
    net.step(20000, [i_inj, 0.0])
    x = i_inj / (G_PAS + g_gj - g_gj ** 2 / (G_PAS + g_gj))
    y = g_gj * x / (G_PAS + g_gj)
    np.testing.assert_allclose(net.soma_voltages_mV(), [E_PAS + x, E_PAS + y], atol=1e-6)


def test_synapses_sharing_a_presynaptic_compartment_share_state():
    syn = dict(pre_comp=[0, 0, 1], post_comp=[1, 2, 2], weight=[1.0, 2.0, 1.0], g_max_nS=0.49, e_rev_mV=30.0,
               v_th_mV=-20.0, delta_mV=5.0, k_per_ms=0.5)
    net = passive_net(3, synapses=syn)
    assert net.syn_s.shape == (2,) and net.synapse_states().shape == (3,)


def test_state_roundtrip_and_reset():
    net = passive_net(2, gap_junctions=dict(comp_a=[0], comp_b=[1], g_nS=[0.1]), v_init_mV=[-70.0, -50.0])
    net.step(100, [5.0, 0.0])
    saved = {k: np.array(v, copy=True) for k, v in net.state_arrays().items()}
    net.step(100, [5.0, 0.0])
    after = net.compartment_voltages_mV()
    net.load_state(saved)
    assert net.tick == 100
    net.step(100, [5.0, 0.0])
    np.testing.assert_array_equal(net.compartment_voltages_mV(), after)
    net.reset()
    np.testing.assert_array_equal(net.soma_voltages_mV(), [-70.0, -50.0])
    with pytest.raises(SimulationError, match="gates"):
        net.load_state({**saved, "gates": np.zeros((1, 1))})


def test_divergence_names_neuron_compartment_tick():
    net = passive_net(2, neuron_names=["AVAL", "AVAR"])
    net.step(7)
    with pytest.raises(SimulationError, match=r"AVAR.*compartment 0, tick 7"):
        net.step(5, [0.0, 1e9])
    with pytest.raises(SimulationError, match="non-finite"):
        net.step(1, [np.nan, 0.0])


def test_multicompartment_tree_any_order():
    # Neuron 0: soma listed last, two neurite children; the result must not depend on the listing order.
    args = dict(length_um=[150, 100, 3], diam_um=[0.5, 0.5, 3], ra_ohm_cm=300, cm_uF_cm2=1.0, g_pas_S_cm2=3e-5,
                e_pas_mV=-65.0)
    gbar = np.zeros((3, 16))
    gbar[2, 0] = 0.02
    net = CelegansNetwork(0.1, [0, 0, 0], [2, 2, -1], gbar_S_cm2=gbar, **args)
    ordered = CelegansNetwork(0.1, [0, 0, 0], [-1, 0, 0], gbar_S_cm2=gbar[[2, 0, 1]],
                              **{k: np.asarray(v if np.ndim(v) else [v] * 3)[[2, 0, 1]] for k, v in args.items()})
    for n in (net, ordered):
        n.step(2000, 20.0)
    np.testing.assert_array_equal(net.compartment_voltages_mV()[[2, 0, 1]], ordered.compartment_voltages_mV())
    assert net.soma_voltages_mV()[0] > -60.0


def test_bad_network_input():
    with pytest.raises(LoaderError, match="not a tree"):
        CelegansNetwork(0.1, [0, 0, 0], [-1, 2, 1], [1] * 3, [1] * 3, [1] * 3, [1] * 3, [0] * 3, [0] * 3,
                        np.zeros((3, 16)))
    with pytest.raises(SimulationError, match="out of range"):
        passive_net(2, gap_junctions=dict(comp_a=[0], comp_b=[5], g_nS=[1.0]))
    with pytest.raises(SimulationError, match="dt_ms"):
        passive_net(1, dt=0.0)


def _cell(**overrides):
    soma = {"Ra": 380.0, "cm": 2.0, "gpas": 3e-5, "epas": -65.0, **{k: 0.001 for k in DENSITY_KEYS}}
    data = {"soma": soma, "neurite": {"Ra": 380.0, "cm": 2.0, "gpas": 3e-5, "epas": -65.0}}
    for path, value in overrides.items():
        block, key = path.split(".")
        if value is None:
            del data[block][key]
        else:
            data[block][key] = value
    return data


@pytest.mark.parametrize("override,message", [
    ({"soma.gbkcnl": None}, "soma: missing key 'gbkcnl'"),
    ({"soma.gbirk": -1e-3}, "soma.gbirk: negative conductance"),
    ({"neurite.gpas": -1e-5}, "neurite.gpas: negative conductance"),
    ({"soma.gbnca": float("nan")}, "soma.gbnca: non-finite"),
    ({"neurite.Ra": float("inf")}, "neurite.Ra: non-finite"),
    ({"soma.cm": "2"}, "soma.cm: expected a number"),
])
def test_bad_cell_json(tmp_path, override, message):
    path = tmp_path / "BAD.json"
    path.write_text(json.dumps(_cell(**override)))
    with pytest.raises(LoaderError) as exc:
        load_cell_json(path)
    assert str(path) in str(exc.value) and message in str(exc.value)


def test_cell_json_compartment_tree(tmp_path):
    path = tmp_path / "C.json"
    data = _cell()
    data["compartments"] = [{"parent": -1, "kind": "soma", "L": 3, "diam": 3},
                            {"parent": 0, "L": 50, "diam": 0.5}, {"parent": 1, "L": 50, "diam": 0.5}]
    path.write_text(json.dumps(data))
    cell = load_cell_json(path)
    assert cell.compartment_arrays()["gbar_S_cm2"][1:].sum() == 0 and len(cell.parent) == 3
    data["compartments"][1]["parent"] = 2
    path.write_text(json.dumps(data))
    with pytest.raises(LoaderError, match="not a tree"):
        load_cell_json(path)
    data["compartments"][1]["parent"] = -1
    path.write_text(json.dumps(data))
    with pytest.raises(LoaderError, match="2 root compartments"):
        load_cell_json(path)
    path.write_text("{not json")
    with pytest.raises(LoaderError, match="invalid JSON"):
        load_cell_json(path)


def test_check_tree_across_neurons():
    check_tree([-1, 0, -1, 2], "x", neuron=[0, 0, 1, 1])
    with pytest.raises(LoaderError, match="in neuron 0"):
        check_tree([-1, 0, -1, 0], "x", neuron=[0, 0, 1, 1])


def test_from_braindb_matches_direct_construction(tmp_path):
    from braingo_core.storage import BrainDB, BrainDBBuilder

    b = BrainDBBuilder(dt_ms=0.1)
    rid = b.add_region("head")
    tid = b.add_neuron_type("cell", model="celegans")
    rec = b.add_receptor("exc", kind="graded", e_rev_mV=30.0, tau_decay_ms=0.0, g_max_nS=0.49, v_th_mV=-20.0,
                         delta_mV=5.0, k_per_ms=0.5)
    gbar = [0.0] * 16
    gbar[0] = 0.02                                                           # shl1 in the soma
    comps = [dict(parent=-1, kind="soma", length_um=10, diam_um=10, ra_ohm_cm=100, cm_uF_cm2=1,
                  g_pas_S_cm2=1e-4, e_pas_mV=-60, gbar_S_cm2=gbar),
             dict(parent=0, kind="neurite", length_um=50, diam_um=0.5, ra_ohm_cm=100, cm_uF_cm2=1,
                  g_pas_S_cm2=1e-4, e_pas_mV=-60)]
    for name in ("A", "B"):
        b.add_neuron(name=name, neuron_type=tid, region=rid, cm_pF=3.0, g_leak_nS=0.3, e_leak_mV=-60,
                     compartments=comps)
    b.add_synapse("A", "B", 3.0, receptor=rec, syn_type="graded", count=5, pre_comp=1, post_comp=0)
    b.add_gap_junction("A", "B", 0.2, comp_a=0)
    net = CelegansNetwork.from_braindb(BrainDB(b.write(tmp_path / "two.braindb")))
    g = np.zeros((4, 16))
    g[[0, 2], 0] = 0.02
    direct = CelegansNetwork(0.1, [0, 0, 1, 1], [-1, 0, -1, 2], [10, 50, 10, 50], [10, 0.5, 10, 0.5], 100, 1.0,
                             1e-4, -60.0, g, neuron_names=["A", "B"],
                             synapses=dict(pre_comp=[1], post_comp=[2], weight=[3.0], g_max_nS=[0.49],
                                           e_rev_mV=[30.0], v_th_mV=[-20.0], delta_mV=[5.0], k_per_ms=[0.5]),
                             gap_junctions=dict(comp_a=[0], comp_b=[2], g_nS=[0.2]))
    assert net.neuron_names == ["A", "B"]
    for n in (net, direct):
        n.step(3000, [40.0, 0.0])
    np.testing.assert_allclose(net.compartment_voltages_mV(), direct.compartment_voltages_mV(), atol=1e-6)  # f32
    assert net.soma_voltages_mV()[1] > -59.0                                # B driven by synapse + gap
