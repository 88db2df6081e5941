"""Command gate of the proprioceptive input: sigmoid of the low-passed command voltage, config -> parameters."""
import copy
import dataclasses

import numpy as np
import pytest

from braingo_core.body.command_gate import CommandGate, GateSettings, gate_from_config
from braingo_core.body.description import load_config
from braingo_core.body.senses import SensoryInput
from braingo_core.errors import BodyError

INDEX = {"AVAL": 0, "AVAR": 1, "AVBL": 2, "AVBR": 3, "DA01": 4}


def test_factors_follow_the_command_voltage():
    ava, avb = ("AVAL", "AVAR"), ("AVBL", "AVBR")
    gate = CommandGate([ava, (), avb, ava], INDEX, GateSettings(v_half_mV=-40.0, slope_mV=2.0, tau_s=0.3))
    v = np.array([-30.0, -50.0, -53.0, -53.0, 0.0])           # AVA mean -40 mV: half open; AVB shut
    f = gate.factors(v, 0.01).copy()                          # the first call starts the low-pass at v
    assert f == pytest.approx([0.5, 1.0, 1 / (1 + np.exp(6.5)), 0.5])
    v[:2] = -30.0                                             # AVA steps up by 10 mV: the gate opens over tau
    f1 = gate.factors(v, 0.01)[0]
    v_lp = -40.0 + 10.0 * -np.expm1(-0.01 / 0.3)
    assert f1 == pytest.approx(1 / (1 + np.exp(-(v_lp + 40.0) / 2.0)))
    for _ in range(1000):
        gate.factors(v, 0.01)
    assert gate.factors(v, 0.01)[0] == pytest.approx(1 / (1 + np.exp(-5.0)), rel=1e-6)
    gate.reset()
    v[:2] = np.nan                                            # a diverged command neuron shuts its gate
    assert gate.factors(v, 0.01)[0] == 0.0


def test_ungated_and_bad_gates():
    gate = CommandGate([(), ()], INDEX)
    assert not gate.enabled and list(gate.factors(np.zeros(5), 0.01)) == [1.0, 1.0]
    instant = CommandGate([("AVBL",)], INDEX, GateSettings(tau_s=0.0))
    instant.factors(np.full(5, -60.0), 0.01)
    assert instant.factors(np.full(5, -20.0), 0.01)[0] == pytest.approx(1 / (1 + np.exp(-10.0)))
    with pytest.raises(BodyError, match="AVBX"):
        CommandGate([("AVBL", "AVBX")], INDEX)
    with pytest.raises(BodyError, match="slope_mV"):
        CommandGate([("AVBL",)], INDEX, GateSettings(slope_mV=0.0))
    with pytest.raises(BodyError, match="tau_s"):
        CommandGate([("AVBL",)], INDEX, GateSettings(tau_s=float("nan")))


def test_gate_from_the_body_config():
    cfg = load_config()
    neurons = SensoryInput(cfg).neurons
    commands, settings = gate_from_config(cfg, neurons)
    gates = dict(zip(neurons, commands))
    assert gates["DA01"] == gates["VA12"] == ("AVAL", "AVAR")
    assert gates["DB01"] == gates["VB11"] == ("AVBL", "AVBR")
    assert gates["ALML"] == gates["PLMR"] == ()               # touch is not gated
    gate_cfg = cfg.sections["proprioception"]["command_gate"]
    assert settings.v_half_mV == gate_cfg["v_half_mV"] and settings.tau_s == gate_cfg["tau_s"]


def _with(cfg, edit):
    sections = copy.deepcopy(cfg.sections)
    edit(sections["proprioception"])
    return dataclasses.replace(cfg, sections=sections)


def test_gate_from_config_rejects_bad_config():
    cfg = load_config()
    neurons = SensoryInput(cfg).neurons
    bad_command = _with(cfg, lambda p: p["neurons"]["DA01"].update(command="sideways"))
    with pytest.raises(BodyError, match="DA01.command: 'sideways'"):
        gate_from_config(bad_command, neurons)
    bad_key = _with(cfg, lambda p: p["command_gate"].update(v_half=-40))
    with pytest.raises(BodyError, match="unknown key"):
        gate_from_config(bad_key, neurons)
    bad_commands = _with(cfg, lambda p: p["command_gate"].update(commands={"forward": "AVBL"}))
    with pytest.raises(BodyError, match="commands"):
        gate_from_config(bad_commands, neurons)
    no_gate = _with(cfg, lambda p: p.pop("command_gate"))
    with pytest.raises(BodyError, match="DA01.command"):                # commands named but none defined
        gate_from_config(no_gate, neurons)
