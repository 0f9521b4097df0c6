"""What the router knows about one deployment's quota: cooldown, tokens in flight, headroom.

Azure charges a chat call against the deployment's TPM when it admits it, with the prompt tokens
plus ``max_tokens``, over a sliding minute; RPM is derived from TPM (6 per 1000):
https://learn.microsoft.com/azure/ai-services/openai/how-to/quota#understanding-rate-limits

Two estimates of headroom (tokens and requests the deployment would still admit):

* prior: TPM (or RPM) minus what this router itself sent in the last 60 s, minus calls still in
  flight that started before that (Azure charged them, they have not finished).
* learned: the ``x-ratelimit-remaining-*`` headers of the last answer, minus what this router
  sent after the call that carried them. Only the learned value sees other gateway instances
  that share the deployment, which is why it wins while fresh.

Ageing: a learned value is trusted fully for ``TRUST_SECONDS`` after it arrived, then blends
linearly into the prior until ``TRUST_SECONDS + DECAY_SECONDS``, after which it is ignored.
Azure evaluates its limits over 1 s and 10 s periods (same page as above), so a minute-old
"remaining" says little; ten seconds keeps one full evaluation period of memory and no more.

``window`` is 60 s against Azure; a simulator on a compressed clock (bench/routing_bench.py) runs
its minute faster, and the trust and decay periods shrink with it so they stay the same share of
the window (a learned value does not add back charges that expired since it was read).
"""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

from shared.domain.chat import RateLimitInfo
from shared.domain.upstream import UpstreamRejected, UpstreamThrottled, UpstreamUnavailable
from shared.routing.breaker import BreakerState, CircuitBreaker, Outcome
from shared.routing.charges import Call, ChargeLog
from shared.routing.clock import Clock
from shared.settings import DeploymentConfig

WINDOW_SECONDS = 60.0
TRUST_SECONDS = 2.0
DECAY_SECONDS = 8.0


@dataclass(slots=True)
class Attempt:
    call: Call
    probe: bool  # the half-open breaker's one probe
    outcome: Outcome = "neutral"  # what the breaker hears unless an error says otherwise


@dataclass(frozen=True, slots=True)
class DeploymentHealth:
    """One deployment as the readiness probe and the metrics see it."""

    name: str
    region: str
    group: str
    breaker: BreakerState
    cooling_for: float
    inflight_tokens: int
    remaining_tokens: int
    remaining_requests: int


@dataclass(frozen=True, slots=True)
class _Observation:
    tokens: int | None
    requests: int | None
    since: float  # start of the call that carried it: later admissions are not in it
    at: float  # when it arrived: its age counts from here


def _known(remaining: int | None) -> int | None:
    """A negative remaining count is unknown, not "none left". Other Azure OpenAI APIs have been
    seen to send one; believed, it would hold the deployment's headroom below zero for as long
    as each answer repeats it, and the router would refuse every call."""
    return None if remaining is None or remaining < 0 else remaining


