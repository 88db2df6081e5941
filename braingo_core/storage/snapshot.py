"""Snapshots (``.braindb.snapshot``): the dynamic state of a simulation, bound to its database.

Layout: a 128-byte header (magic ``BRAINSNP``, version, tick, dt, the database fingerprint, length and
CRC-32 of a JSON table), the JSON table (per array: name, dtype, shape, offset, nbytes, XXH3-64 checksum; plus
``extra``: small JSON values), then each array's raw bytes at a 64-byte aligned offset.
Written atomically (temp file, fsync, rename): a crash mid-write leaves the previous snapshot intact.
Loading checks every byte: header fields and padding, the table's structure and types, the array layout
(no overlaps, gaps zero, no trailing data), each checksum, finite floats; any failure is a SnapshotError.
"""
import json
import math
import os
import zlib

import numpy as np

from braingo_core.errors import SnapshotError
from braingo_core.jsonio import json_depth
from braingo_core.storage import format as fmt
from braingo_core.storage.atomic import atomic_open

MAGIC = b"BRAINSNP"
VERSION = 1
HEADER = np.dtype({"names": ["magic", "version", "n_arrays", "tick", "dt_ms", "fingerprint", "table_len",
                             "table_crc32", "header_crc32"],
                   "formats": ["S8", "<u4", "<u4", "<u8", "<f8", "S64", "<u8", "<u4", "<u4"],
                   "offsets": [0, 8, 12, 16, 24, 32, 96, 104, 108], "itemsize": 128})
#: Array dtypes a snapshot may hold (plain little-endian numbers; no objects, no records).
DTYPES = frozenset(np.dtype(t).str for t in ("?", "u1", "i1", "<u2", "<i2", "<u4", "<i4", "<u8", "<i8", "<f4", "<f8"))
#: Limits on the JSON table: bytes, arrays, dimensions per array, nesting depth of ``extra``.
MAX_TABLE_BYTES, MAX_ARRAYS, MAX_NDIM, MAX_EXTRA_DEPTH = 16 << 20, 4096, 8, 16
_ENTRY_KEYS = {"name", "dtype", "shape", "offset", "nbytes", "checksum"}


