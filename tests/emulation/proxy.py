# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Counting and fault-injecting HTTP proxy in front of the emulated AWS (moto).

Test infrastructure only. Every AWS request of a run passes through here, so a test can ask
"how many calls, of which kind, did that playbook make?" and can make the emulated AWS misbehave
(throttling, 5xx) the way the real one does under load.

Control endpoints (never forwarded):
  GET  /_hubops/stats             calls per service/action, read vs mutating, injected faults
  POST /_hubops/stats/reset       zero the counters
  POST /_hubops/faults            {"rate": 0.1, "seed": 7, "max_consecutive": 2, "kinds": ["throttle", "5xx"]}
  POST /_hubops/kill              {"action": "CreateNatGateway", "pid": 1234}: when that action arrives,
                                  SIGKILL the process group of pid and answer 503 (a run killed part-way); until
                                  the next control request, that action keeps answering 503, so a module process
                                  outside the group (or a retry already in flight) cannot complete it after the kill
  GET  /_hubops/health
  GET  /_hubops/kit               {"kubeconfig": "<abs path>"} of the Kubernetes API server kit behind the emulated EKS
                                  clusters, or {"kubeconfig": null} when there is none (the eksctl stand-in asks)
  POST /_hubops/kit               {"kubeconfig": "<abs path>" | null}: the launcher registers the kit it started
