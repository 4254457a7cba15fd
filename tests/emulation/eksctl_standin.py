# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""A stand-in for the `eksctl` CLI, talking to the emulated AWS (test infrastructure only).

It implements exactly the command-line surface of docs/eksctl.md (the contract with plugins/modules/eksctl_cluster.py),
with eksctl's output formats, validation and refusals, on top of the emulated AWS with boto3: CloudFormation stacks
`eksctl-<name>-cluster` / `eksctl-<name>-nodegroup-<ng>` for the IAM roles and security groups real eksctl creates,
then the EKS, IAM and CloudWatch Logs calls. It is launched by tests/emulation/bin/eksctl.

Environment:
  AWS_ENDPOINT_URL                  the emulated AWS (the proxy), AWS_REGION / AWS_DEFAULT_REGION, keys
  HUBOPS_EKSCTL_SCHEMA              eksctl's ClusterConfig JSON schema (default ../shared/reference/eksctl/schema.json)
  HUBOPS_EKSCTL_LOG                 append one JSON line per invocation: argv, rc, mutating, config
  HUBOPS_EMULATED_KUBECONFIG        written kubeconfigs take server and credentials from this kubeconfig; when unset,
                                    from the kit kubeconfig the emulator reports (GET $AWS_ENDPOINT_URL/_hubops/kit,
                                    registered by tests/emulation/launcher.py); with neither, the EKS endpoint and
                                    an `aws eks get-token` user, like real eksctl
  HUBOPS_EKSCTL_WAIT_TIMEOUT        seconds to wait for EKS/CloudFormation states (default 300)
"""

from __future__ import annotations

import argparse
import datetime
import fnmatch
import json
import os
import re
import sys
import time
import urllib.request
from pathlib import Path

import yaml

EKSCTL_VERSION = "0.215.0"
SUPPORTED_VERSIONS = ["1.30", "1.31", "1.32", "1.33", "1.34"]
DEFAULT_VERSION = "1.33"
API_VERSION = "eksctl.io/v1alpha5"
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
DEFAULT_SCHEMA = REPO.parent / "shared" / "reference" / "eksctl" / "schema.json"
NAME_RE = re.compile(r"^[a-zA-Z][-a-zA-Z0-9]*$")
LOG_TYPES = ["api", "audit", "authenticator", "controllerManager", "scheduler"]
CLUSTER_POLICIES = ["arn:aws:iam::aws:policy/AmazonEKSClusterPolicy", "arn:aws:iam::aws:policy/AmazonEKSVPCResourceController"]
NODE_POLICIES = [
    "arn:aws:iam::aws:policy/AmazonEKSWorkerNodePolicy",
    "arn:aws:iam::aws:policy/AmazonEC2ContainerRegistryReadOnly",
    "arn:aws:iam::aws:policy/AmazonSSMManagedInstanceCore",
]
CNI_POLICY = "arn:aws:iam::aws:policy/AmazonEKS_CNI_Policy"
TAINT_EFFECTS = {"NoSchedule": "NO_SCHEDULE", "PreferNoSchedule": "PREFER_NO_SCHEDULE", "NoExecute": "NO_EXECUTE"}
MUTATING_VERBS = ("create", "update", "upgrade", "scale", "delete", "utils")
# Go-style map/slice fields whose keys are data, not struct fields: never re-cased in JSON output.
DATA_MAPS = ("tags", "labels")


class EksctlError(Exception):
    """An error eksctl would print as `Error: <message>` and exit 1."""


# ----------------------------------------------------------------------------------------------- output helpers

def _stamp() -> str:
    return datetime.datetime.now().strftime("%Y-%m-%d %H:%M:%S")


def info(message: str) -> None:
    print(f"{_stamp()} [ℹ]  {message}", file=sys.stderr, flush=True)


def success(message: str) -> None:
    print(f"{_stamp()} [✔]  {message}", file=sys.stderr, flush=True)


def warning(message: str) -> None:
    print(f"{_stamp()} [!]  {message}", file=sys.stderr, flush=True)


CLIENTS: list = []


def _service_of(operation: str) -> str:
    for client in CLIENTS:
        if operation in client.meta.service_model.operation_names:
            return client.meta.service_model.service_id
    return ""


def error_code(exc) -> str:
    return exc.response.get("Error", {}).get("Code", "")


def is_missing_api(exc) -> bool:
    """The emulator answers an action it does not implement with a bare 404/501 (no AWS error code)."""
    status = exc.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
    code = error_code(exc)
    return (status in (404, 501) and not code.endswith(("Exception", "NotFound", "Fault"))) or code in (
        "NotImplemented", "InvalidAction", "UnknownOperationException", "NotImplementedError")


def aws_error(exc, doing: str = "") -> EksctlError:
    """Word a botocore ClientError the way eksctl (aws-sdk-go-v2) does; name an action the emulator lacks."""
    service = _service_of(exc.operation_name)
    if is_missing_api(exc):
        text = (f"the emulated AWS does not implement {service} {exc.operation_name} (emulator gap): "
                "the eksctl stand-in cannot do this")
    else:
        err = exc.response.get("Error", {})
        meta = exc.response.get("ResponseMetadata", {})
        text = (f"operation error {service}: {exc.operation_name}, https response error StatusCode: {meta.get('HTTPStatusCode')}, "
                f"RequestID: {meta.get('RequestId', '')}, {err.get('Code')}: {err.get('Message')}")
    return EksctlError(f"{doing}: {text}" if doing else text)


def to_go_json(value, key: str = ""):
    """boto3 camelCase structures -> aws-sdk-go-v2 structs as eksctl marshals them (PascalCase, RFC 3339 times)."""
    if isinstance(value, dict):
        if key in DATA_MAPS:
            return {k: to_go_json(v) for k, v in value.items()}
        return {(k[:1].upper() + k[1:]): to_go_json(v, k) for k, v in value.items()}
    if isinstance(value, list):
        return [to_go_json(v) for v in value]
    if isinstance(value, datetime.datetime):
        return value.astimezone(datetime.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
    return value


def print_output(data, output: str, columns: list[tuple[str, object]] | None = None) -> None:
    if output == "json":
        print(json.dumps(data, indent=4, default=str))
    elif output == "yaml":
        print(yaml.safe_dump(data, default_flow_style=False, sort_keys=False), end="")
    else:
        rows = data if isinstance(data, list) else [data]
        headers = [name for name, _getter in columns or []]
        table = [[str(getter(row) if callable(getter) else row.get(getter, "")) for _name, getter in columns] for row in rows]
        widths = [max([len(h)] + [len(r[i]) for r in table]) for i, h in enumerate(headers)]
        for line in [headers] + table:
            print("\t".join(cell.ljust(widths[i]) for i, cell in enumerate(line)).rstrip())


# ----------------------------------------------------------------------------------------------- config

def schema_path() -> Path:
    return Path(os.environ.get("HUBOPS_EKSCTL_SCHEMA") or DEFAULT_SCHEMA)


def _json_path(parts) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out or "(root)"


def load_config(path: str) -> dict:
    """Read and validate a ClusterConfig file like eksctl: schema first, then what the schema cannot say."""
    import jsonschema  # pylint: disable=import-outside-toplevel
    from jsonschema.exceptions import best_match  # pylint: disable=import-outside-toplevel

    prefix = f'couldn\'t parse config file "{path}"'
    try:
        text = Path(path).read_text(encoding="utf-8")
    except OSError as exc:
        raise EksctlError(f'reading config file "{path}": open {path}: {exc.strerror.lower()}') from exc
    try:
        config = yaml.safe_load(text)
    except yaml.YAMLError as exc:
        raise EksctlError(f"{prefix}: {exc}") from exc
    if not isinstance(config, dict):
        raise EksctlError(f"{prefix}: the config file is not a YAML mapping")
    if not schema_path().is_file():
        raise EksctlError(f"eksctl's ClusterConfig schema is missing at {schema_path()} (set HUBOPS_EKSCTL_SCHEMA)")
    schema = json.loads(schema_path().read_text(encoding="utf-8"))
    validator = jsonschema.Draft7Validator(schema)
    error = best_match(validator.iter_errors(config))
    if error is not None:
        raise EksctlError(f"{prefix}: {error.message} at {_json_path(error.absolute_path)}")
    if config.get("apiVersion") != API_VERSION:
        raise EksctlError(f'{prefix}: no kind "ClusterConfig" is registered for version "{config.get("apiVersion")}"')
    if config.get("kind") != "ClusterConfig":
        raise EksctlError(f'{prefix}: no kind "{config.get("kind")}" is registered for version "{API_VERSION}"')
    meta = config.get("metadata") or {}
    for field in ("name", "region"):
        if not meta.get(field):
            raise EksctlError(f"metadata.{field} must be set")
    if not NAME_RE.match(meta["name"]) or len(meta["name"]) > 100:
        raise EksctlError(f"validation for {meta['name']} failed, name must satisfy regular expression pattern: [a-zA-Z][-a-zA-Z0-9]*")
    if meta.get("version") and meta["version"] not in ("auto", "default", "latest") and not re.match(r"^1\.\d+$", meta["version"]):
        raise EksctlError(f'invalid version "{meta["version"]}", supported values: {", ".join(SUPPORTED_VERSIONS)}')
    _validate_access_entries(config)
    _validate_names(config)
    return config


def _validate_access_entries(config: dict) -> None:
    access = config.get("accessConfig") or {}
    entries = access.get("accessEntries") or []
    if entries and access.get("authenticationMode") == "CONFIG_MAP":
        raise EksctlError("accessConfig.accessEntries cannot be specified when accessConfig.authenticationMode is set to CONFIG_MAP")
    for i, entry in enumerate(entries):
        if not entry.get("principalARN"):
            raise EksctlError(f"accessEntries[{i}].principalARN must be set to a valid AWS ARN")
        kind = entry.get("type", "STANDARD")
        if kind not in ("STANDARD", "EC2_LINUX", "EC2_WINDOWS", "FARGATE_LINUX", "EC2", "HYBRID_LINUX", "HYPERPOD_LINUX"):
            raise EksctlError(f'accessEntries[{i}].type: invalid access entry type "{kind}"')
        if kind != "STANDARD" and (entry.get("kubernetesGroups") or entry.get("kubernetesUsername") or entry.get("accessPolicies")):
            raise EksctlError(f"cannot specify accessEntries[{i}].kubernetesGroups, kubernetesUsername nor accessPolicies "
                              f'when type is set to "{kind}"')
        for j, policy in enumerate(entry.get("accessPolicies") or []):
            where = f"accessEntries[{i}].accessPolicies[{j}]"
            if not policy.get("policyARN"):
                raise EksctlError(f"{where}.policyARN must be set to a valid AWS ARN")
            scope = policy.get("accessScope") or {}
            if scope.get("type") not in ("cluster", "namespace"):
                raise EksctlError(f'{where}.accessScope.type must be set to either "namespace" or "cluster"')
            if scope["type"] == "namespace" and not scope.get("namespaces"):
                raise EksctlError(f'at least one namespace must be specified when {where}.accessScope.type is set to "namespace"')
            if scope["type"] == "cluster" and scope.get("namespaces"):
                raise EksctlError(f'{where}.accessScope.namespaces cannot be specified when accessScope.type is set to "cluster"')


def _validate_names(config: dict) -> None:
    for section, label in (("addons", "addon"), ("managedNodeGroups", "nodegroup")):
        seen = set()
        for item in config.get(section) or []:
            if item["name"] in seen:
                raise EksctlError(f'{label} "{item["name"]}" is defined more than once')
            seen.add(item["name"])
    if config.get("nodeGroups"):
        raise EksctlError("the eksctl stand-in supports managedNodeGroups only (nodeGroups given)")


# ----------------------------------------------------------------------------------------------- AWS access

class Aws:
    """boto3 clients for one region, pointed at AWS_ENDPOINT_URL, retrying like the Go SDK."""

    def __init__(self, region: str):
        import boto3  # pylint: disable=import-outside-toplevel
        from botocore.config import Config  # pylint: disable=import-outside-toplevel
        from botocore.exceptions import ClientError  # pylint: disable=import-outside-toplevel

        self.region = region
        self.client_error = ClientError
        self.session = boto3.session.Session(region_name=region)
        self.config = Config(retries={"mode": "standard", "max_attempts": 10}, connect_timeout=10, read_timeout=60)
        self.clients: dict = {}
        self.timeout = float(os.environ.get("HUBOPS_EKSCTL_WAIT_TIMEOUT", "300"))

    def __getattr__(self, service: str):
        if service.startswith("__"):
            raise AttributeError(service)
        if service not in self.clients:
            name = {"cfn": "cloudformation"}.get(service, service)
            self.clients[service] = self.session.client(name, endpoint_url=os.environ.get("AWS_ENDPOINT_URL") or None,
                                                        config=self.config)
            CLIENTS.append(self.clients[service])
        return self.clients[service]

    def wait(self, what: str, probe) -> object:
        """Poll probe() until it returns something truthy (or raises)."""
        deadline = time.monotonic() + self.timeout
        delay = 0.1
        while True:
            result = probe()
            if result:
                return result
            if time.monotonic() > deadline:
                raise EksctlError(f"timed out waiting for {what}")
            time.sleep(delay)
            delay = min(delay * 2, 2.0)

    # -- EKS reads -------------------------------------------------------------------------------------
    def cluster(self, name: str) -> dict:
        try:
            return self.eks.describe_cluster(name=name)["cluster"]
        except self.client_error as exc:
            raise aws_error(exc, "unable to describe cluster control plane") from exc

    def cluster_or_none(self, name: str) -> dict | None:
        try:
            return self.eks.describe_cluster(name=name)["cluster"]
        except self.client_error as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise aws_error(exc, "unable to describe cluster control plane") from exc

    def paged(self, method: str, key: str, **kwargs) -> list:
        out, token = [], None
        while True:
            args = dict(kwargs, **({"nextToken": token} if token else {}))
            page = getattr(self.eks, method)(**args)
            out += page.get(key, [])
            token = page.get("nextToken")
            if not token:
                return out

    def nodegroups(self, cluster: str) -> list[dict]:
        return [self.eks.describe_nodegroup(clusterName=cluster, nodegroupName=n)["nodegroup"]
                for n in self.paged("list_nodegroups", "nodegroups", clusterName=cluster)]

    def addons(self, cluster: str) -> list[dict]:
        return [self.eks.describe_addon(clusterName=cluster, addonName=n)["addon"]
                for n in self.paged("list_addons", "addons", clusterName=cluster)]

    def addon_or_none(self, cluster: str, name: str) -> dict | None:
        try:
            return self.eks.describe_addon(clusterName=cluster, addonName=name)["addon"]
        except self.client_error as exc:
            if error_code(exc) == "ResourceNotFoundException":
                return None
            raise aws_error(exc, f"describing addon {name}") from exc

    def pod_identity_associations(self, cluster: str, namespace: str | None = None, account: str | None = None) -> list[dict]:
        args = {"clusterName": cluster}
        if namespace:
            args["namespace"] = namespace
        if account:
            args["serviceAccount"] = account
        summaries = self.paged("list_pod_identity_associations", "associations", **args)
        return [self.eks.describe_pod_identity_association(clusterName=cluster, associationId=s["associationId"])["association"]
                for s in summaries]

    def access_entries(self, cluster: str) -> list[str]:
        return self.paged("list_access_entries", "accessEntries", clusterName=cluster)

    # -- CloudFormation --------------------------------------------------------------------------------
    def stack_or_none(self, name: str) -> dict | None:
        try:
            stacks = self.cfn.describe_stacks(StackName=name)["Stacks"]
        except self.client_error as exc:
            if "does not exist" in str(exc):
                return None
            raise aws_error(exc, f'describing CloudFormation stack "{name}"') from exc
        live = [s for s in stacks if s["StackStatus"] != "DELETE_COMPLETE"]
        return live[0] if live else None

    def create_stack(self, name: str, template: dict, tags: dict) -> dict:
        info(f'deploying stack "{name}"')
        try:
            self.cfn.create_stack(StackName=name, TemplateBody=json.dumps(template), Capabilities=["CAPABILITY_IAM", "CAPABILITY_NAMED_IAM"],
                                  DisableRollback=True, Tags=[{"Key": k, "Value": str(v)} for k, v in tags.items()])
        except self.client_error as exc:
            code = error_code(exc)
            if code == "AlreadyExistsException":
                raise EksctlError(f'creating CloudFormation stack "{name}": {code}: Stack [{name}] already exists') from exc
            raise aws_error(exc, f'creating CloudFormation stack "{name}"') from exc

        def done():
            stack = self.cfn.describe_stacks(StackName=name)["Stacks"][0]
            if stack["StackStatus"].endswith("_IN_PROGRESS"):
                return None
            return stack

        stack = self.wait(f'stack "{name}"', done)
        if stack["StackStatus"] != "CREATE_COMPLETE":
            reasons = [e.get("ResourceStatusReason") for e in self.cfn.describe_stack_events(StackName=name)["StackEvents"]
                       if e.get("ResourceStatus", "").endswith("FAILED")]
            raise EksctlError(f'failed to create stack "{name}" ({stack["StackStatus"]}): {"; ".join(r for r in reasons if r)}')
        self._ensure_managed_policies(name, template)
        return stack

    def _role_resources(self, name: str, template: dict) -> list[tuple[str, list[str]]]:
        """(physical role name, managed policy ARNs the template asks for) for each AWS::IAM::Role of the stack."""
        physical = {r["LogicalResourceId"]: r["PhysicalResourceId"]
                    for r in self.cfn.describe_stack_resources(StackName=name)["StackResources"]}
        return [(physical[logical], res.get("Properties", {}).get("ManagedPolicyArns", []))
                for logical, res in template.get("Resources", {}).items()
                if res.get("Type") == "AWS::IAM::Role" and logical in physical]

    def _ensure_managed_policies(self, name: str, template: dict) -> None:
        """Emulator gap: moto's CloudFormation ignores AWS::IAM::Role ManagedPolicyArns; attach what it left out."""
        for role, wanted in self._role_resources(name, template):
            have = {p["PolicyArn"] for p in self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]}
            for arn in wanted:
                if arn not in have:
                    self.iam.attach_role_policy(RoleName=role, PolicyArn=arn)

    def delete_stack(self, name: str, wait: bool = True) -> None:
        stack = self.stack_or_none(name)
        if stack is None:
            return
        info(f'will delete stack "{name}"')
        try:
            template = self.cfn.get_template(StackName=name)["TemplateBody"]
            template = json.loads(template) if isinstance(template, str) else template
            # Emulator gap (see _ensure_managed_policies): moto deletes a role only once its policies are detached.
            for role, wanted in self._role_resources(name, template):
                try:
                    attached = self.iam.list_attached_role_policies(RoleName=role)["AttachedPolicies"]
                except self.client_error:
                    continue
                for policy in attached:
                    if policy["PolicyArn"] in wanted:
                        self.iam.detach_role_policy(RoleName=role, PolicyArn=policy["PolicyArn"])
            self.cfn.delete_stack(StackName=name)
        except self.client_error as exc:
            raise aws_error(exc, f'deleting CloudFormation stack "{name}"') from exc
        if wait:
            info(f'waiting for stack "{name}" to get deleted')

            def gone():
                stack = self.stack_or_none(name)
                if stack is not None and stack["StackStatus"] == "DELETE_FAILED":
                    raise EksctlError(f'failed to delete stack "{name}": {stack.get("StackStatusReason", "DELETE_FAILED")}')
                return stack is None

            self.wait(f'deletion of stack "{name}"', gone)

    def eksctl_stacks(self, cluster: str) -> list[dict]:
        out, token = [], None
        while True:
            page = self.cfn.describe_stacks(**({"NextToken": token} if token else {}))
            for stack in page["Stacks"]:
                tags = {t["Key"]: t["Value"] for t in stack.get("Tags", [])}
                if stack["StackStatus"] != "DELETE_COMPLETE" and (
                        tags.get("alpha.eksctl.io/cluster-name") == cluster or stack["StackName"].startswith(f"eksctl-{cluster}-")):
                    out.append(stack)
            token = page.get("NextToken")
            if not token:
                return out


