"""Berth's vLLM STAND-IN (tests only): the real command line and HTTP surface of
`python -m vllm.entrypoints.openai.api_server`, no model. See test-standins/vllm/README.md."""

import argparse
import json
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

FIXTURES = Path(__file__).resolve().parents[3] / "fixtures"
PID = os.getpid()
log = logging.getLogger("standin")


def parse_args(argv):
    # Flag names as in vLLM's `vllm serve` / api_server (EngineArgs + frontend args).
    p = argparse.ArgumentParser(prog="api_server.py", description="vLLM OpenAI-Compatible RESTful API server.")
    p.add_argument("--model", type=str, default="facebook/opt-125m")
    p.add_argument("--tokenizer", type=str, default=None)
    p.add_argument("--host", type=str, default=None)
    p.add_argument("--port", type=int, default=8000)
    p.add_argument("--served-model-name", nargs="+", type=str, default=None)
    p.add_argument("--gpu-memory-utilization", type=float, default=0.9)
    p.add_argument("--max-model-len", type=int, default=None)
    p.add_argument("--tensor-parallel-size", "-tp", type=int, default=1)
    p.add_argument("--dtype", type=str, default="auto", choices=["auto", "half", "float16", "bfloat16", "float", "float32"])
    p.add_argument("--api-key", type=str, default=None)
    p.add_argument("--enable-lora", action="store_true")
    p.add_argument("--lora-modules", nargs="+", type=str, default=None)
    p.add_argument("--max-loras", type=int, default=1)
    p.add_argument("--max-lora-rank", type=int, default=16, choices=[1, 8, 16, 32, 64, 128, 256, 320, 512])
    p.add_argument("--trust-remote-code", action="store_true")
    p.add_argument("--enforce-eager", action="store_true")
    return p.parse_args(argv)


def emit(line, stream=None):
    """Print like vLLM's logger (stdout; uvicorn's own lines go to stderr); tolerate a closed pipe."""
    stream = stream or sys.stdout
    try:
        stream.write(line + "\n")
        stream.flush()
    except (BrokenPipeError, OSError):
        pass


# vLLM 0.32.0 (CPU build) as captured on this project's machine: fixtures/vllm-0.32.0-cpu.{stdout,stderr}.log.
# Its lines are re-emitted with this process's pid, the time now, and this command line's model and port.
CAPTURED_PID = re.compile(r"^\((APIServer|EngineCore) pid=\d+\) (\w+) \d\d-\d\d \d\d:\d\d:\d\d ")
CAPTURED_MODEL = "/root/.cache/berth/test-fixtures/vllm-run-03503663f29a/run/checkpoint-4"


def vllm_line(proc, level, where, message):
    return f"({proc} pid={PID}) {level} {time.strftime('%m-%d %H:%M:%S')} [{where}] {message}"


def captured(name, args, upto=None, after=None):
    """Fixture lines from the real vLLM, between the first containing `after` and the first containing `upto`."""
    lines = fixture_lines(name)
    if after is not None:
        lines = lines[next(i for i, l in enumerate(lines) if after in l) + 1:]
    if upto is not None:
        lines = lines[: next(i for i, l in enumerate(lines) if upto in l)]
    out = []
    for line in lines:
        line = CAPTURED_PID.sub(lambda m: f"({m[1]} pid={PID}) {m[2]} {time.strftime('%m-%d %H:%M:%S')} ", line)
        line = line.replace(CAPTURED_MODEL, args.model)
        line = re.sub(r"Using max model len \d+", f"Using max model len {args.max_model_len or 2048}", line)
        out.append(line)
    return out


def fixture_lines(name):
    return (FIXTURES / name).read_text().splitlines()


def start_grandchild(mode):
    code = "import time\nwhile True: time.sleep(60)"
    return subprocess.Popen([sys.executable, "-c", code], start_new_session=(mode == "session"))


