"""Semantic checks of a .braindb's records: every value a simulator indexes with or divides by is in range.

Run by :class:`~braingo_core.storage.reader.BrainDB` on open (unless ``verify=False``) and by
:meth:`~braingo_core.storage.reader.BrainDB.verify`. Each failure is a BrainDBFormatError naming the file,
the segment, the field, the first offending record and its value. The synapse checks run chunk by chunk
(:class:`SynapseChecker`) over plain file reads, so checking a large file does not fill RSS with its pages.
"""
import json

import numpy as np

from braingo_core.errors import BrainDBFormatError
from braingo_core.jsonio import json_depth
from braingo_core.models import FIRST_USER_CODE, MODEL_BY_CODE
from braingo_core.storage import records as rec

#: Deepest nesting of JSON containers the metadata may have.
MAX_META_DEPTH = 32
_KNOWN_FLAGS = rec.FLAG_SENSORY | rec.FLAG_MOTOR | rec.FLAG_INHIBITORY


def _fail(path, segment, field, bad, values, what):
    k = int(np.flatnonzero(bad)[0])
    v = values[k]
    raise BrainDBFormatError(f"{path}: segment {segment}, record {k}, field {field} = "
                             f"{v.item() if hasattr(v, 'item') else v!r}: {what}")


def _require(path, segment, field, ok, values, what):
    """Raise naming the first record where the boolean array ``ok`` is False."""
    ok = np.asarray(ok)
    if not ok.all():
        _fail(path, segment, field, ~ok, np.asarray(values), what)


def _finite(path, segment, arr, fields, min_value=None):
    for f in fields:
        v = np.asarray(arr[f], np.float64)
        _require(path, segment, f, np.isfinite(v), v, "not finite")
        if min_value is not None:
            _require(path, segment, f, v >= min_value, v, f"must be >= {min_value}")


def check_padding(path, segment, arr):
    """Every byte of ``arr``'s records that belongs to no field is zero."""
    mask = rec.padding_mask(arr.dtype)
    if mask.any() and len(arr):
        raw = np.asarray(arr).view(np.uint8).reshape(len(arr), arr.dtype.itemsize)[:, mask]
        rows = raw.any(axis=1)
        if rows.any():
            k = int(np.flatnonzero(rows)[0])
            raise BrainDBFormatError(f"{path}: segment {segment}, record {k}: padding bytes are not zero (corrupt)")


def comp_in_range(comp, owner, first, count):
    """True where ``comp`` is NO_COMP or one of neuron ``owner``'s compartments."""
    comp = comp.astype(np.int64)
    lo = first[owner]
    return (comp == rec.NO_COMP) | ((comp >= lo) & (comp < lo + count[owner]))


def check_tables(db):
    """Neurons, compartments, gap junctions, regions, neuron types and receptors of ``db``."""
    p, h = db.path, db.header
    n, n_types, n_regions = db.neuron_count(), int(h["n_neuron_types"]), int(h["n_regions"])
    nr = db.neuron_attrs
    _require(p, "neurons", "id", nr["id"] == np.arange(n), nr["id"], "ids must be 0..n-1 in file order")
    count = np.asarray(nr["n_compartment"], np.int64)
    _require(p, "neurons", "n_compartment", count >= 1, count, "every neuron has >= 1 compartment")
    first = np.asarray(nr["first_comp_id"], np.int64)
    expect = np.concatenate(([0], np.cumsum(count)[:-1])) if n else count
    _require(p, "neurons", "first_comp_id", first == expect, first, "compartments must tile 0..n_compartments-1")
    if int(count.sum()) != db.compartment_count():
        raise BrainDBFormatError(f"{p}: segment neurons: n_compartment sums to {int(count.sum())}, header field "
                                 f"n_compartments is {db.compartment_count()}")
    _require(p, "neurons", "neuron_type", nr["neuron_type"] < n_types, nr["neuron_type"],
             f"not a neuron type id (< {n_types})")
    _require(p, "neurons", "region_id", nr["region_id"] < n_regions, nr["region_id"],
             f"not a region id (< {n_regions})")
    _finite(p, "neurons", nr, ("e_leak_mV", "x_um", "y_um", "z_um"))
    _finite(p, "neurons", nr, ("g_leak_nS",), 0.0)
    cm = np.asarray(nr["cm_pF"], np.float64)
    _require(p, "neurons", "cm_pF", np.isfinite(cm) & (cm > 0), cm, "must be finite and > 0")
    _require(p, "neurons", "flags", (nr["flags"] & (0xFF ^ _KNOWN_FLAGS)) == 0, nr["flags"], "unknown flag bits")
    _check_compartments(db, first, count)
    _check_gap_junctions(db, first, count)
    rg = db.regions
    _require(p, "regions", "id", rg["id"] == np.arange(n_regions), rg["id"], "ids must be 0..n_regions-1")
    parent = np.asarray(rg["parent"], np.int64)
    _require(p, "regions", "parent", (parent == -1) | ((parent >= 0) & (parent < np.arange(n_regions))), parent,
             "must be -1 or an earlier region")
    members = np.bincount(np.asarray(nr["region_id"], np.int64), minlength=n_regions)
    _require(p, "regions", "n_neurons", rg["n_neurons"] == members, rg["n_neurons"],
             "differs from the neurons' region_id counts")
    _check_types(db)
    for seg, arr in (("neurons", nr), ("compartments", db.compartments), ("gap_junctions", db.gap_junctions),
                     ("regions", rg), ("neuron_types", db.neuron_types), ("receptors", db.receptors)):
        check_padding(p, seg, arr)


