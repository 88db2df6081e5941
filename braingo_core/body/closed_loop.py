"""ROS-free closed loop: worm brain -> muscles -> MuJoCo body -> proprioception -> brain, one control period a step.

It composes the same core pieces, in the same order, as the lock-step ROS loop (body_sim_node publishes
the state of period k, sensor_node turns it into /brain/stimulus, brain_node integrates one period with it,
muscle_node maps the motor voltages to efforts, body_sim_node advances to k + 1):

1. ``ProprioceptionMap.currents(joint angles, head xy, contact forces)`` -> pA for the stimulus neurons;
2. tonic drive + stimulus x ``CommandGate.factors`` (command-neuron voltages at the start of the period)
   -> ``Simulation.set_inputs`` over every neuron, ``Simulation.run(period ticks)``;
3. soma voltages of the database's ``motor_neurons`` -> ``SigmoidMuscleMap`` (Cook NMJ table, GABAergic rows
   negative) -> ``muscles_to_efforts``;
4. ``CaterpillarBody.step_period(efforts)``.

No oscillator or wave generator takes part: any wave comes from the network and the body's feedback.

API
---
``ClosedLoop(database=None, body_config=None, model="graded", seed=0, tonic=(), lesion=(),
synapse_weight_scale=None, gap_weight_scale=None)``
    ``database``: .braindb path (default the bundled worm); ``body_config``: BodyConfig, YAML path or None;
    ``tonic``: ``["AVBL:100", ...]`` items; ``lesion``: neuron names silenced; the weight scales go to the
    Simulation config (default: the config's ``locomotion`` section).
    ``set_tonic(items)``, ``set_lesion(names)``: change the drive / lesions between calls (the runtime switch).
    ``run(duration_s) -> LoopTrace`` (advances whole control periods); ``reset()``.
``LoopTrace`` (NamedTuple): per-period arrays ``t_s`` [k], ``joint_rad`` [k, n_joints], ``head_xy_m`` [k, 2],
    ``com_xy_m`` [k, 2], ``motor_mV`` [k, n_motor], and ``motor_neurons``, ``joint_names``,
    ``body_length_m``; ``concat(traces)`` joins consecutive runs.
``locomotion_settings(config) -> dict``
    The ``locomotion`` section of config/caterpillar.yaml with its defaults.
"""
from typing import NamedTuple

import numpy as np

from braingo_core.body.command_gate import CommandGate, gate_parameters
from braingo_core.body.description import BodyConfig, load_config
from braingo_core.body.muscles import SigmoidMuscleMap, muscles_to_efforts
from braingo_core.body.physics import CaterpillarBody
from braingo_core.body.proprioception import ProprioceptionMap
from braingo_core.errors import BodyError
from braingo_core.sim import Simulation
from braingo_core.sim.stimulus_spec import name_index, parse_neuron_list, parse_tonic_stimulus

#: Defaults of the ``locomotion`` section (config/caterpillar.yaml documents each key).
LOCOMOTION_DEFAULTS = {
    "synapse_weight_scale": 1.0, "gap_weight_scale": 1.0,
    "forward_drive": ["AVBL:30", "AVBR:30"], "backward_drive": ["AVAL:30", "AVAR:30"],
    "b_class": [], "d_class": [], "settle_s": 2.0, "measure_s": 20.0,
}


