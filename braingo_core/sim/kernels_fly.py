"""Tick loop of the ``fly`` backend: current-based LIF with Brian2's schedule and refractoriness.

Brian2's order within one tick t (``groups, thresholds, synapses, resets``), kept exactly:

1. state update of every non-refractory neuron (``t - last >= ref``, ticks): exact integration of
   ``dv/dt = (v_rest - v + g)/tau_m``, ``dg/dt = -g/tau_syn`` over one step; refractory neurons keep
   both v and g (Brian's ``(unless refractory)`` on both equations);
2. threshold ``v > v_th`` (non-refractory only): ``last = t``;
3. synaptic events of the spikes of tick ``t - D`` (one delay D for every synapse) add ``w`` to g,
   in (presynaptic neuron, synapse) order; the Poisson drive and stored input add to v. Input that
   reaches a refractory neuron, or one that spiked in this tick, is dropped: Brian2 applies synaptic and
   PoissonInput effects on an ``(unless refractory)`` variable only where ``not_refractory`` holds
   (its generated code masks them; test_flywire_refractory checks this on Brian2 itself);
4. reset of this tick's spikes: v = v_reset, g = 0.

Quiescent neurons are skipped exactly: a neuron with v == v_rest, g == 0 and no drive is a fixed point of
step 1 (v_rest + ((v_rest - v_rest) * em + 0 * pg) == v_rest, 0 * es == 0; v_rest <= v_th is required), so
only the *active* list is updated; a neuron joins it when input reaches it and leaves it when it is back at
rest. ``dense`` mode updates every neuron through the same arithmetic: the state is bitwise the same.
"""
import numpy as np
from numba import njit

from braingo_core.sim.kernels_neuron import INV53, MULT, U11, U12, U25, U27

DONE, BUFFER_FULL, DIVERGED = 0, 1, 2
ACTIVE, PINNED = np.uint8(1), np.uint8(2)


@njit(cache=True)
def _draw(rng, i, p_cdf):
    """Advance neuron i's xorshift64* stream; Binomial count by inversion of ``p_cdf``."""
    r = rng[i]
    r ^= r >> U12
    r ^= r << U25
    r ^= r >> U27
    rng[i] = r
    uu = float((r * MULT) >> U11) * INV53
    k = 0
    while k < p_cdf.shape[0] - 1 and uu > p_cdf[k]:
        k += 1
    return k


@njit(cache=True)
def _open(t, last, ref, i):
    """Brian's ``not_refractory`` in the synapses slot of tick t (false too for a spike in this tick)."""
    return t - last[i] >= ref[i] and last[i] != t


@njit(cache=True)
def run_fly(n_ticks, dense, lo, net, st, drv, inp, out):
    """Advance ``n_ticks`` ticks (see the module docstring); returns (ticks done, status).

    The neurons simulated here are the block [lo, lo + n) of the network (all of it in one process, a
    rank's share under MPI); per-neuron arrays are indexed locally, spike ids are global.
    net: (row_ptr int64[N+1] over global presynaptic ids, post int32[m] local targets, w float32/64[m] mV,
    D ticks, cls int32[n], c_v0, c_vth, c_vr, c_em, c_es, c_pg float64[C], ref int64[n] ticks).
    st: (v, g float64[n], last int64[n] (tick of the last spike), rng uint64[n], tick int64[1],
    sp_ring int32[D+1, N] + sp_cnt int64[D+1] (global spikes of the last D+1 ticks), act int32[n] + n_act
    int64[1] (active list), flag uint8[n]).
    drv: (local ids int64[k] of driven neurons, p_cdf, weight mV). inp: stored input (tick, local id int64[q],
    weight mV, next int64[1]). out: (spike ids int32[cap], ticks int64[cap], count int64[1], err int64[2]).
    """
    row_ptr, post, w, D, cls, c_v0, c_vth, c_vr, c_em, c_es, c_pg, ref = net
    v, g, last, rng, tick, sp_ring, sp_cnt, act, n_act_a, flag = st
    d_ids, p_cdf, d_w = drv
    in_t, in_i, in_w, in_next = inp
    out_i, out_t, out_n, err = out
    R = sp_ring.shape[0]
    n_act = n_act_a[0]
    done = 0
    while done < n_ticks:
        t = tick[0]
        if out_n[0] + v.shape[0] > out_i.shape[0]:
            n_act_a[0] = n_act
            return done, BUFFER_FULL
        slot = t % R
        # 1-2: update and threshold
        nf = 0
        for a in range(n_act):
            i = act[a]
            if t - last[i] >= ref[i]:
                c = cls[i]
                vi = c_v0[c] + ((v[i] - c_v0[c]) * c_em[c] + g[i] * c_pg[c])
                g[i] = g[i] * c_es[c]
                v[i] = vi
                if vi > c_vth[c]:
                    last[i] = t
                    sp_ring[slot, nf] = i + lo
                    nf += 1
                elif not vi == vi:
                    err[0] = i
                    err[1] = t
                    n_act_a[0] = n_act
                    return done, DIVERGED
        sp_ring[slot, :nf].sort()          # ascending ids, as Brian's thresholder (the active list is unordered)
        sp_cnt[slot] = nf
        # 3: synaptic events of tick t - D, then the drive onto v
        n_new = 0
        if t >= D:
            s = (t - D) % R
            for j in range(sp_cnt[s]):
                pre = sp_ring[s, j]
                for q in range(row_ptr[pre], row_ptr[pre + 1]):
                    k = post[q]
                    if not _open(t, last, ref, k):
                        continue
                    g[k] += w[q]
                    if flag[k] == 0:
                        flag[k] = ACTIVE
                        act[n_act + n_new] = k
                        n_new += 1
        for a in range(d_ids.shape[0]):
            i = d_ids[a]
            kp = _draw(rng, i, p_cdf)
            if kp > 0 and _open(t, last, ref, i):
                v[i] += kp * d_w
        while in_next[0] < in_t.shape[0] and in_t[in_next[0]] <= t:
            i = in_i[in_next[0]]
            if in_t[in_next[0]] == t and _open(t, last, ref, i):
                v[i] += in_w
                if flag[i] == 0:
                    flag[i] = ACTIVE
                    act[n_act + n_new] = i
                    n_new += 1
            in_next[0] += 1
        # 4: reset
        for j in range(nf):
            i = sp_ring[slot, j] - lo
            v[i] = c_vr[cls[i]]
            g[i] = 0.0
        o = out_n[0]
        for j in range(nf):
            out_i[o + j] = sp_ring[slot, j]
            out_t[o + j] = t
        out_n[0] = o + nf
        # the active list of the next tick: drop neurons back at rest, append the new ones
        if not dense:
            m = 0
            for a in range(n_act):
                i = act[a]
                if flag[i] == PINNED or v[i] != c_v0[cls[i]] or g[i] != 0.0:
                    act[m] = i
                    m += 1
                else:
                    flag[i] = 0
            for b in range(n_new):
                act[m] = act[n_act + b]
                m += 1
            n_act = m
        tick[0] = t + 1
        done += 1
    n_act_a[0] = n_act
    return done, DONE
