# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The AWS Load Balancer Controller stand-in (tests/emulation/lbc_standin.py): names, subnet discovery and annotation
parsing as the controller's; reconciling against moto in-process with a fake Kubernetes API."""

import copy
import datetime
import hashlib
import sys
from pathlib import Path

import boto3
import pytest

moto = pytest.importorskip("moto")
sys.path.insert(0, str(Path(__file__).resolve().parents[2] / "emulation"))

import lbc_standin as L  # noqa: E402  pylint: disable=wrong-import-position

REGION = "us-east-1"
CLUSTER = "local"


def sha(*parts):
    return hashlib.sha256("".join(str(p) for p in parts).encode()).hexdigest()


def service(name="proxy-public", namespace="hub", annotations=None, ports=None, **spec):
    body = {"type": "LoadBalancer", "ports": ports or [{"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP",
                                                       "nodePort": 30443}]}
    body.update(spec)
    return {"apiVersion": "v1", "kind": "Service",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "annotations": dict(annotations or {})},
            "spec": body}


EXTERNAL = {L.A_TYPE: "external", L.A_TARGET_TYPE: "ip"}


# ----------------------------------------------------------------------------------------------- annotations

def test_string_list_and_map_parse_like_the_controller():
    assert L.string_list(" a, b ,,c ") == ["a", "b", "c"]
    assert L.string_list(None) == []
    assert L.string_map("hubops:deployment=local, team = x=y ,") == {"hubops:deployment": "local", "team": "x=y"}
    assert not L.string_map("")
    with pytest.raises(L.ModelError, match="stringMap"):
        L.string_map("novalue", L.A_TAGS)
    assert L.parse_bool("True") is True and L.parse_bool("0") is False
    with pytest.raises(L.ModelError):
        L.parse_bool("yes")


def test_scheme_ip_type_and_target_type():
    assert L.service_scheme({}) == "internal"
    assert L.service_scheme({L.A_SCHEME: "internet-facing"}) == "internet-facing"
    assert L.service_scheme({L.A_INTERNAL: "false"}) == "internet-facing"
    assert L.service_scheme({L.A_INTERNAL: "true"}) == "internal"
    assert L.service_scheme({L.A_SCHEME: "internal", L.A_INTERNAL: "false"}) == "internal"
    with pytest.raises(L.ModelError, match="unknown scheme"):
        L.service_scheme({L.A_SCHEME: "public"})
    assert L.ip_address_type(None) == "ipv4" and L.ip_address_type("dualstack") == "dualstack"
    with pytest.raises(L.ModelError):
        L.ip_address_type("ipv6")
    assert L.service_target_type({L.A_TARGET_TYPE: "ip"}) == "ip"
    assert L.service_target_type({L.A_TYPE: "nlb-ip"}) == "ip"
    assert L.service_target_type({}) == "instance"