def locomotion_settings(config=None):
    """The ``locomotion`` section of the body config, defaults filled in (BodyError on a bad value)."""
    cfg = config if isinstance(config, BodyConfig) else load_config(config)
    section = cfg.sections["locomotion"]
    if unknown := sorted(set(section) - set(LOCOMOTION_DEFAULTS)):
        raise BodyError(f"{cfg.path}: locomotion: unknown key(s) {unknown} (known: {sorted(LOCOMOTION_DEFAULTS)})")
    out = {**LOCOMOTION_DEFAULTS, **section}
    for key in ("synapse_weight_scale", "gap_weight_scale", "settle_s", "measure_s"):
        v = out[key]
        if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
            raise BodyError(f"{cfg.path}: locomotion.{key} must be a finite number >= 0, got {v!r}")
        out[key] = float(v)
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
    """Brain + muscles + body + proprioception without ROS (see the module docstring)."""

    def __init__(self, database=None, body_config=None, model="graded", seed=0, tonic=(), lesion=(),
                 synapse_weight_scale=None, gap_weight_scale=None):
        self.config = body_config if isinstance(body_config, BodyConfig) else load_config(body_config)
        cfg = self.config
        loco = locomotion_settings(cfg)
        scales = {"synapse_weight_scale": loco["synapse_weight_scale"] if synapse_weight_scale is None
                  else synapse_weight_scale,
                  "gap_weight_scale": loco["gap_weight_scale"] if gap_weight_scale is None else gap_weight_scale}
        if database is None:
            from braingo_core.loaders.baaiworm import bundled_database
            database = bundled_database()
        self.sim = Simulation(str(database), config={"model": model, "seed": int(seed), **scales})
        md = self.sim.db.metadata
        self._index = name_index(self.sim.db.get_all_neuron_names())
        self.motor_neurons = tuple(md["motor_neurons"])
        self._motor_ids = parse_neuron_list(list(self.motor_neurons), self._index, "motor_neurons")
        self.muscle_map = SigmoidMuscleMap.from_table(md["neuron_muscle"], self.motor_neurons,
                                                      inhibitory=md.get("inhibitory_neurons", ()), config=cfg)
        self.proprioception = ProprioceptionMap(cfg)
        self._stim_ids = parse_neuron_list(list(self.proprioception.neurons), self._index, "stimulus neurons")
        self.gate = CommandGate.from_parameters(gate_parameters(cfg, self.proprioception.neurons), self._index)
        self.body = CaterpillarBody(cfg)
        self.period_ticks = max(1, int(round(cfg.control_period_s * 1e3 / self.sim.dt_ms)))
        self._all_ids = np.arange(self.sim.n_neurons, dtype=np.int64)
        self._input_pA = np.zeros(self.sim.n_neurons)
        self._lesioned = np.zeros(0, dtype=np.int64)
        self.set_tonic(tonic)
        self.set_lesion(lesion)

    def set_tonic(self, items):
        """Constant drive, ``["AVBL:30", ...]`` (pA); replaces the previous drive (SimulationError on a bad item)."""
        self._tonic_ids, self._tonic_pA = parse_tonic_stimulus(list(items), self._index)

    def set_lesion(self, names):
        """Silence exactly these neurons (the previous lesions are restored first)."""
        ids = parse_neuron_list(list(names), self._index, "lesion")
        if len(self._lesioned):
            self.sim.restore(self._lesioned)
        self._lesioned = ids
        if len(ids):
            self.sim.lesion(ids)

    def reset(self):
        """Brain and body back to their initial state (drive and lesions stay)."""
        self.sim.reset()
        self.body.reset()
        self.proprioception.reset()
        self.gate.reset()

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
        stim = np.empty(len(self._stim_ids))
        angles, head_xy = body.joint_positions(), body.head_pose()[0][:2]
        for k in range(n):
            self.proprioception.currents(angles, head_xy_m=head_xy, contact_N=body.contact_forces(), out=stim)
            stim *= self.gate.factors(sim.voltages_mV(), self.config.control_period_s)
            self._input_pA[:] = 0.0
            np.add.at(self._input_pA, self._tonic_ids, self._tonic_pA)
            np.add.at(self._input_pA, self._stim_ids, stim)
            sim.set_inputs(self._all_ids, self._input_pA)
            sim.run(self.period_ticks)
            motor[k] = sim.voltages_mV()[self._motor_ids]
            self.muscle_map.activations(motor[k], out=act)
            body.step_period(muscles_to_efforts(act, self.config, out=effort))
            t[k] = body.time_s
            joints[k] = angles = body.joint_positions()
            head[k] = head_xy = body.head_pose()[0][:2]
            com[k] = body.center_of_mass()[:2]
        return LoopTrace(t, joints, head, com, motor, self.motor_neurons, tuple(self.config.joints),
                         float(body.body_length_m))