def _check_compartments(db, first, count):
    p, c = db.path, db.compartments
    owner = np.repeat(np.arange(len(count)), count)
    _require(p, "compartments", "neuron_id", c["neuron_id"] == owner, c["neuron_id"],
             "differs from the neuron that owns the compartment")
    parent = np.asarray(c["parent"], np.int64)
    ids = np.arange(len(c))
    root = first[owner]
    ok = np.where(ids == root, parent == -1, (parent >= root) & (parent < ids))
    _require(p, "compartments", "parent", ok, parent, "a neuron's first compartment is its root (-1); others "
             "name an earlier compartment of the same neuron")
    _require(p, "compartments", "kind", c["kind"] < len(rec.COMPARTMENT_KINDS), c["kind"], "unknown kind")
    _finite(p, "compartments", c, ("length_um", "diam_um", "ra_ohm_cm", "cm_uF_cm2", "g_pas_S_cm2"), 0.0)
    _finite(p, "compartments", c, ("e_pas_mV",))
    g = np.asarray(c["gbar_S_cm2"], np.float64).reshape(len(c), -1)
    _require(p, "compartments", "gbar_S_cm2", (np.isfinite(g) & (g >= 0)).all(axis=1), g.min(axis=1, initial=0),
             "channel densities must be finite and >= 0")


def _check_gap_junctions(db, first, count):
    p, g, n = db.path, db.gap_junctions, db.neuron_count()
    for f in ("pre", "post"):
        _require(p, "gap_junctions", f, g[f] < n, g[f], f"not a neuron id (< {n})")
    for f, who in (("pre_comp", "pre"), ("post_comp", "post")):
        _require(p, "gap_junctions", f, comp_in_range(g[f], np.asarray(g[who], np.int64), first, count), g[f],
                 f"not a compartment of neuron {who}")
    _finite(p, "gap_junctions", g, ("weight_nS",), 0.0)
    _require(p, "gap_junctions", "flags", g["flags"] == 0, g["flags"], "version 1 defines no flags")
    _require(p, "gap_junctions", "post", (g["pre"] != g["post"]) | (g["pre_comp"] != g["post_comp"]), g["post"],
             "couples a compartment to itself")


def _check_neuron_params(db, type_n_params):
    """Per-neuron parameters: neuron < n, param < its type's parameter count, sorted by (neuron, param), finite."""
    p, own = db.path, db.neuron_params
    if not len(own):
        return
    neuron, param = np.asarray(own["neuron"], np.int64), np.asarray(own["param"], np.int64)
    n = db.neuron_count()
    _require(p, "neuron_params", "neuron", neuron < n, neuron, f"not a neuron id (< {n})")
    limit = type_n_params[np.asarray(db.neuron_attrs["neuron_type"], np.int64)[neuron]]
    _require(p, "neuron_params", "param", param < limit, param, "not a parameter of the neuron's model")
    key = neuron * (1 << 32) + param
    _require(p, "neuron_params", "neuron", np.concatenate(([True], np.diff(key) > 0)), neuron,
             "records must be sorted by (neuron, param) without repeats")
    _finite(p, "neuron_params", own, ("value",))
    check_padding(p, "neuron_params", own)


