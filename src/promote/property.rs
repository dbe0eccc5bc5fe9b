//! Property test of `promote`'s planning and editing, on generated files.
//!
//! Each case is a random Helm values file (sometimes with a kustomization
//! or a Deployment document after a `---`) built from the shapes promote
//! supports, mixed with decoys: other images, the same repository path on
//! another registry, scalars of every type, comments (Flux setter comments
//! among them), flow and block collections, CRLF, a BOM, no final newline.
//! The generator records which scalars are the image's and what each must
//! read after the promotion, so the checks below do not rest on what the
//! planner reports about itself:
//!
//! 1. the new text parses into the same documents, shape and keys;
//! 2. every byte outside the edited scalars is unchanged: non-target
//!    scalars keep value and source bytes, lines without a target are
//!    byte-identical, and only kustomize's `newTag:`/`digest:` lines are new;
//! 3. every target reads as the promoted image, and is still a string;
//! 4. decoys are untouched (part of 2, but named: it is what users rely on);
//! 5. planning the new text again finds nothing to edit.
//!
//! Seeds are fixed. A failure names its seed; rerun one case with
//! `WHARF_PROPERTY_SEED=<seed>`, or more cases with `WHARF_PROPERTY_CASES`.

use std::collections::{BTreeMap, BTreeSet};
use std::ops::Range;

use rand::rngs::StdRng;
use rand::seq::{IndexedRandom, SliceRandom};
use rand::{Rng, SeedableRng};

use super::edit::{self, Edit};
use super::target::{plan, Promotion};
use crate::pin::yaml::YamlKind;
use crate::reference::Reference;
use crate::yaml::{parse_documents, Mapping, Node, Scalar, Style};

const BASE_SEED: u64 = 0x005e_ed0f_9a0e_7e57;
const CASES: u64 = 600;

// ---------------------------------------------------------------------------
// The world a case is drawn from.

/// How deploy files write the promoted repository, and what else they hold.
struct World {
    /// The repository as entries write it (all the same repository).
    names: &'static [&'static str],
    /// The same, as `{registry, repository}`.
    split: &'static [(&'static str, &'static str)],
    /// Other repositories, several with the same path on another registry.
    others: &'static [&'static str],
    others_split: &'static [(&'static str, &'static str)],
}

const GHCR: World = World {
    names: &["ghcr.io/acme/app"],
    split: &[("ghcr.io", "acme/app")],
    others: &[
        "docker.io/acme/app",
        "acme/app",
        "quay.io/acme/app",
        "registry.example.com:5000/acme/app",
        "ghcr.io/acme/app-worker",
        "ghcr.io/acme/app/debug",
        "ghcr.io/acme/other",
        "nginx",
    ],
    others_split: &[
        ("docker.io", "acme/app"),
        ("quay.io", "acme/app"),
        ("ghcr.io", "acme/other"),
    ],
};

/// Docker Hub: one repository written three ways.
const HUB: World = World {
    names: &["acme/app", "docker.io/acme/app", "index.docker.io/acme/app"],
    split: &[("docker.io", "acme/app"), ("index.docker.io", "acme/app")],
    others: &[
        "ghcr.io/acme/app",
        "quay.io/acme/app",
        "registry.example.com:5000/acme/app",
        "acme/app-worker",
        "docker.io/acme/other",
        "nginx",
        "library/nginx",
    ],
    others_split: &[("ghcr.io", "acme/app"), ("docker.io", "acme/other")],
};

/// Tags written in the files: some read as numbers or dates when plain.
const TAGS: [&str; 10] = [
    "1.0",
    "v2",
    "1.10",
    "2024-01-01",
    "2.0",
    "1.25-alpine",
    "latest",
    "20240101",
    "1.2.3",
    "3",
];

/// Tags IMAGE carries; they overlap TAGS so that "already at the tag" happens.
const IMAGE_TAGS: [&str; 6] = ["2.0", "1.10", "v2", "2024-01-01", "1.0", "3"];

/// Scalars that are not images, as written: every type, every quote style.
const DECOYS: [&str; 31] = [
    "42",
    "0",
    "-7",
    "8080",
    "1.10",
    "3.14",
    "1e3",
    ".5",
    "true",
    "false",
    "yes",
    "no",
    "on",
    "~",
    "null",
    "hello",
    "hello world",
    "'single'",
    "\"double\"",
    "\"1.10\"",
    "'2024-01-01'",
    "\"007\"",
    "2024-01-01",
    "v2",
    "latest",
    "IfNotPresent",
    "café",
    "\"héllo wörld\"",
    "'it''s'",
    "\"esc\\\"aped\\u00e9\"",
    "\"a # not a comment\"",
];

/// Decoys that only block context allows.
const BLOCK_DECOYS: [&str; 3] = ["", "https://example.com/a#b", "a, b"];

const KEYS: [&str; 30] = [
    "name",
    "enabled",
    "replicas",
    "port",
    "version",
    "labels",
    "env",
    "resources",
    "limits",
    "cpu",
    "memory",
    "annotations",
    "config",
    "nodeSelector",
    "tolerations",
    "extra",
    "sidecar",
    "worker",
    "app",
    "ingress",
    "hosts",
    "note",
    "previous",
    "pullPolicy",
    "debug",
    "schedule",
    "\"quoted key\"",
    "'single key'",
    "8080",
    "1.10",
];

const COMMENTS: [&str; 7] = [
    "# note",
    "#tight",
    "# ghcr.io/acme/app:0.9 (an image in a comment)",
    "# acme/app:1.0",
    "# ünïcödé",
    "# {\"$imagepolicy\": \"flux-system:app\"}",
    "# {\"$imagepolicy\": \"flux-system:app:tag\"}",
];

// ---------------------------------------------------------------------------
// What the generator builds: a YAML tree as it will be written.

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
enum Seg {
    Doc(usize),
    Key(String),
    Index(usize),
}

type Path = Vec<Seg>;

fn child(path: &[Seg], seg: Seg) -> Path {
    let mut p = path.to_vec();
    p.push(seg);
    p
}

fn key(path: &[Seg], key: &str) -> Path {
    child(path, Seg::Key(key.to_string()))
}

#[derive(Debug, Clone)]
enum V {
    /// A one-line scalar as written (quotes included); "" is an empty value.
    Scalar(String),
    /// `|` with its content lines.
    Literal(Vec<String>),
    Map {
        entries: Vec<Entry>,
        flow: bool,
    },
    Seq {
        items: Vec<Item>,
        flow: bool,
        /// `key:\n- a` rather than `key:\n  - a`.
        indentless: bool,
    },
}

