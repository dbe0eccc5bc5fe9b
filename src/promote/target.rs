//! Where the promoted image stands in a YAML file, and the edits that put
//! the signed digest there.
//!
//! The shapes, by document kind:
//! - Helm values: `image: repo:tag` strings (and any string value that names
//!   the repository with a tag or digest), `{repository, tag}` maps (the
//!   chart joins them with `:`, so the digest goes into `tag`) and maps with
//!   a `digest` key (Bitnami's `{registry, repository, tag, digest}`);
//! - kustomizations: `images:` entries, by `name` or `newName`;
//! - manifests: containers' `image:` fields (and compose services').
//!
//! Only the edited scalars change; comments, Flux setter comments
//! (`# {"$imagepolicy": …}`), quoting, key order and line breaks stay.

use std::collections::HashSet;
use std::ops::Range;

use super::edit::{self, Context, Edit};
use crate::cli::PromoteTarget;
use crate::pin::site::FindError;
use crate::pin::yaml::{classify, is_compose, DocKind, YamlKind, CONTAINER_KEYS};
use crate::reference::Reference;
use crate::text::LineIndex;
use crate::yaml::{self, Aliased, Mapping, Node, Scalar};

/// The image being promoted.
#[derive(Debug, Clone)]
pub struct Promotion {
    /// `registry/repository`, normalised (`nginx` is
    /// `docker.io/library/nginx`): what entries must name to match.
    pub repository: String,
    /// The tag to set, when IMAGE has one.
    pub tag: Option<String>,
    /// `sha256:…`
    pub digest: String,
    /// Dotted paths in Helm values whose image is promoted whatever
    /// repository it names (`--values-path`).
    pub values_paths: Vec<String>,
}

impl Promotion {
    pub fn new(image: &Reference, values_paths: Vec<String>) -> Option<Promotion> {
        Some(Promotion {
            repository: repository_key(image),
            tag: image.tag().map(str::to_string),
            digest: image.digest()?.to_string(),
            values_paths,
        })
    }

    fn matches(&self, reference: &Reference) -> bool {
        repository_key(reference) == self.repository
    }
}

/// `registry/repository` with Docker Hub's defaults made explicit.
pub fn repository_key(reference: &Reference) -> String {
    format!("{}/{}", reference.registry(), reference.repository())
}

/// One place the image stands.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Target {
    /// 1-based line of the value (or of the entry for insertions).
    pub line: usize,
    /// What it reads now, as the consumer would join it.
    pub before: String,
    /// What it reads after the promotion.
    pub after: String,
    /// Empty when it already reads `after`.
    pub edits: Vec<Edit>,
}

/// What a file holds for the promotion.
#[derive(Debug, Default)]
pub struct Plan {
    pub targets: Vec<Target>,
    /// Things the user should know that are not errors (a templated image
    /// wharf cannot see through).
    pub notes: Vec<String>,
}

const TEMPLATE: &str = "is a template ({{ … }}); wharf cannot edit it safely. Promote the values it is rendered from, or write the value out";

/// Finds the image's places in `text` and the edits that promote them.
pub fn plan(
    text: &str,
    kind: YamlKind,
    forced: Option<PromoteTarget>,
    promotion: &Promotion,
) -> Result<Plan, FindError> {
    let documents = yaml::parse_documents(text)
        .map_err(|e| FindError::at(e.line, format!("this is not valid YAML: {}", e.message)))?;
    let mut planner = Planner {
        text,
        lines: LineIndex::new(text),
        promotion,
        aliased: Vec::new(),
        plan: Plan::default(),
        seen: HashSet::new(),
    };
    let mut paths_found = vec![false; promotion.values_paths.len()];
    let mut values_documents = false;
    for document in &documents {
        planner.aliased = document.aliased.clone();
        let root = &document.root;
        let doc_kind = match forced {
            Some(PromoteTarget::Helm) => DocKind::Values,
            Some(PromoteTarget::Kustomize) => DocKind::Kustomization,
            Some(PromoteTarget::Manifest) => match root.as_mapping() {
                Some(map) if is_compose(map) && map.get("kind").is_none() => DocKind::Compose,
                _ => DocKind::Kubernetes,
            },
            None => classify(root, kind),
        };
        match doc_kind {
            DocKind::Kustomization => {
                if let Some(root) = root.as_mapping() {
                    planner.kustomization(root)?;
                }
            }
            DocKind::Kubernetes => planner.kubernetes(root)?,
            DocKind::Compose => {
                if let Some(services) = root
                    .as_mapping()
                    .and_then(|r| r.get("services"))
                    .and_then(Node::as_mapping)
                {
                    for (_, service) in &services.entries {
                        if let Some(Node::Scalar(image)) =
                            service.as_mapping().and_then(|s| s.get_merged("image"))
                        {
                            planner.image_string(image, context(service), Match::Repository)?;
                        }
                    }
                }
            }
            DocKind::Values | DocKind::Other if !promotion.values_paths.is_empty() => {
                values_documents = true;
                for (i, path) in promotion.values_paths.iter().enumerate() {
                    if let Some(node) = lookup(root, path) {
                        paths_found[i] = true;
                        planner.forced(node, path)?;
                    }
                }
            }
            DocKind::Values | DocKind::Other => planner.values(root, false)?,
        }
    }
    if values_documents {
        if let Some(i) = paths_found.iter().position(|found| !found) {
            return Err(FindError {
                line: None,
                message: format!(
                    "there is no `{}` in these values; --values-path names a dotted path of keys \
                     (image, app.image, sidecars.0.image)",
                    promotion.values_paths[i]
                ),
            });
        }
    }
    planner.plan.targets.sort_by_key(|t| t.line);
    Ok(planner.plan)
}

