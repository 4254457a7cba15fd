# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""A stand-in for the AWS Load Balancer Controller (v2.x/v3) on the Kubernetes API server kit. Test infrastructure only:
nothing in roles/, plugins/ or playbooks/ may import or reference it.

The launcher (tests/emulation/launcher.py) runs it beside the kit, as its own process (pid file <state-dir>/lbc-standin.pid,
log <state-dir>/lbc-standin.log), and stops it before the kit. Every second it lists the Services and Ingresses of the kit
(the kubernetes client, the kit's kubeconfig) and does what the real controller does in AWS, on the emulated AWS behind
the counting proxy (so its calls are counted like any controller's):

- A Service of type LoadBalancer with spec.loadBalancerClass `service.k8s.aws/nlb`, or without a class and with the
  annotation `service.beta.kubernetes.io/aws-load-balancer-type: external` plus `...-nlb-target-type: ip|instance`
  (or the legacy type `nlb-ip`), gets the finalizer `service.k8s.aws/resources`, then in the emulated AWS a managed
  security group, a network load balancer, one target group and one listener per Service port (names, tags and
  annotations as the controller's; see build_service_model), and its LB DNS name in status.loadBalancer.ingress[0].
  Other Services (another loadBalancerClass, type annotation `none-hubops-test`...) are never touched.
- An Ingress of class `alb` (spec.ingressClassName, the legacy kubernetes.io/ingress.class annotation, or an
  IngressClass whose controller is ingress.k8s.aws/alb) gets the same with an application load balancer: listeners from
  alb.ingress.kubernetes.io/listen-ports, rules per host/path forwarding to one target group per backend Service port.
- When such an object is deleted (or stops qualifying) the listeners, load balancer, target groups and security group
  go, then (after `--delete-delay`, 1 s: AWS takes a moment) the finalizer, so whoever waits for the load balancer to go
  really waits.

Cluster: the EKS cluster of the emulated AWS this kit stands for: the `--cluster-name` of an installed
aws-load-balancer-controller Deployment when there is one, else the only ACTIVE cluster (several and no Deployment:
nothing is done, with a Warning event). Its VPC is resourcesVpcConfig.vpcId; subnets are discovered like the
controller's: kubernetes.io/role/elb (internet-facing) or kubernetes.io/role/internal-elb (internal, the default scheme)
with value "" or "1", not tagged for another cluster, one per AZ (ours first, then the lowest id).

Steady state makes no AWS call at all: an object is reconciled when its resourceVersion changed since the last success
(failures are retried with back-off, 1 s doubling to 60 s), and a reconcile that finds everything as wanted only reads.
On start nothing is remembered, so each qualifying object is reconciled once, adopting its AWS resources by their tags
(elbv2.k8s.aws/cluster + service.k8s.aws/stack or ingress.k8s.aws/stack) rather than creating duplicates.

Refusals as AWS's, checked before anything changes (so a refused object costs reads only): a listener certificate must
be an ISSUED ACM certificate of the account (ELB answers UnsupportedCertificate / CertificateNotFound otherwise). Each
failure is a Warning event on the object (reason FailedBuildModel / FailedDeployModel, as the controller's) and a log
line. Emulator gap handled here: moto cannot modify a TLS/UDP listener, so a changed one is replaced (AWS: in place).

Left out: TargetGroupBindings and target registration (there are no nodes or pods), the backend security group and node
security group rules, load balancer/target group attributes, IngressClassParams, the Service mutating webhook.
It stops quietly when the kit's kubeconfig disappears or the emulated AWS stops answering.

    python tests/emulation/lbc_standin.py --endpoint http://127.0.0.1:4566 --kubeconfig .emulator/k8s/kubeconfig

HUBOPS_LBC_STANDIN=0 in the launcher's environment keeps it from starting (to see what happens without a controller).
"""

from __future__ import annotations

import argparse
import datetime
import hashlib
import json
import logging
import os
import re
import signal
import sys
import threading
import time
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

SVC = "service.beta.kubernetes.io/"
ALB = "alb.ingress.kubernetes.io/"
A_TYPE = SVC + "aws-load-balancer-type"
A_TARGET_TYPE = SVC + "aws-load-balancer-nlb-target-type"
A_NAME = SVC + "aws-load-balancer-name"
A_SCHEME = SVC + "aws-load-balancer-scheme"
A_INTERNAL = SVC + "aws-load-balancer-internal"
A_IP_TYPE = SVC + "aws-load-balancer-ip-address-type"
A_SSL_CERT = SVC + "aws-load-balancer-ssl-cert"
A_SSL_PORTS = SVC + "aws-load-balancer-ssl-ports"
A_SSL_POLICY = SVC + "aws-load-balancer-ssl-negotiation-policy"
A_ALPN = SVC + "aws-load-balancer-alpn-policy"
A_BACKEND = SVC + "aws-load-balancer-backend-protocol"
A_TAGS = SVC + "aws-load-balancer-additional-resource-tags"
A_SOURCE_RANGES = SVC + "load-balancer-source-ranges"
A_SUBNETS = SVC + "aws-load-balancer-subnets"
A_SECURITY_GROUPS = SVC + "aws-load-balancer-security-groups"
A_DISABLE_SG = SVC + "aws-load-balancer-disable-nlb-sg"
A_HC_PROTOCOL = SVC + "aws-load-balancer-healthcheck-protocol"
A_HC_PORT = SVC + "aws-load-balancer-healthcheck-port"
A_HC_PATH = SVC + "aws-load-balancer-healthcheck-path"
A_HC_INTERVAL = SVC + "aws-load-balancer-healthcheck-interval"
A_HC_HEALTHY = SVC + "aws-load-balancer-healthcheck-healthy-threshold"
A_HC_UNHEALTHY = SVC + "aws-load-balancer-healthcheck-unhealthy-threshold"

LB_CLASS = "service.k8s.aws/nlb"
SERVICE_FINALIZER = "service.k8s.aws/resources"
INGRESS_FINALIZER = "ingress.k8s.aws/resources"
GROUP_FINALIZER_PREFIX = "group.ingress.k8s.aws/"
ALB_CONTROLLER = "ingress.k8s.aws/alb"
ALB_CLASS = "alb"
TAG_CLUSTER = "elbv2.k8s.aws/cluster"
SERVICE_STACK, SERVICE_RESOURCE = "service.k8s.aws/stack", "service.k8s.aws/resource"
INGRESS_STACK, INGRESS_RESOURCE = "ingress.k8s.aws/stack", "ingress.k8s.aws/resource"
RESOURCE_LB, RESOURCE_SG = "LoadBalancer", "ManagedLBSecurityGroup"
SUBNET_ROLE_TAGS = {"internet-facing": "kubernetes.io/role/elb", "internal": "kubernetes.io/role/internal-elb"}
CLUSTER_TAG_PREFIX = "kubernetes.io/cluster/"
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-2016-08"
SG_DESCRIPTION = "[k8s] Managed SecurityGroup for LoadBalancer"
CONTROLLER_LABEL = "app.kubernetes.io/name=aws-load-balancer-controller"
NAME_RE = re.compile(r"[^A-Za-z0-9]")
MOTO_UNMODIFIABLE = {"TLS", "UDP", "TCP_UDP"}   # listener protocols moto's ModifyListener refuses
LOG = logging.getLogger("lbc-standin")


class ModelError(Exception):
    """What the controller reports as FailedBuildModel / FailedDeployModel: the object is retried with back-off."""

    def __init__(self, message: str, reason: str = "FailedBuildModel"):
        super().__init__(message)
        self.reason = reason


# ----------------------------------------------------------------------------------------------- annotations

def string_list(value) -> list[str]:
    """A stringList annotation: comma-separated, blanks trimmed and dropped."""
    return [part.strip() for part in str(value or "").split(",") if part.strip()]


def string_map(value, annotation: str = "") -> dict[str, str]:
    """A stringMap annotation: `k1=v1,k2=v2` (each pair split on its first `=`)."""
    out = {}
    for pair in string_list(value):
        if "=" not in pair:
            raise ModelError(f"failed to parse stringMap annotation, {annotation}: {value}")
        key, val = pair.split("=", 1)
        out[key.strip()] = val.strip()
    return out


def parse_bool(value, annotation: str = "") -> bool:
    """Go's strconv.ParseBool."""
    text = str(value).strip()
    if text in ("1", "t", "T", "TRUE", "true", "True"):
        return True
    if text in ("0", "f", "F", "FALSE", "false", "False"):
        return False
    raise ModelError(f'failed to parse bool annotation, {annotation}: {value}')


def parse_int(value, annotation: str = "") -> int:
    try:
        return int(str(value).strip())
    except ValueError:
        raise ModelError(f"failed to parse integer annotation, {annotation}: {value}") from None


def service_scheme(annotations: dict) -> str:
    """aws-load-balancer-scheme, else the legacy aws-load-balancer-internal, else internal (the controller's default)."""
    if A_SCHEME in annotations:
        scheme = annotations[A_SCHEME].strip()
        if scheme not in SUBNET_ROLE_TAGS:
            raise ModelError(f"unknown scheme: {scheme}")
        return scheme
    if A_INTERNAL in annotations:
        return "internal" if parse_bool(annotations[A_INTERNAL], A_INTERNAL) else "internet-facing"
    return "internal"


def ip_address_type(value) -> str:
    value = (value or "ipv4").strip()
    if value not in ("ipv4", "dualstack"):
        raise ModelError(f"unknown IPAddressType: {value}")
    return value


def service_target_type(annotations: dict) -> str:
    if annotations.get(A_TYPE) == "nlb-ip" or annotations.get(A_TARGET_TYPE) == "ip":
        return "ip"
    return "instance"


def source_ranges(spec: dict, annotations: dict, ip_type: str) -> list[str]:
    """spec.loadBalancerSourceRanges, else the load-balancer-source-ranges annotation, else everything."""
    cidrs = list(spec.get("loadBalancerSourceRanges") or []) or string_list(annotations.get(A_SOURCE_RANGES))
    for cidr in cidrs:
        if ":" in cidr and ip_type != "dualstack":
            raise ModelError(f"unsupported v6 cidr {cidr} when lb is not dualstack")
    if not cidrs:
        cidrs = ["0.0.0.0/0"] + (["::/0"] if ip_type == "dualstack" else [])
    return cidrs


def is_supported_service(svc: dict) -> bool:
    """The controller's IsServiceSupported (with the ServiceTypeLoadBalancerOnly gate on)."""
    meta, spec = svc.get("metadata") or {}, svc.get("spec") or {}
    if meta.get("deletionTimestamp") or spec.get("type") != "LoadBalancer":
        return False
    if spec.get("loadBalancerClass") is not None:
        return spec["loadBalancerClass"] == LB_CLASS
    annotations = meta.get("annotations") or {}
    lb_type = annotations.get(A_TYPE, "")
    if lb_type == "nlb-ip":
        return True
    return lb_type == "external" and annotations.get(A_TARGET_TYPE, "") in ("ip", "instance")


# ----------------------------------------------------------------------------------------------- names

def sanitize(text) -> str:
    return NAME_RE.sub("", str(text or ""))


def _uuid(*parts) -> str:
    digest = hashlib.sha256()
    for part in parts:
        digest.update(str(part).encode())
    return digest.hexdigest()


def k8s_name(namespace: str, name: str, *hash_parts) -> str:
    """`k8s-<namespace[:8]>-<name[:8]>-<sha256(parts)[:10]>`, non-alphanumerics dropped (LB, TG and SG names)."""
    return f"k8s-{sanitize(namespace)[:8]}-{sanitize(name)[:8]}-{_uuid(*hash_parts)[:10]}"


def nlb_name(cluster: str, svc: dict, scheme: str) -> str:
    meta = svc["metadata"]
    explicit = (meta.get("annotations") or {}).get(A_NAME)
    if explicit:
        if len(explicit) > 32:
            raise ModelError("load balancer name cannot be longer than 32 characters")
        return explicit
    return k8s_name(meta["namespace"], meta["name"], cluster, meta.get("uid", ""), scheme)


def service_sg_name(cluster: str, svc: dict) -> str:
    meta = svc["metadata"]
    return k8s_name(meta["namespace"], meta["name"], cluster, meta["name"], meta["namespace"], meta.get("uid", ""))


def service_tg_name(cluster: str, svc: dict, tg_port: int, svc_port, target_type: str, protocol: str, hc_protocol: str,
                    hc_interval: int) -> str:
    meta = svc["metadata"]
    return k8s_name(meta["namespace"], meta["name"], cluster, meta.get("uid", ""), tg_port, svc_port, target_type, protocol,
                    hc_protocol, hc_interval)


@dataclass(frozen=True)
class GroupID:
    """An IngressGroup: explicit (alb.ingress.kubernetes.io/group.name) or implicit (one Ingress, namespace/name)."""

    namespace: str
    name: str

    @property
    def explicit(self) -> bool:
        return not self.namespace

    def __str__(self) -> str:
        return self.name if self.explicit else f"{self.namespace}/{self.name}"

    @property
    def finalizer(self) -> str:
        return GROUP_FINALIZER_PREFIX + self.name if self.explicit else INGRESS_FINALIZER

    def resource_name(self, *hash_parts) -> str:
        if self.explicit:
            return f"k8s-{sanitize(self.name)[:17]}-{_uuid(*hash_parts)[:10]}"
        return k8s_name(self.namespace, self.name, *hash_parts)


def alb_name(cluster: str, group: GroupID, scheme: str) -> str:
    return group.resource_name(cluster, str(group), scheme)


def alb_sg_name(cluster: str, group: GroupID) -> str:
    return group.resource_name(cluster, str(group))


# ----------------------------------------------------------------------------------------------- subnets

def _tags(items) -> dict:
    return {t["Key"]: t["Value"] for t in items or []}


def choose_subnets(subnets: list[dict], scheme: str, cluster: str, minimum: int = 1) -> list[str]:
    """The controller's subnet discovery on DescribeSubnets output (one VPC): role tag "" or "1", not another cluster's,
    one per AZ (tagged for our cluster first, then the lowest subnet id); ids sorted."""
    role = SUBNET_ROLE_TAGS[scheme]
    ours = CLUSTER_TAG_PREFIX + cluster
    per_az: dict[str, list[tuple]] = {}
    for subnet in subnets:
        tags = _tags(subnet.get("Tags"))
        if tags.get(role) not in ("", "1"):
            continue
        cluster_keys = [k for k in tags if k.startswith(CLUSTER_TAG_PREFIX)]
        if cluster_keys and ours not in cluster_keys:
            continue
        per_az.setdefault(subnet["AvailabilityZone"], []).append((ours not in cluster_keys, subnet["SubnetId"]))
    chosen = sorted(min(candidates)[1] for candidates in per_az.values())
    if len(chosen) < minimum:
        raise ModelError(f"couldn't auto-discover subnets: unable to resolve at least {minimum} subnet(s) tagged {role} "
                         f"(found {len(chosen)})", "FailedDeployModel")
    return chosen


# ----------------------------------------------------------------------------------------------- the model

@dataclass
class TargetGroupSpec:
    resource_id: str
    name: str
    protocol: str
    port: int
    target_type: str
    hc_protocol: str = "TCP"
    hc_port: str = "traffic-port"
    hc_path: str | None = None
    hc_interval: int = 10
    healthy: int = 3
    unhealthy: int = 3
    matcher: str | None = None


@dataclass
class ListenerSpec:
    port: int
    protocol: str
    target_group: str | None = None          # resource id of the default forward action
    certificates: list[str] = field(default_factory=list)
    ssl_policy: str | None = None
    alpn: str | None = None
    default_action: dict | None = None        # ALB: fixed-response / redirect instead of a forward
    rules: list[dict] = field(default_factory=list)  # ALB: [{"conditions": [...], "target_group": resource id}]


@dataclass
class StackModel:
    """What the controller wants in AWS for one Service or IngressGroup."""

    stack_key: str                            # service.k8s.aws/stack or ingress.k8s.aws/stack
    resource_key: str
    stack: str                                # <ns>/<name> or the group name
    cluster: str
    lb_type: str                              # network | application
    name: str
    scheme: str
    ip_type: str
    tags: dict[str, str]                      # additional tags (the tracking tags win over them)
    subnets: list[str] | None = None          # from an annotation (names or ids), else discovered
    security_groups: list[str] | None = None  # from an annotation, else the managed one
    sg_name: str | None = None                # managed security group (None: none)
    sg_rules: list[tuple] = field(default_factory=list)   # (protocol, port, cidr)
    target_groups: list[TargetGroupSpec] = field(default_factory=list)
    listeners: list[ListenerSpec] = field(default_factory=list)

    def resource_tags(self, resource_id: str) -> dict[str, str]:
        tags = dict(self.tags)
        tags.update({TAG_CLUSTER: self.cluster, self.stack_key: self.stack, self.resource_key: resource_id})
        return tags

    @property
    def certificates(self) -> list[str]:
        return sorted({c for listener in self.listeners for c in listener.certificates})


def _port_number(value, annotation: str) -> int:
    port = parse_int(value, annotation)
    if not 1 <= port <= 65535:
        raise ModelError(f"invalid port {value} in {annotation}")
    return port


def build_service_model(svc: dict, cluster: str) -> StackModel:
    """The NLB stack of a Service, as the controller's model builder makes it."""
    meta, spec = svc["metadata"], svc.get("spec") or {}
    annotations = meta.get("annotations") or {}
    namespace, name = meta["namespace"], meta["name"]
    scheme = service_scheme(annotations)
    ip_type = ip_address_type(annotations.get(A_IP_TYPE))
    target_type = service_target_type(annotations)
    tags = string_map(annotations.get(A_TAGS), A_TAGS)
    certificates = string_list(annotations.get(A_SSL_CERT))
    ssl_ports = set(string_list(annotations.get(A_SSL_PORTS)))
    backend = annotations.get(A_BACKEND, "tcp").strip().lower()
    if backend not in ("tcp", "ssl"):
        raise ModelError(f"unsupported backend protocol {backend}")
    hc_protocol = annotations.get(A_HC_PROTOCOL, "TCP").strip().upper()
    if hc_protocol not in ("TCP", "HTTP", "HTTPS"):
        raise ModelError(f"unsupported health check protocol {hc_protocol}")
    hc_port = annotations.get(A_HC_PORT, "traffic-port").strip()
    if hc_port != "traffic-port":
        hc_port = str(_port_number(hc_port, A_HC_PORT))
    hc_path = annotations.get(A_HC_PATH, "/") if hc_protocol != "TCP" else None
    hc_interval = parse_int(annotations.get(A_HC_INTERVAL, 10), A_HC_INTERVAL)
    healthy = parse_int(annotations.get(A_HC_HEALTHY, 3), A_HC_HEALTHY)
    unhealthy = parse_int(annotations.get(A_HC_UNHEALTHY, 3), A_HC_UNHEALTHY)
    ports = spec.get("ports") or []
    if not ports:
        raise ModelError("service has no ports")
    model = StackModel(stack_key=SERVICE_STACK, resource_key=SERVICE_RESOURCE, stack=f"{namespace}/{name}", cluster=cluster,
                       lb_type="network", name=nlb_name(cluster, svc, scheme), scheme=scheme, ip_type=ip_type, tags=tags)
    if A_SUBNETS in annotations:
        model.subnets = string_list(annotations[A_SUBNETS])
    if A_SECURITY_GROUPS in annotations:
        model.security_groups = string_list(annotations[A_SECURITY_GROUPS])
    elif not (A_DISABLE_SG in annotations and parse_bool(annotations[A_DISABLE_SG], A_DISABLE_SG)):
        model.sg_name = service_sg_name(cluster, svc)
    cidrs = source_ranges(spec, annotations, ip_type)
    for port in ports:
        number, protocol = int(port["port"]), (port.get("protocol") or "TCP").upper()
        tg_protocol = "UDP" if protocol == "UDP" else ("TLS" if backend == "ssl" else "TCP")
        listener_protocol = tg_protocol
        if certificates and (not ssl_ports or port.get("name") in ssl_ports or str(number) in ssl_ports):
            if tg_protocol == "UDP":
                raise ModelError("TLS and UDP together is not supported")
            listener_protocol = "TLS"
        if target_type == "instance":
            if not port.get("nodePort"):
                raise ModelError("unable to support instance target type with an unallocated NodePort")
            tg_port = int(port["nodePort"])
        else:
            target = port.get("targetPort", number)
            tg_port = int(target) if str(target).isdigit() else 1
        resource_id = f"{namespace}/{name}:{number}"
        model.target_groups.append(TargetGroupSpec(
            resource_id=resource_id, protocol=tg_protocol, port=tg_port, target_type=target_type,
            name=service_tg_name(cluster, svc, tg_port, number, target_type, tg_protocol, hc_protocol, hc_interval),
            hc_protocol=hc_protocol, hc_port=hc_port, hc_path=hc_path, hc_interval=hc_interval, healthy=healthy,
            unhealthy=unhealthy))
        listener = ListenerSpec(port=number, protocol=listener_protocol, target_group=resource_id)
        if listener_protocol == "TLS":
            listener.certificates = certificates
            listener.ssl_policy = annotations.get(A_SSL_POLICY, DEFAULT_SSL_POLICY)
            listener.alpn = annotations.get(A_ALPN) or None
        model.listeners.append(listener)
        if model.sg_name:
            model.sg_rules += [(protocol.lower(), number, cidr) for cidr in cidrs]
    return model


# ----------------------------------------------------------------------------------------------- ingress (ALB)

def ingress_class_names(ingress_classes: list[dict]) -> set[str]:
    """Names of the IngressClasses this controller serves (plus the conventional `alb`)."""
    names = {ALB_CLASS}
    for item in ingress_classes:
        if (item.get("spec") or {}).get("controller") == ALB_CONTROLLER:
            names.add(item["metadata"]["name"])
    return names


def is_supported_ingress(ing: dict, classes: set[str]) -> bool:
    meta, spec = ing.get("metadata") or {}, ing.get("spec") or {}
    if meta.get("deletionTimestamp"):
        return False
    legacy = (meta.get("annotations") or {}).get("kubernetes.io/ingress.class")
    if legacy is not None:
        return legacy == ALB_CLASS
    return spec.get("ingressClassName") in classes


def ingress_group(ing: dict) -> GroupID:
    meta = ing["metadata"]
    explicit = (meta.get("annotations") or {}).get(ALB + "group.name")
    return GroupID("", explicit) if explicit else GroupID(meta["namespace"], meta["name"])


def _one(values: set, what: str, default):
    if len(values) > 1:
        raise ModelError(f"conflicting {what}: {sorted(values)}")
    return values.pop() if values else default


def _listen_ports(annotations: dict, has_certificate: bool) -> dict[int, str]:
    raw = annotations.get(ALB + "listen-ports")
    if not raw:
        return {443: "HTTPS"} if has_certificate else {80: "HTTP"}
    try:
        entries = json.loads(raw)
        out = {}
        for entry in entries:
            for protocol, port in entry.items():
                if protocol not in ("HTTP", "HTTPS"):
                    raise ValueError(protocol)
                out[int(port)] = protocol
        return out
    except (ValueError, TypeError, AttributeError):
        raise ModelError(f"failed to parse listen-ports configuration: {raw}") from None


def _path_conditions(host: str | None, path: str | None, path_type: str | None) -> list[dict]:
    conditions = []
    if host:
        conditions.append({"Field": "host-header", "HostHeaderConfig": {"Values": [host]}})
    if path:
        if path_type == "Exact":
            values = [path]
        elif path_type == "Prefix":
            values = ["/*"] if path == "/" else [path.rstrip("/"), path.rstrip("/") + "/*"]
        else:
            values = [path]
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": values}})
    if not conditions:
        conditions.append({"Field": "path-pattern", "PathPatternConfig": {"Values": ["/*"]}})
    return conditions


def build_ingress_model(group: GroupID, members: list[dict], services: dict, cluster: str) -> StackModel:
    """The ALB stack of an IngressGroup (members sorted by group.order, then namespace/name)."""
    def order(ing):
        annotations = ing["metadata"].get("annotations") or {}
        return (parse_int(annotations.get(ALB + "group.order", 0), ALB + "group.order"), ing["metadata"]["namespace"],
                ing["metadata"]["name"])

    members = sorted(members, key=order)
    every = [m["metadata"].get("annotations") or {} for m in members]
    scheme = _one({a[ALB + "scheme"].strip() for a in every if ALB + "scheme" in a}, "scheme", "internal")
    if scheme not in SUBNET_ROLE_TAGS:
        raise ModelError(f"unknown scheme: {scheme}")
    ip_type = ip_address_type(_one({a[ALB + "ip-address-type"] for a in every if ALB + "ip-address-type" in a},
                                   "IPAddressType", "ipv4"))
    tags: dict[str, str] = {}
    for annotations in every:
        tags.update(string_map(annotations.get(ALB + "tags"), ALB + "tags"))
    names = {a[ALB + "load-balancer-name"] for a in every if ALB + "load-balancer-name" in a}
    name = _one(names, "load balancer name", None) or alb_name(cluster, group, scheme)
    model = StackModel(stack_key=INGRESS_STACK, resource_key=INGRESS_RESOURCE, stack=str(group), cluster=cluster,
                       lb_type="application", name=name, scheme=scheme, ip_type=ip_type, tags=tags)
    subnets = [string_list(a[ALB + "subnets"]) for a in every if ALB + "subnets" in a]
    model.subnets = subnets[0] if subnets else None
    groups = [string_list(a[ALB + "security-groups"]) for a in every if ALB + "security-groups" in a]
    if groups:
        model.security_groups = groups[0]
    else:
        model.sg_name = alb_sg_name(cluster, group)
    listeners: dict[int, ListenerSpec] = {}
    tgs: dict[str, TargetGroupSpec] = {}
    for ing, annotations in zip(members, every):
        meta, spec = ing["metadata"], ing.get("spec") or {}
        certificates = string_list(annotations.get(ALB + "certificate-arn"))
        ports = _listen_ports(annotations, bool(certificates))
        redirect = annotations.get(ALB + "ssl-redirect")
        cidrs = string_list(annotations.get(ALB + "inbound-cidrs")) or (
            ["0.0.0.0/0"] + (["::/0"] if ip_type == "dualstack" else []))
        target_type = annotations.get(ALB + "target-type", "instance")
        backend_protocol = annotations.get(ALB + "backend-protocol", "HTTP").upper()

        def target_group(backend: dict, ing_meta=meta, ann=annotations, target_type=target_type,
                         backend_protocol=backend_protocol) -> str:
            ref = backend.get("service") or {}
            svc = services.get((ing_meta["namespace"], ref.get("name")))
            if svc is None:
                raise ModelError(f'service "{ing_meta["namespace"]}/{ref.get("name")}" not found', "FailedBuildModel")
            wanted = ref.get("port") or {}
            port_ref = wanted.get("number") if wanted.get("number") is not None else wanted.get("name")
            port = next((p for p in svc["spec"].get("ports") or []
                         if str(p.get("port")) == str(port_ref) or p.get("name") == port_ref), None)
            if port is None:
                raise ModelError(f'unable to find port {port_ref} on service {ing_meta["namespace"]}/{ref.get("name")}')
            if target_type == "instance":
                if svc["spec"].get("type") not in ("NodePort", "LoadBalancer") or not port.get("nodePort"):
                    raise ModelError(f'{ing_meta["namespace"]}/{ref.get("name")}: service type must be either '
                                     "'NodePort' or 'LoadBalancer' for instance targets")
                tg_port = int(port["nodePort"])
            else:
                target = port.get("targetPort", port["port"])
                tg_port = int(target) if str(target).isdigit() else 1
            resource_id = f'{ing_meta["namespace"]}/{ing_meta["name"]}-{ref.get("name")}:{port_ref}'
            if resource_id not in tgs:
                svc_meta = svc["metadata"]
                tgs[resource_id] = TargetGroupSpec(
                    resource_id=resource_id, protocol=backend_protocol, port=tg_port, target_type=target_type,
                    name=k8s_name(svc_meta["namespace"], svc_meta["name"], cluster, ing_meta["namespace"], ing_meta["name"],
                                  svc_meta.get("uid", ""), port_ref, tg_port, target_type, backend_protocol, "HTTP1"),
                    hc_protocol=ann.get(ALB + "healthcheck-protocol", backend_protocol).upper(),
                    hc_port=ann.get(ALB + "healthcheck-port", "traffic-port"), hc_path=ann.get(ALB + "healthcheck-path", "/"),
                    hc_interval=parse_int(ann.get(ALB + "healthcheck-interval-seconds", 15)), healthy=2, unhealthy=2,
                    matcher=ann.get(ALB + "success-codes", "200"))
            return resource_id

        default_backend = spec.get("defaultBackend")
        for number, protocol in ports.items():
            listener = listeners.get(number)
            if listener is None:
                listener = listeners[number] = ListenerSpec(port=number, protocol=protocol)
                listener.default_action = {"Type": "fixed-response",
                                           "FixedResponseConfig": {"StatusCode": "404", "ContentType": "text/plain"}}
            elif listener.protocol != protocol:
                raise ModelError(f"conflicting protocol for port {number}: {listener.protocol} | {protocol}")
            if protocol == "HTTPS":
                if not certificates:
                    raise ModelError(f"no certificate found for HTTPS listener on port {number} (certificate-arn)")
                listener.certificates = sorted(set(listener.certificates) | set(certificates))
                listener.ssl_policy = annotations.get(ALB + "ssl-policy", DEFAULT_SSL_POLICY)
            if redirect and protocol == "HTTP":
                listener.default_action = {"Type": "redirect", "RedirectConfig": {
                    "Protocol": "HTTPS", "Port": str(_port_number(redirect, ALB + "ssl-redirect")), "StatusCode": "HTTP_301"}}
                continue
            if default_backend:
                listener.default_action = None
                listener.target_group = target_group(default_backend)
            for rule in spec.get("rules") or []:
                for path in (rule.get("http") or {}).get("paths") or []:
                    listener.rules.append({"conditions": _path_conditions(rule.get("host"), path.get("path"), path.get("pathType")),
                                           "target_group": target_group(path.get("backend") or {})})
        if model.sg_name:
            model.sg_rules += [("tcp", number, cidr) for number in ports for cidr in cidrs]
    model.sg_rules = sorted(set(model.sg_rules), key=lambda r: (r[1], r[2], r[0]))
    model.listeners = [listeners[p] for p in sorted(listeners)]
    model.target_groups = [tgs[k] for k in sorted(tgs)]
    return model


# ----------------------------------------------------------------------------------------------- AWS

@dataclass
class Context:
    """The EKS cluster this kit stands for, found once per poll that has work."""

    cluster: str
    vpc_id: str


@dataclass
class Found:
    lbs: list[dict] = field(default_factory=list)
    tgs: list[dict] = field(default_factory=list)
    sgs: list[dict] = field(default_factory=list)
    tags: dict[str, dict] = field(default_factory=dict)   # elbv2 ARN -> tags


class Aws:
    """boto3 on the emulated AWS; `calls` lists the mutating calls made (for the log and the tests)."""

    def __init__(self, endpoint: str | None, region: str, session=None):
        import boto3  # pylint: disable=import-outside-toplevel
        from botocore.config import Config  # pylint: disable=import-outside-toplevel
        from botocore.exceptions import ClientError  # pylint: disable=import-outside-toplevel

        self.client_error = ClientError
        self.region = region
        self.session = session or boto3.session.Session(aws_access_key_id="testing", aws_secret_access_key="testing",
                                                        region_name=region)
        self.endpoint = endpoint
        self.config = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=5, read_timeout=30)
        self.clients: dict = {}
        self.calls: list[str] = []

    def client(self, service: str, region: str | None = None):
        key = (service, region or self.region)
        if key not in self.clients:
            self.clients[key] = self.session.client(service, endpoint_url=self.endpoint, region_name=key[1], config=self.config)
        return self.clients[key]

    def __getattr__(self, service: str):
        if service.startswith("_") or service not in ("ec2", "elbv2", "eks", "acm"):
            raise AttributeError(service)
        return self.client(service)

    def mutate(self, service: str, operation: str, **kwargs):
        self.calls.append(f"{service}:{operation}")
        LOG.info("%s %s %s", service, operation, _brief(kwargs))
        return getattr(self.client(service), operation)(**kwargs)

    def code(self, exc) -> str:
        return exc.response.get("Error", {}).get("Code", "") if isinstance(exc, self.client_error) else ""

    def paged(self, service: str, operation: str, key: str, **kwargs) -> list:
        return [item for page in self.client(service).get_paginator(operation).paginate(**kwargs) for item in page.get(key, [])]


def _brief(kwargs: dict) -> str:
    keep = ("Name", "GroupName", "GroupId", "LoadBalancerArn", "ListenerArn", "TargetGroupArn", "Port", "Protocol")
    return " ".join(f"{k}={kwargs[k]}" for k in keep if k in kwargs)


def _tag_list(tags: dict) -> list[dict]:
    return [{"Key": k, "Value": v} for k, v in sorted(tags.items())]


def _action_key(action: dict | None) -> tuple:
    """A default/rule action reduced to what we set (AWS and moto add defaults and ForwardConfig)."""
    if not action:
        return ()
    kind = action.get("Type")
    if kind == "forward":
        arn = action.get("TargetGroupArn") or next(
            (t["TargetGroupArn"] for t in (action.get("ForwardConfig") or {}).get("TargetGroups", [])), None)
        return ("forward", arn)
    if kind == "redirect":
        config = action.get("RedirectConfig") or {}
        return ("redirect", config.get("Protocol"), str(config.get("Port")), config.get("StatusCode"))
    if kind == "fixed-response":
        config = action.get("FixedResponseConfig") or {}
        return ("fixed-response", str(config.get("StatusCode")), config.get("ContentType"))
    return (kind, repr(sorted(action.items())))


def _conditions_key(conditions: list[dict]) -> tuple:
    out = []
    for condition in conditions or []:
        name = condition.get("Field")
        config = condition.get("HostHeaderConfig") or condition.get("PathPatternConfig") or {}
        values = config.get("Values") or condition.get("Values") or []
        out.append((name, tuple(values)))
    return tuple(sorted(out))


class Deployer:
    """Makes the emulated AWS match a StackModel, or removes a stack; reads first, mutates only what differs."""

    def __init__(self, aws: Aws, delete_delay: float = 1.0, sleep=time.sleep):
        self.aws = aws
        self.delete_delay = delete_delay
        self.sleep = sleep

    # -- reads ---------------------------------------------------------------------------------------------
    def find(self, stack_key: str, stack: str, cluster: str | None) -> Found:
        """Everything tagged for the stack (and the cluster, when known)."""
        def ours(tags):
            return tags.get(stack_key) == stack and (tags.get(TAG_CLUSTER) == cluster if cluster else TAG_CLUSTER in tags)

        found = Found()
        lbs = self.aws.paged("elbv2", "describe_load_balancers", "LoadBalancers")
        tgs = self.aws.paged("elbv2", "describe_target_groups", "TargetGroups")
        arns = [lb["LoadBalancerArn"] for lb in lbs] + [tg["TargetGroupArn"] for tg in tgs]
        for start in range(0, len(arns), 20):
            for description in self.aws.elbv2.describe_tags(ResourceArns=arns[start:start + 20])["TagDescriptions"]:
                found.tags[description["ResourceArn"]] = _tags(description.get("Tags"))
        found.lbs = [lb for lb in lbs if ours(found.tags.get(lb["LoadBalancerArn"], {}))]
        found.tgs = [tg for tg in tgs if ours(found.tags.get(tg["TargetGroupArn"], {}))]
        filters = [{"Name": f"tag:{stack_key}", "Values": [stack]}]
        filters.append({"Name": f"tag:{TAG_CLUSTER}", "Values": [cluster]} if cluster else {"Name": "tag-key", "Values": [TAG_CLUSTER]})
        found.sgs = self.aws.paged("ec2", "describe_security_groups", "SecurityGroups", Filters=filters)
        return found

    def check_certificates(self, model: StackModel) -> None:
        """ELB refuses a listener whose certificate is not an ISSUED ACM (or IAM) certificate: check before changing anything."""
        for arn in model.certificates:
            if ":iam:" in arn:
                continue
            parts = arn.split(":")
            region = parts[3] if len(parts) > 3 and parts[2] == "acm" else None
            if not region:
                raise ModelError(f"CertificateNotFound: Certificate '{arn}' not found", "FailedDeployModel")
            try:
                status = self.aws.client("acm", region).describe_certificate(CertificateArn=arn)["Certificate"]["Status"]
            except self.aws.client_error as exc:
                raise ModelError(f"CertificateNotFound: Certificate '{arn}' not found ({self.aws.code(exc)})",
                                 "FailedDeployModel") from exc
            if status != "ISSUED":
                raise ModelError(f"UnsupportedCertificate: The certificate '{arn}' is {status}, not ISSUED",
                                 "FailedDeployModel")

    def resolve_subnets(self, model: StackModel, ctx: Context) -> list[str]:
        minimum = 2 if model.lb_type == "application" else 1
        if model.subnets:
            ids = [s for s in model.subnets if s.startswith("subnet-")]
            names = [s for s in model.subnets if not s.startswith("subnet-")]
            found = self.aws.ec2.describe_subnets(SubnetIds=ids)["Subnets"] if ids else []
            if names:
                found += self.aws.ec2.describe_subnets(Filters=[{"Name": "vpc-id", "Values": [ctx.vpc_id]},
                                                                {"Name": "tag:Name", "Values": names}])["Subnets"]
            if len(found) < len(model.subnets):
                raise ModelError(f"couldn't find all subnets {model.subnets}", "FailedDeployModel")
            return [s["SubnetId"] for s in found]
        subnets = self.aws.paged("ec2", "describe_subnets", "Subnets", Filters=[{"Name": "vpc-id", "Values": [ctx.vpc_id]}])
        return choose_subnets(subnets, model.scheme, ctx.cluster, minimum)

    def resolve_security_groups(self, model: StackModel, ctx: Context) -> list[str]:
        ids = [s for s in model.security_groups if s.startswith("sg-")]
        names = [s for s in model.security_groups if not s.startswith("sg-")]
        found = self.aws.ec2.describe_security_groups(GroupIds=ids)["SecurityGroups"] if ids else []
        if names:
            found += self.aws.ec2.describe_security_groups(Filters=[{"Name": "vpc-id", "Values": [ctx.vpc_id]},
                                                                    {"Name": "tag:Name", "Values": names}])["SecurityGroups"]
        if len(found) != len(model.security_groups):
            raise ModelError(f"couldn't find all securityGroups, nameOrIDs: {model.security_groups}", "FailedDeployModel")
        return [g["GroupId"] for g in found]

    # -- tags ----------------------------------------------------------------------------------------------
    def sync_elbv2_tags(self, arn: str, current: dict, wanted: dict) -> None:
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        extra = [k for k in current if k not in wanted and not k.startswith("aws:")]
        if changed:
            self.aws.mutate("elbv2", "add_tags", ResourceArns=[arn], Tags=_tag_list(changed))
        if extra:
            self.aws.mutate("elbv2", "remove_tags", ResourceArns=[arn], TagKeys=sorted(extra))

    def sync_ec2_tags(self, resource: str, current: dict, wanted: dict) -> None:
        changed = {k: v for k, v in wanted.items() if current.get(k) != v}
        extra = [k for k in current if k not in wanted and not k.startswith("aws:")]
        if changed:
            self.aws.mutate("ec2", "create_tags", Resources=[resource], Tags=_tag_list(changed))
        if extra:
            self.aws.mutate("ec2", "delete_tags", Resources=[resource], Tags=[{"Key": k} for k in sorted(extra)])

    # -- ensure --------------------------------------------------------------------------------------------
    def ensure(self, model: StackModel, ctx: Context) -> dict:
        """Create or update the stack; return the load balancer (DescribeLoadBalancers shape)."""
        self.check_certificates(model)
        explicit_sgs = self.resolve_security_groups(model, ctx) if model.security_groups else None
        found = self.find(model.stack_key, model.stack, model.cluster)
        sg_ids = explicit_sgs if explicit_sgs is not None else ([self.ensure_security_group(model, ctx, found)]
                                                                if model.sg_name else [])
        lb = self.ensure_load_balancer(model, ctx, found, sg_ids)
        tg_arns = self.ensure_target_groups(model, ctx, found)
        self.ensure_listeners(model, lb, tg_arns)
        for tg in found.tgs:
            if tg["TargetGroupArn"] not in tg_arns.values():
                self.delete_target_group(tg["TargetGroupArn"])
        for group in found.sgs:
            if group["GroupId"] not in sg_ids and _tags(group.get("Tags")).get(model.resource_key) == RESOURCE_SG:
                self.delete_security_group(group["GroupId"])
        return lb

    def ensure_security_group(self, model: StackModel, ctx: Context, found: Found) -> str:
        mine = [g for g in found.sgs if _tags(g.get("Tags")).get(model.resource_key) == RESOURCE_SG]
        wanted_tags = model.resource_tags(RESOURCE_SG)
        group = next((g for g in mine if g["GroupName"] == model.sg_name), mine[0] if mine else None)
        if group is None:
            group_id = self.aws.mutate(
                "ec2", "create_security_group", GroupName=model.sg_name, Description=SG_DESCRIPTION, VpcId=ctx.vpc_id,
                TagSpecifications=[{"ResourceType": "security-group", "Tags": _tag_list(wanted_tags)}])["GroupId"]
            group = {"GroupId": group_id, "GroupName": model.sg_name, "IpPermissions": [], "Tags": _tag_list(wanted_tags)}
            found.sgs.append(group)
        else:
            self.sync_ec2_tags(group["GroupId"], _tags(group.get("Tags")), wanted_tags)
        current = set()
        for perm in group.get("IpPermissions") or []:
            for cidr in [r["CidrIp"] for r in perm.get("IpRanges") or []] + [r["CidrIpv6"] for r in perm.get("Ipv6Ranges") or []]:
                current.add((perm.get("IpProtocol"), perm.get("FromPort"), perm.get("ToPort"), cidr))
        wanted = {(proto, port, port, cidr) for proto, port, cidr in model.sg_rules}
        if wanted - current:
            self.aws.mutate("ec2", "authorize_security_group_ingress", GroupId=group["GroupId"],
                            IpPermissions=[_permission(rule) for rule in sorted(wanted - current, key=str)])
        if current - wanted:
            self.aws.mutate("ec2", "revoke_security_group_ingress", GroupId=group["GroupId"],
                            IpPermissions=[_permission(rule) for rule in sorted(current - wanted, key=str)])
        return group["GroupId"]

    def ensure_load_balancer(self, model: StackModel, ctx: Context, found: Found, sg_ids: list[str]) -> dict:
        keep = None
        for lb in [lb for lb in found.lbs if found.tags[lb["LoadBalancerArn"]].get(model.resource_key) == RESOURCE_LB]:
            if keep is None and (lb["LoadBalancerName"], lb["Scheme"], lb["Type"]) == (model.name, model.scheme, model.lb_type):
                keep = lb
            else:  # another name or scheme: the controller replaces the load balancer
                self.delete_load_balancer(lb["LoadBalancerArn"])
        wanted_tags = model.resource_tags(RESOURCE_LB)
        if keep is None:
            request = {"Name": model.name, "Subnets": self.resolve_subnets(model, ctx), "Scheme": model.scheme,
                       "Type": model.lb_type, "IpAddressType": model.ip_type, "Tags": _tag_list(wanted_tags)}
            if sg_ids:
                request["SecurityGroups"] = sg_ids
            return self.aws.mutate("elbv2", "create_load_balancer", **request)["LoadBalancers"][0]
        arn = keep["LoadBalancerArn"]
        if keep.get("IpAddressType") != model.ip_type:
            self.aws.mutate("elbv2", "set_ip_address_type", LoadBalancerArn=arn, IpAddressType=model.ip_type)
        if sg_ids and sorted(keep.get("SecurityGroups") or []) != sorted(sg_ids):
            self.aws.mutate("elbv2", "set_security_groups", LoadBalancerArn=arn, SecurityGroups=sg_ids)
        self.sync_elbv2_tags(arn, found.tags[arn], wanted_tags)
        return keep

    def ensure_target_groups(self, model: StackModel, ctx: Context, found: Found) -> dict[str, str]:
        out = {}
        for spec in model.target_groups:
            wanted_tags = model.resource_tags(spec.resource_id)
            tg = next((t for t in found.tgs if t["TargetGroupName"] == spec.name
                       and found.tags[t["TargetGroupArn"]].get(model.resource_key) == spec.resource_id), None)
            health = {"HealthCheckProtocol": spec.hc_protocol, "HealthCheckPort": spec.hc_port,
                      "HealthCheckIntervalSeconds": spec.hc_interval, "HealthyThresholdCount": spec.healthy,
                      "UnhealthyThresholdCount": spec.unhealthy}
            if spec.hc_protocol != "TCP" and spec.hc_path:
                health["HealthCheckPath"] = spec.hc_path
            if spec.matcher and spec.hc_protocol in ("HTTP", "HTTPS"):
                health["Matcher"] = {"HttpCode": spec.matcher}
            if tg is None:
                tg = self.aws.mutate("elbv2", "create_target_group", Name=spec.name, Protocol=spec.protocol, Port=spec.port,
                                     VpcId=ctx.vpc_id, TargetType=spec.target_type, Tags=_tag_list(wanted_tags),
                                     **health)["TargetGroups"][0]
            else:
                drift = {k: v for k, v in health.items() if k != "Matcher" and tg.get(k) != v}
                if drift:
                    self.aws.mutate("elbv2", "modify_target_group", TargetGroupArn=tg["TargetGroupArn"], **health)
                self.sync_elbv2_tags(tg["TargetGroupArn"], found.tags[tg["TargetGroupArn"]], wanted_tags)
            out[spec.resource_id] = tg["TargetGroupArn"]
        return out

    def ensure_listeners(self, model: StackModel, lb: dict, tg_arns: dict[str, str]) -> None:
        arn = lb["LoadBalancerArn"]
        listeners = self.aws.paged("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=arn)
        existing = {listener["Port"]: listener for listener in listeners}
        for spec in model.listeners:
            action = ({"Type": "forward", "TargetGroupArn": tg_arns[spec.target_group]} if spec.target_group
                      else dict(spec.default_action))
            request = {"Protocol": spec.protocol, "Port": spec.port, "DefaultActions": [action]}
            if spec.protocol in ("TLS", "HTTPS"):
                request["Certificates"] = [{"CertificateArn": spec.certificates[0]}]
                request["SslPolicy"] = spec.ssl_policy or DEFAULT_SSL_POLICY
                if spec.alpn:
                    request["AlpnPolicy"] = [spec.alpn]
            current = existing.pop(spec.port, None)
            if current is not None:
                listener_arn = current["ListenerArn"]
                have = (current.get("Protocol"), [c["CertificateArn"] for c in current.get("Certificates") or []][:1],
                        current.get("SslPolicy") if spec.protocol in ("TLS", "HTTPS") else None,
                        (current.get("AlpnPolicy") or [None])[0] if spec.protocol == "TLS" else None,
                        [_action_key(a) for a in current.get("DefaultActions") or []])
                want = (spec.protocol, spec.certificates[:1], request.get("SslPolicy"),
                        spec.alpn if spec.protocol == "TLS" else None, [_action_key(action)])
                if have != want and {spec.protocol, current.get("Protocol")} & MOTO_UNMODIFIABLE:
                    # Emulator gap: moto 5.2.5's ModifyListener refuses TLS/UDP (UnsupportedProtocol) and updates the
                    # certificate of HTTPS listeners only, where AWS (and the controller) modify in place. Replace it.
                    self.aws.mutate("elbv2", "delete_listener", ListenerArn=listener_arn)
                    current = None
                elif have != want:
                    self.aws.mutate("elbv2", "modify_listener", ListenerArn=listener_arn, **request)
            if current is None:
                listener_arn = self.aws.mutate("elbv2", "create_listener", LoadBalancerArn=arn,
                                               Tags=_tag_list(model.resource_tags(str(spec.port))),
                                               **request)["Listeners"][0]["ListenerArn"]
                if len(spec.certificates) > 1:
                    self.aws.mutate("elbv2", "add_listener_certificates", ListenerArn=listener_arn,
                                    Certificates=[{"CertificateArn": c} for c in spec.certificates[1:]])
            if model.lb_type == "application":
                self.ensure_rules(model, spec, listener_arn, tg_arns)
        for listener in existing.values():
            self.aws.mutate("elbv2", "delete_listener", ListenerArn=listener["ListenerArn"])

    def ensure_rules(self, model: StackModel, spec: ListenerSpec, listener_arn: str, tg_arns: dict[str, str]) -> None:
        current = [r for r in self.aws.paged("elbv2", "describe_rules", "Rules", ListenerArn=listener_arn) if not r.get("IsDefault")]
        have = sorted((int(r["Priority"]), _conditions_key(r.get("Conditions")), tuple(_action_key(a) for a in r.get("Actions") or []))
                      for r in current)
        want = [(i + 1, _conditions_key(rule["conditions"]), (("forward", tg_arns[rule["target_group"]]),))
                for i, rule in enumerate(spec.rules)]
        if have == want:
            return
        for rule in current:
            self.aws.mutate("elbv2", "delete_rule", RuleArn=rule["RuleArn"])
        for i, rule in enumerate(spec.rules):
            self.aws.mutate("elbv2", "create_rule", ListenerArn=listener_arn, Priority=i + 1, Conditions=rule["conditions"],
                            Actions=[{"Type": "forward", "TargetGroupArn": tg_arns[rule["target_group"]]}],
                            Tags=_tag_list(model.resource_tags(f"{spec.port}:{i + 1}")))

    # -- delete --------------------------------------------------------------------------------------------
    def delete_load_balancer(self, arn: str) -> None:
        for listener in self.aws.paged("elbv2", "describe_listeners", "Listeners", LoadBalancerArn=arn):
            self.aws.mutate("elbv2", "delete_listener", ListenerArn=listener["ListenerArn"])
        self.aws.mutate("elbv2", "delete_load_balancer", LoadBalancerArn=arn)

    def delete_target_group(self, arn: str) -> None:
        for attempt in range(5):
            try:
                self.aws.mutate("elbv2", "delete_target_group", TargetGroupArn=arn)
                return
            except self.aws.client_error as exc:
                if self.aws.code(exc) != "ResourceInUse" or attempt == 4:
                    raise
                self.sleep(0.5)

    def delete_security_group(self, group_id: str) -> None:
        for attempt in range(5):
            try:
                self.aws.mutate("ec2", "delete_security_group", GroupId=group_id)
                return
            except self.aws.client_error as exc:
                if self.aws.code(exc) == "InvalidGroup.NotFound":
                    return
                if self.aws.code(exc) != "DependencyViolation" or attempt == 4:
                    raise
                self.sleep(0.5)

    def delete(self, stack_key: str, stack: str, cluster: str | None) -> bool:
        """Remove everything of the stack (listeners, load balancers, then target groups and security groups after the
        delay AWS takes to release the load balancer's interfaces). Return True when something was there."""
        found = self.find(stack_key, stack, cluster)
        for lb in found.lbs:
            self.delete_load_balancer(lb["LoadBalancerArn"])
        if found.lbs and self.delete_delay:
            self.sleep(self.delete_delay)
        for tg in found.tgs:
            self.delete_target_group(tg["TargetGroupArn"])
        for group in found.sgs:
            self.delete_security_group(group["GroupId"])
        return bool(found.lbs or found.tgs or found.sgs)


def _permission(rule: tuple) -> dict:
    proto, from_port, to_port, cidr = rule
    perm = {"IpProtocol": proto, "FromPort": from_port, "ToPort": to_port}
    if ":" in cidr:
        perm["Ipv6Ranges"] = [{"CidrIpv6": cidr}]
    else:
        perm["IpRanges"] = [{"CidrIp": cidr}]
    return perm


# ----------------------------------------------------------------------------------------------- Kubernetes

class Kube:
    """The few calls the controller makes, on plain dicts (the kubernetes client, the kit's kubeconfig)."""

    TIMEOUT = 10

    def __init__(self, kubeconfig: str):
        from kubernetes import client, config  # pylint: disable=import-outside-toplevel

        configuration = client.Configuration()
        config.load_kube_config(config_file=str(kubeconfig), client_configuration=configuration)
        configuration.retries = 1
        self.api = client.ApiClient(configuration)
        self.core = client.CoreV1Api(self.api)
        self.net = client.NetworkingV1Api(self.api)
        self.apps = client.AppsV1Api(self.api)

    def _items(self, call, **kwargs) -> list[dict]:
        resp = call(_preload_content=False, _request_timeout=self.TIMEOUT, **kwargs)
        return json.loads(resp.data)["items"]

    def services(self) -> list[dict]:
        return self._items(self.core.list_service_for_all_namespaces)

    def ingresses(self) -> list[dict]:
        return self._items(self.net.list_ingress_for_all_namespaces)

    def ingress_classes(self) -> list[dict]:
        return self._items(self.net.list_ingress_class)

    def controller_deployments(self) -> list[dict]:
        return self._items(self.apps.list_deployment_for_all_namespaces, label_selector=CONTROLLER_LABEL)

    def patch(self, kind: str, namespace: str, name: str, body: dict, status: bool = False) -> dict:
        if kind == "Service":
            call = self.core.patch_namespaced_service_status if status else self.core.patch_namespaced_service
        else:
            call = self.net.patch_namespaced_ingress_status if status else self.net.patch_namespaced_ingress
        resp = call(name, namespace, body, _preload_content=False, _request_timeout=self.TIMEOUT,
                    _content_type="application/merge-patch+json")
        return json.loads(resp.data)

    def event(self, obj: dict, kind: str, event_type: str, reason: str, message: str) -> None:
        meta = obj["metadata"]
        now = datetime.datetime.now(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        body = {"metadata": {"generateName": f"{meta['name']}.", "namespace": meta["namespace"]},
                "involvedObject": {"kind": kind, "namespace": meta["namespace"], "name": meta["name"], "uid": meta.get("uid"),
                                   "apiVersion": obj.get("apiVersion", "v1"), "resourceVersion": meta.get("resourceVersion")},
                "reason": reason, "message": message[:1024], "type": event_type, "count": 1,
                "source": {"component": "service" if kind == "Service" else "ingress"},
                "firstTimestamp": now, "lastTimestamp": now}
        self.core.create_namespaced_event(meta["namespace"], body, _request_timeout=self.TIMEOUT)


def is_transient(exc: BaseException) -> bool:
    """The API server went away or is restarting (not a verdict on the object)."""
    status = getattr(exc, "status", None)
    if isinstance(status, int):
        return status >= 500 or status in (0, 429)
    return isinstance(exc, (OSError, TimeoutError)) or type(exc).__module__.startswith("urllib3")


# ----------------------------------------------------------------------------------------------- the controller

def _meta(obj: dict) -> dict:
    return obj.get("metadata") or {}


def _hostnames(obj: dict) -> list[str]:
    return [i.get("hostname") or i.get("ip") for i in ((obj.get("status") or {}).get("loadBalancer") or {}).get("ingress") or []]


class Controller:
    """One poll: list, decide, reconcile what changed. The state is only what was reconciled (resourceVersions)."""

    def __init__(self, kube, aws: Aws, delete_delay: float = 1.0, state_file: Path | None = None, clock=time.monotonic,
                 sleep=time.sleep):
        self.kube = kube
        self.aws = aws
        self.deployer = Deployer(aws, delete_delay, sleep)
        self.clock = clock
        self.state_file = state_file
        self.done: dict[tuple, tuple] = {}           # key -> fingerprint of the last successful reconcile
        self.backoff: dict[tuple, tuple] = {}        # key -> (fingerprint, retry at, delay, message)
        self._touched: dict[tuple, str] = {}         # (kind, namespace, name) -> resourceVersion after our patches
        self._ctx: Context | None = None
        self.last_cluster = self._load_cluster()

    # -- cluster -------------------------------------------------------------------------------------------
    def _load_cluster(self) -> str | None:
        try:
            return json.loads(self.state_file.read_text(encoding="utf-8")).get("cluster") if self.state_file else None
        except (OSError, ValueError):
            return None

    def context(self) -> Context:
        """The EKS cluster this kit stands for (once per poll): the installed controller's --cluster-name, else the only
        ACTIVE cluster of the emulated AWS."""
        if self._ctx is not None:
            return self._ctx
        hints = set()
        for deployment in self.kube.controller_deployments():
            for container in ((deployment.get("spec") or {}).get("template") or {}).get("spec", {}).get("containers") or []:
                for arg in container.get("args") or []:
                    if arg.startswith("--cluster-name="):
                        hints.add(arg.split("=", 1)[1])
        names = self.aws.paged("eks", "list_clusters", "clusters")
        described = {n: self.aws.eks.describe_cluster(name=n)["cluster"] for n in names}
        wanted = [n for n in sorted(hints) if n in described]
        if not wanted:
            wanted = [n for n, c in sorted(described.items()) if c.get("status") == "ACTIVE"]
        if len(wanted) != 1:
            why = "no ACTIVE EKS cluster" if not wanted else (
                f"several EKS clusters ({', '.join(wanted)}) and no controller Deployment "
                "(label app.kubernetes.io/name=aws-load-balancer-controller) naming one with --cluster-name")
            raise ModelError(f"cannot tell which cluster this is: {why} in the emulated AWS ({self.aws.region})",
                             "FailedDeployModel")
        cluster = described[wanted[0]]
        config = cluster.get("resourcesVpcConfig") or {}
        vpc_id = config.get("vpcId")
        if not vpc_id and config.get("subnetIds"):
            vpc_id = self.aws.ec2.describe_subnets(SubnetIds=config["subnetIds"][:1])["Subnets"][0]["VpcId"]
        if not vpc_id:
            raise ModelError(f"EKS cluster {cluster['name']} has no VPC", "FailedDeployModel")
        self._ctx = Context(cluster["name"], vpc_id)
        if self.last_cluster != cluster["name"]:
            self.last_cluster = cluster["name"]
            if self.state_file:
                self.state_file.write_text(json.dumps({"cluster": self.last_cluster}), encoding="utf-8")
        return self._ctx

    def cleanup_cluster(self) -> str | None:
        try:
            return self.context().cluster
        except ModelError:
            return self.last_cluster   # the cluster is gone: the controller still knows its --cluster-name

    # -- the loop body -------------------------------------------------------------------------------------
    def poll(self) -> None:
        self._ctx = None
        self._touched = {}
        live = set()
        services = self.kube.services()
        by_name = {(_meta(s).get("namespace"), _meta(s).get("name")): s for s in services}
        for svc in services:
            meta = _meta(svc)
            key = ("Service", meta["namespace"], meta["name"])
            live.add(key)
            entry = ("Service", meta["namespace"], meta["name"], meta.get("resourceVersion"))
            if is_supported_service(svc):
                self._visit(key, (entry + ("ensure",),), lambda svc=svc: self.ensure_service(svc), svc)
            elif SERVICE_FINALIZER in (meta.get("finalizers") or []):
                self._visit(key, (entry + ("cleanup",),), lambda svc=svc: self.cleanup_service(svc), svc)
        live |= self.poll_ingresses(by_name)
        for key in list(self.done):
            if key not in live:
                del self.done[key]
        for key in list(self.backoff):
            if key not in live:
                del self.backoff[key]

    def _refresh(self, fingerprint: tuple) -> tuple:
        """The fingerprint with the resourceVersions our own patches (finalizer, status) gave the objects."""
        return tuple((kind, ns, name, self._touched.get((kind, ns, name), rv), role) for kind, ns, name, rv, role in fingerprint)

    def _visit(self, key: tuple, fingerprint: tuple, action, obj: dict) -> None:
        """Reconcile key unless its fingerprint ((kind, namespace, name, resourceVersion, role) of every object it
        depends on) is what we last reconciled, or it failed with that fingerprint and its back-off has not run out."""
        if self.done.get(key) == fingerprint:
            return
        pending = self.backoff.get(key)
        if pending and pending[0] == fingerprint and self.clock() < pending[1]:
            return
        try:
            action()
            self.done[key] = self._refresh(fingerprint)
            self.backoff.pop(key, None)
        except ModelError as exc:
            self._failed(key, self._refresh(fingerprint), obj, exc.reason, str(exc))
        except Exception as exc:  # pylint: disable=broad-except  # AWS errors, conflicts: retried with back-off
            if is_transient(exc):
                raise
            self._failed(key, self._refresh(fingerprint), obj, "FailedDeployModel", f"{type(exc).__name__}: {exc}")

    def _failed(self, key: tuple, fingerprint: tuple, obj: dict, reason: str, message: str) -> None:
        previous = self.backoff.get(key)
        delay = min(previous[2] * 2, 60.0) if previous and previous[0] == fingerprint else 1.0
        self.backoff[key] = (fingerprint, self.clock() + delay, delay, message)
        self.done.pop(key, None)
        LOG.warning("%s %s/%s: %s: %s (retry in %.0f s)", key[0], key[1], key[2], reason, message, delay)
        if not previous or previous[3] != message:   # one event per distinct failure, as the recorder's aggregation
            self._event(obj, key[0] if key[0] != "IngressGroup" else "Ingress", "Warning", reason, message)

    def _event(self, obj: dict, kind: str, event_type: str, reason: str, message: str) -> None:
        try:
            self.kube.event(obj, kind, event_type, reason, message)
        except Exception as exc:  # pylint: disable=broad-except  # events are best effort, as the controller's
            if is_transient(exc):
                raise
            LOG.debug("event not recorded: %s", exc)

    # -- Services ------------------------------------------------------------------------------------------
    def _finalize(self, kind: str, obj: dict, finalizer: str, present: bool) -> dict:
        meta = _meta(obj)
        finalizers = list(meta.get("finalizers") or [])
        if (finalizer in finalizers) == present:
            return obj
        finalizers = finalizers + [finalizer] if present else [f for f in finalizers if f != finalizer]
        return self._patched(kind, self.kube.patch(kind, meta["namespace"], meta["name"], {
            "metadata": {"finalizers": finalizers, "resourceVersion": meta.get("resourceVersion")}}))

    def _patched(self, kind: str, obj: dict) -> dict:
        meta = _meta(obj)
        self._touched[(kind, meta.get("namespace"), meta.get("name"))] = meta.get("resourceVersion")
        return obj

    def _set_status(self, kind: str, obj: dict, hostname: str | None) -> dict:
        wanted = [{"hostname": hostname}] if hostname else []
        if _hostnames(obj) == [w["hostname"] for w in wanted]:
            return obj
        meta = _meta(obj)
        return self._patched(kind, self.kube.patch(kind, meta["namespace"], meta["name"],
                                                   {"status": {"loadBalancer": {"ingress": wanted}}}, status=True))

    def ensure_service(self, svc: dict) -> None:
        ctx = self.context()
        model = build_service_model(svc, ctx.cluster)
        svc = self._finalize("Service", svc, SERVICE_FINALIZER, True)
        before = len(self.aws.calls)
        lb = self.deployer.ensure(model, ctx)
        svc = self._set_status("Service", svc, lb["DNSName"])
        if len(self.aws.calls) > before:
            LOG.info("Service %s reconciled: %s (%s)", model.stack, lb["LoadBalancerName"], lb["DNSName"])
            self._event(svc, "Service", "Normal", "SuccessfullyReconciled", "Successfully reconciled")

    def cleanup_service(self, svc: dict) -> None:
        meta = _meta(svc)
        stack = f"{meta['namespace']}/{meta['name']}"
        if self.deployer.delete(SERVICE_STACK, stack, self.cleanup_cluster()):
            LOG.info("Service %s: load balancer resources deleted", stack)
        if not meta.get("deletionTimestamp") and _hostnames(svc):
            svc = self._set_status("Service", svc, None)
        self._finalize("Service", svc, SERVICE_FINALIZER, False)

    # -- Ingresses -----------------------------------------------------------------------------------------
    def poll_ingresses(self, services: dict) -> set:
        ingresses = self.kube.ingresses()
        if not ingresses:
            return set()
        classes = ingress_class_names(self.kube.ingress_classes())
        groups: dict[GroupID, dict] = {}
        for ing in ingresses:
            group = ingress_group(ing)
            entry = groups.setdefault(group, {"members": [], "leaving": []})
            if is_supported_ingress(ing, classes):
                entry["members"].append(ing)
            elif group.finalizer in (_meta(ing).get("finalizers") or []):
                entry["leaving"].append(ing)
        live = set()
        for group, entry in groups.items():
            if not entry["members"] and not entry["leaving"]:
                continue
            key = ("IngressGroup", group.namespace, group.name)
            live.add(key)
            namespaces = {_meta(i)["namespace"] for i in entry["members"]}
            fingerprint = tuple(sorted(("Ingress", _meta(i)["namespace"], _meta(i)["name"], _meta(i).get("resourceVersion"), role)
                                       for role in ("members", "leaving") for i in entry[role]))
            referenced = tuple(sorted(("Service", k[0], k[1], self._touched.get(("Service",) + k, _meta(s).get("resourceVersion")),
                                       "backend") for k, s in services.items() if k[0] in namespaces))
            obj = (entry["members"] or entry["leaving"])[0]
            self._visit(key, fingerprint + referenced,
                        lambda group=group, entry=entry, services=services: self.reconcile_group(group, entry, services), obj)
        return live

    def reconcile_group(self, group: GroupID, entry: dict, services: dict) -> None:
        members, leaving = entry["members"], entry["leaving"]
        if members:
            ctx = self.context()
            model = build_ingress_model(group, members, services, ctx.cluster)
            members = [self._finalize("Ingress", ing, group.finalizer, True) for ing in members]
            before = len(self.aws.calls)
            lb = self.deployer.ensure(model, ctx)
            for ing in members:
                self._set_status("Ingress", ing, lb["DNSName"])
            if len(self.aws.calls) > before:
                LOG.info("IngressGroup %s reconciled: %s (%s)", group, lb["LoadBalancerName"], lb["DNSName"])
                self._event(members[0], "Ingress", "Normal", "SuccessfullyReconciled", "Successfully reconciled")
        else:
            if self.deployer.delete(INGRESS_STACK, str(group), self.cleanup_cluster()):
                LOG.info("IngressGroup %s: load balancer resources deleted", group)
        for ing in leaving:
            if not _meta(ing).get("deletionTimestamp") and _hostnames(ing):
                ing = self._set_status("Ingress", ing, None)
            self._finalize("Ingress", ing, group.finalizer, False)


# ----------------------------------------------------------------------------------------------- process (for the launcher)

PID_FILE, LOG_FILE = "lbc-standin.pid", "lbc-standin.log"


def _owned(pid: int, state_dir: Path) -> bool:
    """The process is alive (not a zombie) and is this state dir's stand-in."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text(encoding="utf-8", errors="replace")
        cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().split(b"\0")
    except OSError:
        return False
    args = [a.decode("utf-8", "replace") for a in cmdline]
    return (stat.rsplit(") ", 1)[-1][:1] not in ("Z", "X") and any(a.endswith("lbc_standin.py") for a in args)
            and str(state_dir) in args)


def running(state_dir: Path) -> dict | None:
    """{"pid", "port", "kubeconfig"} of the stand-in of state_dir when it runs, else None."""
    state_dir = Path(state_dir).resolve()
    try:
        info = json.loads((state_dir / PID_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return info if isinstance(info, dict) and _owned(int(info.get("pid", 0)), state_dir) else None


def start_process(port: int, state_dir: Path, kubeconfig: Path) -> str:
    """Run the stand-in for the emulator on port and the kit of kubeconfig (idempotent); return what was done."""
    import subprocess  # pylint: disable=import-outside-toplevel

    state_dir = Path(state_dir).resolve()
    if os.environ.get("HUBOPS_LBC_STANDIN", "1") == "0":
        stop_process(state_dir)
        return "load balancer controller stand-in not started (HUBOPS_LBC_STANDIN=0)"
    current = running(state_dir)
    if current and current.get("port") == port and current.get("kubeconfig") == str(kubeconfig):
        return f"load balancer controller stand-in already running (pid {current['pid']}, log {state_dir / LOG_FILE})"
    stop_process(state_dir)
    with open(state_dir / LOG_FILE, "ab") as log:
        proc = subprocess.Popen(  # pylint: disable=consider-using-with
            [sys.executable, str(Path(__file__).resolve()), "--endpoint", f"http://127.0.0.1:{port}", "--kubeconfig",
             str(kubeconfig), "--state-dir", str(state_dir)],
            stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL, start_new_session=True)
    (state_dir / PID_FILE).write_text(json.dumps({"pid": proc.pid, "port": port, "kubeconfig": str(kubeconfig)}), encoding="utf-8")
    return f"load balancer controller stand-in started (pid {proc.pid}, log {state_dir / LOG_FILE})"


def stop_process(state_dir: Path, timeout: float = 5.0) -> bool:
    """Stop the stand-in of state_dir (SIGTERM, then SIGKILL); True when one was running."""
    state_dir = Path(state_dir).resolve()
    current = running(state_dir)
    (state_dir / PID_FILE).unlink(missing_ok=True)
    if not current:
        return False
    pid = int(current["pid"])
    try:
        os.kill(pid, signal.SIGTERM)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline and _owned(pid, state_dir):
            time.sleep(0.1)
        if _owned(pid, state_dir):
            os.kill(pid, signal.SIGKILL)
    except ProcessLookupError:
        pass
    return True


# ----------------------------------------------------------------------------------------------- main

def _healthy(endpoint: str) -> bool:
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint.rstrip("/") + "/_hubops/health", timeout=2) as resp:
            return resp.status == 200
    except OSError:
        return False


def run(args) -> int:
    stop = threading.Event()

    def on_signal(*_args):
        stop.set()

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)
    for key in ("AWS_PROFILE", "AWS_DEFAULT_PROFILE", "AWS_ENDPOINT_URL"):
        os.environ.pop(key, None)
    kubeconfig = Path(args.kubeconfig)
    state_file = Path(args.state_dir) / "lbc-standin.json" if args.state_dir else None
    controller = Controller(None, Aws(args.endpoint, args.region), args.delete_delay, state_file)
    LOG.info("AWS Load Balancer Controller stand-in: kit %s, emulated AWS %s (%s), every %.1f s", kubeconfig, args.endpoint,
             args.region, args.interval)
    misses, down = 0, False
    while not stop.is_set():
        if not kubeconfig.exists():
            LOG.info("the kit's kubeconfig %s is gone: stopping", kubeconfig)
            return 0
        if args.endpoint and not _healthy(args.endpoint):
            misses += 1
            if misses >= args.give_up:
                LOG.info("the emulated AWS at %s does not answer: stopping", args.endpoint)
                return 0
            stop.wait(args.interval)
            continue
        misses = 0
        try:
            if controller.kube is None:
                controller.kube = Kube(str(kubeconfig))
            controller.poll()
            if down:
                LOG.info("the API server answers again")
                down = False
        except Exception as exc:  # pylint: disable=broad-except  # the loop must survive the API server going away
            if not is_transient(exc) and not isinstance(exc, (ValueError, KeyError)):
                LOG.exception("poll failed")
            elif not down:
                LOG.info("the API server does not answer (%s); waiting", type(exc).__name__)
            down = True
            controller.kube = None
        stop.wait(args.interval)
    LOG.info("stopped")
    return 0


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--endpoint", default=os.environ.get("AWS_ENDPOINT_URL"), help="the emulated AWS (the proxy)")
    parser.add_argument("--kubeconfig", required=True, help="the kit's kubeconfig")
    parser.add_argument("--region", default=os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION") or "us-east-1")
    parser.add_argument("--state-dir", default=None, help="remembers the cluster name across restarts")
    parser.add_argument("--interval", type=float, default=1.0, help="seconds between polls")
    parser.add_argument("--delete-delay", type=float, default=1.0, help="seconds between deleting a load balancer and "
                        "its target groups, security group and finalizer")
    parser.add_argument("--give-up", type=int, default=5, help="stop after this many polls without the emulated AWS")
    args = parser.parse_args(argv)
    logging.basicConfig(level=logging.INFO, stream=sys.stderr, format="%(asctime)s %(levelname)s %(message)s")
    logging.getLogger("botocore").setLevel(logging.WARNING)
    logging.getLogger("urllib3").setLevel(logging.ERROR)
    logging.getLogger("kubernetes").setLevel(logging.WARNING)
    return run(args)


if __name__ == "__main__":
    sys.exit(main())
