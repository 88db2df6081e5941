"""The .braindb container: 512-byte header, segment table, 64-byte aligned segments, XXH3-64 per segment.

See docs/format.md for the byte-level description. All integers are little-endian.
"""
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


def align(n, a=ALIGN):
    """Smallest multiple of ``a`` that is >= ``n``."""
    return (n + a - 1) // a * a


def checksum(buf):
    """XXH3-64 of a bytes-like object or contiguous ndarray (~13 GB/s, no copy)."""
    if isinstance(buf, np.ndarray):
        buf = np.ascontiguousarray(buf).reshape(-1).view(np.uint8)
    return xxhash.xxh3_64_intdigest(memoryview(buf))


def pack_header(hdr):
    """Fill in ``header_crc32`` of a Header record and return its 512 bytes."""
    raw = bytearray(hdr.tobytes())
    hdr["header_crc32"] = zlib.crc32(raw[:HEADER_CRC_SPAN])
    return hdr.tobytes()


def unpack_header(raw, path):
    """Validate 512 header bytes of ``path`` and return the Header record (raises BrainDBFormatError)."""
    if len(raw) < HEADER_SIZE:
        raise BrainDBFormatError(f"{path}: truncated header ({len(raw)} of {HEADER_SIZE} bytes)")
    hdr = np.frombuffer(raw[:HEADER_SIZE], dtype=Header)[0]
    if hdr["magic"] != MAGIC.rstrip(b"\x00"):
        raise BrainDBFormatError(f"{path}: header field magic is {bytes(raw[:8])!r}, not a .braindb file")
    if hdr["version"] > VERSION:
        raise BrainDBFormatError(f"{path}: header field version is {int(hdr['version'])}; this braingo reads "
                                 f"version <= {VERSION} (upgrade braingo)")
    if hdr["version"] < 1:
        raise BrainDBFormatError(f"{path}: header field version is {int(hdr['version'])}, invalid")
    if zlib.crc32(bytes(raw[:HEADER_CRC_SPAN])) != hdr["header_crc32"]:
        raise BrainDBFormatError(f"{path}: header checksum mismatch (header bytes 0..503 are corrupt)")
    return hdr
