"""BrainGo core: the .braindb brain-simulation database, its simulator and body models (no ROS)."""
from braingo_core.errors import BrainGoError

__version__ = "0.1.0"
__all__ = ["BrainGoError", "__version__"]
