//! Image references in YAML: Kubernetes manifests, Helm values, kustomization, compose.
//!
//! Each document of a file is read as a span-carrying tree ([`crate::yaml`])
//! and searched by the rules of the tool that will consume it, because the
//! same key means different things in different files: `images:` in a
//! kustomization, `containers[].image` in a manifest, `services.*.image` in
//! compose, `image:` strings and `{registry, repository, tag, digest}` maps
//! in Helm values. Every site carries byte-exact spans so `wharf pin` can
//! add a digest by changing only the bytes of the value it pins.

use std::collections::HashSet;
use std::ops::Range;

use super::site::{FindError, Patch, Site, SiteState};
use crate::reference::Reference;
use crate::text::LineIndex;
use crate::yaml::{self, Mapping, Node, Scalar};

/// What kind of YAML file this is, from its name; content decides per document
/// when the name says nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlKind {
    /// `kustomization.yaml`, `kustomization.yml`, `Kustomization`
    Kustomization,
    /// `compose.yaml`, `docker-compose*.yml`, …
    Compose,
    /// `values*.yaml` (a Helm chart's values)
    HelmValues,
    /// anything else: decided per document by its content
    Other,
}

/// The keys whose list items are Kubernetes containers.
pub(crate) const CONTAINER_KEYS: [&str; 3] =
    ["containers", "initContainers", "ephemeralContainers"];

const KUSTOMIZE_NO_TAG: &str = "no newTag: the tag comes from the resources; set newTag or digest";
const HELM_NO_TAG: &str =
    "no tag: the chart's appVersion decides it; set tag or digest in the values";
const TEMPLATE: &str = "the image is a template ({{ … }}); pin the values it is rendered from";
const VARIABLE: &str =
    "the image is built from variables ($…); pin the image where the variable is set";

/// Every image reference in a YAML file's text.
pub fn find(text: &str, kind: YamlKind) -> Result<Vec<Site>, FindError> {
    let documents = yaml::parse_documents(text)
        .map_err(|e| FindError::at(e.line, format!("this is not valid YAML: {}", e.message)))?;
    let mut finder = Finder {
        text,
        lines: LineIndex::new(text),
        found: Vec::new(),
        seen: HashSet::new(),
    };
    for document in &documents {
        let root = &document.root;
        match classify(root, kind) {
            DocKind::Kustomization => {
                if let Some(root) = root.as_mapping() {
                    finder.kustomization(root)?;
                }
            }
            DocKind::Kubernetes => finder.kubernetes(root)?,
            DocKind::Compose => {
                if let Some(root) = root.as_mapping() {
                    finder.compose(root)?;
                }
            }
            DocKind::Values => finder.values(root, Mode::Strict)?,
            DocKind::Other => finder.values(root, Mode::Lenient)?,
        }
    }
    // Aliases can make a later node point back at an earlier span: report in
    // source order.
    finder.found.sort_by_key(|(key, _)| key.start);
    Ok(finder.found.into_iter().map(|(_, site)| site).collect())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum DocKind {
    Kustomization,
    Kubernetes,
    Compose,
    /// A Helm values file: every `image:` is an image, and a bad one is an error.
    Values,
    /// Anything else: the values rules, but only what is clearly an image.
    Other,
}

pub(crate) fn classify(root: &Node, kind: YamlKind) -> DocKind {
    match kind {
        YamlKind::Kustomization => return DocKind::Kustomization,
        YamlKind::Compose => return DocKind::Compose,
        YamlKind::HelmValues => return DocKind::Values,
        YamlKind::Other => {}
    }
    let Some(root) = root.as_mapping() else {
        return DocKind::Other;
    };
    let doc_kind = root.get("kind").and_then(Node::as_str);
    let api_version = root.get("apiVersion").and_then(Node::as_str);
    let kustomize_api = api_version.is_some_and(|a| a.starts_with("kustomize.config.k8s.io/"));
    match (api_version, doc_kind) {
        (_, Some("Kustomization")) => DocKind::Kustomization,
        // Kustomize components carry `images:` just like kustomizations.
        (_, Some("Component")) if kustomize_api => DocKind::Kustomization,
        // `kind` alone is enough: a manifest missing its apiVersion is still
        // a manifest, and its containers' images must be checked, not skipped.
        (_, Some(_)) => DocKind::Kubernetes,
        (None, None) if is_compose(root) => DocKind::Compose,
        _ => DocKind::Other,
    }
}

/// A top-level `services` mapping whose values are all mappings.
pub(crate) fn is_compose(root: &Mapping) -> bool {
    root.get("services")
        .and_then(Node::as_mapping)
        .is_some_and(|services| {
            services
                .entries
                .iter()
                .all(|(_, service)| service.as_mapping().is_some())
        })
}

/// How sure a rule is that what it found is an image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Mode {
    /// It must be: a bad reference is an error.
    Strict,
    /// It might not be (`image: logo.png` in a docs config): report only
    /// what carries a tag or digest, and skip what does not parse.
    Lenient,
}

struct Finder<'t> {
    text: &'t str,
    lines: LineIndex,
    /// Each site with the source span it was found at (for order and dedupe).
    found: Vec<(Range<usize>, Site)>,
    /// Spans already reported: an anchor aliased from two places is one site.
    seen: HashSet<(usize, usize)>,
}

/// Why a value cannot be resolved from the file: a template or a variable.
fn unresolvable_reason(value: &str) -> Option<&'static str> {
    if value.contains("{{") {
        Some(TEMPLATE)
    } else if value.contains('$') {
        Some(VARIABLE)
    } else {
        None
    }
}

