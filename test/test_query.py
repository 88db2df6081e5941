"""Connectivity queries: BFS with hops and weight thresholds, shortest paths, group pathways, adjacency,
degrees, on a hand-made network and on the worm; `braingo query` text and JSON output."""
import json

import numpy as np
import pytest

from braingo_core import query
from braingo_core.cli import main as cli_main
from braingo_core.errors import BrainGoError
from braingo_core.loaders.baaiworm import bundled_database
from braingo_core.storage import BrainDB, BrainDBBuilder


@pytest.fixture(scope="module")
def net(tmp_path_factory):
    """A -> B -> D, A -> C -> D (weak A->C), D -> E, F isolated; classes s/i/i/m/m/m, regions head/tail."""
    b = BrainDBBuilder()
    t = b.add_neuron_type("lif", model="lif")
    head, tail = b.add_region("head"), b.add_region("tail")
    b.add_receptor("exc", kind="conductance")
    b.add_neurons(3, neuron_type=t, names=["A", "B", "C"], region=head)
    b.add_neurons(3, neuron_type=t, names=["D", "E", "F"], region=tail)
    b.add_synapses(["A", "A", "B", "C", "D", "D"], ["B", "C", "D", "D", "E", "E"], [2.0, 0.5, 2.0, 2.0, 1.0, 3.0],
                   count=[1, 1, 2, 3, 4, 5])
    b.metadata["neuron_classes"] = ["sensory", "inter", "inter", "motor", "motor", "motor"]
    return BrainDB(b.write(tmp_path_factory.mktemp("q") / "net.braindb"))


def test_downstream_hops_and_threshold(net):
    one = query.downstream(net, "A")
    assert [(r["name"], r["hops"]) for r in one] == [("B", 1), ("C", 1)]
    three = query.downstream(net, 0, hops=3)
    assert [(r["name"], r["hops"], r["via"]) for r in three] == [("B", 1, "A"), ("C", 1, "A"), ("D", 2, "B"),
                                                                 ("E", 3, "D")]
    assert [r["name"] for r in query.downstream(net, "A", hops=3, min_weight=1.0)] == ["B", "D", "E"]
    assert query.downstream(net, "F", hops=5) == []
    with pytest.raises(BrainGoError, match="hops must be >= 1"):
        query.downstream(net, "A", hops=0)


def test_upstream(net):
    assert [(r["name"], r["hops"]) for r in query.upstream(net, "E", hops=3)] == [("D", 1), ("B", 2), ("C", 2),
                                                                                  ("A", 3)]
    assert [r["name"] for r in query.upstream(net, "D", min_weight=2.0)] == ["B", "C"]


def test_shortest_paths(net):
    assert query.shortest_paths(net, "A", "E") == [["A", "B", "D", "E"], ["A", "C", "D", "E"]]
    assert query.shortest_paths(net, "A", "E", min_weight=1.0) == [["A", "B", "D", "E"]]
    assert query.shortest_paths(net, "E", "A") == []
    with pytest.raises(BrainGoError, match="unknown neuron 'Z'"):
        query.shortest_paths(net, "A", "Z")


def test_pathway_and_groups(net):
    p = query.pathway(net, "region:head", "region:tail")
    assert (p["synapses"], p["contacts"], p["total_weight"], p["pre_neurons"], p["post_neurons"]) == (2, 5, 4.0, 2, 1)
    assert p["mean_weight"] == 2.0
    assert query.pathway(net, "class:motor", "name:E")["synapses"] == 2
    assert list(query.select(net, "A,C")) == [0, 2]
    with pytest.raises(BrainGoError, match="no neuron matches"):
        query.select(net, "name:X*")
    with pytest.raises(BrainGoError, match="unknown region"):
        query.select(net, "region:gut")


def test_adjacency_and_degree(net):
    labels, m = query.adjacency(net, by="class", value="weight")
    assert labels == ["inter", "motor", "sensory"]
    assert m[labels.index("sensory"), labels.index("inter")] == 2.5
    assert m[labels.index("motor"), labels.index("motor")] == 4.0
    _, m = query.adjacency(net, by="region", value="synapses")
    assert m.tolist() == [[2.0, 2.0], [0.0, 2.0]]
    d = query.degree_stats(net, top=2)
    assert d["out"]["max"] == 2 and d["in"]["zero"] == 2 and d["top_in"][0]["name"] == "D"


def test_worm_queries(tmp_path):
    db = BrainDB(bundled_database(tmp_path))
    assert query.shortest_paths(db, "AWCL", "AVAL") == [["AWCL", "AVAL"]]
    down = query.downstream(db, "AVAL", hops=1)
    assert len(down) == len(np.unique(db.out_synapses(db.neuron_id("AVAL"))["post_neuron"]))
    p = query.pathway(db, "class:sensory", "class:motor")
    assert p["synapses"] == 262 and p["source_size"] == 83
    labels, m = query.adjacency(db, value="count")
    assert m.sum() == 20965


def test_cli_query(net, capsys):
    assert cli_main(["query", "downstream", str(net.path), "A", "--hops", "2"]) == 0
    text = capsys.readouterr().out
    assert text.splitlines()[0].split() == ["name", "id", "hops", "via"] and "D     3   2     B" in text
    assert cli_main(["query", "path", str(net.path), "A", "E", "--json"]) == 0
    assert json.loads(capsys.readouterr().out) == [["A", "B", "D", "E"], ["A", "C", "D", "E"]]
    assert cli_main(["query", "matrix", "--json", str(net.path), "--by", "region"]) == 0
    assert json.loads(capsys.readouterr().out)["labels"] == ["head", "tail"]
    assert cli_main(["query", "pathway", str(net.path), "class:sensory", "class:inter"]) == 0
    assert "synapses      2" in capsys.readouterr().out
    assert cli_main(["query", "degree", str(net.path)]) == 0
    assert cli_main(["query", "upstream", str(net.path), "Q"]) == 2
