"""The charge log against a plain list that rescans every call: same sums, any order of events."""

from __future__ import annotations

import random
from dataclasses import dataclass

import pytest

from shared.routing import charges
from shared.routing.charges import Call, ChargeLog

WINDOW = 3.0


@dataclass
class Logged:
    call: Call
    forgotten: bool = False
    refunded: bool = False


class Rescan:
    """What the log must answer, computed the slow way."""

    def __init__(self) -> None:
        self.logged: list[Logged] = []

    def live(self) -> list[Call]:
        return [e.call for e in self.logged if not (e.forgotten or e.refunded)]

    def forget(self, now: float) -> None:
        for entry in self.logged:
            entry.forgotten |= entry.call.start + WINDOW <= now

    def refund(self, call: Call) -> None:
        entry = next(e for e in self.logged if e.call is call)
        entry.refunded |= not entry.forgotten

    def in_window(self, at: float) -> tuple[int, int]:
        kept = [c for c in self.live() if c.start + WINDOW > at]
        return sum(c.cost for c in kept), len(kept)

    def started_after(self, moment: float) -> tuple[int, int]:
        kept = [c for c in self.live() if c.start > moment]
        return sum(c.cost for c in kept), len(kept)


@pytest.mark.parametrize("seed", range(40))
def test_sums_match_a_rescan_of_every_call(seed: int, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(charges, "COMPACT_AT", 1 + seed % 3)  # compact often
    rng = random.Random(seed)
    log, rescan = ChargeLog(WINDOW), Rescan()
    now = 0.0
    for _ in range(300):
        op = rng.random()
        if op < 0.4:
            now += rng.choice([0.0, 0.25, 0.5, 1.0, WINDOW])  # ties on purpose
            log.forget(now)
            rescan.forget(now)
            call = Call(start=now, cost=rng.randint(1, 1_000))
            log.add(call)
            rescan.logged.append(Logged(call))
        elif op < 0.6 and rescan.logged:
            call = rng.choice(rescan.logged).call  # again, or after it was forgotten: no-op
            log.refund(call)
            rescan.refund(call)
        else:
            at = now + rng.choice([-WINDOW, -0.5, 0.0, 0.25, WINDOW / 2, WINDOW]) * rng.random()
            starts = [e.call.start for e in rescan.logged] or [now]
            moment = rng.choice([*starts, at])  # the start of a call, as observe() records it
            assert log.in_window(at) == rescan.in_window(at)
            assert log.in_window(moment + WINDOW) == rescan.in_window(moment + WINDOW)
            assert log.started_after(moment) == rescan.started_after(moment)
            assert log.ends() == {c.start + WINDOW for c in rescan.live()}


def test_a_refund_takes_back_only_a_charge_still_in_the_window() -> None:
    log = ChargeLog(WINDOW)
    old, new = Call(start=0.0, cost=100), Call(start=1.0, cost=10)
    log.add(old)
    log.add(new)
    log.forget(WINDOW)  # old left the window
    log.refund(old)
    assert log.in_window(WINDOW) == (10, 1)
    log.refund(new)
    log.refund(new)  # twice: still one refund
    assert log.in_window(WINDOW) == (0, 0)
    assert log.started_after(-1.0) == (0, 0)
    assert log.ends() == set()
