# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The AWS Load Balancer Controller stand-in (tests/emulation/lbc_standin.py) beside the Kubernetes kit: a Service of
type LoadBalancer for the controller gets its NLB, target group, TLS listener and security group in the emulated AWS and
the NLB's name in its status; deleting it keeps it Terminating until the load balancer is gone; Services for other
controllers are left alone; the launcher starts and stops the stand-in with the kit."""

import datetime
import json
import os
import re
import subprocess
import sys
import time
from pathlib import Path

import pytest

from harness import REPO

BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
CLUSTER = "local"
REGION = "us-east-1"
EXTERNAL = {"service.beta.kubernetes.io/aws-load-balancer-type": "external",
            "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"}

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists(),
                                reason="needs the Kubernetes kit in ../shared/k8s and kubectl in the venv (make deps)")


def kubectl(kubeconfig, *args, stdin=None, check=True):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], input=stdin,
                          capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def get_service(kubeconfig, name, namespace="default"):
    proc = kubectl(kubeconfig, "get", "service", name, "-n", namespace, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def published(svc):
    """The Service when its status names its load balancer, else None."""
    return svc if svc and ((svc.get("status") or {}).get("loadBalancer") or {}).get("ingress") else None


def apply_service(kubeconfig, name, annotations, namespace="default", **spec):
    body = {"type": "LoadBalancer", "selector": {"app": name},
            "ports": [{"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP"}]}
    body.update(spec)
    manifest = {"apiVersion": "v1", "kind": "Service", "metadata": {"name": name, "namespace": namespace, "annotations": annotations},
                "spec": body}
    kubectl(kubeconfig, "apply", "-f", "-", stdin=json.dumps(manifest))


def wait_for(what, probe, timeout=10.0):
    deadline = time.monotonic() + timeout
    while True:
        result = probe()
        if result:
            return result
        assert time.monotonic() < deadline, f"timed out after {timeout} s waiting for {what}"
        time.sleep(0.2)


def self_signed(domain):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(7)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False).sign(key, hashes.SHA256()))
    return {"Certificate": cert.public_bytes(serialization.Encoding.PEM),
            "PrivateKey": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                            serialization.NoEncryption())}


def make_cluster(emulator):
    """What the stand-in reads of the product's network and cluster phases: the EKS cluster, its VPC, subnets tagged
    for load balancers (public: kubernetes.io/role/elb, private: kubernetes.io/role/internal-elb) like roles/network's."""
    ec2 = emulator.client("ec2")
    vpc = ec2.create_vpc(CidrBlock="10.40.0.0/16")["Vpc"]["VpcId"]
    subnets = {"public": [], "private": []}
    for index, (tier, zone) in enumerate([("public", "a"), ("public", "b"), ("private", "a"), ("private", "b")]):
        role = "kubernetes.io/role/elb" if tier == "public" else "kubernetes.io/role/internal-elb"
        tags = [{"Key": role, "Value": "1"}, {"Key": f"kubernetes.io/cluster/{CLUSTER}", "Value": "shared"}]
        subnets[tier].append(ec2.create_subnet(
            VpcId=vpc, CidrBlock=f"10.40.{index}.0/24", AvailabilityZone=REGION + zone,
            TagSpecifications=[{"ResourceType": "subnet", "Tags": tags}])["Subnet"]["SubnetId"])
    trust = {"Version": "2012-10-17",
             "Statement": [{"Effect": "Allow", "Principal": {"Service": "eks.amazonaws.com"}, "Action": "sts:AssumeRole"}]}
    role = emulator.client("iam").create_role(RoleName="local-cluster", AssumeRolePolicyDocument=json.dumps(trust))["Role"]["Arn"]
    emulator.client("eks").create_cluster(name=CLUSTER, roleArn=role, resourcesVpcConfig={"subnetIds": subnets["private"]})
    return vpc, subnets


def tags_of(elbv2, arn):
    return {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[arn])["TagDescriptions"][0]["Tags"]}


