# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Hub-side helpers that the z2jh hub pod imports from its jupyterhub_config (mounted with hub.extraFiles).

- `hubops_hub.profiles`: the per-user KubeSpawner profile list built from the `custom.hubops` chart value.
- `hubops_hub.dandi`: GitHub login that also requires a registered DANDI Archive account.

Only the standard library and what the z2jh hub image ships (jupyterhub, kubespawner, oauthenticator, tornado,
traitlets) may be imported here. Submodules are not imported eagerly, so using one does not pull in the other's
dependencies."""
