//! A parsed Dockerfile as the build sees it: stages, what each is built on,
//! and build args and environment with BuildKit's scoping. An `ARG` before
//! the first `FROM` is global: `FROM` lines may use it, but inside a stage it
//! is visible only after an `ARG NAME` redeclares it. An `ARG` or `ENV`
//! inside a stage lasts to the end of the stage, and `ENV` carries into the
//! stages built `FROM` it.

use std::collections::HashMap;

use crate::dockerfile::{self, plain_words, Dockerfile, Instruction};
use crate::reference::Reference;

/// What a stage is built on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Base {
    /// `FROM scratch`: nothing.
    Scratch,
    /// An earlier stage, by index.
    Stage(usize),
    /// An image, with the reference as written after build-arg expansion.
    Image(Reference),
    /// Depends on a build arg without a default, or is not a reference:
    /// the text after expansion and why it is unknown.
    Unknown(String),
}

/// One `FROM` and the instructions up to the next.
#[derive(Debug, Clone)]
pub struct Stage {
    pub index: usize,
    /// Lower-cased, as BuildKit matches stage names.
    pub name: Option<String>,
    /// Index of the `FROM` instruction.
    pub from: usize,
    /// The image word as written (`$BASE`, `golang:1.22`).
    pub written: String,
    pub base: Base,
    /// Indexes of the stage's instructions after its `FROM`.
    pub body: Vec<usize>,
}

/// A value an `ARG` or `ENV` gives a name, and where.
#[derive(Debug, Clone, PartialEq, Eq)]
struct Binding {
    name: String,
    /// `None`: declared without a value (and no global default).
    value: Option<String>,
    /// The instruction that set it.
    at: usize,
    env: bool,
}

/// A semantic problem BuildKit would refuse (`FROM` without image, an
/// instruction before the first `FROM`): a parse error at a line.
pub type Problem = dockerfile::ParseError;

/// A Dockerfile with its stages resolved.
#[derive(Debug)]
pub struct Model {
    pub file: Dockerfile,
    pub stages: Vec<Stage>,
    /// `ARG`s before the first `FROM`, with their defaults expanded.
    pub global_args: HashMap<String, Option<String>>,
    /// Per stage, its `ARG`/`ENV` bindings in order.
    bindings: Vec<Vec<Binding>>,
    /// The stage each instruction belongs to (`None` before the first FROM).
    stage_of: Vec<Option<usize>>,
    pub problems: Vec<Problem>,
}

/// Instructions BuildKit knows; anything else is a parse error.
const INSTRUCTIONS: &[&str] = &[
    "add",
    "arg",
    "cmd",
    "copy",
    "entrypoint",
    "env",
    "expose",
    "from",
    "healthcheck",
    "label",
    "maintainer",
    "onbuild",
    "run",
    "shell",
    "stopsignal",
    "user",
    "volume",
    "workdir",
];

impl Model {
    pub fn new(file: Dockerfile) -> Model {
        let mut model = Model {
            stages: Vec::new(),
            global_args: HashMap::new(),
            bindings: Vec::new(),
            stage_of: Vec::with_capacity(file.instructions.len()),
            problems: Vec::new(),
            file,
        };
        model.build();
        model
    }

