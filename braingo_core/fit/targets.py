"""Recorded activity to fit: a correlation matrix of named neurons, read from a directory or a CSV/NPZ file.

Accepted inputs (``load_target(path, db)``):

* a directory in the layout of a BAAIWorm checkout's ``components/cb2022_data`` (or the checkout's
  ``eworm`` root): ``Ca_corr_mat.txt`` (square, whitespace separated, NaN for unrecorded pairs),
  ``Ca_corr_mat_cell_name.txt`` (tab-separated names in matrix order) and, for the frame interval,
  ``Ca_traces_time.txt`` (frame times, s);
* ``.npz`` with ``names`` and either ``corr`` [r, r] or ``traces`` [r neurons, F frames] plus ``frame_s``;
* ``.csv`` of a correlation matrix (header: an empty first cell, then the names; each row: name, values)
  or of traces (header: ``name``, then the frame times in s; each row: name, one value per frame).

Names are matched to the database after :func:`~braingo_core.fit.tables.canonical_name` (``DA1`` is
``DA01``); names the database does not know are dropped and listed in ``Target.unknown``. A matrix that is
not square, a neuron whose correlations are all NaN, fewer than :data:`MIN_MATCHED` matched neurons, or a
missing file raise :class:`~braingo_core.errors.LoaderError` naming the file.
"""
import csv
import hashlib
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from braingo_core.errors import LoaderError
from braingo_core.fit.tables import canonical_name

MIN_MATCHED = 10
#: Frame interval (s) assumed for a correlation matrix whose file does not state one.
DEFAULT_FRAME_S = 1.0 / 3.0
CB2022 = ("Ca_corr_mat.txt", "Ca_corr_mat_cell_name.txt", "Ca_traces_time.txt")


@dataclass
class Target:
    """A recorded correlation matrix over database neurons.

    Attributes
    ----------
    names : list of str [r]   database names of the recorded neurons, in matrix order
    ids : int64[r]            their database ids
    corr : float64[r, r]      recorded Pearson correlations (NaN: pair not recorded); diagonal 1
    frame_s : float           frame interval of the recording (s)
    source : str              file or directory read
    sha256 : str              hash of the bytes read (every file, in order)
    unknown : list of str     names in the file that the database does not have
    """

    names: list
    ids: np.ndarray
    corr: np.ndarray
    frame_s: float
    source: str
    sha256: str
    unknown: list = field(default_factory=list)

    def valid_pairs(self, neurons=None):
        """(i, j) index arrays of the off-diagonal non-NaN pairs i < j, optionally among row indices ``neurons``."""
        r = len(self.names)
        keep = np.ones(r, bool) if neurons is None else np.isin(np.arange(r), neurons)
        i, j = np.triu_indices(r, 1)
        ok = ~np.isnan(self.corr[i, j]) & keep[i] & keep[j]
        return i[ok], j[ok]


def _read_bytes(paths, h):
    for p in paths:
        try:
            h.update(Path(p).read_bytes())
        except OSError as exc:
            raise LoaderError(f"{p}: cannot read ({exc.strerror})") from None


def _cb2022(root):
    for d in (root, root / "components" / "cb2022_data"):
        if all((d / f).is_file() for f in CB2022[:2]):
            return d
    raise LoaderError(f"{root}: no {CB2022[0]} and {CB2022[1]} here or in components/cb2022_data")


def _load_dir(root, h):
    d = _cb2022(root)
    files = [d / f for f in CB2022 if (d / f).is_file()]
    _read_bytes(files, h)
    try:
        corr = np.loadtxt(d / CB2022[0], ndmin=2)
        names = [n for n in (d / CB2022[1]).read_text().replace("\n", "\t").split("\t") if n.strip()]
        frame_s = DEFAULT_FRAME_S
        if (d / CB2022[2]).is_file():
            times = np.loadtxt(d / CB2022[2], ndmin=1)
            frame_s = float(np.median(np.diff(times)))
    except ValueError as exc:
        raise LoaderError(f"{d}: unreadable number ({exc})") from None
    return names, corr, frame_s, str(d)


def _traces_corr(traces, where):
    """Pearson correlation of the rows of ``traces`` over the frames where both are finite."""
    x = np.asarray(traces, np.float64)
    if x.ndim != 2 or x.shape[1] < 3:
        raise LoaderError(f"{where}: traces must be neurons x frames with at least 3 frames, got {x.shape}")
    ok = np.isfinite(x)
    r = x.shape[0]
    corr = np.full((r, r), np.nan)
    for a in range(r):
        for b in range(a, r):
            m = ok[a] & ok[b]
            if m.sum() >= 3 and np.std(x[a, m]) > 0 and np.std(x[b, m]) > 0:
                corr[a, b] = corr[b, a] = np.corrcoef(x[a, m], x[b, m])[0, 1]
    return corr


