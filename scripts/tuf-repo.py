#!/usr/bin/env python3
"""Build a TUF repository that publishes a Sigstore trusted root, for tests.

The served directory is laid out as Sigstore's public mirror is (the
tuf-on-ci "build" layout), so the same client code reads both:

    OUT/1.root.json, OUT/2.root.json, ...   every root version, kept forever
    OUT/timestamp.json                      the only file rewritten in place
    OUT/N.snapshot.json, OUT/N.targets.json consistent snapshots (root says
                                            "consistent_snapshot": true)
    OUT/targets/<sha256 hex>.<name>         each target, named by its hash

There is no unversioned root.json, snapshot.json or targets.json: clients
bootstrap from a root given out of band (`cosign initialize --mirror URL
--root OUT/1.root.json`) and walk N.root.json upwards until a 404.
Targets carry only a sha256 hash and no `custom` field, as Sigstore's
targets.json lists trusted_root.json and signing_config.v0.2.json.

One ECDSA P-256 key per role (keytype "ecdsa", scheme "ecdsa-sha2-nistp256",
as Sigstore's current keys), threshold 1, kept as unencrypted PKCS#8 PEM in
KEYS, which must be outside OUT:

    KEYS/root.vN.pem   the root key that N.root.json lists (one per version)
    KEYS/targets.pem  KEYS/snapshot.pem  KEYS/timestamp.pem

    tuf-repo.py init --keys KEYS --out OUT --target NAME=FILE... [--expires-days N]
    tuf-repo.py publish --keys KEYS --out OUT --target NAME=FILE... [--expires-days N]
    tuf-repo.py expire-timestamp --keys KEYS --out OUT
    tuf-repo.py save-state --out OUT --to DIR
    tuf-repo.py restore-state --out OUT --from DIR
    tuf-repo.py tamper --out OUT --target NAME
    tuf-repo.py rotate-root --keys KEYS --out OUT [--unsigned-by-old] [--expires-days N]
    tuf-repo.py selftest

The repository's state is read back from OUT itself (newest N.root.json,
timestamp.json and the versions it pins), so each command works on what
clients see. Every file is written to a temporary name in its folder, then
renamed over the real one, and in the order a client reads backwards
(targets files, N.targets.json, N.snapshot.json, timestamp.json last): a
client reading OUT meanwhile sees the old state or the new, never half.
Old versions are left in place, as on Sigstore's mirror.

One line per action goes to stdout; an error goes to stderr, exit code 2.
Needs python-tuf (PyPI `tuf`, 6 or 7) and securesystemslib with pyca
cryptography; run with a python that has them, or with any python3 when
$WHARF_VENV (default ~/.cache/wharf-venv) has them: the script re-runs
itself with that venv's python. Install:
    "$venv/bin/pip" install 'tuf>=7,<8' 'securesystemslib[crypto]>=1,<2'
"""
import argparse
import json
import os
import shutil
import signal
import sys
import tempfile
from datetime import datetime, timedelta, timezone

VENV = os.environ.get("WHARF_VENV") or os.path.expanduser("~/.cache/wharf-venv")

try:
    from cryptography.hazmat.primitives.serialization import load_pem_private_key
    from securesystemslib.signer import CryptoSigner, SSlibKey
    from tuf.api.metadata import (
        MetaFile,
        Metadata,
        Root,
        Snapshot,
        TargetFile,
        Targets,
        Timestamp,
    )
    from tuf.api.serialization.json import JSONSerializer
except ImportError as e:
    # Re-run under the project's venv when it is not this python already.
    venv_python = os.path.join(VENV, "bin", "python")
    if os.path.exists(venv_python) and os.path.realpath(sys.prefix) != os.path.realpath(VENV):
        os.execv(venv_python, [venv_python, os.path.abspath(__file__), *sys.argv[1:]])
    sys.stderr.write(
        f"tuf-repo: error: {e}; install python-tuf: "
        f"{venv_python[:-len('python')]}pip install 'tuf>=7,<8' 'securesystemslib[crypto]>=1,<2'\n"
    )
    sys.exit(2)

ROLES = (Root.type, Targets.type, Snapshot.type, Timestamp.type)
SCHEME = "ecdsa-sha2-nistp256"
# Sigstore's metadata files are written this way too: indent 1, sorted keys.
SERIALIZER = JSONSerializer(compact=False)
DEFAULT_EXPIRES_DAYS = 365


class RepoError(Exception):
    """A user-facing error: printed to stderr, exit code 2."""


