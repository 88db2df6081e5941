"""Group-level connectivity: select neurons by class, region or name pattern; pathway summaries and
adjacency matrices between groups."""
import fnmatch

import numpy as np

from braingo_core.errors import BrainGoError


def select(db, spec):
    """Neuron ids (sorted int64) of a group.

    Parameters
    ----------
    spec : str
        ``class:motor``, ``region:head``, ``name:AVA*`` (shell pattern), or a comma list of names/ids.
    """
    kind, _, value = spec.partition(":") if ":" in spec else ("names", "", spec)
    if kind == "class":
        return db.neurons(cls=value)
    if kind == "region":
        names = db.metadata.get("region_names", [])
        if value not in names:
            raise BrainGoError(f"{db.path}: unknown region {value!r} (known: {names})")
        return np.flatnonzero(np.asarray(db.neuron_attrs["region_id"]) == names.index(value))
    if kind == "name":
        ids = [i for i, n in enumerate(db.get_all_neuron_names()) if fnmatch.fnmatchcase(n, value)]
        if not ids:
            raise BrainGoError(f"{db.path}: no neuron matches {value!r}")
        return np.array(ids, np.int64)
    if kind == "names":
        return np.unique([db.neuron_id(x.strip()) for x in value.split(",") if x.strip()]).astype(np.int64)
    raise BrainGoError(f"group {spec!r}: expected class:, region:, name: or a comma list of neurons")


def _edges(db):
    syn = db.synapses
    return (np.asarray(syn["pre_neuron"], np.int64), np.asarray(syn["post_neuron"], np.int64),
            np.asarray(syn["base_weight"], np.float64), np.asarray(syn["count"], np.int64))


def pathway(db, source, target):
    """Direct synapses from group ``source`` to group ``target`` (group specs as in :func:`select`).

    Returns
    -------
    dict
        ``synapses`` (records), ``contacts`` (sum of counts), ``total_weight``, ``mean_weight``,
        ``pre_neurons``/``post_neurons`` (distinct neurons taking part) and the group sizes.
    """
    a, b = select(db, source), select(db, target)
    in_a = np.zeros(db.neuron_count(), bool)
    in_b = np.zeros(db.neuron_count(), bool)
    in_a[a], in_b[b] = True, True
    lo = np.asarray(db.row_ptr, np.int64)
    rows = np.concatenate([np.arange(lo[i], lo[i + 1]) for i in a]) if len(a) else np.zeros(0, np.int64)
    post = np.asarray(db.col_idx[rows], np.int64) if len(rows) else np.zeros(0, np.int64)
    sel = rows[in_b[post]]
    syn = db.synapses[sel] if len(sel) else db.synapses[:0]
    w = np.asarray(syn["base_weight"], np.float64)
    return {"source": source, "target": target, "source_size": len(a), "target_size": len(b),
            "synapses": len(sel), "contacts": int(np.asarray(syn["count"], np.int64).sum()),
            "total_weight": float(w.sum()), "mean_weight": float(w.mean()) if len(w) else 0.0,
            "pre_neurons": len(np.unique(syn["pre_neuron"])), "post_neurons": len(np.unique(syn["post_neuron"]))}


def adjacency(db, by="class", value="weight"):
    """Group x group matrix of synapse ``value`` (``weight``, ``count`` or ``synapses``).

    Parameters
    ----------
    by : {"class", "region"}
        Grouping taken from metadata ``neuron_classes`` or the neuron records' region ids.

    Returns
    -------
    labels : list of str
    matrix : float64[n_groups, n_groups]
        ``matrix[i, j]`` sums ``value`` over synapses from group i to group j.
    """
    if by == "class":
        classes = db.metadata.get("neuron_classes")
        if classes is None:
            raise BrainGoError(f"{db.path}: database has no neuron_classes metadata")
        labels, group = np.unique(np.asarray([str(c) for c in classes]), return_inverse=True)
        labels = labels.tolist()
    elif by == "region":
        labels = db.metadata.get("region_names", [])
        group = np.asarray(db.neuron_attrs["region_id"], np.int64)
    else:
        raise BrainGoError(f"adjacency: by must be 'class' or 'region', got {by!r}")
    if value not in ("weight", "count", "synapses"):
        raise BrainGoError(f"adjacency: value must be weight, count or synapses, got {value!r}")
    pre, post, w, cnt = _edges(db)
    vals = {"weight": w, "count": cnt.astype(float), "synapses": np.ones(len(w))}[value]
    k = len(labels)
    mat = np.bincount(group[pre] * k + group[post], weights=vals, minlength=k * k).reshape(k, k)
    return labels, mat