def controller_leftovers(emulator):
    """Everything in the emulated AWS tagged elbv2.k8s.aws/cluster."""
    elbv2, ec2 = emulator.client("elbv2"), emulator.client("ec2")
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    arns += [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]]
    found = [a for a in arns if "elbv2.k8s.aws/cluster" in tags_of(elbv2, a)]
    groups = ec2.describe_security_groups(Filters=[{"Name": "tag-key", "Values": ["elbv2.k8s.aws/cluster"]}])["SecurityGroups"]
    return found + [g["GroupId"] for g in groups]


def standin_pid(emulator):
    path = emulator.state_dir / "lbc-standin.pid"
    return json.loads(path.read_text(encoding="utf-8"))["pid"] if path.exists() else None


def alive(pid):
    try:
        state = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace").rsplit(") ", 1)[-1][:1]
    except OSError:
        return False
    return state not in ("Z", "X")


def test_a_service_gets_its_nlb_and_keeps_it_until_it_is_gone(emulator):
    kubeconfig = emulator.kubeconfig
    vpc, subnets = make_cluster(emulator)
    certificate = emulator.client("acm").import_certificate(**self_signed("hub.example.org"))["CertificateArn"]
    annotations = dict(EXTERNAL, **{
        "service.beta.kubernetes.io/aws-load-balancer-scheme": "internet-facing",
        "service.beta.kubernetes.io/aws-load-balancer-ssl-cert": certificate,
        "service.beta.kubernetes.io/aws-load-balancer-ssl-ports": "443",
        "service.beta.kubernetes.io/aws-load-balancer-additional-resource-tags": "hubops:deployment=local,team=neuro"})
    ranges = ["203.0.113.0/24", "198.51.100.7/32"]
    apply_service(kubeconfig, "proxy-public", annotations, loadBalancerSourceRanges=ranges)
    apply_service(kubeconfig, "other-class", EXTERNAL, loadBalancerClass="hubops.test/none")
    apply_service(kubeconfig, "other-type", {"service.beta.kubernetes.io/aws-load-balancer-type": "none-hubops-test",
                                             "service.beta.kubernetes.io/aws-load-balancer-nlb-target-type": "ip"})

    svc = wait_for("the NLB's name in the Service status", lambda: published(get_service(kubeconfig, "proxy-public")))
    elbv2 = emulator.client("elbv2")
    lbs = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(lbs) == 1, lbs
    lb = lbs[0]
    assert svc["status"]["loadBalancer"]["ingress"] == [{"hostname": lb["DNSName"]}]
    assert svc["metadata"]["finalizers"] == ["service.k8s.aws/resources"]
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"], lb["VpcId"]) == ("network", "internet-facing", "ipv4", vpc)
    assert re.fullmatch(r"k8s-default-proxypub-[0-9a-f]{10}", lb["LoadBalancerName"]), lb["LoadBalancerName"]
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(subnets["public"])
    stack = {"elbv2.k8s.aws/cluster": CLUSTER, "service.k8s.aws/stack": "default/proxy-public"}
    expected = dict(stack, **{"service.k8s.aws/resource": "LoadBalancer", "hubops:deployment": "local", "team": "neuro"})
    assert tags_of(elbv2, lb["LoadBalancerArn"]) == expected
    listeners = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(x["Port"], x["Protocol"], [c["CertificateArn"] for c in x["Certificates"]]) for x in listeners] == [
        (443, "TLS", [certificate])]
    groups = elbv2.describe_target_groups()["TargetGroups"]
    assert [(g["Protocol"], g["TargetType"], g["VpcId"]) for g in groups] == [("TCP", "ip", vpc)]
    assert listeners[0]["DefaultActions"][0]["TargetGroupArn"] == groups[0]["TargetGroupArn"]
    assert tags_of(elbv2, groups[0]["TargetGroupArn"])["service.k8s.aws/resource"] == "default/proxy-public:443"
    sg = emulator.client("ec2").describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"][0]
    sg_tags = {t["Key"]: t["Value"] for t in sg["Tags"]}
    assert sg_tags["service.k8s.aws/resource"] == "ManagedLBSecurityGroup" and sg_tags["service.k8s.aws/stack"] == "default/proxy-public"
    assert sorted((p["IpProtocol"], p["FromPort"], r["CidrIp"]) for p in sg["IpPermissions"] for r in p["IpRanges"]) == [
        ("tcp", 443, cidr) for cidr in sorted(ranges)]          # the CIDR allow-list reached AWS

    for name in ("other-class", "other-type"):                   # other controllers' Services: untouched
        other = get_service(kubeconfig, name)
        assert not other["metadata"].get("finalizers") and not (other.get("status") or {}).get("loadBalancer")

    emulator.reset_stats()
    time.sleep(3)                                                # a steady controller makes no call at all
    assert emulator.stats()["mutating"] == 0 and emulator.stats()["read"] == 0, emulator.stats()

    kubectl(kubeconfig, "delete", "service", "proxy-public", "--wait=false")
    seen = []
    while True:
        current = get_service(kubeconfig, "proxy-public")
        lb_left = bool(elbv2.describe_load_balancers()["LoadBalancers"])
        if current is None:
            break
        assert current["metadata"].get("deletionTimestamp")
        seen.append(lb_left)
        assert len(seen) < 200, "the Service never went"
        time.sleep(0.05)
    assert seen, "the Service went at once: nobody could have waited for its load balancer"
    assert not lb_left                                           # the load balancer went first
    assert controller_leftovers(emulator) == []
    for name in ("other-class", "other-type"):
        kubectl(kubeconfig, "delete", "service", name, "--wait=true", "--timeout=20s")


