# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Emulated AWS for local runs and tests: moto in-process, patched, behind the counting proxy.

Test infrastructure only: nothing in roles/, plugins/ or playbooks/ may import or reference it.

    python tests/emulation/launcher.py start [--port 4566] [--state-dir .emulator] [--no-kit]  # idempotent, detaches
    python tests/emulation/launcher.py stop  [--state-dir .emulator]
    python tests/emulation/launcher.py status [--port 4566]
    python tests/emulation/launcher.py serve [--port 4566]                                     # foreground

The proxy listens on --port (HUBOPS_EMULATOR_PORT, default 4566); moto listens on --port + 1. State lives in the
process, so it survives between `make local` runs until `stop`.

Unless --no-kit is given, `start` also runs the Kubernetes API server kit of ../shared/k8s (tests/emulation/k8s_kit.py)
in <state-dir>/k8s and registers its kubeconfig with the proxy (GET /_hubops/kit), so the eksctl stand-in writes
kubeconfigs that reach a real kube-apiserver. Without ../shared/k8s there is no kit and everything else works as
before. The kit lives and dies with the emulated AWS: a fresh emulator gets a fresh kit, `start` on a running one
reuses a kit that answers (and restarts one that does not), `stop` stops the kit and removes <state-dir>/k8s.
"""

from __future__ import annotations

import argparse
import base64
import json
import os
import shutil
import signal
import ssl
import subprocess
import sys
import threading
import tempfile
import time
import urllib.request
from pathlib import Path

# Must be set before moto's IAM backend is built: AWS-managed policies (AmazonEKSClusterPolicy...) exist.
os.environ.setdefault("MOTO_IAM_LOAD_MANAGED_POLICIES", "true")

HERE = Path(__file__).resolve().parent
if str(HERE) not in sys.path:
    sys.path.insert(0, str(HERE))

DEFAULT_PORT = int(os.environ.get("HUBOPS_EMULATOR_PORT", "4566"))
EKS_VERSIONS = ["1.30", "1.31", "1.32", "1.33", "1.34", "1.35"]
EKS_AMI_FAMILIES = {
    "amazon-linux-2023": [("x86_64", "standard"), ("x86_64", "nvidia"), ("x86_64", "neuron"), ("arm64", "standard"),
                          ("arm64", "nvidia")],
}


def _apply_patches() -> None:
    """Fill the gaps of moto that the product's roles rely on (patch the emulator, never the product)."""
    from moto.ec2.models import tags as ec2_tags
    from moto.ssm import models as ssm_models

    # 1. EC2 DescribeTags: AWS calls a NAT gateway's resource type "natgateway"; moto only knows "nat-gateway",
    #    so a resource-type filter never matches and amazon.aws.ec2_vpc_nat_gateway re-tags on every run.
    aws_to_moto_type = {"natgateway": "nat-gateway", "elastic-ip": "elastic-ip"}
    original_describe_tags = ec2_tags.TagBackend.describe_tags

    def describe_tags(self, filters=None):
        if filters and "resource-type" in filters:
            filters = dict(filters)
            filters["resource-type"] = [aws_to_moto_type.get(v, v) for v in filters["resource-type"]]
        return original_describe_tags(self, filters)

    ec2_tags.TagBackend.describe_tags = describe_tags

    # 1b. STS GetCallerIdentity for the dummy credentials: moto answers arn:aws:sts::<account>:user/moto, an ARN
    #     format that does not exist; real AWS names an IAM user arn:aws:iam::<account>:user/<name>.
    from moto.sts import models as sts_models

    original_identity = sts_models.STSBackend.get_caller_identity

    def get_caller_identity(self, access_key_id, region):
        user_id, arn, account = original_identity(self, access_key_id, region)
        return user_id, arn.replace(":sts::%s:user/" % account, ":iam::%s:user/" % account), account

    sts_models.STSBackend.get_caller_identity = get_caller_identity

    # 2. SSM public parameters for EKS-optimized AMIs (/aws/service/eks/optimized-ami/<ver>/<family>/<arch>/...),
    #    which moto does not ship and refuses to accept through PutParameter.
    original_check = ssm_models.ParameterDict._check_loading_status

    def check_loading_status(self, key):
        original_check(self, key)
        if str(key or "").startswith("/aws/service/eks/optimized-ami") and not getattr(self, "_hubops_eks", False):
            self._hubops_eks = True
            _load_eks_ami_parameters(self)

    ssm_models.ParameterDict._check_loading_status = check_loading_status

    # 3. KMS: real AWS accepts a key ARN wherever it accepts a key id; moto's Schedule/CancelKeyDeletion,
    #    Enable/DisableKey index their dict with the raw argument and answer a 500 for an ARN.
    from moto.kms import models as kms_models

    for method in ("schedule_key_deletion", "cancel_key_deletion", "enable_key", "disable_key"):
        original = getattr(kms_models.KmsBackend, method)

        def by_any_id(self, key_id, *args, _original=original, **kwargs):
            return _original(self, self.get_key_id(key_id), *args, **kwargs)

        setattr(kms_models.KmsBackend, method, by_any_id)

    # 4. IAM ListInstanceProfileTags: moto 5.2.5 has the tags (CreateInstanceProfile Tags=...) but not the action,
    #    so it answers an HTML 500 that botocore cannot parse. Real AWS serves it; aws_orphans reads it.
    from moto.core.responses import ActionResult
    from moto.iam.responses import IamResponse

    def list_instance_profile_tags(self):
        profile = self.backend.get_instance_profile(self._get_param("InstanceProfileName"))
        return ActionResult({"Tags": sorted(profile.tags, key=lambda t: t["Key"]), "IsTruncated": False})

    IamResponse.list_instance_profile_tags = list_instance_profile_tags

    # 5. EC2 DescribeVpcEndpoints: the `vpc-endpoint-id` filter is not implemented (FilterNotImplementedError, 500)
    #    once any endpoint exists. Real AWS supports it; aws_orphans uses it to see deleted endpoints.
    from moto.ec2.models.vpcs import VPCEndPoint

    VPCEndPoint.vpc_endpoint_id = property(lambda self: self.id)

    # 7. EKS CreateCluster: real EKS reports the VPC of the subnets (resourcesVpcConfig.vpcId) and creates the
    #    cluster security group (clusterSecurityGroupId), deleted with the cluster; moto does neither.
    from moto.ec2.exceptions import InvalidSubnetIdError
    from moto.ec2.models import ec2_backends
    from moto.eks import models as eks_models

    original_create_cluster = eks_models.EKSBackend.create_cluster
    original_delete_cluster = eks_models.EKSBackend.delete_cluster

    def create_cluster(self, name, *args, **kwargs):
        cluster = original_create_cluster(self, name, *args, **kwargs)
        config = cluster.resources_vpc_config = dict(cluster.resources_vpc_config or {})
        subnets = config.get("subnetIds") or []
        ec2 = ec2_backends[self.account_id][self.region_name]
        if subnets:
            try:
                vpc_id = ec2.get_subnet(subnets[0]).vpc_id
            except InvalidSubnetIdError:  # made-up subnet ids in API-level tests: no VPC to report
                return cluster
            group = ec2.create_security_group("eks-cluster-sg-%s" % name, "EKS created security group applied to ENI", vpc_id,
                                              tags={"kubernetes.io/cluster/%s" % name: "owned", "aws:eks:cluster-name": name})
            config.update({"vpcId": vpc_id, "clusterSecurityGroupId": group.id})
        return cluster

    def delete_cluster(self, name, *args, **kwargs):
        cluster = original_delete_cluster(self, name, *args, **kwargs)
        group_id = (cluster.resources_vpc_config or {}).get("clusterSecurityGroupId")
        if group_id:
            ec2_backends[self.account_id][self.region_name].delete_security_group(group_id=group_id)
        return cluster

    eks_models.EKSBackend.create_cluster = create_cluster
    eks_models.EKSBackend.delete_cluster = delete_cluster

    # 7. EC2 tag-key / tag-value filters with several values: AWS matches a resource carrying ANY of them; moto's
    #    generic filter wants the resource's keys to be a subset or superset of the values, so a sweep for launch
    #    templates tagged karpenter.k8s.aws/cluster OR hubops:deployment finds none of Karpenter's.
    import fnmatch

    from moto.ec2 import utils as ec2_utils

    original_is_filter_matching = ec2_utils.is_filter_matching

    def is_filter_matching(obj, _filter, filter_value):
        if _filter in ("tag-key", "tag-value") and isinstance(filter_value, list) and len(filter_value) > 1:
            values = obj.get_filter_value(_filter) or []
            return any(fnmatch.fnmatch(value, pattern) for value in values for pattern in filter_value)
        return original_is_filter_matching(obj, _filter, filter_value)

    ec2_utils.is_filter_matching = is_filter_matching

    # 8. Budgets: UpdateBudget and the subscriber calls (see budgets_extras.py).
    import budgets_extras

    budgets_extras.install()

    # 17. Budgets tagging: ResourceTags at creation, Tag/UntagResource, ListTagsForResource (see budget_tags.py).
    import budget_tags

    budget_tags.install()

    # 9. Cognito user pools: the tagging calls, and the refusals (MFA without SMS at creation, deleting a pool that has
    #    a domain) and the UpdateUserPool behaviour of AWS (see cognito_extras.py).
    import cognito_extras

    cognito_extras.install()

    # 10. ACM (hubops.eks.acm_certificate): DNS validation issues a certificate only once its validation CNAMEs are in
    #     the emulated Route53 zone (moto: after 60 s, records or not); per-name validation records, published after a
    #     moment; summaries in ListCertificates; InUseBy and ResourceInUseException for elbv2 listeners; idempotency
    #     tokens as AWS keeps them (see acm_extras.py).
    import acm_extras

    acm_extras.install()

    # 11. Route53 ChangeResourceRecordSets as AWS does it (hubops.eks.alb_dns): a batch is all or nothing; CREATE of an
    #     existing set, a DELETE that does not carry the set's current values, and a CNAME beside other records of its
    #     name are refused; a DELETE removes that one set only (see route53_extras.py).
    import route53_extras

    route53_extras.install()

    # 15. EBS volumes made from no snapshot: AWS answers SnapshotId "" (amazon.aws.ec2_vol_info reads the key);
    #     moto leaves it out.
    from moto.ec2.models import elastic_block_store as ebs_models

    original_volume_init = ebs_models.Volume.__init__

    def volume_init(self, *args, **kwargs):
        original_volume_init(self, *args, **kwargs)
        if self.snapshot_id is None:
            self.snapshot_id = ""

    ebs_models.Volume.__init__ = volume_init

    # 12. EFS as AWS does it for hubops.eks.efs_filesystem / efs_access_point (see efs_extras.py).
    import efs_extras

    efs_extras.install()

    # 13. AWS Backup: backup selections, recovery points, and the errors of AWS (see backup_extras.py).
    import backup_extras

    backup_extras.install()

    # 14. Amazon Data Lifecycle Manager (DLM), which moto lacks (see dlm_extras.py).
    import dlm_extras

    dlm_extras.install()

    # 16. Cost Explorer cost allocation tags (see ce_extras.py).
    import ce_extras

    ce_extras.install()

    # 6. EKS add-ons, access entries, pod identity associations and version upgrades (see eks_extras.py).
    import eks_extras

    eks_extras.install()


