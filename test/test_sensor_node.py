"""sensor_node on real DDS: joint states -> /brain/stimulus currents in the configured neuron order."""
import numpy as np
import pytest
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from braingo_core.body import BodyState, SensoryInput, load_config
from braingo_ros.launch_description import stimulus_neurons
from braingo_ros.sensor_node import SensorNode
from ros_helpers import executor_for, spin_until

pytestmark = pytest.mark.ros
DOMAIN_ID = 67


class Probe(Node):
    def __init__(self, context):
        super().__init__("sensor_probe", context=context)
        self.stimuli = []
        self.create_subscription(Float64MultiArray, "/brain/stimulus",
                                 lambda m: self.stimuli.append(np.array(m.data)), 100)
        self.joints = self.create_publisher(JointState, "/joint_states", 10)
        self.contacts = self.create_publisher(Float64MultiArray, "/body/contact_forces", 10)


@pytest.fixture
def setup(context):
    sensor = SensorNode(context=context)
    probe = Probe(context)
    executor = executor_for(context, sensor, probe)
    assert spin_until(executor, lambda: probe.joints.get_subscription_count() > 0
                      and probe.contacts.get_subscription_count() > 0
                      and sensor.count_subscribers("/brain/stimulus") > 0)
    yield sensor, probe, executor
    executor.shutdown()
    sensor.destroy_node()
    probe.destroy_node()


def joint_state(names, positions):
    return JointState(name=list(names), position=[float(p) for p in positions])


def test_bending_becomes_currents_in_the_brain_order(setup):
    sensor, probe, executor = setup
    config = load_config()
    angles = np.linspace(-0.4, 0.4, config.n_joints)
    # Joints may arrive in any order: the node matches them by name.
    probe.joints.publish(joint_state(reversed(config.joints), angles[::-1]))
    assert spin_until(executor, lambda: len(probe.stimuli) == 1)
    expected = SensoryInput(config).currents(BodyState(angles))
    assert probe.stimuli[0].shape == (len(stimulus_neurons()),)
    assert np.allclose(probe.stimuli[0], expected)
    assert np.any(probe.stimuli[0] != 0), "bending drives the stretch-sensing motor neurons"

    probe.joints.publish(joint_state(config.joints, np.zeros(config.n_joints)))
    assert spin_until(executor, lambda: len(probe.stimuli) == 2)
    assert not np.allclose(probe.stimuli[1], probe.stimuli[0])


def test_malformed_joint_states_are_dropped(setup):
    sensor, probe, executor = setup
    config = load_config()
    bad = [joint_state(config.joints[:-1], np.zeros(config.n_joints - 1)),          # a joint missing
           joint_state(config.joints, [float("nan")] * config.n_joints),          # NaN
           JointState(name=list(config.joints), position=[0.0]),                  # length mismatch
           JointState()]                                                          # empty
    for msg in bad:
        probe.joints.publish(msg)
    spin_until(executor, lambda: False, timeout_s=0.5)
    assert probe.stimuli == []
    probe.joints.publish(joint_state(config.joints, np.full(config.n_joints, 0.1)))
    assert spin_until(executor, lambda: len(probe.stimuli) == 1), "the node keeps working after bad input"
    assert np.all(np.isfinite(probe.stimuli[0]))


def test_contacts_reach_the_touch_neurons_and_bad_ones_are_dropped(setup):
    sensor, probe, executor = setup
    config = load_config()
    order = stimulus_neurons()
    head = [0.5] + [0.0] * (config.segments - 1)
    probe.contacts.publish(Float64MultiArray(data=head))
    spin_until(executor, lambda: False, timeout_s=0.3)
    for bad in ([1.0] * 3, [float("nan")] * config.segments, [-1.0] * config.segments):   # dropped: head stays
        probe.contacts.publish(Float64MultiArray(data=bad))
    spin_until(executor, lambda: False, timeout_s=0.5)
    probe.joints.publish(joint_state(config.joints, np.zeros(config.n_joints)))
    assert spin_until(executor, lambda: len(probe.stimuli) == 1)
    current = dict(zip(order, probe.stimuli[0]))
    gain = config.sections["touch"]["gain_pA_per_N"]
    assert current["ALML"] == pytest.approx(0.5 * gain) and current["AVM"] == current["ALML"]
    assert current["PLML"] == 0.0                   # posterior field: nothing touched there
