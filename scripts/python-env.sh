# Sourced by the scripts that use the local AWS test world: puts its Python virtual environment
# (made by scripts/install-deps.sh) first on PATH, so `python3`, `moto_server`, `aws` and pytest
# are the environment's, never the system's. Debian 12 and Ubuntu 24.04 refuse `pip install`
# into the system Python (PEP 668), and the system's packages are not ours to change.
# SECRET_SYNC_VENV names another place for it (default: .venv in the repository).
secret_sync_venv=${SECRET_SYNC_VENV:-$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)/.venv}
if [ ! -x "$secret_sync_venv/bin/python3" ]; then
  echo "$(basename "$0"): no Python environment at $secret_sync_venv; run scripts/install-deps.sh" >&2
  exit 2
fi
export VIRTUAL_ENV=$secret_sync_venv
export PATH="$secret_sync_venv/bin:$PATH"
unset PYTHONHOME