@pytest.mark.parametrize("svc, supported", [
    (service(annotations=EXTERNAL), True),
    (service(annotations={L.A_TYPE: "external", L.A_TARGET_TYPE: "instance"}), True),
    (service(annotations={L.A_TYPE: "nlb-ip"}), True),
    (service(loadBalancerClass=L.LB_CLASS), True),
    (service(annotations={L.A_TYPE: "external"}), False),                              # no target type: not ours
    (service(annotations={L.A_TYPE: "none-hubops-test", L.A_TARGET_TYPE: "ip"}), False),
    (service(annotations={L.A_TYPE: "nlb", L.A_TARGET_TYPE: "ip"}), False),            # the in-tree cloud provider's
    (service(annotations=EXTERNAL, loadBalancerClass="hubops.test/none"), False),      # a class wins over annotations
    (service(), False),
    (service(annotations=EXTERNAL, type="ClusterIP"), False),
])
def test_which_services_the_controller_takes(svc, supported):
    assert L.is_supported_service(svc) is supported
    deleting = copy.deepcopy(svc)
    deleting["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
    assert L.is_supported_service(deleting) is False


# ----------------------------------------------------------------------------------------------- names

def test_names_are_the_controllers():
    svc = service(name="proxy-public", namespace="jupyterhub")
    lb = L.nlb_name(CLUSTER, svc, "internet-facing")
    assert lb == "k8s-jupyterh-proxypub-" + sha(CLUSTER, "uid-proxy-public", "internet-facing")[:10]
    assert L.nlb_name(CLUSTER, svc, "internal") != lb            # the scheme is in the hash: a new scheme, a new LB
    sg_hash = sha(CLUSTER, "proxy-public", "jupyterhub", "uid-proxy-public")[:10]
    assert L.service_sg_name(CLUSTER, svc) == "k8s-jupyterh-proxypub-" + sg_hash
    tg = L.service_tg_name(CLUSTER, svc, 1, 443, "ip", "TCP", "TCP", 10)
    assert tg == "k8s-jupyterh-proxypub-" + sha(CLUSTER, "uid-proxy-public", 1, 443, "ip", "TCP", "TCP", 10)[:10]
    assert all(len(n) <= 32 for n in (lb, tg))
    assert L.k8s_name("a-b.c", "x_y", "p").startswith("k8s-abc-xy-")
    named = service(annotations={L.A_NAME: "hub-nlb"})
    assert L.nlb_name(CLUSTER, named, "internal") == "hub-nlb"
    with pytest.raises(L.ModelError, match="32 characters"):
        L.nlb_name(CLUSTER, service(annotations={L.A_NAME: "x" * 33}), "internal")


def test_alb_names_for_implicit_and_explicit_groups():
    implicit = L.GroupID("jupyterhub", "jupyterhub")
    assert str(implicit) == "jupyterhub/jupyterhub" and implicit.finalizer == L.INGRESS_FINALIZER
    implicit_hash = sha(CLUSTER, "jupyterhub/jupyterhub", "internal")[:10]
    assert L.alb_name(CLUSTER, implicit, "internal") == "k8s-jupyterh-jupyterh-" + implicit_hash
    explicit = L.GroupID("", "shared-public-groups")
    assert explicit.finalizer == "group.ingress.k8s.aws/shared-public-groups"
    explicit_hash = sha(CLUSTER, "shared-public-groups", "internal")[:10]
    assert L.alb_name(CLUSTER, explicit, "internal") == "k8s-sharedpublicgroup-" + explicit_hash   # 17 characters kept


# ----------------------------------------------------------------------------------------------- subnets

def subnet(subnet_id, az, **tags):
    return {"SubnetId": subnet_id, "AvailabilityZone": az, "Tags": [{"Key": k, "Value": v} for k, v in tags.items()]}


ELB, INTERNAL = "kubernetes.io/role/elb", "kubernetes.io/role/internal-elb"


def test_subnet_discovery_by_scheme_one_per_zone():
    subnets = [
        subnet("subnet-pub-a", "us-east-1a", **{ELB: "1"}),
        subnet("subnet-pub-b", "us-east-1b", **{ELB: ""}),                        # "" counts as tagged
        subnet("subnet-pub-c", "us-east-1c", **{ELB: "0"}),                       # "0" does not
        subnet("subnet-priv-a", "us-east-1a", **{INTERNAL: "1"}),
        subnet("subnet-priv-b", "us-east-1b", **{INTERNAL: "1"}),
        subnet("subnet-none", "us-east-1c"),
    ]
    assert L.choose_subnets(subnets, "internet-facing", CLUSTER) == ["subnet-pub-a", "subnet-pub-b"]
    assert L.choose_subnets(subnets, "internal", CLUSTER) == ["subnet-priv-a", "subnet-priv-b"]


def test_subnet_discovery_skips_other_clusters_and_prefers_ours():
    ours, other = "kubernetes.io/cluster/" + CLUSTER, "kubernetes.io/cluster/other"
    subnets = [
        subnet("subnet-1", "us-east-1a", **{ELB: "1", other: "shared"}),          # another cluster's
        subnet("subnet-2", "us-east-1a", **{ELB: "1"}),                           # untagged: usable
        subnet("subnet-3", "us-east-1a", **{ELB: "1", ours: "shared"}),           # ours wins in its zone
        subnet("subnet-4", "us-east-1b", **{ELB: "1", other: "owned", ours: "shared"}),
        subnet("subnet-6", "us-east-1c", **{ELB: "1"}),
        subnet("subnet-5", "us-east-1c", **{ELB: "1"}),                           # lowest id wins a tie
    ]
    assert L.choose_subnets(subnets, "internet-facing", CLUSTER) == ["subnet-3", "subnet-4", "subnet-5"]
    with pytest.raises(L.ModelError, match="at least 2"):
        L.choose_subnets(subnets[:1] + subnets[2:3], "internet-facing", CLUSTER, minimum=2)
    with pytest.raises(L.ModelError, match="internal-elb"):
        L.choose_subnets(subnets, "internal", CLUSTER)


# ----------------------------------------------------------------------------------------------- the model

def test_service_model_listeners_target_groups_and_rules():
    ports = [{"name": "https", "port": 443, "targetPort": "http", "protocol": "TCP", "nodePort": 30443},
             {"name": "http", "port": 80, "targetPort": 8000, "protocol": "TCP", "nodePort": 30080}]
    annotations = dict(EXTERNAL, **{L.A_SCHEME: "internet-facing", L.A_SSL_CERT: "arn:cert-1,arn:cert-2", L.A_SSL_PORTS: "https",
                                    L.A_TAGS: "hubops:deployment=local, elbv2.k8s.aws/cluster=spoof",
                                    L.A_ALPN: "HTTP2Preferred"})
    model = L.build_service_model(service(annotations=annotations, ports=ports, loadBalancerSourceRanges=["203.0.113.0/24"]),
                                  CLUSTER)
    assert (model.lb_type, model.scheme, model.ip_type, model.stack) == ("network", "internet-facing", "ipv4", "hub/proxy-public")
    https, http = model.listeners
    assert (https.port, https.protocol, https.certificates, https.ssl_policy, https.alpn) == (
        443, "TLS", ["arn:cert-1", "arn:cert-2"], L.DEFAULT_SSL_POLICY, "HTTP2Preferred")
    assert (http.port, http.protocol, http.certificates) == (80, "TCP", [])
    tls_tg, tcp_tg = model.target_groups
    assert (tls_tg.resource_id, tls_tg.protocol, tls_tg.port, tls_tg.target_type) == ("hub/proxy-public:443", "TCP", 1, "ip")
    assert (tcp_tg.port, https.target_group, http.target_group) == (8000, "hub/proxy-public:443", "hub/proxy-public:80")
    assert model.sg_rules == [("tcp", 443, "203.0.113.0/24"), ("tcp", 80, "203.0.113.0/24")]
    tags = model.resource_tags(L.RESOURCE_LB)
    assert tags == {"hubops:deployment": "local", L.TAG_CLUSTER: CLUSTER, L.SERVICE_STACK: "hub/proxy-public",
                    L.SERVICE_RESOURCE: "LoadBalancer"}                       # the tracking tags win


def test_service_model_options():
    all_tls = L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_SSL_CERT: "arn:c"}),
                                            ports=[{"port": 443}, {"port": 8443}]), CLUSTER)
    assert [listener.protocol for listener in all_tls.listeners] == ["TLS", "TLS"]   # no ssl-ports: every port
    by_number = L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_SSL_CERT: "arn:c", L.A_SSL_PORTS: "8443"}),
                                              ports=[{"port": 443}, {"port": 8443}]), CLUSTER)
    assert [listener.protocol for listener in by_number.listeners] == ["TCP", "TLS"]
    instance = L.build_service_model(service(annotations={L.A_TYPE: "external", L.A_TARGET_TYPE: "instance"}), CLUSTER)
    assert (instance.target_groups[0].target_type, instance.target_groups[0].port) == ("instance", 30443)
    with pytest.raises(L.ModelError, match="NodePort"):
        L.build_service_model(service(loadBalancerClass=L.LB_CLASS, ports=[{"port": 80}]), CLUSTER)
    with pytest.raises(L.ModelError, match="TLS and UDP"):
        L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_SSL_CERT: "arn:c"}), ports=[{"port": 53, "protocol": "UDP"}]),
                              CLUSTER)
    ranges = L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_SOURCE_RANGES: "10.0.0.0/8, 192.168.0.0/16"})), CLUSTER)
    assert [rule[2] for rule in ranges.sg_rules] == ["10.0.0.0/8", "192.168.0.0/16"]
    dual = L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_IP_TYPE: "dualstack"})), CLUSTER)
    assert [rule[2] for rule in dual.sg_rules] == ["0.0.0.0/0", "::/0"] and dual.ip_type == "dualstack"
    with pytest.raises(L.ModelError, match="v6 cidr"):
        L.build_service_model(service(annotations=EXTERNAL, loadBalancerSourceRanges=["2001:db8::/32"]), CLUSTER)
    no_sg = L.build_service_model(service(annotations=dict(EXTERNAL, **{L.A_DISABLE_SG: "true"})), CLUSTER)
    assert no_sg.sg_name is None and not no_sg.sg_rules


