"""Write a .braindb: header, segment table with checksums and the segments, atomically (used by the builder)."""
import json

import numpy as np

from braingo_core.errors import BuilderError
from braingo_core.storage import format as fmt
from braingo_core.storage.atomic import atomic_open


def concat(chunks, dtype):
    """Concatenate record chunks keeping ``dtype`` exactly (numpy's promotion would drop the padding)."""
    out = np.zeros(sum(len(c) for c in chunks), dtype)
    i = 0
    for c in chunks:
        out[i:i + len(c)] = c
        i += len(c)
    return out


def write_braindb(path, dt_ms, segments, meta):
    """Write ``segments`` (name -> record array, every name of ``format.SEGMENTS`` but "metadata") and the
    metadata dict ``meta`` as a .braindb at ``path`` (atomically); returns ``path``.

    The header's counts come from the segments; the ring holds the longest synaptic delay + 1 ticks.
    """
    try:
        meta_bytes = json.dumps(meta, separators=(",", ":"), allow_nan=False).encode()
    except (TypeError, ValueError) as exc:
        raise BuilderError(f"metadata is not JSON-serialisable: {exc}") from None
    segments = dict(segments, metadata=np.frombuffer(meta_bytes, np.uint8))
    syn = segments["synapses"]
    max_delay = int(syn["delay_ticks"].max()) if syn.size else 0
    hdr = np.zeros((), fmt.Header)
    hdr["magic"], hdr["version"] = fmt.MAGIC, fmt.VERSION
    hdr["n_neurons"], hdr["n_compartments"] = len(segments["neurons"]), len(segments["compartments"])
    hdr["n_synapses"], hdr["n_gap_junctions"] = len(syn), len(segments["gap_junctions"])
    hdr["n_regions"], hdr["n_neuron_types"] = len(segments["regions"]), len(segments["neuron_types"])
    hdr["n_receptors"] = len(segments["receptors"])
    hdr["dt_ms"], hdr["max_delay_ticks"], hdr["ring_size"] = dt_ms, max_delay, max_delay + 1
    hdr["n_segments"], hdr["meta_len"] = len(fmt.SEGMENTS), len(meta_bytes)
    offset = fmt.HEADER_SIZE
    for slot, name in enumerate(fmt.SEGMENTS):
        arr = segments[name]
        entry = hdr["segments"][slot]
        entry["offset"], entry["length"], entry["count"] = offset, arr.nbytes, len(arr)
        entry["itemsize"], entry["checksum"] = arr.dtype.itemsize, fmt.checksum(arr)
        offset = fmt.align(offset + arr.nbytes)
    with atomic_open(path) as f:
        f.write(fmt.pack_header(hdr))
        for slot, name in enumerate(fmt.SEGMENTS):
            entry = hdr["segments"][slot]
            f.seek(int(entry["offset"]))
            if segments[name].nbytes:
                segments[name].tofile(f)
        f.truncate(fmt.align(offset))
    return path
