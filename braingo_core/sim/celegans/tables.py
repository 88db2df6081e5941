"""Voltage lookup tables of the C. elegans gate updates, for a fixed dt (speed; spec §4 kinetics).

For every voltage-dependent gate the table holds x_inf(V) and exp(-dt/tau(V)) on a uniform grid; the
update x <- x_inf + (x - x_inf)·decay then uses linear interpolation in V instead of 2-5 exp() calls per
gate. For the slo m gates it holds F(V) = m_inf / m_cav (m_inf is proportional to the partner gate,
spec §4.10) and the decay. Outside the grid :func:`channels.advance_gates` (exact) is used. With the
default 0.05 mV grid the interpolation error of any tabulated quantity is below ~1e-5, far below the
NEURON-reference tolerances (the clamp tests run through these tables).
"""
import math

import numpy as np
from numba import njit

from braingo_core.sim.celegans import channels as ch

V_MIN_mV, V_MAX_mV, STEP_mV = -320.0, 160.0, 0.05

(T_SHL1_M, T_SHL1_MD, T_SHL1_H, T_SHL1_HFD, T_SHL1_HSD, T_SHK1_M, T_SHK1_MD, T_SHK1_H,
 T_KVS1_M, T_KVS1_MD, T_KVS1_H, T_KVS1_HD, T_EGL2_M, T_EGL2_MD, T_EGL36_M,
 T_KQT3_M, T_KQT3_MFD, T_KQT3_MSD, T_KQT3_W, T_KQT3_WD, T_KQT3_S,
 T_EGL19_M, T_EGL19_MD, T_EGL19_H, T_EGL19_HD, T_UNC2_M, T_UNC2_MD, T_UNC2_H, T_UNC2_HD,
 T_CCA1_M, T_CCA1_MD, T_CCA1_H, T_CCA1_HD,
 T_SLO1E_F, T_SLO1E_D, T_SLO1U_F, T_SLO1U_D, T_SLO2E_F, T_SLO2E_D, T_SLO2U_F, T_SLO2U_D,
 T_IRK_M, T_IRK_MD) = range(43)
N_COLS = 43

_KW = dict(cache=True, error_model="numpy")


@njit(**_KW)
def _fill(tab, v0, h, dt):
    for i in range(tab.shape[0]):
        v = v0 + i * h
        r = tab[i]
        m, hh, tm, thf, ths = ch.shl1_rates(v)
        r[T_SHL1_M], r[T_SHL1_MD], r[T_SHL1_H] = m, math.exp(-dt / (0.4 * tm)), hh
        r[T_SHL1_HFD], r[T_SHL1_HSD] = math.exp(-dt / (0.08 * thf)), math.exp(-dt / (0.3 * ths))
        m, hh, tm = ch.shk1_rates(v)
        r[T_SHK1_M], r[T_SHK1_MD], r[T_SHK1_H] = m, math.exp(-dt / tm), hh
        m, hh, tm, th = ch.kvs1_rates(v)
        r[T_KVS1_M], r[T_KVS1_MD], r[T_KVS1_H], r[T_KVS1_HD] = m, math.exp(-dt / tm), hh, math.exp(-dt / th)
        m, tm = ch.egl2_rates(v)
        r[T_EGL2_M], r[T_EGL2_MD] = m, math.exp(-dt / tm)
        r[T_EGL36_M] = ch.egl36_minf(v)
        m, tmf, tms, w, s, tw = ch.kqt3_rates(v)
        r[T_KQT3_M], r[T_KQT3_MFD], r[T_KQT3_MSD] = m, math.exp(-dt / tmf), math.exp(-dt / tms)
        r[T_KQT3_W], r[T_KQT3_WD], r[T_KQT3_S] = w, math.exp(-dt / tw), s
        me, he, tme, the = ch.egl19_rates(v)
        r[T_EGL19_M], r[T_EGL19_MD], r[T_EGL19_H], r[T_EGL19_HD] = me, math.exp(-dt / tme), he, math.exp(-dt / the)
        mu, hu, tmu, thu = ch.unc2_rates(v)
        r[T_UNC2_M], r[T_UNC2_MD], r[T_UNC2_H], r[T_UNC2_HD] = mu, math.exp(-dt / tmu), hu, math.exp(-dt / thu)
        m, hh, tm, th = ch.cca1_rates(v)
        r[T_CCA1_M], r[T_CCA1_MD], r[T_CCA1_H], r[T_CCA1_HD] = m, math.exp(-dt / tm), hh, math.exp(-dt / th)
        ca_nd = ch.ca_nanodomain(v)
        kp, km, kc = ch.slo_kinetics(v, ca_nd, *ch.SLO1)
        f, tau = ch.slo_rates(kp, km, kc, 1.0, me, tme)
        r[T_SLO1E_F], r[T_SLO1E_D] = f, math.exp(-dt / tau)
        f, tau = ch.slo_rates(kp, km, kc, 1.0, mu, tmu)
        r[T_SLO1U_F], r[T_SLO1U_D] = f, math.exp(-dt / tau)
        kp, km, kc = ch.slo_kinetics(v, ca_nd, *ch.SLO2)
        f, tau = ch.slo_rates(kp, km, kc, 1.0, me, tme)
        r[T_SLO2E_F], r[T_SLO2E_D] = f, math.exp(-dt / tau)
        f, tau = ch.slo_rates(kp, km, kc, 1.0, mu, tmu)
        r[T_SLO2U_F], r[T_SLO2U_D] = f, math.exp(-dt / tau)
        m, tm = ch.irk_rates(v)
        r[T_IRK_M], r[T_IRK_MD] = m, math.exp(-dt / tm)