def ingress(name="jupyterhub", namespace="hub", annotations=None, **spec):
    body = {"ingressClassName": "alb", "rules": [{"host": "hub.example.org", "http": {"paths": [
        {"path": "/", "pathType": "Prefix", "backend": {"service": {"name": "proxy-public", "port": {"name": "http"}}}}]}}]}
    body.update(spec)
    return {"apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": {"name": name, "namespace": namespace, "uid": f"uid-{name}", "annotations": dict(annotations or {})},
            "spec": body}


def test_ingress_class_and_model():
    assert L.is_supported_ingress(ingress(), {"alb"})
    assert not L.is_supported_ingress(ingress(ingressClassName="nginx"), {"alb"})
    assert L.is_supported_ingress(ingress(ingressClassName="public"), L.ingress_class_names(
        [{"metadata": {"name": "public"}, "spec": {"controller": L.ALB_CONTROLLER}}]))
    legacy = ingress(annotations={"kubernetes.io/ingress.class": "alb"}, ingressClassName=None)
    assert L.is_supported_ingress(legacy, {"alb"})
    svc = service(ports=[{"name": "http", "port": 80, "targetPort": 8000, "nodePort": 30080}], type="ClusterIP")
    annotations = {L.ALB + "scheme": "internet-facing", L.ALB + "target-type": "ip", L.ALB + "certificate-arn": "arn:c",
                   L.ALB + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]', L.ALB + "ssl-redirect": "443",
                   L.ALB + "inbound-cidrs": "10.0.0.0/8", L.ALB + "tags": "hubops:deployment=local"}
    model = L.build_ingress_model(L.GroupID("hub", "jupyterhub"), [ingress(annotations=annotations)],
                                  {("hub", "proxy-public"): svc}, CLUSTER)
    expected = ("application", "hub/jupyterhub", L.INGRESS_STACK, "internet-facing")
    assert (model.lb_type, model.stack, model.stack_key, model.scheme) == expected
    http, https = model.listeners
    assert http.default_action["Type"] == "redirect" and http.rules == []
    assert https.protocol == "HTTPS" and https.certificates == ["arn:c"] and https.default_action["Type"] == "fixed-response"
    assert https.rules[0]["target_group"] == "hub/jupyterhub-proxy-public:http"
    assert https.rules[0]["conditions"][1] == {"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}}
    assert model.target_groups[0].port == 8000 and model.target_groups[0].protocol == "HTTP"
    assert model.sg_rules == [("tcp", 80, "10.0.0.0/8"), ("tcp", 443, "10.0.0.0/8")]
    with pytest.raises(L.ModelError, match="instance targets"):
        L.build_ingress_model(L.GroupID("hub", "jupyterhub"), [ingress()], {("hub", "proxy-public"): svc}, CLUSTER)
    with pytest.raises(L.ModelError, match="not found"):
        L.build_ingress_model(L.GroupID("hub", "jupyterhub"), [ingress()], {}, CLUSTER)


# ----------------------------------------------------------------------------------------------- against moto

class FakeKube:
    """The controller's view of the API server: list, merge-patch (metadata.finalizers / status), events."""

    def __init__(self):
        self.objects = {}
        self.version = 100
        self.events = []
        self.deployments = []

    def _bump(self, obj):
        self.version += 1
        obj["metadata"]["resourceVersion"] = str(self.version)

    def put(self, obj):
        kind = obj["kind"]
        key = (kind, obj["metadata"]["namespace"], obj["metadata"]["name"])
        old = self.objects.get(key)
        obj = copy.deepcopy(obj)
        if old:  # like apply: keeps what the controller wrote
            obj["metadata"]["finalizers"] = old["metadata"].get("finalizers", [])
            obj["status"] = old.get("status", {})
        self._bump(obj)
        self.objects[key] = obj

    def get(self, kind, name, namespace="hub"):
        return self.objects.get((kind, namespace, name))

    def delete(self, kind, name, namespace="hub"):
        obj = self.objects[(kind, namespace, name)]
        if obj["metadata"].get("finalizers"):
            obj["metadata"]["deletionTimestamp"] = "2026-01-01T00:00:00Z"
            self._bump(obj)
        else:
            del self.objects[(kind, namespace, name)]

    def _list(self, kind):
        return [copy.deepcopy(o) for (k, _ns, _n), o in sorted(self.objects.items()) if k == kind]

    def services(self):
        return self._list("Service")

    def ingresses(self):
        return self._list("Ingress")

    def ingress_classes(self):
        return []

    def controller_deployments(self):
        return self.deployments

    def patch(self, kind, namespace, name, body, status=False):
        obj = self.objects[(kind, namespace, name)]
        meta = body.get("metadata") or {}
        if meta.get("resourceVersion") not in (None, obj["metadata"]["resourceVersion"]):
            raise RuntimeError("409 conflict")
        if "finalizers" in meta:
            obj["metadata"]["finalizers"] = meta["finalizers"]
        if status:
            obj.setdefault("status", {}).update(body["status"])
        self._bump(obj)
        if obj["metadata"].get("deletionTimestamp") and not obj["metadata"].get("finalizers"):
            del self.objects[(kind, namespace, name)]
        return copy.deepcopy(obj)

    def event(self, obj, kind, event_type, reason, message):
        self.events.append((kind, obj["metadata"]["name"], event_type, reason, message))


@pytest.fixture(name="world")
def fixture_world():
    """moto with a cluster VPC (public + private subnets in two zones), an issued certificate, the controller.

    Without the launcher's patches (applied once per process by test_launcher_patches.py, if at all): the cluster may
    lack resourcesVpcConfig.vpcId, and the controller then finds the VPC through the cluster's subnets."""
    with moto.mock_aws():
        ec2 = boto3.client("ec2", region_name=REGION)
        vpc = ec2.create_vpc(CidrBlock="10.0.0.0/16")["Vpc"]["VpcId"]
        subnets = {}
        for index, (tier, zone) in enumerate([("public", "a"), ("public", "b"), ("private", "a"), ("private", "b")]):
            subnet_id = ec2.create_subnet(VpcId=vpc, CidrBlock=f"10.0.{index}.0/24", AvailabilityZone=REGION + zone)["Subnet"]["SubnetId"]
            role = ELB if tier == "public" else INTERNAL
            ec2.create_tags(Resources=[subnet_id], Tags=[{"Key": role, "Value": "1"},
                                                         {"Key": "kubernetes.io/cluster/" + CLUSTER, "Value": "shared"}])
            subnets.setdefault(tier, []).append(subnet_id)
        role = boto3.client("iam", region_name=REGION).create_role(RoleName="cluster", AssumeRolePolicyDocument="{}")["Role"]["Arn"]
        boto3.client("eks", region_name=REGION).create_cluster(name=CLUSTER, roleArn=role,
                                                               resourcesVpcConfig={"subnetIds": subnets["private"]})
        acm = boto3.client("acm", region_name=REGION)
        certificate = acm.import_certificate(**self_signed("hub.example.org"))["CertificateArn"]
        pending = acm.request_certificate(DomainName="pending.example.org", ValidationMethod="DNS")["CertificateArn"]
        kube = FakeKube()
        aws = L.Aws(None, REGION)
        calls = []
        aws.session.events.register("before-call", lambda model, **kwargs: calls.append(model.name))
        sleeps = []
        controller = L.Controller(kube, aws, delete_delay=1.0, sleep=sleeps.append)
        yield {"kube": kube, "aws": aws, "calls": calls, "controller": controller, "subnets": subnets, "vpc": vpc,
               "cert": certificate, "pending": pending, "sleeps": sleeps, "ec2": ec2,
               "elbv2": boto3.client("elbv2", region_name=REGION)}


def self_signed(domain):
    from cryptography import x509  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives import hashes, serialization  # pylint: disable=import-outside-toplevel
    from cryptography.hazmat.primitives.asymmetric import rsa  # pylint: disable=import-outside-toplevel
    from cryptography.x509.oid import NameOID  # pylint: disable=import-outside-toplevel

    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, domain)])
    now = datetime.datetime.now(datetime.timezone.utc)
    cert = (x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key()).serial_number(1)
            .not_valid_before(now).not_valid_after(now + datetime.timedelta(days=30))
            .add_extension(x509.SubjectAlternativeName([x509.DNSName(domain)]), critical=False).sign(key, hashes.SHA256()))
    return {"Certificate": cert.public_bytes(serialization.Encoding.PEM),
            "PrivateKey": key.private_bytes(serialization.Encoding.PEM, serialization.PrivateFormat.TraditionalOpenSSL,
                                            serialization.NoEncryption())}


