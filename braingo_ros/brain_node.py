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
    /brain/save_snapshot (std_srvs/Trigger): write ``snapshot_path``.
    /brain/reset (std_srvs/Trigger): reset the state (lesions and tonic stimulus stay).
    /brain/pause (std_srvs/SetBool): pause (true) or resume (false) integration.
Parameters (see ``PARAMS``)
    database, model, seed, synapse_weight_scale, gap_weight_scale, control_period_s, step_on_stimulus,
    publish_rate_hz, motor_neurons,
    stimulus_neurons, stimulus_gates, stimulus_gate_v_half_mV, stimulus_gate_slope_mV, stimulus_gate_tau_s,
    stimulus_timeout_s, tonic_stimulus, lesion, snapshot_path, snapshot_dir,
    snapshot_period_s, snapshot_keep, resume_from, marker_frame_id, marker_scale_m_per_um.

Stepping: with ``step_on_stimulus`` false a timer on the node clock (sim time under ``use_sim_time``)
advances one period per tick; with it true every /brain/stimulus message advances exactly one period
(lock-step with the body simulation: reproducible, no period dropped or doubled).
"""
import time

import numpy as np
from rclpy.node import Node
from geometry_msgs.msg import Point
from std_msgs.msg import ColorRGBA, Float64MultiArray
from std_srvs.srv import SetBool, Trigger
from visualization_msgs.msg import Marker, MarkerArray

from braingo_core.body.command_gate import GATE_DEFAULTS, CommandGate
from braingo_core.errors import SimulationError
from braingo_core.sim import Simulation
from braingo_core.sim.stimulus_spec import name_index, parse_neuron_list, parse_tonic_stimulus
from braingo_ros import params
from braingo_ros.params import Spec
from braingo_ros.spinning import run_node
from braingo_ros.snapshots import latest_snapshot, save_rolling

PARAMS = {
    "database": Spec("", "path of the .braindb; empty = the bundled C. elegans database", read_only=True),
    "model": Spec("graded", "neuron model: graded (fast), celegans (16 channels), empty = each neuron type's own", read_only=True),
    "seed": Spec(0, "random seed of the simulation", read_only=True),
    "synapse_weight_scale": Spec(-1.0, "factor on every chemical-synapse weight of the database; negative = "
                                 "the database's default (graded_weight_scales metadata)", read_only=True),
    "gap_weight_scale": Spec(-1.0, "factor on every gap-junction conductance of the database; negative = "
                             "the database's default", read_only=True),
    "control_period_s": Spec(0.01, "simulated time advanced per step (s)", read_only=True),
    "step_on_stimulus": Spec(False, "advance one period per /brain/stimulus message (lock-step)", read_only=True),
    "publish_rate_hz": Spec(10.0, "rate of /brain/voltages and /brain/activity_markers (Hz, sim time)"),
    "motor_neurons": Spec([], "order of /brain/motor_voltages; empty = database metadata motor_neurons"),
    "stimulus_neurons": Spec([], "order of /brain/stimulus entries (neuron names)"),
    "stimulus_gates": Spec([], "per stimulus neuron: '' (ungated) or command neurons joined by '+' whose "
                           "low-passed mean voltage gates its current; empty list = no gates"),
    "stimulus_gate_v_half_mV": Spec(GATE_DEFAULTS["v_half_mV"], "command voltage of a half-open gate (mV)",
                                    read_only=True),
    "stimulus_gate_slope_mV": Spec(GATE_DEFAULTS["slope_mV"], "gate sigmoid slope (mV)", read_only=True),
    "stimulus_gate_tau_s": Spec(GATE_DEFAULTS["tau_s"], "low-pass of the command voltage (s)", read_only=True),
    "stimulus_timeout_s": Spec(0.5, "a stimulus older than this is ignored (s)"),
    "tonic_stimulus": Spec([], "constant currents, NAME:pA items"),
    "lesion": Spec([], "neurons silenced (names)"),
    "snapshot_path": Spec("brain.braindb.snapshot", "file written by /brain/save_snapshot"),
    "snapshot_dir": Spec("brain_snapshots", "folder of the periodic rolling snapshots"),
    "snapshot_period_s": Spec(0.0, "rolling snapshot every this much sim time (s); 0 = off"),
    "snapshot_keep": Spec(3, "number of rolling snapshots kept"),
    "resume_from": Spec("", "snapshot file, or folder of rolling snapshots (newest used), to start from",
                        read_only=True),
    "marker_frame_id": Spec("world", "frame of /brain/activity_markers"),
    "marker_scale_m_per_um": Spec(0.001, "marker size scale (m per um of soma position)"),
}
V_COLOUR_RANGE_mV = (-80.0, 20.0)


class BrainNode(Node):
    """Brain simulation node; see the module docstring for its endpoints."""

    def __init__(self, **kwargs):
        super().__init__("brain_node", **kwargs)
        params.declare(self, PARAMS)
        p = params.values(self, PARAMS)
        self.sim = Simulation(str(p["database"] or _bundled_database()),
                              config={"model": p["model"] or None, "seed": p["seed"],
                                      **{k: float(p[k]) for k in ("synapse_weight_scale", "gap_weight_scale")
                                         if p[k] >= 0}})
        # Compile/load the kernels now, not inside the first control period (that would stall the loop).
        self.get_logger().info(f"simulator kernels ready in {self.sim.warm_up():.1f} s")
        if p["resume_from"]:
            self.sim.load_snapshot(latest_snapshot(p["resume_from"]))
            self.get_logger().info(f"resumed from {p['resume_from']} at tick {self.sim.tick}")
        self._index = name_index(self.sim.db.get_all_neuron_names())
        self._period_ticks = max(1, int(round(p["control_period_s"] * 1e3 / self.sim.dt_ms)))
        self._input_pA = np.zeros(self.sim.n_neurons)
        self._lesioned = np.zeros(0, dtype=np.int64)
        self._stimulus_ids = np.zeros(0, dtype=np.int64)
        self._stimulus_pA, self._stimulus_time = None, None
        neurons = self.sim.db.neuron_attrs
        self._soma_um = np.stack([neurons["x_um"], neurons["y_um"], neurons["z_um"]], axis=1).astype(np.float64)
        self._step_on_stimulus = p["step_on_stimulus"]
        self._control_period_s = p["control_period_s"]
        self.gate = None
        self.paused = False
        self.rtf = None
        self.periods = 0
        self._next_snapshot_tick = self.sim.tick
        self._rtf_window = [0, 0.0]  # periods, compute seconds
        self._apply(p)
        self.add_on_set_parameters_callback(self._validate)
        self.add_post_set_parameters_callback(lambda _changed: self._apply(params.values(self, PARAMS)))

        self._motor_pub = self.create_publisher(Float64MultiArray, "/brain/motor_voltages", 10)
        self._voltage_pub = self.create_publisher(Float64MultiArray, "/brain/voltages", 10)
        self._marker_pub = self.create_publisher(MarkerArray, "/brain/activity_markers", 10)
        self.create_subscription(Float64MultiArray, "/brain/stimulus", self._on_stimulus, 10)
        self.create_service(Trigger, "/brain/save_snapshot", self._on_save_snapshot)
        self.create_service(Trigger, "/brain/reset", self._on_reset)
        self.create_service(SetBool, "/brain/pause", self._on_pause)
        if not p["step_on_stimulus"]:
            self.create_timer(p["control_period_s"], self.advance)
        self.get_logger().info(
            f"{self.sim.n_neurons} neurons, {len(self._motor_ids)} motor outputs, "
            f"{self._period_ticks} ticks of {self.sim.dt_ms} ms per step")

    def _parse(self, p):
        """Neuron-name parameters -> ids; raises SimulationError naming the bad entry."""
        motor = p["motor_neurons"] or list(self.sim.db.metadata.get("motor_neurons", []))
        gates = p["stimulus_gates"] or [""] * len(p["stimulus_neurons"])
        if len(gates) != len(p["stimulus_neurons"]):
            raise SimulationError(f"stimulus_gates: {len(gates)} entries for {len(p['stimulus_neurons'])} "
                                  f"stimulus_neurons (set both together)")
        return {
            "gate": CommandGate.from_parameters({**p, "stimulus_gates": gates}, self._index),
            "motor": parse_neuron_list(motor, self._index, "motor_neurons"),
            "stimulus": parse_neuron_list(p["stimulus_neurons"], self._index, "stimulus_neurons"),
            "tonic": parse_tonic_stimulus(p["tonic_stimulus"], self._index),
            "lesion": parse_neuron_list(p["lesion"], self._index, "lesion"),
        }

    def _validate(self, changed):
        p = params.values(self, PARAMS)
        try:
            for param in changed:
                p[param.name] = params.value(param, PARAMS[param.name])
            self._parse(p)
            for name in ("control_period_s", "publish_rate_hz", "stimulus_timeout_s"):
                if not p[name] > 0:
                    raise ValueError(f"{name} must be > 0, got {p[name]}")
            if p["snapshot_period_s"] < 0 or p["snapshot_keep"] < 1:
                raise ValueError("snapshot_period_s must be >= 0 and snapshot_keep >= 1")
        except ValueError as exc:
            return params.result(exc)
        return params.result()

    def _apply(self, p):
        parsed = self._parse(p)
        if not np.array_equal(parsed["stimulus"], self._stimulus_ids):
            self._stimulus_ids, self._stimulus_pA = parsed["stimulus"], None
        if self.gate is None or parsed["gate"].spec != self.gate.spec:
            self.gate = parsed["gate"]
        self._motor_ids = parsed["motor"]
        self._tonic_ids, self._tonic_pA = parsed["tonic"]
        # Only these neurons get a current; set_inputs checks every id in Python, so the rest are cleared at once.
        self._input_ids = np.unique(np.concatenate([self._tonic_ids, self._stimulus_ids]).astype(np.int64))
        if len(self._lesioned):
            self.sim.restore(self._lesioned)
        self._lesioned = parsed["lesion"]
        if len(self._lesioned):
            self.sim.lesion(self._lesioned)
        self._stimulus_timeout_s = p["stimulus_timeout_s"]
        self._publish_every = max(1, int(round(1.0 / (p["publish_rate_hz"] * p["control_period_s"]))))
        self._snapshot_ticks = int(round(p["snapshot_period_s"] * 1e3 / self.sim.dt_ms))
        self._snapshot_dir, self._snapshot_keep = p["snapshot_dir"], p["snapshot_keep"]
        self._snapshot_path = p["snapshot_path"]
        self._marker = self._marker_template(p["marker_frame_id"], p["marker_scale_m_per_um"])

    def _on_stimulus(self, msg):
        data = np.asarray(msg.data, dtype=np.float64)
        if data.shape != self._stimulus_ids.shape or not np.all(np.isfinite(data)):
            self.get_logger().warning(
                f"dropped /brain/stimulus: {data.size} values (finite: {bool(np.all(np.isfinite(data)))}), "
                f"expected {self._stimulus_ids.size} finite currents", throttle_duration_sec=2.0)
        else:
            self._stimulus_pA, self._stimulus_time = data, self.get_clock().now()
        if self._step_on_stimulus:
            self.advance()

    def advance(self):
        """Integrate one control period (unless paused) and publish."""
        if not self.paused:
            started = time.perf_counter()
            self._input_pA[:] = 0.0
            np.add.at(self._input_pA, self._tonic_ids, self._tonic_pA)
            gate = self.gate.factors(self.sim.voltages_mV(), self._control_period_s)
            if self._stimulus_pA is not None:
                age_s = (self.get_clock().now() - self._stimulus_time).nanoseconds * 1e-9
                if age_s <= self._stimulus_timeout_s:
                    np.add.at(self._input_pA, self._stimulus_ids, self._stimulus_pA * gate)
            self.sim.clear_stimulus()
            self.sim.set_inputs(self._input_ids, self._input_pA[self._input_ids])
            self.sim.run(self._period_ticks)
            self._track_rtf(time.perf_counter() - started)
            if self._snapshot_ticks and self.sim.tick >= self._next_snapshot_tick + self._snapshot_ticks:
                self._next_snapshot_tick = self.sim.tick
                save_rolling(self.sim, self._snapshot_dir, self._snapshot_keep)
        v_mV = self.sim.voltages_mV()
        self._motor_pub.publish(Float64MultiArray(data=v_mV[self._motor_ids].tolist()))
        if self.periods % self._publish_every == 0:
            # Only for listeners: the 302-sphere marker costs about a millisecond of the control period.
            if self._voltage_pub.get_subscription_count():
                self._voltage_pub.publish(Float64MultiArray(data=v_mV.tolist()))
            if self._marker_pub.get_subscription_count():
                self._marker_pub.publish(self._markers(v_mV))
        self.periods += 1

    def _track_rtf(self, compute_s):
        """Warn, with the real-time factor, when integration is slower than real time (about once per sim s)."""
        window = self._rtf_window
        window[0] += 1
        window[1] += compute_s
        sim_s = window[0] * self._period_ticks * self.sim.dt_ms * 1e-3
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
            self.sim.save_snapshot(self._snapshot_path)
        except (OSError, ValueError) as exc:
            response.success, response.message = False, f"snapshot failed: {exc}"
        else:
            response.success, response.message = True, f"saved tick {self.sim.tick} to {self._snapshot_path}"
        return response

    def _on_reset(self, _request, response):
        self.sim.reset()
        self.gate.reset()
        self._apply(params.values(self, PARAMS))
        self._next_snapshot_tick = self.sim.tick
        response.success, response.message = True, f"reset to tick {self.sim.tick}"
        return response

    def _on_pause(self, request, response):
        self.paused = bool(request.data)
        response.success, response.message = True, "paused" if self.paused else "running"
        return response


def _bundled_database():
    from braingo_core.loaders.baaiworm import bundled_database
    return bundled_database()


def main(args=None):
    run_node(BrainNode, args)


if __name__ == "__main__":
    main()
