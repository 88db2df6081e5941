"""MCAP recording of ROS 2 topics in the rosbag2 layout, and reading it back as numpy series.

A :class:`TopicRecorder` node subscribes to topics in serialized form and stores the CDR bytes
unchanged (profile ``ros2``, schema encoding ``ros2msg``, message encoding ``cdr``), as
``ros2 bag record -s mcap`` does, so ``ros2 bag info``/``play`` and Foxglove read the file.
:func:`read_topics` decodes a recording with ``mcap_ros2``.
"""
import importlib
import logging
import os
import re
import sys
import time

from mcap.reader import make_reader
from mcap.writer import CompressionType, Writer
from mcap_ros2 import __version__ as MCAP_ROS2_VERSION
from mcap_ros2.decoder import DecoderFactory
from rclpy.node import Node
from nav_msgs.msg import Odometry
from rclpy.qos import HistoryPolicy, QoSProfile, ReliabilityPolicy
from rosgraph_msgs.msg import Clock
from sensor_msgs.msg import JointState
from std_msgs.msg import Float64MultiArray
from visualization_msgs.msg import MarkerArray

from braingo_ros import topics

logger = logging.getLogger(__name__)

_PRIMITIVES = {
    "bool", "byte", "char", "float32", "float64", "int8", "uint8", "int16", "uint16", "int32", "uint32",
    "int64", "uint64", "string", "wstring",
}
_SEPARATOR = "=" * 80
#: Topics of the closed loop (ARCHITECTURE.md) and their types.
LOOP_TOPICS = {
    topics.MOTOR_VOLTAGES: Float64MultiArray,
    topics.VOLTAGES: Float64MultiArray,
    topics.ACTIVITY_MARKERS: MarkerArray,
    topics.STIMULUS: Float64MultiArray,
    topics.MUSCLE_ACTIVATION: Float64MultiArray,
    topics.EFFORT_COMMANDS: Float64MultiArray,
    topics.JOINT_STATES: JointState,
    topics.ODOM: Odometry,
    topics.CONTACT_FORCES: Float64MultiArray,
    topics.CLOCK: Clock,
}


def _msg_file(package, name):
    prefixes = [p for p in os.environ.get("AMENT_PREFIX_PATH", "").split(os.pathsep) if p] + [sys.prefix]
    for prefix in prefixes:
        path = os.path.join(prefix, "share", package, "msg", name + ".msg")
        if os.path.isfile(path):
            return path
    raise FileNotFoundError(f"message definition {package}/msg/{name}.msg not found under {prefixes}")


def _field_types(text, package):
    """Complex (non-primitive) field types of a .msg text, as (package, name)."""
    found = []
    for line in text.splitlines():
        line = line.split("#", 1)[0].strip()
        if not line:
            continue
        base = re.split(r"[\[<]", line.split()[0], maxsplit=1)[0]
        if base in _PRIMITIVES:  # constants are always primitive
            continue
        pkg, _, name = base.rpartition("/")
        found.append((pkg or package, name))
    return found


def message_definition(msg_type):
    """Full ``ros2msg`` definition text of a message class, dependencies appended (rosbag2 style).

    Parameters
    ----------
    msg_type : type
        A generated rclpy message class, e.g. ``std_msgs.msg.Float64MultiArray``.

    Returns
    -------
    schema_name : str
        ``"pkg/msg/Name"``.
    text : str
        The .msg text followed by one ``MSG: pkg/Name`` block per nested type.
    """
    package = msg_type.__module__.split(".")[0]
    root = (package, msg_type.__name__)
    with open(_msg_file(*root), encoding="utf-8") as f:
        parts = [f.read()]
    seen, todo = {root}, _field_types(parts[0], package)
    while todo:
        dep = todo.pop(0)
        if dep in seen:
            continue
        seen.add(dep)
        with open(_msg_file(*dep), encoding="utf-8") as f:
            text = f.read()
        parts.append(f"{_SEPARATOR}\nMSG: {dep[0]}/{dep[1]}\n{text}")
        todo.extend(_field_types(text, dep[0]))
    return f"{package}/msg/{msg_type.__name__}", "\n".join(parts)


def msg_class(type_name):
    """Message class for ``"pkg/msg/Name"``."""
    package, _, name = type_name.split("/")
    return getattr(importlib.import_module(f"{package}.msg"), name)


class TopicRecorder(Node):
    """Records topics into an MCAP file, CDR bytes as they arrive (log time = receive time).

    Parameters
    ----------
    path : str
        Output ``.mcap`` file (overwritten).
    topics : dict of str to type
        Topic name -> message class.
    """

    def __init__(self, path, topics, node_name="braingo_recorder", **kwargs):
        super().__init__(node_name, **kwargs)
        self._file = open(path, "wb")
        self._writer = Writer(self._file, compression=CompressionType.ZSTD)
        self._writer.start(profile="ros2", library=f"braingo mcap-ros2-support/{MCAP_ROS2_VERSION}")
        self.message_counts = {}
        qos = QoSProfile(depth=1000, reliability=ReliabilityPolicy.RELIABLE, history=HistoryPolicy.KEEP_LAST)
        for topic, msg_type in topics.items():
            schema_name, text = message_definition(msg_type)
            schema_id = self._writer.register_schema(schema_name, "ros2msg", text.encode())
            channel_id = self._writer.register_channel(topic, "cdr", schema_id)
            self.message_counts[topic] = 0
            self.create_subscription(msg_type, topic, self._callback(topic, channel_id), qos, raw=True)

    def _callback(self, topic, channel_id):
        def record(data):
            now = time.time_ns()
            self._writer.add_message(channel_id, log_time=now, data=data, publish_time=now,
                                     sequence=self.message_counts[topic])
            self.message_counts[topic] += 1
        return record

    def close(self):
        """Finish the MCAP summary section and close the file (idempotent)."""
        if not self._file.closed:
            self._writer.finish()
            self._file.close()
            logger.info("recorded %s", self.message_counts)


def read_topics(path, topics=None):
    """Decode an MCAP recording.

    Parameters
    ----------
    path : str
        ``.mcap`` file written by :class:`TopicRecorder` or ``ros2 bag record``.
    topics : iterable of str, optional
        Only these topics (default: all).

    Returns
    -------
    dict of str to list of (int, object)
        Topic -> [(log_time_ns, decoded message)] in file order.
    """
    out = {}
    with open(path, "rb") as f:
        reader = make_reader(f, decoder_factories=[DecoderFactory()])
        for _schema, channel, message, decoded in reader.iter_decoded_messages(topics=topics):
            out.setdefault(channel.topic, []).append((message.log_time, decoded))
    return out