# ----------------------------------------------------------------------------------------------- shared pieces

def resolve_region(args, config: dict | None = None) -> str:
    region = ((config or {}).get("metadata") or {}).get("region") or getattr(args, "region", None) \
        or os.environ.get("AWS_REGION") or os.environ.get("AWS_DEFAULT_REGION")
    if not region:
        raise EksctlError("--region=\"\" is not supported: set --region or AWS_REGION")
    return region


def cluster_name_of(args, config: dict | None, flag: str = "cluster") -> str:
    name = ((config or {}).get("metadata") or {}).get("name") or getattr(args, flag, None) or getattr(args, "name", None)
    if not name:
        raise EksctlError(f"--{flag} must be set")
    return name


def stack_tags(config_or_name, extra: dict | None = None) -> dict:
    if isinstance(config_or_name, dict):
        name = config_or_name["metadata"]["name"]
        user = config_or_name["metadata"].get("tags") or {}
    else:
        name, user = config_or_name, {}
    tags = dict(user)
    tags.update({"alpha.eksctl.io/cluster-name": name, "eksctl.cluster.k8s.io/v1alpha1/cluster-name": name,
                 "alpha.eksctl.io/eksctl-version": EKSCTL_VERSION})
    tags.update(extra or {})
    return tags


def version_key(version: str) -> tuple:
    return tuple(int(n) for n in re.findall(r"\d+", version or ""))


def minor(version: str) -> int:
    match = re.match(r"^1\.(\d+)$", str(version))
    if not match:
        raise EksctlError(f'invalid version "{version}", supported values: {", ".join(SUPPORTED_VERSIONS)}')
    return int(match.group(1))


