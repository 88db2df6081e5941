"""Read and validate BAAIWorm cell parameter JSON files and compartment trees (spec §6, §8).

A cell JSON holds a ``soma`` block (Ra, cm, gpas, epas and the 16 ``gb<channel>`` densities) and a
``neurite`` block (Ra, cm, gpas, epas). Without more, the cell is the 2-compartment reference cell of
spec §6. An optional ``compartments`` list replaces that geometry::

    "compartments": [{"parent": -1, "kind": "soma", "L": 3.0, "diam": 3.0},
                     {"parent": 0, "kind": "neurite", "L": 150.0, "diam": 0.5}]

(``parent``: index in the list, -1 for the root; ``kind`` soma gets the soma block and the channels,
anything else the neurite block and no channels; L, diam in µm.)
"""
import json
import math
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from braingo_core.errors import LoaderError
from braingo_core.storage.records import CELEGANS_CHANNELS

PASSIVE_KEYS = ("Ra", "cm", "gpas", "epas")
DENSITY_KEYS = tuple("gb" + c for c in CELEGANS_CHANNELS)
#: Reference cell (spec §6): (kind, L_um, diam_um), the neurite's 0-end on the soma's 1-end.
REFERENCE_GEOMETRY = (("soma", 3.0, 3.0), ("neurite", 150.0, 0.5))


@dataclass(frozen=True)
class CellParams:
    """One cell's parameters and compartment tree.

    Attributes
    ----------
    name : str
        Cell name (file stem).
    soma, neurite : dict
        Passive parameters (``Ra`` Ω·cm, ``cm`` µF/cm², ``gpas`` S/cm², ``epas`` mV); ``soma`` also holds
        the 16 ``gb*`` densities (S/cm²).
    parent : int64[n_comp]
        Parent compartment (local index, -1 for the root; parent < child).
    is_soma : bool[n_comp]
    length_um, diam_um : float64[n_comp]
    source : str
        Where the parameters came from (file path), for messages.
    json_text : str
        The file's text, verbatim.
    """

    name: str
    soma: dict
    neurite: dict
    parent: np.ndarray
    is_soma: np.ndarray
    length_um: np.ndarray
    diam_um: np.ndarray
    source: str
    json_text: str = ""

    @property
    def gbar_S_cm2(self):
        """float64[16] soma channel densities in ``records.CELEGANS_CHANNELS`` order."""
        return np.array([self.soma[k] for k in DENSITY_KEYS], dtype=np.float64)

    def compartment_arrays(self):
        """Per-compartment arrays: dict with parent, length_um, diam_um, ra_ohm_cm, cm_uF_cm2,
        g_pas_S_cm2, e_pas_mV (float64[n_comp]) and gbar_S_cm2 (float64[n_comp, 16], zero off the soma)."""
        n = len(self.parent)
        out = {"parent": self.parent.copy(), "length_um": self.length_um.copy(), "diam_um": self.diam_um.copy()}
        for key, name in zip(PASSIVE_KEYS, ("ra_ohm_cm", "cm_uF_cm2", "g_pas_S_cm2", "e_pas_mV")):
            out[name] = np.where(self.is_soma, self.soma[key], self.neurite[key]).astype(np.float64)
        out["gbar_S_cm2"] = np.zeros((n, len(DENSITY_KEYS)))
        out["gbar_S_cm2"][self.is_soma] = self.gbar_S_cm2
        return out


def _number(block, key, where, nonneg=False, positive=False):
    if key not in block:
        raise LoaderError(f"{where}: missing key '{key}'")
    value = block[key]
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        raise LoaderError(f"{where}.{key}: expected a number, got {value!r}")
    value = float(value)
    if not math.isfinite(value):
        raise LoaderError(f"{where}.{key}: non-finite value {value}")
    if positive and value <= 0.0:
        raise LoaderError(f"{where}.{key}: must be > 0, got {value}")
    if nonneg and value < 0.0:
        raise LoaderError(f"{where}.{key}: negative conductance {value}")
    return value


def _passive(block, where):
    if not isinstance(block, dict):
        raise LoaderError(f"{where}: expected an object, got {type(block).__name__}")
    return {"Ra": _number(block, "Ra", where, positive=True), "cm": _number(block, "cm", where, positive=True),
            "gpas": _number(block, "gpas", where, nonneg=True), "epas": _number(block, "epas", where)}


