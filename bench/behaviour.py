"""Behaviour bench: the worm connectome drives the caterpillar on the ROS-free closed loop.

    python bench/behaviour.py [--measure-s 20] [--settle-s 2] [--model graded] [--figures DIR]

Conditions (each from the initial state; drives, lesion groups, settle and measure times from the
``locomotion`` section of config/caterpillar.yaml): forward drive, backward drive, no drive, forward drive
with every B-class lesioned, forward drive with every D-class lesioned, and forward drive switched to
backward drive at run time. Prints one JSON line: forward_L_per_s, backward_L_per_s (> 0 = moving
backward), idle_L_per_s, lesion_B_ratio (forward speed without B-class / intact; None when the intact
loop does not move forward), wave_hz, lag_forward, lag_backward (s, > 0 = head-to-tail wave), switch_s
(reversal after the switch: the 1 s mean speed backward reaches 0.05 L/s, the backward target, and stays
there for another second; None if it never does), and per condition the full metrics
(wavelength in body lengths, dorsoventral alternation, amplitude). ``--figures`` writes a kymograph +
head trajectory PNG per condition.
"""
import argparse
import json
import logging
import os
import sys
import time

from braingo_core.body.closed_loop import ClosedLoop, LoopTrace, locomotion_settings
from braingo_core.body.gait import gait_metrics, plot_gait, reversal_time_s


BACKWARD_TARGET_L_PER_S = 0.05


def _round(d):
    return {k: round(v, 4) if isinstance(v, float) else v for k, v in d.items()}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--measure-s", type=float, default=None, help="measured sim time per condition (s)")
    parser.add_argument("--settle-s", type=float, default=None, help="discarded sim time per condition (s)")
    parser.add_argument("--model", default="graded", help="brain neuron model")
    parser.add_argument("--database", default=None, help=".braindb of the brain (default: the bundled worm), "
                        "e.g. the output of braingo fit")
    parser.add_argument("--weight-scales", type=float, nargs=2, metavar=("SYNAPSE", "GAP"), default=None,
                        help="weight scales of the brain (default: the locomotion section's)")
    parser.add_argument("--body-config", default=None, help="caterpillar.yaml (default: the package's)")
    parser.add_argument("--figures", default=None, help="folder for kymograph PNGs")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    loco = locomotion_settings(opts.body_config)
    settle = loco["settle_s"] if opts.settle_s is None else opts.settle_s
    measure = loco["measure_s"] if opts.measure_s is None else opts.measure_s
    started = time.perf_counter()
    scales = dict(zip(("synapse_weight_scale", "gap_weight_scale"), opts.weight_scales or (None, None)))
    loop = ClosedLoop(database=opts.database, body_config=opts.body_config, model=opts.model, **scales)
    conditions = {
        "forward": (loco["forward_drive"], ()),
        "backward": (loco["backward_drive"], ()),
        "idle": ((), ()),
        "lesion_B": (loco["forward_drive"], loco["b_class"]),
        "lesion_D": (loco["forward_drive"], loco["d_class"]),
    }
    metrics = {}
    for name, (drive, lesion) in conditions.items():
        loop.set_tonic(drive)
        loop.set_lesion(lesion)
        loop.reset()
        trace = loop.run(settle + measure)
        metrics[name] = gait_metrics(trace, settle)
        if opts.figures:
            os.makedirs(opts.figures, exist_ok=True)
            plot_gait(trace, os.path.join(opts.figures, f"{name}.png"), settle, title=f"{name}: {drive or 'no drive'}")

    loop.set_lesion(())
    loop.set_tonic(loco["forward_drive"])
    loop.reset()
    before = loop.run(settle + measure / 2)
    loop.set_tonic(loco["backward_drive"])
    trace = LoopTrace.concat([before, loop.run(measure / 2)])
    # a reversal is a backward crawl at the backward target, held for a second; not a drift
    switch_s = reversal_time_s(trace.t_s, trace.head_xy_m, trace.com_xy_m, trace.body_length_m, before.t_s[-1],
                               min_speed_L_per_s=BACKWARD_TARGET_L_PER_S)
    if opts.figures:
        plot_gait(trace, os.path.join(opts.figures, "switch.png"), settle, title="forward -> backward drive")

    fwd = metrics["forward"]["speed_L_per_s"]
    print(json.dumps({
        "bench": "behaviour", "model": opts.model, "settle_s": settle, "measure_s": measure,
        "forward_L_per_s": round(fwd, 4),
        "backward_L_per_s": round(-metrics["backward"]["speed_L_per_s"], 4),
        "idle_L_per_s": round(metrics["idle"]["speed_L_per_s"], 4),
        "lesion_B_ratio": round(metrics["lesion_B"]["speed_L_per_s"] / fwd, 4) if fwd > 0.01 else None,
        "wave_hz": metrics["forward"]["wave_hz"],
        "lag_forward": metrics["forward"]["lag_s"],
        "lag_backward": metrics["backward"]["lag_s"],
        "switch_s": switch_s,
        "alternation_intact": round(fwd_alt := metrics["forward"]["alternation"], 4),
        "alternation_lesion_D": round(metrics["lesion_D"]["alternation"], 4),
        "alternation_change": round(metrics["lesion_D"]["alternation"] - fwd_alt, 4),
        "conditions": {k: _round(v) for k, v in metrics.items()},
        "wall_s": round(time.perf_counter() - started, 1),
    }))
    return 0


if __name__ == "__main__":
    sys.exit(main())
