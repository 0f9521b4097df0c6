"""Routing chat calls over many Azure OpenAI deployments (the ChatModel port for the handlers)."""

from shared.routing.breaker import BreakerState, CircuitBreaker
from shared.routing.clock import Clock, MonotonicClock
from shared.routing.headroom import DeploymentHealth
from shared.routing.router import Router
from shared.routing.selection import RoutableDeployment

__all__ = [
    "BreakerState",
    "CircuitBreaker",
    "Clock",
    "DeploymentHealth",
    "MonotonicClock",
    "RoutableDeployment",
    "Router",
]
