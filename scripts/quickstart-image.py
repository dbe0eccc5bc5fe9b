#!/usr/bin/env python3
"""Writes examples/quickstart/image: the quickstart's OCI image layout.

A small Debian 12 image of the `shop` service, made here rather than pulled,
so that `wharf run --config examples/quickstart/wharf.yaml` has something real
to read offline: an os-release, a dpkg database, a Python package, the
interpreter's path and the service's entry point. Byte-for-byte reproducible (fixed times, owners and
gzip header), so running this again changes nothing in git.

Usage: python3 scripts/quickstart-image.py [OUT_DIR]
"""

import gzip
import hashlib
import io
import json
import os
import shutil
import sys
import tarfile

TAG = "1.4.2"
EPOCH = 1767225600  # 2026-01-01T00:00:00Z

OS_RELEASE = """PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"""

# (package, source, version, architecture, description)
DPKG = [
    ("base-files", None, "12.4+deb12u8", "amd64", "Debian base system miscellaneous files"),
    ("libc6", "glibc", "2.36-9+deb12u9", "amd64", "GNU C Library: Shared libraries"),
    ("libssl3", "openssl", "3.0.15-1~deb12u1", "amd64", "Secure Sockets Layer toolkit - shared libraries"),
    ("zlib1g", "zlib", "1:1.2.13.dfsg-1", "amd64", "compression library - runtime"),
    ("tzdata", None, "2024b-0+deb12u1", "all", "time zone and daylight-saving time data"),
    ("python3.11-minimal", "python3.11", "3.11.2-6+deb12u4", "amd64", "Minimal subset of the Python language"),
]

REQUESTS_METADATA = """Metadata-Version: 2.1
Name: requests
Version: 2.31.0
Summary: Python HTTP for Humans.
License: Apache 2.0
"""

# Stands in for Debian's interpreter: `wharf lint --image` checks that the
# entry point's #! line names a file the image has.
PYTHON = "stand-in for Debian's /usr/bin/python3.11\n"

APP = """#!/usr/bin/python3
# The shop service's entry point (a stand-in: the quickstart image is data).
print("shop 1.4.2")
"""


def dpkg_status():
    stanzas = []
    for name, source, version, arch, description in DPKG:
        lines = [
            f"Package: {name}",
            "Status: install ok installed",
            "Priority: optional",
            f"Architecture: {arch}",
        ]
        if source:
            lines.append(f"Source: {source}")
        lines += [f"Version: {version}", f"Description: {description}"]
        stanzas.append("\n".join(lines) + "\n")
    return "\n".join(stanzas)


def layer():
    files = [
        ("etc/", None, 0o755),
        ("etc/os-release", OS_RELEASE, 0o644),
        ("var/", None, 0o755),
        ("var/lib/", None, 0o755),
        ("var/lib/dpkg/", None, 0o755),
        ("var/lib/dpkg/status", dpkg_status(), 0o644),
        ("usr/", None, 0o755),
        ("usr/bin/", None, 0o755),
        ("usr/bin/python3.11", PYTHON, 0o755),
        ("usr/bin/python3", "->python3.11", 0o777),
        ("usr/lib/", None, 0o755),
        ("usr/lib/python3/", None, 0o755),
        ("usr/lib/python3/dist-packages/", None, 0o755),
        ("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/", None, 0o755),
        ("usr/lib/python3/dist-packages/requests-2.31.0.dist-info/METADATA", REQUESTS_METADATA, 0o644),
        ("app/", None, 0o755),
        ("app/shop", APP, 0o755),
    ]
    raw = io.BytesIO()
    with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for path, text, mode in files:
            info = tarfile.TarInfo(path.rstrip("/"))
            info.mtime = EPOCH
            info.mode = mode
            info.uid = info.gid = 0
            info.uname = info.gname = "root"
            if text is None:
                info.type = tarfile.DIRTYPE
                tar.addfile(info)
            elif text.startswith("->"):
                info.type = tarfile.SYMTYPE
                info.linkname = text[2:]
                tar.addfile(info)
            else:
                data = text.encode()
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
    tar_bytes = raw.getvalue()
    packed = io.BytesIO()
    with gzip.GzipFile(fileobj=packed, mode="wb", mtime=0, compresslevel=9) as gz:
        gz.write(tar_bytes)
    return tar_bytes, packed.getvalue()


def digest(data):
    return "sha256:" + hashlib.sha256(data).hexdigest()


def canonical(doc):
    return json.dumps(doc, separators=(",", ":"), sort_keys=True).encode()


def main():
    root = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
    out = sys.argv[1] if len(sys.argv) > 1 else os.path.join(root, "examples", "quickstart", "image")
    blobs = {}

    def blob(data):
        d = digest(data)
        blobs[d] = data
        return d

    tar_bytes, gz_bytes = layer()
    layer_digest = blob(gz_bytes)
    config = canonical({
        "architecture": "amd64",
        "os": "linux",
        "created": "2026-01-01T00:00:00Z",
        "config": {
            "User": "65532:65532",
            "Entrypoint": ["/app/shop"],
            "Env": ["PATH=/usr/local/bin:/usr/bin:/bin"],
            "Labels": {"org.opencontainers.image.source": "https://registry.example.com/shop/api"},
        },
        "rootfs": {"type": "layers", "diff_ids": [digest(tar_bytes)]},
        "history": [{"created": "2026-01-01T00:00:00Z", "created_by": "scripts/quickstart-image.py"}],
    })
    config_digest = blob(config)
    manifest = canonical({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "config": {
            "mediaType": "application/vnd.oci.image.config.v1+json",
            "digest": config_digest,
            "size": len(config),
        },
        "layers": [{
            "mediaType": "application/vnd.oci.image.layer.v1.tar+gzip",
            "digest": layer_digest,
            "size": len(gz_bytes),
        }],
        "annotations": {"org.opencontainers.image.created": "2026-01-01T00:00:00Z"},
    })
    manifest_digest = blob(manifest)
    index = {
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.index.v1+json",
        "manifests": [{
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "digest": manifest_digest,
            "size": len(manifest),
            "platform": {"architecture": "amd64", "os": "linux"},
            "annotations": {"org.opencontainers.image.ref.name": TAG},
        }],
    }

    if os.path.exists(out):
        shutil.rmtree(out)
    os.makedirs(os.path.join(out, "blobs", "sha256"))
    for d, data in blobs.items():
        with open(os.path.join(out, "blobs", "sha256", d.split(":", 1)[1]), "wb") as f:
            f.write(data)
    with open(os.path.join(out, "oci-layout"), "w") as f:
        f.write('{"imageLayoutVersion":"1.0.0"}\n')
    with open(os.path.join(out, "index.json"), "w") as f:
        json.dump(index, f, indent=2)
        f.write("\n")
    print(f"{out}: {TAG} {manifest_digest}")


if __name__ == "__main__":
    main()
