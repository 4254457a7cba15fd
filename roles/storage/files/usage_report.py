# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Storage usage per user home and per group shared directory (run by a CronJob, standard library only).

    python usage_report.py [--homes /mnt/homes] [--shared /mnt/shared] [--group-map /etc/hubops/groups.json]
                           [--configmap NAMESPACE/NAME] [--output FILE] [--now EPOCH]

Reads only: each `<homes>/<user>/` and `<shared>/<group>/` (directories directly below, not symlinks, not hidden, not
lost+found) is walked with os.scandir + lstat; symbolic links are counted as entries but never followed, so nothing
outside the given trees is read. Nothing on the volumes is ever modified. Per tree:

- bytes: disk usage, st_blocks * 512 of every entry including directories (like `du -s`; hard links counted once);
- apparent_bytes: st_size of every non-directory entry; files: how many non-directory entries;
- last_access / last_modified: the newest atime / mtime of the non-directory entries, ISO 8601 UTC (null when empty).
  Directories are left out: listing them for this report would move their atime.
- errors: entries that could not be read (the numbers then undercount).

Output: one JSON document {"generated_at", "homes", "shared", "users": {user: {...}}, "groups": {group: {...,
"members", "home_bytes", "home_apparent_bytes", "home_files"}}, "totals": {...}, "truncated": false}. With --group-map
(JSON {group: [user, ...]}) each listed group gets "members" and, when --homes is walked, the sum of its members' homes
(home_*); a listed group without a shared directory has "shared_dir": false and zero shared numbers.

--output FILE writes the full document (`-` for stdout; stdout is the default without --output and --configmap).
--configmap NAMESPACE/NAME creates or replaces that ConfigMap through the Kubernetes API (urllib, in-cluster
ServiceAccount credentials unless overridden) with keys usage.json and usage.prom (Prometheus text format, gauges:
hubops_storage_bytes, hubops_storage_files, hubops_storage_last_access_timestamp_seconds, each {kind="home",user=...}
or {kind="shared",group=...}; hubops_storage_group_home_bytes{group=...}; hubops_storage_report_timestamp_seconds and
hubops_storage_report_truncated), labelled
app.kubernetes.io/managed-by=hubops and app.kubernetes.io/component=usage-report. A ConfigMap holds at most 1 MiB:
when both keys together exceed --size-limit (900 KiB), only the --max-users (2000) largest homes keep per-user detail
(fewer if still too big); the document then says "truncated": true, "users_total" and "users_included" (totals and
group sums still cover everyone).

