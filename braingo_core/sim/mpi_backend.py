"""The ``fly`` backend across MPI ranks: contiguous neuron blocks, synapses stored with their target.

Rank r of R simulates the neurons [N r / R, N (r+1) / R) (:class:`~braingo_core.sim.fly_engine.FlyEngine`
with ``block``): every rank opens the same .braindb, reads the synapse records in chunks and keeps only
those whose target is its own (memory per rank ~ its share of synapses plus one row pointer over all
presynaptic neurons). All synapses have one delay D (ticks), so the ranks run windows of D ticks on their
own and exchange spikes once per window: the spikes of tick t are first needed at tick t + D, in the
next window.

Exchange: ``Allgather`` of the per-rank spike counts, then ``Allgatherv`` of (tick, id) pairs, the scheme
of Arbor and NEURON. NEST uses ``Alltoall`` with per-target-rank buffers; it sends each rank only the
spikes it has targets for, which pays off when ranks share few sources. Here every spike is needed
by most ranks (a fly neuron projects to ~109 targets spread over the whole brain, and a block holds
thousands of neurons), so the gather sends almost nothing a rank does not use, needs no per-rank
routing tables, and costs one latency term per window.

Deterministic: each rank's spikes of a tick come out sorted, the blocks are contiguous and the
gather concatenates them in rank order, so every rank sees each tick's spikes in ascending id order,
as one process does; Poisson streams are keyed by neuron id. Spikes and final state are bitwise the
same for any number of ranks.

Snapshots (:meth:`MpiFlyEngine.save_snapshot`) are one file of the whole network, written by rank 0 at a
window boundary; any rank count restores it, each rank taking its block.

A rank that raises stops the whole job: the error is printed with its rank and ``MPI.Abort`` ends every
process (no rank waits forever in a collective). A rank that dies outright is ended by mpiexec; should
mpiexec leave the others running, they stop on their own: each exchange is a non-blocking collective
waited for at most ``EXCHANGE_TIMEOUT_S``, then the job is aborted with that error.
"""
import os
import sys
import time

import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.sim.fly_engine import FlyEngine
from braingo_core.storage import BrainDB

#: Environment variables by which MPICH's and Open MPI's launchers give the number of ranks.
_SIZE_VARS = ("PMI_SIZE", "OMPI_COMM_WORLD_SIZE")
#: Longest wait for the other ranks at one spike exchange (s): past it the job is aborted with an error.
EXCHANGE_TIMEOUT_S = 60.0
#: Pause between printing a failure and aborting the job (s): mpiexec forwards the message before it kills.
ABORT_GRACE_S = 0.5


def launched_ranks():
    """Number of ranks this process was started with by mpiexec (1 when started on its own)."""
    for name in _SIZE_VARS:
        if os.environ.get(name, "").isdigit():
            return int(os.environ[name])
    return 1


def world():
    """mpi4py's COMM_WORLD (ImportError explained when the ``[mpi]`` extra is missing)."""
    try:
        from mpi4py import MPI
    except ImportError as exc:
        raise SimulationError("MPI runs need mpi4py and an MPI library: pip install 'braingo_ros[mpi]'") from exc
    return MPI.COMM_WORLD


def block_of(n, rank, size):
    """Neurons [lo, hi) of ``rank`` among ``size`` ranks (contiguous, sizes differ by at most one)."""
    return n * rank // size, n * (rank + 1) // size


