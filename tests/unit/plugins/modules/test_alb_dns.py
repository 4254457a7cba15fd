# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""alb_dns against an in-memory Route53 that behaves like AWS where it matters (names come back lower case with a
trailing dot; a DELETE must carry the record set's exact values; CREATE of an existing set, a CNAME beside other
records and a half-applied batch are refused; changes are PENDING before INSYNC), an in-memory ELBv2 and cluster:
create, no-op re-run, the load balancer recreated, dualstack, foreign records refused and taken with force, absent,
waits and their timeouts, zone errors, check mode and diff."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import copy
import itertools
import socket
from unittest import mock

import pytest
from botocore.exceptions import ClientError

from ansible.module_utils import basic
from ansible.module_utils.testing import patch_module_args

from ansible_collections.hubops.eks.plugins.module_utils import alb_dns as D
from ansible_collections.hubops.eks.plugins.module_utils.modules import AnsibleHubopsModule
from ansible_collections.hubops.eks.plugins.modules import alb_dns as M
from module_harness import AnsibleExitJson, AnsibleFailJson

REGION = "us-east-1"
ACCOUNT = "123456789012"
ZONE = "Z0EXAMPLEORG"
NLB_ZONE = "Z26RNL4JYFTOTI"
ALB_ZONE = "Z35SXDOTRQ7X7K"
ARGS = {"namespace": "hub", "service": "proxy-public", "domain": "hub.example.org", "zone": "example.org", "owner": "dandi",
        "wait_timeout": 60, "region": REGION, "access_key": "testing", "secret_key": "testing"}
OWNER_TXT = '"heritage=hubops,hubops/owner=dandi,hubops/resource=service/hub/proxy-public"'
READ_PREFIXES = ("describe_", "list_", "get_")


def error(code, message, operation, status=400):
    return ClientError({"Error": {"Code": code, "Message": message}, "ResponseMetadata": {"HTTPStatusCode": status}}, operation)


def fqdn(name):
    return D.dns_name(name) + "."


def reversed_labels(name):
    return ".".join(reversed(D.dns_name(name).split(".")))


class Paginator(object):
    def __init__(self, answer):
        self.answer = answer

    def paginate(self, **kwargs):
        self.kwargs = kwargs
        return self

    def build_full_result(self):
        return self.answer(**self.kwargs)


class Calls(object):
    def __init__(self):
        self.calls = []

    def record(self, method, kwargs):
        self.calls.append((method, copy.deepcopy(kwargs)))

    def writes(self):
        return [c for c in self.calls if not c[0].startswith(READ_PREFIXES)]


# ----------------------------------------------------------------------------------------------------------------------
# fakes