def _load_eks_ami_parameters(params) -> None:
    from moto.core.utils import utcnow
    from moto.ssm.models import Parameter

    counter = 0
    for version in EKS_VERSIONS:
        for family, variants in EKS_AMI_FAMILIES.items():
            for arch, flavour in variants:
                counter += 1
                base = f"/aws/service/eks/optimized-ami/{version}/{family}/{arch}/{flavour}/recommended"
                values = {
                    "image_id": f"ami-0e{counter:015x}",
                    "release_version": f"{version}.0-20261101",
                }
                for leaf, value in values.items():
                    name = f"{base}/{leaf}"
                    params.setdefault(name, []).append(
                        Parameter(account_id=params.account_id, name=name, value=value, parameter_type="String",
                                  description=None, allowed_pattern=None, keyid=None,
                                  last_modified_date=utcnow(), version=1, data_type="text")
                    )


def serve(port: int) -> None:
    from moto.server import ThreadedMotoServer

    import proxy

    _apply_patches()
    moto = ThreadedMotoServer(ip_address="127.0.0.1", port=port + 1, verbose=False)
    moto.start()
    server = proxy.serve(port, port + 1)

    def stop(*_args):
        threading.Thread(target=server.shutdown, daemon=True).start()

    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    print(f"hubops emulated AWS: proxy http://127.0.0.1:{port} -> moto :{port + 1}", flush=True)
    try:
        server.serve_forever()
    finally:
        moto.stop()


