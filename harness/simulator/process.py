"""SimulatorProcess: the simulator in a child process (`python -m harness simulator --port 0 ...`),
so a benchmark's server has its own core and kill/resume tests can stop it. Reads the port from the
child's first stdout line; SIGTERM (then SIGKILL) on exit. Owns no simulator logic.
"""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import tempfile
import threading
import urllib.request
from pathlib import Path
from types import TracebackType
from typing import Any

import orjson

from harness.errors import HarnessError
from harness.simulator.answer_key import AnswerKey
from harness.simulator.capacity import CapacityModel
from harness.simulator.faults import FaultPlan
from harness.simulator.latency import LatencyModel
from harness.simulator.options import SimulatorOptions
from harness.simulator.skill import SkillCurve


class SimulatorProcessError(HarnessError):
    """The simulator child process did not start."""


class SimulatorProcess:
    """`with SimulatorProcess(options) as sim: sim.base_url ...`."""

    def __init__(self, options: SimulatorOptions | None = None, *, start_timeout_s: float = 30.0) -> None:
        self.options = options or SimulatorOptions()
        self.start_timeout_s = start_timeout_s
        self.proc: subprocess.Popen[bytes] | None = None
        self._tmp = tempfile.TemporaryDirectory(prefix="harness-sim-")
        self.base_url = self.runware_url = self.openai_base_url = ""
        self.port = 0

    def command(self) -> list[str]:
        o = self.options
        cmd = [
            sys.executable,
            "-m",
            "harness",
            "simulator",
            "--host",
            o.host,
            "--port",
            str(o.port),
            "--seed",
            str(o.seed),
        ]
        latency = o.latency.to_spec() if isinstance(o.latency, LatencyModel) else (o.latency or "0")
        cmd += ["--latency", latency, "--card", o.card]
        if o.faults is not None:
            cmd += ["--faults", o.faults.to_spec() if isinstance(o.faults, FaultPlan) else o.faults]
        if o.capacity is not None:
            cmd += [
                "--capacity",
                o.capacity.to_spec() if isinstance(o.capacity, CapacityModel) else o.capacity,
            ]
        if o.api_key is not None:
            cmd += ["--api-key", o.api_key]
        if o.skill is not None:
            cmd += ["--skill", self._skill_arg(o.skill)]
        if o.answer_key is not None:
            cmd += ["--answer-key", self._answer_key_arg(o.answer_key)]
        ignored = o.ignore_settings if isinstance(o.ignore_settings, str) else ",".join(o.ignore_settings)
        if ignored:
            cmd += ["--ignore-settings", ignored]
        return cmd

    def _skill_arg(self, skill: Any) -> str:
        if isinstance(skill, str | Path):
            return str(skill)
        data = skill.model_dump(mode="json") if isinstance(skill, SkillCurve) else dict(skill)
        path = Path(self._tmp.name) / "skill.yaml"
        path.write_bytes(orjson.dumps(data))  # JSON is YAML
        return str(path)

    def _answer_key_arg(self, key: Any) -> str:
        if isinstance(key, str | Path):
            return str(key)
        if isinstance(key, AnswerKey):
            raise SimulatorProcessError("pass the answer key as a mapping or a file, not an AnswerKey")
        path = Path(self._tmp.name) / "answer_key.json"
        path.write_bytes(orjson.dumps(dict(key)))
        return str(path)

    def __enter__(self) -> SimulatorProcess:
        err = Path(self._tmp.name) / "stderr.log"
        with err.open("wb") as err_file:
            self.proc = subprocess.Popen(
                self.command(),
                stdout=subprocess.PIPE,
                stderr=err_file,
                env={**os.environ, "PYTHONUNBUFFERED": "1"},
            )
        assert self.proc.stdout is not None
        line: list[bytes] = []
        reader = threading.Thread(target=lambda: line.append(self.proc.stdout.readline()), daemon=True)  # type: ignore[union-attr]
        reader.start()
        reader.join(self.start_timeout_s)
        text = line[0].decode().strip() if line else ""
        if not text.startswith("listening on http://"):
            self.stop()
            raise SimulatorProcessError(
                f"simulator did not start: {text or 'no output'}; stderr: {err.read_text()[-2000:]}"
            )
        self.base_url = text.removeprefix("listening on ")
        self.port = int(self.base_url.rsplit(":", 1)[1])
        self.runware_url = self.openai_base_url = self.base_url + "/v1"
        return self

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
        self._tmp.cleanup()

    @property
    def pid(self) -> int | None:
        return self.proc.pid if self.proc else None

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = 10.0) -> int | None:
        """Signal the child and wait; SIGKILL after `timeout_s`. Returns its exit code."""
        if self.proc is None:
            return None
        if self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        if self.proc.stdout:
            self.proc.stdout.close()
        return self.proc.returncode

    def _call(self, method: str, path: str, body: bytes | None = None) -> Any:
        req = urllib.request.Request(
            self.base_url + path, data=body, method=method, headers={"Content-Type": "application/json"}
        )
        with urllib.request.urlopen(req, timeout=10) as resp:
            return orjson.loads(resp.read())

    def stats(self) -> dict[str, Any]:
        result: dict[str, Any] = self._call("GET", "/stats")
        return result

    def reset_stats(self) -> None:
        self._call("POST", "/stats/reset", b"")

    def set_answer_key(self, mapping: dict[str, Any]) -> None:
        self._call("POST", "/answer-key", orjson.dumps(mapping))
