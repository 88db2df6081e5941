"""Atomic file replacement: write a temp file beside the target, fsync it, rename, fsync the folder.

The temp file ``.<name>.tmp-<pid>-<random>`` is created exclusively (``O_CREAT | O_EXCL | O_NOFOLLOW``):
a file or symlink planted under that name makes the open fail instead of being written through. A writer
killed mid-write leaves its temp file behind; the next write of the same target removes the temp files of
writers that are no longer running (only regular files owned by this user, named after this target).
"""
import contextlib
import os
import re
import secrets

from braingo_core.errors import StorageWriteError

_TMP = re.compile(r"\.tmp-(\d+)(?:-[0-9a-f]+)?")


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


def _alive(pid):
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def remove_stale_temp_files(path):
    """Delete the temp files of ``path`` left by writers that died; returns the names removed."""
    folder, base = os.path.split(os.path.abspath(os.fspath(path)))
    prefix = f".{base}"
    removed = []
    for entry in os.scandir(folder):
        m = _TMP.fullmatch(entry.name[len(prefix):]) if entry.name.startswith(prefix) else None
        if m is None or int(m.group(1)) == os.getpid() or _alive(int(m.group(1))):
            continue
        with contextlib.suppress(OSError):
            st = entry.stat(follow_symlinks=False)
            if entry.is_file(follow_symlinks=False) and st.st_uid == os.getuid():
                os.unlink(entry.path)
                removed.append(entry.name)
    return removed


def _create_temp(folder, base):
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_CLOEXEC", 0)
    for _ in range(100):
        tmp = os.path.join(folder, f".{base}.tmp-{os.getpid()}-{secrets.token_hex(8)}")
        try:
            return tmp, os.open(tmp, flags, 0o666)
        except FileExistsError:
            continue
    raise StorageWriteError(f"{os.path.join(folder, base)}: cannot create a unique temp file in {folder}")


@contextlib.contextmanager
def atomic_open(path):
    """Yield a binary file object; on success the content replaces ``path`` atomically and durably.

    On any exception the temp file is removed and ``path`` keeps its previous content. A process
    killed mid-write leaves only a ``.<name>.tmp-<pid>-<random>`` file, never a half-written ``path``;
    the next write of ``path`` deletes it.
    """
    path = os.fspath(path)
    check_writable(path)
    folder, base = os.path.split(os.path.abspath(path))
    remove_stale_temp_files(path)
    tmp, fd = _create_temp(folder, base)
    try:
        with os.fdopen(fd, "wb") as f:
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
