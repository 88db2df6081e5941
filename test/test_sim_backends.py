"""The backend registry (sim/backends.py): one table read by the config, the CLI and Simulation."""
import subprocess
import sys

import numpy as np
import pytest

from braingo_core.errors import SimulationError
from braingo_core.sim import Simulation
from braingo_core.sim import backends
from braingo_core.sim.config import parse_config
from sim_nets import graded_net


def test_registry_names():
    assert backends.backend_names() == ["celegans", "fly", "graded"]
    assert backends.resolve(None, ["lif", "graded"]) == (backends.POINT, None)
    assert backends.resolve(None, ["celegans"])[0] is backends.BACKENDS["celegans"]
    assert backends.resolve("graded")[0].options == {"neuron_model": "graded"}


@pytest.mark.parametrize("bad", ["foo", "point", 3, ""])
def test_unknown_model_lists_valid_names(tmp_path, bad):
    db = graded_net(tmp_path / "g.braindb")
    for call in (lambda: parse_config({"model": bad}), lambda: Simulation(db, {"model": bad})):
        with pytest.raises(SimulationError, match=r"config model: unknown model .*\['celegans', 'fly', 'graded'\]"):
            call()
    assert issubclass(SimulationError, ValueError)


def test_cli_refuses_unknown_model(tmp_path):
    db = graded_net(tmp_path / "g.braindb")
    out = subprocess.run([sys.executable, "-m", "braingo_core.cli", "run", str(db), "--model", "nope", "-d", "1"],
                         capture_output=True, text=True)
    assert out.returncode == 2
    assert "invalid choice: 'nope'" in out.stderr and "'celegans', 'fly', 'graded'" in out.stderr


def test_new_backend_is_one_entry(tmp_path):
    """A registered backend is selectable by name everywhere and its engine runs the network."""
    db = graded_net(tmp_path / "g.braindb")
    entry = backends.register_backend(backends.Backend("point2", backends.POINT.engine, "the point engine again"))
    try:
        assert "point2" in backends.backend_names()
        assert parse_config({"model": "point2"})["model"] == "point2"
        with pytest.raises(SimulationError, match="exists already"):
            backends.register_backend(entry)
        sims = [Simulation(db, {"model": m, "threads": 1}) for m in (None, "point2")]
        for sim in sims:
            sim.set_neuron_input("A", 40.0)
            sim.set_neuron_input("L0", 600.0)
            sim.run(500)
        assert sims[1].backend is entry and sims[1].model == "point2"
        np.testing.assert_array_equal(sims[0].voltages_mV(), sims[1].voltages_mV())
        assert sims[0].n_spikes == sims[1].n_spikes > 0
    finally:
        del backends.BACKENDS["point2"]
    with pytest.raises(TypeError):
        backends.register_backend("point3")
