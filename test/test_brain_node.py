"""brain_node on real DDS with the 20-neuron test database: stepping, topics, parameters, services, snapshots."""
import os

import numpy as np
import pytest
from rcl_interfaces.srv import SetParameters
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray
from std_srvs.srv import SetBool, Trigger
from visualization_msgs.msg import MarkerArray

from braingo_ros import params
from braingo_ros.brain_node import BrainNode
from braingo_ros.snapshots import list_snapshots
from ros_helpers import executor_for, spin_until

pytestmark = pytest.mark.ros
DOMAIN_ID = 61
MOTOR, STIMULUS = ["N15", "N16", "N17"], ["N00", "N01"]


class Probe(Node):
    def __init__(self, context):
        super().__init__("brain_probe", context=context)
        self.motor, self.voltages, self.markers = [], [], []
        self.create_subscription(Float64MultiArray, "/brain/motor_voltages", self.motor.append, 100)
        self.create_subscription(Float64MultiArray, "/brain/voltages", self.voltages.append, 100)
        self.create_subscription(MarkerArray, "/brain/activity_markers", self.markers.append, 100)
        self.stimulus = self.create_publisher(Float64MultiArray, "/brain/stimulus", 10)

    def call(self, executor, srv_type, name, request):
        client = self.create_client(srv_type, name)
        assert spin_until(executor, client.service_is_ready)
        future = client.call_async(request)
        assert spin_until(executor, future.done)
        return future.result()


@pytest.fixture
def loop(context, small_db_path, tmp_path):
    """A lock-step brain node on the test database, a probe node and their executor."""
    created = []

    def make(**extra):
        parameters = {"database": str(small_db_path), "model": "", "step_on_stimulus": True,
                      "motor_neurons": MOTOR, "stimulus_neurons": STIMULUS, "publish_rate_hz": 50.0,
                      "snapshot_root": str(tmp_path), "snapshot_path": str(tmp_path / "manual.braindb.snapshot"),
                      "snapshot_dir": str(tmp_path / "rolling"), **extra}
        brain = BrainNode(context=context, parameter_overrides=params.overrides(parameters))
        probe = Probe(context)
        executor = executor_for(context, brain, probe)
        created.append((executor, brain, probe))
        assert spin_until(executor, lambda: probe.stimulus.get_subscription_count() > 0)
        return brain, probe, executor

    yield make
    for executor, brain, probe in created:
        executor.shutdown()
        brain.destroy_node()
        probe.destroy_node()


def drive(probe, executor, n, current_pA=(200.0, 200.0)):
    start = len(probe.motor)
    for _ in range(n):
        probe.stimulus.publish(Float64MultiArray(data=list(current_pA)))
    assert spin_until(executor, lambda: len(probe.motor) >= start + n)


def test_one_period_per_stimulus_and_publish_rates(loop):
    brain, probe, executor = loop()
    drive(probe, executor, 4)
    assert brain.periods == 4 and brain.sim.tick == 4 * 100
    assert all(len(m.data) == len(MOTOR) for m in probe.motor)
    assert spin_until(executor, lambda: len(probe.voltages) == 2 and len(probe.markers) == 2)  # every 2nd period
    assert len(probe.voltages[0].data) == brain.sim.n_neurons
    marker = probe.markers[-1].markers[0]
    assert len(marker.points) == len(marker.colors) == brain.sim.n_neurons
    assert np.allclose(probe.motor[-1].data, brain.sim.voltages_mV()[[15, 16, 17]])


def test_malformed_stimulus_is_dropped(loop):
    brain, probe, executor = loop()
    for data in ([], [1.0], [1.0, float("nan")], [1.0, 2.0, 3.0]):
        probe.stimulus.publish(Float64MultiArray(data=data))
    assert spin_until(executor, lambda: len(probe.motor) == 4)
    assert brain._stimulus_pA is None          # nothing malformed was taken as input
    assert np.all(np.isfinite(probe.motor[-1].data))


