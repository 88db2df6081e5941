"""`braingo load-flywire` and `braingo run-fly`: the FlyWire whole-brain model (Shiu et al. 2024).

``braingo build --like flywire`` (storage_cmds) writes the seeded benchmark network of the same shape.
"""
import json
import time

import numpy as np

from braingo_core.loaders.flywire import FLY_DRIVE, load_flywire
from braingo_core.storage import BrainDB


def register(sub):
    p = sub.add_parser("load-flywire", help="build the Shiu et al. 2024 fly model from the FlyWire v783 files")
    p.add_argument("completeness", help="Completeness_783.csv (first column: FlyWire root ids)")
    p.add_argument("connectivity", help="Connectivity_783.parquet (Presynaptic_Index, Postsynaptic_Index, "
                                        "'Excitatory x Connectivity')")
    p.add_argument("--output", "-o", default="flywire.braindb", help="database to write (default flywire.braindb)")
    p.set_defaults(func=cmd_load_flywire)

    p = sub.add_parser("run-fly", help="run a fly-model database with Brian2's semantics (backend 'fly')")
    p.add_argument("file", help=".braindb (load-flywire or build --like flywire)")
    p.add_argument("--duration", "-d", type=float, default=1000.0, help="biological time, ms (default 1000)")
    p.add_argument("--drive", default="", help="comma-separated neuron ids or names driven by Poisson input")
    p.add_argument("--drive-flywire", default="", help="comma-separated FlyWire root ids to drive")
    p.add_argument("--rate", type=float, default=FLY_DRIVE["rate_Hz"], help="drive rate, Hz (default 200)")
    p.add_argument("--weight", type=float, default=FLY_DRIVE["weight_mV"], help="drive weight, mV (default 68.75)")
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--dense", action="store_true", help="update every neuron every tick (reference loop)")
    p.add_argument("--npz", help="write spikes (ids, times_ms) to this .npz")
    p.set_defaults(func=cmd_run_fly)


def cmd_load_flywire(args):
    n, m = load_flywire(args.completeness, args.connectivity, args.output)
    print(f"wrote {args.output}: {n} neurons, {m} connections")


def drive_ids(db, drive, drive_flywire):
    """Neuron ids from ``--drive`` (ids/names) and ``--drive-flywire`` (root ids in the file's metadata)."""
    from braingo_core.errors import SimulationError

    ids = [db.neuron_id(x.strip()) for x in drive.split(",") if x.strip()]
    fw = [x.strip() for x in drive_flywire.split(",") if x.strip()]
    if fw:
        index = {k: i for i, k in enumerate(db.metadata.get("flywire_ids") or [])}
        missing = [x for x in fw if x not in index]
        if missing:
            raise SimulationError(f"{db.path}: FlyWire id(s) {missing[:5]} are not in the database")
        ids += [index[x] for x in fw]
    return ids


def cmd_run_fly(args):
    """One process, or one rank of ``mpiexec -n N braingo run-fly ...`` (rank 0 writes the outputs)."""
    from braingo_core.sim.fly_engine import FlyEngine
    from braingo_core.sim.mpi_backend import MpiFlyEngine, launched_ranks

    db = BrainDB(args.file)
    drive = {"ids": drive_ids(db, args.drive, args.drive_flywire), "rate_Hz": args.rate, "weight_mV": args.weight}
    ranks = launched_ranks()
    if ranks > 1:
        eng = MpiFlyEngine(db, drive=drive, seed=args.seed, dense=args.dense)
    else:
        eng = FlyEngine(db, drive=drive, seed=args.seed, dense=args.dense)
    ids, ticks = [], []
    t0 = time.perf_counter()
    eng.advance(int(round(args.duration / eng.dt_ms)), lambda i, t: (ids.append(i.copy()), ticks.append(t.copy())))
    wall = time.perf_counter() - t0
    ids = np.concatenate(ids) if ids else np.zeros(0, np.int32)
    t_ms = (np.concatenate(ticks) if ticks else np.zeros(0, np.int64)) * eng.dt_ms
    if ranks > 1 and eng.rank != 0:
        return
    if args.npz:
        np.savez(args.npz, ids=ids, times_ms=t_ms)
    print(json.dumps({"file": args.file, "duration_ms": args.duration, "wall_s": round(wall, 4), "ranks": ranks,
                      "spikes": int(ids.size), "spiking_neurons": int(np.unique(ids).size)}))