/// A line between entries that holds no node.
#[derive(Debug, Clone)]
enum Filler {
    Blank,
    /// Only the indentation's spaces.
    Spaces,
    /// A comment line, at the entries' indentation or at column 0.
    Comment(&'static str, bool),
}

#[derive(Debug, Clone)]
struct Entry {
    /// The key as written.
    key: String,
    value: V,
    comment: Option<String>,
    /// Lines before the entry (never before the first: `- ` shares its line).
    before: Vec<Filler>,
}

#[derive(Debug, Clone)]
struct Item {
    value: V,
    comment: Option<String>,
    before: Vec<Filler>,
}

fn entry(key: &str, value: V, comment: Option<String>) -> Entry {
    Entry {
        key: key.to_string(),
        value,
        comment,
        before: Vec::new(),
    }
}

fn scalar_entry(key: &str, src: &str) -> Entry {
    entry(key, V::Scalar(src.to_string()), None)
}

fn map_entry(key: &str, entries: Vec<Entry>, flow: bool) -> Entry {
    entry(key, V::Map { entries, flow }, None)
}

fn item(value: V) -> Item {
    Item {
        value,
        comment: None,
        before: Vec::new(),
    }
}

/// What the promotion must do, recorded while generating.
#[derive(Debug, Default)]
struct Expect {
    /// Scalars the image stands in, and what each must read afterwards.
    set: BTreeMap<Path, String>,
    /// Keys a kustomize entry must gain, in order, with their values.
    inserted: BTreeMap<Path, Vec<(String, String)>>,
    /// Places the image stands (entries, maps, strings): the plan's targets.
    targets: usize,
    /// How many of each shape (targets and decoys) the case holds.
    shapes: BTreeMap<&'static str, usize>,
}

struct Case {
    seed: u64,
    image: String,
    kind: YamlKind,
    text: String,
    expect: Expect,
}

/// The value of a key or scalar as written, for the generator's paths.
fn unquote(src: &str) -> String {
    if let Some(inner) = src.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
        return inner.replace("''", "'");
    }
    if let Some(inner) = src.strip_prefix('"').and_then(|s| s.strip_suffix('"')) {
        return inner.to_string();
    }
    src.to_string()
}

fn bare_tag(tag: &str) -> &str {
    tag.split_once('@').map_or(tag, |(t, _)| t)
}

struct Gen {
    rng: StdRng,
    world: &'static World,
    tag: Option<String>,
    digest: String,
    olds: Vec<String>,
    expect: Expect,
}

impl Gen {
    fn shape(&mut self, shape: &'static str) {
        *self.expect.shapes.entry(shape).or_default() += 1;
    }

    fn chance(&mut self, p: f64) -> bool {
        self.rng.random_bool(p)
    }

    fn pick<T: Copy>(&mut self, items: &[T]) -> T {
        *items.choose(&mut self.rng).expect("a non-empty list")
    }

    fn below(&mut self, n: usize) -> usize {
        self.rng.random_range(0..n)
    }

    fn old_digest(&mut self) -> String {
        let i = self.below(self.olds.len());
        self.olds[i].clone()
    }

    /// `value` in a random quote style; plain only when `plain` allows it.
    fn quoted(&mut self, value: &str, plain: bool) -> String {
        match self.below(if plain { 4 } else { 2 }) {
            0 => format!("'{}'", value.replace('\'', "''")),
            1 => format!("\"{value}\""),
            _ => value.to_string(),
        }
    }

    fn comment(&mut self, p: f64) -> Option<String> {
        if !self.chance(p) {
            return None;
        }
        let c = self.pick(&COMMENTS);
        let gap = if self.chance(0.5) { " " } else { "   " };
        Some(format!("{gap}{c}"))
    }

    fn fillers(&mut self) -> Vec<Filler> {
        let mut out = Vec::new();
        while self.chance(0.15) {
            out.push(match self.below(3) {
                0 => Filler::Blank,
                1 => Filler::Spaces,
                _ => {
                    let c = self.pick(&COMMENTS);
                    Filler::Comment(c, self.chance(0.5))
                }
            });
        }
        out
    }

    fn decoy(&mut self, flow: bool) -> String {
        if !flow && self.chance(0.1) {
            return self.pick(&BLOCK_DECOYS).to_string();
        }
        self.pick(&DECOYS).to_string()
    }

    /// An image that is not the promoted one, or not one the rules take
    /// for it (a bare name outside `image:`, a template).
    fn image_decoy(&mut self, image_key: bool) -> String {
        let value = match self.below(6) {
            0 => "nginx:1.25".to_string(),
            1 if !image_key => {
                self.shape("decoy: the bare name outside image:");
                self.pick(self.world.names).to_string()
            }
            2 => {
                self.shape("decoy: a template");
                "{{ .Values.image.repository }}:{{ .Values.image.tag }}".to_string()
            }
            _ => {
                self.shape("decoy: another repository");
                let name = self.pick(self.world.others);
                let mut value = name.to_string();
                if self.chance(0.7) {
                    value.push(':');
                    value.push_str(self.pick(&TAGS));
                }
                if self.chance(0.3) {
                    value.push('@');
                    value.push_str(&self.old_digest());
                }
                value
            }
        };
        let plain = !value.starts_with('{');
        self.quoted(&value, plain)
    }

    /// A string naming the image: `name[:tag][@old]`. A bare name is the
    /// image only under `image:`; elsewhere it needs a tag or digest.
    fn target_string(&mut self, path: &[Seg], bare_ok: bool) -> String {
        let name = self.pick(self.world.names);
        let mut tag = self.chance(0.7).then(|| self.pick(&TAGS));
        let digest = self.chance(0.35).then(|| self.old_digest());
        if !bare_ok && tag.is_none() && digest.is_none() {
            tag = Some(self.pick(&TAGS));
        }
        self.shape(match (tag, &digest) {
            (None, None) => "string: bare name under image:",
            (Some(_), None) => "string: name:tag",
            (None, Some(_)) => "string: name@digest",
            (Some(_), Some(_)) => "string: name:tag@digest",
        });
        let mut value = name.to_string();
        if let Some(t) = tag {
            value.push(':');
            value.push_str(t);
        }
        if let Some(d) = &digest {
            value.push('@');
            value.push_str(d);
        }
        let mut want = name.to_string();
        if let Some(t) = self.tag.as_deref().or(tag) {
            want.push(':');
            want.push_str(t);
        }
        want.push('@');
        want.push_str(&self.digest);
        self.expect.set.insert(path.to_vec(), want);
        self.expect.targets += 1;
        self.quoted(&value, true)
    }

