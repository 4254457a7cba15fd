#!/usr/bin/python
# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)

from __future__ import absolute_import, division, print_function

__metaclass__ = type

DOCUMENTATION = r"""
---
module: alb_dns
short_description: Point a Route53 name at the load balancer behind a Kubernetes Service or Ingress, and keep it there
version_added: 0.1.0
description:
  - Reads the Service (type C(LoadBalancer)) or Ingress O(namespace)/O(service) or O(namespace)/O(ingress), waits for
    its C(status.loadBalancer.ingress[0].hostname), finds the Elastic Load Balancing v2 load balancer with that DNS name,
    checks from its tags that the AWS Load Balancer Controller made it for this object (C(elbv2.k8s.aws/cluster) set,
    C(service.k8s.aws/stack) or C(ingress.k8s.aws/stack) equal to C(<namespace>/<name>), or to the IngressGroup name of an
    Ingress in an explicit group), and waits until it is C(active).
  - Then writes in the Route53 hosted zone O(zone) (or O(zone_id)) an alias C(A) record O(domain) -> the load balancer
    (its canonical hosted zone, target health evaluated), an alias C(AAAA) record when the load balancer is dualstack
    (and removes ours when it is not), and the ownership record, and waits until Route53 reports the change C(INSYNC).
  - The alias target is C(dualstack.<DNS name>) for an Application Load Balancer (what the Route53 console writes and
    AWS recommends, so that the AAAA alias answers IPv6) and the load balancer's DNS name for a Network Load Balancer
    (whose own name answers AAAA when it is dualstack).
  - Ownership, as external-dns does it, in a TXT record on its own name C(hubops-owner.<domain>) with the value
    C("heritage=hubops,hubops/owner=<owner>,hubops/resource=<service|ingress>/<namespace>/<name>"). Records on O(domain)
    that the ownership record does not give to O(owner) (a hand-made alias, another deployment's, a CNAME) are never
    replaced without O(force=true); the module fails, naming them, before it changes anything.
  - Run it on every converge. When the Service or Ingress is recreated and the controller makes a new load balancer,
    the next run moves the alias to it. Only what differs is written, so a re-run with nothing to do changes nothing
    and makes no mutating AWS call.
  - With O(state=absent) and no such zone, does nothing (there is nowhere our records could be).
  - With O(state=absent), deletes the C(A)/C(AAAA) records of O(domain) and the ownership record, only when the ownership
    record names O(owner); otherwise it leaves everything and warns. The Service need not exist.
  - Reports whether O(domain) already resolves to the load balancer's addresses (a short, non-fatal lookup).
  - Supports check mode and diff mode (the records before and after). In check mode nothing is waited for; when the
    Service, its host name or the load balancer is not there yet (or the kubeconfig does not exist yet), the module says
    so in a warning and reports what it can.
author:
  - hubops.eks contributors (@hubops)
requirements:
  - kubernetes >= 24.2.0
options:
  kubeconfig:
    description: Path of the kubeconfig; default the client's usual lookup (C(KUBECONFIG), C(~/.kube/config)).
    type: path
  context:
    description: Kubeconfig context to use; default its current context.
    type: str
  namespace:
    description: Namespace of the Service or Ingress. Required with O(state=present).
    type: str
  service:
    description:
      - Name of the Service of type C(LoadBalancer) whose load balancer the name points at (z2jh C(proxy-public)).
      - With O(state=present), exactly one of O(service) and O(ingress).
    type: str
  ingress:
    description: Name of the Ingress whose Application Load Balancer the name points at.
    type: str
  domain:
    description: The host name pointed at the load balancer, for example C(hub.example.org); must be inside the zone.
    type: str
    required: true
  zone:
    description: Name of the public Route53 hosted zone holding O(domain), for example C(example.org). Exactly one of O(zone) and O(zone_id).
    type: str
  zone_id:
    description: Id of the Route53 hosted zone holding O(domain) (C(Z0123...) or C(/hostedzone/Z0123...)); may be a private zone.
    type: str
  owner:
    description:
      - Who owns the records, written into the ownership record; the deployment name. Records owned by another owner
        are not touched without O(force).
    type: str
    required: true
  force:
    description:
      - Take over records on O(domain) (C(A), C(AAAA), C(CNAME)) or its ownership record that O(owner) does not own,
        and replace them with ours. Without it the module fails, naming them.
    type: bool
    default: false
  wait_timeout:
    description:
      - Seconds to wait for the object's host name and its load balancer to be C(active), and again for Route53 to
        report the change C(INSYNC).
    type: int
    default: 600
  state:
    description: C(present) writes the records; C(absent) deletes the ones O(owner) owns.
    type: str
    choices: [present, absent]
    default: present
extends_documentation_fragment:
  - amazon.aws.common.modules
  - amazon.aws.region.modules
  - amazon.aws.boto3
"""

