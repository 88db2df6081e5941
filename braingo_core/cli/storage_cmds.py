"""`braingo build`, `braingo info`, `braingo verify`: create, describe and check .braindb files."""
import math
import os

import numpy as np

from braingo_core.cli.args import integer, number
from braingo_core.sim.config import MAX_SEED
from braingo_core.errors import BuilderError
from braingo_core.models import NEURON_MODELS, MODEL_BY_CODE
from braingo_core.storage import BrainDB, BrainDBBuilder, load_snapshot
from braingo_core.storage import format as fmt

#: Segment record counts are uint32: the most synapses one file holds.
MAX_SYNAPSES = 2 ** 32 - 1
#: Peak build memory per synapse (B): sampled ids, pre/post/weight/delay arrays, the records, the sort.
BUILD_BYTES_PER_SYNAPSE = 200


def register(sub):
    p = sub.add_parser("build", help="build a random network .braindb")
    p.add_argument("output", help="path of the .braindb to write")
    p.add_argument("--neurons", type=integer(1, 2 ** 32 - 1, "--neurons"), default=None,
                   help="number of neurons (default 1000; --like flywire: 138,639)")
    p.add_argument("--p-connect", type=number(0.0, 1.0, "--p-connect"), default=0.02,
                   help="connection probability (default 0.02)")
    p.add_argument("--model", default="lif", choices=sorted(NEURON_MODELS), help="neuron model (default lif)")
    p.add_argument("--weight", type=number(-1e30, 1e30, "--weight"), default=50.0,
                   help="synaptic weight, pA (default 50)")
    p.add_argument("--delay-ms", type=number(0.0, 1e7, "--delay-ms"), default=1.5,
                   help="synaptic delay (default 1.5 ms; at most 65535 ticks)")
    p.add_argument("--dt", type=number(fmt.DT_MIN_MS, fmt.DT_MAX_MS, "--dt"), default=0.1,
                   help=f"time step, ms (default 0.1; {fmt.DT_MIN_MS:g} .. {fmt.DT_MAX_MS:g})")
    p.add_argument("--seed", type=integer(0, MAX_SEED, "--seed"), default=0, help="seed of the random network")
    p.add_argument("--like", choices=("flywire",), help="a seeded network with FlyWire v783's statistics (Shiu "
                   "model; --neurons/--edges scale it, default full size)")
    p.add_argument("--edges", type=integer(0, MAX_SYNAPSES, "--edges"),
                   help="--like flywire: number of connections (default 109 per neuron)")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("info", help="describe a .braindb")
    p.add_argument("file")
    p.add_argument("--no-verify", action="store_true", help="skip the checksums and record checks")
    p.set_defaults(func=cmd_info)

    p = sub.add_parser("verify", help="check every checksum of a .braindb (and a snapshot of it)")
    p.add_argument("file")
    p.add_argument("snapshot", nargs="?")
    p.set_defaults(func=cmd_verify)


