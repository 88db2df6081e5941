"""FlyWire loader (the paper's file formats), the seeded FlyWire-like generator and the fly CLI commands."""
import hashlib
import json

import numpy as np
import pytest

from braingo_core.cli import main
from braingo_core.errors import LoaderError
from braingo_core.loaders.flywire import SHIU, load_flywire
from braingo_core.loaders.flywire_like import build_like_flywire, generate
from braingo_core.storage import BrainDB

pa = pytest.importorskip("pyarrow")
import pyarrow.parquet as pq  # noqa: E402

ROOT_IDS = [720575940600000000 + 17 * k for k in range(6)]


def write_fixture(tmp_path, rows=None, columns=None):
    """Completeness_783.csv and Connectivity_783.parquet in the paper's layout (pandas-style index column)."""
    comp = tmp_path / "Completeness_783.csv"
    comp.write_text(",Completed\n" + "".join(f"{i},True\n" for i in ROOT_IDS))
    rows = rows or [(0, 1, 5), (0, 2, -3), (1, 2, 12), (2, 0, 1), (4, 5, -40), (5, 3, 2)]
    pre, post, sc = (list(c) for c in zip(*rows))
    root = dict(enumerate(ROOT_IDS))
    data = {"Presynaptic_ID": [root.get(i, 0) for i in pre], "Postsynaptic_ID": [root.get(i, 0) for i in post],
            "Presynaptic_Index": pre, "Postsynaptic_Index": post, "Connectivity": [abs(x) for x in sc],
            "Excitatory": [int(x > 0) for x in sc], "Excitatory x Connectivity": sc}
    if columns is not None:
        data = {k: v for k, v in data.items() if k in columns}
    con = tmp_path / "Connectivity_783.parquet"
    pq.write_table(pa.table(data), con)
    return comp, con


def test_load_flywire_cli_builds_the_shiu_model(tmp_path, capsys):
    comp, con = write_fixture(tmp_path)
    out = tmp_path / "fly.braindb"
    assert main(["load-flywire", str(comp), str(con), "-o", str(out)]) == 0
    assert "6 neurons, 6 connections" in capsys.readouterr().out
    db = BrainDB(out)
    db.verify()
    assert db.metadata["flywire_ids"] == [str(i) for i in ROOT_IDS]
    syn = np.asarray(db.synapses)
    rp = np.asarray(db.row_ptr, np.int64)
    pre = np.repeat(np.arange(6), np.diff(rp))
    got = sorted(zip(pre.tolist(), syn["post_neuron"].tolist(), syn["base_weight"].tolist()))
    want = sorted((a, b, float(np.float32(c * SHIU["w_syn_mV"]))) for a, b, c in
                  [(0, 1, 5), (0, 2, -3), (1, 2, 12), (2, 0, 1), (4, 5, -40), (5, 3, 2)])
    assert got == want
    assert sorted(syn["count"].tolist()) == [1, 2, 3, 5, 12, 40]
    assert set(syn["delay_ticks"].tolist()) == {18}
    params = db.neuron_types["params"][0]
    assert (params[0], params[1], params[2]) == (-52.0, -45.0, pytest.approx(2.2))
    attrs = db.neuron_attrs
    assert np.all(attrs["cm_pF"] / attrs["g_leak_nS"] == 20.0) and np.all(attrs["e_leak_mV"] == -52.0)
    assert float(db.receptors["tau_decay_ms"][0]) == 5.0


@pytest.mark.parametrize("rows,columns,needle", [
    ([(0, 6, 3)], None, "Postsynaptic_Index = 6 is outside the 6 neurons"),
    ([(0, 1, 0)], None, "Excitatory x Connectivity = 0"),
    (None, ("Presynaptic_Index", "Postsynaptic_Index"), "Excitatory x Connectivity"),
])
def test_load_flywire_rejects_bad_files(tmp_path, rows, columns, needle):
    comp, con = write_fixture(tmp_path, rows, columns)
    with pytest.raises(LoaderError, match=needle):
        load_flywire(comp, con, tmp_path / "x.braindb")


def test_load_flywire_rejects_duplicate_and_missing_ids(tmp_path):
    comp, con = write_fixture(tmp_path)
    with pytest.raises(LoaderError, match="no such file"):
        load_flywire(tmp_path / "missing.csv", con, tmp_path / "x.braindb")
    comp.write_text(",Completed\n1,True\n1,True\n")
    with pytest.raises(LoaderError, match="appears twice"):
        load_flywire(comp, con, tmp_path / "x.braindb")


def test_like_flywire_is_byte_reproducible(tmp_path):
    paths = [build_like_flywire(tmp_path / f"{k}.braindb", 3000, 327_000, seed=s)
             for k, s in (("a", 5), ("b", 5), ("c", 6))]
    digest = [hashlib.sha256(p.read_bytes()).hexdigest() for p in paths]
    assert digest[0] == digest[1] != digest[2]


def test_like_flywire_statistics():
    n, m = 20_000, 2_177_000
    pre, post, cnt = generate(n, m, seed=1)
    assert pre.size == m
    key = pre.astype(np.int64) * n + post
    assert np.all(np.diff(key) > 0) and not np.any(pre == post)         # sorted, no duplicates, no loops
    out_deg, in_deg = np.bincount(pre, minlength=n), np.bincount(post, minlength=n)
    assert out_deg.mean() == pytest.approx(108.85, abs=0.01)
    assert out_deg.max() > 10 * out_deg.mean() and in_deg.max() > 10 * in_deg.mean()      # heavy tails
    sign = np.sign(cnt)
    first = np.r_[0, np.flatnonzero(np.diff(pre)) + 1]
    per_neuron = np.repeat(sign[first], np.diff(np.r_[first, m]))
    assert np.array_equal(per_neuron, sign)                 # Dale's law: one sign per presynaptic neuron
    assert 0.65 < np.mean(sign > 0) < 0.75 and np.all(cnt != 0)


def test_build_like_flywire_and_run_fly_cli(tmp_path, capsys):
    db_path = tmp_path / "like.braindb"
    assert main(["build", str(db_path), "--like", "flywire", "--neurons", "2000", "--seed", "2"]) == 0
    assert "2000 neurons, 217716 synapses" in capsys.readouterr().out
    npz = tmp_path / "spikes.npz"
    assert main(["run-fly", str(db_path), "-d", "100", "--drive", "0,1,2,3,4", "--npz", str(npz)]) == 0
    report = json.loads(capsys.readouterr().out)
    spikes = np.load(npz)
    assert report["spikes"] == spikes["ids"].size > 50
    assert set(range(5)) <= set(spikes["ids"].tolist())
    assert spikes["times_ms"].max() < 100.0
