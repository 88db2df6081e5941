"""MCAP recording: rosbag2 layout (ros2 profile, ros2msg schemas, CDR) written from live topics and read back."""
import numpy as np
import pytest
from mcap.reader import make_reader
from nav_msgs.msg import Odometry
from rclpy.node import Node
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray

from braingo_core.body.gait import shape_metrics, wave_frequency_Hz
from braingo_ros.analysis import RunSeries, summarize
from braingo_ros.recording import LOOP_TOPICS, TopicRecorder, message_definition, read_topics
from ros_helpers import executor_for, ros_context, spin_until

pytestmark = pytest.mark.ros
DOMAIN_ID = 66


def test_message_definition_includes_dependencies():
    name, text = message_definition(Odometry)
    assert name == "nav_msgs/msg/Odometry"
    for dep in ("std_msgs/Header", "builtin_interfaces/Time", "geometry_msgs/PoseWithCovariance",
                "geometry_msgs/Point", "geometry_msgs/Quaternion", "geometry_msgs/Vector3"):
        assert text.count(f"\nMSG: {dep}\n") == 1, dep


def test_record_and_read_back(tmp_path):
    path = str(tmp_path / "run.mcap")
    with ros_context(DOMAIN_ID) as context:
        recorder = TopicRecorder(path, LOOP_TOPICS, context=context)
        node = Node("publisher", context=context)
        voltages = node.create_publisher(Float64MultiArray, "/brain/motor_voltages", 10)
        joints = node.create_publisher(JointState, "/joint_states", 10)
        executor = executor_for(context, recorder, node)
        assert spin_until(executor, lambda: voltages.get_subscription_count() and joints.get_subscription_count())
        for k in range(3):
            voltages.publish(Float64MultiArray(data=[-60.0 + k, 1.5]))
        state = JointState(name=["joint_01"], position=[0.25])
        state.header.stamp.sec = 7
        joints.publish(state)
        assert spin_until(executor, lambda: sum(recorder.message_counts.values()) == 4)
        executor.shutdown()
        recorder.destroy_node()
        node.destroy_node()
        recorder.close()
    with open(path, "rb") as f:
        reader = make_reader(f)
        header = reader.get_header()
        summary = reader.get_summary()
    assert header.profile == "ros2"
    assert {s.encoding for s in summary.schemas.values()} == {"ros2msg"}
    assert {c.message_encoding for c in summary.channels.values()} == {"cdr"}
    assert len(summary.channels) == len(LOOP_TOPICS)
    topics = read_topics(path)
    assert [list(m.data) for _t, m in topics["/brain/motor_voltages"]] == [[-60.0, 1.5], [-59.0, 1.5], [-58.0, 1.5]]
    (_t, js), = topics["/joint_states"]
    assert list(js.name) == ["joint_01"] and list(js.position) == [0.25] and js.header.stamp.sec == 7


def test_summary_uses_the_gait_wave_frequency():
    t_s = np.arange(400) * 0.01
    joints = 0.3 * np.sin(2 * np.pi * 1.3 * t_s[:, None] - np.linspace(0, np.pi, 5)[None, :])
    head_xy_m = np.stack([0.01 * t_s, np.zeros_like(t_s)], axis=1)
    run = RunSeries(joint_names=[f"j{k}" for k in range(5)], joint_t_s=t_s, joint_position_rad=joints,
                    odom_t_s=t_s, head_xy_m=head_xy_m, motor_mV=np.zeros((400, 3)), activation=np.zeros((400, 96)),
                    effort_Nm=np.zeros((400, 5)))
    summary = summarize(run, body_length_m=0.5, wall_s=2.0, dropped_periods=0, latency_ms=[1.0, 2.0, 3.0],
                        medium="agar")
    assert summary["wave_frequency_Hz"] == wave_frequency_Hz(t_s, joints)
    shape = shape_metrics(t_s, joints, run.motor_mV)
    assert summary["medium"] == "agar" and summary["wavelength_L"] == shape["wavelength_L"]
    assert summary["curvature_amplitude_L"] == pytest.approx(6 * 0.3 * np.sin(0.45 * np.pi), rel=0.02)
    assert summary["bending_fraction"] == shape["bending_fraction"] and summary["motor_v_max_mV"] == 0.0
    assert summary["wave_frequency_Hz"] == pytest.approx(1.3, abs=0.02)   # parabolic refinement between FFT bins
    assert summary["distance_body_lengths"] == pytest.approx(0.01 * t_s[-1] / 0.5)
    assert summary["latency_ms_median"] == 2.0
    short = run._replace(joint_t_s=t_s[:1], joint_position_rad=joints[:1])
    assert summarize(short, 0.5, 2.0, 0)["wave_frequency_Hz"] is None
