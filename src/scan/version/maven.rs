//! Maven versions, ordered as Maven's `ComparableVersion` orders them (the
//! "Version Order Specification" of the POM reference, maven.apache.org/pom.html):
//!
//! - The version is lower-cased and split into items at `.`, at `-`, and at
//!   every change between digits and non-digits. An empty item (`1..2`,
//!   `1-.1`) is 0.
//! - A `-`, and a change between digits and non-digits, opens a sub-list:
//!   everything after it belongs to it. `1-1.foo` is `[1, [1, foo]]`;
//!   `1a1` is `[1, [a, [1]]]`.
//! - Trailing "null" items are dropped from every list, innermost first:
//!   0, the release qualifiers (`""`, `ga`, `final`, `release`) and empty
//!   lists — so `1 = 1.0 = 1-0 = 1.ga = 1-final`; a sub-list left with only
//!   its own sub-list is replaced by it (`1-ga-1 = 1-1`, the POM
//!   reference's example).
//! - Items compare pairwise, a missing item counting as null: numbers by
//!   value; qualifiers `alpha < beta < milestone < rc = cr < snapshot <
//!   "" = ga = final = release < sp < anything else (alphabetically)`, where
//!   `a`, `b`, `m` directly followed by a digit mean alpha, beta,
//!   milestone. A number is newer than a qualifier and than a sub-list; a
//!   sub-list is newer than a qualifier. Against null: a number is newer
//!   unless 0; a qualifier is compared with the release qualifier; a
//!   sub-list is compared item by item.
//!
//! Every string is a Maven version (Maven never rejects one), so parsing
//! never fails; the caller rejects empty strings and whitespace. Sub-lists
//! nest as deep as the string has separators, so the structure is kept as a
//! flat chain and compared without recursion.

use std::cmp::Ordering;

use super::cmp_digits;

#[derive(Debug, Clone, PartialEq, Eq)]
enum Atom {
    /// Digits without leading zeros ("" is 0).
    Number(String),
    Qualifier(Qualifier),
}

/// A qualifier's place in the order.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Qualifier {
    /// alpha 0, beta 1, milestone 2, rc/cr 3, snapshot 4, release 5, sp 6.
    Known(u8),
    /// Any other word, after all known ones, alphabetically.
    Other(String),
}

const RELEASE: u8 = 5;

impl Qualifier {
    fn new(word: &str, followed_by_digit: bool) -> Qualifier {
        let word = match (word, followed_by_digit) {
            ("a", true) => "alpha",
            ("b", true) => "beta",
            ("m", true) => "milestone",
            _ => word,
        };
        match word {
            "alpha" => Qualifier::Known(0),
            "beta" => Qualifier::Known(1),
            "milestone" => Qualifier::Known(2),
            "rc" | "cr" => Qualifier::Known(3),
            "snapshot" => Qualifier::Known(4),
            "" | "ga" | "final" | "release" => Qualifier::Known(RELEASE),
            "sp" => Qualifier::Known(6),
            other => Qualifier::Other(other.to_string()),
        }
    }
}

impl Atom {
    fn parse(item: &str, digits: bool) -> Atom {
        if digits {
            Atom::Number(item.trim_start_matches('0').to_string())
        } else {
            Atom::Qualifier(Qualifier::new(item, false))
        }
    }

    fn is_null(&self) -> bool {
        match self {
            Atom::Number(n) => n.is_empty(),
            Atom::Qualifier(q) => *q == Qualifier::Known(RELEASE),
        }
    }

    /// This item against a missing one.
    fn cmp_null(&self) -> Ordering {
        match self {
            Atom::Number(n) if n.is_empty() => Ordering::Equal,
            Atom::Number(_) => Ordering::Greater,
            Atom::Qualifier(q) => q.cmp(&Qualifier::Known(RELEASE)),
        }
    }

