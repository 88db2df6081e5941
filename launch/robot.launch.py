"""Caterpillar hardware: brain + muscle + sensor on the wall clock; the robot's own ros2_control stack
provides /joint_states and takes /caterpillar_effort_controller/commands.

ros2 launch braingo_ros robot.launch.py [database:=PATH] [model:=graded|celegans]

Arguments and defaults: braingo_ros.launch_description.ARGUMENTS (passed as strings).
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from braingo_ros.launch_description import ARGUMENTS, CONFIG_FILE, PACKAGE, node_arguments, nodes


def generate_launch_description():
    config = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", CONFIG_FILE])
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text, _nodes) in ARGUMENTS.items()],
        *[Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
               parameters=[config, spec.parameters,
                           {arg: ParameterValue(LaunchConfiguration(arg), value_type=str)
                            for arg in node_arguments(spec.name)}])
          for spec in nodes("robot")],
    ])
