"""Profile the gateway process under load with py-spy (``pip install py-spy``): the hot path.

py-spy samples the running interpreter from outside (no code change, ~no overhead), so the
profile is of the process as benchmarked. The collapsed stacks are written to ``path``; the top
frames by own time and by inclusive time are printed.
"""

from __future__ import annotations

import collections
import shutil
import subprocess
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from bench.servers import Server

TOP = 15


def profile_gateway(gw: Server, load: Callable[[], Any], path: Path, seconds: float) -> None:
    """Sample the gateway for ``seconds`` while ``load()`` runs (it should last that long)."""
    spy = shutil.which("py-spy")
    if spy is None:
        print("py-spy is not installed (pip install py-spy); no profile")
        return
    command = [
        spy,
        "record",
        "--pid",
        str(gw.pid),
        "--format",
        "raw",
        "--rate",
        "200",
        "--duration",
        str(max(1, round(seconds))),
        "--nonblocking",
        "--output",
        str(path),
    ]
    recorder = subprocess.Popen(command, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)  # noqa: S603
    time.sleep(0.5)  # py-spy attaches
    load()
    _, err = recorder.communicate(timeout=seconds + 30)
    if not path.is_file():
        print(f"py-spy wrote no profile: {err.decode(errors='replace').strip()}")
        return
    print_top(path)


def print_top(path: Path) -> None:
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in path.read_text(encoding="utf-8").splitlines():
        stack, _, count_text = line.rpartition(" ")
        if not stack or not count_text.isdigit():
            continue
        count = int(count_text)
        frames = [_short(f) for f in stack.split(";")]
        total += count
        own[frames[-1]] += count
        for frame in set(frames):
            inclusive[frame] += count
    print(f"\nprofile: {total} samples ({path})")
    print("  own time:")
    for frame, count in own.most_common(TOP):
        print(f"    {count / total:6.1%}  {frame}")
    print("  inclusive (gateway code):")
    ours = [(f, c) for f, c in inclusive.most_common() if "/shared/" in f or "/functions/" in f]
    for frame, count in ours[:TOP]:
        print(f"    {count / total:6.1%}  {frame}")


def _short(frame: str) -> str:
    # "function (path/to/file.py:line)" -> "function (…/pkg/file.py)"
    name, _, where = frame.partition(" (")
    file = where.rstrip(")").rsplit(":", 1)[0]
    parts = file.split("/")
    return f"{name} (/{'/'.join(parts[-3:])})"
