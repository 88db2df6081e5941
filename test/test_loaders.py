"""BAAIWorm directory loader (bundled data, a real eworm/ directory, bad input), bundled database cache,
CSV/JSON connectome loader and the load-worm/load-csv commands."""
import json
import os
import shutil
from pathlib import Path

import numpy as np
import openpyxl
import pytest

from braingo_core.cli import main as cli_main
from braingo_core.errors import LoaderError
from braingo_core.loaders.baaiworm import MUSCLE_NAMES, BAAIWormLoader, bundled_database
from braingo_core.loaders.connectome_csv import ConnectomeLoader
from braingo_core.storage import BrainDB, BrainDBBuilder
from braingo_core.storage import records as rec

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "celegans"
EWORM = Path(os.environ.get("BRAINGO_EWORM_DIR", ROOT.parent / "shared" / "baaiworm" / "eworm"))


@pytest.fixture(scope="module")
def worm(tmp_path_factory):
    path = tmp_path_factory.mktemp("worm") / "celegans.braindb"
    BAAIWormLoader.load_from_dir(DATA).into_braindb(path)
    return BrainDB(path)


def test_worm_counts_and_names(worm):
    assert worm.neuron_count() == 302 and worm.compartment_count() == 604
    assert worm.synapse_count() == 3709 and worm.gap_junction_count() == 1091
    assert int(worm.synapses["count"].sum()) == 20965
    assert worm.get_neuron_name(0) == "I1L" and worm.neuron_id("AVAL") == 178
    assert len(worm.neurons(cls="motor")) == 116 and len(worm.neurons(cls="sensory")) == 83
    meta = worm.metadata
    for key in ("neuron_names", "neuron_classes", "neurotransmitter", "motor_neurons", "sensory_neurons",
                "muscle_names", "neuron_muscle", "positions_um"):
        assert key in meta, key
    assert meta["muscle_names"] == MUSCLE_NAMES and len(MUSCLE_NAMES) == 96 and MUSCLE_NAMES[0] == "DL01"
    w = np.array(meta["neuron_muscle"]["weights"])
    assert w.shape == (162, 96) and w.sum() == 5515 and not w[:, MUSCLE_NAMES.index("VL24")].any()
    assert len(meta["positions_um"]) == 302
    assert all(int(t["model"]) == 4 for t in worm.neuron_types)          # celegans


def test_worm_weights_and_signs(worm):
    s = worm.synapses
    n = s["count"].astype(float)
    expected = np.round(23.91 * np.tanh(0.02285 * n * 0.5)) * 0.5
    assert np.allclose(s["base_weight"], expected)
    assert (s["base_weight"][s["count"] == 1] == 0).all() and (s["syn_type"] == rec.SYN_GRADED).all()
    inh = worm.metadata["receptor_names"].index("inh")
    pre_names = np.array(worm.get_all_neuron_names())[s["pre_neuron"]]
    assert (s["receptor_type"][np.isin(pre_names, ["DD01", "VD05", "RMED"])] == inh).all()
    assert (s["receptor_type"][np.isin(pre_names, ["SMDDL", "AVAL"])] != inh).all()
    g = worm.gap_junctions
    assert (g["pre"] < g["post"]).all()
    soma = worm.neuron_attrs["first_comp_id"]
    assert (g["pre_comp"] == soma[g["pre"]] + 1).all()             # contacts on the neurite
    comps = worm.compartments
    assert comps["kind"][0] == 0 and comps["parent"][1] == 0 and comps["length_um"][1] == 150.0


@pytest.mark.skipif(not (EWORM / "network/config.json").exists(), reason="BAAIWorm eworm directory not available")
def test_real_baaiworm_directory(worm, tmp_path):
    path = BAAIWormLoader.load_from_dir(EWORM).into_braindb(tmp_path / "eworm.braindb")
    db = BrainDB(path)
    assert db.neuron_count() == 302 and db.synapse_count() == 3709 and db.gap_junction_count() == 1091
    for field in ("pre_neuron", "post_neuron", "count", "base_weight"):
        assert np.array_equal(db.synapses[field], worm.synapses[field])
    aval = db.neuron_id("AVAL")
    soma = db.compartments[int(db.neuron_attrs["first_comp_id"][aval])]
    assert soma["gbar_S_cm2"][rec.CELEGANS_CHANNELS.index("slo1_unc2")] == pytest.approx(0.06)
    assert soma["cm_uF_cm2"] == 8.0
    assert len(db.metadata["neuron_muscle"]["neurons"]) == 80


