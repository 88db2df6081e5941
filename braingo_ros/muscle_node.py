"""muscle_node: motor-neuron voltages -> 96 body-wall muscle activations -> joint efforts.

Publishes
    /muscles/activation (std_msgs/Float64MultiArray): 0..1 per muscle, order of config/caterpillar.yaml.
    /caterpillar_effort_controller/commands (std_msgs/Float64MultiArray): joint efforts (N m), joint order,
    finite and within the URDF effort limits; all zero while the motor voltages are stale (watchdog).
Subscribes
    /brain/motor_voltages (std_msgs/Float64MultiArray): soma mV in the order of ``motor_neurons``;
    wrong length or non-finite values are logged and dropped.
Parameters (see ``PARAMS``)
    map, cnn_weights, body_config, database, motor_neurons, watchdog_ms.

One effort command is published per motor-voltage message (lock-step friendly), plus one zero-effort command
``watchdog_ms`` (node clock) after the last voltages when no newer ones arrived: a one-shot timer restarted by
every message, so the joints relax at the parameter's bound, not up to a timer period later.
"""
import math
import sys

import numpy as np
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray

from braingo_core.body import load_config, render_urdf, urdf_joints
from braingo_core.body.control_step import database_path
from braingo_core.body.muscles import MAPS, muscle_map, muscles_to_efforts
from braingo_core.storage import BrainDB
from braingo_ros import params, topics
from braingo_ros.params import Spec
from braingo_ros.spinning import run_node

#: Accepted ``watchdog_ms`` values (ms).
WATCHDOG_RANGE_ms = (1.0, 60000.0)
PARAMS = {
    "map": Spec("sigmoid", f"muscle map: {' or '.join(MAPS)} (braingo_core.body.muscles.muscle_map)", read_only=True),
    "cnn_weights": Spec("", ".npz of the cnn map (shapes checked)", read_only=True),
    "body_config": Spec("", "caterpillar.yaml path; empty = the package's", read_only=True),
    "database": Spec("", ".braindb with the neuron->muscle table, the brain's (launch argument database); "
                     "empty = the bundled worm", read_only=True),
    "motor_neurons": Spec([], "order of /brain/motor_voltages; empty = the database's motor_neurons "
                              "(cnn: the .npz neurons)", read_only=True),
    "watchdog_ms": Spec(100.0, f"motor voltages older than this relax every joint (ms, node clock, "
                               f"{WATCHDOG_RANGE_ms[0]:g}..{WATCHDOG_RANGE_ms[1]:g})"),
}


def _check_watchdog(value):
    low, high = WATCHDOG_RANGE_ms
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not math.isfinite(value) or not (
            low <= value <= high):
        raise ValueError(f"watchdog_ms must be a finite number in [{low:g}, {high:g}] ms, got {value!r}")
    return float(value)


class MuscleNode(Node):
    """Muscle map node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("muscle_node", **kwargs)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        self.body_config = load_config(p["body_config"] or None)
        joints = urdf_joints(render_urdf(self.body_config.segments, "hardware"))
        self._limit_Nm = np.array([j.effort_Nm for j in joints])
        metadata = BrainDB(database_path(p["database"])).metadata if p["map"] == "sigmoid" else None
        self.muscle_map = muscle_map(p["map"], self.body_config, metadata=metadata,
                                     motor_neurons=p["motor_neurons"], cnn_weights=p["cnn_weights"])
        self._n_motor = len(self.muscle_map.neurons)
        self._last_voltage_time = None
        self.relaxed = True
        self.relaxed_after_ms = None
        self.dropped_messages = 0
        self._watchdog = None
        self._set_watchdog(_check_watchdog(p["watchdog_ms"]))
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(self._on_set)

        self._activation_pub = self.create_publisher(Float64MultiArray, topics.MUSCLE_ACTIVATION, 10)
        self._effort_pub = self.create_publisher(Float64MultiArray, topics.EFFORT_COMMANDS, 10)
        self.create_subscription(Float64MultiArray, topics.MOTOR_VOLTAGES, self._on_voltages, 10)
        self.get_logger().info(f"{p['map']} map: {self._n_motor} motor neurons -> "
                               f"{len(self.body_config.muscle_names)} muscles -> {len(joints)} joints")

    def _set_watchdog(self, watchdog_ms):
        """(Re)create the one-shot watchdog timer with period ``watchdog_ms``; armed by each message."""
        if self._watchdog is not None:
            self.destroy_timer(self._watchdog)
        self._watchdog_ns = int(watchdog_ms * 1e6)
        self._watchdog = self.create_timer(watchdog_ms * 1e-3, self._on_watchdog)
        if self.relaxed:
            self._watchdog.cancel()

    def _validate(self, changed):
        return params.check_each(changed, {"watchdog_ms": _check_watchdog})

    def _on_set(self, changed):
        for param in changed:
            if param.name == "watchdog_ms":
                self._set_watchdog(float(param.value))

    def _on_voltages(self, msg):
        v_mV = np.asarray(msg.data, dtype=np.float64)
        if v_mV.shape != (self._n_motor,) or not np.all(np.isfinite(v_mV)):
            self.dropped_messages += 1
            self.get_logger().warning(
                f"dropped /brain/motor_voltages: {v_mV.size} values (finite: {bool(np.all(np.isfinite(v_mV)))}), "
                f"expected {self._n_motor} finite voltages", throttle_duration_sec=2.0)
            return
        try:
            activation = self.muscle_map.activations(v_mV)
            effort = muscles_to_efforts(activation, self.body_config)
        except ValueError as exc:
            self.dropped_messages += 1
            self.get_logger().error(f"muscle map failed: {exc}", throttle_duration_sec=2.0)
            return
        self._last_voltage_time = self.get_clock().now()
        self.relaxed = False
        self._watchdog.reset()          # fires watchdog_ms after this message unless another one arrives
        self._publish(activation, effort)

    def _publish(self, activation, effort_Nm):
        effort_Nm = np.clip(np.nan_to_num(effort_Nm, nan=0.0, posinf=0.0, neginf=0.0), -self._limit_Nm, self._limit_Nm)
        self._effort_pub.publish(Float64MultiArray(data=effort_Nm.tolist()))  # first: the body waits for it
        self._activation_pub.publish(Float64MultiArray(data=np.clip(activation, 0.0, 1.0).tolist()))

    def _on_watchdog(self):
        # One zero command on the transition to stale voltages: the effort controller holds it. Before the
        # first voltages nothing is sent, so start-up timing cannot add commands to a lock-step loop.
        self._watchdog.cancel()
        if self.relaxed or self._last_voltage_time is None:
            return
        self.relaxed_after_ms = (self.get_clock().now() - self._last_voltage_time).nanoseconds * 1e-6
        self.get_logger().warning(f"motor voltages older than {self._watchdog_ns / 1e6:.0f} ms: relaxing all joints")
        self.relaxed = True
        self._publish(np.zeros(len(self.body_config.muscle_names)), np.zeros(len(self._limit_Nm)))


def main(args=None):
    return run_node(MuscleNode, args)


if __name__ == "__main__":
    sys.exit(main())
