"""The tick loop (one numba call runs many ticks); serial and numba-parallel variants of one source.

Ticks run in windows of W ticks (W <= shortest spike delay + 1, and W = 1 when gap junctions, graded
synapses or STDP couple neurons every tick): no spike emitted inside a window can reach a neuron before
the window ends, so each neuron runs its whole window while its state is in cache, and the window's
spikes are queued afterwards in (tick, neuron) order, exactly as tick-by-tick. One tick ``n``:

1. gap junctions and graded synapses -> per-node conductance ``gext`` and drive ``dext`` (from the
   start-of-step voltages; skipped when the network has neither);
2. event arrival: the ring slot written for this update is moved into the lumped synapses, plus the
   Poisson drive (``update_neurons``);
3./4. neuron update (kernels_neuron), threshold, reset; lumped synapses decay;
   spikes are queued into the ring at slot ``(n + delay) % R``: a spike of tick n with delay d first
   changes the update of tick n + d + 1 (Brian2's convention). The ring is dense per (slot, receptor,
   node), sized ring_size = max delay + 1 ticks at start: it cannot overflow while running, and a
   network whose ring would not fit ``max_ring_bytes`` is refused up front;
5. graded-synapse gates follow the new presynaptic voltages; STDP traces and weight batches.

Parallelism: ``prange`` over P contiguous partitions (neurons, target nodes). Each partition writes
only its own rows; spikes are listed in neuron-id order and every target sums its inputs in the same
(spike, synapse) order whatever P is, so the state is bitwise identical for any thread count.

The tables (:mod:`braingo_core.sim.tables`) are read by field name; arrays that a ``prange`` body writes
are taken out of their table into a local first (numba 0.68's parfor lowering drops writes made through
``table.field[i] = ...`` inside the parallel body).
"""
import hashlib
import os
import types

from numba import njit, prange

from braingo_core.sim import kernels_neuron
from braingo_core.sim.kernels_neuron import any_nonzero, end_window, graded_gate, update_neurons

DONE, SPIKE_BUFFER_FULL, DIVERGED = 0, 1, 2
#: Modules whose code the loop variants compile in (their hash names the variants' cache entries).
HELPERS = ("kernels_neuron.py", "kernels_hh.py", "kernels_math.py", "kernels_lif_simd.py", "tables.py")


