"""Run under mpiexec by test_mpi_fly: a distributed fly run; rank 0 writes spikes and the joined state.

Usage: mpi_fly_run.py DB OUT.npz DURATION_MS DRIVEN_IDS [die|raise|hang|api|save=SNAP|load=SNAP]
``die``: rank 1 exits abruptly after the first window; ``raise``: rank 1 raises inside the run; ``hang``:
rank 1 stops answering after the first window (the exchange timeout is 2 s);
``api``: the same run through ``Simulation(db, {"model": "fly", ...})``; ``save=SNAP``: write a snapshot after
the run; ``load=SNAP``: restore it before the run.
"""
import os
import sys
import time

import numpy as np

from braingo_core.sim import mpi_backend
from braingo_core.sim.mpi_backend import MpiFlyEngine


def main():
    db, out, duration_ms, driven = sys.argv[1], sys.argv[2], float(sys.argv[3]), sys.argv[4]
    fault = sys.argv[5] if len(sys.argv) > 5 else None
    if fault == "api":
        return run_api(db, out, duration_ms, [int(x) for x in driven.split(",")])
    if fault == "hang":
        mpi_backend.EXCHANGE_TIMEOUT_S = 2.0
    eng = MpiFlyEngine(db, drive={"ids": [int(x) for x in driven.split(",")]}, seed=3)
    if fault and fault.startswith("load="):
        eng.load_snapshot(fault[5:])
    ids, ticks = [], []

    def on_spikes(i, t):
        ids.append(i.copy())
        ticks.append(t.copy())
        if fault in ("die", "raise", "hang") and eng.rank == 1 and eng.windows >= 1:
            if fault == "die":
                os._exit(3)
            if fault == "hang":
                time.sleep(600)
            raise RuntimeError("injected failure")

    eng.advance(int(round(duration_ms / eng.dt_ms)), on_spikes)
    if fault and fault.startswith("save="):
        eng.save_snapshot(fault[5:])
    state = eng.gather_state()
    if eng.rank == 0:
        np.savez(out, ids=np.concatenate(ids), ticks=np.concatenate(ticks), windows=eng.windows,
                 local_synapses=eng.net[1].size, **state)


def run_api(db, out, duration_ms, driven):
    from braingo_core.sim import Simulation

    drive = {"n": 1, "rate_Hz": 200.0, "weight": 68.75, "receptor": 0, "ids": driven}
    sim = Simulation(db, {"model": "fly", "seed": 3, "poisson": drive})
    rec = sim.record([0, 1500, 2999], every=50)
    sim.run_ms(duration_ms)
    v = sim.voltages_mV()
    if sim._eng.eng.rank == 0:
        ids, ticks = rec.spikes()
        np.savez(out, ids=ids, ticks=ticks, v=v, v_rec=rec.voltages()[1], ranks=sim._eng.eng.size)


if __name__ == "__main__":
    main()