    /// A tag value as written: a tag, maybe with an old digest appended.
    fn tag_value(&mut self) -> String {
        let tag = self.pick(&TAGS);
        if self.chance(0.25) {
            format!("{tag}@{}", self.old_digest())
        } else {
            tag.to_string()
        }
    }

    /// A `digest:` entry holding an old digest (with probability `old`) or
    /// an empty value; where the image is `ours`, promote must set it.
    fn digest_entry(&mut self, path: &[Seg], ours: bool, flow: bool, old: f64, c: f64) -> Entry {
        let src = if self.chance(old) {
            let old = self.old_digest();
            self.quoted(&old, true)
        } else {
            self.empty(flow)
        };
        if ours {
            self.expect
                .set
                .insert(key(path, "digest"), self.digest.clone());
        }
        let comment = self.comment(c);
        entry("digest", V::Scalar(src), comment)
    }

    /// An empty value in one of its spellings.
    fn empty(&mut self, flow: bool) -> String {
        let forms: &[&str] = if flow {
            &["\"\"", "''", "~", "null"]
        } else {
            &["", "\"\"", "''", "~", "null"]
        };
        self.pick(forms).to_string()
    }

    /// `{registry?, repository, tag?, digest?}`: the image's when `ours`.
    fn image_map(&mut self, path: &[Seg], flow: bool, ours: bool) -> V {
        let (registry, repository) = match (ours, self.chance(0.5)) {
            (true, true) => {
                let (r, p) = self.pick(self.world.split);
                (Some(r), p)
            }
            (true, false) => (None, self.pick(self.world.names)),
            (false, true) => {
                let (r, p) = self.pick(self.world.others_split);
                (Some(r), p)
            }
            (false, false) => (None, self.pick(self.world.others)),
        };
        let c = if flow { 0.0 } else { 0.2 };
        let with_digest = self.chance(0.5);
        if ours {
            self.shape(match (with_digest, registry.is_some()) {
                (false, false) => "map: {repository, tag}",
                (false, true) => "map: {registry, repository, tag}",
                (true, false) => "map: {repository, digest}",
                (true, true) => "map: {registry, repository, tag?, digest}",
            });
            if flow {
                self.shape("map: in flow style");
            }
        } else {
            self.shape("decoy: another repository's map");
        }
        let mut entries = Vec::new();
        if let Some(r) = registry {
            let src = self.quoted(r, true);
            let comment = self.comment(c);
            entries.push(entry("registry", V::Scalar(src), comment));
        }
        let src = self.quoted(repository, true);
        let comment = self.comment(c);
        entries.push(entry("repository", V::Scalar(src), comment));
        if !with_digest || self.chance(0.7) {
            let may_be_empty = with_digest || self.tag.is_some();
            let (src, value) = if may_be_empty && self.chance(0.2) {
                if ours {
                    self.shape("map: empty tag");
                }
                let src = self.empty(flow);
                (src, String::new())
            } else {
                let value = self.tag_value();
                (self.quoted(&value, true), value)
            };
            if ours {
                let want = match (&self.tag, with_digest) {
                    // The chart joins `repository:tag`: the digest rides in the tag.
                    (Some(t), false) => Some(format!("{t}@{}", self.digest)),
                    (None, false) => Some(format!("{}@{}", bare_tag(&value), self.digest)),
                    (Some(t), true) => Some(t.clone()),
                    // The digest wins; an old digest in the tag goes.
                    (None, true) => value.contains('@').then(|| bare_tag(&value).to_string()),
                };
                if let Some(want) = want {
                    self.expect.set.insert(key(path, "tag"), want);
                }
            }
            let comment = self.comment(c);
            entries.push(entry("tag", V::Scalar(src), comment));
        }
        if with_digest {
            entries.push(self.digest_entry(path, ours, flow, 0.5, c));
        }
        if self.chance(0.4) {
            let policy = self.pick(&["IfNotPresent", "Always", "\"Never\""]);
            entries.push(entry("pullPolicy", V::Scalar(policy.to_string()), None));
        }
        entries.shuffle(&mut self.rng);
        if ours {
            self.expect.targets += 1;
        }
        V::Map { entries, flow }
    }

    fn literal(&mut self) -> V {
        let lines = (0..1 + self.below(3))
            .map(|i| format!("line {i}: ghcr.io/acme/app:1.0 # not a comment"))
            .collect();
        V::Literal(lines)
    }

    /// A Helm values mapping.
    fn values_map(&mut self, path: &[Seg], depth: usize, flow: bool) -> V {
        let n = if depth == 0 {
            2 + self.below(6)
        } else {
            1 + self.below(4)
        };
        let mut used = BTreeSet::new();
        let mut entries = Vec::new();
        for i in 0..n {
            let k = if self.chance(0.3) {
                "image"
            } else {
                self.pick(&KEYS)
            };
            if !used.insert(unquote(k)) {
                continue;
            }
            let value = self.values_value(&key(path, &unquote(k)), k == "image", depth + 1, flow);
            let comment = if flow || matches!(value, V::Literal(_)) {
                None
            } else {
                self.comment(0.3)
            };
            let before = if i > 0 && !flow {
                self.fillers()
            } else {
                Vec::new()
            };
            entries.push(Entry {
                key: k.to_string(),
                value,
                comment,
                before,
            });
        }
        V::Map { entries, flow }
    }

    fn values_value(&mut self, path: &[Seg], image_key: bool, depth: usize, flow: bool) -> V {
        let inner_flow = flow || self.chance(0.2);
        match self.below(100) {
            0..20 => V::Scalar(self.decoy(flow)),
            20..32 => V::Scalar(self.image_decoy(image_key)),
            32..50 => {
                self.shape(match (image_key, flow) {
                    (true, _) => "string: under image:",
                    (false, false) => "string: under another key",
                    (false, true) => "string: in a flow map",
                });
                V::Scalar(self.target_string(path, image_key))
            }
            50..60 => self.image_map(path, inner_flow, true),
            60..65 => self.image_map(path, inner_flow, false),
            65..80 if depth < 4 => self.values_map(path, depth, inner_flow),
            80..95 if depth < 4 => self.values_seq(path, depth, inner_flow),
            95..100 if !flow => self.literal(),
            _ => V::Scalar(self.decoy(flow)),
        }
    }

