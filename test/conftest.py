"""Shared fixtures: a small (~20-neuron) .braindb built in tmp_path."""
import numpy as np
import pytest

from braingo_core.storage import BrainDBBuilder


def build_small_db(path, n=20, seed=1):
    """A 20-neuron LIF network with named neurons, 2 regions, 2 receptors, gap junctions, metadata and
    per-neuron thresholds in the tail region."""
    rng = np.random.default_rng(seed)
    b = BrainDBBuilder(dt_ms=0.1)
    head, tail = b.add_region("head"), b.add_region("tail")
    lif = b.add_neuron_type("lif", model="lif", params={"v_th_mV": -50.0})
    exc = b.add_receptor("exc", kind="conductance", e_rev_mV=0.0, tau_decay_ms=5.0)
    inh = b.add_receptor("inh", kind="conductance", e_rev_mV=-80.0, tau_decay_ms=10.0)
    names = [f"N{i:02d}" for i in range(n)]
    half = n // 2
    b.add_neurons(half, neuron_type=lif, names=names[:half], region=head, pos_um=rng.uniform(0, 100, (half, 3)))
    b.add_neurons(n - half, neuron_type=lif, names=names[half:], region=tail, pos_um=rng.uniform(0, 100, (n - half, 3)),
                  params={"v_th_mV": np.linspace(-52.0, -48.0, n - half)})          # per-neuron thresholds
    pre = rng.integers(0, n, 80)
    post = rng.integers(0, n, 80)
    b.add_synapses(pre, post, rng.uniform(0.5, 2.0, 80), rng.uniform(0.1, 3.0, 80),
                   receptor=np.where(pre % 4 == 0, inh, exc), plastic=pre % 2 == 0, w_max=5.0)
    b.add_gap_junctions([0, 1, 2], [3, 4, 5], [0.5, 0.25, 1.0])
    b.metadata["neuron_classes"] = ["sensory"] * 5 + ["inter"] * 10 + ["motor"] * (n - 15)
    b.metadata["provenance"] = {"fixture": "small_db", "seed": seed}
    return b.write(path)


@pytest.fixture(scope="module")
def context(request):
    """An rclpy Context on the test module's own DDS domain (its ``DOMAIN_ID``)."""
    from ros_helpers import ros_context
    with ros_context(request.module.DOMAIN_ID) as ctx:
        yield ctx


@pytest.fixture
def small_db_path(tmp_path):
    return build_small_db(str(tmp_path / "small.braindb"))
