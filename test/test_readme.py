"""Every `braingo ...` command of the README's command-line block runs, in order, in a fresh folder."""
import json
import os
import pathlib
import re
import shlex
import subprocess
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent


def readme_commands():
    """The `braingo` lines of the ```sh block under "The `braingo` command line", as argument lists."""
    text = (ROOT / "README.md").read_text()
    section = text.split("## The `braingo` command line", 1)[1]
    block = re.search(r"```sh\n(.*?)```", section, re.S).group(1)
    return [shlex.split(line, comments=True) for line in block.splitlines() if line.startswith("braingo ")]


def _outputs(args):
    """Files a command says it writes (its --out/--output/--plot/--snapshot values, build's target)."""
    out = [args[i + 1] for i, a in enumerate(args[:-1]) if a in ("--out", "--output", "-o", "--plot", "--npz")]
    return out + ([args[2]] if args[1] == "build" else [])


def test_readme_lists_the_commands():
    commands = readme_commands()
    assert {c[1] for c in commands} >= {"build", "info", "verify", "load-worm", "query", "run", "clamp"}


@pytest.mark.slow
def test_every_readme_command_runs(tmp_path):
    (tmp_path / "data").symlink_to(ROOT / "data")          # the clamp example names a bundled cell file
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg", BRAINGO_CACHE_DIR=str(tmp_path / "cache"))
    for args in readme_commands():
        proc = subprocess.run([sys.executable, "-m", "braingo_core.cli", *args[1:]], cwd=tmp_path, env=env,
                              capture_output=True, text=True, timeout=300)
        assert proc.returncode == 0, (args, proc.stdout[-2000:], proc.stderr[-2000:])
        for name in _outputs(args):
            assert (tmp_path / name).stat().st_size > 0, (args, name)
        if "--json" in args:
            assert json.loads(proc.stdout)
        if args[1] == "verify":
            assert proc.stdout.count(": OK") == len(args) - 2


def readme_python_blocks():
    """The ```python blocks of the README."""
    return re.findall(r"```python\n(.*?)```", (ROOT / "README.md").read_text(), re.S)


@pytest.mark.slow
def test_every_readme_python_block_runs(tmp_path):
    blocks = readme_python_blocks()
    assert blocks
    env = dict(os.environ, PYTHONPATH=str(ROOT), MPLBACKEND="Agg")
    for code in blocks:
        assert len(code.strip().splitlines()) <= 25
        proc = subprocess.run([sys.executable, "-c", code], cwd=tmp_path, env=env, capture_output=True, text=True,
                              timeout=600)
        assert proc.returncode == 0, (code, proc.stdout[-2000:], proc.stderr[-2000:])
        if "spikes" in code:
            assert int(proc.stdout.split()[0]) > 0, proc.stdout