Exit codes: 0 written, 1 writing failed (API error, unwritable file), 2 bad input (arguments, group map, missing trees).
"""

import argparse
import datetime
import http.client
import json
import os
import re
import ssl
import stat
import sys
import time
import urllib.error
import urllib.parse
import urllib.request

EXIT_OK = 0
EXIT_FAILED = 1
EXIT_BAD_INPUT = 2
SERVICE_ACCOUNT = "/var/run/secrets/kubernetes.io/serviceaccount"
DEFAULT_TOKEN = SERVICE_ACCOUNT + "/token"
DEFAULT_CA = SERVICE_ACCOUNT + "/ca.crt"
SIZE_LIMIT = 900 * 1024
MAX_USERS = 2000
JSON_KEY = "usage.json"
PROM_KEY = "usage.prom"
LABELS = {"app.kubernetes.io/managed-by": "hubops", "app.kubernetes.io/component": "usage-report"}
NAMESPACE_RE = re.compile(r"^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?$")
NAME_RE = re.compile(r"^[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?$")
SKIPPED_NAMES = ("lost+found",)
STATS = ("bytes", "apparent_bytes", "files", "last_access", "last_modified", "errors")


class BadInput(Exception):
    """Arguments or files the report cannot work with (exit code 2)."""


class WriteFailed(Exception):
    """The report could not be written (exit code 1)."""


# ---------------------------------------------------------------------------------------------------- measuring
def iso(timestamp):
    if timestamp is None:
        return None
    return datetime.datetime.fromtimestamp(timestamp, tz=datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")


def epoch(text):
    return int(datetime.datetime.strptime(text, "%Y-%m-%dT%H:%M:%SZ").replace(tzinfo=datetime.timezone.utc).timestamp())


def clean_name(name):
    """A directory name as valid UTF-8 (undecodable bytes become U+FFFD) for JSON, labels and the API."""
    return name.encode("utf-8", "surrogateescape").decode("utf-8", "replace")


def measure(top):
    """Walk top without following symlinks; its usage with raw timestamps."""
    usage = {"bytes": 0, "apparent_bytes": 0, "files": 0, "last_access": None, "last_modified": None, "errors": 0}
    seen = set()
    try:
        usage["bytes"] += os.lstat(top).st_blocks * 512
    except OSError:
        usage["errors"] += 1
        return usage
    pending = [top]
    while pending:
        path = pending.pop()
        try:
            with os.scandir(path) as entries:
                found = list(entries)
        except OSError:
            usage["errors"] += 1
            continue
        for entry in found:
            try:
                info = entry.stat(follow_symlinks=False)
            except FileNotFoundError:
                continue
            except OSError:
                usage["errors"] += 1
                continue
            if stat.S_ISDIR(info.st_mode):
                usage["bytes"] += info.st_blocks * 512
                pending.append(entry.path)
                continue
            if info.st_nlink > 1:
                if (info.st_dev, info.st_ino) in seen:
                    continue
                seen.add((info.st_dev, info.st_ino))
            usage["bytes"] += info.st_blocks * 512
            usage["apparent_bytes"] += info.st_size
            usage["files"] += 1
            usage["last_access"] = max(usage["last_access"] or 0, info.st_atime)
            usage["last_modified"] = max(usage["last_modified"] or 0, info.st_mtime)
    return usage


def finished(usage):
    """usage with ISO 8601 timestamps."""
    return dict(usage, last_access=iso(usage["last_access"]), last_modified=iso(usage["last_modified"]))


def subdirs(parent, flag):
    """{clean name: path} of the directories directly in parent (not symlinks, not hidden, not lost+found)."""
    if not os.path.isdir(parent):
        raise BadInput("%s %s is not a directory" % (flag, parent))
    found = {}
    try:
        with os.scandir(parent) as entries:
            for entry in entries:
                if entry.name.startswith(".") or entry.name in SKIPPED_NAMES or not entry.is_dir(follow_symlinks=False):
                    continue
                found[clean_name(entry.name)] = entry.path
    except OSError as exc:
        raise BadInput("cannot list %s %s: %s" % (flag, parent, exc)) from exc
    return dict(sorted(found.items()))


def load_group_map(path):
    try:
        with open(path, encoding="utf-8") as handle:
            data = json.load(handle)
    except (OSError, ValueError) as exc:
        raise BadInput("cannot read the group map %s: %s" % (path, exc)) from exc
    if not isinstance(data, dict) or not all(isinstance(members, list) and all(isinstance(user, str) for user in members)
                                             for members in data.values()):
        raise BadInput("the group map %s must be a JSON object {group: [user, ...]}" % path)
    return {str(group): sorted(set(members)) for group, members in data.items()}


def build_report(homes=None, shared=None, group_map=None, now=None):
    """The usage document of the trees under homes and shared (either may be None)."""
    now = time.time() if now is None else now
    users = {name: finished(measure(path)) for name, path in subdirs(homes, "--homes").items()} if homes else {}
    groups = {name: finished(measure(path)) for name, path in subdirs(shared, "--shared").items()} if shared else {}
    for name in groups:
        groups[name]["shared_dir"] = True
    for name, members in (group_map or {}).items():
        group = groups.setdefault(name, finished({"bytes": 0, "apparent_bytes": 0, "files": 0, "last_access": None,
                                                  "last_modified": None, "errors": 0, "shared_dir": False}))
        group["members"] = members
        if homes:
            homes_of = [users[user] for user in members if user in users]
            group["home_bytes"] = sum(home["bytes"] for home in homes_of)
            group["home_apparent_bytes"] = sum(home["apparent_bytes"] for home in homes_of)
            group["home_files"] = sum(home["files"] for home in homes_of)
    totals = {"users": len(users), "groups": len(groups)}
    for prefix, entries in (("home", users), ("shared", groups)):
        for key in ("bytes", "apparent_bytes", "files", "errors"):
            totals["%s_%s" % (prefix, key)] = sum(entry[key] for entry in entries.values())
    for key in ("bytes", "apparent_bytes", "files", "errors"):
        totals[key] = totals["home_" + key] + totals["shared_" + key]
    everything = list(users.values()) + list(groups.values())
    for key in ("last_access", "last_modified"):
        totals[key] = max((entry[key] for entry in everything if entry[key]), default=None)  # ISO UTC strings sort as times
    return {"generated_at": iso(now), "homes": homes, "shared": shared, "users": users, "groups": groups, "totals": totals,
            "truncated": False}


# ---------------------------------------------------------------------------------------------------- formats
def to_json(document, indent=None):
    if indent:
        return json.dumps(document, indent=indent, sort_keys=True) + "\n"
    return json.dumps(document, sort_keys=True, separators=(",", ":"))


def label(value):
    return value.replace("\\", "\\\\").replace("\n", "\\n").replace('"', '\\"')


METRICS = (
    ("hubops_storage_bytes", "bytes", "Disk usage in bytes (st_blocks * 512, like du) of a home or a group's shared directory."),
    ("hubops_storage_files", "files", "Number of files (non-directory entries) in a home or a group's shared directory."),
    ("hubops_storage_last_access_timestamp_seconds", "last_access", "Newest file access time in a home or shared directory."),
)


def prometheus(document):
    """The numbers of the document in the Prometheus text exposition format."""
    lines = []
    series = [("home", "user", name, entry) for name, entry in document["users"].items()]
    series += [("shared", "group", name, entry) for name, entry in document["groups"].items() if entry.get("shared_dir")]
    for metric, key, text in METRICS:
        lines += ["# HELP %s %s" % (metric, text), "# TYPE %s gauge" % metric]
        for kind, what, name, entry in series:
            value = entry[key]
            if value is None:
                continue
            if key in ("last_access", "last_modified"):
                value = epoch(value)
            lines.append('%s{kind="%s",%s="%s"} %d' % (metric, kind, what, label(name), value))
    group_homes = [(name, entry["home_bytes"]) for name, entry in document["groups"].items() if "home_bytes" in entry]
    if group_homes:
        lines += ["# HELP hubops_storage_group_home_bytes Disk usage in bytes of the homes of a group's members, summed.",
                  "# TYPE hubops_storage_group_home_bytes gauge"]
        lines += ['hubops_storage_group_home_bytes{group="%s"} %d' % (label(name), value) for name, value in group_homes]
    lines += ["# HELP hubops_storage_report_timestamp_seconds When the storage usage report was made.",
              "# TYPE hubops_storage_report_timestamp_seconds gauge",
              "hubops_storage_report_timestamp_seconds %d" % epoch(document["generated_at"]),
              "# HELP hubops_storage_report_truncated 1 when per-user detail was cut to fit the ConfigMap.",
              "# TYPE hubops_storage_report_truncated gauge",
              "hubops_storage_report_truncated %d" % int(bool(document.get("truncated")))]
    return "\n".join(lines) + "\n"


def fit_configmap(document, size_limit=SIZE_LIMIT, max_users=MAX_USERS):
    """(document, usage.json text, usage.prom text) whose texts together take at most size_limit bytes: the full document
    when it fits, else one with only the largest homes (at most max_users, fewer until it fits)."""
    text, prom = to_json(document), prometheus(document)
    if len(text.encode()) + len(prom.encode()) <= size_limit:
        return document, text, prom
    ranked = sorted(document["users"], key=lambda user: (-document["users"][user]["bytes"], user))
    keep = min(max_users, len(ranked))
    while True:
        cut = dict(document, truncated=True, users_total=len(ranked), users_included=keep,
                   users={user: document["users"][user] for user in sorted(ranked[:keep])})
        text, prom = to_json(cut), prometheus(cut)
        size = len(text.encode()) + len(prom.encode())
        if size <= size_limit:
            return cut, text, prom
        if keep == 0:
            raise WriteFailed("the report takes %d bytes even without per-user detail (limit %d)" % (size, size_limit))
        keep = min(keep - 1, int(keep * size_limit / size))


# ---------------------------------------------------------------------------------------------------- Kubernetes API
class KubeClient:
    """Just enough of the Kubernetes API: JSON requests with a bearer token and/or a client certificate.

    Proxies from the environment are never used: the API server is reached directly, as from inside the cluster."""

    def __init__(self, server, token_file=None, ca_file=None, insecure=False, client_cert=None, client_key=None, timeout=30):
        self.server = server.rstrip("/")
        self.timeout = timeout
        self.token = None
        if token_file:
            try:
                with open(token_file, encoding="utf-8") as handle:
                    self.token = handle.read().strip()
            except OSError as exc:
                raise BadInput("cannot read the token %s: %s" % (token_file, exc)) from exc
        handlers = [urllib.request.ProxyHandler({})]
        if self.server.startswith("https://"):
            context = ssl.create_default_context(cafile=ca_file) if ca_file else ssl.create_default_context()
            if insecure:
                context.check_hostname = False
                context.verify_mode = ssl.CERT_NONE
            if client_cert:
                context.load_cert_chain(client_cert, client_key)
            handlers.append(urllib.request.HTTPSHandler(context=context))
        self.opener = urllib.request.build_opener(*handlers)

    def request(self, method, path, body=None):
        """(HTTP status, decoded JSON body or None)."""
        headers = {"Accept": "application/json", "User-Agent": "hubops-usage-report"}
        data = None
        if body is not None:
            data = json.dumps(body).encode()
            headers["Content-Type"] = "application/json"
        if self.token:
            headers["Authorization"] = "Bearer " + self.token
        request = urllib.request.Request(self.server + path, data=data, headers=headers, method=method)
        try:
            with self.opener.open(request, timeout=self.timeout) as response:
                return response.status, decoded(response.read())
        except urllib.error.HTTPError as exc:
            return exc.code, decoded(exc.read())
        except (urllib.error.URLError, http.client.HTTPException, OSError) as exc:
            raise WriteFailed("%s %s%s: %s" % (method, self.server, path, getattr(exc, "reason", exc))) from exc


def decoded(payload):
    try:
        return json.loads(payload.decode("utf-8"))
    except ValueError:
        return None


def api_failure(method, path, status, body):
    message = body.get("message") if isinstance(body, dict) else None
    return WriteFailed("%s %s: HTTP %d%s" % (method, path, status, ": " + message if message else ""))


def write_configmap(client, namespace, name, data, attempts=5):
    """Create or replace the ConfigMap with data (GET, then PUT with its resourceVersion or POST when it is missing;
    a conflict with a concurrent writer starts over). Return "created" or "replaced"."""
    collection = "/api/v1/namespaces/%s/configmaps" % urllib.parse.quote(namespace)
    item = "%s/%s" % (collection, urllib.parse.quote(name))
    for _attempt in range(attempts):
        status, current = client.request("GET", item)
        if status == 404:
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": name, "namespace": namespace, "labels": dict(LABELS)},
                    "data": data}
            method, path, done = "POST", collection, "created"
        elif status == 200 and isinstance(current, dict):
            metadata = dict(current.get("metadata") or {})
            metadata.pop("managedFields", None)
            metadata["labels"] = dict(metadata.get("labels") or {}, **LABELS)
            body = {"apiVersion": "v1", "kind": "ConfigMap", "metadata": metadata, "data": data}
            if current.get("immutable") is not None:
                body["immutable"] = current["immutable"]
            method, path, done = "PUT", item, "replaced"
        else:
            raise api_failure("GET", item, status, current)
        status, result = client.request(method, path, body)
        if status in (200, 201):
            return done
        if status != 409:
            raise api_failure(method, path, status, result)
    raise WriteFailed("gave up on %s after %d conflicting writes" % (item, attempts))


def in_cluster_server():
    host, port = os.environ.get("KUBERNETES_SERVICE_HOST"), os.environ.get("KUBERNETES_SERVICE_PORT")
    if not host or not port:
        raise BadInput("not running in a Kubernetes pod (no KUBERNETES_SERVICE_HOST/PORT): pass --api-server")
    return "https://%s:%s" % ("[%s]" % host if ":" in host else host, port)


# ---------------------------------------------------------------------------------------------------- command line
def parse_args(argv):
    parser = argparse.ArgumentParser(description="Report storage usage per home and per group shared directory.")
    parser.add_argument("--homes", help="the directory holding one directory per user (omit with EBS homes)")
    parser.add_argument("--shared", help="the directory holding one directory per group")
    parser.add_argument("--group-map", help="JSON file {group: [user, ...]}: group members and their homes' sum")
    parser.add_argument("--configmap", metavar="NAMESPACE/NAME", help="create or replace this ConfigMap with the report")
    parser.add_argument("--output", metavar="FILE", help="write the JSON document here (- for stdout)")
    parser.add_argument("--now", type=float, default=None, help="the current time as seconds since the epoch (tests)")
    api = parser.add_argument_group("Kubernetes API (defaults: the pod's ServiceAccount)")
    api.add_argument("--api-server", help="API server URL (default https://$KUBERNETES_SERVICE_HOST:$KUBERNETES_SERVICE_PORT)")
    api.add_argument("--token-file", help="bearer token file (default %s when it exists)" % DEFAULT_TOKEN)
    api.add_argument("--ca-file", help="CA bundle of the API server (default %s when it exists)" % DEFAULT_CA)
    api.add_argument("--client-cert", help="client certificate (PEM) for the API server")
    api.add_argument("--client-key", help="the client certificate's key (PEM)")
    api.add_argument("--insecure-skip-tls-verify", action="store_true", help="do not verify the API server's certificate (tests only)")
    limits = parser.add_argument_group("ConfigMap size")
    limits.add_argument("--size-limit", type=int, default=SIZE_LIMIT, help="bytes usage.json + usage.prom may take (default %(default)s)")
    limits.add_argument("--max-users", type=int, default=MAX_USERS, help="per-user entries kept when over the limit (default %(default)s)")
    return parser.parse_args(argv)


def kube_client(args):
    server = args.api_server or in_cluster_server()
    token_file = args.token_file
    if token_file is None and os.path.exists(DEFAULT_TOKEN):
        token_file = DEFAULT_TOKEN
    ca_file = args.ca_file
    if ca_file is None and os.path.exists(DEFAULT_CA):
        ca_file = DEFAULT_CA
    if args.client_key and not args.client_cert:
        raise BadInput("--client-key needs --client-cert")
    if not token_file and not args.client_cert:
        raise BadInput("no credentials for the API server: no %s, no --token-file, no --client-cert" % DEFAULT_TOKEN)
    try:
        return KubeClient(server, token_file, ca_file, args.insecure_skip_tls_verify, args.client_cert, args.client_key)
    except (OSError, ssl.SSLError) as exc:
        raise BadInput("cannot load the TLS files: %s" % exc) from exc


def configmap_target(value):
    namespace, _sep, name = value.partition("/")
    if not NAMESPACE_RE.match(namespace) or not NAME_RE.match(name):
        raise BadInput("--configmap must be NAMESPACE/NAME with Kubernetes names, got %r" % value)
    return namespace, name


def write_output(path, text):
    if path == "-":
        sys.stdout.write(text)
        sys.stdout.flush()
        return
    partial = "%s.tmp-%d" % (path, os.getpid())
    try:
        with open(partial, "w", encoding="utf-8") as handle:
            handle.write(text)
        os.replace(partial, path)
    except OSError as exc:
        raise WriteFailed("cannot write %s: %s" % (path, exc)) from exc


def main(argv=None):
    args = parse_args(argv)
    to_stdout = args.output == "-" or (not args.output and not args.configmap)
    notes = sys.stderr if to_stdout else sys.stdout
    try:
        if not args.homes and not args.shared:
            raise BadInput("nothing to report: give --homes and/or --shared")
        target = configmap_target(args.configmap) if args.configmap else None
        client = kube_client(args) if target else None
        group_map = load_group_map(args.group_map) if args.group_map else None
        document = build_report(args.homes, args.shared, group_map, args.now)
        if to_stdout or args.output:
            write_output(args.output or "-", to_json(document, indent=2))
        totals = document["totals"]
        print("usage report: %d users (%d bytes), %d groups (%d bytes shared), %d unreadable entries"
              % (totals["users"], totals["home_bytes"], totals["groups"], totals["shared_bytes"], totals["errors"]), file=notes)
        if target:
            fitted, text, prom = fit_configmap(document, args.size_limit, args.max_users)
            outcome = write_configmap(client, target[0], target[1], {JSON_KEY: text, PROM_KEY: prom})
            size = len(text.encode()) + len(prom.encode())
            cut = ", per-user detail of %d of %d users" % (fitted["users_included"], fitted["users_total"]) if fitted["truncated"] else ""
            print("ConfigMap %s/%s %s (%d bytes%s)" % (target[0], target[1], outcome, size, cut), file=notes)
    except BadInput as exc:
        print("usage_report: %s" % exc, file=sys.stderr)
        return EXIT_BAD_INPUT
    except WriteFailed as exc:
        print("usage_report: %s" % exc, file=sys.stderr)
        return EXIT_FAILED
    return EXIT_OK


if __name__ == "__main__":
    sys.exit(main())
