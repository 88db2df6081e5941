"""BrainDB: open a .braindb without reading it whole; static segments are read-only np.memmap views."""
import hashlib
import json
import os

import numpy as np

from braingo_core.errors import BrainDBChecksumError, BrainDBFormatError, SimulationError
from braingo_core.storage import format as fmt
from braingo_core.storage import records as rec

_DTYPES = {"neurons": rec.NeuronAttr, "compartments": rec.CompartmentAttr, "row_ptr": np.dtype("<u8"),
           "col_idx": np.dtype("<u4"), "synapses": rec.SynapseAttr, "gap_junctions": rec.GapJunction,
           "regions": rec.Region, "neuron_types": rec.NeuronType, "receptors": rec.ReceptorType,
           "metadata": np.dtype("u1")}
#: Segments small enough to verify on every open (the rest: :meth:`BrainDB.verify`).
_EAGER_VERIFY_BYTES = 1 << 20


class BrainDB:
    """A read-only .braindb database.

    Opening reads the 512-byte header, checks magic, version, header checksum and segment bounds,
    and maps the file; small segments are checksummed, large ones only by :meth:`verify`.

    Attributes
    ----------
    neuron_attrs, compartments, synapses, gap_junctions, regions, neuron_types, receptors : np.memmap
        Structured arrays of the record dtypes in :mod:`braingo_core.storage.records` (read-only).
    row_ptr : uint64[n_neurons + 1], col_idx : uint32[n_synapses]
        CSR of outgoing synapses: neuron i's synapses are ``synapses[row_ptr[i]:row_ptr[i+1]]``.
    dt_ms : float
        Simulation time step (ms).
    """

    def __init__(self, path):
        self.path = os.fspath(path)
        if os.path.isdir(self.path):
            raise BrainDBFormatError(f"{self.path}: is a directory, not a .braindb file")
        try:
            with open(self.path, "rb") as f:
                raw = f.read(fmt.HEADER_SIZE)
        except FileNotFoundError:
            raise BrainDBFormatError(f"{self.path}: no such file") from None
        self.header = fmt.unpack_header(raw, self.path)
        size = os.path.getsize(self.path)
        self._map = np.memmap(self.path, dtype=np.uint8, mode="r")
        self._segments = {}
        for slot, name in enumerate(fmt.SEGMENTS):
            e = self.header["segments"][slot]
            off, length, count = int(e["offset"]), int(e["length"]), int(e["count"])
            dt = _DTYPES[name]
            if int(e["itemsize"]) != dt.itemsize or count * dt.itemsize != length:
                raise BrainDBFormatError(f"{self.path}: segment {name}: itemsize {int(e['itemsize'])} / count "
                                         f"{count} / length {length} do not match the {dt.itemsize}-byte record")
            if off < fmt.HEADER_SIZE or off % fmt.ALIGN or off + length > size:
                raise BrainDBFormatError(f"{self.path}: segment {name} [{off}, {off + length}) lies outside the "
                                         f"file ({size} bytes): truncated or corrupt")
            view = self._map[off:off + length].view(dt)
            self._segments[name] = view
            if length <= _EAGER_VERIFY_BYTES:
                self._verify_segment(slot, name)
        self._check_counts()
        self._n = self.neuron_count()
        # Plain ndarray views of the same read-only pages: slicing them skips np.memmap's per-view overhead.
        self._plain_row_ptr = np.asarray(self._segments["row_ptr"])
        self._plain_synapses = np.asarray(self._segments["synapses"])
        self._meta = None
        self._name_index = None
        self._reverse = None

    @classmethod
    def open(cls, path):
        """Same as ``BrainDB(path)``."""
        return cls(path)

    def __repr__(self):
        return (f"BrainDB({self.path!r}: {self.neuron_count()} neurons, {self.synapse_count()} synapses, "
                f"{self.gap_junction_count()} gap junctions, {self.compartment_count()} compartments)")

    def _check_counts(self):
        h = self.header
        for name, key in (("neurons", "n_neurons"), ("compartments", "n_compartments"),
                          ("synapses", "n_synapses"), ("gap_junctions", "n_gap_junctions")):
            if len(self._segments[name]) != int(h[key]):
                raise BrainDBFormatError(f"{self.path}: header field {key} = {int(h[key])} but segment {name} "
                                         f"holds {len(self._segments[name])} records")
        if len(self.row_ptr) != self.neuron_count() + 1 or len(self.col_idx) != self.synapse_count():
            raise BrainDBFormatError(f"{self.path}: CSR segments row_ptr/col_idx have the wrong length")

    def _verify_segment(self, slot, name):
        e = self.header["segments"][slot]
        if fmt.checksum(self._segments[name]) != int(e["checksum"]):
            raise BrainDBChecksumError(f"{self.path}: segment {name} checksum mismatch (bytes "
                                       f"{int(e['offset'])}..{int(e['offset']) + int(e['length'])} are corrupt)")

    def verify(self):
        """Checksum every segment and the CSR invariants; raises BrainDBChecksumError/FormatError."""
        for slot, name in enumerate(fmt.SEGMENTS):
            self._verify_segment(slot, name)
        rp = self.row_ptr
        if len(rp) and (rp[0] != 0 or rp[-1] != self.synapse_count() or np.any(np.diff(rp.astype(np.int64)) < 0)):
            raise BrainDBFormatError(f"{self.path}: segment row_ptr is not a valid CSR index")
        return True

    # ------------------------------------------------------------- segments
    def __getattr__(self, name):
        segs = self.__dict__.get("_segments")
        if name == "neuron_attrs" and segs is not None:
            return segs["neurons"]
        if segs is not None and name in segs and name not in ("metadata", "neurons"):
            return segs[name]
        raise AttributeError(name)

    def read_records(self, segment, start, count):
        """Copy of records [start, start + count) of ``segment``, read from the file (no mmap page stays resident)."""
        seg = self._segments[segment]
        stop = min(max(int(start), 0) + max(int(count), 0), len(seg))
        start = min(max(int(start), 0), stop)
        off = int(self.header["segments"][fmt.SEGMENTS.index(segment)]["offset"])
        with open(self.path, "rb") as f:
            f.seek(off + start * seg.dtype.itemsize)
            return np.fromfile(f, seg.dtype, stop - start)

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
        """The metadata dict (parsed on first access)."""
        if self._meta is None:
            seg = self._segments["metadata"]
            try:
                self._meta = json.loads(seg.tobytes().decode()) if len(seg) else {}
            except (UnicodeDecodeError, json.JSONDecodeError) as exc:
                raise BrainDBFormatError(f"{self.path}: segment metadata is not valid JSON: {exc}") from None
            if not isinstance(self._meta, dict):
                raise BrainDBFormatError(f"{self.path}: segment metadata is not a JSON object")
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
        """Id of a neuron given by id, decimal string or name; SimulationError if unknown."""
        if isinstance(ref, (int, np.integer)):
            return self._check_id(ref)
        if isinstance(ref, str) and ref.strip().isdigit():
            return self._check_id(int(ref))
        if self._name_index is None:
            self._name_index = {nm: i for i, nm in enumerate(self.get_all_neuron_names())}
        try:
            return self._name_index[ref]
        except (KeyError, TypeError):
            raise SimulationError(f"{self.path}: unknown neuron {ref!r}") from None

    def _check_id(self, i):
        i = int(i)
        if not 0 <= i < self.neuron_count():
            raise SimulationError(f"{self.path}: neuron id {i} out of range [0, {self.neuron_count()})")
        return i

    def neurons_by_class(self, cls):
        """Ids (int64) of the neurons whose metadata ``neuron_classes`` entry equals ``cls``."""
        classes = self.metadata.get("neuron_classes")
        if classes is None:
            raise SimulationError(f"{self.path}: database has no neuron_classes metadata")
        if cls not in set(classes):
            raise SimulationError(f"{self.path}: unknown neuron class {cls!r} (known: {sorted(set(classes))})")
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
