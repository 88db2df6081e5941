"""Numba kernels of the 16 C. elegans soma channels and the ``cainternm`` Ca pool (spec §4), float64.

Rate functions return steady states and time constants (ms) at a voltage ``v`` (mV). The per-compartment
kernels work on one row of the gate table ``gates[N_GATES]`` (layout: the ``G_*`` constants) and on the
channel densities ``gbar[16]`` (S/cm², order of ``records.CELEGANS_CHANNELS``); membrane currents are
densities in mA/cm² (outward positive), conductances in S/cm².

Differences from the NEURON mechanism files, all exact in the fixed-step scheme:

* The slo channels' private copies of the egl19/unc2 gates (``m_cav``, ``h_cav``) are not stored twice:
  they obey the same ODE from the same initial value at the same voltages as the egl19/unc2 gates, so the
  slo channels read ``G_EGL19_*`` / ``G_UNC2_*`` (updated after the slo ``m`` gate, which needs the old
  ``m_cav``). Those gates are therefore integrated whenever egl19/unc2 *or* a partner slo is present.
* Gates of a channel whose density is zero (and that no slo channel needs) are not advanced; they carry
  no current, so the voltage trace is unchanged. ``need`` bits (``NEED_*``) select what is advanced.
"""
import math

import numpy as np
from numba import njit

# Gate table columns.
G_SHL1_M, G_SHL1_HF, G_SHL1_HS = 0, 1, 2
G_SHK1_M, G_SHK1_H = 3, 4
G_KVS1_M, G_KVS1_H = 5, 6
G_EGL2_M = 7
G_EGL36_MF, G_EGL36_MM, G_EGL36_MS = 8, 9, 10
G_KQT3_MF, G_KQT3_MS, G_KQT3_W, G_KQT3_S = 11, 12, 13, 14
G_EGL19_M, G_EGL19_H = 15, 16
G_UNC2_M, G_UNC2_H = 17, 18
G_CCA1_M, G_CCA1_H = 19, 20
G_SLO1E_M, G_SLO1U_M, G_SLO2E_M, G_SLO2U_M = 21, 22, 23, 24
G_KCNL_M = 25
G_IRK_M = 26
N_GATES = 27
GATE_NAMES = (
    "shl1_m", "shl1_hf", "shl1_hs", "shk1_m", "shk1_h", "kvs1_m", "kvs1_h", "egl2_m",
    "egl36_mf", "egl36_mm", "egl36_ms", "kqt3_mf", "kqt3_ms", "kqt3_w", "kqt3_s",
    "egl19_m", "egl19_h", "unc2_m", "unc2_h", "cca1_m", "cca1_h",
    "slo1_egl19_m", "slo1_unc2_m", "slo2_egl19_m", "slo2_unc2_m", "kcnl_m", "irk_m",
)

# Channel columns of gbar (records.CELEGANS_CHANNELS order).
C_SHL1, C_SHK1, C_KVS1, C_EGL2, C_EGL36, C_KQT3, C_EGL19, C_UNC2, C_CCA1 = range(9)
C_SLO1E, C_SLO1U, C_SLO2E, C_SLO2U, C_KCNL, C_NCA, C_IRK = range(9, 16)
N_CHANNELS = 16

# ``need`` bits: which gate groups an active compartment advances.
NEED_SHL1, NEED_SHK1, NEED_KVS1, NEED_EGL2, NEED_EGL36, NEED_KQT3 = 1, 2, 4, 8, 16, 32
NEED_EGL19, NEED_UNC2, NEED_CCA1, NEED_SLO1, NEED_SLO2, NEED_KCNL, NEED_IRK = 64, 128, 256, 512, 1024, 2048, 4096

E_K_mV, E_KQT3_mV, E_CA_mV, E_NA_mV = -80.0, -77.0, 60.0, 30.0
CAI0 = 5e-5                 # NEURON's default initial cai
CA_EQ, TAU_CA_ms = 0.05, 50.0
CA_INFLUX = 0.001 * 1e6 / (2.0 * 96485.0 * 31.16)     # f * 1e6 / (2 F v_cell), per (mA/cm²)
TAU_SHK1_H, TAU_EGL36 = 1400.0, (13.0, 63.0, 355.0)
TAU_KQT3_S, TAU_KCNL = 500000.0, 6.3
LN10 = math.log(10.0)

# Slo nanodomain Ca (µM) = K_ND * (60 - V) for V < 60 mV.
K_ND = (0.04 * 1e9 / (8.0 * 3.1415926 * 0.013 * 250.0 * 96485.0)
        * math.exp(-0.013 / math.sqrt(250.0 / (500.0 * 30.0))))
