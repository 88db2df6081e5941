"""Write a fitted database: a copy of the source .braindb rebuilt through BrainDBBuilder with the fitted
synapse weights, gap-junction conductances and leak potentials, and the fit's provenance in the metadata.

Everything else (regions, neuron types, receptors, compartments, flags, positions, delays, counts, record
order) is copied as stored. Graded synapse weights are written as ``sign(w) * w_nS / g_max_nS`` so the
engine's ``|w| * g_max_nS`` gives the fitted conductance; the copy's ``graded_weight_scales`` are 1.0
because the fitted values are absolute. Written atomically (the builder's atomic write).
"""
import hashlib
import platform
import time

import numpy as np

from braingo_core.models import MODEL_BY_CODE
from braingo_core.storage import BrainDBBuilder
from braingo_core.storage import records as rec

_KIND_NAME = {v: k for k, v in rec.RECEPTOR_KINDS.items()}
_COMP_KIND = {v: k for k, v in rec.COMPARTMENT_KINDS.items()}
_SYN_NAME = {v: k for k, v in rec.SYN_TYPES.items()}
_COMP_COPY = ("length_um", "diam_um", "ra_ohm_cm", "cm_uF_cm2", "g_pas_S_cm2", "e_pas_mV")
#: Metadata keys the builder writes itself.
_BUILDER_KEYS = ("region_names", "neuron_type_names", "receptor_names")


def _runs(keys):
    """(start, stop) of the maximal runs of equal rows of ``keys`` [m, k]."""
    if not len(keys):
        return []
    change = np.flatnonzero(np.any(keys[1:] != keys[:-1], axis=1)) + 1
    edges = np.concatenate([[0], change, [len(keys)]])
    return list(zip(edges[:-1], edges[1:]))


def _local(comp, neuron, first):
    return None if comp[0] == rec.NO_COMP else comp.astype(np.int64) - first[neuron]


def rebuild(db, syn_weight=None, gap_weight_nS=None, e_leak_mV=None, metadata=None):
    """BrainDBBuilder holding a copy of ``db`` with optional new per-record synapse weights, gap conductances,
    per-neuron leak potentials and extra metadata."""
    meta = dict(db.metadata)
    b = BrainDBBuilder(dt_ms=db.dt_ms)
    for name, r in zip(meta["region_names"], db.regions):
        b.add_region(name, None if int(r["parent"]) < 0 else int(r["parent"]))
    for name, t in zip(meta["neuron_type_names"], db.neuron_types):
        model = MODEL_BY_CODE[int(t["model"])]
        b.add_neuron_type(name, model.name, {p: float(v) for (p, _), v in zip(model.params, t["params"])})
    for name, r in zip(meta["receptor_names"], db.receptors):
        b.add_receptor(name, _KIND_NAME[int(r["kind"])], **{k: float(r[k]) for k in (
            "e_rev_mV", "tau_rise_ms", "tau_decay_ms", "g_max_nS", "v_th_mV", "delta_mV", "k_per_ms")})
    na, comps = np.asarray(db.neuron_attrs), np.asarray(db.compartments)
    first = na["first_comp_id"].astype(np.int64)
    el = na["e_leak_mV"].astype(np.float64) if e_leak_mV is None else np.asarray(e_leak_mV, np.float64)
    names = db.metadata.get("neuron_names")
    for lo, hi in _runs(np.column_stack([na["neuron_type"], na["region_id"]])):
        cl = []
        for i in range(lo, hi):
            rows = comps[first[i]:first[i] + int(na["n_compartment"][i])]
            cl.append([dict({k: float(c[k]) for k in _COMP_COPY}, parent=int(c["parent"] - first[i]) if c["parent"] >= 0
                            else -1, kind=_COMP_KIND[int(c["kind"])], gbar_S_cm2=np.asarray(c["gbar_S_cm2"], float))
                       for c in rows])
        pos = np.column_stack([na["x_um"][lo:hi], na["y_um"][lo:hi], na["z_um"][lo:hi]]).astype(float)
        b.add_neurons(hi - lo, neuron_type=int(na["neuron_type"][lo]), region=int(na["region_id"][lo]),
                      names=None if names is None else names[lo:hi], cm_pF=na["cm_pF"][lo:hi].astype(float),
                      g_leak_nS=na["g_leak_nS"][lo:hi].astype(float), e_leak_mV=el[lo:hi],
                      pos_um=pos, flags=na["flags"][lo:hi], compartments=cl)
    syn = np.asarray(db.synapses)
    w = syn["base_weight"].astype(np.float64) if syn_weight is None else np.asarray(syn_weight, np.float64)
    key = np.column_stack([syn["syn_type"], syn["pre_comp"] == rec.NO_COMP, syn["post_comp"] == rec.NO_COMP])
    for lo, hi in _runs(key):
        s = syn[lo:hi]
        pre, post = s["pre_neuron"].astype(np.int64), s["post_neuron"].astype(np.int64)
        b.add_synapses(pre, post, w[lo:hi], s["delay_ticks"] * db.dt_ms, receptor=s["receptor_type"].astype(np.int64),
                       syn_type=_SYN_NAME[int(s["syn_type"][0])], plastic=s["plastic"].astype(bool),
                       count=s["count"].astype(np.int64), pre_comp=_local(s["pre_comp"], pre, first),
                       post_comp=_local(s["post_comp"], post, first), w_max=s["w_max"].astype(np.float64))
    gj = np.asarray(db.gap_junctions)
    g = gj["weight_nS"].astype(np.float64) if gap_weight_nS is None else np.asarray(gap_weight_nS, np.float64)
    for lo, hi in _runs(np.column_stack([gj["pre_comp"] == rec.NO_COMP, gj["post_comp"] == rec.NO_COMP])):
        s = gj[lo:hi]
        a, c = s["pre"].astype(np.int64), s["post"].astype(np.int64)
        b.add_gap_junctions(a, c, g[lo:hi], _local(s["pre_comp"], a, first), _local(s["post_comp"], c, first))
    b.metadata.update({k: v for k, v in meta.items() if k not in _BUILDER_KEYS})
    b.metadata.update(metadata or {})
    return b


