"""Simulation: the public API of the engine (inputs, running, lesions, reset, snapshots, recording)."""
import logging
import math
import numbers

import numpy as np

from braingo_core.errors import NeuronLookupError, SimulationError, SnapshotError
from braingo_core.models import MODEL_BY_CODE
from braingo_core.sim.backends import resolve
from braingo_core.sim.config import parse_config
from braingo_core.sim.recording import Recorder
from braingo_core.storage import BrainDB, load_snapshot, save_snapshot

log = logging.getLogger(__name__)

#: Config keys that change the network's weights: a snapshot records them and must match on load.
_SCALES = ("synapse_weight_scale", "gap_weight_scale")


def parse_stimulus(spec):
    """``"0:30,AVBL:20"`` -> [("0", 30.0), ("AVBL", 20.0)]; SimulationError on a malformed item."""
    out = []
    for item in str(spec).split(","):
        if not item.strip():
            continue
        ref, sep, val = item.rpartition(":")
        try:
            pa = float(val)
        except ValueError:
            pa = None
        if not sep or not ref.strip() or pa is None:
            raise SimulationError(f"stimulus item {item!r} is not of the form NEURON:pA")
        out.append((ref.strip(), pa))
    return out


class Simulation:
    """A running network.

    Parameters
    ----------
    db : BrainDB or path
        The database (opened read-only, memory-mapped).
    config : dict, optional
        See :mod:`braingo_core.sim.config` (``model``, ``seed``, ``threads``, ``stdp``, ``poisson``, ...).

    Attributes
    ----------
    dt_ms : float
        Time step (ms), from the database header.
    n_neurons : int
    db : BrainDB
    recorder : Recorder or None
        Set by :meth:`record`; filled while running.
    n_spikes : int
        Spikes emitted since construction or :meth:`reset`.
    """

    def __init__(self, db, config=None):
        self.db = db if isinstance(db, BrainDB) else BrainDB(db)
        self.config = parse_config(config)
        self.dt_ms = self.db.dt_ms
        self.n_neurons = self.db.neuron_count()
        codes = set(np.asarray(self.db.neuron_types["model"]).tolist()) if self.db.neuron_count() else set()
        used = [MODEL_BY_CODE[c].name for c in codes if c in MODEL_BY_CODE]
        self.backend, self.model = resolve(self.config["model"], used)
        defaults = (self.db.metadata.get("graded_weight_scales") or {}) if self.model == "graded" else {}
        for key in _SCALES:                      # unset scales: the database's defaults for the graded model
            if key not in (config or {}):
                self.config[key] = float(defaults.get(key, self.config[key]))
        self._eng = self.backend.create(self.db, self.config)
        self.recorder = None
        self.n_spikes = 0
        log.info("simulation of %s: backend %s (model %s), %s", self.db.path, self.backend.name,
                 self.model or "per neuron type", "parallel" if self._eng.parallel else "serial")

    # ----------------------------------------------------------------- inputs
    @property
    def tick(self):
        """Ticks simulated since construction or the last :meth:`reset`."""
        return int(self._eng.tick[0])

    @property
    def time_ms(self):
        return self.tick * self.dt_ms

    def _id(self, ref):
        """Database id of ``ref`` (id, decimal string or name); SimulationError if the database lacks it."""
        try:
            return self.db.neuron_id(ref)
        except NeuronLookupError as exc:
            raise SimulationError(str(exc)) from None

    def neuron_ids(self, refs):
        """int64 ids of neurons given by id, decimal string or name (one or a sequence)."""
        if isinstance(refs, np.ndarray) and refs.dtype.kind in "iu":     # the per-period path of the nodes
            bad = (refs < 0) | (refs >= self.n_neurons)
            if bad.any():
                raise SimulationError(
                    f"{self.db.path}: neuron id {int(refs[bad][0])} out of range [0, {self.n_neurons})")
            return refs.astype(np.int64, copy=False)
        if isinstance(refs, (str, numbers.Integral)):
            refs = [refs]
        return np.asarray([self._id(r) for r in refs], np.int64)

    @staticmethod
    def _current(pA, what):
        if not isinstance(pA, numbers.Real) or not math.isfinite(pA):
            raise SimulationError(f"{what}: current {pA!r} pA is not a finite number")
        return float(pA)

    def set_neuron_input(self, neuron, pA):
        """Set the constant current (pA) injected into ``neuron`` (id or name)."""
        i = self._id(neuron)
        self._eng.i_ext[i] = self._current(pA, f"neuron {neuron!r}")

    def set_inputs(self, ids, pA):
        """Set currents (pA) for several neurons: ``ids`` ids/names, ``pA`` float[len(ids)] or a scalar."""
        idx = self.neuron_ids(ids)
        arr = np.broadcast_to(np.asarray(pA, np.float64), idx.shape)
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"set_inputs: non-finite current for neuron {int(idx[np.argmin(np.isfinite(arr))])}")
        self._eng.i_ext[idx] = arr

    def set_input_array(self, pA, start_tick=None):
        """Time-varying input consumed inside the kernel (Brian2's TimedArray): row k of ``pA``
        float[ticks, n_neurons] is added to each neuron's current during tick ``start_tick + k``
        (default: from the current tick on); outside those ticks only the constant inputs act. ``None``
        removes it. The array is copied; it is an input like the constant currents and not part of
        snapshots.
        """
        if not hasattr(self._eng, "set_input_array"):
            raise SimulationError(f"set_input_array is not available with backend '{self.backend.name}'")
        if pA is None:
            arr = np.zeros((0, self.n_neurons))
        else:
            arr = np.array(pA, np.float64, order="C")
            if arr.ndim != 2 or arr.shape[1] != self.n_neurons:
                raise SimulationError(f"set_input_array: expected shape (ticks, {self.n_neurons}), got {arr.shape}")
            if not np.all(np.isfinite(arr)):
                bad = np.argwhere(~np.isfinite(arr))[0]
                raise SimulationError(f"set_input_array: non-finite current at row {bad[0]}, neuron {bad[1]}")
        t0 = self.tick if start_tick is None else start_tick
        if not isinstance(t0, numbers.Integral) or t0 < 0:
            raise SimulationError(f"set_input_array: start_tick must be an integer >= 0, got {t0!r}")
        self._eng.set_input_array(arr, int(t0))

    def clear_stimulus(self):
        """Remove every injected current."""
        self._eng.i_ext[:] = 0.0

    def present_stimulus(self, pattern, duration_ms):
        """Inject ``pattern`` for ``duration_ms``, then restore the previous currents.

        ``pattern``: dict neuron -> pA, or a ``"NEURON:pA,..."`` string.
        """
        items = parse_stimulus(pattern) if isinstance(pattern, str) else list(dict(pattern).items())
        ticks = self.ticks_for(duration_ms)
        saved = self._eng.i_ext.copy()
        for ref, pa in items:
            self._eng.i_ext[self._id(ref)] += self._current(pa, f"stimulus {ref!r}")
        try:
            self.run(ticks)
        finally:
            self._eng.i_ext[:] = saved

    def ticks_for(self, duration_ms):
        """Number of ticks in ``duration_ms`` (rounded); SimulationError if negative or not finite."""
        if not isinstance(duration_ms, numbers.Real) or not math.isfinite(duration_ms) or duration_ms < 0:
            raise SimulationError(f"duration {duration_ms!r} ms must be a finite number >= 0")
        return int(round(duration_ms / self.dt_ms))

    # -------------------------------------------------------------- running
    def record(self, neurons=(), every=1):
        """Start recording the soma voltage of ``neurons`` every ``every`` ticks, and all spikes."""
        ids = self.neuron_ids(list(neurons)) if len(neurons) else np.zeros(0, np.int64)
        if np.unique(ids).size != ids.size:
            raise SimulationError(f"record: a neuron is listed twice in {list(neurons)}")
        names = [self.db.get_neuron_name(int(i)) for i in ids]
        self.recorder = Recorder(ids, self.dt_ms, every, names)
        return self.recorder

    def _on_spikes(self, ids, ticks):
        self.n_spikes += ids.size
        if self.recorder is not None:
            self.recorder.add_spikes(ids, ticks)

    def run(self, ticks, progress=None, chunk=None):
        """Advance ``ticks`` ticks; ``progress(k)`` is called after every ``chunk`` ticks if given.

        Raises SimulationError for a negative or non-integer count, or when a neuron diverges (NaN/inf
        voltage): the message names the neuron and tick.
        """
        if not isinstance(ticks, numbers.Integral) or ticks < 0:
            raise SimulationError(f"run: ticks must be an integer >= 0, got {ticks!r}")
        ticks = int(ticks)
        chunk = ticks if (progress is None or not chunk) else int(chunk)
        done = 0
        while done < ticks:
            k = min(chunk, ticks - done)
            self._eng.advance(k, self.recorder, self._on_spikes)
            done += k
            if progress is not None:
                progress(k)

    def warm_up(self):
        """Compile (or load from numba's cache) the kernels without advancing; returns the seconds it took."""
        import time

        t0 = time.perf_counter()
        self._eng.advance(0)
        return time.perf_counter() - t0

    def run_ms(self, duration_ms, **kw):
        """Advance ``duration_ms`` (see :meth:`run`)."""
        self.run(self.ticks_for(duration_ms), **kw)

    def step(self):
        """Advance one tick."""
        self.run(1)

    # --------------------------------------------------------------- output
    def get_neuron_voltage(self, neuron):
        """Soma voltage (mV) of one neuron (id or name)."""
        return float(self._eng.soma_voltages()[self._id(neuron)])

    def voltages_mV(self):
        """float64[n_neurons]: soma voltages (copy)."""
        return np.array(self._eng.soma_voltages(), np.float64)

    @property
    def state(self):
        """The live dynamic arrays by name (views: writing changes the simulation)."""
        return self._eng.state_arrays()

    def set_initial_state(self, v_mV=None, synapses=None, u=None):
        """Override the initial state (kept by :meth:`reset`).

        Parameters
        ----------
        v_mV : float or float[n_neurons], optional
            Soma voltage.
        synapses : dict, optional
            receptor name or id -> float[n_neurons]: initial lumped conductance (nS) or current (pA).
        u : float or float[n_neurons], optional
            Izhikevich recovery variable (default b * v).
        """
        if not hasattr(self._eng, "set_initial"):
            raise SimulationError(f"set_initial_state is not available with model {self.model!r} "
                                  f"(backend '{self.backend.name}')")
        if v_mV is not None:
            self._eng.set_initial("v_mV", self._finite_vec(v_mV, "v_mV"))
        if u is not None:
            self._eng.set_initial("u", self._finite_vec(u, "u"))
        names = self.db.metadata.get("receptor_names") or []
        for ref, val in (synapses or {}).items():
            rid = names.index(ref) if isinstance(ref, str) and ref in names else ref
            if not isinstance(rid, numbers.Integral):
                raise SimulationError(f"set_initial_state: unknown receptor {ref!r} (known: {names})")
            self._eng.set_initial(("syn", int(rid)), self._finite_vec(val, f"synapses[{ref!r}]"))

    def _finite_vec(self, val, what):
        arr = np.broadcast_to(np.asarray(val, np.float64), (self.n_neurons,)).copy()
        if not np.all(np.isfinite(arr)):
            raise SimulationError(f"set_initial_state: {what} has non-finite values")
        return arr

    # -------------------------------------------------------------- lesions
    def lesion(self, ids):
        """Silence neurons: V held at rest, no output (spikes, graded release, gap current), inputs dropped."""
        self._eng.set_lesion(self.neuron_ids(ids), True)

    def restore(self, ids):
        """Undo :meth:`lesion` for ``ids``; they resume from rest."""
        self._eng.set_lesion(self.neuron_ids(ids), False)

    def reset(self):
        """Back to the initial state at tick 0; stimulus currents, lesions and recording settings are kept."""
        self._eng.reset()
        self.n_spikes = 0

    # ------------------------------------------------------------ snapshots
    def save_snapshot(self, path):
        """Write the whole dynamic state (voltages, conductances, ring, weights, RNG, stimulus) to ``path``."""
        extra = {"model": self.model, "n_spikes": self.n_spikes}
        extra.update({k: self.config[k] for k in _SCALES})
        return save_snapshot(path, self.db.fingerprint, self.tick, self.dt_ms, self._snapshot_arrays(), extra)

    def _snapshot_arrays(self):
        """The arrays a snapshot holds (also the schema a loaded snapshot must match)."""
        return {**self._eng.state_arrays(), "i_ext": self._eng.i_ext, "lesion": self._eng.lesion}

    def load_snapshot(self, path):
        """Restore a snapshot of this database; SnapshotError if it belongs to another one or another model."""
        extra_types = {"model": (str, type(None)), "n_spikes": (int,), **{k: (float,) for k in _SCALES}}
        snap = load_snapshot(path, self.db, expect=self._snapshot_arrays(), expect_extra=extra_types)
        if snap.extra.get("model") != self.model:
            raise SnapshotError(f"{path}: snapshot of model {snap.extra.get('model')!r}, simulation runs "
                                f"{self.model!r}")
        for key in _SCALES:
            if snap.extra.get(key, 1.0) != self.config[key]:
                raise SnapshotError(f"{path}: snapshot taken with {key} {snap.extra.get(key, 1.0)}, simulation "
                                    f"runs with {self.config[key]}")
        try:
            self._eng.load_state(snap.arrays)
        except SimulationError as exc:
            raise SnapshotError(f"{path}: {exc}") from None
        self._eng.i_ext[:] = snap.arrays["i_ext"]
        if "lesion" in snap.arrays:
            self._eng.lesion[:] = snap.arrays["lesion"]
        self.n_spikes = int(snap.extra.get("n_spikes", 0))
