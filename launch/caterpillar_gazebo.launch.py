"""Caterpillar in Gazebo (gz sim) with gz_ros2_control: world, robot spawn, controllers, and the three
BrainGo nodes (brain + muscle + sensor) on sim time.

ros2 launch braingo_ros caterpillar_gazebo.launch.py [database:=PATH] [model:=graded|celegans] [world:=empty.sdf]

Arguments and defaults: braingo_ros.launch_description.ARGUMENTS (passed as strings) and ``world``.
"""
from launch import LaunchDescription
from launch.actions import DeclareLaunchArgument, IncludeLaunchDescription
from launch.substitutions import Command, LaunchConfiguration, PathJoinSubstitution
from launch_ros.actions import Node
from launch_ros.parameter_descriptions import ParameterValue
from launch_ros.substitutions import FindPackageShare

from braingo_ros.launch_description import ARGUMENTS, CONFIG_FILE, PACKAGE, URDF_FILE, node_arguments, nodes


def generate_launch_description():
    share = FindPackageShare(PACKAGE)
    config = PathJoinSubstitution([share, "config", CONFIG_FILE])
    xacro_file = PathJoinSubstitution([share, "urdf", URDF_FILE])
    robot_description = ParameterValue(Command(["xacro ", xacro_file, " sim:=gazebo"]), value_type=str)
    gazebo = IncludeLaunchDescription(
        PathJoinSubstitution([FindPackageShare("ros_gz_sim"), "launch", "gz_sim.launch.py"]),
        launch_arguments={"gz_args": ["-r ", LaunchConfiguration("world")]}.items())
    return LaunchDescription([
        *[DeclareLaunchArgument(name, default_value=default, description=text)
          for name, (default, text, _nodes) in ARGUMENTS.items()],
        DeclareLaunchArgument("world", default_value="empty.sdf", description="Gazebo world file."),
        gazebo,
        Node(package="robot_state_publisher", executable="robot_state_publisher", output="screen",
             parameters=[{"robot_description": robot_description, "use_sim_time": True}]),
        Node(package="ros_gz_sim", executable="create", output="screen",
             arguments=["-topic", "robot_description", "-name", "caterpillar", "-z", "0.03"]),
        Node(package="ros_gz_bridge", executable="parameter_bridge", output="screen",
             arguments=["/clock@rosgraph_msgs/msg/Clock[gz.msgs.Clock"]),
        Node(package="controller_manager", executable="spawner", output="screen",
             arguments=["joint_state_broadcaster", "caterpillar_effort_controller"]),
        *[Node(package=PACKAGE, executable=spec.executable, name=spec.name, output="screen",
               parameters=[config, spec.parameters,
                           {arg: ParameterValue(LaunchConfiguration(arg), value_type=str)
                            for arg in node_arguments(spec.name)}])
          for spec in nodes("gazebo")],
    ])
