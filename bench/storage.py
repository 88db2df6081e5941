"""Storage benchmark: build / open / look up a 100k-neuron, 10M-synapse .braindb; snapshot save/load.

Prints one JSON line: build_s, build_peak_rss_mb, open_ms (with the default verification: every checksum
and record check), open_noverify_ms (``verify=False``), verify_cost_ms, open_rss_mb, lookup_1000_ms,
snapshot_save_ratio, snapshot_load_ratio (ratios against ndarray.tofile + fsync / np.fromfile of the
same bytes, measured in the same run).
"""
import argparse
import json
import os
import resource
import subprocess
import sys
import tempfile
import time

import numpy as np

from braingo_core.storage import BrainDB, BrainDBBuilder, load_snapshot, save_snapshot


def build(path, n_neurons, n_synapses, seed):
    """Build the network from arrays (runs in a child process so its peak RSS is its own)."""
    rng = np.random.default_rng(seed)
    b = BrainDBBuilder(dt_ms=0.1)
    t = b.add_neuron_type("lif", model="lif")
    exc = b.add_receptor("exc", kind="current", tau_decay_ms=0.5)
    b.add_neurons(n_neurons, neuron_type=t)
    pre = rng.integers(0, n_neurons, n_synapses, dtype=np.int64)
    post = rng.integers(0, n_neurons, n_synapses, dtype=np.int64)
    w = np.full(n_synapses, 500.0, np.float32)
    b.add_synapses(pre, post, w, np.full(n_synapses, 1.5, np.float32), receptor=exc)
    del pre, post, w
    b.write(path)


def rss_mb():
    with open("/proc/self/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return float("nan")


def plain_write(path, arrays):
    with open(path, "wb") as f:
        for a in arrays.values():
            a.tofile(f)
        f.flush()
        os.fsync(f.fileno())


def plain_read(path, arrays):
    with open(path, "rb") as f:
        return [np.fromfile(f, a.dtype, a.size) for a in arrays.values()]


def best(fn, repeat=3):
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append(time.perf_counter() - t0)
    return min(times)


def main():
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--n-neurons", type=int, default=100_000)
    ap.add_argument("--n-synapses", type=int, default=10_000_000)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--child-build", nargs=1, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.child_build:
        t0 = time.perf_counter()
        build(args.child_build[0], args.n_neurons, args.n_synapses, args.seed)
        peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        print(json.dumps({"build_s": time.perf_counter() - t0, "peak_mb": peak}))
        return
    with tempfile.TemporaryDirectory(dir=os.environ.get("BENCH_TMP")) as tmp:
        path = os.path.join(tmp, "bench.braindb")
        out = subprocess.run([sys.executable, __file__, "--n-neurons", str(args.n_neurons), "--n-synapses",
                              str(args.n_synapses), "--seed", str(args.seed), "--child-build", path],
                             check=True, capture_output=True, text=True)
        child = json.loads(out.stdout.strip().splitlines()[-1])

        BrainDB(path, verify=False)             # page cache warm for both measurements
        t0 = time.perf_counter()
        BrainDB(path, verify=False)
        open_noverify_ms = (time.perf_counter() - t0) * 1e3
        rss0 = rss_mb()
        t0 = time.perf_counter()
        db = BrainDB(path)
        open_ms = (time.perf_counter() - t0) * 1e3
        open_rss = rss_mb() - rss0

        ids = np.random.default_rng(1).integers(0, db.neuron_count(), 1000)
        db.out_synapses(0)
        t0 = time.perf_counter()
        total = 0
        for i in ids:
            total += len(db.out_synapses(int(i)))
        lookup_ms = (time.perf_counter() - t0) * 1e3

        state = {"v": np.zeros(db.neuron_count()), "ga": np.zeros(db.neuron_count()),
                 "w_plastic": np.zeros(db.synapse_count()),
                 "ring": np.zeros((db.ring_size, db.neuron_count()))}
        snap, plain = os.path.join(tmp, "s.snapshot"), os.path.join(tmp, "plain.bin")
        save_s = best(lambda: save_snapshot(snap, db.fingerprint, 0, db.dt_ms, state))
        plain_w = best(lambda: plain_write(plain, state))
        load_s = best(lambda: load_snapshot(snap, db))
        plain_r = best(lambda: plain_read(plain, state))
    print(json.dumps({
        "bench": "storage", "n_neurons": args.n_neurons, "n_synapses": args.n_synapses,
        "build_s": round(child["build_s"], 3), "build_peak_rss_mb": round(child["peak_mb"], 1),
        "open_ms": round(open_ms, 3), "open_noverify_ms": round(open_noverify_ms, 3),
        "verify_cost_ms": round(open_ms - open_noverify_ms, 3), "open_rss_mb": round(open_rss, 2),
        "lookup_1000_ms": round(lookup_ms, 3),
        "lookup_synapses": int(total),
        "snapshot_save_s": round(save_s, 3), "plain_write_s": round(plain_w, 3),
        "snapshot_save_ratio": round(save_s / plain_w, 3),
        "snapshot_load_s": round(load_s, 3), "plain_read_s": round(plain_r, 3),
        "snapshot_load_ratio": round(load_s / plain_r, 3),
    }))


if __name__ == "__main__":
    main()