def say(line):
    print(line, flush=True)


# ---------------------------------------------------------------- files


def write_atomic(path, data, mode=0o644):
    """Write DATA to PATH through a temporary file in the same folder and a
    rename, so a reader sees the old file or the new one, never a part."""
    folder = os.path.dirname(path) or "."
    os.makedirs(folder, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=folder, prefix=".tmp-")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, mode)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def served_path(out, name, sha256):
    """OUT/targets/[dir/]<sha256>.<basename>: where a consistent-snapshot
    client (python-tuf, go-tuf, sigstore-tuf) fetches target NAME."""
    head, _, base = name.rpartition("/")
    return os.path.join(out, "targets", *(head.split("/") if head else []), f"{sha256}.{base}")


def check_target_name(name):
    parts = name.split("/")
    if not name or name.startswith("/") or any(p in ("", ".", "..") for p in parts):
        raise RepoError(f"bad target name {name!r}: a relative path without '.', '..' or empty parts")


def parse_targets(specs):
    """NAME=FILE arguments to [(name, bytes)], each file read once."""
    targets = []
    for spec in specs or []:
        name, sep, path = spec.partition("=")
        if not sep or not path:
            raise RepoError(f"--target {spec!r}: expected NAME=FILE")
        check_target_name(name)
        try:
            with open(path, "rb") as f:
                targets.append((name, f.read()))
        except OSError as e:
            raise RepoError(f"--target {spec!r}: {e.strerror}: {path}") from e
    return targets


# ---------------------------------------------------------------- keys


def key_file(keys, role, root_version=None):
    if role == Root.type:
        return os.path.join(keys, f"root.v{root_version}.pem")
    return os.path.join(keys, f"{role}.pem")


def new_key(path):
    """Generate an ECDSA P-256 key, store it as PEM at PATH (mode 0600)."""
    if os.path.exists(path):
        raise RepoError(f"{path} already exists; not overwriting a key")
    signer = CryptoSigner.generate_ecdsa(scheme=SCHEME)
    write_atomic(path, signer.private_bytes, mode=0o600)
    say(f"key {path} (keyid {signer.public_key.keyid})")
    return signer


def load_key(path):
    try:
        with open(path, "rb") as f:
            private = load_pem_private_key(f.read(), password=None)
    except OSError as e:
        raise RepoError(f"cannot read key {path}: {e.strerror}") from e
    public = SSlibKey.from_crypto(private.public_key(), scheme=SCHEME)
    return CryptoSigner(private, public)


# ---------------------------------------------------------------- metadata


def expiry(days):
    return datetime.now(timezone.utc).replace(microsecond=0) + timedelta(days=days)


def write_metadata(out, filename, md, signers):
    """Sign MD with every signer (replacing old signatures), write OUT/FILENAME."""
    md.signatures.clear()
    for signer in signers:
        md.sign(signer, append=True)
    write_atomic(os.path.join(out, filename), md.to_bytes(SERIALIZER))
    say(f"wrote {filename} (version {md.signed.version}, expires {md.signed.expires:%Y-%m-%dT%H:%M:%SZ})")


def read_metadata(out, filename):
    path = os.path.join(out, filename)
    try:
        return Metadata.from_file(path)
    except FileNotFoundError as e:
        raise RepoError(f"{path} not found: is {out} a repository made by `init`?") from e


def root_versions(out):
    versions = []
    for name in os.listdir(out) if os.path.isdir(out) else []:
        head, _, tail = name.partition(".")
        if tail == "root.json" and head.isdigit():
            versions.append(int(head))
    return sorted(versions)


class State:
    """The repository as clients see it in OUT: newest root, timestamp, and
    the snapshot and targets versions the timestamp pins."""

    def __init__(self, out):
        versions = root_versions(out)
        if not versions:
            raise RepoError(f"no N.root.json in {out}: is it a repository made by `init`?")
        self.out = out
        self.root = read_metadata(out, f"{versions[-1]}.root.json")
        self.timestamp = read_metadata(out, "timestamp.json")
        snap_version = self.timestamp.signed.snapshot_meta.version
        self.snapshot = read_metadata(out, f"{snap_version}.snapshot.json")
        targets_version = self.snapshot.signed.meta["targets.json"].version
        self.targets = read_metadata(out, f"{targets_version}.targets.json")