def test_bundled_database_cache(tmp_path, monkeypatch):
    cache = tmp_path / "cache"
    first = bundled_database(cache)
    mtime = first.stat().st_mtime_ns
    assert bundled_database(cache) == first and first.stat().st_mtime_ns == mtime
    assert BrainDB(first).synapse_count() == 3709
    copy = tmp_path / "celegans"
    shutil.copytree(DATA, copy)
    cell = copy / "components/param/cell/AVAL.json"
    data = json.loads(cell.read_text())
    data["soma"]["epas"] = -45.0
    cell.write_text(json.dumps(data))
    monkeypatch.setenv("BRAINGO_CELEGANS_DIR", str(copy))
    changed = bundled_database(cache)
    assert changed != first and BrainDB(changed).neuron_attrs["e_leak_mV"][178] == -45.0


# ----------------------------------------------------------------------------- bad BAAIWorm input
NAMES = ["AA", "BB", "CC"]


def _mini_dir(root, chem=None, gap=None, sheets=("Neurons", "chemical", "gapjunction")):
    """A 3-neuron BAAIWorm-layout directory (cell JSONs copied from the bundled defaults)."""
    (root / "network").mkdir(parents=True)
    (root / "cells").mkdir()
    config = {"cell_info": {"cells_name_dic": {str(i): n for i, n in enumerate(NAMES)}},
              "dir_info": {"cell_param_dir": "cells/", "adj_matrix_dir": "si5.xlsx", "synapse_sheet": "chemical",
                           "gap_junction_sheet": "gapjunction", "neuron_info": "neurons.csv"},
              "cnt_info": json.loads((DATA / "network/config.json").read_text())["cnt_info"]}
    (root / "network/config.json").write_text(json.dumps(config))
    for n in NAMES:
        shutil.copy(DATA / "components/param/cell/AVAL.json", root / "cells" / f"{n}.json")
    (root / "neurons.csv").write_text("name,class,neurotransmitter,inhibitory,x_um,y_um,z_um\n"
                                      "AA,sensory,ACh,0,0,-250,0\nBB,inter,GABA,1,0,0,0\nCC,motor,ACh,0,0,350,0\n")
    chem = chem if chem is not None else [[None, *NAMES], ["AA", None, 4, None], ["BB", None, None, 2],
                                          ["CC", 1, None, None]]
    gap = gap if gap is not None else [[None, *NAMES], ["AA", None, 3, None], ["BB", 3, None, None],
                                       ["CC", None, None, None]]
    wb = openpyxl.Workbook()
    wb.remove(wb.active)
    for title, rows in zip(sheets, ([["Neuroname"], *[[n] for n in NAMES]], chem, gap)):
        ws = wb.create_sheet(title)
        for r in rows:
            ws.append(r)
    wb.save(root / "si5.xlsx")
    return root


def test_mini_directory_loads(tmp_path):
    loader = BAAIWormLoader.load_from_dir(_mini_dir(tmp_path / "d"))
    db = BrainDB(loader.into_braindb(tmp_path / "m.braindb"))
    assert db.synapse_count() == 3 and db.gap_junction_count() == 1
    inh = db.metadata["receptor_names"].index("inh")
    assert db.out_synapses(1)["receptor_type"][0] == inh and db.out_synapses(0)["receptor_type"][0] != inh
    assert db.metadata["region_names"][db.neuron_attrs["region_id"][2]] == "tail"


def _expect(tmp_path, match, chem=None, gap=None, sheets=("Neurons", "chemical", "gapjunction"), mutate=None):
    root = _mini_dir(tmp_path / "bad", chem, gap, sheets)
    if mutate:
        mutate(root)
    with pytest.raises(LoaderError, match=match):
        BAAIWormLoader.load_from_dir(root)


def test_missing_config(tmp_path):
    _expect(tmp_path, r"config\.json: cannot read", mutate=lambda r: (r / "network/config.json").unlink())


def test_missing_cell_json(tmp_path):
    _expect(tmp_path, r"BB\.json: cannot read", mutate=lambda r: (r / "cells/BB.json").unlink())


