"""Benchmark: 302 C. elegans reference cells (spec §6), 1000 ms at dt 0.1 ms, one thread.

Prints one JSON line: ``braingo_s`` (unconnected cells, one per neuron parameter file),
``neuron_s`` (null: NEURON is not measured here; the spec's reference figure is 7.2 s),
``rtf_network`` (simulated / wall time of the bundled worm database with its graded synapses and gap
junctions on; null when that database cannot be built).
"""
import argparse
import json
import os
import sys
import time
from pathlib import Path

os.environ.setdefault("NUMBA_NUM_THREADS", "1")

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from braingo_core.sim.celegans.network import CelegansNetwork  # noqa: E402
from braingo_core.sim.celegans.params import load_cell_json  # noqa: E402


def timed(net, steps):
    net.step(10)                    # JIT warm-up (cached after the first run)
    net.reset()
    t0 = time.perf_counter()
    net.step(steps)
    return time.perf_counter() - t0


def network_rtf(steps, dt_ms, db_path, cache_dir):
    try:
        from braingo_core.loaders.baaiworm import bundled_database
        from braingo_core.storage import BrainDB
        db = BrainDB(db_path or bundled_database(cache_dir=cache_dir))
    except Exception as exc:          # the database is optional for this bench
        print(f"network database unavailable: {exc}", file=sys.stderr)
        return None, None
    net = CelegansNetwork.from_braindb(db, dt_ms=dt_ms)
    wall = timed(net, steps)
    counts = {"n_synapses": len(net.synapse_states()), "n_gap_junctions": db.gap_junction_count()}
    return steps * dt_ms / 1000.0 / wall, counts


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--cell-dir", default=str(ROOT / "data" / "celegans" / "components" / "param" / "cell"))
    ap.add_argument("--db", help="worm .braindb for rtf_network (default: the bundled database)")
    ap.add_argument("--cache-dir", help="cache directory of the bundled database")
    ap.add_argument("--steps", type=int, default=10000)
    ap.add_argument("--dt-ms", type=float, default=0.1)
    args = ap.parse_args()
    files = sorted(Path(args.cell_dir).glob("*.json"))
    cells = [load_cell_json(f) for f in files]
    net = CelegansNetwork.from_cells(cells, args.dt_ms)
    wall = timed(net, args.steps)
    rtf, extra = network_rtf(args.steps, args.dt_ms, args.db, args.cache_dir)
    out = {"bench": "celegans_hh", "n_cells": len(cells), "steps": args.steps, "dt_ms": args.dt_ms,
           "braingo_s": round(wall, 4), "us_per_cell_step": round(wall / len(cells) / args.steps * 1e6, 4),
           "neuron_s": None, "neuron_reference_s": 7.2,
           "rtf_network": None if rtf is None else round(rtf, 3)}
    if extra:
        out.update(extra)
    print(json.dumps(out))


if __name__ == "__main__":
    main()
