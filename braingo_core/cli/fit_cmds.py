"""`braingo fit`: fit a worm database's weights to a recording and write the fitted .braindb."""
from braingo_core.errors import SimulationError


def register(sub):
    p = sub.add_parser("fit", help="fit synapse/gap weights to a recorded correlation matrix (needs the [fit] extra)")
    p.add_argument("file", help=".braindb database to start from")
    p.add_argument("--target", required=True, metavar="DIR_OR_FILE",
                   help="recording: a cb2022_data directory (or BAAIWorm eworm/), or a .csv/.npz of traces or "
                        "correlations")
    p.add_argument("--out", required=True, metavar="BRAINDB", help="fitted database to write (atomic)")
    p.add_argument("--epochs", type=int, default=None, help="optimiser steps (default 150)")
    p.add_argument("--holdout-neurons", type=int, default=0, metavar="K", help="recorded neurons kept out of the loss")
    p.add_argument("--seed", type=int, default=0, help="seed of the held-out choice")
    p.add_argument("--duration-s", type=float, default=None,
                   help="simulated seconds per epoch after the warm-up (default 60, the recording's timescale)")
    p.add_argument("--frame-s", type=float, default=None, help="frame interval (s) if the target does not state it")
    p.add_argument("--plot", metavar="PNG", help="write recorded vs simulated matrices and the loss curve")
    p.add_argument("--no-progress", action="store_true", help="no progress bar")
    p.set_defaults(func=cmd_fit)


def cmd_fit(args):
    try:
        from braingo_core.fit import fit, load_target
        from braingo_core.fit.protocol import Protocol
        from braingo_core.fit.train import DEFAULT_EPOCHS
    except ImportError as exc:
        raise SimulationError(f"braingo fit needs the [fit] extra (pip install -e \".[fit]\"): {exc}") from None
    from braingo_core.storage import BrainDB
    from braingo_core.storage.atomic import check_writable

    check_writable(args.out)
    for path in (args.plot,) if args.plot else ():
        check_writable(path)
    db = BrainDB(args.file)
    target = load_target(args.target, db, frame_s=args.frame_s)
    if target.unknown:
        print(f"target: {len(target.unknown)} name(s) not in {args.file}, ignored: {', '.join(target.unknown)}")
    print(f"target: {len(target.names)} neurons, frame {target.frame_s:.4g} s, sha256 {target.sha256[:16]}")
    epochs = DEFAULT_EPOCHS if args.epochs is None else args.epochs
    protocol = Protocol() if args.duration_s is None else Protocol(duration_s=args.duration_s)
    result = fit(db, target, epochs=epochs, holdout_neurons=args.holdout_neurons, seed=args.seed,
                 protocol=protocol, progress=not args.no_progress)
    result.write(db, args.out)
    h = result.loss_history
    loss = f"loss {h[0]:.4f} -> {min(h):.4f}" if h else "no epochs"
    print(f"wrote {args.out}: {result.n_params} parameters, {loss}, r_train {result.r_train:.3f}, "
          f"r_heldout {result.r_heldout:.3f} (twin), {result.fit_s:.1f} s")
    if result.heldout_neurons:
        print(f"held out: {', '.join(result.heldout_neurons)}")
    if args.plot:
        result.plot(args.plot)
        print(f"plot: {args.plot}")