def test_sheet_renamed(tmp_path):
    _expect(tmp_path, r"si5\.xlsx: no sheet 'gapjunction'", sheets=("Neurons", "chemical", "gap junctions"))


def test_non_square_matrix(tmp_path):
    chem = [[None, *NAMES], ["AA", None, 4, None], ["BB", None, None, 2]]
    _expect(tmp_path, r"sheet chemical: matrix is 2 x 3 labels, not square", chem=chem)


def test_mislabelled_matrix(tmp_path):
    chem = [[None, *NAMES], ["BB", None, 4, None], ["AA", None, None, 2], ["CC", 1, None, None]]
    _expect(tmp_path, r"sheet chemical: row label A2 'BB' differs from column label B1 'AA'", chem=chem)


def test_names_absent_from_other_sheet(tmp_path):
    gap = [[None, "AA", "BB", "DD"], ["AA", None, 3, None], ["BB", 3, None, None], ["DD", None, None, None]]
    _expect(tmp_path, r"sheet gapjunction: label\(s\) \['DD'\] are not neurons", gap=gap)


def test_negative_count(tmp_path):
    chem = [[None, *NAMES], ["AA", None, -4, None], ["BB", None, None, 2], ["CC", 1, None, None]]
    _expect(tmp_path, r"sheet chemical, cell C2 \(AA -> BB\): -4 is not a count", chem=chem)


def test_non_numeric_count(tmp_path):
    chem = [[None, *NAMES], ["AA", None, 4, None], ["BB", None, None, "two"], ["CC", 1, None, None]]
    _expect(tmp_path, r"cell D3 \(BB -> CC\): 'two' is not a count", chem=chem)


def test_asymmetric_gap_sheet(tmp_path):
    gap = [[None, *NAMES], ["AA", None, 3, None], ["BB", 2, None, None], ["CC", None, None, None]]
    _expect(tmp_path, r"sheet gapjunction: not symmetric", gap=gap)


# ----------------------------------------------------------------------------- CSV / JSON
def _write(path, text):
    path.write_text(text)
    return path


NEURON_TABLE = "name,model,region,class\nA,lif,head,sensory\nB,lif,head,inter\nC,izhikevich,tail,motor\n"
EDGES = ("pre_id,post_id,weight,delay_ms,syn_type,receptor_type\n"
         "A,B,1.5,1.0,spike,exc\nB,C,2,0.5,spike,inh\nC,A,0.3,,gap,\n2,0,0.7,2.0,graded,exc\n")


def test_csv_with_neuron_table(tmp_path):
    b = BrainDBBuilder(dt_ms=0.1)
    summary = ConnectomeLoader.load_csv(_write(tmp_path / "e.csv", EDGES), b,
                                        neurons=_write(tmp_path / "n.csv", NEURON_TABLE))
    assert summary == {"neurons": 3, "synapses": 3, "gap_junctions": 1}
    db = BrainDB(b.write(tmp_path / "c.braindb"))
    assert db.get_all_neuron_names() == ["A", "B", "C"] and list(db.neurons(cls="motor")) == [2]
    s = db.synapses
    assert list(zip(s["pre_neuron"], s["post_neuron"], s["delay_ticks"])) == [(0, 1, 10), (1, 2, 5), (2, 0, 20)]
    assert s["syn_type"][2] == rec.SYN_GRADED and db.metadata["receptor_names"][s["receptor_type"][1]] == "inh"
    assert db.gap_junctions["weight_nS"][0] == pytest.approx(0.3)


def test_csv_infers_neurons_from_ids(tmp_path):
    b = BrainDBBuilder()
    ConnectomeLoader.load_csv(_write(tmp_path / "e.csv", "pre_id,post_id,weight\n0,4,1\n3,1,2\n"), b)
    db = BrainDB(b.write(tmp_path / "c.braindb"))
    assert db.neuron_count() == 5 and db.synapse_count() == 2