"""

from __future__ import annotations

import http.client
import json
import os
import random
import re
import signal
import threading
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from urllib.parse import parse_qs, urlsplit

READ_PREFIXES = ("Describe", "List", "Get", "Lookup", "Search", "Head", "BatchGet")
HOP_HEADERS = {"connection", "keep-alive", "transfer-encoding", "proxy-connection", "upgrade", "content-length"}
_CRED_RE = re.compile(r"Credential=[^/]+/\d{8}/([^/]+)/([^/]+)/aws4_request")
_ID_SEGMENT = re.compile(r"\d|%|^[A-Za-z0-9_-]{20,}$")


def is_read(action: str) -> bool:
    """Return True when the action only reads (Describe*/List*/Get*..., or a REST GET/HEAD)."""
    if action.startswith(("GET ", "HEAD ")):
        return True
    if " " in action:  # REST verb other than GET/HEAD
        return False
    return action.startswith(READ_PREFIXES)


def classify(headers, path: str, method: str, body: bytes) -> tuple[str, str, str]:
    """Return (service, action, protocol) of a signed AWS request."""
    auth = headers.get("Authorization", "")
    match = _CRED_RE.search(auth)
    service = match.group(2) if match else "unknown"
    target = headers.get("X-Amz-Target")
    if target:
        return service, target.rsplit(".", 1)[-1], "json"
    split = urlsplit(path)
    query = parse_qs(split.query)
    if "Action" in query:
        return service, query["Action"][0], "ec2" if service == "ec2" else "query"
    ctype = headers.get("Content-Type", "")
    if method == "POST" and "x-www-form-urlencoded" in ctype:
        form = parse_qs(body.decode("utf-8", "replace"))
        if "Action" in form:
            return service, form["Action"][0], "ec2" if service == "ec2" else "query"
    segments = ["{id}" if _ID_SEGMENT.search(seg) else seg for seg in split.path.split("/") if seg]
    protocol = "rest-xml" if service in ("route53", "s3", "cloudfront") else "rest-json"
    return service, f"{method} /{'/'.join(segments)}", protocol


def error_response(protocol: str, kind: str) -> tuple[int, dict, bytes]:
    """Build the error a real AWS endpoint of that protocol sends for throttling or a 5xx."""
    request_id = str(uuid.uuid4())
    if kind == "throttle":
        code, status = ("RequestLimitExceeded", 503) if protocol == "ec2" else ("Throttling", 400)
        if protocol in ("json", "rest-json"):
            code, status = "ThrottlingException", (400 if protocol == "json" else 429)
        message = "Rate exceeded (injected by the hubops test proxy)"
    else:
        code, status, message = "ServiceUnavailable", 503, "Service unavailable (injected by the hubops test proxy)"
    headers = {"x-amzn-RequestId": request_id}
    if protocol == "ec2":
        body = (
            f"<?xml version=\"1.0\" encoding=\"UTF-8\"?><Response><Errors><Error><Code>{code}</Code>"
            f"<Message>{message}</Message></Error></Errors><RequestID>{request_id}</RequestID></Response>"
        )
        headers["Content-Type"] = "text/xml"
    elif protocol in ("query", "rest-xml"):
        body = (
            f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}</Message>"
            f"</Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        )
        headers["Content-Type"] = "text/xml"
    else:
        headers["Content-Type"] = "application/x-amz-json-1.1"
        headers["x-amzn-ErrorType"] = code
        body = json.dumps({"__type": code, "message": message})
    return status, headers, body.encode()


class ProxyState:
    """Counters and fault settings, shared by all request threads."""

    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.reset_stats()
        self.configure_faults({})
        self.kill = None
        self.dead_action: str | None = None
        self.kit_kubeconfig: str | None = None

    def reset_stats(self) -> None:
        self.calls: dict[str, dict[str, int]] = {}
        self.read = 0
        self.mutating = 0
        self.faults = 0
        self.log: list[str] = []

    def configure_faults(self, spec: dict) -> None:
        self.fault_rate = float(spec.get("rate", 0.0))
        self.fault_kinds = list(spec.get("kinds", ["throttle", "5xx"]))
        self.max_consecutive = int(spec.get("max_consecutive", 2))
        self.rng = random.Random(spec.get("seed", 0))
        self.consecutive = 0

    def snapshot(self) -> dict:
        with self.lock:
            return {
                "calls": {svc: dict(actions) for svc, actions in self.calls.items()},
                "read": self.read,
                "mutating": self.mutating,
                "faults": self.faults,
                "mutating_actions": sorted(
                    f"{svc}:{act}" for svc, acts in self.calls.items() for act in acts if not is_read(act)
                ),
                "fault_rate": self.fault_rate,
            }

    def decide_fault(self) -> str | None:
        """Pick whether this request fails; never more than max_consecutive in a row (seeded, repeatable)."""
        with self.lock:
            if self.fault_rate <= 0 or self.consecutive >= self.max_consecutive:
                self.consecutive = 0
                return None
            if self.rng.random() < self.fault_rate:
                self.consecutive += 1
                self.faults += 1
                return self.rng.choice(self.fault_kinds)
            self.consecutive = 0
            return None

    def record(self, service: str, action: str) -> None:
        with self.lock:
            per_service = self.calls.setdefault(service, {})
            per_service[action] = per_service.get(action, 0) + 1
            if is_read(action):
                self.read += 1
            else:
                self.mutating += 1


def make_handler(state: ProxyState, upstream_host: str, upstream_port: int):
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format, *args):  # noqa: A002 - signature fixed by BaseHTTPRequestHandler
            return

        def _send(self, status: int, headers: dict, body: bytes) -> None:
            self.send_response(status)
            for key, value in headers.items():
                self.send_header(key, value)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            if self.command != "HEAD":
                self.wfile.write(body)

        def _control(self, body: bytes) -> None:
            path = urlsplit(self.path).path
            if path == "/_hubops/health":
                return self._send(200, {"Content-Type": "application/json"}, b'{"ok": true}')
            if path == "/_hubops/stats":
                return self._send(200, {"Content-Type": "application/json"}, json.dumps(state.snapshot()).encode())
            if path == "/_hubops/stats/reset" and self.command == "POST":
                with state.lock:
                    state.reset_stats()
                return self._send(200, {"Content-Type": "application/json"}, b"{}")
            if path == "/_hubops/faults" and self.command == "POST":
                state.configure_faults(json.loads(body or b"{}"))
                return self._send(200, {"Content-Type": "application/json"}, b"{}")
            if path == "/_hubops/kit":
                if self.command == "POST":
                    kubeconfig = json.loads(body or b"{}").get("kubeconfig")
                    state.kit_kubeconfig = os.path.abspath(kubeconfig) if kubeconfig else None
                kubeconfig = state.kit_kubeconfig
                if kubeconfig and not os.path.isfile(kubeconfig):  # the kit's directory was removed since
                    kubeconfig = None
                return self._send(200, {"Content-Type": "application/json"}, json.dumps({"kubeconfig": kubeconfig}).encode())
            if path == "/_hubops/kill" and self.command == "POST":
                state.kill = json.loads(body or b"{}") or None
                return self._send(200, {"Content-Type": "application/json"}, b"{}")
            return self._send(404, {"Content-Type": "text/plain"}, b"unknown control path")

        def _handle(self) -> None:
            length = int(self.headers.get("Content-Length") or 0)
            body = self.rfile.read(length) if length else b""
            if self.path.startswith("/_hubops/"):
                if not self.path.startswith("/_hubops/health"):
                    state.dead_action = None  # the test moved on: the killed run is over
                return self._control(body)
            if not self.path.startswith("/moto-api"):
                service, action, protocol = classify(self.headers, self.path, self.command, body)
                kill = state.kill
                if state.dead_action and state.dead_action == action:
                    return self._send(*error_response(protocol, "5xx"))
                if kill and kill.get("action") == action:
                    state.kill = None
                    state.dead_action = action
                    try:
                        os.killpg(int(kill["pid"]), signal.SIGKILL)
                    except (ProcessLookupError, PermissionError):
                        pass
                    return self._send(*error_response(protocol, "5xx"))
                fault = state.decide_fault()
                if fault:
                    return self._send(*error_response(protocol, fault))
                state.record(service, action)
            conn = http.client.HTTPConnection(upstream_host, upstream_port, timeout=300)
            headers = {k: v for k, v in self.headers.items() if k.lower() not in HOP_HEADERS}
            conn.request(self.command, self.path, body=body or None, headers=headers)
            resp = conn.getresponse()
            data = resp.read()
            out = {k: v for k, v in resp.getheaders() if k.lower() not in HOP_HEADERS}
            conn.close()
            return self._send(resp.status, out, data)

        do_GET = do_POST = do_PUT = do_DELETE = do_HEAD = do_PATCH = _handle

    return Handler


def serve(port: int, upstream_port: int, host: str = "127.0.0.1") -> ThreadingHTTPServer:
    """Create (not start) the proxy server on host:port forwarding to host:upstream_port."""
    state = ProxyState()
    server = ThreadingHTTPServer((host, port), make_handler(state, host, upstream_port))
    server.daemon_threads = True
    server.state = state
    return server
