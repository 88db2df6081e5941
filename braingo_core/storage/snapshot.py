"""Snapshots (``.braindb.snapshot``): the dynamic state of a simulation, bound to its database.

Layout: a 128-byte header (magic ``BRAINSNP``, version, tick, dt, the database fingerprint, length and
CRC-32 of a JSON table), the JSON table (per array: name, dtype, shape, offset, nbytes, XXH3-64 checksum; plus
``extra``: RNG state and other small values), then each array's raw bytes at a 64-byte aligned offset.
Written atomically (temp file, fsync, rename): a crash mid-write leaves the previous snapshot intact.
"""
import json
import os
import zlib

import numpy as np

from braingo_core.errors import SnapshotError
from braingo_core.storage import format as fmt
from braingo_core.storage.atomic import atomic_open

MAGIC = b"BRAINSNP"
VERSION = 1
HEADER = np.dtype({"names": ["magic", "version", "n_arrays", "tick", "dt_ms", "fingerprint", "table_len",
                             "table_crc32", "header_crc32"],
                   "formats": ["S8", "<u4", "<u4", "<u8", "<f8", "S64", "<u8", "<u4", "<u4"],
                   "offsets": [0, 8, 12, 16, 24, 32, 96, 104, 108], "itemsize": 128})


def save_snapshot(path, fingerprint, tick, dt_ms, arrays, extra=None):
    """Write ``arrays`` (dict name -> ndarray) and ``extra`` (JSON-serialisable) to ``path`` atomically.

    Returns the number of bytes written.
    """
    table, offset = [], 0
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    for name, a in arrays.items():
        table.append({"name": name, "dtype": np.lib.format.dtype_to_descr(a.dtype), "shape": list(a.shape),
                      "offset": offset, "nbytes": a.nbytes, "checksum": fmt.checksum(a)})
        offset = fmt.align(offset + a.nbytes)
    table_bytes = json.dumps({"arrays": table, "extra": extra or {}}, separators=(",", ":")).encode()
    hdr = np.zeros((), HEADER)
    hdr["magic"], hdr["version"], hdr["n_arrays"], hdr["tick"] = MAGIC, VERSION, len(arrays), tick
    hdr["dt_ms"], hdr["fingerprint"] = dt_ms, fingerprint.encode()
    hdr["table_len"], hdr["table_crc32"] = len(table_bytes), zlib.crc32(table_bytes)
    hdr["header_crc32"] = zlib.crc32(hdr.tobytes()[:108])
    data_start = fmt.align(HEADER.itemsize + len(table_bytes))
    with atomic_open(path) as f:
        f.write(hdr.tobytes())
        f.write(table_bytes)
        for entry, a in zip(table, arrays.values()):
            f.seek(data_start + entry["offset"])
            if a.nbytes:
                a.tofile(f)
        end = data_start + offset
        f.truncate(end)
    return end


class Snapshot:
    """A loaded snapshot: ``tick``, ``dt_ms``, ``fingerprint``, ``arrays`` (dict), ``extra`` (dict)."""

    def __init__(self, path, tick, dt_ms, fingerprint, arrays, extra):
        self.path, self.tick, self.dt_ms, self.fingerprint = path, tick, dt_ms, fingerprint
        self.arrays, self.extra = arrays, extra

    def check_database(self, db):
        """Raise SnapshotError unless this snapshot was taken of ``db`` (same content hash and dt)."""
        if self.fingerprint != db.fingerprint:
            raise SnapshotError(f"{self.path}: snapshot belongs to another database (fingerprint "
                                f"{self.fingerprint[:12]}…, {db.path} is {db.fingerprint[:12]}…)")
        if self.dt_ms != db.dt_ms:
            raise SnapshotError(f"{self.path}: snapshot dt {self.dt_ms} ms != database dt {db.dt_ms} ms")


def load_snapshot(path, db=None):
    """Read and verify a snapshot (every checksum); if ``db`` is given, check it belongs to it."""
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path}: is a directory, not a snapshot") from None
    with f:
        raw = f.read(HEADER.itemsize)
        if len(raw) < HEADER.itemsize:
            raise SnapshotError(f"{path}: truncated snapshot header ({len(raw)} bytes)")
        hdr = np.frombuffer(raw, HEADER)[0]
        if hdr["magic"] != MAGIC:
            raise SnapshotError(f"{path}: header field magic is {raw[:8]!r}, not a braingo snapshot")
        if hdr["version"] > VERSION:
            raise SnapshotError(f"{path}: snapshot version {int(hdr['version'])} is newer than {VERSION}")
        if zlib.crc32(raw[:108]) != hdr["header_crc32"]:
            raise SnapshotError(f"{path}: snapshot header checksum mismatch")
        table_bytes = f.read(int(hdr["table_len"]))
        if len(table_bytes) != int(hdr["table_len"]) or zlib.crc32(table_bytes) != hdr["table_crc32"]:
            raise SnapshotError(f"{path}: snapshot array table is truncated or corrupt")
        table = json.loads(table_bytes)
        data_start = fmt.align(HEADER.itemsize + len(table_bytes))
        size = os.fstat(f.fileno()).st_size
        arrays = {}
        for e in table["arrays"]:
            if data_start + e["offset"] + e["nbytes"] > size:
                raise SnapshotError(f"{path}: snapshot is truncated (array {e['name']} ends past {size} bytes)")
            a = np.empty(e["shape"], np.lib.format.descr_to_dtype(_descr(e["dtype"])))
            f.seek(data_start + e["offset"])
            if a.nbytes and f.readinto(a.reshape(-1).view(np.uint8)) != e["nbytes"]:
                raise SnapshotError(f"{path}: snapshot is truncated in array {e['name']}")
            if fmt.checksum(a) != e["checksum"]:
                raise SnapshotError(f"{path}: snapshot array {e['name']} checksum mismatch (corrupt)")
            arrays[e["name"]] = a
    snap = Snapshot(path, int(hdr["tick"]), float(hdr["dt_ms"]), hdr["fingerprint"].decode(), arrays,
                    table.get("extra", {}))
    if db is not None:
        snap.check_database(db)
    return snap


def _descr(d):
    """JSON turns dtype descr tuples into lists; turn them back."""
    if isinstance(d, list):
        return [tuple(_descr(x) if isinstance(x, list) else x for x in field) for field in d]
    return d
