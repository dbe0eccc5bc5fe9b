#!/usr/bin/env python3
"""An OSV database of osv.dev's size, generated: per-ecosystem all.zip files
holding about 300,000 records in the shapes osv.dev publishes, and a
CycloneDX SBOM of 2,000 packages that hit the data.

    benches/osv-gen.py OUT [--scale 1.0] [--seed 17]

writes
    OUT/osv-scalibr/<Ecosystem>/all.zip   one per ecosystem, as osv-scanner's
                                          --local-db-path expects, and as
                                          osv.dev's gs://osv-vulnerabilities
    OUT/sbom.cdx.json                     2,000 components (purls)
    OUT/expected.json                     counts, and the findings a correct
                                          matcher reports for the SBOM

Python 3 standard library only; the same seed gives the same bytes.
Shapes follow real records (../shared/osv and osv.dev): npm is mostly
OpenSSF malicious-package reports (MAL-*) plus GitHub advisories; Debian has
DEBIAN-CVE-* per source package with Debian:11/12/13 entries, and DSA/DLA;
PyPI records list every affected version; Go records carry SEMVER ranges
and imports; some GitHub advisories name two ecosystems and so appear in
two zips, as on osv.dev. Versions are plain x.y.z (Debian: x.y.z-r and
+debNuM fixes), so every version order agrees on them and the expected
findings are computed here exactly.
"""

import argparse
import hashlib
import json
import os
import random
import sys
import zipfile

# Records per ecosystem at scale 1 (osv.dev, 2026: npm ~60 %, Debian ~20 %).
MIX = [
    ("npm", 181_000),
    ("Debian", 60_000),
    ("PyPI", 21_000),
    ("Maven", 16_000),
    ("Go", 14_000),
    ("crates.io", 8_000),
]
CROSS = 600  # GitHub advisories naming npm and Maven (in both zips)

SYL = ["ba", "ce", "di", "fo", "gu", "ha", "je", "ki", "lo", "mu", "na", "pe",
       "qui", "ro", "su", "ta", "ve", "wi", "xo", "yu", "za", "tr", "st", "ch",
       "pl", "gr", "an", "en", "in", "on", "ex", "ar"]
COMMON = ("the a an of in to and or is be by for with when that this which "
          "from as on may could allows attacker remote local user via crafted "
          "request input data file server client memory buffer overflow "
          "denial service injection arbitrary code execution vulnerability "
          "version versions before after prior fixed affected issue function "
          "parameter header path access control bypass authentication token "
          "sensitive information disclosure cross site scripting XSS SQL "
          "command validation improper handling length check null pointer "
          "dereference use free out bounds read write race condition").split()