def main(argv=None):
    args = parse_args(sys.argv[1:] if argv is None else argv)
    names = args.served_model_name or [args.model]
    loras = {}
    for module in args.lora_modules or []:
        name, _, path = module.partition("=")
        loras[name] = path
    if loras and not args.enable_lora:
        emit("ValueError: Cannot use --lora-modules without --enable-lora")
        sys.exit(1)
    for name, path in loras.items():  # vLLM loads the static adapters at start-up and checks their rank
        try:
            rank = int(json.loads((Path(path) / "adapter_config.json").read_text()).get("r", 8))
        except (OSError, ValueError):
            emit(f"ValueError: Loading lora {name} failed: No adapter found for {path}")
            sys.exit(1)
        if rank > args.max_lora_rank:
            emit(f"ValueError: LoRA rank {rank} is greater than max_lora_rank {args.max_lora_rank}.")
            sys.exit(1)
    fail = os.environ.get("BERTH_STANDIN_FAIL", "")
    delay = int(os.environ.get("BERTH_STANDIN_DELAY_MS", "300")) / 1000
    if os.environ.get("BERTH_STANDIN_IGNORE_TERM") == "1":
        signal.signal(signal.SIGTERM, signal.SIG_IGN)
    else:
        signal.signal(signal.SIGTERM, lambda *_: shutdown())
    grandchild_mode = os.environ.get("BERTH_STANDIN_GRANDCHILD")
    if grandchild_mode:
        child = start_grandchild(grandchild_mode)
        emit(f"(EngineCore pid={child.pid}) INFO [berth stand-in] worker started")

    non_default = {"host": args.host, "port": args.port, "model": args.model}
    emit(vllm_line("APIServer", "INFO", "api_utils.py:286", f"non-default args: {non_default}"))
    if fail == "oom":
        emit("ERROR [core.py:390] EngineCore failed to start.")
        emit(fixture_lines("error-cuda-oom.log")[0])
        sys.exit(1)
    if fail == "kv":
        emit("ERROR [core.py:390] EngineCore failed to start.")
        emit(fixture_lines("error-kv-cache-v1.log")[0])
        sys.exit(1)
    STDOUT = "vllm-0.32.0-cpu.stdout.log"
    for line in captured(STDOUT, args, after="non-default args", upto="Starting vLLM server on"):
        emit(line)
    if fail == "hang":
        while True:
            time.sleep(60)
    time.sleep(delay)

    server = ThreadingHTTPServer((args.host or "0.0.0.0", args.port), make_handler(names, loras, args))
    server.daemon_threads = True
    emit(vllm_line("APIServer", "INFO", "entry.py:140", f"Starting vLLM server on http://{args.host or '0.0.0.0'}:{args.port}"))
    for line in captured(STDOUT, args, after="Starting vLLM server on", upto='HTTP/1.1"'):
        emit(line)
    emit(f"INFO:     Started server process [{PID}]", sys.stderr)
    emit("INFO:     Waiting for application startup.", sys.stderr)
    emit("INFO:     Application startup complete.", sys.stderr)
    if fail == "crash_after_ready":
        after = int(os.environ.get("BERTH_STANDIN_CRASH_AFTER_MS", "500")) / 1000
        threading.Timer(after, lambda: (emit("ERROR [core.py:1] EngineCore encountered a fatal error."), os._exit(1))).start()
    server.serve_forever(poll_interval=0.05)


def shutdown():
    emit(vllm_line("APIServer", "INFO", "launcher.py:254", "[shutdown] API server: shutdown triggered"))
    emit(vllm_line("APIServer", "INFO", "launcher.py:279", "[shutdown] API server: engine client stopped"))
    emit(vllm_line("APIServer", "INFO", "launcher.py:304", "[shutdown] API server: shutting down FastAPI HTTP server"))
    emit("INFO:     Shutting down", sys.stderr)
    emit("INFO:     Waiting for application shutdown.", sys.stderr)
    emit("INFO:     Application shutdown complete.", sys.stderr)
    os._exit(0)


def make_handler(names, loras, args):
    created = int(time.time())

    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, fmt, *a):
            code = a[1] if len(a) > 1 else ""
            phrase = HTTPStatus(int(code)).phrase if str(code).isdigit() else ""
            emit(f'INFO:     {self.client_address[0]}:{self.client_address[1]} - "{self.requestline}" {code} {phrase}')

        def send_json(self, status, body):
            data = json.dumps(body).encode()
            self.send_response(status)
            self.send_header("content-type", "application/json")
            self.send_header("content-length", str(len(data)))
            self.end_headers()
            self.wfile.write(data)

        def authorized(self):
            if not args.api_key or not self.path.startswith("/v1"):
                return True
            if self.headers.get("authorization") == f"Bearer {args.api_key}":
                return True
            self.send_json(401, {"error": "Unauthorized"})
            return False

        def do_GET(self):
            if self.path == "/health":
                self.send_response(200)
                self.send_header("content-length", "0")
                self.end_headers()
            elif self.path == "/v1/models":
                if not self.authorized():
                    return
                card = lambda i, root: {"id": i, "object": "model", "created": created, "owned_by": "vllm", "root": root, "max_model_len": args.max_model_len or 2048}
                data = [card(n, args.model) for n in names] + [card(n, p) for n, p in loras.items()]
                self.send_json(200, {"object": "list", "data": data})
            else:
                self.send_json(404, {"detail": "Not Found"})

        def do_POST(self):
            length = int(self.headers.get("content-length") or 0)
            raw = self.rfile.read(length) if length else b"{}"
            if self.path != "/v1/chat/completions":
                self.send_json(404, {"detail": "Not Found"})
                return
            if not self.authorized():
                return
            body = json.loads(raw or b"{}")
            model = body.get("model")
            if model not in names and model not in loras:
                self.send_json(404, {"object": "error", "message": f"The model `{model}` does not exist.", "type": "NotFoundError", "code": 404})
                return
            last = next((m.get("content", "") for m in reversed(body.get("messages", [])) if m.get("role") == "user"), "")
            reply = f"Echo: {last}"
            self.send_json(200, {
                "id": "chatcmpl-standin", "object": "chat.completion", "created": int(time.time()), "model": model,
                "choices": [{"index": 0, "message": {"role": "assistant", "content": reply}, "finish_reason": "stop"}],
                "usage": {"prompt_tokens": len(last.split()), "completion_tokens": len(reply.split()), "total_tokens": len(last.split()) + len(reply.split())},
            })

    return Handler


if __name__ == "__main__":
    main()