class FakeRoute53(Calls):
    """Hosted zones with their record sets, stored the way Route53 hands them back."""

    def __init__(self):
        super(FakeRoute53, self).__init__()
        self.zones = {}
        self.changes = {}
        self.pending_polls = 2
        self.page_size = 2  # small pages: the module must follow IsTruncated
        self.ids = itertools.count(1)
        self.add_zone("example.org", ZONE)

    def add_zone(self, name, zone_id, private=False):
        self.zones[zone_id] = {"Id": "/hostedzone/" + zone_id, "Name": fqdn(name), "Private": private, "rrsets": [
            {"Name": fqdn(name), "Type": "NS", "TTL": 172800, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org."}]},
            {"Name": fqdn(name), "Type": "SOA", "TTL": 900, "ResourceRecords": [{"Value": "ns-1.awsdns-01.org. hostmaster 1 7200 900 1209600 86400"}]},
        ]}

    def zone(self, zone_id):
        if D.zone_id(zone_id) not in self.zones:
            raise error("NoSuchHostedZone", "No hosted zone found with ID: %s" % zone_id, "GetHostedZone", 404)
        return self.zones[D.zone_id(zone_id)]

    def stored(self, rrset):
        rrset = copy.deepcopy(rrset)
        rrset["Name"] = fqdn(rrset["Name"])
        if rrset.get("AliasTarget"):
            rrset["AliasTarget"]["DNSName"] = fqdn(rrset["AliasTarget"]["DNSName"])
        return rrset

    def put(self, rrset, zone_id=ZONE):
        """Seed a record set (as made by hand or by someone else)."""
        self.zones[zone_id]["rrsets"].append(self.stored(rrset))

    def sets(self, name, zone_id=ZONE):
        return [r for r in self.zones[zone_id]["rrsets"] if D.dns_name(r["Name"]) == D.dns_name(name)]

    def only(self, name, record_type, zone_id=ZONE):
        found = [r for r in self.sets(name, zone_id) if r["Type"] == record_type]
        assert len(found) <= 1, found
        return found[0] if found else None

    @staticmethod
    def key(rrset):
        return (reversed_labels(rrset["Name"]), rrset["Type"], rrset.get("SetIdentifier") or "")

    # -- API ----------------------------------------------------------------------------------------------------------

    def get_hosted_zone(self, Id):
        self.record("get_hosted_zone", {"Id": Id})
        zone = self.zone(Id)
        return {"HostedZone": {"Id": zone["Id"], "Name": zone["Name"], "Config": {"PrivateZone": zone["Private"]}}}

    def list_hosted_zones_by_name(self, DNSName, MaxItems, HostedZoneId=None):
        self.record("list_hosted_zones_by_name", {"DNSName": DNSName})
        zones = sorted(self.zones.values(), key=lambda z: (reversed_labels(z["Name"]), z["Id"]))
        zones = [z for z in zones if reversed_labels(z["Name"]) >= reversed_labels(DNSName)]
        return {"HostedZones": [{"Id": z["Id"], "Name": z["Name"], "Config": {"PrivateZone": z["Private"]}} for z in zones],
                "IsTruncated": False, "DNSName": fqdn(DNSName), "MaxItems": MaxItems}

    def list_resource_record_sets(self, HostedZoneId, StartRecordName, MaxItems, StartRecordType=None, StartRecordIdentifier=None):
        self.record("list_resource_record_sets", {"HostedZoneId": HostedZoneId, "StartRecordName": StartRecordName})
        rrsets = sorted(self.zone(HostedZoneId)["rrsets"], key=self.key)
        start = (reversed_labels(StartRecordName), StartRecordType or "", StartRecordIdentifier or "")
        rrsets = [r for r in rrsets if self.key(r) >= start]
        size = min(int(MaxItems), self.page_size)
        page = {"ResourceRecordSets": copy.deepcopy(rrsets[:size]), "IsTruncated": len(rrsets) > size, "MaxItems": MaxItems}
        if len(rrsets) > size:
            page.update(NextRecordName=rrsets[size]["Name"], NextRecordType=rrsets[size]["Type"])
            if rrsets[size].get("SetIdentifier"):
                page["NextRecordIdentifier"] = rrsets[size]["SetIdentifier"]
        return page

    def change_resource_record_sets(self, HostedZoneId, ChangeBatch):
        self.record("change_resource_record_sets", {"HostedZoneId": HostedZoneId, "ChangeBatch": ChangeBatch})
        zone = self.zone(HostedZoneId)
        rrsets = copy.deepcopy(zone["rrsets"])  # atomic: applied to a copy, kept only when the whole batch is valid
        for change in ChangeBatch["Changes"]:
            rrset = self.stored(change["ResourceRecordSet"])
            where = "[name='%s', type='%s']" % (rrset["Name"], rrset["Type"])
            assert D.in_zone(rrset["Name"], zone["Name"])
            found = [r for r in rrsets if self.key(r) == self.key(rrset)]
            if change["Action"] == "CREATE" and found:
                raise error("InvalidChangeBatch", "Tried to create resource record set %s but it already exists" % where,
                            "ChangeResourceRecordSets")
            if change["Action"] == "DELETE":
                if not found:
                    raise error("InvalidChangeBatch", "Tried to delete resource record set %s but it was not found" % where,
                                "ChangeResourceRecordSets")
                if found[0] != rrset:
                    raise error("InvalidChangeBatch", "Tried to delete resource record set %s but the values provided do not "
                                "match the current values" % where, "ChangeResourceRecordSets")
            rrsets = [r for r in rrsets if self.key(r) != self.key(rrset)]
            if change["Action"] != "DELETE":
                rrsets.append(rrset)
        for rrset in rrsets:
            same_name = [r for r in rrsets if r["Name"] == rrset["Name"]]
            if rrset["Type"] == "CNAME" and len(same_name) > 1:
                raise error("InvalidChangeBatch", "RRSet of type CNAME with DNS name %s is not permitted as it conflicts with "
                            "other records with the same DNS name in zone %s" % (rrset["Name"], zone["Name"]), "ChangeResourceRecordSets")
            same_type = [r for r in same_name if r["Type"] == rrset["Type"]]
            if len(same_type) > 1 and any(not r.get("SetIdentifier") for r in same_type):
                raise error("InvalidChangeBatch", "RRSet with DNS name %s, type %s cannot be created as a non-weighted set exists"
                            % (rrset["Name"], rrset["Type"]), "ChangeResourceRecordSets")
        zone["rrsets"] = rrsets
        change_id = "C%05d" % next(self.ids)
        self.changes[change_id] = 0
        return {"ChangeInfo": {"Id": "/change/" + change_id, "Status": "PENDING", "Comment": ChangeBatch.get("Comment")}}

    def get_change(self, Id):
        self.record("get_change", {"Id": Id})
        change_id = D.zone_id(Id)
        self.changes[change_id] += 1
        status = "INSYNC" if self.changes[change_id] >= self.pending_polls else "PENDING"
        return {"ChangeInfo": {"Id": "/change/" + change_id, "Status": status}}


class FakeElbv2(Calls):
    """Load balancers with their tags; `states` are handed out one per describe (the last one stays)."""

    def __init__(self):
        super(FakeElbv2, self).__init__()
        self.lbs = []
        self.tags = {}

    def add(self, name, lb_type="network", ip_type="ipv4", states=("active",), tags=None, stack="hub/proxy-public"):
        short = "net" if lb_type == "network" else "app"
        arn = "arn:aws:elasticloadbalancing:%s:%s:loadbalancer/%s/%s/%016x" % (REGION, ACCOUNT, short, name, len(self.lbs) + 1)
        dns = ("%s-%010x.elb.%s.amazonaws.com" % (name, len(self.lbs) + 7, REGION) if lb_type == "network"
               else "%s-%d.%s.elb.amazonaws.com" % (name, len(self.lbs) + 7, REGION))
        lb = {"LoadBalancerArn": arn, "LoadBalancerName": name, "DNSName": dns, "Type": lb_type, "IpAddressType": ip_type,
              "CanonicalHostedZoneId": NLB_ZONE if lb_type == "network" else ALB_ZONE, "Scheme": "internet-facing",
              "State": {"Code": states[0]}, "_states": list(states)}
        self.lbs.append(lb)
        if tags is None:
            key = "service.k8s.aws/stack" if lb_type == "network" else "ingress.k8s.aws/stack"
            tags = {"elbv2.k8s.aws/cluster": "dandi", key: stack}
        self.tags[arn] = tags
        return lb

    def remove(self, lb):
        self.lbs.remove(lb)

    def _view(self, lb):
        if len(lb["_states"]) > 1:
            lb["State"] = {"Code": lb["_states"].pop(0)}
        else:
            lb["State"] = {"Code": lb["_states"][0]}
        return dict((k, copy.deepcopy(v)) for k, v in lb.items() if not k.startswith("_"))

    def get_paginator(self, operation):
        assert operation == "describe_load_balancers"
        return Paginator(self._all)

    def _all(self):
        self.record("describe_load_balancers", {})
        return {"LoadBalancers": [self._view(lb) for lb in self.lbs]}

    def describe_load_balancers(self, LoadBalancerArns):
        self.record("describe_load_balancers", {"LoadBalancerArns": LoadBalancerArns})
        found = [lb for lb in self.lbs if lb["LoadBalancerArn"] in LoadBalancerArns]
        if not found:
            raise error("LoadBalancerNotFound", "One or more load balancers not found", "DescribeLoadBalancers")
        return {"LoadBalancers": [self._view(lb) for lb in found]}

    def describe_tags(self, ResourceArns):
        assert len(ResourceArns) <= 20
        self.record("describe_tags", {"ResourceArns": ResourceArns})
        return {"TagDescriptions": [{"ResourceArn": arn, "Tags": [{"Key": k, "Value": v} for k, v in sorted(self.tags[arn].items())]}
                                    for arn in ResourceArns]}


class FakeKube(object):
    """Services and Ingresses; `hostnames` per object: a list handed out one per read (the last one stays)."""

    def __init__(self):
        self.objects = {}
        self.hostnames = {}
        self.reads = 0

    def service(self, name="proxy-public", namespace="hub", hostname=None, svc_type="LoadBalancer"):
        self.objects[("service", namespace, name)] = {"metadata": {"name": name, "namespace": namespace},
                                                      "spec": {"type": svc_type}, "status": {"loadBalancer": {}}}
        self.set_hostname("service", namespace, name, hostname)

    def ingress(self, name="jupyterhub", namespace="hub", hostname=None, annotations=None):
        self.objects[("ingress", namespace, name)] = {"metadata": {"name": name, "namespace": namespace, "annotations": annotations or {}},
                                                      "spec": {}, "status": {"loadBalancer": {}}}
        self.set_hostname("ingress", namespace, name, hostname)

    def set_hostname(self, kind, namespace, name, *hostnames):
        self.hostnames[(kind, namespace, name)] = list(hostnames)

    def get(self, kind, namespace, name):
        self.reads += 1
        obj = copy.deepcopy(self.objects.get((kind, namespace, name)))
        if obj is None:
            return None
        names = self.hostnames[(kind, namespace, name)]
        hostname = names.pop(0) if len(names) > 1 else names[0]
        if hostname:
            obj["status"]["loadBalancer"] = {"ingress": [{"hostname": hostname}]}
        return obj

    def names(self, kind, namespace):
        return sorted(n for (k, ns, n), obj in self.objects.items()
                      if k == kind and ns == namespace and (kind != "service" or obj["spec"]["type"] == "LoadBalancer"))


class Clock(object):
    def __init__(self):
        self.now = 1000.0
        self.slept = []

    def monotonic(self):
        return self.now

    def time(self):
        return self.now

    def sleep(self, seconds):
        self.slept.append(seconds)
        self.now += seconds


class World(object):
    def __init__(self):
        self.route53 = FakeRoute53()
        self.elbv2 = FakeElbv2()
        self.kube = FakeKube()
        self.clock = Clock()
        self.warnings = []
        self.kube_connects = []
        self.addresses = {}  # host name -> addresses getaddrinfo answers (others: NXDOMAIN)
        self.clients = []

    def client(self, service, **kwargs):
        self.clients.append((service, kwargs))
        return {"route53": self.route53, "elbv2": self.elbv2}[service]

    def connect(self, kubeconfig, context):
        self.kube_connects.append((kubeconfig, context))
        return self.kube

    def getaddrinfo(self, host, port, family=0, socktype=0, *args):
        if host not in self.addresses:
            raise socket.gaierror(-2, "Name or service not known")
        return [(socket.AF_INET, socket.SOCK_STREAM, 6, "", (a, 0)) for a in self.addresses[host]]

    def writes(self):
        return self.route53.writes() + self.elbv2.writes()

    def reset_calls(self):
        self.route53.calls, self.elbv2.calls, self.warnings = [], [], []


@pytest.fixture
def world():
    state = World()

    def exit_json(self, **kwargs):
        raise AnsibleExitJson(kwargs)

    def fail_json(self, msg, **kwargs):
        kwargs.update(msg=msg, failed=True)
        raise AnsibleFailJson(kwargs)

    with mock.patch.object(basic.AnsibleModule, "exit_json", exit_json), \
            mock.patch.object(basic.AnsibleModule, "fail_json", fail_json), \
            mock.patch.object(basic.AnsibleModule, "warn", lambda self, msg: state.warnings.append(msg)), \
            mock.patch.object(AnsibleHubopsModule, "client", lambda self, service, **kw: state.client(service, **kw)), \
            mock.patch.object(M, "connect_kube", state.connect), \
            mock.patch.object(M, "time", state.clock), \
            mock.patch.object(M.socket, "getaddrinfo", state.getaddrinfo):
        yield state


def run(world, check_mode=False, diff=False, **changes):
    args = copy.deepcopy(ARGS)
    args.update(changes)
    args = dict((k, v) for k, v in args.items() if v is not None)
    args.update(_ansible_check_mode=check_mode, _ansible_diff=diff)
    world.reset_calls()
    with patch_module_args(args):
        with pytest.raises((AnsibleExitJson, AnsibleFailJson)) as exc:
            M.main()
    return exc.value.result


def ok(world, **changes):
    result = run(world, **changes)
    assert not result.get("failed"), result.get("msg")
    return result


def hub_nlb(world, name="k8s-hub-proxypub-aaaa", **kwargs):
    lb = world.elbv2.add(name, **kwargs)
    world.kube.service(hostname=lb["DNSName"])
    return lb


def alias(lb, record_type="A", domain="hub.example.org"):
    return D.alias_record(domain, record_type, lb)


def changes_of(world):
    ((method, request),) = world.route53.writes()
    assert method == "change_resource_record_sets" and request["HostedZoneId"] == ZONE
    return [(c["Action"], c["ResourceRecordSet"]) for c in request["ChangeBatch"]["Changes"]]


# ----------------------------------------------------------------------------------------------------------------------
# create and re-run


def test_create_writes_the_alias_and_the_ownership_record_in_one_change_and_waits_for_insync(world):
    lb = hub_nlb(world)
    result = ok(world)
    assert result["changed"] is True
    assert changes_of(world) == [
        ("UPSERT", {"Name": "hub.example.org", "Type": "A",
                    "AliasTarget": {"HostedZoneId": NLB_ZONE, "DNSName": lb["DNSName"], "EvaluateTargetHealth": True}}),
        ("UPSERT", {"Name": "hubops-owner.hub.example.org", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": OWNER_TXT}]}),
    ]
    assert [c[0] for c in world.route53.calls if c[0] == "get_change"] == ["get_change", "get_change"]
    assert result["change_id"] == "C00001"
    for key, value in {"hostname": lb["DNSName"], "load_balancer_arn": lb["LoadBalancerArn"], "load_balancer_name": lb["LoadBalancerName"],
                       "dns_name": lb["DNSName"], "canonical_hosted_zone_id": NLB_ZONE, "zone_id": ZONE, "zone_name": "example.org",
                       "load_balancer_type": "network", "ip_address_type": "ipv4",
                       "owner_record": "hubops-owner.hub.example.org"}.items():
        assert result[key] == value, key
    assert result["records"] == [
        {"name": "hub.example.org", "type": "A", "alias": {"hosted_zone_id": NLB_ZONE, "dns_name": lb["DNSName"],
                                                           "evaluate_target_health": True}},
        {"name": "hubops-owner.hub.example.org", "type": "TXT", "ttl": 300, "values": [OWNER_TXT]},
    ]
    assert result["actions"] == ["UPSERT hub.example.org A alias -> %s (zone %s)" % (lb["DNSName"], NLB_ZONE),
                                 "UPSERT hubops-owner.hub.example.org TXT %s" % OWNER_TXT]
    assert result["resolves"] is False
    assert "hub.example.org does not resolve (yet)" in result["resolves_msg"]
    assert "%s does not resolve either" % lb["DNSName"] in result["resolves_msg"]
    assert world.kube_connects == [(None, None)]


def test_second_run_changes_nothing_and_only_reads(world):
    hub_nlb(world)
    ok(world)
    again = ok(world)
    assert again["changed"] is False and again["actions"] == [] and "change_id" not in again
    assert world.writes() == []
    assert sorted(set(c[0] for c in world.route53.calls)) == ["list_hosted_zones_by_name", "list_resource_record_sets"]
    assert sorted(set(c[0] for c in world.elbv2.calls)) == ["describe_load_balancers", "describe_tags"]


def test_what_route53_hands_back_lower_case_with_dots_is_the_same_record(world):
    lb = hub_nlb(world, name="K8s-Hub-ProxyPub")
    world.route53.put(dict(alias(lb), Name="HUB.example.org"))
    world.route53.zones[ZONE]["rrsets"][-1]["AliasTarget"]["DNSName"] = fqdn(lb["DNSName"]).upper()
    world.route53.put(D.owner_record("hub.example.org", OWNER_TXT))
    assert ok(world)["changed"] is False and world.writes() == []


def test_kubeconfig_and_context_are_passed_to_the_client(world):
    hub_nlb(world)
    ok(world, kubeconfig="/tmp/kubeconfig", context="admin@dandi")
    assert world.kube_connects == [("/tmp/kubeconfig", "admin@dandi")]


def test_the_resolution_check_compares_with_the_load_balancer_addresses(world):
    lb = hub_nlb(world)
    world.addresses = {"hub.example.org": ["192.0.2.10", "192.0.2.11"], lb["DNSName"]: ["192.0.2.11", "192.0.2.10"]}
    result = ok(world)
    assert result["resolves"] is True
    assert result["resolves_msg"] == "hub.example.org resolves to 192.0.2.10, 192.0.2.11, addresses of the load balancer %s." % lb["DNSName"]
    world.addresses["hub.example.org"] = ["198.51.100.7"]
    result = ok(world)
    assert result["resolves"] is False and "not to the load balancer" in result["resolves_msg"]


# ----------------------------------------------------------------------------------------------------------------------
# the load balancer changes


def test_a_recreated_load_balancer_moves_the_alias(world):
    old = hub_nlb(world)
    ok(world)
    world.elbv2.remove(old)
    new = world.elbv2.add("k8s-hub-proxypub-bbbb")
    world.kube.set_hostname("service", "hub", "proxy-public", new["DNSName"])
    result = ok(world)
    assert result["changed"] is True
    assert changes_of(world) == [("UPSERT", alias(new))]  # the ownership record is unchanged
    assert world.route53.only("hub.example.org", "A")["AliasTarget"]["DNSName"] == fqdn(new["DNSName"])
    assert result["load_balancer_name"] == "k8s-hub-proxypub-bbbb"
    assert ok(world)["changed"] is False


def test_a_dualstack_alb_gets_a_and_aaaa_aliases_to_its_dualstack_name_and_loses_aaaa_when_ipv4(world):
    alb = world.elbv2.add("k8s-hub-jupyterh", lb_type="application", ip_type="dualstack", stack="hub/jupyterhub")
    world.kube.ingress(hostname=alb["DNSName"])
    result = ok(world, service=None, ingress="jupyterhub")
    target = {"HostedZoneId": ALB_ZONE, "DNSName": "dualstack." + alb["DNSName"], "EvaluateTargetHealth": True}
    assert changes_of(world) == [
        ("UPSERT", {"Name": "hub.example.org", "Type": "A", "AliasTarget": target}),
        ("UPSERT", {"Name": "hub.example.org", "Type": "AAAA", "AliasTarget": target}),
        ("UPSERT", {"Name": "hubops-owner.hub.example.org", "Type": "TXT", "TTL": 300, "ResourceRecords": [
            {"Value": '"heritage=hubops,hubops/owner=dandi,hubops/resource=ingress/hub/jupyterhub"'}]}),
    ]
    assert [r["type"] for r in result["records"]] == ["A", "AAAA", "TXT"]
    assert ok(world, service=None, ingress="jupyterhub")["changed"] is False

    stored_aaaa = world.route53.only("hub.example.org", "AAAA")
    world.elbv2.lbs[0]["IpAddressType"] = "ipv4"
    result = ok(world, service=None, ingress="jupyterhub")
    assert changes_of(world) == [("DELETE", stored_aaaa)]  # exactly as Route53 holds it
    assert world.route53.only("hub.example.org", "AAAA") is None
    assert [r["type"] for r in result["records"]] == ["A", "TXT"]


def test_an_ingress_in_an_ingress_group_accepts_the_group_stack(world):
    alb = world.elbv2.add("k8s-shared", lb_type="application", stack="shared-alb")
    world.kube.ingress(hostname=alb["DNSName"], annotations={"alb.ingress.kubernetes.io/group.name": "shared-alb"})
    assert ok(world, service=None, ingress="jupyterhub")["changed"] is True


# ----------------------------------------------------------------------------------------------------------------------
# records that are not ours


def test_a_foreign_alias_is_refused_without_force_before_anything_else(world):
    lb = hub_nlb(world)
    target = {"HostedZoneId": ALB_ZONE, "DNSName": "dualstack.old-123.us-east-1.elb.amazonaws.com", "EvaluateTargetHealth": False}
    world.route53.put({"Name": "hub.example.org", "Type": "A", "AliasTarget": target})
    result = run(world)
    assert result["failed"] is True
    assert result["msg"].startswith("Refusing to change DNS: hub.example.org already has records dandi does not own: "
                                    "hub.example.org A alias -> dualstack.old-123.us-east-1.elb.amazonaws.com (zone %s); "
                                    "there is no ownership record hubops-owner.hub.example.org (TXT). Nothing was changed." % ALB_ZONE)
    assert "force: true" in result["msg"]
    assert world.writes() == [] and world.elbv2.calls == [] and world.kube.reads == 0

    result = ok(world, force=True)
    assert changes_of(world) == [("UPSERT", alias(lb)), ("UPSERT", D.owner_record("hub.example.org", OWNER_TXT))]
    assert result["changed"] is True
    assert ok(world)["changed"] is False  # ours now: no force needed any more


def test_another_owners_records_are_refused_and_taken_with_force(world):
    lb = hub_nlb(world)
    world.route53.put(alias(lb))
    theirs = '"heritage=hubops,hubops/owner=other,hubops/resource=service/x/proxy-public"'
    world.route53.put(D.owner_record("hub.example.org", theirs))
    result = run(world)
    assert result["failed"] is True
    assert ("the ownership record hubops-owner.hub.example.org names owner 'other' (service/x/proxy-public), not 'dandi'"
            in result["msg"])
    assert world.writes() == []
    ok(world, force=True)
    assert changes_of(world) == [("UPSERT", D.owner_record("hub.example.org", OWNER_TXT))]


def test_another_owners_claim_without_records_is_refused_too(world):
    hub_nlb(world)
    world.route53.put(D.owner_record("hub.example.org", '"heritage=hubops,hubops/owner=other,hubops/resource=service/x/y"'))
    result = run(world)
    assert result["failed"] is True and "names owner 'other'" in result["msg"] and world.writes() == []


def test_a_foreign_cname_is_deleted_in_the_same_change_with_force(world):
    lb = hub_nlb(world)
    cname = {"Name": "hub.example.org", "Type": "CNAME", "TTL": 300, "ResourceRecords": [{"Value": "old.example.net"}]}
    world.route53.put(cname)
    result = run(world)
    assert result["failed"] is True and "hub.example.org CNAME old.example.net" in result["msg"]
    ok(world, force=True)
    assert changes_of(world) == [("DELETE", world.route53.stored(cname)), ("UPSERT", alias(lb)),
                                 ("UPSERT", D.owner_record("hub.example.org", OWNER_TXT))]
    assert [r["Type"] for r in world.route53.sets("hub.example.org")] == ["A"]


def test_weighted_records_on_the_domain_are_foreign_and_replaced_with_force(world):
    hub_nlb(world)
    weighted = {"Name": "hub.example.org", "Type": "A", "SetIdentifier": "blue", "Weight": 10, "TTL": 60,
                "ResourceRecords": [{"Value": "192.0.2.1"}]}
    world.route53.put(weighted)
    assert run(world)["failed"] is True
    ok(world, force=True)
    assert changes_of(world)[0] == ("DELETE", world.route53.stored(weighted))
    assert world.route53.only("hub.example.org", "A").get("SetIdentifier") is None


def test_a_non_hubops_txt_on_the_ownership_name_is_refused(world):
    hub_nlb(world)
    world.route53.put({"Name": "hubops-owner.hub.example.org", "Type": "TXT", "TTL": 60, "ResourceRecords": [{"Value": '"v=spf1 -all"'}]})
    result = run(world)
    assert result["failed"] is True
    assert "the TXT record hubops-owner.hub.example.org is not a hubops ownership record" in result["msg"]


def test_other_names_and_other_types_are_left_alone(world):
    lb = hub_nlb(world)
    mx = {"Name": "hub.example.org", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.org"}]}
    txt = {"Name": "hub.example.org", "Type": "TXT", "TTL": 300, "ResourceRecords": [{"Value": '"google-site-verification=x"'}]}
    www = {"Name": "www.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.5"}]}
    for rrset in (mx, txt, www):
        world.route53.put(rrset)
    ok(world)
    assert changes_of(world) == [("UPSERT", alias(lb)), ("UPSERT", D.owner_record("hub.example.org", OWNER_TXT))]
    for rrset in (mx, txt, www):
        assert world.route53.stored(rrset) in world.route53.zones[ZONE]["rrsets"]


# ----------------------------------------------------------------------------------------------------------------------
# absent


def test_absent_deletes_exactly_our_records_and_then_changes_nothing(world):
    lb = hub_nlb(world, ip_type="dualstack")
    ok(world)
    world.route53.put({"Name": "www.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.5"}]})
    world.route53.put({"Name": "hub.example.org", "Type": "MX", "TTL": 300, "ResourceRecords": [{"Value": "10 mail.example.org"}]})
    ours = [world.route53.only("hub.example.org", t) for t in ("A", "AAAA")] + [world.route53.only("hubops-owner.hub.example.org", "TXT")]
    world.kube.objects.clear()  # the Service need not exist
    result = ok(world, state="absent", namespace=None, service=None)
    assert result["changed"] is True
    assert changes_of(world) == [("DELETE", r) for r in ours]
    assert world.route53.sets("hubops-owner.hub.example.org") == []
    assert [r["Type"] for r in world.route53.sets("hub.example.org")] == ["MX"]
    assert world.route53.only("www.example.org", "A") is not None
    assert result["records"] == [{"name": "hub.example.org", "type": "MX", "ttl": 300, "values": ["10 mail.example.org"]}]
    assert world.kube_connects == [(None, None)] and world.elbv2.calls == []  # the kube connection was the present run's
    assert lb["DNSName"] not in str(result["records"])

    again = ok(world, state="absent")
    assert again["changed"] is False and world.writes() == []
    assert world.warnings == ["Left the records of hub.example.org alone: there is no ownership record hubops-owner.hub.example.org (TXT)."]


