# Copyright: contributors to hubops.eks ; GPL-3.0-or-later
"""Hub-side helpers that the z2jh hub pod imports from its jupyterhub_config (mounted with hub.extraFiles).

- `hubops_hub.profiles`: the per-user KubeSpawner profile list built from the `custom.hubops` chart value.
- `hubops_hub.dandi`: GitHub login that also requires a registered DANDI Archive account.
- `hubops_hub.auth`: `configure_auth(c, config)`, the authenticator (GitHub, DANDI, Cognito, OIDC, LDAP or dummy)
  from the `auth` settings of the same chart value and the hub pod's secret environment, with the user's groups.

Only the standard library and what the z2jh hub image ships (jupyterhub, kubespawner, oauthenticator, pyjwt,
ldapauthenticator, ldap3, tornado, traitlets) may be imported here. Submodules are not imported eagerly: profiles
does not pull in the authenticators, and auth imports every authenticator it can configure."""
