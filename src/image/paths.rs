//! Paths inside an image: every tar path becomes absolute and normalised,
//! and nothing (`..`, a symlink target) ever reaches above the image root.
//! These are strings about the image, never paths on the host.

/// A tar entry's path made absolute and normalised: `./usr/bin/x`,
/// `usr/bin/x` and `/usr/bin/x` all become `/usr/bin/x`. `.` and empty
/// components go; `..` removes the previous component and stops at `/`.
/// The flag says whether some `..` tried to climb above the root (the entry
/// is kept, clamped inside the image, as container runtimes do).
pub fn normalise_entry(raw: &str) -> (String, bool) {
    let mut parts: Vec<&str> = Vec::new();
    let mut climbed = false;
    for part in raw.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                if parts.pop().is_none() {
                    climbed = true;
                }
            }
            p => parts.push(p),
        }
    }
    (join_parts(&parts), climbed)
}

/// `/a/b` from `["a", "b"]`; `/` from nothing.
pub fn join_parts(parts: &[&str]) -> String {
    let mut s = String::with_capacity(parts.iter().map(|p| p.len() + 1).sum::<usize>().max(1));
    for p in parts {
        s.push('/');
        s.push_str(p);
    }
    if s.is_empty() {
        s.push('/');
    }
    s
}

/// The parent directory and the last component of a normalised absolute
/// path: `/a/b` → (`/a`, `b`), `/a` → (`/`, `a`).
pub fn split_parent(path: &str) -> (&str, &str) {
    match path.rsplit_once('/') {
        Some(("", name)) => ("/", name),
        Some((parent, name)) => (parent, name),
        None => ("/", path),
    }
}

/// `dir/name` for a normalised absolute `dir`.
pub fn child(dir: &str, name: &str) -> String {
    if dir == "/" {
        format!("/{name}")
    } else {
        format!("{dir}/{name}")
    }
}

/// The prefix every path strictly below `dir` starts with.
pub fn below(dir: &str) -> String {
    if dir == "/" {
        "/".to_string()
    } else {
        format!("{dir}/")
    }
}

/// How many symlinks one lookup may follow, as Linux's `MAXSYMLINKS`.
pub const MAX_SYMLINKS: usize = 40;

/// What a lookup needs to know about a path.
pub enum Step<'a> {
    /// Nothing recorded at this path (it may still be a directory that only
    /// holds recorded entries).
    Missing,
    Directory,
    /// A symlink, with its target as written.
    Symlink(&'a str),
    /// A regular file or anything else that is not a directory.
    NotDirectory,
}

