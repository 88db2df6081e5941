"""body_sim_node on real DDS: free-running and lock-step stepping, state topics, malformed commands."""
import json

import numpy as np
import pytest
from nav_msgs.msg import Odometry
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from braingo_core.body import load_config
from braingo_ros import params
from braingo_ros.body_sim_node import BodySimNode
from braingo_ros.topics import EFFORT_COMMANDS as COMMAND_TOPIC
from ros_helpers import executor_for, spin_until

pytestmark = pytest.mark.ros
DOMAIN_ID = 64


class Loop(Node):
    """Stands in for sensor, brain and muscle on the loop topics; records what the body publishes."""

    def __init__(self, context):
        super().__init__("loop_probe", context=context)
        self.joint_states, self.odom, self.clock, self.contacts = [], [], [], []
        self.create_subscription(Float64MultiArray, "/body/contact_forces", self.contacts.append, 50)
        self.create_subscription(JointState, "/joint_states", self.joint_states.append, 50)
        self.create_subscription(Odometry, "/odom", self.odom.append, 50)
        self.create_subscription(Clock, "/clock", self.clock.append, 50)
        self.command = self.create_publisher(Float64MultiArray, COMMAND_TOPIC, 10)
        for topic in ("/brain/stimulus", "/brain/motor_voltages"):
            self.create_publisher(Float64MultiArray, topic, 10)
            self.create_subscription(Float64MultiArray, topic, lambda _m: None, 10)


def make_body(context, **parameters):
    return BodySimNode(context=context, parameter_overrides=params.overrides(parameters))


def test_free_running_publishes_state_and_stops_at_duration(context, tmp_path):
    stats_path = tmp_path / "stats.json"
    body = make_body(context, duration_s=0.2, stats_path=str(stats_path))
    loop = Loop(context)
    executor = executor_for(context, body, loop)
    joints = list(load_config().joints)
    loop.command.publish(Float64MultiArray(data=[0.3] * len(joints)))
    assert spin_until(executor, lambda: body.finished
                      and min(map(len, (loop.joint_states, loop.odom, loop.clock))) >= 21)
    assert body.periods == 20 and body.dropped_periods == 0
    last = loop.joint_states[-1]
    assert list(last.name) == joints
    assert last.header.stamp.sec == 0 and last.header.stamp.nanosec == 200_000_000
    assert np.all(np.array(last.position) > 0.01)          # positive effort bends towards dorsal
    assert np.allclose(last.effort, 0.3)
    assert loop.odom[-1].child_frame_id == "segment_00" and loop.odom[-1].header.frame_id == "odom"
    assert loop.clock[-1].clock.nanosec == 200_000_000
    assert spin_until(executor, lambda: len(loop.contacts) >= 21)
    assert loop.contacts[-1].data.tolist() == [0.0] * 12     # one per segment; nothing to touch here
    stats = json.loads(stats_path.read_text())
    assert stats["periods"] == 20 and stats["body_length_m"] == pytest.approx(0.6)
    executor.shutdown()
    body.destroy_node()
    loop.destroy_node()


def test_lock_step_advances_once_per_command_and_drops_malformed(context):
    body = make_body(context, lock_step=True, command_timeout_s=30.0)
    loop = Loop(context)
    executor = executor_for(context, body, loop)
    n = body.body.n_joints
    assert spin_until(executor, lambda: body.started and len(loop.joint_states) == 1)
    for k in range(3):
        loop.command.publish(Float64MultiArray(data=[0.2] * n))
        assert spin_until(executor, lambda: len(loop.joint_states) == k + 2)
    bad = [[], [0.1] * (n - 1), [float("nan")] * n, [float("inf")] + [0.0] * (n - 1)]
    for data in bad:
        loop.command.publish(Float64MultiArray(data=data))
    spin_until(executor, lambda: False, timeout_s=0.3)
    assert body.periods == 3 and body.commands == 3 and len(loop.joint_states) == 4
    assert len(body.latency_ms) == 3 and body.dropped_periods == 0
    executor.shutdown()
    body.destroy_node()
    loop.destroy_node()


def test_lock_step_timeout_counts_a_dropped_period_and_absorbs_the_late_command(context):
    body = make_body(context, lock_step=True, command_timeout_s=0.05, first_command_timeout_s=0.05)
    loop = Loop(context)
    executor = executor_for(context, body, loop)
    assert spin_until(executor, lambda: body.dropped_periods >= 1)
    assert body.periods >= 1 and body.commands == 0
    executor.shutdown()
    body.destroy_node()
    loop.destroy_node()


def test_parameter_validation(context):
    body = make_body(context, lock_step=True)
    result = body.set_parameters([params.overrides({"command_timeout_s": -1.0})[0]])[0]
    assert not result.successful and "command_timeout_s must be > 0" in result.reason
    result = body.set_parameters([params.overrides({"lock_step": False})[0]])[0]
    assert not result.successful and "read-only" in result.reason
    body.destroy_node()
