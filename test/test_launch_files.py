"""Launch files parse, start only known executables, and config/braingo.yaml matches the nodes' parameters."""
import ast
import configparser
import importlib
import os
import re

import pytest
import yaml

from braingo_core.body.closed_loop import locomotion_settings
from braingo_ros import launch_description as ld

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
LAUNCH_FILES = ["caterpillar_sim.launch.py", "caterpillar_gazebo.launch.py", "robot.launch.py"]
NODE_MODULES = {"brain_node": "braingo_ros.brain_node", "muscle_node": "braingo_ros.muscle_node",
                "sensor_node": "braingo_ros.sensor_node", "body_sim_node": "braingo_ros.body_sim_node"}


def console_scripts():
    tree = ast.parse(open(os.path.join(ROOT, "setup.py")).read())
    scripts = {}
    for node in ast.walk(tree):
        if (isinstance(node, ast.Constant) and isinstance(node.value, str)
                and re.match(r"^\w+ = [\w.]+:\w+$", node.value)):
            name, target = node.value.split(" = ")
            scripts[name] = target
    return scripts


def launch_tree(name):
    with open(os.path.join(ROOT, "launch", name)) as f:
        return ast.parse(f.read(), filename=name)


def calls(tree, func_name):
    return [n for n in ast.walk(tree) if isinstance(n, ast.Call)
            and getattr(n.func, "id", getattr(n.func, "attr", None)) == func_name]


def test_executables_are_console_scripts():
    scripts = console_scripts()
    for name, executable in ld.EXECUTABLES.items():
        assert scripts.get(executable) == f"braingo_ros.{executable}:main", executable


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_launch_file_is_declarative(name):
    tree = launch_tree(name)
    functions = [n.name for n in tree.body if isinstance(n, ast.FunctionDef)]
    assert functions == ["generate_launch_description"]
    imported = {a.name for n in ast.walk(tree) if isinstance(n, ast.ImportFrom) for a in n.names}
    assert {"LaunchDescription", "Node", "FindPackageShare"} <= imported
    setups = [c.args[0].value for c in calls(tree, "nodes")]
    assert len(setups) == 1 and setups[0] in ld.SETUPS
    for call in calls(tree, "DeclareLaunchArgument"):
        keywords = {k.arg for k in call.keywords}
        assert {"default_value", "description"} <= keywords, ast.dump(call)


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_launch_file_node_executables(name):
    """Literal Node(...) actions name other packages' executables; ours come from launch_description."""
    for call in calls(launch_tree(name), "Node"):
        kw = {k.arg: k.value for k in call.keywords}
        package, executable = kw["package"], kw["executable"]
        if isinstance(package, ast.Name):
            assert package.id == "PACKAGE"
            assert ast.unparse(executable) == "spec.executable"
        else:
            assert isinstance(executable, ast.Constant) and executable.value


def test_setups_start_known_nodes():
    assert [s.name for s in ld.nodes("sim")] == ["brain_node", "muscle_node", "sensor_node", "body_sim_node"]
    assert "body_sim_node" not in [s.name for s in ld.nodes("robot")]
    sim = {s.name: s.parameters for s in ld.nodes("sim")}
    assert all(p["use_sim_time"] for p in sim.values())
    assert sim["brain_node"]["step_on_stimulus"] and sim["body_sim_node"]["lock_step"]
    robot = {s.name: s.parameters for s in ld.nodes("robot", {"brain_node": {"model": "celegans"}})}
    assert robot["brain_node"] == {"use_sim_time": False, "step_on_stimulus": False, "model": "celegans",
                                   **ld.brain_parameters()}
    # The brain runs the ROS-free loop's network and forward drive (config/caterpillar.yaml, locomotion).
    loco = locomotion_settings()
    assert ld.brain_parameters()["tonic_stimulus"] == loco["forward_drive"]
    assert (ld.brain_parameters()["synapse_weight_scale"], ld.brain_parameters()["gap_weight_scale"]) == (
        loco["synapse_weight_scale"], loco["gap_weight_scale"])
    override = {s.name: s.parameters for s in ld.nodes("sim", {"brain_node": {"tonic_stimulus": ["AVAL:50"]}})}
    assert override["brain_node"]["tonic_stimulus"] == ["AVAL:50"]
    # The brain reads /brain/stimulus in the order the sensor node writes it.
    from braingo_core.body import SensoryInput
    assert sim["brain_node"]["stimulus_neurons"] == list(SensoryInput().neurons)
    assert len(sim["brain_node"]["stimulus_neurons"]) > 0
    with pytest.raises(ValueError, match="unknown setup 'moon'"):
        ld.nodes("moon")


