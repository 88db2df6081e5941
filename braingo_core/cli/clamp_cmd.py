"""`braingo clamp`: current-clamp steps of one C. elegans cell (spec §6 reference protocol) -> .npz."""
import logging
import re

from braingo_core.errors import SimulationError

log = logging.getLogger(__name__)


def _amps(text):
    try:
        return [float(a) for a in text.split(",") if a.strip()]
    except ValueError:
        raise SimulationError(f"--amps: expected comma-separated numbers (pA), got {text!r}") from None


def run(args):
    from braingo_core.sim.celegans.clamp import plot_traces, run_clamp, save_npz
    from braingo_core.sim.celegans.params import load_cell_json

    cell = load_cell_json(args.cell)
    result = run_clamp([cell], _amps(args.amps), dt_ms=args.dt, hold_ms=args.hold_ms, step_ms=args.step_ms,
                       post_ms=args.post_ms, record_ms=args.record_ms)
    save_npz(args.out, cell, result, args.dt)
    if args.plot:
        plot_traces(args.plot, cell, result)
    v = result["V"][0]
    print(f"{cell.name}: {len(result['amplitudes'])} amplitudes, {v.shape[1]} samples -> {args.out}; "
          f"final soma V (mV): " + ", ".join(f"{a:g} pA: {x:.2f}" for a, x in zip(result["amplitudes"], v[:, -1])))
    return 0


def register(subparsers):
    p = subparsers.add_parser("clamp", help="current-clamp steps of a C. elegans cell JSON (NEURON-comparable .npz)",
                              description="Run the reference 2-compartment cell (or the cell's own "
                                          "'compartments') through hold / step / post current clamp; each "
                                          "amplitude from a fresh start at v_init = soma epas.")
    # Let "--amps -15,-5,5" parse: argparse only treats plain negative numbers as values, not lists.
    p._negative_number_matcher = re.compile(r"^-\d[\d.eE,+-]*$")
    p.add_argument("cell", help="cell parameter JSON (BAAIWorm components/param/cell/<NAME>.json layout)")
    p.add_argument("--amps", default="-15,-5,5,15,25,35", help="step amplitudes, pA, comma-separated")
    p.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    p.add_argument("--hold-ms", type=float, default=500.0, help="time before the step, ms")
    p.add_argument("--step-ms", type=float, default=1000.0, help="step duration, ms")
    p.add_argument("--post-ms", type=float, default=500.0, help="time after the step, ms")
    p.add_argument("--record-ms", type=float, default=0.1, help="sampling interval, ms (multiple of --dt)")
    p.add_argument("--out", required=True, help="output .npz (t, amplitudes, V, cai, ...)")
    p.add_argument("--plot", help="optional PNG of the voltage traces")
    p.set_defaults(func=run)
