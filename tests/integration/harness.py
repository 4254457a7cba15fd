# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Helpers for integration tests: a private emulated AWS per test, and ansible-playbook runs against it."""

from __future__ import annotations

import json
import os
import re
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from dataclasses import dataclass
from pathlib import Path

import boto3
import yaml

REPO = Path(__file__).resolve().parents[2]
LAUNCHER = REPO / "tests" / "emulation" / "launcher.py"
BIN = Path(sys.executable).parent
RECAP_RE = re.compile(r"^(\S+)\s+:\s+ok=(\d+)\s+changed=(\d+)\s+unreachable=(\d+)\s+failed=(\d+)", re.M)


def free_port() -> int:
    """A port whose successor is free too (moto listens on port + 1)."""
    for _attempt in range(50):
        with socket.socket() as sock:
            sock.bind(("127.0.0.1", 0))
            port = sock.getsockname()[1]
        with socket.socket() as other:
            try:
                other.bind(("127.0.0.1", port + 1))
            except OSError:
                continue
        return port
    raise RuntimeError("no free port pair")


MODULE_PLAYBOOK = """
- name: One module
  hosts: localhost
  gather_facts: false
  tasks:
    - name: Run the module under test
      {module}: "{{{{ module_args }}}}"
      register: module_result
      no_log: {no_log}
      ignore_errors: true  # the test reads the failure from the saved result
    - name: Save the result
      ansible.builtin.copy:
        content: "{{{{ module_result | to_json }}}}"
        dest: "{{{{ module_out }}}}"
        mode: "0600"
      check_mode: false
"""


def run_module(emulator, tmp_path: Path, module: str, args: dict, *extra: str, fails: bool = False,
               no_log: bool = False, region: str = "us-east-1") -> dict:
    """Run one module through ansible-playbook against the emulator (its stats reset first) and return the module's
    result, with ansible's output under "ansible_output". `fails` is whether the module is expected to fail;
    `no_log` hides the result from ansible's output (the saved result still has it)."""
    playbook = tmp_path / "module.yml"
    playbook.write_text(MODULE_PLAYBOOK.format(module=module, no_log="true" if no_log else "false"))
    out = tmp_path / "result.json"
    if out.exists():
        out.unlink()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("AWS_", "ANSIBLE_", "KUBECONFIG"))}
    env.update({
        "PATH": "%s:%s" % (BIN, env.get("PATH", "")),
        "ANSIBLE_COLLECTIONS_PATH": str(REPO / "collections"),
        "ANSIBLE_COLLECTIONS_SCAN_SYS_PATH": "False",
        "ANSIBLE_LOCALHOST_WARNING": "False",
        "ANSIBLE_NOCOLOR": "1",
        "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing",
        "AWS_DEFAULT_REGION": region,
        "AWS_ENDPOINT_URL": emulator.endpoint,
    })
    extra_vars = json.dumps({"module_args": args, "module_out": str(out), "ansible_python_interpreter": sys.executable})
    emulator.reset_stats()
    proc = subprocess.run(
        [str(BIN / "ansible-playbook"), str(playbook), "-i", "localhost,", "-c", "local", "-e", extra_vars, *extra],
        cwd=tmp_path, env=env, capture_output=True, text=True, check=False, timeout=300,
    )
    output = proc.stdout + proc.stderr
    assert proc.returncode == 0 and out.exists(), output[-4000:]
    result = json.loads(out.read_text())
    assert bool(result.get("failed")) is fails, result.get("msg") or result
    result["ansible_output"] = output
    return result


@dataclass
class Run:
    rc: int
    output: str
    seconds: float
    stats: dict

    @property
    def recap(self) -> dict:
        match = RECAP_RE.search(self.output)
        assert match, self.output[-3000:]
        return {"ok": int(match.group(2)), "changed": int(match.group(3)), "failed": int(match.group(5))}


