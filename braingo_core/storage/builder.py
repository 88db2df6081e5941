"""BrainDBBuilder: collect regions, neuron types, receptors, neurons, synapses and gap junctions, one at a
time or in bulk from numpy arrays, validate them, build the CSR and write a .braindb atomically."""
import json
import math

import numpy as np

from braingo_core.errors import BuilderError
from braingo_core.models import get_model
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec
from braingo_core.storage.atomic import atomic_open

_COMP_FIELDS = {"length_um": 10.0, "diam_um": 1.0, "ra_ohm_cm": 100.0, "cm_uF_cm2": 1.0,
                "g_pas_S_cm2": 0.0, "e_pas_mV": -65.0}


def concat(chunks, dtype):
    """Concatenate record chunks keeping ``dtype`` exactly (numpy's promotion would drop the padding)."""
    out = np.zeros(sum(len(c) for c in chunks), dtype)
    i = 0
    for c in chunks:
        out[i:i + len(c)] = c
        i += len(c)
    return out


def _as_array(value, n, dtype, name):
    arr = np.asarray(value, dtype=dtype)
    if arr.ndim == 0:
        return np.full(n, arr, dtype=dtype)
    if arr.shape != (n,):
        raise BuilderError(f"{name}: expected {n} values, got shape {arr.shape}")
    return arr


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

    def add_neuron_type(self, name, model="lif", params=None):
        """Add a neuron type of model ``model`` (see braingo_core.models); returns its id."""
        self._check_new_name(name, self._type_names, "neuron type")
        m = get_model(model)
        vec = m.param_vector(params, where=f"neuron type '{name}'")
        if len(vec) > rec.MAX_TYPE_PARAMS:
            raise BuilderError(f"model '{model}' has {len(vec)} parameters; the format holds {rec.MAX_TYPE_PARAMS}")
        row = np.zeros((), rec.NeuronType)
        row["model"], row["n_params"] = m.code, len(vec)
        row["params"][:len(vec)] = vec
        self._types.append(row)
        self._type_names.append(name)
        return len(self._types) - 1

    def add_receptor(self, name, kind="conductance", e_rev_mV=0.0, tau_rise_ms=0.0, tau_decay_ms=5.0,
                     g_max_nS=1.0, v_th_mV=-20.0, delta_mV=5.0, k_per_ms=0.5):
        """Add a receptor (synapse kinetics) type; returns its id (< 256).

        ``kind``: "current" (weight in pA), "conductance" (weight in nS, driving force E_rev) or "graded"
        (I = w * g_max_nS * s * (V_post - E_rev), s relaxing to a sigmoid of V_pre; v_th_mV, delta_mV, k_per_ms).
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
        row = np.zeros((), rec.ReceptorType)
        row["kind"] = rec.RECEPTOR_KINDS[kind]
        for key, v in vals.items():
            row[key] = v
        self._receptors.append(row)
        self._receptor_names.append(name)
        return len(self._receptors) - 1

    # ---------------------------------------------------------------- neurons
    def add_neuron(self, name=None, neuron_type=0, region=None, cm_pF=250.0, g_leak_nS=12.5, e_leak_mV=-65.0,
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

    def add_neurons(self, n, neuron_type=0, names=None, region=None, cm_pF=250.0, g_leak_nS=12.5,
                    e_leak_mV=-65.0, pos_um=None, flags=0, compartments=None):
        """Add ``n`` neurons from scalars or arrays; returns their ids (int64[n])."""
        n = int(n)
        if n < 0:
            raise BuilderError(f"add_neurons: n must be >= 0, got {n}")
        tid = self._lookup(neuron_type, self._type_names, "neuron type")
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
        attr = np.zeros(n, rec.NeuronAttr)
        attr["id"] = ids
        attr["neuron_type"] = tid
        attr["region_id"] = rid
        for key, val in (("cm_pF", cm_pF), ("g_leak_nS", g_leak_nS), ("e_leak_mV", e_leak_mV)):
            arr = _as_array(val, n, np.float64, key)
            if not np.all(np.isfinite(arr)):
                raise BuilderError(f"add_neurons: {key} has non-finite values")
            attr[key] = arr
        if np.any(attr["cm_pF"] <= 0) or np.any(attr["g_leak_nS"] < 0):
            raise BuilderError("add_neurons: cm_pF must be > 0 and g_leak_nS >= 0")
        if pos_um is not None:
            pos = np.asarray(pos_um, float).reshape(n, 3)
            attr["x_um"], attr["y_um"], attr["z_um"] = pos[:, 0], pos[:, 1], pos[:, 2]
        attr["flags"] = _as_array(flags, n, np.uint8, "flags")
        n_comp = np.ones(n, np.int64)
        comp_rows = []
        for i in range(n):
            comps = compartments[i] if compartments is not None else None
            comp_rows.append(self._compartment_rows(int(ids[i]), comps))
            n_comp[i] = len(comp_rows[-1])
        attr["n_compartment"] = n_comp
        attr["first_comp_id"] = self._n_comps + np.concatenate(([0], np.cumsum(n_comp)[:-1]))
        self._comps.append(concat(comp_rows, rec.CompartmentAttr))
        self._n_comps += int(n_comp.sum())
        self._neurons.append(attr)
        self._names.extend(names if names is not None else [None] * n)
        self._n_neurons += n
        return ids

    def _compartment_rows(self, neuron_id, comps):
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
        local = _as_array(local, neuron_ids.size, np.int64, name)
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
            Transmission delay, rounded to ticks; None means one tick. Must be >= 0 and < 65536 ticks.
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
        w = _as_array(weight, n, np.float64, "synapse weight")
        if not np.all(np.isfinite(w)):
            raise BuilderError(f"synapse weight: non-finite value at index {int(np.argmin(np.isfinite(w)))}")
        if delay_ms is None:
            ticks = np.ones(n, np.int64)
        else:
            d = _as_array(delay_ms, n, np.float64, "synapse delay_ms")
            if not np.all(np.isfinite(d)) or np.any(d < 0):
                bad = d[~np.isfinite(d) | (d < 0)][0]
                raise BuilderError(f"synapse delay_ms: {bad} is invalid (must be finite and >= 0)")
            ticks = np.rint(d / self.dt_ms)
            if ticks.size and ticks.max() > fmt.MAX_DELAY_TICKS:     # before the int cast: 1e19 must not wrap
                raise BuilderError(f"synapse delay_ms: {d.max()} ms exceeds 65535 ticks of {self.dt_ms} ms")
        if isinstance(receptor, (str, int, np.integer)):
            rid = np.full(n, self._lookup(receptor, self._receptor_names, "receptor"), np.int64)
        else:
            rid = _as_array(receptor, n, np.int64, "synapse receptor")
            if rid.size and (rid.min() < 0 or rid.max() >= len(self._receptors)):
                raise BuilderError(f"synapse receptor: id out of range [0, {len(self._receptors)})")
        if syn_type not in rec.SYN_TYPES:
            raise BuilderError(f"synapse syn_type '{syn_type}' not in {sorted(rec.SYN_TYPES)}")
        cnt = _as_array(count, n, np.int64, "synapse count")
        if cnt.size and (cnt.min() < 0 or cnt.max() > 65535):
            raise BuilderError("synapse count must be in [0, 65535]")
        kinds = np.array([int(r["kind"]) for r in self._receptors] or [0], np.int64)
        s = np.zeros(n, rec.SynapseAttr)
        s["pre_neuron"], s["post_neuron"], s["base_weight"] = pre_ids, post_ids, w
        s["delay_ticks"], s["syn_type"], s["receptor_type"] = ticks, rec.SYN_TYPES[syn_type], rid
        s["syn_mode"] = (kinds[rid] != rec.RECEPTOR_CURRENT) if len(self._receptors) else 0
        s["plastic"] = _as_array(plastic, n, bool, "synapse plastic")
        s["count"] = cnt
        s["pre_comp"] = self._comp_ids(pre_comp, pre_ids, "synapse pre_comp")
        s["post_comp"] = self._comp_ids(post_comp, post_ids, "synapse post_comp")
        s["w_max"] = _as_array(w_max, n, np.float64, "synapse w_max")
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
        w = _as_array(weight_nS, ia.size, np.float64, "gap junction weight_nS")
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
        max_delay = int(syn["delay_ticks"].max()) if syn.size else 0
        meta = dict(self.metadata)
        meta.setdefault("neuron_names", self._names if any(n is not None for n in self._names) else None)
        meta["region_names"] = self._region_names
        meta["neuron_type_names"] = self._type_names
        meta["receptor_names"] = self._receptor_names
        try:
            meta_bytes = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()
        except (TypeError, ValueError) as exc:
            raise BuilderError(f"metadata is not JSON-serialisable: {exc}") from None
        segments = {"neurons": neurons, "compartments": comps, "row_ptr": row_ptr, "col_idx": col_idx,
                    "synapses": syn, "gap_junctions": gj, "regions": regions,
                    "neuron_types": concat([t.reshape(1) for t in self._types], rec.NeuronType),
                    "receptors": concat([r.reshape(1) for r in self._receptors], rec.ReceptorType),
                    "metadata": np.frombuffer(meta_bytes, np.uint8)}
        hdr = np.zeros((), fmt.Header)
        hdr["magic"], hdr["version"] = fmt.MAGIC, fmt.VERSION
        hdr["n_neurons"], hdr["n_compartments"] = len(neurons), len(comps)
        hdr["n_synapses"], hdr["n_gap_junctions"] = len(syn), len(gj)
        hdr["n_regions"], hdr["n_neuron_types"], hdr["n_receptors"] = len(regions), len(self._types), len(self._receptors)
        hdr["dt_ms"], hdr["max_delay_ticks"], hdr["ring_size"] = self.dt_ms, max_delay, max_delay + 1
        hdr["n_segments"], hdr["meta_len"] = len(fmt.SEGMENTS), len(meta_bytes)
        offset = fmt.HEADER_SIZE
        for slot, name in enumerate(fmt.SEGMENTS):
            arr = segments[name]
            entry = hdr["segments"][slot]
            entry["offset"], entry["length"], entry["count"] = offset, arr.nbytes, len(arr)
            entry["itemsize"], entry["checksum"] = arr.dtype.itemsize, fmt.checksum(arr)
            offset = fmt.align(offset + arr.nbytes)
        with atomic_open(path) as f:
            f.write(fmt.pack_header(hdr))
            for slot, name in enumerate(fmt.SEGMENTS):
                entry = hdr["segments"][slot]
                f.seek(int(entry["offset"]))
                if segments[name].nbytes:
                    segments[name].tofile(f)
            f.truncate(fmt.align(offset))
        return path

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
