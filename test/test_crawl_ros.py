"""The crawl over DDS: the lock-step ROS loop reproduces the ROS-free loop bitwise, and switching the brain's
``tonic_stimulus`` parameter from AVB to AVA at run time reverses it within 3 s."""
import os

import numpy as np
import pytest

from braingo_core.body.closed_loop import ClosedLoop, locomotion_settings
from braingo_core.body.gait import gait_metrics
from braingo_ros import bringup
from braingo_ros.analysis import load_run

pytestmark = pytest.mark.ros
DOMAIN_ID = "71"
SWITCH_S, DURATION_S = 4.0, 7.6


@pytest.fixture(autouse=True)
def domain(monkeypatch):
    monkeypatch.setenv("ROS_DOMAIN_ID", DOMAIN_ID)


def test_forward_crawl_over_ros_then_reversal(tmp_path):
    loco = locomotion_settings()
    args = bringup.build_parser().parse_args(
        ["--duration", str(DURATION_S), "--out", str(tmp_path), "--no-progress", "--timeout", "900",
         "--command-timeout", "30", "--switch-at", str(SWITCH_S), "--switch-tonic", *loco["backward_drive"]])
    summary = bringup.run(args)
    assert summary["dropped_periods"] == 0
    accepted = summary["switch"]["accepted_at_s"]
    assert accepted is not None and SWITCH_S <= accepted < SWITCH_S + 0.5
    run = load_run(os.path.join(summary["run_dir"], "recording.mcap"))
    length = summary["body_length_m"]

    # Before the switch the default drive (locomotion.forward_drive) runs the ROS-free loop's crawl, bitwise.
    reference = ClosedLoop(tonic=loco["forward_drive"]).run(SWITCH_S)
    k = int(round((SWITCH_S - 0.2) / 0.01))       # the switch lands a few periods after SWITCH_S
    np.testing.assert_array_equal(run.joint_position_rad[1:k + 1], reference.joint_rad[:k])
    np.testing.assert_array_equal(run.head_xy_m[1:k + 1], reference.head_xy_m[:k])
    crawl = gait_metrics(reference, start_s=2.0)             # = the ROS run's, which is identical up to k
    assert crawl["speed_L_per_s"] >= 0.1 and crawl["lag_s"] > 0   # head first, head-to-tail wave

    # AVB -> AVA drive at run time: within 3 s the head moves against its earlier heading at >= 0.05 L/s.
    switch, after = k + 1, int(round(accepted / 0.01))
    heading = run.head_xy_m[switch] - run.head_xy_m[switch - 100]
    heading /= np.linalg.norm(heading)
    backward_L = np.dot(run.head_xy_m[after + 300] - run.head_xy_m[after + 200], heading) / length
    assert backward_L <= -0.05