@pytest.mark.parametrize("text, match", [
    ("pre_id,weight\nA,1\n", r"e\.csv: missing column\(s\) \['post_id'\]"),
    ("pre_id,post_id,wieght\nA,B,1\n", r"unknown column\(s\) \['wieght'\]"),
    ("pre_id,post_id,weight\nA,B,1\nA,7,1\n", r"e\.csv, line 3, column post_id: unknown neuron id 7"),
    ("pre_id,post_id,weight\nA,B,1\nA,ZZ,1\n", r"e\.csv, line 3, column post_id: unknown neuron 'ZZ'"),
    ("pre_id,post_id,weight,delay_ms\nA,B,1,1\nB,C,1,-2\n", r"line 3, column delay_ms: negative delay"),
    ("pre_id,post_id,weight,delay_ms\nA,B,1,soon\n", r"line 2, column delay_ms: 'soon' is not a number"),
    ("pre_id,post_id,weight\nA,B,heavy\n", r"line 2, column weight: 'heavy' is not a number"),
    ("pre_id,post_id,weight\nA,B,nan\n", r"line 2, column weight: 'nan' is not finite"),
    ("pre_id,post_id,weight,syn_type\nA,B,1,chemical\n", r"line 2, column syn_type: 'chemical'"),
    ("pre_id,post_id,weight,receptor_type\nA,B,1,nmda\n", r"line 2, column receptor_type: unknown receptor"),
    ("pre_id,post_id,weight\nA,B\n", r"line 2: 2 fields, header has 3"),
])
def test_csv_bad_input(tmp_path, text, match):
    neurons = _write(tmp_path / "n.csv", NEURON_TABLE)
    with pytest.raises(LoaderError, match=match):
        ConnectomeLoader.load_csv(_write(tmp_path / "e.csv", text), BrainDBBuilder(), neurons=neurons)


def test_json_loader(tmp_path):
    doc = {"neurons": [{"name": "A"}, {"name": "B", "class": "motor"}],
           "synapses": [{"pre_id": "A", "post_id": "B", "weight": 2.0, "delay_ms": 1.0},
                        {"pre_id": 1, "post_id": 0, "weight": 1.0, "delay_ms": 0.2}]}
    b = BrainDBBuilder()
    assert ConnectomeLoader.load_json(_write(tmp_path / "n.json", json.dumps(doc)), b)["synapses"] == 2
    db = BrainDB(b.write(tmp_path / "j.braindb"))
    assert list(db.synapses["delay_ticks"]) == [10, 2] and list(db.neurons(cls="motor")) == [1]
    doc["synapses"][1]["delay_ms"] = -1
    with pytest.raises(LoaderError, match=r"synapses\[1\], column delay_ms: negative delay"):
        ConnectomeLoader.load_json(_write(tmp_path / "bad.json", json.dumps(doc)), BrainDBBuilder())
    del doc["synapses"][0]["weight"]
    with pytest.raises(LoaderError, match=r"synapses\[0\]: missing column\(s\) \['weight'\]"):
        ConnectomeLoader.load_json(_write(tmp_path / "bad.json", json.dumps(doc)), BrainDBBuilder())


def test_cli_load_worm_and_csv(tmp_path, capsys):
    out = tmp_path / "celegans.braindb"
    assert cli_main(["load-worm", "--output", str(out)]) == 0
    assert "302 neurons, 604 compartments, 3709 synapses, 1091 gap junctions" in capsys.readouterr().out
    assert cli_main(["info", str(out)]) == 0
    info = capsys.readouterr().out
    assert "Synapses:      3709" in info and "Compartments:  604" in info
    edges, table = _write(tmp_path / "e.csv", EDGES), _write(tmp_path / "n.csv", NEURON_TABLE)
    assert cli_main(["load-csv", str(edges), "--neurons", str(table), "--output", str(tmp_path / "c.braindb")]) == 0
    assert cli_main(["load-csv", str(_write(tmp_path / "x.csv", "pre,post\n")), "--output",
                     str(tmp_path / "x.braindb")]) == 2
    assert "missing column" in capsys.readouterr().err


