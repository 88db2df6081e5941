"""The node sets and parameters of the BrainGo launch files, importable without ``launch``.

launch/*.launch.py turn :func:`nodes` into ``launch_ros.actions.Node`` actions; ``braingo_ros.bringup``
starts the same list in one process or as child processes. Parameters: the node's block of
config/braingo.yaml, then what config/caterpillar.yaml decides for the brain (its stimulus order and gates,
the network's weight scales and the forward-crawl drive: :func:`brain_parameters`), then the setup's overrides
(sim time, lock-step), then the shared settings of :data:`SHARED` (one value for every node that takes it),
then the caller's.

:data:`ARGUMENTS` are the launch arguments: each is passed, as a string parameter, to every node listed
for it, so ``database:=...`` reaches the brain and the muscle node alike.
"""
from typing import NamedTuple

import yaml

from braingo_core.body import SensoryInput
from braingo_core.body import load_config as load_body_config
from braingo_core.body.closed_loop import locomotion_settings
from braingo_core.body.command_gate import gate_from_config
from braingo_core import share
from braingo_core.share import share_file

PACKAGE = share.PACKAGE
CONFIG_FILE = "braingo.yaml"
RVIZ_FILE = "braingo.rviz"
URDF_FILE = "caterpillar.urdf.xacro"

#: Settings shared by several nodes -> the nodes that take them as a parameter of that name. Set once (bringup
#: ``--database``/``--body-config``, or a launch argument), they reach each of these nodes.
SHARED = {
    "database": ("brain_node", "muscle_node"),
    "body_config": ("brain_node", "muscle_node", "sensor_node", "body_sim_node"),
}
#: Launch arguments of the launch files: name -> (default, description, nodes that get it as a parameter).
ARGUMENTS = {
    "database": ("", "Path of the .braindb for the brain and the muscle map; empty = the bundled worm.",
                 SHARED["database"]),
    "model": ("graded", "Neuron model of the brain (braingo_core.sim.config; graded or celegans).", ("brain_node",)),
}
#: Launch arguments that switch optional nodes on or off: name -> (default, description).
SWITCHES = {
    "robot_state_publisher": ("true", "Start robot_state_publisher with the caterpillar URDF (TF for rviz)."),
    "rviz": ("false", "Start rviz2 with config/braingo.rviz (needs a display)."),
}

#: Node name -> console_scripts executable (setup.py entry points).
EXECUTABLES = {
    "body_sim_node": "body_sim_node",
    "brain_node": "brain_node",
    "muscle_node": "muscle_node",
    "sensor_node": "sensor_node",
}
#: Node names started by each setup, in start order (the body last, so it finds the others listening).
SETUPS = {
    "sim": ("brain_node", "muscle_node", "sensor_node", "body_sim_node"),
    "gazebo": ("brain_node", "muscle_node", "sensor_node"),
    "robot": ("brain_node", "muscle_node", "sensor_node"),
}
#: Per-setup overrides: "*" applies to every node of the setup.
SETUP_PARAMETERS = {
    # MuJoCo body: sim time from body_sim_node, the brain steps once per stimulus, the body once per command.
    "sim": {"*": {"use_sim_time": True}, "brain_node": {"step_on_stimulus": True},
            "body_sim_node": {"lock_step": True}},
    # Gazebo publishes /clock and runs freely: the brain follows sim time with its timer.
    "gazebo": {"*": {"use_sim_time": True}, "brain_node": {"step_on_stimulus": False}},
    # Hardware: wall clock.
    "robot": {"*": {"use_sim_time": False}, "brain_node": {"step_on_stimulus": False}},
}


class NodeSpec(NamedTuple):
    """One node to start: ``executable`` of package ``braingo_ros``, node ``name``, ``parameters`` dict."""
    executable: str
    name: str
    parameters: dict


