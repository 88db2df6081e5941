"""Grid search of the few locomotion parameters on the ROS-free closed loop (forward drive).

    python tools/tune_gait.py [--gain 40,-200] [--syn 0.3,1] [--gap 1] [--vth -30] [--scale 5]
                              [--settle-s 1] [--measure-s 6] [--out tune.json]

Parameters searched (every combination of the comma-separated values): proprioception.gain_pA_per_rad
(pA/rad; negative = a neuron is excited by bending away from its side, i.e. by stretch of its side),
locomotion.synapse_weight_scale / gap_weight_scale (worm database weights) and sigmoid.v_th_mV / scale_mV
(muscle map). Everything else comes from config/caterpillar.yaml. Each point runs the forward drive for
settle + measure seconds and is scored by its forward speed (body lengths/s), with the wave frequency,
lag and alternation reported alongside. Prints one JSON line per point, then the best point as the YAML
values to record in config/caterpillar.yaml (the file is not edited).
"""
import argparse
import copy
import dataclasses
import itertools
import json
import logging
import sys

from braingo_core.body import load_config
from braingo_core.body.closed_loop import ClosedLoop, locomotion_settings, worm_database
from braingo_core.body.gait import gait_metrics


def _floats(text):
    return [float(v) for v in text.split(",") if v.strip()]


def with_values(config, gain, vth, scale):
    """BodyConfig with the proprioceptive gain and the muscle sigmoid replaced."""
    sections = copy.deepcopy(config.sections)
    sections["proprioception"]["gain_pA_per_rad"] = gain
    sections["sigmoid"].update(v_th_mV=vth, scale_mV=scale)
    return dataclasses.replace(config, sections=sections)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-config", default=None, help="caterpillar.yaml (default: the package's)")
    parser.add_argument("--gain", type=_floats, default=None, help="proprioception gains (pA/rad)")
    parser.add_argument("--syn", type=_floats, default=None, help="synapse weight scales")
    parser.add_argument("--gap", type=_floats, default=None, help="gap-junction weight scales")
    parser.add_argument("--vth", type=_floats, default=None, help="muscle sigmoid thresholds (mV)")
    parser.add_argument("--scale", type=_floats, default=None, help="muscle sigmoid widths (mV)")
    parser.add_argument("--settle-s", type=float, default=1.0)
    parser.add_argument("--measure-s", type=float, default=6.0)
    parser.add_argument("--out", default=None, help="also write every result to this JSON file")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    base = load_config(opts.body_config)
    loco = locomotion_settings(base)
    grid = {
        "gain_pA_per_rad": opts.gain or [float(base.sections["proprioception"]["gain_pA_per_rad"])],
        "synapse_weight_scale": opts.syn or [loco["synapse_weight_scale"]],
        "gap_weight_scale": opts.gap or [loco["gap_weight_scale"]],
        "v_th_mV": opts.vth or [float(base.sections["sigmoid"]["v_th_mV"])],
        "scale_mV": opts.scale or [float(base.sections["sigmoid"]["scale_mV"])],
    }
    results = []
    for values in itertools.product(*grid.values()):
        point = dict(zip(grid, values))
        loop = ClosedLoop(database=worm_database(point["synapse_weight_scale"], point["gap_weight_scale"]),
                          body_config=with_values(base, point["gain_pA_per_rad"], point["v_th_mV"], point["scale_mV"]),
                          tonic=loco["forward_drive"])
        metrics = gait_metrics(loop.run(opts.settle_s + opts.measure_s), opts.settle_s)
        results.append({**point, **{k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}})
        print(json.dumps(results[-1]), flush=True)
    best = max(results, key=lambda r: r["speed_L_per_s"])
    print("# best forward speed %.4f L/s; record in config/caterpillar.yaml:" % best["speed_L_per_s"])
    print(f"#   proprioception.gain_pA_per_rad: {best['gain_pA_per_rad']}")
    print(f"#   locomotion.synapse_weight_scale: {best['synapse_weight_scale']}, "
          f"gap_weight_scale: {best['gap_weight_scale']}")
    print(f"#   sigmoid.v_th_mV: {best['v_th_mV']}, scale_mV: {best['scale_mV']}")
    if opts.out:
        with open(opts.out, "w", encoding="utf-8") as f:
            json.dump({"grid": grid, "results": results, "best": best}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
