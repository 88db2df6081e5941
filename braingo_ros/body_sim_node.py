"""body_sim_node: the caterpillar in MuJoCo (braingo_core.body.CaterpillarBody), the source of sim time.

Publishes
    /joint_states (sensor_msgs/JointState): joint positions (rad), velocities (rad/s), applied efforts (N m).
    /odom (nav_msgs/Odometry): ground-truth pose and twist of the head link, frame ``odom``.
    /body/contact_forces (std_msgs/Float64MultiArray): contact force magnitude per segment (N), head first,
    from anything but the body itself (obstacles; the floor carries no load).
    /clock (rosgraph_msgs/Clock): simulation time, once per control period.
Subscribes
    /caterpillar_effort_controller/commands (std_msgs/Float64MultiArray): joint efforts (N m), joint order
    of config/caterpillar.yaml; wrong length or non-finite values are logged and dropped.
Parameters (see ``PARAMS``)
    body_config, medium, lock_step, command_timeout_s, first_command_timeout_s, duration_s, stats_path, min_subscribers,
    connect_settle_s.

Stepping: with ``lock_step`` the body publishes the state of period k and advances to k+1 when the
(k+1)-th effort command has arrived, or after ``command_timeout_s`` (wall clock) with the efforts it
holds, counting a dropped period; commands are matched by count, so a late command is absorbed rather
than shifting every later period. Stepping starts once every loop topic has had a publisher and
``min_subscribers`` subscribers for ``connect_settle_s``: this node sees a new subscriber before the other
publishers of the loop have matched it, and a volatile message sent before that match is lost, which would
cost a dropped period. Without ``lock_step`` the body advances one period per wall-clock period.
"""
import json
import sys
import time

import numpy as np
from builtin_interfaces.msg import Time
from nav_msgs.msg import Odometry
from rclpy.clock import Clock as RclClock
from rclpy.clock import ClockType
from rclpy.node import Node
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from braingo_core.body.description import load_config
from braingo_core.body.media import with_medium
from braingo_core.body.physics import CaterpillarBody
from braingo_core.storage.atomic import atomic_open
from braingo_ros import params, topics
from braingo_ros.params import Spec
from braingo_ros.spinning import run_node

PARAMS = {
    "body_config": Spec("", "caterpillar.yaml path; empty = the package's", read_only=True),
    "medium": Spec("", "drag preset of the body config's media section (agar, water, ...); empty = its "
                   "physics.medium", read_only=True),
    "lock_step": Spec(False, "advance one control period per effort command (reproducible)", read_only=True),
    "command_timeout_s": Spec(0.5, "lock-step: wall-clock wait for a command before a dropped period (s)"),
    "first_command_timeout_s": Spec(120.0, "lock-step: wait for the first command (brain start-up, JIT) (s)"),
    "duration_s": Spec(0.0, "stop stepping after this much sim time (s); 0 = never", read_only=True),
    "stats_path": Spec("", "JSON of periods, dropped periods and latencies, written at duration_s",
                       read_only=True),
    "min_subscribers": Spec(1, "lock-step starts when every loop topic has this many subscribers",
                            read_only=True),
    "connect_settle_s": Spec(0.5, "lock-step: wall time the loop must stay connected before the first step (s)",
                             read_only=True),
}


