"""The .braindb container: 512-byte header, segment table, 64-byte aligned segments, XXH3-64 per segment.

See docs/format.md for the byte-level description. All integers are little-endian. Every byte of a file
is accounted for: header fields, reserved header bytes (zero), segments, and the zero gaps that align
each segment to 64 bytes; :func:`unpack_header` and :func:`check_layout` check the container part.
"""
import math
import zlib

import numpy as np
import xxhash

from braingo_core.errors import BrainDBFormatError

MAGIC = b"BRAINDB\x00"
#: Version 2 added the neuron_params segment; version-1 files (10 segments) are read with it empty.
VERSION = 2
HEADER_SIZE = 512
ALIGN = 64
MAX_SEGMENTS = 12
#: Allowed range of the header's dt_ms (ms): 0.1 µs .. 100 ms; outside it the file is refused.
DT_MIN_MS, DT_MAX_MS = 1e-4, 100.0
#: Largest synaptic delay a file may hold (ticks; SynapseAttr.delay_ticks is uint16).
MAX_DELAY_TICKS = 65535

#: Segment names in file order; the index is the slot in the segment table.
SEGMENTS = ("neurons", "compartments", "row_ptr", "col_idx", "synapses", "gap_junctions",
            "regions", "neuron_types", "receptors", "metadata", "neuron_params")
#: Number of segments a file of each version holds (the first ones of ``SEGMENTS``).
SEGMENTS_IN_VERSION = {1: 10, 2: 11}

SegmentEntry = np.dtype([("offset", "<u8"), ("length", "<u8"), ("checksum", "<u8"), ("count", "<u4"),
                         ("itemsize", "<u4")])  # 32 B; checksum = XXH3-64 of the segment bytes

Header = np.dtype({
    "names": ["magic", "version", "flags", "n_neurons", "n_compartments", "n_synapses", "n_gap_junctions",
              "n_regions", "n_neuron_types", "n_receptors", "ring_size", "dt_ms", "max_delay_ticks",
              "n_segments", "meta_len", "segments", "header_crc32"],
    "formats": ["S8", "<u4", "<u4", "<u8", "<u8", "<u8", "<u8", "<u4", "<u4", "<u4", "<u4", "<f8", "<u4",
                "<u4", "<u8", (SegmentEntry, (MAX_SEGMENTS,)), "<u4"],
    "offsets": [0, 8, 12, 16, 24, 32, 40, 48, 52, 56, 60, 64, 72, 76, 80, 96, 504],
    "itemsize": HEADER_SIZE,
})
HEADER_CRC_SPAN = 504  # header_crc32 covers bytes [0, 504)


def segments_of(version):
    """The segment names a file of ``version`` holds, in file order (the first ones of :data:`SEGMENTS`)."""
    return SEGMENTS[:SEGMENTS_IN_VERSION[int(version)]]


def reserved_header_bytes(version):
    """Header byte ranges that hold no field in a file of ``version``: zero in every valid file."""
    return ((88, 96), (96 + 32 * len(segments_of(version)), 504), (508, 512))


def align(n, a=ALIGN):
    """Smallest multiple of ``a`` that is >= ``n``."""
    return (n + a - 1) // a * a


def checksum(buf):
    """XXH3-64 of a bytes-like object or contiguous ndarray (~13 GB/s, no copy)."""
    if isinstance(buf, np.ndarray):
        buf = np.ascontiguousarray(buf).reshape(-1).view(np.uint8)
    return xxhash.xxh3_64_intdigest(memoryview(buf))


def check_dt_ms(dt_ms, error, where="dt_ms"):
    """Raise ``error`` unless ``dt_ms`` is a finite number in [DT_MIN_MS, DT_MAX_MS]; returns it as float."""
    try:
        dt = float(dt_ms)
    except (TypeError, ValueError):
        raise error(f"{where} = {dt_ms!r} is not a number") from None
    if isinstance(dt_ms, bool) or not math.isfinite(dt) or not DT_MIN_MS <= dt <= DT_MAX_MS:
        raise error(f"{where} = {dt_ms!r} ms is outside [{DT_MIN_MS:g}, {DT_MAX_MS:g}] ms")
    return dt


def pack_header(hdr):
    """Fill in ``header_crc32`` of a Header record and return its 512 bytes."""
    raw = bytearray(hdr.tobytes())
    hdr["header_crc32"] = zlib.crc32(raw[:HEADER_CRC_SPAN])
    return hdr.tobytes()


