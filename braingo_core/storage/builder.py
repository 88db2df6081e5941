"""BrainDBBuilder: collect regions, neuron types, receptors, neurons, synapses and gap junctions, one at a
time or in bulk from numpy arrays, validate them, build the CSR and write a .braindb atomically."""
import math

import numpy as np

from braingo_core.errors import BuilderError
from braingo_core.models import MODEL_BY_CODE, get_model
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec
from braingo_core.storage.rows import as_array, compartment_rows, param_rows
from braingo_core.storage.writer import concat, write_braindb


class BrainDBBuilder:
    """Accumulates a network and writes it as one .braindb file.

    Parameters
    ----------
    dt_ms : float
        Simulation time step stored in the header (ms); synaptic delays are rounded to ticks of it.
    """

    def __init__(self, dt_ms=0.1):
        self.dt_ms = fmt.check_dt_ms(dt_ms, BuilderError)
        self.metadata = {}
        self._regions, self._region_names = [], []
        self._types, self._type_names = [], []
        self._receptors, self._receptor_names = [], []
        self._neurons = []          # chunks of NeuronAttr
        self._names = []            # one entry per neuron (None = unnamed)
        self._name_index = {}
        self._comps = []            # chunks of CompartmentAttr (neuron-local parent, fixed up at write)
        self._n_neurons = 0
        self._n_comps = 0
        self._syn = []              # chunks of SynapseAttr
        self._gj = []               # chunks of GapJunction
        self._nparams = []          # chunks of NeuronParam

    # ------------------------------------------------------------ read-only
    @property
    def n_neurons(self):
        """Number of neurons added so far."""
        return self._n_neurons

    @property
    def region_names(self):
        return tuple(self._region_names)

    @property
    def neuron_type_names(self):
        return tuple(self._type_names)

    @property
    def receptor_names(self):
        return tuple(self._receptor_names)

    # ----------------------------------------------------------------- tables
    def add_region(self, name, parent=None):
        """Add a brain region; returns its id. ``parent`` is a region id or name."""
        self._check_new_name(name, self._region_names, "region")
        parent_id = -1 if parent is None else self._lookup(parent, self._region_names, "region")
        self._regions.append((len(self._regions), parent_id))
        self._region_names.append(name)
        return len(self._regions) - 1

    def add_neuron_type(self, name, model="lif", params=None, scheme=None, substeps=1):
        """Add a neuron type of model ``model`` (see braingo_core.models); returns its id.

        ``scheme``: integration scheme, one of the model's ``schemes`` (None: its default; docs/models.md),
        ``substeps``: sub-steps per tick for the "substeps" scheme (1..65535).
        """
        self._check_new_name(name, self._type_names, "neuron type")
        m = get_model(model)
        where = f"neuron type '{name}'"
        code = m.scheme_index(scheme, where)
        if not isinstance(substeps, (int, np.integer)) or not 1 <= substeps <= 65535:
            raise BuilderError(f"{where}: substeps must be an integer in [1, 65535], got {substeps!r}")
        vec = m.param_vector(params, where=where)
        if len(vec) > rec.MAX_TYPE_PARAMS:
            raise BuilderError(f"model '{model}' has {len(vec)} parameters; the format holds {rec.MAX_TYPE_PARAMS}")
        row = np.zeros((), rec.NeuronType)
        row["model"], row["n_params"] = m.code, len(vec)
        row["params"][:len(vec)] = vec
        row["scheme"], row["substeps"] = code, substeps
        self._types.append(row)
        self._type_names.append(name)
        return len(self._types) - 1

    def add_receptor(self, name, kind="conductance", e_rev_mV=0.0, tau_rise_ms=0.0, tau_decay_ms=5.0,
                     g_max_nS=1.0, v_th_mV=-20.0, delta_mV=5.0, k_per_ms=0.5):
        """Add a receptor (synapse kinetics) type; returns its id (< 256).

        ``kind``: "current" (weight in pA), "conductance" (weight in nS, driving force E_rev), "delta" (weight in
        pA, a current lasting exactly the tick the event arrives in: instantaneous at the time scale dt; the
        time constants are not used and stored as 0) or "graded" (I = w * g_max_nS * s * (V_post - E_rev), s
        relaxing to a sigmoid of V_pre; v_th_mV, delta_mV, k_per_ms). See docs/models.md.
        """
        self._check_new_name(name, self._receptor_names, "receptor")
        if kind not in rec.RECEPTOR_KINDS:
            raise BuilderError(f"receptor '{name}': kind '{kind}' is not one of {sorted(rec.RECEPTOR_KINDS)}")
        vals = dict(e_rev_mV=e_rev_mV, tau_rise_ms=tau_rise_ms, tau_decay_ms=tau_decay_ms, g_max_nS=g_max_nS,
                    v_th_mV=v_th_mV, delta_mV=delta_mV, k_per_ms=k_per_ms)
        for key, v in vals.items():
            if not math.isfinite(float(v)):
                raise BuilderError(f"receptor '{name}': {key} is not finite ({v!r})")
        if tau_rise_ms < 0 or tau_decay_ms < 0 or g_max_nS < 0 or k_per_ms < 0:
            raise BuilderError(f"receptor '{name}': time constants, g_max_nS and k_per_ms must be >= 0")
        if len(self._receptors) >= 255:
            raise BuilderError("too many receptor types (max 255)")
        if kind == "delta":
            vals["tau_rise_ms"] = vals["tau_decay_ms"] = 0.0
        row = np.zeros((), rec.ReceptorType)
        row["kind"] = rec.RECEPTOR_KINDS[kind]
        for key, v in vals.items():
            row[key] = v
        self._receptors.append(row)
        self._receptor_names.append(name)
        return len(self._receptors) - 1

    # ---------------------------------------------------------------- neurons
    def add_neuron(self, name=None, neuron_type=0, region=None, cm_pF=None, g_leak_nS=12.5, e_leak_mV=-65.0,
                   pos_um=(0.0, 0.0, 0.0), flags=0, compartments=None):
        """Add one neuron; returns its id.

        ``compartments`` is a list of dicts (``parent`` = neuron-local index, -1 for the root; ``kind``;
        geometry/passive fields of CompartmentAttr; ``gbar_S_cm2`` = 16 channel densities). None gives
        one point compartment.
        """
        return int(self.add_neurons(1, neuron_type=neuron_type, names=None if name is None else [name],
                                    region=region, cm_pF=cm_pF, g_leak_nS=g_leak_nS, e_leak_mV=e_leak_mV,
                                    pos_um=np.asarray(pos_um, float).reshape(1, 3), flags=flags,
                                    compartments=[compartments] if compartments else None)[0])

    def add_neurons(self, n, neuron_type=0, names=None, region=None, cm_pF=None, g_leak_nS=12.5,
                    e_leak_mV=-65.0, pos_um=None, flags=0, compartments=None, params=None):
        """Add ``n`` neurons from scalars or arrays; returns their ids (int64[n]).

        ``params``: model parameter name -> scalar or float[n], per-neuron values of the neuron type's model
        parameters (e.g. Izhikevich a, b, c_mV, d); the rest keep the type's values. Stored compactly: only
        values that differ from the type's (segment neuron_params, docs/format.md).

        ``cm_pF`` None: the model's default capacitance (``NeuronModel.cm_pF``: 1 for Izhikevich, whose
        input is then in the paper's mV/ms; 250 pF otherwise). ``g_leak_nS``, ``e_leak_mV``: passive membrane
        (Izhikevich uses ``e_leak_mV`` as its initial v only).
        """
        n = int(n)
        if n < 0:
            raise BuilderError(f"add_neurons: n must be >= 0, got {n}")
        tid = self._lookup(neuron_type, self._type_names, "neuron type")
        model = MODEL_BY_CODE[int(self._types[tid]["model"])]
        if cm_pF is None:
            cm_pF = model.cm_pF
        rid = 0 if region is None else self._lookup(region, self._region_names, "region")
        if names is not None:
            names = list(names)
            if len(names) != n:
                raise BuilderError(f"add_neurons: {len(names)} names for {n} neurons")
            for i, nm in enumerate(names):
                if not isinstance(nm, str) or not nm or nm.isdigit():
                    raise BuilderError(f"neuron name {nm!r} is invalid (non-empty, not all digits)")
                if nm in self._name_index:
                    raise BuilderError(f"duplicate neuron name '{nm}'")
                self._name_index[nm] = self._n_neurons + i
        if compartments is not None and len(compartments) != n:
            raise BuilderError(f"add_neurons: {len(compartments)} compartment lists for {n} neurons")
        ids = np.arange(self._n_neurons, self._n_neurons + n, dtype=np.int64)
        overrides = param_rows(model, self._types[tid]["params"], params, ids)
        attr = np.zeros(n, rec.NeuronAttr)
        attr["id"] = ids
        attr["neuron_type"] = tid
        attr["region_id"] = rid
        for key, val in (("cm_pF", cm_pF), ("g_leak_nS", g_leak_nS), ("e_leak_mV", e_leak_mV)):
            arr = as_array(val, n, np.float64, key)
            if not np.all(np.isfinite(arr)):
                raise BuilderError(f"add_neurons: {key} has non-finite values")
            attr[key] = arr
        if np.any(attr["cm_pF"] <= 0) or np.any(attr["g_leak_nS"] < 0):
            raise BuilderError("add_neurons: cm_pF must be > 0 and g_leak_nS >= 0")
        if pos_um is not None:
            pos = np.asarray(pos_um, float).reshape(n, 3)
            attr["x_um"], attr["y_um"], attr["z_um"] = pos[:, 0], pos[:, 1], pos[:, 2]
        attr["flags"] = as_array(flags, n, np.uint8, "flags")
        n_comp = np.ones(n, np.int64)
        comp_rows = []
        for i in range(n):
            comps = compartments[i] if compartments is not None else None
            comp_rows.append(compartment_rows(int(ids[i]), comps))
            n_comp[i] = len(comp_rows[-1])
        attr["n_compartment"] = n_comp
        attr["first_comp_id"] = self._n_comps + np.concatenate(([0], np.cumsum(n_comp)[:-1]))
        self._comps.append(concat(comp_rows, rec.CompartmentAttr))
        self._n_comps += int(n_comp.sum())
        self._neurons.append(attr)
        self._nparams.append(overrides)
        self._names.extend(names if names is not None else [None] * n)
        self._n_neurons += n
        return ids

    # --------------------------------------------------------------- synapses
    def neuron_index(self, ref):
        """Id of a neuron given by id (int) or name (str)."""
        if isinstance(ref, (int, np.integer)):
            if not 0 <= int(ref) < self._n_neurons:
                raise BuilderError(f"neuron id {int(ref)} out of range [0, {self._n_neurons})")
            return int(ref)
        try:
            return self._name_index[ref]
        except KeyError:
            raise BuilderError(f"unknown neuron '{ref}'") from None

    def _ids(self, refs, name):
        arr = np.asarray(refs)
        if arr.dtype.kind in "US" or arr.dtype == object:
            return np.fromiter((self.neuron_index(r) for r in arr.ravel()), np.int64, arr.size)
        arr = arr.astype(np.int64, copy=False).ravel()
        if arr.size and (arr.min() < 0 or arr.max() >= self._n_neurons):
            bad = arr[(arr < 0) | (arr >= self._n_neurons)][0]
            raise BuilderError(f"{name}: neuron id {int(bad)} out of range [0, {self._n_neurons})")
        return arr

    def _comp_ids(self, local, neuron_ids, name):
        if local is None:
            return np.full(neuron_ids.size, rec.NO_COMP, np.uint32)
        local = as_array(local, neuron_ids.size, np.int64, name)
        first, count = self._first_comp_and_count()
        if np.any(local < 0) or np.any(local >= count[neuron_ids]):
            raise BuilderError(f"{name}: compartment index out of range for its neuron")
        return (first[neuron_ids] + local).astype(np.uint32)

    def _first_comp_and_count(self):
        attr = concat(self._neurons, rec.NeuronAttr)
        return attr["first_comp_id"].astype(np.int64), attr["n_compartment"].astype(np.int64)

    def add_synapse(self, pre, post, weight, delay_ms=None, receptor=0, syn_type="spike", plastic=False,
                    count=1, pre_comp=None, post_comp=None, w_max=0.0):
        """Add one chemical synapse ``pre -> post`` (ids or names); see :meth:`add_synapses`."""
        self.add_synapses([self.neuron_index(pre)], [self.neuron_index(post)], [weight],
                          None if delay_ms is None else [delay_ms], receptor=receptor, syn_type=syn_type,
                          plastic=plastic, count=count, pre_comp=None if pre_comp is None else [pre_comp],
                          post_comp=None if post_comp is None else [post_comp], w_max=w_max)

    def add_synapses(self, pre, post, weight, delay_ms=None, receptor=0, syn_type="spike", plastic=False,
                     count=1, pre_comp=None, post_comp=None, w_max=0.0):
        """Add synapses in bulk.

        Parameters
        ----------
        pre, post : int[n] or str[n]
            Neuron ids or names.
        weight : float[n]
            pA (current receptors), nS (conductance receptors) or dimensionless (graded).
        delay_ms : float[n] or None
            Transmission delay, rounded to ticks; None means no delay (0 ticks). Must be >= 0 and < 65536
            ticks. A spike of tick n with a delay of d ticks first changes the target's update of tick
            n + d + 1: with no delay, the next update (Brian2's and net.m's convention).
        receptor : int, str or int[n]
            Receptor type id(s) or name.
        syn_type : "spike" or "graded"
        plastic : bool or bool[n]
            STDP applies (weights clipped to [0, w_max]).
        count : int or int[n]
            Number of anatomical contacts the record stands for.
        pre_comp, post_comp : int[n] or None
            Neuron-local compartment indices (None = first compartment).
        """
        pre_ids, post_ids = self._ids(pre, "synapse pre"), self._ids(post, "synapse post")
        n = pre_ids.size
        if post_ids.size != n:
            raise BuilderError(f"add_synapses: {n} pre ids but {post_ids.size} post ids")
        w = as_array(weight, n, np.float64, "synapse weight")
        if not np.all(np.isfinite(w)):
            raise BuilderError(f"synapse weight: non-finite value at index {int(np.argmin(np.isfinite(w)))}")
        if delay_ms is None:
            ticks = np.zeros(n, np.int64)
        else:
            d = as_array(delay_ms, n, np.float64, "synapse delay_ms")
            if not np.all(np.isfinite(d)) or np.any(d < 0):
                bad = d[~np.isfinite(d) | (d < 0)][0]
                raise BuilderError(f"synapse delay_ms: {bad} is invalid (must be finite and >= 0)")
            ticks = np.rint(d / self.dt_ms)
            if ticks.size and ticks.max() > fmt.MAX_DELAY_TICKS:     # before the int cast: 1e19 must not wrap
                raise BuilderError(f"synapse delay_ms: {d.max()} ms exceeds 65535 ticks of {self.dt_ms} ms")
        if isinstance(receptor, (str, int, np.integer)):
            rid = np.full(n, self._lookup(receptor, self._receptor_names, "receptor"), np.int64)
        else:
            rid = as_array(receptor, n, np.int64, "synapse receptor")
            if rid.size and (rid.min() < 0 or rid.max() >= len(self._receptors)):
                raise BuilderError(f"synapse receptor: id out of range [0, {len(self._receptors)})")
        if syn_type not in rec.SYN_TYPES:
            raise BuilderError(f"synapse syn_type '{syn_type}' not in {sorted(rec.SYN_TYPES)}")
        cnt = as_array(count, n, np.int64, "synapse count")
        if cnt.size and (cnt.min() < 0 or cnt.max() > 65535):
            raise BuilderError("synapse count must be in [0, 65535]")
        kinds = np.array([int(r["kind"]) for r in self._receptors] or [0], np.int64)
        s = np.zeros(n, rec.SynapseAttr)
        s["pre_neuron"], s["post_neuron"], s["base_weight"] = pre_ids, post_ids, w
        s["delay_ticks"], s["syn_type"], s["receptor_type"] = ticks, rec.SYN_TYPES[syn_type], rid
        s["syn_mode"] = ~np.isin(kinds[rid], rec.CURRENT_KINDS) if len(self._receptors) else 0
        s["plastic"] = as_array(plastic, n, bool, "synapse plastic")
        s["count"] = cnt
        s["pre_comp"] = self._comp_ids(pre_comp, pre_ids, "synapse pre_comp")
        s["post_comp"] = self._comp_ids(post_comp, post_ids, "synapse post_comp")
        s["w_max"] = as_array(w_max, n, np.float64, "synapse w_max")
        self._syn.append(s)

    def add_gap_junction(self, a, b, weight_nS, comp_a=None, comp_b=None):
        """Add one electrical synapse between neurons ``a`` and ``b`` (conductance weight_nS, both ways)."""
        self.add_gap_junctions([self.neuron_index(a)], [self.neuron_index(b)], [weight_nS],
                               None if comp_a is None else [comp_a], None if comp_b is None else [comp_b])

    def add_gap_junctions(self, a, b, weight_nS, comp_a=None, comp_b=None):
        """Add gap junctions in bulk: one record per junction, current flows both ways."""
        ia, ib = self._ids(a, "gap junction a"), self._ids(b, "gap junction b")
        if ia.size != ib.size:
            raise BuilderError(f"add_gap_junctions: {ia.size} vs {ib.size} ids")
        w = as_array(weight_nS, ia.size, np.float64, "gap junction weight_nS")
        if not np.all(np.isfinite(w)) or np.any(w < 0):
            raise BuilderError("gap junction weight_nS must be finite and >= 0")
        g = np.zeros(ia.size, rec.GapJunction)
        g["pre"], g["post"], g["weight_nS"] = ia, ib, w
        g["pre_comp"] = self._comp_ids(comp_a, ia, "gap junction comp_a")
        g["post_comp"] = self._comp_ids(comp_b, ib, "gap junction comp_b")
        if np.any((ia == ib) & (g["pre_comp"] == g["post_comp"])):
            raise BuilderError("gap junction couples a compartment to itself")
        self._gj.append(g)

    # ------------------------------------------------------------------ write
    def write(self, path):
        """Validate, sort synapses by pre (stable), build the CSR and write ``path`` atomically."""
        if not self._types:
            raise BuilderError("no neuron types: call add_neuron_type() first")
        if not self._regions:
            self.add_region("default")
        neurons = concat(self._neurons, rec.NeuronAttr)
        comps = concat(self._comps, rec.CompartmentAttr)
        if comps.size:
            local = comps["parent"].astype(np.int64)
            first = neurons["first_comp_id"].astype(np.int64)[comps["neuron_id"]]
            comps["parent"] = np.where(local < 0, -1, first + local)
        syn = concat(self._syn, rec.SynapseAttr)
        if np.any(syn["pre_neuron"][1:] < syn["pre_neuron"][:-1]):
            syn = syn[np.argsort(syn["pre_neuron"], kind="stable")]
        counts = np.bincount(syn["pre_neuron"], minlength=len(neurons)) if syn.size else np.zeros(len(neurons), int)
        row_ptr = np.zeros(len(neurons) + 1, np.uint64)
        np.cumsum(counts, out=row_ptr[1:])
        col_idx = np.ascontiguousarray(syn["post_neuron"])
        gj = concat(self._gj, rec.GapJunction)
        regions = np.zeros(len(self._regions), rec.Region)
        if self._regions:
            regions["id"], regions["parent"] = np.array(self._regions)[:, 0], np.array(self._regions)[:, 1]
        if neurons.size:
            regions["n_neurons"] = np.bincount(neurons["region_id"], minlength=len(regions))
        meta = dict(self.metadata)
        meta.setdefault("neuron_names", self._names if any(n is not None for n in self._names) else None)
        meta["region_names"] = self._region_names
        meta["neuron_type_names"] = self._type_names
        meta["receptor_names"] = self._receptor_names
        segments = {"neurons": neurons, "compartments": comps, "row_ptr": row_ptr, "col_idx": col_idx,
                    "synapses": syn, "gap_junctions": gj, "regions": regions,
                    "neuron_types": concat([t.reshape(1) for t in self._types], rec.NeuronType),
                    "receptors": concat([r.reshape(1) for r in self._receptors], rec.ReceptorType)}
        nparams = concat(self._nparams, rec.NeuronParam)
        segments["neuron_params"] = nparams[np.lexsort((nparams["param"], nparams["neuron"]))]
        return write_braindb(path, self.dt_ms, segments, meta)

    # ---------------------------------------------------------------- helpers
    @staticmethod
    def _check_new_name(name, names, what):
        if not isinstance(name, str) or not name:
            raise BuilderError(f"{what} name must be a non-empty string, got {name!r}")
        if name in names:
            raise BuilderError(f"duplicate {what} name '{name}'")

    @staticmethod
    def _lookup(ref, names, what):
        if isinstance(ref, str):
            if ref not in names:
                raise BuilderError(f"unknown {what} '{ref}' (known: {names})")
            return names.index(ref)
        ref = int(ref)
        if not names:
            raise BuilderError(f"no {what} defined yet: add one before referring to {what} {ref}")
        if not 0 <= ref < len(names):
            raise BuilderError(f"{what} id {ref} out of range [0, {len(names)})")
        return ref