/// Resolves `path` inside the image whose entries `at` describes, following
/// symlinks in every component, the last included. Relative targets are
/// taken from the link's directory, absolute ones from the image root, and
/// `..` stops at the root, so the result always names a path inside the
/// image. `None` for a symlink loop (more than [`MAX_SYMLINKS`] links) or a
/// path that goes through a non-directory.
pub fn resolve<'a>(path: &str, at: impl Fn(&str) -> Step<'a>) -> Option<String> {
    // Components still to walk, in reverse order (the next one is last).
    let mut todo: Vec<String> = path
        .split('/')
        .rev()
        .filter(|c| !c.is_empty() && *c != ".")
        .map(str::to_string)
        .collect();
    let mut done: Vec<String> = Vec::new();
    let mut followed = 0;
    while let Some(component) = todo.pop() {
        if component == ".." {
            done.pop();
            continue;
        }
        done.push(component);
        let current = join_parts(&done.iter().map(String::as_str).collect::<Vec<_>>());
        match at(&current) {
            Step::Symlink(target) => {
                followed += 1;
                if followed > MAX_SYMLINKS {
                    return None;
                }
                done.pop();
                if target.starts_with('/') {
                    done.clear();
                }
                todo.extend(
                    target
                        .split('/')
                        .rev()
                        .filter(|c| !c.is_empty() && *c != ".")
                        .map(str::to_string),
                );
            }
            Step::NotDirectory if !todo.is_empty() => {
                // `file/x`, unless all that is left is `..`s and `.`s,
                // which the kernel refuses too.
                return None;
            }
            Step::Missing | Step::Directory | Step::NotDirectory => {}
        }
    }
    Some(join_parts(
        &done.iter().map(String::as_str).collect::<Vec<_>>(),
    ))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[test]
    fn entries_become_absolute_and_stay_inside() {
        for raw in ["./usr/bin/x", "usr/bin/x", "/usr/bin/x", "usr//bin/./x/"] {
            assert_eq!(normalise_entry(raw), ("/usr/bin/x".to_string(), false));
        }
        assert_eq!(
            normalise_entry("../../etc/passwd"),
            ("/etc/passwd".to_string(), true)
        );
        assert_eq!(
            normalise_entry("usr/../../etc/shadow"),
            ("/etc/shadow".to_string(), true)
        );
        assert_eq!(
            normalise_entry("usr/lib/../bin"),
            ("/usr/bin".into(), false)
        );
        assert_eq!(normalise_entry("./"), ("/".to_string(), false));
    }

    #[test]
    fn parents_and_children() {
        assert_eq!(split_parent("/a/b"), ("/a", "b"));
        assert_eq!(split_parent("/a"), ("/", "a"));
        assert_eq!(child("/", "a"), "/a");
        assert_eq!(child("/a", "b"), "/a/b");
        assert_eq!(below("/"), "/");
        assert_eq!(below("/a"), "/a/");
    }

    fn fs(links: &[(&str, &str)], files: &[&str]) -> BTreeMap<String, Option<String>> {
        let mut m = BTreeMap::new();
        for (l, t) in links {
            m.insert(l.to_string(), Some(t.to_string()));
        }
        for f in files {
            m.insert(f.to_string(), None);
        }
        m
    }

    fn res(m: &BTreeMap<String, Option<String>>, path: &str) -> Option<String> {
        resolve(path, |p| match m.get(p) {
            Some(Some(t)) => Step::Symlink(t),
            Some(None) => Step::NotDirectory,
            None => Step::Missing,
        })
    }

    #[test]
    fn symlinks_resolve_in_every_component_inside_the_root() {
        let m = fs(
            &[
                ("/lib", "usr/lib"),
                ("/usr/lib/os-release", "../../etc/real-os-release"),
                ("/abs", "/usr"),
                ("/escape", "../../../../../etc/passwd"),
                ("/up", ".."),
            ],
            &["/etc/real-os-release", "/etc/passwd", "/usr/bin/file"],
        );
        assert_eq!(res(&m, "/lib/x").as_deref(), Some("/usr/lib/x"));
        assert_eq!(
            res(&m, "/lib/os-release").as_deref(),
            Some("/etc/real-os-release")
        );
        assert_eq!(res(&m, "/abs/bin/file").as_deref(), Some("/usr/bin/file"));
        assert_eq!(res(&m, "/escape").as_deref(), Some("/etc/passwd"));
        assert_eq!(res(&m, "/up/up/up/etc").as_deref(), Some("/etc"));
        // `..` after a symlink is taken from where the link points.
        assert_eq!(res(&m, "/lib/../bin").as_deref(), Some("/usr/bin"));
        // A file is not a directory.
        assert_eq!(res(&m, "/usr/bin/file/x"), None);
    }

    #[test]
    fn symlink_loops_end() {
        let m = fs(&[("/a", "b"), ("/b", "/a"), ("/self", "./self")], &[]);
        assert_eq!(res(&m, "/a"), None);
        assert_eq!(res(&m, "/self/x"), None);
        // 40 links in a chain are fine, 41 are not.
        let mut links: Vec<(String, String)> = (0..40)
            .map(|i| (format!("/l{i}"), format!("/l{}", i + 1)))
            .collect();
        let m2 = fs(
            &links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect::<Vec<_>>(),
            &["/l40"],
        );
        assert_eq!(res(&m2, "/l0").as_deref(), Some("/l40"));
        links.push(("/l40".into(), "/l41".into()));
        let m3 = fs(
            &links
                .iter()
                .map(|(a, b)| (a.as_str(), b.as_str()))
                .collect::<Vec<_>>(),
            &[],
        );
        assert_eq!(res(&m3, "/l0"), None);
    }
}
