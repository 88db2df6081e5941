"""muscle_node on real DDS with the bundled worm's neuron->muscle table: efforts, limits, bad input, watchdog."""
import numpy as np
import pytest
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray

from braingo_ros import params
from braingo_ros.muscle_node import MuscleNode
from braingo_ros.topics import EFFORT_COMMANDS as COMMAND_TOPIC
from ros_helpers import executor_for, spin_until

pytestmark = pytest.mark.ros
DOMAIN_ID = 62


class Probe(Node):
    def __init__(self, context):
        super().__init__("muscle_probe", context=context)
        self.efforts, self.activations = [], []
        self.create_subscription(Float64MultiArray, COMMAND_TOPIC, lambda m: self.efforts.append(np.array(m.data)), 100)
        self.create_subscription(Float64MultiArray, "/muscles/activation",
                                 lambda m: self.activations.append(np.array(m.data)), 100)
        self.voltages = self.create_publisher(Float64MultiArray, "/brain/motor_voltages", 10)


@pytest.fixture
def setup(context):
    muscle = MuscleNode(context=context, parameter_overrides=params.overrides({"watchdog_ms": 100.0}))
    probe = Probe(context)
    executor = executor_for(context, muscle, probe)
    assert spin_until(executor, lambda: probe.voltages.get_subscription_count() > 0)
    yield muscle, probe, executor
    executor.shutdown()
    muscle.destroy_node()
    probe.destroy_node()


def dorsal_voltages(muscle, high_mV=0.0, low_mV=-70.0):
    """Dorsal-side motor neurons (D*, SMDD*, RMDD*) depolarised, the rest hyperpolarised."""
    names = muscle.muscle_map.neurons
    return [high_mV if n.startswith(("DA", "DB", "AS", "SMDD", "RMDD")) else low_mV for n in names]


def test_voltages_to_bounded_efforts(setup):
    muscle, probe, executor = setup
    n_joints = len(muscle.body_config.joints)
    probe.voltages.publish(Float64MultiArray(data=dorsal_voltages(muscle)))
    assert spin_until(executor, lambda: any(np.any(e != 0) for e in probe.efforts)
                      and any(np.any(a != 0) for a in probe.activations))
    effort = next(e for e in probe.efforts if np.any(e != 0))
    activation = next(a for a in probe.activations if np.any(a != 0))
    assert effort.shape == (n_joints,) and activation.shape == (96,)
    assert np.all((activation >= 0) & (activation <= 1))
    assert np.all(np.isfinite(effort)) and np.all(np.abs(effort) <= muscle.body_config.effort_limit_Nm)
    assert effort.mean() > 0                      # dorsal muscles dominate -> bend towards dorsal


def test_malformed_voltages_are_dropped(setup):
    muscle, probe, executor = setup
    n = len(muscle.muscle_map.neurons)
    probe.voltages.publish(Float64MultiArray(data=dorsal_voltages(muscle)))
    assert spin_until(executor, lambda: not muscle.relaxed)
    for data in ([], [-60.0] * (n - 1), [float("nan")] * n):
        probe.voltages.publish(Float64MultiArray(data=data))
    assert spin_until(executor, lambda: muscle.dropped_messages == 3)
    assert all(np.all(np.isfinite(e)) for e in probe.efforts)


def test_watchdog_relaxes_joints_when_voltages_stop(setup):
    muscle, probe, executor = setup
    probe.voltages.publish(Float64MultiArray(data=dorsal_voltages(muscle)))
    assert spin_until(executor, lambda: not muscle.relaxed and any(np.any(e != 0) for e in probe.efforts))
    assert spin_until(executor, lambda: muscle.relaxed and np.all(probe.efforts[-1] == 0)
                      and np.all(probe.activations[-1] == 0), timeout_s=5.0)


def test_watchdog_parameter_is_validated(setup):
    muscle, _probe, _executor = setup
    for bad in (0.0, float("inf"), float("nan"), -5.0, 1e9):
        result = muscle.set_parameters(params.overrides({"watchdog_ms": bad}))[0]
        assert not result.successful and "watchdog_ms must be a finite number in [1, 60000]" in result.reason
    assert muscle.set_parameters(params.overrides({"watchdog_ms": 50.0}))[0].successful
    assert muscle._watchdog_ns == 50_000_000


def db_with_muscles(path, motor, weights):
    """A tiny LIF .braindb whose metadata carries its own motor neurons and neuron->muscle table."""
    from braingo_core.storage import BrainDBBuilder
    b = BrainDBBuilder(dt_ms=0.1)
    lif = b.add_neuron_type("lif", model="lif", params={"v_th_mV": -50.0})
    b.add_receptor("exc", kind="conductance", e_rev_mV=0.0, tau_decay_ms=5.0)
    b.add_neurons(len(motor) + 1, neuron_type=lif, names=["CMD", *motor])
    b.metadata["motor_neurons"] = list(motor)
    b.metadata["neuron_muscle"] = {"neurons": list(motor), "weights": weights.tolist()}
    return b.write(path)


def test_muscle_node_follows_the_brains_database(context, tmp_path):
    """With database:=X (launch argument / bringup --database) the muscle node maps X's motor neurons."""
    from braingo_ros import launch_description as ld
    motor = ["MN1", "MN2", "MN3"]
    weights = np.zeros((3, 96))
    weights[0, :24] = 1.0
    path = db_with_muscles(str(tmp_path / "other.braindb"), motor, weights)
    parameters = {s.name: s.parameters for s in ld.nodes("robot", shared={"database": str(path)})}
    assert parameters["brain_node"]["database"] == parameters["muscle_node"]["database"] == str(path)
    muscle = MuscleNode(context=context, parameter_overrides=params.overrides(parameters["muscle_node"]))
    try:
        assert muscle.muscle_map.neurons == tuple(motor)
    finally:
        muscle.destroy_node()


def test_watchdog_relaxes_at_the_parameters_bound(context):
    """On sim time the relaxation lands exactly watchdog_ms after the last voltages: not at 99 ms, at 100 ms."""
    from builtin_interfaces.msg import Time
    from rosgraph_msgs.msg import Clock
    muscle = MuscleNode(context=context, parameter_overrides=params.overrides(
        {"watchdog_ms": 100.0, "use_sim_time": True}))
    probe = Probe(context)
    clock = probe.create_publisher(Clock, "/clock", 10)
    executor = executor_for(context, muscle, probe)

    def at(ns):
        clock.publish(Clock(clock=Time(sec=ns // 10**9, nanosec=ns % 10**9)))
        assert spin_until(executor, lambda: muscle.get_clock().now().nanoseconds == ns)

    try:
        assert spin_until(executor, lambda: probe.voltages.get_subscription_count() > 0
                          and clock.get_subscription_count() > 0)
        at(1_000_000_000)
        probe.voltages.publish(Float64MultiArray(data=dorsal_voltages(muscle)))
        assert spin_until(executor, lambda: not muscle.relaxed)
        at(1_099_000_000)
        spin_until(executor, lambda: muscle.relaxed, timeout_s=0.5)
        assert not muscle.relaxed
        at(1_100_000_000)
        assert spin_until(executor, lambda: muscle.relaxed, timeout_s=5.0)
        assert muscle.relaxed_after_ms == pytest.approx(100.0)
    finally:
        executor.shutdown()
        muscle.destroy_node()
        probe.destroy_node()
