#!/usr/bin/env bash
# Installs what the app needs on a fresh machine, in a Python 3.11 venv under .venv.
#   bash scripts/bootstrap.sh          everything the app, its tests and its local tools need:
#                                      the app's and the dev tools' packages (pyproject.toml "dev"
#                                      extra) and the system tools the test suite starts (Node.js +
#                                      npm for the local Cosmos DB server, curl, Debian's Chromium
#                                      for the browser tests, driven by Playwright)
#   bash scripts/bootstrap.sh serve    only what serving locally needs (scripts/serve): the app's
#                                      packages and the local host's ("serve" extra); no apt
# Idempotent: re-running only installs what is missing.
set -euo pipefail
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$ROOT"
MODE="${1:-all}"
case "$MODE" in
  all) extra=dev; stamp=.venv/.installed ;;
  serve) extra=serve; stamp=.venv/.installed-serve ;;
  *) echo "usage: bash scripts/bootstrap.sh [serve]" >&2; exit 2 ;;
esac

if [[ $MODE == all ]]; then
  need_apt=()
  command -v node >/dev/null 2>&1 || need_apt+=(nodejs)
  command -v npm >/dev/null 2>&1 || need_apt+=(npm)
  command -v curl >/dev/null 2>&1 || need_apt+=(curl)
  [[ -x /usr/bin/chromium ]] || need_apt+=(chromium)
  if ((${#need_apt[@]})); then
    echo "installing system packages: ${need_apt[*]}" >&2
    SUDO=""; [[ $(id -u) -ne 0 ]] && SUDO="sudo"
    $SUDO apt-get update -qq && $SUDO apt-get install -y -qq "${need_apt[@]}" >/dev/null
  fi
fi

PYTHON="${PYTHON:-python3.11}"
command -v "$PYTHON" >/dev/null 2>&1 || PYTHON=python3
"$PYTHON" -c 'import sys; assert sys.version_info[:2] == (3, 11), "Python 3.11 is required (Azure Functions + azure-functions 1.x)"'

if [[ ! -x .venv/bin/python ]]; then
  "$PYTHON" -m venv .venv
fi
fresh() { [[ -f $1 && ! pyproject.toml -nt $1 && ! requirements.txt -nt $1 ]]; }
# The dev extra includes the serve extra: a full install also satisfies serve.
if ! fresh "$stamp" && ! { [[ $MODE == serve ]] && fresh .venv/.installed; }; then
  .venv/bin/python -m pip install -q --upgrade pip
  .venv/bin/python -m pip install -q -r requirements.txt ".[$extra]"
  touch "$stamp"
fi

# The infrastructure checks (checkov, check-jsonschema, zizmor) in their own venv, apart from the
# app's packages; reinstalled only when scripts/iac_tools.txt changes.
iac_stamp=.tools/iac/.installed
if [[ ! -f $iac_stamp || scripts/iac_tools.txt -nt $iac_stamp ]]; then
  echo "installing the infrastructure checks into .tools/iac" >&2
  mkdir -p .tools
  [[ -x .tools/iac/bin/python ]] || "$PYTHON" -m venv .tools/iac
  .tools/iac/bin/python -m pip install -q --upgrade pip
  .tools/iac/bin/python -m pip install -q -r scripts/iac_tools.txt
  touch "$iac_stamp"
fi
