"""Exception types raised by braingo_core; every message names the file and the field or value."""


class BrainGoError(ValueError):
    """Base class of every error braingo_core raises for bad input (the CLI prints it as one line)."""


class BrainDBFormatError(BrainGoError):
    """A .braindb file is not a valid database: wrong magic, version, size, offsets or metadata."""


class BrainDBChecksumError(BrainDBFormatError):
    """A segment's bytes do not match the checksum stored in the header."""


class NeuronLookupError(BrainGoError, LookupError):
    """A neuron id, name or class that the database does not hold (BrainDB lookups)."""


class BuilderError(BrainGoError):
    """Invalid input to BrainDBBuilder: out-of-range or duplicate ids, bad names or values."""


class SnapshotError(BrainGoError):
    """A snapshot is truncated, corrupt, of another database or otherwise unusable."""


class LoaderError(BrainGoError):
    """A connectome source (directory, xlsx, CSV, JSON) is missing or malformed."""


class SimulationError(BrainGoError):
    """Invalid simulation input (unknown neuron, negative duration, NaN current) or a diverging run."""


class BodyError(BrainGoError):
    """Invalid body/robot description or muscle/sensor map."""


class StorageWriteError(BrainGoError):
    """A file cannot be written: the path is a directory, its folder is missing or not writable."""
