//! Just enough shell to read what a `RUN` does: its script split into
//! simple commands (at `&&`, `||`, `;`, `|`, `&`, newlines and parentheses)
//! and each command into words with quotes removed. It is not a shell — no
//! expansion, no functions — and the rules only ask it "which programs run
//! with which arguments", which this answers for real-world Dockerfiles.

/// One simple command: its words, quotes removed, leading `VAR=value`
/// assignments kept apart.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct SimpleCommand {
    pub assignments: Vec<String>,
    pub words: Vec<String>,
    /// The command that follows reads this one's output (`a | b`).
    pub piped: bool,
}

impl SimpleCommand {
    /// The program's base name (`/usr/bin/apt-get` → `apt-get`).
    pub fn program(&self) -> Option<&str> {
        self.words
            .first()
            .map(|w| w.rsplit('/').next().unwrap_or(w))
    }

    /// The words after the program.
    pub fn args(&self) -> &[String] {
        self.words.get(1..).unwrap_or_default()
    }

    /// Whether any argument is exactly one of `flags`.
    pub fn has(&self, flags: &[&str]) -> bool {
        self.args().iter().any(|a| flags.contains(&a.as_str()))
    }

    /// The command without a leading `sudo [-flags]`, `env VAR=x`, `exec`,
    /// `command`, `nice`, `time` or `xargs` wrapper.
    pub fn unwrapped(&self) -> SimpleCommand {
        let mut words: &[String] = &self.words;
        let mut assignments = self.assignments.clone();
        while let Some(("sudo" | "exec" | "command" | "nice" | "time" | "xargs" | "env", rest)) =
            words.split_first().map(|(w, rest)| (w.as_str(), rest))
        {
            words = rest;
            while let Some((w, rest)) = words.split_first() {
                if w.starts_with('-') {
                    words = rest;
                } else if is_assignment(w) {
                    assignments.push(w.clone());
                    words = rest;
                } else {
                    break;
                }
            }
        }
        SimpleCommand {
            assignments,
            words: words.to_vec(),
            piped: self.piped,
        }
    }
}

fn is_assignment(word: &str) -> bool {
    match word.split_once('=') {
        Some((name, _)) => {
            !name.is_empty()
                && name.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && name.chars().all(|c| c.is_ascii_alphanumeric() || c == '_')
        }
        None => false,
    }
}

/// Splits a script into simple commands.
pub fn commands(script: &str) -> Vec<SimpleCommand> {
    let mut out = Vec::new();
    let mut current = SimpleCommand::default();
    let mut word = String::new();
    let mut in_word = false;
    let mut chars = script.chars().peekable();

    fn end_word(current: &mut SimpleCommand, word: &mut String, in_word: &mut bool) {
        if *in_word {
            let w = std::mem::take(word);
            if current.words.is_empty() && is_assignment(&w) {
                current.assignments.push(w);
            } else {
                current.words.push(w);
            }
            *in_word = false;
        }
    }
    fn end_command(
        out: &mut Vec<SimpleCommand>,
        current: &mut SimpleCommand,
        word: &mut String,
        in_word: &mut bool,
        piped: bool,
    ) {
        end_word(current, word, in_word);
        let mut done = std::mem::take(current);
        done.piped = piped;
        if !done.words.is_empty() || !done.assignments.is_empty() {
            out.push(done);
        }
    }

    while let Some(c) = chars.next() {
        match c {
            '\'' => {
                in_word = true;
                for inner in chars.by_ref() {
                    if inner == '\'' {
                        break;
                    }
                    word.push(inner);
                }
            }
            '"' => {
                in_word = true;
                while let Some(inner) = chars.next() {
                    match inner {
                        '"' => break,
                        '\\' => {
                            if let Some(next) = chars.next() {
                                if !matches!(next, '"' | '\\' | '$' | '`') {
                                    word.push('\\');
                                }
                                word.push(next);
                            }
                        }
                        inner => word.push(inner),
                    }
                }
            }
            '\\' => match chars.next() {
                // A line continuation inside a heredoc script.
                Some('\n') => {}
                Some(next) => {
                    in_word = true;
                    word.push(next);
                }
                None => {}
            },
            '#' if !in_word => {
                // A comment runs to the end of the line.
                for inner in chars.by_ref() {
                    if inner == '\n' {
                        break;
                    }
                }
                end_command(&mut out, &mut current, &mut word, &mut in_word, false);
            }
            '|' => {
                let or = chars.peek() == Some(&'|');
                if or {
                    chars.next();
                }
                end_command(&mut out, &mut current, &mut word, &mut in_word, !or);
            }
            ';' | '&' | '\n' | '(' | ')' | '`' => {
                if c == '&' && chars.peek() == Some(&'&') {
                    chars.next();
                }
                end_command(&mut out, &mut current, &mut word, &mut in_word, false);
            }
            '$' if chars.peek() == Some(&'(') => {
                // `$(…)`: the inner command is a command of its own.
                chars.next();
                end_command(&mut out, &mut current, &mut word, &mut in_word, false);
            }
            c if c.is_whitespace() => end_word(&mut current, &mut word, &mut in_word),
            c => {
                in_word = true;
                word.push(c);
            }
        }
    }
    end_command(&mut out, &mut current, &mut word, &mut in_word, false);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(script: &str) -> Vec<Vec<String>> {
        commands(script).into_iter().map(|c| c.words).collect()
    }

    #[test]
    fn splits_at_operators_and_removes_quotes() {
        assert_eq!(
            words("apt-get update && apt-get install -y 'a b' \"c\"; rm -rf /x || true"),
            vec![
                vec!["apt-get", "update"],
                vec!["apt-get", "install", "-y", "a b", "c"],
                vec!["rm", "-rf", "/x"],
                vec!["true"],
            ]
        );
        let piped = commands("curl -fsSL https://x | sh -s -- -y");
        assert!(piped[0].piped);
        assert_eq!(piped[1].program(), Some("sh"));
    }

    #[test]
    fn assignments_comments_wrappers_and_subshells() {
        let c = commands(
            "CGO_ENABLED=0 GOOS=linux go build ./... # build it\nsudo -E env X=1 apt-get install y",
        );
        assert_eq!(c[0].assignments, vec!["CGO_ENABLED=0", "GOOS=linux"]);
        assert_eq!(c[0].program(), Some("go"));
        assert_eq!(c.len(), 2);
        let u = c[1].unwrapped();
        assert_eq!(u.program(), Some("apt-get"));
        assert_eq!(u.assignments, vec!["X=1"]);
        assert_eq!(
            words("sh -c \"$(curl -fsSL https://x)\""),
            vec![vec!["sh", "-c", "$(curl -fsSL https://x)"]]
        );
        assert_eq!(
            words("(cd /x && make)"),
            vec![vec!["cd", "/x"], vec!["make"]]
        );
        assert_eq!(words("a \\\n  b"), vec![vec!["a", "b"]]);
    }
}
