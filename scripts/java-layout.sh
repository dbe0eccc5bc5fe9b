#!/usr/bin/env bash
# Build the layout the Java and Go parity test (tests/it/parity_java.rs)
# judges wharf against Syft on, and cache it: real jars from Maven Central
# and real module-built Go binaries, in one OCI image layout.
#
#   - jars: fetched by `mvn dependency:copy-dependencies` (no transitive
#     dependencies) into /opt/app/lib. Old ones without
#     META-INF/maven/*/*/pom.properties (commons-logging 1.0.4, oro 2.0.8,
#     xml-apis 1.0.b2, commons-cli 1.0, asm 3.3.1, commons-digester 1.6,
#     velocity 1.5, ...; Ant, Maven 1 and Gradle builds), and newer ones with
#     it;
#   - a Spring-Boot-style fat jar, /opt/app/app.jar: its own pom.properties
#     and some of those jars stored under BOOT-INF/lib/;
#   - Go: cosign and crane from $WHARF_PEERS (built by scripts/peers.sh in
#     module mode) and a small program built here against two modules.
#
# coordinates.tsv lists every jar's path in the image with the Maven Central
# coordinates it was fetched under (the ground truth of its group).
#
#   scripts/java-layout.sh     build when missing; print the cache folder
#
# The folder is $WHARF_JAVA_LAYOUT (default $HOME/.cache/wharf-java-layout)/
# <hash of this script>: root/ (the file system), layout/ (the OCI layout,
# tag `java`), coordinates.tsv. Maven's local repository is kept beside it
# (m2/), so a changed script downloads nothing it already has. Cold it takes
# about a minute; warm it prints the folder at once. It needs mvn, Go, the
# network to Maven Central and Go's module proxy, and cosign and crane in
# $WHARF_PEERS/bin.
set -euo pipefail
exec </dev/null
cd "$(dirname "$0")/.."

version="$(sha256sum scripts/java-layout.sh | cut -c1-16)"
base="${WHARF_JAVA_LAYOUT:-$HOME/.cache/wharf-java-layout}"
out="$base/$version"
peers="${WHARF_PEERS:-$HOME/.cache/wharf-peers}/bin"
mkdir -p "$base"

# Two tests may ask at once: one builds, the other waits for it.
exec 9>"$base/lock"
flock 9
if [ -f "$out/done" ]; then
  echo "$out"
  exit 0
fi

for tool in mvn go python3; do
  if ! command -v "$tool" >/dev/null; then
    echo "java-layout: needs $tool (.ci/run installs it)" >&2
    exit 2
  fi
done
for bin in cosign crane; do
  if [ ! -x "$peers/$bin" ]; then
    echo "java-layout: needs $bin in $peers (run scripts/peers.sh)" >&2
    exit 2
  fi
done

start=$SECONDS
say() { echo "java-layout: $* ($((SECONDS - start)) s)" >&2; }
rm -rf "$out.tmp"
mkdir -p "$out.tmp"
root="$out.tmp/root"
lib="$root/opt/app/lib"
mkdir -p "$lib" "$root/usr/local/bin"

