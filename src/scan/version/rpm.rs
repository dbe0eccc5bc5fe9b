//! RPM versions, `[epoch:]version[-release]`, compared as rpm compares them
//! (rpmvercmp, rpm ≥ 4.15 for `^`):
//!
//! - The epoch is the run of digits before a `:` at the very start (an empty
//!   one is 0, a missing one is 0). Anything else before a `:` is not an
//!   epoch: `1.module+el9:1` is all version. The release is what follows
//!   the last `-` after the epoch.
//! - Epochs compare as numbers, then versions, then releases; a missing
//!   release is older than any release (`1 < 1-0`, `1 < 1-`).
//! - Within a version or release: characters that are not ASCII letters or
//!   digits, `~` or `^` only separate segments. Segments are maximal runs
//!   of digits or of letters, compared pairwise: digits as numbers (leading
//!   zeros ignored), letters byte-wise, and a numeric segment is newer than
//!   an alphabetic one. `~` sorts before everything, even the end
//!   (`1.0~rc1 < 1.0`); `^` sorts after the end but before anything else
//!   (`1.0 < 1.0^git1 < 1.0.1`). When one string runs out, the other is
//!   newer.
//!
//! rpm accepts any string as a version, so this never fails; the caller
//! rejects empty strings and whitespace.

use std::cmp::Ordering;

use super::cmp_digits;

#[derive(Debug, Clone)]
pub(super) struct RpmVersion {
    /// Digits, possibly empty (= 0).
    epoch: String,
    version: String,
    release: Option<String>,
}

impl RpmVersion {
    pub(super) fn parse(text: &str) -> RpmVersion {
        let digits = text.bytes().take_while(u8::is_ascii_digit).count();
        let (epoch, rest) = match text[digits..].strip_prefix(':') {
            Some(rest) => (&text[..digits], rest),
            None => ("", text),
        };
        let (version, release) = match rest.rsplit_once('-') {
            Some((v, r)) => (v, Some(r.to_string())),
            None => (rest, None),
        };
        RpmVersion {
            epoch: epoch.to_string(),
            version: version.to_string(),
            release,
        }
    }
}

impl Ord for RpmVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        cmp_digits(&self.epoch, &other.epoch)
            .then_with(|| rpmvercmp(&self.version, &other.version))
            .then_with(|| match (&self.release, &other.release) {
                (None, None) => Ordering::Equal,
                (None, Some(_)) => Ordering::Less,
                (Some(_), None) => Ordering::Greater,
                (Some(a), Some(b)) => rpmvercmp(a, b),
            })
    }
}

impl PartialOrd for RpmVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for RpmVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for RpmVersion {}

fn is_separator(b: u8) -> bool {
    !b.is_ascii_alphanumeric() && b != b'~' && b != b'^'
}

/// One version or release string against another.
fn rpmvercmp(a: &str, b: &str) -> Ordering {
    if a == b {
        return Ordering::Equal;
    }
    let (mut a, mut b) = (a.as_bytes(), b.as_bytes());
    loop {
        a = skip_while(a, is_separator);
        b = skip_while(b, is_separator);

        // `~`: older than anything, including the end.
        match (a.first(), b.first()) {
            (Some(b'~'), Some(b'~')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'~'), _) => return Ordering::Less,
            (_, Some(b'~')) => return Ordering::Greater,
            _ => {}
        }
        // `^`: newer than the end, older than anything else.
        match (a.first(), b.first()) {
            (Some(b'^'), Some(b'^')) => {
                a = &a[1..];
                b = &b[1..];
                continue;
            }
            (Some(b'^'), None) => return Ordering::Greater,
            (Some(b'^'), _) => return Ordering::Less,
            (None, Some(b'^')) => return Ordering::Less,
            (_, Some(b'^')) => return Ordering::Greater,
            _ => {}
        }
        let (Some(&first), Some(_)) = (a.first(), b.first()) else {
            break;
        };

        // The segment's type is set by `a`; `b`'s segment of that type may
        // be empty.
        let numeric = first.is_ascii_digit();
        let class: fn(u8) -> bool = if numeric {
            |c| c.is_ascii_digit()
        } else {
            |c| c.is_ascii_alphabetic()
        };
        let (seg_a, rest_a) = split_while(a, class);
        let (seg_b, rest_b) = split_while(b, class);
        if seg_b.is_empty() {
            // A number against letters: the number is newer.
            return if numeric {
                Ordering::Greater
            } else {
                Ordering::Less
            };
        }
        let order = if numeric {
            // ASCII digits: always valid UTF-8.
            cmp_digits(
                std::str::from_utf8(seg_a).unwrap_or(""),
                std::str::from_utf8(seg_b).unwrap_or(""),
            )
        } else {
            seg_a.cmp(seg_b)
        };
        if order != Ordering::Equal {
            return order;
        }
        a = rest_a;
        b = rest_b;
    }
    match (a.is_empty(), b.is_empty()) {
        (true, true) => Ordering::Equal,
        (true, false) => Ordering::Less,
        _ => Ordering::Greater,
    }
}

fn skip_while(s: &[u8], pred: fn(u8) -> bool) -> &[u8] {
    split_while(s, pred).1
}

fn split_while(s: &[u8], pred: fn(u8) -> bool) -> (&[u8], &[u8]) {
    let n = s.iter().take_while(|&&c| pred(c)).count();
    s.split_at(n)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        RpmVersion::parse(a).cmp(&RpmVersion::parse(b))
    }

    #[test]
    fn orders_like_rpm() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0", Equal),
            ("1.0", "1.0.1", Less),
            ("1.0a", "1.0", Greater),
            ("1.0", "1.0a", Less),
            ("1.a", "1.1", Less),
            ("1.0~rc1", "1.0", Less),
            ("1.0~rc1", "1.0~rc2", Less),
            ("1.0^git1", "1.0", Greater),
            ("1.0^git1", "1.0.1", Less),
            ("1.0^git1", "1.0^git1~pre", Greater),
            ("1:1.0", "2.0", Greater),
            ("0:1.0", "1.0", Equal),
            (":1.0", "1.0", Equal),
            ("001:1.0", "1:1.0", Equal),
            ("1.0-1", "1.0", Greater),
            ("1.0-1", "1.0-1.el9", Less),
            ("1.0-", "1.0", Greater),
            ("2_0", "2.0", Equal),
            ("10.0001", "10.1", Equal),
            ("a:1", "b:1", Less),
            ("1.1.α", "1.1.a", Less),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn huge_numbers_are_digit_strings() {
        let big = "9".repeat(10_000);
        assert_eq!(
            cmp(&format!("{big}:1"), &format!("1{big}:0")),
            Ordering::Less
        );
        assert_eq!(
            cmp(&format!("1.{big}"), &format!("1.0{big}")),
            Ordering::Equal
        );
    }
}
