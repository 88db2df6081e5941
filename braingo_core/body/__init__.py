"""Caterpillar body: robot description, MuJoCo physics, muscle maps, the senses and the control step (ROS-free).

``CaterpillarBody`` (braingo_core.body.physics) is imported on first use, so the maps work without mujoco.
"""
from braingo_core.body.description import BodyConfig, check_joints, load_config, render_urdf, urdf_joints
from braingo_core.body.muscles import CnnMuscleMap, SigmoidMuscleMap, muscles_to_efforts
from braingo_core.body.proprioception import proprioceptive_rows
from braingo_core.body.senses import BodyState, SensoryInput

__all__ = ["BodyConfig", "BodyState", "CaterpillarBody", "CnnMuscleMap", "SensoryInput", "SigmoidMuscleMap",
           "check_joints", "load_config", "muscles_to_efforts", "proprioceptive_rows", "render_urdf", "urdf_joints"]


def __getattr__(name):
    if name == "CaterpillarBody":
        from braingo_core.body.physics import CaterpillarBody
        return CaterpillarBody
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
