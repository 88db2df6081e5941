"""Robot description: xacro -> URDF for several segment counts, joints == config, limits, config checks."""
import xml.etree.ElementTree as ET

import numpy as np
import pytest
import yaml

from braingo_core import share
from braingo_core.body import description
from braingo_core.body.description import check_joints, load_config, render_urdf, urdf_joints
from braingo_core.errors import BodyError
from braingo_core.share import share_file


@pytest.fixture(scope="module")
def config():
    return load_config()


def write_config(tmp_path, edit):
    doc = yaml.safe_load(share_file("config/caterpillar.yaml").read_text())
    edit(doc)
    path = tmp_path / "caterpillar.yaml"
    path.write_text(yaml.safe_dump(doc))
    return path


@pytest.mark.parametrize("segments", [6, 12, 20])
def test_xacro_renders_valid_urdf(segments, config):
    root = ET.fromstring(render_urdf(segments))
    links = root.findall("link")
    assert [link.get("name") for link in links] == [f"segment_{i:02d}" for i in range(segments)]
    for link in links:
        mass = float(link.find("inertial/mass").get("value"))
        inertia = link.find("inertial/inertia").attrib
        ixx, iyy, izz = (float(inertia[k]) for k in ("ixx", "iyy", "izz"))
        assert mass > 0 and min(ixx, iyy, izz) > 0
        assert ixx + iyy >= izz and iyy + izz >= ixx  # triangle inequality of a physical body
        assert link.find("collision/geometry/cylinder") is not None
    joints = urdf_joints(ET.tostring(root, encoding="unicode"))
    assert [j.name for j in joints] == [f"joint_{k:02d}" for k in range(1, segments)]
    for k, j in enumerate(joints, start=1):
        assert (j.type, j.parent, j.child) == ("revolute", f"segment_{k - 1:02d}", f"segment_{k:02d}")
        assert j.axis == (0, 0, 1)
        assert j.effort_Nm == config.effort_limit_Nm
        assert j.lower_rad == -config.joint_limit_rad and j.upper_rad == config.joint_limit_rad
    interfaces = root.findall("ros2_control/joint")
    assert [i.get("name") for i in interfaces] == [j.name for j in joints]
    assert all(i.find("command_interface").get("name") == "effort" for i in interfaces)


def test_default_joints_equal_config(config):
    urdf = render_urdf()
    check_joints(config, urdf)
    assert [j.name for j in urdf_joints(urdf)] == list(config.joints)
    assert config.segments == 12 and config.n_joints == 11


def test_check_joints_rejects_other_segment_count(config):
    with pytest.raises(BodyError, match="differ from the URDF"):
        check_joints(config, render_urdf(6))


def test_sim_variants():
    gazebo = ET.fromstring(render_urdf(sim="gazebo"))
    refs = gazebo.findall("gazebo[@reference]")
    assert len(refs) == 12
    mu1, mu2 = float(refs[0].find("mu1").text), float(refs[0].find("mu2").text)
    assert mu1 < mu2 and refs[0].find("fdir1").text == "1 0 0"
    assert gazebo.find("gazebo/plugin").get("filename") == "gz_ros2_control-system"
    assert gazebo.find("ros2_control/hardware/plugin").text == "gz_ros2_control/GazeboSimSystem"
    mujoco = ET.fromstring(render_urdf(sim="mujoco"))
    assert mujoco.find("gazebo") is None
    hardware = ET.fromstring(render_urdf(sim="hardware", hardware_plugin="my_robot/System"))
    assert hardware.find("ros2_control/hardware/plugin").text == "my_robot/System"


@pytest.mark.parametrize("kw, match", [(dict(sim="webots"), "sim must be"), (dict(segments=1), "at least 2")])
def test_bad_xacro_args(kw, match):
    with pytest.raises(BodyError, match=match):
        render_urdf(**kw)


def test_muscle_joint_matrix(config):
    names = config.muscle_names
    assert names[0] == "DL01" and names[24] == "DR01" and names[48] == "VL01" and names[95] == "VR24"
    dorsal = np.array([n[0] == "D" for n in names], dtype=float)
    np.testing.assert_allclose(config.muscle_joint @ dorsal, 1.0)
    np.testing.assert_allclose(config.muscle_joint @ (1.0 - dorsal), -1.0)
    np.testing.assert_allclose(config.muscle_joint @ np.ones(96), 0.0, atol=1e-12)
    assert not config.muscle_joint[:, names.index("VL24")].any()  # phantom muscle
    np.testing.assert_allclose(config.row_joint.sum(axis=1), 1.0)


@pytest.mark.parametrize("edit, match", [
    (lambda d: d["physics"].update(control_period_s=0.0105), "whole number"),
    (lambda d: d.pop("joints"), "missing field 'joints'"),
    (lambda d: d["muscles"]["joint_rows"].pop("joint_11"), "one entry per joint"),
    (lambda d: d["muscles"]["names"].pop(), "96 distinct"),
    (lambda d: d["muscles"]["joint_rows"]["joint_01"].update(rows=[1, 2, 3, 30]), "bad row"),
    (lambda d: d["media"]["presets"]["agar"].update(c_n=float("nan")), "finite number"),
    (lambda d: d["physics"].update(medium="honey"), "valid media: agar, viscous_1000mPas"),
    (lambda d: d["physics"].update(integrator="rk4"), "integrator"),
])
def test_bad_config(tmp_path, edit, match):
    with pytest.raises(BodyError, match=match):
        load_config(write_config(tmp_path, edit))


def test_controller_joints_match_config():
    config = load_config()
    with open(share_file("config/caterpillar_controllers.yaml")) as f:
        controllers = yaml.safe_load(f)
    assert controllers["caterpillar_effort_controller"]["ros__parameters"]["joints"] == list(config.joints)


def test_share_files_follow_the_ament_prefix(tmp_path, monkeypatch):
    """A colcon install's share folder is found through AMENT_PREFIX_PATH (after the checkout's own files)."""
    prefix = tmp_path / "install" / "braingo_ros"
    (prefix / "share" / "ament_index" / "resource_index" / "packages").mkdir(parents=True)
    (prefix / "share" / "ament_index" / "resource_index" / "packages" / "braingo_ros").write_text("")
    (prefix / "share" / "braingo_ros" / "config").mkdir(parents=True)
    (prefix / "share" / "braingo_ros" / "package.xml").write_text("<package/>")
    (prefix / "share" / "braingo_ros" / "config" / "only_installed.yaml").write_text("a: 1\n")
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(prefix))
    installed = prefix / "share" / "braingo_ros" / "config" / "only_installed.yaml"
    assert share_file("config/only_installed.yaml") == installed
    assert share_file("config/caterpillar.yaml").parent.parent == share.share_dir()   # the checkout first
    monkeypatch.setenv("AMENT_PREFIX_PATH", str(tmp_path / "elsewhere"))
    with pytest.raises(share.ShareError, match="only_installed.yaml"):
        share_file("config/only_installed.yaml")


def test_description_has_no_ros_imports():
    source = open(description.__file__).read()
    assert "ament_index_python" not in source and "rclpy" not in source