def tagged(world, key, value):
    """ARNs / ids of everything in the emulated AWS carrying tag key=value."""
    elbv2 = world["elbv2"]
    arns = [lb["LoadBalancerArn"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]]
    arns += [tg["TargetGroupArn"] for tg in elbv2.describe_target_groups()["TargetGroups"]]
    found = []
    if arns:
        for description in elbv2.describe_tags(ResourceArns=arns)["TagDescriptions"]:
            if L._tags(description["Tags"]).get(key) == value:  # pylint: disable=protected-access
                found.append(description["ResourceArn"])
    groups = world["ec2"].describe_security_groups(Filters=[{"Name": f"tag:{key}", "Values": [value]}])["SecurityGroups"]
    return found + [g["GroupId"] for g in groups]


def mutating(calls):
    return [c for c in calls if not c.startswith(("Describe", "List", "Get"))]


def public_service(world, **extra):
    annotations = dict(EXTERNAL, **{L.A_SCHEME: "internet-facing", L.A_SSL_CERT: world["cert"], L.A_SSL_PORTS: "https",
                                    L.A_TAGS: "hubops:deployment=local"})
    annotations.update(extra.pop("annotations", {}))
    extra.setdefault("loadBalancerSourceRanges", ["203.0.113.0/24", "198.51.100.7/32"])
    return service(annotations=annotations, **extra)