def _run_ticks(n_ticks, P, W_max, net, st, inp, scr, pois, stdp, rec):
    """Advance ``n_ticks`` ticks in windows of at most ``W_max`` over P partitions.

    Arguments are the named tables of :mod:`braingo_core.sim.tables` (``Net``, ``State``, ``Inputs``,
    ``Scratch``, ``Poisson``, ``Stdp``, ``Rec``). Returns (ticks done, DONE, SPIKE_BUFFER_FULL or DIVERGED).
    """
    v, ring, s_gate, lesion = st.v, st.ring, st.s_gate, inp.lesion
    gap_ptr, gap_nb, gap_g = net.gap_ptr, net.gap_nb, net.gap_g
    gs_ptr, gs_pre, gs_slot, gs_w = net.gs_ptr, net.gs_pre, net.gs_slot, net.gs_w
    gext, dext, spk_i, spk_t, spikes, t_start = scr.gext, scr.dext, scr.spk_i, scr.spk_t, scr.spikes, scr.t_start
    spk_cnt, bad_i, bad_t, g_e = scr.spk_cnt, scr.bad_i, scr.bad_t, net.g_e
    row_ptr, syn_node, syn_delay, syn_slot, syn_w = net.row_ptr, net.syn_node, net.syn_delay, net.syn_slot, net.syn_w
    out_i, out_t, out_n = rec.out_i, rec.out_t, rec.out_n
    n_neu = net.soma.shape[0]
    n_nodes = v.shape[0]
    R = ring.shape[0]
    has_inputs = gap_nb.shape[0] > 0 or gs_pre.shape[0] > 0
    has_iext = any_nonzero(inp.i_ext)
    done = 0
    while done < n_ticks:
        n0 = st.tick[0]
        W = min(W_max, n_ticks - done, (out_t.shape[0] - out_n[0]) // max(n_neu, 1))
        if W <= 0:
            return done, SPIKE_BUFFER_FULL
        if has_inputs:                                                   # phase 1 (W is 1 here)
            for p in prange(P):
                for x in range(n_nodes * p // P, n_nodes * (p + 1) // P):
                    g = 0.0
                    d = 0.0
                    if lesion[x] == 0:
                        for j in range(gap_ptr[x], gap_ptr[x + 1]):
                            y = gap_nb[j]
                            if lesion[y] == 0:
                                g += gap_g[j]
                                d += gap_g[j] * v[y]
                        for j in range(gs_ptr[x], gs_ptr[x + 1]):
                            y = gs_pre[j]
                            if lesion[y] == 0:
                                ge = gs_w[j] * s_gate[gs_slot[j], y]
                                g += ge
                                d += ge * g_e[gs_slot[j]]
                    gext[x] = g
                    dext[x] = d
        for p in prange(P):                                              # phases 2-4
            cnt, bi, bt = update_neurons(n_neu * p // P, n_neu * (p + 1) // P, n0, W, net, st, inp, scr, pois,
                                         rec, has_inputs, has_iext)
            spk_cnt[p] = cnt
            bad_i[p] = bi
            bad_t[p] = bt
        if not end_window(P, W, n0, n_neu, spk_cnt, spk_t, bad_i, bad_t, rec.err, rec.every, rec.row, t_start):
            return done, DIVERGED
        # spikes in (tick, neuron) order: place them by the counting-sort prefix t_start
        total = t_start[W]
        for p in range(P):
            base = (n_neu * p // P) * W
            for j in range(spk_cnt[p]):
                k = spk_t[base + j] - n0
                spikes[t_start[k]] = spk_i[base + j]
                t_start[k] += 1
        on = out_n[0]
        k = 0
        for j in range(total):
            while j >= t_start[k]:
                k += 1
            out_i[on + j] = spikes[j]
            out_t[on + j] = n0 + k
        out_n[0] = on + total
        if total > 0:                                                    # into the ring, by arrival tick
            for p in prange(P):
                lo = n_nodes * p // P
                hi = n_nodes * (p + 1) // P
                j0 = 0
                for k in range(W):
                    base = (n0 + k) % R
                    for j in range(j0, t_start[k]):
                        i = spikes[j]
                        for q in range(row_ptr[i], row_ptr[i + 1]):
                            t = syn_node[q]
                            if lo <= t < hi:
                                slot = base + syn_delay[q]
                                if slot >= R:
                                    slot -= R
                                ring[slot, syn_slot[q], t] += syn_w[q]
                    j0 = t_start[k]
        for q in range(net.gp_slot.shape[0]):                            # phase 5 (W is 1 here)
            gs = net.gp_slot[q]
            y = net.gp_node[q]
            s_gate[gs, y] = graded_gate(s_gate[gs, y], v[y], net.g_vth[gs], net.g_delta[gs], net.g_k[gs], net.dt_ms)
        if stdp.on:
            _stdp_tick(n0, total, spikes, net.syn_w, st.x_pre, st.x_post, st.dw, stdp, net.pl_syn, net.pl_wmax,
                       net.pl_pre, net.pl_post, net.pl_pre_ptr, net.pl_post_order, net.pl_post_ptr)
        st.tick[0] = n0 + W
        done += W
    return done, DONE


@njit
def _stdp_tick(n, total, spikes, syn_w, x_pre, x_post, dw, stdp, pl_syn, pl_wmax, pl_pre, pl_post, pl_pre_ptr,
               pl_post_order, pl_post_ptr):
    """Song-Miller-Abbott additive STDP with per-neuron traces; weights change every ``batch`` ticks.

    Pre spikes depress by a_minus*w_max*x_post, post spikes potentiate by a_plus*w_max*x_pre (the pre
    pathway runs first, as in Brian2, so a simultaneous pair potentiates). Spike times are the somatic
    ones (axonal delay not included).
    """
    a_plus, a_minus, dec_pre, dec_post = stdp.a_plus, stdp.a_minus, stdp.dec_pre, stdp.dec_post
    for i in range(x_pre.shape[0]):
        x_pre[i] *= dec_pre
        x_post[i] *= dec_post
    for k in range(total):
        i = spikes[k]
        x_pre[i] += 1.0
        for q in range(pl_pre_ptr[i], pl_pre_ptr[i + 1]):
            dw[q] -= a_minus * pl_wmax[q] * x_post[pl_post[q]]
    for k in range(total):
        i = spikes[k]
        x_post[i] += 1.0
        for j in range(pl_post_ptr[i], pl_post_ptr[i + 1]):
            q = pl_post_order[j]
            dw[q] += a_plus * pl_wmax[q] * x_pre[pl_pre[q]]
    if (n + 1) % stdp.batch == 0:
        for q in range(dw.shape[0]):
            w = syn_w[pl_syn[q]] + dw[q]
            syn_w[pl_syn[q]] = min(max(w, 0.0), pl_wmax[q])
            dw[q] = 0.0


def variant(func, suffix):
    """A copy of ``func`` with its own name, so each numba variant gets its own cache file.

    The name carries a hash of the helper modules (``HELPERS``): numba's cache does not notice changes in
    the helpers it compiled in from another module, so a changed helper must give a new cache entry. For
    the same reason the helpers that call into another module (``update_neurons``, ``lif_window``,
    ``update_pass``) are not cached on their own: they are compiled into these cached variants.
    """
    h = hashlib.sha1()
    for name in HELPERS:
        with open(os.path.join(os.path.dirname(__file__), name), "rb") as f:
            h.update(f.read())
    suffix += "_" + h.hexdigest()[:10]
    g = types.FunctionType(func.__code__, func.__globals__, func.__name__ + suffix, func.__defaults__,
                           func.__closure__)
    g.__qualname__ = func.__qualname__ + suffix
    g.__module__ = func.__module__
    return g


run_ticks_serial = njit(cache=True)(variant(_run_ticks, "_serial"))
run_ticks_parallel = njit(cache=True, parallel=True)(variant(_run_ticks, "_parallel"))


def _with_globals(func, **names):
    """A copy of the plain function ``func`` whose globals have ``names`` replaced."""
    g = types.FunctionType(func.__code__, dict(func.__globals__, **names), func.__name__, func.__defaults__,
                           func.__closure__)
    g.__qualname__, g.__module__ = func.__qualname__, func.__module__
    return g


_USER_KERNELS = {}


def user_kernels(step):
    """(serial, parallel) loop variants whose user-model hook is the numba function ``step`` (not cached
    on disk: compiled once per process and model)."""
    if step not in _USER_KERNELS:
        upd = njit(inline="always")(_with_globals(kernels_neuron.update_neurons.py_func, user_step=step))
        run = _with_globals(_run_ticks, update_neurons=upd)
        _USER_KERNELS[step] = njit(run), njit(parallel=True)(run)
    return _USER_KERNELS[step]