def test_absent_leaves_another_owners_records_and_warns(world):
    lb = hub_nlb(world)
    world.route53.put(alias(lb))
    world.route53.put(D.owner_record("hub.example.org", '"heritage=hubops,hubops/owner=other,hubops/resource=service/x/y"'))
    result = ok(world, state="absent")
    assert result["changed"] is False and world.writes() == []
    assert "names owner 'other'" in world.warnings[0]
    assert len(world.route53.sets("hub.example.org")) == 1


def test_absent_leaves_a_hand_made_record_without_ownership(world):
    world.route53.put({"Name": "hub.example.org", "Type": "A", "TTL": 300, "ResourceRecords": [{"Value": "192.0.2.5"}]})
    result = ok(world, state="absent")
    assert result["changed"] is False and world.writes() == [] and len(world.warnings) == 1


# ----------------------------------------------------------------------------------------------------------------------
# waiting


def test_waits_for_the_hostname_and_for_the_load_balancer_to_be_active(world):
    lb = world.elbv2.add("k8s-hub-proxypub-aaaa", states=("provisioning", "provisioning", "active"))
    world.kube.service()
    world.kube.set_hostname("service", "hub", "proxy-public", None, None, lb["DNSName"])
    result = ok(world)
    assert result["changed"] is True
    assert world.clock.slept == [M.POLL_SECONDS] * 4 + [M.POLL_SECONDS] * 2  # 2 without hostname, 2 provisioning; 2 PENDING
    # once found, the load balancer is described by ARN, not by listing every load balancer again
    assert [c[1] for c in world.elbv2.calls if c[0] == "describe_load_balancers"][-1] == {"LoadBalancerArns": [lb["LoadBalancerArn"]]}


