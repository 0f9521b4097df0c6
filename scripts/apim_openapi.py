"""Write the OpenAPI document API Management imports: ``python -m scripts.apim_openapi [path]``.

The app's own document (the one ``GET /api/openapi.json`` serves) as the deployed app sees itself:
callers identified by an Entra token (GATEWAY_CALLER_AUTH=jwt, as infra/ sets), every HTTP
function function_app.py registers, then rewritten as OpenAPI 3.0.3 (scripts/openapi30.py) and
validated as 3.0. infra/modules/apim.bicep imports apim/openapi.json, so rerun this when a use
case or a route changes; tests/infra/test_apim_openapi.py fails while the file is stale.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
DEFAULT_PATH = ROOT / "apim" / "openapi.json"
# Placeholders: the document names no issuer or audience, but jwt mode requires them to be set.
_TENANT = "00000000-0000-0000-0000-000000000000"


def apim_document() -> dict[str, Any]:
    from functions.openapi_http import registered_routes
    from scripts.openapi30 import to_openapi30
    from shared.catalog import Catalog
    from shared.openapi.document import build_document
    from shared.settings import Settings

    settings = Settings(
        gateway_caller_auth="jwt",
        auth_issuer=f"https://login.microsoftonline.com/{_TENANT}/v2.0",
        auth_audience="api://genai-gateway",
        auth_jwks_url=f"https://login.microsoftonline.com/{_TENANT}/discovery/v2.0/keys",
    )
    document = build_document(Catalog.load(), settings, registered_routes())
    return to_openapi30(document)


def render() -> str:
    return json.dumps(apim_document(), indent=2, sort_keys=False) + "\n"


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m scripts.apim_openapi", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=DEFAULT_PATH)
    args = parser.parse_args(argv)
    text = render()
    from openapi_spec_validator import OpenAPIV30SpecValidator

    OpenAPIV30SpecValidator(json.loads(text)).validate()
    args.path.write_text(text, encoding="utf-8")
    print(f"wrote {args.path} (OpenAPI 3.0.3, validated)", file=sys.stderr)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
