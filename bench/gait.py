"""Gait across media: one network, one set of neural and proprioceptive parameters, only the drag changes.

    python bench/gait.py [--settle-s 2] [--measure-s 8] [--media agar,water] [--model graded] [--figures DIR]

For each preset of the body config's ``media`` section (lightest load first; ``--media`` picks some), the
ROS-free closed loop crawls from rest under the ``locomotion.forward_drive``; the first ``settle_s`` are left
out. Prints one JSON line: ``media`` -> per preset ``c_t``, ``c_n`` (robot drag, N s/m^2), ``wave_hz``,
``wavelength_L``, ``speed_L_per_s``, ``curvature_amplitude_L`` (mean over the body of the peak |curvature| x
body length), ``bending_fraction`` (of the body with a peak |kappa L| >= 4), ``v_min_mV`` / ``v_max_mV``
(motor-neuron soma voltage extremes), ``curvature_profile_L`` (per joint, head first), ``amplitude_rad``;
and ``targets``: each target of the gait issue, true or false, as measured here (agar: 0.25-0.6 Hz,
0.5-0.8 L, 0.1-0.25 L/s, kappa L >= 4 over >= 80 % of the body; water: 1.4-2.2 Hz, 1.2-1.8 L; frequency and
wavelength falling with load; motor neurons within -75..-10 mV). ``--figures`` writes
``curvature_kymographs.png`` (agar and water side by side) and ``gait_vs_load.png`` (frequency and
wavelength against the medium's c_n, with the animal's ranges).
"""
import argparse
import json
import logging
import os
import sys
import time

from braingo_core.body.closed_loop import ClosedLoop, locomotion_settings
from braingo_core.body.description import load_config
from braingo_core.body.gait import gait_metrics, plot_curvature_kymographs
from braingo_core.body.media import media_by_load, medium_drag

KEYS = ("wave_hz", "wavelength_L", "speed_L_per_s", "curvature_amplitude_L", "bending_fraction", "v_min_mV",
        "v_max_mV", "amplitude_rad", "curvature_profile_L")
#: The animal's gait (the issue's targets): agar after Fang-Yen et al. 2010 and Boyle et al. 2012 crawling
#: records, water after Fang-Yen et al. 2010 swimming.
REFERENCE = {"agar": {"wave_hz": (0.25, 0.6), "wavelength_L": (0.5, 0.8), "speed_L_per_s": (0.1, 0.25)},
             "water": {"wave_hz": (1.4, 2.2), "wavelength_L": (1.2, 1.8)}}
MOTOR_RANGE_mV = (-75.0, -10.0)


def _within(value, bounds):
    return value is not None and bounds[0] <= value <= bounds[1]


def _falling(values):
    return all(v is not None for v in values) and all(a > b for a, b in zip(values, values[1:]))


def targets(results):
    """Each target of the gait issue as measured: name -> bool (media missing from ``results`` are skipped)."""
    out = {}
    for medium, ref in REFERENCE.items():
        if medium in results:
            out.update({f"{medium}_{k}": _within(results[medium][k], b) for k, b in ref.items()})
    if "agar" in results:
        agar = results["agar"]
        out["agar_bending"] = agar["curvature_amplitude_L"] >= 4.0 and agar["bending_fraction"] >= 0.8
    order = list(results)
    if len(order) >= 5:
        out["frequency_falls_with_load"] = _falling([results[m]["wave_hz"] for m in order])
        out["wavelength_falls_with_load"] = _falling([results[m]["wavelength_L"] for m in order])
    out["motor_voltages_in_range"] = all(MOTOR_RANGE_mV[0] <= r["v_min_mV"] and r["v_max_mV"] <= MOTOR_RANGE_mV[1]
                                         for r in results.values())
    return out


def plot_vs_load(config, results, path):
    """Frequency and wavelength against the medium's c_n (worm units), with the animal's ranges."""
    from matplotlib.figure import Figure

    names = list(results)
    load = [config.media[m].worm_c_n for m in names]
    fig = Figure(figsize=(10, 4))
    for ax, key, label in zip(fig.subplots(1, 2), ("wave_hz", "wavelength_L"),
                              ("frequency (Hz)", "wavelength (body lengths)")):
        ax.plot(load, [results[m][key] if results[m][key] is not None else float("nan") for m in names],
                "o-", label="caterpillar (one network)")
        for medium, ref in REFERENCE.items():
            if medium in config.media and key in ref:
                c = config.media[medium].worm_c_n
                ax.fill_between([c / 2, c * 2], *ref[key], alpha=0.25, label=f"C. elegans, {medium}")
        ax.set_xscale("log")
        ax.set_xlabel("medium c_n (kg m^-1 s^-1, worm units)")
        ax.set_ylabel(label)
        ax.legend(fontsize=8)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    return path


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--settle-s", type=float, default=2.0, help="discarded sim time per medium (s)")
    parser.add_argument("--measure-s", type=float, default=8.0, help="measured sim time per medium (s)")
    parser.add_argument("--media", default=None, help="comma-separated presets (default: all, by load)")
    parser.add_argument("--model", default="graded", help="brain neuron model")
    parser.add_argument("--body-config", default=None, help="caterpillar.yaml (default: the package's)")
    parser.add_argument("--figures", default=None, help="folder for the kymograph and load PNGs")
    opts = parser.parse_args(argv)
    logging.basicConfig(level=logging.WARNING)
    config = load_config(opts.body_config)
    names = media_by_load(config)
    if opts.media:
        chosen = [m.strip() for m in opts.media.split(",")]
        for m in chosen:
            medium_drag(config.media, m, config.path)   # BodyError listing the valid presets
        names = [m for m in names if m in chosen]
    drive = locomotion_settings(config)["forward_drive"]
    started = time.perf_counter()
    results, traces = {}, {}
    for name in names:
        loop = ClosedLoop(body_config=config, model=opts.model, tonic=drive, medium=name)
        traces[name] = loop.run(opts.settle_s + opts.measure_s)
        m = gait_metrics(traces[name], opts.settle_s)
        results[name] = {"c_t": loop.config.drag_c_t, "c_n": loop.config.drag_c_n,
                         **{k: round(m[k], 4) if isinstance(m[k], float) else m[k] for k in KEYS}}
    if opts.figures:
        os.makedirs(opts.figures, exist_ok=True)
        shown = {m: traces[m] for m in ("agar", "water") if m in traces}
        if shown:
            plot_curvature_kymographs(shown, os.path.join(opts.figures, "curvature_kymographs.png"), opts.settle_s)
        plot_vs_load(config, results, os.path.join(opts.figures, "gait_vs_load.png"))
    print(json.dumps({"bench": "gait", "model": opts.model, "settle_s": opts.settle_s, "measure_s": opts.measure_s,
                      "drive": drive, "media": results, "targets": targets(results),
                      "wall_s": round(time.perf_counter() - started, 1)}))
    return 0


if __name__ == "__main__":
    sys.exit(main())