EXAMPLES = r"""
- name: Point hub.example.org at the load balancer of the hub's proxy Service
  hubops.eks.alb_dns:
    kubeconfig: build/dandi/kubeconfig
    namespace: jupyterhub
    service: proxy-public
    domain: hub.example.org
    zone: example.org
    owner: dandi
  register: hub_dns

- name: The same for an ALB made from the hub's Ingress, taking over a hand-made alias once
  hubops.eks.alb_dns:
    kubeconfig: build/dandi/kubeconfig
    namespace: jupyterhub
    ingress: jupyterhub
    domain: hub.example.org
    zone_id: Z0123456789ABCDEFGHIJ
    owner: dandi
    force: true

- name: Remove the records (only if they are dandi's)
  hubops.eks.alb_dns:
    domain: hub.example.org
    zone: example.org
    owner: dandi
    state: absent
"""

RETURN = r"""
hostname:
  description: The host name in the object's C(status.loadBalancer.ingress[0]).
  returned: when state=present and the load balancer was found
  type: str
  sample: k8s-jupyterh-proxypub-0a1b2c3d4e-0123456789abcdef.elb.us-east-2.amazonaws.com
load_balancer_arn:
  description: ARN of the load balancer.
  returned: when state=present and the load balancer was found
  type: str
load_balancer_name:
  description: Name of the load balancer.
  returned: when state=present and the load balancer was found
  type: str
  sample: k8s-jupyterh-proxypub-0a1b2c3d4e
load_balancer_type:
  description: C(network) or C(application).
  returned: when state=present and the load balancer was found
  type: str
ip_address_type:
  description: The load balancer's IP address type (C(ipv4), C(dualstack)...); an AAAA alias exists for dualstack.
  returned: when state=present and the load balancer was found
  type: str
dns_name:
  description: The load balancer's DNS name.
  returned: when state=present and the load balancer was found
  type: str
canonical_hosted_zone_id:
  description: The load balancer's canonical hosted zone, the alias target's hosted zone.
  returned: when state=present and the load balancer was found
  type: str
  sample: ZLMOA37VPKANP
zone_id:
  description: Id of the hosted zone written to.
  returned: always
  type: str
  sample: Z0123456789ABCDEFGHIJ
zone_name:
  description: Name of the hosted zone.
  returned: always
  type: str
  sample: example.org
owner_record:
  description: Name of the ownership TXT record.
  returned: always
  type: str
  sample: hubops-owner.hub.example.org
records:
  description:
    - What the zone now holds for O(domain) and its ownership record (in check mode, what it would hold), each with
      C(name), C(type), and C(alias) (C(hosted_zone_id), C(dns_name), C(evaluate_target_health)) or C(ttl) and C(values).
  returned: always
  type: list
  elements: dict
  sample: [{"name": "hub.example.org", "type": "A", "alias": {"hosted_zone_id": "ZLMOA37VPKANP",
            "dns_name": "k8s-jupyterh-proxypub-0a1b2c3d4e-0123456789abcdef.elb.us-east-2.amazonaws.com",
            "evaluate_target_health": true}}]
actions:
  description: The record changes made (in check mode, that would be made).
  returned: always
  type: list
  elements: str
  sample: ["UPSERT hub.example.org A alias -> k8s-jupyterh-proxypub-0a1b2c3d4e-0123456789abcdef.elb.us-east-2.amazonaws.com"]
change_id:
  description: Id of the Route53 change, when one was made.
  returned: when changed and not in check mode
  type: str
resolves:
  description: Whether O(domain) resolves, from where the module runs, to addresses of the load balancer's DNS name.
  returned: when state=present and the load balancer was found
  type: bool
resolves_msg:
  description: What the lookup found, and what to check when it is not what it should be.
  returned: when state=present and the load balancer was found
  type: str
diff:
  description: The records before and after.
  returned: in diff mode
  type: dict
"""

import json
import socket
import threading
import time
import traceback

try:
    import botocore
except ImportError:
    pass  # handled by AnsibleAWSModule

from ansible.module_utils.basic import missing_required_lib

from ansible_collections.amazon.aws.plugins.module_utils.botocore import is_boto3_error_code
from ansible_collections.amazon.aws.plugins.module_utils.retries import AWSRetry
from ansible_collections.hubops.eks.plugins.module_utils import alb_dns as D
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule

