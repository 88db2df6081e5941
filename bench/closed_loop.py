"""Closed-loop benchmark over DDS: body_sim + brain + muscle + sensor in lock-step at 100 Hz control.

    python bench/closed_loop.py [--duration 10] [--model graded|celegans] [--processes]

Prints one JSON line: real-time factor (sim s / wall s), joint-state -> effort-command latency
(median, p99, ms, measured by body_sim_node) and dropped control periods.
"""
import argparse
import json
import logging
import sys
import tempfile

import numpy as np

from braingo_ros import bringup


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, default=10.0, help="sim time (s)")
    parser.add_argument("--model", default="graded", help="brain neuron model")
    parser.add_argument("--processes", action="store_true", help="one process per node (default: one process)")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    with tempfile.TemporaryDirectory() as out:
        args = bringup.build_parser().parse_args(
            ["--duration", str(opts.duration), "--model", opts.model, "--out", out, "--no-record", "--no-progress",
             "--processes" if opts.processes else "--in-process"])
        stats = bringup.run(args)
    latency = np.asarray(stats["latency_ms"])
    print(json.dumps({
        "bench": "closed_loop", "model": opts.model, "mode": "processes" if opts.processes else "in-process",
        "sim_s": stats["sim_s"], "wall_s": round(stats["wall_s"], 3),
        "rtf": round(stats["sim_s"] / stats["wall_s"], 3),
        "latency_ms_median": round(float(np.median(latency)), 3) if latency.size else None,
        "latency_ms_p99": round(float(np.percentile(latency, 99)), 3) if latency.size else None,
        "dropped_periods": stats["dropped_periods"], "periods": stats["periods"],
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
