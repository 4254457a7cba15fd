# -*- coding: utf-8 -*-
# Copyright: contributors to hubops.eks
# GNU General Public License v3.0+ (see COPYING or https://www.gnu.org/licenses/gpl-3.0.txt)
"""Pure helpers of hubops.eks.alb_dns: Route53 names and record sets, the ownership TXT record, and what the AWS Load
Balancer Controller's tags must say for a load balancer to be the one behind a Service or an Ingress."""

from __future__ import absolute_import, division, print_function

__metaclass__ = type

import re

# The ownership record lives on its own name beside the domain (not on the domain itself, which may carry TXT
# records of its own: SPF, site verification...). external-dns does the same with its TXT registry.
OWNER_PREFIX = "hubops-owner."
OWNER_TTL = 300
HERITAGE = "hubops"
OWNER_KEY = "hubops/owner"
RESOURCE_KEY = "hubops/resource"

ADDRESS_TYPES = ("A", "AAAA")
DUALSTACK_IP_TYPES = ("dualstack", "dualstack-without-public-ipv4")
CLUSTER_TAG = "elbv2.k8s.aws/cluster"
STACK_TAGS = {"service": "service.k8s.aws/stack", "ingress": "ingress.k8s.aws/stack"}
GROUP_ANNOTATION = "alb.ingress.kubernetes.io/group.name"
# Route53's own attributes of a record set that are not what it says (compared apart or ignored).
ROUTING_KEYS = ("SetIdentifier", "Weight", "Region", "Failover", "GeoLocation", "GeoProximityLocation", "CidrRoutingConfig",
                "MultiValueAnswer", "HealthCheckId", "TrafficPolicyInstanceId")

_LABEL = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?$")
_OWNER = re.compile(r"^[A-Za-z0-9](?:[A-Za-z0-9._-]{0,61}[A-Za-z0-9])?$")
_OCTAL = re.compile(r"\\([0-7]{3})")
_QUOTED = re.compile(r'"((?:[^"\\]|\\.)*)"')


def dns_name(name):
    """A DNS name as compared: lower case, Route53's \\ooo escapes decoded, no trailing dot."""
    name = _OCTAL.sub(lambda match: chr(int(match.group(1), 8)), str(name or ""))
    return name.strip().lower().rstrip(".")


def bare_lb_name(hostname):
    """The load balancer's own DNS name behind a host name that may carry the alias prefix C(dualstack.)."""
    name = dns_name(hostname)
    return name[len("dualstack."):] if name.startswith("dualstack.") else name


def zone_id(value):
    """C(/hostedzone/Z123) or C(Z123) -> C(Z123)."""
    return str(value or "").strip().rsplit("/", maxsplit=1)[-1]


def domain_problems(domain, option="domain"):
    """What is wrong with a host name given as O(domain) (an empty list when nothing)."""
    name = dns_name(domain)
    if not name:
        return ["%s is empty. Fix: give the host name of the hub, for example hub.example.org." % option]
    if "*" in name:
        return ["%s '%s' is a wildcard; alb_dns points one host name at the load balancer. Fix: give the hub's own "
                "host name." % (option, domain)]
    bad = [label for label in name.split(".") if not _LABEL.match(label)]
    if bad or "." not in name:
        return ["%s '%s' is not a DNS host name (labels of letters, digits and inner hyphens, at least two of them). "
                "Fix: give the hub's host name, for example hub.example.org." % (option, domain)]
    if len(OWNER_PREFIX + name) > 253:
        return ["%s '%s' is too long: the ownership record %s%s must fit in 253 characters." % (option, domain, OWNER_PREFIX, name)]
    return []


def owner_problems(owner):
    if not _OWNER.match(owner or ""):
        return ["owner '%s' must be 1-63 letters, digits, '.', '_' or '-', starting and ending with a letter or digit "
                "(it is written into a TXT record). Fix: use the deployment name." % owner]
    return []


def in_zone(domain, zone):
    domain, zone = dns_name(domain), dns_name(zone)
    return domain == zone or domain.endswith("." + zone)


def owner_record_name(domain):
    return OWNER_PREFIX + dns_name(domain)


def owner_value(owner, kind, namespace, name):
    """The ownership TXT value, quoted as Route53 wants a TXT string."""
    return '"heritage=%s,%s=%s,%s=%s/%s/%s"' % (HERITAGE, OWNER_KEY, owner, RESOURCE_KEY, kind, namespace, name)


def parse_owner(rrset):
    """The labels of a hubops ownership TXT record set ({'heritage': 'hubops', 'hubops/owner': ...}), or None when
    the record set is missing or holds no hubops value."""
    for record in (rrset or {}).get("ResourceRecords") or []:
        value = record.get("Value") or ""
        parts = _QUOTED.findall(value)
        text = "".join(parts) if parts else value
        text = text.replace('\\"', '"').replace("\\\\", "\\")
        labels = {}
        for item in text.split(","):
            key, sep, val = item.partition("=")
            if sep:
                labels[key.strip()] = val.strip()
        if labels.get("heritage") == HERITAGE and labels.get(OWNER_KEY):
            return labels
    return None


