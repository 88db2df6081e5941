"""Caterpillar hardware: brain + muscle + sensor on the wall clock; the robot's own ros2_control stack
provides /joint_states and takes /caterpillar_effort_controller/commands.

ros2 launch braingo_ros robot.launch.py [database:=PATH] [model:=graded|celegans]
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.substitutions import LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.substitutions import FindPackageShare

from braingo_ros.launch_description import CONFIG_FILE, PACKAGE, nodes


def generate_launch_description():
    config = PathJoinSubstitution([FindPackageShare(PACKAGE), "config", CONFIG_FILE])
    brain = {"database": LaunchConfiguration("database"), "model": LaunchConfiguration("model")}
    return LaunchDescription([
        DeclareLaunchArgument("database", default_value="", description="Path of the .braindb; empty = bundled worm."),
        DeclareLaunchArgument("model", default_value="graded", description="Neuron model: graded or celegans."),
        *[Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
               parameters=[config, spec.parameters, *([brain] if spec.name == "brain_node" else [])])
          for spec in nodes("robot")],
    ])