# --- jars -------------------------------------------------------------------
# group:artifact:version, as Maven Central publishes them.
jars=(
  # No pom.properties: built by Ant or Maven 1, for Java 1.4 or earlier.
  commons-logging:commons-logging:1.0.4
  oro:oro:2.0.8
  xml-apis:xml-apis:1.0.b2
  commons-cli:commons-cli:1.0
  asm:asm:3.3.1
  commons-digester:commons-digester:1.6
  org.apache.velocity:velocity:1.5
  commons-collections:commons-collections:3.1
  commons-beanutils:commons-beanutils:1.7.0
  commons-lang:commons-lang:2.1
  log4j:log4j:1.2.12
  dom4j:dom4j:1.6.1
  jdom:jdom:1.0
  xerces:xercesImpl:2.6.2
  ant:ant:1.6.5
  # No pom.properties: built by Gradle.
  org.springframework:spring-beans:5.3.17
  io.micrometer:micrometer-core:1.12.0
  com.squareup.okhttp3:okhttp:4.12.0
  org.jetbrains.kotlin:kotlin-stdlib:1.9.22
  # With pom.properties.
  commons-io:commons-io:1.4
  com.fasterxml.jackson.core:jackson-databind:2.17.0
  com.fasterxml.jackson.core:jackson-core:2.17.0
  org.apache.commons:commons-lang3:3.14.0
  org.apache.logging.log4j:log4j-core:2.14.1
)
say "mvn dependency:copy-dependencies"
pom="$out.tmp/pom.xml"
{
  echo '<project xmlns="http://maven.apache.org/POM/4.0.0"><modelVersion>4.0.0</modelVersion>'
  echo '<groupId>wharf.test</groupId><artifactId>java-layout</artifactId><version>1</version>'
  echo '<packaging>pom</packaging><dependencies>'
  for gav in "${jars[@]}"; do
    IFS=: read -r g a v <<<"$gav"
    echo "<dependency><groupId>$g</groupId><artifactId>$a</artifactId><version>$v</version></dependency>"
  done
  echo '</dependencies></project>'
} >"$pom"
mvn -q -B -f "$pom" -Dmaven.repo.local="$base/m2" dependency:copy-dependencies \
  -DexcludeTransitive=true -DoutputDirectory="$lib" >"$out.tmp/mvn.log" 2>&1 || {
  tail -20 "$out.tmp/mvn.log" >&2
  exit 2
}
rm -f "$pom" "$out.tmp/mvn.log"
coordinates="$out.tmp/coordinates.tsv"
: >"$coordinates"
for gav in "${jars[@]}"; do
  IFS=: read -r g a v <<<"$gav"
  if [ ! -f "$lib/$a-$v.jar" ]; then
    echo "java-layout: mvn did not fetch $gav" >&2
    exit 2
  fi
  printf '/opt/app/lib/%s-%s.jar\t%s:%s:%s\n' "$a" "$v" "$g" "$a" "$v" >>"$coordinates"
done

# A Spring Boot application as its plugin packs one: its own pom.properties,
# its dependencies stored (not deflated) under BOOT-INF/lib/.
say "fat jar"
python3 - "$root/opt/app/app.jar" "$lib" "$coordinates" <<'PY'
import sys, zipfile
app, lib, coordinates = sys.argv[1:]
nested = ["spring-beans-5.3.17.jar", "jackson-core-2.17.0.jar", "commons-collections-3.1.jar",
          "log4j-1.2.12.jar"]
fixed = (2024, 1, 1, 0, 0, 0)
with zipfile.ZipFile(app, "w") as z:
    def put(name, data, method=zipfile.ZIP_DEFLATED):
        info = zipfile.ZipInfo(name, fixed)
        info.compress_type = method
        z.writestr(info, data)
    put("META-INF/MANIFEST.MF", "Manifest-Version: 1.0\r\n"
        "Main-Class: org.springframework.boot.loader.launch.JarLauncher\r\n"
        "Start-Class: com.example.demo.DemoApplication\r\n"
        "Spring-Boot-Classes: BOOT-INF/classes/\r\nSpring-Boot-Lib: BOOT-INF/lib/\r\n\r\n")
    put("META-INF/maven/com.example/demo-app/pom.properties",
        "artifactId=demo-app\ngroupId=com.example\nversion=1.0.0\n")
    for jar in nested:
        put("BOOT-INF/lib/" + jar, open(f"{lib}/{jar}", "rb").read(), zipfile.ZIP_STORED)
with open(coordinates, "a") as out:
    out.write("/opt/app/app.jar\tcom.example:demo-app:1.0.0\n")
    known = dict(line.rstrip("\n").split("\t") for line in open(coordinates))
    for jar in nested:
        out.write(f"/opt/app/app.jar!/BOOT-INF/lib/{jar}\t{known['/opt/app/lib/' + jar]}\n")