def alias_target_name(lb):
    """The alias target DNS name for a load balancer. Application (and Classic) load balancers: C(dualstack.) + their
    name, what the Route53 console writes and AWS recommends so that an AAAA alias answers IPv6. A Network Load
    Balancer's own name already answers AAAA when it is dualstack: its name as DescribeLoadBalancers gives it."""
    name = dns_name(lb["DNSName"])
    return "dualstack." + name if lb.get("Type", "application") == "application" else name


def is_dualstack(lb):
    return lb.get("IpAddressType") in DUALSTACK_IP_TYPES


def alias_record(domain, record_type, lb):
    return {"Name": dns_name(domain), "Type": record_type,
            "AliasTarget": {"HostedZoneId": lb["CanonicalHostedZoneId"], "DNSName": alias_target_name(lb),
                            "EvaluateTargetHealth": True}}


def owner_record(domain, value):
    return {"Name": owner_record_name(domain), "Type": "TXT", "TTL": OWNER_TTL, "ResourceRecords": [{"Value": value}]}


def wanted_records(domain, lb, txt_value):
    """Record sets of a present domain, by type: A alias (+ AAAA when the load balancer is dualstack) and the TXT."""
    wanted = {"A": alias_record(domain, "A", lb), "TXT": owner_record(domain, txt_value)}
    if is_dualstack(lb):
        wanted["AAAA"] = alias_record(domain, "AAAA", lb)
    return wanted


def is_simple(rrset):
    """A record set without a routing policy (no SetIdentifier...), the only kind alb_dns writes."""
    return not any(key in rrset for key in ROUTING_KEYS)


def same_record(current, wanted):
    """Whether a record set read from Route53 says what `wanted` says (names and alias targets compared as DNS names)."""
    if current is None or wanted is None:
        return current is wanted
    if dns_name(current.get("Name")) != dns_name(wanted["Name"]) or current.get("Type") != wanted["Type"]:
        return False
    if not is_simple(current):
        return False
    have, want = current.get("AliasTarget"), wanted.get("AliasTarget")
    if have or want:
        if not (have and want) or "ResourceRecords" in current:
            return False
        return (zone_id(have.get("HostedZoneId")).upper() == zone_id(want["HostedZoneId"]).upper()
                and dns_name(have.get("DNSName")) == dns_name(want["DNSName"])
                and bool(have.get("EvaluateTargetHealth")) == bool(want["EvaluateTargetHealth"]))
    return (current.get("TTL") == wanted.get("TTL")
            and sorted(r.get("Value") for r in current.get("ResourceRecords") or [])
            == sorted(r["Value"] for r in wanted.get("ResourceRecords") or []))


def record_view(rrset):
    """A record set as the module returns it (and shows in its diff)."""
    view = {"name": dns_name(rrset.get("Name")), "type": rrset.get("Type")}
    alias = rrset.get("AliasTarget")
    if alias:
        view["alias"] = {"hosted_zone_id": zone_id(alias.get("HostedZoneId")), "dns_name": dns_name(alias.get("DNSName")),
                         "evaluate_target_health": bool(alias.get("EvaluateTargetHealth"))}
    else:
        view["ttl"] = rrset.get("TTL")
        view["values"] = [r.get("Value") for r in rrset.get("ResourceRecords") or []]
    if rrset.get("SetIdentifier"):
        view["set_identifier"] = rrset["SetIdentifier"]
    return view


def describe_record(rrset):
    """One line for messages: C(A alias -> dualstack.x.elb.amazonaws.com (zone Z1)), C(CNAME 300 x.example.net)."""
    alias = rrset.get("AliasTarget")
    what = "%s %s" % (dns_name(rrset.get("Name")), rrset.get("Type"))
    if rrset.get("SetIdentifier"):
        what += " [set %s]" % rrset["SetIdentifier"]
    if alias:
        return "%s alias -> %s (zone %s)" % (what, dns_name(alias.get("DNSName")), zone_id(alias.get("HostedZoneId")))
    return "%s %s" % (what, ", ".join(r.get("Value", "") for r in rrset.get("ResourceRecords") or []))


def accepted_stacks(kind, namespace, name, annotations=None):
    """The values of the controller's stack tag that tie a load balancer to this Service or Ingress: <ns>/<name>, and
    for an Ingress in an IngressGroup also the group name (the stack of an explicit group)."""
    stacks = ["%s/%s" % (namespace, name)]
    group = (annotations or {}).get(GROUP_ANNOTATION) if kind == "ingress" else None
    if group:
        stacks.append(group)
    return stacks


def tag_problems(tags, kind, stacks):
    """Why a load balancer's tags do not show the AWS Load Balancer Controller made it for this object ([] when they do)."""
    problems = []
    if CLUSTER_TAG not in tags:
        problems.append("it has no %s tag" % CLUSTER_TAG)
    key = STACK_TAGS[kind]
    if key not in tags:
        problems.append("it has no %s tag" % key)
    elif tags[key] not in stacks:
        problems.append("its %s tag is '%s', not %s" % (key, tags[key], " or ".join("'%s'" % s for s in stacks)))
    return problems