# (w_yx, w_xy, w_om, w_op, K_xy, n_xy, K_yx, n_yx) for slo1 and slo2; closed-channel Ca_c = 0.05 µM.
SLO1 = (0.013, -0.028, 3.15, 0.16, 55.73, 1.30, 34.34, 0.0001)
SLO2 = (0.019, -0.024, 0.90, 0.027, 93.45, 1.84, 3294.55, 0.00001)
CA_C = 0.05

_KW = dict(cache=True, error_model="numpy")


def need_bits(gbar):
    """``need`` bitmask for one compartment's densities ``gbar[16]`` (S/cm²)."""
    g = [float(x) > 0.0 for x in gbar]
    bits = 0
    for flag, on in ((NEED_SHL1, g[C_SHL1]), (NEED_SHK1, g[C_SHK1]), (NEED_KVS1, g[C_KVS1]),
                     (NEED_EGL2, g[C_EGL2]), (NEED_EGL36, g[C_EGL36]), (NEED_KQT3, g[C_KQT3]),
                     (NEED_EGL19, g[C_EGL19] or g[C_SLO1E] or g[C_SLO2E]),
                     (NEED_UNC2, g[C_UNC2] or g[C_SLO1U] or g[C_SLO2U]), (NEED_CCA1, g[C_CCA1]),
                     (NEED_SLO1, g[C_SLO1E] or g[C_SLO1U]), (NEED_SLO2, g[C_SLO2E] or g[C_SLO2U]),
                     (NEED_KCNL, g[C_KCNL]), (NEED_IRK, g[C_IRK])):
        if on:
            bits |= flag
    return bits


@njit(**_KW)
def _sig(x):
    return 1.0 / (1.0 + math.exp(x))


@njit(**_KW)
def shl1_rates(v):
    """shl1 (§4.1): (m_inf, h_inf, T_m, T_hf, T_hs), unscaled T in ms (ODEs use 0.4, 0.08, 0.3 × T)."""
    tm = 13.8 / (math.exp(-(v + 17.5) / 12.9) + math.exp((v + 3.7) / 6.5)) + 1.9
    return (_sig(-(v - 11.2) / 14.1), _sig((v + 33.1) / 8.3), tm,
            539.2 * _sig((v + 28.2) / 4.9) + 27.3, 8422.0 * _sig((v + 37.7) / 6.4) + 118.9)


@njit(**_KW)
def shk1_rates(v):
    """shk1 (§4.2): (m_inf, h_inf, tau_m); tau_h = 1400 ms."""
    tm = 26.6 / (math.exp(-(v + 33.7) / 15.8) + math.exp((v + 33.7) / 15.4)) + 2.0
    return _sig(-(v - 20.4) / 7.7), _sig((v + 7.0) / 5.8), tm


@njit(**_KW)
def kvs1_rates(v):
    """kvs1 (§4.3): (m_inf, h_inf, tau_m, tau_h)."""
    return (_sig(-(v - 57.1) / 25.0), _sig((v - 47.3) / 11.1),
            30.0 * _sig((v - 18.1) / 20.0) + 1.0, 88.5 * _sig((v - 50.0) / 15.0) + 53.4)


@njit(**_KW)
def egl2_rates(v):
    """egl2 (§4.4): (m_inf, tau_m)."""
    return _sig(-(v + 6.9) / 14.9), 1845.8 * _sig((v + 122.6) / 13.8) + 1517.74


@njit(**_KW)
def egl36_minf(v):
    """egl36 (§4.5): common m_inf of the three gates (tau 13, 63, 355 ms)."""
    return _sig(-(v - 63.0) / 28.5)


@njit(**_KW)
def kqt3_rates(v):
    """kqt3 (§4.6): (m_inf, tau_mf, tau_ms, w_inf, s_inf, tau_w); tau_s = 500 s."""
    a = (v + 38.1) / 33.59
    b = (v + 48.09) / 48.83
    tms = (5503.0 - 5345.4 / (1.0 + math.exp(LN10 * 0.02827 * (v + 23.9)))
           - 4590.6 / (1.0 + math.exp(-LN10 * 0.0357 * (v + 14.15))))
    return (_sig(-(v + 12.6726) / 15.8008), 395.3 / (1.0 + a * a), tms,
            0.49 + 0.51 * _sig((v + 1.084) / 28.78), 0.34 + 0.66 * _sig((v + 45.3) / 12.3),
            0.544 + 29.2 / (1.0 + b * b))


