"""Per-neuron update kernels (phase 4 of the loop): LIF, graded, Izhikevich and Hodgkin-Huxley (:mod:`kernels_hh`).

Conventions (Brian2's, so the oracle tests compare like with like): every new value is computed
from the values at the start of the step. Membrane equations that are linear in V given the
conductances (LIF, graded, HH) use exponential Euler with all conductances held for the step, which
is unconditionally stable for leak, synaptic and gap terms; the axial currents of an HH cable are
solved implicitly (``hh_update``; one compartment reduces to exponential Euler). Exponentially decaying *current*
synapses onto LIF/graded neurons are integrated exactly (propagators ``pa``/``pb``, exact while no
conductance input changes the membrane time constant). LIF neurons take the exponential-Euler factor
exp(-g_tot * dt/cm) from :func:`kernels_math.fexp` (as the LIF fast path does, which vectorises it), graded
ones exp(-dt * g_tot / cm) from ``math.exp``. Izhikevich: the scheme of its type (:func:`izh_step`).
Synaptic state: ``ga``/``gb`` [slot, node] are the decay/rise components of the lumped
dual-exponential synapse (g = ga - gb; gb stays 0 for single exponentials), in nS or pA.
"""
import math

import numpy as np
from numba import njit

from braingo_core.sim.kernels_hh import hh_rates, hh_update  # noqa: F401  (hh_rates: re-exported)
from braingo_core.sim.kernels_math import fexp

U12, U25, U27, U11 = np.uint64(12), np.uint64(25), np.uint64(27), np.uint64(11)
MULT = np.uint64(0x2545F4914F6CDD1D)
INV53 = 1.0 / 9007199254740992.0


@njit                                  # compiled into the cached loop variants (see kernels_loop.variant)
def any_nonzero(a):
    """True if some element of the 1-d array ``a`` is not 0."""
    for i in range(a.shape[0]):
        if a[i] != 0.0:
            return True
    return False


@njit
def poisson_count(r, p_cdf):
    """Advance the xorshift64* stream ``r`` by one draw; returns (new state, binomial count by CDF inversion)."""
    r ^= r >> U12
    r ^= r << U25
    r ^= r >> U27
    uu = float((r * MULT) >> U11) * INV53
    k = 0
    if uu > p_cdf[0]:
        n_cdf = p_cdf.shape[0] - 1
        k = 1
        while k < n_cdf and uu > p_cdf[k]:
            k += 1
    return r, k


@njit
def izh_step(vx, ui, isyn, cm, p, c, dt, scheme, substeps):
    """One tick of Izhikevich 2003 (p[c] = a, b, c_mV, d, v_peak_mV; isyn pA, cm pF; per ms).

    ``scheme`` (models.IZH_*): 0 forward Euler over dt, v and u from their start-of-step values; 1 net.m's
    two half-steps of v (dt/2 each, u held) then u from the new v; 2 forward Euler in ``substeps`` steps of
    dt/substeps. The input is held over the tick; the threshold is tested at its end. Returns (v mV, u,
    fired): at v >= v_peak, v = c, u += d. Schemes 1 and 2 sum dv in the order Brian2 generates for
    ``0.04*v**2 + 5*v + 140 - u + I``.
    """
    a, b = p[c, 0], p[c, 1]
    if scheme == 0:
        dv = 0.04 * vx * vx + 5.0 * vx + 140.0 - ui + isyn / cm
        ui += dt * a * (b * vx - ui)
        vx += dt * dv
    elif scheme == 1:
        i_in = isyn / cm
        h = 0.5 * dt
        vx += h * ((140.0 + ((0.04 * (vx * vx) + 5.0 * vx) + i_in)) - ui)
        vx += h * ((140.0 + ((0.04 * (vx * vx) + 5.0 * vx) + i_in)) - ui)
        ui += dt * a * (b * vx - ui)
    else:
        i_in = isyn / cm
        h = dt / substeps
        for _ in range(substeps):
            dv = (140.0 + ((0.04 * (vx * vx) + 5.0 * vx) + i_in)) - ui
            ui += h * (a * (b * vx - ui))
            vx += h * dv
    if vx >= p[c, 4] and np.isfinite(vx):          # a diverged v must not look like a spike
        return p[c, 2], ui + p[c, 3], True
    return vx, ui, False


