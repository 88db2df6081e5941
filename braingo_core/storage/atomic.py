"""Atomic file replacement: write a temp file beside the target, fsync it, rename, fsync the folder."""
import contextlib
import os

from braingo_core.errors import StorageWriteError


def check_writable(path):
    """Raise StorageWriteError naming ``path`` when it cannot be (re)written."""
    path = os.fspath(path)
    folder = os.path.dirname(os.path.abspath(path))
    if os.path.isdir(path):
        raise StorageWriteError(f"{path}: is a directory")
    if not os.path.isdir(folder):
        raise StorageWriteError(f"{path}: folder {folder} does not exist")
    if not os.access(folder, os.W_OK) or (os.path.exists(path) and not os.access(path, os.W_OK)):
        raise StorageWriteError(f"{path}: not writable")


@contextlib.contextmanager
def atomic_open(path):
    """Yield a binary file object; on success the content replaces ``path`` atomically and durably.

    On any exception the temp file is removed and ``path`` keeps its previous content. A process
    killed mid-write leaves only a ``.<name>.tmp-<pid>`` file, never a half-written ``path``.
    """
    path = os.fspath(path)
    check_writable(path)
    folder = os.path.dirname(os.path.abspath(path))
    tmp = os.path.join(folder, f".{os.path.basename(path)}.tmp-{os.getpid()}")
    try:
        with open(tmp, "wb") as f:
            yield f
            f.flush()
            os.fsync(f.fileno())
        os.replace(tmp, path)
    except BaseException:
        with contextlib.suppress(FileNotFoundError):
            os.unlink(tmp)
        raise
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