def _load_npz(path, h):
    _read_bytes([path], h)
    try:
        z = np.load(path, allow_pickle=False)
        names = [str(n) for n in z["names"]]
        if "corr" in z:
            return names, np.asarray(z["corr"], np.float64), float(z["frame_s"]) if "frame_s" in z else None
        if "traces" in z and "frame_s" in z:
            return names, _traces_corr(z["traces"], path), float(z["frame_s"])
    except (KeyError, ValueError, OSError) as exc:
        raise LoaderError(f"{path}: not a readable target .npz ({exc})") from None
    raise LoaderError(f"{path}: needs 'names' and either 'corr' or 'traces' + 'frame_s'")


def _load_csv(path, h):
    _read_bytes([path], h)
    with open(path, newline="") as f:
        rows = [r for r in csv.reader(f) if r]
    if len(rows) < 2:
        raise LoaderError(f"{path}: needs a header row and at least one data row")
    head, body = rows[0], rows[1:]
    names = [r[0].strip() for r in body]
    try:
        values = np.array([[float(v) if v.strip() else np.nan for v in r[1:]] for r in body], np.float64)
    except ValueError as exc:
        raise LoaderError(f"{path}: {exc}") from None
    if len({len(r) for r in body}) != 1:
        raise LoaderError(f"{path}: rows have different lengths")
    if head[0].strip().lower() == "name":
        try:
            times = np.array([float(t) for t in head[1:]])
        except ValueError as exc:
            raise LoaderError(f"{path}: trace header must hold frame times (s): {exc}") from None
        if times.size < 3 or np.any(np.diff(times) <= 0):
            raise LoaderError(f"{path}: frame times in the header must increase (at least 3 frames)")
        return names, _traces_corr(values, path), float(np.median(np.diff(times)))
    if [c.strip() for c in head[1:]] != names:
        raise LoaderError(f"{path}: a correlation CSV's header names must equal its row names (or start the "
                          "header with 'name' for traces)")
    return names, values, None


def load_target(path, db, frame_s=None):
    """Read a recording (see the module docstring) and match its neurons to ``db``'s; returns a :class:`Target`.

    ``frame_s`` overrides the frame interval (s); without one in the file, :data:`DEFAULT_FRAME_S` is used.
    """
    p = Path(path)
    h = hashlib.sha256()
    if p.is_dir():
        names, corr, fs, source = _load_dir(p, h)
    elif not p.exists():
        raise LoaderError(f"{p}: no such file or directory")
    elif p.suffix.lower() == ".npz":
        (names, corr, fs), source = _load_npz(p, h), str(p)
    elif p.suffix.lower() == ".csv":
        (names, corr, fs), source = _load_csv(p, h), str(p)
    else:
        raise LoaderError(f"{p}: unknown target format (a directory, .csv or .npz)")
    corr = np.asarray(corr, np.float64)
    if corr.ndim != 2 or corr.shape[0] != corr.shape[1]:
        raise LoaderError(f"{source}: correlation matrix is not square: shape {corr.shape}")
    if corr.shape[0] != len(names):
        raise LoaderError(f"{source}: {len(names)} names for a {corr.shape[0]} x {corr.shape[0]} matrix")
    if len(set(names)) != len(names):
        dup = sorted({n for n in names if names.count(n) > 1})
        raise LoaderError(f"{source}: duplicate neuron name(s) {dup}")
    off = corr.copy()
    np.fill_diagonal(off, np.nan)
    empty = [names[i] for i in range(len(names)) if np.all(np.isnan(off[i]))]
    if empty:
        raise LoaderError(f"{source}: every correlation of neuron(s) {empty[:10]} is NaN")
    by_canon = {canonical_name(n): i for i, n in enumerate(db.get_all_neuron_names())}
    rows, ids, unknown = [], [], []
    for k, n in enumerate(names):
        i = by_canon.get(canonical_name(n))
        if i is None:
            unknown.append(n)
        else:
            rows.append(k)
            ids.append(i)
    if len(rows) < MIN_MATCHED:
        raise LoaderError(f"{source}: only {len(rows)} of {len(names)} names match neurons of {db.path} "
                          f"(need {MIN_MATCHED}); unknown: {unknown[:10]}")
    sub = corr[np.ix_(rows, rows)]
    np.fill_diagonal(sub, 1.0)
    db_names = db.get_all_neuron_names()
    fs = float(frame_s) if frame_s is not None else (fs if fs is not None else DEFAULT_FRAME_S)
    if not np.isfinite(fs) or fs <= 0:
        raise LoaderError(f"{source}: frame interval {fs!r} s is not a positive number")
    return Target([db_names[i] for i in ids], np.asarray(ids, np.int64), sub, fs, source, h.hexdigest(), unknown)