def test_stimulus_reaches_the_neurons(loop):
    quiet, quiet_probe, executor = loop()
    drive(quiet_probe, executor, 5, current_pA=(0.0, 0.0))
    v_quiet = quiet.sim.voltages_mV()[:2]
    driven, probe, executor = loop()
    drive(probe, executor, 5, current_pA=(300.0, 300.0))
    assert np.all(driven.sim.voltages_mV()[:2] != v_quiet)


def test_command_gate_scales_the_stimulus(loop):
    quiet, quiet_probe, executor = loop()
    drive(quiet_probe, executor, 5, current_pA=(0.0, 0.0))
    v_quiet = quiet.sim.voltages_mV()
    gated = {"stimulus_gates": ["N05+N06", ""], "stimulus_gate_slope_mV": 1.0}
    shut, probe, executor = loop(**gated, stimulus_gate_v_half_mV=100.0)   # N05/N06 far below: gate shut
    drive(probe, executor, 5, current_pA=(300.0, 0.0))
    np.testing.assert_array_equal(shut.sim.voltages_mV(), v_quiet)
    open_, probe, executor = loop(**gated, stimulus_gate_v_half_mV=-200.0)
    drive(probe, executor, 5, current_pA=(300.0, 0.0))
    assert open_.sim.voltages_mV()[0] > v_quiet[0] + 1.0
    set_one = lambda name, value: open_.set_parameters([params.overrides({name: value})[0]])[0]  # noqa: E731
    result = set_one("stimulus_gates", ["N05"])
    assert not result.successful and "1 entries for 2 stimulus_neurons" in result.reason
    assert "N99" in set_one("stimulus_gates", ["N99", ""]).reason
    assert set_one("stimulus_gates", ["", "N05"]).successful and open_.control.gate.spec[0] == ((), ("N05",))


def test_unknown_neurons_are_rejected_with_a_reason(loop):
    brain, probe, executor = loop()
    set_one = lambda name, value: brain.set_parameters([params.overrides({name: value})[0]])[0]  # noqa: E731
    result = set_one("tonic_stimulus", ["N00:30", "AVBX:30"])
    assert not result.successful and "unknown neuron 'AVBX'" in result.reason
    assert params.values(brain, {"tonic_stimulus": params.Spec([], "")})["tonic_stimulus"] == []
    assert not set_one("lesion", ["NOPE"]).successful
    assert not set_one("motor_neurons", ["N15", "N15"]).successful
    assert not set_one("publish_rate_hz", 0.0).successful
    assert set_one("tonic_stimulus", ["N03:25"]).successful
    assert brain.control._tonic_ids.tolist() == [3] and brain.control._tonic_pA.tolist() == [25.0]
    # the same through the parameter service, as `ros2 param set` does
    request = SetParameters.Request(parameters=[p.to_parameter_msg() for p in params.overrides({"lesion": ["AVBX"]})])
    response = probe.call(executor, SetParameters, "/brain_node/set_parameters", request)
    assert not response.results[0].successful and "unknown neuron 'AVBX'" in response.results[0].reason
    request = SetParameters.Request(parameters=[p.to_parameter_msg() for p in params.overrides({"lesion": ["N04"]})])
    assert probe.call(executor, SetParameters, "/brain_node/set_parameters", request).results[0].successful
    assert brain.control.lesioned.tolist() == [4]


def test_services_pause_reset_snapshot(loop, tmp_path):
    brain, probe, executor = loop()
    drive(probe, executor, 3)
    assert probe.call(executor, SetBool, "/brain/pause", SetBool.Request(data=True)).success
    drive(probe, executor, 2)
    assert brain.sim.tick == 300                      # paused: no integration, voltages still published
    assert probe.call(executor, SetBool, "/brain/pause", SetBool.Request(data=False)).message == "running"
    response = probe.call(executor, Trigger, "/brain/save_snapshot", Trigger.Request())
    assert response.success and os.path.isfile(tmp_path / "manual.braindb.snapshot")
    response = probe.call(executor, Trigger, "/brain/reset", Trigger.Request())
    assert response.success and brain.sim.tick == 0


