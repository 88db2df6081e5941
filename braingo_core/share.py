"""The package's share files (config, urdf, launch, bundled data): one lookup for a checkout and an install.

``share_dir()`` is, in this order:

1. the source checkout this module was imported from (the folder holding ``package.xml`` two levels up),
   so a checkout always reads its own files;
2. the ament index: ``share/braingo_ros`` under the first prefix of ``AMENT_PREFIX_PATH`` that registers the
   package (``ament_index_python`` when importable, else the same rule applied to the variable directly),
   which is what ``source install/setup.bash`` of a colcon install sets;
3. ``<sys.prefix>/share/braingo_ros`` (a pip install of the package).

``share_file(relative)`` is one file of it, ``"config/caterpillar.yaml"``; both raise :class:`ShareError`
naming every place looked at.
"""
import os
import pathlib
import sys

from braingo_core.errors import BodyError

PACKAGE = "braingo_ros"
_MARKER = "package.xml"


class ShareError(BodyError):
    """A share file of the package is in none of the places looked at."""


def _ament_share():
    try:
        from ament_index_python.packages import PackageNotFoundError, get_package_share_directory
    except ImportError:
        for prefix in filter(None, os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep)):
            if os.path.isfile(os.path.join(prefix, "share", "ament_index", "resource_index", "packages", PACKAGE)):
                return pathlib.Path(prefix, "share", PACKAGE)
        return None
    try:
        return pathlib.Path(get_package_share_directory(PACKAGE))
    except (PackageNotFoundError, LookupError, OSError, ValueError):   # OSError: AMENT_PREFIX_PATH unset
        return None


def candidates():
    """The share directories :func:`share_dir` considers, in order (only those that hold ``package.xml``)."""
    checkout = pathlib.Path(__file__).resolve().parents[1]
    places = [checkout, _ament_share(), pathlib.Path(sys.prefix, "share", PACKAGE)]
    return [p for p in places if p is not None and (p / _MARKER).is_file()]


def share_dir():
    """The package's share directory (see the module docstring); raises :class:`ShareError`."""
    found = candidates()
    if not found:
        raise ShareError(f"{PACKAGE} share directory not found: no {_MARKER} in the source checkout, the ament "
                         f"index (AMENT_PREFIX_PATH={os.environ.get('AMENT_PREFIX_PATH', '')!r}) or {sys.prefix}")
    return found[0]


def share_file(relative):
    """Path of ``relative`` (``"urdf/caterpillar.urdf.xacro"``) in the first share directory that has it.

    Raises
    ------
    ShareError
        No share directory holds the file.
    """
    found = candidates()
    for root in found:
        if (root / relative).exists():
            return root / relative
    raise ShareError(f"{relative}: not found in the {PACKAGE} share directories {[str(p) for p in found]} "
                     f"(AMENT_PREFIX_PATH={os.environ.get('AMENT_PREFIX_PATH', '')!r})")