def test_config_blocks_match_node_parameters():
    config = ld.load_config(os.path.join(ROOT, "config", ld.CONFIG_FILE))
    assert set(config) <= set(ld.EXECUTABLES)
    for name, block in config.items():
        declared = importlib.import_module(NODE_MODULES[name]).PARAMS
        unknown = set(block) - set(declared)
        assert not unknown, f"{name}: {sorted(unknown)} not declared by the node"
        for key, value in block.items():
            assert isinstance(value, type(declared[key].default)), (name, key, value)


def test_config_files_exist_and_parse():
    for path in (ld.config_path(), ld.config_path(ld.RVIZ_FILE)):
        with open(path) as f:
            assert yaml.safe_load(f)
    rviz = yaml.safe_load(open(ld.config_path(ld.RVIZ_FILE)))
    classes = {d["Class"] for d in rviz["Visualization Manager"]["Displays"]}
    assert {"rviz_default_plugins/RobotModel", "rviz_default_plugins/TF", "rviz_default_plugins/MarkerArray"} <= classes


def test_setup_cfg_installs_executables_under_lib_package():
    cfg = configparser.ConfigParser()
    cfg.read(os.path.join(ROOT, "setup.cfg"))
    assert cfg["install"]["install_scripts"].endswith(f"lib/{ld.PACKAGE}")


def test_control_period_has_one_source():
    """The brain and the body both take the period from the body config they are given, and every node is given
    the same one: a body/brain period mismatch cannot be configured."""
    from braingo_ros.brain_node import PARAMS as BRAIN_PARAMS
    assert "control_period_s" not in BRAIN_PARAMS and "body_config" in BRAIN_PARAMS
    config = ld.load_config(os.path.join(ROOT, "config", ld.CONFIG_FILE))
    assert all("control_period_s" not in block and "body_config" not in block for block in config.values())
    body = os.path.join(ROOT, "config", "caterpillar.yaml")
    specs = ld.nodes("sim", shared={"body_config": body}, with_config=True)
    assert {s.name: s.parameters["body_config"] for s in specs} == {name: body for name in ld.SETUPS["sim"]}
    assert not any("control_period_s" in s.parameters for s in specs)
    with pytest.raises(ValueError, match="unknown shared setting"):
        ld.nodes("sim", shared={"control_period_s": 0.02})


def test_database_reaches_brain_and_muscle_node(tmp_path):
    for setup in ld.SETUPS:
        specs = {s.name: s.parameters for s in ld.nodes(setup, shared={"database": "/data/fly.braindb"})}
        assert specs["brain_node"]["database"] == specs["muscle_node"]["database"] == "/data/fly.braindb"
    assert set(ld.node_arguments("muscle_node")) >= {"database"} and "database" in ld.node_arguments("brain_node")
    from braingo_ros import bringup
    args = bringup.build_parser().parse_args(["--duration", "1", "--database", "x.braindb"])
    specs = {s.name: s.parameters for s in bringup.node_specs(args, str(tmp_path))}
    assert specs["brain_node"]["database"] == specs["muscle_node"]["database"] == os.path.abspath("x.braindb")


@pytest.mark.parametrize("name", LAUNCH_FILES)
def test_launch_arguments_reach_nodes_as_strings(name):
    """Every argument comes from the ARGUMENTS table (default + description) and reaches our nodes through
    ParameterValue(..., value_type=str): database:=123 stays a string."""
    tree = launch_tree(name)
    source = ast.unparse(tree)
    assert "for name, (default, text, _nodes) in ARGUMENTS.items()" in source
    assert "ParameterValue(LaunchConfiguration(arg), value_type=str) for arg in node_arguments(spec.name)" in source
    for default, text, nodes in ld.ARGUMENTS.values():
        assert isinstance(default, str) and text.endswith(".") and set(nodes) <= set(ld.EXECUTABLES)


def test_sim_launch_optional_nodes_are_switches():
    tree = launch_tree("caterpillar_sim.launch.py")
    conditions = {}
    for call in calls(tree, "Node"):
        kw = {k.arg: k.value for k in call.keywords}
        if isinstance(kw["package"], ast.Constant):
            conditions[kw["package"].value] = ast.unparse(kw.get("condition", ast.Constant(None)))
    assert conditions == {"robot_state_publisher": "IfCondition(LaunchConfiguration('robot_state_publisher'))",
                          "rviz2": "IfCondition(LaunchConfiguration('rviz'))"}
    assert "for name, (default, text) in SWITCHES.items()" in ast.unparse(tree)
    assert {k: v[0] for k, v in ld.SWITCHES.items()} == {"robot_state_publisher": "true", "rviz": "false"}