try:
    from kubernetes import client as k8s_client
    from kubernetes import config as k8s_config
    from kubernetes.client.exceptions import ApiException
    HAS_KUBERNETES = True
    KUBERNETES_IMPORT_ERROR = None
except ImportError:
    HAS_KUBERNETES = False
    KUBERNETES_IMPORT_ERROR = traceback.format_exc()

    class ApiException(Exception):  # so that `except ApiException` still compiles
        status = None

POLL_SECONDS = 5
RESOLVE_SECONDS = 3
READY_STATES = ("active", "active_impaired")
KIND_TITLE = {"service": "Service", "ingress": "Ingress"}


# ----------------------------------------------------------------------------------------------------------------------
# Kubernetes


class Kube(object):
    """The few reads the module makes, objects as plain dicts."""

    def __init__(self, api_client):
        self.core = k8s_client.CoreV1Api(api_client)
        self.networking = k8s_client.NetworkingV1Api(api_client)

    def get(self, kind, namespace, name):
        read = self.core.read_namespaced_service if kind == "service" else self.networking.read_namespaced_ingress
        try:
            return json.loads(read(name, namespace, _preload_content=False).data)
        except ApiException as exc:
            if exc.status == 404:
                return None
            raise

    def names(self, kind, namespace):
        """Names of the LoadBalancer Services (or of the Ingresses) of the namespace, for messages."""
        if kind == "service":
            items = json.loads(self.core.list_namespaced_service(namespace, _preload_content=False).data).get("items") or []
            items = [i for i in items if (i.get("spec") or {}).get("type") == "LoadBalancer"]
        else:
            items = json.loads(self.networking.list_namespaced_ingress(namespace, _preload_content=False).data).get("items") or []
        return sorted(i["metadata"]["name"] for i in items)


def connect_kube(kubeconfig, context):
    return Kube(k8s_config.new_client_from_config(config_file=kubeconfig, context=context))


def _api_message(exc):
    try:
        return json.loads(exc.body).get("message") or str(exc)
    except (TypeError, ValueError, AttributeError):
        return "%s %s" % (exc.status, getattr(exc, "reason", ""))


# ----------------------------------------------------------------------------------------------------------------------
# Route53


@AWSRetry.jittered_backoff(retries=10, catch_extra_error_codes=["PriorRequestNotComplete"])
def _change_records(client, **kwargs):
    return client.change_resource_record_sets(**kwargs)


class Route53(object):
    def __init__(self, module, client):
        self.module = module
        self.client = client

    def find_zone(self):
        """The hosted zone named by zone_id or zone, or fail saying which option is wrong and how to fix it."""
        params = self.module.params
        if params["zone_id"]:
            wanted = D.zone_id(params["zone_id"])
            try:
                return self.client.get_hosted_zone(Id=wanted)["HostedZone"]
            except is_boto3_error_code(["NoSuchHostedZone", "InvalidInput"]):
                self.module.fail_json(msg="zone_id '%s': this account has no Route53 hosted zone with that id. Fix: set zone_id "
                                          "to the id of the hosted zone holding %s (aws route53 list-hosted-zones-by-name), "
                                          "or give zone (its name) instead. Nothing was changed." % (params["zone_id"], params["domain"]))
        name = D.dns_name(params["zone"])
        found, kwargs = [], {"DNSName": name, "MaxItems": "100"}
        while True:
            page = self.client.list_hosted_zones_by_name(**kwargs)
            zones = page.get("HostedZones") or []
            found.extend(z for z in zones if D.dns_name(z["Name"]) == name)
            if not page.get("IsTruncated") or not zones or D.dns_name(zones[-1]["Name"]) != name:
                break
            kwargs = {"DNSName": page["NextDNSName"], "HostedZoneId": page["NextHostedZoneId"], "MaxItems": "100"}
        public = [z for z in found if not (z.get("Config") or {}).get("PrivateZone")]
        if len(public) == 1:
            return public[0]
        if len(public) > 1:
            self.module.fail_json(msg="zone '%s': %d public hosted zones have that name (%s). Fix: give zone_id, the id of the one "
                                      "the registrar delegates to (its NS records). Nothing was changed."
                                      % (params["zone"], len(public), ", ".join(D.zone_id(z["Id"]) for z in public)))
        private = [D.zone_id(z["Id"]) for z in found]
        if private:
            self.module.fail_json(msg="zone '%s': only a private hosted zone has that name (%s). Fix: give the public zone holding "
                                      "%s, or zone_id to write into the private one on purpose. Nothing was changed."
                                      % (params["zone"], ", ".join(private), params["domain"]))
        if self.module.params["state"] == "absent":
            return None  # no zone, so no records of ours to remove
        self.module.fail_json(msg="zone '%s': this account has no public Route53 hosted zone of that name. Fix: set zone to the "
                                  "hosted zone that holds %s (aws route53 list-hosted-zones-by-name), or give zone_id. "
                                  "Nothing was changed." % (params["zone"], params["domain"]))

    def records_at(self, zone, name):
        """Every record set named exactly `name` (any type), as Route53 lists them."""
        name = D.dns_name(name)
        out = []
        kwargs = {"HostedZoneId": zone, "StartRecordName": name, "MaxItems": "100"}
        while True:
            page = self.client.list_resource_record_sets(**kwargs)
            for rrset in page.get("ResourceRecordSets") or []:
                if D.dns_name(rrset.get("Name")) != name:
                    return out
                out.append(rrset)
            if not page.get("IsTruncated"):
                return out
            kwargs = {"HostedZoneId": zone, "StartRecordName": page["NextRecordName"], "StartRecordType": page["NextRecordType"],
                      "MaxItems": "100"}
            if page.get("NextRecordIdentifier"):
                kwargs["StartRecordIdentifier"] = page["NextRecordIdentifier"]

    def change(self, zone, changes, comment):
        batch = {"Comment": comment, "Changes": [{"Action": action, "ResourceRecordSet": rrset} for action, rrset in changes]}
        return _change_records(self.client, HostedZoneId=zone, ChangeBatch=batch)["ChangeInfo"]

    def wait_insync(self, info, timeout):
        """The change's last status: INSYNC, or PENDING when wait_timeout passed first."""
        deadline = time.monotonic() + timeout
        while info.get("Status") != "INSYNC" and time.monotonic() < deadline:
            time.sleep(POLL_SECONDS)
            info = self.client.get_change(Id=info["Id"])["ChangeInfo"]
        return info.get("Status")


