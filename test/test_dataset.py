"""The committed data/celegans dataset: counts from Cook 2019, identity with BAAIWorm, README checksums,
and (when the pinned wheels are cached) byte-identical regeneration by tools/build_celegans_data.py."""
import csv
import hashlib
import importlib.util
import json
import os
import re
from pathlib import Path

import numpy as np
import pytest

from braingo_core.loaders.xlsx import read_label_matrix, read_sheet_rows
from braingo_core.sim.celegans.params import load_cell_json

ROOT = Path(__file__).resolve().parents[1]
DATA = ROOT / "data" / "celegans"
SI5 = DATA / "components/param/connection/SI5-302.xlsx"
EWORM = Path(os.environ.get("BRAINGO_EWORM_DIR", ROOT.parent / "shared" / "baaiworm" / "eworm"))


@pytest.fixture(scope="module")
def config():
    return json.loads((DATA / "network/config.json").read_text())


@pytest.fixture(scope="module")
def names(config):
    dic = config["cell_info"]["cells_name_dic"]
    return [dic[str(i)] for i in range(len(dic))]


@pytest.fixture(scope="module")
def matrices(names):
    return read_label_matrix(SI5, "chemical", names), read_label_matrix(SI5, "gapjunction", names)


@pytest.fixture(scope="module")
def neurons():
    with open(DATA / "components/param/neuron/neurons.csv", newline="") as f:
        return list(csv.DictReader(f))


def test_config_layout(config, names):
    assert len(names) == 302 and names[0] == "I1L" and names[-1] == "VC06"
    assert "DA01" in names and "DA1" not in names
    for key in ("cell_param_dir", "adj_matrix_dir", "synapse_sheet", "gap_junction_sheet", "neuron_muscle_con"):
        assert key in config["dir_info"]
    assert config["cnt_info"]["syn_a"] == 23.91 and config["cnt_info"]["gj_cnt_scale"] == 0.7


def test_chemical_and_gap_counts(matrices):
    chem, gap = matrices
    assert np.count_nonzero(chem) == 3709 and chem.sum() == 20965
    assert np.count_nonzero(np.diag(chem)) == 38
    assert np.array_equal(gap, gap.T)
    assert np.count_nonzero(gap) == 2196 and gap.sum() == 11523
    assert np.count_nonzero(np.triu(gap)) == 1105 and np.count_nonzero(np.triu(gap, 1)) == 1091
    assert np.triu(gap).sum() == 5779


def test_sheets_in_order(names):
    assert [r[0] for r in read_sheet_rows(SI5, "Neurons")[1:]] == names


@pytest.mark.skipif(not (EWORM / "components/param/connection/SI5-302.xlsx").exists(),
                    reason="BAAIWorm eworm directory not available (set BRAINGO_EWORM_DIR)")
def test_identical_to_baaiworm(names, matrices):
    theirs = EWORM / "components/param/connection/SI5-302.xlsx"
    for sheet, ours in zip(("chemical", "gapjunction"), matrices):
        assert np.array_equal(read_label_matrix(theirs, sheet, names), ours), sheet
    assert [r[0] for r in read_sheet_rows(theirs, "chemical")[1:303]] == names


def test_neuron_muscle_table(names):
    rows = read_sheet_rows(DATA / "components/param/connection/neuron_muscle.xlsx", "Sheet1")
    header = rows[0][1:]
    assert len(header) == 96 and header[0] == "DR01" and header[-1] == "VL24"
    w = np.array([[v or 0 for v in r[1:]] for r in rows[1:]])
    assert len(rows) - 1 == 162 and np.count_nonzero(w) == 956 and w.sum() == 5515
    assert not w[:, header.index("VL24")].any()
    assert np.count_nonzero(w.sum(axis=0)) == 95
    assert all(r[0] in names for r in rows[1:])


def test_neuron_table(neurons, names):
    assert [r["name"] for r in neurons] == names
    classes = [r["class"] for r in neurons]
    expected = {"pharyngeal": 20, "sensory": 83, "inter": 81, "motor": 116, "other": 2}
    assert {c: classes.count(c) for c in set(classes)} == expected
    gaba = {r["name"] for r in neurons if r["gabaergic"] == "1"}
    inh = {r["name"] for r in neurons if r["inhibitory"] == "1"}
    assert len(gaba) == 35 and len(inh) == 31
    assert {"SMDDL", "SMDDR", "SMDVL", "SMDVR"} <= gaba - inh
    assert {"DD01", "VD13", "RMED", "AVL", "DVB", "RIS", "AVJL"} <= inh and "AVFL" not in gaba
    by = {r["name"]: r for r in neurons}
    assert float(by["ALML"]["x_um"]) > 0 > float(by["ALMR"]["x_um"])
    assert float(by["I2L"]["y_um"]) < float(by["PLML"]["y_um"])


def test_cell_parameter_files(names, neurons):
    cls = {r["name"]: r["class"] for r in neurons}
    seen = {}
    for n in names:
        cell = load_cell_json(DATA / f"components/param/cell/{n}.json")
        seen.setdefault(cls[n], cell.gbar_S_cm2.tolist())
        assert cell.gbar_S_cm2.tolist() == seen[cls[n]]
        assert -60.0 <= cell.soma["epas"] <= -40.0
    assert len({tuple(v) for v in seen.values()}) == 4          # other == inter defaults


def test_readme_checksums():
    text = (DATA / "README.md").read_text()
    rows = re.findall(r"^\| `([^`*]+/[^`*]+)` \| `([0-9a-f]{64})` \|$", text, re.M)
    assert len(rows) >= 4
    for rel, digest in rows:
        assert hashlib.sha256((DATA / rel).read_bytes()).hexdigest() == digest, rel


def _load_build_script():
    spec = importlib.util.spec_from_file_location("build_celegans_data", ROOT / "tools/build_celegans_data.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


def test_rebuild_is_byte_identical(tmp_path):
    build = _load_build_script()
    cache = Path(os.environ.get("BRAINGO_WHEEL_CACHE", ROOT / ".whl"))
    if not all((cache / f).exists() for _r, f, _d in build.WHEELS.values()):
        pytest.skip(f"pinned cect/c302 wheels not cached in {cache}; run tools/build_celegans_data.py once "
                    "(tests never download)")
    summary = build.build(tmp_path / "celegans", cache)
    assert summary["chemical_entries"] == 3709 and summary["gap_pairs_distinct"] == 1091
    ours = sorted(p.relative_to(DATA) for p in DATA.rglob("*") if p.is_file())
    fresh = sorted(p.relative_to(tmp_path / "celegans") for p in (tmp_path / "celegans").rglob("*") if p.is_file())
    assert ours == fresh
    for rel in ours:
        assert (DATA / rel).read_bytes() == (tmp_path / "celegans" / rel).read_bytes(), rel
