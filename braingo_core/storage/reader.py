"""BrainDB: open a .braindb without reading it whole; static segments are read-only np.memmap views.

Opening checks the container (header, reserved bytes, segment layout, the zero gaps between segments) and,
unless ``verify=False``, every segment's XXH3-64 checksum and the semantic checks of
:mod:`braingo_core.storage.checks`. The segments are streamed through a fixed buffer with plain file reads
for that, so verifying a large file does not map its pages into RSS.
"""
import hashlib
import os

import numpy as np
import xxhash

from braingo_core.errors import BrainDBChecksumError, BrainDBFormatError, NeuronLookupError
from braingo_core.storage import checks
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec

_DTYPES = {"neurons": rec.NeuronAttr, "compartments": rec.CompartmentAttr, "row_ptr": np.dtype("<u8"),
           "col_idx": np.dtype("<u4"), "synapses": rec.SynapseAttr, "gap_junctions": rec.GapJunction,
           "regions": rec.Region, "neuron_types": rec.NeuronType, "receptors": rec.ReceptorType,
           "metadata": np.dtype("u1"), "neuron_params": rec.NeuronParam}
#: Synapse records per chunk of the streaming verification (32 MiB of SynapseAttr).
CHUNK_SYNAPSES = 1 << 20


class BrainDB:
    """A read-only .braindb database.

    Parameters
    ----------
    path : str or path-like
        The file.
    verify : bool
        True (default): checksum every segment and run the record checks on open, so what a simulator
        reads is what was written and every index is in range. False skips both (the header, layout and
        counts are still checked); use it only for files you trust, e.g. one you just verified.

    Raises
    ------
    BrainDBFormatError, BrainDBChecksumError
        Naming the file and the field, segment or record at fault.

    Segments (read-only ``np.memmap`` structured arrays of the record dtypes in
    :mod:`braingo_core.storage.records`): :attr:`neuron_attrs`, :attr:`compartments`, :attr:`synapses`,
    :attr:`gap_junctions`, :attr:`regions`, :attr:`neuron_types`, :attr:`receptors`; the CSR of outgoing
    synapses :attr:`row_ptr` (uint64[n + 1]) and :attr:`col_idx` (uint32[n_synapses]): neuron i's synapses
    are ``synapses[row_ptr[i]:row_ptr[i+1]]``.
    """

    def __init__(self, path, verify=True):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise BrainDBFormatError(f"{self.path}: is a directory, not a .braindb file")
        try:
            with open(self.path, "rb") as f:
                raw = f.read(fmt.HEADER_SIZE)
                size = os.fstat(f.fileno()).st_size
                self.header = fmt.unpack_header(raw, self.path)
                spans = fmt.check_layout(self.header, size, self.path, _DTYPES)
                self._check_gaps(f, spans, size)
        except FileNotFoundError:
            raise BrainDBFormatError(f"{self.path}: no such file") from None
        self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        present = fmt.segments_of(self.header["version"])
        self._segments = {name: self._map[off:off + length].view(_DTYPES[name])
                          for name, (off, length) in zip(present, spans)}
        for name in fmt.SEGMENTS[len(present):]:         # a segment added after this file's version: empty
            self._segments[name] = np.zeros(0, _DTYPES[name])
        self._check_counts()
        self._n = self.neuron_count()
        # Plain ndarray views of the same read-only pages: slicing them skips np.memmap's per-view overhead.
        self._plain_row_ptr = np.asarray(self._segments["row_ptr"])
        self._plain_synapses = np.asarray(self._segments["synapses"])
        self._meta = None
        self._name_index = None
        self._reverse = None
        self.verified = False
        if verify:
            self.verify()

    @classmethod
    def open(cls, path, verify=True):
        """Same as ``BrainDB(path, verify)``."""
        return cls(path, verify)

    def __repr__(self):
        return (f"BrainDB({self.path!r}: {self.neuron_count()} neurons, {self.synapse_count()} synapses, "
                f"{self.gap_junction_count()} gap junctions, {self.compartment_count()} compartments)")

    def _check_gaps(self, f, spans, size):
        """The bytes between segments (and after the last) are zero."""
        ends = [off + length for off, length in spans]
        for end, nxt in zip(ends, [off for off, _ in spans[1:]] + [size]):
            if nxt > end:
                f.seek(end)
                if any(f.read(nxt - end)):
                    raise BrainDBFormatError(f"{self.path}: alignment gap bytes {end}..{nxt - 1} are not zero "
                                             f"(corrupt)")

    def _check_counts(self):
        h = self.header
        for name, key in (("neurons", "n_neurons"), ("compartments", "n_compartments"),
                          ("synapses", "n_synapses"), ("gap_junctions", "n_gap_junctions"),
                          ("regions", "n_regions"), ("neuron_types", "n_neuron_types"),
                          ("receptors", "n_receptors"), ("metadata", "meta_len")):
            if len(self._segments[name]) != int(h[key]):
                raise BrainDBFormatError(f"{self.path}: header field {key} = {int(h[key])} but segment {name} "
                                         f"holds {len(self._segments[name])} records")
        if len(self.row_ptr) != self.neuron_count() + 1 or len(self.col_idx) != self.synapse_count():
            raise BrainDBFormatError(f"{self.path}: CSR segments row_ptr/col_idx have the wrong length")

    def _stream(self, f, name, start, count, buf):
        """Records [start, start + count) of segment ``name`` read into ``buf`` (a plain file read)."""
        dt = _DTYPES[name]
        off = int(self.header["segments"][fmt.SEGMENTS.index(name)]["offset"]) + start * dt.itemsize
        view = memoryview(buf)[:count * dt.itemsize]
        f.seek(off)
        if f.readinto(view) != len(view):
            raise BrainDBFormatError(f"{self.path}: segment {name} is truncated (file changed while reading)")
        return np.frombuffer(view, dt)

    def _mismatch(self, name):
        e = self.header["segments"][fmt.SEGMENTS.index(name)]
        return BrainDBChecksumError(f"{self.path}: segment {name} checksum mismatch (bytes "
                                    f"{int(e['offset'])}..{int(e['offset']) + int(e['length'])} are corrupt)")

    def verify(self):
        """Checksum every segment and run every record check; raises BrainDBChecksumError/FormatError.

        Returns True. The checksums come first, so a random corruption is reported as one.
        """
        n_syn = self.synapse_count()
        chunk = min(CHUNK_SYNAPSES, max(n_syn, 1))
        buf = bytearray(chunk * rec.SynapseAttr.itemsize)
        col_buf = bytearray(chunk * 4)
        with open(self.path, "rb") as f:
            for slot, name in enumerate(fmt.segments_of(self.header["version"])):
                if name in ("synapses", "col_idx"):
                    continue
                if fmt.checksum(self._segments[name]) != int(self.header["segments"][slot]["checksum"]):
                    raise self._mismatch(name)
            meta = checks.parse_metadata(self._segments["metadata"].tobytes(), self.path)
            checks.check_tables(self)
            checks.check_metadata(self, meta)
            hs, hc = xxhash.xxh3_64(), xxhash.xxh3_64()
            checker = checks.SynapseChecker(self)
            for start in range(0, n_syn, chunk):
                cnt = min(chunk, n_syn - start)
                syn = self._stream(f, "synapses", start, cnt, buf)
                col = self._stream(f, "col_idx", start, cnt, col_buf)
                hs.update(syn.view(np.uint8))
                hc.update(col.view(np.uint8))
                if start + cnt == n_syn:        # the last chunk: compare checksums before range checks
                    self._check_digest(hs, hc)
                checker.check(syn, col)
            if not n_syn:
                self._check_digest(hs, hc)
            checker.finish(self.row_ptr)
        self._meta = meta
        self.verified = True
        return True

    def _check_digest(self, hs, hc):
        for name, h in (("synapses", hs), ("col_idx", hc)):
            if h.intdigest() != int(self.header["segments"][fmt.SEGMENTS.index(name)]["checksum"]):
                raise self._mismatch(name)

    # ------------------------------------------------------------- segments
    @property
    def neuron_attrs(self):
        """NeuronAttr[n_neurons] (read-only memmap)."""
        return self._segments["neurons"]

    @property
    def compartments(self):
        """CompartmentAttr[n_compartments] (read-only memmap)."""
        return self._segments["compartments"]

    @property
    def row_ptr(self):
        """uint64[n_neurons + 1]: CSR row pointer of :attr:`synapses` by pre_neuron."""
        return self._segments["row_ptr"]

    @property
    def col_idx(self):
        """uint32[n_synapses]: post_neuron of each synapse, in CSR order."""
        return self._segments["col_idx"]

    @property
    def synapses(self):
        """SynapseAttr[n_synapses], sorted by pre_neuron (read-only memmap)."""
        return self._segments["synapses"]

    @property
    def gap_junctions(self):
        """GapJunction[n_gap_junctions] (read-only memmap)."""
        return self._segments["gap_junctions"]

    @property
    def regions(self):
        """Region[n_regions] (read-only memmap)."""
        return self._segments["regions"]

    @property
    def neuron_types(self):
        """NeuronType[n_neuron_types] (read-only memmap)."""
        return self._segments["neuron_types"]

    @property
    def receptors(self):
        """ReceptorType[n_receptors] (read-only memmap)."""
        return self._segments["receptors"]

    @property
    def neuron_params(self):
        """NeuronParam[k]: per-neuron model parameters that differ from the neuron type's (empty in version 1)."""
        return self._segments["neuron_params"]

    def synapse_chunks(self, chunk=CHUNK_SYNAPSES):
        """Yield (start, SynapseAttr[<= chunk]) copies read with plain file reads (the mmap's pages stay out
        of RSS), covering every synapse in order."""
        n = self.synapse_count()
        with open(self.path, "rb") as f:
            for start in range(0, n, chunk):
                cnt = min(chunk, n - start)
                yield start, self._stream(f, "synapses", start, cnt, bytearray(cnt * rec.SynapseAttr.itemsize))

    @property
    def dt_ms(self):
        return float(self.header["dt_ms"])

    @property
    def ring_size(self):
        return int(self.header["ring_size"])

    @property
    def version(self):
        return int(self.header["version"])

    @property
    def fingerprint(self):
        """Content hash of the database (sha256 over the header, which holds every segment's CRC)."""
        return hashlib.sha256(self.header.tobytes()).hexdigest()

    @property
    def metadata(self):
        """The metadata dict (parsed and checked on open, or on first access when opened without verify)."""
        if self._meta is None:
            meta = checks.parse_metadata(self._segments["metadata"].tobytes(), self.path)
            checks.check_metadata(self, meta)
            self._meta = meta
        return self._meta

    def neuron_count(self):
        return int(self.header["n_neurons"])

    def synapse_count(self):
        return int(self.header["n_synapses"])

    def gap_junction_count(self):
        return int(self.header["n_gap_junctions"])

    def compartment_count(self):
        return int(self.header["n_compartments"])

    # ---------------------------------------------------------------- names
    def get_all_neuron_names(self):
        """Names of all neurons in id order; unnamed neurons are called ``n<id>``."""
        names = self.metadata.get("neuron_names")
        if names is None:
            return [f"n{i}" for i in range(self.neuron_count())]
        return [nm if nm is not None else f"n{i}" for i, nm in enumerate(names)]

    def get_neuron_name(self, i):
        i = self._check_id(i)
        names = self.metadata.get("neuron_names")
        return names[i] if names is not None and names[i] is not None else f"n{i}"

    def neuron_id(self, ref):
        """Id of a neuron given by id, decimal string or name; NeuronLookupError if unknown."""
        if isinstance(ref, (int, np.integer)):
            return self._check_id(ref)
        if isinstance(ref, str) and ref.strip().isascii() and ref.strip().isdigit():
            return self._check_id(int(ref))
        if self._name_index is None:
            self._name_index = {nm: i for i, nm in enumerate(self.get_all_neuron_names())}
        try:
            return self._name_index[ref]
        except (KeyError, TypeError):
            raise NeuronLookupError(f"{self.path}: unknown neuron {ref!r}") from None

    def _check_id(self, i):
        i = int(i)
        if not 0 <= i < self.neuron_count():
            raise NeuronLookupError(f"{self.path}: neuron id {i} out of range [0, {self.neuron_count()})")
        return i

    def neurons_by_class(self, cls):
        """Ids (int64) of the neurons whose metadata ``neuron_classes`` entry equals ``cls``."""
        classes = self.metadata.get("neuron_classes")
        if classes is None:
            raise NeuronLookupError(f"{self.path}: database has no neuron_classes metadata")
        if cls not in set(classes):
            raise NeuronLookupError(f"{self.path}: unknown neuron class {cls!r} (known: {sorted(set(classes))})")
        return np.flatnonzero(np.asarray(classes) == cls)

    def neurons(self, cls=None):
        """All neuron ids, or those of class ``cls`` (the NeuronAttr records are :attr:`neuron_attrs`)."""
        return np.arange(self.neuron_count()) if cls is None else self.neurons_by_class(cls)

    # ------------------------------------------------------------- synapses
    def out_synapses(self, i):
        """Outgoing synapse records of neuron ``i`` (a read-only view, O(1))."""
        start, stop = self.out_synapse_range(i)
        return self._plain_synapses[start:stop]

    def out_synapse_range(self, i):
        """(start, stop) indices of neuron ``i``'s outgoing synapses."""
        if not 0 <= i < self._n:
            self._check_id(i)
        return int(self._plain_row_ptr[i]), int(self._plain_row_ptr[i + 1])

    def in_synapses(self, i):
        """Indices (int64) into :attr:`synapses` of the synapses onto neuron ``i`` (reverse CSR, built once)."""
        i = self._check_id(i)
        if self._reverse is None:
            post = np.asarray(self.col_idx)
            order = np.argsort(post, kind="stable")
            ptr = np.zeros(self.neuron_count() + 1, np.int64)
            np.cumsum(np.bincount(post, minlength=self.neuron_count()), out=ptr[1:])
            self._reverse = (ptr, order)
        ptr, order = self._reverse
        return order[ptr[i]:ptr[i + 1]]
