"""Build script for the braingo_ros ament_python package (also a plain pip package)."""
import os

from setuptools import find_packages, setup

PACKAGE = "braingo_ros"


def tree(src):
    """(share destination, files) pairs for every directory under ``src``."""
    pairs = []
    for root, _dirs, files in os.walk(src):
        paths = [os.path.join(root, f) for f in sorted(files) if not f.endswith((".pyc", ".braindb"))]
        if paths:
            pairs.append((os.path.join("share", PACKAGE, root), paths))
    return pairs


setup(
    name=PACKAGE,
    version="0.1.0",
    description="Connectome-driven robot control: .braindb storage, Numba simulator, ROS 2 nodes",
    license="Apache-2.0",
    python_requires=">=3.10",
    packages=find_packages(include=["braingo_core", "braingo_core.*", "braingo_ros", "braingo_ros.*"]),
    data_files=[
        ("share/ament_index/resource_index/packages", ["resource/" + PACKAGE]),
        (os.path.join("share", PACKAGE), ["package.xml"]),
        *tree("launch"),
        *tree("config"),
        *tree("urdf"),
        *tree("data"),
    ],
    install_requires=["numpy>=1.26,<2.3", "numba>=0.60", "scipy", "pyyaml", "openpyxl", "matplotlib", "tqdm", "xxhash"],
    extras_require={
        "ros": [
            "ros-rclpy[fastrtps]", "ros-std-msgs", "ros-sensor-msgs", "ros-geometry-msgs", "ros-nav-msgs",
            "ros-visualization-msgs", "ros-std-srvs", "ros-rosgraph-msgs", "mcap", "mcap-ros2-support", "xacro",
        ],
        "sim": ["mujoco", "xacro"],
        "fly": ["pyarrow"],
        "mpi": ["mpi4py", "mpich"],
        # braingo fit: the differentiable twin of the graded engine (CPU is enough; pinned in constraints.txt)
        "fit": ["torch>=2.1"],
        "dev": ["pytest", "pytest-timeout", "hypothesis", "flake8", "brian2", "colcon-common-extensions", "colcon-ros",
                "pyarrow", "mpi4py", "mpich"],
    },
    zip_safe=True,
    entry_points={
        "console_scripts": [
            "braingo = braingo_core.cli:main",
            "brain_node = braingo_ros.brain_node:main",
            "muscle_node = braingo_ros.muscle_node:main",
            "sensor_node = braingo_ros.sensor_node:main",
            "body_sim_node = braingo_ros.body_sim_node:main",
            "bringup = braingo_ros.bringup:main",
        ],
    },
)
