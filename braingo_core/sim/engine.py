"""PointEngine: dynamic state of the numba engine (LIF, Izhikevich, graded, HH) and calls into the loop.

The named tables it hands to the kernels are defined in :mod:`braingo_core.sim.tables`: ``Net`` (static,
from :func:`build_network`), ``State`` (dynamic, and the snapshot schema: :meth:`state_arrays` is its fields
plus ``w_plastic``), ``Inputs`` (``i_ext``, ``lesion``), scratch, drive and recording. All are allocated here,
once; nothing is allocated while running, and an ``advance`` call reuses the argument structures built at
the first call of each loop. Memory per spike synapse: 17 bytes (target int32, weight float64, delay int32,
receptor slot int8), read from the file once; the mmap'd records are not kept resident.

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
from braingo_core.models import MODEL_BY_CODE
from braingo_core.sim.kernels_loop import user_kernels
from braingo_core.sim.network import GRADED, HH, IZH, LIF, build_network, graded_rows, split_by_target
from braingo_core.sim.tables import GradedScratch, Inputs, LifScratch, Poisson, Rec, Scratch, State, Stdp

log = logging.getLogger(__name__)

#: Longest window of ticks a neuron runs on its own (bounded by the shortest delay; see kernels_loop).
MAX_WINDOW = 16
#: Neurons per chunk of the LIF fast path (its per-chunk state stays in the L1/L2 cache through a window).
LIF_CHUNK = 256
#: Networks at least this big run the numba-parallel loop when ``threads`` is "auto".
AUTO_PARALLEL_NEURONS, AUTO_PARALLEL_SYNAPSES = 20_000, 1_000_000


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
    """Numba engine over a BrainDB (see the module docstring); driven by :class:`Simulation`.

    ``neuron_model``: None (each neuron type's own model) or a model name forced on every neuron
    ("graded"; the backend registry's option of the "graded" backend).
    """

    def __init__(self, db, cfg, neuron_model=None):
        self.db = db
        pois = cfg["poisson"]
        p_rec = None
        if pois is not None:
            names = db.metadata.get("receptor_names") or []
            r = pois["receptor"]
            p_rec = names.index(r) if isinstance(r, str) and r in names else r
            if not isinstance(p_rec, (int, np.integer)) or not 0 <= p_rec < len(db.receptors):
                raise SimulationError(f"config poisson.receptor: unknown receptor {r!r} (known: {names})")
        net = build_network(db, neuron_model, p_rec, cfg["synapse_weight_scale"], cfg["gap_weight_scale"])
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
        self._lif_scr = LifScratch(np.zeros(4, np.int64), np.zeros((0, LIF_CHUNK)), np.zeros((0, LIF_CHUNK), np.uint8),
                                   np.zeros((0, kls.CST_SIZE)))
        if self.fast:
            # partitions: one per thread; a serial run with threads > 1 still splits (same state either way)
            self._P = min(self.threads or nt, nt) if self.parallel else (self.threads or 1)
            net = split_by_target(net, self._P)
            P = max(self._P, nt)
            self._lif_scr = LifScratch(np.zeros(4, np.int64), np.zeros((P, LIF_CHUNK)),
                                       np.zeros((P, LIF_CHUNK), np.uint8), np.zeros((P, kls.CST_SIZE)))
        self.net = net
        user = sorted(set(net.c_model.tolist()) - {LIF, IZH, GRADED, HH})     # registered user models
        if len(user) > 1:
            raise SimulationError(f"{db.path}: neurons of {len(user)} user models; one network runs at most one")
        self._user = user_kernels(MODEL_BY_CODE[user[0]].step) if user else None
        # graded point neurons coupled only by graded synapses and gap junctions: the serial graded path
        self.graded = bool(n and S == 0 and not net.syn_w.size and np.all(net.c_model == GRADED))
        if self.graded:
            self.parallel = False
            self._rows = graded_rows(net)
            self._graded_scr = GradedScratch(np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n), np.zeros(n),
                                             np.zeros(self._rows.gap_w.size), np.zeros(self._rows.q_flat.size))
        self.seed = int(cfg["seed"])
        self.st = State(v=np.zeros(nn), u=np.zeros(n), gates=np.zeros((3, nn)), ga=np.zeros((S, nn)),
                        gb=np.zeros((S, nn)), ring=np.zeros((net.ring_size, S, nn)), s_gate=np.zeros((G, nn)),
                        ref_until=np.zeros(n, np.int64), rng=np.zeros(n, np.uint64), x_pre=np.zeros(n),
                        x_post=np.zeros(n), dw=np.zeros(net.pl_syn.size), tick=np.zeros(1, np.int64))
        self.inp = Inputs(i_ext=np.zeros(n), lesion=np.zeros(nn, np.uint8), i_arr=np.zeros((0, n)),
                          i_arr_t0=np.zeros(1, np.int64))
        self.i_ext, self.lesion, self.tick = self.inp.i_ext, self.inp.lesion, self.st.tick
        self._w0 = net.syn_w[net.pl_syn].copy()
        self._overrides = {}
        self._pois = self._poisson_args(pois, p_rec, n)
        self._stdp = self._stdp_args(cfg["stdp"])
        self.window = 1 if coupled else max(1, min(MAX_WINDOW, net.min_delay + 1))
        cap = max(n, 1) * self.window
        self._scratch = Scratch(gext=np.zeros(nn), dext=np.zeros(nn), vold=np.zeros(nn),
                                spk_i=np.zeros(cap, np.int32), spk_t=np.zeros(cap, np.int64),
                                spk_cnt=np.zeros(nt, np.int64), bad_i=np.zeros(nt, np.int64),
                                bad_t=np.zeros(nt, np.int64), spikes=np.zeros(cap, np.int32),
                                spike_t=np.zeros(cap, np.int64), t_start=np.zeros(self.window + 1, np.int64))
        out_i = np.zeros(max(n * self.window + n, 1 << 16), np.int32)
        self._rec_off = Rec(col=np.full(n, -1, np.int64), every=0, v_buf=np.zeros((0, 0)), row=np.zeros(1, np.int64),
                            out_i=out_i, out_t=np.zeros(out_i.size, np.int64), out_n=np.zeros(1, np.int64),
                            err=np.zeros(2, np.int64))
        self._rec_owner, self._rec = None, self._rec_off
        self._plans, self._entries = {}, {}
        self.reset()

    def _poisson_args(self, pois, p_rec, n):
        if pois is None:
            return Poisson(on=False, all=False, cdf=np.ones(1), slot=0, w=0.0, mask=np.zeros(1, np.uint8))
        p = pois["rate_Hz"] * self.net.dt_ms * 1e-3
        if p > 1:
            raise SimulationError(f"config poisson.rate_Hz: {pois['rate_Hz']} Hz exceeds one spike per step")
        mask = np.zeros(n, np.uint8)
        ids = pois.get("ids")
        mask[np.arange(n) if ids is None else np.asarray([self.db.neuron_id(i) for i in ids], np.int64)] = 1
        slot = int(np.flatnonzero(self.net.slot_receptor == p_rec)[0])
        return Poisson(on=True, all=ids is None, cdf=binomial_cdf(int(pois["n"]), p), slot=slot,
                       w=float(pois["weight"]), mask=mask)

    def _stdp_args(self, st):
        dt = self.net.dt_ms
        on = st is not None and self.net.pl_syn.size > 0
        st = st or {"a_plus": 0.0, "a_minus_ratio": 1.0, "tau_plus_ms": 1.0, "tau_minus_ms": 1.0, "batch_ms": 1.0}
        return Stdp(on=bool(on), a_plus=float(st["a_plus"]), a_minus=float(st["a_plus"] * st["a_minus_ratio"]),
                    dec_pre=math.exp(-dt / st["tau_plus_ms"]), dec_post=math.exp(-dt / st["tau_minus_ms"]),
                    batch=max(1, int(round(st["batch_ms"] / dt))))

    # ----------------------------------------------------------------- state
    def reset(self):
        """Initial state: V at rest (e_leak / e_pas), u = b*V, HH gates and graded gates at steady state."""
        net, st = self.net, self.st
        for name in ("gates", "ga", "gb", "ring", "s_gate", "ref_until", "x_pre", "x_post", "dw", "tick"):
            getattr(st, name)[...] = 0
        st.v[:] = net.node_el                    # e_leak_mV at point somata, e_pas_mV in HH compartments
        net.syn_w[net.pl_syn] = self._w0
        st.rng[:] = _splitmix(self.seed, st.rng.size)
        self._rec_off.out_n[0] = 0
        for key, val in self._overrides.items():
            self._apply_override(key, val)
        self._derived_init()

    def _derived_init(self):
        """State that follows from V (u = b*V unless set, HH gates, graded gates at steady state)."""
        net, st = self.net, self.st
        izh = np.flatnonzero(net.model == IZH)
        st.u[izh] = net.params[izh, 1] * st.v[net.soma[izh]]
        if "u" in self._overrides:
            st.u[:] = self._overrides["u"]
        for i in np.flatnonzero(net.model == HH):
            for x in range(net.soma[i], net.soma[i] + net.ncomp[i]):
                am, bm, ah, bh, an, bn = hh_rates(st.v[x])
                st.gates[:, x] = am / (am + bm), ah / (ah + bh), an / (an + bn)
        vpre = st.v[net.gp_node]
        d = net.g_delta[net.gp_slot]
        st.s_gate[net.gp_slot, net.gp_node] = 1.0 / (1.0 + np.exp((net.g_vth[net.gp_slot] - vpre) / d))

    def set_initial(self, key, value):
        """Remember an initial-state override ("v_mV", "u" or ("syn", receptor id)) and apply it now."""
        self._overrides[key] = value
        self._apply_override(key, value)
        self._derived_init()

    def _apply_override(self, key, value):
        if key == "v_mV":
            self.st.v[self.net.soma] = value
        elif key != "u":                                 # u is applied after the derived state
            slot = np.flatnonzero(self.net.slot_receptor == key[1])
            if not slot.size:
                raise SimulationError(f"initial state: receptor {key[1]} is used by no spike synapse")
            self.st.ga[slot[0], self.net.soma] = value

    def state_arrays(self):
        """Live dynamic arrays by name: the fields of ``State`` plus ``w_plastic`` (a copy of the plastic weights)."""
        out = self.st._asdict()
        out["w_plastic"] = self.net.syn_w[self.net.pl_syn]
        return out

    def load_state(self, arrays):
        for name, arr in self.state_arrays().items():
            got = arrays.get(name)
            if got is None or got.shape != arr.shape or got.dtype != arr.dtype:
                found = None if got is None else (got.shape, got.dtype)
                raise SimulationError(f"snapshot array '{name}' is missing or has shape/dtype {found}, "
                                      f"expected {(arr.shape, arr.dtype)}")
        for name, arr in self.st._asdict().items():
            arr[...] = arrays[name]
        self.net.syn_w[self.net.pl_syn] = arrays["w_plastic"]

    def soma_voltages(self):
        return self.st.v[self.net.soma]

    def set_lesion(self, ids, on):
        net, st = self.net, self.st
        for i in ids:
            nodes = slice(net.soma[i], net.soma[i] + net.ncomp[i])
            self.inp.lesion[nodes] = 1 if on else 0
            if on:
                st.v[nodes] = net.node_el[nodes]
                st.ga[:, nodes] = 0.0
                st.gb[:, nodes] = 0.0

    # ------------------------------------------------------------------- run
    def _plan(self):
        """(kernel, arguments before the ``Rec``, thread count to set or None) of the loop chosen now.

        Built at the first call of each loop and reused (``fast``/``graded`` may be switched off to run the
        general loop on the same arrays, as the equivalence tests do).
        """
        arr = self.inp.i_arr.shape[0] > 0                # only the general loop reads the input array
        key = (self.fast and not arr, self.graded and not arr, self.parallel)
        plan = self._plans.get(key)
        if plan is None:
            nt = numba.config.NUMBA_NUM_THREADS
            net, st, inp, scr = self.net, self.st, self.inp, self._scratch
            if key[1]:
                plan = kg.run_graded, (net, self._rows, st, inp, self._graded_scr), None
            elif key[0]:
                kernel = kf.run_lif_parallel if self.parallel else kf.run_lif_serial
                plan = (kernel, (self._P, self.window, net, st, inp, scr, self._lif_scr, self._pois),
                        self._P if self.parallel else None)
            else:
                P = min(self.threads or nt, nt) if self.parallel else 1
                kernel = kl.run_ticks_parallel if self.parallel else kl.run_ticks_serial
                if self._user is not None:
                    kernel = self._user[1] if self.parallel else self._user[0]
                plan = (kernel, (P, self.window, net, st, inp, scr, self._pois, self._stdp),
                        P if self.parallel else None)
            self._plans[key] = plan
        return plan

    def set_input_array(self, i_arr, t0):
        """Use ``i_arr`` float64[T, n_neurons] (pA, C order) from tick ``t0`` on (see ``tables.Inputs``)."""
        self.inp = self.inp._replace(i_arr=i_arr, i_arr_t0=np.array([t0], np.int64))
        self._plans.clear()

    def _recording(self, recorder, n_ticks):
        """The ``Rec`` of this call: the buffers of ``recorder`` (grown for ``n_ticks``) or none."""
        if recorder is None or not recorder.ids.size:
            return self._rec_off
        recorder.prepare(int(self.st.tick[0]), n_ticks)
        if recorder is not self._rec_owner:
            col = np.full(self.net.n_neurons, -1, np.int64)
            col[recorder.ids] = np.arange(recorder.ids.size)
            self._rec = self._rec_off._replace(col=col, every=recorder.every, v_buf=recorder.v_buf, row=recorder.row)
            self._rec_owner = recorder
        elif self._rec.v_buf is not recorder.v_buf:                    # the buffer grew
            self._rec = self._rec._replace(v_buf=recorder.v_buf)
        return self._rec

    def _compiled(self, kernel, args):
        """The compiled entry of ``kernel`` for ``args`` (compiling it on first use).

        Calling it skips the dispatcher's per-call typing of every table field (tens of microseconds for
        the ~100 arrays of the tables); the tables are fixed objects, so their types never change.
        """
        entry = self._entries.get(kernel)
        if entry is None:
            kernel.compile(tuple(kernel.typeof_pyval(a) for a in args))
            entry = kernel.overloads[tuple(kernel.typeof_pyval(a) for a in args)].entry_point
            self._entries[kernel] = entry
        return entry

    def advance(self, n_ticks, recorder=None, on_spikes=None):
        """Run ``n_ticks``; spikes go to ``on_spikes(ids, ticks)``, voltages to ``recorder``'s buffers."""
        kernel, args, threads = self._plan()
        if threads is not None and numba.get_num_threads() != threads:
            numba.set_num_threads(threads)
        rec = self._recording(recorder, n_ticks)
        run = self._compiled(kernel, (0,) + args + (rec,))
        out_n = rec.out_n
        left = int(n_ticks)
        while True:
            done, status = run(left, *args, rec)
            left -= done
            if out_n[0] and on_spikes is not None:
                k = int(out_n[0])
                on_spikes(rec.out_i[:k], rec.out_t[:k])
            out_n[0] = 0
            if status == kl.DIVERGED:
                i, t = int(rec.err[0]), int(rec.err[1])
                raise SimulationError(f"neuron {self.db.get_neuron_name(i)} (id {i}) diverged at tick {t}: "
                                      f"V = {self.st.v[self.net.soma[i]]} mV; the run stopped there")
            if status == kl.DONE or left <= 0:
                return