class Gen:
    def __init__(self, seed, scale):
        self.r = random.Random(seed)
        self.scale = scale
        r = self.r
        self.words = sorted({"".join(r.choice(SYL) for _ in range(r.randint(2, 4)))
                             for _ in range(400)})
        self.cve = 0

    # --- text ---
    def sentence(self):
        r = self.r
        n = r.randint(6, 16)
        ws = [r.choice(COMMON) if r.random() < 0.85 else r.choice(self.words) for _ in range(n)]
        s = " ".join(ws)
        return s[0].upper() + s[1:] + "."

    def text(self, chars):
        out, n = [], 0
        while n < chars:
            s = self.sentence()
            out.append(s)
            n += len(s) + 1
        return " ".join(out)

    def markdown(self, chars):
        r = self.r
        parts = ["### Impact", self.text(chars * 0.4), "### Patches",
                 self.text(chars * 0.2)]
        if r.random() < 0.4:
            parts += ["### Proof of concept", "```js\nconst x = require('%s');\nx.%s(%s);\n```" % (
                r.choice(self.words), r.choice(self.words), "'" + "A" * r.randint(5, 60) + "'")]
        parts += ["### Workarounds", self.text(chars * 0.2), "### References",
                  "\n".join("- https://%s.example/%s" % (r.choice(self.words), self.hexid(8))
                            for _ in range(r.randint(1, 3)))]
        return "\n\n".join(parts)

    def hexid(self, n):
        return "%0*x" % (n, self.r.getrandbits(4 * n))

    def ghsa(self):
        a = "23456789cfghjmpqrvwx"
        return "GHSA-" + "-".join("".join(self.r.choice(a) for _ in range(4)) for _ in range(3))

    def cve_id(self, year=None):
        self.cve += 1
        return "CVE-%d-%d" % (year or self.r.randint(2015, 2026), 10000 + self.cve)

    def when(self, lo=2018, hi=2026):
        r = self.r
        return "%04d-%02d-%02dT%02d:%02d:%02dZ" % (
            r.randint(lo, hi), r.randint(1, 12), r.randint(1, 28),
            r.randint(0, 23), r.randint(0, 59), r.randint(0, 59))

    def cvss(self):
        r = self.r
        return "CVSS:3.1/AV:%s/AC:%s/PR:%s/UI:%s/S:%s/C:%s/I:%s/A:%s" % (
            r.choice("NALP"), r.choice("LH"), r.choice("NLH"), r.choice("NR"),
            r.choice("UC"), r.choice("NLH"), r.choice("NLH"), r.choice("NLH"))

    def refs(self, ids, repo=None, n=None):
        r = self.r
        out = [{"type": "ADVISORY", "url": "https://nvd.nist.gov/vuln/detail/" + i}
               for i in ids if i.startswith("CVE-")]
        for _ in range(n if n is not None else r.randint(1, 3)):
            kind = r.choice(["WEB", "FIX", "PACKAGE", "REPORT", "ARTICLE"])
            if repo and kind == "FIX":
                out.append({"type": kind, "url": "%s/commit/%s" % (repo, self.hexid(40))})
            else:
                out.append({"type": kind, "url": "https://%s.%s/%s/%s" % (
                    r.choice(self.words), r.choice(["com", "org", "io", "net"]),
                    r.choice(self.words), self.hexid(r.choice([6, 10, 16])))})
        return out

    # --- packages and versions ---
    def name(self, sep="-"):
        r = self.r
        return sep.join(r.choice(self.words) for _ in range(r.randint(1, 3)))


def semver_list(r, top):
    """Release history up to `top` (a tuple): a few patch releases per minor."""
    out = []
    for major in range(0, top[0] + 1):
        for minor in range(0, 6 if major < top[0] else top[1] + 1):
            for patch in range(0, r.choice([1, 2, 3, 4])):
                out.append((major, minor, patch))
    return out


def v(t):
    return "%d.%d.%d" % t


