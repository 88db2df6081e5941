"""Brain snapshots of a node: confined to one root folder, never over a stranger's file, rolling ones pruned.

``SnapshotStore(sim, root)``
    ``root``: the folder (resolved once, symlinks followed) every snapshot the node writes must lie in.
    ``confine(path, field, folder=False) -> str``: ``path`` (relative to the root, or absolute) resolved;
    ValueError naming ``field`` when it leaves the root (``..``, a symlink out) or is of the wrong kind
    (a folder where a file is wanted, or the reverse).
    ``save(path)``: write the snapshot; an existing file is replaced only if it is a snapshot of this
    database (magic and fingerprint in its header), else ValueError.
    ``save_rolling(directory, keep) -> str``: tick-numbered file in ``directory`` (created inside the root),
    then the rolling snapshots this store wrote beyond the newest ``keep`` are deleted; a file is deleted only
    when its name, size, inode and mtime are still those this store wrote.
    ``latest(path)``: :func:`latest_snapshot`.
``latest_snapshot(path)``, ``list_snapshots(directory)``, ``snapshot_path(directory, tick)``
    Resolve ``resume_from`` (a file, or the newest rolling snapshot of a folder); the rolling files of a folder,
    oldest first; the name of the rolling file of a tick.

Each file is written by ``Simulation.save_snapshot``, which is atomic (temp file + rename), so a process killed
mid-write leaves the previous snapshots intact and :func:`latest_snapshot` never returns a half-written file.
"""
import glob
import logging
import os

import numpy as np

from braingo_core.storage.snapshot import HEADER, MAGIC

logger = logging.getLogger(__name__)

SUFFIX = ".braindb.snapshot"
_PREFIX = "brain_"


def snapshot_path(directory, tick):
    """Path of the rolling snapshot for ``tick`` (zero-padded, so names sort by tick)."""
    return os.path.join(directory, f"{_PREFIX}{int(tick):015d}{SUFFIX}")


def list_snapshots(directory):
    """Rolling snapshots in ``directory``, oldest first."""
    return sorted(glob.glob(os.path.join(glob.escape(directory), f"{_PREFIX}*{SUFFIX}")))


def latest_snapshot(path):
    """Resolve ``resume_from``: a snapshot file as is, or the newest rolling snapshot in a folder.

    Raises
    ------
    FileNotFoundError
        ``path`` does not exist, or is a folder without snapshots.
    """
    if os.path.isdir(path):
        found = list_snapshots(path)
        if not found:
            raise FileNotFoundError(f"{path}: no {_PREFIX}*{SUFFIX} snapshots in this folder")
        return found[-1]
    if not os.path.isfile(path):
        raise FileNotFoundError(f"{path}: no such snapshot file or folder")
    return path


def snapshot_fingerprint(path):
    """The database fingerprint in the header of snapshot ``path``, or None if it is not a snapshot file."""
    try:
        with open(path, "rb") as f:
            raw = f.read(HEADER.itemsize)
    except OSError:
        return None
    if len(raw) < HEADER.itemsize:
        return None
    header = np.frombuffer(raw, HEADER)[0]
    if bytes(header["magic"]) != MAGIC:
        return None
    return bytes(header["fingerprint"]).decode("ascii", errors="replace")


def _identity(path):
    st = os.stat(path, follow_symlinks=False)
    return st.st_size, st.st_ino, st.st_mtime_ns


class SnapshotStore:
    """Where a brain node may write and delete snapshots (see the module docstring)."""

    def __init__(self, sim, root):
        self.sim = sim
        self.root = os.path.realpath(root or ".")
        self._written = {}    # path -> (size, inode, mtime_ns) of the rolling snapshots this store wrote

    def confine(self, path, field, folder=False):
        """``path`` resolved inside the root (see the module docstring)."""
        if not isinstance(path, str) or not path.strip() or "\0" in path:
            raise ValueError(f"{field}: need a non-empty path, got {path!r}")
        resolved = os.path.realpath(os.path.join(self.root, path))
        if os.path.commonpath([resolved, self.root]) != self.root or (resolved == self.root and not folder):
            raise ValueError(f"{field}: {path!r} resolves to {resolved}, outside snapshot_root {self.root}")
        if folder and os.path.exists(resolved) and not os.path.isdir(resolved):
            raise ValueError(f"{field}: {resolved} exists and is not a folder")
        if not folder and os.path.isdir(resolved):
            raise ValueError(f"{field}: {resolved} is a folder")
        return resolved

    def latest(self, path):
        """:func:`latest_snapshot` of ``path``."""
        return latest_snapshot(path)

    def save(self, path):
        """Write the snapshot to ``path`` (already confined); refuse to replace anything but this brain's."""
        if os.path.lexists(path):
            if os.path.islink(path) or snapshot_fingerprint(path) != self.sim.db.fingerprint:
                raise ValueError(f"{path}: exists and is not a snapshot of this database; not overwritten")
        self.sim.save_snapshot(path)
        return path

    def save_rolling(self, directory, keep):
        """Save under the current tick in ``directory`` (confined) and prune this store's older files."""
        os.makedirs(directory, exist_ok=True)
        path = self.save(snapshot_path(directory, self.sim.tick))
        self._written[path] = _identity(path)
        mine = sorted(p for p in self._written if os.path.dirname(p) == directory)
        for old in mine[:-keep]:
            try:
                same = _identity(old) == self._written[old]
            except OSError:
                same = False
            del self._written[old]
            if same:
                os.unlink(old)
                logger.debug("removed old snapshot %s", old)
            else:
                logger.warning("not removing %s: it changed since this node wrote it", old)
        return path
