"""Fast path of the tick loop for networks of LIF neurons with spike synapses only (no gap junctions,
graded synapses, HH cables or STDP; one or two receptor slots).

Same windows, conventions and arithmetic as :mod:`kernels_loop` (so the state is bitwise the same as the
general loop's), laid out for SIMD:

* one parallel region per window: partition p first adds the previous window's spikes into the ring for
  its own targets (the synapse CSR is split per pre neuron by target partition, ``part_ptr`` [n, P+1], so
  no partition reads another's synapses), then runs its neurons through the window. The spikes of the
  last window are delivered before returning, so the ring is complete between calls.
* within a partition, chunks of up to ``engine.LIF_CHUNK`` neurons of one class run tick by tick: per tick a
  branch-free pass over the chunk's contiguous state (:mod:`kernels_lif_simd`) that LLVM vectorises; the
  chunk's state and ring rows stay in cache through the window.

Each target sums its inputs in (tick, neuron, synapse) order whatever P is: bitwise the same state for
any number of threads.
"""
import numpy as np
from llvmlite import ir
from numba import njit, prange, types
from numba.core import cgutils
from numba.extending import intrinsic

from braingo_core.sim.kernels_lif_simd import poisson_pass, poisson_tail, poisson_thresholds, update_pass
from braingo_core.sim.kernels_loop import DIVERGED, DONE, SPIKE_BUFFER_FULL, variant
from braingo_core.sim.kernels_neuron import any_nonzero, end_window

#: Synapses ahead whose ring cell is prefetched during delivery (the ring is far larger than the caches).
PREFETCH = 8


def _prefetch_codegen(rw):
    def codegen(context, builder, sig, args):
        ary = context.make_array(sig.args[0])(context, builder, args[0])
        i8p = ir.IntType(8).as_pointer()
        i32 = ir.IntType(32)
        fn = cgutils.get_or_insert_function(builder.module, ir.FunctionType(ir.VoidType(), [i8p, i32, i32, i32]),
                                            "llvm.prefetch.p0i8")
        ptr = builder.bitcast(builder.gep(ary.data, [args[1]]), i8p)
        builder.call(fn, [ptr, ir.Constant(i32, rw), ir.Constant(i32, 3), ir.Constant(i32, 1)])
        return context.get_dummy_value()
    return codegen


@intrinsic
def prefetch_write(typingctx, arr, flat):
    """Hint the cache to fetch element ``flat`` of the C-contiguous ``arr`` for writing (llvm.prefetch)."""
    return types.void(arr, types.intp), _prefetch_codegen(1)


@intrinsic
def prefetch_read(typingctx, arr, flat):
    """Hint the cache to fetch element ``flat`` of the C-contiguous ``arr`` for reading (llvm.prefetch)."""
    return types.void(arr, types.intp), _prefetch_codegen(0)


@njit(cache=True)
def deliver(p, n_pend, pend_i, pend_t, part_ptr, syn_node, syn_delay, syn_slot, syn_w, ring):
    """Add the synapses of spikes ``pend_i/pend_t[:n_pend]`` onto targets of partition p into the ring."""
    R, S, N = ring.shape
    for j in range(n_pend):
        if j + 1 < n_pend:                       # the next spike's synapses (a random row: not in cache)
            i = pend_i[j + 1]
            q0, q1 = part_ptr[i, p], part_ptr[i, p + 1]
            for q in range(q0, q1, 8):           # a cache line each
                prefetch_read(syn_w, q)
            for q in range(q0, q1, 16):
                prefetch_read(syn_node, q)
                prefetch_read(syn_delay, q)
            for q in range(q0, q1, 64):
                prefetch_read(syn_slot, q)
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