class DeploymentState:
    """Quota, cooldown and breaker of one deployment, on the router's clock."""

    def __init__(
        self, config: DeploymentConfig, breaker: CircuitBreaker, window: float = WINDOW_SECONDS
    ) -> None:
        if window <= 0:
            raise ValueError(f"quota window must be positive, got {window}")
        self.config = config
        self.window = window
        self._trust_seconds = TRUST_SECONDS * window / WINDOW_SECONDS
        self._decay_seconds = DECAY_SECONDS * window / WINDOW_SECONDS
        self.breaker = breaker
        self.tpm = config.tpm
        self.rpm = config.effective_rpm
        self._charges = ChargeLog(window)  # sent in the last minute, oldest first
        # Not yet answered, in start order (dicts keep insertion order): the oldest come first.
        self._inflight: dict[Call, None] = {}
        self._inflight_tokens = 0
        self._cooldown_until = float("-inf")
        self._seen: _Observation | None = None

    # --- calls --------------------------------------------------------------------------
    def begin(self, cost: int, now: float) -> Call:
        self._charges.forget(now)
        call = Call(start=now, cost=cost)
        self._charges.add(call)
        self._inflight[call] = None
        self._inflight_tokens += cost
        return call

    def end(self, call: Call, *, refund: bool) -> None:
        """``refund`` when Azure certainly did not charge the call (429, 4xx)."""
        if call in self._inflight:
            del self._inflight[call]
            self._inflight_tokens -= call.cost
        if refund:
            self._charges.refund(call)  # a no-op once the call is out of the window

    @contextlib.asynccontextmanager
    async def attempt(
        self, cost: int, clock: Clock, default_cooldown: float
    ) -> AsyncIterator[Attempt]:
        """One upstream call: charged at start, settled in ``finally`` however it ends."""
        now = clock.now()
        probe = self.breaker.begin(now)  # first: it refuses a second probe before we charge
        attempt = Attempt(self.begin(cost, now), probe)
        refund = False  # Azure charges nothing for a 429 or a rejected request
        try:
            yield attempt
        except UpstreamThrottled as exc:
            self.cool_down(
                default_cooldown if exc.retry_after is None else exc.retry_after, clock.now()
            )
            refund = True
            raise
        except UpstreamRejected:
            refund = True
            raise
        except UpstreamUnavailable:
            attempt.outcome = "failure"
            raise
        finally:
            self.end(attempt.call, refund=refund)
            self.breaker.end(attempt.outcome, probe=attempt.probe, now=clock.now())

    @property
    def inflight_tokens(self) -> int:
        return self._inflight_tokens

    # --- what upstream told us ----------------------------------------------------------
    def cool_down(self, seconds: float, now: float) -> None:
        """The latest 429 wins: its Retry-After is the freshest word on this deployment."""
        self._cooldown_until = now + max(0.0, seconds)

    def cooling_for(self, now: float) -> float:
        return max(0.0, self._cooldown_until - now)

    def observe(self, info: RateLimitInfo, *, since: float, now: float) -> None:
        tokens, requests = _known(info.remaining_tokens), _known(info.remaining_requests)
        if tokens is None and requests is None:
            return
        if self._seen is not None and self._seen.since > since:
            return  # a slow call's headers are older than what we already know
        self._seen = _Observation(tokens, requests, since, now)

    # --- estimates ----------------------------------------------------------------------
    def _trust(self, at: float) -> float:
        if self._seen is None:
            return 0.0
        age = at - self._seen.at
        if age <= self._trust_seconds:
            return 1.0
        return max(0.0, 1.0 - (age - self._trust_seconds) / self._decay_seconds)

    def _prior(self, at: float) -> tuple[float, float]:
        tokens, calls = self._charges.in_window(at)
        for call in self._inflight:  # still in flight after its minute: Azure charged it
            if call.start + self.window > at:
                break  # start order: the rest are inside the window, counted above
            tokens += call.cost
            calls += 1
        return float(self.tpm - tokens), float(self.rpm - calls)

    def _learned(self) -> tuple[float | None, float | None]:
        seen = self._seen
        if seen is None:
            return None, None
        later_tokens, later_calls = self._charges.started_after(seen.since)
        tokens = None if seen.tokens is None else float(seen.tokens - later_tokens)
        requests = None if seen.requests is None else float(seen.requests - later_calls)
        return tokens, requests

    def headroom(self, at: float) -> tuple[float, float]:
        """Estimated (tokens, requests) the deployment would still admit at time ``at``."""
        prior = self._prior(at)
        trust = self._trust(at)
        if trust == 0.0:
            return prior
        tokens, requests = (
            p if learned is None else trust * learned + (1.0 - trust) * p
            for p, learned in zip(prior, self._learned(), strict=True)
        )
        return tokens, requests

    def ready(self, now: float) -> bool:
        return self.cooling_for(now) == 0.0 and self.breaker.allows(now)

    def available_in(self, now: float) -> float:
        return max(self.cooling_for(now), self.breaker.available_in(now))

    def score(self, now: float) -> float:
        """Ranking inside a tier: headroom times weight (weight biases, never adds quota)."""
        return max(0.0, self.headroom(now)[0]) * self.config.weight

    def score_if_fits(self, cost: int, at: float) -> float | None:
        """``score(at)`` when ``fits(cost, at)``, else None: one headroom estimate for both."""
        tokens, requests = self.headroom(at)
        if tokens >= cost and requests >= 1.0:
            return max(0.0, tokens) * self.config.weight
        return None

    def health(self, now: float) -> DeploymentHealth:
        tokens, requests = self.headroom(now)
        return DeploymentHealth(
            name=self.config.name,
            region=self.config.region,
            group=self.config.group_name,
            breaker=self.breaker.state(now),
            cooling_for=self.cooling_for(now),
            inflight_tokens=self.inflight_tokens,
            remaining_tokens=max(0, int(tokens)),
            remaining_requests=max(0, int(requests)),
        )

    def fits(self, cost: int, at: float) -> bool:
        tokens, requests = self.headroom(at)
        return tokens >= cost and requests >= 1.0

    def wait_for(self, cost: int, now: float) -> float:
        """Seconds until ``cost`` fits, if this router sends nothing else meanwhile.

        The estimate only changes when a charge leaves the window (a step) or while the learned
        value decays (linear), so those moments and the crossings inside the decay are enough.
        """
        if cost > self.tpm:
            return self.window  # never fits; Azure also answers a full window
        moments = {now} | self._charges.ends()
        if self._seen is not None:
            start = self._seen.at + self._trust_seconds
            end = start + self._decay_seconds
            moments |= {start, end}
            for prior, learned, need in self._decay_cases(cost, moments):
                if learned < need <= prior:  # rises from learned to prior: solve for the crossing
                    crossing = end - self._decay_seconds * (prior - need) / (prior - learned)
                    moments.add(min(end, crossing + 1e-6))  # a hair later, for rounding
        for at in sorted(m for m in moments if m >= now):
            if self.fits(cost, at):
                return at - now
        return self.window

    def _decay_cases(self, cost: int, moments: set[float]) -> list[tuple[float, float, float]]:
        """(prior, learned, needed) for tokens and requests at each prior level."""
        learned_tokens, learned_requests = self._learned()
        cases = []
        for at in moments:
            prior_tokens, prior_requests = self._prior(at)
            if learned_tokens is not None:
                cases.append((prior_tokens, learned_tokens, float(cost)))
            if learned_requests is not None:
                cases.append((prior_requests, learned_requests, 1.0))
        return cases
