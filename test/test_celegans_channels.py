"""Gate kinetics of the C. elegans channels against the NEURON checkpoint table (spec §4.17)."""
import numpy as np
import pytest

from braingo_core.sim.celegans import channels as ch
from braingo_core.sim.celegans import tables as ta

V = (-80.0, -40.0, 0.0, 30.0)

# (quantity, function of v, values at V) — spec §4.17 verbatim.
CHECKPOINTS = [
    ("shl1 m_inf", lambda v: ch.shl1_rates(v)[0], (0.00154979, 0.0258009, 0.31124, 0.79139)),
    ("shl1 h_inf", lambda v: ch.shl1_rates(v)[1], (0.996497, 0.696635, 0.0182004, 0.000499006)),
    ("shl1 T_m", lambda v: ch.shl1_rates(v)[2], (2.00858, 4.31048, 8.71673, 1.9773)),
    ("shl1 T_hf", lambda v: ch.shl1_rates(v)[3], (566.486, 521.988, 29.0021, 27.3037)),
    ("shl1 T_hs", lambda v: ch.shl1_rates(v)[4], (8529.57, 5078.53, 142.125, 119.114)),
    ("shk1 m_inf", lambda v: ch.shk1_rates(v)[0], (2.17395e-06, 0.000391883, 0.0660286, 0.776734)),
    ("shk1 h_inf", lambda v: ch.shk1_rates(v)[1], (0.999997, 0.996631, 0.230252, 0.00169346)),
    ("shk1 tau_m", lambda v: ch.shk1_rates(v)[2], (3.41608, 14.348, 4.94293, 2.42497)),
    ("kvs1 m_inf", lambda v: ch.kvs1_rates(v)[0], (0.00413551, 0.0201539, 0.0924566, 0.252749)),
    ("kvs1 h_inf", lambda v: ch.kvs1_rates(v)[1], (0.99999, 0.999616, 0.986092, 0.826148)),
    ("kvs1 tau_m", lambda v: ch.kvs1_rates(v)[2], (30.7794, 29.4428, 22.3593, 11.6647)),
    ("kvs1 tau_h", lambda v: ch.kvs1_rates(v)[3], (141.885, 141.681, 138.852, 123.438)),
    ("egl2 m_inf", lambda v: ch.egl2_rates(v)[0], (0.00734736, 0.0978384, 0.613745, 0.922478)),
    ("egl2 tau_m", lambda v: ch.egl2_rates(v)[1], (1598.31, 1522.37, 1518, 1517.77)),
    ("egl36 m_inf", ch.egl36_minf, (0.00657722, 0.026236, 0.098809, 0.239049)),
    ("kqt3 m_inf", lambda v: ch.kqt3_rates(v)[0], (0.0139117, 0.150652, 0.690406, 0.937065)),
    ("kqt3 tau_mf", lambda v: ch.kqt3_rates(v)[1], (154.656, 394.039, 172.88, 77.3537)),
    ("kqt3 tau_ms", lambda v: ch.kqt3_rates(v)[2], (272.404, 1055.5, 1073.92, 875.682)),
    ("kqt3 w_inf", lambda v: ch.kqt3_rates(v)[3], (0.969126, 0.895189, 0.740199, 0.619283)),
    ("kqt3 s_inf", lambda v: ch.kqt3_rates(v)[4], (0.962913, 0.599983, 0.356191, 0.341445)),
    ("kqt3 tau_w", lambda v: ch.kqt3_rates(v)[5], (21.0058, 28.9639, 15.367, 8.75201)),
    ("egl19 m_inf", lambda v: ch.egl19_rates(v)[0], (1.10471e-05, 0.00228295, 0.321546, 0.962792)),
    ("egl19 h_inf", lambda v: ch.egl19_rates(v)[1], (0.91936, 0.888161, 0.311314, 0.614529)),
    ("egl19 tau_m", lambda v: ch.egl19_rates(v)[2], (2.30121, 2.58293, 5.56418, 3.06569)),
    ("egl19 tau_h", lambda v: ch.egl19_rates(v)[3], (49.6398, 49.0638, 31.9713, 23.2547)),
    ("unc2 m_inf", lambda v: ch.unc2_rates(v)[0], (4.3522e-08, 0.000957716, 0.954782, 0.999974)),
    ("unc2 h_inf", lambda v: ch.unc2_rates(v)[1], (0.992687, 0.096901, 8.4812e-05, 3.99873e-07)),
    ("unc2 tau_m", lambda v: ch.unc2_rates(v)[2], (0.100562, 0.145371, 0.811154, 0.225393)),
    ("unc2 tau_h", lambda v: ch.unc2_rates(v)[3], (83.8, 83.8, 83.8942, 144.59)),
    ("cca1 m_inf", lambda v: ch.cca1_rates(v)[0], (0.00795225, 0.607506, 0.996665, 0.999935)),
    ("cca1 h_inf", lambda v: ch.cca1_rates(v)[1], (0.958626, 0.0710001, 0.000252031, 3.4698e-06)),
    ("cca1 tau_m", lambda v: ch.cca1_rates(v)[2], (32.7166, 6.44396, 0.978477, 0.725913)),
    ("cca1 tau_h", lambda v: ch.cca1_rates(v)[3], (273.595, 42.3458, 20.0215, 19.8065)),
    ("irk m_inf", lambda v: ch.irk_rates(v)[0], (0.461614, 0.0380241, 0.00181893, 0.000181264)),
    ("irk tau_m", lambda v: ch.irk_rates(v)[1], (4.59713, 7.74039, 4.15186, 3.82436)),
]