    fn build(&mut self) {
        let escape = self.file.escape;
        for index in 0..self.file.instructions.len() {
            let instruction = &self.file.instructions[index];
            let name = instruction.command.name.clone();
            let name = name.as_str();
            let line = instruction.line;
            if !INSTRUCTIONS.contains(&name) {
                let word = instruction.text.split_whitespace().next().unwrap_or("");
                self.problems.push(Problem {
                    line,
                    message: format!(
                        "unknown instruction {word:?}: BuildKit refuses the file (a typo, or a continuation line whose previous line lacks its `{escape}`?)"
                    ),
                });
                self.stage_of.push(self.stages.len().checked_sub(1));
                continue;
            }
            match (name, self.stages.is_empty()) {
                ("from", _) => {
                    self.stage_of.push(Some(self.stages.len()));
                    self.from(index);
                }
                ("arg", true) => {
                    self.stage_of.push(None);
                    let args = instruction.args().to_string();
                    for (name, value) in arg_declarations(&args, escape) {
                        let value = value.map(|v| expand(&v, &|n| self.global(n)));
                        if value.is_some() || !self.global_args.contains_key(&name) {
                            self.global_args.insert(name, value);
                        }
                    }
                }
                (_, true) => {
                    self.stage_of.push(None);
                    self.problems.push(Problem {
                        line,
                        message: format!(
                            "{} before the first FROM: only ARG may come before it; BuildKit refuses the file",
                            name.to_uppercase()
                        ),
                    });
                }
                (_, false) => {
                    let stage = self.stages.len() - 1;
                    self.stage_of.push(Some(stage));
                    self.stages[stage].body.push(index);
                    if name == "arg" || name == "env" {
                        self.bind(stage, index);
                    }
                }
            }
        }
    }

    fn global(&self, name: &str) -> Option<String> {
        self.global_args.get(name).cloned().flatten()
    }

    fn from(&mut self, index: usize) {
        let instruction = &self.file.instructions[index];
        let args = instruction.args();
        let words: Vec<&str> = plain_words(args).into_iter().map(|r| &args[r]).collect();
        let stage_index = self.stages.len();
        let (written, name) = match words.as_slice() {
            [image] => (*image, None),
            [image, as_, name] if as_.eq_ignore_ascii_case("as") => {
                (*image, Some(name.to_lowercase()))
            }
            [] => {
                self.problems.push(Problem {
                    line: instruction.line,
                    message: "FROM has no image: write FROM [--platform=PLATFORM] IMAGE [AS NAME]"
                        .into(),
                });
                ("", None)
            }
            _ => {
                self.problems.push(Problem {
                    line: instruction.line,
                    message: format!(
                        "FROM {args:?} is not IMAGE or IMAGE AS NAME: write FROM [--platform=PLATFORM] IMAGE [AS NAME]"
                    ),
                });
                (words[0], None)
            }
        };
        let expanded = expand(&unquote(written), &|n| self.global(n));
        let base = if written.is_empty() {
            Base::Unknown(String::new())
        } else if expanded.eq_ignore_ascii_case("scratch") {
            Base::Scratch
        } else if let Some(stage) = self
            .stages
            .iter()
            .find(|s| s.name.as_deref() == Some(expanded.to_lowercase().as_str()))
        {
            Base::Stage(stage.index)
        } else if uses_undefined(written, &|n| self.global(n)) {
            Base::Unknown(expanded)
        } else {
            match Reference::parse(&expanded) {
                Ok(reference) => Base::Image(reference),
                Err(e) => {
                    self.problems.push(Problem {
                        line: instruction.line,
                        message: format!("FROM image: {e}"),
                    });
                    Base::Unknown(expanded)
                }
            }
        };
        self.stages.push(Stage {
            index: stage_index,
            name,
            from: index,
            written: written.to_string(),
            base,
            body: Vec::new(),
        });
        self.bindings.push(Vec::new());
    }

    fn bind(&mut self, stage: usize, index: usize) {
        let instruction = &self.file.instructions[index];
        let env = instruction.command.name == "env";
        let args = instruction.args().to_string();
        let declarations = if env {
            env_declarations(&args, self.file.escape)
        } else {
            arg_declarations(&args, self.file.escape)
        };
        for (name, value) in declarations {
            let value = match value {
                Some(v) => Some(expand(&v, &|n| self.var(stage, index, n))),
                // `ARG NAME` inside a stage brings the global default in.
                None if !env => self.global(&name),
                None => None,
            };
            self.bindings[stage].push(Binding {
                name,
                value,
                at: index,
                env,
            });
        }
    }

    /// The instructions of the file.
    pub fn instructions(&self) -> &[Instruction] {
        &self.file.instructions
    }