    fn values_seq(&mut self, path: &[Seg], depth: usize, flow: bool) -> V {
        let n = if flow {
            self.below(5)
        } else {
            1 + self.below(4)
        };
        let mut items = Vec::new();
        for i in 0..n {
            let p = child(path, Seg::Index(i));
            let inner_flow = flow || self.chance(0.2);
            let value = match self.below(100) {
                0..25 => V::Scalar(self.decoy(true)),
                25..45 => V::Scalar(self.image_decoy(false)),
                45..65 => {
                    self.shape(if flow {
                        "string: in a flow list"
                    } else {
                        "string: in a block list"
                    });
                    V::Scalar(self.target_string(&p, false))
                }
                65..75 => self.image_map(&p, inner_flow, true),
                75..80 => self.image_map(&p, inner_flow, false),
                80..95 if depth < 4 => self.values_map(&p, depth + 1, inner_flow),
                _ if depth < 4 => self.values_seq(&p, depth + 1, inner_flow),
                _ => V::Scalar("x".to_string()),
            };
            let comment = match (&value, flow) {
                (V::Scalar(_), false) => self.comment(0.3),
                _ => None,
            };
            let before = if i > 0 && !flow {
                self.fillers()
            } else {
                Vec::new()
            };
            items.push(Item {
                value,
                comment,
                before,
            });
        }
        let indentless = !flow && self.chance(0.3);
        V::Seq {
            items,
            flow,
            indentless,
        }
    }

    /// A Deployment: containers' `image:` fields are the image's.
    fn deployment(&mut self, path: &[Seg]) -> V {
        let spec = key(&key(&key(path, "spec"), "template"), "spec");
        let mut pod = Vec::new();
        for list in ["initContainers", "containers"] {
            if list == "initContainers" && self.chance(0.6) {
                continue;
            }
            let at = key(&spec, list);
            let mut items = Vec::new();
            for i in 0..1 + self.below(3) {
                let container = child(&at, Seg::Index(i));
                let image = if self.chance(0.6) {
                    self.shape("manifest: container image");
                    self.target_string(&key(&container, "image"), true)
                } else {
                    self.image_decoy(true)
                };
                let flow = self.chance(0.2);
                let c = if flow { 0.0 } else { 0.3 };
                let mut entries = vec![scalar_entry("name", &format!("c{i}"))];
                let comment = self.comment(c);
                entries.push(entry("image", V::Scalar(image), comment));
                if self.chance(0.5) {
                    let args = V::Seq {
                        items: vec![item(V::Scalar("\"--image=ghcr.io/acme/app:1.0\"".into()))],
                        flow: true,
                        indentless: false,
                    };
                    entries.push(entry("args", args, None));
                }
                entries.shuffle(&mut self.rng);
                items.push(item(V::Map { entries, flow }));
            }
            let indentless = self.chance(0.4);
            pod.push(entry(
                list,
                V::Seq {
                    items,
                    flow: false,
                    indentless,
                },
                None,
            ));
        }
        let labels = map_entry("labels", vec![scalar_entry("app", "web")], true);
        let template = vec![
            map_entry("metadata", vec![labels], false),
            map_entry("spec", pod, false),
        ];
        let spec_entries = vec![
            scalar_entry("replicas", "2"),
            map_entry("template", template, false),
        ];
        let entries = vec![
            scalar_entry("apiVersion", "apps/v1"),
            scalar_entry("kind", "Deployment"),
            map_entry("metadata", vec![scalar_entry("name", "web")], false),
            map_entry("spec", spec_entries, false),
        ];
        V::Map {
            entries,
            flow: false,
        }
    }

    /// A kustomization: `images:` entries by `name` or `newName`.
    fn kustomization(&mut self, path: &[Seg]) -> V {
        let images_path = key(path, "images");
        let flow_list = self.chance(0.15);
        let mut items = Vec::new();
        for i in 0..1 + self.below(3) {
            let ours = self.chance(0.7);
            let entry_flow = flow_list || self.chance(0.2);
            let value = self.kustomize_entry(&child(&images_path, Seg::Index(i)), ours, entry_flow);
            let before = if i > 0 && !flow_list {
                self.fillers()
            } else {
                Vec::new()
            };
            items.push(Item {
                value,
                comment: None,
                before,
            });
        }
        let resources = V::Seq {
            items: vec![item(V::Scalar("deployment.yaml".into()))],
            flow: self.chance(0.5),
            indentless: true,
        };
        let indentless = self.chance(0.5);
        let comment = self.comment(0.2);
        let images = V::Seq {
            items,
            flow: flow_list,
            indentless,
        };
        let entries = vec![
            scalar_entry("apiVersion", "kustomize.config.k8s.io/v1beta1"),
            scalar_entry("kind", "Kustomization"),
            entry("resources", resources, None),
            entry("images", images, comment),
        ];
        V::Map {
            entries,
            flow: false,
        }
    }

    fn kustomize_entry(&mut self, path: &[Seg], ours: bool, flow: bool) -> V {
        let c = if flow { 0.0 } else { 0.25 };
        let mut entries = Vec::new();
        self.shape(if ours {
            "kustomize: entry"
        } else {
            "decoy: another kustomize entry"
        });
        if ours && self.chance(0.4) {
            self.shape("kustomize: by newName");
            entries.push(scalar_entry("name", "app"));
            let name = self.pick(self.world.names);
            let src = self.quoted(name, true);
            let comment = self.comment(c);
            entries.push(entry("newName", V::Scalar(src), comment));
        } else {
            let name = if ours {
                self.pick(self.world.names)
            } else {
                self.pick(self.world.others)
            };
            let src = self.quoted(name, true);
            let comment = self.comment(c);
            entries.push(entry("name", V::Scalar(src), comment));
        }
        let mut rest = Vec::new();
        let mut inserted = Vec::new();
        if self.chance(0.6) {
            let (src, value) = if self.chance(0.1) {
                let src = self.empty(flow);
                (src, String::new())
            } else {
                let value = self.tag_value();
                (self.quoted(&value, true), value)
            };
            if ours {
                if let Some(t) = &self.tag {
                    self.expect.set.insert(key(path, "newTag"), t.clone());
                } else if value.contains('@') {
                    let bare = bare_tag(&value).to_string();
                    self.expect.set.insert(key(path, "newTag"), bare);
                }
            }
            let comment = self.comment(c);
            rest.push(entry("newTag", V::Scalar(src), comment));
        } else if let (true, Some(t)) = (ours, &self.tag) {
            inserted.push(("newTag".to_string(), t.clone()));
        }
        if self.chance(0.5) {
            rest.push(self.digest_entry(path, ours, flow, 0.6, c));
        } else if ours {
            inserted.push(("digest".to_string(), self.digest.clone()));
        }
        rest.shuffle(&mut self.rng);
        entries.extend(rest);
        if ours {
            self.expect.targets += 1;
            if !inserted.is_empty() {
                self.shape(if flow {
                    "kustomize: keys added to a flow entry"
                } else {
                    "kustomize: lines added to a block entry"
                });
                self.expect.inserted.insert(path.to_vec(), inserted);
            }
        }
        V::Map { entries, flow }
    }
}

