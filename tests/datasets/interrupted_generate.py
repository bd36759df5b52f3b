"""``generate`` killed with SIGKILL mid-run, for the tests of resumption."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from worldmodel.datasets import GenerateConfig


def kill_mid_generate(out: Path, config: GenerateConfig, *, setup: str = "") -> None:
    """Run ``generate(config, out, workers=2)`` in a child process and SIGKILL it once a
    train shard is complete; ``setup`` is Python the child runs first (registering a
    domain). Fails if the run finished before the kill."""
    code = (
        "import sys\nfrom worldmodel.datasets import GenerateConfig, generate\n" + setup
        + f"generate(GenerateConfig(**{config.parameters() | {'splits': config.splits}!r}), sys.argv[1], "
        "workers=2, progress=False, checkpoint_seconds=0.0)\n"
    )
    process = subprocess.Popen([sys.executable, "-c", code, str(out)])
    state = out / ".generate" / "state.json"
    deadline = time.monotonic() + 60
    try:
        while time.monotonic() < deadline:  # a complete shard: the kill lands mid-run
            try:
                if json.loads(state.read_text())["writers"]["train"]["completed"]:
                    break
            except (OSError, ValueError, KeyError):
                pass
            time.sleep(0.002)
        os.kill(process.pid, signal.SIGKILL)
    finally:
        process.wait()
    assert process.returncode == -signal.SIGKILL
    assert not (out / "manifest.json").exists(), "the run finished before the kill; the test proves nothing"
