"""Load any network from a CSV or JSON edge list (plus an optional neuron table) into a BrainDBBuilder.

Edge columns (CSV header or JSON ``synapses`` object keys): ``pre_id``, ``post_id``, ``weight``
(required), ``delay_ms``, ``syn_type`` (``spike``, ``graded`` or ``gap`` for a gap junction, weight
in nS), ``receptor_type`` (receptor name or id; blank = the first), ``count`` (optional); a blank
``delay_ms`` is one time step. Neurons are given by id or
name. Neuron table columns: ``name`` (required), ``model`` (default ``lif``), ``region``, ``class``,
``cm_pF``, ``g_leak_nS``, ``e_leak_mV``, ``x_um``, ``y_um``, ``z_um``. Without a table and with an
empty builder the neurons are created from the edges (ids: 0..max; names: in order of appearance).
Every error names the file, the line (or JSON index) and the column. Files must be UTF-8 without NUL
bytes, fields at most 128 KiB, JSON nested at most 64 deep; neuron ids are decimal integers, and neurons
created from the edges have ids below :data:`MAX_AUTO_NEURONS`; counts are integers in [0, 65535].
"""
import csv
import logging

import numpy as np

from braingo_core.errors import BuilderError, LoaderError
from braingo_core.jsonio import parse_json

log = logging.getLogger(__name__)

REQUIRED = ("pre_id", "post_id", "weight")
OPTIONAL = ("delay_ms", "syn_type", "receptor_type", "count")
NEURON_COLUMNS = ("name", "model", "region", "class", "cm_pF", "g_leak_nS", "e_leak_mV", "x_um", "y_um", "z_um")
SYN_TYPES = ("spike", "graded", "gap")
#: Receptors created on first use when the builder lacks them (conductance-based, nS weights).
DEFAULT_RECEPTORS = {"exc": dict(kind="conductance", e_rev_mV=0.0, tau_decay_ms=5.0),
                     "inh": dict(kind="conductance", e_rev_mV=-80.0, tau_decay_ms=10.0)}
CHUNK_ROWS = 1_000_000
#: Most neurons an edge list without a neuron table may create (ids 0 .. MAX_AUTO_NEURONS - 1).
MAX_AUTO_NEURONS = 10_000_000
#: Longest CSV field (characters) and deepest JSON nesting accepted.
MAX_FIELD_CHARS, MAX_JSON_DEPTH = 128 * 1024, 64
csv.field_size_limit(MAX_FIELD_CHARS)


