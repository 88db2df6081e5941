"""`braingo` command line: one sub-command module per concern, each with ``register(subparsers)``.

Known errors (:class:`braingo_core.errors.BrainGoError`, ``OSError``) and out-of-range arguments become
one stderr line (argparse adds its usage line) and exit code 2; no traceback. Ctrl-C exits with 130.
"""
import argparse
import importlib
import sys

from braingo_core.errors import BrainGoError

#: Sub-command modules; each defines ``register(subparsers)`` and sets ``func`` on its parsers.
COMMAND_MODULES = (
    "braingo_core.cli.storage_cmds",
    "braingo_core.cli.sim_cmds",
    "braingo_core.cli.worm_cmds",
    "braingo_core.cli.clamp_cmd",
    "braingo_core.cli.fit_cmds",
    "braingo_core.cli.fly_cmds",
)


def build_parser():
    parser = argparse.ArgumentParser(prog="braingo", description="BrainGo brain-simulation database tools")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv=None):
    parser = build_parser()
    try:
        args = parser.parse_args(argv)
    except SystemExit as exc:          # a usage error (or --help): argparse printed it; return its status
        return exc.code
    try:
        return args.func(args) or 0
    except (BrainGoError, OSError) as exc:
        print(f"braingo {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"braingo {args.command}: interrupted", file=sys.stderr)
        return 130