#: Model codes from this one on are user models (``models.register_model``): the loop calls ``user_step``.
USER_CODE = 16


@njit
def user_step(vx, ui, i_in, p, dt):
    """The user-model hook: the cached loop variants run no user model and keep this placeholder;
    :func:`kernels_loop.user_kernels` compiles variants in which it is the model's step function."""
    return vx, ui, False


@njit
def linear_step(vx, gtot, drive, vcur, lif, gl, inv_gl, decay_m, cm, dt):
    """Exponential-Euler membrane step of a LIF (``lif``) or graded point neuron (leak ``gl`` nS, ``cm`` pF).

    ``gtot`` nS and ``drive`` pA are the summed conductances and sum(g*E) + currents, ``vcur`` mV the exact
    current-synapse charge of the step. When only the leak conducts: ``inv_gl`` = 1/gl, ``decay_m`` =
    exp(-dt/tau_m) precomputed.
    """
    if gtot == gl and gl > 0.0:
        vinf = drive * inv_gl
        return vinf + (vx - vinf) * decay_m + vcur
    dt_cm = dt / cm
    if gtot != 0.0:
        vinf = drive / gtot
        e = fexp(-gtot * dt_cm) if lif else math.exp(-dt * gtot / cm)
        return vinf + (vx - vinf) * e + vcur
    return vx + ((drive * dt_cm if lif else dt * drive / cm) + vcur)