def test_bundled_database_refuses_a_planted_cache_file(tmp_path):
    """A file planted under the cache name (another network, a corrupt copy, a symlink) is rebuilt."""
    import conftest
    cache = tmp_path / "cache"
    path = bundled_database(cache)
    good = path.read_bytes()
    conftest.build_small_db(str(path))                   # a valid .braindb, but not the worm
    assert bundled_database(cache) == path and path.read_bytes() == good
    raw = bytearray(good)
    raw[len(raw) // 2] ^= 0x10
    path.write_bytes(bytes(raw))
    assert bundled_database(cache) == path and path.read_bytes() == good
    victim = tmp_path / "victim.braindb"
    victim.write_bytes(good)
    path.unlink()
    path.symlink_to(victim)
    assert bundled_database(cache) == path and not path.is_symlink() and path.read_bytes() == good


HOSTILE_CSV = [
    ("pre_id,post_id,weight,delay_ms\n0,1,1,1e19\n", "exceeds 65535 ticks"),
    (b"pre_id,post_id,weight\n0,1,\xff\n", "not UTF-8"),
    ("pre_id,post_id,weight\n0,1," + "9" * 200_000 + "\n", "line 2: field larger"),
    ("pre_id,post_id,weight\n\u00b2,1,1\n", "invalid"),
    ("pre_id,post_id,weight\n99999999999999999999999,1,1\n", "beyond int64"),
    ("pre_id,post_id,weight\n100000000,1,1\n", "found 100000000"),
    ("pre_id,pre_id,weight\n0,1,1\n", "duplicate column"),
    ("pre_id,post_id,weight,count\n0,1,1,2.7\n", "column count: '2.7'"),
    ("pre_id,post_id,weight\n0,1\0,1\n", "line 2: NUL byte"),
]


@pytest.mark.parametrize("text, message", HOSTILE_CSV)
def test_load_csv_hostile_input(tmp_path, text, message):
    p = tmp_path / "e.csv"
    p.write_bytes(text if isinstance(text, bytes) else text.encode())
    with pytest.raises(LoaderError, match=message) as err:
        ConnectomeLoader.load_csv(p, BrainDBBuilder())
    assert str(p) in str(err.value)


@pytest.mark.parametrize("doc, message", [(b'{"synapses": ' + b"[" * 100_000 + b"]" * 100_000 + b"}", "nested"),
                                          (b'{"synapses": [], "x": "\xff"}', "not UTF-8")])
def test_load_json_hostile_input(tmp_path, doc, message):
    p = tmp_path / "e.json"
    p.write_bytes(doc)
    with pytest.raises(LoaderError, match=message):
        ConnectomeLoader.load_json(p, BrainDBBuilder())


def test_load_worm_hostile_config_and_workbook(tmp_path):
    copy = tmp_path / "w"
    shutil.copytree(DATA, copy)
    cfg = copy / "network" / "config.json"
    good = json.loads(cfg.read_text())
    bad = dict(good, dir_info=dict(good["dir_info"], cell_param_dir=7))
    cfg.write_text(json.dumps(bad))
    with pytest.raises(LoaderError, match="cell_param_dir = 7 is not a path string"):
        BAAIWormLoader.load_from_dir(copy)
    cfg.write_bytes(b"\xff\xfe")
    with pytest.raises(LoaderError, match="not UTF-8"):
        BAAIWormLoader.load_from_dir(copy)
    cfg.write_text("[" * 100_000 + "]" * 100_000)
    with pytest.raises(LoaderError, match="nested too deeply|JSON object"):
        BAAIWormLoader.load_from_dir(copy)
    cfg.write_text(json.dumps(good))
    xlsx = copy / good["dir_info"]["adj_matrix_dir"]
    raw = xlsx.read_bytes()
    rng = np.random.default_rng(5)
    for _ in range(20):                          # byte flips anywhere in the workbook: a LoaderError or a load
        data = bytearray(raw)
        data[int(rng.integers(len(data)))] ^= 0xFF
        xlsx.write_bytes(bytes(data))
        try:
            BAAIWormLoader.load_from_dir(copy)
        except LoaderError:
            pass


def test_matrix_cell_of_1e19_is_refused(tmp_path):
    from braingo_core.loaders.xlsx import read_label_matrix
    wb = openpyxl.Workbook()
    ws = wb.active
    ws.title = "chemical"
    ws.append([None, "AA", "BB"])
    ws.append(["AA", 1e19, None])
    ws.append(["BB", 1, 2])
    wb.save(tmp_path / "m.xlsx")
    with pytest.raises(LoaderError, match=r"cell B2 .*1e\+19 is not a count"):
        read_label_matrix(tmp_path / "m.xlsx", "chemical", ["AA", "BB"])
