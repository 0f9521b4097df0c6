"""Helpers for tests that drive the simulator: a clock they control and the Azure URL shape."""

from __future__ import annotations

API_VERSION = "2024-10-21"


class FakeClock:
    """Real seconds that move only when a test says so; pass it as ``create_app(clock=...)``."""

    def __init__(self, now: float = 1000.0) -> None:
        self.now = now

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def chat_path(deployment: str, api_version: str = API_VERSION) -> str:
    return f"/openai/deployments/{deployment}/chat/completions?api-version={api_version}"


def embeddings_path(deployment: str, api_version: str = API_VERSION) -> str:
    return f"/openai/deployments/{deployment}/embeddings?api-version={api_version}"
