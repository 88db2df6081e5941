"""PointEngine: dynamic state of the numba engine (LIF, Izhikevich, graded, HH) and calls into the loop.

State (float64 unless noted; all preallocated here, none allocated while running):

* ``v`` [n_nodes] mV, ``u`` [n_neurons] (Izhikevich recovery), ``gates`` [3, n_nodes] (HH m, h, n);
* ``ga``, ``gb`` [n_slots, n_nodes]: lumped synapses (decay / rise parts; nS or pA per receptor slot);
* ``ring`` [ring_size, n_slots, n_nodes]: synaptic input by arrival tick (see kernels_loop);
* ``s_gate`` [n_graded_slots, n_nodes]: graded-synapse gates per presynaptic node;
* ``ref_until`` int64[n_neurons] (LIF refractory end tick), ``rng`` uint64[n_neurons] (Poisson streams);
* ``syn_w`` [n_spike_synapses] (live weights; STDP changes the plastic ones), ``x_pre``/``x_post``
  [n_neurons] STDP traces, ``dw`` [n_plastic] pending weight changes; ``tick`` int64[1].

These arrays (plus ``w_plastic``, the stimulus ``i_ext`` and the ``lesion`` mask) are what a snapshot
holds; restoring them continues a run bitwise. Memory per spike synapse: 17 bytes (target int32, weight
float64, delay int32, receptor slot int8), read from the file once; the mmap'd records are not kept
resident.

Three loops, chosen here at build time: networks whose neurons are all single-compartment LIF with one or
two spike-synapse receptor slots, and no gap junction, graded synapse or active STDP, run :mod:`kernels_lif`
(it splits each neuron's synapses by target partition); networks of single-node graded neurons with no
receptor slot (no spike synapse, no Poisson drive) run :mod:`kernels_graded` (serial); all others run
:mod:`kernels_loop`. The LIF path gives bitwise the general loop's state, the graded path the same up to
the summation order of each neuron's inputs.
"""
import logging
import math

import numba
import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.sim import kernels_loop as kl
from braingo_core.sim.kernels_neuron import hh_rates
from braingo_core.sim import kernels_graded as kg
from braingo_core.sim import kernels_lif as kf
from braingo_core.sim import kernels_lif_simd as kls
from braingo_core.sim.network import GRADED, HH, IZH, LIF, build_network, graded_rows, split_by_target

log = logging.getLogger(__name__)

#: Longest window of ticks a neuron runs on its own (bounded by the shortest delay; see kernels_loop).
MAX_WINDOW = 16
#: Neurons per chunk of the LIF fast path (its per-chunk state stays in the L1/L2 cache through a window).
LIF_CHUNK = 256
#: Networks at least this big run the numba-parallel loop when ``threads`` is "auto".
AUTO_PARALLEL_NEURONS, AUTO_PARALLEL_SYNAPSES = 20_000, 1_000_000
_DYNAMIC = ("v", "u", "gates", "ga", "gb", "ring", "s_gate", "ref_until", "rng", "x_pre", "x_post", "dw", "tick")


def _splitmix(seed, n):
    """n distinct non-zero uint64 stream states from ``seed`` (splitmix64)."""
    with np.errstate(over="ignore"):
        z = (np.uint64(seed) * np.uint64(0x9E3779B97F4A7C15)
             + (np.arange(1, n + 1, dtype=np.uint64) * np.uint64(0xBF58476D1CE4E5B9)))
        z = (z ^ (z >> np.uint64(30))) * np.uint64(0xBF58476D1CE4E5B9)
        z = (z ^ (z >> np.uint64(27))) * np.uint64(0x94D049BB133111EB)
        z = z ^ (z >> np.uint64(31))
    z[z == 0] = 1
    return z


def binomial_cdf(n, p):
    """CDF table P(X <= k), k = 0..K, of Binomial(n, p), cut where it reaches 1 in float64."""
    cdf, acc = [], 0.0
    for k in range(n + 1):
        acc += math.comb(n, k) * p ** k * (1.0 - p) ** (n - k)
        cdf.append(min(acc, 1.0))
        if acc >= 1.0 - 1e-16:
            break
    cdf[-1] = 1.0
    return np.asarray(cdf)


