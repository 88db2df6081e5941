"""Fast path of the tick loop for networks of LIF neurons with spike synapses only (no gap junctions,
graded synapses, HH cables or STDP; one or two receptor slots).

Same windows, conventions and arithmetic as :mod:`kernels_loop` (so the state is bitwise the same as the
general loop's), with what the general loop has to decide per neuron and tick decided once:

* the model is LIF, the two receptor slots live in registers, each slot's kind (conductance or current)
  is fixed; a neuron's constants and its drive ``g_leak*E_leak + I_ext`` (pA) are loaded once per window;
* one parallel region per window: partition p first adds the previous window's spikes into the ring for
  its own targets (the synapse CSR is split per pre neuron by target partition, ``part_ptr`` [n, P+1], so
  no partition reads another's synapses), then runs its neurons through the window. The spikes of the
  last window are delivered before returning, so the ring is complete between calls.

Each target sums its inputs in (tick, neuron, synapse) order whatever P is: bitwise the same state for
any number of threads.
"""
import math

import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from braingo_core.sim.kernels_loop import DIVERGED, DONE, SPIKE_BUFFER_FULL, variant
from braingo_core.sim.kernels_neuron import INV53, MULT, U11, U12, U25, U27, end_window

#: Synapses ahead whose ring cell is prefetched during delivery (the ring is far larger than the caches).
PREFETCH = 8