def _stamp(time_s):
    ns = int(round(time_s * 1e9))
    return Time(sec=ns // 1_000_000_000, nanosec=ns % 1_000_000_000)


class BodySimNode(Node):
    """MuJoCo body simulation node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("body_sim_node", **kwargs)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        config = load_config(p["body_config"] or None)
        self.body = CaterpillarBody(with_medium(config, p["medium"]) if p["medium"] else config)
        self._lock_step = p["lock_step"]
        self._timeout_s = p["command_timeout_s"]
        self._first_timeout_s = p["first_command_timeout_s"]
        self._stats_path = p["stats_path"]
        self._min_subscribers = p["min_subscribers"]
        self._settle_s = p["connect_settle_s"]
        self._connected_at = None
        period = self.body.control_period_s
        self._target_periods = int(round(p["duration_s"] / period)) if p["duration_s"] > 0 else None
        self.periods = self.commands = self.dropped_periods = 0
        self.latency_ms = []
        self.started = self.finished = False
        self._efforts = np.zeros(self.body.n_joints)
        self._published_at = self._wall_start = None
        self.add_on_set_parameters_callback(self._validate)

        self._joint_pub = self.create_publisher(JointState, topics.JOINT_STATES, 10)
        self._odom_pub = self.create_publisher(Odometry, topics.ODOM, 10)
        self._contact_pub = self.create_publisher(Float64MultiArray, topics.CONTACT_FORCES, 10)
        self._clock_pub = self.create_publisher(Clock, topics.CLOCK, 10)
        self.create_subscription(Float64MultiArray, topics.EFFORT_COMMANDS, self._on_command, 10)
        steady = RclClock(clock_type=ClockType.STEADY_TIME)
        self.create_timer(0.01 if self._lock_step else period, self._on_timer, clock=steady)
        self.get_logger().info(
            f"{self.body.n_joints} joints in {self.body.config.medium}, control period {period * 1e3:.0f} ms "
            f"({'lock-step' if self._lock_step else 'free-running'})")

    def _validate(self, changed):
        for param in changed:
            if param.name in ("command_timeout_s", "first_command_timeout_s"):
                if not param.value > 0:
                    return params.result(f"{param.name} must be > 0, got {param.value}")
                if param.name == "command_timeout_s":
                    self._timeout_s = param.value
                else:
                    self._first_timeout_s = param.value
        return params.result()

    def _loop_connected(self):
        # The graph's counts can run ahead of DDS matching; for its own topics the body counts matched readers.
        n = self._min_subscribers
        own = (self._joint_pub, self._odom_pub, self._clock_pub)
        return all(pub.get_subscription_count() >= n for pub in own) and all(
            self.count_publishers(t) >= 1 and self.count_subscribers(t) >= n for t in topics.LOCK_STEP)

    def _settled(self):
        """True once the loop has been connected for ``connect_settle_s`` without interruption."""
        if not self._loop_connected():
            self._connected_at = None
            return False
        if self._connected_at is None:
            self._connected_at = time.perf_counter()
        return time.perf_counter() - self._connected_at >= self._settle_s

    def _on_timer(self):
        if self.finished:
            return
        if not self.started:
            if self._lock_step and not self._settled():
                return
            self.started, self._wall_start = True, time.perf_counter()
            self._publish_state()
            return
        if not self._lock_step:
            self._advance()
        elif time.perf_counter() - self._published_at > (timeout := self._command_timeout()):
            self.dropped_periods += 1
            self.get_logger().warning(
                f"no effort command for period {self.periods} within {timeout} s: "
                f"advancing with the held efforts ({self.dropped_periods} dropped)", throttle_duration_sec=2.0)
            self._advance()

    def _command_timeout(self):
        """The first command may wait for the brain's start-up (JIT compilation); later ones may not."""
        return self._timeout_s if self.commands else self._first_timeout_s

    def _on_command(self, msg):
        effort = np.asarray(msg.data, dtype=np.float64)
        if effort.shape != (self.body.n_joints,) or not np.all(np.isfinite(effort)):
            self.get_logger().warning(
                f"dropped effort command: {effort.size} values (finite: {bool(np.all(np.isfinite(effort)))}), "
                f"expected {self.body.n_joints} finite efforts", throttle_duration_sec=2.0)
            return
        self._efforts[:] = effort
        if not self.started or self.finished:
            return
        self.commands += 1
        if self._lock_step and self.commands >= self.periods + 1:
            self.latency_ms.append((time.perf_counter() - self._published_at) * 1e3)
            self._advance()

    def _advance(self):
        self.body.step_period(self._efforts)
        self.periods += 1
        self._publish_state()
        if self._target_periods is not None and self.periods >= self._target_periods:
            self._finish()

    def _publish_state(self):
        body = self.body
        stamp = _stamp(body.time_s)
        self._clock_pub.publish(Clock(clock=stamp))
        joints = JointState(name=list(body.joint_names), position=body.joint_positions().tolist(),
                            velocity=body.joint_velocities().tolist(), effort=body.efforts().tolist())
        joints.header.stamp = stamp
        odom = Odometry(child_frame_id=body.config.head_link)
        odom.header.stamp, odom.header.frame_id = stamp, "odom"
        (x, y, z), (qw, qx, qy, qz) = body.head_pose()
        pose = odom.pose.pose
        pose.position.x, pose.position.y, pose.position.z = float(x), float(y), float(z)
        pose.orientation.w, pose.orientation.x = float(qw), float(qx)
        pose.orientation.y, pose.orientation.z = float(qy), float(qz)
        linear, angular = body.head_twist()
        twist = odom.twist.twist
        twist.linear.x, twist.linear.y, twist.linear.z = (float(v) for v in linear)
        twist.angular.x, twist.angular.y, twist.angular.z = (float(v) for v in angular)
        # Head pose and contacts first: the sensor node answers /joint_states with the latest of each.
        self._odom_pub.publish(odom)
        self._contact_pub.publish(Float64MultiArray(data=body.contact_forces().tolist()))
        self._published_at = time.perf_counter()
        self._joint_pub.publish(joints)

    def stats(self):
        """Run statistics: periods, dropped periods, latencies (ms), wall and sim time (s), body facts."""
        return {
            "periods": self.periods, "dropped_periods": self.dropped_periods, "commands": self.commands,
            "control_period_s": self.body.control_period_s, "sim_s": self.body.time_s,
            "wall_s": time.perf_counter() - self._wall_start if self._wall_start is not None else 0.0,
            "body_length_m": self.body.body_length_m, "medium": self.body.config.medium,
            "joint_names": list(self.body.joint_names),
            "muscle_names": list(self.body.config.muscle_names), "latency_ms": self.latency_ms,
        }

    def _finish(self):
        self.finished = True
        stats = self.stats()
        self.get_logger().info(
            f"done: {stats['periods']} periods ({stats['sim_s']:.2f} s sim in {stats['wall_s']:.2f} s wall), "
            f"{stats['dropped_periods']} dropped")
        if self._stats_path:
            with atomic_open(self._stats_path) as f:
                f.write(json.dumps(stats).encode())


def main(args=None):
    return run_node(BodySimNode, args)


if __name__ == "__main__":
    sys.exit(main())
