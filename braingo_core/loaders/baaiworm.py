"""Load a BAAIWorm-layout C. elegans directory (``network/config.json`` + components) into a .braindb.

Works for the bundled ``data/celegans`` and for a real BAAIWorm ``eworm/`` checkout. What is read:

* ``network/config.json``: ``cell_info.cells_name_dic`` (id -> name), ``dir_info`` (paths, relative to
  the directory) and ``cnt_info`` (count -> contact formula, spec §7.2).
* ``dir_info.cell_param_dir/<NAME>.json`` for every neuron (spec §8; the reference 2-compartment cell
  of spec §6 unless the file lists ``compartments``).
* ``dir_info.adj_matrix_dir`` sheets ``synapse_sheet`` (directed, row = pre) and ``gap_junction_sheet``
  (symmetric), BAAIWorm layout: row 1 = post labels, column A = pre labels, blank = 0.
* ``dir_info.neuron_muscle_con`` sheet ``Sheet1`` (neuron rows x DL/DR/VL/VR muscle columns), optional.
* ``dir_info.neuron_info`` (CSV: class, transmitter, soma position per neuron); a directory without
  one (BAAIWorm's own) gets these from the bundled table, matched by name.

Database layout: one synapse record per nonzero pre->post entry (``count`` = raw count, graded,
weight = round(syn_a·tanh(syn_b·n·syn_cnt_scale))·syn_weight, receptor ``inh`` where the presynaptic
neuron's primary transmitter is GABA, else ``exc``); one gap-junction record per unordered pair of
distinct neurons (applied both ways; self-pairs dropped), weight_nS = round(gj_a·tanh(gj_b·n)·
gj_cnt_scale)·gj_weight_uS·1000. Contacts sit on the neurite (local compartment 1), as BAAIWorm
places them on neurite segments. Regions by soma position y (anterior negative): ``pharynx``
(pharyngeal class), ``head`` (y < -200 µm), ``body``, ``tail`` (y > 330 µm).
"""
import csv
import hashlib
import logging
import os
import stat
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from braingo_core import share
from braingo_core.errors import BrainGoError, LoaderError
from braingo_core.jsonio import parse_json
from braingo_core.loaders.xlsx import read_label_matrix, read_sheet_rows
from braingo_core.sim.celegans.params import load_cell_json
from braingo_core.storage import BrainDB, BrainDBBuilder
from braingo_core.storage import format as storage_format
from braingo_core.storage import records as rec

log = logging.getLogger(__name__)

#: Bumped when the database layout written by this module changes (part of the bundled cache key).
LAYOUT_VERSION = 1
#: Deepest JSON nesting accepted in network/config.json (the layout needs 3).
MAX_CONFIG_DEPTH = 64
CLASSES = ("sensory", "inter", "motor", "pharyngeal", "other")
MUSCLE_NAMES = [f"{q}{k:02d}" for q in ("DL", "DR", "VL", "VR") for k in range(1, 25)]
#: Per-contact weights when cnt_info lacks them: BAAIWorm's network construction (spec §7.4).
DEFAULT_SYN_WEIGHT, DEFAULT_GJ_WEIGHT_US = 0.5, 1e-5
CNT_KEYS = ("syn_a", "syn_b", "syn_cnt_scale", "gj_a", "gj_b", "gj_cnt_scale")
#: Graded receptors of spec §5.1 (between-cell variants); g_max in nS.
RECEPTORS = {"exc": dict(e_rev_mV=30.0, g_max_nS=0.49, v_th_mV=-20.0, delta_mV=5.0, k_per_ms=0.5),
             "inh": dict(e_rev_mV=-70.0, g_max_nS=0.2, v_th_mV=-20.0, delta_mV=5.0, k_per_ms=0.015000001)}
#: Weight scales the engine's graded model uses for this database unless a config sets them (metadata
#: ``graded_weight_scales``). At 1.0 (the per-contact weights as stored) the graded network saturates: median
#: soma at +11 mV with AVBL at 30 pA; at these scales it rests at about -54 mV (range -60..-48 mV).
GRADED_WEIGHT_SCALES = {"synapse_weight_scale": 0.1, "gap_weight_scale": 20.0}
NEURON_COLUMNS = ("name", "class", "neurotransmitter", "inhibitory", "x_um", "y_um", "z_um")
HEAD_Y_UM, TAIL_Y_UM = -200.0, 330.0


