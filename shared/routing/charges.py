"""The calls one deployment charged in the quota window, summed over any stretch in O(log n).

The router asks "what was charged after time x?" several times per request (headroom of every
deployment it weighs, then the score of each one that fits), and the window holds every call of
the last minute: rescanning it on each question made the router a quarter to a third of the
gateway's CPU at a few hundred requests per second, growing with the rate. Instead each charge
keeps the running total of tokens charged before it, so a sum over the calls from one index on
is a subtraction, and the index is a binary search (start times arrive in order: the router's
clock is monotonic, see clock.py).

A refund (Azure did not charge a 429 or a rejected request) would break the running totals if
the call were taken out of the middle, so a refunded call stays in the lists, marked, and the
few refunds still in the window are subtracted from a small side list ordered like the calls.
"""

from __future__ import annotations

from bisect import bisect_left, bisect_right
from dataclasses import dataclass

# Forgotten calls are dropped from the lists' front in batches, once they are at least half of
# them: amortised O(1) per call, and memory stays within twice the window's calls.
COMPACT_AT = 1024


@dataclass(eq=False, slots=True)
class Call:
    """One upstream call as charged by Azure; identity matters, not value."""

    start: float
    cost: int
    seq: int = -1  # position in its deployment's ChargeLog; -1 until logged
    refunded: bool = False


class ChargeLog:
    """Charges in start order; ``forget`` drops those whose minute is over."""

    def __init__(self, window: float) -> None:
        self._window = window
        self._starts: list[float] = []
        self._ends: list[float] = []  # start + window: when each charge leaves the window
        self._before: list[int] = []  # tokens logged before each call (a running total)
        self._head = 0  # calls before this index are forgotten
        self._dropped = 0  # calls compacted away from the lists' front (seq = dropped + index)
        self._tokens = 0  # every token ever logged
        self._refund_seqs: list[int] = []  # refunded calls not yet forgotten, in seq order
        self._refund_costs: list[int] = []
        self._refunded_tokens = 0

    def add(self, call: Call) -> None:
        call.seq = self._dropped + len(self._starts)
        self._starts.append(call.start)
        self._ends.append(call.start + self._window)
        self._before.append(self._tokens)
        self._tokens += call.cost

    def forget(self, now: float) -> None:
        """Forget the charges that left the window by ``now`` (start + window <= now)."""
        head = bisect_right(self._ends, now, self._head)
        if head == self._head:
            return
        self._head = head
        if self._refund_seqs:
            gone = bisect_left(self._refund_seqs, self._dropped + head)
            self._refunded_tokens -= sum(self._refund_costs[:gone])
            del self._refund_seqs[:gone], self._refund_costs[:gone]
        if head >= COMPACT_AT and 2 * head >= len(self._starts):
            del self._starts[:head], self._ends[:head], self._before[:head]
            self._dropped += head
            self._head = 0

    def refund(self, call: Call) -> None:
        """Take back a call's charge; a call already forgotten (or refunded) is left alone."""
        if call.refunded or call.seq < self._dropped + self._head:
            return
        call.refunded = True
        at = bisect_left(self._refund_seqs, call.seq)
        self._refund_seqs.insert(at, call.seq)
        self._refund_costs.insert(at, call.cost)
        self._refunded_tokens += call.cost

    def in_window(self, at: float) -> tuple[int, int]:
        """(tokens, calls) charged and still inside the window at ``at`` (start + window > at)."""
        return self._from(bisect_right(self._ends, at, self._head))

    def started_after(self, moment: float) -> tuple[int, int]:
        """(tokens, calls) charged by calls that started after ``moment``."""
        return self._from(bisect_right(self._starts, moment, self._head))

    def ends(self) -> set[float]:
        """When each charge not yet forgotten leaves the window."""
        live = self._ends[self._head :]
        if not self._refund_seqs:
            return set(live)
        refunded = {seq - self._dropped - self._head for seq in self._refund_seqs}
        return {end for i, end in enumerate(live) if i not in refunded}

    def _from(self, index: int) -> tuple[int, int]:
        """(tokens, calls) of the charges from ``index`` on, refunds taken out."""
        size = len(self._starts)
        if index >= size:
            return 0, 0
        tokens = self._tokens - self._before[index]
        calls = size - index
        if self._refund_seqs:
            first = bisect_left(self._refund_seqs, self._dropped + index)
            costs = self._refund_costs
            # Sum the shorter side: at "now" nearly every refund is in the stretch, while the
            # stretch after a recent moment holds few.
            if 2 * first < len(costs):
                refunded = self._refunded_tokens - sum(costs[:first])
            else:
                refunded = sum(costs[first:])
            tokens -= refunded
            calls -= len(costs) - first
        return tokens, calls
