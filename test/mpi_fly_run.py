"""Run under mpiexec by test_mpi_fly: a distributed fly run; rank 0 writes spikes and the joined state.

Usage: mpi_fly_run.py DB OUT.npz DURATION_MS DRIVEN_IDS [die|raise]
``die``: rank 1 exits abruptly after the first window; ``raise``: rank 1 raises inside the run.
"""
import os
import sys

import numpy as np

from braingo_core.sim.mpi_backend import MpiFlyEngine


def main():
    db, out, duration_ms, driven = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    fault = sys.argv[5] if len(sys.argv) > 5 else None
    eng = MpiFlyEngine(db, drive={"ids": [int(x) for x in driven.split(",")]}, seed=3)
    ids, ticks = [], []

    def on_spikes(i, t):
        ids.append(i.copy())
        ticks.append(t.copy())
        if fault and eng.rank == 1 and eng.windows >= 1:
            if fault == "die":
                os._exit(3)
            raise RuntimeError("injected failure")

    eng.advance(int(round(duration_ms / eng.dt_ms)), on_spikes)
    state = eng.gather_state()
    if eng.rank == 0:
        np.savez(out, ids=np.concatenate(ids), ticks=np.concatenate(ticks), windows=eng.windows,
                 local_synapses=eng.net[1].size, **state)


if __name__ == "__main__":
    main()
