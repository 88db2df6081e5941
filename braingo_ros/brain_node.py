"""brain_node: runs a .braindb brain simulation, one control period per step.

Publishes
    /brain/motor_voltages (std_msgs/Float64MultiArray): soma mV of ``motor_neurons``, every period.
    /brain/voltages (std_msgs/Float64MultiArray): soma mV of every neuron (id order), at ``publish_rate_hz``.
    /brain/activity_markers (visualization_msgs/MarkerArray): soma spheres coloured by voltage, same rate.
    Both only while they have subscribers.
Subscribes
    /brain/stimulus (std_msgs/Float64MultiArray): pA for ``stimulus_neurons``, stale after ``stimulus_timeout_s``;
    each entry is scaled by its command gate (``stimulus_gates``, braingo_core.body.command_gate) as it is applied.
Services
    /brain/save_snapshot (std_srvs/Trigger): write ``snapshot_path`` (inside ``snapshot_root``).
    /brain/reset (std_srvs/Trigger): reset the state (lesions and tonic stimulus stay).
    /brain/pause (std_srvs/SetBool): pause (true) or resume (false) integration.
Parameters (see ``PARAMS``)
    database, model, seed, synapse_weight_scale, gap_weight_scale, body_config, step_on_stimulus,
    publish_rate_hz, motor_neurons,
    stimulus_neurons, stimulus_gates, stimulus_gate_v_half_mV, stimulus_gate_slope_mV, stimulus_gate_tau_s,
    stimulus_timeout_s, tonic_stimulus, lesion, snapshot_root, snapshot_path, snapshot_dir,
    snapshot_period_s, snapshot_keep, resume_from, marker_frame_id, marker_scale_m_per_um.

Stepping: one control period = ``physics.control_period_s`` of ``body_config``, the file the body reads (there
is no second period setting to disagree with it). With ``step_on_stimulus`` false a timer on the node clock
(sim time under ``use_sim_time``) advances one period per tick; with it true every /brain/stimulus message
advances exactly one period (lock-step with the body simulation: reproducible, no period dropped or doubled).
One period is :class:`braingo_core.body.control_step.ControlStep`, the step the ROS-free loop takes.
"""
import math
import sys
import time

import numpy as np
from geometry_msgs.msg import Point
from rclpy.node import Node
from rclpy.qos import QoSProfile
from std_msgs.msg import ColorRGBA, Float64MultiArray
from std_srvs.srv import SetBool, Trigger
from visualization_msgs.msg import Marker, MarkerArray

from braingo_core.body import load_config
from braingo_core.body.command_gate import CommandGate, GateSettings
from braingo_core.body.control_step import MAX_INPUT_pA, ControlStep, database_path
from braingo_core.errors import SimulationError
from braingo_core.sim import Simulation
from braingo_core.sim.config import parse_config
from braingo_core.sim.stimulus_spec import name_index, parse_neuron_list, parse_tonic_stimulus
from braingo_ros import params, topics
from braingo_ros.params import Spec
from braingo_ros.snapshots import SnapshotStore
from braingo_ros.spinning import run_node