def publish_targets(out, keys, targets_md, snapshot_md, timestamp_md, new_targets, days, bump=True):
    """Write NEW_TARGETS' files, then sign and write targets, snapshot and
    timestamp, each one version up (BUMP) or as they are (init's version 1)."""
    for name, data in new_targets:
        info = TargetFile.from_data(name, data, ["sha256"])
        path = served_path(out, name, info.hashes["sha256"])
        write_atomic(path, data)
        say(f"wrote {os.path.relpath(path, out)} ({len(data)} bytes)")
        targets_md.signed.targets[name] = info

    for md in (targets_md, snapshot_md, timestamp_md):
        md.signed.version += 1 if bump else 0
        md.signed.expires = expiry(days)
    snapshot_md.signed.meta["targets.json"] = MetaFile(version=targets_md.signed.version)
    timestamp_md.signed.snapshot_meta = MetaFile(version=snapshot_md.signed.version)

    v = targets_md.signed.version
    write_metadata(out, f"{v}.targets.json", targets_md, [load_key(key_file(keys, Targets.type))])
    v = snapshot_md.signed.version
    write_metadata(out, f"{v}.snapshot.json", snapshot_md, [load_key(key_file(keys, Snapshot.type))])
    write_metadata(out, "timestamp.json", timestamp_md, [load_key(key_file(keys, Timestamp.type))])


# ---------------------------------------------------------------- commands


def cmd_init(args):
    out, keys = os.path.abspath(args.out), os.path.abspath(args.keys)
    if keys == out or keys.startswith(out + os.sep):
        raise RepoError(f"--keys {args.keys} is inside --out {args.out}: the keys would be served")
    if root_versions(out) or os.path.exists(os.path.join(out, "timestamp.json")):
        raise RepoError(f"{out} already holds a repository; use publish, or start from an empty folder")
    targets = parse_targets(args.target)
    if not targets:
        raise RepoError("init needs at least one --target NAME=FILE")
    os.makedirs(keys, mode=0o700, exist_ok=True)
    os.makedirs(out, exist_ok=True)

    signers = {role: new_key(key_file(keys, role, 1)) for role in ROLES}
    root = Root(version=1, spec_version="1.0", expires=expiry(args.expires_days), consistent_snapshot=True)
    for role, signer in signers.items():
        root.add_key(signer.public_key, role)

    # spec_version "1.0" as Sigstore's files say (python-tuf would write 1.0.31).
    targets_md = Metadata(Targets(version=1, spec_version="1.0"))
    snapshot_md = Metadata(Snapshot(version=1, spec_version="1.0"))
    timestamp_md = Metadata(Timestamp(version=1, spec_version="1.0"))
    publish_targets(out, keys, targets_md, snapshot_md, timestamp_md, targets, args.expires_days, bump=False)
    # The root last: clients only look for it once a test hands it to them.
    write_metadata(out, "1.root.json", Metadata(root), [signers[Root.type]])


def cmd_publish(args):
    out = os.path.abspath(args.out)
    targets = parse_targets(args.target)
    if not targets:
        raise RepoError("publish needs at least one --target NAME=FILE")
    state = State(out)
    publish_targets(out, args.keys, state.targets, state.snapshot, state.timestamp, targets, args.expires_days)


def cmd_expire_timestamp(args):
    state = State(os.path.abspath(args.out))
    ts = state.timestamp
    ts.signed.version += 1
    ts.signed.expires = expiry(-1)  # a day in the past
    write_metadata(state.out, "timestamp.json", ts, [load_key(key_file(args.keys, Timestamp.type))])


def cmd_tamper(args):
    state = State(os.path.abspath(args.out))
    info = state.targets.signed.targets.get(args.target)
    if info is None:
        raise RepoError(f"no target {args.target!r} in {state.targets.signed.version}.targets.json")
    path = served_path(state.out, args.target, info.hashes["sha256"])
    with open(path, "rb") as f:
        data = bytearray(f.read())
    # Same name and length, one bit different: only the hash check catches it.
    if data:
        data[-1] ^= 0x01
    else:
        data = bytearray(b"x")
    write_atomic(path, bytes(data))
    say(f"tampered {os.path.relpath(path, state.out)} (last byte flipped; its sha256 no longer matches)")


