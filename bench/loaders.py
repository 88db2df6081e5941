"""Loader benchmark: bundled worm (xlsx + JSON) -> .braindb, and an N-edge CSV through the bulk builder.

Prints one JSON line: {"bench": "loaders", "worm_s": ..., "csv_edges": N, "csv_write_s": ..., "csv_load_s": ...}.
Usage: python bench/loaders.py [--edges 10000000] [--neurons 100000] [--seed 0] [--workdir DIR]
"""
import argparse
import json
import tempfile
import time
from pathlib import Path

import numpy as np

from braingo_core.loaders.baaiworm import BAAIWormLoader, bundled_data_dir
from braingo_core.loaders.connectome_csv import ConnectomeLoader
from braingo_core.storage import BrainDB, BrainDBBuilder


def write_edges(path, n_edges, n_neurons, seed, chunk=1_000_000):
    rng = np.random.default_rng(seed)
    with open(path, "w") as f:
        f.write("pre_id,post_id,weight,delay_ms\n")
        for start in range(0, n_edges, chunk):
            k = min(chunk, n_edges - start)
            pre, post = rng.integers(0, n_neurons, k), rng.integers(0, n_neurons, k)
            w, d = rng.uniform(0.1, 2.0, k), rng.uniform(0.1, 5.0, k)
            rows = zip(pre.tolist(), post.tolist(), w.tolist(), d.tolist())
            f.write("".join(f"{a},{b},{x:.3f},{y:.1f}\n" for a, b, x, y in rows))


def main(argv=None):
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--edges", type=int, default=10_000_000)
    p.add_argument("--neurons", type=int, default=100_000)
    p.add_argument("--seed", type=int, default=0)
    p.add_argument("--workdir", help="scratch directory (default: a temporary one)")
    args = p.parse_args(argv)
    with tempfile.TemporaryDirectory(dir=args.workdir) as tmp:
        tmp = Path(tmp)
        t0 = time.perf_counter()
        BAAIWormLoader.load_from_dir(bundled_data_dir()).into_braindb(tmp / "worm.braindb")
        worm_s = time.perf_counter() - t0

        t0 = time.perf_counter()
        write_edges(tmp / "edges.csv", args.edges, args.neurons, args.seed)
        write_s = time.perf_counter() - t0
        t0 = time.perf_counter()
        b = BrainDBBuilder(dt_ms=0.1)
        b.add_neurons(args.neurons, neuron_type=b.add_neuron_type("lif", model="lif"))
        ConnectomeLoader.load_csv(tmp / "edges.csv", b)
        b.write(tmp / "edges.braindb")
        load_s = time.perf_counter() - t0
        assert BrainDB(tmp / "edges.braindb").synapse_count() == args.edges
    print(json.dumps({"bench": "loaders", "worm_s": round(worm_s, 3), "csv_edges": args.edges,
                      "csv_neurons": args.neurons, "csv_write_s": round(write_s, 2), "csv_load_s": round(load_s, 2)}))


if __name__ == "__main__":
    main()
