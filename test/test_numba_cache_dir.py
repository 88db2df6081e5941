"""The Numba cache folder of a read-only install goes under the user's cache; NUMBA_CACHE_DIR wins."""
import os
import subprocess
import sys

from braingo_core import numba_cache_dir


def test_read_only_install_uses_the_user_cache(tmp_path):
    env = {"XDG_CACHE_HOME": str(tmp_path)}
    assert numba_cache_dir("/usr/lib/x", env, writable=lambda d: False) == str(tmp_path / "braingo" / "numba")
    assert numba_cache_dir("/usr/lib/x", {}, writable=lambda d: False).endswith(
        os.path.join(".cache", "braingo", "numba"))


def test_writable_tree_and_explicit_setting_are_left_alone():
    assert numba_cache_dir("/src", {}, writable=lambda d: True) is None
    assert numba_cache_dir("/usr/lib/x", {"NUMBA_CACHE_DIR": "/mine"}, writable=lambda d: False) is None


def test_explicit_numba_cache_dir_reaches_numba(tmp_path):
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    code = "import braingo_core, numba.core.config as c; print(c.CACHE_DIR)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                         env=dict(os.environ, PYTHONPATH=root, NUMBA_CACHE_DIR=str(tmp_path / "nc")))
    assert out.stdout.strip() == str(tmp_path / "nc")
