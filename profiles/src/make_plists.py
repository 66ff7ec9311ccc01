#!/usr/bin/env python3
"""Writes the TEST-ONLY provisioning-profile plists (profiles/src/<name>.plist).

Deterministic: the same signing/ios/*.pem files give byte-identical plists. Keys are written in
the order Apple writes them (not sorted). Run by profiles/generate.sh; usage:

    make_plists.py <signing/ios dir> <out dir>
"""
import plistlib
import ssl
import sys
from datetime import datetime
from pathlib import Path

TEAM = "WSTEST0001"
TEAM_NAME = "Wrapsign Test Org"
OTHER_TEAM = "WSOTHER002"
OTHER_TEAM_NAME = "Other Test Org"
APP = "com.example.wrapdemo"
GROUP = "group.com.example.wrapdemo"
DEFAULT_CERTS = ["dist", "iphone-dist", "dist-ec"]
# Two fake 40-hex UDIDs (not real devices).
DEVICES = [
    "0123456789abcdef0123456789abcdef01234567",
    "fedcba9876543210fedcba9876543210fedcba98",
]


def uuid(n: int) -> str:
    # "WRAPSIGN" in hex, then the profile number: fixed, distinct and recognisable.
    return f"57524150-5349-474e-a000-{n:012x}"


def date(s: str) -> datetime:
    # plistlib writes naive datetimes as UTC ("...Z").
    return datetime.strptime(s, "%Y-%m-%d")


# kind: enterprise (ProvisionsAllDevices), app-store (no devices), ad-hoc / development (devices).
PROFILES = [
    dict(file="enterprise-app", n=1, kind="enterprise", app=APP, name="WrapDemo In-House TEST"),
    dict(file="enterprise-share", n=2, kind="enterprise", app=APP + ".share",
         name="WrapDemo Share In-House TEST", app_id_name="WrapDemo Share TEST"),
    dict(file="appstore-app", n=3, kind="app-store", app=APP, name="WrapDemo App Store TEST"),
    dict(file="adhoc-app", n=4, kind="ad-hoc", app=APP, name="WrapDemo Ad Hoc TEST"),
    dict(file="development-app", n=5, kind="development", app=APP,
         name="WrapDemo Development TEST", certs=["dev"]),
    dict(file="development-with-dist", n=6, kind="development", app=APP,
         name="WrapDemo Development With Dist TEST", certs=["dist"]),
    dict(file="wildcard", n=7, kind="enterprise", app="*", name="Wildcard In-House TEST",
         app_id_name="Wildcard TEST"),
    dict(file="wildcard-prefix", n=8, kind="enterprise", app="com.example.*",
         name="Wildcard Prefix In-House TEST", app_id_name="Wildcard Prefix TEST"),
    dict(file="expired", n=9, kind="enterprise", app=APP, name="WrapDemo Expired TEST",
         created="2022-01-01", expires="2023-01-01"),
    dict(file="expiring", n=10, kind="enterprise", app=APP, name="WrapDemo Expiring TEST",
         expires="2027-01-15"),
    dict(file="wrong-team", n=11, kind="enterprise", app=APP, name="WrapDemo Other Team TEST",
         team=OTHER_TEAM, team_name=OTHER_TEAM_NAME, certs=["other-team-dist"]),
    dict(file="cert-missing", n=12, kind="enterprise", app=APP,
         name="WrapDemo Cert Missing TEST", certs=["expired-dist"]),
    # Same content shape as enterprise-app; generate.sh signs it with rogue-profile-signer.
    dict(file="untrusted", n=13, kind="enterprise", app=APP, name="WrapDemo Untrusted TEST"),
]


def cert_der(ios_dir: Path, name: str) -> bytes:
    return ssl.PEM_cert_to_DER_cert((ios_dir / f"{name}.pem").read_text())


def build(p: dict, ios_dir: Path) -> dict:
    team = p.get("team", TEAM)
    kind = p["kind"]
    created = date(p.get("created", "2025-01-01"))
    expires = date(p.get("expires", "2045-01-01"))
    development = kind == "development"

    ent = {
        "application-identifier": f"{team}.{p['app']}",
        "keychain-access-groups": [f"{team}.*"],
        "get-task-allow": development,
        "com.apple.developer.team-identifier": team,
        "aps-environment": "development" if development else "production",
        "com.apple.security.application-groups": [GROUP],
    }
    if kind == "app-store":
        ent["beta-reports-active"] = True

    d = {
        "AppIDName": p.get("app_id_name", "WrapDemo TEST"),
        "ApplicationIdentifierPrefix": [team],
        "CreationDate": created,
        "Platform": ["iOS"],
        "IsXcodeManaged": False,
        "DeveloperCertificates": [cert_der(ios_dir, c) for c in p.get("certs", DEFAULT_CERTS)],
        "Entitlements": ent,
        "ExpirationDate": expires,
        "Name": p["name"],
    }
    if kind in ("ad-hoc", "development"):
        d["ProvisionedDevices"] = list(DEVICES)
    if kind == "enterprise":
        d["ProvisionsAllDevices"] = True
    d.update({
        "TeamIdentifier": [team],
        "TeamName": p.get("team_name", TEAM_NAME),
        "TimeToLive": (expires - created).days,
        "UUID": uuid(p["n"]),
        "Version": 1,
    })
    return d


def main() -> None:
    ios_dir, out_dir = Path(sys.argv[1]), Path(sys.argv[2])
    out_dir.mkdir(parents=True, exist_ok=True)
    for p in PROFILES:
        data = plistlib.dumps(build(p, ios_dir), fmt=plistlib.FMT_XML, sort_keys=False)
        (out_dir / f"{p['file']}.plist").write_bytes(data)


if __name__ == "__main__":
    main()