def test_timeout_without_hostname_says_what_the_service_looks_like(world):
    other = world.elbv2.add("k8s-hub-proxypub-old", states=("provisioning",))
    world.kube.service()
    result = run(world, wait_timeout=30)
    assert result["failed"] is True
    msg = result["msg"]
    assert msg.startswith("Service hub/proxy-public: no active load balancer after 30 s. Last seen: Service hub/proxy-public has no "
                          "status.loadBalancer.ingress[0].hostname yet (status.loadBalancer: {}).")
    assert "Load balancers tagged service.k8s.aws/stack=hub/proxy-public: k8s-hub-proxypub-old (provisioning, DNS name %s" % other["DNSName"] in msg
    assert "kubectl -n hub describe service proxy-public" in msg and msg.endswith("Nothing was changed.")
    assert world.writes() == []
    assert world.clock.now - 1000.0 <= 30 + M.POLL_SECONDS


def test_timeout_on_a_provisioning_load_balancer(world):
    hub_nlb(world, states=("provisioning",))
    result = run(world, wait_timeout=12)
    assert result["failed"] is True
    assert "Last seen: the load balancer k8s-hub-proxypub-aaaa of Service hub/proxy-public is provisioning." in result["msg"]
    assert world.writes() == []


def test_timeout_when_no_load_balancer_has_the_hostname(world):
    world.kube.service(hostname="k8s-gone-0123.elb.us-east-1.amazonaws.com")
    result = run(world, wait_timeout=0)
    assert result["failed"] is True
    assert ("Last seen: Service hub/proxy-public reports the host name k8s-gone-0123.elb.us-east-1.amazonaws.com, but no Elastic "
            "Load Balancing v2 load balancer in this region has that DNS name." in result["msg"])
    assert "service.k8s.aws/stack=hub/proxy-public: none (of 0 in the region)" in result["msg"]


