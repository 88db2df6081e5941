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
``GateSettings(v_half_mV=-40.0, slope_mV=2.0, tau_s=0.3)`` (NamedTuple)
    The sigmoid and low-pass of every channel; its defaults are the only ones in code (config/caterpillar.yaml
    ``proprioception.command_gate`` sets the values the loops use).
``CommandGate(commands, name_index, settings=GateSettings())``
    ``commands``: one item per stimulus channel, a sequence of command neuron names (empty: ungated);
    ``name_index``: neuron name -> id. ``factors(v_mV, dt_s) -> float64[n]`` (0..1) updates the low-pass with
    the soma voltages ``v_mV`` (every neuron, id order) and returns each channel's factor; the first call
    after construction or ``reset()`` starts the low-pass at ``v_mV``.
    ``enabled``: False when no channel is gated; ``spec``: (commands, settings).
``gate_from_config(config, stimulus_neurons) -> (commands, GateSettings)``
    The gate of config/caterpillar.yaml (``proprioception.command_gate`` and each neuron's ``command``) for
    the stimulus channels ``stimulus_neurons``: a tuple of command-name tuples and the settings.
"""
import typing

import numpy as np

from braingo_core.errors import BodyError


class GateSettings(typing.NamedTuple):
    """Gate sigmoid and low-pass: half-open command voltage (mV), slope (mV), low-pass time constant (s)."""
    v_half_mV: float = -40.0
    slope_mV: float = 2.0
    tau_s: float = 0.3


class CommandGate:
    """Per-channel factor from the low-passed voltage of command neurons (see the module docstring)."""

    def __init__(self, commands, name_index, settings=GateSettings()):
        for name, value in settings._asdict().items():
            if isinstance(value, bool) or not isinstance(value, (int, float)) or not np.isfinite(value):
                raise BodyError(f"command gate: {name} must be a finite number, got {value!r}")
        if settings.slope_mV <= 0 or settings.tau_s < 0:
            raise BodyError(f"command gate: need slope_mV > 0 and tau_s >= 0, got {settings.slope_mV}, "
                            f"{settings.tau_s}")
        self.settings = GateSettings(*(float(v) for v in settings))
        commands = tuple(tuple(str(n) for n in c) for c in commands)
        self.spec = (commands, self.settings)
        groups = sorted({c for c in commands if c})
        self._channel_group = np.array([groups.index(c) if c else -1 for c in commands], dtype=np.int64)
        self._members = []
        for group in groups:
            if unknown := [n for n in group if n not in name_index]:
                raise BodyError(f"command gate {list(group)}: unknown neuron(s) {unknown}")
            self._members.append(np.array([name_index[n] for n in group], dtype=np.int64))
        self.enabled = bool(groups)
        self._gated = self._channel_group >= 0
        self._factors = np.ones(len(self._channel_group))
        self.reset()

    def reset(self):
        """Forget the low-passed command voltages (the next ``factors`` call starts from its voltages)."""
        self._v_lp = None

    def factors(self, v_mV, dt_s):
        """Channel factors float64[n] in 0..1 (1 for ungated channels) after one period of ``dt_s`` s."""
        if not self.enabled:
            return self._factors
        v = np.asarray(v_mV, dtype=np.float64)
        mean = np.array([v[ids].mean() for ids in self._members])
        tau_s = self.settings.tau_s
        if self._v_lp is None:
            self._v_lp = mean
        elif tau_s > 0:
            self._v_lp += -np.expm1(-dt_s / tau_s) * (mean - self._v_lp)
        else:
            self._v_lp = mean
        m = 1.0 / (1.0 + np.exp(-(np.nan_to_num(self._v_lp, nan=-np.inf) - self.settings.v_half_mV)
                                / self.settings.slope_mV))
        self._factors[self._gated] = m[self._channel_group[self._gated]]
        return self._factors


def gate_from_config(config, stimulus_neurons):
    """``proprioception.command_gate`` of a BodyConfig: (command names per stimulus channel, GateSettings).

    ``command_gate.commands`` names the command neurons of each command (``forward: [AVBL, AVBR]``);
    a ``proprioception.neurons`` entry with ``command: forward`` is gated by them; other neurons are not.
    """
    section = config.sections["proprioception"]
    gate = section.get("command_gate") or {}
    where = f"{config.path}: proprioception.command_gate"
    if unknown := sorted(set(gate) - {*GateSettings._fields, "commands"}):
        raise BodyError(f"{where}: unknown key(s) {unknown}")
    commands = gate.get("commands") or {}
    if not isinstance(commands, dict) or not all(
            isinstance(v, list) and v and all(isinstance(n, str) for n in v) for v in commands.values()):
        raise BodyError(f"{where}.commands must map a command to a list of neuron names, got {commands!r}")
    neurons = section.get("neurons") or {}
    channels = []
    for name in stimulus_neurons:
        command = (neurons.get(name) or {}).get("command")
        if command is not None and command not in commands:
            raise BodyError(f"{config.path}: proprioception.neurons.{name}.command: {command!r} is not one of "
                            f"command_gate.commands {sorted(commands)}")
        channels.append(tuple(commands[command]) if command is not None else ())
    values = {}
    for key, default in GateSettings._field_defaults.items():
        value = gate.get(key, default)
        if isinstance(value, bool) or not isinstance(value, (int, float)):
            raise BodyError(f"{where}.{key} must be a number, got {value!r}")
        values[key] = float(value)
    return tuple(channels), GateSettings(**values)