# ----------------------------------------------------------------------------------------------------------------------
# Elastic Load Balancing v2


class Balancers(object):
    def __init__(self, client):
        self.client = client

    def all(self):
        return self.client.get_paginator("describe_load_balancers").paginate().build_full_result().get("LoadBalancers") or []

    def by_arn(self, arn):
        try:
            found = self.client.describe_load_balancers(LoadBalancerArns=[arn]).get("LoadBalancers") or []
        except is_boto3_error_code("LoadBalancerNotFound"):
            return None
        return found[0] if found else None

    def by_dns(self, hostname):
        wanted = D.bare_lb_name(hostname)
        return next((lb for lb in self.all() if D.dns_name(lb.get("DNSName")) == wanted), None)

    def tags(self, arns):
        out = {}
        for start in range(0, len(arns), 20):
            for item in self.client.describe_tags(ResourceArns=arns[start:start + 20]).get("TagDescriptions") or []:
                out[item["ResourceArn"]] = dict((t["Key"], t.get("Value", "")) for t in item.get("Tags") or [])
        return out


def describe_lb(lb, tags):
    return "%s (%s, DNS name %s, tags %s)" % (lb["LoadBalancerName"], (lb.get("State") or {}).get("Code"), lb.get("DNSName"),
                                              json.dumps(tags, sort_keys=True))


# ----------------------------------------------------------------------------------------------------------------------
# The Service or Ingress and its load balancer


class NotReady(Exception):
    """Check mode only: the object or its load balancer is not there to look at."""