/// A scalar's value when it holds something: not null, not empty.
fn present(node: Option<&Node>) -> Option<&Scalar> {
    node.and_then(Node::as_scalar)
        .filter(|s| !s.is_null() && !s.value.is_empty())
}

impl Finder<'_> {
    fn line(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    fn push(&mut self, key: Range<usize>, line: usize, state: SiteState) {
        if self.seen.insert((key.start, key.end)) {
            self.found.push((key, Site { line, state }));
        }
    }

    fn cannot_edit(&self, scalar: &Scalar) -> FindError {
        FindError::at(
            self.line(scalar.span.start),
            format!(
                "the image {:?} is written in a form wharf cannot edit byte-exactly \
                 (escapes, quotes doubled, or split over lines); write it on one line",
                scalar.value
            ),
        )
    }

    /// A scalar that holds a whole reference: `image: nginx:1.25`.
    fn string_reference(&mut self, scalar: &Scalar, mode: Mode) -> Result<(), FindError> {
        let line = self.line(scalar.span.start);
        let value = scalar.value.as_str();
        if let Some(reason) = unresolvable_reason(value) {
            if mode == Mode::Strict {
                let state = SiteState::Unresolvable {
                    text: value.to_string(),
                    reason: reason.to_string(),
                };
                self.push(scalar.span.clone(), line, state);
            }
            return Ok(());
        }
        let verbatim = scalar.is_verbatim(self.text);
        let reference = match Reference::parse(value) {
            Ok(reference) => reference,
            Err(_) if mode == Mode::Lenient => return Ok(()),
            // A block or multi-line scalar fails to parse for its line
            // breaks; say what to do about the form, not about '\n'.
            Err(_) if !verbatim => return Err(self.cannot_edit(scalar)),
            Err(e) => return Err(FindError::at(line, e.to_string())),
        };
        if reference.digest().is_some() {
            self.push(scalar.span.clone(), line, SiteState::Pinned(reference));
            return Ok(());
        }
        if mode == Mode::Lenient && reference.tag().is_none() {
            return Ok(());
        }
        let span = match scalar.inner_span() {
            Some(span) if verbatim => span,
            _ => return Err(self.cannot_edit(scalar)),
        };
        self.push(
            span.clone(),
            line,
            SiteState::Unpinned(reference, Patch::Reference { span }),
        );
        Ok(())
    }

    /// The patch that fills an existing `digest:` key whose value is empty
    /// or null.
    fn fill_empty_digest(&self, key: &Node, value: &Scalar) -> Patch {
        if !value.span.is_empty() {
            // `""`, `''`, `~`, `null`: replace the content.
            if let Some(span) = value.inner_span() {
                return Patch::Digest { span };
            }
        }
        let key_end = key.span().end;
        let at = value.span.start;
        let after_colon = self
            .text
            .get(key_end..at)
            .is_some_and(|between| between.contains(':'));
        if after_colon {
            Patch::Insert {
                at,
                before: " ".to_string(),
                after: String::new(),
            }
        } else {
            // A flow key without `:` (`{digest}`).
            Patch::Insert {
                at: key_end,
                before: ": ".to_string(),
                after: String::new(),
            }
        }
    }

    fn kustomization(&mut self, root: &Mapping) -> Result<(), FindError> {
        let Some(images) = root.get("images").and_then(Node::as_sequence) else {
            return Ok(());
        };
        for entry in &images.items {
            match entry {
                Node::Mapping(entry) => self.kustomize_image(entry)?,
                other if other.is_null() => {}
                other => {
                    return Err(FindError::at(
                        self.line(other.span().start),
                        "an `images:` entry is not a mapping; kustomize expects {name, newName, newTag, digest}",
                    ))
                }
            }
        }
        Ok(())
    }

    fn kustomize_image(&mut self, entry: &Mapping) -> Result<(), FindError> {
        let line = self.line(entry.span.start);
        let Some(name) = present(entry.get("name")) else {
            return Err(FindError::at(
                line,
                "an `images:` entry has no name; kustomize needs it to match images",
            ));
        };
        let target = present(entry.get("newName")).unwrap_or(name).value.as_str();
        let new_tag = present(entry.get("newTag")).map(|s| s.value.as_str());
        let digest_entry = entry.entry("digest");
        let digest = digest_entry.and_then(|(_, v)| present(Some(v)));

        let written = [Some(target), new_tag, digest.map(|d| d.value.as_str())];
        if let Some(reason) = written
            .iter()
            .flatten()
            .find_map(|v| unresolvable_reason(v))
        {
            let state = SiteState::Unresolvable {
                text: target.to_string(),
                reason: reason.to_string(),
            };
            self.push(entry.span.clone(), line, state);
            return Ok(());
        }
        let parse =
            |text: &str| Reference::parse(text).map_err(|e| FindError::at(line, e.to_string()));

        if let Some(digest) = digest {
            let reference = parse(&format!("{target}@{}", digest.value))?;
            self.push(entry.span.clone(), line, SiteState::Pinned(reference));
            return Ok(());
        }
        let Some(tag) = new_tag else {
            let state = SiteState::Unresolvable {
                text: target.to_string(),
                reason: KUSTOMIZE_NO_TAG.to_string(),
            };
            self.push(entry.span.clone(), line, state);
            return Ok(());
        };
        let reference = parse(&format!("{target}:{tag}"))?;
        if reference.digest().is_some() {
            // `newTag: 1.25@sha256:…`
            self.push(entry.span.clone(), line, SiteState::Pinned(reference));
            return Ok(());
        }
        let patch = match digest_entry {
            Some((key, Node::Scalar(value))) => self.fill_empty_digest(key, value),
            Some((_, value)) => {
                return Err(FindError::at(
                    self.line(value.span().start),
                    "`digest:` holds a list or mapping; kustomize expects sha256:<hex>",
                ))
            }
            None => self.insert_digest_key(entry)?,
        };
        // A site's line is its span's; an insertion's is its entry's.
        let line = match patch {
            Patch::Insert { .. } => line,
            _ => self.line(patch.span().start),
        };
        self.push(patch.span(), line, SiteState::Unpinned(reference, patch));
        Ok(())
    }

    /// A new `digest:` key at the end of a kustomize `images:` entry.
    fn insert_digest_key(&self, entry: &Mapping) -> Result<Patch, FindError> {
        let (at, before) = yaml::new_key(self.text, entry, "digest").map_err(|(offset, why)| {
            FindError::at(self.line(offset), format!("this `images:` entry {why}"))
        })?;
        Ok(Patch::Insert {
            at,
            before,
            after: String::new(),
        })
    }

    fn compose(&mut self, root: &Mapping) -> Result<(), FindError> {
        let Some(services) = root.get("services").and_then(Node::as_mapping) else {
            return Ok(());
        };
        for (_, service) in &services.entries {
            let image = service.as_mapping().and_then(|s| s.get_merged("image"));
            if let Some(image) = present(image) {
                self.string_reference(image, Mode::Strict)?;
            }
        }
        Ok(())
    }

    /// `image:` of every container list item, at any depth (Pod, workload
    /// templates, CronJob's jobTemplate, `kind: List` items, CRDs).
    fn kubernetes(&mut self, node: &Node) -> Result<(), FindError> {
        match node {
            Node::Mapping(map) => {
                for (key, value) in &map.entries {
                    let is_container_list =
                        key.as_str().is_some_and(|k| CONTAINER_KEYS.contains(&k));
                    if let (true, Some(list)) = (is_container_list, value.as_sequence()) {
                        for container in list.items.iter().filter_map(Node::as_mapping) {
                            if let Some(image) = present(container.get("image")) {
                                self.string_reference(image, Mode::Strict)?;
                            }
                        }
                    }
                    self.kubernetes(value)?;
                }
            }
            Node::Sequence(seq) => {
                for item in &seq.items {
                    self.kubernetes(item)?;
                }
            }
            Node::Scalar(_) => {}
        }
        Ok(())
    }

    /// Helm values (and, leniently, any other YAML): `image:` strings and
    /// `{registry, repository, tag, digest}` maps, at any depth.
    fn values(&mut self, node: &Node, mode: Mode) -> Result<(), FindError> {
        match node {
            Node::Mapping(map) if is_image_map(map) => self.image_map(map, mode)?,
            Node::Mapping(map) => {
                for (key, value) in &map.entries {
                    let image_string = match value {
                        Node::Scalar(s)
                            if key.as_str() == Some("image")
                                && s.is_string()
                                && !s.value.is_empty() =>
                        {
                            Some(s)
                        }
                        _ => None,
                    };
                    match image_string {
                        Some(scalar) => self.string_reference(scalar, mode)?,
                        None => self.values(value, mode)?,
                    }
                }
            }
            Node::Sequence(seq) => {
                for item in &seq.items {
                    self.values(item, mode)?;
                }
            }
            Node::Scalar(_) => {}
        }
        Ok(())
    }

    /// `{registry?, repository, tag?, digest?}`: the chart joins them as
    /// `registry/repository:tag` (or `@digest`).
    fn image_map(&mut self, map: &Mapping, mode: Mode) -> Result<(), FindError> {
        let Some(repository) = present(map.get("repository")) else {
            return Ok(());
        };
        let map_line = self.line(repository.span.start);
        let registry = present(map.get("registry")).map(|s| s.value.as_str());
        let name = match registry {
            Some(registry) => format!("{registry}/{}", repository.value),
            None => repository.value.clone(),
        };
        let tag_entry = map.entry("tag");
        let tag = tag_entry.and_then(|(_, v)| present(Some(v)));
        let digest_entry = map.entry("digest");
        let digest = digest_entry.and_then(|(_, v)| present(Some(v)));

        let written = [
            Some(name.as_str()),
            tag.map(|t| t.value.as_str()),
            digest.map(|d| d.value.as_str()),
        ];
        if let Some(reason) = written
            .iter()
            .flatten()
            .find_map(|v| unresolvable_reason(v))
        {
            if mode == Mode::Strict {
                let state = SiteState::Unresolvable {
                    text: name,
                    reason: reason.to_string(),
                };
                self.push(map.span.clone(), map_line, state);
            }
            return Ok(());
        }

        if let Some(digest) = digest {
            let line = self.line(digest.span.start);
            let with_tag = tag.map(|t| format!("{name}:{}@{}", t.value, digest.value));
            let parsed = with_tag
                .and_then(|text| Reference::parse(&text).ok())
                .map_or_else(|| Reference::parse(&format!("{name}@{}", digest.value)), Ok);
            match parsed {
                Ok(reference) => self.push(map.span.clone(), line, SiteState::Pinned(reference)),
                Err(_) if mode == Mode::Lenient => {}
                Err(e) => return Err(FindError::at(line, e.to_string())),
            }
            return Ok(());
        }
        let Some(tag) = tag else {
            let state = SiteState::Unresolvable {
                text: name,
                reason: HELM_NO_TAG.to_string(),
            };
            self.push(map.span.clone(), map_line, state);
            return Ok(());
        };
        let line = self.line(tag.span.start);
        let reference = match Reference::parse(&format!("{name}:{}", tag.value)) {
            Ok(reference) => reference,
            Err(_) if mode == Mode::Lenient => return Ok(()),
            Err(e) => return Err(FindError::at(line, e.to_string())),
        };
        if reference.digest().is_some() {
            // `tag: 1.25@sha256:…`, which is what pinning a tag writes.
            self.push(map.span.clone(), line, SiteState::Pinned(reference));
            return Ok(());
        }
        let (patch, line) = match digest_entry {
            Some((key, Node::Scalar(value))) => (
                self.fill_empty_digest(key, value),
                self.line(key.span().start),
            ),
            Some(_) if mode == Mode::Lenient => return Ok(()),
            Some((_, value)) => {
                return Err(FindError::at(
                    self.line(value.span().start),
                    "`digest:` holds a list or mapping; the chart expects sha256:<hex>",
                ))
            }
            None => match tag.inner_span() {
                Some(span) if tag.is_verbatim(self.text) => (Patch::Tag { span }, line),
                _ => return Err(self.cannot_edit(tag)),
            },
        };
        self.push(patch.span(), line, SiteState::Unpinned(reference, patch));
        Ok(())
    }
}