class Emulator:
    """A private emulated AWS (moto behind the counting proxy) for one test.

    With kit=True (the default) the launcher also runs the Kubernetes API server kit of ../shared/k8s behind the
    emulated EKS clusters (when the kit is there), on first need: before the first env() (so before the first playbook
    run) or kubeconfig. Tests that only call AWS APIs or run the eksctl stand-in themselves never pay for it."""

    def __init__(self, state_dir: Path, kit: bool = True):
        self.port = free_port()
        self.state_dir = state_dir
        self.endpoint = f"http://127.0.0.1:{self.port}"
        self.eksctl_log = state_dir.parent / f"eksctl-{self.port}.jsonl"
        self.kit = kit
        self._kit_started = False

    def _launcher(self, *args: str, check: bool = True) -> subprocess.CompletedProcess:
        proc = subprocess.run([sys.executable, str(LAUNCHER), *args, "--state-dir", str(self.state_dir)],
                              capture_output=True, text=True, check=False)
        assert proc.returncode == 0 or not check, f"launcher {' '.join(args)}: rc {proc.returncode}\n{proc.stdout}{proc.stderr}"
        return proc

    def start(self) -> "Emulator":
        self._launcher("start", "--port", str(self.port), "--no-kit")
        return self

    def start_kit(self) -> None:
        """Start the kit now (idempotent; nothing when ../shared/k8s is missing or kit=False)."""
        if self.kit and not self._kit_started:
            self._launcher("start", "--port", str(self.port))
            self._kit_started = True

    @property
    def kubeconfig(self) -> Path | None:
        """The kubeconfig of the kit behind the emulated EKS clusters (GET /_hubops/kit), or None without a kit."""
        self.start_kit()
        with urllib.request.urlopen(self.endpoint + "/_hubops/kit", timeout=5) as resp:
            path = json.load(resp).get("kubeconfig")
        return Path(path) if path else None

    def stop(self) -> None:
        """Stop the emulated AWS and its kit (if any)."""
        self._launcher("stop", check=False)
        self._kit_started = False

    def _post(self, path: str, body: dict | None = None) -> None:
        req = urllib.request.Request(self.endpoint + path, data=json.dumps(body or {}).encode(), method="POST")
        urllib.request.urlopen(req, timeout=5).close()

    def stats(self) -> dict:
        with urllib.request.urlopen(self.endpoint + "/_hubops/stats", timeout=5) as resp:
            return json.load(resp)

    def reset_stats(self) -> None:
        self._post("/_hubops/stats/reset")

    def faults(self, rate: float, seed: int = 7, max_consecutive: int = 2) -> None:
        self._post("/_hubops/faults", {"rate": rate, "seed": seed, "max_consecutive": max_consecutive})

    def kill_on(self, action: str, pid: int) -> None:
        self._post("/_hubops/kill", {"action": action, "pid": pid})

    def eksctl_mutations(self) -> list[list[str]]:
        """argv (without the program) of the mutating eksctl commands run since the last call (the stand-in logs every run)."""
        if not self.eksctl_log.exists():
            return []
        records = [json.loads(line) for line in self.eksctl_log.read_text().splitlines() if line.strip()]
        self.eksctl_log.unlink()
        return [r["argv"] for r in records if r.get("mutating")]

    def client(self, service: str, region: str = "us-east-1"):
        return boto3.client(service, endpoint_url=self.endpoint, region_name=region,
                            aws_access_key_id="testing", aws_secret_access_key="testing")

    def env(self) -> dict:
        """The environment of a playbook run; the eksctl stand-in finds the kit through the emulator (/_hubops/kit)."""
        self.start_kit()
        env = dict(os.environ)
        env.update({
            "PATH": f"{BIN}:{env.get('PATH', '')}",
            "ANSIBLE_CONFIG": str(REPO / "ansible.cfg"),
            "ANSIBLE_FORCE_COLOR": "0",
            "ANSIBLE_NOCOLOR": "1",
            "HUBOPS_EKSCTL_LOG": str(self.eksctl_log),
        })
        for key in ("AWS_PROFILE", "AWS_ENDPOINT_URL", "HUBOPS_EMULATED_KUBECONFIG"):
            env.pop(key, None)
        return env

    @property
    def cluster_kubeconfig(self) -> Path:
        """Where this test's playbook runs write the cluster's kubeconfig (hubops_kubeconfig): one per emulator, not
        build/<deployment>/kubeconfig, so tests of the same inventory can run side by side (pytest -n)."""
        return self.state_dir.parent / f"kubeconfig-{self.port}"

    def playbook_cmd(self, playbook: str, inventory: Path, *extra: str) -> list[str]:
        return [str(BIN / "ansible-playbook"), str(REPO / playbook), "-i", str(inventory),
                "-e", f"hubops_aws_endpoint_url={self.endpoint}", "-e", f"hubops_kubeconfig={self.cluster_kubeconfig}", *extra]

    def playbook(self, playbook: str, inventory: Path | None = None, *extra: str) -> Run:
        inventory = inventory or REPO / "inventories" / "local"
        env = self.env()  # before the clock: starting the kit is not the playbook's time
        self.reset_stats()
        start = time.monotonic()
        proc = subprocess.run(self.playbook_cmd(playbook, inventory, *extra), cwd=REPO, env=env,
                              capture_output=True, text=True, check=False)
        seconds = time.monotonic() - start
        run = Run(proc.returncode, proc.stdout + proc.stderr, seconds, self.stats())
        # shown with the test's output (-s, or on failure): where a slow test spends its time
        recap = run.recap if RECAP_RE.search(run.output) else "(no recap)"
        print("playbook %s %s: rc=%d %.1fs %s" % (playbook, " ".join(extra), run.rc, seconds, recap))
        return run


def inventory_with(tmp_path: Path, overrides: dict) -> Path:
    """A copy of inventories/local with `overrides` written last in group_vars/all (null removes a key)."""
    target = tmp_path / "inventory"
    shutil.copytree(REPO / "inventories" / "local", target)
    removed = [k for k, v in overrides.items() if v is None]
    for path in (target / "group_vars" / "all").glob("*.yml"):
        data = yaml.safe_load(path.read_text()) or {}
        if any(k in data for k in removed):
            path.write_text(yaml.safe_dump({k: v for k, v in data.items() if k not in removed}))
    kept = {k: v for k, v in overrides.items() if v is not None}
    (target / "group_vars" / "all" / "zz_case.yml").write_text(yaml.safe_dump(kept))
    return target
