"""The .braindb storage engine: record types, the builder (writer), the mmap reader and snapshots."""
from braingo_core.storage import records
from braingo_core.storage.builder import BrainDBBuilder
from braingo_core.storage.reader import BrainDB
from braingo_core.storage.snapshot import Snapshot, load_snapshot, save_snapshot

__all__ = ["BrainDB", "BrainDBBuilder", "Snapshot", "load_snapshot", "records", "save_snapshot"]
