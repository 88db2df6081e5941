"""One control period of a brain in a body loop, shared by brain_node and the ROS-free ClosedLoop.

API
---
``database_path(database=None) -> str``
    ``database`` as a string, or the bundled worm's .braindb when it is None or empty (built on first use):
    the one place that fallback is decided.
``period_ticks(control_period_s, dt_ms) -> int``
    Simulation ticks per control period; SimulationError unless the period is a positive whole number of
    ticks (a brain and a body that disagree on the period would silently drift apart).
``ControlStep(sim, control_period_s, stimulus_ids=(), gate=None)``
    ``sim``: a Simulation; ``stimulus_ids``: int64 neuron ids of the stimulus channels (/brain/stimulus order);
    ``gate``: a :class:`~braingo_core.body.command_gate.CommandGate` over those channels (None: ungated).
    ``set_tonic(ids, pA)``: constant drive (a neuron listed twice gets the sum); ``set_stimulus_channels(ids,
    gate)``; ``set_lesion(ids)``: silence exactly these neurons; ``step(stimulus_pA=None)``: one period;
    ``reset()``: forget the gate's low-pass.

One period (:meth:`ControlStep.step`): ``input = tonic + stimulus x gate factors`` (the factors from the
command-neuron voltages at the start of the period; no stimulus: tonic only, the gate's low-pass still
advances), clipped to +-``MAX_INPUT_pA``, set on the tonic and stimulus neurons (every other neuron 0 pA),
then ``sim.run(period_ticks)``.
"""
import numpy as np

from braingo_core.body.command_gate import CommandGate
from braingo_core.errors import SimulationError

#: Bound of the total input current of one neuron (pA): sums of large drives stay finite.
MAX_INPUT_pA = 1e6


def database_path(database=None):
    """``database``, or the bundled C. elegans .braindb when it is None or ``""``."""
    if database:
        return str(database)
    from braingo_core.loaders.baaiworm import bundled_database
    return str(bundled_database())


def period_ticks(control_period_s, dt_ms):
    """Ticks of ``dt_ms`` per ``control_period_s``; SimulationError unless a positive whole number."""
    period_ms = float(control_period_s) * 1e3
    ticks = int(round(period_ms / dt_ms)) if np.isfinite(period_ms) and period_ms > 0 else 0
    if ticks < 1 or abs(ticks * dt_ms - period_ms) > 1e-6 * period_ms:
        raise SimulationError(f"control_period_s {control_period_s} is not a positive whole number of the "
                              f"database's {dt_ms} ms ticks")
    return ticks


class ControlStep:
    """Tonic drive + gated stimulus -> inputs -> one control period of ``sim`` (see the module docstring)."""

    def __init__(self, sim, control_period_s, stimulus_ids=(), gate=None):
        self.sim = sim
        self.control_period_s = float(control_period_s)
        self.period_ticks = period_ticks(control_period_s, sim.dt_ms)
        self._input_pA = np.zeros(sim.n_neurons)
        self._tonic_ids, self._tonic_pA = np.zeros(0, np.int64), np.zeros(0)
        self._lesioned = np.zeros(0, np.int64)
        self.set_stimulus_channels(stimulus_ids, gate)

    def _update_input_ids(self):
        # Only these neurons get a current; set_inputs checks every id in Python, so the rest are cleared at once.
        self._input_ids = np.unique(np.concatenate([self._tonic_ids, self.stimulus_ids]).astype(np.int64))

    def set_stimulus_channels(self, ids, gate=None):
        """Stimulus channels: neuron ids int64[n] and their CommandGate (None: all ungated)."""
        self.stimulus_ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self.gate = gate if gate is not None else CommandGate([()] * len(self.stimulus_ids), {})
        self._update_input_ids()

    def set_tonic(self, ids, pA):
        """Constant drive: ``pA`` float[n] into neurons ``ids`` int64[n] (replaces the previous drive)."""
        self._tonic_ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        self._tonic_pA = np.asarray(pA, dtype=np.float64).reshape(-1)
        self._update_input_ids()

    def set_lesion(self, ids):
        """Silence exactly the neurons ``ids`` (the previous lesions are restored first)."""
        ids = np.asarray(ids, dtype=np.int64).reshape(-1)
        if len(self._lesioned):
            self.sim.restore(self._lesioned)
        self._lesioned = ids
        if len(ids):
            self.sim.lesion(ids)

    @property
    def lesioned(self):
        """int64[n] ids of the lesioned neurons."""
        return self._lesioned

    def reset(self):
        """Forget the gate's low-passed command voltages (the simulation is reset by its owner)."""
        self.gate.reset()

    def step(self, stimulus_pA=None):
        """Integrate one control period with ``stimulus_pA`` float[n_channels] (pA, before gating) or None."""
        sim, current = self.sim, self._input_pA
        current[:] = 0.0
        np.add.at(current, self._tonic_ids, self._tonic_pA)
        factors = self.gate.factors(sim.voltages_mV(), self.control_period_s)
        if stimulus_pA is not None:
            np.add.at(current, self.stimulus_ids, stimulus_pA * factors)
        np.clip(np.nan_to_num(current, nan=0.0), -MAX_INPUT_pA, MAX_INPUT_pA, out=current)
        sim.clear_stimulus()
        sim.set_inputs(self._input_ids, current[self._input_ids])
        sim.run(self.period_ticks)