def cmd_rotate_root(args):
    state = State(os.path.abspath(args.out))
    old_version = state.root.signed.version
    new_version = old_version + 1
    old_signer = load_key(key_file(args.keys, Root.type, old_version))
    new_signer = new_key(key_file(args.keys, Root.type, new_version))

    root = state.root.signed
    for keyid in list(root.roles[Root.type].keyids):
        root.revoke_key(keyid, Root.type)
    root.add_key(new_signer.public_key, Root.type)
    root.version = new_version
    root.expires = expiry(args.expires_days)
    # A client trusting N.root.json accepts N+1 only when it is signed by a
    # threshold of N's root keys and of its own: --unsigned-by-old drops the
    # former, for the test that a client refuses such a root.
    signers = [new_signer] if args.unsigned_by_old else [old_signer, new_signer]
    write_metadata(state.out, f"{new_version}.root.json", Metadata(root), signers)
    say(f"root {old_version} -> {new_version}: signed by the new key"
        + (" only (not by the old one)" if args.unsigned_by_old else " and the old one"))


def list_files(top):
    """Relative paths of the regular files under TOP, temporaries left out."""
    found = []
    for folder, _, files in os.walk(top):
        for name in files:
            if not name.startswith(".tmp-"):
                found.append(os.path.relpath(os.path.join(folder, name), top))
    return sorted(found)


def cmd_save_state(args):
    out, to = os.path.abspath(args.out), os.path.abspath(args.to)
    State(out)  # it must be a repository
    if os.path.exists(to) and os.listdir(to):
        raise RepoError(f"{to} is not empty")
    for rel in list_files(out):
        os.makedirs(os.path.dirname(os.path.join(to, rel)), exist_ok=True)
        shutil.copy2(os.path.join(out, rel), os.path.join(to, rel))
    say(f"saved {out} to {to} ({len(list_files(to))} files)")


def cmd_restore_state(args):
    """Make OUT hold exactly the files saved in FROM (e.g. an older state, for
    a rollback test): copy them in (timestamp.json last), then remove what
    FROM did not have (newer versions, newer targets)."""
    out, src = os.path.abspath(args.out), os.path.abspath(getattr(args, "from"))
    State(src)  # it must be a saved repository
    saved = list_files(src)
    for rel in sorted(saved, key=lambda r: r == "timestamp.json"):
        with open(os.path.join(src, rel), "rb") as f:
            write_atomic(os.path.join(out, rel), f.read())
    removed = 0
    for rel in list_files(out):
        if rel not in saved:
            os.unlink(os.path.join(out, rel))
            removed += 1
    ts = Metadata.from_file(os.path.join(out, "timestamp.json")).signed.version
    say(f"restored {out} from {src} ({len(saved)} files, {removed} removed; timestamp version {ts})")


# ---------------------------------------------------------------- selftest


