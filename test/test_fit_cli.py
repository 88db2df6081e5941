"""`braingo fit` end to end: a short fit writes a valid fitted .braindb with provenance; bad input, one line."""
import hashlib
import os

import numpy as np
import pytest

pytest.importorskip("torch")

from braingo_core.cli import main  # noqa: E402
from braingo_core.fit.write import rebuild  # noqa: E402
from braingo_core.loaders.baaiworm import bundled_database  # noqa: E402
from braingo_core.sim import Simulation  # noqa: E402
from braingo_core.storage import BrainDB  # noqa: E402

EWORM = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "baaiworm", "eworm")
CB2022 = os.path.join(EWORM, "components", "cb2022_data")
needs_data = pytest.mark.skipif(not os.path.isdir(CB2022), reason="../shared/baaiworm/eworm not present")
SEGMENTS = ("neuron_attrs", "compartments", "synapses", "gap_junctions", "regions", "neuron_types", "receptors",
            "row_ptr", "col_idx")


@pytest.fixture(scope="module")
def worm_path(tmp_path_factory):
    return str(bundled_database(tmp_path_factory.mktemp("worm")))


def test_rebuild_copies_every_record(worm_path, tmp_path):
    db = BrainDB(worm_path)
    copy = BrainDB(rebuild(db).write(tmp_path / "copy.braindb"))
    for seg in SEGMENTS:
        assert np.asarray(getattr(copy, seg)).tobytes() == np.asarray(getattr(db, seg)).tobytes(), seg
    assert copy.metadata == db.metadata


@needs_data
def test_fit_command_writes_fitted_database(worm_path, tmp_path, capsys):
    out, png = tmp_path / "fitted.braindb", tmp_path / "fit.png"
    rc = main(["fit", worm_path, "--target", EWORM, "--out", str(out), "--epochs", "2", "--holdout-neurons", "5",
               "--seed", "3", "--duration-s", "3", "--plot", str(png), "--no-progress"])
    text = capsys.readouterr().out
    assert rc == 0 and "wrote" in text and "held out:" in text
    src, fitted = BrainDB(worm_path), BrainDB(out)
    assert fitted.verify()
    meta = fitted.metadata["fit"]
    sha = hashlib.sha256(b"".join(open(os.path.join(CB2022, f), "rb").read() for f in (
        "Ca_corr_mat.txt", "Ca_corr_mat_cell_name.txt", "Ca_traces_time.txt"))).hexdigest()
    assert meta["target"]["sha256"] == sha and meta["seed"] == 3 and len(meta["heldout_neurons"]) == 5
    assert len(meta["loss_history"]) == 2 and all(0 < x < 2 for x in meta["loss_history"])
    assert meta["settings"]["resample_drive"] and meta["protocol"]["duration_s"] == 3.0
    assert meta["n_params"] <= 1500 and {"torch", "numpy", "braingo_core"} <= set(meta["versions"])
    assert fitted.metadata["graded_weight_scales"] == {"synapse_weight_scale": 1.0, "gap_weight_scale": 1.0}
    # weights changed, structure and signs kept
    a, b = np.asarray(src.synapses), np.asarray(fitted.synapses)
    assert np.array_equal(a["receptor_type"], b["receptor_type"]) and np.array_equal(a["pre_neuron"], b["pre_neuron"])
    assert not np.allclose(a["base_weight"], b["base_weight"]) and np.all(np.sign(b["base_weight"]) >= 0)
    g = np.asarray(fitted.gap_junctions)["weight_nS"]
    assert np.all(g >= 0) and not np.allclose(g, np.asarray(src.gap_junctions)["weight_nS"])
    assert png.stat().st_size > 10_000 and png.read_bytes()[:4] == b"\x89PNG"
    sim = Simulation(fitted, {"model": "graded"})
    sim.run_ms(200)
    assert np.all(np.isfinite(sim.voltages_mV()))


@pytest.mark.parametrize("target, match", [("nowhere", "no such file or directory"),
                                           ("square", "not square")])
def test_fit_command_bad_target_one_line(worm_path, tmp_path, capsys, target, match):
    if target == "square":
        path = tmp_path / "bad.npz"
        np.savez(path, names=np.asarray(BrainDB(worm_path).get_all_neuron_names()[:12]), corr=np.ones((12, 11)))
    else:
        path = tmp_path / target
    rc = main(["fit", worm_path, "--target", str(path), "--out", str(tmp_path / "o.braindb"), "--no-progress"])
    err = capsys.readouterr().err
    assert rc == 2 and match in err and err.count("\n") == 1 and err.startswith("braingo fit: error:")
    assert not (tmp_path / "o.braindb").exists()
