"""Closed-loop bring-up without ``ros2 launch``: body_sim + brain + muscle + sensor for ``--duration`` s of sim time.

    python -m braingo_ros.bringup --duration 10 [--in-process | --processes] [--database PATH] [--model graded]
                                 [--tonic NAME:pA ...] [--switch-at S [--switch-tonic NAME:pA ...]]

The nodes and parameters are those of launch/caterpillar_sim.launch.py (:mod:`braingo_ros.launch_description`):
sim time from body_sim_node, lock-step stepping (the body advances one control period when the effort
command for it has arrived, else after ``command_timeout_s`` counting a dropped period), so the same
command line gives the same trajectory. ``--in-process`` runs every node in one executor thread (like a
component container); ``--processes`` starts each as a child process. Both use rclpy's EventsExecutor
(:mod:`braingo_ros.spinning`); with ``--processes`` the body starts last, once the recorder has matched the
other nodes' outputs (a message sent before that is lost to it). Writes runs/<timestamp>/:
recording.mcap (rosbag2-compatible), parameters.yaml, body_stats.json, summary.json and PNG plots.
``--switch-at S`` sets the brain's ``tonic_stimulus`` parameter to ``--switch-tonic`` (default: none) once sim
time reaches S, through the parameter service, as ``ros2 param set /brain_node tonic_stimulus ...`` would.
"""
import argparse
import gc
import json
import logging
import os
import signal
import subprocess
import sys
import threading
import time
from importlib import import_module

import rclpy
import yaml
from rclpy.node import Node
from rclpy.parameter import Parameter
from rclpy.parameter_client import AsyncParameterClient
from rosgraph_msgs.msg import Clock
from tqdm import tqdm

from braingo_ros import launch_description, params, topics
from braingo_ros.analysis import load_run, summarize
from braingo_ros.plots import write_plots
from braingo_ros.recording import LOOP_TOPICS, TopicRecorder
from braingo_ros.spinning import make_executor, spin

logger = logging.getLogger(__name__)

#: Executable -> node class, for the in-process mode.
NODE_CLASSES = {
    "brain_node": "braingo_ros.brain_node:BrainNode",
    "muscle_node": "braingo_ros.muscle_node:MuscleNode",
    "sensor_node": "braingo_ros.sensor_node:SensorNode",
    "body_sim_node": "braingo_ros.body_sim_node:BodySimNode",
}