@intrinsic
def prefetch_write(typingctx, arr, flat):
    """Hint the cache to fetch element ``flat`` of the C-contiguous ``arr`` for writing (llvm.prefetch)."""
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [ptr, ir.Constant(i32, 1), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return types.void(arr, types.intp), codegen


@njit(cache=True)
def deliver(p, n_pend, pend_i, pend_t, part_ptr, syn_node, syn_delay, syn_slot, syn_w, ring):
    """Add the synapses of spikes ``pend_i/pend_t[:n_pend]`` onto targets of partition p into the ring."""
    R, S, N = ring.shape
    for j in range(n_pend):
        i = pend_i[j]
        base = pend_t[j] % R
        end = part_ptr[i, p + 1]
        for q in range(part_ptr[i, p], end):
            qq = q + PREFETCH
            if qq < end:
                slot = base + syn_delay[qq]
                if slot >= R:
                    slot -= R
                prefetch_write(ring, (slot * S + syn_slot[qq]) * N + syn_node[qq])
            slot = base + syn_delay[q]
            if slot >= R:
                slot -= R
            ring[slot, syn_slot[q], syn_node[q]] += syn_w[q]


@njit(cache=True)
def lif_window(lo, hi, n0, W, cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m, v, ga, gb, ring, slot_cond,
               slot_e, slot_dd, slot_dr, slot_norm, pa, pb, has_iext, i_ext, ref_until, lesion, rng, pois, rec_col,
               rec_every, rec_v, rec_row0, spk_i, spk_t, dt):
    """Advance LIF neurons lo..hi-1 through ticks n0..n0+W-1 (``update_neurons`` restricted to LIF).

    Returns (spikes written to spk_i/spk_t[lo*W:], earliest diverged (neuron, tick) or (-1, -1)).
    """
    p_on, p_all, p_cdf, p_slot, p_w, p_mask = pois
    R = ring.shape[0]
    S = ga.shape[0]
    s1 = S > 1
    n_cdf = p_cdf.shape[0] - 1
    cnt = 0
    bad_i = -1
    bad_t = -1
    rec_first = -(-n0 // rec_every) * rec_every if rec_every > 0 else 0
    r_first = (n0 + R - 1) % R
    cond0 = slot_cond[0] != 0
    cond1 = s1 and slot_cond[1] != 0
    e0 = slot_e[0]
    e1 = slot_e[1] if s1 else 0.0
    nrm0 = slot_norm[0]
    nrm1 = slot_norm[1] if s1 else 0.0
    rf0 = 1.0 if slot_dr[0] > 0.0 else 0.0         # the rise part b stays 0 for single exponentials
    rf1 = 1.0 if s1 and slot_dr[1] > 0.0 else 0.0
    dd0, dr0 = slot_dd[0], slot_dr[0]
    dd1 = slot_dd[1] if s1 else 0.0
    dr1 = slot_dr[1] if s1 else 0.0
    p_nrm = slot_norm[p_slot] if p_on else 0.0
    for i in range(lo, hi):
        col = rec_col[i] if rec_every > 0 else -1
        if lesion[i] != 0:
            r_in = r_first - 1
            for n in range(n0, n0 + W):
                r_in += 1
                if r_in == R:
                    r_in = 0
                if col >= 0 and n % rec_every == 0:
                    rec_v[rec_row0 + (n - rec_first) // rec_every, col] = v[i]
                for s in range(S):
                    ring[r_in, s, i] = 0.0
            continue
        c = cls[i]
        poisson = p_on and (p_all or p_mask[i] != 0)
        vx, r, ru = v[i], rng[i], ref_until[i]
        gl, cm = c_gl[c], c_cm[c]
        v_reset, v_th, t_ref = c_params[c, 0], c_params[c, 1], np.int64(c_params[c, 2])
        drive0 = gl * c_el[c] + (i_ext[i] if has_iext else 0.0)
        leak = gl > 0.0
        vinf0 = drive0 * c_inv_gl[c]
        dm = c_decay_m[c]
        pa0, pb0 = pa[0, c], pb[0, c]
        pa1 = pa[1, c] if s1 else 0.0
        pb1 = pb[1, c] if s1 else 0.0
        a0, b0 = ga[0, i], gb[0, i]
        a1 = ga[1, i] if s1 else 0.0
        b1 = gb[1, i] if s1 else 0.0
        r_in = r_first - 1
        for n in range(n0, n0 + W):
            r_in += 1
            if r_in == R:
                r_in = 0
            if col >= 0 and n % rec_every == 0:
                rec_v[rec_row0 + (n - rec_first) // rec_every, col] = vx
            val = ring[r_in, 0, i]
            if val != 0.0:                               # most slots are empty: no write-back then
                ring[r_in, 0, i] = 0.0
                a0 += val * nrm0
                b0 += val * nrm0 * rf0
            if s1:
                val = ring[r_in, 1, i]
                if val != 0.0:
                    ring[r_in, 1, i] = 0.0
                    a1 += val * nrm1
                    b1 += val * nrm1 * rf1
            if poisson:                                  # xorshift64*, binomial by inversion of p_cdf
                r ^= r >> U12
                r ^= r << U25
                r ^= r >> U27
                uu = float(np.int64((r * MULT) >> U11)) * INV53     # < 2**53: the signed conversion is exact
                if uu > p_cdf[0]:
                    k = 1
                    while k < n_cdf and uu > p_cdf[k]:
                        k += 1
                    add = k * p_w * p_nrm
                    if p_slot == 0:
                        a0 += add
                        b0 += add * rf0
                    else:
                        a1 += add
                        b1 += add * rf1
            fired = False
            if n >= ru:
                gtot = gl
                drive = drive0
                vcur = 0.0
                if cond0:
                    gtot += a0 - b0
                    drive += (a0 - b0) * e0
                else:
                    vcur = a0 * pa0 - b0 * pb0
                if s1:
                    if cond1:
                        gtot += a1 - b1
                        drive += (a1 - b1) * e1
                    else:
                        vcur += a1 * pa1 - b1 * pb1
                if gtot == gl and leak:
                    vinf = vinf0 if drive == drive0 else drive * c_inv_gl[c]
                    vx = vinf + (vx - vinf) * dm + vcur
                elif gtot != 0.0:
                    vinf = drive / gtot
                    vx = vinf + (vx - vinf) * math.exp(-dt * gtot / cm) + vcur
                else:
                    vx += dt * drive / cm + vcur
                if vx > v_th and np.isfinite(vx):
                    vx = v_reset
                    ru = n + t_ref
                    fired = True
            a0 *= dd0
            b0 *= dr0
            if s1:
                a1 *= dd1
                b1 *= dr1
            if fired:
                spk_i[lo * W + cnt] = i
                spk_t[lo * W + cnt] = n
                cnt += 1
            if not np.isfinite(vx):
                if bad_t < 0 or n < bad_t:
                    bad_i = i
                    bad_t = n
                break
        v[i] = vx
        ga[0, i], gb[0, i] = a0, b0
        if s1:
            ga[1, i], gb[1, i] = a1, b1
        rng[i] = r
        ref_until[i] = ru
    return cnt, bad_i, bad_t


def _run_lif(n_ticks, P, W_max, net, st, scr, pois, rec):
    (cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m, part_ptr, syn_node, syn_delay, syn_slot, slot_cond,
     slot_e, slot_dd, slot_dr, slot_norm, pa, pb, dt) = net
    v, ga, gb, ring, ref_until, has_iext, i_ext, lesion, syn_w, rng, tick = st
    spk_i, spk_t, spk_cnt, bad_i, bad_t, spikes, spike_t, t_start = scr
    rec_col, rec_every, rec_v, rec_row, out_i, out_t, out_n, err = rec
    n_neu = v.shape[0]
    done = 0
    n_pend = 0
    status = DONE
    while done < n_ticks:
        n0 = tick[0]
        W = min(W_max, n_ticks - done, (out_t.shape[0] - out_n[0]) // max(n_neu, 1))
        if W <= 0:
            status = SPIKE_BUFFER_FULL
            break
        for p in prange(P):
            lo = n_neu * p // P
            hi = n_neu * (p + 1) // P
            deliver(p, n_pend, spikes, spike_t, part_ptr, syn_node, syn_delay, syn_slot, syn_w, ring)
            cnt, bi, bt = lif_window(lo, hi, n0, W, cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m, v, ga,
                                     gb, ring, slot_cond, slot_e, slot_dd, slot_dr, slot_norm, pa, pb, has_iext,
                                     i_ext, ref_until, lesion, rng, pois, rec_col, rec_every, rec_v, rec_row[0],
                                     spk_i, spk_t, dt)
            spk_cnt[p] = cnt
            bad_i[p] = bi
            bad_t[p] = bt
        n_pend = 0
        if not end_window(P, W, n0, n_neu, spk_cnt, spk_t, bad_i, bad_t, err, rec_every, rec_row, t_start):
            return done, DIVERGED
        # spikes in (tick, neuron) order: place them by the counting-sort prefix t_start
        for p in range(P):
            base = (n_neu * p // P) * W
            for j in range(spk_cnt[p]):
                k = spk_t[base + j] - n0
                spikes[t_start[k]] = spk_i[base + j]
                spike_t[t_start[k]] = n0 + k
                t_start[k] += 1
        n_pend = t_start[W - 1]
        on = out_n[0]
        for j in range(n_pend):
            out_i[on + j] = spikes[j]
            out_t[on + j] = spike_t[j]
        out_n[0] = on + n_pend
        tick[0] = n0 + W
        done += W
    if n_pend > 0:
        for p in prange(P):
            deliver(p, n_pend, spikes, spike_t, part_ptr, syn_node, syn_delay, syn_slot, syn_w, ring)
    return done, status


run_lif_serial = njit(cache=True)(variant(_run_lif, "_serial"))
run_lif_parallel = njit(cache=True, parallel=True)(variant(_run_lif, "_parallel"))