def test_rolling_snapshots_and_resume(loop, tmp_path):
    brain, probe, executor = loop(snapshot_period_s=0.02, snapshot_keep=2)
    drive(probe, executor, 7)
    files = list_snapshots(str(tmp_path / "rolling"))
    assert [os.path.basename(f) for f in files] == ["brain_000000000000400.braindb.snapshot",
                                                    "brain_000000000000600.braindb.snapshot"]
    resumed, _probe, _executor = loop(resume_from=str(tmp_path / "rolling"))
    assert resumed.sim.tick == 600
    assert resumed.sim.voltages_mV()[[15, 16, 17]].tolist() == list(probe.motor[5].data)  # state after 6 periods


def test_period_comes_from_the_body_config(loop, tmp_path):
    """The brain steps the body config's physics.control_period_s: the one period the body uses too."""
    import yaml
    from braingo_core.share import share_file
    doc = yaml.safe_load(share_file("config/caterpillar.yaml").read_text())
    doc["physics"]["control_period_s"] = 0.02
    body = tmp_path / "slow_body.yaml"
    body.write_text(yaml.safe_dump(doc))
    brain, probe, executor = loop(body_config=str(body))
    drive(probe, executor, 2)
    assert brain.sim.tick == 2 * 200


def test_unknown_model_is_refused_with_the_valid_names(context, small_db_path):
    from rclpy.exceptions import InvalidParameterValueException
    with pytest.raises(InvalidParameterValueException) as err:
        BrainNode(context=context, parameter_overrides=params.overrides(
            {"database": str(small_db_path), "model": "hodgkin"}))
    assert "'hodgkin'" in str(err.value) and "graded" in str(err.value) and "celegans" in str(err.value)


def test_out_of_range_parameters_are_refused_and_the_node_runs_on(loop, tmp_path):
    """Values a node accepted and then died on (issue: hardening) are refused with a reason."""
    brain, probe, executor = loop()
    set_one = lambda name, value: brain.set_parameters([params.overrides({name: value})[0]])[0]  # noqa: E731
    (tmp_path / "plain_file").write_text("not a folder")
    refused = [("snapshot_period_s", float("nan")), ("snapshot_period_s", float("inf")), ("snapshot_period_s", -1.0),
               ("publish_rate_hz", 5e-324), ("publish_rate_hz", 1e-310), ("publish_rate_hz", float("inf")),
               ("stimulus_timeout_s", float("nan")), ("snapshot_keep", 0),
               ("tonic_stimulus", ["N00:1e308", "N00:1e308"]), ("tonic_stimulus", ["N00:inf"]),
               ("snapshot_dir", str(tmp_path / "plain_file")), ("snapshot_dir", "/no/such/parent/anywhere"),
               ("snapshot_dir", "../outside"), ("snapshot_path", "../../etc/victim"),
               ("snapshot_path", str(tmp_path))]
    for name, value in refused:
        result = set_one(name, value)
        assert not result.successful and name in result.reason, (name, value, result.reason)
    # a huge but accepted drive plus a huge stimulus: the input is clipped, never inf
    assert not set_one("tonic_stimulus", ["N00:6e5", "N00:6e5"]).successful     # the sum counts
    assert set_one("tonic_stimulus", ["N00:1e6"]).successful
    drive(probe, executor, 2, current_pA=(1e308, 1e308))
    assert np.all(np.isfinite(probe.motor[-1].data)) and brain.callback_errors == 0


def test_failing_rolling_snapshot_is_logged_and_survived(loop, tmp_path):
    (tmp_path / "blocker").write_text("a file where the folder's parent should be")
    brain, probe, executor = loop(snapshot_period_s=0.01, snapshot_dir=str(tmp_path / "blocker" / "rolling"))
    drive(probe, executor, 5)
    assert brain.periods == 5 and brain.sim.tick == 500        # every period ran although every save failed


