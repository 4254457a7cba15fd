# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Stand-in for ansible-test's pip bootstrap script (fetched from ci-files.testing.ansible.com, unreachable here).

ansible-test runs this file with pip's arguments; we bootstrap pip from the interpreter's own ensurepip and install
what was asked from PyPI, which is reachable. ansible-test strips SSL_CERT_FILE from the environment, so the
CA bundle goes into a venv-local pip.conf.
"""

import ensurepip
import os
import subprocess
import sys

CA = "/etc/ssl/certs/ca-certificates.crt"

if os.path.exists(CA):
    with open(os.path.join(sys.prefix, "pip.conf"), "w", encoding="utf-8") as conf:
        conf.write("[global]\ncert = %s\n" % CA)
ensurepip.bootstrap(upgrade=True)
ARGS = [a for a in sys.argv[1:] if a not in ("--no-setuptools", "--no-wheel")]
CERT = ["--cert", CA] if os.path.exists(CA) else []
subprocess.check_call([sys.executable, "-m", "pip", "install"] + CERT + ARGS)
