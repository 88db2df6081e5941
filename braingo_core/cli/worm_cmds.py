"""`braingo load-worm`, `braingo load-csv` and `braingo query`: build databases from connectome sources and
ask connectivity questions (text tables or ``--json``)."""
import argparse
import json
from pathlib import Path

from braingo_core import query
from braingo_core.errors import LoaderError
from braingo_core.loaders.baaiworm import BAAIWormLoader, bundled_data_dir
from braingo_core.loaders.connectome_csv import ConnectomeLoader
from braingo_core.storage import BrainDB, BrainDBBuilder


def register(sub):
    p = sub.add_parser("load-worm", help="build a .braindb from a BAAIWorm-layout directory")
    p.add_argument("dir", nargs="?", help="directory with network/config.json (default: bundled data/celegans)")
    p.add_argument("--output", "-o", default="celegans.braindb", help="database to write (default celegans.braindb)")
    p.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    p.set_defaults(func=cmd_load_worm)

    p = sub.add_parser("load-csv", help="build a .braindb from a CSV or JSON edge list")
    p.add_argument("edges", help="edge list: .csv (pre_id,post_id,weight,delay_ms,syn_type,receptor_type) or .json")
    p.add_argument("--neurons", help="optional neuron table CSV (name,model,region,class,...)")
    p.add_argument("--output", "-o", required=True, help="database to write")
    p.add_argument("--model", default="lif", help="model of neurons created without a table (default lif)")
    p.add_argument("--dt", type=float, default=0.1, help="time step, ms (default 0.1)")
    p.set_defaults(func=cmd_load_csv)

    p = sub.add_parser("query", help="connectivity queries on a .braindb: braingo query QUERY FILE ...")
    q = p.add_subparsers(dest="query", required=True, metavar="QUERY")
    common = argparse.ArgumentParser(add_help=False)
    common.add_argument("file", help=".braindb file")
    common.add_argument("--json", action="store_true", help="print JSON instead of a text table")

    def query_parser(name, helptext):
        return q.add_parser(name, help=helptext, parents=[common])

    for name, helptext in (("downstream", "neurons reachable from NEURON"), ("upstream", "neurons reaching NEURON")):
        s = query_parser(name, helptext)
        s.add_argument("neuron", help="name or id")
        s.add_argument("--hops", type=int, default=1, help="maximum path length (default 1)")
        s.add_argument("--min-weight", type=float, default=0.0, help="ignore synapses with |weight| below this")
    s = query_parser("path", "shortest paths between two neurons")
    s.add_argument("source")
    s.add_argument("target")
    s.add_argument("--min-weight", type=float, default=0.0)
    s.add_argument("--max-hops", type=int, default=10)
    s = query_parser("pathway", "synapses from one group to another (class:X, region:X, name:PAT, A,B,...)")
    s.add_argument("source")
    s.add_argument("target")
    s = query_parser("matrix", "adjacency matrix between groups")
    s.add_argument("--by", choices=("class", "region"), default="class")
    s.add_argument("--value", choices=("weight", "count", "synapses"), default="weight")
    s = query_parser("degree", "in/out degree statistics and hubs")
    s.add_argument("--top", type=int, default=10)
    p.set_defaults(func=cmd_query)


def cmd_load_worm(args):
    directory = Path(args.dir) if args.dir else bundled_data_dir()
    BAAIWormLoader.load_from_dir(directory).into_braindb(args.output, dt_ms=args.dt)
    db = BrainDB(args.output)
    print(f"wrote {args.output}: {db.neuron_count()} neurons, {db.compartment_count()} compartments, "
          f"{db.synapse_count()} synapses, {db.gap_junction_count()} gap junctions (one per pair)")


def cmd_load_csv(args):
    b = BrainDBBuilder(dt_ms=args.dt)
    if args.edges.endswith(".json"):
        if args.neurons:
            raise LoaderError(f"{args.edges}: a JSON edge list carries its own 'neurons'; drop --neurons")
        summary = ConnectomeLoader.load_json(args.edges, b, default_model=args.model)
    else:
        summary = ConnectomeLoader.load_csv(args.edges, b, neurons=args.neurons, default_model=args.model)
    b.write(args.output)
    print(f"wrote {args.output}: {summary['neurons']} neurons, {summary['synapses']} synapses, "
          f"{summary['gap_junctions']} gap junctions")


def cmd_query(args):
    db = BrainDB(args.file)
    if args.query in ("downstream", "upstream"):
        fn = query.downstream if args.query == "downstream" else query.upstream
        result = fn(db, args.neuron, hops=args.hops, min_weight=args.min_weight)
        text = query.format_table(result, ["name", "id", "hops", "via"])
    elif args.query == "path":
        result = query.shortest_paths(db, args.source, args.target, min_weight=args.min_weight,
                                      max_hops=args.max_hops)
        text = "\n".join(" -> ".join(p) for p in result) or f"no path from {args.source} to {args.target}"
    elif args.query == "pathway":
        result = query.pathway(db, args.source, args.target)
        text = query.format_table([{"quantity": k, "value": v} for k, v in result.items()], ["quantity", "value"])
    elif args.query == "matrix":
        labels, mat = query.adjacency(db, by=args.by, value=args.value)
        result = {"labels": labels, "matrix": mat.tolist(), "value": args.value, "rows": "pre", "columns": "post"}
        text = query.format_table([{"pre \\ post": lab, **dict(zip(labels, row.tolist()))}
                                   for lab, row in zip(labels, mat)], ["pre \\ post", *labels])
    else:
        result = query.degree_stats(db, top=args.top)
        summary = [{"direction": d, **result[d]} for d in ("out", "in")]
        hubs = [{"rank": k + 1, "out": f"{o['name']} ({o['degree']})", "in": f"{i['name']} ({i['degree']})"}
                for k, (o, i) in enumerate(zip(result["top_out"], result["top_in"]))]
        text = (query.format_table(summary, ["direction", "mean", "median", "max", "zero"]) + "\n\n"
                + query.format_table(hubs, ["rank", "out", "in"]))
    print(json.dumps(result) if args.json else text)
