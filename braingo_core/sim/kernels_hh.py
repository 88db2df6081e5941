"""Hodgkin-Huxley kernels of the point engine: classic squid rates, gate steps and the implicit cable update
(called by :func:`braingo_core.sim.kernels_neuron.update_neurons` for model 3)."""
import math

from numba import njit


@njit(cache=True)
def hh_rates(vm):
    """Classic HH rates (1/ms) at ``vm`` (mV, rest -65): am, bm, ah, bh, an, bn."""
    x = vm + 40.0
    am = 0.1 * x / (1.0 - math.exp(-x / 10.0)) if abs(x) > 1e-7 else 1.0
    bm = 4.0 * math.exp(-(vm + 65.0) / 18.0)
    ah = 0.07 * math.exp(-(vm + 65.0) / 20.0)
    bh = 1.0 / (1.0 + math.exp(-(vm + 35.0) / 10.0))
    y = vm + 55.0
    an = 0.01 * y / (1.0 - math.exp(-y / 10.0)) if abs(y) > 1e-7 else 0.1
    bn = 0.125 * math.exp(-(vm + 65.0) / 80.0)
    return am, bm, ah, bh, an, bn


@njit(cache=True)
def gate_step(g, a, b, dt):
    tot = a + b
    ginf = a / tot
    return ginf + (g - ginf) * math.exp(-dt * tot)


@njit
def hh_update(first, count, p, v, ga, gb, ring, r_in, gates, vold, gext, dext, iext, node_cm, node_gl, node_el,
              node_gna, node_gk, ax_ptr, ax_nb, ax_g, slot_cond, slot_e, slot_dd, slot_dr, slot_norm, dt):
    """Advance an HH cable (nodes first..first+count-1, soma first); True if the soma crossed p[4] upward.

    p = g_na_S_cm2, g_k_S_cm2, e_na_mV, e_k_mV, v_spike_mV (densities already turned into node_gna/gk nS);
    ``gates`` [3, n_nodes] (m, h, n), the axial CSR ``ax_*`` (nS) and the other arrays are the fields of the
    same name of the engine's tables (:mod:`braingo_core.sim.tables`); ``iext`` pA enters at the soma.
    A leaf of the loop, so it takes arrays rather than tables (numba flattens every table argument).
    Membrane conductances are held for the step (start-of-step gates and voltage); the axial currents are
    implicit: one tridiagonal-tree (Hines) solve over the cable, parents before children. Each node's
    capacitive term C/dt is replaced by g/expm1(dt*g/C) (g = its membrane conductance), so that a lone
    compartment gets exactly the exponential Euler step. Explicit neighbour voltages lag by a step and slow
    a propagating spike (about 15 % at dt 0.01 ms, 50 um compartments); the implicit solve does not.
    ``vold`` holds the diagonal and ``v`` the right-hand side during the solve.
    """
    v_soma = v[first]
    for x in range(first, first + count):
        if x > first:                                    # the soma's input was delivered by the caller
            for s in range(ga.shape[0]):
                val = ring[r_in, s, x]
                ga[s, x] += val * slot_norm[s]
                if slot_dr[s] > 0.0:
                    gb[s, x] += val * slot_norm[s]
                ring[r_in, s, x] = 0.0
        vx = v[x]
        m, h, nn = gates[0, x], gates[1, x], gates[2, x]
        gna = node_gna[x] * m * m * m * h
        gk = node_gk[x] * nn * nn * nn * nn
        gtot = node_gl[x] + gna + gk + gext[x]
        drive = node_gl[x] * node_el[x] + gna * p[2] + gk * p[3] + dext[x]
        if x == first:
            drive += iext
        for s in range(ga.shape[0]):
            g = ga[s, x] - gb[s, x]
            if slot_cond[s]:
                gtot += g
                drive += g * slot_e[s]
            else:
                drive += g
        a = dt * gtot / node_cm[x]
        c_dt = gtot / math.expm1(a) if abs(a) > 1e-12 else node_cm[x] / dt - 0.5 * gtot
        diag = c_dt + gtot
        for j in range(ax_ptr[x], ax_ptr[x + 1]):
            diag += ax_g[j]
        vold[x] = diag
        v[x] = c_dt * vx + drive
        am, bm, ah, bh, an, bn = hh_rates(vx)
        gates[0, x] = gate_step(m, am, bm, dt)
        gates[1, x] = gate_step(h, ah, bh, dt)
        gates[2, x] = gate_step(nn, an, bn, dt)
        if x > first:
            for s in range(ga.shape[0]):
                ga[s, x] *= slot_dd[s]
                gb[s, x] *= slot_dr[s]
    for x in range(first + count - 1, first, -1):        # eliminate children into their parents
        for j in range(ax_ptr[x], ax_ptr[x + 1]):
            y = ax_nb[j]
            if y < x:
                f = ax_g[j] / vold[x]
                vold[y] -= ax_g[j] * f
                v[y] += f * v[x]
    v[first] /= vold[first]
    for x in range(first + 1, first + count):
        for j in range(ax_ptr[x], ax_ptr[x + 1]):
            if ax_nb[j] < x:
                v[x] += ax_g[j] * v[ax_nb[j]]
        v[x] /= vold[x]
    return v_soma < p[4] <= v[first]