def pkg_versions(r):
    """A package's history and a vulnerable window [introduced, fixed)."""
    top = (r.randint(1, 6), r.randint(0, 5))
    hist = semver_list(r, top)
    i = r.randrange(0, max(1, len(hist) // 2))
    j = r.randrange(i + 1, len(hist)) if i + 1 < len(hist) else None
    return hist, hist[i] if i else None, hist[j] if j is not None else None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("out")
    ap.add_argument("--scale", type=float, default=1.0)
    ap.add_argument("--seed", type=int, default=17)
    args = ap.parse_args()
    g = Gen(args.seed, args.scale)
    r = g.r
    n = {eco: max(20, int(count * args.scale)) for eco, count in MIX}
    cross = max(4, int(CROSS * args.scale))

    # Package pools per ecosystem (Zipf-ish reuse: a few packages have many records).
    pools = {}
    for eco, count in n.items():
        distinct = {"npm": int(count * 0.75), "Debian": max(10, count // 20),
                    "PyPI": count // 4, "Maven": count // 4, "Go": count // 3,
                    "crates.io": count // 3}[eco]
        seen, names = set(), []
        while len(names) < distinct:
            if eco == "npm":
                nm = g.name() if r.random() < 0.8 else "@%s/%s" % (r.choice(g.words), g.name())
            elif eco == "Maven":
                nm = "%s.%s.%s:%s" % (r.choice(["org", "com", "io", "net"]), r.choice(g.words),
                                      r.choice(g.words), g.name())
            elif eco == "Go":
                nm = "%s/%s/%s" % (r.choice(["github.com", "gitlab.com", "go.example.dev"]),
                                   r.choice(g.words), g.name())
            elif eco == "PyPI":
                nm = g.name(r.choice(["-", "_", "."])).capitalize() if r.random() < 0.2 else g.name()
            elif eco == "crates.io":
                nm = g.name("_") if r.random() < 0.5 else g.name()
            else:
                nm = g.name()
            if nm not in seen:
                seen.add(nm)
                names.append(nm)
        pools[eco] = names

    def pick(eco):
        p = pools[eco]
        # Half the draws from the first tenth: popular packages gather advisories.
        if r.random() < 0.5:
            return p[r.randrange(max(1, len(p) // 10))]
        return p[r.randrange(len(p))]

    # records[eco] = list of dicts; hits[(eco, name)] = [(id, introduced, fixed, withdrawn)]
    records = {eco: [] for eco in n}
    hits = {}
    ids = set()

    def note(eco, name, rid, intro, fixed, withdrawn, last=None):
        hits.setdefault((eco, name), []).append((rid, intro, fixed, last, withdrawn))

    def new_id(make):
        while True:
            i = make()
            if i not in ids:
                ids.add(i)
                return i

    def ghsa_record(eco, names, purl_type):
        rid = new_id(g.ghsa)
        cve = g.cve_id()
        modified = g.when(2021)
        withdrawn = g.when(2023) if r.random() < 0.01 else None
        affected = []
        for eco_, name in names:
            hist, intro, fixed = pkg_versions(r)
            ev = [{"introduced": v(intro) if intro else "0"}]
            last = None
            if fixed:
                ev.append({"fixed": v(fixed)})
            else:
                last = hist[-1]
                ev.append({"last_affected": v(last)})
            a = {"package": {"ecosystem": eco_, "name": name,
                             "purl": "pkg:%s/%s" % (purl_type.get(eco_, eco_.lower()),
                                                    name.replace(":", "/"))},
                 "ranges": [{"type": "ECOSYSTEM", "events": ev}]}
            if eco_ == "PyPI":
                a["versions"] = [v(t) for t in hist
                                 if (not intro or t >= intro) and (not fixed or t < fixed)
                                 and (fixed or t <= last)]
            a["database_specific"] = {"source": "https://github.com/github/advisory-database/blob/main/advisories/github-reviewed/%s/%s.json" % (modified[:4], rid)}
            affected.append(a)
            note(eco_, name, rid, intro, fixed, withdrawn, last)
        rec = {"schema_version": "1.7.3", "id": rid, "modified": modified,
               "published": g.when(2018, 2024), "aliases": [cve],
               "summary": g.sentence()[:r.randint(40, 110)],
               "details": g.markdown(r.randint(40, 260)),
               "severity": [{"type": "CVSS_V3", "score": g.cvss()}],
               "affected": affected,
               "references": g.refs([cve], "https://github.com/%s/%s" % (r.choice(g.words), names[0][1].split("/")[-1].split(":")[-1])),
               "database_specific": {"cwe_ids": ["CWE-%d" % r.choice([20, 22, 79, 89, 94, 400, 502, 601, 787, 918, 1321])],
                                     "severity": r.choice(["LOW", "MODERATE", "HIGH", "CRITICAL"]),
                                     "github_reviewed": True,
                                     "github_reviewed_at": g.when(2019),
                                     "nvd_published_at": g.when(2019)}}
        if withdrawn:
            rec["withdrawn"] = withdrawn
        return rec

    purl_type = {"npm": "npm", "Maven": "maven", "PyPI": "pypi", "Go": "golang", "crates.io": "cargo"}

    # npm: malicious-package reports and GitHub advisories.
    mal = 0
    for k in range(n["npm"]):
        if r.random() < 0.72:
            mal += 1
            rid = "MAL-%d-%d" % (r.randint(2022, 2026), 1000 + mal)
            ids.add(rid)
            name = pools["npm"][(mal * 7919) % len(pools["npm"])]
            vers = ["%d.%d.%d" % (r.randint(0, 9), r.randint(0, 20), r.randint(0, 9))
                    for _ in range(r.randint(1, 4))]
            origins = [{"source": r.choice(["ossf-package-analysis", "ghsa-malware", "amazon-inspector", "socket"]),
                        "sha256": hashlib.sha256(("%s%d" % (rid, i)).encode()).hexdigest(),
                        "modified_time": g.when(2023)} for i in range(1)]
            details = ("\n---\n_-= Per source details. Do not edit below this line.=-_\n\n"
                       "## Source: %s (%s)\n\nThe OpenSSF Package Analysis project identified '%s' @ %s (npm) as malicious.\n\n"
                       "It is considered malicious because:\n\n%s\n" % (
                           origins[0]["source"], origins[0]["sha256"][:8], name, vers[0],
                           "- " + g.sentence()))
            rec = {"modified": g.when(2023), "published": g.when(2022), "schema_version": "1.7.0",
                   "id": rid, "summary": "Malicious code in %s (npm)" % name, "details": details,
                   "affected": [{"package": {"ecosystem": "npm", "name": name},
                                 "ranges": [{"type": "SEMVER", "events": [{"introduced": "0"}]}],
                                 "versions": vers,
                                 "database_specific": {"cwes": [{"cweId": "CWE-506", "name": "Embedded Malicious Code"}]}}],
                   "references": [{"type": "REPORT", "url": "https://github.com/ossf/malicious-packages/issues/%d" % r.randint(1, 99999)}],
                   "database_specific": {"malicious-packages-origins": origins}}
            records["npm"].append(rec)
            note("npm", name, rid, None, None, None, "ALL")
        else:
            nm = [("npm", pick("npm"))]
            if r.random() < 0.15:
                nm.append(("npm", pick("npm")))
            records["npm"].append(ghsa_record("npm", nm, purl_type))

    for eco in ("Maven", "PyPI", "crates.io"):
        for _ in range(n[eco]):
            if eco == "PyPI" and r.random() < 0.5:
                rec = ghsa_record(eco, [(eco, pick(eco))], purl_type)
                rec["id"] = new_id(lambda: "PYSEC-%d-%d" % (r.randint(2015, 2025), r.randint(1, 99999)))
                for a in rec["affected"]:
                    hits[(eco, a["package"]["name"])][-1] = (rec["id"],) + hits[(eco, a["package"]["name"])][-1][1:]
                rec["aliases"].append(g.ghsa())
                del rec["database_specific"]
            elif eco == "crates.io" and r.random() < 0.6:
                rec = ghsa_record(eco, [(eco, pick(eco))], purl_type)
                rec["id"] = new_id(lambda: "RUSTSEC-%d-%04d" % (r.randint(2016, 2026), r.randint(1, 9999)))
                for a in rec["affected"]:
                    hits[(eco, a["package"]["name"])][-1] = (rec["id"],) + hits[(eco, a["package"]["name"])][-1][1:]
                    a["ecosystem_specific"] = {"affects": {"arch": [], "os": [], "functions": []}}
                    a["ranges"][0]["type"] = "SEMVER"
                rec["database_specific"] = {"license": "CC0-1.0"}
            else:
                rec = ghsa_record(eco, [(eco, pick(eco))], purl_type)
            records[eco].append(rec)

    # Go: SEMVER ranges, imports with symbols, GIT ranges on the side.
    for _ in range(n["Go"]):
        rid = new_id(lambda: "GO-%d-%04d" % (r.randint(2020, 2026), r.randint(1, 9999)))
        name = pick("Go")
        hist, intro, fixed = pkg_versions(r)
        ev = [{"introduced": v(intro) if intro else "0"}]
        last = None
        if fixed:
            ev.append({"fixed": v(fixed)})
        else:
            last = "ALL"
        note("Go", name, rid, intro, fixed, None, last)
        cve = g.cve_id()
        rec = {"schema_version": "1.3.1", "id": rid, "modified": g.when(2022), "published": g.when(2021),
               "aliases": [cve, g.ghsa()], "summary": g.sentence()[:90] + " in " + name,
               "details": g.text(r.randint(40, 220)),
               "affected": [{"package": {"name": name, "ecosystem": "Go"},
                             "ranges": [{"type": "SEMVER", "events": ev}],
                             "ecosystem_specific": {"imports": [{"path": name + "/" + r.choice(g.words),
                                                                 "symbols": ["%s.%s" % (r.choice(g.words).capitalize(), r.choice(g.words).capitalize())
                                                                             for _ in range(r.randint(1, 5))]}]}}],
               "references": g.refs([cve], "https://" + name),
               "database_specific": {"url": "https://pkg.go.dev/vuln/" + rid,
                                     "review_status": r.choice(["REVIEWED", "UNREVIEWED"])}}
        records["Go"].append(rec)

    # Debian: per source package, DEBIAN-CVE records over 11/12/13, and DSA/DLA.
    deb_hist = {}
    for _ in range(n["Debian"]):
        name = pick("Debian")
        if name not in deb_hist:
            deb_hist[name] = (r.randint(1, 9), r.randint(0, 30), r.randint(0, 9))
        up = deb_hist[name]
        kind = r.random()
        if kind < 0.8:
            cve = g.cve_id()
            rid = "DEBIAN-" + cve
            ids.add(rid)
        elif kind < 0.9:
            # 4,001 numbers alone run out at scale 1 (6,000 DSAs): the
            # revision varies too, as Debian's do (DSA-5123-2).
            rid = new_id(lambda: "DSA-%d-%d" % (r.randint(2000, 6000), r.randint(1, 4)))
            cve = None
        else:
            rid = new_id(lambda: "DLA-%d-%d" % (r.randint(100, 4500), r.randint(1, 4)))
            cve = None
        affected = []
        for rel in (["11", "12", "13"] if kind < 0.8 else [r.choice(["11", "12"])]):
            fixed = r.random() < 0.85
            fv = "%d.%d.%d-%d+deb%su%d" % (up[0], up[1], up[2], r.randint(1, 5), rel, r.randint(1, 4))
            ev = [{"introduced": "0"}] + ([{"fixed": fv}] if fixed else [])
            affected.append({"package": {"ecosystem": "Debian:" + rel, "name": name,
                                         "purl": "pkg:deb/debian/%s?arch=source" % name},
                             "ranges": [{"type": "ECOSYSTEM", "events": ev}],
                             "versions": [],
                             "ecosystem_specific": {"urgency": r.choice(["not yet assigned", "low", "medium", "high", "unimportant"])}})
            note("Debian:" + rel, name, rid, None, (up, fv) if fixed else None, None, None if fixed else "ALL")
        rec = {"id": rid, "modified": g.when(2022), "published": g.when(2015, 2024),
               "details": g.text(r.randint(30, 140)) if kind < 0.8 else "%s: %s" % (name, g.sentence()),
               "affected": affected, "schema_version": "1.7.0"}
        if cve:
            rec["upstream"] = [cve]
            rec["references"] = [{"type": "ADVISORY", "url": "https://security-tracker.debian.org/tracker/" + cve}]
        else:
            rec["summary"] = name + " - security update"
            rec["related"] = [g.cve_id() for _ in range(r.randint(1, 4))]
            rec["references"] = [{"type": "ADVISORY", "url": "https://www.debian.org/security/%s" % rid.lower()}]
        records["Debian"].append(rec)

    # Advisories naming npm and a Maven webjar: in both zips, as on osv.dev.
    shared = []
    for _ in range(cross):
        nm = pick("npm")
        rec = ghsa_record("npm", [("npm", nm), ("Maven", "org.webjars.npm:" + nm.replace("@", "").replace("/", "__"))], purl_type)
        shared.append(rec)
    records["npm"].extend(shared)
    records["Maven"].extend(shared)

    out = args.out
    base = os.path.join(out, "osv-scalibr")
    total_zip = 0
    counts = {}
    for eco, recs in records.items():
        d = os.path.join(base, eco)
        os.makedirs(d, exist_ok=True)
        path = os.path.join(d, "all.zip")
        with zipfile.ZipFile(path + ".tmp", "w", zipfile.ZIP_DEFLATED) as z:
            for rec in recs:
                z.writestr(rec["id"] + ".json", json.dumps(rec, indent=2))
        os.replace(path + ".tmp", path)
        size = os.path.getsize(path)
        total_zip += size
        counts[eco] = len(recs)
        print("%-10s %7d records %6.1f MB" % (eco, len(recs), size / 1e6), file=sys.stderr)
    print("total      %7d records %6.1f MB (%d in two zips)" % (
        sum(counts.values()), total_zip / 1e6, len(shared)), file=sys.stderr)

    # The SBOM: 2,000 packages with records, at versions that hit some.
    def affected_by(entry, ver):
        rid, intro, fixed, last, withdrawn = entry
        if withdrawn:
            return False
        if isinstance(fixed, tuple) and isinstance(fixed[1], str):  # Debian (upstream, fixed version)
            return True  # the SBOM's Debian versions are below every fix (see below)
        if last == "ALL":
            return not intro or ver >= intro
        if intro and ver < intro:
            return False
        if fixed:
            return ver < fixed
        return ver <= last

    keys = sorted(k for k in hits if k[0] in ("npm", "PyPI", "Maven", "Go", "crates.io", "Debian:12"))
    r.shuffle(keys)
    mal_only = [k for k in keys if all(e[0].startswith("MAL-") for e in hits[k])]
    mal_set = set(mal_only)
    others = [k for k in keys if k not in mal_set]
    # A real SBOM rarely holds malware: a few MAL hits, the rest advisories.
    chosen = mal_only[:60] + [k for k in others if not any(e[4] for e in hits[k])][:1940]
    comps, findings = [], []
    quota = 1750
    for i, (eco, name) in enumerate(sorted(chosen)):
        ver = (0, 0, 1) if len(findings) < quota * (i + 1) / len(chosen) else (99, 0, 0)
        if eco == "Debian:12":
            up = deb_hist[name]
            text = "%d.%d.%d-1" % ((up[0], up[1], up[2]) if ver != (99, 0, 0) else (99, 0, 0))
            if ver == (99, 0, 0):
                hit = [e[0] for e in hits[(eco, name)] if e[3] == "ALL"]
            else:
                hit = [e[0] for e in hits[(eco, name)]]
            purl = "pkg:deb/debian/%s@%s?arch=amd64&distro=debian-12" % (name, text)
        else:
            text = v(ver)
            hit = [e[0] for e in hits[(eco, name)] if affected_by(e, ver)]
            if eco == "Go":
                purl = "pkg:golang/%s@v%s" % (name, text)
            elif eco == "Maven":
                grp, art = name.split(":")
                purl = "pkg:maven/%s/%s@%s" % (grp, art, text)
            elif eco == "npm" and name.startswith("@"):
                purl = "pkg:npm/%%40%s@%s" % (name[1:], text)
            else:
                purl = "pkg:%s/%s@%s" % (purl_type[eco], name, text)
        findings += [(eco, name, rid) for rid in sorted(set(hit))]
        comps.append({"type": "library", "bom-ref": "c%d" % i,
                      "name": name.split("/")[-1].split(":")[-1], "version": text, "purl": purl})
    sbom = {"bomFormat": "CycloneDX", "specVersion": "1.6", "version": 1,
            "serialNumber": "urn:uuid:3e671687-395b-41f5-a30f-a58921a69b79",
            "metadata": {"component": {"type": "container", "name": "osv-scale"}},
            "components": comps}
    with open(os.path.join(out, "sbom.cdx.json"), "w") as f:
        json.dump(sbom, f, indent=1)
    with open(os.path.join(out, "expected.json"), "w") as f:
        json.dump({"records": counts, "shared": len(shared), "zip_bytes": total_zip,
                   "packages": len(comps), "findings": len(findings),
                   "pairs": findings}, f, indent=1)
    print("SBOM: %d packages, %d expected findings" % (len(comps), len(findings)), file=sys.stderr)


if __name__ == "__main__":
    main()
