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
         "--measure-s", "0.5", "--conditions", "forward,backward,idle", "--out", str(out)],
        capture_output=True, text=True, timeout=300, check=True)
    rows = [json.loads(line) for line in proc.stdout.splitlines() if line.startswith("{")]
    assert [r["coupling_gain_pA_per_rad"] for r in rows] == [0.0, 200.0]
    assert all({"forward", "backward", "idle"} <= set(r) and "speed_L_per_s" in r["backward"] for r in rows)
    assert all(r["gate_v_half_mV"] == -40.0 and r["a_v_th_mV"] == -35.0 for r in rows)   # the config's values
    assert "# best forward speed" in proc.stdout and "backward" in proc.stdout
    saved = json.loads(out.read_text())
    assert saved["results"] == rows
    bad = subprocess.run([sys.executable, str(ROOT / "tools/tune_gait.py"), "--conditions", "sideways"],
                         capture_output=True, text=True, timeout=120)
    assert bad.returncode == 2 and "sideways" in bad.stderr