def save_snapshot(path, fingerprint, tick, dt_ms, arrays, extra=None):
    """Write ``arrays`` (dict name -> ndarray of a :data:`DTYPES` type) and ``extra`` (JSON) to ``path``.

    Written atomically; returns the number of bytes written.
    """
    table, offset = [], 0
    arrays = {k: np.ascontiguousarray(v) for k, v in arrays.items()}
    for name, a in arrays.items():
        if a.dtype.str not in DTYPES:
            raise SnapshotError(f"{path}: array {name!r} has dtype {a.dtype.str}, not one of {sorted(DTYPES)}")
        table.append({"name": name, "dtype": a.dtype.str, "shape": list(a.shape),
                      "offset": offset, "nbytes": a.nbytes, "checksum": fmt.checksum(a)})
        offset = fmt.align(offset + a.nbytes)
    try:
        table_bytes = json.dumps({"arrays": table, "extra": extra or {}}, separators=(",", ":"),
                                 allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise SnapshotError(f"{path}: extra is not JSON-serialisable: {exc}") from None
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

    def check_schema(self, expect, expect_extra=None):
        """Raise SnapshotError unless the arrays are exactly ``expect`` (name -> array of the shape and dtype
        wanted) and each ``extra`` key of ``expect_extra`` (name -> tuple of types) present has one of them.
        """
        names, wanted = set(self.arrays), set(expect)
        if names != wanted:
            raise SnapshotError(f"{self.path}: snapshot arrays differ from this simulation's state: missing "
                                f"{sorted(wanted - names)}, unexpected {sorted(names - wanted)}")
        for name, ref in expect.items():
            got, ref = self.arrays[name], np.asarray(ref)
            if got.shape != ref.shape or got.dtype != ref.dtype:
                raise SnapshotError(f"{self.path}: snapshot array {name!r} is {got.dtype.str}{list(got.shape)}, "
                                    f"this simulation's is {ref.dtype.str}{list(ref.shape)}")
        for key, types in (expect_extra or {}).items():
            v = self.extra.get(key)
            allowed = set(types) | ({int} if float in types else set())     # JSON writes 1.0 as 1
            if key in self.extra and type(v) not in allowed:
                raise SnapshotError(f"{self.path}: snapshot extra {key!r} = {v!r:.80} is not of type "
                                    f"{' or '.join(t.__name__ for t in types)}")


def _fail(path, what):
    raise SnapshotError(f"{path}: {what}")


def _read_header(f, path, size):
    raw = f.read(HEADER.itemsize)
    if len(raw) < HEADER.itemsize:
        _fail(path, f"truncated snapshot header ({len(raw)} bytes)")
    hdr = np.frombuffer(raw, HEADER)[0]
    if raw[:8] != MAGIC:
        _fail(path, f"header field magic is {raw[:8]!r}, not a braingo snapshot")
    if hdr["version"] > VERSION:
        _fail(path, f"snapshot version {int(hdr['version'])} is newer than {VERSION} (upgrade braingo)")
    if hdr["version"] < 1:
        _fail(path, f"header field version is {int(hdr['version'])}, invalid")
    if zlib.crc32(raw[:108]) != hdr["header_crc32"]:
        _fail(path, "snapshot header checksum mismatch")
    if any(raw[112:]):
        _fail(path, "snapshot header padding bytes 112..127 are not zero (corrupt)")
    if not math.isfinite(float(hdr["dt_ms"])) or not fmt.DT_MIN_MS <= float(hdr["dt_ms"]) <= fmt.DT_MAX_MS:
        _fail(path, f"header field dt_ms = {float(hdr['dt_ms'])!r} is invalid")
    try:
        fingerprint = raw[32:96].decode("ascii")
    except UnicodeDecodeError:
        fingerprint = ""
    if len(fingerprint) != 64 or any(c not in "0123456789abcdef" for c in fingerprint):
        _fail(path, "header field fingerprint is not a 64-digit hex SHA-256")
    if hdr["tick"] >= 2 ** 63:
        _fail(path, f"header field tick = {int(hdr['tick'])} is out of range")
    table_len = int(hdr["table_len"])
    if table_len > min(MAX_TABLE_BYTES, size - HEADER.itemsize):
        _fail(path, f"header field table_len = {table_len} exceeds the file or {MAX_TABLE_BYTES} bytes")
    return hdr, fingerprint


def _read_table(f, path, hdr):
    table_bytes = f.read(int(hdr["table_len"]))
    if len(table_bytes) != int(hdr["table_len"]) or zlib.crc32(table_bytes) != hdr["table_crc32"]:
        _fail(path, "snapshot array table is truncated or corrupt")
    try:
        table = json.loads(table_bytes.decode("utf-8"))
    except (UnicodeDecodeError, ValueError, RecursionError) as exc:
        raise SnapshotError(f"{path}: snapshot array table is not UTF-8 JSON: {str(exc)[:200]}") from None
    if (not isinstance(table, dict) or set(table) != {"arrays", "extra"} or not isinstance(table["arrays"], list)
            or not isinstance(table["extra"], dict)):
        _fail(path, "snapshot table must be an object with an 'arrays' list and an 'extra' object")
    if json_depth(table, MAX_EXTRA_DEPTH + 2) > MAX_EXTRA_DEPTH + 2:
        _fail(path, f"snapshot table nests deeper than {MAX_EXTRA_DEPTH} levels")
    entries = table["arrays"]
    if len(entries) != int(hdr["n_arrays"]) or len(entries) > MAX_ARRAYS:
        _fail(path, f"header field n_arrays = {int(hdr['n_arrays'])} but the table lists {len(entries)} arrays "
                    f"(at most {MAX_ARRAYS})")
    return entries, table["extra"], fmt.align(HEADER.itemsize + len(table_bytes))


def _is_int(v, lo, hi):
    return isinstance(v, int) and not isinstance(v, bool) and lo <= v < hi


def _check_entry(path, k, e, expect_offset):
    """Validate table entry ``k``; returns (name, dtype, shape)."""
    if not isinstance(e, dict) or set(e) != _ENTRY_KEYS:
        _fail(path, f"snapshot table entry {k} must have exactly the keys {sorted(_ENTRY_KEYS)}")
    name = e["name"]
    if not isinstance(name, str) or not name or len(name) > 256:
        _fail(path, f"snapshot table entry {k}: name {name!r:.80} is not a short non-empty string")
    if not isinstance(e["dtype"], str) or e["dtype"] not in DTYPES:
        _fail(path, f"snapshot array {name!r}: dtype {e['dtype']!r:.80} is not one of {sorted(DTYPES)}")
    shape = e["shape"]
    if not isinstance(shape, list) or len(shape) > MAX_NDIM or not all(_is_int(d, 0, 2 ** 40) for d in shape):
        _fail(path, f"snapshot array {name!r}: shape {shape!r:.80} is not a list of <= {MAX_NDIM} sizes")
    dtype = np.dtype(e["dtype"])
    nbytes = math.prod(shape) * dtype.itemsize
    if e["nbytes"] != nbytes or not isinstance(e["nbytes"], int):
        _fail(path, f"snapshot array {name!r}: nbytes {e['nbytes']!r:.40} != shape x itemsize = {nbytes}")
    if e["offset"] != expect_offset or not isinstance(e["offset"], int):
        _fail(path, f"snapshot array {name!r}: offset {e['offset']!r:.40} is not where the layout puts it "
                    f"({expect_offset})")
    if not _is_int(e["checksum"], 0, 2 ** 64):
        _fail(path, f"snapshot array {name!r}: checksum {e['checksum']!r:.40} is not a 64-bit integer")
    return name, dtype, tuple(shape), nbytes


def _zero_gap(f, path, start, stop):
    if stop > start:
        f.seek(start)
        if any(f.read(stop - start)):
            _fail(path, f"snapshot gap bytes {start}..{stop - 1} are not zero (corrupt)")


def load_snapshot(path, db=None, expect=None, expect_extra=None):
    """Read and verify a snapshot (every byte, every checksum).

    ``db``: check it belongs to this database. ``expect`` / ``expect_extra``: check the arrays and extra
    values against a schema (see :meth:`Snapshot.check_schema`). Raises SnapshotError for every problem.
    """
    path = os.fspath(path)
    try:
        f = open(path, "rb")
    except FileNotFoundError:
        raise SnapshotError(f"{path}: no such snapshot") from None
    except IsADirectoryError:
        raise SnapshotError(f"{path}: is a directory, not a snapshot") from None
    with f:
        size = os.fstat(f.fileno()).st_size
        hdr, fingerprint = _read_header(f, path, size)
        entries, extra, data_start = _read_table(f, path, hdr)
        _zero_gap(f, path, HEADER.itemsize + int(hdr["table_len"]), min(data_start, size))
        arrays, offset, end = {}, 0, data_start
        for k, e in enumerate(entries):
            name, dtype, shape, nbytes = _check_entry(path, k, e, offset)
            if name in arrays:
                _fail(path, f"snapshot array {name!r} is listed twice")
            start = data_start + offset
            if start + nbytes > size:
                _fail(path, f"snapshot is truncated (array {name} ends past {size} bytes)")
            _zero_gap(f, path, end, start)
            a = np.empty(shape, dtype)
            f.seek(start)
            if nbytes and f.readinto(a.reshape(-1).view(np.uint8)) != nbytes:
                _fail(path, f"snapshot is truncated in array {name}")
            if fmt.checksum(a) != e["checksum"]:
                _fail(path, f"snapshot array {name} checksum mismatch (corrupt)")
            if dtype.kind == "f" and not np.isfinite(a).all():
                _fail(path, f"snapshot array {name} holds NaN or infinite values")
            arrays[name] = a
            end = start + nbytes
            offset = fmt.align(offset + nbytes)
        if size != data_start + offset:
            _fail(path, f"snapshot is {size} bytes, its arrays end at {data_start + offset}: truncated or trailing "
                        f"data")
        _zero_gap(f, path, end, size)
    tick = arrays.get("tick")
    if tick is not None and (tick.shape != (1,) or tick.dtype.kind not in "iu" or int(tick[0]) != int(hdr["tick"])):
        _fail(path, f"array tick {tick.tolist()[:4]} does not match header field tick = {int(hdr['tick'])}")
    snap = Snapshot(path, int(hdr["tick"]), float(hdr["dt_ms"]), fingerprint, arrays, extra)
    if db is not None:
        snap.check_database(db)
    if expect is not None:
        snap.check_schema(expect, expect_extra)
    return snap