def test_snapshots_stay_in_their_root_and_touch_only_their_files(loop, tmp_path):
    victim = tmp_path / "victim.txt"
    victim.write_text("precious")
    brain, probe, executor = loop(snapshot_path=str(victim), snapshot_period_s=0.01, snapshot_keep=1)
    planted = tmp_path / "rolling" / "brain_000000000000000.braindb.snapshot"
    planted.parent.mkdir(exist_ok=True)
    planted.write_text("someone else's file with a snapshot's name")
    response = probe.call(executor, Trigger, "/brain/save_snapshot", Trigger.Request())
    assert not response.success and "not a snapshot of this database" in response.message
    assert victim.read_text() == "precious"
    drive(probe, executor, 4)
    names = sorted(os.path.basename(f) for f in list_snapshots(str(tmp_path / "rolling")))
    assert names == [planted.name, "brain_000000000000400.braindb.snapshot"]   # keep 1 of its own; planted stays
    assert planted.read_text().startswith("someone else's")
    outside = tmp_path.parent / f"{tmp_path.name}_outside"
    outside.mkdir()
    (tmp_path / "link").symlink_to(outside)
    result = brain.set_parameters(params.overrides({"snapshot_dir": str(tmp_path / "link")}))[0]
    assert not result.successful and "outside snapshot_root" in result.reason
    own = tmp_path / "own.braindb.snapshot"                  # a snapshot of this brain may be replaced
    assert brain.set_parameters(params.overrides({"snapshot_path": str(own)}))[0].successful
    assert probe.call(executor, Trigger, "/brain/save_snapshot", Trigger.Request()).success
    assert probe.call(executor, Trigger, "/brain/save_snapshot", Trigger.Request()).success


def test_service_bursts_all_get_an_answer(loop, context):
    """40 callers at once on /brain/reset and /brain/save_snapshot: every request gets its response. (The
    server's request queue held 10: the rest were dropped. Each caller's own response queue is its choice: all
    responses of a service reach every client's reader here, so the callers keep 100.)"""
    from rclpy.qos import QoSProfile
    brain, probe, executor = loop()
    callers = [Node(f"burst_{k}", context=context) for k in range(40)]
    try:
        clients = [c.create_client(Trigger, "/brain/reset" if k % 2 else "/brain/save_snapshot",
                                   qos_profile=QoSProfile(depth=100)) for k, c in enumerate(callers)]
        for c in callers:
            executor.add_node(c)
        assert spin_until(executor, lambda: all(cl.service_is_ready() for cl in clients))
        futures = [cl.call_async(Trigger.Request()) for cl in clients]
        assert spin_until(executor, lambda: all(f.done() for f in futures), timeout_s=60.0)
        assert all(f.result().success for f in futures)
    finally:
        for c in callers:
            executor.remove_node(c)
            c.destroy_node()


def test_numeric_parameters_property():
    """Any float is either refused with a ValueError or gives finite, bounded periods (never an overflow)."""
    from hypothesis import given, settings, strategies as st
    from braingo_ros.brain_node import MAX_SNAPSHOT_PERIOD_s, PUBLISH_RATE_RANGE_Hz, _check_numbers

    base = {"publish_rate_hz": 10.0, "stimulus_timeout_s": 0.5, "snapshot_period_s": 0.0, "snapshot_keep": 3,
            "marker_scale_m_per_um": 0.001}

    numbers = st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.integers(-10**30, 10**30))

    @settings(max_examples=300, deadline=None)
    @given(st.sampled_from(sorted(base)), numbers)
    def check(name, value):
        p = {**base, name: value}
        try:
            _check_numbers(p)
        except ValueError as exc:
            assert name in str(exc)
            return
        every = max(1, int(round(1.0 / (p["publish_rate_hz"] * 0.01))))
        assert PUBLISH_RATE_RANGE_Hz[0] <= p["publish_rate_hz"] and every >= 1
        assert 0.0 <= p["snapshot_period_s"] <= MAX_SNAPSHOT_PERIOD_s

    check()