    pub fn instruction(&self, index: usize) -> &Instruction {
        &self.file.instructions[index]
    }

    /// The last stage: the image `docker build` produces without `--target`.
    pub fn final_stage(&self) -> Option<&Stage> {
        self.stages.last()
    }

    /// The stage and the stages it is built on, nearest first.
    pub fn chain(&self, stage: usize) -> Vec<&Stage> {
        let mut chain = Vec::new();
        let mut at = Some(stage);
        while let Some(index) = at {
            let Some(stage) = self.stages.get(index) else {
                break;
            };
            // A stage can only name an earlier one, so this ends.
            at = match stage.base {
                Base::Stage(parent) if parent < index => Some(parent),
                _ => None,
            };
            chain.push(stage);
        }
        chain
    }

    /// What the stage finally stands on: the base of the last stage in its
    /// chain.
    pub fn root_base(&self, stage: usize) -> &Base {
        match self.chain(stage).last() {
            Some(stage) => &stage.base,
            None => &Base::Scratch,
        }
    }

    /// The stage a `COPY --from` / `--mount from` value names: a stage name
    /// or index. `None` for an image.
    pub fn stage_named(&self, value: &str) -> Option<usize> {
        if !value.is_empty() && value.bytes().all(|b| b.is_ascii_digit()) {
            return value.parse().ok().filter(|&i| i < self.stages.len());
        }
        let lower = value.to_lowercase();
        self.stages
            .iter()
            .find(|s| s.name.as_deref() == Some(lower.as_str()))
            .map(|s| s.index)
    }

    /// The stage an instruction belongs to.
    pub fn stage_of(&self, index: usize) -> Option<usize> {
        self.stage_of.get(index).copied().flatten()
    }

    /// The value of build arg or environment variable `name` as instruction
    /// `index` of `stage` sees it: the stage's own `ARG`/`ENV` before it,
    /// then `ENV` of the stages it is built on.
    pub fn var(&self, stage: usize, index: usize, name: &str) -> Option<String> {
        let own = self.bindings.get(stage).and_then(|b| {
            b.iter()
                .rev()
                .find(|b| b.at < index && b.name == name)
                .map(|b| b.value.clone())
        });
        if let Some(value) = own {
            return value;
        }
        for parent in self.chain(stage).into_iter().skip(1) {
            let inherited = self.bindings.get(parent.index).and_then(|b| {
                b.iter()
                    .rev()
                    .find(|b| b.env && b.name == name)
                    .map(|b| b.value.clone())
            });
            if let Some(value) = inherited {
                return value;
            }
        }
        None
    }

    /// Every `ARG`/`ENV` name the stage (and the stages under it) sets,
    /// with the value it ends with.
    pub fn stage_vars(&self, stage: usize) -> HashMap<String, Option<String>> {
        let mut vars = HashMap::new();
        for s in self.chain(stage).into_iter().rev() {
            for b in self.bindings.get(s.index).into_iter().flatten() {
                if b.env || s.index == stage {
                    vars.insert(b.name.clone(), b.value.clone());
                }
            }
        }
        vars
    }

    /// Text with `$NAME`, `${NAME}` and `${NAME:-default}` expanded as
    /// instruction `index` of `stage` would see them.
    pub fn expand_at(&self, stage: usize, index: usize, text: &str) -> String {
        expand(text, &|n| self.var(stage, index, n))
    }
}

/// `ARG` words: `NAME` or `NAME=default`, quotes removed from the default.
fn arg_declarations(args: &str, escape: char) -> Vec<(String, Option<String>)> {
    dockerfile::arg_words(args, escape)
        .into_iter()
        .map(|range| {
            let word = &args[range];
            match word.split_once('=') {
                Some((name, value)) => (name.to_string(), Some(unquote(value))),
                None => (word.to_string(), None),
            }
        })
        .filter(|(name, _)| !name.is_empty())
        .collect()
}