class PointEngine:
    """Numba engine over a BrainDB (see the module docstring); driven by :class:`Simulation`."""

    def __init__(self, db, cfg):
        self.db = db
        pois = cfg["poisson"]
        p_rec = None
        if pois is not None:
            names = db.metadata.get("receptor_names") or []
            r = pois["receptor"]
            p_rec = names.index(r) if isinstance(r, str) and r in names else r
            if not isinstance(p_rec, (int, np.integer)) or not 0 <= p_rec < len(db.receptors):
                raise SimulationError(f"config poisson.receptor: unknown receptor {r!r} (known: {names})")
        self.net = net = build_network(db, cfg["model"], p_rec, cfg["synapse_weight_scale"], cfg["gap_weight_scale"])
        n, nn, S, G = net.n_neurons, net.n_nodes, len(net.slot_receptor), net.n_gslots
        ring_bytes = net.ring_size * S * nn * 8
        if ring_bytes > cfg["max_ring_bytes"]:
            raise SimulationError(f"{db.path}: the delay ring would need {ring_bytes} bytes ({net.ring_size} ticks x "
                                  f"{S} receptors x {nn} nodes) > max_ring_bytes {cfg['max_ring_bytes']}")
        nt = numba.config.NUMBA_NUM_THREADS
        big = n >= AUTO_PARALLEL_NEURONS or net.syn_w.size >= AUTO_PARALLEL_SYNAPSES
        th = cfg["threads"]
        self.parallel = (big if th == "auto" else th > 1) and nt > 1
        self.threads = None if th == "auto" else int(th)
        coupled = bool(net.gap_g.size or net.gs_w.size or (cfg["stdp"] is not None and net.pl_syn.size))
        # LIF neurons with only spike synapses take the fast path, with the CSR split for its partitions
        self.fast = bool(n and nn == n and net.ident and not coupled and S in (1, 2) and np.all(net.c_model == LIF))
        if self.fast:
            # partitions: one per thread; a serial run with threads > 1 still splits (same state either way)
            self._P = min(self.threads or nt, nt) if self.parallel else (self.threads or 1)
            self._part_ptr = split_by_target(net, self._P)
            P = max(self._P, nt)
            self._lif_scr = (np.zeros(4, np.int64), np.zeros((P, LIF_CHUNK)), np.zeros((P, LIF_CHUNK), np.uint8),
                             np.zeros((P, kls.CST_SIZE)))
        # graded point neurons coupled only by graded synapses and gap junctions: the serial graded path
        self.graded = bool(n and S == 0 and not net.syn_w.size and np.all(net.c_model == GRADED))
        if self.graded:
            self.parallel = False
            rows = graded_rows(net)
            self._graded_net = ((net.soma, net.cls, net.c_params, net.c_cm, net.c_gl, net.c_inv_gl, net.c_el,
                                 net.c_decay_m) + rows + (net.g_vth, net.g_delta, net.g_k, net.g_e, net.dt_ms))
            self._graded_scr = (np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
                                np.zeros(rows[1].size), np.zeros(rows[7].size))
        self.seed = int(cfg["seed"])
        self.v, self.u, self.gates = np.zeros(nn), np.zeros(n), np.zeros((3, nn))
        self.ga, self.gb = np.zeros((S, nn)), np.zeros((S, nn))
        self.ring = np.zeros((net.ring_size, S, nn))
        self.s_gate = np.zeros((G, nn))
        self.ref_until, self.rng = np.zeros(n, np.int64), np.zeros(n, np.uint64)
        self.syn_w = net.syn_w
        self._w0 = self.syn_w[net.pl_syn].copy()
        self.x_pre, self.x_post, self.dw = np.zeros(n), np.zeros(n), np.zeros(net.pl_syn.size)
        self.tick = np.zeros(1, np.int64)
        self.i_ext = np.zeros(n)
        self.lesion = np.zeros(nn, np.uint8)
        self._overrides = {}
        self._pois = self._poisson_args(pois, p_rec, n)
        self._stdp = self._stdp_args(cfg["stdp"])
        self.window = 1 if coupled else max(1, min(MAX_WINDOW, net.min_delay + 1))
        cap = max(n, 1) * self.window
        self._scratch = (np.zeros(nn), np.zeros(nn), np.zeros(nn), np.zeros(cap, np.int32), np.zeros(cap, np.int64),
                         np.zeros(nt, np.int64), np.zeros(nt, np.int64), np.zeros(nt, np.int64),
                         np.zeros(cap, np.int32), np.zeros(self.window + 1, np.int64))
        self._spike_t = np.zeros(cap, np.int64)
        self.out_i = np.zeros(max(n * self.window + n, 1 << 16), np.int32)
        self.out_t = np.zeros(self.out_i.size, np.int64)
        self.out_n = np.zeros(1, np.int64)
        self.err = np.zeros(2, np.int64)
        self.reset()

    def _poisson_args(self, pois, p_rec, n):
        if pois is None:
            return (False, False, np.ones(1), 0, 0.0, np.zeros(1, np.uint8))
        p = pois["rate_Hz"] * self.net.dt_ms * 1e-3
        if p > 1:
            raise SimulationError(f"config poisson.rate_Hz: {pois['rate_Hz']} Hz exceeds one spike per step")
        mask = np.zeros(n, np.uint8)
        ids = pois.get("ids")
        mask[np.arange(n) if ids is None else np.asarray([self.db.neuron_id(i) for i in ids], np.int64)] = 1
        slot = int(np.flatnonzero(self.net.slot_receptor == p_rec)[0])
        return (True, ids is None, binomial_cdf(int(pois["n"]), p), slot, float(pois["weight"]), mask)

    def _stdp_args(self, st):
        net = self.net
        on = st is not None and net.pl_syn.size > 0
        st = st or {"a_plus": 0.0, "a_minus_ratio": 1.0, "tau_plus_ms": 1.0, "tau_minus_ms": 1.0, "batch_ms": 1.0}
        batch = max(1, int(round(st["batch_ms"] / net.dt_ms)))
        return (on, st["a_plus"], st["a_plus"] * st["a_minus_ratio"], math.exp(-net.dt_ms / st["tau_plus_ms"]),
                math.exp(-net.dt_ms / st["tau_minus_ms"]), batch, net.pl_syn, net.pl_wmax, net.pl_pre, net.pl_post,
                net.pl_pre_ptr, net.pl_post_order, net.pl_post_ptr)

    # ----------------------------------------------------------------- state
    def reset(self):
        """Initial state: V at rest (e_leak / e_pas), u = b*V, HH gates and graded gates at steady state."""
        net = self.net
        for name in ("gates", "ga", "gb", "ring", "s_gate", "ref_until", "x_pre", "x_post", "dw", "tick"):
            getattr(self, name)[...] = 0
        self.v[:] = net.node_el                  # e_leak_mV at point somata, e_pas_mV in HH compartments
        self.syn_w[net.pl_syn] = self._w0
        self.rng[:] = _splitmix(self.seed, self.rng.size)
        self.out_n[0] = 0
        for key, val in self._overrides.items():
            self._apply_override(key, val)
        self._derived_init()

    def _derived_init(self):
        net = self.net
        izh = np.flatnonzero(net.model == IZH)
        self.u[izh] = net.params[izh, 1] * self.v[net.soma[izh]]
        for i in np.flatnonzero(net.model == HH):
            for x in range(net.soma[i], net.soma[i] + net.ncomp[i]):
                am, bm, ah, bh, an, bn = hh_rates(self.v[x])
                self.gates[:, x] = am / (am + bm), ah / (ah + bh), an / (an + bn)
        vpre = self.v[net.gp_node]
        d = net.g_delta[net.gp_slot]
        self.s_gate[net.gp_slot, net.gp_node] = 1.0 / (1.0 + np.exp((net.g_vth[net.gp_slot] - vpre) / d))

    def set_initial(self, key, value):
        """Remember an initial-state override ("v_mV" or ("syn", receptor id)) and apply it now."""
        self._overrides[key] = value
        self._apply_override(key, value)
        self._derived_init()

    def _apply_override(self, key, value):
        if key == "v_mV":
            self.v[self.net.soma] = value
        else:
            slot = np.flatnonzero(self.net.slot_receptor == key[1])
            if not slot.size:
                raise SimulationError(f"initial state: receptor {key[1]} is used by no spike synapse")
            self.ga[slot[0], self.net.soma] = value

    def state_arrays(self):
        """Live dynamic arrays by name (plastic weights as ``w_plastic``)."""
        out = {k: getattr(self, k) for k in _DYNAMIC}
        out["w_plastic"] = self.syn_w[self.net.pl_syn]
        return out

    def load_state(self, arrays):
        for name, arr in self.state_arrays().items():
            got = arrays.get(name)
            if got is None or got.shape != arr.shape or got.dtype != arr.dtype:
                found = None if got is None else (got.shape, got.dtype)
                raise SimulationError(f"snapshot array '{name}' is missing or has shape/dtype {found}, "
                                      f"expected {(arr.shape, arr.dtype)}")
        for name in _DYNAMIC:
            getattr(self, name)[...] = arrays[name]
        self.syn_w[self.net.pl_syn] = arrays["w_plastic"]

    def soma_voltages(self):
        return self.v[self.net.soma]

    def set_lesion(self, ids, on):
        net = self.net
        for i in ids:
            nodes = slice(net.soma[i], net.soma[i] + net.ncomp[i])
            self.lesion[nodes] = 1 if on else 0
            if on:
                self.v[nodes] = net.node_el[nodes]
                self.ga[:, nodes] = 0.0
                self.gb[:, nodes] = 0.0

    # ------------------------------------------------------------------- run
    def advance(self, n_ticks, recorder=None, on_spikes=None):
        """Run ``n_ticks``; spikes go to ``on_spikes(ids, ticks)``, voltages to ``recorder``'s buffers."""
        net = self.net
        rec_col = np.full(net.n_neurons, -1, np.int64)
        if recorder is not None and recorder.ids.size:
            recorder.prepare(int(self.tick[0]), n_ticks)
            rec_col[recorder.ids] = np.arange(recorder.ids.size)
            every, buf, row = recorder.every, recorder.v_buf, recorder.row
        else:
            every, buf, row = 0, np.zeros((0, 0)), np.zeros(1, np.int64)
        rec = (rec_col, every, buf, row, self.out_i, self.out_t, self.out_n, self.err)
        has_iext = bool(np.any(self.i_ext != 0.0))
        if self.graded:
            kernel = kg.run_graded
            args = (self._graded_net, (self.v, self.s_gate, has_iext, self.i_ext, self.lesion, self.tick),
                    self._graded_scr, rec)
        elif self.fast:
            P = self._P
            if self.parallel:
                numba.set_num_threads(P)
            kernel = kf.run_lif_parallel if self.parallel else kf.run_lif_serial
            sc = self._scratch
            args = ((net.cls, net.c_params, net.c_cm, net.c_gl, net.c_inv_gl, net.c_el, net.c_decay_m, self._part_ptr,
                     net.syn_node, net.syn_delay, net.syn_slot, net.slot_cond, net.slot_e, net.slot_dd, net.slot_dr,
                     net.slot_norm, net.pa, net.pb, net.dt_ms),
                    (self.v, self.ga, self.gb, self.ring, self.ref_until, has_iext, self.i_ext, self.lesion,
                     self.syn_w, self.rng, self.tick),
                    (sc[3], sc[4], sc[5], sc[6], sc[7], sc[8], self._spike_t, sc[9]) + self._lif_scr, self._pois, rec)
        else:
            kernel = kl.run_ticks_parallel if self.parallel else kl.run_ticks_serial
            if self.parallel and self.threads:
                numba.set_num_threads(min(self.threads, numba.config.NUMBA_NUM_THREADS))
            P = numba.get_num_threads() if self.parallel else 1
            args = ((net.cls, net.c_model, net.c_params, net.c_cm, net.c_gl, net.c_inv_gl, net.c_el, net.c_decay_m,
                     net.soma, net.ncomp, net.ident, net.node_cm, net.node_gl, net.node_el, net.node_gna, net.node_gk,
                     net.ax_ptr, net.ax_nb, net.ax_g, net.row_ptr, net.syn_node, net.syn_delay, net.syn_slot,
                     net.slot_cond, net.slot_e, net.slot_dd, net.slot_dr, net.slot_norm, net.pa, net.pb, net.gs_ptr,
                     net.gs_pre, net.gs_slot, net.gs_w, net.gp_slot, net.gp_node, net.g_vth, net.g_delta, net.g_k,
                     net.g_e, net.gap_ptr, net.gap_nb, net.gap_g, net.dt_ms),
                    (self.v, self.u, self.gates, self.ga, self.gb, self.ring, self.s_gate, self.ref_until, has_iext,
                     self.i_ext, self.lesion, self.syn_w, self.rng, self.x_pre, self.x_post, self.dw, self.tick),
                    self._scratch, self._pois, self._stdp, rec)
        left = int(n_ticks)
        while True:
            done, status = kernel(left, *args) if self.graded else kernel(left, P, self.window, *args)
            left -= done
            if self.out_n[0] and on_spikes is not None:
                k = int(self.out_n[0])
                on_spikes(self.out_i[:k], self.out_t[:k])
            self.out_n[0] = 0
            if status == kl.DIVERGED:
                i, t = int(self.err[0]), int(self.err[1])
                raise SimulationError(f"neuron {self.db.get_neuron_name(i)} (id {i}) diverged at tick {t}: "
                                      f"V = {self.v[net.soma[i]]} mV; the run stopped there")
            if status == kl.DONE or left <= 0:
                return
