"""ROS-free closed loop on the bundled worm: determinism, drive dependence, lesions, weight-scaled databases."""
import numpy as np
import pytest

from braingo_core.body.closed_loop import ClosedLoop, LoopTrace, locomotion_settings, worm_database
from braingo_core.errors import BodyError, SimulationError
from braingo_core.storage import BrainDB

FORWARD = ["AVBL:30", "AVBR:30"]


@pytest.fixture(scope="module")
def loop():
    return ClosedLoop()


def test_trace_shapes_and_time(loop):
    loop.set_tonic(FORWARD)
    loop.reset()
    tr = loop.run(0.5)
    assert tr.t_s.shape == (50,) and tr.t_s[-1] == pytest.approx(0.5)
    assert tr.joint_rad.shape == (50, 11) and tr.head_xy_m.shape == (50, 2) and tr.com_xy_m.shape == (50, 2)
    assert tr.motor_mV.shape == (50, len(tr.motor_neurons)) and np.isfinite(tr.motor_mV).all()
    assert tr.body_length_m == pytest.approx(0.6)
    more = loop.run(0.2)
    joined = LoopTrace.concat([tr, more])
    assert joined.t_s.shape == (70,) and np.all(np.diff(joined.t_s) > 0)


def test_deterministic(loop):
    loop.set_tonic(FORWARD)
    loop.reset()
    a = loop.run(1.0)
    other = ClosedLoop(tonic=FORWARD)
    b = other.run(1.0)
    for field in ("joint_rad", "head_xy_m", "com_xy_m", "motor_mV"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_body_moves_only_with_drive(loop):
    results = {}
    for name, drive in (("idle", []), ("forward", FORWARD), ("backward", ["AVAL:30", "AVAR:30"])):
        loop.set_tonic(drive)
        loop.reset()
        tr = loop.run(3.0)
        results[name] = (float(np.abs(tr.joint_rad).max()),
                         float(np.linalg.norm(tr.com_xy_m[-1] - tr.com_xy_m[0]) / tr.body_length_m))
    assert results["idle"][0] < 0.02 and results["idle"][1] < 0.01
    assert results["forward"][0] > 0.1
    assert results["backward"][0] > 0.1


def test_lesion_of_b_class_changes_forward_posture(loop):
    loco = locomotion_settings(loop.config)
    loop.set_tonic(FORWARD)
    loop.reset()
    intact = loop.run(1.0)
    loop.set_lesion(loco["b_class"])
    loop.reset()
    lesioned = loop.run(1.0)
    loop.set_lesion(())
    b = [intact.motor_neurons.index(n) for n in loco["b_class"]]
    rest = lesioned.motor_mV[-1, b]
    assert np.ptp(rest) < 1e-6                     # held at rest: no input reaches them
    assert not np.allclose(intact.joint_rad[-1], lesioned.joint_rad[-1], atol=1e-3)


def test_bad_names_rejected(loop):
    with pytest.raises(SimulationError, match="AVBX"):
        loop.set_tonic(["AVBX:30"])
    with pytest.raises(SimulationError, match="NOPE"):
        loop.set_lesion(["NOPE"])
    with pytest.raises(BodyError):
        loop.run(-1.0)


def test_scaled_worm_database(tmp_path):
    base = BrainDB(worm_database(cache_dir=tmp_path))
    scaled = BrainDB(worm_database(0.5, 2.0, cache_dir=tmp_path))
    np.testing.assert_allclose(scaled.synapses["base_weight"], 0.5 * base.synapses["base_weight"], rtol=1e-6)
    np.testing.assert_allclose(scaled.gap_junctions["weight_nS"], 2.0 * base.gap_junctions["weight_nS"], rtol=1e-6)
    assert scaled.metadata["motor_neurons"] == base.metadata["motor_neurons"]
