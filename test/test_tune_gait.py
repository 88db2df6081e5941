"""tools/tune_gait.py: a two-point grid on the ROS-free loop prints one JSON line per point and the best one."""
import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


def test_tune_gait_two_points(tmp_path):
    out = tmp_path / "tune.json"
    proc = subprocess.run(
        [sys.executable, str(ROOT / "tools/tune_gait.py"), "--coupling-gain", "0,200", "--settle-s", "0.1",
         "--measure-s", "0.5", "--conditions", "forward,idle", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["coupling_gain_pA_per_rad"] for r in rows] == [0.0, 200.0]
    assert all({"forward", "idle"} <= set(r) and "speed_L_per_s" in r["forward"] for r in rows)
    assert "# best forward speed" in proc.stdout
    saved = json.loads(out.read_text())
    assert saved["results"] == rows
    bad = subprocess.run([sys.executable, str(ROOT / "tools/tune_gait.py"), "--conditions", "sideways"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "sideways" in bad.stderr