def test_a_load_balancer_with_the_wrong_tags_fails_at_once(world):
    hub_nlb(world, tags={"elbv2.k8s.aws/cluster": "dandi", "service.k8s.aws/stack": "other/proxy-public"})
    result = run(world)
    assert result["failed"] is True
    assert "its service.k8s.aws/stack tag is 'other/proxy-public', not 'hub/proxy-public'" in result["msg"]
    assert world.clock.slept == [] and world.writes() == []
    world.elbv2.tags[world.elbv2.lbs[0]["LoadBalancerArn"]] = {}
    result = run(world)
    assert "it has no elbv2.k8s.aws/cluster tag; it has no service.k8s.aws/stack tag" in result["msg"]


def test_a_failed_load_balancer_fails_at_once(world):
    hub_nlb(world, states=("failed",))
    result = run(world)
    assert result["failed"] is True and "is in state failed" in result["msg"] and world.clock.slept == []


def test_a_service_that_is_not_a_load_balancer_or_not_there_fails_at_once(world):
    world.kube.service(svc_type="ClusterIP")
    result = run(world)
    assert result["failed"] is True and "Service hub/proxy-public is of type ClusterIP" in result["msg"]
    world.kube.objects.clear()
    world.kube.service(name="other-lb")
    result = run(world)
    assert result["failed"] is True
    assert result["msg"].startswith("Service hub/proxy-public not found (LoadBalancer Services in namespace hub: other-lb).")
    assert world.clock.slept == [] and world.writes() == []