def addon_versions(aws: Aws, name: str, k8s_version: str) -> list[dict]:
    try:
        found = aws.eks.describe_addon_versions(addonName=name, kubernetesVersion=k8s_version)["addons"]
    except aws.client_error as exc:
        raise aws_error(exc, f"describing addon versions for {name}") from exc
    return [v for a in found if a.get("addonName") == name for v in a.get("addonVersions", [])]


def resolve_addon_version(aws: Aws, name: str, wanted: str | None, k8s_version: str) -> str:
    """`latest` or nothing -> the default version for the cluster's minor; `1.2.3`/`v1.2.3` -> newest match."""
    versions = addon_versions(aws, name, k8s_version)
    if not versions:
        raise EksctlError(f'no versions available for "{name}" and Kubernetes {k8s_version}')
    if not wanted or wanted == "latest":
        for ver in versions:
            if any(c.get("defaultVersion") and c.get("clusterVersion") == k8s_version for c in ver.get("compatibilities", [])):
                return ver["addonVersion"]
        return max((v["addonVersion"] for v in versions), key=version_key)
    want = wanted if wanted.startswith("v") else f"v{wanted}"
    matches = [v["addonVersion"] for v in versions if v["addonVersion"] == want or v["addonVersion"].startswith(want + "-")]
    if not matches:
        raise EksctlError(f'no version(s) found matching "{wanted}" for "{name}"')
    return max(matches, key=version_key)


def pod_identity_role_stack(aws: Aws, config: dict, assoc: dict, stack_name: str) -> str:
    """Real eksctl makes a role (in its own stack) for an association without roleARN; same here."""
    trust = {"Version": "2012-10-17", "Statement": [{"Effect": "Allow", "Principal": {"Service": "pods.eks.amazonaws.com"},
                                                     "Action": ["sts:AssumeRole", "sts:TagSession"]}]}
    props = {"AssumeRolePolicyDocument": trust, "ManagedPolicyArns": list(assoc.get("permissionPolicyARNs") or [])}
    if assoc.get("roleName"):
        props["RoleName"] = assoc["roleName"]
    if assoc.get("permissionsBoundaryARN"):
        props["PermissionsBoundary"] = assoc["permissionsBoundaryARN"]
    if assoc.get("permissionPolicy"):
        props["Policies"] = [{"PolicyName": "Policy1", "PolicyDocument": assoc["permissionPolicy"]}]
    template = {"AWSTemplateFormatVersion": "2010-09-09",
                "Description": "IAM role for pod identity association [created and managed by eksctl]",
                "Resources": {"Role1": {"Type": "AWS::IAM::Role", "Properties": props}},
                "Outputs": {"Role1": {"Value": {"Fn::GetAtt": ["Role1", "Arn"]}}}}
    stack = aws.create_stack(stack_name, template, stack_tags(config, {
        "alpha.eksctl.io/podidentityassociation-name": f"{assoc['namespace']}/{assoc['serviceAccountName']}"}))
    return next(o["OutputValue"] for o in stack.get("Outputs", []) if o["OutputKey"] == "Role1")


def addon_pod_identities(aws: Aws, config: dict, addon: dict) -> list[dict]:
    out = []
    for assoc in addon.get("podIdentityAssociations") or []:
        role = assoc.get("roleARN")
        if not role:
            stack = f"eksctl-{config['metadata']['name']}-addon-{addon['name']}-podidentityrole-{assoc['serviceAccountName']}"
            role = pod_identity_role_stack(aws, config, assoc, stack)
        out.append({"serviceAccount": assoc["serviceAccountName"], "roleArn": role})
    return out


def addon_request(aws: Aws, config: dict, addon: dict, version: str, k8s_version: str) -> dict:
    name = config["metadata"]["name"]
    request = {"clusterName": name, "addonName": addon["name"]}
    request["addonVersion"] = resolve_addon_version(aws, addon["name"], version, k8s_version)
    if addon.get("configurationValues") is not None:
        request["configurationValues"] = addon["configurationValues"]
    if addon.get("serviceAccountRoleARN"):
        request["serviceAccountRoleArn"] = addon["serviceAccountRoleARN"]
    if addon.get("resolveConflicts"):
        request["resolveConflicts"] = {"none": "NONE", "overwrite": "OVERWRITE", "preserve": "PRESERVE"}.get(
            str(addon["resolveConflicts"]).lower(), addon["resolveConflicts"])
    identities = addon_pod_identities(aws, config, addon)
    if identities:
        request["podIdentityAssociations"] = identities
    return request


def create_addons(aws: Aws, config: dict, k8s_version: str, wait: bool = False) -> None:
    name = config["metadata"]["name"]
    for addon in config.get("addons") or []:
        if aws.addon_or_none(name, addon["name"]) is not None:
            info(f'addon "{addon["name"]}" is already present on the cluster "{name}", skipping')
            continue
        request = addon_request(aws, config, addon, addon.get("version"), k8s_version)
        tags = dict(config["metadata"].get("tags") or {})
        tags.update(addon.get("tags") or {})
        if tags:
            request["tags"] = tags
        info(f'creating addon "{addon["name"]}" version "{request["addonVersion"]}"')
        try:
            aws.eks.create_addon(**request)
        except aws.client_error as exc:
            raise aws_error(exc, f'creating addon "{addon["name"]}"') from exc
        if wait:
            wait_addon(aws, name, addon["name"])
        success(f'created addon "{addon["name"]}"')


def wait_addon(aws: Aws, cluster: str, name: str) -> None:
    def active():
        status = aws.eks.describe_addon(clusterName=cluster, addonName=name)["addon"].get("status")
        if status in ("CREATE_FAILED", "UPDATE_FAILED", "DEGRADED"):
            raise EksctlError(f'addon "{name}" is {status}')
        return status == "ACTIVE"

    aws.wait(f'addon "{name}" to become ACTIVE', active)


def create_access_entries(aws: Aws, config: dict) -> None:
    name = config["metadata"]["name"]
    for entry in (config.get("accessConfig") or {}).get("accessEntries") or []:
        arn = entry["principalARN"]
        request = {"clusterName": name, "principalArn": arn, "type": entry.get("type", "STANDARD")}
        if entry.get("kubernetesGroups"):
            request["kubernetesGroups"] = entry["kubernetesGroups"]
        if entry.get("kubernetesUsername"):
            request["username"] = entry["kubernetesUsername"]
        if config["metadata"].get("tags"):
            request["tags"] = dict(config["metadata"]["tags"])
        info(f'creating access entry for "{arn}"')
        try:
            aws.eks.create_access_entry(**request)
            for policy in entry.get("accessPolicies") or []:
                scope = {"type": policy["accessScope"]["type"]}
                if policy["accessScope"].get("namespaces"):
                    scope["namespaces"] = policy["accessScope"]["namespaces"]
                aws.eks.associate_access_policy(clusterName=name, principalArn=arn, policyArn=policy["policyARN"], accessScope=scope)
        except aws.client_error as exc:
            raise aws_error(exc, f'creating access entry for "{arn}"') from exc
        success(f'created access entry for "{arn}"')


def create_pod_identity_associations(aws: Aws, config: dict) -> None:
    name = config["metadata"]["name"]
    for assoc in (config.get("iam") or {}).get("podIdentityAssociations") or []:
        namespace, account = assoc.get("namespace"), assoc.get("serviceAccountName")
        if not namespace or not account:
            raise EksctlError("podIdentityAssociations: namespace and serviceAccountName must be set")
        role = assoc.get("roleARN")
        if not role:
            role = pod_identity_role_stack(aws, config, assoc, f"eksctl-{name}-podidentityrole-{namespace}-{account}")
        request = {"clusterName": name, "namespace": namespace, "serviceAccount": account, "roleArn": role}
        tags = dict(config["metadata"].get("tags") or {})
        tags.update(assoc.get("tags") or {})
        if tags:
            request["tags"] = tags
        if assoc.get("targetRoleARN"):
            request["targetRoleArn"] = assoc["targetRoleARN"]
        if assoc.get("disableSessionTags") is not None:
            request["disableSessionTags"] = assoc["disableSessionTags"]
        info(f'creating pod identity association for service account "{namespace}/{account}"')
        try:
            aws.eks.create_pod_identity_association(**request)
        except aws.client_error as exc:
            raise aws_error(exc, f'creating pod identity association "{namespace}/{account}"') from exc
        success(f'created pod identity association for service account "{namespace}/{account}"')


# ----------------------------------------------------------------------------------------------- node groups

def _subnet_maps(config: dict) -> tuple[dict, dict]:
    subnets = (config.get("vpc") or {}).get("subnets") or {}
    return subnets.get("private") or {}, subnets.get("public") or {}


def _subnet_ids(mapping: dict) -> list[str]:
    ids = []
    for key, spec in mapping.items():
        if not (spec or {}).get("id"):
            raise EksctlError(f'vpc.subnets "{key}": the eksctl stand-in needs subnet ids (it does not create or look up subnets)')
        ids.append(spec["id"])
    return ids


def nodegroup_subnets(aws: Aws, config: dict, group: dict) -> list[str]:
    private, public = _subnet_maps(config)
    named = dict(private, **public)
    if group.get("subnets"):
        return [named[s]["id"] if s in named and (named[s] or {}).get("id") else s for s in group["subnets"]]
    if not private and not public:
        raise EksctlError(f'managed nodegroup "{group["name"]}": no subnets: set vpc.subnets or the nodegroup\'s subnets')
    pool = private if group.get("privateNetworking") else public
    if not pool:
        raise EksctlError(f'managed nodegroup "{group["name"]}": privateNetworking is false but there are no public subnets '
                          "(vpc.subnets.public); set privateNetworking: true or list the nodegroup's subnets")
    ids = _subnet_ids(pool)
    zones = group.get("availabilityZones")
    if zones:
        found = aws.ec2.describe_subnets(SubnetIds=ids)["Subnets"]
        ids = [s["SubnetId"] for s in found if s["AvailabilityZone"] in zones]
        if not ids:
            raise EksctlError(f'managed nodegroup "{group["name"]}": no subnets in availabilityZones {zones}')
    return ids


def nodegroup_sizes(group: dict) -> tuple[int, int, int]:
    desired, low, high = group.get("desiredCapacity"), group.get("minSize"), group.get("maxSize")
    if desired is None:
        desired = low if low is not None else 2
    low = desired if low is None else low
    high = max(desired, low) if high is None else high
    if not low <= desired <= high:
        raise EksctlError(f'managed nodegroup "{group["name"]}": minSize ({low}) <= desiredCapacity ({desired}) <= maxSize ({high}) '
                          "does not hold")
    return desired, low, high


