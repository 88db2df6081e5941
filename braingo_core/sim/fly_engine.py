"""The ``fly`` backend: networks of current-based LIF neurons run with Brian2's semantics (kernels_fly).

This is how the Shiu et al. 2024 whole-brain model is simulated (:mod:`braingo_core.loaders.flywire`),
and any .braindb whose neurons are all ``lif`` and whose synapses are all spike synapses on current
receptors of one time constant with one delay. The file's units map onto Brian's model as
``g [mV] = I [pA] / g_leak [nS]``, so ``tau_m dv/dt = e_leak - v + g``, ``tau_syn dg/dt = -g``.

Drive (``drive``): each listed neuron gets ``n`` Poisson trains of ``rate_Hz`` adding ``weight_mV`` to v per
input spike (Brian's ``PoissonInput(target_var='v')``), from a random stream of its own (seeded by
``seed`` and the neuron id: independent of how the network is split); with ``no_refractory`` (Shiu's
choice, the default) driven neurons have no refractory period. Stored input (:meth:`FlyEngine.set_input`):
explicit (tick, neuron) events adding a weight to v, for oracle comparisons.

Memory per synapse: 4 bytes target + 4 (float32, when the stored weights are exact in it) or 8 bytes
weight, read from the file in chunks (the mmap's pages are not kept resident).
"""
import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.models import NEURON_MODELS
from braingo_core.sim import kernels_fly as kfly
from braingo_core.sim.engine import _splitmix, binomial_cdf
from braingo_core.storage import BrainDB, load_snapshot, save_snapshot
from braingo_core.storage import records as rec

NEVER = -(1 << 40)          # "last spike" tick of a neuron that has not spiked
DRIVE_DEFAULTS = {"ids": (), "rate_Hz": 200.0, "weight_mV": 68.75, "n": 1, "no_refractory": True}


def _tables(db, lo, hi):
    """Kernel tables of the neurons [lo, hi) of ``db`` (see kernels_fly.run_fly): the CSR over every
    presynaptic neuron of the synapses onto the block (targets local), per-class constants, refractory ticks."""
    dt = db.dt_ms
    types = db.neuron_types
    attrs = db.neuron_attrs
    tid = np.asarray(attrs["neuron_type"], np.int64)
    if np.any(np.asarray(types["model"])[tid] != NEURON_MODELS["lif"].code):
        raise SimulationError(f"{db.path}: backend 'fly' runs lif neurons only")
    kinds = np.asarray(db.receptors["kind"]) if len(db.receptors) else np.zeros(0)
    taus = np.asarray(db.receptors["tau_decay_ms"], np.float64) if len(db.receptors) else np.zeros(0)
    gl = np.asarray(attrs["g_leak_nS"], np.float64)
    cm = np.asarray(attrs["cm_pF"], np.float64)
    if np.any(gl <= 0):
        raise SimulationError(f"{db.path}: backend 'fly' needs g_leak_nS > 0 for every neuron")
    params = np.asarray(types["params"], np.float64)[tid, :3]           # v_reset, v_th, t_ref
    counts = np.zeros(db.neuron_count(), np.int64)
    posts, ws = [], []
    delays, used = set(), set()
    for _, ch in db.synapse_chunks():
        if np.any(ch["syn_type"] != rec.SYN_SPIKE):
            raise SimulationError(f"{db.path}: backend 'fly' runs spike synapses only")
        used.update(np.unique(ch["receptor_type"]).tolist())
        delays.update(np.unique(ch["delay_ticks"]).tolist())
        p = ch["post_neuron"].astype(np.int64)
        mine = (p >= lo) & (p < hi)
        counts += np.bincount(ch["pre_neuron"][mine], minlength=counts.size)
        posts.append((p[mine] - lo).astype(np.int32))
        ws.append(ch["base_weight"][mine].astype(np.float64) / gl[p[mine]])
    row_ptr = np.zeros(counts.size + 1, np.int64)
    np.cumsum(counts, out=row_ptr[1:])
    post = np.concatenate(posts) if posts else np.zeros(0, np.int32)
    w = np.concatenate(ws) if ws else np.zeros(0)
    del posts, ws
    if any(kinds[r] != rec.RECEPTOR_CURRENT for r in used) or len({float(taus[r]) for r in used}) > 1:
        raise SimulationError(f"{db.path}: backend 'fly' needs current receptors of one tau_decay_ms "
                              f"(receptors used: {sorted(used)})")
    if len(delays) > 1:
        raise SimulationError(f"{db.path}: backend 'fly' needs one synaptic delay (found {sorted(delays)} ticks)")
    tau_s = float(taus[min(used)]) if used else 5.0
    w32 = w.astype(np.float32)
    if np.array_equal(w32.astype(np.float64), w):
        w = w32
    key = np.column_stack([np.asarray(attrs["e_leak_mV"], np.float64), params[:, :2], cm / gl])
    uniq, cls = np.unique(key, axis=0, return_inverse=True)
    v0, vth, vr, tau_m = (np.ascontiguousarray(uniq[:, k]) for k in (0, 2, 1, 3))
    if np.any(v0 > vth):
        raise SimulationError(f"{db.path}: backend 'fly' needs e_leak_mV <= v_th_mV (a resting neuron is silent)")
    em, es = np.exp(-dt / tau_m), np.exp(-dt / tau_s) * np.ones_like(tau_m)
    pg = tau_s * (es - em) / (tau_s - tau_m)        # g's contribution to v over one step (exact solution)
    ref = np.floor(params[lo:hi, 2] / dt + 1e-3).astype(np.int64)          # Brian's timestep() rounding
    cls = cls.reshape(-1)[lo:hi].astype(np.int32)
    return (row_ptr, post, w, int(min(delays)) if delays else 1, cls, v0, vth, vr, em, es, pg, ref)