def build_parser():
    parser = argparse.ArgumentParser(prog="braingo_ros.bringup", description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", type=float, required=True, help="sim time to run (s)")
    mode = parser.add_mutually_exclusive_group()
    mode.add_argument("--in-process", dest="processes", action="store_false", help="one process (default)")
    mode.add_argument("--processes", dest="processes", action="store_true", help="one child process per node")
    parser.set_defaults(processes=False)
    parser.add_argument("--database", default=None,
                        help=".braindb path for the brain and the muscle map (default: the bundled worm)")
    parser.add_argument("--body-config", default=None,
                        help="caterpillar.yaml for every node (default: the package's); its control period is "
                             "the brain's and the body's")
    parser.add_argument("--model", default=None, help="neuron model: graded or celegans (default: config)")
    parser.add_argument("--seed", type=int, default=None, help="simulation seed (default: config)")
    parser.add_argument("--tonic", nargs="*", default=None, metavar="NAME:pA", help="brain tonic_stimulus")
    parser.add_argument("--switch-at", type=float, default=None, metavar="S",
                        help="at this sim time set the brain's tonic_stimulus to --switch-tonic (ROS parameter)")
    parser.add_argument("--switch-tonic", nargs="*", default=[], metavar="NAME:pA",
                        help="tonic_stimulus after --switch-at (default none: the drive stops)")
    parser.add_argument("--muscle-map", choices=("sigmoid", "cnn"), default=None, help="muscle_node map")
    parser.add_argument("--config", default=None, help="parameter YAML (default config/braingo.yaml)")
    parser.add_argument("--command-timeout", type=float, default=None,
                        help="body_sim_node command_timeout_s: wall-clock wait per control period (s)")
    parser.add_argument("--out", default="runs", help="parent folder of the run folder")
    parser.add_argument("--no-record", dest="record", action="store_false", help="no MCAP, summary or plots")
    parser.add_argument("--no-progress", dest="progress", action="store_false", help="no progress bar")
    parser.add_argument("--timeout", type=float, default=None, help="wall-clock limit (s); default 60 + 20x duration")
    return parser


def node_specs(args, run_dir):
    """The sim setup's nodes with config, setup and command-line parameters merged."""
    brain = {k: v for k, v in (("model", args.model), ("seed", args.seed), ("tonic_stimulus", args.tonic))
             if v is not None}
    shared = {k: os.path.abspath(v) for k, v in (("database", args.database), ("body_config", args.body_config))
              if v is not None}
    muscle = {"map": args.muscle_map} if args.muscle_map else {}
    body = {"duration_s": float(args.duration), "stats_path": os.path.abspath(os.path.join(run_dir, "body_stats.json"))}
    if args.command_timeout is not None:
        body["command_timeout_s"] = float(args.command_timeout)
    if args.record:
        body["min_subscribers"] = 2     # the recorder too must be connected before the first state is published
    config = launch_description.load_config(args.config)
    return launch_description.nodes("sim", {"brain_node": brain, "muscle_node": muscle, "body_sim_node": body},
                                    with_config=True, config=config, shared=shared)


class Progress(Node):
    """Follows /clock for the progress bar; optionally switches the brain's drive at a sim time.

    ``switch``: ``(sim s, [NAME:pA, ...])``: once /clock passes that time, the brain node's
    ``tonic_stimulus`` parameter is set through its parameter service (as ``ros2 param set`` would);
    ``switched_at_s`` records the sim time the brain accepted it.
    """

    def __init__(self, switch=None, **kwargs):
        super().__init__("braingo_bringup", **kwargs)
        self.sim_s = 0.0
        self.switch = switch
        self.switched_at_s = None
        self._request = None
        self._brain = AsyncParameterClient(self, "brain_node") if switch else None
        self.create_subscription(Clock, topics.CLOCK, self._on_clock, 10)

    def _on_clock(self, msg):
        self.sim_s = msg.clock.sec + 1e-9 * msg.clock.nanosec
        if self.switch and self._request is None and self.sim_s >= self.switch[0]:
            tonic = Parameter("tonic_stimulus", Parameter.Type.STRING_ARRAY, list(self.switch[1]))
            self._request = self._brain.set_parameters([tonic])
            self._request.add_done_callback(self._on_switched)

    def _on_switched(self, future):
        results = future.result().results
        if results and results[0].successful:
            self.switched_at_s = self.sim_s
            self.get_logger().info(f"tonic_stimulus -> {list(self.switch[1])} at {self.sim_s:.2f} s sim time")
        else:
            self.get_logger().error(f"brain_node refused tonic_stimulus {list(self.switch[1])}: "
                                    f"{results[0].reason if results else 'no answer'}")


def _make_node(executable, parameters):
    module, _, cls = NODE_CLASSES[executable].partition(":")
    return getattr(import_module(module), cls)(parameter_overrides=params.overrides(parameters))


def _start_processes(specs, params_file, run_dir):
    env = dict(os.environ)
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    env["PYTHONPATH"] = os.pathsep.join([root] + [p for p in env.get("PYTHONPATH", "").split(os.pathsep) if p])
    children = []
    for spec in specs:
        log = open(os.path.join(run_dir, f"{spec.name}.log"), "w")
        cmd = [sys.executable, "-m", f"braingo_ros.{spec.executable}", "--ros-args",
               "-r", f"__node:={spec.name}", "--params-file", params_file]
        children.append((subprocess.Popen(cmd, env=env, stdout=log, stderr=subprocess.STDOUT), log))
    return children


def _stop_processes(children):
    for proc, _log in children:
        if proc.poll() is None:
            proc.send_signal(signal.SIGINT)
    for proc, log in children:
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()
        log.close()


def _await_matched(recorder, children, deadline, run_dir):
    """Wait until the recorder is matched to the child nodes' loop outputs. A message sent before its
    writer has matched a (volatile) reader is lost to it, so the body, whose first state starts the loop,
    is started only then."""
    subscriptions = [s for s in recorder.subscriptions if s.topic_name in topics.NODE_OUTPUTS]
    while not all(s.get_publisher_count() >= 1 for s in subscriptions):
        if time.monotonic() > deadline:
            raise TimeoutError(f"the nodes' topics {topics.NODE_OUTPUTS} did not appear (logs in {run_dir})")
        if any(proc.poll() is not None for proc, _log in children):
            raise RuntimeError(f"a node exited early; logs in {run_dir}")
        time.sleep(0.05)


def _await_final_state(recorder, stats_path, timeout_s=5.0):
    """Wait until ``recorder`` holds every state the body published: the last one may still be queued."""
    with open(stats_path, encoding="utf-8") as f:
        states = json.load(f)["periods"] + 1
    deadline = time.monotonic() + timeout_s
    while min(recorder.message_counts.get(t, 0) for t in (topics.JOINT_STATES, topics.ODOM)) < states:
        if time.monotonic() > deadline:
            logger.warning("the recording lacks some of the %d body states", states)
            return
        time.sleep(0.01)


def run(args):
    """Run the closed loop; returns the summary dict (or the body statistics with ``--no-record``)."""
    run_dir = base = os.path.join(args.out, time.strftime("%Y%m%d-%H%M%S"))
    suffix = 1
    while os.path.exists(run_dir):
        run_dir, suffix = f"{base}-{suffix}", suffix + 1
    os.makedirs(run_dir)
    specs = node_specs(args, run_dir)
    params_file = os.path.join(run_dir, "parameters.yaml")
    with open(params_file, "w", encoding="utf-8") as f:
        yaml.safe_dump({s.name: {"ros__parameters": s.parameters} for s in specs}, f, sort_keys=False)
    stats_path = next(s.parameters["stats_path"] for s in specs if s.name == "body_sim_node")
    timeout_s = args.timeout if args.timeout is not None else 60.0 + 20.0 * args.duration

    children, nodes = [], []
    with rclpy.init():
        executor = make_executor()
        progress = Progress(switch=None if args.switch_at is None else (args.switch_at, args.switch_tonic))
        executor.add_node(progress)
        recorder = None
        if args.record:
            recorder = TopicRecorder(os.path.join(run_dir, "recording.mcap"), LOOP_TOPICS)
            executor.add_node(recorder)
        if not args.processes:
            for spec in specs:
                nodes.append(_make_node(spec.executable, spec.parameters))
                executor.add_node(nodes[-1])
        stop = threading.Event()
        gc.freeze()   # start-up objects out of the collector's scans: no multi-ms collection pause mid-loop
        spinner = threading.Thread(target=spin, args=(executor, stop), daemon=True)
        spinner.start()
        started = time.monotonic()
        try:
            if args.processes:
                body = [s for s in specs if s.executable == "body_sim_node"]
                children = _start_processes([s for s in specs if s not in body], params_file, run_dir)
                if recorder:
                    _await_matched(recorder, children, started + timeout_s, run_dir)
                children += _start_processes(body, params_file, run_dir)
            with tqdm(total=args.duration, unit="sim s", disable=not args.progress,
                      bar_format="{l_bar}{bar}| {n:.2f}/{total:.2f} sim s [{elapsed}<{remaining}]") as bar:
                while not os.path.exists(stats_path):
                    if time.monotonic() - started > timeout_s:
                        raise TimeoutError(f"closed loop did not finish {args.duration} s of sim time "
                                           f"within {timeout_s:.0f} s (see {run_dir})")
                    if any(proc.poll() is not None for proc, _log in children):
                        raise RuntimeError(f"a node exited early; logs in {run_dir}")
                    bar.update(min(progress.sim_s, args.duration) - bar.n)
                    time.sleep(0.05)
                bar.update(args.duration - bar.n)
            if recorder:
                _await_final_state(recorder, stats_path)
        finally:
            _stop_processes(children)
            stop.set()
            spinner.join()
            executor.shutdown()
            for node in nodes + [progress] + ([recorder] if recorder else []):
                node.destroy_node()
            if recorder:
                recorder.close()
    with open(stats_path, encoding="utf-8") as f:
        stats = json.load(f)
    if not args.record:
        return stats
    run_series = load_run(os.path.join(run_dir, "recording.mcap"))
    summary = summarize(run_series, stats["body_length_m"], stats["wall_s"], stats["dropped_periods"],
                        stats.get("latency_ms"), stats.get("medium"))
    if args.switch_at is not None:
        summary["switch"] = {"at_s": args.switch_at, "tonic_stimulus": list(args.switch_tonic),
                             "accepted_at_s": progress.switched_at_s}
    summary.update({"control_periods": stats["periods"], "run_dir": run_dir,
                    "mode": "processes" if args.processes else "in-process",
                    "plots": [os.path.basename(p) for p in
                              write_plots(run_series, run_dir, stats["control_period_s"],
                                          muscle_names=stats.get("muscle_names"))]})
    with open(os.path.join(run_dir, "summary.json"), "w", encoding="utf-8") as f:
        json.dump(summary, f, indent=2)
    return summary


def main(argv=None):
    logging.basicConfig(level=logging.INFO, format="%(levelname)s %(name)s: %(message)s")
    args = build_parser().parse_args(argv)
    try:
        summary = run(args)
    except (TimeoutError, RuntimeError, ValueError, OSError) as exc:
        print(f"bringup: error: {exc}", file=sys.stderr)
        return 2
    print(json.dumps({k: v for k, v in summary.items() if not isinstance(v, (list, dict))}, indent=2))
    return 0


if __name__ == "__main__":
    sys.exit(main())
