"""Who holds a lease or a lock: this process, named so another process can tell it is gone.

A holder is ``{instance}/{pid}/{token}``: the Functions instance (``WEBSITE_INSTANCE_ID`` in
Azure, the host name elsewhere), the worker's process id and a random token drawn at start. A
process can tell a holder is gone only on its own instance: the pid no longer runs (or runs as
a zombie, or is this very process under a new token). Elsewhere it cannot tell, and waits for
the lease to run out. https://learn.microsoft.com/azure/app-service/reference-app-settings
"""

from __future__ import annotations

import os
import secrets
import socket
from pathlib import Path

INSTANCE = os.environ.get("WEBSITE_INSTANCE_ID") or socket.gethostname()
THIS_PROCESS = f"{INSTANCE}/{os.getpid()}/{secrets.token_hex(6)}"


def known_gone(holder: str) -> bool:
    """True when ``holder`` is certainly not running: a process of this instance that ended.
    This process itself is never gone (the caller decides what its own holds mean)."""
    if holder == THIS_PROCESS:
        return False
    parts = holder.rsplit("/", 2)
    if len(parts) != 3 or parts[0] != INSTANCE or not parts[1].isdigit():
        return False
    pid = int(parts[1])
    return pid == os.getpid() or not _alive(pid)


def _alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True  # someone else's process: it runs
    try:  # a zombie (ended, not yet reaped by its parent) holds nothing any more
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except (OSError, IndexError):
        return True
    return fields[0] != "Z"
