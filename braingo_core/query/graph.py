"""Reachability on the memory-mapped CSR: downstream/upstream BFS with hop counts, shortest paths, degrees."""
import numpy as np

from braingo_core.errors import BrainGoError


def _edges_out(db, i, min_weight):
    """Post ids of neuron ``i``'s outgoing synapses with |weight| >= min_weight (one CSR row)."""
    lo, hi = int(db.row_ptr[i]), int(db.row_ptr[i + 1])
    if lo == hi:
        return np.zeros(0, np.int64)
    post = np.asarray(db.col_idx[lo:hi], np.int64)
    if min_weight > 0:
        post = post[np.abs(db.synapses["base_weight"][lo:hi]) >= min_weight]
    return post


def _edges_in(db, i, min_weight):
    idx = db.in_synapses(i)
    if len(idx) == 0:
        return np.zeros(0, np.int64)
    pre = np.asarray(db.synapses["pre_neuron"][idx], np.int64)
    if min_weight > 0:
        pre = pre[np.abs(db.synapses["base_weight"][idx]) >= min_weight]
    return pre


def _bfs(db, source, hops, min_weight, step):
    if hops < 1:
        raise BrainGoError(f"hops must be >= 1, got {hops}")
    if min_weight < 0:
        raise BrainGoError(f"min_weight must be >= 0, got {min_weight}")
    src = db.neuron_id(source)
    dist = {src: 0}
    parent = {}
    frontier = [src]
    for h in range(1, hops + 1):
        nxt = []
        for i in frontier:
            for j in np.unique(step(db, i, min_weight)).tolist():
                if j not in dist:
                    dist[j], parent[j] = h, i
                    nxt.append(j)
        frontier = nxt
        if not frontier:
            break
    del dist[src]
    return [{"id": j, "name": db.get_neuron_name(j), "hops": h, "via": db.get_neuron_name(parent[j])}
            for j, h in sorted(dist.items(), key=lambda kv: (kv[1], kv[0]))]


def downstream(db, source, hops=1, min_weight=0.0):
    """Neurons reachable from ``source`` within ``hops`` synapses of |weight| >= ``min_weight``.

    Parameters
    ----------
    db : BrainDB
    source : int or str
        Neuron id or name.
    hops : int
        Maximum path length (>= 1).
    min_weight : float
        Synapses with a smaller absolute base weight are ignored.

    Returns
    -------
    list of dict
        ``{"id", "name", "hops", "via"}`` sorted by hops then id; ``via`` = predecessor on one shortest path.
    """
    return _bfs(db, source, hops, min_weight, _edges_out)


def upstream(db, target, hops=1, min_weight=0.0):
    """Neurons from which ``target`` is reachable within ``hops`` synapses (see :func:`downstream`)."""
    return _bfs(db, target, hops, min_weight, _edges_in)


def shortest_paths(db, source, target, min_weight=0.0, max_hops=10, max_paths=20):
    """All shortest directed paths (fewest synapses) from ``source`` to ``target``, as lists of names.

    Returns an empty list when ``target`` is not reachable within ``max_hops``; at most ``max_paths``
    paths, in lexicographic order of neuron ids.
    """
    src, dst = db.neuron_id(source), db.neuron_id(target)
    if src == dst:
        return [[db.get_neuron_name(src)]]
    preds = {src: []}
    frontier = [src]
    for _ in range(max_hops):
        level = {}
        for i in frontier:
            for j in np.unique(_edges_out(db, i, min_weight)).tolist():
                if j not in preds:
                    level.setdefault(j, []).append(i)
        preds.update(level)
        frontier = sorted(level)
        if dst in level or not frontier:
            break
    if dst not in preds:
        return []
    paths = []

    def walk(node, tail):
        if len(paths) >= max_paths:
            return
        if node == src:
            paths.append([node] + tail)
            return
        for p in sorted(preds[node]):
            walk(p, [node] + tail)

    walk(dst, [])
    return sorted([[db.get_neuron_name(i) for i in p] for p in paths])


def degree_stats(db, top=10):
    """In/out degree (distinct partners and synapse records) summary and the ``top`` hubs.

    Returns
    -------
    dict
        ``{"out": {...}, "in": {...}, "top_out": [...], "top_in": [...]}``; each summary holds mean,
        median, max and the number of neurons with degree 0.
    """
    n = db.neuron_count()
    out_deg = np.diff(np.asarray(db.row_ptr, np.int64))
    in_deg = np.bincount(np.asarray(db.col_idx, np.int64), minlength=n)

    def summary(d):
        return {"mean": float(d.mean()) if n else 0.0, "median": float(np.median(d)) if n else 0.0,
                "max": int(d.max(initial=0)), "zero": int((d == 0).sum())}

    def hubs(d):
        order = np.lexsort((np.arange(n), -d))[:top]
        return [{"id": int(i), "name": db.get_neuron_name(int(i)), "degree": int(d[i])} for i in order]

    return {"neurons": n, "synapses": db.synapse_count(), "out": summary(out_deg), "in": summary(in_deg),
            "top_out": hubs(out_deg), "top_in": hubs(in_deg)}
