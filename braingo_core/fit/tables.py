"""Static tables of a graded network read from a BrainDB, for the differentiable twin (no engine internals).

The tables mirror what the engine builds for ``config model="graded"`` (every neuron a graded point
neuron): all synapses and gap junctions land on the soma, the membrane constants come from
``NeuronAttr`` (``cm_pF``, ``g_leak_nS``, ``e_leak_mV``), the clip range from the neuron type's graded
parameters (``v_min_mV``, ``v_max_mV``; the model defaults for types of another model), a graded synapse
conducts ``|base_weight| * g_max_nS`` (nS) times its presynaptic gate, and a gap junction couples two
distinct neurons both ways with ``weight_nS``. Values are read as stored (float32) and widened to float64,
as the engine does.

Cell classes group left/right (and dorsal/ventral) homologues and numbered motor neurons: ``AVAL`` and
``AVAR`` are class ``AVA``, ``SMDDL`` is ``SMD``, ``DA01`` is ``DA``; a suffix is dropped only when the
database holds the partner neuron, so single cells (``AVL``, ``DVA``) keep their names.
"""
import re
from dataclasses import dataclass

import numpy as np

from braingo_core.errors import SimulationError
from braingo_core.models import NEURON_MODELS
from braingo_core.storage import records as rec

_GRADED = NEURON_MODELS["graded"]
_NUMBERED = re.compile(r"^([A-Z]+?)0*(\d+)$")
_SIDE = {"L": "R", "R": "L", "D": "V", "V": "D"}


def canonical_name(name):
    """Neuron name with the number of a numbered cell written without leading zeros (``DA01`` -> ``DA1``)."""
    m = _NUMBERED.match(str(name).strip().upper())
    return f"{m.group(1)}{int(m.group(2))}" if m else str(name).strip().upper()


def cell_classes(names):
    """Cell class of every name (see the module docstring)."""
    present = set(names)
    prefixes = {n[:k] for n in names for k in range(1, len(n) + 1)}
    out = []
    for name in names:
        m = _NUMBERED.match(name)
        if m and sum(1 for other in names if _NUMBERED.match(other) and
                     _NUMBERED.match(other).group(1) == m.group(1)) > 1:
            out.append(m.group(1))
            continue
        c = name
        if c[-1:] in "LR" and c[:-1] + _SIDE[c[-1]] in present:
            c = c[:-1]
        if len(c) > 3 and c[-1:] in "DV" and c[:-1] + _SIDE[c[-1]] in prefixes:
            c = c[:-1]
        out.append(c)
    return out


@dataclass
class GradedTables:
    """A graded network as flat arrays (float64 unless noted; n neurons, m synapses, k gap junctions, G slots).

    Attributes
    ----------
    names, classes : list of str [n]
    cm_pF, g_leak_nS, e_leak_mV, v_min_mV, v_max_mV : [n]
    syn_record, syn_pre, syn_post, syn_slot : int64[m]
        Database record index, neurons and graded-receptor slot of every graded synapse.
    syn_w_nS : [m]
        ``|base_weight| * g_max_nS`` of the slot's receptor.
    slot_receptor : int64[G]; g_vth_mV, g_delta_mV, g_k_per_ms, g_e_mV, g_max_nS : [G]
    gap_record, gap_a, gap_b : int64[k]; gap_w_nS : [k]
        Gap junctions between distinct neurons (record index into the database's table).
    dt_ms : float
        The database's time step.
    """

    names: list
    classes: list
    cm_pF: np.ndarray
    g_leak_nS: np.ndarray
    e_leak_mV: np.ndarray
    v_min_mV: np.ndarray
    v_max_mV: np.ndarray
    syn_record: np.ndarray
    syn_pre: np.ndarray
    syn_post: np.ndarray
    syn_slot: np.ndarray
    syn_w_nS: np.ndarray
    slot_receptor: np.ndarray
    g_vth_mV: np.ndarray
    g_delta_mV: np.ndarray
    g_k_per_ms: np.ndarray
    g_e_mV: np.ndarray
    g_max_nS: np.ndarray
    gap_record: np.ndarray
    gap_a: np.ndarray
    gap_b: np.ndarray
    gap_w_nS: np.ndarray
    dt_ms: float

    @property
    def n(self):
        return len(self.names)

    @classmethod
    def from_db(cls, db):
        """Read ``db`` (a BrainDB); SimulationError if it has spike synapses (the twin is graded-only)."""
        n = db.neuron_count()
        if n == 0:
            raise SimulationError(f"{db.path}: database has no neurons")
        na = db.neuron_attrs
        types = db.neuron_types
        codes = np.asarray(types["model"], np.int64)[np.asarray(na["neuron_type"], np.int64)]
        tparams = np.asarray(types["params"], np.float64)[np.asarray(na["neuron_type"], np.int64)]
        graded = codes == _GRADED.code
        vmin = np.where(graded, tparams[:, 0], _GRADED.params[0][1])
        vmax = np.where(graded, tparams[:, 1], _GRADED.params[1][1])
        syn = np.asarray(db.synapses)
        spike = syn["syn_type"] == rec.SYN_SPIKE
        if spike.any():
            raise SimulationError(f"{db.path}: {int(spike.sum())} spike synapses; the fitting twin mirrors the "
                                  "graded model only (graded synapses and gap junctions)")
        receptors = db.receptors
        rtype = syn["receptor_type"].astype(np.int64)
        slots = np.unique(rtype)
        for r in slots:
            if int(receptors[r]["kind"]) != rec.RECEPTOR_GRADED:
                raise SimulationError(f"{db.path}: graded synapses use receptor {int(r)} whose kind is not graded")
        slot_of = np.zeros(max(len(receptors), 1), np.int64)
        slot_of[slots] = np.arange(slots.size)
        f64 = lambda key: np.asarray([float(receptors[r][key]) for r in slots], np.float64)   # noqa: E731
        g_max = f64("g_max_nS")
        sl = slot_of[rtype]
        gj = np.asarray(db.gap_junctions)
        a, b = gj["pre"].astype(np.int64), gj["post"].astype(np.int64)
        keep = np.flatnonzero(a != b)
        names = db.get_all_neuron_names()
        return cls(
            names=names, classes=cell_classes(names),
            cm_pF=np.asarray(na["cm_pF"], np.float64), g_leak_nS=np.asarray(na["g_leak_nS"], np.float64),
            e_leak_mV=np.asarray(na["e_leak_mV"], np.float64), v_min_mV=vmin, v_max_mV=vmax,
            syn_record=np.arange(syn.size, dtype=np.int64), syn_pre=syn["pre_neuron"].astype(np.int64),
            syn_post=syn["post_neuron"].astype(np.int64), syn_slot=sl,
            syn_w_nS=np.abs(syn["base_weight"].astype(np.float64)) * g_max[sl] if syn.size else np.zeros(0),
            slot_receptor=slots.astype(np.int64), g_vth_mV=f64("v_th_mV"), g_delta_mV=f64("delta_mV"),
            g_k_per_ms=f64("k_per_ms"), g_e_mV=f64("e_rev_mV"), g_max_nS=g_max,
            gap_record=keep, gap_a=a[keep], gap_b=b[keep], gap_w_nS=gj["weight_nS"].astype(np.float64)[keep],
            dt_ms=db.dt_ms)
