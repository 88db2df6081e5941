"""BrainGo core: the .braindb brain-simulation database, its simulator and body models (no ROS).

Numba cache: the kernels are compiled with ``cache=True``, which by default writes next to the modules
(``__pycache__``). On import, before anything compiles, :func:`numba_cache_dir` picks the cache folder:
``$NUMBA_CACHE_DIR`` if set (respected as is); otherwise, when the installed package folder is not
writable (a read-only or shared install), ``$XDG_CACHE_HOME/braingo/numba`` (default
``~/.cache/braingo/numba``); a writable source tree keeps numba's default.
"""
import os
import sys

from braingo_core.errors import BrainGoError

__version__ = "0.1.0"
__all__ = ["BrainGoError", "__version__", "numba_cache_dir"]


def numba_cache_dir(package_dir, environ, writable=lambda d: os.access(d, os.W_OK)):
    """The NUMBA_CACHE_DIR to set for a package in ``package_dir``, or None to leave numba's default."""
    if environ.get("NUMBA_CACHE_DIR"):
        return None
    if writable(package_dir):
        return None
    base = environ.get("XDG_CACHE_HOME") or os.path.join(os.path.expanduser("~"), ".cache")
    return os.path.join(base, "braingo", "numba")


def _configure_numba_cache():
    cache = numba_cache_dir(os.path.dirname(os.path.abspath(__file__)), os.environ)
    if cache is None:
        return
    os.makedirs(cache, mode=0o700, exist_ok=True)
    os.environ["NUMBA_CACHE_DIR"] = cache
    if "numba" in sys.modules:               # imported before us: make it read the setting again
        sys.modules["numba"].core.config.reload_config()


_configure_numba_cache()
