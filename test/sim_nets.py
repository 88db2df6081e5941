"""Small networks for the engine tests (imported by test_sim_*.py and their subprocess scripts)."""
import numpy as np

from braingo_core.storage import BrainDBBuilder


def graded_net(path, dt_ms=0.1):
    """A -graded-> B, B =gap= C, plus a spiking pair L0 -> L1; graded neurons: cm 10 pF, g_leak 1 nS."""
    b = BrainDBBuilder(dt_ms=dt_ms)
    tg = b.add_neuron_type("g", model="graded")
    tl = b.add_neuron_type("l", model="lif")
    exc = b.add_receptor("exc", kind="graded", e_rev_mV=30.0, g_max_nS=0.49, v_th_mV=-20.0, delta_mV=5.0,
                         k_per_ms=0.5)
    ampa = b.add_receptor("ampa", kind="conductance", e_rev_mV=0.0, tau_decay_ms=5.0)
    b.add_neurons(3, neuron_type=tg, names=["A", "B", "C"], cm_pF=10.0, g_leak_nS=1.0, e_leak_mV=-65.0)
    b.add_neurons(2, neuron_type=tl, names=["L0", "L1"], cm_pF=250.0, g_leak_nS=12.5, e_leak_mV=-65.0)
    b.add_synapse("A", "B", 5.0, receptor=exc, syn_type="graded")
    b.add_gap_junction("B", "C", 0.5)
    b.add_synapse("L0", "L1", 20.0, receptor=ampa, delay_ms=1.0)
    return b.write(path)


def spiking_net(path, n=60, seed=1, plastic=True):
    """Random conductance LIF network with delays of 1-3 ms (a full ring) and plastic excitatory synapses."""
    rng = np.random.default_rng(seed)
    ne = int(n * 0.8)
    pre, post = np.nonzero(rng.random((n, n)) < 0.15)
    w = np.where(pre < ne, 3.0, 25.0)
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("lif", "lif", {"v_reset_mV": -60.0, "v_th_mV": -50.0, "t_ref_ms": 2.0})
    ex = b.add_receptor("exc", "conductance", e_rev_mV=0.0, tau_rise_ms=0.5, tau_decay_ms=5.0)
    inh = b.add_receptor("inh", "conductance", e_rev_mV=-80.0, tau_decay_ms=10.0)
    b.add_receptor("drive", "current", tau_decay_ms=2.0)                 # the Poisson drive's receptor
    b.add_neurons(n, t, cm_pF=200.0, g_leak_nS=10.0, e_leak_mV=-60.0)
    b.add_synapses(pre, post, w, rng.integers(10, 31, pre.size) * 0.1, receptor=np.where(pre < ne, ex, inh),
                   plastic=plastic & (pre < ne), w_max=6.0)
    return b.write(path)


def spiking_config(threads=1, stdp=True):
    """Poisson drive; STDP (ticks one by one) or none (windows of min delay + 1 ticks)."""
    return {"threads": threads, "seed": 7, "stdp": {"batch_ms": 10.0} if stdp else False,
            "poisson": {"n": 50, "rate_Hz": 40.0, "weight": 120.0, "receptor": "drive"}}


def state_dump(sim):
    """Copies of every dynamic array plus the soma voltages."""
    out = {k: np.array(v) for k, v in sim.state.items()}
    out["soma_v"] = sim.voltages_mV()
    return out


def assert_same_state(got_sim, want_sim):
    """Every dynamic array and soma voltage of ``got_sim`` bitwise equal to ``want_sim``'s."""
    got, want = state_dump(got_sim), state_dump(want_sim)
    for k in want:
        np.testing.assert_array_equal(got[k], want[k], err_msg=k)


#: Classic Hodgkin-Huxley gate equations in Brian2 syntax (squid axon, rest -65 mV), for the oracle tests.
HH_GATES_BRIAN2 = """
    dm/dt = am*(1 - m) - bm*m : 1
    dh/dt = ah*(1 - h) - bh*h : 1
    dn/dt = an*(1 - n) - bn*n : 1
    am = 0.1/mV*(v + 40*mV)/(1 - exp(-(v + 40*mV)/(10*mV)))/ms : Hz
    bm = 4*exp(-(v + 65*mV)/(18*mV))/ms : Hz
    ah = 0.07*exp(-(v + 65*mV)/(20*mV))/ms : Hz
    bh = 1/(1 + exp(-(v + 35*mV)/(10*mV)))/ms : Hz
    an = 0.01/mV*(v + 55*mV)/(1 - exp(-(v + 55*mV)/(10*mV)))/ms : Hz
    bn = 0.125*exp(-(v + 65*mV)/(80*mV))/ms : Hz"""
