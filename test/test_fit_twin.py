"""The fitting twin: forward pass equal to the Numba engine, exact gradients, constrained parameters."""
import numpy as np
import pytest

torch = pytest.importorskip("torch")

from braingo_core.fit.adjoint import run_adjoint  # noqa: E402
from braingo_core.fit.params import MAX_PARAMS, ParamLayout  # noqa: E402
from braingo_core.fit.protocol import Protocol, engine_voltages  # noqa: E402
from braingo_core.fit.tables import GradedTables, canonical_name, cell_classes  # noqa: E402
from braingo_core.fit.twin import DTYPE, GradedTwin  # noqa: E402
from braingo_core.loaders.baaiworm import GRADED_WEIGHT_SCALES, bundled_database  # noqa: E402
from braingo_core.sim import Simulation  # noqa: E402
from braingo_core.storage import BrainDB  # noqa: E402


@pytest.fixture(scope="module")
def worm(tmp_path_factory):
    return BrainDB(bundled_database(tmp_path_factory.mktemp("worm")))


@pytest.fixture(scope="module")
def tables(worm):
    return GradedTables.from_db(worm)


@pytest.mark.slow
def test_forward_equals_engine_over_10_s(worm, tables):
    """10 s of the worm, every neuron driven by the protocol's noise: twin (dt of the db) == engine to 1e-6 mV."""
    torch.set_num_threads(1)
    proto = Protocol(duration_s=10.0, warmup_s=0.0, sample_ms=1.0, hold_ms=50.0, drive_sd_pA=15.0,
                     drive_mean_pA=10.0)
    v_engine = engine_voltages(worm, np.arange(tables.n), proto)
    twin = GradedTwin(tables)
    layout = ParamLayout.build(tables, GRADED_WEIGHT_SCALES["synapse_weight_scale"],
                               GRADED_WEIGHT_SCALES["gap_weight_scale"])
    every = int(round(proto.sample_ms / worm.dt_ms))
    with torch.no_grad():
        syn, gap, el = layout.weights(layout.zeros(), tables)
        v_twin = twin.run(syn, gap, el, torch.as_tensor(proto.drive(tables.n)), proto.hold_steps * every,
                          worm.dt_ms, every).numpy()
        v_fast = run_adjoint(twin, syn, gap, el, proto.drive(tables.n), proto.hold_steps * every, worm.dt_ms)
    assert v_twin.shape == v_engine.shape == (10_000, tables.n) and v_fast.shape == (100_000, tables.n)
    assert np.ptp(v_engine, axis=0).max() > 20.0            # the network moves, not a resting check
    assert np.abs(v_twin - v_engine).max() <= 1e-6
    assert np.abs(v_fast.numpy()[::every] - v_engine).max() <= 1e-6


@pytest.mark.parametrize("path", ["autograd", "adjoint"])
def test_gradient_matches_central_differences(tables, path):
    """Both differentiable paths (torch autograd through the twin, the Numba adjoint) against central differences."""
    torch.set_num_threads(1)
    proto = Protocol(duration_s=3.0, warmup_s=0.5, drive_sd_pA=10.0)
    twin = GradedTwin(tables)
    layout = ParamLayout.build(tables, 0.1, 20.0)
    ids = torch.arange(0, tables.n, 7)
    rng = np.random.default_rng(3)
    goal = torch.as_tensor(np.tanh(rng.standard_normal((ids.numel(), ids.numel()))), dtype=DTYPE)
    drive = proto.drive(tables.n)

    def loss(theta):
        syn, gap, el = layout.weights(theta, tables)
        if path == "autograd":
            v = twin.run(syn, gap, el, torch.as_tensor(drive), proto.hold_steps, proto.sample_ms)
        else:
            v = run_adjoint(twin, syn, gap, el, drive, proto.hold_steps, proto.sample_ms)
        return ((proto.correlation(v[:, ids], 0.2) - goal) ** 2).mean()

    theta = (torch.as_tensor(rng.standard_normal(layout.n_params), dtype=DTYPE) * 0.1).requires_grad_(True)
    loss(theta).backward()
    C, cls = layout.n_classes, layout.class_names.index
    # one entry of each block: pre gain (AVA), post gain (AVB), gap gain (AVA), leak (RIM), a pair term of each
    picks = [cls("AVA"), C + cls("AVB"), 2 * C + cls("AVA"), 3 * C + cls("RIM"), 4 * C, 4 * C + layout.n_syn_pairs]
    eps = 1e-5
    with torch.no_grad():
        for k in picks:
            up, dn = theta.detach().clone(), theta.detach().clone()
            up[k] += eps
            dn[k] -= eps
            fd = (loss(up) - loss(dn)).item() / (2 * eps)
            g = theta.grad[k].item()
            assert abs(g) > 1e-8, k
            assert abs(g - fd) <= 1e-4 * abs(fd), (k, g, fd)


