"""Command-state gate of the proprioceptive input: a motor neuron's receptor current counts only while its
command interneurons are depolarised (AVB for the forward B-class, AVA for the backward A-class).

``I_in = I_receptor * m``, ``m = 1 / (1 + exp(-(V_cmd - v_half_mV) / slope_mV))``, where ``V_cmd`` (mV) is
the mean soma voltage of the channel's command neurons, low-passed with ``tau_s`` and read at the start of
each control period. Without the gate every class's stretch receptors respond to every bend: the A-class
answer the forward wave and the B-class the backward one, and the two circuits spoil each other through
the body. The operating-point lift through the gap junctions (AVB raises the B-class by 7-13 mV) cannot
hold back receptor currents of tens of pA, since the motor neurons' input resistance is about 1 mV/pA.
The gate is applied where the current enters the brain (brain_node, ClosedLoop), so it reads the
simulated command voltages of the very period it scales, in both the ROS and the ROS-free loop.

API
---
``CommandGate(gates, name_index, v_half_mV=-40.0, slope_mV=2.0, tau_s=0.3)``
    ``gates``: one item per stimulus channel, ``""`` (ungated) or command neuron names joined by ``+``
    (``"AVAL+AVAR"``); ``name_index``: neuron name -> id. ``factors(v_mV, dt_s) -> float64[n]`` (0..1)
    updates the low-pass with the soma voltages ``v_mV`` (every neuron, id order) and returns each
    channel's factor; the first call after construction or ``reset()`` starts the low-pass at ``v_mV``.
    ``enabled``: False when no channel is gated; ``spec``: (gates, v_half_mV, slope_mV, tau_s).
``CommandGate.from_parameters(p, name_index)``
    From a dict with the keys of :func:`gate_parameters` (the brain node's parameters).
``gate_parameters(config, stimulus_neurons) -> dict``
    The gate of config/caterpillar.yaml (``proprioception.command_gate`` and each neuron's ``command``) as
    the brain node's parameters ``stimulus_gates``, ``stimulus_gate_v_half_mV``, ``stimulus_gate_slope_mV``,
    ``stimulus_gate_tau_s``.
"""
import numpy as np

from braingo_core.errors import BodyError

#: Defaults of ``proprioception.command_gate`` (and of the brain node's gate parameters).
GATE_DEFAULTS = {"v_half_mV": -40.0, "slope_mV": 2.0, "tau_s": 0.3}


class CommandGate:
    """Per-channel factor from the low-passed voltage of command neurons (see the module docstring)."""

    def __init__(self, gates, name_index, v_half_mV=GATE_DEFAULTS["v_half_mV"],
                 slope_mV=GATE_DEFAULTS["slope_mV"], tau_s=GATE_DEFAULTS["tau_s"]):
        for name, value in (("v_half_mV", v_half_mV), ("slope_mV", slope_mV), ("tau_s", tau_s)):
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise BodyError(f"command gate: {name} must be a finite number, got {value!r}")
        if slope_mV <= 0 or tau_s < 0:
            raise BodyError(f"command gate: need slope_mV > 0 and tau_s >= 0, got {slope_mV}, {tau_s}")
        self.v_half_mV, self.slope_mV, self.tau_s = float(v_half_mV), float(slope_mV), float(tau_s)
        self.spec = (tuple(gates), self.v_half_mV, self.slope_mV, self.tau_s)
        groups = sorted({g for g in gates if g})
        self._channel_group = np.array([groups.index(g) if g else -1 for g in gates], dtype=np.int64)
        self._members = []
        for group in groups:
            names = group.split("+")
            if unknown := [n for n in names if n not in name_index]:
                raise BodyError(f"command gate {group!r}: unknown neuron(s) {unknown}")
            self._members.append(np.array([name_index[n] for n in names], dtype=np.int64))
        self.enabled = bool(groups)
        self._gated = self._channel_group >= 0
        self._factors = np.ones(len(self._channel_group))
        self.reset()

    @classmethod
    def from_parameters(cls, p, name_index):
        """Gate from ``stimulus_gates`` and ``stimulus_gate_{v_half_mV,slope_mV,tau_s}`` of ``p``."""
        return cls(p["stimulus_gates"], name_index,
                   **{key: p[f"stimulus_gate_{key}"] for key in GATE_DEFAULTS})

    def reset(self):
        """Forget the low-passed command voltages (the next ``factors`` call starts from its voltages)."""
        self._v_lp = None

    def factors(self, v_mV, dt_s):
        """Channel factors float64[n] in 0..1 (1 for ungated channels) after one period of ``dt_s`` s."""
        if not self.enabled:
            return self._factors
        v = np.asarray(v_mV, dtype=np.float64)
        mean = np.array([v[ids].mean() for ids in self._members])
        if self._v_lp is None:
            self._v_lp = mean
        elif self.tau_s > 0:
            self._v_lp += -np.expm1(-dt_s / self.tau_s) * (mean - self._v_lp)
        else:
            self._v_lp = mean
        m = 1.0 / (1.0 + np.exp(-(np.nan_to_num(self._v_lp, nan=-np.inf) - self.v_half_mV) / self.slope_mV))
        self._factors[self._gated] = m[self._channel_group[self._gated]]
        return self._factors


def gate_parameters(config, stimulus_neurons):
    """``proprioception.command_gate`` of a BodyConfig as brain-node parameters, one gate per stimulus neuron.

    ``command_gate.commands`` names the command neurons of each command (``forward: [AVBL, AVBR]``);
    a ``proprioception.neurons`` entry with ``command: forward`` is gated by them; other neurons are not.
    """
    section = config.sections["proprioception"]
    gate = section.get("command_gate") or {}
    where = f"{config.path}: proprioception.command_gate"
    if unknown := sorted(set(gate) - {*GATE_DEFAULTS, "commands"}):
        raise BodyError(f"{where}: unknown key(s) {unknown}")
    commands = gate.get("commands") or {}
    if not isinstance(commands, dict) or not all(
            isinstance(v, list) and v and all(isinstance(n, str) for n in v) for v in commands.values()):
        raise BodyError(f"{where}.commands must map a command to a list of neuron names, got {commands!r}")
    neurons = section.get("neurons") or {}
    gates = []
    for name in stimulus_neurons:
        command = (neurons.get(name) or {}).get("command")
        if command is not None and command not in commands:
            raise BodyError(f"{config.path}: proprioception.neurons.{name}.command: {command!r} is not one of "
                            f"command_gate.commands {sorted(commands)}")
        gates.append("+".join(commands[command]) if command is not None else "")
    out = {"stimulus_gates": gates}
    for key, default in GATE_DEFAULTS.items():
        value = gate.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BodyError(f"{where}.{key} must be a number, got {value!r}")
        out[f"stimulus_gate_{key}"] = float(value)
    return out