    fn cmp(&self, other: &Atom) -> Ordering {
        match (self, other) {
            (Atom::Number(a), Atom::Number(b)) => cmp_digits(a, b),
            (Atom::Number(_), Atom::Qualifier(_)) => Ordering::Greater,
            (Atom::Qualifier(_), Atom::Number(_)) => Ordering::Less,
            (Atom::Qualifier(a), Atom::Qualifier(b)) => a.cmp(b),
        }
    }
}

/// `lists[k]` holds the plain items of the k-th list; when `lists[k + 1]`
/// exists it is the last item of `lists[k]`.
#[derive(Debug, Clone)]
pub(super) struct MavenVersion {
    lists: Vec<Vec<Atom>>,
}

impl MavenVersion {
    pub(super) fn parse(text: &str) -> MavenVersion {
        let v = text.to_lowercase();
        let mut lists: Vec<Vec<Atom>> = vec![Vec::new()];
        let mut start = 0;
        let mut digits = false;
        for (i, c) in v.char_indices() {
            let item = &v[start..i];
            match c {
                '.' | '-' => {
                    let atom = if item.is_empty() {
                        Atom::Number(String::new())
                    } else {
                        Atom::parse(item, digits)
                    };
                    push(&mut lists, atom);
                    start = i + 1;
                    if c == '-' {
                        lists.push(Vec::new());
                    }
                }
                '0'..='9' => {
                    if !digits && !item.is_empty() {
                        push(&mut lists, Atom::Qualifier(Qualifier::new(item, true)));
                        start = i;
                        lists.push(Vec::new());
                    }
                    digits = true;
                }
                _ => {
                    if digits && !item.is_empty() {
                        push(&mut lists, Atom::parse(item, true));
                        start = i;
                        lists.push(Vec::new());
                    }
                    digits = false;
                }
            }
        }
        if start < v.len() {
            push(&mut lists, Atom::parse(&v[start..], digits));
        }
        normalize(&mut lists);
        MavenVersion { lists }
    }
}

fn push(lists: &mut [Vec<Atom>], atom: Atom) {
    if let Some(last) = lists.last_mut() {
        last.push(atom);
    }
}

/// Drop trailing nulls, innermost list first. A sub-list left with no items
/// of its own goes: if it has no sub-list it is null and leaves its
/// parent; if it has one, that takes its place — the POM reference trims
/// "at each remaining hyphen", so `1-ga-1` is `1-1`.
fn normalize(lists: &mut Vec<Vec<Atom>>) {
    let mut kept = Vec::with_capacity(lists.len());
    for (k, mut atoms) in lists.drain(..).enumerate().rev() {
        while atoms.last().is_some_and(Atom::is_null) {
            atoms.pop();
        }
        if k == 0 || !atoms.is_empty() {
            kept.push(atoms);
        }
    }
    kept.reverse();
    *lists = kept;
}

/// An item of a list: a plain item, the sub-list, or nothing (past the end).
enum Elem<'a> {
    Atom(&'a Atom),
    List,
    Missing,
}

fn elem(lists: &[Vec<Atom>], k: usize, j: usize) -> Elem<'_> {
    let atoms = &lists[k];
    if j < atoms.len() {
        Elem::Atom(&atoms[j])
    } else if j == atoms.len() && k + 1 < lists.len() {
        Elem::List
    } else {
        Elem::Missing
    }
}

fn width(lists: &[Vec<Atom>], k: usize) -> usize {
    lists[k].len() + usize::from(k + 1 < lists.len())
}

/// The list `lists[k]` (with its sub-lists) against a missing item.
fn list_cmp_null(lists: &[Vec<Atom>], k: usize) -> Ordering {
    for atoms in &lists[k..] {
        for atom in atoms {
            let order = atom.cmp_null();
            if order != Ordering::Equal {
                return order;
            }
        }
    }
    Ordering::Equal
}