def _slo(v, consts, partner):
    kp, km, kc = ch.slo_kinetics(v, ch.ca_nanodomain(v), *consts)
    minf_cav, _, tau_cav, _ = partner(v)
    return ch.slo_rates(kp, km, kc, minf_cav, minf_cav, tau_cav)      # m_cav = m_cav_inf(V), as §4.17


SLO = [
    ("slo1_egl19", ch.SLO1, ch.egl19_rates, (4.04084e-08, 4.15922e-05, 0.0267796, 0.202428),
     (0.223691, 0.371498, 0.585759, 0.742365)),
    ("slo1_unc2", ch.SLO1, ch.unc2_rates, (1.59502e-10, 1.76344e-05, 0.0791919, 0.209863),
     (0.224121, 0.375461, 0.583359, 0.741013)),
    ("slo2_egl19", ch.SLO2, ch.egl19_rates, (2.06261e-08, 2.31139e-05, 0.0162764, 0.123183),
     (0.485269, 1.03172, 2.13147, 3.43717)),
    ("slo2_unc2", ch.SLO2, ch.unc2_rates, (8.13573e-11, 9.75447e-06, 0.047941, 0.1276),
     (0.485848, 1.0379, 2.11431, 3.42802)),
]


@pytest.mark.parametrize("name,func,expected", CHECKPOINTS, ids=[c[0] for c in CHECKPOINTS])
def test_gate_checkpoints(name, func, expected):
    got = [func(v) for v in V]
    np.testing.assert_allclose(got, expected, rtol=5e-5, err_msg=name)   # table: 5-6 digits


@pytest.mark.parametrize("name,consts,partner,minf,tau", SLO, ids=[s[0] for s in SLO])
def test_slo_checkpoints(name, consts, partner, minf, tau):
    got = np.array([_slo(v, consts, partner) for v in V])
    np.testing.assert_allclose(got[:, 0], minf, rtol=1e-5, err_msg=f"{name} m_inf")
    np.testing.assert_allclose(got[:, 1], tau, rtol=1e-5, err_msg=f"{name} tau_m")


def test_nanodomain_and_pool_constants():
    assert ch.K_ND == pytest.approx(4.58928, rel=1e-5)
    assert ch.ca_nanodomain(-65.0) == pytest.approx(573.7, rel=1e-4)
    assert ch.ca_nanodomain(60.0) == 1e-4
    assert ch.CA_INFLUX == pytest.approx(1.66308e-4, rel=1e-5)
    # Pool relaxes from 5e-5 towards 0.05 with tau 50 ms; Ca influx (negative I_Ca) raises it; V > 60 blocks it.
    cai = ch.ca_pool_step(ch.CAI0, 0.0, -60.0, 0.1)
    assert cai == pytest.approx((ch.CAI0 + 0.1 * 0.05 / 50.0) / (1 + 0.1 / 50.0))
    assert ch.ca_pool_step(0.05, -1.0, -60.0, 0.1) > ch.ca_pool_step(0.05, -1.0, 61.0, 0.1) == 0.05


def test_initial_gates_follow_finitialize():
    g = np.full(ch.N_GATES, -1.0)
    ch.init_gates(-65.0, ch.CAI0, g)
    assert g[ch.G_KQT3_MF] == g[ch.G_KQT3_MS] == 0.0
    assert (g[[ch.G_SLO1E_M, ch.G_SLO1U_M, ch.G_SLO2E_M, ch.G_SLO2U_M]] == 0.0).all()
    assert g[ch.G_KCNL_M] == pytest.approx(5e-5 / (0.33 + 5e-5))
    assert g[ch.G_SHL1_M] == ch.shl1_rates(-65.0)[0] and g[ch.G_EGL19_H] == ch.egl19_rates(-65.0)[1]
    assert (g >= 0).all()


def test_gate_currents_sign_and_conductance():
    g = np.zeros(ch.N_GATES)
    ch.init_gates(-40.0, 0.05, g)
    gbar = np.full(ch.N_CHANNELS, 1e-3)
    for v in (-70.0, 10.0):
        i, gd, ica = ch.membrane_currents(v, g, gbar)
        i2, _, _ = ch.membrane_currents(v + 1e-3, g, gbar)
        assert (i2 - i) / 1e-3 == pytest.approx(gd, rel=1e-6)
        assert ica < 0                           # Ca current inward below E_Ca = 60 mV


def test_table_update_matches_exact():
    dt = 0.1
    tab = ta.build_rate_table(dt)
    dec = ch.constant_decays(dt)
    need = ch.need_bits(np.ones(ch.N_CHANNELS))
    rng = np.random.default_rng(0)
    for v in rng.uniform(-300.0, 150.0, 200):
        g0 = rng.uniform(0.0, 1.0, ch.N_GATES)
        exact, table = g0.copy(), g0.copy()
        ch.advance_gates(v, dt, exact, need, 0.05, dec)
        ta.advance_gates_table(v, dt, table, need, 0.05, dec, tab, ta.V_MIN_mV, 1.0 / ta.STEP_mV)
        np.testing.assert_allclose(table, exact, atol=2e-5, err_msg=f"V = {v}")