def test_creates_the_nlb_stack_then_stays_quiet(world):
    kube, calls, controller, elbv2 = world["kube"], world["calls"], world["controller"], world["elbv2"]
    kube.put(public_service(world))
    kube.put(service(name="ignored", annotations=EXTERNAL, loadBalancerClass="hubops.test/none"))
    controller.poll()

    svc = kube.get("Service", "proxy-public")
    assert svc["metadata"]["finalizers"] == [L.SERVICE_FINALIZER]
    lb = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(lb) == 1
    lb = lb[0]
    assert svc["status"]["loadBalancer"]["ingress"] == [{"hostname": lb["DNSName"]}]
    assert (lb["Type"], lb["Scheme"], lb["IpAddressType"]) == ("network", "internet-facing", "ipv4")
    assert lb["LoadBalancerName"] == L.nlb_name(CLUSTER, svc, "internet-facing")
    assert sorted(az["SubnetId"] for az in lb["AvailabilityZones"]) == sorted(world["subnets"]["public"])
    tags = L._tags(elbv2.describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"])  # pylint: disable=protected-access
    assert tags == {L.TAG_CLUSTER: CLUSTER, L.SERVICE_STACK: "hub/proxy-public", L.SERVICE_RESOURCE: "LoadBalancer",
                    "hubops:deployment": "local"}
    listener = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]
    assert [(x["Port"], x["Protocol"], x["Certificates"][0]["CertificateArn"], x["SslPolicy"]) for x in listener] == [
        (443, "TLS", world["cert"], L.DEFAULT_SSL_POLICY)]
    tg = elbv2.describe_target_groups()["TargetGroups"]
    assert [(t["Protocol"], t["Port"], t["TargetType"], t["VpcId"]) for t in tg] == [("TCP", 1, "ip", world["vpc"])]
    assert listener[0]["DefaultActions"][0]["TargetGroupArn"] == tg[0]["TargetGroupArn"]
    tg_tags = L._tags(elbv2.describe_tags(ResourceArns=[tg[0]["TargetGroupArn"]])["TagDescriptions"][0]["Tags"])  # pylint: disable=protected-access
    assert tg_tags[L.SERVICE_RESOURCE] == "hub/proxy-public:443"
    group = world["ec2"].describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"][0]
    assert L._tags(group["Tags"])[L.SERVICE_RESOURCE] == L.RESOURCE_SG  # pylint: disable=protected-access
    assert group["VpcId"] == world["vpc"] and group["Description"] == L.SG_DESCRIPTION
    assert sorted((p["FromPort"], r["CidrIp"]) for p in group["IpPermissions"] for r in p["IpRanges"]) == [
        (443, "198.51.100.7/32"), (443, "203.0.113.0/24")]
    assert kube.get("Service", "ignored").get("status") is None and not kube.get("Service", "ignored")["metadata"].get("finalizers")
    assert [e[3] for e in kube.events] == ["SuccessfullyReconciled"]

    calls.clear()
    controller.poll()
    controller.poll()
    assert calls == []                                       # nothing changed: not even a read

    restarted = L.Controller(kube, world["aws"], sleep=world["sleeps"].append)
    restarted.poll()
    assert calls and mutating(calls) == []                   # adopts by tags: reads only
    assert len(elbv2.describe_load_balancers()["LoadBalancers"]) == 1