def _versions():
    import torch

    import braingo_core
    from braingo_core.storage import format as fmt

    return {"braingo_core": getattr(braingo_core, "__version__", "0.1.0"), "format": int(fmt.VERSION),
            "torch": torch.__version__, "numpy": np.__version__, "python": platform.python_version()}


def provenance(result, db):
    """The ``fit`` metadata entry of a fitted database."""
    t = result.target
    return {"target": {"source": t.source, "sha256": t.sha256, "neurons": t.names, "unknown": t.unknown,
                       "frame_s": t.frame_s},
            "source_database": {"path": str(db.path), "fingerprint": db.fingerprint},
            "heldout_neurons": result.heldout_neurons, "seed": result.seed, "loss_history": result.loss_history,
            "r_train_twin": result.r_train, "r_heldout_twin": result.r_heldout, "n_params": result.n_params,
            "theta_sha256": hashlib.sha256(np.ascontiguousarray(result.theta).tobytes()).hexdigest(),
            "protocol": result.protocol.as_dict(), "settings": result.settings, "versions": _versions(),
            "written_utc": time.strftime("%Y-%m-%dT%H:%M:%SZ", time.gmtime())}


def write_fitted(db, out, result):
    """Write ``result``'s weights into a copy of ``db`` at ``out`` (see the module docstring)."""
    tab = result.tables
    syn = np.asarray(db.synapses)
    w = syn["base_weight"].astype(np.float64).copy()
    sign = np.where(w[tab.syn_record] < 0, -1.0, 1.0)
    w[tab.syn_record] = sign * result.syn_w_nS / tab.g_max_nS[tab.syn_slot]
    g = np.asarray(db.gap_junctions)["weight_nS"].astype(np.float64).copy()
    g[tab.gap_record] = result.gap_w_nS
    meta = {"fit": provenance(result, db),
            "graded_weight_scales": {"synapse_weight_scale": 1.0, "gap_weight_scale": 1.0}}
    return rebuild(db, w, g, result.e_leak_mV, meta).write(out)