def test_insync_wait_is_bounded_and_only_warns(world):
    hub_nlb(world)
    world.route53.pending_polls = 1000
    result = ok(world, wait_timeout=10)
    assert result["changed"] is True
    assert world.warnings == ["Route53 change C00001 is still PENDING after 10 s; the records are written and will reach every "
                              "Route53 name server shortly."]


# ----------------------------------------------------------------------------------------------------------------------
# zones and parameters


def test_zone_by_id_with_or_without_prefix(world):
    hub_nlb(world)
    assert ok(world, zone=None, zone_id="/hostedzone/" + ZONE)["zone_id"] == ZONE
    assert ok(world, zone=None, zone_id=ZONE)["changed"] is False


@pytest.mark.parametrize("changes, message", [
    ({"zone": "exmple.org"}, "zone 'exmple.org': this account has no public Route53 hosted zone of that name. Fix: set zone to"),
    ({"zone": None, "zone_id": "ZNOPE"}, "zone_id 'ZNOPE': this account has no Route53 hosted zone with that id. Fix:"),
    ({"domain": "hub.example.com"}, "domain hub.example.com is not inside the hosted zone example.org (%s, from zone). Fix: set zone" % ZONE),
    ({"domain": "hub.example.com", "zone": None, "zone_id": ZONE}, "(%s, from zone_id). Fix: set zone_id to the hosted zone" % ZONE),
])
def test_zone_errors_name_the_option_and_the_fix_before_any_change(world, changes, message):
    hub_nlb(world)
    result = run(world, **changes)
    assert result["failed"] is True and message in result["msg"], result["msg"]
    assert "Nothing was changed." in result["msg"]
    assert world.writes() == [] and world.kube.reads == 0