class Target(object):
    def __init__(self, module, connect, balancers):
        params = module.params
        self.module = module
        self.connect = connect
        self.kube = None
        self.balancers = balancers
        self.kind = "service" if params["service"] else "ingress"
        self.namespace = params["namespace"]
        self.name = params[self.kind]
        self.label = "%s %s/%s" % (KIND_TITLE[self.kind], self.namespace, self.name)
        self.waiting = None
        self.hostname = None
        self.lb = None

    def fail(self, msg, **kwargs):
        self.module.fail_json(msg=msg + " Nothing was changed.", **kwargs)

    def _kube(self):
        if self.kube is None:
            params = self.module.params
            try:
                self.kube = self.connect(params["kubeconfig"], params["context"])
            except Exception as exc:  # pylint: disable=broad-except
                if self.module.check_mode:
                    raise NotReady("the kubeconfig %s cannot be loaded (%s)" % (params["kubeconfig"] or "(default)", exc))
                self.fail("Cannot load the kubeconfig %s: %s." % (params["kubeconfig"] or "(default)", exc))
        return self.kube

    def _object(self):
        kube = self._kube()
        obj, listed = None, []
        try:
            obj = kube.get(self.kind, self.namespace, self.name)
            if obj is None:
                listed = kube.names(self.kind, self.namespace)
        except ApiException as exc:
            self.fail("Cannot read %s: Kubernetes API error %s." % (self.label, _api_message(exc)), status=exc.status)
        if obj is None:
            what = "LoadBalancer Services" if self.kind == "service" else "Ingresses"
            msg = "%s not found (%s in namespace %s: %s)" % (self.label, what, self.namespace, ", ".join(listed) or "none")
            if self.module.check_mode:
                raise NotReady(msg)
            self.fail(msg + ". Fix: set namespace and %s to the object of the hub's load balancer (z2jh: Service proxy-public in "
                      "the hub's namespace)." % self.kind)
        if self.kind == "service" and (obj.get("spec") or {}).get("type") != "LoadBalancer":
            self.fail("%s is of type %s, so no load balancer is made for it. Fix: make it type LoadBalancer (z2jh: "
                      "proxy.service.type), or point alb_dns at the Ingress (ingress:) when the hub is reached through an ALB."
                      % (self.label, (obj.get("spec") or {}).get("type")))
        return obj

    def observe(self):
        """One look at the object and its load balancer: the load balancer when it is ready, else None (self.waiting says why)."""
        obj = self._object()
        status_lb = (obj.get("status") or {}).get("loadBalancer") or {}
        hostname = ((status_lb.get("ingress") or [{}])[0] or {}).get("hostname")
        if not hostname:
            self.waiting = "%s has no status.loadBalancer.ingress[0].hostname yet (status.loadBalancer: %s)" % (
                self.label, json.dumps(status_lb, sort_keys=True))
            return None
        self.hostname = hostname
        lb = None
        if self.lb is not None and D.dns_name(self.lb.get("DNSName")) == D.bare_lb_name(hostname):
            lb = self.balancers.by_arn(self.lb["LoadBalancerArn"])
        if lb is None:
            lb = self.balancers.by_dns(hostname)
        self.lb = lb
        if lb is None:
            self.waiting = ("%s reports the host name %s, but no Elastic Load Balancing v2 load balancer in this region has that "
                            "DNS name" % (self.label, hostname))
            return None
        tags = self.balancers.tags([lb["LoadBalancerArn"]]).get(lb["LoadBalancerArn"], {})
        problems = D.tag_problems(tags, self.kind, D.accepted_stacks(self.kind, self.namespace, self.name,
                                                                     (obj.get("metadata") or {}).get("annotations")))
        if problems:
            self.fail("The load balancer %s (%s) has the DNS name %s reports, but its tags do not show that the AWS Load Balancer "
                      "Controller made it for %s: %s. Its tags: %s. Fix: check what made it (another controller, or a hand-made "
                      "load balancer whose name was copied into the status), and that namespace and %s name the right object."
                      % (lb["LoadBalancerName"], lb["LoadBalancerArn"], self.label, self.label, "; ".join(problems),
                         json.dumps(tags, sort_keys=True), self.kind), load_balancer_arn=lb["LoadBalancerArn"])
        state = (lb.get("State") or {}).get("Code")
        if state == "failed":
            self.fail("The load balancer %s of %s is in state failed (%s). Fix: see the AWS Load Balancer Controller's log; "
                      "deleting the %s lets the controller make a new one." % (lb["LoadBalancerName"], self.label,
                                                                               (lb.get("State") or {}).get("Reason", "no reason given"), self.kind))
        if state not in READY_STATES:
            self.waiting = "the load balancer %s of %s is %s" % (lb["LoadBalancerName"], self.label, state)
            return None
        if state == "active_impaired":
            self.module.warn("The load balancer %s is active_impaired: it routes traffic but cannot scale; the alias points at it anyway."
                             % lb["LoadBalancerName"])
        return lb

    def wait(self, timeout):
        """The ready load balancer, waiting up to `timeout` seconds (check mode: one look, NotReady when not ready)."""
        deadline = time.monotonic() + timeout
        while True:
            lb = self.observe()
            if lb is not None:
                return lb
            if self.module.check_mode:
                raise NotReady(self.waiting)
            if time.monotonic() >= deadline:
                self.fail(self.timeout_message(timeout))
            time.sleep(POLL_SECONDS)

    def timeout_message(self, timeout):
        key = D.STACK_TAGS[self.kind]
        stack = "%s/%s" % (self.namespace, self.name)
        try:
            every = self.balancers.all()
            tags = self.balancers.tags([lb["LoadBalancerArn"] for lb in every])
            tagged = [describe_lb(lb, tags.get(lb["LoadBalancerArn"], {})) for lb in every
                      if tags.get(lb["LoadBalancerArn"], {}).get(key) == stack]
            seen = "; ".join(tagged) or "none (of %d in the region)" % len(every)
        except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
            seen = "unknown (%s)" % exc
        return ("%s: no active load balancer after %d s. Last seen: %s. Load balancers tagged %s=%s: %s. Fix: check the AWS Load "
                "Balancer Controller (kubectl -n kube-system logs deployment/aws-load-balancer-controller) and the %s's events "
                "(kubectl -n %s describe %s %s); re-run to keep waiting."
                % (self.label, timeout, self.waiting, key, stack, seen, self.kind, self.namespace, self.kind, self.name))