@njit(error_model="numpy")             # x / 0 gives inf, not an exception: selects discard it
def lif_window(lo, hi, n0, W, cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m, v, ga, gb, ring, slot_cond,
               slot_e, slot_dd, slot_dr, slot_norm, pa, pb, has_iext, i_ext, ref_until, lesion, rng, pois, thr, kbuf,
               fired, cst, rec, spk_i, spk_t, dt):
    """Advance LIF neurons lo..hi-1 through ticks n0..n0+W-1 (``update_neurons`` restricted to LIF).

    Chunks of at most ``kbuf.size`` neurons of one class run tick by tick (kernels_lif_simd); ``kbuf``,
    ``fired`` and ``cst`` are this partition's rows of the ``LifScratch``; the arrays are the fields of the
    same name of the tables (:mod:`braingo_core.sim.tables`), passed one by one: numba flattens every table
    argument of a call, and this leaf's compile time grows with it. Returns (spikes written to
    spk_i/spk_t[lo*W:] in (tick, neuron) order per chunk, earliest diverged (neuron, tick) or (-1, -1)).
    """
    p_on, p_slot, p_w, p_mask, p_cdf = pois.on, pois.slot, pois.w, pois.mask, pois.cdf
    rec_col, rec_every, rec_v, rec_row0 = rec.col, rec.every, rec.v_buf, rec.row[0]
    R = ring.shape[0]
    S = ga.shape[0]
    two = S > 1
    CH = kbuf.shape[0]
    cnt = 0
    bad_i = -1
    bad_t = -1
    rec_first = -(-n0 // rec_every) * rec_every if rec_every > 0 else 0
    r_first = (n0 + R - 1) % R
    anycond = slot_cond[0] != 0 or (two and slot_cond[1] != 0)
    rise = slot_dr[0] > 0.0 or (two and slot_dr[1] > 0.0)
    a0s, b0s, a1s, b1s = ga[0], gb[0], ga[S - 1], gb[S - 1]       # rows as 1-d arrays: LLVM sees no overlap
    if not p_on:
        kbuf[:] = 0.0
    for s in range(2):
        k = 8 + 8 * s
        on = s < S
        cst[k] = slot_norm[s] if on else 0.0
        cst[k + 1] = 1.0 if on and slot_dr[s] > 0.0 else 0.0
        cst[k + 2] = slot_dd[s] if on else 0.0
        cst[k + 3] = slot_dr[s] if on else 0.0
        cst[k + 4] = 0.0
        cst[k + 5] = 0.0
        cst[k + 6] = slot_e[s] if on else 0.0
        cst[k + 7] = 1.0 if p_on and p_slot == s else 0.0
    cst[24] = p_w
    c0 = lo
    while c0 < hi:
        c = cls[c0]
        c1 = c0 + 1
        lim = min(hi, c0 + CH)
        while c1 < lim and cls[c1] == c:
            c1 += 1
        cst[0], cst[1], cst[2], cst[3] = c_gl[c], c_cm[c], c_inv_gl[c], c_decay_m[c]
        cst[4], cst[5], cst[6], cst[7] = c_params[c, 0], c_params[c, 1], c_params[c, 2], c_gl[c] * c_el[c]
        for s in range(S):
            cst[12 + 8 * s], cst[13 + 8 * s] = pa[s, c], pb[s, c]
        full = anycond or not c_gl[c] > 0.0
        les_any = False
        for i in range(c0, c1):
            les_any |= lesion[i] != 0
        plain = not (les_any or has_iext or rise)
        r_in = r_first
        for n in range(n0, n0 + W):
            if rec_every > 0 and n % rec_every == 0:
                row = rec_row0 + (n - rec_first) // rec_every
                for i in range(c0, c1):
                    if rec_col[i] >= 0:
                        rec_v[row, rec_col[i]] = v[i]
            if p_on and poisson_pass(c0, c1, rng, p_mask, lesion, thr, kbuf):
                poisson_tail(c0, c1, rng, p_cdf, kbuf)
            ring0, ring1 = ring[r_in, 0], ring[r_in, S - 1]
            # constant flags: specialised SIMD loops for the common plain cases (kernels_lif_simd)
            if plain and two and full:
                nf, bad = update_pass(c0, c1, n, True, True, False, False, v, ref_until, a0s, b0s, a1s, b1s, ring0,
                                      ring1, i_ext, False, lesion, kbuf, fired, cst, slot_cond, dt)
            elif plain and not (two or full):
                nf, bad = update_pass(c0, c1, n, False, False, False, False, v, ref_until, a0s, b0s, a1s, b1s, ring0,
                                      ring1, i_ext, False, lesion, kbuf, fired, cst, slot_cond, dt)
            else:
                nf, bad = update_pass(c0, c1, n, two, full, rise, les_any, v, ref_until, a0s, b0s, a1s, b1s, ring0,
                                      ring1, i_ext, has_iext, lesion, kbuf, fired, cst, slot_cond, dt)
            if nf > 0:
                for j in range(c1 - c0):
                    if fired[j]:
                        spk_i[lo * W + cnt] = c0 + j
                        spk_t[lo * W + cnt] = n
                        cnt += 1
            if bad:
                for i in range(c0, c1):
                    if lesion[i] == 0 and not np.isfinite(v[i]):
                        if bad_t < 0 or n < bad_t:
                            bad_i = i
                            bad_t = n
                        break
                break
            r_in += 1
            if r_in == R:
                r_in = 0
        c0 = c1
    return cnt, bad_i, bad_t


def _run_lif(n_ticks, P, W_max, net, st, inp, scr, lscr, pois, rec):
    """Advance ``n_ticks`` ticks (tables of :mod:`braingo_core.sim.tables`); returns like ``kernels_loop``."""
    part_ptr, syn_node, syn_delay, syn_slot, syn_w = net.part_ptr, net.syn_node, net.syn_delay, net.syn_slot, \
        net.syn_w
    spk_i, spk_t, spikes, spike_t, t_start = scr.spk_i, scr.spk_t, scr.spikes, scr.spike_t, scr.t_start
    out_i, out_t, out_n = rec.out_i, rec.out_t, rec.out_n
    ring, tick, v, ga, gb, ref_until, rng = st.ring, st.tick, st.v, st.ga, st.gb, st.ref_until, st.rng
    cls, c_params, c_cm, c_gl, c_inv_gl, c_el, c_decay_m = (net.cls, net.c_params, net.c_cm, net.c_gl, net.c_inv_gl,
                                                            net.c_el, net.c_decay_m)
    slot_cond, slot_e, slot_dd, slot_dr, slot_norm, pa, pb = (net.slot_cond, net.slot_e, net.slot_dd, net.slot_dr,
                                                              net.slot_norm, net.pa, net.pb)
    i_ext, lesion, dt = inp.i_ext, inp.lesion, net.dt_ms
    spk_cnt, bad_i, bad_t, thr, kbuf, fired, cst = scr.spk_cnt, scr.bad_i, scr.bad_t, lscr.thr, lscr.kbuf, \
        lscr.fired, lscr.cst
    has_iext = any_nonzero(i_ext)
    n_neu = st.v.shape[0]
    done = 0
    n_pend = 0
    status = DONE
    poisson_thresholds(pois.cdf, thr)
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
                                     i_ext, ref_until, lesion, rng, pois, thr, kbuf[p], fired[p], cst[p], rec,
                                     spk_i, spk_t, dt)
            spk_cnt[p] = cnt
            bad_i[p] = bi
            bad_t[p] = bt
        n_pend = 0
        if not end_window(P, W, n0, n_neu, spk_cnt, spk_t, bad_i, bad_t, rec.err, rec.every, rec.row, t_start):
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