def cmd_selftest(args):
    """End-to-end check of every command against python-tuf's own client
    (tuf.ngclient.Updater) over HTTP on 127.0.0.1, in temporary folders."""
    import http.server
    import subprocess
    import threading
    from functools import partial

    from tuf.api import exceptions
    from tuf.ngclient import Updater

    signal.alarm(args.timeout)  # bounded: SIGALRM ends a stuck run
    work = tempfile.mkdtemp(prefix="tuf-repo-selftest-")
    keys, out, saved = (os.path.join(work, d) for d in ("keys", "out", "saved"))
    os.makedirs(out)
    results = {"passed": 0, "failed": 0}

    class QuietHandler(http.server.SimpleHTTPRequestHandler):
        # The handler of `python3 -m http.server`, without a log line per request.
        def log_message(self, *a):
            pass

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), partial(QuietHandler, directory=out))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    url = f"http://127.0.0.1:{server.server_address[1]}"

    def run(*argv, expect=0):
        """Run this script's CLI as a test would; return its stdout."""
        p = subprocess.run([sys.executable, os.path.abspath(__file__), *argv],
                           capture_output=True, text=True, timeout=60)
        if p.returncode != expect:
            raise AssertionError(f"{argv[0]} exited {p.returncode}, not {expect}: {p.stderr.strip()}")
        return p.stdout

    def sample(name, body):
        path = os.path.join(work, name)
        with open(path, "w", encoding="utf-8") as f:
            json.dump(body, f, indent=2)
        with open(path, "rb") as f:
            return path, f.read()

    n = [0]

    def client(root_file=None, cache=None):
        """An Updater bootstrapped from ROOT_FILE (a fresh client), or one that
        goes on from the metadata it cached in CACHE (a returning client)."""
        if cache is None:
            n[0] += 1
            cache = os.path.join(work, f"client{n[0]}")
        os.makedirs(os.path.join(cache, "targets"), exist_ok=True)
        bootstrap = None
        if root_file:
            with open(root_file, "rb") as f:
                bootstrap = f.read()
        return Updater(cache, url + "/", os.path.join(cache, "targets"), url + "/targets/",
                       bootstrap=bootstrap), cache

    def fetch(updater, name):
        info = updater.get_targetinfo(name)
        if info is None:
            raise AssertionError(f"{name} is not a target")
        path = updater.download_target(info)
        with open(path, "rb") as f:
            return f.read()

    def gets(name, expected):
        """A check: a fresh client from 1.root.json downloads NAME's EXPECTED bytes."""
        def go():
            assert fetch(client(root1)[0], name) == expected, f"{name}: not the bytes published"
        return go

    def check(title, fn):
        try:
            fn()
        except Exception as e:  # a failed check is reported, the rest still run
            results["failed"] += 1
            say(f"FAIL {title}: {type(e).__name__}: {e}")
        else:
            results["passed"] += 1
            say(f"ok   {title}")

    def refuses(exc_type, fn):
        def go():
            try:
                fn()
            except exc_type as e:
                say(f"     (refused: {type(e).__name__}: {e})")
                return
            raise AssertionError(f"the client accepted it; expected {exc_type.__name__}")
        return go

    root1 = os.path.join(out, "1.root.json")
    tr1, tr1_bytes = sample("trusted_root.json", {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [], "certificateAuthorities": [], "ctlogs": [], "timestampAuthorities": []})
    sc1, sc1_bytes = sample("signing_config.v0.2.json", {
        "mediaType": "application/vnd.dev.sigstore.signingconfig.v0.2+json",
        "caUrls": [], "oidcUrls": [], "rekorTlogUrls": [], "tsaUrls": []})
    tr2, tr2_bytes = sample("trusted_root.v2.json", {
        "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
        "tlogs": [{"baseUrl": "http://127.0.0.1:1"}], "certificateAuthorities": [],
        "ctlogs": [], "timestampAuthorities": []})
    state = {}

    try:
        say(f"selftest: repository {out} served at {url}")
        run("init", "--keys", keys, "--out", out,
            "--target", f"trusted_root.json={tr1}", "--target", f"signing_config.v0.2.json={sc1}")

        def fresh_downloads_both():
            up, state["returning"] = client(root1)
            assert fetch(up, "trusted_root.json") == tr1_bytes, "trusted_root.json bytes differ"
            assert fetch(up, "signing_config.v0.2.json") == sc1_bytes, "signing_config bytes differ"
        check("init: a fresh client (1.root.json) downloads both targets, bytes equal", fresh_downloads_both)
        check("init: refuses --keys inside --out (exit 2)", lambda: (
            run("init", "--keys", os.path.join(work, "o2", "keys"), "--out", os.path.join(work, "o2"),
                "--target", f"x={tr1}", expect=2)))
        run("save-state", "--out", out, "--to", saved)

        run("publish", "--keys", keys, "--out", out, "--target", f"trusted_root.json={tr2}")
        say("     layout after init+publish: " + " ".join(list_files(out)))

        def fresh_gets_new():
            up, _ = client(root1)
            assert fetch(up, "trusted_root.json") == tr2_bytes, "not the published bytes"
            assert fetch(up, "signing_config.v0.2.json") == sc1_bytes, "signing_config changed"
        check("publish: a fresh client gets the new trusted_root.json", fresh_gets_new)

        def returning_gets_new():
            up, _ = client(cache=state["returning"])
            assert fetch(up, "trusted_root.json") == tr2_bytes, "not the published bytes"
        check("publish: a returning client updates to the new trusted_root.json", returning_gets_new)

        run("save-state", "--out", out, "--to", saved + "2")
        run("restore-state", "--out", out, "--from", saved)
        check("restore-state (rollback): a returning client refuses the older timestamp",
              refuses(exceptions.BadVersionNumberError,
                      lambda: client(cache=state["returning"])[0].refresh()))
        check("restore-state (rollback): a fresh client, knowing no newer state, takes it",
              gets("trusted_root.json", tr1_bytes))
        run("restore-state", "--out", out, "--from", saved + "2")

        run("tamper", "--out", out, "--target", "trusted_root.json")
        check("tamper: a fresh client refuses the target",
              refuses(exceptions.LengthOrHashMismatchError,
                      lambda: fetch(client(root1)[0], "trusted_root.json")))
        run("publish", "--keys", keys, "--out", out, "--target", f"trusted_root.json={tr2}")
        check("publish again repairs a tampered target", gets("trusted_root.json", tr2_bytes))

        run("expire-timestamp", "--keys", keys, "--out", out)
        check("expire-timestamp: a fresh client refuses the metadata",
              refuses(exceptions.ExpiredMetadataError, lambda: client(root1)[0].refresh()))
        run("publish", "--keys", keys, "--out", out, "--target", f"signing_config.v0.2.json={sc1}")

        run("rotate-root", "--keys", keys, "--out", out)

        def follows_rotation():
            up, cache = client(root1)
            assert fetch(up, "trusted_root.json") == tr2_bytes, "not the published bytes"
            version = Metadata.from_file(os.path.join(cache, "root.json")).signed.version
            assert version == 2, f"client trusts root version {version}, not 2"
        check("rotate-root: a client bootstrapped from 1.root.json follows to 2.root.json",
              follows_rotation)
        run("publish", "--keys", keys, "--out", out, "--target", f"trusted_root.json={tr1}")
        check("rotate-root: publishing goes on after it", gets("trusted_root.json", tr1_bytes))

        run("rotate-root", "--keys", keys, "--out", out, "--unsigned-by-old")
        check("rotate-root --unsigned-by-old: a client from 1.root.json refuses 3.root.json",
              refuses(exceptions.UnsignedMetadataError, lambda: client(root1)[0].refresh()))

        check("errors: publish on a folder that is no repository exits 2",
              lambda: run("publish", "--keys", keys, "--out", work, "--target", f"x={tr1}", expect=2))
        check("errors: tamper of an unknown target exits 2",
              lambda: run("tamper", "--out", out, "--target", "nope.json", expect=2))
    except Exception as e:  # a setup command failed: the rest cannot run
        results["failed"] += 1
        say(f"FAIL setup: {type(e).__name__}: {e}")
    finally:
        server.shutdown()
        server.server_close()
        shutil.rmtree(work, ignore_errors=True)
        signal.alarm(0)

    say(f"selftest: {results['passed']} passed, {results['failed']} failed")
    return 1 if results["failed"] else 0