class ConnectomeLoader:
    """Reads edge lists into a :class:`~braingo_core.storage.BrainDBBuilder` (bulk, chunked)."""

    def __init__(self, builder, default_model="lif"):
        self.b = builder
        self.default_model = default_model
        self.created = 0
        self.synapses = 0
        self.gap_junctions = 0

    # --------------------------------------------------------------- public
    @classmethod
    def load_csv(cls, path, builder, neurons=None, default_model="lif"):
        """Add the edges of CSV ``path`` (and the neuron table CSV ``neurons``) to ``builder``.

        Returns
        -------
        dict
            ``{"neurons": created, "synapses": n, "gap_junctions": g}``.

        Raises
        ------
        LoaderError
            Missing/unknown columns, unknown neuron ids or names, non-numeric or non-finite
            weights, negative or non-numeric delays, bad syn_type/receptor; names file, line, column.
        """
        self = cls(builder, default_model)
        if neurons is not None:
            with _open(neurons) as f:
                rows = _rows(f, neurons)
                header = _header(next(rows, None), neurons, NEURON_COLUMNS, ("name",))
                self._add_neuron_rows(neurons, [dict(zip(header, r), _line=n) for n, r in enumerate(rows, 2)])
        with _open(path) as f:
            rows = _rows(f, path)
            header = _header(next(rows, None), path, REQUIRED + OPTIONAL, REQUIRED)
            first_line = 2
            while True:
                chunk = [r for _, r in zip(range(CHUNK_ROWS), rows)]
                if not chunk:
                    break
                bad = next((k for k, r in enumerate(chunk) if len(r) != len(header)), None)
                if bad is not None:
                    raise LoaderError(f"{path}, line {first_line + bad}: {len(chunk[bad])} fields, "
                                      f"header has {len(header)}")
                self._add_edges(path, dict(zip(header, map(np.array, zip(*chunk)))), first_line, "line")
                first_line += len(chunk)
        return self._summary()

    @classmethod
    def load_json(cls, path, builder, default_model="lif"):
        """Add ``{"neurons": [{...}], "synapses": [{...}]}`` from JSON ``path`` to ``builder``.

        Same keys and errors as :meth:`load_csv`; errors name the list index (``synapses[12]``).
        """
        self = cls(builder, default_model)
        with _open(path) as f:
            doc = parse_json(f, path, LoaderError, MAX_JSON_DEPTH)
        if not isinstance(doc, dict) or not isinstance(doc.get("synapses", []), list):
            raise LoaderError(f"{path}: expected an object with a 'synapses' list")
        neurons = doc.get("neurons")
        if neurons is not None:
            if not isinstance(neurons, list) or not all(isinstance(r, dict) for r in neurons):
                raise LoaderError(f"{path}: 'neurons' must be a list of objects")
            for k, r in enumerate(neurons):
                _header(list(r), f"{path}: neurons[{k}]", NEURON_COLUMNS, ("name",))
            self._add_neuron_rows(path, [{**{c: _text(v) for c, v in r.items()}, "_line": k}
                                         for k, r in enumerate(neurons)], "neurons[{}]")
        edges = doc.get("synapses", [])
        keys = []
        for k, r in enumerate(edges):
            if not isinstance(r, dict):
                raise LoaderError(f"{path}: synapses[{k}] is not an object")
            keys = _header(list(r), f"{path}: synapses[{k}]", REQUIRED + OPTIONAL, REQUIRED)
            if k and set(keys) != set(edges[0]):
                raise LoaderError(f"{path}: synapses[{k}] has keys {sorted(keys)}, synapses[0] {sorted(edges[0])}")
        if edges:
            cols = {c: np.array([_text(r[c]) for r in edges]) for c in keys}
            self._add_edges(path, cols, 0, "synapses[]")
        return self._summary()

    # ------------------------------------------------------------- internals
    def _summary(self):
        return {"neurons": self.created, "synapses": self.synapses, "gap_junctions": self.gap_junctions}

    def _add_neuron_rows(self, path, rows, where="line {}"):
        b = self.b
        meta_classes = b.metadata.setdefault("neuron_classes", [None] * self._n_neurons())
        for r in rows:
            loc = f"{path}, {where.format(r['_line'])}"
            model = r.get("model") or self.default_model
            tid = self._type(model, loc)
            num = {}
            for c in ("cm_pF", "g_leak_nS", "e_leak_mV", "x_um", "y_um", "z_um"):
                if r.get(c):
                    num[c] = _number(r[c], f"{loc}, column {c}")
            region = r.get("region") or "default"
            try:
                rid = b.add_region(region) if region not in b.region_names else region
                b.add_neuron(name=r["name"], neuron_type=tid, region=rid,
                             pos_um=(num.get("x_um", 0.0), num.get("y_um", 0.0), num.get("z_um", 0.0)),
                             **{k: v for k, v in num.items() if not k.endswith("_um")})
            except BuilderError as exc:
                raise LoaderError(f"{loc}: {exc}") from None
            meta_classes.append(r.get("class") or None)
            self.created += 1

    def _type(self, model, where):
        try:
            return self.b.add_neuron_type(model, model=model) if model not in self.b.neuron_type_names else model
        except BuilderError as exc:
            raise LoaderError(f"{where}, column model: {exc}") from None

    def _n_neurons(self):
        return self.b.n_neurons

    def _ensure_neurons(self, path, pre, post):
        """Create neurons from the edges when the builder holds none."""
        if self._n_neurons():
            return
        tid = self._type(self.default_model, "neurons")
        ints = [_as_int(c) for c in (pre, post)]
        if all(i is not None for i in ints):
            n = int(max(i.max(initial=-1) for i in ints)) + 1
            if n > MAX_AUTO_NEURONS or min(i.min(initial=0) for i in ints) < 0:
                worst = "beyond int64" if min(i.min(initial=0) for i in ints) < 0 else n - 1
                raise LoaderError(f"{path}: neuron ids must be 0 .. {MAX_AUTO_NEURONS - 1} when the neurons are "
                                  f"created from the edges (found {worst}); give a neuron table for other ids")
            self.b.add_neurons(n, neuron_type=tid)
        else:
            names = list(dict.fromkeys(np.concatenate([pre, post]).tolist()))
            try:
                self.b.add_neurons(len(names), neuron_type=tid, names=names)
            except BuilderError as exc:
                raise LoaderError(f"{path}: {exc}") from None
        self.created += self._n_neurons()

    def _ids(self, path, col, values, first, unit):
        ints = _as_int(values)
        n = self._n_neurons()
        if ints is not None:
            bad = np.nonzero((ints < 0) | (ints >= n))[0]
            if len(bad):
                raise LoaderError(f"{_loc(path, first, bad[0], unit)}, column {col}: unknown neuron id "
                                  f"{ints[bad[0]]} (database has {n})")
            return ints
        uniq, inv = np.unique(values, return_inverse=True)
        ids = np.empty(len(uniq), np.int64)
        for k, name in enumerate(uniq.tolist()):
            try:
                ids[k] = self.b.neuron_index(int(name) if name.isascii() and name.isdigit() else name)
            except BuilderError:
                row = int(np.nonzero(inv == k)[0][0])
                what = f"neuron id {name}" if name.isascii() and name.isdigit() else f"neuron {name!r}"
                raise LoaderError(f"{_loc(path, first, row, unit)}, column {col}: unknown {what}") from None
        return ids[inv]

    def _add_edges(self, path, cols, first, unit):
        self._ensure_neurons(path, cols["pre_id"], cols["post_id"])
        pre = self._ids(path, "pre_id", cols["pre_id"], first, unit)
        post = self._ids(path, "post_id", cols["post_id"], first, unit)
        weight = _floats(path, cols["weight"], "weight", first, unit)
        delay = None
        if "delay_ms" in cols:     # a blank delay means one time step
            delay = _floats(path, np.where(cols["delay_ms"] == "", str(self.b.dt_ms), cols["delay_ms"]),
                            "delay_ms", first, unit)
        if delay is not None and (delay < 0).any():
            k = int(np.nonzero(delay < 0)[0][0])
            raise LoaderError(f"{_loc(path, first, k, unit)}, column delay_ms: negative delay {delay[k]}")
        count = self._counts(path, cols["count"], first, unit) if "count" in cols else 1
        stype = cols.get("syn_type", np.full(len(pre), "spike"))
        bad = np.nonzero(~np.isin(stype, SYN_TYPES))[0]
        if len(bad):
            raise LoaderError(f"{_loc(path, first, bad[0], unit)}, column syn_type: {str(stype[bad[0]])!r} "
                              f"not in {list(SYN_TYPES)}")
        receptor = self._receptors(path, cols.get("receptor_type"), len(pre), first, unit)
        gap = stype == "gap"
        try:
            for kind in ("spike", "graded"):
                sel = stype == kind
                if sel.any():
                    self.b.add_synapses(pre[sel], post[sel], weight[sel], None if delay is None else delay[sel],
                                        receptor=receptor[sel], syn_type=kind,
                                        count=count if np.isscalar(count) else count[sel])
            if gap.any():
                self.b.add_gap_junctions(pre[gap], post[gap], weight[gap])
        except BuilderError as exc:
            raise LoaderError(f"{path}: {exc}") from None
        self.synapses += int((~gap).sum())
        self.gap_junctions += int(gap.sum())

    @staticmethod
    def _counts(path, values, first, unit):
        c = _floats(path, values, "count", first, unit)
        bad = np.nonzero((c != np.round(c)) | (c < 0) | (c > 65535))[0]
        if len(bad):
            raise LoaderError(f"{_loc(path, first, bad[0], unit)}, column count: {str(values[bad[0]])!r} is not an "
                              f"integer in [0, 65535]")
        return c.astype(np.int64)

    def _receptors(self, path, values, n, first, unit):
        if not self.b.receptor_names:
            self.b.add_receptor("exc", **DEFAULT_RECEPTORS["exc"])
        names = self.b.receptor_names
        if values is None:
            return np.zeros(n, np.int64)
        values = np.where(values == "", names[0], values)     # blank: the first receptor
        uniq, inv = np.unique(values, return_inverse=True)
        ids = np.empty(len(uniq), np.int64)
        for k, name in enumerate(uniq.tolist()):
            if name.isascii() and name.isdigit() and int(name) < len(names):
                ids[k] = int(name)
            elif name in names:
                ids[k] = names.index(name)
            elif name in DEFAULT_RECEPTORS:
                ids[k] = self.b.add_receptor(name, **DEFAULT_RECEPTORS[name])
            else:
                row = int(np.nonzero(inv == k)[0][0])
                raise LoaderError(f"{_loc(path, first, row, unit)}, column receptor_type: unknown receptor "
                                  f"{name!r} (known: {[*names, *(d for d in DEFAULT_RECEPTORS if d not in names)]})")
        return ids[inv]


