"""The senses: proprioception (A/B-class receptors and their dynamics), chemosensation, touch, each over a plain
BodyState, and SensoryInput putting them in one stimulus order; the sensing rule."""
import numpy as np
import pytest
import yaml

from braingo_core.body.chemosensation import Chemosensation
from braingo_core.body.description import load_config
from braingo_core.body.proprioception import Proprioception, proprioceptive_rows
from braingo_core.body.senses import BodyState, SensoryInput
from braingo_core.body.touch import Touch
from braingo_core.errors import BodyError
from braingo_core.share import share_file


class ProprioceptionMap(SensoryInput):
    """The old call shape over SensoryInput: currents(joint angles, head_xy_m=..., contact_N=..., dt_s=...)."""

    def currents(self, joint_pos_rad, head_xy_m=None, contact_N=None, dt_s=None, out=None):
        return super().currents(BodyState(joint_pos_rad, head_xy_m, contact_N), dt_s=dt_s, out=out)


@pytest.fixture(scope="module")
def config():
    return load_config()


def edited_config(tmp_path, edit):
    doc = yaml.safe_load(share_file("config/caterpillar.yaml").read_text())
    edit(doc)
    path = tmp_path / "caterpillar.yaml"
    path.write_text(yaml.safe_dump(doc))
    return load_config(path)


def static_config(tmp_path):
    """The package config with the receptor filters and saturation off (currents follow the angles at once,
    linearly)."""
    linear = {"adaptation_tau_s": 0.0, "coupling_tau_s": 0.0, "saturation_pA": 0.0}
    return edited_config(tmp_path, lambda d: d["proprioception"].update(linear))


def test_uniform_bend_excites_own_side(tmp_path):
    config = static_config(tmp_path)
    pm = ProprioceptionMap(config)
    section = config.sections["proprioception"]
    current = dict(zip(pm.neurons, pm.currents(np.full(config.n_joints, 0.1))))
    for name, entry in section["neurons"].items():
        gain = entry.get("gain_pA_per_rad", section["gain_pA_per_rad"])
        gain += entry.get("coupling_gain_pA_per_rad", section["coupling_gain_pA_per_rad"])
        assert current[name] == pytest.approx(gain * 0.1 * (1 if entry["side"] == "dorsal" else -1))
    assert current["DB01"] > 0 > current["VB01"]
    assert current["ALML"] == 0.0  # no contact, no touch current


def test_local_bend_reaches_only_neurons_sensing_it(tmp_path):
    config = static_config(tmp_path)
    pm = ProprioceptionMap(config)
    theta = np.zeros(config.n_joints)
    theta[config.joints.index("joint_02")] = 0.5  # rows 3-6 bend dorsally
    current = dict(zip(pm.neurons, pm.currents(theta)))
    assert current["DB01"] > 0 and current["VB01"] < 0  # own rows 6-7 / coupling rows 2-3, coupling rows 3-4
    assert current["DB03"] == 0  # own rows 11-12, coupling rows 7-8: far from joint_02
    assert current["DA01"] == 0  # A-class gains are 0 in the package config


def test_receptor_adapts_and_coupling_lags(tmp_path):
    config = edited_config(tmp_path, lambda d: d["proprioception"].update(saturation_pA=0.0))   # the linear filters
    pm = ProprioceptionMap(config)
    section = config.sections["proprioception"]
    g, gc = section["gain_pA_per_rad"], section["coupling_gain_pA_per_rad"]
    a = -np.expm1(-config.control_period_s / section["adaptation_tau_s"])
    c = -np.expm1(-config.control_period_s / section["coupling_tau_s"])
    bend = np.full(config.n_joints, 0.1)
    db01 = pm.neurons.index("DB01")
    first = pm.currents(bend)[db01]
    assert first == pytest.approx(0.1 * (g * (1 - a) + gc * c))
    held = [pm.currents(bend)[db01] for _ in range(500)]  # 5 s of a held bend
    assert held[-1] == pytest.approx(0.1 * gc, rel=1e-3)  # own receptor adapted away, coupling settled
    assert np.all(np.diff(held) < 0)  # the adapting own term fades faster than the coupling rises (g > g_c)
    pm.reset()
    assert pm.currents(bend)[db01] == pytest.approx(first)
    half_dt = pm.currents(np.zeros(config.n_joints), dt_s=config.control_period_s / 2)[db01]
    assert np.isfinite(half_dt)


