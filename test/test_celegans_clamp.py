"""Reference-cell current clamp against the NEURON traces in the shared reference files (spec §6)."""
import json
from pathlib import Path

import numpy as np
import pytest

from braingo_core.cli import main as cli_main
from braingo_core.sim.celegans.clamp import run_clamp
from braingo_core.sim.celegans.network import CelegansNetwork
from braingo_core.sim.celegans.params import parse_cell

REF_DIR = Path(__file__).resolve().parents[2] / "shared" / "reference"
if not REF_DIR.is_dir():
    REF_DIR = Path("/work/shared/reference")
CELLS = ("AWCL", "AVAL", "RMDDL")

pytestmark = pytest.mark.skipif(not all((REF_DIR / f"{c}.npz").is_file() for c in CELLS),
                                reason=f"NEURON reference traces not found in {REF_DIR}")


@pytest.fixture(scope="module")
def refs():
    out = {}
    for name in CELLS:
        with np.load(REF_DIR / f"{name}.npz") as d:
            out[name] = {k: d[k] for k in d.files}
    return out


@pytest.fixture(scope="module")
def cells(refs):
    return [parse_cell(json.loads(str(refs[n]["params_json"])), f"{n}.npz:params_json", n) for n in CELLS]


@pytest.mark.parametrize("dt_ms,key,tol_mV", [(0.1, "V_coarse", 0.5), (0.025, "V", 0.1)])
def test_clamp_matches_neuron(refs, cells, dt_ms, key, tol_mV):
    res = run_clamp(cells, refs["AWCL"]["amplitudes"], dt_ms=dt_ms)
    assert res["V"].shape == (3, 6, 20001)
    np.testing.assert_allclose(res["t"], refs["AWCL"]["t"], atol=1e-9)
    for i, name in enumerate(CELLS):
        ref = refs[name][key].astype(np.float64)
        rms = np.sqrt(np.mean((res["V"][i] - ref) ** 2, axis=1))
        assert (rms <= tol_mV).all(), f"{name} dt={dt_ms}: RMS {rms} mV"
        cai_key = "cai" if key == "V" else "cai_coarse"
        assert np.abs(res["cai"][i] - refs[name][cai_key]).max() < 1e-6, name
    # The traces really respond: the step moves AWCL by tens of mV.
    assert np.ptp(res["V"][0, 0]) > 100.0


def test_exact_rates_match_table_rates(cells):
    exact = CelegansNetwork(0.1, *_arrays(cells), rate_table=False)
    table = CelegansNetwork(0.1, *_arrays(cells))
    for net in (exact, table):
        net.step(3000, np.array([20.0, -5.0, 30.0]))
    np.testing.assert_allclose(table.compartment_voltages_mV(), exact.compartment_voltages_mV(), atol=1e-3)


def _arrays(cells):
    parts = [c.compartment_arrays() for c in cells]
    neuron = np.concatenate([np.full(len(p["parent"]), i) for i, p in enumerate(parts)])
    parent = np.concatenate([np.where(p["parent"] >= 0, p["parent"] + 2 * i, -1) for i, p in enumerate(parts)])
    keys = ("length_um", "diam_um", "ra_ohm_cm", "cm_uF_cm2", "g_pas_S_cm2", "e_pas_mV", "gbar_S_cm2")
    return (neuron, parent) + tuple(np.concatenate([p[k] for p in parts]) for k in keys)


def test_clamp_cli_writes_reference_layout(tmp_path, refs, capsys):
    cell = tmp_path / "RMDDL.json"
    cell.write_text(str(refs["RMDDL"]["params_json"]))
    out, png = tmp_path / "traces.npz", tmp_path / "traces.png"
    rc = cli_main(["clamp", str(cell), "--amps", "-15,35", "--dt", "0.1", "--out", str(out), "--plot", str(png)])
    assert rc == 0 and png.stat().st_size > 1000
    with np.load(out) as d:
        assert d["V"].shape == (2, 20001) and d["t"].shape == (20001,)
        np.testing.assert_array_equal(d["amplitudes"], [-15.0, 35.0])
        ref = refs["RMDDL"]["V_coarse"][[0, 5]]
        assert np.sqrt(np.mean((d["V"] - ref) ** 2)) < 0.5
    assert "RMDDL" in capsys.readouterr().out


def test_clamp_cli_rejects_bad_input(tmp_path, capsys):
    bad = tmp_path / "bad.json"
    bad.write_text('{"soma": {}, "neurite": {}}')
    assert cli_main(["clamp", str(bad), "--out", str(tmp_path / "x.npz")]) == 2
    assert "bad.json" in capsys.readouterr().err
    good = tmp_path / "good.json"
    good.write_text(json.dumps({"soma": {"Ra": 100, "cm": 1, "gpas": 1e-4, "epas": -60,
                                         **{k: 0.0 for k in ("gbshl1", "gbshk1", "gbkvs1", "gbegl2", "gbegl36",
                                                             "gbkqt3", "gbegl19", "gbunc2", "gbcca1",
                                                             "gbslo1_egl19", "gbslo1_unc2", "gbslo2_egl19",
                                                             "gbslo2_unc2", "gbkcnl", "gbnca", "gbirk")}},
                                "neurite": {"Ra": 100, "cm": 1, "gpas": 1e-4, "epas": -60}}))
    assert cli_main(["clamp", str(good), "--dt", "0.03", "--out", str(tmp_path / "x.npz")]) == 2
    assert "record interval" in capsys.readouterr().err