_GATE = GateSettings()
PARAMS = {
    "database": Spec("", "path of the .braindb; empty = the bundled C. elegans database", read_only=True),
    "model": Spec("graded", "neuron model (braingo_core.sim.config); empty = each neuron type's own", read_only=True),
    "seed": Spec(0, "random seed of the simulation", read_only=True),
    "synapse_weight_scale": Spec(-1.0, "factor on every chemical-synapse weight of the database; negative = "
                                 "the database's default (graded_weight_scales metadata)", read_only=True),
    "gap_weight_scale": Spec(-1.0, "factor on every gap-junction conductance of the database; negative = "
                             "the database's default", read_only=True),
    "body_config": Spec("", "caterpillar.yaml whose physics.control_period_s is the control period (s); "
                        "empty = the package's", read_only=True),
    "step_on_stimulus": Spec(False, "advance one period per /brain/stimulus message (lock-step)", read_only=True),
    "publish_rate_hz": Spec(10.0, "rate of /brain/voltages and /brain/activity_markers (Hz, sim time; "
                            "at most once per period)"),
    "motor_neurons": Spec([], "order of /brain/motor_voltages; empty = database metadata motor_neurons"),
    "stimulus_neurons": Spec([], "order of /brain/stimulus entries (neuron names)"),
    "stimulus_gates": Spec([], "per stimulus neuron: '' (ungated) or command neurons joined by '+' whose "
                           "low-passed mean voltage gates its current; empty list = no gates"),
    "stimulus_gate_v_half_mV": Spec(_GATE.v_half_mV, "command voltage of a half-open gate (mV)", read_only=True),
    "stimulus_gate_slope_mV": Spec(_GATE.slope_mV, "gate sigmoid slope (mV)", read_only=True),
    "stimulus_gate_tau_s": Spec(_GATE.tau_s, "low-pass of the command voltage (s)", read_only=True),
    "stimulus_timeout_s": Spec(0.5, "a stimulus older than this is ignored (s)"),
    "tonic_stimulus": Spec([], f"constant currents, NAME:pA items (a neuron listed twice gets the sum; "
                           f"|pA| <= {MAX_INPUT_pA:g})"),
    "lesion": Spec([], "neurons silenced (names)"),
    "snapshot_root": Spec(".", "folder every snapshot file must lie in (resolved at start)", read_only=True),
    "snapshot_path": Spec("brain.braindb.snapshot", "file written by /brain/save_snapshot (relative to "
                          "snapshot_root)"),
    "snapshot_dir": Spec("brain_snapshots", "folder of the periodic rolling snapshots (relative to snapshot_root)"),
    "snapshot_period_s": Spec(0.0, "rolling snapshot every this much sim time (s); 0 = off, at most 1e6"),
    "snapshot_keep": Spec(3, "number of rolling snapshots kept (1..1000)"),
    "resume_from": Spec("", "snapshot file, or folder of rolling snapshots (newest used), to start from",
                        read_only=True),
    "marker_frame_id": Spec("world", "frame of /brain/activity_markers"),
    "marker_scale_m_per_um": Spec(0.001, "marker size scale (m per um of soma position)"),
}
V_COLOUR_RANGE_mV = (-80.0, 20.0)
#: Bounds of the rate parameters: a rate outside them is refused, never turned into an overflow.
PUBLISH_RATE_RANGE_Hz = (1e-3, 1e3)
MAX_SNAPSHOT_PERIOD_s = 1e6
MAX_SNAPSHOT_KEEP = 1000
#: Request queue of each service: a burst of concurrent callers all get an answer.
SERVICE_QOS = QoSProfile(depth=1000)


def _model(value):
    """The ``model`` parameter as a Simulation config value; parse_config's error text names the valid ones."""
    model = value or None
    parse_config({"model": model})
    return model


def _validate_model(changed):
    return params.check_each(changed, {"model": _model})


def _gates(entries):
    """``stimulus_gates`` items (``"AVAL+AVAR"`` or ``""``) -> tuples of command neuron names."""
    return [tuple(n.strip() for n in entry.split("+")) if entry.strip() else () for entry in entries]