def test_adjoint_equals_autograd(tables):
    """The fitting path (Numba step + hand-written adjoint) gives the twin's voltages and autograd's gradient."""
    torch.set_num_threads(1)
    proto = Protocol(duration_s=2.0, warmup_s=0.0, drive_sd_pA=12.0, drive_mean_pA=5.0)
    twin = GradedTwin(tables)
    layout = ParamLayout.build(tables, 0.1, 20.0)
    theta0 = torch.as_tensor(np.random.default_rng(5).standard_normal(layout.n_params) * 0.3, dtype=DTYPE)
    drive = proto.drive(tables.n)
    weight = torch.as_tensor(np.random.default_rng(6).standard_normal((400, tables.n)), dtype=DTYPE)
    out = []
    for fast in (False, True):
        theta = theta0.clone().requires_grad_(True)
        syn, gap, el = layout.weights(theta, tables)
        if fast:
            v = run_adjoint(twin, syn, gap, el, drive, proto.hold_steps, proto.sample_ms)
        else:
            v = twin.run(syn, gap, el, torch.as_tensor(drive), proto.hold_steps, proto.sample_ms)
        (torch.tanh((v + 40.0) / 10.0) * weight).sum().backward()
        out.append((v.detach().numpy(), theta.grad.numpy()))
    (v_ref, g_ref), (v_fast, g_fast) = out
    assert np.abs(v_fast - v_ref).max() <= 1e-9
    assert np.abs(g_fast - g_ref).max() <= 1e-9 * np.abs(g_ref).max() and np.abs(g_ref).max() > 0


def test_parameters_keep_signs_symmetry_and_budget(worm, tables):
    layout = ParamLayout.build(tables, 0.1, 20.0)
    assert layout.n_params <= MAX_PARAMS
    theta = torch.as_tensor(np.random.default_rng(0).standard_normal(layout.n_params) * 3, dtype=DTYPE)
    syn, gap, el = layout.weights(theta, tables)
    assert (syn >= 0).all() and (gap >= 0).all()
    twin = GradedTwin(tables)
    _, _, g = twin.matrices(syn, gap)
    assert torch.equal(g, g.T)
    # signs: each synapse keeps its receptor's reversal; GABAergic DD01's synapses are all on the -70 mV one
    assert np.array_equal(twin.syn_e_rev.numpy(), tables.g_e_mV[tables.syn_slot])
    dd = tables.syn_pre == worm.neuron_id("DD01")
    assert dd.any() and np.all(tables.g_e_mV[tables.syn_slot[dd]] < -50)
    # the pair terms: shared by homologues (same class pair -> same exponent)
    a = tables.syn_pre == worm.neuron_id("AVAL")
    b = tables.syn_pre == worm.neuron_id("AVAR")
    assert layout.syn_pair[a & (tables.syn_post == worm.neuron_id("DA01"))][0] == \
        layout.syn_pair[b & (tables.syn_post == worm.neuron_id("DA01"))][0]


def test_names_and_classes():
    assert canonical_name("DA1") == canonical_name("DA01") == "DA1"
    assert canonical_name("AVAL") == "AVAL" and canonical_name("VA12") == "VA12"
    names = ["AVAL", "AVAR", "AVL", "SMDDL", "SMDDR", "SMDVL", "SMDVR", "DA01", "DA02", "DVA", "RMED", "RMEV",
             "RMEL", "RMER", "IL1DL", "IL1DR", "IL1VL", "IL1VR", "IL1L", "IL1R"]
    assert cell_classes(names) == ["AVA", "AVA", "AVL", "SMD", "SMD", "SMD", "SMD", "DA", "DA", "DVA", "RME", "RME",
                                   "RME", "RME", "IL1", "IL1", "IL1", "IL1", "IL1", "IL1"]


def test_bundled_worm_rests_in_physiological_range(worm):
    """The graded defaults come from the database (one source) and keep the worm out of saturation."""
    assert worm.metadata["graded_weight_scales"] == GRADED_WEIGHT_SCALES
    sim = Simulation(worm, {"model": "graded"})
    assert (sim.config["synapse_weight_scale"], sim.config["gap_weight_scale"]) == (
        GRADED_WEIGHT_SCALES["synapse_weight_scale"], GRADED_WEIGHT_SCALES["gap_weight_scale"])
    sim.set_neuron_input("AVBL", 30.0)
    sim.run_ms(2000)
    v = sim.voltages_mV()
    assert -70.0 <= np.median(v) <= -20.0 and v.max() < -20.0
    saturated = Simulation(worm, {"model": "graded", "synapse_weight_scale": 1.0, "gap_weight_scale": 1.0})
    saturated.set_neuron_input("AVBL", 30.0)
    saturated.run_ms(2000)
    assert np.median(saturated.voltages_mV()) > 0.0       # explicit scales still win
