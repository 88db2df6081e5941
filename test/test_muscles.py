"""Muscle maps (sigmoid, Conv1d) and muscles -> joint efforts."""
import dataclasses

import numpy as np
import pytest
import yaml
from scipy.signal import correlate

from braingo_core.body.description import load_config
from braingo_core.body.muscles import CnnMuscleMap, SigmoidMuscleMap, muscles_to_efforts
from braingo_core.errors import BodyError


@pytest.fixture(scope="module")
def config():
    return load_config()


def test_sigmoid_map_normalised():
    w = np.zeros((3, 96))
    w[0, 0], w[1, 0] = 1.0, 3.0   # muscle 0: two excitatory inputs, weights 1 and 3
    w[0, 1], w[2, 1] = 2.0, -2.0  # muscle 1: one excitatory, one inhibitory (D-class)
    m = SigmoidMuscleMap(["A", "B", "D"], w, v_th_mV=-30.0, scale_mV=5.0)
    v = np.array([-30.0, -20.0, -30.0])
    sig = 1.0 / (1.0 + np.exp(-(v + 30.0) / 5.0))
    act = m.activations(v)
    assert act[0] == pytest.approx((sig[0] + 3 * sig[1]) / 4)
    assert act[1] == pytest.approx(0.0)  # 2 * 0.5 - 2 * 0.5
    assert not act[2:].any()  # no input, no activation
    assert m.activations(np.array([200.0, 200.0, -200.0]))[0] == pytest.approx(1.0)
    nan_act = m.activations(np.array([np.nan, -20.0, np.nan]))
    assert np.isfinite(nan_act).all() and nan_act[0] == pytest.approx(3 * sig[1] / 4)


def test_sigmoid_from_table(config):
    table = {"neurons": ["DB01", "DD01", "AVAL"], "weights": np.eye(3, 96).tolist()}
    m = SigmoidMuscleMap.from_table(table, ["DD01", "XX", "DB01"], inhibitory=["DD01"], config=config)
    assert m.neurons == ("DD01", "XX", "DB01")
    np.testing.assert_array_equal(m.v_th_mV, config.sections["sigmoid"]["v_th_mV"])
    act = m.activations(np.full(3, 100.0))
    assert act[0] == pytest.approx(1.0) and act[1] == 0.0  # DD01 only inhibits muscle 1
    with pytest.raises(BodyError, match="weights shape"):
        SigmoidMuscleMap.from_table({"neurons": ["A"], "weights": [[1.0] * 95]}, ["A"], config)
    with pytest.raises(BodyError, match="expected shape"):
        SigmoidMuscleMap(["A"], np.zeros((2, 96)), -40.0, 5.0)
    with pytest.raises(BodyError, match="expected 1 values"):
        SigmoidMuscleMap(["A"], np.zeros((1, 96)), -40.0, 5.0).activations(np.zeros(2))


def test_class_thresholds(config):
    sigmoid = {**config.sections["sigmoid"], "v_th_mV": -40.0, "class_v_th_mV": {"VA": -35.0, "DB": -45.0}}
    cfg = dataclasses.replace(config, sections={**config.sections, "sigmoid": sigmoid})
    table = {"neurons": ["VA01", "DB02", "AVAL"], "weights": np.eye(3, 96).tolist()}
    m = SigmoidMuscleMap.from_table(table, ["VA01", "DB02", "AVAL", "VA"], config=cfg)
    np.testing.assert_array_equal(m.v_th_mV, [-35.0, -45.0, -40.0, -40.0])
    act = m.activations(np.full(4, -35.0))       # VA01 at its threshold: half; DB02 10 mV above its own
    assert act[0] == pytest.approx(0.5) and act[1] == pytest.approx(1 / (1 + np.exp(-2.0)))
    assert SigmoidMuscleMap.from_table(table, ["VA01"], config=cfg, v_th_mV=-30.0).v_th_mV == -30.0  # explicit wins
    bad = dataclasses.replace(cfg, sections={**cfg.sections, "sigmoid": {**sigmoid, "class_v_th_mV": {"VA": "x"}}})
    with pytest.raises(BodyError, match="class_v_th_mV"):
        SigmoidMuscleMap.from_table(table, ["VA01"], config=bad)
    with pytest.raises(BodyError, match="one per neuron"):
        SigmoidMuscleMap(["A", "B"], np.zeros((2, 96)), v_th_mV=[-40.0, -40.0, -40.0], scale_mV=5.0)


#: The Conv1d post-processing of config/caterpillar.yaml's cnn section (the reference below writes it out).
POST = {"offset": 80.0, "divisor": 100.0}


def test_cnn_post_processing_comes_from_the_config(config):
    assert {k: config.sections["cnn"][k] for k in POST} == POST


def random_cnn(rng, n_in=80, kernel=21):
    return rng.normal(0, 0.02, (96, n_in, kernel)), rng.normal(0, 5.0, 96), [f"N{i:02d}" for i in range(n_in)]


