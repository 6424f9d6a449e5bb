#!/usr/bin/env bash
# Regenerate the Python stubs of the agent protocol from protos/.
# With --check, generate into a temporary folder and fail when the committed
# stubs differ, so a changed .proto without regenerated stubs is caught.
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
python="${PYTHON:-$root/.venv/bin/python}"
# The script changes folder below, so a relative interpreter path must be
# made absolute first.
if [[ "$python" != /* ]]; then
  python="$(cd "$(dirname "$python")" && pwd)/$(basename "$python")"
fi
out="$root/protos/python"

if [[ "${1:-}" == "--check" ]]; then
  out="$(mktemp -d)"
  trap 'rm -rf "$out"' EXIT
fi

# protoc finds the mypy plugins on PATH, next to the interpreter.
export PATH="$(dirname "$python"):$PATH"
cd "$root/protos"
"$python" -m grpc_tools.protoc -I . \
  --python_out="$out" --grpc_python_out="$out" \
  --mypy_out="$out" --mypy_grpc_out="$out" \
  mometrics/probe/v1/*.proto 2> >(grep -v "^Writing mypy" >&2)

if [[ "${1:-}" == "--check" ]]; then
  stale=0
  for generated in "$out"/mometrics/probe/v1/*; do
    committed="$root/protos/python/mometrics/probe/v1/$(basename "$generated")"
    if ! cmp -s "$generated" "$committed"; then
      echo "stale generated file: ${committed#$root/} (run 'make protos')" >&2
      stale=1
    fi
  done
  exit "$stale"
fi
echo "generated stubs in ${out#$root/}"
