"""Helpers for tests that run real rclpy nodes: a private context per test module, spinning with a timeout."""
import contextlib
import time

import rclpy
from rclpy.context import Context

from braingo_ros.spinning import make_executor


@contextlib.contextmanager
def ros_context(domain_id):
    """An initialised rclpy Context on its own DDS domain (no crosstalk with other test runs)."""
    context = Context()
    rclpy.init(context=context, domain_id=domain_id)
    try:
        yield context
    finally:
        context.try_shutdown()


def spin_until(executor, predicate, timeout_s=60.0):
    """Spin ``executor`` until ``predicate()`` is true; returns its final value (False on timeout)."""
    deadline = time.monotonic() + timeout_s
    while not predicate():
        if time.monotonic() > deadline:
            return predicate()
        executor.spin_once(timeout_sec=0.02)
    return True


def executor_for(context, *nodes):
    """The executor the node executables and bringup use, on ``context``, with ``nodes`` added."""
    return make_executor(*nodes, context=context)
