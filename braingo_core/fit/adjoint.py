"""Fast path of the twin for fitting: the same step in Numba, with its exact reverse-mode adjoint.

:meth:`GradedTwin.run <braingo_core.fit.twin.GradedTwin.run>` differentiates with torch autograd through
some 25 tensor operations per step; :func:`run_adjoint` computes the same voltages with one Numba loop per
direction and returns them as a torch tensor whose backward pass is the hand-derived adjoint of the step
(below). Both give the same values and gradients (test_fit_twin checks them against each other and against
finite differences); fitting uses this one (about 20x faster).

Adjoint of one step (notation of :mod:`braingo_core.fit.twin`, primes = end of step, lambda = dL/d.):
gates ``s' = s_inf + (s - s_inf) b`` with ``b = exp(-dt k / (1 - s_inf))`` give
``lambda_V'[pre] += lambda_s' (1 - b + (s - s_inf) db/ds_inf) s_inf (1 - s_inf) / delta`` and
``lambda_s = lambda_s' b``; the clip passes lambda where ``v_min <= u <= v_max``; from
``u = V_inf + (V - V_inf) a``, ``a = exp(-dt G / C)``, ``V_inf = D / G``:
``lambda_G = lambda_u ((V - V_inf)(-dt a / C) - (1 - a) V_inf / G)``, ``lambda_D = lambda_u (1 - a) / G``,
``lambda_V = lambda_u a``; then through ``G = g_L + sum g + sum w s`` and ``D = g_L E_L + I + sum g V_y +
sum w E s`` to V, s, the weights w, the gap conductances g and E_L.
"""
import math

import numpy as np
import torch
from numba import njit


@njit(cache=True)
def _step_terms(i, v, s, row, gl, el, gap_ptr, gap_y, gap_g, in_ptr, in_q, in_w, q_e):
    G = gl[i]
    D = gl[i] * el[i] + row[i]
    for j in range(gap_ptr[i], gap_ptr[i + 1]):
        G += gap_g[j]
        D += gap_g[j] * v[gap_y[j]]
    for j in range(in_ptr[i], in_ptr[i + 1]):
        ws = in_w[j] * s[in_q[j]]
        G += ws
        D += ws * q_e[in_q[j]]
    return G, D


