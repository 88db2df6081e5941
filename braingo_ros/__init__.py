"""BrainGo ROS 2 shell: rclpy nodes (brain, muscle, sensor, body simulation) around braingo_core, and bring-up."""
