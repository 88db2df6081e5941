"""Izhikevich (2003) "Simple model of spiking neurons", the network of its net.m: 800 regular-spiking and
200 fast-spiking cells with per-neuron a, b, c, d, all-to-all delta synapses acting on the next step, a
random thalamic input per neuron and step (stored, consumed inside the kernel), dt 1 ms, v integrated in
net.m's two 0.5 ms half-steps (scheme "netm"). Run: ``python examples/izhikevich_2003.py`` (prints spikes).
"""
import numpy as np

from braingo_core.sim import Simulation
from braingo_core.storage import BrainDBBuilder


def build(path, seed=2003, ne=800, ni=200, ticks=1000):
    """Write the network to ``path``; returns (path, thalamic input pA [ticks, ne + ni])."""
    rng = np.random.default_rng(seed)
    re, ri = rng.random(ne), rng.random(ni)
    b = BrainDBBuilder(dt_ms=1.0)
    b.add_neuron_type("exc", "izhikevich", scheme="netm")
    b.add_neuron_type("inh", "izhikevich", scheme="netm")
    b.add_receptor("syn", kind="delta")
    b.add_neurons(ne, "exc", params={"a": 0.02, "b": 0.2, "c_mV": -65 + 15 * re ** 2, "d": 8 - 6 * re ** 2})
    b.add_neurons(ni, "inh", params={"a": 0.02 + 0.08 * ri, "b": 0.25 - 0.05 * ri, "c_mV": -65.0, "d": 2.0})
    w = np.hstack([0.5 * rng.random((ne + ni, ne)), -rng.random((ne + ni, ni))])    # w[post, pre], as net.m's S
    post, pre = np.indices(w.shape).reshape(2, -1)
    b.add_synapses(pre, post, w.ravel(), receptor="syn")                             # no delay: the next step
    thalamic = rng.standard_normal((ticks, ne + ni)) * np.r_[np.full(ne, 5.0), np.full(ni, 2.0)]
    return b.write(path), thalamic


def run(path, thalamic):
    """Simulate len(thalamic) ms; returns (neuron ids, spike ticks = ms)."""
    sim = Simulation(path)
    sim.set_input_array(thalamic)
    sim.record([])
    sim.run(len(thalamic))
    return sim.recorder.spikes()


if __name__ == "__main__":
    ids, ms = run(*build("izhikevich_2003.braindb"))
    print(f"{ids.size} spikes in 1000 ms; first: {list(zip(ids[:5].tolist(), ms[:5].tolist()))}")