def test_rectify_and_nan(tmp_path):
    cfg = edited_config(tmp_path, lambda d: d["proprioception"].update(rectify=True))
    out = ProprioceptionMap(cfg).currents(np.full(cfg.n_joints, -0.3))
    assert (out >= 0).all() and out.max() > 0  # ventral neurons only
    nan_out = ProprioceptionMap(cfg).currents(np.full(cfg.n_joints, np.nan), contact_N=np.full(12, np.nan))
    assert np.isfinite(nan_out).all() and not nan_out.any()


def test_saturation_bounds_the_receptor_current(tmp_path):
    def currents(saturation_pA, bend_rad):
        cfg = edited_config(tmp_path, lambda d: d["proprioception"].update(
            adaptation_tau_s=0.0, coupling_tau_s=0.0, saturation_pA=saturation_pA))
        return Proprioception(cfg).currents(BodyState(np.full(cfg.n_joints, bend_rad)), dt_s=0.01)

    linear, saturated = currents(0.0, 0.3), currents(20.0, 0.3)
    np.testing.assert_allclose(saturated, 20.0 * np.tanh(linear / 20.0))
    assert np.abs(linear).max() > 60.0 and np.abs(saturated).max() < 20.0
    np.testing.assert_allclose(currents(20.0, 1e-4), currents(0.0, 1e-4), rtol=1e-4)   # linear for small bends
    with pytest.raises(BodyError, match="saturation_pA"):
        currents(-1.0, 0.3)


def test_neuron_order_and_shapes(config):
    pm = ProprioceptionMap(config, neurons=["VB02", "AVBL", "DB02"])
    theta = np.full(config.n_joints, 0.2)
    out = pm.currents(theta)
    assert out[1] == 0.0 and out[0] == -out[2] != 0
    with pytest.raises(BodyError, match="expected 11"):
        pm.currents(np.zeros(3))
    with pytest.raises(BodyError, match="one per segment"):
        pm.currents(theta, contact_N=np.zeros(3))


def test_touch_fields_and_saturation(config):
    pm = ProprioceptionMap(config)
    touch = config.sections["touch"]
    head_contact = np.zeros(config.segments)
    head_contact[0] = 0.5
    current = dict(zip(pm.neurons, pm.currents(np.zeros(config.n_joints), contact_N=head_contact)))
    assert current["ALML"] == pytest.approx(touch["gain_pA_per_N"] * 0.5) and current["AVM"] == current["ALML"]
    assert current["PLML"] == 0.0
    head_contact[0] = 1e6
    current = dict(zip(pm.neurons, pm.currents(np.zeros(config.n_joints), contact_N=head_contact)))
    assert current["ALMR"] == touch["max_pA"]


def test_chemosensation(tmp_path):
    cfg = edited_config(tmp_path, lambda d: d["chemosensation"].update(enabled=True))
    chemo = cfg.sections["chemosensation"]
    pm = ProprioceptionMap(cfg)
    assert {"AWAL", "AWCL", "ASEL", "ASER"} <= set(pm.neurons)
    zero = np.zeros(cfg.n_joints)
    at_source = dict(zip(pm.neurons, pm.currents(zero, head_xy_m=chemo["source_m"])))
    assert at_source["AWAL"] == pytest.approx(chemo["neurons"]["AWAL"]["gain_pA"] * chemo["peak"])
    assert at_source["ASEL"] == 0.0  # first sample: no rate yet
    pm.reset()
    for x in np.linspace(0.0, 1.0, 30):  # approach the source: concentration rises
        current = dict(zip(pm.neurons, pm.currents(zero, head_xy_m=[x, 0.0])))
    assert current["ASEL"] > 0 and current["ASER"] < 0 and current["AWCL"] < 0
    assert "AWAL" not in ProprioceptionMap(load_config()).neurons  # disabled by default