/// The Bitnami `{registry, repository, tag, digest}` and Helm default
/// `{repository, tag, pullPolicy}` shapes: a string `repository` and a
/// `tag` or `digest` key.
pub(crate) fn is_image_map(map: &Mapping) -> bool {
    let repository = map
        .get("repository")
        .and_then(Node::as_scalar)
        .is_some_and(Scalar::is_string);
    repository && (map.entry("tag").is_some() || map.entry("digest").is_some())
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    /// The digest the tests "resolve" every tag to.
    const D: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";
    /// A digest already in the fixtures.
    const P: &str = "sha256:aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa";

    fn replacement(text: &str, patch: &Patch) -> String {
        match patch {
            Patch::Reference { span } | Patch::Tag { span } => {
                format!("{}@{D}", &text[span.clone()])
            }
            Patch::Digest { .. } => D.to_string(),
            Patch::Insert { before, after, .. } => format!("{before}{D}{after}"),
        }
    }

    /// What `wharf pin --write` would write: each patch's span replaced.
    fn apply(text: &str, sites: &[Site]) -> String {
        let mut edits: Vec<(Range<usize>, String)> = sites
            .iter()
            .filter_map(|site| match &site.state {
                SiteState::Unpinned(_, patch) => Some((patch.span(), replacement(text, patch))),
                _ => None,
            })
            .collect();
        edits.sort_by_key(|(span, _)| std::cmp::Reverse(span.start));
        let mut out = text.to_string();
        for (span, with) in edits {
            out.replace_range(span, &with);
        }
        out
    }

    /// One line per site: `LINE STATE REFERENCE` (P shortened to `P`).
    fn summary(sites: &[Site]) -> Vec<String> {
        sites
            .iter()
            .map(|site| {
                let line = site.line;
                match &site.state {
                    SiteState::Pinned(r) => format!("{line} pinned {}", r.as_str().replace(P, "P")),
                    SiteState::Unpinned(r, patch) => {
                        let how = match patch {
                            Patch::Reference { .. } => "reference",
                            Patch::Tag { .. } => "tag",
                            Patch::Digest { .. } => "digest",
                            Patch::Insert { .. } => "insert",
                        };
                        format!("{line} {how} {r}")
                    }
                    SiteState::Unresolvable { text, reason } => {
                        format!("{line} unresolvable {text}: {reason}")
                    }
                }
            })
            .collect()
    }

    /// Scalars by path (`doc/key/0/key`), to compare files before and after.
    fn flatten(text: &str) -> BTreeMap<String, String> {
        fn walk(node: &Node, path: String, out: &mut BTreeMap<String, String>) {
            match node {
                Node::Scalar(s) => {
                    out.insert(path, s.value.clone());
                }
                Node::Sequence(seq) => {
                    for (i, item) in seq.items.iter().enumerate() {
                        walk(item, format!("{path}/{i}"), out);
                    }
                }
                Node::Mapping(map) => {
                    for (key, value) in &map.entries {
                        walk(
                            value,
                            format!("{path}/{}", key.as_str().unwrap_or("?")),
                            out,
                        );
                    }
                }
            }
        }
        let mut out = BTreeMap::new();
        for (i, doc) in yaml::parse_documents(text).unwrap().iter().enumerate() {
            walk(&doc.root, i.to_string(), &mut out);
        }
        out
    }

    /// Finds, pins, and checks the result: byte-for-byte as expected, still
    /// valid YAML, only the targeted values changed (by the digest), and a
    /// second run finds the same sites, all pinned.
    fn pin(text: &str, kind: YamlKind, expected: &str) -> Vec<String> {
        let sites = find(text, kind).unwrap();
        let pinned = apply(text, &sites);
        assert_eq!(
            pinned, expected,
            "\n--- got ---\n{pinned}\n--- want ---\n{expected}"
        );

        let before = flatten(text);
        let after = flatten(&pinned);
        for path in before.keys() {
            assert!(after.contains_key(path), "{path} disappeared");
        }
        let mut changed = 0;
        for (path, new) in &after {
            match before.get(path) {
                Some(old) if old == new => {}
                Some(old) if matches!(old.as_str(), "" | "~" | "null") => {
                    assert_eq!(new, D, "{path}")
                }
                Some(old) => assert_eq!(new, &format!("{old}@{D}"), "{path}"),
                None => assert!(
                    path.ends_with("/digest") && new == D,
                    "{path} = {new:?} added"
                ),
            }
            changed += usize::from(before.get(path) != Some(new));
        }
        // An anchor's edit also changes every alias of it, so a patch
        // changes at least one value.
        let unpinned = sites
            .iter()
            .filter(|s| matches!(s.state, SiteState::Unpinned(..)))
            .count();
        assert!(
            changed >= unpinned,
            "{changed} values changed for {unpinned} patches"
        );

        let again = find(&pinned, kind).unwrap();
        assert_eq!(again.len(), sites.len(), "{:?}", summary(&again));
        // Inserted `digest:` lines move what follows them.
        let same_lines = text.lines().count() == pinned.lines().count();
        for (first, second) in sites.iter().zip(&again) {
            if same_lines {
                assert_eq!(first.line, second.line);
            }
            assert!(
                !matches!(second.state, SiteState::Unpinned(..)),
                "{second:?}"
            );
        }
        summary(&sites)
    }

    fn error(text: &str, kind: YamlKind) -> FindError {
        match find(text, kind) {
            Ok(sites) => panic!("expected an error, found {:?}", summary(&sites)),
            Err(e) => e,
        }
    }

    #[test]
    fn deployment_keeps_comments_blank_lines_and_quote_styles() {
        let text = format!(
            "# A deployment; comments must survive.
apiVersion: apps/v1
kind: Deployment
metadata:
  name: web   # inline

spec:
  template:
    spec:
      initContainers:
        - name: init
          image: 'busybox:1.36'   # single quotes
      containers:
        - name: web
          image: \"ghcr.io/acme/web:v1.2.3\"
          env:
            - name: image
              value: not-an-image:1
        # a full-line comment between items

        - name: sidecar
          image: envoyproxy/envoy:v1.30.1 # plain
        - name: pinned
          image: nginx:1.25@{P}
"
        );
        let expected = text
            .replace("'busybox:1.36'", &format!("'busybox:1.36@{D}'"))
            .replace(
                "\"ghcr.io/acme/web:v1.2.3\"",
                &format!("\"ghcr.io/acme/web:v1.2.3@{D}\""),
            )
            .replace("envoy:v1.30.1 #", &format!("envoy:v1.30.1@{D} #"));
        assert_eq!(
            pin(&text, YamlKind::Other, &expected),
            [
                "12 reference busybox:1.36",
                "15 reference ghcr.io/acme/web:v1.2.3",
                "22 reference envoyproxy/envoy:v1.30.1",
                "24 pinned nginx:1.25@P",
            ]
        );
    }

    #[test]
    fn crlf_and_bom_are_kept() {
        let text = "\u{feff}apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: \"nginx:1.25\"\r\n  - name: b\r\n    image: redis\r\n";
        let expected = format!(
            "\u{feff}apiVersion: v1\r\nkind: Pod\r\nspec:\r\n  containers:\r\n  - name: a\r\n    image: \"nginx:1.25@{D}\"\r\n  - name: b\r\n    image: redis@{D}\r\n"
        );
        assert_eq!(
            pin(text, YamlKind::Other, &expected),
            ["6 reference nginx:1.25", "8 reference redis"]
        );
    }

    #[test]
    fn multi_document_manifests_with_a_cronjob_and_ephemeral_containers() {
        let text = "---
apiVersion: batch/v1
kind: CronJob
metadata: {name: nightly}
spec:
  schedule: \"0 3 * * *\"
  jobTemplate:
    spec:
      template:
        spec:
          containers:
          - name: job
            image: ghcr.io/acme/nightly:2024.06
          restartPolicy: OnFailure
---
apiVersion: v1
kind: ConfigMap
metadata:
  name: not-containers
data:
  image: nginx:1.25
---
# only a comment
---
apiVersion: v1
kind: Pod
spec:
  ephemeralContainers:
  - name: debug
    image: busybox:1.36
...
";
        let expected = text
            .replace("nightly:2024.06", &format!("nightly:2024.06@{D}"))
            .replace("busybox:1.36", &format!("busybox:1.36@{D}"));
        assert_eq!(
            pin(text, YamlKind::Other, &expected),
            [
                "13 reference ghcr.io/acme/nightly:2024.06",
                "30 reference busybox:1.36"
            ]
        );
    }

    #[test]
    fn list_kind_and_unknown_crds_at_any_depth() {
        let text = "apiVersion: v1
kind: List
items:
- apiVersion: apps/v1
  kind: StatefulSet
  spec:
    template:
      spec:
        containers:
        - {name: db, image: 'postgres:16.3'}
- apiVersion: example.com/v1
  kind: Widget
  spec:
    image: quay.io/not/reported:1
    deep:
      pods:
      - spec:
          initContainers: [{name: i, image: alpine:3.20}]
";
        let expected = text
            .replace("'postgres:16.3'", &format!("'postgres:16.3@{D}'"))
            .replace("alpine:3.20}", &format!("alpine:3.20@{D}}}"));
        assert_eq!(
            pin(text, YamlKind::Other, &expected),
            ["10 reference postgres:16.3", "18 reference alpine:3.20"]
        );
    }

    #[test]
    fn flow_style_manifests() {
        let text = "{apiVersion: v1, kind: Pod, spec: {containers: [{name: a, image: \"nginx:1.25\"}, {name: b, image: redis}]}}\n";
        let expected = format!(
            "{{apiVersion: v1, kind: Pod, spec: {{containers: [{{name: a, image: \"nginx:1.25@{D}\"}}, {{name: b, image: redis@{D}}}]}}}}\n"
        );
        assert_eq!(
            pin(text, YamlKind::Other, &expected),
            ["1 reference nginx:1.25", "1 reference redis"]
        );
    }

    #[test]
    fn compose_anchor_aliased_twice_is_one_edit_at_the_anchor() {
        let text = "x-img: &img nginx:1.25
x-defaults: &defaults
  image: \"redis:7\"
  restart: always

services:
  web:
    image: *img
  web2:
    image: *img
  cache:
    <<: *defaults
  builder:
    build: .
  app:
    image: ${REGISTRY}/app:${TAG:-latest}
  db:
    image: 'postgres:16' # comment
";
        let expected = text
            .replace("&img nginx:1.25", &format!("&img nginx:1.25@{D}"))
            .replace("\"redis:7\"", &format!("\"redis:7@{D}\""))
            .replace("'postgres:16'", &format!("'postgres:16@{D}'"));
        let want = [
            "1 reference nginx:1.25",
            "3 reference redis:7",
            &format!("16 unresolvable ${{REGISTRY}}/app:${{TAG:-latest}}: {VARIABLE}"),
            "18 reference postgres:16",
        ];
        assert_eq!(pin(text, YamlKind::Compose, &expected), want);
        assert_eq!(pin(text, YamlKind::Other, &expected), want);
    }

    #[test]
    fn kustomization_block_and_flow_entries() {
        let text = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: nginx
    newTag: \"1.25\"   # keep me
  - name: app
    newName: ghcr.io/acme/app
    newTag: 3

  - name: pinned
    newName: ghcr.io/acme/pinned
    digest: {P}
  - name: fromresources
    newName: ghcr.io/acme/x
  - name: emptyquoted
    newTag: v1
    digest: \"\"
  - name: tilde
    newTag: v1
    digest: ~
  - name: novalue
    newTag: v1
    digest:
  - {{name: flow, newTag: v2}}
  - {{ name: flowspaced, newName: quay.io/x/y, newTag: v3, }}
"
        );
        let expected = format!(
            "apiVersion: kustomize.config.k8s.io/v1beta1
kind: Kustomization
resources:
  - deployment.yaml
images:
  - name: nginx
    newTag: \"1.25\"   # keep me
    digest: {D}
  - name: app
    newName: ghcr.io/acme/app
    newTag: 3
    digest: {D}

  - name: pinned
    newName: ghcr.io/acme/pinned
    digest: {P}
  - name: fromresources
    newName: ghcr.io/acme/x
  - name: emptyquoted
    newTag: v1
    digest: \"{D}\"
  - name: tilde
    newTag: v1
    digest: {D}
  - name: novalue
    newTag: v1
    digest: {D}
  - {{name: flow, newTag: v2, digest: {D}}}
  - {{ name: flowspaced, newName: quay.io/x/y, newTag: v3, digest: {D}, }}
"
        );
        assert_eq!(
            pin(&text, YamlKind::Other, &expected),
            [
                "6 insert nginx:1.25",
                "8 insert ghcr.io/acme/app:3",
                "12 pinned ghcr.io/acme/pinned@P",
                &format!("15 unresolvable ghcr.io/acme/x: {KUSTOMIZE_NO_TAG}"),
                "19 digest emptyquoted:v1",
                "22 digest tilde:v1",
                "23 insert novalue:v1",
                "26 insert flow:v2",
                "27 insert quay.io/x/y:v3",
            ]
        );
    }

    #[test]
    fn kustomization_crlf_insertion_keeps_crlf_even_at_the_end_of_the_file() {
        // The file name says kustomization; there is no `kind:`.
        let text = "images:\r\n- name: a\r\n  newTag: v1 # c\r\n- name: b\r\n  newTag: v2";
        let expected = format!(
            "images:\r\n- name: a\r\n  newTag: v1 # c\r\n  digest: {D}\r\n- name: b\r\n  newTag: v2\r\n  digest: {D}"
        );
        assert_eq!(
            pin(text, YamlKind::Kustomization, &expected),
            ["2 insert a:v1", "4 insert b:v2"]
        );
    }

    #[test]
    fn kustomization_insert_uses_the_entry_indent() {
        let text = "images:\n  -   name: a\n      newTag: v1\n  - &e name: b\n    newTag: v2\n  - name: c\n    newTag: v3\n    extra:\n      k: v\n";
        let expected = format!(
            "images:\n  -   name: a\n      newTag: v1\n      digest: {D}\n  - &e name: b\n    newTag: v2\n    digest: {D}\n  - name: c\n    newTag: v3\n    extra:\n      k: v\n    digest: {D}\n"
        );
        assert_eq!(
            pin(text, YamlKind::Kustomization, &expected),
            ["2 insert a:v1", "4 insert b:v2", "6 insert c:v3"]
        );
        let patch = find(
            "images:\n- name: a\n  newTag: v1\n",
            YamlKind::Kustomization,
        )
        .unwrap();
        assert_eq!(
            patch[0].state,
            SiteState::Unpinned(
                Reference::parse("a:v1").unwrap(),
                Patch::Insert {
                    at: 30,
                    before: "\n  digest: ".to_string(),
                    after: String::new()
                }
            )
        );
    }

    #[test]
    fn kustomization_errors_name_the_line() {
        let err = error("images:\n- newTag: v1\n", YamlKind::Kustomization);
        assert_eq!(err.line, Some(2));
        let err = error(
            "kind: Kustomization\nimages:\n- name: a\n  newName: Ghcr.io/Acme\n  newTag: v1\n",
            YamlKind::Other,
        );
        assert_eq!(err.line, Some(3));
        assert!(err.message.contains("\"Ghcr.io/Acme:v1\""), "{err}");
    }

    #[test]
    fn helm_values_maps_and_strings() {
        let text = format!(
            "# Default values for web.
image:
  repository: nginx
  pullPolicy: IfNotPresent
  # Overrides the image tag whose default is the chart appVersion.
  tag: \"\"

sidecar:
  image:
    registry: docker.io
    repository: bitnami/redis
    tag: 7.2.4-debian-12-r9
    digest: \"\"
metrics:
  image:
    registry: quay.io
    repository: prometheus/node-exporter
    tag: 'v1.8.0'   # quoted
exporter:
  image: {{repository: ghcr.io/acme/exporter, tag: 1.25}}
pinned:
  image:
    registry: docker.io
    repository: bitnami/os-shell
    tag: 12-debian-12-r16
    digest: {P}
nodigestvalue:
  image:
    repository: acme/x
    tag: v1
    digest:
label: \"busybox:1.36\"
job:
  image: \"alpine:3.20\"
templated:
  image: \"{{{{ .Values.global.image }}}}\"
nullimage:
  image: ~
emptyimage:
  image: \"\"
shared: &shared
  repository: acme/shared
  tag: \"2.0\"
again: *shared
"
        );
        let expected = text
            .replace("    digest: \"\"", &format!("    digest: \"{D}\""))
            .replace("'v1.8.0'", &format!("'v1.8.0@{D}'"))
            .replace("tag: 1.25}", &format!("tag: 1.25@{D}}}"))
            .replace(
                "tag: v1\n    digest:\n",
                &format!("tag: v1\n    digest: {D}\n"),
            )
            .replace("\"alpine:3.20\"", &format!("\"alpine:3.20@{D}\""))
            .replace("tag: \"2.0\"", &format!("tag: \"2.0@{D}\""));
        assert_eq!(
            pin(&text, YamlKind::HelmValues, &expected),
            [
                &format!("3 unresolvable nginx: {HELM_NO_TAG}"),
                "13 digest docker.io/bitnami/redis:7.2.4-debian-12-r9",
                "18 tag quay.io/prometheus/node-exporter:v1.8.0",
                "20 tag ghcr.io/acme/exporter:1.25",
                "26 pinned docker.io/bitnami/os-shell:12-debian-12-r16@P",
                "31 insert acme/x:v1",
                "34 reference alpine:3.20",
                &format!("36 unresolvable {{{{ .Values.global.image }}}}: {TEMPLATE}"),
                "43 tag acme/shared:2.0",
            ]
        );
    }

    #[test]
    fn helm_values_invalid_reference_is_an_error_but_skipped_elsewhere() {
        let text = "app:\n  image: \"Nginx:1\"\n";
        let err = error(text, YamlKind::HelmValues);
        assert_eq!(err.line, Some(2));
        assert!(err.message.contains("\"Nginx:1\""), "{err}");
        assert_eq!(find(text, YamlKind::Other).unwrap(), []);

        let odd = "image:\n  repository: acme/x\n  tag: v1\n  digest: [a]\n";
        assert_eq!(error(odd, YamlKind::HelmValues).line, Some(4));
        assert_eq!(find(odd, YamlKind::Other).unwrap(), []);

        let map = "image:\n  repository: acme/x\n  tag: \"-bad\"\n";
        assert_eq!(error(map, YamlKind::HelmValues).line, Some(3));
        assert_eq!(find(map, YamlKind::Other).unwrap(), []);
    }

    #[test]
    fn other_yaml_reports_only_images_with_a_tag_or_digest() {
        let mkdocs = "site_name: docs\ntheme:\n  logo: assets/logo.png\n  image: logo.png\nextra:\n  image: docs/diagram.svg\n";
        assert_eq!(find(mkdocs, YamlKind::Other).unwrap(), []);

        let workflow = "name: ci
on: push
jobs:
  test:
    runs-on: ubuntu-latest
    container:
      image: node:20-bookworm
    services:
      redis:
        image: redis:7
    strategy:
      matrix:
        image: [a, b]
    steps:
      - uses: actions/checkout@v4
        with:
          image: ${{ matrix.image }}
";
        let expected = workflow
            .replace("node:20-bookworm", &format!("node:20-bookworm@{D}"))
            .replace("redis:7", &format!("redis:7@{D}"));
        assert_eq!(
            pin(workflow, YamlKind::Other, &expected),
            ["7 reference node:20-bookworm", "10 reference redis:7"]
        );
    }

    #[test]
    fn values_that_cannot_be_edited_byte_exactly_are_errors() {
        for (text, line) in [
            ("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: \"nginx\\x3a1.25\"\n", 5),
            ("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: >-\n      nginx:1.25\n", 6),
            ("apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: nginx:1.25\n      -alpine\n", 5),
            ("services:\n  web:\n    image: \"nginx:\n      1.25\"\n", 3),
            ("image:\n  repository: acme/x\n  tag: \"v\\x31\"\n", 3),
        ] {
            let err = error(text, YamlKind::Other);
            assert_eq!(err.line, Some(line), "{text:?}: {err}");
            assert!(err.message.contains("write it on one line"), "{err}");
        }
        // Already pinned needs no edit, whatever its form.
        let text = format!("services:\n  web:\n    image: >-\n      nginx:1.25@{P}\n");
        assert_eq!(
            summary(&find(&text, YamlKind::Compose).unwrap()),
            ["4 pinned nginx:1.25@P"]
        );
    }

    #[test]
    fn invalid_references_in_manifests_and_compose_are_errors() {
        let err = error(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - name: a\n    image: \"nginx:\"\n",
            YamlKind::Other,
        );
        assert_eq!(err.line, Some(6));
        assert!(
            err.message.contains("invalid image reference \"nginx:\""),
            "{err}"
        );
        let err = error(
            "services:\n  web:\n    image: https://ghcr.io/a\n",
            YamlKind::Other,
        );
        assert_eq!(err.line, Some(3));
        assert!(err.to_string().starts_with("line 3: "), "{err}");
    }

    #[test]
    fn a_manifest_without_api_version_is_still_checked() {
        // Regression: with `kind` but no `apiVersion` the document was taken
        // for arbitrary YAML and its invalid image skipped in silence.
        let err = error(
            "kind: Pod\nspec:\n  containers:\n  - name: a\n    image: REG/App:1.0\n",
            YamlKind::Other,
        );
        assert_eq!(err.line, Some(5));
    }

    #[test]
    fn templates_are_unresolvable() {
        let text =
            "apiVersion: v1\nkind: Pod\nspec:\n  containers:\n  - image: \"{{ .Values.image }}\"\n";
        assert_eq!(
            summary(&find(text, YamlKind::Other).unwrap()),
            [format!(
                "5 unresolvable {{{{ .Values.image }}}}: {TEMPLATE}"
            )]
        );
    }

    #[test]
    fn malformed_yaml_is_an_error_with_the_parser_line() {
        let err = error(
            "apiVersion: v1\nkind: Pod\nspec:\n  containers: [\n    {name: a, image: b\n",
            YamlKind::Other,
        );
        assert!(err.line.is_some_and(|l| l >= 4), "{err}");
        assert!(err.message.starts_with("this is not valid YAML: "), "{err}");
        let err = error("a: b\n c: d\n", YamlKind::HelmValues);
        assert_eq!(err.line, Some(2), "{err}");
    }

    #[test]
    fn hostile_nesting_is_an_error_not_a_stack_overflow() {
        let text = "spec:\n  containers:\n  - image: ".to_string() + &"[".repeat(200_000);
        let err = error(&text, YamlKind::Other);
        assert!(err.line.is_some(), "{err}");
        let text: String = (0..600)
            .map(|i| format!("{}a:\n", "  ".repeat(i)))
            .collect();
        assert!(find(&text, YamlKind::HelmValues).is_err());
    }

    #[test]
    fn already_pinned_is_left_alone() {
        let text = format!("services:\n  web:\n    image: ghcr.io/acme/web@{P}\n  api:\n    image: \"ghcr.io/acme/api:v1@{P}\"\n");
        assert_eq!(
            pin(&text, YamlKind::Other, &text),
            [
                "3 pinned ghcr.io/acme/web@P",
                "5 pinned ghcr.io/acme/api:v1@P"
            ]
        );
    }

    #[test]
    fn nothing_to_find() {
        for text in [
            "",
            "# nothing\n",
            "---\n---\n",
            "just a scalar\n",
            "- a\n- b\n",
        ] {
            for kind in [
                YamlKind::Kustomization,
                YamlKind::Compose,
                YamlKind::HelmValues,
                YamlKind::Other,
            ] {
                assert_eq!(find(text, kind).unwrap(), [], "{text:?} as {kind:?}");
            }
        }
    }

    #[test]
    fn never_panics_on_mangled_input() {
        let seeds = [
            "images:\r\n- name: a\r\n  newTag: v1\r\n  digest:\r\n- {name: b, newTag: 2, }\r\n",
            "\u{feff}services:\n  web: &w {image: \"nginx:1\", <<: *d}\n  b:\n    image: *w\n",
            "image:\n  registry: r.io\n  repository: a/b\n  tag: 1.25\n  digest: ~\nx: {image: 'c:1'}\n",
            "apiVersion: v1\nkind: List\nitems:\n- spec:\n    containers:\n    - image: >-\n        a:1\n",
        ];
        let mut state: u64 = 0x2545_f491_4f6c_dd1d;
        let mut next = move |bound: usize| {
            state ^= state << 13;
            state ^= state >> 7;
            state ^= state << 17;
            (state % bound.max(1) as u64) as usize
        };
        let kinds = [
            YamlKind::Kustomization,
            YamlKind::Compose,
            YamlKind::HelmValues,
            YamlKind::Other,
        ];
        for _ in 0..3_000 {
            let chars: Vec<char> = seeds[next(seeds.len())].chars().collect();
            let mut text = String::new();
            for _ in 0..(1 + next(4)) {
                let a = next(chars.len());
                let b = (a + next(chars.len() - a + 1)).min(chars.len());
                text.extend(&chars[a..b]);
            }
            if let Ok(sites) = find(&text, kinds[next(kinds.len())]) {
                // Every patch must address a real place in the text.
                for site in &sites {
                    if let SiteState::Unpinned(_, patch) = &site.state {
                        assert!(text.get(patch.span()).is_some(), "{text:?}: {patch:?}");
                    }
                }
                let _ = apply(&text, &sites);
            }
        }
    }
}