# ----------------------------------------------------------------------------------------------------------------------
# Ownership and the plan


class Claim(object):
    """Who the records of the domain belong to, from its ownership record."""

    def __init__(self, current, owner_rrsets, owner):
        self.txt = next((r for r in owner_rrsets if r.get("Type") == "TXT" and D.is_simple(r)), None)
        labels = D.parse_owner(self.txt)
        self.txt_owner = labels.get(D.OWNER_KEY) if labels else None
        self.txt_resource = labels.get(D.RESOURCE_KEY) if labels else None
        self.ours = self.txt_owner == owner
        # what would stop the TXT record from being written: a CNAME, or TXT records with a routing policy
        beside_txt = [r for r in owner_rrsets if r is not self.txt and r.get("Type") in ("CNAME", "TXT")]
        address = [r for r in current if r.get("Type") in D.ADDRESS_TYPES + ("CNAME",)]
        if self.ours:
            self.foreign = [r for r in address if not (r["Type"] in D.ADDRESS_TYPES and D.is_simple(r))] + beside_txt
        else:
            self.foreign = address + beside_txt
        self.foreign_txt = self.txt is not None and not self.ours
        self.blocked = bool(self.foreign) or self.foreign_txt

    def ownership(self, owner_name, owner):
        if self.txt is None:
            return "there is no ownership record %s (TXT)" % owner_name
        if self.txt_owner is None:
            return "the TXT record %s is not a hubops ownership record (%s)" % (owner_name, D.describe_record(self.txt))
        if not self.ours:
            return "the ownership record %s names owner '%s' (%s), not '%s'" % (owner_name, self.txt_owner, self.txt_resource, owner)
        return "the ownership record %s names owner '%s'" % (owner_name, owner)


def plan_present(current, owner_rrsets, wanted, claim):
    """(action, record set) changes that make the zone hold `wanted`; DELETEs first, sent as read (Route53 wants exact values)."""
    # in the way (reached only when they are ours or with force): CNAMEs and record sets with a routing policy; simple
    # A/AAAA record sets are replaced (UPSERT) or deleted below
    deletes = [("DELETE", r) for r in claim.foreign if not (r.get("Type") in D.ADDRESS_TYPES and D.is_simple(r))]
    upserts = []
    simple = dict((r["Type"], r) for r in current if r.get("Type") in D.ADDRESS_TYPES and D.is_simple(r))
    for record_type in D.ADDRESS_TYPES:
        have, want = simple.get(record_type), wanted.get(record_type)
        if want is not None and not D.same_record(have, want):
            upserts.append(("UPSERT", want))
        elif want is None and have is not None:
            deletes.append(("DELETE", have))
    if not D.same_record(claim.txt, wanted["TXT"]):
        upserts.append(("UPSERT", wanted["TXT"]))
    return deletes + upserts


def predict(rrsets, changes):
    """The record sets after the changes."""
    def key(rrset):
        return (D.dns_name(rrset.get("Name")), rrset.get("Type"), rrset.get("SetIdentifier"))

    after = list(rrsets)
    for action, rrset in changes:
        after = [r for r in after if key(r) != key(rrset)]
        if action != "DELETE":
            after.append(rrset)
    return after


def describe_change(action, rrset):
    return "%s %s" % (action, D.describe_record(rrset))


def _lookup(names, timeout):
    """{name: (sorted addresses, error)} from getaddrinfo, bounded by `timeout` seconds (lookups run in threads)."""
    results = {}

    def look(name):
        try:
            infos = socket.getaddrinfo(name, None, 0, socket.SOCK_STREAM)
            results[name] = (sorted(set(info[4][0] for info in infos)), None)
        except (socket.error, UnicodeError) as exc:
            results[name] = ([], str(exc))

    threads = [threading.Thread(target=look, args=(name,)) for name in names]
    end = time.time() + timeout
    for thread in threads:
        thread.daemon = True
        thread.start()
    for thread in threads:
        thread.join(max(0.0, end - time.time()))
    return dict((name, results.get(name, ([], "no answer within %d s" % timeout))) for name in names)


