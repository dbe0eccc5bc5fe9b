//! Alpine (apk) versions: `number{.number}...{letter}{_suffix{number}}...{-r#}`
//! (apk-package(5)), compared the way apk-tools 2 — the apk of every Alpine
//! 3.x image up to 3.22, and of the secdb data — compares them.
//!
//! apk reads a version as a run of tokens whose kinds come in a fixed order:
//! a first number, `.number`s, one letter, `_suffix`es with their numbers, a
//! `-r` revision, the end. Two versions are walked token by token while the
//! kinds agree; the first differing value decides. When one runs into a
//! kind the other does not have at that point, the one that is "further
//! along" in the kind order is the older — `1.0 < 1.0.1`, `1.0a < 1.0.1`,
//! `1.0 < 1.0-r1` — except that a pre-release suffix (`_alpha`, `_beta`,
//! `_pre`, `_rc`) makes its version the older: `1.0_rc1 < 1.0`.
//!
//! What apk tolerates, we tolerate, with apk's meaning: a number after the
//! letter (`6.6.2p1`, real openssh versions in old Alpine data), empty
//! components (`1..2`, `1-r`). What apk itself flags as invalid (an
//! upper-case letter, an unknown suffix, anything after `-r#` but another
//! `-r`, a second letter) is an error: apk-tools 2 and 3 disagree on how to
//! order such strings, abuild refuses to build them, and a scan must not
//! guess.
//!
//! Two apk details that look odd and are kept on purpose: a `.number` with
//! leading zeros is compared by its count of zeros (more zeros = older),
//! then by the digits after them as a further number; and the empty
//! remainder of a token (`1.`) counts as 0.

use std::cmp::Ordering;

use super::cmp_digits;

/// Token kinds in apk's order; a version whose next token has the later
/// kind is the older one when everything before is equal.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
enum Kind {
    /// A `.number` (may start with zeros).
    DotNumber,
    /// The first number, or digits after the letter or after leading zeros.
    Number,
    Letter,
    Suffix,
    SuffixNumber,
    Revision,
}

/// A token's value. Values are only compared between tokens of the same kind.
#[derive(Debug, Clone, PartialEq, Eq)]
enum Value {
    /// `-n`: leading zeros of a `.number`, or a pre-release suffix
    /// (alpha −4, beta −3, pre −2, rc −1).
    Neg(usize),
    /// A non-negative number as digits; letters and post-release suffixes
    /// are small numbers too.
    Digits(String),
}

impl Value {
    fn small(n: u32) -> Value {
        Value::Digits(n.to_string())
    }
}

impl Ord for Value {
    fn cmp(&self, other: &Self) -> Ordering {
        match (self, other) {
            (Value::Neg(a), Value::Neg(b)) => b.cmp(a),
            (Value::Neg(_), Value::Digits(_)) => Ordering::Less,
            (Value::Digits(_), Value::Neg(_)) => Ordering::Greater,
            (Value::Digits(a), Value::Digits(b)) => cmp_digits(a, b),
        }
    }
}

impl PartialOrd for Value {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

const PRE_SUFFIXES: [&str; 4] = ["alpha", "beta", "pre", "rc"];
const POST_SUFFIXES: [&str; 5] = ["cvs", "svn", "git", "hg", "p"];

#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct ApkVersion {
    tokens: Vec<(Kind, Value)>,
}

impl ApkVersion {
    pub(super) fn parse(text: &str) -> Result<ApkVersion, String> {
        let s = text.as_bytes();
        let mut tokens = Vec::new();
        let mut pos = 0;
        let mut kind = Kind::Number;
        loop {
            // Read the value of a token of `kind` starting at `pos`.
            let (value, forced_next) = match kind {
                Kind::DotNumber if s.get(pos) == Some(&b'0') => {
                    let zeros = s[pos..].iter().take_while(|&&b| b == b'0').count();
                    pos += zeros;
                    // The digits after the zeros are a number of their own.
                    (Value::Neg(zeros), Some(Kind::Number))
                }
                Kind::DotNumber | Kind::Number | Kind::SuffixNumber | Kind::Revision => {
                    let n = s[pos..].iter().take_while(|b| b.is_ascii_digit()).count();
                    let digits = &text[pos..pos + n];
                    pos += n;
                    (Value::Digits(digits.to_string()), None)
                }
                Kind::Letter => {
                    // Only entered on a lower-case ASCII letter.
                    let letter = s.get(pos).copied().unwrap_or(b'a');
                    pos += 1;
                    (Value::small(u32::from(letter)), None)
                }
                Kind::Suffix => {
                    let rest = &text[pos..];
                    if rest.is_empty() {
                        (Value::small(0), None)
                    } else if let Some(i) = PRE_SUFFIXES.iter().position(|p| rest.starts_with(p)) {
                        pos += PRE_SUFFIXES[i].len();
                        (Value::Neg(PRE_SUFFIXES.len() - i), None)
                    } else if let Some(i) = POST_SUFFIXES.iter().position(|p| rest.starts_with(p)) {
                        pos += POST_SUFFIXES[i].len();
                        (Value::small(i as u32), None)
                    } else {
                        return Err(format!(
                            "unknown suffix at byte {pos} (alpha, beta, pre, rc, cvs, svn, git, hg, p)"
                        ));
                    }
                }
            };
            tokens.push((kind, value));
            if pos >= s.len() {
                return Ok(ApkVersion { tokens });
            }
            if let Some(next) = forced_next {
                kind = next;
                continue;
            }
            kind = next_kind(kind, s, &mut pos)?;
        }
    }
}