_DIRECT = urllib.request.build_opener(urllib.request.ProxyHandler({}))  # loopback only: never through a proxy


def healthy(port: int) -> bool:
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}/_hubops/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


# ----------------------------------------------------------------------------------------------- the k8s kit

def kit_server(kubeconfig: Path) -> str | None:
    """The API server of a kit kubeconfig when it answers /readyz with the kubeconfig's credentials, else None."""
    import yaml

    try:
        doc = yaml.safe_load(Path(kubeconfig).read_text(encoding="utf-8")) or {}
        cluster = doc["clusters"][0]["cluster"]
        user = doc["users"][0]["user"]
        server = cluster["server"].rstrip("/")
        context = ssl.create_default_context(cadata=base64.b64decode(cluster["certificate-authority-data"]).decode())
        with tempfile.TemporaryDirectory() as tmp:
            cert, key = Path(tmp) / "client.crt", Path(tmp) / "client.key"
            cert.write_bytes(base64.b64decode(user["client-certificate-data"]))
            key.write_bytes(base64.b64decode(user["client-key-data"]))
            context.load_cert_chain(str(cert), str(key))
        opener = urllib.request.build_opener(urllib.request.ProxyHandler({}), urllib.request.HTTPSHandler(context=context))
        with opener.open(server + "/readyz", timeout=3) as resp:
            return server if resp.status == 200 else None
    except (OSError, ValueError, KeyError, IndexError, TypeError, AttributeError, yaml.YAMLError):
        return None