def resolution(domain, lb_name):
    """(resolves, message): whether the domain resolves to addresses the load balancer's DNS name resolves to."""
    found = _lookup([domain, lb_name], RESOLVE_SECONDS)
    have, have_error = found[domain]
    lb_addresses, lb_error = found[lb_name]
    if not have:
        if lb_addresses:
            lb_said = "resolves to %s" % ", ".join(lb_addresses)
        else:
            lb_said = "does not resolve either (%s)" % lb_error
        return False, ("%s does not resolve (yet) from here (%s); the load balancer's name %s %s. Route53 holds the records: a new "
                       "name can take a few minutes (and the negative-caching TTL of the zone's SOA record) to resolve, and never "
                       "will if the parent zone or registrar does not delegate to this hosted zone's name servers."
                       % (domain, have_error, lb_name, lb_said))
    if not lb_addresses:
        return False, ("%s resolves to %s, but the load balancer's name %s does not resolve (%s): a new load balancer takes a few "
                       "minutes to appear in DNS." % (domain, ", ".join(have), lb_name, lb_error))
    if set(have) & set(lb_addresses):
        return True, "%s resolves to %s, addresses of the load balancer %s." % (domain, ", ".join(have), lb_name)
    return False, ("%s resolves to %s, not to the load balancer %s (%s): resolvers may still cache the old answer (record TTL), or "
                   "the registrar delegates the name to other name servers." % (domain, ", ".join(have), lb_name, ", ".join(lb_addresses)))


# ----------------------------------------------------------------------------------------------------------------------


def validate(params):
    problems = D.domain_problems(params["domain"]) + D.owner_problems(params["owner"])
    if params["wait_timeout"] < 0:
        problems.append("wait_timeout must be 0 or more seconds.")
    if params["zone"] is not None and not D.dns_name(params["zone"]):
        problems.append("zone is empty. Fix: give the hosted zone's name (example.org) or zone_id.")
    return problems


