# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""roles/storage/files/usage_report.py: the numbers per user and group on a known tree (symlinks not followed, hard
links once), group map sums, the Prometheus text, truncation to fit a ConfigMap, and the ConfigMap writer against a
small fake of the Kubernetes API (GET 404 -> POST, GET 200 -> PUT)."""

import http.server
import importlib.util
import json
import os
import re
import socket
import subprocess
import sys
import threading
from pathlib import Path

import pytest

SCRIPT = Path(__file__).resolve().parents[3] / "roles" / "storage" / "files" / "usage_report.py"
NOW = 1767225600  # 2026-01-01T00:00:00Z
T_ALICE_A, T_ALICE_M = 1764547200, 1762000000  # 2025-12-01T00:00:00Z, 2025-11-01T12:26:40Z
T_BOB = 1735689600  # 2025-01-01T00:00:00Z
T_NEURO = 1750000000  # 2025-06-15T15:06:40Z
SAMPLE_RE = re.compile(r'^([a-zA-Z_:][a-zA-Z0-9_:]*)(?:\{((?:[a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\\n]|\\.)*",?)*)\})? (-?[0-9.eE+]+)$')
LABEL_RE = re.compile(r'([a-zA-Z_][a-zA-Z0-9_]*)="((?:[^"\\\n]|\\.)*)"')


def load():
    spec = importlib.util.spec_from_file_location("hubops_usage_report", SCRIPT)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


usage = load()


def put(path, size, atime=NOW - 86400, mtime=NOW - 86400):
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(b"u" * size)
    os.utime(path, (atime, mtime))
    return path


def du(path):
    """(st_blocks * 512 of path and everything below it, hard links once), computed independently of the script."""
    seen, total = set(), os.lstat(path).st_blocks * 512
    for dirpath, dirnames, filenames in os.walk(path, followlinks=False):
        for name in dirnames + filenames:
            info = os.lstat(os.path.join(dirpath, name))
            if (info.st_dev, info.st_ino) not in seen:
                seen.add((info.st_dev, info.st_ino))
                total += info.st_blocks * 512
    return total


@pytest.fixture
def tree(tmp_path):
    homes, shared = tmp_path / "homes", tmp_path / "shared"
    put(homes / "alice" / "a.txt", 1000, atime=T_ALICE_A - 5000, mtime=T_ALICE_M)
    put(homes / "alice" / "sub" / "deeper" / "b.bin", 5000, atime=T_ALICE_A, mtime=T_ALICE_M - 100)
    os.link(homes / "alice" / "a.txt", homes / "alice" / "sub" / "hardlink")  # the same file once more: counted once
    put(homes / "bob" / "c.dat", 10, atime=T_BOB, mtime=T_BOB)
    (homes / "bob" / "everything").symlink_to(shared)  # not followed: a 1-entry symlink of len(str(shared)) bytes
    os.utime(homes / "bob" / "everything", (T_BOB - 10, T_BOB - 10), follow_symlinks=False)
    (homes / "empty").mkdir()
    put(homes / ".snapshot" / "x", 99999)  # hidden: not a user
    put(homes / "lost+found" / "x", 99999)
    put(homes / "stray.txt", 5)  # not a directory: not a user
    (homes / "alias").symlink_to(homes / "alice")  # symlinked home: not a user (alice is counted once)
    put(shared / "neuro" / "data.h5", 2000, atime=T_NEURO, mtime=T_NEURO)
    put(shared / "neuro" / "scratch" / "tmp.bin", 300, atime=T_NEURO - 1, mtime=T_NEURO - 1)
    (shared / "vision").mkdir()
    group_map = tmp_path / "groups.json"
    group_map.write_text(json.dumps({"neuro": ["bob", "alice", "zed"], "vision": ["carol"], "nomount": ["alice"]}))
    return homes, shared, group_map


def test_numbers_per_user_and_group(tree):
    homes, shared, group_map = tree
    report = usage.build_report(str(homes), str(shared), usage.load_group_map(str(group_map)), NOW)
    assert report["generated_at"] == "2026-01-01T00:00:00Z" and report["truncated"] is False
    assert sorted(report["users"]) == ["alice", "bob", "empty"]
    assert report["users"]["alice"] == {"bytes": du(homes / "alice"), "apparent_bytes": 6000, "files": 2, "errors": 0,
                                        "last_access": "2025-12-01T00:00:00Z", "last_modified": "2025-11-01T12:26:40Z"}
    assert report["users"]["bob"] == {"bytes": du(homes / "bob"), "apparent_bytes": 10 + len(str(shared)), "files": 2, "errors": 0,
                                      "last_access": "2025-01-01T00:00:00Z", "last_modified": "2025-01-01T00:00:00Z"}
    assert report["users"]["empty"] == {"bytes": du(homes / "empty"), "apparent_bytes": 0, "files": 0, "errors": 0,
                                        "last_access": None, "last_modified": None}
    neuro = report["groups"]["neuro"]
    assert {k: neuro[k] for k in usage.STATS} == {"bytes": du(shared / "neuro"), "apparent_bytes": 2300, "files": 2, "errors": 0,
                                                  "last_access": "2025-06-15T15:06:40Z", "last_modified": "2025-06-15T15:06:40Z"}
    assert neuro["shared_dir"] is True and neuro["members"] == ["alice", "bob", "zed"]
    totals = report["totals"]
    assert totals["users"] == 3 and totals["groups"] == 3
    assert totals["home_bytes"] == du(homes / "alice") + du(homes / "bob") + du(homes / "empty")
    assert totals["home_apparent_bytes"] == 6010 + len(str(shared)) and totals["home_files"] == 4
    assert totals["shared_bytes"] == du(shared / "neuro") + du(shared / "vision") and totals["shared_files"] == 2
    assert totals["bytes"] == totals["home_bytes"] + totals["shared_bytes"] and totals["files"] == 6
    assert totals["last_access"] == "2025-12-01T00:00:00Z" and totals["last_modified"] == "2025-11-01T12:26:40Z"
    assert totals["errors"] == 0


def test_group_map_sums_homes(tree):
    homes, shared, group_map = tree
    report = usage.build_report(str(homes), str(shared), usage.load_group_map(str(group_map)), NOW)
    users, groups = report["users"], report["groups"]
    assert groups["neuro"]["home_bytes"] == users["alice"]["bytes"] + users["bob"]["bytes"]  # zed has no home
    assert groups["neuro"]["home_apparent_bytes"] == 6010 + len(str(shared)) and groups["neuro"]["home_files"] == 4
    assert groups["vision"]["home_bytes"] == 0 and groups["vision"]["members"] == ["carol"]
    assert groups["vision"]["shared_dir"] is True and groups["vision"]["files"] == 0
    assert groups["nomount"] == {"bytes": 0, "apparent_bytes": 0, "files": 0, "errors": 0, "last_access": None, "last_modified": None,
                                 "shared_dir": False, "members": ["alice"], "home_bytes": users["alice"]["bytes"],
                                 "home_apparent_bytes": 6000, "home_files": 2}
    # without a group map: no members, no home sums; without --homes (EBS homes): no home sums
    plain = usage.build_report(str(homes), str(shared), None, NOW)["groups"]["neuro"]
    assert "members" not in plain and "home_bytes" not in plain
    shared_only = usage.build_report(None, str(shared), usage.load_group_map(str(group_map)), NOW)
    assert shared_only["users"] == {} and "home_bytes" not in shared_only["groups"]["neuro"]
    assert shared_only["groups"]["neuro"]["members"] == ["alice", "bob", "zed"]


def parse_prom(text):
    """{(name, frozenset(labels)): value}; every line is a comment or `name{labels} value`."""
    samples = {}
    for line in text.splitlines():
        if line.startswith("# HELP ") or line.startswith("# TYPE "):
            continue
        match = SAMPLE_RE.match(line)
        assert match, "not a sample: %r" % line
        labels = frozenset((k, re.sub(r"\\(.)", lambda m: "\n" if m.group(1) == "n" else m.group(1), v)) for k, v in LABEL_RE.findall(match.group(2) or ""))
        samples[(match.group(1), labels)] = float(match.group(3))
    return samples


def test_prometheus_text_has_the_same_numbers(tree):
    homes, shared, group_map = tree
    (homes / 'we"ird\\name').mkdir()
    report = usage.build_report(str(homes), str(shared), usage.load_group_map(str(group_map)), NOW)
    text = usage.prometheus(report)
    assert text.endswith("\n")
    samples = parse_prom(text)

    def sample(name, **labels):
        return samples[(name, frozenset(labels.items()))]

    for user, entry in report["users"].items():
        assert sample("hubops_storage_bytes", kind="home", user=user) == entry["bytes"]
        assert sample("hubops_storage_files", kind="home", user=user) == entry["files"]
    assert sample("hubops_storage_last_access_timestamp_seconds", kind="home", user="alice") == T_ALICE_A
    assert sample("hubops_storage_last_access_timestamp_seconds", kind="home", user="bob") == T_BOB
    assert ("hubops_storage_last_access_timestamp_seconds", frozenset({("kind", "home"), ("user", "empty")})) not in samples
    assert sample("hubops_storage_bytes", kind="shared", group="neuro") == report["groups"]["neuro"]["bytes"]
    assert sample("hubops_storage_files", kind="shared", group="neuro") == 2
    assert sample("hubops_storage_last_access_timestamp_seconds", kind="shared", group="neuro") == T_NEURO
    assert not any(dict(labels).get("group") == "nomount" and name.startswith("hubops_storage_bytes") for name, labels in samples)
    assert sample("hubops_storage_group_home_bytes", group="neuro") == report["groups"]["neuro"]["home_bytes"]
    assert sample("hubops_storage_group_home_bytes", group="nomount") == report["users"]["alice"]["bytes"]
    assert sample("hubops_storage_report_timestamp_seconds") == NOW and sample("hubops_storage_report_truncated") == 0
    assert sample("hubops_storage_files", kind="home", user='we"ird\\name') == 0
    types = re.findall(r"^# TYPE (\S+) gauge$", text, re.M)
    assert len(types) == len(set(types)) == 6


def many_users(count):
    users = {"user%05d" % i: {"bytes": (i * 7919) % 100003 * 4096, "apparent_bytes": i, "files": i, "errors": 0,
                              "last_access": "2025-12-01T00:00:00Z", "last_modified": "2025-11-01T00:00:00Z"} for i in range(count)}
    report = {"generated_at": "2026-01-01T00:00:00Z", "homes": "/mnt/homes", "shared": None, "users": users,
              "groups": {"neuro": {"bytes": 1, "apparent_bytes": 1, "files": 1, "errors": 0, "last_access": None, "last_modified": None,
                                   "shared_dir": True, "members": sorted(users), "home_bytes": sum(u["bytes"] for u in users.values())}},
              "totals": {"users": count, "home_bytes": sum(u["bytes"] for u in users.values())}, "truncated": False}
    return report


def test_small_reports_are_not_truncated():
    report = many_users(50)
    fitted, text, prom = usage.fit_configmap(report)
    assert fitted is report and json.loads(text) == report and prom == usage.prometheus(report)


def test_truncation_keeps_the_largest_homes():
    report = many_users(8000)
    assert len(usage.to_json(report)) > 900 * 1024
    fitted, text, prom = usage.fit_configmap(report)
    assert len(text.encode()) + len(prom.encode()) <= 900 * 1024
    doc = json.loads(text)
    assert doc["truncated"] is True and doc["users_total"] == 8000 and doc["users_included"] == len(doc["users"]) <= 2000
    assert len(doc["users"]) == 2000
    smallest_kept = min(u["bytes"] for u in doc["users"].values())
    assert all(u["bytes"] <= smallest_kept for name, u in report["users"].items() if name not in doc["users"])
    assert doc["totals"] == report["totals"] and doc["groups"] == report["groups"]  # totals and sums still cover everyone
    assert fitted == doc and report["truncated"] is False and len(report["users"]) == 8000  # the input is not modified
    assert "hubops_storage_report_truncated 1" in prom
    assert sum(1 for line in prom.splitlines() if line.startswith("hubops_storage_bytes{kind=\"home\"")) == len(doc["users"])
    parse_prom(prom)
    # a tighter limit keeps fewer
    fitted, text, prom = usage.fit_configmap(report, size_limit=100 * 1024, max_users=2000)
    assert len(text.encode()) + len(prom.encode()) <= 100 * 1024 and 0 < fitted["users_included"] < 2000
    assert usage.fit_configmap(report, max_users=10)[0]["users_included"] == 10


def test_truncation_gives_up_when_even_no_users_do_not_fit():
    with pytest.raises(usage.WriteFailed, match="even without per-user detail"):
        usage.fit_configmap(many_users(3000), size_limit=1000)


# ------------------------------------------------------------------------------------------------ the command line
def test_cli_output_file_and_stdout(tree, tmp_path):
    homes, shared, group_map = tree
    out = tmp_path / "report.json"
    proc = subprocess.run([sys.executable, str(SCRIPT), "--homes", str(homes), "--shared", str(shared), "--group-map", str(group_map),
                           "--output", str(out), "--now", str(NOW)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and proc.stderr == "", proc
    assert proc.stdout.startswith("usage report: 3 users (")
    assert json.loads(out.read_text()) == usage.build_report(str(homes), str(shared), usage.load_group_map(str(group_map)), NOW)
    proc = subprocess.run([sys.executable, str(SCRIPT), "--shared", str(shared), "--now", str(NOW)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0 and "usage report: 0 users" in proc.stderr
    assert json.loads(proc.stdout)["groups"]["neuro"]["files"] == 2


@pytest.mark.parametrize("args, message", [
    ([], "nothing to report"),
    (["--homes", "/nonexistent/homes"], "--homes /nonexistent/homes is not a directory"),
    (["--shared", "{shared}", "--group-map", "{tmp}/missing.json"], "cannot read the group map"),
    (["--shared", "{shared}", "--group-map", "{tmp}/bad.json"], "must be a JSON object"),
    (["--shared", "{shared}", "--configmap", "no-name"], "--configmap must be NAMESPACE/NAME"),
    (["--shared", "{shared}", "--configmap", "Bad_NS/x"], "--configmap must be NAMESPACE/NAME"),
    (["--shared", "{shared}", "--configmap", "ns/x", "--api-server", "https://127.0.0.1:1", "--token-file", "{tmp}/no-token"],
     "cannot read the token"),
])
def test_bad_input_exits_2(tree, tmp_path, capsys, args, message):
    (tmp_path / "bad.json").write_text(json.dumps({"neuro": "alice"}))
    args = [arg.format(shared=tree[1], tmp=tmp_path) for arg in args]
    assert usage.main(args) == 2
    out, err = capsys.readouterr()
    assert out == "" and message in err


def test_configmap_needs_credentials_and_a_server(tree, capsys, monkeypatch, tmp_path):
    monkeypatch.setattr(usage, "DEFAULT_TOKEN", str(tmp_path / "no-token"))
    monkeypatch.setattr(usage, "DEFAULT_CA", str(tmp_path / "no-ca"))
    monkeypatch.delenv("KUBERNETES_SERVICE_HOST", raising=False)
    assert usage.main(["--shared", str(tree[1]), "--configmap", "ns/x"]) == 2
    assert "pass --api-server" in capsys.readouterr().err
    assert usage.main(["--shared", str(tree[1]), "--configmap", "ns/x", "--api-server", "https://127.0.0.1:1"]) == 2
    assert "no credentials" in capsys.readouterr().err
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "10.100.0.1")
    monkeypatch.setenv("KUBERNETES_SERVICE_PORT", "443")
    assert usage.in_cluster_server() == "https://10.100.0.1:443"
    monkeypatch.setenv("KUBERNETES_SERVICE_HOST", "fd00::1")
    assert usage.in_cluster_server() == "https://[fd00::1]:443"


# ------------------------------------------------------------------------------------------------ fake Kubernetes API
class FakeKube(http.server.ThreadingHTTPServer):
    """ConfigMaps in a dict; every request recorded as (method, path, Authorization header, decoded body)."""

    def __init__(self):
        super().__init__(("127.0.0.1", 0), FakeHandler)
        self.objects = {}
        self.requests = []
        self.version = 100
        self.conflicts = 0  # answer this many PUTs with 409 first
        self.fail = None  # (method, status) to answer with an error


class FakeHandler(http.server.BaseHTTPRequestHandler):
    server: FakeKube

    def log_message(self, format, *args):  # pylint: disable=redefined-builtin
        pass

    def reply(self, status, body):
        data = json.dumps(body).encode()
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def handle_any(self):
        length = int(self.headers.get("Content-Length") or 0)
        body = json.loads(self.rfile.read(length)) if length else None
        fake = self.server
        fake.requests.append((self.command, self.path, self.headers.get("Authorization"), body))
        if fake.fail and fake.fail[0] == self.command:
            return self.reply(fake.fail[1], {"kind": "Status", "message": "configmaps is forbidden: no", "code": fake.fail[1]})
        match = re.match(r"^/api/v1/namespaces/([^/]+)/configmaps(?:/([^/]+))?$", self.path)
        if not match:
            return self.reply(404, {"kind": "Status", "code": 404})
        key = (match.group(1), match.group(2) or (body or {}).get("metadata", {}).get("name"))
        fake.version += 1
        if self.command == "GET":
            if key in fake.objects:
                return self.reply(200, fake.objects[key])
            return self.reply(404, {"kind": "Status", "reason": "NotFound", "code": 404})
        if self.command == "POST":
            if key in fake.objects:
                return self.reply(409, {"kind": "Status", "reason": "AlreadyExists", "code": 409})
            body["metadata"].update(resourceVersion=str(fake.version), uid="uid-1", managedFields=[{"manager": "x"}])
            body["metadata"]["labels"]["team"] = "neuro"  # someone else's label: a replace keeps it
            fake.objects[key] = body
            return self.reply(201, body)
        if self.command == "PUT":
            current = fake.objects.get(key)
            if current is None:
                return self.reply(404, {"kind": "Status", "code": 404})
            if fake.conflicts or body["metadata"].get("resourceVersion") != current["metadata"]["resourceVersion"]:
                fake.conflicts = max(0, fake.conflicts - 1)
                current["metadata"]["resourceVersion"] = str(fake.version)  # a concurrent writer got there first
                return self.reply(409, {"kind": "Status", "reason": "Conflict", "code": 409})
            body["metadata"]["resourceVersion"] = str(fake.version)
            fake.objects[key] = body
            return self.reply(200, body)
        return self.reply(405, {"kind": "Status", "code": 405})

    do_GET = do_POST = do_PUT = handle_any


@pytest.fixture
def kube():
    server = FakeKube()
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def write_cm(kube, tree, tmp_path, *extra):
    homes, shared, group_map = tree
    token = tmp_path / "token"
    token.write_text("s3cret-token\n")
    url = "http://127.0.0.1:%d" % kube.server_address[1]
    return usage.main(["--homes", str(homes), "--shared", str(shared), "--group-map", str(group_map), "--now", str(NOW),
                       "--configmap", "hubops/hubops-storage-usage", "--api-server", url, "--token-file", str(token), *extra])


ITEM = "/api/v1/namespaces/hubops/configmaps/hubops-storage-usage"
COLLECTION = "/api/v1/namespaces/hubops/configmaps"
LABELS = {"app.kubernetes.io/managed-by": "hubops", "app.kubernetes.io/component": "usage-report"}


def test_configmap_created_then_replaced(kube, tree, tmp_path, capsys):
    assert write_cm(kube, tree, tmp_path) == 0
    assert "ConfigMap hubops/hubops-storage-usage created" in capsys.readouterr().out
    assert [(m, p, a) for m, p, a, _b in kube.requests] == [("GET", ITEM, "Bearer s3cret-token"), ("POST", COLLECTION, "Bearer s3cret-token")]
    posted = kube.requests[1][3]
    assert posted["apiVersion"] == "v1" and posted["kind"] == "ConfigMap"
    assert posted["metadata"]["name"] == "hubops-storage-usage" and posted["metadata"]["namespace"] == "hubops"
    assert sorted(posted["data"]) == ["usage.json", "usage.prom"]
    first = json.loads(posted["data"]["usage.json"])
    homes, shared, group_map = tree
    assert first == usage.build_report(str(homes), str(shared), usage.load_group_map(str(group_map)), NOW)
    assert parse_prom(posted["data"]["usage.prom"])[("hubops_storage_files", frozenset({("kind", "home"), ("user", "alice")}))] == 2

    put(homes / "alice" / "new.txt", 123)
    kube.requests.clear()
    assert write_cm(kube, tree, tmp_path) == 0
    assert "ConfigMap hubops/hubops-storage-usage replaced" in capsys.readouterr().out
    assert [(m, p, a) for m, p, a, _b in kube.requests] == [("GET", ITEM, "Bearer s3cret-token"), ("PUT", ITEM, "Bearer s3cret-token")]
    put_body = kube.requests[1][3]
    stored = kube.objects[("hubops", "hubops-storage-usage")]
    assert stored["metadata"]["uid"] == "uid-1" and "managedFields" not in put_body["metadata"]
    assert put_body["metadata"]["labels"] == dict(LABELS, team="neuro")
    second = json.loads(stored["data"]["usage.json"])
    assert second["users"]["alice"]["files"] == 3 and second["users"]["alice"]["apparent_bytes"] == 6123
    assert second["totals"]["home_files"] == first["totals"]["home_files"] + 1


def test_replace_sends_the_resource_version_and_retries_conflicts(kube, tree, tmp_path, capsys):
    assert write_cm(kube, tree, tmp_path) == 0
    version = kube.objects[("hubops", "hubops-storage-usage")]["metadata"]["resourceVersion"]
    kube.requests.clear()
    kube.conflicts = 1
    assert write_cm(kube, tree, tmp_path) == 0
    assert [m for m, _p, _a, _b in kube.requests] == ["GET", "PUT", "GET", "PUT"]
    assert kube.requests[1][3]["metadata"]["resourceVersion"] == version
    assert kube.requests[3][3]["metadata"]["resourceVersion"] != version  # the one the second GET returned
    assert "replaced" in capsys.readouterr().out


def test_api_errors_exit_1(kube, tree, tmp_path, capsys):
    kube.fail = ("GET", 403)
    out = tmp_path / "report.json"
    assert write_cm(kube, tree, tmp_path, "--output", str(out)) == 1
    err = capsys.readouterr().err
    assert "GET %s: HTTP 403: configmaps is forbidden: no" % ITEM in err
    assert json.loads(out.read_text())["users"]["alice"]["files"] == 2  # the file was written before
    kube.fail = ("POST", 422)
    assert write_cm(kube, tree, tmp_path) == 1
    assert "POST %s: HTTP 422" % COLLECTION in capsys.readouterr().err
    with socket.socket() as sock:  # nothing listens there
        sock.bind(("127.0.0.1", 0))
        closed = "http://127.0.0.1:%d" % sock.getsockname()[1]
    assert usage.main(["--shared", str(tree[1]), "--configmap", "ns/x", "--api-server", closed, "--token-file", str(tmp_path / "token")]) == 1
    assert "GET %s/api/v1/namespaces/ns/configmaps/x: " % closed in capsys.readouterr().err


def test_configmap_is_truncated_but_the_output_file_is_not(kube, tree, tmp_path, capsys):
    homes = tree[0]
    for index in range(30):
        put(homes / ("user%02d" % index) / "f", 5000 * (index + 1))
    out = tmp_path / "full.json"
    assert write_cm(kube, tree, tmp_path, "--output", str(out), "--max-users", "5") == 0  # fits: nothing cut
    assert json.loads(kube.objects[("hubops", "hubops-storage-usage")]["data"]["usage.json"])["truncated"] is False
    assert write_cm(kube, tree, tmp_path, "--output", str(out), "--max-users", "5", "--size-limit", "12000") == 0
    assert "per-user detail of 5 of 33 users" in capsys.readouterr().out
    stored = json.loads(kube.objects[("hubops", "hubops-storage-usage")]["data"]["usage.json"])
    assert stored["truncated"] is True and stored["users_total"] == 33 and stored["users_included"] == 5
    assert sorted(stored["users"]) == ["user25", "user26", "user27", "user28", "user29"]
    full = json.loads(out.read_text())
    assert full["truncated"] is False and len(full["users"]) == 33 and full["totals"] == stored["totals"]
