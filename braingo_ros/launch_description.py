"""The node sets and parameters of the BrainGo launch files, importable without ``launch``.

launch/*.launch.py turn :func:`nodes` into ``launch_ros.actions.Node`` actions; ``braingo_ros.bringup``
starts the same list in one process or as child processes. Parameters: the node's block of
config/braingo.yaml, then what config/caterpillar.yaml decides for the brain (its stimulus order, the
network's weight scales and the forward-crawl drive: :func:`brain_parameters`), then the setup's overrides
(sim time, lock-step), then the caller's.
"""
import os
import sys
from typing import NamedTuple

import yaml

from braingo_core.body import load_config as load_body_config
from braingo_core.body.closed_loop import locomotion_settings
from braingo_core.body.command_gate import gate_parameters
from braingo_core.body.proprioception import ProprioceptionMap

PACKAGE = "braingo_ros"
CONFIG_FILE = "braingo.yaml"
RVIZ_FILE = "braingo.rviz"

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


def share_dir():
    """The package's share directory when installed (ament index), else the source tree root."""
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    for prefix in prefixes:
        candidate = os.path.join(prefix, "share", PACKAGE)
        if os.path.isfile(os.path.join(candidate, "config", CONFIG_FILE)):
            return candidate
    return os.path.dirname(os.path.dirname(os.path.abspath(__file__)))


def config_path(name=CONFIG_FILE):
    """Path of a file in the package's config/ folder."""
    return os.path.join(share_dir(), "config", name)


def load_config(path=None):
    """Node name -> ``ros__parameters`` dict of a ROS parameter YAML file (default config/braingo.yaml)."""
    with open(path or config_path(), encoding="utf-8") as f:
        raw = yaml.safe_load(f) or {}
    return {name: dict((block or {}).get("ros__parameters", {})) for name, block in raw.items()}


def setup_overrides(setup, name):
    """Parameters ``setup`` forces on node ``name`` (on top of config/braingo.yaml)."""
    table = SETUP_PARAMETERS[setup]
    return {**table.get("*", {}), **table.get(name, {})}


def nodes(setup, overrides=None, with_config=False, config=None):
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

    Returns
    -------
    list of NodeSpec
    """
    if setup not in SETUPS:
        raise ValueError(f"unknown setup '{setup}', expected one of {sorted(SETUPS)}")
    overrides = overrides or {}
    if with_config and config is None:
        config = load_config()
    specs = []
    for name in SETUPS[setup]:
        parameters = dict(config.get(name, {})) if with_config else {}
        if name == "brain_node":
            sensor_config = (config or {}).get("sensor_node", {}).get("body_config") if with_config else None
            parameters.update(brain_parameters(sensor_config or None))
        parameters.update(setup_overrides(setup, name))
        parameters.update(overrides.get(name, {}))
        specs.append(NodeSpec(EXECUTABLES[name], name, parameters))
    return specs


def brain_parameters(body_config=None):
    """Brain parameters that config/caterpillar.yaml decides (one source of truth with the ROS-free loop).

    ``stimulus_neurons``: the order the sensor node writes /brain/stimulus in; ``stimulus_gate*``: the
    command gate of each (``proprioception.command_gate``); ``synapse_weight_scale``, ``gap_weight_scale``:
    the ``locomotion`` section's network; ``tonic_stimulus``: its forward drive.
    """
    config = load_body_config(body_config)
    loco = locomotion_settings(config)
    neurons = stimulus_neurons(config)
    return {"stimulus_neurons": neurons, **gate_parameters(config, neurons),
            "synapse_weight_scale": loco["synapse_weight_scale"], "gap_weight_scale": loco["gap_weight_scale"],
            "tonic_stimulus": list(loco["forward_drive"])}


def stimulus_neurons(body_config=None):
    """Neuron names of /brain/stimulus in the sensor node's order (config/caterpillar.yaml; a path, None
    for the package's, or a loaded BodyConfig)."""
    return list(ProprioceptionMap(body_config).neurons)
