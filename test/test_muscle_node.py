"""muscle_node on real DDS with the bundled worm's neuron->muscle table: efforts, limits, bad input, watchdog."""
import numpy as np
import pytest
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray

from braingo_ros import params
from braingo_ros.muscle_node import COMMAND_TOPIC, MuscleNode
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
    result = muscle.set_parameters(params.overrides({"watchdog_ms": 0.0}))[0]
    assert not result.successful and "watchdog_ms must be > 0" in result.reason