def unpack_header(raw, path):
    """Validate 512 header bytes of ``path`` and return the Header record (raises BrainDBFormatError).

    Checks magic, version, the CRC of bytes 0..503, that every reserved byte (88..95, the unused segment
    slots, 508..511) and ``flags`` are zero, ``n_segments``, ``dt_ms`` and the delay-ring fields.
    """
    if len(raw) < HEADER_SIZE:
        raise BrainDBFormatError(f"{path}: truncated header ({len(raw)} of {HEADER_SIZE} bytes)")
    raw = bytes(raw[:HEADER_SIZE])
    hdr = np.frombuffer(raw, dtype=Header)[0]
    if raw[:8] != MAGIC:
        raise BrainDBFormatError(f"{path}: header field magic is {raw[:8]!r}, not a .braindb file")
    if hdr["version"] > VERSION:
        raise BrainDBFormatError(f"{path}: header field version is {int(hdr['version'])}; this braingo reads "
                                 f"version <= {VERSION} (upgrade braingo)")
    if int(hdr["version"]) not in SEGMENTS_IN_VERSION:
        raise BrainDBFormatError(f"{path}: header field version is {int(hdr['version'])}, invalid")
    if zlib.crc32(raw[:HEADER_CRC_SPAN]) != hdr["header_crc32"]:
        raise BrainDBFormatError(f"{path}: header checksum mismatch (header bytes 0..503 are corrupt)")
    for lo, hi in reserved_header_bytes(hdr["version"]):
        if any(raw[lo:hi]):
            raise BrainDBFormatError(f"{path}: reserved header bytes {lo}..{hi - 1} are not zero (corrupt)")
    if hdr["flags"] != 0:
        raise BrainDBFormatError(f"{path}: header field flags = {int(hdr['flags'])}; no version defines any")
    if hdr["n_segments"] != len(segments_of(hdr["version"])):
        raise BrainDBFormatError(f"{path}: header field n_segments = {int(hdr['n_segments'])}, expected "
                                 f"{len(segments_of(hdr['version']))} for version {int(hdr['version'])}")
    check_dt_ms(hdr["dt_ms"], BrainDBFormatError, f"{path}: header field dt_ms")
    if hdr["max_delay_ticks"] > MAX_DELAY_TICKS or hdr["ring_size"] != hdr["max_delay_ticks"] + 1:
        raise BrainDBFormatError(f"{path}: header fields ring_size = {int(hdr['ring_size'])} and max_delay_ticks "
                                 f"= {int(hdr['max_delay_ticks'])} are inconsistent (ring_size = max delay + 1, "
                                 f"max delay <= {MAX_DELAY_TICKS})")
    if hdr["n_neurons"] > np.iinfo(np.uint32).max:
        raise BrainDBFormatError(f"{path}: header field n_neurons = {int(hdr['n_neurons'])} exceeds the uint32 "
                                 f"neuron ids of the records")
    return hdr


def check_layout(hdr, size, path, dtypes):
    """Check the segment table of ``hdr`` against a file of ``size`` bytes; returns [(offset, length)].

    Segments follow each other in :data:`SEGMENTS` order, each at the first 64-byte boundary after the
    previous one (the first at 512), with ``itemsize`` and ``count`` of its record type (``dtypes[name]``);
    the file ends at the 64-byte boundary after the last. So every byte is a header byte, a segment byte
    or a gap byte (the gaps are checked to be zero by the reader).
    """
    spans, expect = [], HEADER_SIZE
    for slot, name in enumerate(segments_of(hdr["version"])):
        e = hdr["segments"][slot]
        off, length, count, item = int(e["offset"]), int(e["length"]), int(e["count"]), int(e["itemsize"])
        dt = dtypes[name]
        if item != dt.itemsize or count * dt.itemsize != length:
            raise BrainDBFormatError(f"{path}: segment {name}: itemsize {item} / count {count} / length {length} "
                                     f"do not match the {dt.itemsize}-byte record")
        if off != expect or off + length > size:
            raise BrainDBFormatError(f"{path}: segment {name} [{off}, {off + length}) is not where the layout puts "
                                     f"it (offset {expect}) or lies outside the file ({size} bytes): truncated or "
                                     f"corrupt")
        spans.append((off, length))
        expect = align(off + length)
    if size != expect:
        raise BrainDBFormatError(f"{path}: file is {size} bytes, its segments end at {expect}: truncated or "
                                 f"trailing data")
    return spans
