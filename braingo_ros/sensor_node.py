"""sensor_node: joint states (+ head position, contacts) -> /brain/stimulus (proprioception, chemosensation if
enabled, touch).

Publishes
    /brain/stimulus (std_msgs/Float64MultiArray): pA per neuron of ``SensoryInput(body_config).neurons``
    (braingo_core.body.senses: proprioception, chemosensation if enabled, touch), one message per /joint_states.
Subscribes
    /joint_states (sensor_msgs/JointState): joint angles, matched to the config's joint order by name;
    missing joints or non-finite positions are logged and the message dropped.
    /odom (nav_msgs/Odometry): head position for the concentration field (config ``chemosensation``).
    /body/contact_forces (std_msgs/Float64MultiArray): N per segment, head first, for the touch neurons
    (config ``touch``); a wrong length or a negative or non-finite value is logged and the message dropped.
    Latest head position and contacts are used with each /joint_states message.
Parameters (see ``PARAMS``)
    body_config.
"""
import numpy as np
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from braingo_core.body import BodyState, SensoryInput, load_config
from braingo_ros import params, topics
from braingo_ros.params import Spec
from braingo_ros.spinning import run_node

PARAMS = {
    "body_config": Spec("", "caterpillar.yaml path; empty = the package's", read_only=True),
}


class SensorNode(Node):
    """Sensory map node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("sensor_node", **kwargs)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        self.body_config = load_config(p["body_config"] or None)
        self.senses = SensoryInput(self.body_config)
        self._joint_index = {name: k for k, name in enumerate(self.body_config.joints)}
        self._angles_rad = np.zeros(len(self._joint_index))
        self._head_xy_m = None
        self._contact_N = None
        self._pub = self.create_publisher(Float64MultiArray, topics.STIMULUS, 10)
        self.create_subscription(JointState, topics.JOINT_STATES, self._on_joint_states, 10)
        self.create_subscription(Odometry, topics.ODOM, self._on_odom, 10)
        self.create_subscription(Float64MultiArray, topics.CONTACT_FORCES, self._on_contacts, 10)

    def _on_joint_states(self, msg):
        names, positions = list(msg.name), np.asarray(msg.position, dtype=np.float64)
        if (len(names) != len(positions) or not set(self._joint_index) <= set(names)
                or not np.all(np.isfinite(positions))):
            self.get_logger().warning(
                f"dropped /joint_states: {len(names)} names, {positions.size} positions "
                f"(finite: {bool(np.all(np.isfinite(positions)))}); need every joint of "
                f"{self.body_config.path} with a finite position", throttle_duration_sec=2.0)
            return
        for name, angle in zip(names, positions):
            k = self._joint_index.get(name)
            if k is not None:
                self._angles_rad[k] = angle
        stamp = msg.header.stamp
        state = BodyState(self._angles_rad, self._head_xy_m, self._contact_N, stamp.sec + 1e-9 * stamp.nanosec)
        current_pA = self.senses.currents(state)
        self._pub.publish(Float64MultiArray(data=current_pA.tolist()))

    def _on_contacts(self, msg):
        force = np.asarray(msg.data, dtype=np.float64)
        if force.shape != (self.body_config.segments,) or not np.all(np.isfinite(force)) or np.any(force < 0):
            self.get_logger().warning(
                f"dropped /body/contact_forces: {force.size} values, expected {self.body_config.segments} "
                f"finite forces >= 0 (one per segment)", throttle_duration_sec=2.0)
            return
        self._contact_N = force

    def _on_odom(self, msg):
        position = msg.pose.pose.position
        self._head_xy_m = np.array([position.x, position.y])


def main(args=None):
    run_node(SensorNode, args)


if __name__ == "__main__":
    main()