@njit(inline="always")
def update_neurons(lo, hi, n0, W, net, st, inp, scr, pois, rec, has_inputs, has_iext):
    """Advance neurons lo..hi-1 through ticks n0..n0+W-1 (a window no spike can cross, see kernels_loop).

    Returns (number of spikes written to scr.spk_i/spk_t[lo*W:], earliest diverged (tick, neuron) or (-1, -1)).
    Per neuron and tick: move the ring slot into the lumped synapses (and the Poisson drive), update the
    model, let the synapses decay; a neuron's state stays in registers through its window. Constants are
    per neuron *class* ``net.cls[i]`` (equal model, parameters and membrane). Models: 0 LIF (c_params
    v_reset, v_th, t_ref_ticks), 1 Izhikevich (a, b, c, d, v_peak; :func:`izh_step`), 2 graded (v_min,
    v_max), 3 HH (:func:`hh_update`), >= USER_CODE a registered user model (:func:`user_step`).
    ``scr.gext``/``scr.dext`` (read if ``has_inputs``; then W = 1): gap + graded-synapse conductance (nS)
    and drive sum(g*E) (pA). ``rec.col[i]`` >= 0: the soma voltage at the
    start of every tick that is a multiple of ``rec.every`` goes to ``rec.v_buf[rec.row[0] + k, col]``.
    Receptor slots 0 and 1 are kept in registers (a = decay part, b = rise part); further ones in ga/gb.
    Inlined (numba IR) into the loop's parallel body, so every array it writes is first taken out of its
    table into a local (see kernels_loop).
    """
    v, u, ga, gb, ring, rng, ref_until = st.v, st.u, st.ga, st.gb, st.ring, st.rng, st.ref_until
    i_ext, lesion, i_arr, arr_t0 = inp.i_ext, inp.lesion, inp.i_arr, inp.i_arr_t0[0]
    n_rows = i_arr.shape[0]
    slot_cond, slot_e, slot_dd, slot_dr, slot_norm = net.slot_cond, net.slot_e, net.slot_dd, net.slot_dr, \
        net.slot_norm
    c_params, dt, rec_every, rec_v = net.c_params, net.dt_ms, rec.every, rec.v_buf
    spk_i, spk_t = scr.spk_i, scr.spk_t
    R = ring.shape[0]
    n_slots = ga.shape[0]
    cnt = 0
    bad_i = -1
    bad_t = -1
    rec_row0 = rec.row[0]
    rec_first = -(-n0 // rec_every) * rec_every if rec_every > 0 else 0
    r_first = (n0 + R - 1) % R                   # integer division is slow: done once, not per neuron
    s0, s1 = n_slots > 0, n_slots > 1
    nrm0 = slot_norm[0] if s0 else 0.0
    nrm1 = slot_norm[1] if s1 else 0.0
    rise0 = s0 and slot_dr[0] > 0.0
    rise1 = s1 and slot_dr[1] > 0.0
    p_slot = pois.slot
    for i in range(lo, hi):
        x = i if net.ident else net.soma[i]
        c = net.cls[i]
        m = net.c_model[c]
        col = rec.col[i] if rec_every > 0 else -1
        iext = i_ext[i] if has_iext else 0.0
        poisson = pois.on and (pois.all or pois.mask[i] != 0)
        lesioned = lesion[x] != 0
        vx, ui, r, ru = v[x], u[i], rng[i], ref_until[i]
        gl, el, cm = net.c_gl[c], net.c_el[c], net.c_cm[c]
        a0 = ga[0, x] if s0 else 0.0
        b0 = gb[0, x] if s0 else 0.0
        a1 = ga[1, x] if s1 else 0.0
        b1 = gb[1, x] if s1 else 0.0
        r_in = r_first - 1
        for n in range(n0, n0 + W):
            r_in += 1
            if r_in == R:
                r_in = 0
            if col >= 0 and n % rec_every == 0:
                rec_v[rec_row0 + (n - rec_first) // rec_every, col] = vx
            i_in = iext
            if 0 <= n - arr_t0 < n_rows:
                i_in = iext + i_arr[n - arr_t0, i]
            if lesioned:
                for y in range(x, x + net.ncomp[i]):
                    for s in range(n_slots):
                        ring[r_in, s, y] = 0.0
                continue
            if s0:
                val = ring[r_in, 0, x]
                if val != 0.0:
                    a0 += val * nrm0
                    if rise0:
                        b0 += val * nrm0
                    ring[r_in, 0, x] = 0.0
            if s1:
                val = ring[r_in, 1, x]
                if val != 0.0:
                    a1 += val * nrm1
                    if rise1:
                        b1 += val * nrm1
                    ring[r_in, 1, x] = 0.0
            for s in range(2, n_slots):
                val = ring[r_in, s, x]
                if val != 0.0:
                    ga[s, x] += val * slot_norm[s]
                    if slot_dr[s] > 0.0:
                        gb[s, x] += val * slot_norm[s]
                    ring[r_in, s, x] = 0.0
            if poisson:
                r, k = poisson_count(r, pois.cdf)
                if k > 0:
                    add = k * pois.w * slot_norm[p_slot]
                    if p_slot == 0:
                        a0 += add
                        if rise0:
                            b0 += add
                    elif p_slot == 1:
                        a1 += add
                        if rise1:
                            b1 += add
                    else:
                        ga[p_slot, x] += add
                        if slot_dr[p_slot] > 0.0:
                            gb[p_slot, x] += add
            ge = scr.gext[x] if has_inputs else 0.0
            de = scr.dext[x] if has_inputs else 0.0
            fired = False
            if m == 3:
                v[x] = vx
                if s0:
                    ga[0, x], gb[0, x] = a0, b0
                if s1:
                    ga[1, x], gb[1, x] = a1, b1
                fired = hh_update(x, net.ncomp[i], c_params[c], v, ga, gb, ring, r_in, st.gates, scr.vold,
                                  scr.gext, scr.dext, i_in, net.node_cm, net.node_gl, net.node_el, net.node_gna,
                                  net.node_gk, net.ax_ptr, net.ax_nb, net.ax_g, slot_cond, slot_e, slot_dd,
                                  slot_dr, slot_norm, dt)
                vx = v[x]
                for y in range(x + 1, x + net.ncomp[i]):
                    if not np.isfinite(v[y]):
                        vx = np.nan
            elif m == 1 or m >= USER_CODE:
                isyn = de - ge * vx + i_in
                if s0:
                    isyn += (a0 - b0) * (slot_e[0] - vx) if slot_cond[0] else a0 - b0
                if s1:
                    isyn += (a1 - b1) * (slot_e[1] - vx) if slot_cond[1] else a1 - b1
                for s in range(2, n_slots):
                    g = ga[s, x] - gb[s, x]
                    isyn += g * (slot_e[s] - vx) if slot_cond[s] else g
                if m == 1:
                    vx, ui, fired = izh_step(vx, ui, isyn, cm, c_params, c, dt, net.c_scheme[c], net.c_substeps[c])
                else:
                    vx, ui, fired = user_step(vx, ui, isyn / cm, c_params[c], dt)
                    fired = fired and np.isfinite(vx)
            elif not (m == 0 and n < ru):
                gtot = gl + ge
                drive = gl * el + de + i_in
                vcur = 0.0
                if s0:
                    if slot_cond[0]:
                        gtot += a0 - b0
                        drive += (a0 - b0) * slot_e[0]
                    else:
                        vcur += a0 * net.pa[0, c] - b0 * net.pb[0, c]
                if s1:
                    if slot_cond[1]:
                        gtot += a1 - b1
                        drive += (a1 - b1) * slot_e[1]
                    else:
                        vcur += a1 * net.pa[1, c] - b1 * net.pb[1, c]
                for s in range(2, n_slots):
                    a_ = ga[s, x]
                    b_ = gb[s, x]
                    if slot_cond[s]:
                        gtot += a_ - b_
                        drive += (a_ - b_) * slot_e[s]
                    else:
                        vcur += a_ * net.pa[s, c] - b_ * net.pb[s, c]
                vx = linear_step(vx, gtot, drive, vcur, m == 0, gl, net.c_inv_gl[c], net.c_decay_m[c], cm, dt)
                if m == 2:
                    vx = min(max(vx, c_params[c, 0]), c_params[c, 1])
                elif vx > c_params[c, 1] and np.isfinite(vx):
                    vx = c_params[c, 0]
                    ru = n + np.int64(c_params[c, 2])
                    fired = True
            if s0:
                a0 *= slot_dd[0]
                if rise0:
                    b0 *= slot_dr[0]
            if s1:
                a1 *= slot_dd[1]
                if rise1:
                    b1 *= slot_dr[1]
            for s in range(2, n_slots):
                ga[s, x] *= slot_dd[s]
                if slot_dr[s] > 0.0:
                    gb[s, x] *= slot_dr[s]
            if fired:
                spk_i[lo * W + cnt] = i
                spk_t[lo * W + cnt] = n
                cnt += 1
            if not np.isfinite(vx):
                if bad_t < 0 or n < bad_t:
                    bad_i = i
                    bad_t = n
                break
        if m != 3:
            v[x] = vx
        if s0:
            ga[0, x], gb[0, x] = a0, b0
        if s1:
            ga[1, x], gb[1, x] = a1, b1
        u[i] = ui
        rng[i] = r
        ref_until[i] = ru
    return cnt, bad_i, bad_t


@njit(cache=True)
def graded_gate(s, vpre, vth, delta, k, dt):
    """Graded synapse gate after one step (spec 5.1, exponential rule) at presynaptic voltage ``vpre``."""
    sinf = 1.0 / (1.0 + math.exp((vth - vpre) / delta))
    tau = (1.0 - sinf) / k
    if tau <= 0.0:
        return sinf
    return sinf + (s - sinf) * math.exp(-dt / tau)


@njit(cache=True)
def end_window(P, W, n0, n_neu, spk_cnt, spk_t, bad_i, bad_t, err, rec_every, rec_row, t_start):
    """End-of-window bookkeeping of the tick loops, after every partition has updated its neurons.

    Returns False, with the earliest diverged (neuron, tick) in ``err``, if a neuron diverged. Otherwise
    advances the recording row past the window and fills ``t_start`` so that ``t_start[k]`` is where the
    spikes of tick ``n0 + k`` begin in the window's (tick, neuron)-ordered list (the prefix of a stable
    counting sort of the per-partition (neuron, tick) lists ``spk_t[(n_neu * p // P) * W:]``); returns True.
    """
    first = -1
    for p in range(P):
        if bad_t[p] >= 0 and (first < 0 or bad_t[p] < bad_t[first]):
            first = p
    if first >= 0:
        err[0] = bad_i[first]
        err[1] = bad_t[first]
        return False
    if rec_every > 0:
        rec_row[0] += (n0 + W - 1) // rec_every - (n0 + rec_every - 1) // rec_every + 1
    for k in range(W + 1):
        t_start[k] = 0
    for p in range(P):
        base = (n_neu * p // P) * W
        for j in range(spk_cnt[p]):
            t_start[spk_t[base + j] - n0 + 1] += 1
    for k in range(W):
        t_start[k + 1] += t_start[k]
    return True