def test_changes_touch_only_what_changed(world):
    kube, calls, controller, elbv2 = world["kube"], world["calls"], world["controller"], world["elbv2"]
    kube.put(public_service(world))
    controller.poll()
    lb = elbv2.describe_load_balancers()["LoadBalancers"][0]

    calls.clear()
    kube.put(public_service(world, loadBalancerSourceRanges=["203.0.113.0/24", "192.0.2.0/24"]))
    controller.poll()
    assert mutating(calls) == ["AuthorizeSecurityGroupIngress", "RevokeSecurityGroupIngress"]
    group = world["ec2"].describe_security_groups(GroupIds=lb["SecurityGroups"])["SecurityGroups"][0]
    assert sorted(r["CidrIp"] for p in group["IpPermissions"] for r in p["IpRanges"]) == ["192.0.2.0/24", "203.0.113.0/24"]

    other = boto3.client("acm", region_name=REGION).import_certificate(**self_signed("hub2.example.org"))["CertificateArn"]
    calls.clear()
    kube.put(public_service(world, annotations={L.A_SSL_CERT: other, L.A_TAGS: "hubops:deployment=local,team=x"},
                            loadBalancerSourceRanges=["203.0.113.0/24", "192.0.2.0/24"]))
    controller.poll()
    # AWS would ModifyListener; moto cannot modify a TLS listener, so the stand-in replaces it
    assert sorted(mutating(calls)) == ["AddTags", "AddTags", "CreateListener", "CreateTags", "DeleteListener"]  # LB, TG, SG tags
    listener = elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"][0]
    assert listener["Certificates"][0]["CertificateArn"] == other

    calls.clear()
    kube.put(public_service(world, annotations={L.A_SCHEME: "internal"}))      # a new scheme: a new load balancer
    controller.poll()
    new = elbv2.describe_load_balancers()["LoadBalancers"]
    assert [(x["Scheme"], x["LoadBalancerName"] != lb["LoadBalancerName"]) for x in new] == [("internal", True)]
    assert sorted(az["SubnetId"] for az in new[0]["AvailabilityZones"]) == sorted(world["subnets"]["private"])
    assert kube.get("Service", "proxy-public")["status"]["loadBalancer"]["ingress"][0]["hostname"] == new[0]["DNSName"]


