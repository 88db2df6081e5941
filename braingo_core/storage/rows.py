"""Validated record rows for :class:`~braingo_core.storage.builder.BrainDBBuilder`: value arrays, compartments
and per-neuron model parameters (each error names the field and value)."""
import math

import numpy as np

from braingo_core.errors import BuilderError
from braingo_core.storage import records as rec
from braingo_core.storage.writer import concat

_COMP_FIELDS = {"length_um": 10.0, "diam_um": 1.0, "ra_ohm_cm": 100.0, "cm_uF_cm2": 1.0,
                "g_pas_S_cm2": 0.0, "e_pas_mV": -65.0}


def as_array(value, n, dtype, name):
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise BuilderError(f"{name}: expected {n} values, got shape {arr.shape}")
    return arr


def param_rows(model, type_values, params, ids):
    """NeuronParam rows of the per-neuron ``params`` of neurons ``ids`` that differ from ``type_values``."""
    known = [p for p, _ in model.params]
    unknown = sorted(set(params or {}) - set(known))
    if unknown:
        raise BuilderError(f"add_neurons: unknown parameter(s) {unknown} for model '{model.name}' (known: {known})")
    rows = []
    for name, val in (params or {}).items():
        k = known.index(name)
        arr = as_array(val, ids.size, np.float64, f"add_neurons params[{name!r}]")
        if not np.all(np.isfinite(arr)):
            raise BuilderError(f"add_neurons: params[{name!r}] has non-finite values")
        diff = np.flatnonzero(arr != type_values[k])
        r = np.zeros(diff.size, rec.NeuronParam)
        r["neuron"], r["param"], r["value"] = ids[diff], k, arr[diff]
        rows.append(r)
    return concat(rows, rec.NeuronParam)


def compartment_rows(neuron_id, comps):
    """CompartmentAttr rows of neuron ``neuron_id`` from dicts (None: one point compartment; parents local)."""
    comps = comps or [{}]
    rows = np.zeros(len(comps), rec.CompartmentAttr)
    for j, c in enumerate(comps):
        unknown = set(c) - set(_COMP_FIELDS) - {"parent", "kind", "gbar_S_cm2"}
        if unknown:
            raise BuilderError(f"neuron {neuron_id} compartment {j}: unknown field(s) {sorted(unknown)}")
        parent = int(c.get("parent", -1 if j == 0 else 0))
        if (j == 0) != (parent == -1) or parent >= j:
            raise BuilderError(f"neuron {neuron_id} compartment {j}: parent {parent} is invalid; compartment 0"
                               " is the only root and parents come before children (a tree)")
        rows[j]["neuron_id"] = neuron_id
        rows[j]["parent"] = parent          # local; made global in write()
        kind = c.get("kind", "soma" if j == 0 else "neurite")
        if kind not in rec.COMPARTMENT_KINDS:
            raise BuilderError(f"neuron {neuron_id} compartment {j}: kind '{kind}' not in "
                               f"{sorted(rec.COMPARTMENT_KINDS)}")
        rows[j]["kind"] = rec.COMPARTMENT_KINDS[kind]
        for key, default in _COMP_FIELDS.items():
            v = float(c.get(key, default))
            if not math.isfinite(v) or (key != "e_pas_mV" and v < 0):
                raise BuilderError(f"neuron {neuron_id} compartment {j}: {key} = {v} is invalid")
            rows[j][key] = v
        gbar = np.asarray(c.get("gbar_S_cm2", np.zeros(16)), float)
        if gbar.shape != (16,) or not np.all(np.isfinite(gbar)) or np.any(gbar < 0):
            raise BuilderError(f"neuron {neuron_id} compartment {j}: gbar_S_cm2 must be 16 finite values >= 0")
        rows[j]["gbar_S_cm2"] = gbar
    return rows
