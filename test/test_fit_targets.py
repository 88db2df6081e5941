"""Recording loaders of the fit: the cb2022 layout, CSV/NPZ traces and matrices, name matching, bad input."""
import os

import numpy as np
import pytest

from braingo_core.errors import LoaderError
from braingo_core.fit.targets import MIN_MATCHED, load_target
from braingo_core.loaders.baaiworm import bundled_database
from braingo_core.storage import BrainDB

EWORM = os.path.join(os.path.dirname(__file__), "..", "..", "shared", "baaiworm", "eworm")
CB2022 = os.path.join(EWORM, "components", "cb2022_data")
needs_data = pytest.mark.skipif(not os.path.isdir(CB2022), reason="../shared/baaiworm/eworm not present")


@pytest.fixture(scope="module")
def worm(tmp_path_factory):
    return BrainDB(bundled_database(tmp_path_factory.mktemp("worm")))


@needs_data
def test_cb2022_directory(worm):
    t = load_target(EWORM, worm)
    raw = np.loadtxt(os.path.join(CB2022, "Ca_corr_mat.txt"))
    assert len(t.names) == 65 and t.unknown == [] and t.corr.shape == (65, 65)
    assert t.names[t.names.index("DA01")] == "DA01"
    assert abs(t.frame_s - 0.3261) < 1e-3
    i, j = t.names.index("AVAL"), t.names.index("AVBL")
    assert t.corr[i, j] == pytest.approx(raw[i, j]) and t.corr[i, j] < -0.4
    assert np.isnan(t.corr).sum() == np.isnan(raw).sum() - np.isnan(np.diag(raw)).sum()
    again = load_target(CB2022, worm)              # the data folder itself, same bytes -> same hash
    assert again.sha256 == t.sha256 and np.array_equal(np.isnan(again.corr), np.isnan(t.corr))


def _names(worm, k):
    return worm.get_all_neuron_names()[:k]


def test_traces_csv_matches_short_names_and_reports_unknown(worm, tmp_path):
    rng = np.random.default_rng(0)
    names = ["DA1", "DA2", "DB1", "AVAL", "AVAR", "AVBL", "AVBR", "RIML", "RIMR", "AIBL", "AIBR", "XYZ9", "17"]
    traces = rng.standard_normal((len(names), 50))
    traces[1] = traces[0] + 0.1 * rng.standard_normal(50)
    path = tmp_path / "traces.csv"
    with open(path, "w") as f:
        f.write("name," + ",".join(f"{0.5 * k:g}" for k in range(50)) + "\n")
        for n, row in zip(names, traces):
            f.write(n + "," + ",".join(f"{v:.6f}" for v in row) + "\n")
    t = load_target(path, worm)
    assert t.names[:3] == ["DA01", "DA02", "DB01"] and t.unknown == ["XYZ9", "17"]
    assert t.frame_s == pytest.approx(0.5)
    assert t.corr[0, 1] == pytest.approx(np.corrcoef(traces[0], traces[1])[0, 1], abs=1e-5) and t.corr[0, 1] > 0.9


def test_corr_csv_and_npz(worm, tmp_path):
    names = _names(worm, 12)
    c = np.corrcoef(np.random.default_rng(1).standard_normal((12, 40)))
    c[0, 5] = c[5, 0] = np.nan
    path = tmp_path / "corr.csv"
    with open(path, "w") as f:
        f.write("," + ",".join(names) + "\n")
        for n, row in zip(names, c):
            f.write(n + "," + ",".join("" if np.isnan(v) else f"{v:.8f}" for v in row) + "\n")
    t = load_target(path, worm, frame_s=0.25)
    assert t.names == names and np.isnan(t.corr[0, 5]) and t.frame_s == 0.25
    assert np.allclose(t.corr[~np.isnan(c)], c[~np.isnan(c)], atol=1e-7)
    npz = tmp_path / "corr.npz"
    np.savez(npz, names=np.asarray(names), corr=c, frame_s=0.5)
    z = load_target(npz, worm)
    assert z.frame_s == 0.5 and np.allclose(np.nan_to_num(z.corr), np.nan_to_num(c))
    traces = tmp_path / "traces.npz"
    np.savez(traces, names=np.asarray(names), traces=np.random.default_rng(2).standard_normal((12, 30)), frame_s=0.2)
    assert load_target(traces, worm).corr.shape == (12, 12)


@pytest.mark.parametrize("case", ["non_square", "few_names", "all_nan", "missing_dir", "missing_file"])
def test_bad_targets_give_one_clear_error(worm, tmp_path, case):
    names = _names(worm, 12)
    c = np.eye(12) + 0.1
    if case == "non_square":
        path = tmp_path / "x.npz"
        np.savez(path, names=np.asarray(names), corr=c[:, :11])
        match = "not square"
    elif case == "few_names":
        path = tmp_path / "x.npz"
        np.savez(path, names=np.asarray(names[:MIN_MATCHED - 1] + ["FOO", "BAR", "BAZ"]), corr=c)
        match = "only 9 of 12 names match"
    elif case == "all_nan":
        c[3, :] = c[:, 3] = np.nan
        c[3, 3] = 1.0
        path = tmp_path / "x.npz"
        np.savez(path, names=np.asarray(names), corr=c)
        match = f"neuron\\(s\\) \\['{names[3]}'\\]"
    elif case == "missing_dir":
        path = tmp_path / "nowhere"
        match = "no such file or directory"
    else:
        path = tmp_path
        match = "no Ca_corr_mat.txt"
    with pytest.raises(LoaderError, match=match) as err:
        load_target(path, worm)
    assert "\n" not in str(err.value) and str(path) in str(err.value)