def ami_type(group: dict) -> str:
    family = group.get("amiFamily", "AmazonLinux2023")
    types = group.get("instanceTypes") or [group.get("instanceType") or "m5.large"]
    arm = bool(re.match(r"^[a-z]+\d+[a-z]*g[a-z]*\.", types[0]))
    gpu = types[0].split(".")[0].rstrip("0123456789dn") in ("p", "g") or types[0].startswith(("p", "g"))
    if family == "AmazonLinux2023":
        return "AL2023_ARM_64_STANDARD" if arm else ("AL2023_x86_64_NVIDIA" if gpu else "AL2023_x86_64_STANDARD")
    if family == "AmazonLinux2":
        return "AL2_ARM_64" if arm else ("AL2_x86_64_GPU" if gpu else "AL2_x86_64")
    if family.startswith("Bottlerocket"):
        return "BOTTLEROCKET_ARM_64" if arm else "BOTTLEROCKET_x86_64"
    if family.startswith("WindowsServer2019"):
        return "WINDOWS_CORE_2019_x86_64" if "Core" in family else "WINDOWS_FULL_2019_x86_64"
    if family.startswith("WindowsServer2022"):
        return "WINDOWS_CORE_2022_x86_64" if "Core" in family else "WINDOWS_FULL_2022_x86_64"
    return "CUSTOM"


def nodegroup_template(config: dict, group: dict) -> dict:
    cluster = config["metadata"]["name"]
    resources: dict = {}
    outputs: dict = {}
    role_arn = (group.get("iam") or {}).get("instanceRoleARN")
    if not role_arn:
        policies = list(NODE_POLICIES)
        cni_elsewhere = any(a["name"] == "vpc-cni" and a.get("podIdentityAssociations") for a in config.get("addons") or [])
        if not (cni_elsewhere or (config.get("iam") or {}).get("withOIDC")):
            policies.append(CNI_POLICY)
        policies += (group.get("iam") or {}).get("attachPolicyARNs") or []
        props = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["ec2.amazonaws.com"]}, "Action": ["sts:AssumeRole"]}]},
            "ManagedPolicyArns": sorted(set(policies)), "Path": "/",
            "Tags": [{"Key": "Name", "Value": f"eksctl-{cluster}-nodegroup-{group['name']}/NodeInstanceRole"}]}
        if (group.get("iam") or {}).get("instanceRoleName"):
            props["RoleName"] = group["iam"]["instanceRoleName"]
        if (group.get("iam") or {}).get("instanceRolePermissionsBoundary"):
            props["PermissionsBoundary"] = group["iam"]["instanceRolePermissionsBoundary"]
        resources["NodeInstanceRole"] = {"Type": "AWS::IAM::Role", "Properties": props}
        outputs["InstanceRoleARN"] = {"Value": {"Fn::GetAtt": ["NodeInstanceRole", "Arn"]}}
    ebs = {"VolumeSize": group.get("volumeSize", 80), "VolumeType": group.get("volumeType", "gp3")}
    for key, prop in (("volumeEncrypted", "Encrypted"), ("volumeKmsKeyID", "KmsKeyId"), ("volumeIOPS", "Iops"),
                      ("volumeThroughput", "Throughput")):
        if group.get(key) is not None:
            ebs[prop] = group[key]
    instance_tags = [{"Key": "Name", "Value": f"{cluster}-{group['name']}-Node"},
                     {"Key": "alpha.eksctl.io/nodegroup-name", "Value": group["name"]},
                     {"Key": "alpha.eksctl.io/nodegroup-type", "Value": "managed"}]
    data = {
        "BlockDeviceMappings": [{"DeviceName": "/dev/xvda", "Ebs": ebs}],
        "MetadataOptions": {"HttpPutResponseHopLimit": 1 if group.get("disablePodIMDS") else 2,
                            "HttpTokens": "required" if group.get("disableIMDSv1", True) else "optional"},
        "TagSpecifications": [{"ResourceType": t, "Tags": instance_tags} for t in ("instance", "volume", "network-interface")],
    }
    resources["LaunchTemplate"] = {"Type": "AWS::EC2::LaunchTemplate", "Properties": {
        "LaunchTemplateName": f"eksctl-{cluster}-nodegroup-{group['name']}", "LaunchTemplateData": data}}
    outputs["LaunchTemplateId"] = {"Value": {"Ref": "LaunchTemplate"}}
    outputs["FeatureLocalSecurityGroup"] = {"Value": "false"}
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"EKS Managed Nodes (SSH access: false) [created by eksctl {EKSCTL_VERSION}]",
            "Resources": resources, "Outputs": outputs}


def create_nodegroup(aws: Aws, config: dict, group: dict, k8s_version: str) -> None:
    cluster = config["metadata"]["name"]
    stack_name = f"eksctl-{cluster}-nodegroup-{group['name']}"
    desired, low, high = nodegroup_sizes(group)
    subnets = nodegroup_subnets(aws, config, group)
    if group.get("instanceType") and group.get("instanceTypes"):
        raise EksctlError(f'managed nodegroup "{group["name"]}": instanceType and instanceTypes cannot be set together')
    info(f'building managed nodegroup stack "{stack_name}"')
    stack = aws.create_stack(stack_name, nodegroup_template(config, group), stack_tags(config, {
        "alpha.eksctl.io/nodegroup-name": group["name"], "alpha.eksctl.io/nodegroup-type": "managed"}))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    role = (group.get("iam") or {}).get("instanceRoleARN") or outputs["InstanceRoleARN"]
    tags = dict(config["metadata"].get("tags") or {})
    tags.update(group.get("tags") or {})
    tags.update({"alpha.eksctl.io/cluster-name": cluster, "alpha.eksctl.io/nodegroup-name": group["name"],
                 "alpha.eksctl.io/nodegroup-type": "managed"})
    request = {
        "clusterName": cluster, "nodegroupName": group["name"], "nodeRole": role, "subnets": subnets,
        "scalingConfig": {"minSize": low, "maxSize": high, "desiredSize": desired},
        "instanceTypes": group.get("instanceTypes") or [group.get("instanceType") or "m5.large"],
        "amiType": ami_type(group), "labels": {"alpha.eksctl.io/cluster-name": cluster, "alpha.eksctl.io/nodegroup-name": group["name"],
                                               **(group.get("labels") or {})},
        "tags": tags, "version": k8s_version, "capacityType": "SPOT" if group.get("spot") else "ON_DEMAND",
        "launchTemplate": {"id": outputs["LaunchTemplateId"], "version": "1"},
    }
    if group.get("taints"):
        request["taints"] = [{"key": t["key"], "value": t.get("value", ""), "effect": TAINT_EFFECTS.get(t.get("effect"), t.get("effect"))}
                             for t in group["taints"]]
    if group.get("releaseVersion"):
        request["releaseVersion"] = group["releaseVersion"]
    if group.get("updateConfig"):
        request["updateConfig"] = {k: v for k, v in group["updateConfig"].items() if k in ("maxUnavailable", "maxUnavailablePercentage")}
    info(f'creating managed nodegroup "{group["name"]}" in cluster "{cluster}"')
    try:
        aws.eks.create_nodegroup(**request)
    except aws.client_error as exc:
        raise aws_error(exc, f'creating managed nodegroup "{group["name"]}"') from exc

    def active():
        status = aws.eks.describe_nodegroup(clusterName=cluster, nodegroupName=group["name"])["nodegroup"]["status"]
        if status in ("CREATE_FAILED", "DEGRADED"):
            raise EksctlError(f'nodegroup "{group["name"]}" is {status}')
        return status == "ACTIVE"

    aws.wait(f'nodegroup "{group["name"]}"', active)
    success(f'created managed nodegroup "{group["name"]}" in cluster "{cluster}"')


# ----------------------------------------------------------------------------------------------- kubeconfig

def kubeconfig_path(args) -> Path:
    if getattr(args, "kubeconfig", None):
        return Path(args.kubeconfig).expanduser()
    env = os.environ.get("KUBECONFIG", "").split(os.pathsep)[0]
    return Path(env).expanduser() if env else Path.home() / ".kube" / "config"


def _emulator_kit() -> str | None:
    """The Kubernetes API server kit kubeconfig the emulator at AWS_ENDPOINT_URL reports, or None (any error)."""
    endpoint = (os.environ.get("AWS_ENDPOINT_URL") or "").rstrip("/")
    if not endpoint:
        return None
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(endpoint + "/_hubops/kit", timeout=2) as resp:
            kubeconfig = json.load(resp).get("kubeconfig")
    except (OSError, ValueError, AttributeError):
        return None
    return kubeconfig if isinstance(kubeconfig, str) and os.path.isfile(kubeconfig) else None


def _emulated_entries(path: Path) -> tuple[dict, dict]:
    source = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    contexts = {c["name"]: c.get("context", {}) for c in source.get("contexts") or []}
    context = contexts.get(source.get("current-context")) or next(iter(contexts.values()), {})
    clusters = {c["name"]: c.get("cluster", {}) for c in source.get("clusters") or []}
    users = {u["name"]: u.get("user", {}) for u in source.get("users") or []}
    cluster = dict(clusters.get(context.get("cluster")) or next(iter(clusters.values()), {}))
    user = dict(users.get(context.get("user")) or next(iter(users.values()), {}))
    for entry, keys in ((cluster, ("certificate-authority",)), (user, ("client-certificate", "client-key", "tokenFile"))):
        for key in keys:
            if entry.get(key) and not os.path.isabs(entry[key]):
                entry[key] = str((path.parent / entry[key]).resolve())
    if not cluster.get("server"):
        raise EksctlError(f"emulated kubeconfig {path}: no cluster server found")
    return cluster, user