@njit(**_KW)
def egl19_rates(v):
    """egl19 (§4.7): (m_inf, h_inf, tau_m, tau_h)."""
    hinf = (1.43 * _sig(-(v - 24.9) / 12.0) + 0.14) * (5.96 * _sig((v + 20.5) / 8.1) + 0.60)
    a = (v - 5.2) / 6.0
    b = (v - 1.4) / 30.0
    tm = 2.9 * math.exp(-a * a) + 1.9 * math.exp(-b * b) + 2.3
    th = 0.4 * (44.6 * _sig((v + 23.0) / 5.0) + 36.4 * _sig((v - 28.7) / 3.7) + 43.1)
    return _sig(-(v - 5.6) / 7.5), hinf, tm, th


@njit(**_KW)
def unc2_rates(v):
    """unc2 (§4.8): (m_inf, h_inf, tau_m, tau_h)."""
    tm = 1.5 / (math.exp(-(v + 8.2) / 9.1) + math.exp((v + 8.2) / 15.4)) + 0.1
    th = 83.8 * _sig((v - 52.9) / 3.5) + 72.1 * _sig(-(v - 23.9) / 3.6)
    return _sig(-(v + 12.2) / 4.0), _sig((v + 52.5) / 5.6), tm, th


@njit(**_KW)
def cca1_rates(v):
    """cca1 (§4.9): (m_inf, h_inf, tau_m, tau_h)."""
    return (_sig(-(v + 43.32) / 7.6), _sig((v + 58.0) / 7.0),
            40.0 * _sig((v + 62.5) / 12.6) + 0.7, 280.0 * _sig((v + 60.7) / 8.5) + 19.8)


@njit(**_KW)
def irk_rates(v):
    """irk (§4.13): (m_inf, tau_m)."""
    tm = 17.1 / (math.exp(-(v + 17.8) / 20.3) + math.exp((v + 43.4) / 11.2)) + 3.8
    return _sig((v + 82.0) / 13.0), tm


@njit(**_KW)
def ca_nanodomain(v):
    """Slo nanodomain Ca (µM) at ``v`` (§4.10)."""
    return K_ND * (60.0 - v) if v < 60.0 else 1e-4


@njit(**_KW)
def slo_kinetics(v, ca_nd, w_yx, w_xy, w_om, w_op, k_xy, n_xy, k_yx, n_yx):
    """Voltage/Ca part of the slo three-state model: (k_o+, k_c-) so that with the partner gate's
    alpha = m_cav_inf/tau_mcav, beta = 1/tau_mcav - alpha:
    D = (k_o+ + k_o-)(k_c- + alpha) + beta k_c-, m_inf = m_cav k_o+ (alpha+beta+k_c-)/D, tau = (alpha+beta+k_c-)/D.
    Returns (k_o_plus, k_o_minus, k_c_minus)."""
    w_m = w_om * math.exp(-w_yx * v)
    w_p = w_op * math.exp(-w_xy * v)
    f_m = 1.0 / (1.0 + (ca_nd / k_yx) ** n_yx)
    f_p = 1.0 / (1.0 + (k_xy / ca_nd) ** n_xy)
    return w_p * f_p, w_m * f_m, w_m / (1.0 + (CA_C / k_yx) ** n_yx)


@njit(**_KW)
def slo_rates(ko_p, ko_m, kc_m, m_cav, minf_cav, tau_cav):
    """Slo m gate: (m_inf, tau_m) from ``slo_kinetics`` and the partner Ca-channel gate."""
    alpha = minf_cav / tau_cav
    beta = 1.0 / tau_cav - alpha
    num = alpha + beta + kc_m
    d = (ko_p + ko_m) * (kc_m + alpha) + beta * kc_m
    return m_cav * ko_p * num / d, num / d


@njit(**_KW)
def _adv(x, xinf, tau, dt):
    return xinf + (x - xinf) * math.exp(-dt / tau)


