"""Write the OpenAPI 3.1 document to a file: ``python scripts/write_openapi.py [path]``.

The same document ``GET /api/openapi.json`` serves, built from the catalog, the pydantic models
and the functions function_app.py registers, then validated. Default path: openapi.json at the
repository root. For an API Management import, ``--server-url https://<app>.azurewebsites.net/api``
puts the backend's absolute URL in ``servers``.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python scripts/write_openapi.py", description=__doc__)
    parser.add_argument("path", nargs="?", type=Path, default=ROOT / "openapi.json")
    parser.add_argument("--server-url", default="/api", help="servers[0].url (default /api)")
    args = parser.parse_args(argv)
    if str(ROOT) not in sys.path:  # run as a file, not with -m: make the app importable
        sys.path.insert(0, str(ROOT))

    from functions.openapi_http import registered_routes
    from shared.catalog import Catalog
    from shared.openapi.document import build_document
    from shared.settings import SettingsError, load_settings

    try:
        settings = load_settings()
    except SettingsError as exc:
        print(exc, file=sys.stderr)
        return 2
    document = build_document(
        Catalog.load(), settings, registered_routes(), server_url=args.server_url
    )
    try:
        from openapi_spec_validator import validate
    except ImportError:  # a dev tool; the document is still written
        print("openapi-spec-validator is not installed; not validated", file=sys.stderr)
    else:
        validate(document)  # type: ignore[arg-type, unused-ignore]
    args.path.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    print(f"wrote {args.path} ({len(document['paths'])} paths)")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