def test_bad_sections(tmp_path):
    cfg = edited_config(tmp_path, lambda d: d["proprioception"]["neurons"].update(DB01={"side": "up", "rows": [1]}))
    with pytest.raises(BodyError, match="proprioception.neurons.DB01"):
        ProprioceptionMap(cfg)
    cfg = edited_config(tmp_path, lambda d: d["touch"]["neurons"].update(AVM={"from": 0.8, "to": 0.2}))
    with pytest.raises(BodyError, match="touch.neurons.AVM"):
        ProprioceptionMap(cfg)


def test_sensing_rule(config):
    names = ["DB03", "VA05", "DA09", "SMDVL", "AS01", "VB01", "DB01"]
    w = np.zeros((len(names), 96))
    mi = config.muscle_names.index
    w[0, [mi("DL09"), mi("DR10"), mi("VL02")]] = 3  # dorsal NMJs at rows 9-10 (the ventral one is ignored)
    w[1, [mi("VL12"), mi("VR14")]] = 1
    w[2, mi("DR24")] = 2
    w[3, mi("VL05")] = 1
    w[4, mi("DL06")] = 5
    w[6, mi("DL02")] = 1
    rows = proprioceptive_rows(names, w, config.muscle_names)
    fwd, bwd = {"command": "forward"}, {"command": "backward"}
    assert rows["DB03"] == {"side": "dorsal", "rows": [9, 10], "coupling_rows": [5, 6], **fwd}  # B: coupling anterior
    assert rows["VA05"] == {"side": "ventral", "rows": [13, 14], "coupling_rows": [17, 18], **bwd}  # A: posterior
    assert rows["DA09"] == {"side": "dorsal", "rows": [23, 24], "coupling_rows": [24], **bwd}   # clipped at the tail
    assert rows["DB01"] == {"side": "dorsal", "rows": [2, 3], "coupling_rows": [1], **fwd}      # clipped at the head
    assert set(rows) == {"DB03", "VA05", "DA09", "DB01"}  # SMD, AS: not A/B class; VB01: no NMJ
    with pytest.raises(BodyError, match="NMJ weights"):
        proprioceptive_rows(names, w[:, :90], config.muscle_names)


def test_each_sense_drives_only_its_own_neurons(tmp_path):
    cfg = edited_config(tmp_path, lambda d: d["chemosensation"].update(enabled=True))
    proprio, chemo, touch = Proprioception(cfg), Chemosensation(cfg), Touch(cfg)
    assert set(proprio.neurons) == set(cfg.sections["proprioception"]["neurons"])
    assert chemo.neurons == tuple(cfg.sections["chemosensation"]["neurons"])
    assert touch.neurons == tuple(cfg.sections["touch"]["neurons"])
    contact = np.zeros(cfg.segments)
    contact[-1] = 1.0
    state = BodyState(np.full(cfg.n_joints, 0.1), np.array([0.0, 0.0]), contact, 0.0)
    senses = SensoryInput(cfg)
    assert senses.neurons == (*proprio.neurons, *chemo.neurons, *touch.neurons)
    together = senses.currents(state)
    apart = np.concatenate([s.currents(state, cfg.control_period_s) for s in (proprio, chemo, touch)])
    np.testing.assert_array_equal(together, apart)
    assert Touch(cfg).currents(state._replace(contact_N=None), 0.01).tolist() == [0.0] * len(touch.neurons)
    assert not Chemosensation(load_config()).neurons          # disabled in the package config