@njit(**_KW)
def membrane_currents(v, g, gbar):
    """Channel current density at ``v`` with gates ``g``: (i_mA_cm2, g_S_cm2, ica_mA_cm2).

    ``g_S_cm2`` is dI/dV at fixed gates; ``ica`` is the egl19 + unc2 + cca1 Ca current (§4.15)."""
    h_egl19 = g[G_EGL19_H]
    h_unc2 = g[G_UNC2_H]
    m_shl1 = g[G_SHL1_M]
    gk = (gbar[C_SHL1] * m_shl1 * m_shl1 * m_shl1 * (0.7 * g[G_SHL1_HF] + 0.3 * g[G_SHL1_HS])
          + gbar[C_SHK1] * g[G_SHK1_M] * g[G_SHK1_H]
          + gbar[C_KVS1] * g[G_KVS1_M] * g[G_KVS1_H]
          + gbar[C_EGL2] * g[G_EGL2_M]
          + gbar[C_EGL36] * (0.33 * g[G_EGL36_MF] + 0.36 * g[G_EGL36_MM] + 0.39 * g[G_EGL36_MS])
          + gbar[C_SLO1E] * g[G_SLO1E_M] * h_egl19 + gbar[C_SLO1U] * g[G_SLO1U_M] * h_unc2
          + gbar[C_SLO2E] * g[G_SLO2E_M] * h_egl19 + gbar[C_SLO2U] * g[G_SLO2U_M] * h_unc2
          + gbar[C_KCNL] * g[G_KCNL_M] + gbar[C_IRK] * g[G_IRK_M])
    gkq = gbar[C_KQT3] * (0.3 * g[G_KQT3_MF] + 0.7 * g[G_KQT3_MS]) * g[G_KQT3_W] * g[G_KQT3_S]
    m_cca1 = g[G_CCA1_M]
    gca = (gbar[C_EGL19] * g[G_EGL19_M] * h_egl19 + gbar[C_UNC2] * g[G_UNC2_M] * h_unc2
           + gbar[C_CCA1] * m_cca1 * m_cca1 * g[G_CCA1_H])
    gna = gbar[C_NCA]
    ica = gca * (v - E_CA_mV)
    i = gk * (v - E_K_mV) + gkq * (v - E_KQT3_mV) + ica + gna * (v - E_NA_mV)
    return i, gk + gkq + gca + gna, ica


@njit(**_KW)
def ca_pool_step(cai, ica, v_new, dt):
    """Backward-Euler ``cainternm`` update (§4.16): cai^{n+1} from cai^n, I_Ca (mA/cm²) and V^{n+1}."""
    a = -CA_INFLUX * ica if v_new <= 60.0 else 0.0
    return (cai + dt * (a + CA_EQ / TAU_CA_ms)) / (1.0 + dt / TAU_CA_ms)


@njit(**_KW)
def advance_gates(v, dt, g, need, cai_new, dec):
    """Exponential (cnexp) update of every needed gate at the new voltage ``v`` (mV), in place.

    ``dec`` holds exp(-dt/tau) of the constant time constants: shk1 h, egl36 f/m/s, kqt3 s, kcnl."""
    if need & (NEED_SLO1 | NEED_SLO2):
        # Slo m gates first: they use the partner gate m_cav before its own update.
        me, he, tme, the = egl19_rates(v)
        mu, hu, tmu, thu = unc2_rates(v)
        ca_nd = ca_nanodomain(v)
        if need & NEED_SLO1:
            kp, km, kc = slo_kinetics(v, ca_nd, *SLO1)
            minf, tau = slo_rates(kp, km, kc, g[G_EGL19_M], me, tme)
            g[G_SLO1E_M] = _adv(g[G_SLO1E_M], minf, tau, dt)
            minf, tau = slo_rates(kp, km, kc, g[G_UNC2_M], mu, tmu)
            g[G_SLO1U_M] = _adv(g[G_SLO1U_M], minf, tau, dt)
        if need & NEED_SLO2:
            kp, km, kc = slo_kinetics(v, ca_nd, *SLO2)
            minf, tau = slo_rates(kp, km, kc, g[G_EGL19_M], me, tme)
            g[G_SLO2E_M] = _adv(g[G_SLO2E_M], minf, tau, dt)
            minf, tau = slo_rates(kp, km, kc, g[G_UNC2_M], mu, tmu)
            g[G_SLO2U_M] = _adv(g[G_SLO2U_M], minf, tau, dt)
        if need & NEED_EGL19:
            g[G_EGL19_M] = _adv(g[G_EGL19_M], me, tme, dt)
            g[G_EGL19_H] = _adv(g[G_EGL19_H], he, the, dt)
        if need & NEED_UNC2:
            g[G_UNC2_M] = _adv(g[G_UNC2_M], mu, tmu, dt)
            g[G_UNC2_H] = _adv(g[G_UNC2_H], hu, thu, dt)
    else:
        if need & NEED_EGL19:
            me, he, tme, the = egl19_rates(v)
            g[G_EGL19_M] = _adv(g[G_EGL19_M], me, tme, dt)
            g[G_EGL19_H] = _adv(g[G_EGL19_H], he, the, dt)
        if need & NEED_UNC2:
            mu, hu, tmu, thu = unc2_rates(v)
            g[G_UNC2_M] = _adv(g[G_UNC2_M], mu, tmu, dt)
            g[G_UNC2_H] = _adv(g[G_UNC2_H], hu, thu, dt)
    if need & NEED_SHL1:
        m, h, tm, thf, ths = shl1_rates(v)
        g[G_SHL1_M] = _adv(g[G_SHL1_M], m, 0.4 * tm, dt)
        g[G_SHL1_HF] = _adv(g[G_SHL1_HF], h, 0.08 * thf, dt)
        g[G_SHL1_HS] = _adv(g[G_SHL1_HS], h, 0.3 * ths, dt)
    if need & NEED_SHK1:
        m, h, tm = shk1_rates(v)
        g[G_SHK1_M] = _adv(g[G_SHK1_M], m, tm, dt)
        g[G_SHK1_H] = h + (g[G_SHK1_H] - h) * dec[0]
    if need & NEED_KVS1:
        m, h, tm, th = kvs1_rates(v)
        g[G_KVS1_M] = _adv(g[G_KVS1_M], m, tm, dt)
        g[G_KVS1_H] = _adv(g[G_KVS1_H], h, th, dt)
    if need & NEED_EGL2:
        m, tm = egl2_rates(v)
        g[G_EGL2_M] = _adv(g[G_EGL2_M], m, tm, dt)
    if need & NEED_EGL36:
        m = egl36_minf(v)
        g[G_EGL36_MF] = m + (g[G_EGL36_MF] - m) * dec[1]
        g[G_EGL36_MM] = m + (g[G_EGL36_MM] - m) * dec[2]
        g[G_EGL36_MS] = m + (g[G_EGL36_MS] - m) * dec[3]
    if need & NEED_KQT3:
        m, tmf, tms, w, s, tw = kqt3_rates(v)
        g[G_KQT3_MF] = _adv(g[G_KQT3_MF], m, tmf, dt)
        g[G_KQT3_MS] = _adv(g[G_KQT3_MS], m, tms, dt)
        g[G_KQT3_W] = _adv(g[G_KQT3_W], w, tw, dt)
        g[G_KQT3_S] = s + (g[G_KQT3_S] - s) * dec[4]
    if need & NEED_CCA1:
        m, h, tm, th = cca1_rates(v)
        g[G_CCA1_M] = _adv(g[G_CCA1_M], m, tm, dt)
        g[G_CCA1_H] = _adv(g[G_CCA1_H], h, th, dt)
    if need & NEED_KCNL:
        m = cai_new / (0.33 + cai_new)
        g[G_KCNL_M] = m + (g[G_KCNL_M] - m) * dec[5]
    if need & NEED_IRK:
        m, tm = irk_rates(v)
        g[G_IRK_M] = _adv(g[G_IRK_M], m, tm, dt)