def test_deleting_the_service_removes_everything_then_the_finalizer(world):
    kube, controller, elbv2 = world["kube"], world["controller"], world["elbv2"]
    kube.put(public_service(world))
    kube.put(service(name="second", annotations=EXTERNAL))
    controller.poll()
    assert tagged(world, L.SERVICE_STACK, "hub/proxy-public")

    kube.delete("Service", "proxy-public")
    assert kube.get("Service", "proxy-public")["metadata"]["deletionTimestamp"]   # held by the finalizer
    controller.poll()
    assert kube.get("Service", "proxy-public") is None
    assert tagged(world, L.SERVICE_STACK, "hub/proxy-public") == []
    assert world["sleeps"] == [1.0]                        # between the load balancer and the rest
    assert [lb["LoadBalancerName"] for lb in elbv2.describe_load_balancers()["LoadBalancers"]] == [
        L.nlb_name(CLUSTER, kube.get("Service", "second"), "internal")]

    kube.put(service(name="second", annotations=EXTERNAL, type="ClusterIP"))          # stops qualifying
    controller.poll()
    second = kube.get("Service", "second")
    assert second["metadata"]["finalizers"] == [] and second["status"]["loadBalancer"]["ingress"] == []
    assert tagged(world, L.TAG_CLUSTER, CLUSTER) == []


def test_refusals_make_no_mutating_call_and_back_off(world):
    kube, calls, controller = world["kube"], world["calls"], world["controller"]
    clock = [0.0]
    controller.clock = lambda: clock[0]
    kube.put(public_service(world, annotations={L.A_SSL_CERT: world["pending"]}))
    controller.poll()
    assert mutating(calls) == []
    assert kube.events[-1][2:4] == ("Warning", "FailedDeployModel") and "PENDING_VALIDATION" in kube.events[-1][4]
    assert "status" not in kube.get("Service", "proxy-public")
    calls.clear()
    controller.poll()
    assert calls == []                                       # backing off
    clock[0] = 1.5
    controller.poll()
    assert calls and mutating(calls) == [] and len(kube.events) == 1   # retried, one event per object version
    kube.put(public_service(world))                          # fixed: reconciled at once
    controller.poll()
    assert kube.get("Service", "proxy-public")["status"]["loadBalancer"]["ingress"]


