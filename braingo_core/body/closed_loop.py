"""ROS-free closed loop: worm brain -> muscles -> MuJoCo body -> senses -> brain, one control period a step.

It composes the same core pieces, in the same order, as the lock-step ROS loop (body_sim_node publishes
the state of period k, sensor_node turns it into /brain/stimulus, brain_node integrates one period with it,
muscle_node maps the motor voltages to efforts, body_sim_node advances to k + 1):

1. ``SensoryInput.currents(BodyState(joint angles, head xy, contact forces))`` -> pA for the stimulus neurons;
2. ``ControlStep.step(currents)``: tonic drive + stimulus x command gate -> inputs, one period of the brain;
3. soma voltages of the database's ``motor_neurons`` -> ``muscle_map("sigmoid", ...)`` (Cook NMJ table,
   GABAergic rows negative) -> ``muscles_to_efforts``;
4. ``CaterpillarBody.step_period(efforts)``.

No oscillator or wave generator takes part: any wave comes from the network and the body's feedback.

API
---
``ClosedLoop(database=None, body_config=None, model="graded", seed=0, tonic=(), lesion=(),
synapse_weight_scale=None, gap_weight_scale=None, medium=None)``
    ``database``: .braindb path (default the bundled worm); ``body_config``: BodyConfig, YAML path or None;
    ``medium``: a preset of the config's ``media`` section (default its ``physics.medium``, agar);
    ``tonic``: ``["AVBL:100", ...]`` items; ``lesion``: neuron names silenced; the weight scales go to the
    Simulation config (default: the config's ``locomotion`` section).
    ``set_tonic(items)``, ``set_lesion(names)``: change the drive / lesions between calls (the runtime switch).
    ``run(duration_s) -> LoopTrace`` (advances whole control periods); ``reset()``.
``LoopTrace`` (NamedTuple): per-period arrays ``t_s`` [k], ``joint_rad`` [k, n_joints], ``head_xy_m`` [k, 2],
    ``com_xy_m`` [k, 2], ``motor_mV`` [k, n_motor], and ``motor_neurons``, ``joint_names``,
    ``body_length_m``; ``concat(traces)`` joins consecutive runs.
``locomotion_settings(config) -> dict``
    The ``locomotion`` section of config/caterpillar.yaml (every key but ``b_class``/``d_class`` required:
    the file is the one source of the drive and the network scales).
"""
from typing import NamedTuple

import numpy as np

from braingo_core.body.command_gate import CommandGate, gate_from_config
from braingo_core.body.control_step import ControlStep, database_path
from braingo_core.body.description import BodyConfig, load_config
from braingo_core.body.media import with_medium
from braingo_core.body.muscles import muscle_map, muscles_to_efforts
from braingo_core.body.physics import CaterpillarBody
from braingo_core.body.senses import BodyState, SensoryInput
from braingo_core.errors import BodyError
from braingo_core.sim import Simulation
from braingo_core.sim.stimulus_spec import name_index, parse_neuron_list, parse_tonic_stimulus

#: Keys of the ``locomotion`` section (config/caterpillar.yaml documents each); the lists may be left out.
LOCOMOTION_KEYS = ("synapse_weight_scale", "gap_weight_scale", "forward_drive", "backward_drive", "settle_s",
                   "measure_s")
LOCOMOTION_LISTS = ("b_class", "d_class")