def test_on_the_network_and_cluster_the_product_makes(emulator):
    """site.yml's network and cluster phases (roles/network tags the subnets): the NLB of an internal Service lands in
    the private subnets; deleting the namespace (as a teardown that drops the hub's namespace does) waits for it."""
    run = emulator.playbook("playbooks/site.yml", None, "--tags", "network,cluster")
    assert run.rc == 0, run.output[-4000:]
    ec2 = emulator.client("ec2")
    cluster = emulator.client("eks").describe_cluster(name=CLUSTER)["cluster"]
    vpc = cluster["resourcesVpcConfig"]["vpcId"]
    private = sorted(s["SubnetId"] for s in ec2.describe_subnets(Filters=[
        {"Name": "vpc-id", "Values": [vpc]}, {"Name": "tag:kubernetes.io/role/internal-elb", "Values": ["1"]}])["Subnets"])
    assert len(private) >= 2

    kubeconfig = emulator.kubeconfig
    kubectl(kubeconfig, "create", "namespace", "hub")
    apply_service(kubeconfig, "proxy-public", EXTERNAL, namespace="hub")       # no scheme: internal, as the controller
    wait_for("the NLB's name in the Service status", lambda: published(get_service(kubeconfig, "proxy-public", "hub")))
    lb = emulator.client("elbv2").describe_load_balancers()["LoadBalancers"][0]
    assert (lb["Scheme"], lb["VpcId"]) == ("internal", vpc)
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == private

    kubectl(kubeconfig, "delete", "namespace", "hub", "--wait=true", "--timeout=60s")
    assert controller_leftovers(emulator) == []


def test_the_launcher_runs_the_standin_with_the_kit(emulator):
    assert standin_pid(emulator) is None                         # `start --no-kit`: no kit, no controller
    assert emulator.kubeconfig is not None
    pid = standin_pid(emulator)
    assert pid and alive(pid)
    proc = subprocess.run([sys.executable, str(REPO / "tests" / "emulation" / "launcher.py"), "start", "--port", str(emulator.port),
                           "--state-dir", str(emulator.state_dir)], capture_output=True, text=True, check=True)
    assert "stand-in already running" in proc.stdout and standin_pid(emulator) == pid
    log = emulator.state_dir / "lbc-standin.log"
    wait_for("the stand-in's first log line", lambda: "AWS Load Balancer Controller stand-in" in log.read_text(encoding="utf-8"))
    emulator.stop()
    assert not alive(pid) and standin_pid(emulator) is None
    assert "stopped" in log.read_text(encoding="utf-8")
    assert os.path.isdir(emulator.state_dir)