def bundled_data_dir():
    """Directory of the bundled dataset: $BRAINGO_CELEGANS_DIR, else ``data/celegans`` of the package's share
    directories (source checkout, ament index, sys.prefix: :mod:`braingo_core.share`)."""
    env = os.environ.get("BRAINGO_CELEGANS_DIR")
    candidates = [Path(env)] if env else [Path(d) / "data" / "celegans" for d in share.candidates()]
    for c in candidates:
        if (c / "network" / "config.json").is_file():
            return c
    raise LoaderError(f"bundled C. elegans data not found (looked in {[str(c) for c in candidates]}; "
                      f"AMENT_PREFIX_PATH={os.environ.get('AMENT_PREFIX_PATH', '')!r})")


@dataclass
class NeuronTable:
    """Per-neuron attributes in config order: class, primary transmitter, inhibitory flag, soma µm."""

    classes: list
    neurotransmitter: list
    inhibitory: np.ndarray
    pos_um: np.ndarray
    source: str


def read_neuron_table(path, names):
    """Read a neurons.csv (columns :data:`NEURON_COLUMNS`) for ``names``; LoaderError names file/line/column."""
    try:
        with open(path, newline="") as f:
            rows = list(csv.DictReader(f))
            header = rows[0].keys() if rows else []
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read neuron table ({exc.strerror})") from None
    missing = [c for c in NEURON_COLUMNS if c not in header]
    if missing:
        raise LoaderError(f"{path}: missing column(s) {missing}")
    by_name = {}
    for line, r in enumerate(rows, start=2):
        if r["class"] not in CLASSES:
            raise LoaderError(f"{path}, line {line}, column class: {r['class']!r} not in {list(CLASSES)}")
        try:
            pos = [float(r[k]) for k in ("x_um", "y_um", "z_um")]
            inh = int(r["inhibitory"])
        except ValueError as exc:
            raise LoaderError(f"{path}, line {line}: {exc}") from None
        by_name[r["name"]] = (r["class"], r["neurotransmitter"], inh, pos)
    absent = [n for n in names if n not in by_name]
    if absent:
        raise LoaderError(f"{path}: no row for neuron(s) {absent[:10]}")
    cols = list(zip(*(by_name[n] for n in names)))
    return NeuronTable(list(cols[0]), list(cols[1]), np.array(cols[2], bool), np.array(cols[3], float), str(path))


def read_neuron_muscle(path, names):
    """(neuron names, float64[k, 96] in :data:`MUSCLE_NAMES` order) from a neuron x muscle sheet."""
    rows = read_sheet_rows(path, "Sheet1")
    header = rows[0] if rows else ()
    cols = {j: h for j, h in enumerate(header) if j > 0 and h is not None}
    unknown = [h for h in cols.values() if h not in MUSCLE_NAMES]
    if unknown:
        raise LoaderError(f"{path}, sheet Sheet1, row 1: unknown muscle label(s) {unknown[:5]}")
    neurons, weights = [], []
    for i, row in enumerate(rows[1:], start=2):
        if not row or row[0] is None:
            continue
        if row[0] not in names:
            raise LoaderError(f"{path}, sheet Sheet1, cell A{i}: {row[0]!r} is not a neuron of the config")
        w = np.zeros(96)
        for j, m in cols.items():
            v = row[j] if j < len(row) else None
            if v is None:
                continue
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not v >= 0:
                raise LoaderError(f"{path}, sheet Sheet1, row {i}, column {m}: invalid count {v!r}")
            w[MUSCLE_NAMES.index(m)] = v
        neurons.append(row[0])
        weights.append(w)
    return neurons, np.array(weights).reshape(-1, 96)