/// The node at a dotted path: keys of mappings, indexes of sequences.
fn lookup<'n>(root: &'n Node, path: &str) -> Option<&'n Node> {
    path.split('.').try_fold(root, |node, part| match node {
        Node::Mapping(map) => map.get(part),
        Node::Sequence(seq) => part.parse::<usize>().ok().and_then(|i| seq.items.get(i)),
        Node::Scalar(_) => None,
    })
}

fn context(parent: &Node) -> Context {
    let flow = match parent {
        Node::Mapping(m) => m.flow,
        Node::Sequence(s) => s.flow,
        Node::Scalar(_) => false,
    };
    if flow {
        Context::Flow
    } else {
        Context::Block
    }
}

fn map_context(map: &Mapping) -> Context {
    if map.flow {
        Context::Flow
    } else {
        Context::Block
    }
}

/// How sure the walk is that a string is the image.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Match {
    /// `--values-path` named it: it must be an image; any repository.
    Forced,
    /// An `image:` field: the image when it names the repository.
    Repository,
    /// Any other string: the image only when it names the repository and
    /// carries a tag or digest (a bare name could be anything).
    Qualified,
}

/// A value with something in it (not null, not empty).
fn present(node: Option<&Node>) -> Option<&Scalar> {
    node.and_then(Node::as_scalar)
        .filter(|s| !s.is_null() && !s.value.is_empty())
}

/// `name[:tag][@digest]`, joined as charts and kustomize join them.
fn joined(name: &str, tag: Option<&str>, digest: Option<&str>) -> String {
    let mut out = name.to_string();
    if let Some(tag) = tag {
        out.push(':');
        out.push_str(tag);
    }
    if let Some(digest) = digest {
        out.push('@');
        out.push_str(digest);
    }
    out
}

/// A tag without a digest someone appended to it (`1.25@sha256:…`).
fn bare_tag(tag: &str) -> &str {
    tag.split_once('@').map_or(tag, |(t, _)| t)
}

struct Planner<'t> {
    text: &'t str,
    lines: LineIndex,
    promotion: &'t Promotion,
    aliased: Vec<Aliased>,
    plan: Plan,
    /// Spans already planned: a node reached again through an alias.
    seen: HashSet<(usize, usize)>,
}