class AlbDns(object):
    def __init__(self, module, route53):
        self.module = module
        self.params = module.params
        self.route53 = route53
        self.domain = D.dns_name(self.params["domain"])
        self.owner_name = D.owner_record_name(self.domain)
        self.result = {"owner_record": self.owner_name, "actions": [], "changed": False}
        self.step = "read the hosted zone and its records"

    def read(self):
        zone = self.route53.find_zone()
        if zone is None:
            self.zone = None
            return
        self.zone = D.zone_id(zone["Id"])
        zone_name = D.dns_name(zone["Name"])
        self.result.update(zone_id=self.zone, zone_name=zone_name)
        if not D.in_zone(self.domain, zone_name):
            option = "zone_id" if self.params["zone_id"] else "zone"
            self.module.fail_json(msg="domain %s is not inside the hosted zone %s (%s, from %s). Fix: set %s to the hosted zone whose "
                                      "name %s ends with, or correct domain. Nothing was changed."
                                      % (self.domain, zone_name, self.zone, option, option, self.domain), **self.result)
        self.current = self.route53.records_at(self.zone, self.domain)
        self.owner_rrsets = self.route53.records_at(self.zone, self.owner_name)
        self.claim = Claim(self.current, self.owner_rrsets, self.params["owner"])
        self.before = self.current + self.owner_rrsets

    def refuse_foreign(self):
        claim = self.claim
        parts = []
        if claim.foreign:
            parts.append("%s already has records %s does not own: %s" % (
                self.domain, self.params["owner"], "; ".join(D.describe_record(r) for r in claim.foreign)))
        parts.append(claim.ownership(self.owner_name, self.params["owner"]))
        self.module.fail_json(msg="Refusing to change DNS: %s. Nothing was changed. Fix: if the name is not in use elsewhere, re-run "
                                  "with force: true (inventory: hubops_hub.ingress.force_dns: true) to take it over for %s; "
                                  "otherwise choose another domain." % ("; ".join(parts), self.params["owner"]),
                              records=[D.record_view(r) for r in self.before], **self.result)

    def apply(self, changes):
        self.result["actions"] = [describe_change(action, rrset) for action, rrset in changes]
        self.result["changed"] = bool(changes)
        after = predict(self.before, changes)
        if changes and not self.module.check_mode:
            self.step = "write the records"
            info = self.route53.change(self.zone, changes, "hubops.eks.alb_dns for %s" % self.params["owner"])
            self.result["change_id"] = D.zone_id(info["Id"])
            status = self.route53.wait_insync(info, self.params["wait_timeout"])
            if status != "INSYNC":
                self.module.warn("Route53 change %s is still %s after %d s; the records are written and will reach every Route53 "
                                 "name server shortly." % (self.result["change_id"], status, self.params["wait_timeout"]))
            after = self.route53.records_at(self.zone, self.domain) + self.route53.records_at(self.zone, self.owner_name)
        self.result["records"] = [D.record_view(r) for r in after]
        if self.module._diff:
            self.result["diff"] = {"before": {"records": [D.record_view(r) for r in self.before]},
                                   "after": {"records": [D.record_view(r) for r in after]}}

    def absent(self):
        if self.zone is None:
            self.result["msg"] = "zone %s does not exist: no records to remove" % self.params["zone"]
            return
        if not self.claim.ours:
            self.module.warn("Left the records of %s alone: %s." % (self.domain, self.claim.ownership(self.owner_name, self.params["owner"])))
            self.apply([])
            return
        changes = [("DELETE", r) for r in self.current if r.get("Type") in D.ADDRESS_TYPES and D.is_simple(r)]
        changes.append(("DELETE", self.claim.txt))
        self.apply(changes)

    def present(self, target):
        if self.claim.blocked and not self.params["force"]:
            self.refuse_foreign()
        self.step = "find the load balancer of %s" % target.label
        try:
            lb = target.wait(self.params["wait_timeout"])
        except NotReady as exc:
            self.module.warn("Check mode: cannot tell where %s would point: %s." % (self.domain, exc))
            has_alias = any(r.get("Type") == "A" and r.get("AliasTarget") for r in self.current)
            self.result["changed"] = self.claim.blocked or not (self.claim.ours and has_alias)
            self.result["records"] = [D.record_view(r) for r in self.before]
            return
        kind, params = target.kind, self.params
        wanted = D.wanted_records(self.domain, lb, D.owner_value(params["owner"], kind, params["namespace"], params[kind]))
        self.apply(plan_present(self.current, self.owner_rrsets, wanted, self.claim))
        self.result.update(hostname=target.hostname, load_balancer_arn=lb["LoadBalancerArn"], load_balancer_name=lb["LoadBalancerName"],
                           load_balancer_type=lb.get("Type"), ip_address_type=lb.get("IpAddressType"), dns_name=lb["DNSName"],
                           canonical_hosted_zone_id=lb["CanonicalHostedZoneId"])
        self.result["resolves"], self.result["resolves_msg"] = resolution(self.domain, D.dns_name(lb["DNSName"]))


def main():
    module = AnsibleHubopsModule(
        argument_spec=dict(
            kubeconfig=dict(type="path"),
            context=dict(type="str"),
            namespace=dict(type="str"),
            service=dict(type="str"),
            ingress=dict(type="str"),
            domain=dict(type="str", required=True),
            zone=dict(type="str"),
            zone_id=dict(type="str"),
            owner=dict(type="str", required=True),
            force=dict(type="bool", default=False),
            wait_timeout=dict(type="int", default=600),
            state=dict(type="str", default="present", choices=["present", "absent"]),
        ),
        mutually_exclusive=[("service", "ingress"), ("zone", "zone_id")],
        required_one_of=[("zone", "zone_id")],
        required_if=[("state", "present", ("namespace",)), ("state", "present", ("service", "ingress"), True)],
        supports_check_mode=True,
    )
    problems = validate(module.params)
    if problems:
        module.fail_json(msg="\n".join(problems))
    present = module.params["state"] == "present"
    if present and not HAS_KUBERNETES:
        module.fail_json(msg=missing_required_lib("kubernetes"), exception=KUBERNETES_IMPORT_ERROR)
    if present and not module.region:
        module.fail_json(msg="No AWS region for the load balancer lookup: set region (hubops_region) or AWS_REGION.")
    # Route53 is global; boto3 still wants a region, and absent needs none of its own
    dns = AlbDns(module, Route53(module, module.client("route53", region=module.region or "us-east-1")))
    try:
        dns.read()
        if present:
            dns.present(Target(module, connect_kube, Balancers(module.client("elbv2"))))
        else:
            dns.absent()
    except (botocore.exceptions.ClientError, botocore.exceptions.BotoCoreError) as exc:
        module.fail_json_aws(exc, msg="Cannot %s for %s (changes: %s)" % (dns.step, dns.domain, "; ".join(dns.result["actions"]) or "none"))
    module.exit_json(**dns.result)


if __name__ == "__main__":
    main()
