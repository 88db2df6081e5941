"""Closed-loop benchmark over DDS: body_sim + brain + muscle + sensor in lock-step at 100 Hz control.

    python bench/closed_loop.py [--duration 10] [--model graded|celegans] [--processes] [--record]

Prints one JSON line: real-time factor (sim s / wall s; also without the first period, which pays for the
brain's first call into its kernels), joint-state -> effort-command latency
(median, p99, ms, measured by body_sim_node, and its histogram: counts per bin of ``LATENCY_BINS_ms``) and
dropped control periods. ``--record`` runs the main job's MCAP recorder on every loop topic (bringup's
default; the summary and plots are made after the timed loop).
"""
import argparse
import json
import logging
import os
import sys
import tempfile

import numpy as np

from braingo_ros import bringup

#: Edges of the latency histogram (ms); the last bin is open.
LATENCY_BINS_ms = (0.0, 1.0, 2.0, 4.0, 6.0, 8.0, 10.0, 15.0, 20.0, 50.0)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="sim time (s)")
    parser.add_argument("--model", default="graded", help="brain neuron model")
    parser.add_argument("--processes", action="store_true", help="one process per node (default: one process)")
    parser.add_argument("--record", action="store_true", help="MCAP recorder on (as in the main job)")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as out:
        args = bringup.build_parser().parse_args(
            ["--duration", str(opts.duration), "--model", opts.model, "--out", out, "--no-progress",
             "--processes" if opts.processes else "--in-process", *([] if opts.record else ["--no-record"])])
        result = bringup.run(args)
        if opts.record:
            with open(os.path.join(result["run_dir"], "body_stats.json"), encoding="utf-8") as f:
                result = json.load(f)
        stats = result
    latency = np.asarray(stats["latency_ms"])
    counts, _edges = np.histogram(latency, bins=[*LATENCY_BINS_ms, np.inf])
    print(json.dumps({
        "bench": "closed_loop", "model": opts.model, "mode": "processes" if opts.processes else "in-process",
        "record": opts.record,
        "sim_s": stats["sim_s"], "wall_s": round(stats["wall_s"], 3),
        "rtf": round(stats["sim_s"] / stats["wall_s"], 3),
        # the first period waits for the brain's first call into each kernel; the loop after it:
        "first_period_ms": round(float(latency[0]), 1) if latency.size else None,
        "rtf_after_first": round((stats["sim_s"] - stats["control_period_s"]) / (stats["wall_s"] - latency[0] * 1e-3),
                                 3) if latency.size else None,
        "latency_ms_median": round(float(np.median(latency)), 3) if latency.size else None,
        "latency_ms_p99": round(float(np.percentile(latency, 99)), 3) if latency.size else None,
        "dropped_periods": stats["dropped_periods"], "periods": stats["periods"],
        "latency_hist_ms": {f"{lo:g}-{hi:g}": int(n) for lo, hi, n in
                            zip(LATENCY_BINS_ms, [*LATENCY_BINS_ms[1:], np.inf], counts)},
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