def locomotion_settings(config=None):
    """The ``locomotion`` section of the body config, checked (BodyError naming the file and key)."""
    cfg = config if isinstance(config, BodyConfig) else load_config(config)
    section = cfg.sections["locomotion"]
    if unknown := sorted(set(section) - {*LOCOMOTION_KEYS, *LOCOMOTION_LISTS}):
        raise BodyError(f"{cfg.path}: locomotion: unknown key(s) {unknown} "
                        f"(known: {sorted({*LOCOMOTION_KEYS, *LOCOMOTION_LISTS})})")
    if missing := [k for k in LOCOMOTION_KEYS if k not in section]:
        raise BodyError(f"{cfg.path}: locomotion: missing key(s) {missing}")
    out = {**{k: [] for k in LOCOMOTION_LISTS}, **section}
    for key in ("synapse_weight_scale", "gap_weight_scale", "settle_s", "measure_s"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise BodyError(f"{cfg.path}: locomotion.{key} must be a finite number >= 0, got {v!r}")
        out[key] = float(v)
    for key in ("forward_drive", "backward_drive", *LOCOMOTION_LISTS):
        if not isinstance(out[key], list) or not all(isinstance(v, str) for v in out[key]):
            raise BodyError(f"{cfg.path}: locomotion.{key} must be a list of strings, got {out[key]!r}")
    return out


class LoopTrace(NamedTuple):
    """Per-control-period record of a closed-loop run (state after each period)."""
    t_s: np.ndarray          # float64[k] sim time at the end of each period
    joint_rad: np.ndarray    # float64[k, n_joints]
    head_xy_m: np.ndarray    # float64[k, 2] head link origin
    com_xy_m: np.ndarray     # float64[k, 2] centre of mass
    motor_mV: np.ndarray     # float64[k, n_motor] soma voltages in motor_neurons order
    motor_neurons: tuple
    joint_names: tuple
    body_length_m: float

    @staticmethod
    def concat(traces):
        """One trace from consecutive runs of the same loop."""
        first = traces[0]
        arrays = [np.concatenate([getattr(t, f) for t in traces]) for f in LoopTrace._fields[:5]]
        return LoopTrace(*arrays, first.motor_neurons, first.joint_names, first.body_length_m)


class ClosedLoop:
    """Brain + muscles + body + senses without ROS (see the module docstring)."""

    def __init__(self, database=None, body_config=None, model="graded", seed=0, tonic=(), lesion=(),
                 synapse_weight_scale=None, gap_weight_scale=None, medium=None):
        self.config = body_config if isinstance(body_config, BodyConfig) else load_config(body_config)
        if medium is not None:
            self.config = with_medium(self.config, medium)
        cfg = self.config
        loco = locomotion_settings(cfg)
        scales = {"synapse_weight_scale": loco["synapse_weight_scale"] if synapse_weight_scale is None
                  else synapse_weight_scale,
                  "gap_weight_scale": loco["gap_weight_scale"] if gap_weight_scale is None else gap_weight_scale}
        self.sim = Simulation(database_path(database), config={"model": model, "seed": int(seed), **scales})
        md = self.sim.db.metadata
        self._index = name_index(self.sim.db.get_all_neuron_names())
        self.motor_neurons = tuple(md["motor_neurons"])
        self._motor_ids = parse_neuron_list(list(self.motor_neurons), self._index, "motor_neurons")
        self.muscle_map = muscle_map("sigmoid", cfg, metadata=md)
        self.senses = SensoryInput(cfg)
        commands, settings = gate_from_config(cfg, self.senses.neurons)
        self.control = ControlStep(
            self.sim, cfg.control_period_s,
            parse_neuron_list(list(self.senses.neurons), self._index, "stimulus neurons"),
            CommandGate(commands, self._index, settings))
        self.body = CaterpillarBody(cfg)
        self.period_ticks = self.control.period_ticks
        self.set_tonic(tonic)
        self.set_lesion(lesion)

    def set_tonic(self, items):
        """Constant drive, ``["AVBL:30", ...]`` (pA); replaces the previous drive (SimulationError on a bad item)."""
        self.control.set_tonic(*parse_tonic_stimulus(list(items), self._index))

    def set_lesion(self, names):
        """Silence exactly these neurons (the previous lesions are restored first)."""
        self.control.set_lesion(parse_neuron_list(list(names), self._index, "lesion"))

    def reset(self):
        """Brain and body back to their initial state (drive and lesions stay)."""
        self.sim.reset()
        self.body.reset()
        self.senses.reset()
        self.control.reset()

    def run(self, duration_s):
        """Advance ``round(duration_s / control period)`` periods; returns their :class:`LoopTrace`."""
        n = int(round(duration_s / self.config.control_period_s))
        if n < 0:
            raise BodyError(f"run: duration_s must be >= 0, got {duration_s}")
        body, sim = self.body, self.sim
        t = np.empty(n)
        joints = np.empty((n, body.n_joints))
        head, com = np.empty((n, 2)), np.empty((n, 2))
        motor = np.empty((n, len(self._motor_ids)))
        act = np.empty(len(self.config.muscle_names))
        effort = np.empty(body.n_joints)
        stim = np.empty(self.senses.n_neurons)
        angles, head_xy = body.joint_positions(), body.head_pose()[0][:2]
        for k in range(n):
            state = BodyState(angles, head_xy, body.contact_forces(), body.time_s)
            self.control.step(self.senses.currents(state, out=stim))
            motor[k] = sim.voltages_mV()[self._motor_ids]
            self.muscle_map.activations(motor[k], out=act)
            body.step_period(muscles_to_efforts(act, self.config, out=effort))
            t[k] = body.time_s
            joints[k] = angles = body.joint_positions()
            head[k] = head_xy = body.head_pose()[0][:2]
            com[k] = body.center_of_mass()[:2]
        return LoopTrace(t, joints, head, com, motor, self.motor_neurons, tuple(self.config.joints),
                         float(body.body_length_m))