def registered_kit(port: int) -> str | None:
    """The kit kubeconfig the running emulator reports (GET /_hubops/kit), or None."""
    try:
        with _DIRECT.open(f"http://127.0.0.1:{port}/_hubops/kit", timeout=2) as resp:
            return json.load(resp).get("kubeconfig")
    except (OSError, ValueError, AttributeError):
        return None


def _register_kit(port: int, kubeconfig: Path | None) -> bool:
    """Tell the emulator on port which kit kubeconfig to report (POST /_hubops/kit); False when it cannot take it."""
    body = json.dumps({"kubeconfig": str(kubeconfig) if kubeconfig else None}).encode()
    request = urllib.request.Request(f"http://127.0.0.1:{port}/_hubops/kit", data=body, method="POST",
                                     headers={"Content-Type": "application/json"})
    try:
        _DIRECT.open(request, timeout=5).close()
    except OSError as exc:
        if kubeconfig:
            print(f"the emulated AWS on 127.0.0.1:{port} did not take the kit's kubeconfig ({exc}); an emulator started "
                  "before /_hubops/kit existed cannot: `stop` it and `start` again", file=sys.stderr)
        return False
    return True


def _kit_dir(state_dir: Path) -> Path:
    return state_dir.resolve() / "k8s"


def _kit_call(action: str, kit_dir: Path, log: Path) -> int:
    """k8s_kit.py start|stop kit_dir, its output appended to log."""
    with open(log, "ab") as out:
        try:
            return subprocess.run([sys.executable, str(HERE / "k8s_kit.py"), action, str(kit_dir)], stdout=out,
                                  stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, check=False, timeout=300).returncode
        except subprocess.TimeoutExpired:
            return 1


def _kit_pids(kit_dir: Path) -> list[int]:
    try:
        return [int(line.split()[0]) for line in (kit_dir / "pids").read_text().splitlines() if line.strip().isdigit()]
    except OSError:
        return []