@njit(cache=True)
def _forward(v, s, drive, hold, dt, cm, gl, el, vmin, vmax, gap_ptr, gap_y, gap_g, in_ptr, in_q, in_w,
             q_pre, q_vth, q_delta, q_k, q_e, v_out, s_out):
    n, Q = v.shape[0], s.shape[0]
    vn = np.empty(n)
    for t in range(v_out.shape[0]):
        v_out[t] = v
        s_out[t] = s
        row = drive[t // hold]
        for i in range(n):
            G, D = _step_terms(i, v, s, row, gl, el, gap_ptr, gap_y, gap_g, in_ptr, in_q, in_w, q_e)
            vinf = D / G
            u = vinf + (v[i] - vinf) * math.exp(-dt * G / cm[i])
            vn[i] = min(max(u, vmin[i]), vmax[i])
        v[:] = vn
        for q in range(Q):
            sig = 1.0 / (1.0 + math.exp((q_vth[q] - v[q_pre[q]]) / q_delta[q]))
            om = 1.0 - sig
            b = math.exp(-dt * q_k[q] / om) if om > 0.0 else 0.0
            s[q] = sig + (s[q] - sig) * b


@njit(cache=True)
def _backward(gv, v_out, s_out, drive, hold, dt, cm, gl, el, vmin, vmax, gap_ptr, gap_y, gap_g, gap_e, in_ptr,
              in_q, in_w, in_j, q_pre, q_vth, q_delta, q_k, q_e, g_w, g_gap, g_el):
    S, n = v_out.shape
    Q = s_out.shape[1]
    lv = np.zeros(n)
    ls = np.zeros(Q)
    lvn = np.empty(n)
    lv_prev = np.empty(n)
    ls_prev = np.empty(Q)
    lG = np.empty(n)
    lD = np.empty(n)
    vn = np.empty(n)
    uu = np.empty(n)
    for t in range(S - 1, -1, -1):
        v, s = v_out[t], s_out[t]
        row = drive[t // hold]
        for i in range(n):
            G, D = _step_terms(i, v, s, row, gl, el, gap_ptr, gap_y, gap_g, in_ptr, in_q, in_w, q_e)
            vinf = D / G
            a = math.exp(-dt * G / cm[i])
            u = vinf + (v[i] - vinf) * a
            uu[i] = u
            vn[i] = min(max(u, vmin[i]), vmax[i])
            lG[i] = G          # kept for the second pass
            lD[i] = D
        lvn[:] = lv
        for q in range(Q):
            y = q_pre[q]
            sig = 1.0 / (1.0 + math.exp((q_vth[q] - vn[y]) / q_delta[q]))
            om = 1.0 - sig
            if om > 0.0:
                b = math.exp(-dt * q_k[q] / om)
                dbds = b * (-dt * q_k[q] / (om * om))
            else:
                b = 0.0
                dbds = 0.0
            dsig = ls[q] * (1.0 - b + (s[q] - sig) * dbds)
            lvn[y] += dsig * sig * om / q_delta[q]
            ls_prev[q] = ls[q] * b
        for i in range(n):
            G, D = lG[i], lD[i]
            vinf = D / G
            a = math.exp(-dt * G / cm[i])
            lu = lvn[i] if vmin[i] <= uu[i] <= vmax[i] else 0.0
            lG[i] = lu * ((v[i] - vinf) * (-dt * a / cm[i]) - (1.0 - a) * vinf / G)
            lD[i] = lu * (1.0 - a) / G
            lv_prev[i] = lu * a
            g_el[i] += lD[i] * gl[i]
        for i in range(n):
            for j in range(gap_ptr[i], gap_ptr[i + 1]):
                y = gap_y[j]
                lv_prev[y] += lD[i] * gap_g[j]
                g_gap[gap_e[j]] += lG[i] + lD[i] * v[y]
            for j in range(in_ptr[i], in_ptr[i + 1]):
                q = in_q[j]
                c = lG[i] + q_e[q] * lD[i]
                ls_prev[q] += in_w[j] * c
                g_w[in_j[j]] += s[q] * c
        for i in range(n):
            lv[i] = lv_prev[i] + gv[t, i]
        ls[:] = ls_prev
    for i in range(n):                               # initial state: V = E_L, s = s_inf(E_L)
        g_el[i] += lv[i]
    for q in range(Q):
        sig = 1.0 / (1.0 + math.exp((q_vth[q] - el[q_pre[q]]) / q_delta[q]))
        g_el[q_pre[q]] += ls[q] * sig * (1.0 - sig) / q_delta[q]


def _rows(keys, n, *cols):
    order = np.argsort(keys, kind="stable")
    ptr = np.zeros(n + 1, np.int64)
    np.cumsum(np.bincount(keys, minlength=n), out=ptr[1:])
    return (ptr,) + tuple(np.ascontiguousarray(c[order]) for c in cols)


class _Run(torch.autograd.Function):
    @staticmethod
    def forward(ctx, syn_w, gap_w, e_leak, twin, drive, hold, dt):
        t = twin.tables
        n = twin.n
        sw, gw, el = (x.detach().numpy().astype(np.float64) for x in (syn_w, gap_w, e_leak))
        src = np.concatenate([t.gap_a, t.gap_b])
        gap_ptr, gap_y, gap_e = _rows(src, n, np.concatenate([t.gap_b, t.gap_a]),
                                      np.tile(np.arange(t.gap_a.size), 2))
        gap_g = gw[gap_e]
        in_ptr, in_q, in_j = _rows(t.syn_post, n, twin._syn_q.numpy(), np.arange(t.syn_post.size))
        in_w = sw[in_j]
        gates = tuple(x.numpy() for x in (twin._q_pre, twin.vth, twin.delta, twin.k, twin.e_rev))
        membrane = tuple(x.numpy() for x in (twin.cm, twin.gl)) + (el,) + tuple(
            x.numpy() for x in (twin.v_min, twin.v_max))
        steps = drive.shape[0] * hold
        v_out, s_out = np.empty((steps, n)), np.empty((steps, twin.n_pairs))
        v0 = el.copy()
        s0 = 1.0 / (1.0 + np.exp((gates[1] - el[gates[0]]) / gates[2]))
        _forward(v0, s0, drive, hold, dt, *membrane, gap_ptr, gap_y, gap_g, in_ptr, in_q, in_w, *gates, v_out, s_out)
        ctx.saved = (v_out, s_out, drive, hold, dt, membrane, (gap_ptr, gap_y, gap_g, gap_e),
                     (in_ptr, in_q, in_w, in_j), gates, sw.size, gw.size)
        return torch.from_numpy(v_out)

    @staticmethod
    def backward(ctx, grad_v):
        v_out, s_out, drive, hold, dt, membrane, gaps, ins, gates, m, k = ctx.saved
        g_w, g_gap, g_el = np.zeros(m), np.zeros(k), np.zeros(v_out.shape[1])
        gv = np.ascontiguousarray(grad_v.detach().numpy(), dtype=np.float64)
        _backward(gv, v_out, s_out, drive, hold, dt, *membrane, *gaps, *ins, *gates, g_w, g_gap, g_el)
        return torch.from_numpy(g_w), torch.from_numpy(g_gap), torch.from_numpy(g_el), None, None, None, None


def run_adjoint(twin, syn_w, gap_w, e_leak, drive_pA, hold, dt_ms):
    """Voltages [K * hold, n] at the start of every step, as ``twin.run(..., every=1)``, with the adjoint backward."""
    drive = np.ascontiguousarray(np.asarray(drive_pA, np.float64))
    return _Run.apply(syn_w, gap_w, e_leak, twin, drive, int(hold), float(dt_ms))