def test_zone_name_picks_the_public_zone_and_refuses_ambiguity(world):
    hub_nlb(world)
    world.route53.add_zone("example.org", "ZPRIVATE", private=True)
    assert ok(world)["zone_id"] == ZONE
    world.route53.add_zone("example.org", "ZSECOND")
    result = run(world)
    assert result["failed"] is True and "2 public hosted zones have that name" in result["msg"] and "give zone_id" in result["msg"]
    del world.route53.zones[ZONE], world.route53.zones["ZSECOND"]
    result = run(world)
    assert result["failed"] is True and "only a private hosted zone has that name (ZPRIVATE)" in result["msg"]


def test_the_zone_apex_can_be_the_domain(world):
    lb = hub_nlb(world)
    result = ok(world, domain="example.org")
    assert changes_of(world) == [("UPSERT", alias(lb, domain="example.org")), ("UPSERT", D.owner_record("example.org", OWNER_TXT))]
    assert [r["type"] for r in result["records"]] == ["A", "NS", "SOA", "TXT"]  # NS and SOA are the zone's, left alone


@pytest.mark.parametrize("changes, message", [
    ({"domain": "*.hub.example.org"}, "is a wildcard"),
    ({"domain": "hub_1.example.org"}, "is not a DNS host name"),
    ({"owner": "dandi hub"}, "owner 'dandi hub' must be 1-63 letters"),
    ({"owner": 'x"y'}, "it is written into a TXT record"),
    ({"wait_timeout": -1}, "wait_timeout must be 0 or more"),
])
def test_bad_parameters_fail_before_any_call(world, changes, message):
    result = run(world, **changes)
    assert result["failed"] is True and message in result["msg"]
    assert world.route53.calls == [] and world.kube.reads == 0


@pytest.mark.parametrize("changes, message", [
    ({"service": None}, "service, ingress"),
    ({"ingress": "jupyterhub"}, "mutually exclusive: service|ingress"),
    ({"zone_id": ZONE}, "mutually exclusive: zone|zone_id"),
    ({"namespace": None}, "namespace"),
])
def test_argument_rules(world, changes, message):
    result = run(world, **changes)
    assert result["failed"] is True and message in result["msg"]


# ----------------------------------------------------------------------------------------------------------------------
# check mode and diff


def test_check_mode_reports_the_changes_and_writes_nothing(world):
    lb = hub_nlb(world)
    result = run(world, check_mode=True, diff=True)
    assert result["changed"] is True and world.writes() == []
    assert result["actions"] == ["UPSERT hub.example.org A alias -> %s (zone %s)" % (lb["DNSName"], NLB_ZONE),
                                 "UPSERT hubops-owner.hub.example.org TXT %s" % OWNER_TXT]
    assert result["diff"]["before"] == {"records": []}
    assert [r["type"] for r in result["diff"]["after"]["records"]] == ["A", "TXT"]
    assert result["records"] == result["diff"]["after"]["records"]
    assert world.clock.slept == []