# ---------------------------------------------------------------- CLI


def main(argv=None):
    p = argparse.ArgumentParser(
        prog="tuf-repo.py",
        description="Build a TUF repository laid out as Sigstore's mirror, for tests.")
    sub = p.add_subparsers(dest="command", required=True)

    def command(name, fn, help, keys=True, out=True):
        c = sub.add_parser(name, help=help, description=help)
        c.set_defaults(fn=fn)
        if keys:
            c.add_argument("--keys", required=True, help="folder of the role keys (outside OUT)")
        if out:
            c.add_argument("--out", required=True, help="the served folder")
        return c

    def expires(c):
        c.add_argument("--expires-days", type=int, default=DEFAULT_EXPIRES_DAYS,
                       help=f"expiry of the metadata written, in days from now (default {DEFAULT_EXPIRES_DAYS})")

    def target(c):
        c.add_argument("--target", action="append", metavar="NAME=FILE",
                       help="publish FILE's bytes as target NAME (repeatable)")

    c = command("init", cmd_init, "new repository: new keys, version 1 of every role")
    target(c)
    expires(c)
    c = command("publish", cmd_publish,
                "add or replace targets; targets, snapshot and timestamp go one version up")
    target(c)
    expires(c)
    command("expire-timestamp", cmd_expire_timestamp,
            "re-sign timestamp.json one version up, expired a day ago")
    c = command("save-state", cmd_save_state, "copy the served files to DIR", keys=False)
    c.add_argument("--to", required=True, metavar="DIR")
    c = command("restore-state", cmd_restore_state,
                "make OUT exactly the state saved in DIR (e.g. an older one)", keys=False)
    c.add_argument("--from", required=True, metavar="DIR")
    c = command("tamper", cmd_tamper,
                "flip a bit of target NAME's served file, keeping its name and length", keys=False)
    c.add_argument("--target", required=True, metavar="NAME")
    c = command("rotate-root", cmd_rotate_root,
                "write root version N+1 with a new root key, signed by the new and the old key")
    c.add_argument("--unsigned-by-old", action="store_true",
                   help="sign it with the new key only (a root clients must refuse)")
    expires(c)
    c = command("selftest", cmd_selftest,
                "check every command against python-tuf's client over HTTP on 127.0.0.1",
                keys=False, out=False)
    c.add_argument("--timeout", type=int, default=120, help="seconds before the run is cut (default 120)")

    args = p.parse_args(argv)
    try:
        return args.fn(args) or 0
    except (RepoError, OSError, ValueError) as e:
        sys.stderr.write(f"tuf-repo: error: {e}\n")
        return 2


if __name__ == "__main__":
    sys.exit(main())
