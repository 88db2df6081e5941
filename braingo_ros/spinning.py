"""Executor for the BrainGo nodes: rclpy's EventsExecutor, in one process or one per node.

The closed loop makes four message hops per 10 ms control period (plus /clock to every node). rclpy's
SingleThreadedExecutor and MultiThreadedExecutor rebuild a wait set over every entity of every node in
Python on each wake-up (about 0.5 ms each, dozens per period); the EventsExecutor queues ready events
from C++ and dispatches them in arrival order, which keeps the loop within a control period.

rclpy 9.1's ``EventsExecutor.spin()`` dispatches nothing (it neither runs timers nor returns), while
``spin_once`` with a timeout works, so :func:`spin` loops over ``spin_once``.

Shutdown (:func:`run_node`): SIGINT and SIGTERM only set a stop flag. rclpy's own signal handlers are off,
because they invalidate the context at once, while a callback may be publishing ("publisher's context is
invalid", a traceback, a non-zero exit). The spin loop notices the flag within ``WAIT_S``, after the running
callback has finished; then the node's ``on_shutdown()`` runs (the brain's final snapshot), the executor and
the node are destroyed and rclpy is shut down, in that order, and the process exits 0.
"""
import gc
import signal
import sys
import threading

import rclpy
from rclpy.exceptions import ParameterException
from rclpy.executors import ExternalShutdownException
from rclpy.experimental import EventsExecutor
from rclpy.signals import SignalHandlerOptions

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
    """``main()`` of a node executable: spin one ``node_class`` until SIGINT/SIGTERM or shutdown; exit status.

    Returns 0 after a signal or an external shutdown, 2 when the node refuses its parameters (one line on
    stderr naming the problem).
    """
    stop = threading.Event()
    previous = {sig: signal.signal(sig, lambda _signum, _frame: stop.set())
                for sig in (signal.SIGINT, signal.SIGTERM)}
    node = executor = None
    try:
        rclpy.init(args=args, signal_handler_options=SignalHandlerOptions.NO)
        node = node_class()
        if not stop.is_set():
            gc.freeze()   # start-up objects out of the collector's scans: no multi-ms pause in a control period
            executor = make_executor(node)
            spin(executor, stop)
        on_shutdown = getattr(node, "on_shutdown", None)
        if on_shutdown is not None:
            on_shutdown()
        return 0
    except ExternalShutdownException:
        return 0
    except (ValueError, ParameterException) as exc:      # the braingo_core errors and refused parameters
        print(f"{node_class.__name__}: error: {exc}", file=sys.stderr)
        return 2
    finally:
        if executor is not None:
            executor.shutdown()
        if node is not None:
            node.destroy_node()
        rclpy.try_shutdown()
        for sig, handler in previous.items():
            signal.signal(sig, handler)
