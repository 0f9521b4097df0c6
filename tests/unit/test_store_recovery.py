"""The embedded store recovers by itself when its disk takes writes again: a file that turned
read-only (permissions; immutable when run as root, who ignores permissions) and a full disk (a
file-size limit of zero: no file may grow), each put right without a restart."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from shared.adapters.sqlite_db import REOPEN_SECONDS, Database
from shared.ports import StoreUnavailable
from shared.settings import ROOT


@contextlib.contextmanager
def read_only(path: Path) -> Iterator[None]:
    """The file cannot be written by this process until the block ends."""
    if os.geteuid() == 0:  # root writes through any mode bits; not through the immutable flag
        made = subprocess.run(["chattr", "+i", str(path)], capture_output=True)  # noqa: S603, S607
        if made.returncode != 0:
            pytest.skip(f"running as root and chattr +i failed: {made.stderr!r}")
        undo = ["chattr", "-i", str(path)]
    else:
        mode = path.stat().st_mode
        path.chmod(0o444)
        undo = []
    try:
        yield
    finally:
        if undo:
            subprocess.run(undo, check=True)  # noqa: S603
        else:
            path.chmod(mode)


def write_until_it_lands(db: Database, row: str, within: float) -> float:
    """Seconds until a write succeeds again (the connection is reopened after a failure)."""
    began = time.monotonic()
    while True:
        try:
            db.execute("INSERT INTO t VALUES (?)", (row,))
            return time.monotonic() - began
        except StoreUnavailable:
            if time.monotonic() - began > within:
                raise
            time.sleep(0.05)


def test_a_store_opened_read_only_writes_again_when_permissions_return(tmp_path: Path) -> None:
    path = tmp_path / "gateway.sqlite3"
    first = Database(path)
    first.execute("CREATE TABLE t (x TEXT)")
    first.execute("INSERT INTO t VALUES ('before')")
    first.close()

    with read_only(path):
        db = Database(path)  # a start (or a reopen) while the file is read-only
        try:
            with pytest.raises(StoreUnavailable, match="readonly"):
                db.execute("INSERT INTO t VALUES ('refused')")
        except BaseException:
            db.close()
            raise
    try:
        waited = write_until_it_lands(db, "after", within=REOPEN_SECONDS + 3)
        assert waited <= REOPEN_SECONDS + 1
        assert [r[0] for r in db.query("SELECT x FROM t ORDER BY rowid")] == ["before", "after"]
    finally:
        db.close()


# Run in its own process: a file-size limit applies to every file the process writes, pytest's
# own output included. The limit is a per-process stand-in for a full disk: writes that would
# grow a file fail (EFBIG), as writes on a full disk do (ENOSPC); SQLite reports an I/O error.
FULL_DISK = """
import json, resource, sys, time
from pathlib import Path
sys.path.insert(0, sys.argv[2])
from shared.adapters.sqlite_db import Database
from shared.ports import StoreUnavailable
from tests.unit.test_store_recovery import write_until_it_lands

db = Database(Path(sys.argv[1]))
db.execute("CREATE TABLE t (x TEXT)")
soft, hard = resource.getrlimit(resource.RLIMIT_FSIZE)
resource.setrlimit(resource.RLIMIT_FSIZE, (0, hard))
refused = []
for n in range(3):
    try:
        db.execute("INSERT INTO t VALUES (?)", ("x" * 5000,))
        refused.append(None)
    except StoreUnavailable as exc:
        refused.append(str(exc.__cause__ or exc))
    time.sleep(0.3)
resource.setrlimit(resource.RLIMIT_FSIZE, (soft, hard))
waited = write_until_it_lands(db, "after", within=5.0)
rows = [r[0] for r in db.query("SELECT x FROM t")]
db.close()
print(json.dumps({"refused": refused, "waited": waited, "rows": rows}))
"""


def test_a_store_on_a_full_disk_writes_again_when_space_returns(tmp_path: Path) -> None:
    ran = subprocess.run(  # noqa: S603 - our own interpreter
        [sys.executable, "-c", FULL_DISK, str(tmp_path / "gateway.sqlite3"), str(ROOT)],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=ROOT,
    )
    assert ran.returncode == 0, ran.stderr
    outcome = json.loads(ran.stdout.strip().splitlines()[-1])
    assert all(outcome["refused"]), outcome  # every write refused while the disk was full
    assert outcome["waited"] <= REOPEN_SECONDS + 1
    assert outcome["rows"] == ["after"]