/// `ENV` words: `NAME=value ...`, or the legacy `NAME value with spaces`.
fn env_declarations(args: &str, escape: char) -> Vec<(String, Option<String>)> {
    let words = dockerfile::arg_words(args, escape);
    let first = words.first().map(|r| &args[r.clone()]).unwrap_or("");
    if !first.contains('=') {
        let rest = args
            .get(first.len()..)
            .unwrap_or("")
            .trim_start()
            .to_string();
        return vec![(first.to_string(), Some(unquote(&rest)))];
    }
    arg_declarations(args, escape)
}

/// Removes one layer of shell quoting: `"a b"` → `a b`, `'x'` → `x`,
/// `a\ b` → `a b`. Approximate (no nested expansions), which is all the
/// checks need.
pub fn unquote(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut quote: Option<char> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match (quote, c) {
            (None, '\'' | '"') => quote = Some(c),
            (Some(q), c) if c == q => quote = None,
            (Some('\''), c) => out.push(c),
            (_, '\\') => {
                if let Some(next) = chars.next() {
                    out.push(next);
                }
            }
            (_, c) => out.push(c),
        }
    }
    out
}

/// Whether `text` uses a `$NAME` that `lookup` has no value for and no
/// `:-`/`-` default covers.
fn uses_undefined(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> bool {
    let mut undefined = false;
    let _ = expand_with(text, lookup, &mut |_| undefined = true);
    undefined
}

/// Expands `$NAME`, `${NAME}`, `${NAME:-word}`, `${NAME-word}`,
/// `${NAME:+word}` and `${NAME+word}` as BuildKit's shell lexer does; an
/// unknown name expands to nothing.
pub fn expand(text: &str, lookup: &dyn Fn(&str) -> Option<String>) -> String {
    expand_with(text, lookup, &mut |_| {})
}

fn expand_with(
    text: &str,
    lookup: &dyn Fn(&str) -> Option<String>,
    undefined: &mut dyn FnMut(&str),
) -> String {
    if !text.contains('$') {
        return text.to_string();
    }
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(dollar) = rest.find('$') {
        out.push_str(&rest[..dollar]);
        let after = &rest[dollar + 1..];
        if let Some(braced) = after.strip_prefix('{') {
            let Some(close) = braced.find('}') else {
                out.push_str(&rest[dollar..]);
                return out;
            };
            let inside = &braced[..close];
            let name_len = inside.len() - inside.trim_start_matches(is_name).len();
            let (name, op) = inside.split_at(name_len);
            let value = lookup(name);
            let set = value.as_deref().is_some_and(|v| !v.is_empty());
            let expanded = match op {
                "" => {
                    if value.is_none() {
                        undefined(name);
                    }
                    value.unwrap_or_default()
                }
                _ if op.starts_with(":-") => {
                    if set {
                        value.unwrap_or_default()
                    } else {
                        expand_with(&op[2..], lookup, undefined)
                    }
                }
                _ if op.starts_with('-') => match value {
                    Some(v) => v,
                    None => expand_with(&op[1..], lookup, undefined),
                },
                _ if op.starts_with(":+") => {
                    if set {
                        expand_with(&op[2..], lookup, undefined)
                    } else {
                        String::new()
                    }
                }
                _ if op.starts_with('+') => {
                    if value.is_some() {
                        expand_with(&op[1..], lookup, undefined)
                    } else {
                        String::new()
                    }
                }
                // `${NAME:?message}` and others: the value, if any.
                _ => value.unwrap_or_default(),
            };
            out.push_str(&expanded);
            rest = &braced[close + 1..];
        } else {
            let name_len = after.len() - after.trim_start_matches(is_name).len();
            if name_len == 0 {
                out.push('$');
                rest = after;
                continue;
            }
            let name = &after[..name_len];
            match lookup(name) {
                Some(v) => out.push_str(&v),
                None => undefined(name),
            }
            rest = &after[name_len..];
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn model(text: &str) -> Model {
        Model::new(dockerfile::parse(text))
    }

    fn image(m: &Model, stage: usize) -> String {
        match &m.stages[stage].base {
            Base::Image(r) => r.as_str().to_string(),
            other => format!("{other:?}"),
        }
    }

    #[test]
    fn global_args_feed_from_lines() {
        let m = model(
            "ARG GO=1.22\nARG REG=ghcr.io/acme\nARG BASE=${REG}/runtime:${TAG:-3}\nFROM golang:${GO} AS build\nFROM $BASE\n",
        );
        assert!(m.problems.is_empty(), "{:?}", m.problems);
        assert_eq!(image(&m, 0), "golang:1.22");
        assert_eq!(image(&m, 1), "ghcr.io/acme/runtime:3");
    }

    #[test]
    fn a_from_with_an_arg_without_default_is_unknown() {
        let m = model("ARG BASE\nFROM $BASE\nFROM ${NOPE}:1\nFROM ${X:-alpine:3.20}\n");
        assert_eq!(m.stages[0].base, Base::Unknown(String::new()));
        assert_eq!(m.stages[1].base, Base::Unknown(":1".into()));
        assert_eq!(image(&m, 2), "alpine:3.20");
    }

    #[test]
    fn arg_scoping_per_stage() {
        let text = "ARG V=1\nFROM alpine AS a\nRUN echo $V\nARG V\nRUN echo $V\nENV E=from-a\nARG L=local\nFROM a AS b\nRUN echo $V $E $L\nFROM alpine\nARG V=2\nRUN echo $V\n";
        let m = model(text);
        // In stage a: V is invisible until `ARG V` brings the global in.
        assert_eq!(m.var(0, 2, "V"), None);
        assert_eq!(m.var(0, 4, "V"), Some("1".into()));
        // Stage b is built on a: ENV carries over, ARGs do not.
        assert_eq!(m.var(1, 8, "E"), Some("from-a".into()));
        assert_eq!(m.var(1, 8, "V"), None);
        assert_eq!(m.var(1, 8, "L"), None);
        // Stage 2 declares its own.
        assert_eq!(m.var(2, 11, "V"), Some("2".into()));
        assert_eq!(m.expand_at(2, 11, "v=${V}"), "v=2");
        assert_eq!(m.chain(1).len(), 2);
        assert_eq!(m.stage_named("A"), Some(0));
        assert_eq!(m.stage_named("1"), Some(1));
        assert_eq!(m.stage_named("nginx:1"), None);
    }

    #[test]
    fn an_arg_after_the_first_from_is_not_global() {
        let m = model("FROM alpine\nARG IMG=nginx:1\nFROM $IMG\n");
        assert_eq!(m.stages[1].base, Base::Unknown(String::new()));
    }

    #[test]
    fn env_forms() {
        let m = model("FROM a\nENV A=1 B=\"two words\"\nENV LEGACY some value\nRUN x\n");
        assert_eq!(m.var(0, 3, "B"), Some("two words".into()));
        assert_eq!(m.var(0, 3, "LEGACY"), Some("some value".into()));
        assert_eq!(m.stage_vars(0).len(), 3);
    }

    #[test]
    fn buildkit_refusals_are_problems() {
        let m = model("RUN x\nFROM\nFROMM a\nFROM a b\nFROM Bad:1\n");
        let lines: Vec<usize> = m.problems.iter().map(|p| p.line).collect();
        assert_eq!(lines, vec![1, 2, 3, 4, 5], "{:?}", m.problems);
    }

    #[test]
    fn expansion_forms() {
        let lookup = |n: &str| match n {
            "A" => Some("a".to_string()),
            "E" => Some(String::new()),
            _ => None,
        };
        assert_eq!(
            expand(
                "$A-${A}-$$-${B:-b}-${E:-e}-${E-e}-${A:+x}-${B+y}-$",
                &lookup
            ),
            "a-a-$$-b-e--x--$"
        );
        assert_eq!(expand("${unclosed", &lookup), "${unclosed");
        assert_eq!(unquote(r#""a b"'c'd\ e"#), "a bcd e");
    }
}