def _open(path):
    try:
        return open(path, newline="", encoding="utf-8")
    except OSError as exc:
        raise LoaderError(f"{path}: cannot open ({exc.strerror})") from None


def _rows(f, path):
    """csv rows of ``f``; undecodable text, NUL bytes and oversized fields become LoaderErrors naming the line."""
    reader = csv.reader(_no_nul(f, path))
    while True:
        try:
            yield next(reader)
        except StopIteration:
            return
        except UnicodeDecodeError as exc:
            raise LoaderError(f"{path}, line {reader.line_num + 1}: not UTF-8 text ({exc.reason})") from None
        except csv.Error as exc:
            raise LoaderError(f"{path}, line {reader.line_num}: {exc}") from None


def _no_nul(f, path):
    for n, line in enumerate(f, 1):
        if "\0" in line:
            raise LoaderError(f"{path}, line {n}: NUL byte")
        yield line


def _header(header, where, allowed, required):
    if not header:
        raise LoaderError(f"{where}: empty file, expected a header with {list(required)}")
    header = [h.strip() for h in header]
    dup = sorted({h for h in header if header.count(h) > 1})
    if dup:
        raise LoaderError(f"{where}: duplicate column(s) {dup}")
    missing = [c for c in required if c not in header]
    unknown = [c for c in header if c not in allowed]
    if missing or unknown:
        raise LoaderError(f"{where}: missing column(s) {missing}, unknown column(s) {unknown} "
                          f"(allowed: {list(allowed)})")
    return header


def _loc(path, first, k, unit):
    return f"{path}, synapses[{first + k}]" if unit == "synapses[]" else f"{path}, line {first + k}"


def _text(v):
    return "" if v is None else str(v)


def _number(text, where):
    try:
        v = float(text)
    except ValueError:
        raise LoaderError(f"{where}: {text!r} is not a number") from None
    if not np.isfinite(v):
        raise LoaderError(f"{where}: {text!r} is not finite")
    return v


def _as_int(values):
    """int64 array if every value is a non-negative ASCII decimal integer, else None (ids past int64: -1)."""
    if values.size == 0:
        return np.zeros(0, np.int64)
    text = values.astype(str)
    if not np.char.isdecimal(text).all():
        return None
    try:
        return np.where(np.char.str_len(text) > 18, "-1", text).astype(np.int64)
    except ValueError:              # decimal digits numpy does not parse (non-ASCII): treat as names
        return None


def _floats(path, values, col, first, unit):
    try:
        out = values.astype(np.float64)
    except ValueError:
        out = None
    if out is None or not np.isfinite(out).all():
        for k, v in enumerate(values.tolist()):
            _number(v, f"{_loc(path, first, k, unit)}, column {col}")
    return out
