"""Fast path of the tick loop for networks of single-node graded neurons coupled only by graded synapses
and gap junctions (no spike synapses, Poisson drive, STDP or HH cables); chosen in engine.py at build time.

Same ticks, conventions and formulas as :mod:`kernels_loop` with W = 1, on compact per-neuron arrays
(rows by target neuron, :func:`network.graded_rows`), with what does not change during a call done once
at its start from ``v``, ``s_gate`` and ``lesion`` (so lesions, snapshots and writes to the state need no
hook):

* ``live`` [n]: 1.0, or 0.0 for a lesioned neuron; a lesioned target skips its row, a lesioned source
  adds zero (the general loop skips it);
* ``gap_wl`` [m_gap] = g * live[y] and ``g_gap`` [n], each row's gap conductance summed in order (nS):
  per tick a gap entry only adds ``gap_wl * V_y`` to the drive;
* ``sa`` [Q] = live[pre] * gate of each (graded receptor, presynaptic neuron) pair, kept up to date
  with the gates (updated through flat indices ``q_flat`` = slot * n_nodes + pre into ``s_gate``);
* ``vs`` [n]: the soma voltages (mV) of the call, written back to ``v`` on return.

Each row is summed into two interleaved accumulators (half the dependent-add chain), so the state differs
from the general loop's by summation order only (about 1e-13 mV); the loop is serial, hence bitwise the
same for any number of threads.
"""
import math

from numba import njit

from braingo_core.sim.kernels_loop import DIVERGED, DONE, variant
from braingo_core.sim.kernels_neuron import any_nonzero, graded_gate


def _run_graded(n_ticks, net, rows, st, inp, scr, rec):
    """Advance ``n_ticks`` ticks; returns (ticks done, DONE or DIVERGED) like ``kernels_loop.run_ticks``.

    ``net`` the ``Net`` (classes: c_params = v_min_mV, v_max_mV), ``rows`` its ``GradedRows``, ``st`` the
    ``State`` (v, s_gate, tick), ``inp`` the ``Inputs``, ``scr`` a ``GradedScratch``, ``rec`` a ``Rec``
    (:mod:`braingo_core.sim.tables`).
    """
    soma, cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m = (net.soma, net.cls, net.c_params, net.c_cm,
                                                                  net.c_gl, net.c_inv_gl, net.c_el, net.c_decay_m)
    gap_ptr, gap_y, gap_w, gs_ptr, gs_q, gs_e, gs_w = (rows.gap_ptr, rows.gap_y, rows.gap_w, rows.gs_ptr, rows.gs_q,
                                                       rows.gs_e, rows.gs_w)
    q_flat, q_pre, q_slot = rows.q_flat, rows.q_pre, rows.q_slot
    g_vth, g_delta, g_k, g_e, dt = net.g_vth, net.g_delta, net.g_k, net.g_e, net.dt_ms
    v, s_gate, tick, i_ext, lesion = st.v, st.s_gate, st.tick, inp.i_ext, inp.lesion
    live, vs, g_gap, gext, dext, gap_wl, sa = scr.live, scr.vs, scr.g_gap, scr.gext, scr.dext, scr.gap_wl, scr.sa
    rec_col, rec_every, rec_v, rec_row, err = rec.col, rec.every, rec.v_buf, rec.row, rec.err
    has_iext = any_nonzero(i_ext)
    n = soma.shape[0]
    sf = s_gate.reshape(-1)
    for i in range(n):
        live[i] = 1.0 if lesion[soma[i]] == 0 else 0.0
        vs[i] = v[soma[i]]
    for i in range(n):
        g = 0.0
        for j in range(gap_ptr[i], gap_ptr[i + 1]):
            gap_wl[j] = gap_w[j] * live[gap_y[j]]
            g += gap_wl[j]
        g_gap[i] = g
    for q in range(q_flat.shape[0]):
        sa[q] = live[q_pre[q]] * sf[q_flat[q]]
    status = DONE
    done = 0
    while done < n_ticks:
        t = tick[0]
        for i in range(n):                                       # phase 1: from start-of-step values
            if live[i] == 0.0:
                continue
            d0 = 0.0                                             # two accumulators per sum: half the add chain
            d1 = 0.0
            j1 = gap_ptr[i + 1]
            j = gap_ptr[i]
            while j + 1 < j1:
                d0 += gap_wl[j] * vs[gap_y[j]]
                d1 += gap_wl[j + 1] * vs[gap_y[j + 1]]
                j += 2
            if j < j1:
                d0 += gap_wl[j] * vs[gap_y[j]]
            g0 = g_gap[i]
            g1 = 0.0
            j1 = gs_ptr[i + 1]
            j = gs_ptr[i]
            while j + 1 < j1:
                ge = gs_w[j] * sa[gs_q[j]]
                g0 += ge
                d0 += ge * g_e[gs_e[j]]
                ge = gs_w[j + 1] * sa[gs_q[j + 1]]
                g1 += ge
                d1 += ge * g_e[gs_e[j + 1]]
                j += 2
            if j < j1:
                ge = gs_w[j] * sa[gs_q[j]]
                g0 += ge
                d0 += ge * g_e[gs_e[j]]
            gext[i] = g0 + g1
            dext[i] = d0 + d1
        rec_now = rec_every > 0 and t % rec_every == 0
        bad = -1
        for i in range(n):                                       # phases 2-4 (update_neurons, graded)
            vx = vs[i]
            if rec_now and rec_col[i] >= 0:
                rec_v[rec_row[0], rec_col[i]] = vx
            if live[i] == 0.0:
                continue
            c = cls[i]
            gl = c_gl[c]
            gtot = gl + gext[i]
            drive = gl * c_el[c] + dext[i] + (i_ext[i] if has_iext else 0.0)
            if gtot == gl and gl > 0.0:
                vinf = drive * c_inv_gl[c]
                vx = vinf + (vx - vinf) * c_decay_m[c]
            elif gtot != 0.0:
                vinf = drive / gtot
                vx = vinf + (vx - vinf) * math.exp(-dt * gtot / c_cm[c])
            else:
                vx += dt * drive / c_cm[c]
            vx = min(max(vx, c_params[c, 0]), c_params[c, 1])
            vs[i] = vx
            if bad < 0 and not math.isfinite(vx):
                bad = i
        if bad >= 0:
            err[0] = bad
            err[1] = t
            status = DIVERGED
            break
        if rec_now:
            rec_row[0] += 1
        for q in range(q_flat.shape[0]):                          # phase 5: gates follow the new voltages
            y = q_pre[q]
            gs = q_slot[q]
            s = graded_gate(sf[q_flat[q]], vs[y], g_vth[gs], g_delta[gs], g_k[gs], dt)
            sf[q_flat[q]] = s
            sa[q] = live[y] * s
        tick[0] = t + 1
        done += 1
    for i in range(n):
        v[soma[i]] = vs[i]
    return done, status


run_graded = njit(cache=True)(variant(_run_graded, "_serial"))
