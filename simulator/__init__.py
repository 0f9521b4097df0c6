"""A local Azure OpenAI simulator: chat completions and embeddings with Azure's quotas, errors
and streaming. Its embeddings are lexical (feature hashes, see embeddings.py): texts sharing words
are close, paraphrases in other words are not; real similarity needs the real embeddings model.

For development and benchmarks only; never deployed. See ``python -m simulator --help``.
"""

from simulator.app import create_app
from simulator.config import SimDeployment, SimulatorConfig
from simulator.serve import serve_asgi, serve_simulator

__all__ = ["SimDeployment", "SimulatorConfig", "create_app", "serve_asgi", "serve_simulator"]
