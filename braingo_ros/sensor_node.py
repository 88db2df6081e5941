"""sensor_node: joint states (+ head position, contacts) -> /brain/stimulus (proprioception, chemosensation if
enabled, touch).

Publishes
    /brain/stimulus (std_msgs/Float64MultiArray): pA per neuron of ``launch_description.stimulus_neurons(body_config)``,
    one message per /joint_states message.
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

from braingo_core.body import load_config
from braingo_core.body.proprioception import ProprioceptionMap
from braingo_ros import params
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
        self.proprioception = ProprioceptionMap(self.body_config)
        self._joint_index = {name: k for k, name in enumerate(self.body_config.joints)}
        self._angles_rad = np.zeros(len(self._joint_index))
        self._head_xy_m = None
        self._contact_N = None
        self._pub = self.create_publisher(Float64MultiArray, "/brain/stimulus", 10)
        self.create_subscription(JointState, "/joint_states", self._on_joint_states, 10)
        self.create_subscription(Odometry, "/odom", self._on_odom, 10)
        self.create_subscription(Float64MultiArray, "/body/contact_forces", self._on_contacts, 10)

    def _on_joint_states(self, msg):
        names, positions = list(msg.name), np.asarray(msg.position, dtype=np.float64)
        if len(names) != len(positions) or not set(self._joint_index) <= set(names) or not np.all(np.isfinite(positions)):
            self.get_logger().warning(
                f"dropped /joint_states: {len(names)} names, {positions.size} positions "
                f"(finite: {bool(np.all(np.isfinite(positions)))}); need every joint of "
                f"{self.body_config.path} with a finite position", throttle_duration_sec=2.0)
            return
        for name, angle in zip(names, positions):
            k = self._joint_index.get(name)
            if k is not None:
                self._angles_rad[k] = angle
        current_pA = self.proprioception.currents(self._angles_rad, head_xy_m=self._head_xy_m,
                                                  contact_N=self._contact_N)
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
