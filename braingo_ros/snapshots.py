"""Rolling brain snapshots in a folder: tick-numbered files, newest ``keep`` kept, newest found on resume.

Each file is written by ``Simulation.save_snapshot``, which is atomic (temp file + rename), so a
process killed mid-write leaves the previous snapshots intact and :func:`latest_snapshot` never
returns a half-written file.
"""
import glob
import logging
import os

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


def save_rolling(sim, directory, keep):
    """Save ``sim`` into ``directory`` under its tick and delete all but the newest ``keep`` snapshots.

    Parameters
    ----------
    sim : braingo_core.sim.Simulation
    directory : str
        Created if missing.
    keep : int
        Number of snapshots to keep (>= 1).

    Returns
    -------
    str
        Path written.
    """
    os.makedirs(directory, exist_ok=True)
    path = snapshot_path(directory, sim.tick)
    sim.save_snapshot(path)
    for old in list_snapshots(directory)[:-keep]:
        os.unlink(old)
        logger.debug("removed old snapshot %s", old)
    return path
