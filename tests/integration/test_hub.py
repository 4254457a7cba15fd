# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""The hub on the emulated AWS + the k8s kit: the z2jh chart installs with the values of every inventory (Helm checks
them against the chart's schema, the API server checks every object); site.yml installs it, a second run changes
nothing, secrets never appear in -v output and live only in the Secrets the hub reads; a chart version change
snapshots the hub database volume first; the Cognito login is created, converges and goes with teardown."""

import base64
import json
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from harness import REPO, inventory_with

from ansible_collections.hubops.eks.plugins.module_utils import hub as H  # noqa: E402  (tests/conftest.py makes it importable)

BIN = Path(sys.executable).parent
KIT = REPO.parent / "shared" / "k8s"
CHARTS = REPO.parent / "shared" / "reference" / "charts"
FILES = REPO / "roles" / "jupyterhub" / "files" / "hubops_hub"
TEARDOWN_CONFIRM = ("-e", "hubops_teardown_confirm=local")
# The phases the hub needs, for the tests of one hub feature (storage in AWS, monitoring, services charts and budgets
# are proven by their own tests); the local lifecycle test below runs site.yml whole. Teardown always runs whole.
HUB_TAGS = ("--tags", "network,foundations,cluster,karpenter,hub")
GH_SECRET = "gh-secret-Zq81x0"
PULL_PASSWORD = "pull-password-Kd72b"
NS = "jupyterhub"

pytestmark = pytest.mark.skipif(not (KIT / "start").exists() or not (BIN / "kubectl").exists() or not (CHARTS / "jupyterhub").is_dir(),
                                reason="needs the Kubernetes kit in ../shared/k8s, the reference charts and kubectl (make deps)")


def kubectl(kubeconfig, *args, check=True):
    proc = subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), *args], capture_output=True, text=True, check=False)
    if check:
        assert proc.returncode == 0, proc.stderr
    return proc


def get(kubeconfig, *args):
    proc = kubectl(kubeconfig, "get", *args, "-o", "json", check=False)
    return json.loads(proc.stdout) if proc.returncode == 0 else None


def inventory_vars(path: Path) -> dict:
    data = {}
    for file in sorted((path / "group_vars" / "all").glob("*.yml")):
        if "vault" not in file.name:
            data.update(yaml.safe_load(file.read_text()) or {})
    return data


def all_inventories():
    found = [p for p in sorted((REPO / "inventories").glob("*")) if (p / "group_vars" / "all").is_dir()]
    found += [p for p in sorted((REPO / "inventories" / "examples").glob("*")) if (p / "group_vars" / "all").is_dir()]
    return found


def settings_for(inv: dict) -> dict:
    """What the jupyterhub role assembles, with stand-in secrets for vaulted values (not needed to install)."""
    hub = json.loads(json.dumps(inv.get("hubops_hub") or {"auth": {"type": "dummy", "allow_dummy": True}}))
    auth = hub.setdefault("auth", {"type": "dummy", "allow_dummy": True})
    for key in ("client_id", "client_secret", "bind_password"):
        if str(auth.get(key, "")).startswith("{{"):
            auth[key] = "stand-in"
    if isinstance(auth.get("dandi_api"), dict) and str(auth["dandi_api"].get("token", "")).startswith("{{"):
        auth["dandi_api"]["token"] = "stand-in"
    for entry in hub.get("image_pull_secrets") or []:
        for key in ("username", "password"):
            if str(entry.get(key, "")).startswith("{{"):
                entry[key] = "stand-in"
    return {
        "deployment": inv["hubops_deployment"], "groups": inv.get("hubops_groups") or [], "nodepools": inv.get("hubops_nodepools") or [],
        "image_allowlist": inv.get("hubops_image_allowlist") or [], "image_registries": inv.get("hubops_image_registries") or {},
        "hub": hub, "files": {f.name: f.read_text() for f in sorted(FILES.glob("*.py"))},
        "cognito": {"client_id": "stand-in", "client_secret": "stand-in", "authorize_url": "https://c.example.org/oauth2/authorize",
                    "token_url": "https://c.example.org/oauth2/token", "userdata_url": "https://c.example.org/oauth2/userInfo"},
        # Kit-only: no nodes to pre-pull on.
        "chart_values": H.deep_merge({"prePuller": {"hook": {"enabled": False}}},
                                     ((inv.get("hubops_charts") or {}).get("jupyterhub") or {}).get("values") or {}),
    }


@pytest.fixture(scope="module")
def kit(tmp_path_factory):
    state = tmp_path_factory.mktemp("kit")
    subprocess.run([sys.executable, str(REPO / "tests" / "emulation" / "k8s_kit.py"), "start", str(state)], check=True,
                   capture_output=True)
    yield state / "kubeconfig"
    subprocess.run([sys.executable, str(REPO / "tests" / "emulation" / "k8s_kit.py"), "stop", str(state)], check=False,
                   capture_output=True)


@pytest.mark.parametrize("inventory", all_inventories(), ids=lambda p: p.relative_to(REPO / "inventories").as_posix())
def test_the_chart_installs_with_every_inventorys_values(kit, inventory, tmp_path):
    inv = inventory_vars(inventory)
    if "hubops_deployment" not in inv:
        pytest.skip("%s sets no hubops_deployment (a commented template)" % inventory)
    namespace = "hub-" + inventory.name
    values = tmp_path / "values.yaml"
    values.write_text(yaml.safe_dump(H.hub_values(settings_for(inv))))
    # Cluster-scoped objects (the user scheduler's ClusterRole) carry the release name: one release per inventory.
    proc = subprocess.run([str(BIN / "helm"), "upgrade", "--install", namespace, str(CHARTS / "jupyterhub"), "--namespace", namespace,
                           "--create-namespace", "--kubeconfig", str(kit), "-f", str(values)], capture_output=True, text=True, check=False)
    assert proc.returncode == 0, proc.stderr
    deployment = get(kit, "deployment", "hub", "-n", namespace)
    pod = deployment["spec"]["template"]
    assert pod["spec"]["nodeSelector"] == {"eks.amazonaws.com/nodegroup": "core"}
    assert "hubops.io/secrets-checksum" in pod["metadata"]["annotations"]
    policy = get(kit, "networkpolicy", "singleuser", "-n", namespace)
    blocked = [rule for rule in policy["spec"]["egress"] for to in rule.get("to", []) if "ipBlock" in to
               and "169.254.169.254/32" in to["ipBlock"].get("except", [])]
    assert blocked, "the user network policy must exclude the instance metadata service"
    subprocess.run([str(BIN / "helm"), "uninstall", namespace, "--namespace", namespace, "--kubeconfig", str(kit)], check=True,
                   capture_output=True)
    kubectl(kit, "delete", "namespace", namespace, "--wait=false")


def _secret(kubeconfig, name):
    found = get(kubeconfig, "secret", name, "-n", NS)
    return {k: base64.b64decode(v).decode() for k, v in (found or {}).get("data", {}).items()} if found else None


def test_site_installs_the_hub_converges_and_keeps_secrets_out_of_the_output(emulator, tmp_path):
    hub = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "hub.yml").read_text())["hubops_hub"]
    hub["auth"] = {"type": "github", "client_id": "Iv1.hubopslocal", "client_secret": GH_SECRET, "admins": ["alice"],
                   "allowed_organizations": ["hubops-test"]}
    hub["image_pull_secrets"] = [{"registry": "ghcr.io", "username": "robot", "password": PULL_PASSWORD}]
    groups = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "groups.yml").read_text())["hubops_groups"]
    groups[0]["members"] = {"github_teams": ["hubops-test:neuro"]}
    inventory = inventory_with(tmp_path, {"hubops_hub": hub, "hubops_groups": groups})

    first = emulator.playbook("site.yml", inventory, "-v", *HUB_TAGS)
    assert first.rc == 0, first.output[-4000:]
    for secret in (GH_SECRET, PULL_PASSWORD):
        assert secret not in first.output
    kubeconfig = emulator.kubeconfig
    release = json.loads(subprocess.run([str(BIN / "helm"), "list", "-n", NS, "-o", "json", "--kubeconfig", str(kubeconfig)],
                                        capture_output=True, text=True, check=True).stdout)
    assert [(r["name"], r["chart"]) for r in release] == [("jupyterhub", "jupyterhub-4.4.0")]
    values = subprocess.run([str(BIN / "helm"), "get", "values", "jupyterhub", "-n", NS, "-o", "json", "--kubeconfig", str(kubeconfig)],
                            capture_output=True, text=True, check=True).stdout
    assert GH_SECRET not in values and PULL_PASSWORD not in values
    custom = json.loads(values)["custom"]["hubops"]
    assert [g["name"] for g in custom["groups"]] == ["neuro", "astro", "bio"]
    assert _secret(kubeconfig, "hubops-hub-auth") == {"HUBOPS_OAUTH_CLIENT_ID": "Iv1.hubopslocal", "HUBOPS_OAUTH_CLIENT_SECRET": GH_SECRET}
    assert PULL_PASSWORD in _secret(kubeconfig, "hubops-user-pull")[".dockerconfigjson"]
    assert get(kubeconfig, "storageclass", "hubops-gp3")["provisioner"] == "ebs.csi.aws.com"
    assert '"hub": "namespace jupyterhub, login github' in first.output

    again = emulator.playbook("site.yml", inventory, "-v", *HUB_TAGS)
    assert again.rc == 0 and again.recap["changed"] == 0, [line for line in again.output.splitlines() if line.startswith(("TASK", "changed"))]
    for secret in (GH_SECRET, PULL_PASSWORD):
        assert secret not in again.output
    history = subprocess.run([str(BIN / "helm"), "history", "jupyterhub", "-n", NS, "-o", "json", "--kubeconfig", str(kubeconfig)],
                             capture_output=True, text=True, check=True).stdout
    assert len(json.loads(history)) == 1, "a converged re-run must not upgrade the release"

    down = emulator.playbook("teardown.yml", inventory, *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]


def test_chart_version_change_snapshots_the_hub_database_first(emulator, tmp_path):
    """Install 4.4.0, bind the hub database claim to an EBS volume (the kit has no CSI driver, so the volume is made in
    the emulated EC2 and bound by hand, as the driver would), then upgrade to a copy of the chart with another version."""
    hub = yaml.safe_load((REPO / "inventories" / "local" / "group_vars" / "all" / "hub.yml").read_text())["hubops_hub"]
    hub["auth"] = {"type": "dummy", "allow_dummy": True}
    inventory = inventory_with(tmp_path, {"hubops_hub": hub})
    first = emulator.playbook("site.yml", inventory, *HUB_TAGS)
    assert first.rc == 0, first.output[-4000:]
    kubeconfig = emulator.kubeconfig
    ec2 = emulator.client("ec2")
    volume = ec2.create_volume(AvailabilityZone="us-east-1a", Size=1, VolumeType="gp3")["VolumeId"]
    pv = {"apiVersion": "v1", "kind": "PersistentVolume", "metadata": {"name": "hub-db-volume"},
          "spec": {"capacity": {"storage": "1Gi"}, "accessModes": ["ReadWriteOnce"], "storageClassName": "hubops-gp3",
                   "claimRef": {"namespace": NS, "name": "hub-db-dir"}, "csi": {"driver": "ebs.csi.aws.com", "volumeHandle": volume}}}
    subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "apply", "-f", "-"], input=json.dumps(pv), text=True,
                   check=True, capture_output=True)
    kubectl(kubeconfig, "patch", "pvc", "hub-db-dir", "-n", NS, "--type", "merge", "-p", json.dumps({"spec": {"volumeName": "hub-db-volume"}}))
    kubectl(kubeconfig, "wait", "pvc/hub-db-dir", "-n", NS, "--for=jsonpath={.status.phase}=Bound", "--timeout=60s")

    same = emulator.playbook("site.yml", inventory, *HUB_TAGS)
    assert same.rc == 0 and same.recap["changed"] == 0, same.output[-4000:]
    assert ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"] == []

    newer = tmp_path / "charts" / "jupyterhub"
    shutil.copytree(CHARTS / "jupyterhub", newer)
    chart = yaml.safe_load((newer / "Chart.yaml").read_text())
    chart["version"] = "4.4.1"
    (newer / "Chart.yaml").write_text(yaml.safe_dump(chart))
    # -e replaces hubops_charts whole: keep the inventory's other chart entries (kit-only values of the other charts)
    other = dict(inventory_vars(inventory).get("hubops_charts") or {})
    other["jupyterhub"] = {"path": str(newer), "values": {"prePuller": {"hook": {"enabled": False}}}}
    charts = json.dumps({"hubops_charts": other})
    upgraded = emulator.playbook("site.yml", inventory, "-e", charts, *HUB_TAGS)
    assert upgraded.rc == 0, upgraded.output[-4000:]
    snapshots = ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]
    assert len(snapshots) == 1, snapshots
    tags = {t["Key"]: t["Value"] for t in snapshots[0]["Tags"]}
    assert tags["hubops:deployment"] == "local" and tags["Name"] == "local-hub-db"
    assert "jupyterhub-4.4.0 -> jupyterhub-4.4.1" in snapshots[0]["Description"]
    assert "jupyterhub-4.4.1" in subprocess.run([str(BIN / "helm"), "list", "-n", NS, "--kubeconfig", str(kubeconfig)],
                                                capture_output=True, text=True, check=True).stdout

    down = emulator.playbook("teardown.yml", inventory, *TEARDOWN_CONFIRM, "-e", charts)
    assert down.rc == 0, down.output[-4000:]
    # Teardown keeps a second snapshot (user data) and says so.
    assert len(ec2.describe_snapshots(Filters=[{"Name": "volume-id", "Values": [volume]}])["Snapshots"]) == 2
    assert get(kubeconfig, "namespace", NS) is None or get(kubeconfig, "namespace", NS)["status"]["phase"] == "Terminating"


def test_local_hub_lifecycle_cognito_login_certificate_and_dns(emulator):
    """inventories/local as it is (auth type cognito, a domain in a zone hubops creates): the user pool, domain, app
    client and the groups the inventory names exist in the emulated AWS and the hub reads the client from its Secret;
    the certificate is issued, the NLB serves TLS on 443 only and the alias points at it; a re-run changes nothing in
    AWS or the cluster; a recreated Service moves the alias; the client secret never shows in -v output; teardown
    removes the load balancer, the certificate and the zone, and keeps the pool (the users' accounts) until a teardown
    with the user data."""
    first = emulator.playbook("site.yml", None, "-v")
    assert first.rc == 0, first.output[-4000:]
    idp = emulator.client("cognito-idp")
    pools = [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "local-hub"]
    assert len(pools) == 1
    pool_id = pools[0]["Id"]
    groups = sorted(g["GroupName"] for g in idp.list_groups(UserPoolId=pool_id)["Groups"])
    assert groups == ["astro", "bio", "neuro"]
    clients = idp.list_user_pool_clients(UserPoolId=pool_id, MaxResults=60)["UserPoolClients"]
    client = idp.describe_user_pool_client(UserPoolId=pool_id, ClientId=clients[0]["ClientId"])["UserPoolClient"]
    assert client["CallbackURLs"] == ["https://hub.local.example.org/hub/oauth_callback"]
    assert client["AllowedOAuthFlows"] == ["code"]
    assert client["ClientSecret"] not in first.output
    kubeconfig = emulator.kubeconfig
    assert _secret(kubeconfig, "hubops-hub-auth") == {"HUBOPS_OAUTH_CLIENT_ID": client["ClientId"],
                                                      "HUBOPS_OAUTH_CLIENT_SECRET": client["ClientSecret"]}
    values = json.loads(subprocess.run([str(BIN / "helm"), "get", "values", "jupyterhub", "-n", NS, "-o", "json", "--kubeconfig",
                                        str(kubeconfig)], capture_output=True, text=True, check=True).stdout)
    auth = values["custom"]["hubops"]["auth"]
    domain = idp.describe_user_pool(UserPoolId=pool_id)["UserPool"]["Domain"]
    assert auth["type"] == "cognito" and auth["groups_claim"] == "cognito:groups"
    assert auth["authorize_url"] == "https://%s.auth.us-east-1.amazoncognito.com/oauth2/authorize" % domain
    assert client["ClientSecret"] not in json.dumps(values)

    # The way in: a DNS-validated certificate, an internet-facing NLB with TLS on 443 only (made by the controller
    # stand-in from the proxy-public Service), and the alias record on it.
    acm = emulator.client("acm")
    certificates = [c for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == "hub.local.example.org"]
    assert len(certificates) == 1
    certificate = acm.describe_certificate(CertificateArn=certificates[0]["CertificateArn"])["Certificate"]
    assert certificate["Status"] == "ISSUED"
    elbv2 = emulator.client("elbv2")
    balancers = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(balancers) == 1
    balancer = balancers[0]
    tags = {t["Key"]: t["Value"] for t in elbv2.describe_tags(ResourceArns=[balancer["LoadBalancerArn"]])["TagDescriptions"][0]["Tags"]}
    assert tags["service.k8s.aws/stack"] == "jupyterhub/proxy-public" and tags["elbv2.k8s.aws/cluster"] == "local"
    assert tags["hubops:deployment"] == "local"
    assert balancer["Scheme"] == "internet-facing"
    listeners = elbv2.describe_listeners(LoadBalancerArn=balancer["LoadBalancerArn"])["Listeners"]
    assert [(lsn["Port"], lsn["Protocol"], [c["CertificateArn"] for c in lsn.get("Certificates", [])]) for lsn in listeners] == \
        [(443, "TLS", [certificate["CertificateArn"]])]
    route53 = emulator.client("route53")
    zone = [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.example.org."][0]
    records = {(r["Name"], r["Type"]): r for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]}
    alias = records[("hub.local.example.org.", "A")]["AliasTarget"]
    assert alias["DNSName"].rstrip(".").lower() == balancer["DNSName"].lower()
    assert alias["HostedZoneId"] == balancer["CanonicalHostedZoneId"]
    assert '"hub_url": "https://hub.local.example.org/"' in first.output
    assert '"hub_load_balancer": "%s"' % balancer["DNSName"] in first.output

    again = emulator.playbook("site.yml", None, "-v")
    assert again.rc == 0 and again.recap["changed"] == 0, [line for line in again.output.splitlines() if line.startswith(("TASK", "changed"))]
    assert again.stats["mutating"] == 0, again.stats["mutating_actions"]
    assert client["ClientSecret"] not in again.output

    # The seed 000 pain: the hub's Service is recreated (here: deleted and created again from its own manifest, a new
    # object), the controller makes a new load balancer with another name, and the next run moves the alias.
    service = json.loads(kubectl(kubeconfig, "get", "service", "proxy-public", "-n", NS, "-o", "json").stdout)
    for key in ("uid", "resourceVersion", "creationTimestamp", "finalizers", "managedFields"):
        service["metadata"].pop(key, None)
    service.pop("status", None)
    for key in ("clusterIP", "clusterIPs"):
        service["spec"].pop(key, None)
    kubectl(kubeconfig, "delete", "service", "proxy-public", "-n", NS)
    subprocess.run([str(BIN / "kubectl"), "--kubeconfig", str(kubeconfig), "create", "-f", "-"], input=json.dumps(service), text=True,
                   check=True, capture_output=True)
    moved = emulator.playbook("site.yml", None)
    assert moved.rc == 0, moved.output[-4000:]
    new_balancer = elbv2.describe_load_balancers()["LoadBalancers"]
    assert len(new_balancer) == 1 and new_balancer[0]["DNSName"] != balancer["DNSName"]
    records = {(r["Name"], r["Type"]): r for r in route53.list_resource_record_sets(HostedZoneId=zone["Id"])["ResourceRecordSets"]}
    assert records[("hub.local.example.org.", "A")]["AliasTarget"]["DNSName"].rstrip(".").lower() == new_balancer[0]["DNSName"].lower()

    down = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM)
    assert down.rc == 0, down.output[-4000:]
    # the user pool holds the users' accounts: kept like the other user data, deleted with it
    assert [p["Id"] for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "local-hub"] == [pool_id]
    assert "Cognito user pool local-hub kept" in down.output and "nothing left but kept user data" in down.output
    gone = emulator.playbook("teardown.yml", None, *TEARDOWN_CONFIRM, "-e", "hubops_teardown_delete_data=true")
    assert gone.rc == 0, gone.output[-4000:]
    assert [p for p in idp.list_user_pools(MaxResults=60)["UserPools"] if p["Name"] == "local-hub"] == []
    assert elbv2.describe_load_balancers()["LoadBalancers"] == [] and elbv2.describe_target_groups()["TargetGroups"] == []
    assert [c for c in acm.list_certificates()["CertificateSummaryList"] if c["DomainName"] == "hub.local.example.org"] == []
    assert [z for z in route53.list_hosted_zones()["HostedZones"] if z["Name"] == "local.example.org."] == []