def build_rate_table(dt_ms, v_min_mV=V_MIN_mV, v_max_mV=V_MAX_mV, step_mV=STEP_mV):
    """Table float64[n_rows, N_COLS] on the grid v_min + i·step (i = 0..n_rows-1), for ``dt_ms``."""
    n = int(round((v_max_mV - v_min_mV) / step_mV)) + 1
    tab = np.empty((n, N_COLS))
    _fill(tab, float(v_min_mV), float(step_mV), float(dt_ms))
    return tab


@njit(**_KW)
def _gate(x, r0, r1, f, j_inf, j_dec):
    xinf = r0[j_inf] + f * (r1[j_inf] - r0[j_inf])
    return xinf + (x - xinf) * (r0[j_dec] + f * (r1[j_dec] - r0[j_dec]))


@njit(**_KW)
def _gate_c(x, r0, r1, f, j_inf, dec):
    xinf = r0[j_inf] + f * (r1[j_inf] - r0[j_inf])
    return xinf + (x - xinf) * dec


@njit(**_KW)
def _slo(m, m_cav, r0, r1, f, j_f, j_dec):
    minf = m_cav * (r0[j_f] + f * (r1[j_f] - r0[j_f]))
    return minf + (m - minf) * (r0[j_dec] + f * (r1[j_dec] - r0[j_dec]))