def build_random(output, neurons, p_connect, model="lif", weight_pA=50.0, delay_ms=1.5, dt_ms=0.1, seed=0):
    """Write an Erdős–Rényi network of ``neurons`` point neurons (current synapses) to ``output``."""
    if neurons <= 0 or not 0 <= p_connect <= 1:
        raise BuilderError(f"--neurons must be > 0 and --p-connect in [0, 1] (got {neurons}, {p_connect})")
    check_build_memory(neurons, p_connect)
    rng = np.random.default_rng(seed)
    b = BrainDBBuilder(dt_ms=dt_ms)
    tid = b.add_neuron_type(model, model=model)
    rec = b.add_receptor("exc", kind="current", tau_decay_ms=5.0)
    b.add_neurons(neurons, neuron_type=tid, pos_um=rng.uniform(0, 1000, (neurons, 3)))
    n_syn = rng.binomial(neurons * neurons, p_connect)
    flat = rng.choice(neurons * neurons, size=n_syn, replace=False) if n_syn else np.zeros(0, np.int64)
    flat.sort()
    b.add_synapses(flat // neurons, flat % neurons, np.full(n_syn, weight_pA), np.full(n_syn, delay_ms), receptor=rec)
    b.metadata["provenance"] = {"generator": "braingo build", "p_connect": p_connect, "seed": seed}
    return b.write(output)


def available_memory_bytes():
    """MemAvailable of /proc/meminfo (bytes), or physical memory where that file is absent."""
    try:
        with open("/proc/meminfo") as f:
            for line in f:
                if line.startswith("MemAvailable:"):
                    return int(line.split()[1]) * 1024
    except OSError:
        pass
    return os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES")


def check_build_memory(neurons, p_connect):
    """Refuse (BuilderError) a random network whose synapses cannot be stored or would not fit in memory.

    The estimate: expected synapses n^2 p (plus 6 standard deviations) times :data:`BUILD_BYTES_PER_SYNAPSE`.
    """
    mean = float(neurons) ** 2 * p_connect
    n_syn = mean + 6 * math.sqrt(mean * (1 - p_connect)) if mean else 0.0
    if n_syn > MAX_SYNAPSES:
        raise BuilderError(f"--neurons {neurons} --p-connect {p_connect:g}: about {mean:.3g} synapses, the format "
                           f"holds at most {MAX_SYNAPSES}")
    need = n_syn * BUILD_BYTES_PER_SYNAPSE + neurons * 200
    have = available_memory_bytes()
    if need > have:
        raise BuilderError(f"--neurons {neurons} --p-connect {p_connect:g}: about {mean:.3g} synapses need "
                           f"~{need / 2 ** 30:.1f} GiB to build, {have / 2 ** 30:.1f} GiB are available")


def cmd_build(args):
    if args.like == "flywire":
        from braingo_core.loaders.flywire_like import build_like_flywire, like_size

        build_like_flywire(args.output, *like_size(args), seed=args.seed)
    else:
        n = 1000 if args.neurons is None else args.neurons
        build_random(args.output, n, args.p_connect, args.model, args.weight, args.delay_ms, args.dt, args.seed)
    db = BrainDB(args.output)
    print(f"wrote {args.output}: {db.neuron_count()} neurons, {db.synapse_count()} synapses")


def describe(db):
    """Lines of text describing ``db`` (used by `braingo info`)."""
    meta = db.metadata
    types = [f"{name} ({MODEL_BY_CODE[int(t['model'])].name})"
             for name, t in zip(meta.get("neuron_type_names", []), db.neuron_types)]
    lines = [
        f"File:          {db.path}",
        f"Version:       {db.version}",
        f"Size:          {os.path.getsize(db.path):,} bytes",
        f"dt:            {db.dt_ms} ms (ring {db.ring_size} ticks)",
        f"Neurons:       {db.neuron_count()}",
        f"Compartments:  {db.compartment_count()}",
        f"Synapses:      {db.synapse_count()}",
        f"Gap junctions: {db.gap_junction_count()} (records; each couples both ways)",
        f"Regions:       {len(db.regions)} {meta.get('region_names', [])[:8]}",
        f"Neuron types:  {len(db.neuron_types)} {types[:8]}",
        f"Receptors:     {len(db.receptors)} {meta.get('receptor_names', [])[:8]}",
    ]
    if meta.get("neuron_classes"):
        classes, counts = np.unique(meta["neuron_classes"], return_counts=True)
        lines.append("Classes:       " + ", ".join(f"{c} {n}" for c, n in zip(classes, counts)))
    return lines


def cmd_info(args):
    print("\n".join(describe(BrainDB(args.file, verify=not args.no_verify))))


def cmd_verify(args):
    db = BrainDB(args.file)
    db.verify()
    print(f"{args.file}: OK ({db.fingerprint[:16]})")
    if args.snapshot:
        snap = load_snapshot(args.snapshot, db)
        print(f"{args.snapshot}: OK (tick {snap.tick}, {len(snap.arrays)} arrays)")