fn hex(rng: &mut StdRng) -> String {
    (0..64)
        .map(|_| char::from(b"0123456789abcdef"[rng.random_range(0..16)]))
        .collect()
}

fn generate(seed: u64) -> Case {
    let mut rng = StdRng::seed_from_u64(seed);
    let world = if rng.random_bool(0.75) { &GHCR } else { &HUB };
    let tag = rng
        .random_bool(0.5)
        .then(|| IMAGE_TAGS[rng.random_range(0..IMAGE_TAGS.len())].to_string());
    let digest = format!("sha256:{}", hex(&mut rng));
    let olds = (0..2)
        .map(|_| format!("sha256:{}", hex(&mut rng)))
        .collect();
    let mut g = Gen {
        rng,
        world,
        tag,
        digest,
        olds,
        expect: Expect::default(),
    };

    let name = g.pick(world.names);
    let image = match &g.tag {
        Some(t) => format!("{name}:{t}@{}", g.digest),
        None => format!("{name}@{}", g.digest),
    };

    // Documents: values, and sometimes a kustomization or a Deployment.
    let mut kinds = vec!['v'; 1 + usize::from(g.chance(0.2))];
    if g.chance(0.25) {
        kinds.push('k');
    }
    if g.chance(0.25) {
        kinds.push('d');
    }
    kinds.shuffle(&mut g.rng);
    let mixed = kinds.iter().any(|&k| k != 'v');
    // A values file named values.yaml reads every document as values; a
    // file with other documents in it must be classified per document.
    let kind = if mixed || g.chance(0.5) {
        YamlKind::Other
    } else {
        YamlKind::HelmValues
    };
    let docs: Vec<V> = kinds
        .iter()
        .enumerate()
        .map(|(i, k)| {
            let path = vec![Seg::Doc(i)];
            match k {
                'k' => g.kustomization(&path),
                'd' => g.deployment(&path),
                _ => g.values_map(&path, 0, false),
            }
        })
        .collect();

    let mut lines = Vec::new();
    if g.chance(0.3) {
        lines.push("# Default values for app.".to_string());
        lines.push(String::new());
    }
    for (i, doc) in docs.iter().enumerate() {
        if i > 0 || g.chance(0.2) {
            let marker = g.pick(&["---", "--- # next", "---"]);
            lines.push(marker.to_string());
        }
        let V::Map { entries, .. } = doc else {
            unreachable!("documents are mappings")
        };
        block_map(&mut lines, entries, 0);
    }
    let eol = if g.chance(0.25) { "\r\n" } else { "\n" };
    let mut text = String::new();
    if g.chance(0.15) {
        text.push('\u{feff}');
        g.shape("file: BOM");
    }
    text.push_str(&lines.join(eol));
    if g.chance(0.8) {
        text.push_str(eol);
    } else {
        g.shape("file: no final line break");
    }
    for (shape, yes) in [
        ("file: CRLF", eol == "\r\n"),
        ("file: several documents", docs.len() > 1),
        ("file: Flux setter comment", text.contains("$imagepolicy")),
        ("image: with a tag", g.tag.is_some()),
        ("image: digest only", g.tag.is_none()),
        ("image: on Docker Hub", std::ptr::eq(world, &HUB)),
    ] {
        if yes {
            g.shape(shape);
        }
    }
    Case {
        seed,
        image,
        kind,
        text,
        expect: g.expect,
    }
}

// ---------------------------------------------------------------------------
// Writing the tree out.

fn fillers(out: &mut Vec<String>, fillers: &[Filler], pad: &str) {
    for f in fillers {
        out.push(match f {
            Filler::Blank => String::new(),
            Filler::Spaces => pad.to_string(),
            Filler::Comment(c, true) => format!("{pad}{c}"),
            Filler::Comment(c, false) => c.to_string(),
        });
    }
}

fn block_map(out: &mut Vec<String>, entries: &[Entry], indent: usize) {
    let pad = " ".repeat(indent);
    for e in entries {
        fillers(out, &e.before, &pad);
        let comment = e.comment.as_deref().unwrap_or("");
        match &e.value {
            V::Scalar(src) if src.is_empty() => out.push(format!("{pad}{}:{comment}", e.key)),
            V::Scalar(src) => out.push(format!("{pad}{}: {src}{comment}", e.key)),
            V::Literal(lines) => {
                out.push(format!("{pad}{}: |", e.key));
                out.extend(lines.iter().map(|l| format!("{pad}  {l}")));
            }
            V::Map { flow: true, .. } | V::Seq { flow: true, .. } => {
                out.push(format!("{pad}{}: {}{comment}", e.key, flow(&e.value)));
            }
            V::Map { entries, .. } => {
                out.push(format!("{pad}{}:{comment}", e.key));
                block_map(out, entries, indent + 2);
            }
            V::Seq {
                items, indentless, ..
            } => {
                out.push(format!("{pad}{}:{comment}", e.key));
                block_seq(out, items, if *indentless { indent } else { indent + 2 });
            }
        }
    }
}

fn block_seq(out: &mut Vec<String>, items: &[Item], indent: usize) {
    let pad = " ".repeat(indent);
    for item in items {
        fillers(out, &item.before, &pad);
        let comment = item.comment.as_deref().unwrap_or("");
        match &item.value {
            V::Scalar(src) => out.push(format!("{pad}- {src}{comment}")),
            V::Map { flow: true, .. } | V::Seq { flow: true, .. } => {
                out.push(format!("{pad}- {}{comment}", flow(&item.value)));
            }
            nested @ (V::Map { .. } | V::Seq { .. }) => {
                // `- key: v` / `- - a`: the first line shares the dash.
                let mut sub = Vec::new();
                match nested {
                    V::Map { entries, .. } => block_map(&mut sub, entries, indent + 2),
                    V::Seq { items, .. } => block_seq(&mut sub, items, indent + 2),
                    _ => unreachable!(),
                }
                if let Some(first) = sub.first_mut() {
                    *first = format!("{pad}- {}", &first[indent + 2..]);
                }
                out.extend(sub);
            }
            V::Literal(_) => unreachable!("no block scalars in sequences"),
        }
    }
}