def config_path(name=CONFIG_FILE):
    """Path of a file in the package's config/ folder (:func:`braingo_core.share.share_file`)."""
    return str(share_file(f"config/{name}"))


def node_arguments(name):
    """The launch arguments (:data:`ARGUMENTS`) node ``name`` takes as parameters."""
    return [arg for arg, (_default, _text, nodes) in ARGUMENTS.items() if name in nodes]


def load_config(path=None):
    """Node name -> ``ros__parameters`` dict of a ROS parameter YAML file (default config/braingo.yaml)."""
    with open(path or config_path(), encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    return {name: dict((block or {}).get("ros__parameters") or {}) for name, block in raw.items()}


def setup_overrides(setup, name):
    """Parameters ``setup`` forces on node ``name`` (on top of config/braingo.yaml)."""
    table = SETUP_PARAMETERS[setup]
    return {**table.get("*", {}), **table.get(name, {})}


def nodes(setup, overrides=None, with_config=False, config=None, shared=None):
    """Nodes of ``setup`` ("sim", "gazebo", "robot") with their parameters.

    Parameters
    ----------
    setup : str
    overrides : dict of str to dict, optional
        Node name -> extra parameters (last word).
    with_config : bool
        Merge the config/braingo.yaml block in (bring-up does; launch files pass the YAML file instead).
    config : dict, optional
        Parsed parameter file (default :func:`load_config`), used with ``with_config``.
    shared : dict, optional
        Values of :data:`SHARED` settings (``{"database": PATH, "body_config": PATH}``): each goes to every
        node that takes it; ``body_config`` also decides the brain's :func:`brain_parameters`.

    Returns
    -------
    list of NodeSpec
    """
    if setup not in SETUPS:
        raise ValueError(f"unknown setup '{setup}', expected one of {sorted(SETUPS)}")
    overrides, shared = overrides or {}, dict(shared or {})
    if unknown := sorted(set(shared) - set(SHARED)):
        raise ValueError(f"unknown shared setting(s) {unknown}, expected some of {sorted(SHARED)}")
    if with_config and config is None:
        config = load_config()
    specs = []
    for name in SETUPS[setup]:
        parameters = dict(config.get(name, {})) if with_config else {}
        if name == "brain_node":
            parameters.update(brain_parameters(shared.get("body_config") or None))
        parameters.update(setup_overrides(setup, name))
        parameters.update({key: value for key, value in shared.items() if name in SHARED[key]})
        parameters.update(overrides.get(name, {}))
        specs.append(NodeSpec(EXECUTABLES[name], name, parameters))
    return specs


def brain_parameters(body_config=None):
    """Brain parameters that config/caterpillar.yaml decides (one source of truth with the ROS-free loop).

    ``stimulus_neurons``: the order the sensor node writes /brain/stimulus in; ``stimulus_gates`` (command
    neurons joined by ``+``) and ``stimulus_gate_*``: the command gate of each
    (``proprioception.command_gate``); ``synapse_weight_scale``, ``gap_weight_scale``: the ``locomotion``
    section's network; ``tonic_stimulus``: its forward drive. (The control period is not among them: the
    brain reads it from the same ``body_config`` as the body.)
    """
    config = load_body_config(body_config)
    loco = locomotion_settings(config)
    neurons = stimulus_neurons(config)
    commands, settings = gate_from_config(config, neurons)
    return {"stimulus_neurons": neurons, "stimulus_gates": ["+".join(c) for c in commands],
            **{f"stimulus_gate_{key}": value for key, value in settings._asdict().items()},
            "synapse_weight_scale": loco["synapse_weight_scale"], "gap_weight_scale": loco["gap_weight_scale"],
            "tonic_stimulus": list(loco["forward_drive"])}


def stimulus_neurons(body_config=None):
    """Neuron names of /brain/stimulus in the sensor node's order (config/caterpillar.yaml; a path, None
    for the package's, or a loaded BodyConfig)."""
    return list(SensoryInput(body_config).neurons)