def test_check_mode_of_a_move_and_of_absent(world):
    old = hub_nlb(world)
    ok(world)
    new = world.elbv2.add("k8s-hub-proxypub-bbbb")
    world.kube.set_hostname("service", "hub", "proxy-public", new["DNSName"])
    result = run(world, check_mode=True, diff=True)
    assert result["changed"] is True and world.writes() == []
    assert result["diff"]["before"]["records"][0]["alias"]["dns_name"] == old["DNSName"]
    assert result["diff"]["after"]["records"][1]["alias"]["dns_name"] == new["DNSName"]
    result = run(world, check_mode=True, diff=True, state="absent")
    assert result["changed"] is True and world.writes() == []
    assert result["actions"][0].startswith("DELETE hub.example.org A alias -> %s" % old["DNSName"])
    assert result["diff"]["after"] == {"records": []}


def test_check_mode_does_not_wait_for_a_service_that_is_not_there_yet(world):
    result = run(world, check_mode=True)
    assert not result.get("failed")
    assert result["changed"] is True and world.writes() == [] and world.clock.slept == []
    assert world.warnings == ["Check mode: cannot tell where hub.example.org would point: Service hub/proxy-public not found "
                              "(LoadBalancer Services in namespace hub: none)."]


def test_check_mode_with_a_kubeconfig_that_does_not_exist_yet(world):
    def cannot(kubeconfig, context):
        raise IOError("No such file: %s" % kubeconfig)

    with mock.patch.object(M, "connect_kube", cannot):
        result = run(world, check_mode=True, kubeconfig="/nope/kubeconfig")
        assert result["changed"] is True and "the kubeconfig /nope/kubeconfig cannot be loaded" in world.warnings[0]
        result = run(world, kubeconfig="/nope/kubeconfig")
        assert result["failed"] is True and result["msg"].startswith("Cannot load the kubeconfig /nope/kubeconfig: No such file")


def test_route53_needs_no_region_but_the_load_balancer_lookup_does(world, monkeypatch):
    for name in ("AWS_REGION", "AWS_DEFAULT_REGION", "EC2_REGION"):
        monkeypatch.delenv(name, raising=False)
    result = ok(world, state="absent", region=None)
    assert result["changed"] is False and world.clients == [("route53", {"region": "us-east-1"})]
    result = run(world, region=None)
    assert result["failed"] is True and result["msg"].startswith("No AWS region for the load balancer lookup")
    ok(world, state="absent", region="eu-west-1")
    assert world.clients[-1] == ("route53", {"region": "eu-west-1"})


def test_aws_errors_say_what_was_being_done(world):
    hub_nlb(world)
    world.route53.change_resource_record_sets = mock.Mock(side_effect=error("AccessDenied", "not allowed", "ChangeResourceRecordSets"))
    result = run(world)
    assert result["failed"] is True
    assert result["msg"].startswith("Cannot write the records for hub.example.org (changes: UPSERT hub.example.org A alias")


# ----------------------------------------------------------------------------------------------------------------------
# pure helpers


def test_dns_names_compare_like_route53():
    assert D.dns_name("Hub.Example.ORG.") == "hub.example.org"
    assert D.dns_name("\\052.example.org.") == "*.example.org"
    assert D.bare_lb_name("dualstack.K8s-x-1.us-east-1.elb.amazonaws.com.") == "k8s-x-1.us-east-1.elb.amazonaws.com"
    assert D.in_zone("hub.example.org", "example.org.") and D.in_zone("example.org", "example.org")
    assert not D.in_zone("hubexample.org", "example.org")
    assert D.zone_id("/hostedzone/Z1") == "Z1"


def test_owner_values_round_trip():
    value = D.owner_value("dandi", "service", "hub", "proxy-public")
    assert value == OWNER_TXT
    labels = D.parse_owner(D.owner_record("hub.example.org", value))
    assert labels == {"heritage": "hubops", "hubops/owner": "dandi", "hubops/resource": "service/hub/proxy-public"}
    split = {"ResourceRecords": [{"Value": '"v=spf1 -all"'}, {"Value": '"heritage=hubops," "hubops/owner=x"'}]}
    assert D.parse_owner(split)["hubops/owner"] == "x"
    assert D.parse_owner({"ResourceRecords": [{"Value": '"heritage=external-dns,external-dns/owner=default"'}]}) is None
    assert D.parse_owner(None) is None


def test_alias_targets():
    nlb = {"DNSName": "N-1.elb.us-east-1.amazonaws.com", "Type": "network", "CanonicalHostedZoneId": NLB_ZONE}
    alb = {"DNSName": "a-1.us-east-1.elb.amazonaws.com", "Type": "application", "CanonicalHostedZoneId": ALB_ZONE}
    assert D.alias_target_name(nlb) == "n-1.elb.us-east-1.amazonaws.com"
    assert D.alias_target_name(alb) == "dualstack.a-1.us-east-1.elb.amazonaws.com"
    wanted = D.alias_record("hub.example.org", "A", alb)
    read_back = {"Name": "hub.example.org.", "Type": "A", "AliasTarget": {"HostedZoneId": ALB_ZONE, "EvaluateTargetHealth": True,
                                                                          "DNSName": "dualstack.a-1.us-east-1.elb.amazonaws.com."}}
    assert D.same_record(read_back, wanted)
    assert not D.same_record(dict(read_back, AliasTarget=dict(read_back["AliasTarget"], EvaluateTargetHealth=False)), wanted)
    assert not D.same_record(dict(read_back, SetIdentifier="x", Weight=1), wanted)
    assert not D.same_record({"Name": "hub.example.org.", "Type": "A", "TTL": 60, "ResourceRecords": [{"Value": "192.0.2.1"}]}, wanted)


def test_absent_without_the_zone_is_a_no_op(world):
    """A second teardown runs after the zone hubops created is gone: no zone, no records of ours, nothing to do."""
    result = run(world, state="absent", zone="gone.example.org")
    assert result.get("failed") is not True and result["changed"] is False, result
    assert "does not exist" in result["msg"]
    assert world.writes() == []