PY

# --- Go ---------------------------------------------------------------------
say "go build"
install -m 0755 "$(readlink -f "$peers/cosign")" "$root/usr/local/bin/cosign"
install -m 0755 "$(readlink -f "$peers/crane")" "$root/usr/local/bin/crane"
goapp="$out.tmp/goapp"
mkdir -p "$goapp"
cat >"$goapp/go.mod" <<'EOF'
module example.com/java-layout-goapp

go 1.21

require (
	github.com/google/uuid v1.6.0
	golang.org/x/text v0.3.5
)
EOF
cat >"$goapp/main.go" <<'EOF'
package main

import (
	"fmt"

	"github.com/google/uuid"
	"golang.org/x/text/language"
)

func main() { fmt.Println(uuid.NewString(), language.English) }
EOF
(cd "$goapp" && export GOTOOLCHAIN=local GOFLAGS=-buildvcs=false && go mod tidy &&
  go build -trimpath -o "$root/usr/local/bin/goapp" .)
rm -rf "$goapp"

# --- pack -------------------------------------------------------------------
# One gzip layer of the root, in an OCI layout tagged `java`.
say "pack"
python3 - "$root" "$out.tmp/layout" <<'PY'
import gzip, hashlib, io, json, os, sys, tarfile
root, layout = sys.argv[1:]
blobs = os.path.join(layout, "blobs", "sha256")
os.makedirs(blobs)
raw = io.BytesIO()
with tarfile.open(fileobj=raw, mode="w", format=tarfile.PAX_FORMAT) as tar:
    for dirpath, dirnames, filenames in os.walk(root):
        dirnames.sort()
        for name in sorted(dirnames) + sorted(filenames):
            path = os.path.join(dirpath, name)
            info = tar.gettarinfo(path, os.path.relpath(path, root))
            info.uid = info.gid = 0
            info.uname = info.gname = ""
            info.mtime = 1704067200
            if info.isfile():
                with open(path, "rb") as f:
                    tar.addfile(info, f)
            else:
                tar.addfile(info)
tar_bytes = raw.getvalue()
def put(data):
    digest = hashlib.sha256(data).hexdigest()
    with open(os.path.join(blobs, digest), "wb") as f:
        f.write(data)
    return {"digest": "sha256:" + digest, "size": len(data)}
layer = put(gzip.compress(tar_bytes, compresslevel=6, mtime=0))
config = put(json.dumps({"architecture": "amd64", "os": "linux",
    "config": {"Env": ["PATH=/usr/local/bin:/usr/bin:/bin"]},
    "rootfs": {"type": "layers", "diff_ids": ["sha256:" + hashlib.sha256(tar_bytes).hexdigest()]}}).encode())
manifest = put(json.dumps({"schemaVersion": 2,
    "mediaType": "application/vnd.oci.image.manifest.v1+json",
    "config": {"mediaType": "application/vnd.oci.image.config.v1+json", **config},
    "layers": [{"mediaType": "application/vnd.oci.image.layer.v1.tar+gzip", **layer}]}).encode())
with open(os.path.join(layout, "oci-layout"), "w") as f:
    f.write('{"imageLayoutVersion":"1.0.0"}')
with open(os.path.join(layout, "index.json"), "w") as f:
    json.dump({"schemaVersion": 2, "manifests": [{
        "mediaType": "application/vnd.oci.image.manifest.v1+json", **manifest,
        "annotations": {"org.opencontainers.image.ref.name": "java"}}]}, f)
PY

date -u +%FT%TZ >"$out.tmp/done"
rm -rf "$out"
mv "$out.tmp" "$out"
# Older versions of this layout are no longer read; Maven's repository stays.
for old in "$base"/*/; do
  case "$old" in "$out/" | "$base/m2/") ;; *) rm -rf "$old" ;; esac
done
say "built $out"
echo "$out"