/// The kind of the token that starts at `pos` (not at the end) after a token
/// of kind `prev`, consuming its separator.
fn next_kind(prev: Kind, s: &[u8], pos: &mut usize) -> Result<Kind, String> {
    let at = *pos;
    let c = s[at];
    let next = if matches!(prev, Kind::Number | Kind::DotNumber) && c.is_ascii_lowercase() {
        Kind::Letter
    } else if prev == Kind::Letter && c.is_ascii_digit() {
        Kind::Number
    } else if prev == Kind::Suffix && c.is_ascii_digit() {
        Kind::SuffixNumber
    } else {
        let next = match c {
            b'.' => Kind::DotNumber,
            b'_' => Kind::Suffix,
            b'-' if s.get(at + 1) == Some(&b'r') => {
                *pos += 1;
                Kind::Revision
            }
            _ => return Err(invalid(s, at)),
        };
        *pos += 1;
        next
    };
    // Kinds only move forward, but for `.number` after a number, a further
    // `_suffix` after a suffix number, and digits after the letter.
    let allowed = next >= prev
        || matches!(
            (prev, next),
            (Kind::Number, Kind::DotNumber)
                | (Kind::SuffixNumber, Kind::Suffix)
                | (Kind::Letter, Kind::Number)
        );
    if allowed {
        Ok(next)
    } else {
        Err(invalid(s, at))
    }
}

fn invalid(s: &[u8], at: usize) -> String {
    let shown = String::from_utf8_lossy(&s[at..s.len().min(at + 8)]).into_owned();
    format!("not an apk version at byte {at} ({shown:?}); expected number{{.number}}[letter]{{_suffix[number]}}[-r#]")
}

impl Ord for ApkVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.tokens, &other.tokens);
        let mut i = 0;
        loop {
            match (a.get(i), b.get(i)) {
                (None, None) => return Ordering::Equal,
                (Some((ka, va)), Some((kb, vb))) if ka == kb => match va.cmp(vb) {
                    Ordering::Equal => i += 1,
                    decided => return decided,
                },
                (ta, tb) => {
                    // The versions part here: a pre-release suffix is older
                    // than anything; otherwise the later kind is older, and
                    // the end comes after every kind.
                    if is_pre(ta) {
                        return Ordering::Less;
                    }
                    if is_pre(tb) {
                        return Ordering::Greater;
                    }
                    return match (ta, tb) {
                        (None, _) => Ordering::Less,
                        (_, None) => Ordering::Greater,
                        (Some((ka, _)), Some((kb, _))) => kb.cmp(ka),
                    };
                }
            }
        }
    }
}

fn is_pre(token: Option<&(Kind, Value)>) -> bool {
    matches!(token, Some((Kind::Suffix, Value::Neg(_))))
}

impl PartialOrd for ApkVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        ApkVersion::parse(a)
            .unwrap()
            .cmp(&ApkVersion::parse(b).unwrap())
    }

    #[test]
    fn orders_like_apk() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0", "1.0.1", Less),
            ("1.0a", "1.0.1", Less),
            ("1.0", "1.0-r1", Less),
            ("1.1_rc1", "1.1", Less),
            ("1.0_rc1-r0", "1.0-r0", Less),
            // apk-tools 2 reads `.0` as "one leading zero" followed by an
            // empty number, so without the `-r#` every Alpine version has,
            // `1.0_rc1` ends up newer than `1.0`. We keep apk's answer.
            ("1.0_rc1", "1.0", Greater),
            ("1.0_rc1", "1.0_rc1-r1", Less),
            ("1.0_p1", "1.0", Greater),
            ("1.0_alpha", "1.0_beta", Less),
            ("1.0_pre1", "1.0_rc1", Less),
            ("1.0_git1", "1.0_hg1", Less),
            ("1.0-r1", "1.0-r01", Equal),
            ("1-r", "1-r0", Equal),
            ("1.02", "1.1", Less),
            ("1.0", "1.00", Greater),
            ("6.6.2p1", "6.6.2p2", Less),
            ("6.6.2p1", "6.6.3", Less),
            ("1.0.0_alpha_pre2", "1.0.0_alpha", Less),
            ("2.12.20-r10", "2.12.20-r9", Greater),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn huge_numbers_are_digit_strings() {
        let big = "9".repeat(10_000);
        let bigger = format!("1{big}");
        assert_eq!(cmp(&big, &bigger), Ordering::Less);
        assert_eq!(
            cmp(&format!("1.{big}-r{big}"), &format!("1.{big}-r{bigger}")),
            Ordering::Less
        );
        let zeros = format!("1.{}", "0".repeat(10_000));
        assert_eq!(cmp(&zeros, "1.0"), Ordering::Less);
    }

    #[test]
    fn invalid_is_an_error() {
        for bad in [
            "1.2.0A", "1_foo", "1-ruff", "1-r0-1", "1.0bc", "1-1", "1.0_rc1a", "1-r1.2", "1a.2",
            "1.0~abc", "ü",
        ] {
            assert!(ApkVersion::parse(bad).is_err(), "{bad} should be invalid");
        }
    }
}
