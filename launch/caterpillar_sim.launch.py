"""Caterpillar in the MuJoCo body simulation: body_sim + brain + muscle + sensor, optional robot_state_publisher
and rviz.

ros2 launch braingo_ros caterpillar_sim.launch.py [database:=PATH] [model:=graded|celegans]
                                                  [robot_state_publisher:=true] [rviz:=false]

Arguments and defaults: braingo_ros.launch_description.ARGUMENTS and SWITCHES (robot_state_publisher true,
rviz false: a headless machine has no display). String arguments are passed as strings
(``database:=123`` stays the path "123").
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument
from launch.conditions import IfCondition
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from braingo_ros.launch_description import (ARGUMENTS, CONFIG_FILE, PACKAGE, RVIZ_FILE, SWITCHES, URDF_FILE,
                                            node_arguments, nodes)


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    config = PathJoinSubstitution([share, "config", CONFIG_FILE])
    xacro_file = PathJoinSubstitution([share, "urdf", URDF_FILE])
    robot_description = ParameterValue(Command(["xacro ", xacro_file, " sim:=mujoco"]), value_type=str)
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text, _nodes) in ARGUMENTS.items()],
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text) in SWITCHES.items()],
        *[Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
               parameters=[config, spec.parameters,
                           {arg: ParameterValue(LaunchConfiguration(arg), value_type=str)
                            for arg in node_arguments(spec.name)}])
          for spec in nodes("sim")],
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             parameters=[{"robot_description": robot_description, "use_sim_time": True}],
             condition=IfCondition(LaunchConfiguration("robot_state_publisher"))),
        Node(package="rviz2", executable="rviz2", arguments=["-d", PathJoinSubstitution([share, "config", RVIZ_FILE])],
             parameters=[{"use_sim_time": True}], condition=IfCondition(LaunchConfiguration("rviz"))),
    ])
