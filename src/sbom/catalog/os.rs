//! The distribution: `/etc/os-release` (else `/usr/lib/os-release`),
//! refined by `/etc/debian_version` and `/etc/alpine-release`.

use super::text;
use crate::sbom::files::Files;
use crate::sbom::model::Distro;

const OS_RELEASE: [&str; 2] = ["/etc/os-release", "/usr/lib/os-release"];
const DEBIAN_VERSION: &str = "/etc/debian_version";
const ALPINE_RELEASE: &str = "/etc/alpine-release";

pub(super) fn wants(path: &str) -> bool {
    OS_RELEASE.contains(&path) || path == DEBIAN_VERSION || path == ALPINE_RELEASE
}

pub(super) fn detect(files: &dyn Files) -> Option<Distro> {
    let release = |path: &str| {
        files
            .get(path)
            .and_then(|found| text(&found).map(|t| t.trim().to_string()))
            .filter(|t| !t.is_empty())
    };
    let mut distro = OS_RELEASE
        .iter()
        .find_map(|path| files.get(path).and_then(|found| text(&found)))
        .map(|t| parse_os_release(&t))
        .filter(|d| !d.id.is_empty());

    if let Some(debian_version) = release(DEBIAN_VERSION) {
        // Ubuntu and other derivatives ship debian_version too ("bookworm/sid"):
        // it only speaks for Debian itself.
        let d = distro.get_or_insert_with(|| Distro {
            id: "debian".to_string(),
            ..Distro::default()
        });
        if d.id == "debian" && d.version_id.is_none() {
            // testing/sid have no VERSION_ID; debian_version is "13.1" once
            // released, "trixie/sid" before: only a number says which release.
            let major = debian_version.split('.').next().unwrap_or_default();
            if !major.is_empty() && major.bytes().all(|b| b.is_ascii_digit()) {
                d.version_id = Some(major.to_string());
            }
        }
    }
    if let Some(alpine_release) = release(ALPINE_RELEASE) {
        let d = distro.get_or_insert_with(|| Distro {
            id: "alpine".to_string(),
            ..Distro::default()
        });
        if d.id == "alpine" && d.version_id.is_none() {
            d.version_id = Some(alpine_release);
        }
    }
    distro
}

/// `KEY=VALUE` lines, values optionally quoted, shell-style escapes inside
/// double quotes (os-release(5)).
fn parse_os_release(text: &str) -> Distro {
    let mut distro = Distro::default();
    for line in text.lines() {
        let line = line.trim();
        if line.starts_with('#') {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        let value = unquote(value.trim());
        let some = |v: String| (!v.is_empty()).then_some(v);
        match key.trim() {
            "ID" => distro.id = value,
            "VERSION_ID" => distro.version_id = some(value),
            "VERSION_CODENAME" => distro.codename = some(value),
            "PRETTY_NAME" => distro.pretty_name = some(value),
            "ID_LIKE" => distro.id_like = value.split_whitespace().map(str::to_string).collect(),
            _ => {}
        }
    }
    distro
}

fn unquote(value: &str) -> String {
    if let Some(inner) = value.strip_prefix('\'').and_then(|v| v.strip_suffix('\'')) {
        return inner.to_string();
    }
    let inner = value
        .strip_prefix('"')
        .and_then(|v| v.strip_suffix('"'))
        .unwrap_or(value);
    let mut out = String::with_capacity(inner.len());
    let mut chars = inner.chars();
    while let Some(c) = chars.next() {
        if c == '\\' {
            match chars.next() {
                Some(next @ ('"' | '\\' | '$' | '`' | '\'')) => out.push(next),
                Some(other) => {
                    out.push('\\');
                    out.push(other);
                }
                None => out.push('\\'),
            }
        } else {
            out.push(c);
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::sbom::files::MemFiles;

    const BOOKWORM: &str = r#"PRETTY_NAME="Debian GNU/Linux 12 (bookworm)"
NAME="Debian GNU/Linux"
VERSION_ID="12"
VERSION="12 (bookworm)"
VERSION_CODENAME=bookworm
ID=debian
HOME_URL="https://www.debian.org/"
"#;

    #[test]
    fn debian_from_a_symlinked_os_release() {
        let mut files = MemFiles::default();
        files
            .add_bytes("/usr/lib/os-release", BOOKWORM.as_bytes())
            .link("/etc/os-release", "../usr/lib/os-release")
            .add_bytes("/etc/debian_version", b"12.5\n");
        let d = detect(&files).unwrap();
        assert_eq!(d.id, "debian");
        assert_eq!(d.version_id.as_deref(), Some("12"));
        assert_eq!(d.codename.as_deref(), Some("bookworm"));
        assert_eq!(
            d.pretty_name.as_deref(),
            Some("Debian GNU/Linux 12 (bookworm)")
        );
    }

    #[test]
    fn etc_wins_over_usr_lib() {
        let mut files = MemFiles::default();
        files
            .add_bytes("/usr/lib/os-release", b"ID=debian\n")
            .add_bytes("/etc/os-release", b"ID='ubuntu'\nID_LIKE=\"debian  foo\"\n")
            .add_bytes("/etc/debian_version", b"12.5\n");
        let d = detect(&files).unwrap();
        assert_eq!(d.id, "ubuntu");
        assert_eq!(d.id_like, ["debian", "foo"]);
        // debian_version says nothing about Ubuntu's version.
        assert_eq!(d.version_id, None);
    }

    #[test]
    fn debian_testing_takes_its_version_from_debian_version_when_numeric() {
        let sid =
            "PRETTY_NAME=\"Debian GNU/Linux trixie/sid\"\nID=debian\nVERSION_CODENAME=trixie\n";
        let mut files = MemFiles::default();
        files
            .add_bytes("/etc/os-release", sid.as_bytes())
            .add_bytes("/etc/debian_version", b"trixie/sid\n");
        assert_eq!(detect(&files).unwrap().version_id, None);
        files.add_bytes("/etc/debian_version", b"13.0\n");
        assert_eq!(detect(&files).unwrap().version_id.as_deref(), Some("13"));
    }

    #[test]
    fn alpine_and_release_files_alone() {
        let mut files = MemFiles::default();
        files.add_bytes("/etc/alpine-release", b"3.20.3\n");
        let d = detect(&files).unwrap();
        assert_eq!(
            (d.id.as_str(), d.version_id.as_deref()),
            ("alpine", Some("3.20.3"))
        );

        let mut files = MemFiles::default();
        files
            .add_bytes("/etc/os-release", b"ID=alpine\nNAME=\"Alpine Linux\"\n")
            .add_bytes("/etc/alpine-release", b"3.21.0\n");
        assert_eq!(
            detect(&files).unwrap().version_id.as_deref(),
            Some("3.21.0")
        );
    }

    #[test]
    fn quoting_and_garbage() {
        let d = parse_os_release(
            "# c\nID=\"a\\\"b\\\\c\"\nVERSION_ID=\"\"\njunk\n=x\n\u{0}\u{ffff}=\n",
        );
        assert_eq!(d.id, "a\"b\\c");
        assert_eq!(d.version_id, None);
        let files = MemFiles::default();
        assert!(detect(&files).is_none());
        let mut files = MemFiles::default();
        files.add_bytes("/etc/os-release", &[0xff, 0xfe, b'\n']);
        assert!(detect(&files).is_none());
    }
}