def write_kubeconfig(aws: Aws, name: str, path: Path, set_context: bool = True) -> None:
    region = aws.region
    full = f"{name}.{region}.eksctl.io"
    user_name = f"eksctl@{full}"
    emulated = os.environ.get("HUBOPS_EMULATED_KUBECONFIG")
    if emulated and not Path(emulated).is_file():
        raise EksctlError(f"HUBOPS_EMULATED_KUBECONFIG {emulated}: no such file")
    emulated = emulated or _emulator_kit()
    if emulated:
        cluster_entry, user_entry = _emulated_entries(Path(emulated))
    else:
        cluster = aws.cluster(name)
        cluster_entry = {"certificate-authority-data": (cluster.get("certificateAuthority") or {}).get("data", ""),
                         "server": (cluster.get("endpoint") or "").rstrip("/")}
        user_entry = {"exec": {
            "apiVersion": "client.authentication.k8s.io/v1beta1",
            "args": ["eks", "get-token", "--output", "json", "--cluster-name", name, "--region", region],
            "command": "aws", "env": [{"name": "AWS_STS_REGIONAL_ENDPOINTS", "value": "regional"}],
            "interactiveMode": "IfAvailable", "provideClusterInfo": False}}
    doc = {}
    if path.exists():
        doc = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    doc.setdefault("apiVersion", "v1")
    doc.setdefault("kind", "Config")
    doc.setdefault("preferences", {})

    def upsert(section: str, item: dict) -> None:
        doc[section] = [e for e in doc.get(section) or [] if e.get("name") != item["name"]] + [item]

    upsert("clusters", {"cluster": cluster_entry, "name": full})
    upsert("contexts", {"context": {"cluster": full, "user": user_name}, "name": full})
    upsert("users", {"name": user_name, "user": user_entry})
    if set_context or not doc.get("current-context"):
        doc["current-context"] = full
    path.parent.mkdir(parents=True, exist_ok=True)
    handle = os.open(str(path), os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(handle, "w", encoding="utf-8") as stream:
        yaml.safe_dump(doc, stream, default_flow_style=False, sort_keys=True)
    os.chmod(path, 0o600)
    success(f'saved kubeconfig as "{path}"')


# ----------------------------------------------------------------------------------------------- commands: version, get

def cmd_version(args) -> int:
    data = {"Version": EKSCTL_VERSION, "PreReleaseID": "",
            "Metadata": {"BuildDate": "2025-09-17T00:00:00Z", "GitCommit": "hubops-standin"},
            "EKSServerSupportedVersions": SUPPORTED_VERSIONS}
    if args.output in ("json", "yaml"):
        print_output(data, args.output)
    else:
        print(EKSCTL_VERSION)
    return 0


CLUSTER_SHAPE = {
    "Name": None, "Arn": None, "CreatedAt": None, "Version": None, "Endpoint": None, "RoleArn": None,
    "ResourcesVpcConfig": {"SubnetIds": [], "SecurityGroupIds": [], "ClusterSecurityGroupId": None, "VpcId": None,
                           "EndpointPublicAccess": False, "EndpointPrivateAccess": False, "PublicAccessCidrs": []},
    "KubernetesNetworkConfig": {"ServiceIpv4Cidr": None, "ServiceIpv6Cidr": None, "IpFamily": None},
    "Logging": {"ClusterLogging": []}, "Identity": None, "Status": None, "CertificateAuthority": None,
    "PlatformVersion": None, "Tags": {}, "EncryptionConfig": [], "AccessConfig": None,
}


def _shaped(data: dict, shape: dict) -> dict:
    out = dict(data)
    for key, default in shape.items():
        if isinstance(default, dict) and isinstance(out.get(key), dict):
            out[key] = _shaped(out[key], default)
        elif key not in out:
            out[key] = default
    return out


def get_cluster(aws: Aws, args, config: dict | None) -> int:
    name = ((config or {}).get("metadata") or {}).get("name") or args.name
    if not name:
        clusters = [{"Name": n, "Region": aws.region, "EksctlCreated": "True" if aws.stack_or_none(f"eksctl-{n}-cluster") else "False"}
                    for n in aws.paged("list_clusters", "clusters")]
        print_output(clusters, args.output, [("NAME", "Name"), ("REGION", "Region"), ("EKSCTL CREATED", "EksctlCreated")])
        return 0
    cluster = _shaped(to_go_json(aws.cluster(name)), CLUSTER_SHAPE)
    vpc = cluster["ResourcesVpcConfig"]
    print_output([cluster], args.output, [
        ("NAME", "Name"), ("VERSION", "Version"), ("STATUS", "Status"), ("CREATED", "CreatedAt"), ("VPC", lambda c: vpc.get("VpcId") or ""),
        ("SUBNETS", lambda c: ",".join(vpc.get("SubnetIds") or [])),
        ("SECURITYGROUPS", lambda c: ",".join(vpc.get("SecurityGroupIds") or [])), ("PROVIDER", lambda c: "EKS")])
    return 0


def get_addon(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    cluster = aws.cluster(name)
    try:
        addons = aws.addons(name)
    except aws.client_error as exc:
        raise aws_error(exc, "listing addons") from exc
    if args.name:
        addons = [a for a in addons if a["addonName"] == args.name]
        if not addons:
            raise EksctlError(f'addon "{args.name}" not found on cluster "{name}"')
    out = []
    for addon in addons:
        newer = [v["addonVersion"] for v in addon_versions(aws, addon["addonName"], cluster["version"])
                 if version_key(v["addonVersion"]) > version_key(addon.get("addonVersion", ""))]
        out.append({
            "Name": addon["addonName"], "Version": addon.get("addonVersion", ""),
            "NewerVersion": ",".join(sorted(newer, key=version_key, reverse=True)),
            "IAMRole": addon.get("serviceAccountRoleArn", ""), "Status": addon.get("status", ""),
            "ConfigurationValues": addon.get("configurationValues", ""),
            "Issues": [{"Code": i.get("code"), "Message": i.get("message"), "ResourceIDs": i.get("resourceIds", [])}
                       for i in (addon.get("health") or {}).get("issues", [])],
            "PodIdentityAssociations": list(addon.get("podIdentityAssociations") or []),
        })
    print_output(out, args.output, [("NAME", "Name"), ("VERSION", "Version"), ("STATUS", "Status"),
                                    ("ISSUES", lambda a: len(a["Issues"])), ("IAMROLE", "IAMRole"),
                                    ("UPDATE AVAILABLE", "NewerVersion"), ("CONFIGURATION VALUES", "ConfigurationValues"),
                                    ("POD IDENTITY ASSOCIATIONS", lambda a: ",".join(a["PodIdentityAssociations"]))])
    return 0


def get_accessentry(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    try:
        arns = [args.principal_arn] if args.principal_arn else aws.access_entries(name)
        out = []
        for arn in arns:
            entry = aws.eks.describe_access_entry(clusterName=name, principalArn=arn)["accessEntry"]
            policies = aws.paged("list_associated_access_policies", "associatedAccessPolicies", clusterName=name, principalArn=arn)
            item = {"principalARN": entry["principalArn"], "type": entry.get("type", "STANDARD")}
            if entry.get("kubernetesGroups"):
                item["kubernetesGroups"] = entry["kubernetesGroups"]
            if policies:
                item["accessPolicies"] = []
                for policy in policies:
                    scope = {"type": (policy.get("accessScope") or {}).get("type", "cluster")}
                    if (policy.get("accessScope") or {}).get("namespaces"):
                        scope["namespaces"] = policy["accessScope"]["namespaces"]
                    item["accessPolicies"].append({"policyARN": policy["policyArn"], "accessScope": scope})
            out.append(item)
    except aws.client_error as exc:
        raise aws_error(exc, "getting access entries") from exc
    print_output(out, args.output, [("PRINCIPAL ARN", "principalARN"), ("TYPE", "type"),
                                    ("KUBERNETES GROUPS", lambda e: ",".join(e.get("kubernetesGroups", []))),
                                    ("ACCESS POLICIES", lambda e: ",".join(p["policyARN"].rsplit("/", 1)[-1]
                                                                           for p in e.get("accessPolicies", [])))])
    return 0


def get_nodegroup(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    groups = aws.nodegroups(name)
    if args.name:
        groups = [g for g in groups if g["nodegroupName"] == args.name]
        if not groups:
            raise EksctlError(f'nodegroup "{args.name}" not found')
    out = []
    for group in groups:
        stack = f"eksctl-{name}-nodegroup-{group['nodegroupName']}"
        scaling = group.get("scalingConfig") or {}
        out.append({
            "StackName": stack if aws.stack_or_none(stack) else "", "Cluster": name, "Name": group["nodegroupName"],
            "Status": group.get("status", ""), "MaxSize": scaling.get("maxSize", 0), "MinSize": scaling.get("minSize", 0),
            "DesiredCapacity": scaling.get("desiredSize", 0), "InstanceType": ",".join(group.get("instanceTypes") or []),
            "ImageID": group.get("amiType", ""), "CreationTime": to_go_json(group.get("createdAt")),
            "NodeInstanceRoleARN": group.get("nodeRole", ""),
            "AutoScalingGroupName": ",".join(a["name"] for a in (group.get("resources") or {}).get("autoScalingGroups", [])),
            "Version": group.get("version", ""), "Type": "managed",
        })
    print_output(out, args.output, [("CLUSTER", "Cluster"), ("NODEGROUP", "Name"), ("STATUS", "Status"), ("CREATED", "CreationTime"),
                                    ("MIN SIZE", "MinSize"), ("MAX SIZE", "MaxSize"), ("DESIRED CAPACITY", "DesiredCapacity"),
                                    ("INSTANCE TYPE", "InstanceType"), ("IMAGE ID", "ImageID"), ("ASG NAME", "AutoScalingGroupName"),
                                    ("TYPE", "Type")])
    return 0


def get_podidentityassociation(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    try:
        found = aws.pod_identity_associations(name, args.namespace, args.service_account_name)
    except aws.client_error as exc:
        raise aws_error(exc, "listing pod identity associations") from exc
    out = [{"AssociationARN": a.get("associationArn", ""), "AssociationID": a.get("associationId", ""), "Namespace": a.get("namespace", ""),
            "ServiceAccountName": a.get("serviceAccount", ""), "RoleARN": a.get("roleArn", ""), "OwnerARN": a.get("ownerArn", "")}
           for a in found]
    print_output(out, args.output, [("ASSOCIATION ARN", "AssociationARN"), ("NAMESPACE", "Namespace"),
                                    ("SERVICE ACCOUNT NAME", "ServiceAccountName"), ("IAM ROLE ARN", "RoleARN"), ("OWNER ARN", "OwnerARN")])
    return 0


# ----------------------------------------------------------------------------------------------- commands: create

def cluster_template(config: dict, vpc_id: str) -> dict:
    name = config["metadata"]["name"]
    resources = {
        "ControlPlaneSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "Communication between the control plane and worker nodegroups", "VpcId": vpc_id,
            "Tags": [{"Key": "Name", "Value": f"eksctl-{name}-cluster/ControlPlaneSecurityGroup"}]}},
        "ClusterSharedNodeSecurityGroup": {"Type": "AWS::EC2::SecurityGroup", "Properties": {
            "GroupDescription": "Communication between all nodes in the cluster", "VpcId": vpc_id,
            "Tags": [{"Key": "Name", "Value": f"eksctl-{name}-cluster/ClusterSharedNodeSecurityGroup"}]}},
    }
    outputs = {
        "SecurityGroup": {"Value": {"Ref": "ControlPlaneSecurityGroup"}},
        "SharedNodeSecurityGroup": {"Value": {"Ref": "ClusterSharedNodeSecurityGroup"}},
        "VPC": {"Value": vpc_id},
        "ClusterStackName": {"Value": f"eksctl-{name}-cluster"},
    }
    iam = config.get("iam") or {}
    if not iam.get("serviceRoleARN"):
        policies = list(CLUSTER_POLICIES if iam.get("vpcResourceControllerPolicy", True) else CLUSTER_POLICIES[:1])
        props = {"AssumeRolePolicyDocument": {"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"Service": ["eks.amazonaws.com"]}, "Action": ["sts:AssumeRole", "sts:TagSession"]}]},
            "ManagedPolicyArns": policies, "Tags": [{"Key": "Name", "Value": f"eksctl-{name}-cluster/ServiceRole"}]}
        if iam.get("serviceRolePermissionsBoundary"):
            props["PermissionsBoundary"] = iam["serviceRolePermissionsBoundary"]
        resources["ServiceRole"] = {"Type": "AWS::IAM::Role", "Properties": props}
        outputs["ServiceRoleARN"] = {"Value": {"Fn::GetAtt": ["ServiceRole", "Arn"]}}
    private, public = _subnet_maps(config)
    if private:
        outputs["SubnetsPrivate"] = {"Value": ",".join(_subnet_ids(private))}
    if public:
        outputs["SubnetsPublic"] = {"Value": ",".join(_subnet_ids(public))}
    return {"AWSTemplateFormatVersion": "2010-09-09",
            "Description": f"EKS cluster (dedicated VPC: false, dedicated IAM: {str(not iam.get('serviceRoleARN')).lower()}) "
                           f"[created and managed by eksctl]",
            "Resources": resources, "Outputs": outputs}


def _cluster_vpc(aws: Aws, config: dict) -> tuple[str, list[str]]:
    private, public = _subnet_maps(config)
    subnet_ids = _subnet_ids(private) + _subnet_ids(public)
    if not subnet_ids:
        raise EksctlError("the eksctl stand-in does not create VPCs: set vpc.id and vpc.subnets (private and/or public) with subnet ids")
    try:
        found = aws.ec2.describe_subnets(SubnetIds=subnet_ids)["Subnets"]
    except aws.client_error as exc:
        raise aws_error(exc, "describing subnets") from exc
    vpcs = {s["VpcId"] for s in found}
    vpc_id = (config.get("vpc") or {}).get("id") or (vpcs.pop() if len(vpcs) == 1 else None)
    if not vpc_id or any(s["VpcId"] != vpc_id for s in found):
        raise EksctlError(f"subnets {subnet_ids} are not all in VPC {vpc_id}")
    if len({s["AvailabilityZone"] for s in found}) < 2:
        raise EksctlError("only 1 zone(s) specified in the subnets, 2 are required (can be non-unique)")
    return vpc_id, subnet_ids


def _k8s_version(config: dict) -> str:
    version = config["metadata"].get("version") or DEFAULT_VERSION
    if version in ("auto", "default"):
        version = DEFAULT_VERSION
    if version == "latest":
        version = SUPPORTED_VERSIONS[-1]
    if version not in SUPPORTED_VERSIONS:
        raise EksctlError(f'invalid version, supported values: {", ".join(SUPPORTED_VERSIONS)}')
    return version


def _logging(config: dict) -> tuple[list[str], dict | None]:
    wanted = ((config.get("cloudWatch") or {}).get("clusterLogging") or {}).get("enableTypes") or []
    if "all" in wanted or "*" in wanted:
        wanted = list(LOG_TYPES)
    if not wanted:
        return [], None
    disabled = [t for t in LOG_TYPES if t not in wanted]
    entries = [{"types": wanted, "enabled": True}] + ([{"types": disabled, "enabled": False}] if disabled else [])
    return wanted, {"clusterLogging": entries}


def cmd_create_cluster(aws: Aws, args, config: dict) -> int:
    name, region = config["metadata"]["name"], aws.region
    version = _k8s_version(config)
    for group in config.get("managedNodeGroups") or []:
        nodegroup_subnets(aws, config, group)
        nodegroup_sizes(group)
    if args.dry_run:
        print(yaml.safe_dump(config, default_flow_style=False, sort_keys=False), end="")
        return 0
    info(f"eksctl version {EKSCTL_VERSION}")
    info(f"using region {region}")
    stack_name = f"eksctl-{name}-cluster"
    if aws.stack_or_none(stack_name) is not None or aws.cluster_or_none(name) is not None:
        raise EksctlError(f'creating CloudFormation stack "{stack_name}": AlreadyExistsException: Stack [{stack_name}] already exists')
    vpc_id, subnet_ids = _cluster_vpc(aws, config)
    info(f'using Kubernetes version {version}')
    info(f'creating EKS cluster "{name}" in "{region}" region with {len(config.get("managedNodeGroups") or [])} managed nodegroup(s)')
    info(f'building cluster stack "{stack_name}"')
    stack = aws.create_stack(stack_name, cluster_template(config, vpc_id), stack_tags(config))
    outputs = {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}
    vpc = config.get("vpc") or {}
    endpoints = vpc.get("clusterEndpoints") or {}
    security_groups = [vpc["securityGroup"]] if vpc.get("securityGroup") else [outputs["SecurityGroup"]]
    security_groups += vpc.get("controlPlaneSecurityGroupIDs") or []
    vpc_config = {"subnetIds": vpc.get("controlPlaneSubnetIDs") or subnet_ids, "securityGroupIds": security_groups,
                  "endpointPublicAccess": endpoints.get("publicAccess", True), "endpointPrivateAccess": endpoints.get("privateAccess", False)}
    if vpc.get("publicAccessCIDRs"):
        vpc_config["publicAccessCidrs"] = vpc["publicAccessCIDRs"]
    access = config.get("accessConfig") or {}
    tags = stack_tags(config, {"alpha.eksctl.io/cluster-oidc-enabled": str(bool((config.get("iam") or {}).get("withOIDC"))).lower()})
    request = {
        "name": name, "version": version, "roleArn": (config.get("iam") or {}).get("serviceRoleARN") or outputs["ServiceRoleARN"],
        "resourcesVpcConfig": vpc_config, "tags": tags,
        "accessConfig": {"authenticationMode": access.get("authenticationMode", "API_AND_CONFIG_MAP"),
                         "bootstrapClusterCreatorAdminPermissions": access.get("bootstrapClusterCreatorAdminPermissions", True)},
    }
    network = config.get("kubernetesNetworkConfig") or {}
    if network:
        request["kubernetesNetworkConfig"] = {k2: network[k1] for k1, k2 in (("serviceIPv4CIDR", "serviceIpv4Cidr"), ("ipFamily", "ipFamily"))
                                              if network.get(k1)}
        if "ipFamily" in request["kubernetesNetworkConfig"]:
            request["kubernetesNetworkConfig"]["ipFamily"] = network["ipFamily"].lower()
    log_types, logging_config = _logging(config)
    if logging_config:
        request["logging"] = logging_config
    if (config.get("secretsEncryption") or {}).get("keyARN"):
        request["encryptionConfig"] = [{"resources": ["secrets"], "provider": {"keyArn": config["secretsEncryption"]["keyARN"]}}]
    try:
        aws.eks.create_cluster(**request)
    except aws.client_error as exc:
        raise aws_error(exc, "creating CloudFormation stack \"%s\": creating EKS cluster" % stack_name) from exc

    def active():
        status = aws.eks.describe_cluster(name=name)["cluster"]["status"]
        if status == "FAILED":
            raise EksctlError(f'cluster "{name}" failed to create')
        return status == "ACTIVE"

    info(f'waiting for the control plane "{name}" to become ready')
    aws.wait(f'cluster "{name}"', active)
    if log_types:
        retention = ((config.get("cloudWatch") or {}).get("clusterLogging") or {}).get("logRetentionInDays")
        ensure_log_group(aws, config, retention)
        info(f'configured CloudWatch logging for cluster "{name}" in "{region}" (enabled types: {", ".join(log_types)})')
    if (config.get("iam") or {}).get("withOIDC"):
        create_oidc_provider(aws, config)
    create_addons(aws, config, version)
    create_access_entries(aws, config)
    create_pod_identity_associations(aws, config)
    for group in config.get("managedNodeGroups") or []:
        create_nodegroup(aws, config, group, version)
    if args.write_kubeconfig:
        write_kubeconfig(aws, name, kubeconfig_path(args), args.set_kubeconfig_context)
    success(f'EKS cluster "{name}" in "{region}" region is ready')
    return 0


def ensure_log_group(aws: Aws, config: dict, retention: int | None) -> None:
    group = f"/aws/eks/{config['metadata']['name']}/cluster"
    found = [g for g in aws.logs.describe_log_groups(logGroupNamePrefix=group)["logGroups"] if g["logGroupName"] == group]
    if not found:
        tags = dict(config["metadata"].get("tags") or {})
        aws.logs.create_log_group(logGroupName=group, **({"tags": tags} if tags else {}))
    if retention:
        aws.logs.put_retention_policy(logGroupName=group, retentionInDays=int(retention))
        info(f'set log retention to {retention} days for CloudWatch logging')


def create_oidc_provider(aws: Aws, config: dict) -> None:
    issuer = aws.cluster(config["metadata"]["name"])["identity"]["oidc"]["issuer"]
    aws.iam.create_open_id_connect_provider(Url=issuer, ClientIDList=["sts.amazonaws.com"], ThumbprintList=["9e99a48a9960b14926bb7f3b02e22da2b0ab7280"],
                                            Tags=[{"Key": k, "Value": v} for k, v in stack_tags(config).items()])
    info(f'created IAM Open ID Connect provider for cluster "{config["metadata"]["name"]}" in "{aws.region}"')


def _cluster_for(aws: Aws, config: dict) -> dict:
    return aws.cluster(config["metadata"]["name"])


def cmd_create_addon(aws: Aws, args, config: dict) -> int:
    cluster = _cluster_for(aws, config)
    if not config.get("addons"):
        raise EksctlError("no addons specified in the config file")
    create_addons(aws, config, cluster["version"], wait=args.wait)
    return 0


def cmd_create_accessentry(aws: Aws, args, config: dict) -> int:  # pylint: disable=unused-argument
    _cluster_for(aws, config)
    if not (config.get("accessConfig") or {}).get("accessEntries"):
        raise EksctlError("no access entries specified in the config file")
    create_access_entries(aws, config)
    return 0


def cmd_create_podidentityassociation(aws: Aws, args, config: dict) -> int:  # pylint: disable=unused-argument
    _cluster_for(aws, config)
    if not (config.get("iam") or {}).get("podIdentityAssociations"):
        raise EksctlError("no iam.podIdentityAssociations specified in the config file")
    create_pod_identity_associations(aws, config)
    return 0


def cmd_create_nodegroup(aws: Aws, args, config: dict) -> int:
    cluster = _cluster_for(aws, config)
    name = config["metadata"]["name"]
    groups = config.get("managedNodeGroups") or []
    include = [p for p in ",".join(args.include or []).split(",") if p]
    exclude = [p for p in ",".join(args.exclude or []).split(",") if p]
    if include:
        groups = [g for g in groups if any(fnmatch.fnmatch(g["name"], p) for p in include)]
    if exclude:
        groups = [g for g in groups if not any(fnmatch.fnmatch(g["name"], p) for p in exclude)]
    existing = {g["nodegroupName"] for g in aws.nodegroups(name)}
    skipped = [g["name"] for g in groups if g["name"] in existing]
    if skipped:
        info(f"{len(skipped)} existing nodegroup(s) ({','.join(skipped)}) will be excluded")
    groups = [g for g in groups if g["name"] not in existing]
    for group in groups:
        nodegroup_sizes(group)
        nodegroup_subnets(aws, config, group)
    info(f"{len(groups)} nodegroup(s) will be created in cluster \"{name}\"")
    for group in groups:
        create_nodegroup(aws, config, group, cluster["version"])
    return 0


# ----------------------------------------------------------------------------------------------- commands: update, upgrade, scale

def cmd_update_addon(aws: Aws, args, config: dict) -> int:
    cluster = _cluster_for(aws, config)
    name = config["metadata"]["name"]
    if not config.get("addons"):
        raise EksctlError("no addons specified in the config file")
    for addon in config["addons"]:
        current = aws.addon_or_none(name, addon["name"])
        if current is None:
            raise EksctlError(f'addon "{addon["name"]}" not found on cluster "{name}": ResourceNotFoundException')
        wanted = addon.get("version") or current.get("addonVersion")
        if not addon.get("version"):
            info(f'no new version provided, preserving existing version: {current.get("addonVersion")}')
        request = addon_request(aws, config, addon, wanted, cluster["version"])
        if args.force and "resolveConflicts" not in request:
            request["resolveConflicts"] = "OVERWRITE"
        info(f'updating addon "{addon["name"]}" to version "{request["addonVersion"]}"')
        try:
            aws.eks.update_addon(**request)
        except aws.client_error as exc:
            raise aws_error(exc, f'updating addon "{addon["name"]}"') from exc
        if args.wait:
            wait_addon(aws, name, addon["name"])
        success(f'updated addon "{addon["name"]}"')
    return 0


def _find_association(aws: Aws, cluster: str, namespace: str, account: str) -> dict:
    try:
        found = aws.pod_identity_associations(cluster, namespace, account)
    except aws.client_error as exc:
        raise aws_error(exc, "listing pod identity associations") from exc
    found = [a for a in found if a.get("namespace") == namespace and a.get("serviceAccount") == account]
    if not found:
        raise EksctlError(f'pod identity association "{namespace}/{account}" not found: ResourceNotFoundException')
    return found[0]


def cmd_update_podidentityassociation(aws: Aws, args, config: dict) -> int:  # pylint: disable=unused-argument
    _cluster_for(aws, config)
    name = config["metadata"]["name"]
    for assoc in (config.get("iam") or {}).get("podIdentityAssociations") or []:
        current = _find_association(aws, name, assoc["namespace"], assoc["serviceAccountName"])
        if not assoc.get("roleARN"):
            info(f'pod identity association "{assoc["namespace"]}/{assoc["serviceAccountName"]}": no roleARN given, nothing to update')
            continue
        request = {"clusterName": name, "associationId": current["associationId"], "roleArn": assoc["roleARN"]}
        if assoc.get("targetRoleARN"):
            request["targetRoleArn"] = assoc["targetRoleARN"]
        if assoc.get("disableSessionTags") is not None:
            request["disableSessionTags"] = assoc["disableSessionTags"]
        try:
            aws.eks.update_pod_identity_association(**request)
        except aws.client_error as exc:
            raise aws_error(exc, "updating pod identity association") from exc
        success(f'updated pod identity association "{assoc["namespace"]}/{assoc["serviceAccountName"]}"')
    return 0


def cmd_upgrade_cluster(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config, flag="name")
    cluster = aws.cluster(name)
    current = cluster["version"]
    target = args.version or ((config or {}).get("metadata") or {}).get("version") or f"1.{minor(current) + 1}"
    if target in ("auto", "latest"):
        target = f"1.{minor(current) + 1}"
    cur, want = minor(current), minor(target)
    if want < cur:
        raise EksctlError(f'cannot upgrade to a lower version. Found given target version "{target}", current cluster version "{current}"')
    if want > cur + 1:
        raise EksctlError(f'upgrading more than one version at a time is not supported. Found upgrade from "{current}" to "{target}". '
                          f'Please upgrade to "1.{cur + 1}" instead')
    if want == cur:
        info(f'cluster "{name}" control plane is already at version {current}; no upgrade needed')
        return 0
    if target not in SUPPORTED_VERSIONS:
        raise EksctlError(f'control plane version "{target}" is not known to this version of eksctl, try to upgrade eksctl first')
    if not args.approve:
        info(f'(plan) would upgrade cluster "{name}" control plane from current version "{current}" to "{target}"')
        warning("no changes were applied, run again with '--approve' to apply the changes")
        return 0
    info(f'will upgrade cluster "{name}" control plane from current version "{current}" to "{target}"')
    try:
        aws.eks.update_cluster_version(name=name, version=target)
    except aws.client_error as exc:
        raise aws_error(exc, "updating cluster version") from exc

    def upgraded():
        found = aws.eks.describe_cluster(name=name)["cluster"]
        if found["status"] == "FAILED":
            raise EksctlError(f'cluster "{name}" upgrade failed')
        return found["status"] == "ACTIVE" and found["version"] == target

    aws.wait(f'cluster "{name}" to reach version {target}', upgraded)
    success(f'cluster "{name}" control plane has been upgraded to version "{target}"')
    info("you will need to follow the upgrade procedure for all of nodegroups and add-ons")
    return 0


def cmd_upgrade_nodegroup(aws: Aws, args, config: dict | None) -> int:
    cluster_name = cluster_name_of(args, config)
    cluster = aws.cluster(cluster_name)
    if not args.name:
        raise EksctlError("--name must be set")
    target = args.kubernetes_version or cluster["version"]
    try:
        group = aws.eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=args.name)["nodegroup"]
    except aws.client_error as exc:
        raise aws_error(exc, f'describing nodegroup "{args.name}"') from exc
    if minor(target) > minor(cluster["version"]):
        raise EksctlError(f'cannot upgrade nodegroup "{args.name}" to {target}: the control plane runs {cluster["version"]}')
    if group.get("version") == target and not args.release_version:
        info(f'nodegroup "{args.name}" is already at Kubernetes version {target}')
        return 0
    request = {"clusterName": cluster_name, "nodegroupName": args.name}
    if args.release_version:
        request["releaseVersion"] = args.release_version
    else:
        request["version"] = target
    if args.force_upgrade:
        request["force"] = True
    info(f'upgrading nodegroup "{args.name}" of cluster "{cluster_name}" to Kubernetes version {target}')
    try:
        aws.eks.update_nodegroup_version(**request)
    except aws.client_error as exc:
        raise aws_error(exc, f'upgrading nodegroup "{args.name}"') from exc
    if args.wait:
        def upgraded():
            found = aws.eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=args.name)["nodegroup"]
            if found["status"] in ("DEGRADED", "CREATE_FAILED"):
                raise EksctlError(f'nodegroup "{args.name}" is {found["status"]}')
            return found["status"] == "ACTIVE" and (args.release_version or found.get("version") == target)

        aws.wait(f'nodegroup "{args.name}" upgrade', upgraded)
    success(f'nodegroup "{args.name}" upgraded to Kubernetes version {target}')
    return 0


def cmd_scale_nodegroup(aws: Aws, args, config: dict | None) -> int:
    cluster_name = cluster_name_of(args, config)
    aws.cluster(cluster_name)
    if not args.name:
        raise EksctlError("--name must be set")
    try:
        group = aws.eks.describe_nodegroup(clusterName=cluster_name, nodegroupName=args.name)["nodegroup"]
    except aws.client_error as exc:
        raise aws_error(exc, f'describing nodegroup "{args.name}"') from exc
    if args.nodes is None and args.nodes_min is None and args.nodes_max is None:
        raise EksctlError("at least one of minimum, maximum and desired nodes must be set")
    scaling = dict(group.get("scalingConfig") or {})
    for key, value in (("desiredSize", args.nodes), ("minSize", args.nodes_min), ("maxSize", args.nodes_max)):
        if value is not None:
            if value < 0:
                raise EksctlError("number of nodes must be 0 or greater")
            scaling[key] = value
    if scaling["minSize"] > scaling["maxSize"]:
        raise EksctlError(f'minimum number of nodes must be less than or equal to maximum number of nodes '
                          f'(min {scaling["minSize"]}, max {scaling["maxSize"]})')
    if not scaling["minSize"] <= scaling["desiredSize"] <= scaling["maxSize"]:
        raise EksctlError(f'number of nodes must be within range of min nodes and max nodes '
                          f'(desired {scaling["desiredSize"]}, min {scaling["minSize"]}, max {scaling["maxSize"]})')
    info(f'scaling nodegroup "{args.name}" in cluster {cluster_name}')
    try:
        aws.eks.update_nodegroup_config(clusterName=cluster_name, nodegroupName=args.name, scalingConfig=scaling)
    except aws.client_error as exc:
        raise aws_error(exc, f'scaling nodegroup "{args.name}"') from exc
    if args.wait:
        aws.wait(f'nodegroup "{args.name}"', lambda: aws.eks.describe_nodegroup(
            clusterName=cluster_name, nodegroupName=args.name)["nodegroup"]["status"] == "ACTIVE")
    success("nodegroup successfully scaled")
    return 0


# ----------------------------------------------------------------------------------------------- commands: delete, utils

def cmd_delete_accessentry(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    arns = [args.principal_arn] if args.principal_arn else [e["principalARN"] for e in (
        (config or {}).get("accessConfig") or {}).get("accessEntries") or []]
    if not arns:
        raise EksctlError("--principal-arn must be set")
    for arn in arns:
        info(f'deleting access entry with principalARN "{arn}"')
        try:
            aws.eks.delete_access_entry(clusterName=name, principalArn=arn)
        except aws.client_error as exc:
            raise aws_error(exc, f'deleting access entry "{arn}"') from exc
        success(f'deleted access entry with principalARN "{arn}"')
    return 0


def cmd_delete_podidentityassociation(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    pairs = [(args.namespace, args.service_account_name)] if args.namespace else [
        (a["namespace"], a["serviceAccountName"]) for a in ((config or {}).get("iam") or {}).get("podIdentityAssociations") or []]
    if not pairs or not all(pairs[0]):
        raise EksctlError("--namespace and --service-account-name must be set")
    for namespace, account in pairs:
        current = _find_association(aws, name, namespace, account)
        info(f'deleting pod identity association "{namespace}/{account}"')
        try:
            aws.eks.delete_pod_identity_association(clusterName=name, associationId=current["associationId"])
        except aws.client_error as exc:
            raise aws_error(exc, "deleting pod identity association") from exc
        aws.delete_stack(f"eksctl-{name}-podidentityrole-{namespace}-{account}")
        success(f'deleted pod identity association "{namespace}/{account}"')
    return 0


def cmd_delete_cluster(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config, flag="name")
    info(f'deleting EKS cluster "{name}"')
    cluster = aws.cluster(name)
    try:
        for group in aws.paged("list_nodegroups", "nodegroups", clusterName=name):
            info(f'deleting nodegroup "{group}"')
            aws.eks.delete_nodegroup(clusterName=name, nodegroupName=group)

        def nodegroups_gone():
            return not aws.paged("list_nodegroups", "nodegroups", clusterName=name)

        aws.wait("nodegroups to get deleted", nodegroups_gone)
        _delete_cluster_children(aws, name)
        info(f'deleting EKS cluster control plane "{name}"')
        aws.eks.delete_cluster(name=name)
        if args.wait:
            aws.wait(f'cluster "{name}" to get deleted', lambda: aws.cluster_or_none(name) is None)
    except aws.client_error as exc:
        raise aws_error(exc, f'deleting cluster "{name}"') from exc
    issuer = ((cluster.get("identity") or {}).get("oidc") or {}).get("issuer", "")
    if issuer:
        host = issuer.replace("https://", "")
        for provider in aws.iam.list_open_id_connect_providers()["OpenIDConnectProviderList"]:
            if provider["Arn"].endswith(f"oidc-provider/{host}"):
                aws.iam.delete_open_id_connect_provider(OpenIDConnectProviderArn=provider["Arn"])
                info(f'deleted IAM Open ID Connect provider for cluster "{name}"')
    stacks = aws.eksctl_stacks(name)
    cluster_stack = f"eksctl-{name}-cluster"
    for stack in sorted(stacks, key=lambda s: s["StackName"] == cluster_stack):
        aws.delete_stack(stack["StackName"], wait=args.wait or stack["StackName"] != cluster_stack)
    success(f'all EKS cluster resources for "{name}" have been deleted')
    return 0


def _delete_cluster_children(aws: Aws, name: str) -> None:
    """What EKS removes with a cluster: add-ons (with the pod identity associations they own), the other pod identity
    associations, access entries."""
    for method, key, what in (("list_addons", "addons", "addons"),
                              ("list_pod_identity_associations", "associations", "pod identity associations"),
                              ("list_access_entries", "accessEntries", "access entries")):
        try:
            items = aws.paged(method, key, clusterName=name)
        except aws.client_error as exc:
            if is_missing_api(exc):
                warning(f"the emulated AWS cannot list {what}; not deleting them (emulator gap)")
                continue
            raise
        for item in items:
            if what == "pod identity associations":
                aws.eks.delete_pod_identity_association(clusterName=name, associationId=item["associationId"])
            elif what == "addons":
                info(f'deleting addon "{item}"')
                aws.eks.delete_addon(clusterName=name, addonName=item)
            else:
                aws.eks.delete_access_entry(clusterName=name, principalArn=item)
        if what == "addons" and items:
            aws.wait("addons to get deleted", lambda: not aws.paged("list_addons", "addons", clusterName=name))


def cmd_write_kubeconfig(aws: Aws, args, config: dict | None) -> int:
    name = cluster_name_of(args, config)
    aws.cluster(name)
    write_kubeconfig(aws, name, kubeconfig_path(args), args.set_kubeconfig_context)
    return 0


# ----------------------------------------------------------------------------------------------- argument parsing

def go_bool(value: str) -> bool:
    if str(value).lower() in ("true", "1", "t", "yes"):
        return True
    if str(value).lower() in ("false", "0", "f", "no"):
        return False
    raise argparse.ArgumentTypeError(f'invalid boolean value "{value}"')


class Parser(argparse.ArgumentParser):
    """argparse that fails the eksctl way: `Error: ...` and exit 1."""

    def error(self, message):
        raise EksctlError(message)


def build_parser() -> Parser:
    common = Parser(add_help=False)
    common.add_argument("-r", "--region")
    common.add_argument("-p", "--profile")
    common.add_argument("-v", "--verbose", type=int, default=3)
    common.add_argument("--color", default="true")
    common.add_argument("--timeout")
    common.add_argument("-C", "--cfn-role-arn")
    common.add_argument("-f", "--config-file")

    parser = Parser(prog="eksctl", description="The official CLI for Amazon EKS (hubops test stand-in)")
    verbs = parser.add_subparsers(dest="verb", required=True, parser_class=Parser)

    version = verbs.add_parser("version", parents=[common])
    version.add_argument("-o", "--output", default="", choices=["", "json", "yaml"])

    def nouns(verb: str, spec: dict) -> None:
        sub = verbs.add_parser(verb).add_subparsers(dest="noun", required=True, parser_class=Parser)
        for noun, flags in spec.items():
            aliases = {"accessentry": ["accessentries"], "podidentityassociation": ["podidentityassociations"],
                       "addon": ["addons"], "nodegroup": ["nodegroups", "ng"], "cluster": ["clusters"]}.get(noun, [])
            cmd = sub.add_parser(noun, parents=[common], aliases=aliases)
            cmd.set_defaults(noun=noun)
            for flag in flags:
                flag(cmd)

    def out(cmd):
        cmd.add_argument("-o", "--output", default="table", choices=["table", "json", "yaml"])

    def cluster_flag(cmd):
        cmd.add_argument("-c", "--cluster")

    def name_flag(cmd):
        cmd.add_argument("-n", "--name")

    def wait_flag(cmd):
        cmd.add_argument("-w", "--wait", type=go_bool, nargs="?", const=True, default=False)

    def kube_flags(cmd):
        cmd.add_argument("--kubeconfig")
        cmd.add_argument("--write-kubeconfig", type=go_bool, nargs="?", const=True, default=True)
        cmd.add_argument("--set-kubeconfig-context", type=go_bool, nargs="?", const=True, default=True)
        cmd.add_argument("--auto-kubeconfig", type=go_bool, nargs="?", const=True, default=False)

    def principal(cmd):
        cmd.add_argument("--principal-arn")

    def service_account(cmd):
        cmd.add_argument("--namespace")
        cmd.add_argument("--service-account-name")

    def create_cluster_flags(cmd):
        kube_flags(cmd)
        cmd.add_argument("--dry-run", action="store_true")
        cmd.add_argument("--without-nodegroup", action="store_true")
        cmd.add_argument("--install-nvidia-plugin", type=go_bool, nargs="?", const=True, default=True)

    def include_flags(cmd):
        cmd.add_argument("--include", action="append")
        cmd.add_argument("--exclude", action="append")
        cmd.add_argument("--dry-run", action="store_true")

    def force(cmd):
        cmd.add_argument("--force", action="store_true")

    def approve(cmd):
        cmd.add_argument("--approve", action="store_true")

    def upgrade_cluster_flags(cmd):
        cmd.add_argument("--version")

    def upgrade_ng_flags(cmd):
        cmd.add_argument("--kubernetes-version")
        cmd.add_argument("--release-version")
        cmd.add_argument("--launch-template-version")
        cmd.add_argument("--force-upgrade", action="store_true")

    def scale_flags(cmd):
        cmd.add_argument("-N", "--nodes", type=int)
        cmd.add_argument("-m", "--nodes-min", type=int)
        cmd.add_argument("-M", "--nodes-max", type=int)

    def delete_cluster_flags(cmd):
        cmd.add_argument("--force", action="store_true")
        cmd.add_argument("--disable-nodegroup-eviction", action="store_true")

    def kube_only(cmd):
        cmd.add_argument("--kubeconfig")
        cmd.add_argument("--set-kubeconfig-context", type=go_bool, nargs="?", const=True, default=True)

    nouns("get", {"cluster": [name_flag, out], "addon": [cluster_flag, name_flag, out], "accessentry": [cluster_flag, principal, out],
                  "nodegroup": [cluster_flag, name_flag, out], "podidentityassociation": [cluster_flag, service_account, out]})
    nouns("create", {"cluster": [name_flag, create_cluster_flags], "addon": [cluster_flag, force, wait_flag],
                     "accessentry": [cluster_flag], "podidentityassociation": [cluster_flag],
                     "nodegroup": [cluster_flag, include_flags]})
    nouns("update", {"addon": [cluster_flag, name_flag, force, wait_flag], "podidentityassociation": [cluster_flag]})
    nouns("upgrade", {"cluster": [name_flag, upgrade_cluster_flags, approve, wait_flag],
                      "nodegroup": [cluster_flag, name_flag, upgrade_ng_flags, wait_flag]})
    nouns("scale", {"nodegroup": [cluster_flag, name_flag, scale_flags, wait_flag]})
    nouns("delete", {"accessentry": [cluster_flag, principal], "podidentityassociation": [cluster_flag, service_account],
                     "cluster": [name_flag, wait_flag, delete_cluster_flags]})
    nouns("utils", {"write-kubeconfig": [cluster_flag, name_flag, kube_only]})
    return parser


NEEDS_CONFIG = {("create", "cluster"), ("create", "addon"), ("create", "accessentry"), ("create", "podidentityassociation"),
                ("create", "nodegroup"), ("update", "addon"), ("update", "podidentityassociation")}

HANDLERS = {
    ("get", "cluster"): get_cluster, ("get", "addon"): get_addon, ("get", "accessentry"): get_accessentry,
    ("get", "nodegroup"): get_nodegroup, ("get", "podidentityassociation"): get_podidentityassociation,
    ("create", "cluster"): cmd_create_cluster, ("create", "addon"): cmd_create_addon, ("create", "accessentry"): cmd_create_accessentry,
    ("create", "podidentityassociation"): cmd_create_podidentityassociation, ("create", "nodegroup"): cmd_create_nodegroup,
    ("update", "addon"): cmd_update_addon, ("update", "podidentityassociation"): cmd_update_podidentityassociation,
    ("upgrade", "cluster"): cmd_upgrade_cluster, ("upgrade", "nodegroup"): cmd_upgrade_nodegroup,
    ("scale", "nodegroup"): cmd_scale_nodegroup,
    ("delete", "accessentry"): cmd_delete_accessentry, ("delete", "podidentityassociation"): cmd_delete_podidentityassociation,
    ("delete", "cluster"): cmd_delete_cluster, ("utils", "write-kubeconfig"): cmd_write_kubeconfig,
}


def run(argv: list[str], record: dict) -> int:
    args = build_parser().parse_args(argv)
    if args.verb == "version":
        return cmd_version(args)
    key = (args.verb, args.noun)
    config = None
    if args.config_file:
        config = load_config(args.config_file)
        record["config"] = config
    elif key in NEEDS_CONFIG:
        raise EksctlError(f"the eksctl stand-in needs --config-file/-f for `eksctl {args.verb} {args.noun}`")
    if config is not None and getattr(args, "region", None) and args.region != config["metadata"]["region"]:
        raise EksctlError("cannot use --region when --config-file/-f is set")
    aws = Aws(resolve_region(args, config))
    return HANDLERS[key](aws, args, config)


def main(argv: list[str] | None = None) -> int:
    argv = list(sys.argv[1:] if argv is None else argv)
    for stream in (sys.stdout, sys.stderr):
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(encoding="utf-8", errors="replace")
    record: dict = {"argv": argv, "mutating": bool(argv) and argv[0] in MUTATING_VERBS, "cwd": os.getcwd(), "time": time.time()}
    code = 1
    try:
        code = run(argv, record)
    except EksctlError as exc:
        print(f"Error: {exc}", file=sys.stderr)
        code = 1
    except SystemExit as exc:  # --help
        code = exc.code if isinstance(exc.code, int) else 0
    except Exception as exc:  # pylint: disable=broad-exception-caught
        # botocore ClientErrors escaping a handler, network errors: still `Error: ...` and rc 1, like eksctl.
        if hasattr(exc, "response") and hasattr(exc, "operation_name"):
            print(f"Error: {aws_error(exc)}", file=sys.stderr)
        else:
            print(f"Error: {type(exc).__name__}: {exc}", file=sys.stderr)
        code = 1
    finally:
        record["rc"] = code
        log = os.environ.get("HUBOPS_EKSCTL_LOG")
        if log:
            with open(log, "a", encoding="utf-8") as stream:
                stream.write(json.dumps(record, default=str) + "\n")
    return code