def test_cnn_matches_scipy_reference():
    rng = np.random.default_rng(7)
    weight, bias, names = random_cnn(rng)
    m = CnnMuscleMap(weight, bias, names, **POST)
    steps = 50
    v = rng.normal(-40.0, 10.0, (steps, 80))
    got = np.array([m.activations(frame) for frame in v])
    padded = np.vstack([np.repeat(v[:1], 20, axis=0), v])  # history starts filled with the first frame
    y = bias[:, None] + np.array([sum(correlate(padded[:, i], weight[c, i], mode="valid") for i in range(80))
                                  for c in range(96)])
    want = np.clip((y.T + 80.0) / 100.0, 0.0, 1.0)
    assert 0.05 < np.mean((want > 0) & (want < 1))  # the comparison is not all clipped
    np.testing.assert_allclose(got, want, rtol=1e-10, atol=1e-12)
    m.reset()
    np.testing.assert_allclose(m.activations(v[0]), want[0], atol=1e-12)


def test_cnn_nan_input_holds_previous_value():
    rng = np.random.default_rng(2)
    weight, bias, names = random_cnn(rng, n_in=4, kernel=3)
    a, b = CnnMuscleMap(weight, bias, names, **POST), CnnMuscleMap(weight, bias, names, **POST)
    frames = rng.normal(-40, 10, (5, 4))
    nan_frames = frames.copy()
    nan_frames[3, 1] = np.nan
    frames[3, 1] = frames[2, 1]
    for f, g in zip(frames, nan_frames):
        np.testing.assert_array_equal(a.activations(f), b.activations(g))
    first = CnnMuscleMap(weight, bias, names, **POST).activations(np.full(4, np.nan))
    assert np.isfinite(first).all() and ((first >= 0) & (first <= 1)).all()


def test_cnn_load_npz(tmp_path, config):
    rng = np.random.default_rng(1)
    weight, bias, names = random_cnn(rng)
    good = tmp_path / "cnn.npz"
    np.savez(good, weight=weight, bias=bias, neurons=np.array(names))
    m = CnnMuscleMap.load(good, config)
    assert m.neurons == tuple(names) and m.kernel == 21
    assert CnnMuscleMap.load(good, config, neurons=[f"M{i}" for i in range(80)]).neurons[0] == "M0"
    bad = {
        "kernel": dict(weight=weight[:, :, :5], bias=bias, neurons=np.array(names)),
        "bias": dict(weight=weight, bias=bias[:90], neurons=np.array(names)),
        "2-D": dict(weight=weight[:, :, 0], bias=bias, neurons=np.array(names)),
        "neurons": dict(weight=weight, bias=bias, neurons=np.array(names[:79])),
        "missing": dict(weight=weight, neurons=np.array(names)),
    }
    for key, arrays in bad.items():
        path = tmp_path / f"bad_{key}.npz"
        np.savez(path, **arrays)
        with pytest.raises(BodyError, match=str(path.name)):
            CnnMuscleMap.load(path, config)
    with pytest.raises(BodyError, match="cannot read"):
        CnnMuscleMap.load(tmp_path / "absent.npz", config)


def test_muscles_to_efforts(config):
    names = config.muscle_names
    dorsal = np.array([n[0] == "D" for n in names], dtype=float)
    limit = config.effort_limit_Nm
    np.testing.assert_allclose(muscles_to_efforts(dorsal, config), min(config.muscle_gain_Nm, limit))
    np.testing.assert_allclose(muscles_to_efforts(1.0 - dorsal, config), -min(config.muscle_gain_Nm, limit))
    np.testing.assert_allclose(muscles_to_efforts(np.full(96, 0.7), config), 0.0, atol=1e-12)
    # one dorsal row acts only on the joints whose joint_rows list it
    act = np.zeros(96)
    act[names.index("DL05")] = act[names.index("DR05")] = 1.0
    effort = muscles_to_efforts(act, config)
    spanning = [k for k, j in enumerate(config.joints) if 5 in _rows(config, j)]
    assert set(np.nonzero(effort)[0]) == set(spanning) and (effort[spanning] > 0).all()
    with pytest.raises(BodyError, match="expected 96"):
        muscles_to_efforts(np.zeros(95), config)


def _rows(config, joint):
    with open(config.path) as f:
        return yaml.safe_load(f)["muscles"]["joint_rows"][joint]["rows"]


def test_bad_input_never_gives_bad_efforts(config):
    rng = np.random.default_rng(0)
    for _ in range(20):
        act = rng.choice([np.nan, np.inf, -np.inf, 1e300, -5.0, 0.3, 2.0], 96)
        effort = muscles_to_efforts(act, config)
        assert np.isfinite(effort).all() and (np.abs(effort) <= config.effort_limit_Nm).all()
    m = SigmoidMuscleMap(["A", "B"], rng.uniform(-1, 2, (2, 96)), -40.0, 5.0)
    act = m.activations(np.array([np.nan, np.inf]))
    assert np.isfinite(act).all() and ((act >= 0) & (act <= 1)).all()