def test_which_cluster(world):
    kube, controller = world["kube"], world["controller"]
    role = boto3.client("iam", region_name=REGION).get_role(RoleName="cluster")["Role"]["Arn"]
    boto3.client("eks", region_name=REGION).create_cluster(name="other", roleArn=role,
                                                           resourcesVpcConfig={"subnetIds": world["subnets"]["public"]})
    kube.put(service(annotations=EXTERNAL))
    controller.poll()
    assert "several EKS clusters" in kube.events[-1][4] and "status" not in kube.get("Service", "proxy-public")
    kube.deployments = [{"spec": {"template": {"spec": {"containers": [{"args": ["--cluster-name=other", "--ingress-class=alb"]}]}}}}]
    kube.put(service(annotations=EXTERNAL))
    controller.poll()
    assert "internal-elb (found 0)" in kube.events[-1][4]    # the subnets are tagged for "local" only
    world["ec2"].create_tags(Resources=world["subnets"]["private"], Tags=[{"Key": "kubernetes.io/cluster/other", "Value": "shared"}])
    kube.put(service(annotations=EXTERNAL))
    controller.poll()
    lb = world["elbv2"].describe_load_balancers()["LoadBalancers"][0]
    tags = L._tags(world["elbv2"].describe_tags(ResourceArns=[lb["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"])  # pylint: disable=protected-access
    assert tags[L.TAG_CLUSTER] == "other"


def test_alb_for_an_ingress(world):
    kube, calls, controller, elbv2 = world["kube"], world["calls"], world["controller"], world["elbv2"]
    kube.put(service(ports=[{"name": "http", "port": 80, "targetPort": 8000, "nodePort": 30080}], type="NodePort"))
    annotations = {L.ALB + "scheme": "internet-facing", L.ALB + "certificate-arn": world["cert"],
                   L.ALB + "listen-ports": '[{"HTTP": 80}, {"HTTPS": 443}]', L.ALB + "ssl-redirect": "443",
                   L.ALB + "tags": "hubops:deployment=local"}
    kube.put(ingress(annotations=annotations))
    controller.poll()
    ing = kube.get("Ingress", "jupyterhub")
    lb = elbv2.describe_load_balancers()["LoadBalancers"][0]
    assert ing["metadata"]["finalizers"] == [L.INGRESS_FINALIZER]
    assert ing["status"]["loadBalancer"]["ingress"] == [{"hostname": lb["DNSName"]}]
    assert lb["Type"] == "application"
    assert lb["LoadBalancerName"] == L.alb_name(CLUSTER, L.GroupID("hub", "jupyterhub"), "internet-facing")
    listeners = {x["Port"]: x for x in elbv2.describe_listeners(LoadBalancerArn=lb["LoadBalancerArn"])["Listeners"]}
    assert listeners[80]["DefaultActions"][0]["Type"] == "redirect"
    assert listeners[443]["Protocol"] == "HTTPS"
    rules = [r for r in elbv2.describe_rules(ListenerArn=listeners[443]["ListenerArn"])["Rules"] if not r["IsDefault"]]
    assert len(rules) == 1 and rules[0]["Actions"][0]["Type"] == "forward"
    assert sorted(tagged(world, L.INGRESS_STACK, "hub/jupyterhub")) == sorted(
        [lb["LoadBalancerArn"], elbv2.describe_target_groups()["TargetGroups"][0]["TargetGroupArn"]] + lb["SecurityGroups"])

    calls.clear()
    controller.poll()
    assert calls == []

    kube.delete("Ingress", "jupyterhub")
    controller.poll()
    assert kube.get("Ingress", "jupyterhub") is None
    assert tagged(world, L.INGRESS_STACK, "hub/jupyterhub") == []


def test_process_helpers_know_their_own(tmp_path):
    assert L.running(tmp_path) is None
    (tmp_path / L.PID_FILE).write_text('{"pid": 1, "port": 1}', encoding="utf-8")
    assert L.running(tmp_path) is None                        # pid 1 is not a stand-in of this state dir
    assert L.stop_process(tmp_path) is False and not (tmp_path / L.PID_FILE).exists()