class BAAIWormLoader:
    """A loaded BAAIWorm-layout directory; build a database with :meth:`into_braindb`."""

    def __init__(self, root, names, cells, chem, gap, cnt_info, table, muscle_neurons, muscle_weights):
        self.root, self.names, self.cells = root, names, cells
        self.chem, self.gap, self.cnt_info, self.table = chem, gap, cnt_info, table
        self.muscle_neurons, self.muscle_weights = muscle_neurons, muscle_weights

    @classmethod
    def load_from_dir(cls, directory):
        """Read and validate ``directory``; raises LoaderError naming the file, sheet and cell at fault."""
        root = Path(directory)
        cfg_path = root / "network" / "config.json"
        try:
            text = cfg_path.read_text(encoding="utf-8")
        except OSError as exc:
            raise LoaderError(f"{cfg_path}: cannot read config ({exc.strerror})") from None
        except UnicodeDecodeError as exc:
            raise LoaderError(f"{cfg_path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
        config = parse_json(text, cfg_path, LoaderError, MAX_CONFIG_DEPTH)
        if not isinstance(config, dict):
            raise LoaderError(f"{cfg_path}: expected a JSON object")
        names = _cell_names(config, cfg_path)
        dir_info = _section(config, "dir_info", cfg_path)
        cnt_info = _cnt_info(_section(config, "cnt_info", cfg_path), cfg_path)

        def path_of(key, required=True):
            if key not in dir_info:
                if required:
                    raise LoaderError(f"{cfg_path}: dir_info has no '{key}'")
                return None
            if not isinstance(dir_info[key], str) or not dir_info[key]:
                raise LoaderError(f"{cfg_path}: dir_info.{key} = {dir_info[key]!r:.80} is not a path string")
            return root / dir_info[key]

        cells = [_cell(path_of("cell_param_dir") / f"{n}.json") for n in names]
        xlsx = path_of("adj_matrix_dir")
        chem = read_label_matrix(xlsx, dir_info.get("synapse_sheet", "chemical"), names)
        gap = read_label_matrix(xlsx, dir_info.get("gap_junction_sheet", "gapjunction"), names)
        if not np.array_equal(gap, gap.T):
            i, j = np.argwhere(gap != gap.T)[0]
            raise LoaderError(f"{xlsx}, sheet {dir_info.get('gap_junction_sheet', 'gapjunction')}: not symmetric "
                              f"({names[i]}->{names[j]} = {gap[i, j]}, {names[j]}->{names[i]} = {gap[j, i]})")
        info = path_of("neuron_info", required=False) or bundled_data_dir() / "components/param/neuron/neurons.csv"
        table = read_neuron_table(info, names)
        nm_path = path_of("neuron_muscle_con", required=False)
        muscle_neurons, muscle_weights = read_neuron_muscle(nm_path, names) if nm_path else ([], np.zeros((0, 96)))
        log.info("loaded %s: %d neurons, %d chemical entries, %d gap-junction pairs", root, len(names),
                 np.count_nonzero(chem), np.count_nonzero(np.triu(gap, 1)))
        return cls(root, names, cells, chem, gap, cnt_info, table, muscle_neurons, muscle_weights)

    # ------------------------------------------------------------------ weights
    def synapse_weights(self, counts):
        """Dimensionless graded-synapse weight for raw counts (spec §7.2 contacts x per-contact weight)."""
        c = self.cnt_info
        contacts = np.round(c["syn_a"] * np.tanh(c["syn_b"] * np.asarray(counts, float) * c["syn_cnt_scale"]))
        return contacts * c["syn_weight"]

    def gap_weights_nS(self, counts):
        """Gap-junction conductance (nS) for raw symmetric-sheet counts (spec §7.2, §7.4)."""
        c = self.cnt_info
        contacts = np.round(c["gj_a"] * np.tanh(c["gj_b"] * np.asarray(counts, float)) * c["gj_cnt_scale"])
        return contacts * c["gj_weight_uS"] * 1000.0

    # ------------------------------------------------------------------ build
    def into_builder(self, builder=None, dt_ms=0.1):
        """Add this network to ``builder`` (a new BrainDBBuilder(dt_ms) if None) and return the builder."""
        b = builder or BrainDBBuilder(dt_ms=dt_ms)
        t = self.table
        y = t.pos_um[:, 1]
        region_of = np.where(np.array(t.classes) == "pharyngeal", "pharynx",
                             np.where(y < HEAD_Y_UM, "head", np.where(y > TAIL_Y_UM, "tail", "body")))
        regions = {r: b.add_region(r) for r in ("pharynx", "head", "body", "tail")}
        types = {c: b.add_neuron_type(c, model="celegans") for c in CLASSES}
        recs = {k: b.add_receptor(k, kind="graded", tau_decay_ms=0.0, **v) for k, v in RECEPTORS.items()}
        first = None
        for i, (name, cell) in enumerate(zip(self.names, self.cells)):
            comps, cm_pF, g_nS = _compartments(cell)
            flags = ((rec.FLAG_SENSORY if t.classes[i] == "sensory" else 0)
                     | (rec.FLAG_MOTOR if t.classes[i] == "motor" else 0)
                     | (rec.FLAG_INHIBITORY if t.inhibitory[i] else 0))
            nid = b.add_neuron(name=name, neuron_type=types[t.classes[i]], region=regions[region_of[i]],
                               cm_pF=cm_pF, g_leak_nS=g_nS, e_leak_mV=cell.soma["epas"], pos_um=t.pos_um[i],
                               flags=flags, compartments=comps)
            first = nid if first is None else first
        ids = first + np.arange(len(self.names))
        contact = np.array([min(1, len(c.parent) - 1) for c in self.cells])
        pre, post = np.nonzero(self.chem)
        counts = self.chem[pre, post]
        b.add_synapses(ids[pre], ids[post], self.synapse_weights(counts), np.zeros(len(pre)),
                       receptor=np.where(t.inhibitory[pre], recs["inh"], recs["exc"]), syn_type="graded",
                       count=counts, pre_comp=contact[pre], post_comp=contact[post])
        a, c = np.nonzero(np.triu(self.gap, 1))
        b.add_gap_junctions(ids[a], ids[c], self.gap_weights_nS(self.gap[a, c]), contact[a], contact[c])
        b.metadata.update(self._metadata())
        return b

    def into_braindb(self, path, dt_ms=0.1):
        """Write the network to ``path`` (atomic) and return the path."""
        return self.into_builder(dt_ms=dt_ms).write(path)

    def _metadata(self):
        t = self.table
        return {
            "source": {"format": "baaiworm", "dir": str(self.root), "cnt_info": self.cnt_info,
                       "neuron_table": t.source, "layout_version": LAYOUT_VERSION,
                       "gap_junctions": "one record per unordered pair of distinct neurons, applied both ways",
                       "synapse_weight": "round(syn_a*tanh(syn_b*count*syn_cnt_scale))*syn_weight"},
            "neuron_names": list(self.names),
            "neuron_classes": list(t.classes),
            "neurotransmitter": list(t.neurotransmitter),
            "inhibitory_neurons": [n for n, f in zip(self.names, t.inhibitory) if f],
            "motor_neurons": [n for n, c in zip(self.names, t.classes) if c == "motor"],
            "sensory_neurons": [n for n, c in zip(self.names, t.classes) if c == "sensory"],
            "muscle_names": MUSCLE_NAMES,
            "neuron_muscle": {"neurons": list(self.muscle_neurons), "weights": self.muscle_weights.tolist()},
            "positions_um": t.pos_um.tolist(),
            "graded_weight_scales": dict(GRADED_WEIGHT_SCALES),
        }


def _cell(path):
    """load_cell_json, with undecodable or too deeply nested files reported as LoaderErrors."""
    try:
        return load_cell_json(path)
    except (UnicodeDecodeError, RecursionError) as exc:
        raise LoaderError(f"{path}: not a readable cell JSON ({type(exc).__name__})") from None


def _section(config, key, where):
    value = config.get(key)
    if not isinstance(value, dict):
        raise LoaderError(f"{where}: missing or invalid '{key}' object")
    return value


def _cell_names(config, where):
    dic = _section(config, "cell_info", where).get("cells_name_dic")
    if not isinstance(dic, dict) or not dic:
        raise LoaderError(f"{where}: cell_info.cells_name_dic missing or empty")
    try:
        ids = sorted(int(k) for k in dic)
    except ValueError as exc:
        raise LoaderError(f"{where}: cell_info.cells_name_dic has a non-integer id ({exc})") from None
    if ids != list(range(len(ids))):
        raise LoaderError(f"{where}: cell_info.cells_name_dic ids must be 0..{len(ids) - 1} without gaps")
    names = [dic[str(i)] if str(i) in dic else dic[i] for i in ids]
    dup = {n for n in names if names.count(n) > 1}
    if dup or not all(isinstance(n, str) and n for n in names):
        raise LoaderError(f"{where}: cell_info.cells_name_dic has duplicate or empty names {sorted(dup)}")
    return names


def _cnt_info(cnt, where):
    out = {"syn_weight": DEFAULT_SYN_WEIGHT, "gj_weight_uS": DEFAULT_GJ_WEIGHT_US}
    for key in CNT_KEYS + ("syn_weight", "gj_weight_uS"):
        if key in cnt:
            v = cnt[key]
            if isinstance(v, bool) or not isinstance(v, (int, float)) or not np.isfinite(v) or v < 0:
                raise LoaderError(f"{where}: cnt_info.{key} = {v!r} is not a finite number >= 0")
            out[key] = float(v)
        elif key in CNT_KEYS:
            raise LoaderError(f"{where}: cnt_info has no '{key}'")
    return out


def _compartments(cell):
    """Builder compartment dicts, total membrane capacitance (pF) and passive leak (nS) of one cell."""
    arr = cell.compartment_arrays()
    area_um2 = np.pi * arr["diam_um"] * arr["length_um"]
    comps = [dict(parent=int(arr["parent"][k]), kind="soma" if cell.is_soma[k] else "neurite",
                  length_um=arr["length_um"][k], diam_um=arr["diam_um"][k], ra_ohm_cm=arr["ra_ohm_cm"][k],
                  cm_uF_cm2=arr["cm_uF_cm2"][k], g_pas_S_cm2=arr["g_pas_S_cm2"][k], e_pas_mV=arr["e_pas_mV"][k],
                  gbar_S_cm2=arr["gbar_S_cm2"][k]) for k in range(len(area_um2))]
    cm_pF = float(0.01 * np.sum(arr["cm_uF_cm2"] * area_um2))
    g_nS = float(10.0 * np.sum(arr["g_pas_S_cm2"] * area_um2))
    return comps, cm_pF, g_nS


def _data_hash(root):
    h = hashlib.sha256(f"layout {LAYOUT_VERSION} format {storage_format.VERSION}\n".encode())
    for module in (__file__, storage_format.__file__, rec.__file__):
        h.update(Path(module).read_bytes())
    for p in sorted(q for q in root.rglob("*") if q.is_file()):
        h.update(p.relative_to(root).as_posix().encode() + b"\0" + p.read_bytes())
    return h.hexdigest()[:16]


def _cached_is_valid(path, data_hash):
    """True if ``path`` is a regular file of this user, passes every BrainDB check and was built from
    the data whose hash is ``data_hash`` (recorded in its metadata ``source.data_hash``)."""
    try:
        st = os.lstat(path)
    except FileNotFoundError:
        return False
    if not stat.S_ISREG(st.st_mode) or st.st_uid != os.getuid():
        log.warning("%s is not a regular file of this user: rebuilding it", path)
        return False
    try:
        source = BrainDB(path).metadata.get("source")
    except BrainGoError as exc:
        log.warning("cached database %s is unusable (%s): rebuilding it", path, exc)
        return False
    if not isinstance(source, dict) or source.get("data_hash") != data_hash:
        log.warning("cached database %s was not built from the bundled data: rebuilding it", path)
        return False
    return True


def bundled_database(cache_dir=None):
    """Path of the bundled worm .braindb, built on first use and rebuilt when the data change.

    Before a cached file is used it is verified (every checksum and record check) and must record the
    hash of the source data it was built from; a corrupt, planted or foreign file is rebuilt in place.

    Parameters
    ----------
    cache_dir : str or Path, optional
        Where databases are cached; default $BRAINGO_CACHE_DIR or ``~/.cache/braingo``.

    Returns
    -------
    Path
        ``<cache_dir>/celegans-<hash>.braindb``, the hash covering every data file, this loader and the
        storage format.
    """
    root = bundled_data_dir()
    cache = Path(cache_dir or os.environ.get("BRAINGO_CACHE_DIR") or Path.home() / ".cache" / "braingo")
    cache.mkdir(parents=True, exist_ok=True)
    data_hash = _data_hash(root)
    path = cache / f"celegans-{data_hash}.braindb"
    if not _cached_is_valid(path, data_hash):
        log.info("building %s from %s", path, root)
        b = BAAIWormLoader.load_from_dir(root).into_builder()
        b.metadata["source"]["data_hash"] = data_hash
        b.write(path)
    return path