def _check_types(db):
    p, t = db.path, db.neuron_types
    codes = np.asarray(t["model"], np.int64)
    known = np.isin(codes, list(MODEL_BY_CODE))
    _require(p, "neuron_types", "model", known, codes,
             f"unknown model code (known: {sorted(MODEL_BY_CODE)}; codes from {FIRST_USER_CODE} on are user models: "
             f"register them with braingo_core.models.register_model, in the same order, before opening)")
    n_params = np.array([len(MODEL_BY_CODE[int(c)].params) for c in codes], np.int64)
    _require(p, "neuron_types", "n_params", t["n_params"] == n_params, t["n_params"],
             "differs from the model's parameter count")
    params = np.asarray(t["params"], np.float64).reshape(len(t), -1)
    used = np.arange(params.shape[1]) < n_params[:, None]
    bad = ~np.where(used, np.isfinite(params), params == 0)
    if bad.any():
        k, j = np.argwhere(bad)[0]
        raise BrainDBFormatError(f"{p}: segment neuron_types, record {k}, field params[{j}] = {params[k, j]!r}: "
                                 f"the model's parameters must be finite, the unused slots zero")
    schemes = np.array([len(MODEL_BY_CODE[int(c)].schemes) for c in codes], np.int64)
    _require(p, "neuron_types", "scheme", t["scheme"] < schemes, t["scheme"], "not one of the model's schemes")
    _check_neuron_params(db, n_params)
    r = db.receptors
    _require(p, "receptors", "kind", r["kind"] < len(rec.RECEPTOR_KINDS), r["kind"], "unknown receptor kind")
    _finite(p, "receptors", r, ("e_rev_mV", "v_th_mV", "delta_mV"))
    _finite(p, "receptors", r, ("tau_rise_ms", "tau_decay_ms", "g_max_nS", "k_per_ms"), 0.0)


class SynapseChecker:
    """Checks synapse records chunk by chunk against the CSR and the neuron/receptor tables of ``db``.

    Feed consecutive ``(synapses, col_idx)`` chunks to :meth:`check`, then call :meth:`finish`.
    """

    def __init__(self, db):
        self.db, self.path = db, db.path
        self.n = db.neuron_count()
        nr = db.neuron_attrs
        self.first = np.asarray(nr["first_comp_id"], np.int64)
        self.count = np.asarray(nr["n_compartment"], np.int64)
        kinds = np.asarray(db.receptors["kind"], np.int64)
        self.mode = (~np.isin(kinds, rec.CURRENT_KINDS)).astype(np.int64)
        self.max_delay = int(db.header["max_delay_ticks"])
        self.per_pre = np.zeros(self.n, np.int64)
        self.seen_max_delay = 0
        self.last_pre = 0
        self.start = 0

    def _req(self, field, ok, values, what):
        ok = np.asarray(ok)
        if not ok.all():
            k = int(np.flatnonzero(~ok)[0])
            raise BrainDBFormatError(f"{self.path}: segment synapses, record {self.start + k}, field {field} = "
                                     f"{np.asarray(values)[k].item()!r}: {what}")

    def check(self, s, col):
        """Check one chunk ``s`` (SynapseAttr records) and the matching ``col`` (col_idx values)."""
        n = self.n
        pre = np.asarray(s["pre_neuron"], np.int64)
        post = np.asarray(s["post_neuron"], np.int64)
        self._req("pre_neuron", pre < n, pre, f"not a neuron id (< {n})")
        self._req("post_neuron", post < n, post, f"not a neuron id (< {n})")
        if len(pre):
            prev = np.concatenate(([self.last_pre], pre[:-1]))
            self._req("pre_neuron", pre >= prev, pre, "synapses are not sorted by pre_neuron (CSR order)")
            self.last_pre = int(pre[-1])
        if not np.array_equal(col, s["post_neuron"]):
            k = int(np.flatnonzero(np.asarray(col) != s["post_neuron"])[0])
            raise BrainDBFormatError(f"{self.path}: segment col_idx, entry {self.start + k} = {int(col[k])} differs "
                                     f"from synapse {self.start + k}'s post_neuron {int(post[k])}")
        self.per_pre += np.bincount(pre, minlength=n)
        self._req("syn_type", s["syn_type"] <= rec.SYN_GRADED, s["syn_type"], "unknown synapse type")
        self._req("plastic", s["plastic"] <= 1, s["plastic"], "must be 0 or 1")
        rid = np.asarray(s["receptor_type"], np.int64)
        self._req("receptor_type", rid < len(self.mode), rid, f"not a receptor id (< {len(self.mode)})")
        self._req("syn_mode", s["syn_mode"] == self.mode[rid], s["syn_mode"],
                  "differs from its receptor's kind (0 current/delta, 1 conductance/graded)")
        delay = s["delay_ticks"]
        if len(delay):
            self.seen_max_delay = max(self.seen_max_delay, int(delay.max()))
        self._req("delay_ticks", delay <= self.max_delay, delay, f"exceeds header max_delay_ticks {self.max_delay}")
        for f in ("base_weight", "w_max"):
            self._req(f, np.isfinite(s[f]), s[f], "not finite")
        for f, who in (("pre_comp", pre), ("post_comp", post)):
            self._req(f, comp_in_range(s[f], who, self.first, self.count), s[f], "not a compartment of its neuron")
        self.start += len(pre)

    def finish(self, row_ptr):
        """Check the whole-segment invariants once every chunk has been seen."""
        p = self.path
        rp = np.asarray(row_ptr, np.uint64)
        if rp[0] != 0 or rp[-1] != self.start or np.any(rp[1:] < rp[:-1]):
            raise BrainDBFormatError(f"{p}: segment row_ptr is not a valid CSR index (row_ptr[0] = 0, "
                                     f"non-decreasing, row_ptr[-1] = n_synapses)")
        _require(p, "row_ptr", "row_ptr[i+1]-row_ptr[i]", np.diff(rp.astype(np.int64)) == self.per_pre,
                 np.diff(rp.astype(np.int64)), "differs from the number of synapses with that pre_neuron")
        if self.seen_max_delay != self.max_delay:
            raise BrainDBFormatError(f"{p}: header field max_delay_ticks = {self.max_delay} but the longest synapse "
                                     f"delay is {self.seen_max_delay} ticks")


