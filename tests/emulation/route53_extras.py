# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""ChangeResourceRecordSets as AWS does it, where moto 5.2.5 is lax, for hubops.eks.alb_dns (and every module that
writes DNS). Test infrastructure only.

moto accepts a DELETE whose values differ from the record set's (it checks a journal of past changes, not the zone),
deletes every record set of the name and type at once (weighted sets included), accepts a CREATE over an existing
set, lets a CNAME sit beside other records of its name, and applies a batch change by change, so a bad change leaves
the earlier ones applied. AWS refuses all of these, so a module that deletes with stale values or forgets the CNAME
in the way would pass against moto and fail in an account. Here, like AWS:

- a batch is checked as a whole against the zone before anything is applied (all or nothing);
- CREATE of an existing record set (name, type, set identifier): "Tried to create resource record set ... but it
  already exists";
- DELETE must name an existing record set ("... but it was not found") with all its current values: TTL, records,
  alias target (DNS names compared case-insensitively, without the trailing dot), routing fields ("... but the values
  provided do not match the current values"); it deletes that record set only;
- after the batch a CNAME may not share its name with another record set ("RRSet of type CNAME with DNS name ... is
  not permitted as it conflicts with other records with the same DNS name in zone ...").
"""

from __future__ import annotations

import copy

ROUTING_FIELDS = ("Weight", "Region", "Failover", "HealthCheckId", "MultiValueAnswer", "GeoLocation")


def _name(value) -> str:
    return str(value or "").strip().lower().rstrip(".") + "."


def _key(name, record_type, set_identifier) -> tuple:
    return (_name(name), record_type, set_identifier or None)


def _text(value) -> str:
    return str(value).lower() if isinstance(value, bool) else str(value)


def _wanted_values(rrset: dict) -> dict:
    """What a record set in a change says, in a form comparable with what the zone stores."""
    alias = rrset.get("AliasTarget")
    return {
        "ttl": None if rrset.get("TTL") is None else _text(rrset["TTL"]),
        "records": sorted(str(r.get("Value") if isinstance(r, dict) else r) for r in rrset.get("ResourceRecords") or []),
        "alias": None if not alias else (str(alias.get("HostedZoneId", "")).upper(), _name(alias.get("DNSName")),
                                         _text(alias.get("EvaluateTargetHealth", False)).lower()),
        "routing": dict((field, _text(rrset[field])) for field in ROUTING_FIELDS if rrset.get(field) is not None),
    }


def _stored_values(record) -> dict:
    """The same for a record set the zone holds (a moto RecordSet)."""
    as_change = {"TTL": record.ttl, "ResourceRecords": list(record.records or []), "AliasTarget": record.alias_target,
                 "Weight": record.weight, "Region": record.region, "Failover": record.failover,
                 "HealthCheckId": record.health_check_id, "MultiValueAnswer": record.multi_value_answer,
                 "GeoLocation": record.geo_location}
    return _wanted_values(as_change)


def install():
    from moto.route53 import models
    from moto.route53.exceptions import DnsNameInvalidForZone, InvalidActionValue, Route53ClientError
    from moto.route53.utils import validate_domain_name

    class InvalidChangeBatch(Route53ClientError):
        def __init__(self, message: str):
            super().__init__("InvalidChangeBatch", message)

    def change_resource_record_sets(self, zoneid, change_list):
        zone = self.get_hosted_zone(zoneid)
        zone_name = _name(zone.name)
        # 1. the whole batch against a model of the zone: (name, type, set id) -> (type, name, values)
        state = dict((_key(r.name, r.type, r.set_identifier), (r.type, _name(r.name), _stored_values(r))) for r in zone.rrsets)
        for change in change_list:
            action, rrset = change["Action"], change["ResourceRecordSet"]
            if action not in ("CREATE", "UPSERT", "DELETE"):
                raise InvalidActionValue(action)
            validate_domain_name(rrset["Name"], code="InvalidChangeBatch")
            name = _name(rrset["Name"])
            if name != zone_name and not name.endswith("." + zone_name):
                raise DnsNameInvalidForZone(name=rrset["Name"], zone_name=zone.name)
            key = _key(rrset["Name"], rrset["Type"], rrset.get("SetIdentifier"))
            where = "[name='%s', type='%s'%s]" % (name, rrset["Type"], ", set-identifier='%s'" % key[2] if key[2] else "")
            if action == "CREATE" and key in state:
                raise InvalidChangeBatch("[Tried to create resource record set %s but it already exists]" % where)
            if action == "DELETE":
                if key not in state:
                    raise InvalidChangeBatch("[Tried to delete resource record set %s but it was not found]" % where)
                if state[key][2] != _wanted_values(rrset):
                    raise InvalidChangeBatch("[Tried to delete resource record set %s but the values provided do not match the "
                                             "current values]" % where)
                del state[key]
            else:
                state[key] = (rrset["Type"], name, _wanted_values(rrset))
        names = {}
        for record_type, name, _values in state.values():
            names.setdefault(name, []).append(record_type)
        for name, types in sorted(names.items()):
            if "CNAME" in types and len(types) > 1:
                raise InvalidChangeBatch("[RRSet of type CNAME with DNS name %s is not permitted as it conflicts with other records "
                                         "with the same DNS name in zone %s]" % (name, zone_name))
        # 2. apply, in order; a DELETE removes that one record set only
        for change in change_list:
            journal = copy.deepcopy(change)
            record_set = copy.deepcopy(change["ResourceRecordSet"])
            if not record_set["Name"].endswith("."):
                record_set["Name"] += "."
            key = _key(record_set["Name"], record_set["Type"], record_set.get("SetIdentifier"))
            if change["Action"] == "DELETE":
                zone.rrsets = [r for r in zone.rrsets if _key(r.name, r.type, r.set_identifier) != key]
            else:
                if "ResourceRecords" in record_set:
                    record_set["ResourceRecords"] = [r["Value"] for r in record_set["ResourceRecords"]]
                if change["Action"] == "CREATE":
                    zone.add_rrset(record_set)
                else:
                    zone.rrsets = [r for r in zone.rrsets if _key(r.name, r.type, r.set_identifier) != key]
                    zone.add_rrset(record_set)
            zone.rr_changes.append(journal)

    models.Route53Backend.change_resource_record_sets = change_resource_record_sets