impl Ord for MavenVersion {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (&self.lists, &other.lists);
        let mut k = 0;
        'lists: loop {
            for j in 0..width(a, k).max(width(b, k)) {
                let order = match (elem(a, k, j), elem(b, k, j)) {
                    (Elem::Atom(x), Elem::Atom(y)) => x.cmp(y),
                    (Elem::Atom(x), Elem::List) => match x {
                        Atom::Number(_) => Ordering::Greater,
                        Atom::Qualifier(_) => Ordering::Less,
                    },
                    (Elem::List, Elem::Atom(y)) => match y {
                        Atom::Number(_) => Ordering::Less,
                        Atom::Qualifier(_) => Ordering::Greater,
                    },
                    (Elem::Atom(x), Elem::Missing) => x.cmp_null(),
                    (Elem::Missing, Elem::Atom(y)) => y.cmp_null().reverse(),
                    (Elem::List, Elem::Missing) => list_cmp_null(a, k + 1),
                    (Elem::Missing, Elem::List) => list_cmp_null(b, k + 1).reverse(),
                    (Elem::List, Elem::List) => {
                        // The sub-lists are the last items of both.
                        k += 1;
                        continue 'lists;
                    }
                    (Elem::Missing, Elem::Missing) => Ordering::Equal,
                };
                if order != Ordering::Equal {
                    return order;
                }
            }
            return Ordering::Equal;
        }
    }
}

impl PartialOrd for MavenVersion {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}

impl PartialEq for MavenVersion {
    fn eq(&self, other: &Self) -> bool {
        self.cmp(other) == Ordering::Equal
    }
}

impl Eq for MavenVersion {}

#[cfg(test)]
mod tests {
    use super::*;

    fn cmp(a: &str, b: &str) -> Ordering {
        MavenVersion::parse(a).cmp(&MavenVersion::parse(b))
    }

    #[test]
    fn orders_like_maven() {
        use Ordering::*;
        for (a, b, want) in [
            ("1.0-alpha-1", "1.0-beta-1", Less),
            ("1.0-beta-1", "1.0-milestone-1", Less),
            ("1.0-m1", "1.0-rc1", Less),
            ("1.0-rc1", "1.0-cr1", Equal),
            ("1.0-rc1", "1.0-SNAPSHOT", Less),
            ("1.0-SNAPSHOT", "1.0", Less),
            ("1.0", "1.0.GA", Equal),
            ("1.0", "1.0-final", Equal),
            ("1.0", "1.0-RELEASE", Equal),
            ("1.0", "1.0-sp1", Less),
            ("1.0-sp1", "1.0-zzz", Less),
            ("1.0-abc", "1.0-abd", Less),
            ("1.0", "1.0-1", Less),
            ("1.0-1", "1.0.1", Less),
            ("1a1", "1-alpha-1", Equal),
            ("1.a1", "1.alpha1", Equal),
            // `a` not followed by a digit is just a word, after the known ones.
            ("1-a", "1-sp", Greater),
            ("1", "1..", Equal),
            ("1-0.1", "1", Greater),
            ("1-0.0", "1", Equal),
            ("1-ga-1", "1-1", Equal),
            ("1-sp-1", "1-ga-1", Less),
            ("1-0-1", "1-1", Equal),
        ] {
            assert_eq!(cmp(a, b), want, "{a} vs {b}");
            assert_eq!(cmp(b, a), want.reverse(), "{b} vs {a}");
        }
    }

    #[test]
    fn deep_and_huge_inputs() {
        let deep = "1-".repeat(5_000) + "1";
        let deeper = "1-".repeat(5_000) + "2";
        assert_eq!(cmp(&deep, &deeper), Ordering::Less);
        assert_eq!(cmp(&deep, &deep), Ordering::Equal);
        let alternating = "a1".repeat(5_000);
        assert_eq!(cmp(&alternating, &alternating), Ordering::Equal);
        let big = "9".repeat(10_000);
        assert_eq!(cmp(&big, &format!("1{big}")), Ordering::Less);
        assert_eq!(
            cmp(&format!("1.{big}"), &format!("1.0{big}")),
            Ordering::Equal
        );
    }
}