fn flow(v: &V) -> String {
    match v {
        V::Scalar(src) => src.clone(),
        V::Map { entries, .. } => {
            let inner: Vec<String> = entries
                .iter()
                .map(|e| format!("{}: {}", e.key, flow(&e.value)))
                .collect();
            format!("{{{}}}", inner.join(", "))
        }
        V::Seq { items, .. } => {
            let inner: Vec<String> = items.iter().map(|i| flow(&i.value)).collect();
            format!("[{}]", inner.join(", "))
        }
        V::Literal(_) => unreachable!("no block scalars in flow collections"),
    }
}

// ---------------------------------------------------------------------------
// The checks.

/// Whether YAML 1.1 loaders (go-yaml v2, so Helm and kustomize) or 1.2
/// ones read `value`, written plain, as something other than a string:
/// numbers (`3`, `1.10`, `1_000`, `1e3`), dates (`2024-01-01`),
/// sexagesimals (`1:30`), booleans and nulls. Written apart from
/// `edit::plain_is_string`, for the values these cases produce.
fn plain_would_be_typed(value: &str) -> bool {
    let b = value.as_bytes();
    let digits = |s: &str| !s.is_empty() && s.bytes().all(|c| c.is_ascii_digit() || c == b'_');
    let unsigned = value.strip_prefix(['-', '+']).unwrap_or(value);
    let mantissa = unsigned.split(['e', 'E']).next().unwrap_or_default();
    let number = match mantissa.split_once('.') {
        Some((int, frac)) => (digits(int) || int.is_empty()) && (digits(frac) || frac.is_empty()),
        None => digits(mantissa),
    } && mantissa.bytes().any(|c| c.is_ascii_digit());
    let date = b.len() >= 8 && b[..4].iter().all(u8::is_ascii_digit) && b[4] == b'-';
    let sexagesimal = value.contains(':') && value.split(':').all(digits);
    value.is_empty()
        || number
        || date
        || sexagesimal
        || matches!(
            value.to_ascii_lowercase().as_str(),
            "~" | "null" | "true" | "false" | "yes" | "no" | "on" | "off" | "y" | "n"
        )
}

#[test]
fn the_oracle_for_typed_plain_scalars() {
    for typed in [
        "3",
        "1.0",
        "1.10",
        "2024-01-01",
        "20240101",
        "1e3",
        "1:30",
        "on",
        "",
    ] {
        assert!(plain_would_be_typed(typed), "{typed}");
    }
    for string in [
        "v2",
        "1.2.3",
        "1.25-alpine",
        "latest",
        "2.0@sha256:ab",
        "sha256:ab",
    ] {
        assert!(!plain_would_be_typed(string), "{string}");
    }
}

fn node_at<'n>(docs: &'n [crate::yaml::Document], path: &[Seg]) -> Option<&'n Node> {
    let Some(Seg::Doc(d)) = path.first() else {
        return None;
    };
    let mut node = &docs.get(*d)?.root;
    for seg in &path[1..] {
        node = match (seg, node) {
            (Seg::Key(k), Node::Mapping(m)) => m.get(k)?,
            (Seg::Index(i), Node::Sequence(s)) => s.items.get(*i)?,
            _ => return None,
        };
    }
    Some(node)
}

fn show(path: &[Seg]) -> String {
    path.iter()
        .map(|s| match s {
            Seg::Doc(d) => format!("doc{d}"),
            Seg::Key(k) => k.clone(),
            Seg::Index(i) => i.to_string(),
        })
        .collect::<Vec<_>>()
        .join(".")
}

struct Compare<'a> {
    old: &'a str,
    new: &'a str,
    expect: &'a Expect,
    visited: usize,
}

impl Compare<'_> {
    fn source<'t>(text: &'t str, s: &Scalar) -> &'t str {
        text.get(s.span.clone())
            .unwrap_or("<span outside the text>")
    }

    /// A scalar that must not change: same value, style and bytes.
    fn same_scalar(&self, a: &Scalar, b: &Scalar, path: &[Seg]) -> Result<(), String> {
        let (sa, sb) = (Self::source(self.old, a), Self::source(self.new, b));
        if a.value != b.value || a.style != b.style || sa != sb {
            return Err(format!(
                "{}: a scalar that is not the image changed: {sa:?} ({:?}) became {sb:?} ({:?})",
                show(path),
                a.value,
                b.value
            ));
        }
        Ok(())
    }

    /// A scalar the promotion set: it reads `want`, as a string.
    fn promoted(&self, s: &Scalar, want: &str, path: &[Seg]) -> Result<(), String> {
        let written = Self::source(self.new, s);
        if s.value != want {
            return Err(format!(
                "{}: reads {:?} (written {written:?}), want {want:?}",
                show(path),
                s.value
            ));
        }
        if !s.is_string() || (s.style == Style::Plain && plain_would_be_typed(want)) {
            return Err(format!(
                "{}: {written:?} is not a YAML string; a loader reads a number, date or boolean",
                show(path)
            ));
        }
        if written.contains(['\n', '\r']) {
            return Err(format!("{}: {written:?} spans lines", show(path)));
        }
        Ok(())
    }

    fn node(&mut self, a: &Node, b: &Node, path: &[Seg]) -> Result<(), String> {
        match (a, b) {
            (Node::Scalar(a), Node::Scalar(b)) => match self.expect.set.get(path) {
                Some(want) => {
                    self.visited += 1;
                    self.promoted(b, want, path)
                }
                None => self.same_scalar(a, b, path),
            },
            (Node::Sequence(a), Node::Sequence(b)) => {
                if a.flow != b.flow || a.items.len() != b.items.len() {
                    return Err(format!("{}: the sequence changed shape", show(path)));
                }
                for (i, (x, y)) in a.items.iter().zip(&b.items).enumerate() {
                    self.node(x, y, &child(path, Seg::Index(i)))?;
                }
                Ok(())
            }
            (Node::Mapping(a), Node::Mapping(b)) => self.mapping(a, b, path),
            _ => Err(format!("{}: the node changed kind", show(path))),
        }
    }

    fn mapping(&mut self, a: &Mapping, b: &Mapping, path: &[Seg]) -> Result<(), String> {
        let inserted = self
            .expect
            .inserted
            .get(path)
            .map_or(&[][..], Vec::as_slice);
        if a.flow != b.flow || b.entries.len() != a.entries.len() + inserted.len() {
            return Err(format!(
                "{}: the mapping changed shape ({} entries, now {}; {} to add)",
                show(path),
                a.entries.len(),
                b.entries.len(),
                inserted.len()
            ));
        }
        for ((ka, va), (kb, vb)) in a.entries.iter().zip(&b.entries) {
            let (Node::Scalar(ka), Node::Scalar(kb)) = (ka, kb) else {
                return Err(format!("{}: a key is not a scalar", show(path)));
            };
            let at = key(path, &ka.value);
            self.same_scalar(ka, kb, &at)?;
            self.node(va, vb, &at)?;
        }
        if !inserted.is_empty() {
            self.visited += 1;
        }
        for ((name, want), (k, v)) in inserted.iter().zip(&b.entries[a.entries.len()..]) {
            let at = key(path, name);
            match (k.as_str(), v) {
                (Some(k), Node::Scalar(v)) if k == name => self.promoted(v, want, &at)?,
                _ => return Err(format!("{}: missing or wrong new key", show(&at))),
            }
        }
        Ok(())
    }
}

