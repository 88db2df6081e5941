"""ROS-free closed loop on the bundled worm: determinism, the crawl and its drive dependence, lesions, weight scales."""
import numpy as np
import pytest

from braingo_core.body.closed_loop import ClosedLoop, LoopTrace, locomotion_settings
from braingo_core.body.gait import gait_metrics
from braingo_core.errors import BodyError, SimulationError


@pytest.fixture(scope="module")
def loop():
    return ClosedLoop()


@pytest.fixture(scope="module")
def loco(loop):
    return locomotion_settings(loop.config)


@pytest.fixture(scope="module")
def crawl(loop, loco):
    """Gait metrics over the issue's window (settle, then measure) for forward and backward drive, no drive,
    no B-class."""
    out = {}
    for name, drive, lesion in (("forward", loco["forward_drive"], ()), ("idle", (), ()),
                                ("backward", loco["backward_drive"], ()),
                                ("no_b", loco["forward_drive"], loco["b_class"])):
        loop.set_tonic(drive)
        loop.set_lesion(lesion)
        loop.reset()
        out[name] = gait_metrics(loop.run(loco["settle_s"] + loco["measure_s"]), loco["settle_s"])
    loop.set_lesion(())
    return out


def test_trace_shapes_and_time(loop, loco):
    loop.set_tonic(loco["forward_drive"])
    loop.reset()
    tr = loop.run(0.5)
    assert tr.t_s.shape == (50,) and tr.t_s[-1] == pytest.approx(0.5)
    assert tr.joint_rad.shape == (50, 11) and tr.head_xy_m.shape == (50, 2) and tr.com_xy_m.shape == (50, 2)
    assert tr.motor_mV.shape == (50, len(tr.motor_neurons)) and np.isfinite(tr.motor_mV).all()
    assert tr.body_length_m == pytest.approx(0.6)
    more = loop.run(0.2)
    joined = LoopTrace.concat([tr, more])
    assert joined.t_s.shape == (70,) and np.all(np.diff(joined.t_s) > 0)


def test_deterministic(loop, loco):
    loop.set_tonic(loco["forward_drive"])
    loop.reset()
    a = loop.run(1.0)
    other = ClosedLoop(tonic=loco["forward_drive"])
    b = other.run(1.0)
    for field in ("joint_rad", "head_xy_m", "com_xy_m", "motor_mV"):
        np.testing.assert_array_equal(getattr(a, field), getattr(b, field))


def test_forward_drive_crawls_head_first(crawl):
    fwd = crawl["forward"]
    assert fwd["speed_L_per_s"] >= 0.1
    assert 0.2 <= fwd["wave_hz"] <= 2.0
    assert fwd["lag_s"] > 0 and fwd["wavelength_L"] > 0  # head-to-tail wave
    assert fwd["alternation"] > 0.2                      # bends to both sides


def test_backward_drive_crawls_tail_first(crawl):
    bwd = crawl["backward"]
    assert bwd["speed_L_per_s"] <= -0.05
    assert 0.2 <= bwd["wave_hz"] <= 2.0
    assert bwd["lag_s"] < 0 and bwd["wavelength_L"] < 0  # the wave runs tail to head
    assert bwd["alternation"] > 0.2


def test_no_drive_rests(crawl):
    assert abs(crawl["idle"]["speed_L_per_s"]) < 0.02
    assert crawl["idle"]["amplitude_rad"] < 0.01


def test_b_class_lesion_stops_the_forward_crawl(crawl):
    assert crawl["no_b"]["speed_L_per_s"] < 0.2 * crawl["forward"]["speed_L_per_s"]


def test_lesioned_neurons_are_held_at_rest(loop, loco):
    loop.set_tonic(loco["forward_drive"])
    loop.set_lesion(loco["b_class"])
    loop.reset()
    lesioned = loop.run(0.5)
    loop.set_lesion(())
    b = [lesioned.motor_neurons.index(n) for n in loco["b_class"]]
    assert np.ptp(lesioned.motor_mV[-1, b]) < 1e-6  # held at rest: no input reaches them


def test_bad_names_rejected(loop):
    with pytest.raises(SimulationError, match="AVBX"):
        loop.set_tonic(["AVBX:30"])
    with pytest.raises(SimulationError, match="NOPE"):
        loop.set_lesion(["NOPE"])
    with pytest.raises(BodyError):
        loop.run(-1.0)


def test_weight_scales_reach_the_simulation(loco):
    # Without gap junctions and synapses AVB drive cannot reach the D-class (no stimulus, so no command
    # gate, reaches them either): their voltages are those of the undriven worm.
    uncoupled = ClosedLoop(synapse_weight_scale=0.0, gap_weight_scale=0.0, tonic=loco["forward_drive"])
    tr = uncoupled.run(0.2)
    d = [tr.motor_neurons.index(n) for n in loco["d_class"]]
    idle = ClosedLoop(synapse_weight_scale=0.0, gap_weight_scale=0.0).run(0.2)
    np.testing.assert_array_equal(tr.motor_mV[:, d], idle.motor_mV[:, d])
    b = [tr.motor_neurons.index(n) for n in loco["b_class"]]
    coupled = ClosedLoop(tonic=loco["forward_drive"])
    driven = coupled.run(0.2)
    coupled.set_tonic(())
    coupled.reset()
    rest = coupled.run(0.2)
    assert (driven.motor_mV[-1, b] - rest.motor_mV[-1, b]).mean() > 5.0  # the scaled gap junctions carry it


def test_medium_is_chosen_by_name(loop):
    water = ClosedLoop(medium="water")
    assert loop.config.medium == "agar" and water.config.medium == "water"
    assert water.body.config.drag_c_n == water.config.media["water"].c_n < loop.body.config.drag_c_n
    with pytest.raises(BodyError, match="unknown medium 'honey'; valid media: agar, viscous_1000mPas"):
        ClosedLoop(medium="honey")
