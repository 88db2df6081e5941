"""`braingo run`, `braingo snapshot`, `braingo load-snapshot`: simulate a .braindb from the command line."""
import time

import numpy as np

from braingo_core.cli.args import MAX_DURATION_MS, integer, number
from braingo_core.sim.config import MAX_SEED
from braingo_core.errors import SimulationError
from braingo_core.sim.backends import backend_names
from braingo_core.storage import BrainDB

#: Ticks per compiled call when running without a progress bar (Ctrl-C is handled between calls).
CHUNK_TICKS = 1000


def register(sub):
    p = sub.add_parser("run", help="simulate a .braindb and report spikes, voltage range and speed")
    p.add_argument("file", help=".braindb database")
    _common(p)
    p.add_argument("--stimulus", default="", help='constant currents, e.g. "0:30,AVBL:20" (neuron id or name: pA; '
                   'a neuron listed twice gets the sum)')
    p.add_argument("--stdp", action="store_true", help="enable STDP on plastic synapses")
    p.add_argument("--snapshot", metavar="SNAP", help="save the final state to SNAP")
    p.add_argument("--load", metavar="SNAP", help="start from a snapshot of this database")
    p.add_argument("--record", default="", help="neurons whose soma voltage is recorded, e.g. 0,5,AVAL")
    p.add_argument("--every", type=integer(1, 2 ** 31, "--every"), default=1,
                   help="record a voltage sample every K ticks")
    p.add_argument("--plot", metavar="PNG", help="write voltage traces and spike raster")
    p.add_argument("--npz", metavar="NPZ", help="write the recording (t_ms, v_mV, spikes)")
    p.add_argument("--lesion", default="", help="neurons to lesion, e.g. AVAL,AVAR")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_run)

    p = sub.add_parser("snapshot", help="simulate DB for -d ms and save the state")
    p.add_argument("file", help=".braindb database")
    _common(p)
    p.add_argument("--stimulus", default="", help='constant currents, e.g. "0:30,AVBL:20" (repeats are summed)')
    p.add_argument("--out", required=True, metavar="SNAP", help="snapshot file to write")
    p.set_defaults(func=cmd_snapshot)

    p = sub.add_parser("load-snapshot", help="restore a snapshot of DB, optionally run on, and report")
    p.add_argument("file", help=".braindb database")
    p.add_argument("snap", help="snapshot file")
    _common(p, duration_default=0.0)
    p.set_defaults(func=cmd_load_snapshot)


def _common(p, duration_default=100.0):
    p.add_argument("-d", "--duration", type=number(0.0, MAX_DURATION_MS, "--duration"), default=duration_default,
                   metavar="MS", help=f"simulated ms (0 .. {MAX_DURATION_MS:g})")
    p.add_argument("--model", choices=backend_names(), default=None,
                   help="simulation backend (default: each neuron type's own model)")
    p.add_argument("--seed", type=integer(0, MAX_SEED, "--seed"), default=0, help="seed of the Poisson drive")
    p.add_argument("--no-verify", action="store_true",
                   help="skip the checksums and record checks on open (only for a file you have verified)")
    p.add_argument("--threads", default="auto", help="'auto', 1 or 2+")


def _names(text):
    return [t.strip() for t in text.split(",") if t.strip()]


def _make(args, stdp=False):
    from braingo_core.sim import Simulation

    threads = args.threads if args.threads == "auto" else _int(args.threads, "--threads")
    db = BrainDB(args.file, verify=not args.no_verify)
    return Simulation(db, {"model": args.model, "seed": args.seed, "threads": threads, "stdp": stdp})


def _int(text, what):
    try:
        return int(text)
    except ValueError:
        raise SimulationError(f"{what}: {text!r} is not an integer") from None


def _stimulate(sim, spec):
    """Set the constant currents of ``spec``; a neuron named more than once gets the sum (as tonic_stimulus)."""
    from braingo_core.sim import parse_stimulus

    totals = {}
    for ref, pa in parse_stimulus(spec):
        i = int(sim.neuron_ids([ref])[0])
        totals[i] = totals.get(i, 0.0) + pa
    for i, pa in totals.items():
        sim.set_neuron_input(i, pa)


def _run(sim, ticks, progress=True):
    """Run ``ticks`` with an optional tqdm bar; returns wall seconds (JIT compile/cache load excluded).

    Without the bar the run still goes in chunks of at most :data:`CHUNK_TICKS`, so Ctrl-C (SIGINT) stops it
    between two chunks (exit 130) instead of waiting for one long compiled call.
    """
    print(f"kernels ready in {sim.warm_up():.2f} s (numba compile or cache load)")
    t0 = time.perf_counter()
    if progress and ticks:
        from tqdm import tqdm

        with tqdm(total=ticks, unit="tick", unit_scale=True, leave=False) as bar:
            sim.run(ticks, progress=bar.update, chunk=max(1, min(ticks // 100, 10_000)))
    else:
        sim.run(ticks, progress=lambda _k: None, chunk=CHUNK_TICKS)
    return time.perf_counter() - t0


def _report(sim, ticks, wall_s, spikes_before=0):
    v = sim.voltages_mV()
    sim_s = ticks * sim.dt_ms / 1000.0
    rtf = sim_s / wall_s if wall_s > 0 else float("inf")
    spikes = sim.n_spikes - spikes_before
    rate = spikes / max(sim.n_neurons, 1) / sim_s if sim_s > 0 else 0.0
    print(f"{sim.db.path}: {sim.n_neurons} neurons, model {sim.model or 'per type'}, "
          f"dt {sim.dt_ms} ms, tick {sim.tick}")
    print(f"simulated {ticks * sim.dt_ms:g} ms in {wall_s:.3f} s wall (real-time factor {rtf:.2f})")
    print(f"spikes: {spikes} ({rate:.2f} Hz mean)")
    if v.size:
        print(f"V range: {np.min(v):.2f} .. {np.max(v):.2f} mV (mean {np.mean(v):.2f})")


def cmd_run(args):
    sim = _make(args, stdp=args.stdp)
    if args.load:
        sim.load_snapshot(args.load)
    _stimulate(sim, args.stimulus)
    if args.lesion:
        sim.lesion(_names(args.lesion))
    rec = sim.record(_names(args.record), every=args.every) if (args.record or args.plot or args.npz) else None
    ticks = sim.ticks_for(args.duration)
    wall = _run(sim, ticks, progress=not args.no_progress)
    _report(sim, ticks, wall)
    if args.snapshot:
        sim.save_snapshot(args.snapshot)
        print(f"snapshot: {args.snapshot} (tick {sim.tick})")
    if rec is not None and args.npz:
        rec.save_npz(args.npz)
        print(f"recording: {args.npz}")
    if rec is not None and args.plot:
        rec.plot(args.plot, title=f"{sim.db.path} ({args.duration:g} ms)")
        print(f"plot: {args.plot}")


def cmd_snapshot(args):
    sim = _make(args)
    _stimulate(sim, args.stimulus)
    ticks = sim.ticks_for(args.duration)
    wall = _run(sim, ticks, progress=False)
    sim.save_snapshot(args.out)
    _report(sim, ticks, wall)
    print(f"snapshot: {args.out} (tick {sim.tick})")


def cmd_load_snapshot(args):
    sim = _make(args)
    sim.load_snapshot(args.snap)
    print(f"restored {args.snap}: tick {sim.tick} ({sim.time_ms:g} ms)")
    before = sim.n_spikes
    ticks = sim.ticks_for(args.duration)
    wall = _run(sim, ticks, progress=False)
    _report(sim, ticks, wall, spikes_before=before)