/// The line holding byte `offset`, 0-based.
fn line_index(text: &str, offset: usize) -> usize {
    text.as_bytes()[..offset]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
}

fn line_start(text: &str, offset: usize) -> usize {
    text[..offset].rfind('\n').map_or(0, |n| n + 1)
}

/// Lines of `text` without their line break (`\r` included).
fn lines(text: &str) -> Vec<&str> {
    text.split('\n')
        .map(|l| l.strip_suffix('\r').unwrap_or(l))
        .collect()
}

/// Where the old text may change: target scalars (and flow insertion
/// points), by line, as ranges within the line; and the lines after which
/// kustomize keys are inserted, with the entry's key column.
struct Allowed {
    regions: BTreeMap<usize, Vec<Range<usize>>>,
    inserts: BTreeMap<usize, (usize, usize)>,
    /// The same, as byte ranges of the old text, for the edits.
    spans: Vec<Range<usize>>,
    points: Vec<usize>,
}

fn allowed(old: &str, docs: &[crate::yaml::Document], expect: &Expect) -> Result<Allowed, String> {
    let mut a = Allowed {
        regions: BTreeMap::new(),
        inserts: BTreeMap::new(),
        spans: Vec::new(),
        points: Vec::new(),
    };
    let region = |a: &mut Allowed, span: Range<usize>| {
        let start = line_start(old, span.start);
        a.regions
            .entry(line_index(old, span.start))
            .or_default()
            .push(span.start - start..span.end - start);
    };
    for path in expect.set.keys() {
        match node_at(docs, path) {
            Some(Node::Scalar(s)) => {
                region(&mut a, s.span.clone());
                a.spans.push(s.span.clone());
            }
            _ => return Err(format!("generator bug: no scalar at {}", show(path))),
        }
    }
    for (path, keys) in &expect.inserted {
        let Some(Node::Mapping(m)) = node_at(docs, path) else {
            return Err(format!("generator bug: no mapping at {}", show(path)));
        };
        let last = m
            .entries
            .iter()
            .map(|(_, v)| v.span().end)
            .max()
            .unwrap_or(m.span.end);
        if m.flow {
            // `{name: x}` becomes `{name: x, digest: …}`: on the same line.
            region(&mut a, last..last);
            a.points.push(last);
        } else {
            // A new line after the entry's last line, at its keys' column.
            let line_end = old[last..].find('\n').map_or(old.len(), |n| last + n);
            let at = if old[..line_end].ends_with('\r') {
                line_end - 1
            } else {
                line_end
            };
            a.points.push(at);
            let column = m.span.start - line_start(old, m.span.start);
            a.inserts
                .insert(line_index(old, last), (keys.len(), column));
        }
    }
    Ok(a)
}

/// Old and new differ only inside target regions and inserted lines.
fn check_lines(old: &str, new: &str, allowed: &Allowed) -> Result<(), String> {
    let (old_lines, new_lines) = (lines(old), lines(new));
    let mut j = 0;
    for (i, o) in old_lines.iter().enumerate() {
        let Some(n) = new_lines.get(j) else {
            return Err(format!("line {}: missing from the new text", i + 1));
        };
        match allowed.regions.get(&i) {
            None if o != n => {
                return Err(format!(
                    "line {} has no target but changed: {o:?} became {n:?}",
                    i + 1
                ))
            }
            None => {}
            Some(regions) => {
                let first = regions.iter().map(|r| r.start).min().unwrap_or(0);
                let last = regions.iter().map(|r| r.end).max().unwrap_or(0);
                let (prefix, suffix) = (&o[..first], &o[last..]);
                if !n.starts_with(prefix)
                    || !n.ends_with(suffix)
                    || n.len() < prefix.len() + suffix.len()
                {
                    return Err(format!(
                        "line {}: bytes around the target changed: {o:?} became {n:?}",
                        i + 1
                    ));
                }
            }
        }
        j += 1;
        if let Some(&(count, column)) = allowed.inserts.get(&i) {
            for _ in 0..count {
                let n = new_lines.get(j).copied().unwrap_or_default();
                let (pad, rest) = n.split_at(column.min(n.len()));
                let ok = pad.bytes().all(|b| b == b' ')
                    && (rest.starts_with("newTag: ") || rest.starts_with("digest: "));
                if !ok {
                    return Err(format!(
                        "line {}: want a new `newTag:`/`digest:` line at column {column}, got {n:?}",
                        i + 2
                    ));
                }
                j += 1;
            }
        }
    }
    if j != new_lines.len() {
        return Err(format!(
            "the new text has {} lines, want {j}",
            new_lines.len()
        ));
    }
    Ok(())
}

/// The edits spliced in by hand: the new text is the old one outside them.
fn reconstruct(old: &str, edits: &[Edit], allowed: &Allowed) -> Result<String, String> {
    let mut sorted: Vec<&Edit> = edits.iter().collect();
    sorted.sort_by_key(|e| (e.span.start, e.span.end));
    let mut out = String::new();
    let mut at = 0;
    for e in sorted {
        let inside = allowed
            .spans
            .iter()
            .any(|s| s.start <= e.span.start && e.span.end <= s.end)
            || (e.span.is_empty() && allowed.points.contains(&e.span.start));
        if !inside {
            return Err(format!(
                "an edit of bytes {:?} ({:?} → {:?}) is outside every target",
                e.span,
                old.get(e.span.clone()),
                e.text
            ));
        }
        if e.span.start < at {
            return Err(format!("edits overlap at {:?}", e.span));
        }
        out.push_str(&old[at..e.span.start]);
        out.push_str(&e.text);
        at = e.span.end;
    }
    out.push_str(&old[at..]);
    Ok(out)
}