def parse_metadata(raw, path):
    """The metadata dict from the segment bytes ``raw``; BrainDBFormatError if not a UTF-8 JSON object."""
    if not raw:
        return {}
    try:
        doc = json.loads(raw.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise BrainDBFormatError(f"{path}: segment metadata is not valid JSON (UTF-8): {str(exc)[:200]}") from None
    if not isinstance(doc, dict):
        raise BrainDBFormatError(f"{path}: segment metadata is not a JSON object")
    if json_depth(doc, MAX_META_DEPTH) > MAX_META_DEPTH:
        raise BrainDBFormatError(f"{path}: segment metadata nests deeper than {MAX_META_DEPTH} levels")
    return doc


def _str_list(v, length=None, nullable=False):
    return (isinstance(v, list) and (length is None or len(v) == length)
            and all(isinstance(x, str) or (nullable and x is None) for x in v))


def _num_rows(v, width=None):
    ok = isinstance(v, list) and all(isinstance(r, list) and (width is None or len(r) == width) for r in v)
    return ok and all(isinstance(x, (int, float)) and not isinstance(x, bool) and np.isfinite(x) for r in v for x in r)


def check_metadata(db, meta):
    """The metadata keys the builder and the loaders write have their documented JSON types and lengths."""
    h, n = db.header, db.neuron_count()
    lengths = {"region_names": int(h["n_regions"]), "neuron_type_names": int(h["n_neuron_types"]),
               "receptor_names": int(h["n_receptors"])}
    checks = [(k, _str_list(meta.get(k), m), f"a list of {m} strings") for k, m in lengths.items()]
    names = meta.get("neuron_names")
    checks.append(("neuron_names", names is None or _str_list(names, n, nullable=True),
                   f"null or a list of {n} strings/nulls"))
    named = [x for x in names or () if isinstance(x, str)]
    checks.append(("neuron_names", len(set(named)) == len(named) and not any(x.isdigit() or not x for x in named),
                   "names must be unique, non-empty and not all digits"))
    for key, length in (("neuron_classes", n), ("neurotransmitter", n)):
        if key in meta:
            checks.append((key, _str_list(meta[key], length, nullable=True), f"a list of {length} strings/nulls"))
    for key in ("motor_neurons", "sensory_neurons", "inhibitory_neurons", "muscle_names"):
        if key in meta:
            checks.append((key, _str_list(meta[key]), "a list of strings"))
    if "positions_um" in meta:
        checks.append(("positions_um", _num_rows(meta["positions_um"], 3) and len(meta["positions_um"]) == n,
                       f"{n} rows of 3 finite numbers"))
    if "neuron_muscle" in meta:
        nm = meta["neuron_muscle"]
        ok = isinstance(nm, dict) and _str_list(nm.get("neurons")) and _num_rows(nm.get("weights"))
        ok = ok and len(nm["weights"]) == len(nm["neurons"])
        width = len(meta["muscle_names"]) if _str_list(meta.get("muscle_names")) else None
        ok = ok and all(len(r) == width and min(r, default=0) >= 0 for r in nm["weights"]) if width else ok
        checks.append(("neuron_muscle", ok, "{neurons: [str], weights: one row of counts >= 0 per muscle name}"))
    for key in ("provenance", "source"):
        if key in meta:
            checks.append((key, isinstance(meta[key], dict), "a JSON object"))
    for key, ok, what in checks:
        if not ok:
            raise BrainDBFormatError(f"{db.path}: segment metadata, key {key}: expected {what}")
