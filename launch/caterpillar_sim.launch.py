"""Caterpillar in the MuJoCo body simulation: body_sim + brain + muscle + sensor, robot_state_publisher, rviz.

ros2 launch braingo_ros caterpillar_sim.launch.py [database:=PATH] [model:=graded|celegans] [rviz:=true]
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from braingo_ros.launch_description import CONFIG_FILE, PACKAGE, RVIZ_FILE, nodes


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    config = PathJoinSubstitution([share, "config", CONFIG_FILE])
    xacro_file = PathJoinSubstitution([share, "urdf", "caterpillar.urdf.xacro"])
    robot_description = ParameterValue(Command(["xacro ", xacro_file, " sim:=mujoco"]), value_type=str)
    brain = {"database": LaunchConfiguration("database"), "model": LaunchConfiguration("model")}
    return LaunchDescription([
        DeclareLaunchArgument("database", default_value="", description="Path of the .braindb; empty = bundled worm."),
        DeclareLaunchArgument("model", default_value="graded", description="Neuron model: graded or celegans."),
        DeclareLaunchArgument("rviz", default_value="true", description="Start rviz2 with config/braingo.rviz."),
        *[Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
               parameters=[config, spec.parameters, *([brain] if spec.name == "brain_node" else [])])
          for spec in nodes("sim")],
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             parameters=[{"robot_description": robot_description, "use_sim_time": True}]),
        Node(package="rviz2", executable="rviz2", arguments=["-d", PathJoinSubstitution([share, "config", RVIZ_FILE])],
             parameters=[{"use_sim_time": True}], condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
