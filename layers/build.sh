#!/usr/bin/env bash
# Builds the dependency layer for Lambda's arm64 Python runtime without Docker: pip resolves
# manylinux aarch64 wheels for the target interpreter, so nothing is compiled on this machine.
# Usage: layers/build.sh OUT_DIR   (OUT_DIR/python is what Lambda puts on sys.path)
set -euo pipefail
out=${1:-build/layer}
here=$(cd "$(dirname "$0")" && pwd)
pip=${PIP:-pip}
pyver=$(sed -n 's/^LAMBDA_PYTHON_VERSION = "\(.*\)"/\1/p' "$here/../shared/bazaar/runtime.py")
rm -rf "$out" && mkdir -p "$out/python"
"$pip" install --quiet --no-compile --no-deps --disable-pip-version-check \
  --platform manylinux2014_aarch64 --implementation cp --python-version "$pyver" \
  --only-binary=:all: --target "$out/python" -r "$here/requirements.txt" 2>&1 | grep -v "^WARNING: Location" || true
test -d "$out/python/aws_lambda_powertools" || { echo "layer build failed" >&2; exit 1; }
rm -rf "$out"/python/bin
# The SDK's data for the services the functions call only (the first client's cold-start cost, see the module).
(cd "$here/.." && "${PYTHON:-python3}" -m layers.sdk_data "$out/python")
# Exact source patches that move imports off the cold path (fails when a package's source changed, see the module).
(cd "$here/.." && "${PYTHON:-python3}" -m layers.patches "$out/python")
find "$out/python" -name "__pycache__" -type d -prune -exec rm -rf {} +
# Bytecode for the runtime's interpreter version (read-only /opt: Lambda can't cache it itself).
(cd "$here/.." && "${PYTHON:-python3}" -m layers.bytecode "$out/python")
echo "layer: $(du -sh "$out" | cut -f1) for python$pyver arm64 in $out"