class MpiFlyEngine:
    """One rank's part of a distributed fly run; the same calls as :class:`FlyEngine` (``advance``, ``reset``).

    ``on_spikes`` of :meth:`advance` receives every rank's spikes (global ids, (tick, id) order) on every rank.
    """

    def __init__(self, db, drive=None, seed=0, dense=False, comm=None):
        self.comm = comm if comm is not None else world()
        self.rank, self.size = self.comm.Get_rank(), self.comm.Get_size()
        db = db if isinstance(db, BrainDB) else BrainDB(db)
        lo, hi = block_of(db.neuron_count(), self.rank, self.size)
        self.eng = FlyEngine(db, drive, seed, dense, block=(lo, hi))
        self.window = int(self.eng.net[3])
        if self.window < 1:
            raise SimulationError(f"{db.path}: MPI runs need a synaptic delay of at least one tick")
        self._counts = np.zeros(self.size, np.int64)
        self.exchanged = 0                  # (tick, id) pairs received, summed over windows
        self.windows = 0
        self.compute_s = self.exchange_s = 0.0      # wall time in the kernel / in the exchange (this rank)

    def __getattr__(self, name):
        return getattr(self.eng, name)

    def _exchange(self, ticks, ids, t0, w):
        """Share this window's spikes; write every rank's into the spike ring; returns them (ticks, ids)."""
        from mpi4py import MPI

        local = np.empty(2 * ids.size, np.int64)
        local[0::2], local[1::2] = ticks, ids
        self._wait(self.comm.Iallgather(np.array([local.size], np.int64), self._counts))
        total = int(self._counts.sum())
        recv = np.empty(total, np.int64)
        displ = np.zeros(self.size, np.int64)
        np.cumsum(self._counts[:-1], out=displ[1:])
        self._wait(self.comm.Iallgatherv(local, [recv, self._counts, displ, MPI.INT64_T]))
        all_t, all_i = recv[0::2], recv[1::2]
        order = np.argsort(all_t, kind="stable")            # rank order (= id order) kept within a tick
        all_t, all_i = all_t[order], all_i[order]
        eng = self.eng
        R = eng.sp_ring.shape[0]
        bounds = np.searchsorted(all_t, np.arange(t0, t0 + w + 1))
        for k in range(w):
            slot = (t0 + k) % R
            a, b = bounds[k], bounds[k + 1]
            eng.sp_ring[slot, :b - a] = all_i[a:b]
            eng.sp_cnt[slot] = b - a
        self.exchanged += total // 2
        self.windows += 1
        return all_t, all_i

    def _wait(self, request):
        """Complete a non-blocking collective; SimulationError when the other ranks do not join within
        :data:`EXCHANGE_TIMEOUT_S` (a rank died or hangs), so no rank waits forever whatever mpiexec does."""
        if request.Test():
            return
        deadline = time.monotonic() + EXCHANGE_TIMEOUT_S
        while not request.Test():
            if time.monotonic() > deadline:
                raise SimulationError(f"no spike exchange from the other ranks within {EXCHANGE_TIMEOUT_S:g} s "
                                      f"(a rank died or hangs)")

    def _abort(self, message):
        """Print ``message`` and end every rank of the job (exit status 2)."""
        print(message, file=sys.stderr, flush=True)
        time.sleep(ABORT_GRACE_S)
        self.comm.Abort(2)

    def advance(self, n_ticks, on_spikes=None):
        """Run ``n_ticks`` ticks in windows of the delay, exchanging spikes after each window."""
        try:
            self._advance(int(n_ticks), on_spikes)
        except Exception as exc:           # any failure: stop every rank instead of leaving them in a collective
            self._abort(f"braingo: MPI rank {self.rank} of {self.size} failed: {exc}")

    def _advance(self, n_ticks, on_spikes):
        eng = self.eng
        eng._activate()
        left = n_ticks
        while left > 0:
            w = min(self.window, left)
            t0 = int(eng.tick[0])
            got_i, got_t = [], []
            done = 0
            c0 = time.perf_counter()
            while done < w:
                done += eng.run_block(w - done, lambda i, t: (got_i.append(i.astype(np.int64)),
                                                              got_t.append(t.copy())))
            ids = np.concatenate(got_i) if got_i else np.zeros(0, np.int64)
            ticks = np.concatenate(got_t) if got_t else np.zeros(0, np.int64)
            c1 = time.perf_counter()
            all_t, all_i = self._exchange(ticks, ids, t0, w)
            self.compute_s += c1 - c0
            self.exchange_s += time.perf_counter() - c1
            if on_spikes is not None and all_i.size:
                on_spikes(all_i, all_t)
            left -= w

    def save_snapshot(self, path):
        """One snapshot file of the whole network (rank 0 writes it), restorable at any rank count."""
        state = self.gather_state()
        try:
            if self.rank == 0:
                state.update(sp_ring=self.eng.sp_ring, sp_cnt=self.eng.sp_cnt)
                self.eng.save_snapshot(path, state)
        except Exception as exc:
            self._abort(f"braingo: MPI rank 0 of {self.size} failed to save {path}: {exc}")
        self.comm.Barrier()

    def load_snapshot(self, path):
        """Every rank restores its block from a snapshot taken at any rank count."""
        self.eng.load_snapshot(path)

    def gather_state(self, root=0):
        """Every rank's state arrays joined in neuron order on ``root`` (None elsewhere); ``tick`` is shared."""
        parts = self.comm.gather({k: v for k, v in self.eng.state_arrays().items()
                                  if k in ("v", "g", "last", "rng")}, root=root)
        if parts is None:
            return None
        out = {k: np.concatenate([p[k] for p in parts]) for k in parts[0]}
        out["tick"] = self.eng.tick.copy()
        return out