def check_tree(parent, where, neuron=None):
    """Check that ``parent`` (int[n], -1 = root, indices into the same array) forms trees.

    Parameters
    ----------
    parent : array of int
        Parent index of every compartment (-1 for a root).
    where : str
        Source named in error messages (file, database).
    neuron : array of int, optional
        Owning neuron per compartment; each neuron must then hold exactly one root and parents must
        belong to the same neuron. Without it, the whole array must be a single tree.

    Raises
    ------
    LoaderError
        Out-of-range parent, a cycle, several or no roots, or a parent in another neuron.
    """
    parent = np.asarray(parent, dtype=np.int64)
    n = len(parent)
    owner = np.zeros(n, dtype=np.int64) if neuron is None else np.asarray(neuron, dtype=np.int64)
    bad = np.nonzero((parent < -1) | (parent >= n) | (parent == np.arange(n)))[0]
    if len(bad):
        raise LoaderError(f"{where}: compartment {bad[0]} has invalid parent {parent[bad[0]]}")
    linked = parent >= 0
    cross = np.nonzero(linked & (owner[np.where(linked, parent, 0)] != owner))[0]
    if len(cross):
        i = cross[0]
        raise LoaderError(f"{where}: compartment {i} (neuron {owner[i]}) has parent {parent[i]} "
                          f"in neuron {owner[parent[i]]}")
    roots = np.bincount(owner[~linked], minlength=owner.max() + 1 if n else 0)
    present = np.unique(owner)
    wrong = present[roots[present] != 1]
    if len(wrong):
        raise LoaderError(f"{where}: neuron {wrong[0]} has {roots[wrong[0]]} root compartments "
                          f"(a compartment tree needs exactly one)")
    # Walking up from every node must reach a root within n steps, otherwise there is a cycle.
    node = np.arange(n)
    for _ in range(n):
        node = np.where(node >= 0, parent[np.maximum(node, 0)], -1)
        if (node < 0).all():
            return
    cyc = np.nonzero(node >= 0)[0][0]
    raise LoaderError(f"{where}: compartment graph is not a tree (cycle through compartment {cyc})")


def _geometry(spec, where):
    if spec is None:
        kinds, lengths, diams = zip(*REFERENCE_GEOMETRY)
        return np.array([-1, 0]), np.array([k == "soma" for k in kinds]), np.array(lengths), np.array(diams)
    if not isinstance(spec, list) or not spec:
        raise LoaderError(f"{where}.compartments: expected a non-empty list")
    parent, is_soma, lengths, diams = [], [], [], []
    for i, comp in enumerate(spec):
        w = f"{where}.compartments[{i}]"
        if not isinstance(comp, dict) or not isinstance(comp.get("parent"), int):
            raise LoaderError(f"{w}: expected an object with an integer 'parent'")
        parent.append(comp["parent"])
        is_soma.append(comp.get("kind", "neurite") == "soma")
        lengths.append(_number(comp, "L", w, positive=True))
        diams.append(_number(comp, "diam", w, positive=True))
    check_tree(parent, f"{where}.compartments")
    parent = np.array(parent)
    if parent[0] != -1 or (parent[1:] >= np.arange(1, len(parent))).any():
        raise LoaderError(f"{where}.compartments: list parents before children, root first")
    return parent, np.array(is_soma), np.array(lengths, dtype=float), np.array(diams, dtype=float)


def parse_cell(data, where, name="cell", json_text=""):
    """Validate a parsed cell JSON object (see module docstring) into :class:`CellParams`.

    Raises
    ------
    LoaderError
        Missing block or key, non-number, non-finite value, negative conductance, non-positive
        Ra/cm/L/diam, bad compartment tree. The message names ``where`` and the key.
    """
    if not isinstance(data, dict):
        raise LoaderError(f"{where}: expected a JSON object")
    for block in ("soma", "neurite"):
        if block not in data:
            raise LoaderError(f"{where}: missing block '{block}'")
    soma = _passive(data["soma"], f"{where}:soma")
    for key in DENSITY_KEYS:
        soma[key] = _number(data["soma"], key, f"{where}:soma", nonneg=True)
    neurite = _passive(data["neurite"], f"{where}:neurite")
    parent, is_soma, lengths, diams = _geometry(data.get("compartments"), where)
    return CellParams(name, soma, neurite, parent, is_soma, lengths, diams, where, json_text)


def load_cell_json(path):
    """Read and validate one cell parameter file ``path`` -> :class:`CellParams` (name = file stem).

    Raises
    ------
    LoaderError
        Unreadable or invalid JSON, or any check of :func:`parse_cell`.
    """
    path = Path(path)
    try:
        text = path.read_text()
    except OSError as exc:
        raise LoaderError(f"{path}: cannot read cell file ({exc.strerror})") from None
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise LoaderError(f"{path}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}") from None
    return parse_cell(data, str(path), name=path.stem, json_text=text)
