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

One effort command is published per motor-voltage message (lock-step friendly), plus zero-effort
commands from the watchdog timer while no voltages newer than ``watchdog_ms`` (node clock) arrived.
"""
import numpy as np
from rclpy.node import Node
from std_msgs.msg import Float64MultiArray

from braingo_core.body import load_config, render_urdf, urdf_joints
from braingo_core.body.muscles import CnnMuscleMap, SigmoidMuscleMap, muscles_to_efforts
from braingo_core.storage import BrainDB
from braingo_ros import params
from braingo_ros.params import Spec
from braingo_ros.spinning import run_node

PARAMS = {
    "map": Spec("sigmoid", "muscle map: sigmoid (neuron->muscle table) or cnn (Conv1d over voltage history)",
                read_only=True),
    "cnn_weights": Spec("", ".npz of the cnn map (shapes checked)", read_only=True),
    "body_config": Spec("", "caterpillar.yaml path; empty = the package's", read_only=True),
    "database": Spec("", ".braindb with the neuron->muscle table; empty = the bundled worm", read_only=True),
    "motor_neurons": Spec([], "order of /brain/motor_voltages; empty = the database's motor_neurons "
                                "(cnn: the .npz neurons)", read_only=True),
    "watchdog_ms": Spec(100.0, "motor voltages older than this relax every joint (ms, node clock)"),
}
COMMAND_TOPIC = "/caterpillar_effort_controller/commands"


class MuscleNode(Node):
    """Muscle map node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("muscle_node", **kwargs)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        self.body_config = load_config(p["body_config"] or None)
        joints = urdf_joints(render_urdf(self.body_config.segments, "hardware"))
        self._limit_Nm = np.array([j.effort_Nm for j in joints])
        self.muscle_map = _build_map(p, self.body_config)
        self._n_motor = len(self.muscle_map.neurons)
        self._last_voltage_time = None
        self.relaxed = True
        self.dropped_messages = 0
        self._watchdog_ns = int(p["watchdog_ms"] * 1e6)
        self.add_on_set_parameters_callback(self._validate)

        self._activation_pub = self.create_publisher(Float64MultiArray, "/muscles/activation", 10)
        self._effort_pub = self.create_publisher(Float64MultiArray, COMMAND_TOPIC, 10)
        self.create_subscription(Float64MultiArray, "/brain/motor_voltages", self._on_voltages, 10)
        self.create_timer(p["watchdog_ms"] * 1e-3 / 2, self._on_watchdog)
        self.get_logger().info(f"{p['map']} map: {self._n_motor} motor neurons -> "
                               f"{len(self.body_config.muscle_names)} muscles -> {len(joints)} joints")

    def _validate(self, changed):
        for param in changed:
            if param.name == "watchdog_ms":
                if not param.value > 0:
                    return params.result(f"watchdog_ms must be > 0, got {param.value}")
                self._watchdog_ns = int(param.value * 1e6)
        return params.result()

    def _on_voltages(self, msg):
        v_mV = np.asarray(msg.data, dtype=np.float64)
        if v_mV.shape != (self._n_motor,) or not np.all(np.isfinite(v_mV)):
            self.dropped_messages += 1
            self.get_logger().warning(
                f"dropped /brain/motor_voltages: {v_mV.size} values (finite: {bool(np.all(np.isfinite(v_mV)))}), "
                f"expected {self._n_motor} finite voltages", throttle_duration_sec=2.0)
            return
        activation = self.muscle_map.activations(v_mV)
        effort = muscles_to_efforts(activation, self.body_config)
        self._last_voltage_time = self.get_clock().now()
        self.relaxed = False
        self._publish(activation, effort)

    def _publish(self, activation, effort_Nm):
        effort_Nm = np.clip(np.nan_to_num(effort_Nm, nan=0.0, posinf=0.0, neginf=0.0), -self._limit_Nm, self._limit_Nm)
        self._effort_pub.publish(Float64MultiArray(data=effort_Nm.tolist()))  # first: the body waits for it
        self._activation_pub.publish(Float64MultiArray(data=np.clip(activation, 0.0, 1.0).tolist()))

    def _on_watchdog(self):
        # One zero command on the transition to stale voltages: the effort controller holds it. Before the
        # first voltages nothing is sent, so start-up timing cannot add commands to a lock-step loop.
        if self.relaxed or self._last_voltage_time is None:
            return
        age_ns = (self.get_clock().now() - self._last_voltage_time).nanoseconds
        if age_ns <= self._watchdog_ns:
            return
        self.get_logger().warning(f"motor voltages older than {self._watchdog_ns / 1e6:.0f} ms: relaxing all joints")
        self.relaxed = True
        self._publish(np.zeros(len(self.body_config.muscle_names)), np.zeros(len(self._limit_Nm)))


def _build_map(p, body_config):
    """The muscle map named by parameter ``map``; input order = ``motor_neurons``, defaulting to the
    database's ``motor_neurons`` (the brain node's default order too)."""
    if p["map"] == "cnn":
        return CnnMuscleMap.load(p["cnn_weights"], neurons=p["motor_neurons"] or None, config=body_config)
    if p["map"] != "sigmoid":
        raise ValueError(f"map: '{p['map']}' is not sigmoid or cnn")
    database = p["database"]
    if not database:
        from braingo_core.loaders.baaiworm import bundled_database
        database = bundled_database()
    metadata = BrainDB(str(database)).metadata
    return SigmoidMuscleMap.from_table(metadata["neuron_muscle"], p["motor_neurons"] or metadata["motor_neurons"],
                                       inhibitory=metadata.get("inhibitory_neurons", ()), config=body_config)


def main(args=None):
    run_node(MuscleNode, args)


if __name__ == "__main__":
    main()