def constant_decays(dt_ms):
    """exp(-dt/tau) of the constant time constants, in the order ``advance_gates`` expects."""
    taus = (TAU_SHK1_H,) + TAU_EGL36 + (TAU_KQT3_S, TAU_KCNL)
    return np.exp(-float(dt_ms) / np.array(taus))


@njit(**_KW)
def init_gates(v, cai, g):
    """Initial gates at ``v`` (mV) and pool Ca ``cai`` (spec §3.3), written into ``g`` in place."""
    m, h, tm, thf, ths = shl1_rates(v)
    g[G_SHL1_M], g[G_SHL1_HF], g[G_SHL1_HS] = m, h, h
    m, h, tm = shk1_rates(v)
    g[G_SHK1_M], g[G_SHK1_H] = m, h
    m, h, tm, th = kvs1_rates(v)
    g[G_KVS1_M], g[G_KVS1_H] = m, h
    g[G_EGL2_M] = egl2_rates(v)[0]
    m = egl36_minf(v)
    g[G_EGL36_MF], g[G_EGL36_MM], g[G_EGL36_MS] = m, m, m
    m, tmf, tms, w, s, tw = kqt3_rates(v)
    g[G_KQT3_MF], g[G_KQT3_MS], g[G_KQT3_W], g[G_KQT3_S] = 0.0, 0.0, w, s
    m, h, tm, th = egl19_rates(v)
    g[G_EGL19_M], g[G_EGL19_H] = m, h
    m, h, tm, th = unc2_rates(v)
    g[G_UNC2_M], g[G_UNC2_H] = m, h
    m, h, tm, th = cca1_rates(v)
    g[G_CCA1_M], g[G_CCA1_H] = m, h
    g[G_SLO1E_M], g[G_SLO1U_M], g[G_SLO2E_M], g[G_SLO2U_M] = 0.0, 0.0, 0.0, 0.0
    g[G_KCNL_M] = cai / (0.33 + cai)
    g[G_IRK_M] = irk_rates(v)[0]