def _kit_owns(pid: int, kit_dir: Path) -> bool:
    """The process is alive (not a zombie) and its command line mentions kit_dir (as the kit's stop checks)."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().replace(b"\0", b" ").decode("utf-8", "replace")
    except OSError:
        return False
    return stat.rsplit(") ", 1)[-1][:1] not in ("Z", "X") and f"{kit_dir}/" in cmdline


def stop_kit(state_dir: Path, keep: bool = False) -> bool:
    """Stop the kit of state_dir (k8s_kit.py stop, then any of its pids still alive); remove its dir unless keep.

    Return True when there was a kit directory."""
    # hook: the load balancer controller stand-in (tests/emulation/lbc_standin.py) stops before the kit it watches
    import lbc_standin

    lbc_standin.stop_process(state_dir)
    kit_dir = _kit_dir(state_dir)
    if not kit_dir.exists():
        return False
    if (kit_dir / "pids").exists():
        _kit_call("stop", kit_dir, state_dir / "k8s-kit.log")
    for pid in _kit_pids(kit_dir):  # also without ../shared/k8s any more, or when its stop gave up
        if _kit_owns(pid, kit_dir):
            try:
                os.kill(pid, signal.SIGKILL)
            except ProcessLookupError:
                pass
    if not keep:
        shutil.rmtree(kit_dir, ignore_errors=True)
    return True


def ensure_kit(port: int, state_dir: Path) -> int:
    """Have a live kit in <state-dir>/k8s registered with the emulator on port (nothing when ../shared/k8s is missing)."""
    import k8s_kit

    kit_dir = _kit_dir(state_dir)
    kubeconfig = kit_dir / "kubeconfig"
    if not (k8s_kit.KIT / "start").exists():
        print(f"no Kubernetes API server kit at {k8s_kit.KIT}; skipping it (emulated EKS clusters get no API server)")
        _register_kit(port, None)
        return 0
    server = kit_server(kubeconfig) if kubeconfig.exists() else None
    if server:
        verb = "already running"
    else:
        if kubeconfig.exists() or (kit_dir / "pids").exists():
            print(f"Kubernetes API server kit in {kit_dir} does not answer; restarting it (its data is kept)")
            stop_kit(state_dir, keep=True)
        log = state_dir / "k8s-kit.log"
        rc = _kit_call("start", kit_dir, log)
        server = kit_server(kubeconfig) if rc == 0 else None
        if not server:
            _register_kit(port, None)
            tail = log.read_text(errors="replace").splitlines()[-30:] if log.exists() else []
            print("\n".join([f"Kubernetes API server kit did not start in {kit_dir} (rc {rc}); see {log}:"] + tail),
                  file=sys.stderr)
            print("the emulated AWS is running; `stop` it, or `start --no-kit` to go on without Kubernetes", file=sys.stderr)
            return 1
        verb = "started"
    print(f"Kubernetes API server kit {verb}: {server} (kubeconfig {kubeconfig}, log {state_dir / 'k8s-kit.log'})")
    if not _register_kit(port, kubeconfig):
        return 1
    # hook: the load balancer controller stand-in (tests/emulation/lbc_standin.py) runs while the kit does
    import lbc_standin

    print(lbc_standin.start_process(port, state_dir, kubeconfig))
    return 0


# ----------------------------------------------------------------------------------------------- commands

def start(port: int, state_dir: Path, kit: bool = True) -> int:
    state_dir.mkdir(parents=True, exist_ok=True)
    pidfile = state_dir / "emulator.pid"
    if healthy(port):
        print(f"emulated AWS already running on 127.0.0.1:{port} (state kept until `make local-stop`)")
        return ensure_kit(port, state_dir) if kit else 0
    if stop_kit(state_dir):  # left by an emulator that died: its Kubernetes state belongs to AWS state that is gone
        print(f"removed the Kubernetes API server kit of an earlier emulator ({_kit_dir(state_dir)})")
    log = open(state_dir / "emulator.log", "ab")  # pylint: disable=consider-using-with
    proc = subprocess.Popen(  # pylint: disable=consider-using-with
        [sys.executable, str(Path(__file__).resolve()), "serve", "--port", str(port)],
        stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True,
    )
    pidfile.write_text(json.dumps({"pid": proc.pid, "port": port}))
    deadline = time.time() + 60
    while time.time() < deadline:
        if healthy(port):
            print(f"emulated AWS started on 127.0.0.1:{port} (pid {proc.pid}, log {state_dir / 'emulator.log'})")
            return ensure_kit(port, state_dir) if kit else 0
        if proc.poll() is not None:
            break
        time.sleep(0.3)
    print(f"emulated AWS did not come up on port {port}; see {state_dir / 'emulator.log'}", file=sys.stderr)
    return 1


def stop(state_dir: Path) -> int:
    pidfile = state_dir / "emulator.pid"
    if not pidfile.exists():
        print("emulated AWS is not running (no pid file)")
    else:
        info = json.loads(pidfile.read_text())
        try:
            os.kill(info["pid"], signal.SIGTERM)
            for _attempt in range(50):
                os.kill(info["pid"], 0)
                time.sleep(0.1)
            os.kill(info["pid"], signal.SIGKILL)
        except ProcessLookupError:
            pass
        pidfile.unlink()
        print(f"emulated AWS stopped (pid {info['pid']}); its state is gone")
    if stop_kit(state_dir):
        print(f"Kubernetes API server kit stopped; {_kit_dir(state_dir)} removed")
    return 0


def status(port: int) -> int:
    up = healthy(port)
    print(f"emulated AWS on 127.0.0.1:{port}: {'running' if up else 'not running'}")
    if up:
        kubeconfig = registered_kit(port)
        server = kit_server(Path(kubeconfig)) if kubeconfig else None
        if server:
            print(f"Kubernetes API server kit: running at {server} (kubeconfig {kubeconfig})")
        elif kubeconfig:
            print(f"Kubernetes API server kit: not answering (kubeconfig {kubeconfig}); `start` restarts it")
        else:
            print("Kubernetes API server kit: none")
    return 0 if up else 1


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("command", choices=["start", "stop", "status", "serve"])
    parser.add_argument("--port", type=int, default=DEFAULT_PORT)
    parser.add_argument("--state-dir", type=Path, default=Path(".emulator"))
    parser.add_argument("--no-kit", action="store_true", help="start: do not start the Kubernetes API server kit")
    args = parser.parse_args(argv)
    if args.command == "serve":
        serve(args.port)
        return 0
    if args.command == "start":
        return start(args.port, args.state_dir, kit=not args.no_kit)
    if args.command == "stop":
        return stop(args.state_dir)
    return status(args.port)


if __name__ == "__main__":
    sys.exit(main())