class FlyEngine:
    """Dynamic state and runs of the ``fly`` backend over a BrainDB (see the module docstring).

    Parameters
    ----------
    db : BrainDB or path
    drive : dict, optional
        ``ids`` (neuron ids or names), ``rate_Hz``, ``weight_mV``, ``n``, ``no_refractory``.
    seed : int
        Seed of the drive's per-neuron streams.
    dense : bool
        Update every neuron every tick (the reference loop) instead of the active ones only.
    block : (lo, hi), optional
        Simulate only the neurons [lo, hi) (a rank's share, :mod:`braingo_core.sim.mpi_backend`); the state
        arrays are that block's, spike ids stay global. Default: the whole network.
    """

    def __init__(self, db, drive=None, seed=0, dense=False, block=None):
        self.db = db if isinstance(db, BrainDB) else BrainDB(db)
        N = self.n_neurons = self.db.neuron_count()
        self.lo, self.hi = (0, N) if block is None else (int(block[0]), int(block[1]))
        if not 0 <= self.lo <= self.hi <= N:
            raise SimulationError(f"fly block {block} is not within [0, {N}]")
        n = self.n_local = self.hi - self.lo
        self.net = _tables(self.db, self.lo, self.hi)
        self.dt_ms = self.db.dt_ms
        self.dense = bool(dense)
        self.seed = int(seed)
        drive = {**DRIVE_DEFAULTS, **(drive or {})}
        unknown = sorted(set(drive) - set(DRIVE_DEFAULTS))
        if unknown:
            raise SimulationError(f"fly drive: unknown key(s) {unknown} (known: {sorted(DRIVE_DEFAULTS)})")
        ids = np.unique(np.asarray([self.db.neuron_id(i) for i in drive["ids"]], np.int64))
        ids = ids[(ids >= self.lo) & (ids < self.hi)] - self.lo
        p = float(drive["rate_Hz"]) * self.dt_ms * 1e-3
        if not 0 <= p <= 1 or not np.isfinite(drive["weight_mV"]):
            raise SimulationError(f"fly drive: rate {drive['rate_Hz']} Hz / weight {drive['weight_mV']} mV invalid")
        self.drive_ids = ids
        self.ref = self.net[11].copy()
        if drive["no_refractory"]:
            self.ref[ids] = 0
        self.net = self.net[:11] + (self.ref,)
        self._drv = (ids, binomial_cdf(int(drive["n"]), p), float(drive["weight_mV"]))
        D = self.net[3]
        self.v, self.g = np.zeros(n), np.zeros(n)
        self.last, self.rng, self.tick = np.zeros(n, np.int64), np.zeros(n, np.uint64), np.zeros(1, np.int64)
        self.sp_ring, self.sp_cnt = np.zeros((D + 1, N), np.int32), np.zeros(D + 1, np.int64)
        self._act, self._n_act, self._flag = np.zeros(n, np.int32), np.zeros(1, np.int64), np.zeros(n, np.uint8)
        self._inp = (np.zeros(0, np.int64), np.zeros(0, np.int64), 0.0, np.zeros(1, np.int64))
        self.out_i, self.out_t = np.zeros(max(4 * n, 1 << 16), np.int32), np.zeros(max(4 * n, 1 << 16), np.int64)
        self.out_n, self.err = np.zeros(1, np.int64), np.zeros(2, np.int64)
        self.reset()

    def reset(self):
        """Rest: v = e_leak, g = 0, no spike yet, drive streams reseeded, tick 0."""
        net = self.net
        self.v[:] = net[5][net[4]]
        self.g[:] = 0.0
        self.last[:] = NEVER
        self.rng[:] = _splitmix(self.seed, self.n_neurons)[self.lo:self.hi]      # streams keyed by neuron id
        self.tick[0] = 0
        self.sp_cnt[:] = 0
        self._inp[3][0] = 0

    def set_input(self, ticks, ids, weight_mV):
        """Stored input: at tick ``ticks[k]`` add ``weight_mV`` to v of neuron ``ids[k]`` (sorted by tick)."""
        t, i = np.asarray(ticks, np.int64), np.asarray(ids, np.int64)
        if t.shape != i.shape or np.any(np.diff(t) < 0) or (i.size and (i.min() < 0 or i.max() >= self.n_neurons)):
            raise SimulationError("fly input: ticks and ids must have one shape, ticks sorted, ids in range")
        mine = (i >= self.lo) & (i < self.hi)
        self._inp = (t[mine], i[mine] - self.lo, float(weight_mV), np.zeros(1, np.int64))

    def state_arrays(self):
        """The dynamic state by name (the snapshot schema of this backend)."""
        return {"v": self.v, "g": self.g, "last": self.last, "rng": self.rng, "tick": self.tick,
                "sp_ring": self.sp_ring, "sp_cnt": self.sp_cnt}

    #: State arrays with one entry per neuron (a block's share); the others are the same on every rank.
    PER_NEURON = ("v", "g", "last", "rng")

    def save_snapshot(self, path, arrays=None):
        """Write the state (``arrays``: the whole network's, default this engine's) to ``path``."""
        arrays = self.state_arrays() if arrays is None else arrays
        if arrays["v"].size != self.n_neurons:
            raise SimulationError("fly snapshot: a block engine saves through MpiFlyEngine.save_snapshot")
        return save_snapshot(path, self.db.fingerprint, int(self.tick[0]), self.dt_ms, arrays,
                             {"backend": "fly", "seed": self.seed})

    def load_snapshot(self, path):
        """Restore a snapshot of the whole network (taken at any rank count); this block takes its share."""
        snap = load_snapshot(path, self.db)
        if snap.extra.get("backend") != "fly":
            raise SimulationError(f"{path}: snapshot of backend {snap.extra.get('backend')!r}, not 'fly'")
        for name, arr in self.state_arrays().items():
            got = snap.arrays.get(name)
            if got is not None and name in self.PER_NEURON and got.shape == (self.n_neurons,):
                got = got[self.lo:self.hi]
            if got is None or got.shape != arr.shape or got.dtype != arr.dtype:
                raise SimulationError(f"{path}: snapshot array '{name}' is missing or does not match "
                                      f"{arr.shape} {arr.dtype}")
            arr[...] = got

    def _activate(self):
        """Active list from the state: driven neurons (pinned) and those off rest; every neuron if dense."""
        flag = self._flag
        flag[:] = 0
        if self.dense:
            flag[:] = kfly.ACTIVE
            act = np.arange(self.n_local, dtype=np.int32)
        else:
            off = (self.v != self.net[5][self.net[4]]) | (self.g != 0.0)
            flag[off] = kfly.ACTIVE
            flag[self.drive_ids] = kfly.PINNED
            act = np.flatnonzero(flag).astype(np.int32)
        self._act[:act.size] = act
        self._n_act[0] = act.size

    def run_block(self, n_ticks, on_spikes=None):
        """Run this block ``n_ticks`` ticks on its own; its spikes go to ``on_spikes(ids, ticks)``.

        Returns the ticks run (fewer than asked only when the spike buffer filled: call again).
        """
        st = (self.v, self.g, self.last, self.rng, self.tick, self.sp_ring, self.sp_cnt, self._act, self._n_act,
              self._flag)
        out = (self.out_i, self.out_t, self.out_n, self.err)
        done, status = kfly.run_fly(int(n_ticks), self.dense, self.lo, self.net, st, self._drv, self._inp, out)
        k = int(self.out_n[0])
        if k and on_spikes is not None:
            on_spikes(self.out_i[:k], self.out_t[:k])
        self.out_n[0] = 0
        if status == kfly.DIVERGED:
            i, t = int(self.err[0]) + self.lo, int(self.err[1])
            raise SimulationError(f"neuron {self.db.get_neuron_name(i)} (id {i}) diverged at tick {t}")
        return done

    def advance(self, n_ticks, on_spikes=None):
        """Run ``n_ticks`` ticks; spikes go to ``on_spikes(ids int32, ticks int64)`` in (tick, id) order."""
        self._activate()
        left = int(n_ticks)
        while left > 0:
            left -= self.run_block(left, on_spikes)

    @property
    def n_active(self):
        """Neurons in the active list after the last tick run."""
        return int(self._n_act[0])