class BrainNode(Node):
    """Brain simulation node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("brain_node", **kwargs)
        # Registered before the parameters are declared, so an override such as model:=xyz is refused with
        # parse_config's reason (the valid model names) when it is declared.
        self.add_on_set_parameters_callback(_validate_model)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        _check_numbers(p)
        self.sim = Simulation(database_path(p["database"]),
                              config={"model": _model(p["model"]), "seed": p["seed"],
                                      **{k: float(p[k]) for k in ("synapse_weight_scale", "gap_weight_scale")
                                         if p[k] >= 0}})
        # Compile/load the kernels now, not inside the first control period (that would stall the loop).
        self.get_logger().info(f"simulator kernels ready in {self.sim.warm_up():.1f} s")
        self.snapshots = SnapshotStore(self.sim, p["snapshot_root"])
        if p["resume_from"]:
            self.sim.load_snapshot(self.snapshots.latest(p["resume_from"]))
            self.get_logger().info(f"resumed from {p['resume_from']} at tick {self.sim.tick}")
        self._index = name_index(self.sim.db.get_all_neuron_names())
        self._control_period_s = load_config(p["body_config"] or None).control_period_s
        self.control = ControlStep(self.sim, self._control_period_s)
        self._stimulus_pA, self._stimulus_time = None, None
        neurons = self.sim.db.neuron_attrs
        self._soma_um = np.stack([neurons["x_um"], neurons["y_um"], neurons["z_um"]], axis=1).astype(np.float64)
        self._step_on_stimulus = p["step_on_stimulus"]
        self.paused = False
        self.rtf = None
        self.periods = 0
        self.callback_errors = 0
        self._next_snapshot_tick = self.sim.tick
        self._rtf_window = [0, 0.0]  # periods, compute seconds
        self._apply(p)
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(lambda _changed: self._apply(params.values(self, PARAMS)))

        self._motor_pub = self.create_publisher(Float64MultiArray, topics.MOTOR_VOLTAGES, 10)
        self._voltage_pub = self.create_publisher(Float64MultiArray, topics.VOLTAGES, 10)
        self._marker_pub = self.create_publisher(MarkerArray, topics.ACTIVITY_MARKERS, 10)
        self.create_subscription(Float64MultiArray, topics.STIMULUS, self._on_stimulus, 10)
        self.create_service(Trigger, topics.SAVE_SNAPSHOT, self._on_save_snapshot, qos_profile=SERVICE_QOS)
        self.create_service(Trigger, topics.RESET, self._on_reset, qos_profile=SERVICE_QOS)
        self.create_service(SetBool, topics.PAUSE, self._on_pause, qos_profile=SERVICE_QOS)
        if not p["step_on_stimulus"]:
            self.create_timer(self._control_period_s, self.advance)
        self.get_logger().info(
            f"{self.sim.n_neurons} neurons, {len(self._motor_ids)} motor outputs, "
            f"{self.control.period_ticks} ticks of {self.sim.dt_ms} ms per step")

    def _parse(self, p):
        """Neuron-name parameters -> ids; raises SimulationError naming the bad entry."""
        motor = p["motor_neurons"] or list(self.sim.db.metadata.get("motor_neurons", []))
        gates = p["stimulus_gates"] or [""] * len(p["stimulus_neurons"])
        if len(gates) != len(p["stimulus_neurons"]):
            raise SimulationError(f"stimulus_gates: {len(gates)} entries for {len(p['stimulus_neurons'])} "
                                  f"stimulus_neurons (set both together)")
        settings = GateSettings(*(p[f"stimulus_gate_{key}"] for key in GateSettings._fields))
        tonic_ids, tonic_pA = parse_tonic_stimulus(p["tonic_stimulus"], self._index)
        if np.any(np.abs(tonic_pA) > MAX_INPUT_pA):
            raise SimulationError(f"tonic_stimulus: currents must be within +-{MAX_INPUT_pA:g} pA, got "
                                  f"{float(np.abs(tonic_pA).max()):g}")
        return {
            "gate": CommandGate(_gates(gates), self._index, settings),
            "motor": parse_neuron_list(motor, self._index, "motor_neurons"),
            "stimulus": parse_neuron_list(p["stimulus_neurons"], self._index, "stimulus_neurons"),
            "tonic": (tonic_ids, tonic_pA),
            "lesion": parse_neuron_list(p["lesion"], self._index, "lesion"),
            "snapshot_path": self.snapshots.confine(p["snapshot_path"], "snapshot_path"),
            "snapshot_dir": self.snapshots.confine(p["snapshot_dir"], "snapshot_dir", folder=True),
        }

    def _validate(self, changed):
        p = params.values(self, PARAMS)
        try:
            for param in changed:
                p[param.name] = params.value(param, PARAMS[param.name])
            _check_numbers(p)
            self._parse(p)
        except ValueError as exc:
            return params.result(exc)
        return params.result()

    def _apply(self, p):
        parsed = self._parse(p)
        control = self.control
        gate = parsed["gate"]
        if not np.array_equal(parsed["stimulus"], control.stimulus_ids) or gate.spec != control.gate.spec:
            if not np.array_equal(parsed["stimulus"], control.stimulus_ids):
                self._stimulus_pA = None
            control.set_stimulus_channels(parsed["stimulus"], gate)
        self._motor_ids = parsed["motor"]
        control.set_tonic(*parsed["tonic"])
        control.set_lesion(parsed["lesion"])
        self._stimulus_timeout_s = p["stimulus_timeout_s"]
        self._publish_every = max(1, int(round(1.0 / (p["publish_rate_hz"] * self._control_period_s))))
        self._snapshot_ticks = int(round(p["snapshot_period_s"] * 1e3 / self.sim.dt_ms))
        self._snapshot_dir, self._snapshot_keep = parsed["snapshot_dir"], p["snapshot_keep"]
        self._snapshot_path = parsed["snapshot_path"]
        self._marker = self._marker_template(p["marker_frame_id"], p["marker_scale_m_per_um"])

    def _on_stimulus(self, msg):
        data = np.asarray(msg.data, dtype=np.float64)
        if data.shape != self.control.stimulus_ids.shape or not np.all(np.isfinite(data)):
            self.get_logger().warning(
                f"dropped /brain/stimulus: {data.size} values (finite: {bool(np.all(np.isfinite(data)))}), "
                f"expected {self.control.stimulus_ids.size} finite currents", throttle_duration_sec=2.0)
        else:
            self._stimulus_pA, self._stimulus_time = data, self.get_clock().now()
        if self._step_on_stimulus:
            self.advance()

    def advance(self):
        """Integrate one control period (unless paused) and publish; a failure is logged, never fatal."""
        try:
            self._advance()
        except Exception as exc:   # noqa: BLE001 - a callback must not take the node down
            self.callback_errors += 1
            self.get_logger().error(f"control period {self.periods} failed: {type(exc).__name__}: {exc}",
                                    throttle_duration_sec=2.0)

    def _advance(self):
        if not self.paused:
            started = time.perf_counter()
            stimulus = None
            if self._stimulus_pA is not None:
                age_s = (self.get_clock().now() - self._stimulus_time).nanoseconds * 1e-9
                if age_s <= self._stimulus_timeout_s:
                    stimulus = self._stimulus_pA
            self.control.step(stimulus)
            self._track_rtf(time.perf_counter() - started)
            if self._snapshot_ticks and self.sim.tick >= self._next_snapshot_tick + self._snapshot_ticks:
                self._next_snapshot_tick = self.sim.tick
                self._save_rolling()
        v_mV = self.sim.voltages_mV()
        self._motor_pub.publish(Float64MultiArray(data=v_mV[self._motor_ids].tolist()))
        if self.periods % self._publish_every == 0:
            # Only for listeners: the 302-sphere marker costs about a millisecond of the control period.
            if self._voltage_pub.get_subscription_count():
                self._voltage_pub.publish(Float64MultiArray(data=v_mV.tolist()))
            if self._marker_pub.get_subscription_count():
                self._marker_pub.publish(self._markers(v_mV))
        self.periods += 1

    def _save_rolling(self):
        try:
            return self.snapshots.save_rolling(self._snapshot_dir, self._snapshot_keep)
        except (OSError, ValueError) as exc:
            self.get_logger().error(f"rolling snapshot into {self._snapshot_dir} failed: {exc}",
                                    throttle_duration_sec=5.0)
            return None

    def final_snapshot(self):
        """At shutdown: one last rolling snapshot when they are on (the state since the last one is kept)."""
        if self._snapshot_ticks and self.sim.tick > self._next_snapshot_tick:
            path = self._save_rolling()
            if path:
                self.get_logger().info(f"final snapshot at tick {self.sim.tick}: {path}")

    def _track_rtf(self, compute_s):
        """Warn, with the real-time factor, when integration is slower than real time (about once per sim s)."""
        window = self._rtf_window
        window[0] += 1
        window[1] += compute_s
        sim_s = window[0] * self.control.period_ticks * self.sim.dt_ms * 1e-3
        if sim_s >= 1.0:
            self.rtf = sim_s / window[1]
            if self.rtf < 1.0:
                self.get_logger().warning(
                    f"brain cannot keep up with real time: real-time factor {self.rtf:.2f} "
                    f"({1e3 * window[1] / window[0]:.1f} ms of compute per {sim_s * 1e3 / window[0]:.0f} ms period)",
                    throttle_duration_sec=5.0)
            window[:] = [0, 0.0]

    def _marker_template(self, frame_id, scale_m_per_um):
        """The sphere list with the (static) soma positions; :meth:`_markers` only recolours it."""
        marker = Marker(type=Marker.SPHERE_LIST, action=Marker.ADD, ns="neurons", id=0)
        marker.header.frame_id = frame_id
        marker.scale.x = marker.scale.y = marker.scale.z = 3.0 * scale_m_per_um
        marker.pose.orientation.w = 1.0
        marker.points = [Point(x=x, y=y, z=z) for x, y, z in (self._soma_um * scale_m_per_um).tolist()]
        marker.colors = [ColorRGBA(g=0.2, a=1.0) for _ in range(len(self._soma_um))]
        return marker

    def _markers(self, v_mV):
        marker = self._marker
        marker.header.stamp = self.get_clock().now().to_msg()
        low, high = V_COLOUR_RANGE_mV
        for colour, c in zip(marker.colors, np.clip((v_mV - low) / (high - low), 0.0, 1.0).tolist()):
            colour.r, colour.b = c, 1.0 - c
        return MarkerArray(markers=[marker])

    def _on_save_snapshot(self, _request, response):
        try:
            self.snapshots.save(self._snapshot_path)
        except (OSError, ValueError) as exc:
            response.success, response.message = False, f"snapshot failed: {exc}"
        else:
            response.success, response.message = True, f"saved tick {self.sim.tick} to {self._snapshot_path}"
        return response

    def _on_reset(self, _request, response):
        try:
            self.sim.reset()
            self.control.reset()
            self._apply(params.values(self, PARAMS))
        except (OSError, ValueError) as exc:
            response.success, response.message = False, f"reset failed: {exc}"
            return response
        self._next_snapshot_tick = self.sim.tick
        response.success, response.message = True, f"reset to tick {self.sim.tick}"
        return response

    def _on_pause(self, request, response):
        self.paused = bool(request.data)
        response.success, response.message = True, "paused" if self.paused else "running"
        return response

    def on_shutdown(self):
        """Called by :func:`braingo_ros.spinning.run_node` after the last callback: the final snapshot."""
        self.final_snapshot()


def _check_numbers(p):
    """Range checks of the numeric parameters; ValueError naming the parameter and the bounds."""
    def finite(name, low, high, low_open=False):
        v = p[name]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not math.isfinite(v) or not (
                (v > low if low_open else v >= low) and v <= high):
            bracket = "(" if low_open else "["
            raise ValueError(f"{name} must be a finite number in {bracket}{low:g}, {high:g}], got {v!r}")

    finite("publish_rate_hz", *PUBLISH_RATE_RANGE_Hz)
    finite("stimulus_timeout_s", 0.0, 1e6, low_open=True)
    finite("snapshot_period_s", 0.0, MAX_SNAPSHOT_PERIOD_s)
    finite("snapshot_keep", 1, MAX_SNAPSHOT_KEEP)
    finite("marker_scale_m_per_um", 0.0, 1e3, low_open=True)


def main(args=None):
    return run_node(BrainNode, args)


if __name__ == "__main__":
    sys.exit(main())