/// Runs one case; `Err` says which property failed, with the new text.
fn check(case: &Case) -> Result<(), (String, Option<String>)> {
    let old = case.text.as_str();
    let fail = |m: String| (m, None);
    let old_docs =
        parse_documents(old).map_err(|e| fail(format!("generator bug: invalid YAML: {e}")))?;
    let reference = Reference::parse(&case.image).map_err(|e| fail(e.to_string()))?;
    let promotion =
        Promotion::new(&reference, Vec::new()).ok_or_else(|| fail("IMAGE has no digest".into()))?;
    let planned =
        plan(old, case.kind, None, &promotion).map_err(|e| fail(format!("plan failed: {e:?}")))?;
    let edits: Vec<Edit> = planned
        .targets
        .iter()
        .flat_map(|t| t.edits.iter().cloned())
        .collect();
    let new = edit::apply(old, &edits).map_err(fail)?;
    let with = |m: String| (m, Some(new.clone()));

    // 2: bytes outside the edits, outside the targets, are the old ones.
    let allowed = allowed(old, &old_docs, &case.expect).map_err(fail)?;
    let rebuilt = reconstruct(old, &edits, &allowed).map_err(with)?;
    if rebuilt != new {
        return Err(with("apply differs from splicing the edits in".into()));
    }
    check_lines(old, &new, &allowed).map_err(with)?;
    if old.starts_with('\u{feff}') != new.starts_with('\u{feff}') {
        return Err(with("the BOM changed".into()));
    }
    let crlf = old.contains("\r\n");
    let newlines = new.matches('\n').count();
    if crlf && new.matches("\r\n").count() != newlines {
        return Err(with("a line break lost its \\r".into()));
    }
    if !crlf && new.contains('\r') {
        return Err(with("a \\r appeared".into()));
    }
    if old.ends_with('\n') != new.ends_with('\n') {
        return Err(with("the final line break changed".into()));
    }

    // 1, 3, 4: the trees.
    let new_docs =
        parse_documents(&new).map_err(|e| with(format!("the new text is not YAML: {e}")))?;
    if new_docs.len() != old_docs.len() {
        return Err(with(format!(
            "{} documents became {}",
            old_docs.len(),
            new_docs.len()
        )));
    }
    let mut compare = Compare {
        old,
        new: &new,
        expect: &case.expect,
        visited: 0,
    };
    for (i, (a, b)) in old_docs.iter().zip(&new_docs).enumerate() {
        compare
            .node(&a.root, &b.root, &[Seg::Doc(i)])
            .map_err(with)?;
    }
    let expected = case.expect.set.len() + case.expect.inserted.len();
    if compare.visited != expected {
        return Err(with(format!(
            "generator bug: {} of {expected} expectations reached",
            compare.visited
        )));
    }
    if planned.targets.len() != case.expect.targets {
        return Err(with(format!(
            "the plan has {} targets, the file {}: {:#?}",
            planned.targets.len(),
            case.expect.targets,
            planned.targets
        )));
    }

    // 5: promoting again changes nothing.
    let again = plan(&new, case.kind, None, &promotion)
        .map_err(|e| with(format!("planning the new text failed: {e:?}")))?;
    if let Some(t) = again.targets.iter().find(|t| !t.edits.is_empty()) {
        return Err(with(format!("not idempotent: planning again edits {t:#?}")));
    }
    if again.targets.len() != planned.targets.len() {
        return Err(with(format!(
            "planning again finds {} targets, not {}",
            again.targets.len(),
            planned.targets.len()
        )));
    }
    Ok(())
}

fn report(case: &Case, why: &str, new: Option<&str>) -> String {
    let mut out = format!(
        "property failed for seed {seed}: {why}\n\
         rerun: WHARF_PROPERTY_SEED={seed} cargo test --lib promote::property\n\
         IMAGE {image}, kind {kind:?}\n--- old text ---\n{text}\n--- old, escaped ---\n{text:?}\n",
        seed = case.seed,
        image = case.image,
        kind = case.kind,
        text = case.text,
    );
    if let Some(new) = new {
        out.push_str(&format!(
            "--- new text ---\n{new}\n--- new, escaped ---\n{new:?}\n"
        ));
    }
    out
}

fn seeds() -> Vec<u64> {
    if let Some(seed) = std::env::var("WHARF_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
    {
        return vec![seed];
    }
    let cases = std::env::var("WHARF_PROPERTY_CASES")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(CASES);
    (0..cases).map(|i| BASE_SEED.wrapping_add(i)).collect()
}

#[test]
fn promoting_generated_values_edits_only_the_image() {
    let mut covered = BTreeMap::<&str, usize>::new();
    for seed in seeds() {
        let case = generate(seed);
        let outcome = std::panic::catch_unwind(|| check(&case));
        match outcome {
            Ok(Ok(())) => {}
            Ok(Err((why, new))) => panic!("{}", report(&case, &why, new.as_deref())),
            Err(_) => panic!("{}", report(&case, "the planner panicked (above)", None)),
        }
        for (shape, n) in &case.expect.shapes {
            *covered.entry(shape).or_default() += n;
        }
    }
    // The generator must keep producing every shape the properties are
    // about: a property never exercised passes vacuously.
    if std::env::var("WHARF_PROPERTY_SEED").is_err() {
        let all = [
            "string: bare name under image:",
            "string: name:tag",
            "string: name@digest",
            "string: name:tag@digest",
            "string: under image:",
            "string: under another key",
            "string: in a flow map",
            "string: in a block list",
            "string: in a flow list",
            "map: {repository, tag}",
            "map: {registry, repository, tag}",
            "map: {repository, digest}",
            "map: {registry, repository, tag?, digest}",
            "map: in flow style",
            "map: empty tag",
            "kustomize: entry",
            "kustomize: by newName",
            "kustomize: lines added to a block entry",
            "kustomize: keys added to a flow entry",
            "manifest: container image",
            "decoy: another repository",
            "decoy: another repository's map",
            "decoy: another kustomize entry",
            "decoy: the bare name outside image:",
            "decoy: a template",
            "file: BOM",
            "file: CRLF",
            "file: no final line break",
            "file: several documents",
            "file: Flux setter comment",
            "image: with a tag",
            "image: digest only",
            "image: on Docker Hub",
        ];
        for shape in all {
            let n = covered.get(shape).copied().unwrap_or(0);
            assert!(n >= 10, "only {n} of {shape:?} in the cases: {covered:#?}");
        }
    }
}
