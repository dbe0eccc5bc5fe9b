//! `Name: value` paragraphs, as dpkg's status files and Python's `METADATA`
//! / `PKG-INFO` write them: a field runs on over lines that start with a
//! space or a tab, and a blank line ends a paragraph.

/// The fields of one paragraph, in file order; a continued value keeps its
/// lines, each trimmed, joined with `\n`.
pub(super) type Fields<'a> = Vec<(&'a str, String)>;

/// Every paragraph of `text`.
pub(super) fn paragraphs(text: &str) -> Vec<Fields<'_>> {
    let mut all = Vec::new();
    let mut current: Fields<'_> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if !current.is_empty() {
                all.push(std::mem::take(&mut current));
            }
            continue;
        }
        push_line(&mut current, line);
    }
    if !current.is_empty() {
        all.push(current);
    }
    all
}

/// The header of a Python metadata file: the first paragraph (what follows
/// the first blank line is the long description).
pub(super) fn header(text: &str) -> Fields<'_> {
    let mut fields: Fields<'_> = Vec::new();
    for line in text.lines() {
        if line.trim().is_empty() {
            if fields.is_empty() {
                continue;
            }
            break;
        }
        push_line(&mut fields, line);
    }
    fields
}

fn push_line<'a>(fields: &mut Fields<'a>, line: &'a str) {
    if line.starts_with([' ', '\t']) {
        // A continuation line; one before any field is noise.
        if let Some((_, value)) = fields.last_mut() {
            if !value.is_empty() {
                value.push('\n');
            }
            value.push_str(line.trim());
        }
        return;
    }
    // A line with no colon is not a field: skip it rather than guess.
    if let Some((name, value)) = line.split_once(':') {
        let name = name.trim();
        if !name.is_empty() {
            fields.push((name, value.trim().to_string()));
        }
    }
}

/// The first value of field `name` (case-insensitive, as both formats say).
pub(super) fn get<'f>(fields: &'f Fields<'_>, name: &str) -> Option<&'f str> {
    fields
        .iter()
        .find(|(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

/// Every value of field `name` (`Classifier`, `Requires-Dist` repeat).
pub(super) fn all<'f>(fields: &'f Fields<'_>, name: &'f str) -> impl Iterator<Item = &'f str> {
    fields
        .iter()
        .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
        .map(|(_, v)| v.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn continuation_lines_belong_to_the_field_above() {
        let text = "Package: a\nDescription: short\n more\n .\n Package: not-a-field\nConffiles:\n /etc/a 0123\n\n\nPackage: b\n";
        let all = paragraphs(text);
        assert_eq!(all.len(), 2);
        assert_eq!(get(&all[0], "package"), Some("a"));
        assert_eq!(
            get(&all[0], "Description"),
            Some("short\nmore\n.\nPackage: not-a-field")
        );
        assert_eq!(get(&all[0], "Conffiles"), Some("/etc/a 0123"));
        assert_eq!(get(&all[1], "Package"), Some("b"));
    }

    #[test]
    fn header_stops_at_the_first_blank_line() {
        let text = "\nName: x\nVersion: 1\n\nName: body\n";
        let fields = header(text);
        assert_eq!(fields.len(), 2);
        assert_eq!(all(&fields, "name").collect::<Vec<_>>(), ["x"]);
    }

    #[test]
    fn garbage_is_skipped() {
        let all = paragraphs(" orphan continuation\nno colon here\n: empty name\nA: 1\n");
        assert_eq!(all, vec![vec![("A", "1".to_string())]]);
    }
}
