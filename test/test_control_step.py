"""ControlStep: one control period (tonic + gated stimulus -> inputs -> run), the period check, database fallback."""
import numpy as np
import pytest

from braingo_core.body.command_gate import CommandGate, GateSettings
from braingo_core.body.control_step import MAX_INPUT_pA, ControlStep, database_path, period_ticks
from braingo_core.errors import SimulationError
from braingo_core.sim import Simulation


def test_period_must_be_whole_ticks():
    assert period_ticks(0.01, 0.1) == 100 and period_ticks(0.02, 0.1) == 200
    for bad in (0.01005, 0.0, -0.01, float("nan"), float("inf"), 1e-6):
        with pytest.raises(SimulationError, match="control_period_s"):
            period_ticks(bad, 0.1)


def test_database_fallback_is_the_bundled_worm(tmp_path):
    assert database_path(str(tmp_path / "x.braindb")) == str(tmp_path / "x.braindb")
    assert database_path("").endswith(".braindb") and database_path(None) == database_path("")


def test_step_applies_tonic_and_gated_stimulus(small_db_path):
    sim = Simulation(small_db_path, config={"model": None})
    shut = CommandGate([("N05",), ()], {f"N{i:02d}": i for i in range(20)}, GateSettings(v_half_mV=100.0))
    step = ControlStep(sim, 0.01, stimulus_ids=[0, 1], gate=shut)
    step.set_tonic([3, 3], [10.0, 5.0])                     # a neuron listed twice gets the sum
    step.step(np.array([50.0, 40.0]))
    current = sim._eng.i_ext
    assert sim.tick == 100
    assert current[3] == 15.0 and current[1] == 40.0 and 0.0 <= current[0] < 1e-6 * 50.0   # channel 0 gated shut
    assert np.count_nonzero(current[2:] != 0) == 1            # nothing else gets a current
    step.step(None)                                         # stale stimulus: tonic only
    assert sim._eng.i_ext[1] == 0.0 and sim._eng.i_ext[3] == 15.0 and sim.tick == 200
    step.set_tonic([2, 2], [1e308, 1e308])                  # the sum overflows: clipped, never inf
    step.step(np.array([1e308, 1e308]))
    assert sim._eng.i_ext[2] == MAX_INPUT_pA and np.isfinite(sim._eng.i_ext).all()
    step.set_lesion([4])
    step.set_lesion([])
    assert len(step.lesioned) == 0
