"""Grid search of the few locomotion parameters on the ROS-free closed loop.

    python tools/tune_gait.py [--gain 300] [--coupling-gain 100,200] [--adapt-tau 0.3] [--gate-v-half -40]
                              [--syn 0.1] [--gap 20] [--vth -40] [--a-vth -35] [--scale 5]
                              [--conditions forward,backward,idle] [--settle-s 2] [--measure-s 6] [--out tune.json]

Parameters searched (every combination of the comma-separated values; unset ones keep the value of
config/caterpillar.yaml): proprioception gain_pA_per_rad (own-segment adapting receptor),
coupling_gain_pA_per_rad, adaptation_tau_s, the command gate's v_half_mV, locomotion synapse_weight_scale /
gap_weight_scale, the muscle sigmoid v_th_mV / scale_mV and the A-class threshold (``class_v_th_mV`` of DA
and VA). Each point runs every condition (forward, backward, idle: the drives of the config's
``locomotion`` section) for settle + measure seconds and prints one JSON line with the speed, wave
frequency, lag and alternation per condition. The best point is the one whose idle speed stays under
0.02 L/s with the largest forward speed (with both forward and backward: the largest of the smaller of
the forward and the backward speed); its values are printed as the YAML to record in
config/caterpillar.yaml (the file is not edited).
"""
import argparse
import copy
import dataclasses
import itertools
import json
import logging
import sys

from braingo_core.body import load_config
from braingo_core.body.closed_loop import ClosedLoop, locomotion_settings
from braingo_core.body.command_gate import gate_from_config
from braingo_core.body.gait import gait_metrics

AXES = ("gain_pA_per_rad", "coupling_gain_pA_per_rad", "adaptation_tau_s", "gate_v_half_mV",
        "synapse_weight_scale", "gap_weight_scale", "v_th_mV", "a_v_th_mV", "scale_mV")


def _floats(text):
    return [float(v) for v in text.split(",") if v.strip()]


def with_values(config, point):
    """BodyConfig with the proprioceptive gains, adaptation, gate and muscle sigmoid of ``point``."""
    sections = copy.deepcopy(config.sections)
    proprio = sections["proprioception"]
    for key in ("gain_pA_per_rad", "coupling_gain_pA_per_rad", "adaptation_tau_s"):
        proprio[key] = point[key]
    proprio.setdefault("command_gate", {})["v_half_mV"] = point["gate_v_half_mV"]
    sections["sigmoid"].update(v_th_mV=point["v_th_mV"], scale_mV=point["scale_mV"],
                               class_v_th_mV={**(sections["sigmoid"].get("class_v_th_mV") or {}),
                                              "DA": point["a_v_th_mV"], "VA": point["a_v_th_mV"]})
    return dataclasses.replace(config, sections=sections)


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--body-config", default=None, help="caterpillar.yaml (default: the package's)")
    parser.add_argument("--gain", type=_floats, default=None, help="own-segment receptor gains (pA/rad)")
    parser.add_argument("--coupling-gain", type=_floats, default=None, help="coupling gains (pA/rad)")
    parser.add_argument("--adapt-tau", type=_floats, default=None, help="receptor adaptation time constants (s)")
    parser.add_argument("--gate-v-half", type=_floats, default=None, help="command gate half voltages (mV)")
    parser.add_argument("--syn", type=_floats, default=None, help="synapse weight scales")
    parser.add_argument("--gap", type=_floats, default=None, help="gap-junction weight scales")
    parser.add_argument("--vth", type=_floats, default=None, help="muscle sigmoid thresholds (mV)")
    parser.add_argument("--a-vth", type=_floats, default=None, help="A-class muscle thresholds (mV)")
    parser.add_argument("--scale", type=_floats, default=None, help="muscle sigmoid widths (mV)")
    parser.add_argument("--conditions", default="forward,idle", help="forward, backward, idle (comma-separated)")
    parser.add_argument("--settle-s", type=float, default=2.0)
    parser.add_argument("--measure-s", type=float, default=6.0)
    parser.add_argument("--out", default=None, help="also write every result to this JSON file")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    base = load_config(opts.body_config)
    loco = locomotion_settings(base)
    proprio, sigmoid = base.sections["proprioception"], base.sections["sigmoid"]
    _commands, gate = gate_from_config(base, ())
    drives = {"forward": loco["forward_drive"], "backward": loco["backward_drive"], "idle": []}
    conditions = [c for c in opts.conditions.split(",") if c]
    if unknown := sorted(set(conditions) - set(drives)):
        parser.error(f"unknown condition(s) {unknown}; known: {sorted(drives)}")
    grid = {
        "gain_pA_per_rad": opts.gain or [float(proprio["gain_pA_per_rad"])],
        "coupling_gain_pA_per_rad": opts.coupling_gain or [float(proprio.get("coupling_gain_pA_per_rad", 0.0))],
        "adaptation_tau_s": opts.adapt_tau or [float(proprio.get("adaptation_tau_s", 0.0))],
        "gate_v_half_mV": opts.gate_v_half or [gate.v_half_mV],
        "synapse_weight_scale": opts.syn or [loco["synapse_weight_scale"]],
        "gap_weight_scale": opts.gap or [loco["gap_weight_scale"]],
        "v_th_mV": opts.vth or [float(sigmoid["v_th_mV"])],
        "a_v_th_mV": opts.a_vth or [float((sigmoid.get("class_v_th_mV") or {}).get("DA", sigmoid["v_th_mV"]))],
        "scale_mV": opts.scale or [float(sigmoid["scale_mV"])],
    }
    results = []
    for values in itertools.product(*(grid[k] for k in AXES)):
        point = dict(zip(AXES, values))
        loop = ClosedLoop(body_config=with_values(base, point), synapse_weight_scale=point["synapse_weight_scale"],
                          gap_weight_scale=point["gap_weight_scale"])
        row = dict(point)
        for name in conditions:
            loop.set_tonic(drives[name])
            loop.reset()
            metrics = gait_metrics(loop.run(opts.settle_s + opts.measure_s), opts.settle_s)
            row[name] = {k: round(v, 4) if isinstance(v, float) else v for k, v in metrics.items()}
        results.append(row)
        print(json.dumps(row), flush=True)
    eligible = [r for r in results if "idle" not in r or abs(r["idle"]["speed_L_per_s"]) < 0.02] or results
    if "forward" in conditions:
        both = "backward" in conditions
        best = max(eligible, key=lambda r: min(r["forward"]["speed_L_per_s"], -r["backward"]["speed_L_per_s"])
                   if both else r["forward"]["speed_L_per_s"])
        print(f"# best forward speed {best['forward']['speed_L_per_s']:.4f} L/s"
              + (f", backward {-best['backward']['speed_L_per_s']:.4f} L/s" if both else "")
              + "; record in config/caterpillar.yaml:")
        for key in AXES:
            print(f"#   {key}: {best[key]}")
    if opts.out:
        with open(opts.out, "w", encoding="utf-8") as f:
            json.dump({"grid": grid, "results": results}, f, indent=2)
    return 0


if __name__ == "__main__":
    sys.exit(main())
