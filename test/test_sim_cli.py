"""`braingo run / snapshot / load-snapshot`, and Simulation's delegation to the C. elegans model."""
import numpy as np
import pytest

from braingo_core.cli import main
from braingo_core.sim import Simulation
from braingo_core.storage import BrainDBBuilder
from sim_nets import graded_net


@pytest.fixture(scope="module")
def db(tmp_path_factory):
    return str(graded_net(tmp_path_factory.mktemp("cli") / "g.braindb"))


def test_run_records_plots_and_snapshots(db, tmp_path, capsys):
    snap, png, npz = tmp_path / "a.snap", tmp_path / "a.png", tmp_path / "a.npz"
    rc = main(["run", db, "-d", "50", "--stimulus", "0:30,L0:400", "--record", "A,3,L1", "--every", "5",
               "--plot", str(png), "--npz", str(npz), "--snapshot", str(snap), "--no-progress"])
    out = capsys.readouterr().out
    assert rc == 0 and "spikes: " in out and "real-time factor" in out and "V range: " in out
    assert png.read_bytes()[:4] == b"\x89PNG"
    with np.load(npz) as f:
        assert f["v_mV"].shape == (100, 3) and list(f["names"]) == ["A", "L0", "L1"]
    assert main(["load-snapshot", db, str(snap), "-d", "10"]) == 0
    assert "restored" in capsys.readouterr().out
    assert main(["snapshot", db, "-d", "5", "--out", str(tmp_path / "b.snap")]) == 0


@pytest.mark.parametrize("argv", [["-d", "-1"], ["--stimulus", "NOPE:3"], ["--stimulus", "A:nan"],
                                  ["--record", "A,ZZZ"], ["--threads", "x"], ["--lesion", "Q"]])
def test_run_bad_input_exit_code(db, argv, capsys):
    assert main(["run", db, "--no-progress"] + argv) == 2
    assert "error" in capsys.readouterr().err


def test_celegans_model_delegates(tmp_path):
    b = BrainDBBuilder(dt_ms=0.025)
    t = b.add_neuron_type("worm", model="celegans")
    comp = [dict(kind="soma", length_um=3.0, diam_um=3.0, ra_ohm_cm=380.0, g_pas_S_cm2=1e-4, e_pas_mV=-60.0)]
    passive = dict(cm_pF=0.28, g_leak_nS=0.028, e_leak_mV=-60.0)     # the lumped soma, for graded mode
    b.add_neuron(name="X", neuron_type=t, compartments=comp, **passive)
    b.add_neuron(name="Y", neuron_type=t, compartments=comp, **passive)
    b.add_gap_junction("X", "Y", 0.5)
    path = b.write(tmp_path / "worm.braindb")
    sim = Simulation(path)
    assert sim.model == "celegans"
    sim.set_neuron_input("X", 2.0)
    sim.record(["X", "Y"], every=4)
    sim.run(400)
    v = sim.voltages_mV()
    assert v[0] > v[1] > -60.0 and sim.recorder.voltages()[1].shape == (100, 2)
    sim.save_snapshot(tmp_path / "w.snap")
    other = Simulation(path)
    other.load_snapshot(tmp_path / "w.snap")
    np.testing.assert_array_equal(other.voltages_mV(), v)
    graded = Simulation(path, {"model": "graded"})
    graded.set_neuron_input("X", 2.0)
    graded.run(400)
    assert graded.model == "graded" and graded.get_neuron_voltage("X") > -60.0