impl Planner<'_> {
    fn line(&self, offset: usize) -> usize {
        self.lines.line_of(offset)
    }

    fn error(&self, offset: usize, message: impl Into<String>) -> FindError {
        FindError::at(self.line(offset), message)
    }

    /// Refuses an edit inside an anchored node an alias uses.
    fn check_alias(&self, span: &Range<usize>) -> Result<(), FindError> {
        match edit::aliased_conflict(&self.aliased, span) {
            Some(a) => Err(self.error(
                span.start,
                format!(
                    "this value is in an anchored node (&) that the alias on line {} uses; \
                     editing it would change both places. Write the value out in each place \
                     (drop the anchor and alias) so each can be promoted on its own",
                    self.line(a.alias)
                ),
            )),
            None => Ok(()),
        }
    }

    fn set(
        &self,
        scalar: &Scalar,
        value: &str,
        context: Context,
    ) -> Result<Option<Edit>, FindError> {
        let edit = edit::set_scalar(self.text, scalar, value, context)
            .map_err(|why| self.error(scalar.span.start, why))?;
        if let Some(edit) = &edit {
            self.check_alias(&edit.span)?;
        }
        Ok(edit)
    }

    fn push(&mut self, key: Range<usize>, target: Target) {
        if self.seen.insert((key.start, key.end)) {
            self.plan.targets.push(target);
        }
    }

    /// A string holding a whole reference.
    fn image_string(
        &mut self,
        scalar: &Scalar,
        context: Context,
        how: Match,
    ) -> Result<(), FindError> {
        let value = scalar.value.as_str();
        if value.is_empty() || scalar.is_null() {
            if how == Match::Forced {
                return Err(self.error(scalar.span.start, "the image here is empty"));
            }
            return Ok(());
        }
        if value.contains("{{") {
            if how == Match::Forced {
                return Err(
                    self.error(scalar.span.start, format!("the image {value:?} {TEMPLATE}"))
                );
            }
            self.plan.notes.push(format!(
                "line {}: the image {value:?} is a template wharf cannot see through; if it renders {}, promote the values it comes from",
                self.line(scalar.span.start),
                self.promotion.repository
            ));
            return Ok(());
        }
        // A block scalar's value ends with a line break; the reference is
        // the same, and `set` explains why it cannot be edited.
        let reference = match Reference::parse(value.trim()) {
            Ok(r) => r,
            Err(e) if how == Match::Forced => {
                return Err(self.error(scalar.span.start, e.to_string()))
            }
            Err(_) => return Ok(()),
        };
        if how != Match::Forced && !self.promotion.matches(&reference) {
            return Ok(());
        }
        if how == Match::Qualified && reference.tag().is_none() && reference.digest().is_none() {
            return Ok(());
        }
        if how == Match::Forced && !self.promotion.matches(&reference) {
            self.plan.notes.push(format!(
                "line {}: {} names another repository than the promoted image ({}); the digest is written as given",
                self.line(scalar.span.start),
                reference.name(),
                self.promotion.repository
            ));
        }
        let tag = self.promotion.tag.as_deref().or(reference.tag());
        let after = joined(reference.name(), tag, Some(&self.promotion.digest));
        let edits = self.set(scalar, &after, context)?.into_iter().collect();
        self.push(
            scalar.span.clone(),
            Target {
                line: self.line(scalar.span.start),
                before: value.trim().to_string(),
                after,
                edits,
            },
        );
        Ok(())
    }

    /// `{registry?, repository, tag?, digest?}`.
    fn image_map(&mut self, map: &Mapping, forced: bool) -> Result<(), FindError> {
        let Some(repository) = present(map.get("repository")) else {
            if forced {
                return Err(self.error(
                    map.span.start,
                    "this mapping has no `repository`; --values-path must name an image string or a \
                     {repository, tag} / {repository, digest} mapping",
                ));
            }
            return Ok(());
        };
        let registry = present(map.get("registry"));
        let tag = map.entry("tag");
        let digest = map.entry("digest");
        let name = match registry {
            Some(r) => format!("{}/{}", r.value, repository.value),
            None => repository.value.clone(),
        };
        let written = [
            Some(repository),
            registry,
            tag.and_then(|(_, v)| present(Some(v))),
            digest.and_then(|(_, v)| present(Some(v))),
        ];
        let templated = written.iter().flatten().find(|s| s.value.contains("{{"));
        let reference = Reference::parse(&name);
        let ours = reference.as_ref().is_ok_and(|r| self.promotion.matches(r));
        if !ours && !forced {
            if let Some(t) = templated {
                if t.span == repository.span || registry.is_some_and(|r| r.span == t.span) {
                    self.plan.notes.push(format!(
                        "line {}: the image {name:?} is a template wharf cannot see through; if it renders {}, promote the values it comes from",
                        self.line(t.span.start),
                        self.promotion.repository
                    ));
                }
            }
            return Ok(());
        }
        if let Some(t) = templated {
            return Err(self.error(t.span.start, format!("{:?} {TEMPLATE}", t.value)));
        }
        let reference = reference.map_err(|e| self.error(repository.span.start, e.to_string()))?;
        if forced && !ours {
            self.plan.notes.push(format!(
                "line {}: {name} names another repository than the promoted image ({}); the digest is written as given",
                self.line(repository.span.start),
                self.promotion.repository
            ));
        }
        let context = map_context(map);
        let old_tag = tag.and_then(|(_, v)| v.as_scalar());
        let old_tag_value = present(tag.map(|(_, v)| v)).map(|t| t.value.as_str());
        let old_digest = present(digest.map(|(_, v)| v)).map(|d| d.value.as_str());
        let before = joined(&name, old_tag_value, old_digest);
        let mut edits = Vec::new();
        let line;
        let new_tag = self
            .promotion
            .tag
            .as_deref()
            .or_else(|| old_tag_value.map(bare_tag).filter(|t| !t.is_empty()));
        let after;
        match digest {
            Some((_, Node::Scalar(value))) => {
                // Bitnami: the chart uses the digest when it is set.
                line = self.line(value.span.start);
                edits.extend(self.set(value, &self.promotion.digest, context)?);
                // The tag is IMAGE's when it has one; otherwise it stays as
                // written, but for a digest someone appended (`1.25@sha256:…`).
                let tag_to_write = self.promotion.tag.as_deref().or_else(|| {
                    old_tag_value
                        .filter(|t| t.contains('@'))
                        .map(bare_tag)
                        .filter(|t| !t.is_empty())
                });
                if let (Some(tag_scalar), Some(t)) = (old_tag, tag_to_write) {
                    edits.extend(self.set(tag_scalar, t, context)?);
                }
                after = joined(
                    reference.name(),
                    new_tag.filter(|_| old_tag.is_some()),
                    Some(&self.promotion.digest),
                );
            }
            Some((_, other)) => {
                return Err(self.error(
                    other.span().start,
                    "`digest:` holds a list or mapping; the chart expects sha256:<hex>",
                ))
            }
            None => {
                let Some(tag_scalar) = old_tag else {
                    return Err(self.error(
                        map.span.start,
                        "this image has neither `tag` nor `digest`; add `tag:` (or `digest:`) so wharf knows where the digest goes",
                    ));
                };
                let Some(t) = new_tag else {
                    return Err(self.error(
                        tag_scalar.span.start,
                        "the tag is empty, so the chart takes it from appVersion; give IMAGE with its tag \
                         (REPO:TAG@sha256:…) so wharf can write `tag: TAG@sha256:…`",
                    ));
                };
                // The chart joins `repository:tag`: the digest rides in the tag.
                let value = format!("{t}@{}", self.promotion.digest);
                line = self.line(tag_scalar.span.start);
                edits.extend(self.set(tag_scalar, &value, context)?);
                after = joined(reference.name(), Some(&value), None);
            }
        }
        self.push(
            map.span.clone(),
            Target {
                line,
                before,
                after,
                edits,
            },
        );
        Ok(())
    }

    /// The node `--values-path` names.
    fn forced(&mut self, node: &Node, path: &str) -> Result<(), FindError> {
        match node {
            Node::Scalar(s) => self.image_string(s, Context::Block, Match::Forced),
            Node::Mapping(map) => self.image_map(map, true),
            Node::Sequence(seq) => Err(self.error(
                seq.span.start,
                format!("`{path}` is a list; --values-path must name an image string or an image mapping"),
            )),
        }
    }

    /// Helm values, walked whole.
    fn values(&mut self, node: &Node, in_image_map: bool) -> Result<(), FindError> {
        match node {
            Node::Mapping(map) if !in_image_map && crate::pin::yaml::is_image_map(map) => {
                self.image_map(map, false)
            }
            Node::Mapping(map) => {
                for (key, value) in &map.entries {
                    match value {
                        Node::Scalar(s) if s.is_string() => {
                            let how = if key.as_str() == Some("image") {
                                Match::Repository
                            } else {
                                Match::Qualified
                            };
                            self.image_string(s, map_context(map), how)?;
                        }
                        other => self.values(other, false)?,
                    }
                }
                Ok(())
            }
            Node::Sequence(seq) => {
                for item in &seq.items {
                    match item {
                        Node::Scalar(s) if s.is_string() => {
                            self.image_string(s, context(node), Match::Qualified)?
                        }
                        other => self.values(other, false)?,
                    }
                }
                Ok(())
            }
            Node::Scalar(_) => Ok(()),
        }
    }

    /// Containers' `image:` at any depth.
    fn kubernetes(&mut self, node: &Node) -> Result<(), FindError> {
        match node {
            Node::Mapping(map) => {
                for (key, value) in &map.entries {
                    let containers = key.as_str().is_some_and(|k| CONTAINER_KEYS.contains(&k));
                    if let (true, Some(list)) = (containers, value.as_sequence()) {
                        for container in list.items.iter().filter_map(Node::as_mapping) {
                            if let Some(Node::Scalar(image)) = container.get("image") {
                                self.image_string(
                                    image,
                                    map_context(container),
                                    Match::Repository,
                                )?;
                            }
                        }
                    }
                    self.kubernetes(value)?;
                }
                Ok(())
            }
            Node::Sequence(seq) => {
                for item in &seq.items {
                    self.kubernetes(item)?;
                }
                Ok(())
            }
            Node::Scalar(_) => Ok(()),
        }
    }

    fn kustomization(&mut self, root: &Mapping) -> Result<(), FindError> {
        let Some(images) = root.get("images").and_then(Node::as_sequence) else {
            return Ok(());
        };
        for entry in images.items.iter().filter_map(Node::as_mapping) {
            self.kustomize_entry(entry)?;
        }
        Ok(())
    }

    /// `{name, newName?, newTag?, digest?}`: the image named `name` in the
    /// resources is deployed as `newName:newTag@digest`.
    fn kustomize_entry(&mut self, entry: &Mapping) -> Result<(), FindError> {
        let name = present(entry.get("name"));
        let new_name = present(entry.get("newName"));
        let ours = [name, new_name]
            .into_iter()
            .flatten()
            .any(|s| Reference::parse(&s.value).is_ok_and(|r| self.promotion.matches(&r)));
        if !ours {
            return Ok(());
        }
        let Some(name) = name else {
            return Err(self.error(
                entry.span.start,
                "this `images:` entry has no name; kustomize needs it to match images",
            ));
        };
        let new_tag = entry.entry("newTag");
        let digest = entry.entry("digest");
        for (_, value) in [new_tag, digest].into_iter().flatten() {
            if let Some(s) = value.as_scalar().filter(|s| s.value.contains("{{")) {
                return Err(self.error(s.span.start, format!("{:?} {TEMPLATE}", s.value)));
            }
        }
        let shown = new_name.unwrap_or(name).value.clone();
        let old_tag = new_tag.and_then(|(_, v)| v.as_scalar());
        let before = joined(
            &shown,
            present(new_tag.map(|(_, v)| v)).map(|t| t.value.as_str()),
            present(digest.map(|(_, v)| v)).map(|d| d.value.as_str()),
        );
        let context = map_context(entry);
        let mut edits = Vec::new();
        let mut inserts = Vec::new();
        let tag_value = self.promotion.tag.clone().or_else(|| {
            old_tag
                .filter(|t| t.value.contains('@'))
                .map(|t| bare_tag(&t.value).to_string())
        });
        match (new_tag, &tag_value) {
            (Some((_, Node::Scalar(s))), Some(t)) => edits.extend(self.set(s, t, context)?),
            (Some((_, other)), Some(_)) => {
                return Err(self.error(other.span().start, "`newTag:` holds a list or mapping"))
            }
            (None, Some(t)) => inserts.push(("newTag", t.clone())),
            (_, None) => {}
        }
        match digest {
            Some((_, Node::Scalar(s))) => {
                edits.extend(self.set(s, &self.promotion.digest, context)?)
            }
            Some((_, other)) => {
                return Err(self.error(
                    other.span().start,
                    "`digest:` holds a list or mapping; kustomize expects sha256:<hex>",
                ))
            }
            None => inserts.push(("digest", self.promotion.digest.clone())),
        }
        if !inserts.is_empty() {
            let mut text = String::new();
            let mut at = None;
            for (key, value) in &inserts {
                let (offset, before) =
                    yaml::new_key(self.text, entry, key).map_err(|(offset, why)| {
                        self.error(offset, format!("this `images:` entry {why}"))
                    })?;
                at = Some(offset);
                text.push_str(&before);
                text.push_str(&edit::new_value(value, context));
            }
            if let Some(at) = at {
                self.check_alias(&entry.span)?;
                edits.push(Edit { span: at..at, text });
            }
        }
        let shown_tag = tag_value.or_else(|| old_tag.map(|t| t.value.clone()));
        let after = joined(
            &shown,
            shown_tag.as_deref().filter(|t| !t.is_empty()),
            Some(&self.promotion.digest),
        );
        self.push(
            entry.span.clone(),
            Target {
                line: self.line(entry.span.start),
                before,
                after,
                edits,
            },
        );
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const NEW: &str = "sha256:1111111111111111111111111111111111111111111111111111111111111111";
    const OLD: &str = "sha256:0000000000000000000000000000000000000000000000000000000000000000";

    fn promotion(image: &str, paths: &[&str]) -> Promotion {
        let image = image.replace("NEW", NEW);
        let reference = Reference::parse(&image).unwrap();
        Promotion::new(&reference, paths.iter().map(|p| p.to_string()).collect()).unwrap()
    }

    /// The promoted text, or the error as `line N: message`.
    fn run(
        text: &str,
        image: &str,
        kind: YamlKind,
        forced: Option<PromoteTarget>,
        paths: &[&str],
    ) -> Result<String, String> {
        let text = text.replace("OLD", OLD);
        let plan =
            plan(&text, kind, forced, &promotion(image, paths)).map_err(|e| e.to_string())?;
        let edits: Vec<Edit> = plan.targets.iter().flat_map(|t| t.edits.clone()).collect();
        Ok(edit::apply(&text, &edits)
            .unwrap()
            .replace(NEW, "NEW")
            .replace(OLD, "OLD"))
    }

    fn values(text: &str, image: &str) -> String {
        run(text, image, YamlKind::HelmValues, None, &[]).unwrap()
    }

    fn refused(text: &str, image: &str, kind: YamlKind, paths: &[&str]) -> String {
        run(text, image, kind, None, paths).unwrap_err()
    }

    #[test]
    fn helm_strings() {
        let cases = [
            // (input, image, output)
            ("image: ghcr.io/acme/app:1.0\n", "ghcr.io/acme/app:1.1@NEW", "image: ghcr.io/acme/app:1.1@NEW\n"),
            ("image: ghcr.io/acme/app:1.0\n", "ghcr.io/acme/app@NEW", "image: ghcr.io/acme/app:1.0@NEW\n"),
            ("image: 'ghcr.io/acme/app:1.0@OLD' # pinned\n", "ghcr.io/acme/app@NEW", "image: 'ghcr.io/acme/app:1.0@NEW' # pinned\n"),
            ("image: \"ghcr.io/acme/app@OLD\"\n", "ghcr.io/acme/app@NEW", "image: \"ghcr.io/acme/app@NEW\"\n"),
            ("image: \"ghcr.io/acme/app@OLD\"\n", "ghcr.io/acme/app:2@NEW", "image: \"ghcr.io/acme/app:2@NEW\"\n"),
            // Docker Hub spellings match each other; the file's spelling stays.
            ("image: nginx:1.25\n", "docker.io/library/nginx:1.27@NEW", "image: nginx:1.27@NEW\n"),
            // Another registry, or another repository, is not the image.
            ("image: quay.io/acme/app:1.0\n", "ghcr.io/acme/app@NEW", "image: quay.io/acme/app:1.0\n"),
            ("image: ghcr.io/acme/app-worker:1.0\n", "ghcr.io/acme/app@NEW", "image: ghcr.io/acme/app-worker:1.0\n"),
            // Other keys and lists: only with a tag or digest.
            ("jobs:\n  - ghcr.io/acme/app:1.0\n  - ghcr.io/acme/app\nmigrate: {img: ghcr.io/acme/app:1.0}\n", "ghcr.io/acme/app@NEW",
             "jobs:\n  - ghcr.io/acme/app:1.0@NEW\n  - ghcr.io/acme/app\nmigrate: {img: ghcr.io/acme/app:1.0@NEW}\n"),
            // A bare `image:` of the repository is the image (latest, implicitly).
            ("image: ghcr.io/acme/app\n", "ghcr.io/acme/app@NEW", "image: ghcr.io/acme/app@NEW\n"),
        ];
        for (input, image, want) in cases {
            assert_eq!(values(input, image), want, "{input}");
        }
    }

    #[test]
    fn helm_maps() {
        let cases = [
            // Helm's default chart: the digest rides in the tag.
            ("image:\n  repository: ghcr.io/acme/app\n  tag: \"1.0\"\n  pullPolicy: IfNotPresent\n", "ghcr.io/acme/app:1.1@NEW",
             "image:\n  repository: ghcr.io/acme/app\n  tag: \"1.1@NEW\"\n  pullPolicy: IfNotPresent\n"),
            ("image:\n  repository: ghcr.io/acme/app\n  tag: 1.0@OLD\n", "ghcr.io/acme/app@NEW",
             "image:\n  repository: ghcr.io/acme/app\n  tag: 1.0@NEW\n"),
            ("image:\n  repository: ghcr.io/acme/app\n  tag: '1.0' # {\"$imagepolicy\": \"flux:app:tag\"}\n", "ghcr.io/acme/app@NEW",
             "image:\n  repository: ghcr.io/acme/app\n  tag: '1.0@NEW' # {\"$imagepolicy\": \"flux:app:tag\"}\n"),
            // Bitnami: registry + repository split, a digest key.
            ("image:\n  registry: ghcr.io\n  repository: acme/app\n  tag: 1.0\n  digest: \"\"\n", "ghcr.io/acme/app:1.10@NEW",
             "image:\n  registry: ghcr.io\n  repository: acme/app\n  tag: \"1.10\"\n  digest: \"NEW\"\n"),
            ("image:\n  registry: ghcr.io\n  repository: acme/app\n  tag: v1\n  digest:\n", "ghcr.io/acme/app@NEW",
             "image:\n  registry: ghcr.io\n  repository: acme/app\n  tag: v1\n  digest: NEW\n"),
            ("image: {registry: ghcr.io, repository: acme/app, tag: v1, digest: OLD}\n", "ghcr.io/acme/app:v2@NEW",
             "image: {registry: ghcr.io, repository: acme/app, tag: v2, digest: NEW}\n"),
            ("image: {repository: ghcr.io/acme/app, tag: v1}\n", "ghcr.io/acme/app@NEW",
             "image: {repository: ghcr.io/acme/app, tag: v1@NEW}\n"),
        ];
        for (input, image, want) in cases {
            assert_eq!(values(input, image), want, "{input}");
        }
    }

    #[test]
    fn file_variants_keep_every_other_byte() {
        // CRLF, a BOM, no final newline, comments, blank lines, other documents.
        let text = "\u{feff}# values\r\n\r\nimage:\r\n  repository: ghcr.io/acme/app # the app\r\n  tag: v1\r\n---\r\nimage: ghcr.io/acme/app:v1";
        let want = "\u{feff}# values\r\n\r\nimage:\r\n  repository: ghcr.io/acme/app # the app\r\n  tag: v2@NEW\r\n---\r\nimage: ghcr.io/acme/app:v2@NEW";
        assert_eq!(values(text, "ghcr.io/acme/app:v2@NEW"), want);
    }

    #[test]
    fn kustomizations() {
        let k = YamlKind::Kustomization;
        let cases = [
            // New keys go after the entry's last key, same indentation, the
            // inline comment kept on its line.
            ("images:\n  - name: app\n    newName: ghcr.io/acme/app\n    newTag: v1 # pinned by CI\nresources: [deploy.yaml]\n", "ghcr.io/acme/app:v2@NEW",
             "images:\n  - name: app\n    newName: ghcr.io/acme/app\n    newTag: v2 # pinned by CI\n    digest: NEW\nresources: [deploy.yaml]\n"),
            ("images:\n- name: ghcr.io/acme/app\n  digest: OLD\n", "ghcr.io/acme/app@NEW",
             "images:\n- name: ghcr.io/acme/app\n  digest: NEW\n"),
            ("images:\n- name: ghcr.io/acme/app\n", "ghcr.io/acme/app:1.0@NEW",
             "images:\n- name: ghcr.io/acme/app\n  newTag: \"1.0\"\n  digest: NEW\n"),
            ("images:\r\n  - {name: ghcr.io/acme/app, newTag: v1}\r\n", "ghcr.io/acme/app@NEW",
             "images:\r\n  - {name: ghcr.io/acme/app, newTag: v1, digest: NEW}\r\n"),
            ("images:\n  - name: other\n    newTag: v1\n", "ghcr.io/acme/app@NEW", "images:\n  - name: other\n    newTag: v1\n"),
        ];
        for (input, image, want) in cases {
            assert_eq!(run(input, image, k, None, &[]).unwrap(), want, "{input}");
        }
    }

    #[test]
    fn manifests() {
        let text = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers:\n        - image: ghcr.io/acme/app:v1\n      containers:\n        - name: app\n          image: ghcr.io/acme/app:v1 # {\"$imagepolicy\": \"flux:app\"}\n        - name: proxy\n          image: envoyproxy/envoy:v1.30\n---\nkind: ConfigMap\ndata:\n  image: ghcr.io/acme/app:v1\n";
        let want = "apiVersion: apps/v1\nkind: Deployment\nspec:\n  template:\n    spec:\n      initContainers:\n        - image: ghcr.io/acme/app:v2@NEW\n      containers:\n        - name: app\n          image: ghcr.io/acme/app:v2@NEW # {\"$imagepolicy\": \"flux:app\"}\n        - name: proxy\n          image: envoyproxy/envoy:v1.30\n---\nkind: ConfigMap\ndata:\n  image: ghcr.io/acme/app:v1\n";
        assert_eq!(
            run(text, "ghcr.io/acme/app:v2@NEW", YamlKind::Other, None, &[]).unwrap(),
            want
        );
    }

    #[test]
    fn forced_targets_and_values_paths() {
        // --target helm reads a manifest-looking file as values.
        let text = "kind: Thing\nimage: ghcr.io/acme/app:v1\n";
        assert_eq!(
            run(
                text,
                "ghcr.io/acme/app@NEW",
                YamlKind::Other,
                Some(PromoteTarget::Helm),
                &[]
            )
            .unwrap(),
            "kind: Thing\nimage: ghcr.io/acme/app:v1@NEW\n"
        );
        // --values-path: that image, whatever its repository; nothing else.
        let text = "app:\n  image:\n    repository: app\n    tag: v1\nother:\n  image: ghcr.io/acme/app:v1\n";
        assert_eq!(
            run(text, "ghcr.io/acme/app:v2@NEW", YamlKind::HelmValues, None, &["app.image"]).unwrap(),
            "app:\n  image:\n    repository: app\n    tag: v2@NEW\nother:\n  image: ghcr.io/acme/app:v1\n"
        );
        let text = "sidecars:\n  - image: ghcr.io/acme/app:v1\n";
        assert_eq!(
            run(
                text,
                "ghcr.io/acme/app@NEW",
                YamlKind::HelmValues,
                None,
                &["sidecars.0.image"]
            )
            .unwrap(),
            "sidecars:\n  - image: ghcr.io/acme/app:v1@NEW\n"
        );
    }

    #[test]
    fn refusals_name_the_line() {
        let v = YamlKind::HelmValues;
        let img = "ghcr.io/acme/app:v2@NEW";
        let cases: [(&str, YamlKind, &[&str], &str); 8] = [
            ("image: [unclosed\n", v, &[], "not valid YAML"),
            ("a: 1\nimage:\n  repository: ghcr.io/acme/app\n  tag: \"{{ .Chart.AppVersion }}\"\n", v, &[], "line 4: "),
            ("image: \"{{ .Values.image }}\"\n", v, &["image"], "line 1: the image"),
            ("a: 1\nimage: &img ghcr.io/acme/app:v1\nsidecar:\n  image: *img\n", v, &[], "line 2: this value is in an anchored node (&) that the alias on line 4"),
            ("base: &base\n  repository: ghcr.io/acme/app\n  tag: v1\napp:\n  image: *base\n", v, &[], "alias on line 5"),
            ("image: |\n  ghcr.io/acme/app:v1\n", v, &["image"], "block scalar"),
            ("app:\n  image: ghcr.io/acme/app:v1\n", v, &["web.image"], "no `web.image`"),
            ("images:\n  - name: ghcr.io/acme/app\n    newTag: |\n      v1\n", YamlKind::Kustomization, &[], "block scalar"),
        ];
        for (input, kind, paths, needle) in cases {
            let err = refused(input, img, kind, paths);
            assert!(err.contains(needle), "{input:?}: {err}");
        }
        // An empty tag is the chart's appVersion: only IMAGE's tag can fill it.
        let text = "image:\n  repository: ghcr.io/acme/app\n  tag: \"\"\n";
        let err = refused(text, "ghcr.io/acme/app@NEW", v, &[]);
        assert!(
            err.contains("line 3: ") && err.contains("appVersion"),
            "{err}"
        );
        assert_eq!(
            values(text, "ghcr.io/acme/app:v2@NEW"),
            "image:\n  repository: ghcr.io/acme/app\n  tag: \"v2@NEW\"\n"
        );
    }

    #[test]
    fn aliases_elsewhere_do_not_block_unrelated_edits() {
        let text = "defaults: &d {pullPolicy: Always}\nimage:\n  repository: ghcr.io/acme/app\n  tag: v1\nworker: *d\n";
        assert_eq!(
            values(text, "ghcr.io/acme/app@NEW"),
            "defaults: &d {pullPolicy: Always}\nimage:\n  repository: ghcr.io/acme/app\n  tag: v1@NEW\nworker: *d\n"
        );
    }

    #[test]
    fn templated_images_elsewhere_are_notes_not_errors() {
        let text = "image: \"{{ .Values.global.registry }}/app:v1\"\nmain:\n  image: ghcr.io/acme/app:v1\n";
        let plan = plan(
            text,
            YamlKind::HelmValues,
            None,
            &promotion("ghcr.io/acme/app@NEW", &[]),
        )
        .unwrap();
        assert_eq!(plan.targets.len(), 1);
        assert_eq!(plan.notes.len(), 1, "{:?}", plan.notes);
        assert!(plan.notes[0].starts_with("line 1:"), "{:?}", plan.notes);
    }

    #[test]
    fn at_the_digest_means_no_edit() {
        let text = format!("image: ghcr.io/acme/app:v1@{NEW}\n");
        let plan = plan(
            &text,
            YamlKind::HelmValues,
            None,
            &promotion("ghcr.io/acme/app@NEW", &[]),
        )
        .unwrap();
        assert_eq!(plan.targets.len(), 1);
        assert!(plan.targets[0].edits.is_empty());
    }

    const D: &str = "sha256:dddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddddd";

    fn promote(text: &str, kind: YamlKind, image: &str) -> String {
        let image = Reference::parse(&format!("{image}@{D}")).unwrap();
        let promotion = Promotion::new(&image, Vec::new()).unwrap();
        let plan = plan(text, kind, None, &promotion).unwrap();
        let edits: Vec<Edit> = plan.targets.iter().flat_map(|t| t.edits.clone()).collect();
        edit::apply(text, &edits).unwrap()
    }

    /// Found by the property test: a tag already equal to IMAGE's but
    /// plain, so a number to Helm and kustomize, was left a number.
    #[test]
    fn a_plain_numeric_tag_already_at_images_tag_becomes_a_string() {
        assert_eq!(
            promote(
                "images:\n- name: ghcr.io/acme/app\n  newTag: 3\n",
                YamlKind::Kustomization,
                "ghcr.io/acme/app:3",
            ),
            format!("images:\n- name: ghcr.io/acme/app\n  newTag: \"3\"\n  digest: {D}\n")
        );
        assert_eq!(
            promote(
                "image:\n  repository: ghcr.io/acme/app\n  tag: 1.10 # pinned\n  digest: \"\"\n",
                YamlKind::HelmValues,
                "ghcr.io/acme/app:1.10",
            ),
            format!(
                "image:\n  repository: ghcr.io/acme/app\n  tag: \"1.10\" # pinned\n  digest: \"{D}\"\n"
            )
        );
    }

    /// Without a tag in IMAGE the digest decides; the tag is the user's and
    /// stays as written unless it carries an old digest.
    #[test]
    fn an_untagged_promotion_leaves_a_bitnami_tag_alone() {
        assert_eq!(
            promote(
                "image:\n  repository: ghcr.io/acme/app\n  tag: 1.10\n  digest: \"\"\n",
                YamlKind::HelmValues,
                "ghcr.io/acme/app",
            ),
            format!("image:\n  repository: ghcr.io/acme/app\n  tag: 1.10\n  digest: \"{D}\"\n")
        );
        let old = format!("sha256:{}", "0".repeat(64));
        assert_eq!(
            promote(
                &format!(
                    "image:\n  repository: ghcr.io/acme/app\n  tag: 1.10@{old}\n  digest: {old}\n"
                ),
                YamlKind::HelmValues,
                "ghcr.io/acme/app",
            ),
            format!("image:\n  repository: ghcr.io/acme/app\n  tag: \"1.10\"\n  digest: {D}\n")
        );
    }
}
