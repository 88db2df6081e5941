"""Backend ``fly`` of the registry (:mod:`braingo_core.sim.backends`): the Brian2-semantics LIF engine
(:mod:`braingo_core.sim.fly_engine`) behind the engine interface that :class:`~braingo_core.sim.Simulation`
calls, on one process or, when started by ``mpiexec -n N`` (N > 1), across the ranks
(:mod:`braingo_core.sim.mpi_backend`).

Config mapping: ``seed`` seeds the drive; ``poisson`` drives its ``ids`` (default none) with ``n`` trains of
``rate_Hz``, each input spike adding ``weight`` **mV to v** (Shiu et al.'s PoissonInput; ``receptor`` is not
used) with no refractory period for driven neurons. Not available here (SimulationError): injected
currents, lesions, STDP, initial-state overrides.
"""
import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.sim.fly_engine import FlyEngine
from braingo_core.sim.mpi_backend import MpiFlyEngine, launched_ranks


class FlyBackend:
    """Engine interface over :class:`FlyEngine` / :class:`MpiFlyEngine` (see the module docstring)."""

    parallel = False

    def __init__(self, db, cfg):
        if cfg["stdp"] is not None:
            raise SimulationError("backend 'fly': STDP is not available")
        p = cfg["poisson"]
        drive = None
        if p is not None:
            drive = {"ids": list(p.get("ids") or ()), "rate_Hz": p["rate_Hz"], "weight_mV": p["weight"], "n": p["n"]}
        self.mpi = launched_ranks() > 1
        self.eng = (MpiFlyEngine if self.mpi else FlyEngine)(db, drive=drive, seed=cfg["seed"])
        n = db.neuron_count()
        self.i_ext = np.zeros(n)
        self.lesion = np.zeros(n, np.uint8)
        self.tick = self.eng.tick

    def advance(self, n_ticks, recorder=None, on_spikes=None):
        """Run; voltages of ``recorder.ids`` are sampled before every ``recorder.every``-th tick."""
        if np.any(self.i_ext != 0.0) or np.any(self.lesion):
            raise SimulationError("backend 'fly': injected currents and lesions are not available")
        n_ticks = int(n_ticks)
        if recorder is None or not recorder.ids.size:
            self.eng.advance(n_ticks, on_spikes)
            return
        t0 = int(self.tick[0])
        recorder.prepare(t0, n_ticks)
        every = recorder.every
        first = -(-t0 // every) * every
        for n in range(first, t0 + n_ticks, every):
            self.eng.advance(n - int(self.tick[0]), on_spikes)
            recorder.v_buf[recorder.row[0]] = self.soma_voltages()[recorder.ids]
            recorder.row[0] += 1
        self.eng.advance(t0 + n_ticks - int(self.tick[0]), on_spikes)

    def reset(self):
        self.eng.reset()

    def soma_voltages(self):
        """v (mV) of every neuron (joined over the ranks under MPI)."""
        if not self.mpi:
            return self.eng.v
        return np.concatenate(self.eng.comm.allgather(self.eng.v))

    def set_lesion(self, ids, on):
        if on and len(ids):
            raise SimulationError("backend 'fly': lesions are not available")

    def state_arrays(self):
        return self.eng.state_arrays()

    def load_state(self, arrays):
        for name, arr in self.state_arrays().items():
            got = arrays.get(name)
            if got is None or got.shape != arr.shape or got.dtype != arr.dtype:
                raise SimulationError(f"snapshot array '{name}' is missing or does not match {arr.shape} {arr.dtype}")
        for name, arr in self.state_arrays().items():
            arr[...] = arrays[name]
