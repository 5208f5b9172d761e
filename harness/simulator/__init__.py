"""The embedded Runware + OpenAI-compatible simulator: `serve_simulator` (in the current event loop),
`SimulatorProcess` (in a child process) and the options they take. See docs/simulator.md for the
flags, the skill curve, faults, stats, and example curl sessions.

It must not be imported by `harness --help`: this package pulls in aiohttp.
"""

from __future__ import annotations

from harness.simulator.answer_key import AnswerKey, load_answer_key
from harness.simulator.faults import FaultPlan, parse_faults
from harness.simulator.latency import LatencyModel, parse_latency
from harness.simulator.options import SimulatorOptions
from harness.simulator.process import SimulatorProcess
from harness.simulator.server import RunningSimulator, serve_simulator
from harness.simulator.skill import SkillCurve, parse_skill

__all__ = [
    "AnswerKey",
    "FaultPlan",
    "LatencyModel",
    "RunningSimulator",
    "SimulatorOptions",
    "SimulatorProcess",
    "SkillCurve",
    "load_answer_key",
    "parse_faults",
    "parse_latency",
    "parse_skill",
    "serve_simulator",
]