@njit(**_KW)
def advance_gates_table(v, dt, g, need, cai_new, dec, tab, v0, inv_h):
    """Same contract as :func:`channels.advance_gates`, interpolating ``tab`` (grid origin ``v0`` mV,
    ``inv_h`` = 1/step); falls back to the exact update outside the grid."""
    x = (v - v0) * inv_h
    if not (x >= 0.0 and x < tab.shape[0] - 1):
        ch.advance_gates(v, dt, g, need, cai_new, dec)
        return
    k = int(x)
    f = x - k
    r0 = tab[k]
    r1 = tab[k + 1]
    if need & ch.NEED_SLO1:
        g[ch.G_SLO1E_M] = _slo(g[ch.G_SLO1E_M], g[ch.G_EGL19_M], r0, r1, f, T_SLO1E_F, T_SLO1E_D)
        g[ch.G_SLO1U_M] = _slo(g[ch.G_SLO1U_M], g[ch.G_UNC2_M], r0, r1, f, T_SLO1U_F, T_SLO1U_D)
    if need & ch.NEED_SLO2:
        g[ch.G_SLO2E_M] = _slo(g[ch.G_SLO2E_M], g[ch.G_EGL19_M], r0, r1, f, T_SLO2E_F, T_SLO2E_D)
        g[ch.G_SLO2U_M] = _slo(g[ch.G_SLO2U_M], g[ch.G_UNC2_M], r0, r1, f, T_SLO2U_F, T_SLO2U_D)
    if need & ch.NEED_EGL19:
        g[ch.G_EGL19_M] = _gate(g[ch.G_EGL19_M], r0, r1, f, T_EGL19_M, T_EGL19_MD)
        g[ch.G_EGL19_H] = _gate(g[ch.G_EGL19_H], r0, r1, f, T_EGL19_H, T_EGL19_HD)
    if need & ch.NEED_UNC2:
        g[ch.G_UNC2_M] = _gate(g[ch.G_UNC2_M], r0, r1, f, T_UNC2_M, T_UNC2_MD)
        g[ch.G_UNC2_H] = _gate(g[ch.G_UNC2_H], r0, r1, f, T_UNC2_H, T_UNC2_HD)
    if need & ch.NEED_SHL1:
        g[ch.G_SHL1_M] = _gate(g[ch.G_SHL1_M], r0, r1, f, T_SHL1_M, T_SHL1_MD)
        g[ch.G_SHL1_HF] = _gate(g[ch.G_SHL1_HF], r0, r1, f, T_SHL1_H, T_SHL1_HFD)
        g[ch.G_SHL1_HS] = _gate(g[ch.G_SHL1_HS], r0, r1, f, T_SHL1_H, T_SHL1_HSD)
    if need & ch.NEED_SHK1:
        g[ch.G_SHK1_M] = _gate(g[ch.G_SHK1_M], r0, r1, f, T_SHK1_M, T_SHK1_MD)
        g[ch.G_SHK1_H] = _gate_c(g[ch.G_SHK1_H], r0, r1, f, T_SHK1_H, dec[0])
    if need & ch.NEED_KVS1:
        g[ch.G_KVS1_M] = _gate(g[ch.G_KVS1_M], r0, r1, f, T_KVS1_M, T_KVS1_MD)
        g[ch.G_KVS1_H] = _gate(g[ch.G_KVS1_H], r0, r1, f, T_KVS1_H, T_KVS1_HD)
    if need & ch.NEED_EGL2:
        g[ch.G_EGL2_M] = _gate(g[ch.G_EGL2_M], r0, r1, f, T_EGL2_M, T_EGL2_MD)
    if need & ch.NEED_EGL36:
        g[ch.G_EGL36_MF] = _gate_c(g[ch.G_EGL36_MF], r0, r1, f, T_EGL36_M, dec[1])
        g[ch.G_EGL36_MM] = _gate_c(g[ch.G_EGL36_MM], r0, r1, f, T_EGL36_M, dec[2])
        g[ch.G_EGL36_MS] = _gate_c(g[ch.G_EGL36_MS], r0, r1, f, T_EGL36_M, dec[3])
    if need & ch.NEED_KQT3:
        g[ch.G_KQT3_MF] = _gate(g[ch.G_KQT3_MF], r0, r1, f, T_KQT3_M, T_KQT3_MFD)
        g[ch.G_KQT3_MS] = _gate(g[ch.G_KQT3_MS], r0, r1, f, T_KQT3_M, T_KQT3_MSD)
        g[ch.G_KQT3_W] = _gate(g[ch.G_KQT3_W], r0, r1, f, T_KQT3_W, T_KQT3_WD)
        g[ch.G_KQT3_S] = _gate_c(g[ch.G_KQT3_S], r0, r1, f, T_KQT3_S, dec[4])
    if need & ch.NEED_CCA1:
        g[ch.G_CCA1_M] = _gate(g[ch.G_CCA1_M], r0, r1, f, T_CCA1_M, T_CCA1_MD)
        g[ch.G_CCA1_H] = _gate(g[ch.G_CCA1_H], r0, r1, f, T_CCA1_H, T_CCA1_HD)
    if need & ch.NEED_KCNL:
        m = cai_new / (0.33 + cai_new)
        g[ch.G_KCNL_M] = m + (g[ch.G_KCNL_M] - m) * dec[5]
    if need & ch.NEED_IRK:
        g[ch.G_IRK_M] = _gate(g[ch.G_IRK_M], r0, r1, f, T_IRK_M, T_IRK_MD)
