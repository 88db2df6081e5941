"""Executor for the BrainGo nodes: rclpy's EventsExecutor, in one process or one per node.

The closed loop makes four message hops per 10 ms control period (plus /clock to every node). rclpy's
SingleThreadedExecutor and MultiThreadedExecutor rebuild a wait set over every entity of every node in
Python on each wake-up (about 0.5 ms each, dozens per period); the EventsExecutor queues ready events
from C++ and dispatches them in arrival order, which keeps the loop within a control period.

rclpy 9.1's ``EventsExecutor.spin()`` dispatches nothing (it neither runs timers nor returns), while
``spin_once`` with a timeout works, so :func:`spin` loops over ``spin_once``.
"""
import gc
import threading

import rclpy
from rclpy.executors import ExternalShutdownException
from rclpy.experimental import EventsExecutor

#: Upper bound of one ``spin_once`` wait (s): how quickly a stop request is noticed.
WAIT_S = 0.1


def make_executor(*nodes, context=None):
    """An EventsExecutor (on ``context``, default the global one) with ``nodes`` added."""
    executor = EventsExecutor(context=context)
    for node in nodes:
        executor.add_node(node)
    return executor


def spin(executor, stop=None, context=None):
    """Dispatch callbacks until ``context`` shuts down or ``stop`` (a threading.Event) is set."""
    context = context or rclpy.get_default_context()
    stop = stop or threading.Event()
    while context.ok() and not stop.is_set():
        executor.spin_once(timeout_sec=WAIT_S)


def run_node(node_class, args=None):
    """``main()`` of a node executable: init, spin one ``node_class`` until Ctrl-C or shutdown."""
    try:
        with rclpy.init(args=args):
            node = node_class()
            gc.freeze()   # start-up objects out of the collector's scans: no multi-ms pause in a control period
            spin(make_executor(node))
    except (KeyboardInterrupt, ExternalShutdownException):
        pass
