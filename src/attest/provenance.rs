//! SLSA v1 provenance from the CI environment, for `wharf attest --type
//! slsaprovenance1 --generate`: who built the image (the builder id), from
//! what (the source repository and commit), and which run it was (the
//! invocation) — read from the variables each CI system sets, the way its
//! own provenance generators read them.
//!
//! The provenance is only as true as the environment; it is signed by the
//! same identity as the image, so a verifier can tie the two together.

use serde_json::{json, Value};

use crate::sign::session::Target;
pub use crate::sign::token::{EnvSource, ProcessEnv};

/// The provenance predicate for the image `target`, or why it cannot be built.
pub fn generate(env: &dyn EnvSource, target: &Target) -> Result<Value, String> {
    let var = |name: &str| env.var(name).filter(|v| !v.is_empty());
    let subject_note = json!({"image": target.image});
    if var("GITHUB_ACTIONS").as_deref() == Some("true") {
        let server = var("GITHUB_SERVER_URL").unwrap_or_else(|| "https://github.com".into());
        let repo = need(&var, "GITHUB_REPOSITORY")?;
        let sha = need(&var, "GITHUB_SHA")?;
        let git_ref = need(&var, "GITHUB_REF")?;
        let run_id = need(&var, "GITHUB_RUN_ID")?;
        let attempt = var("GITHUB_RUN_ATTEMPT").unwrap_or_else(|| "1".into());
        // `owner/repo/.github/workflows/f.yml@refs/heads/main`
        let workflow_ref = var("GITHUB_WORKFLOW_REF");
        let path = workflow_ref
            .as_deref()
            .and_then(|w| w.split_once('@'))
            .and_then(|(p, _)| p.strip_prefix(&format!("{repo}/")))
            .map(str::to_string);
        let hosted = var("RUNNER_ENVIRONMENT").as_deref() != Some("self-hosted");
        return Ok(predicate(
            "https://actions.github.io/buildtypes/workflow/v1",
            json!({"workflow": {"ref": git_ref, "repository": format!("{server}/{repo}"), "path": path}}),
            json!({"github": {
                "event_name": var("GITHUB_EVENT_NAME"),
                "repository_id": var("GITHUB_REPOSITORY_ID"),
                "repository_owner_id": var("GITHUB_REPOSITORY_OWNER_ID"),
                "runner_environment": var("RUNNER_ENVIRONMENT"),
            }, "wharf": subject_note}),
            vec![dependency(&format!("git+{server}/{repo}@{git_ref}"), &sha)],
            &format!(
                "https://github.com/actions/runner/{}",
                if hosted {
                    "github-hosted"
                } else {
                    "self-hosted"
                }
            ),
            &format!("{server}/{repo}/actions/runs/{run_id}/attempts/{attempt}"),
        ));
    }
    if var("GITLAB_CI").as_deref() == Some("true") {
        let server = need(&var, "CI_SERVER_URL")?;
        let project = need(&var, "CI_PROJECT_PATH")?;
        let sha = need(&var, "CI_COMMIT_SHA")?;
        let git_ref = var("CI_COMMIT_REF_NAME").unwrap_or_default();
        let job_url = need(&var, "CI_JOB_URL")?;
        return Ok(predicate(
            "https://gitlab.com/gitlab-org/gitlab-runner/-/blob/main/PROVENANCE.md",
            json!({"source": format!("{server}/{project}"), "ref": git_ref, "pipeline_source": var("CI_PIPELINE_SOURCE")}),
            json!({"gitlab": {"pipeline_id": var("CI_PIPELINE_ID"), "job_id": var("CI_JOB_ID")}, "wharf": subject_note}),
            vec![dependency(
                &format!("git+{server}/{project}@{git_ref}"),
                &sha,
            )],
            &format!(
                "{server}/{project}/-/runners/{}",
                var("CI_RUNNER_ID").unwrap_or_default()
            ),
            &job_url,
        ));
    }
    if var("JENKINS_URL").is_some() {
        let build_url = need(&var, "BUILD_URL")?;
        let git_url = var("GIT_URL");
        let sha = var("GIT_COMMIT");
        let deps = match (&git_url, &sha) {
            (Some(url), Some(sha)) => vec![dependency(
                &format!("git+{url}@{}", var("GIT_BRANCH").unwrap_or_default()),
                sha,
            )],
            _ => {
                return Err(
                    "Jenkins without GIT_URL/GIT_COMMIT (the Git plugin sets them): the provenance would not name the source; \
                     check out with the Git plugin or set WHARF_SOURCE_URI and WHARF_SOURCE_REVISION"
                        .into(),
                )
            }
        };
        return Ok(predicate(
            "https://wharf.dev/buildtypes/jenkins/v1",
            json!({"job": var("JOB_NAME"), "build_number": var("BUILD_NUMBER")}),
            json!({"wharf": subject_note}),
            deps,
            &need(&var, "JENKINS_URL")?,
            &build_url,
        ));
    }
    // Anywhere else (Tekton tasks set these from their params).
    match (
        var("WHARF_BUILDER_ID"),
        var("WHARF_SOURCE_URI"),
        var("WHARF_SOURCE_REVISION"),
    ) {
        (Some(builder), Some(uri), Some(rev)) => Ok(predicate(
            "https://wharf.dev/buildtypes/generic/v1",
            json!({"source": uri}),
            json!({"wharf": subject_note}),
            vec![dependency(&uri, &rev)],
            &builder,
            &var("WHARF_INVOCATION_ID").unwrap_or_default(),
        )),
        _ => Err(
            "--generate found no CI environment it knows (GitHub Actions, GitLab CI, Jenkins); \
             elsewhere set WHARF_BUILDER_ID, WHARF_SOURCE_URI and WHARF_SOURCE_REVISION \
             (and WHARF_INVOCATION_ID), or write the provenance yourself and pass --predicate"
                .into(),
        ),
    }
}

fn need(var: &dyn Fn(&str) -> Option<String>, name: &str) -> Result<String, String> {
    var(name).ok_or_else(|| {
        format!("{name} is not set, and the provenance needs it; run inside the CI job, or pass --predicate")
    })
}

fn dependency(uri: &str, revision: &str) -> Value {
    // A 40- or 64-hex revision is a git commit; anything else is recorded as written.
    let is_commit =
        matches!(revision.len(), 40 | 64) && revision.chars().all(|c| c.is_ascii_hexdigit());
    if is_commit {
        json!({"uri": uri, "digest": {"gitCommit": revision}})
    } else {
        json!({"uri": uri, "annotations": {"revision": revision}})
    }
}

fn predicate(
    build_type: &str,
    external: Value,
    internal: Value,
    dependencies: Vec<Value>,
    builder: &str,
    invocation: &str,
) -> Value {
    json!({
        "buildDefinition": {
            "buildType": build_type,
            "externalParameters": external,
            "internalParameters": internal,
            "resolvedDependencies": dependencies,
        },
        "runDetails": {
            "builder": {"id": builder, "version": {"wharf": env!("CARGO_PKG_VERSION")}},
            "metadata": {"invocationId": invocation},
        },
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::HashMap;

    fn target() -> Target {
        Target {
            digest: "sha256:ab".into(),
            subject: crate::registry::oci::Descriptor::new("x", "sha256:ab", 1),
            image: "reg/app@sha256:ab".into(),
            name: "reg/app".into(),
        }
    }

    fn env(pairs: &[(&str, &str)]) -> HashMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    }

    #[test]
    fn github_actions_names_the_workflow_run_and_commit() {
        let sha = "0123456789abcdef0123456789abcdef01234567";
        let e = env(&[
            ("GITHUB_ACTIONS", "true"),
            ("GITHUB_REPOSITORY", "org/app"),
            ("GITHUB_SHA", sha),
            ("GITHUB_REF", "refs/heads/main"),
            ("GITHUB_RUN_ID", "42"),
            ("GITHUB_RUN_ATTEMPT", "2"),
            (
                "GITHUB_WORKFLOW_REF",
                "org/app/.github/workflows/release.yml@refs/heads/main",
            ),
            ("RUNNER_ENVIRONMENT", "github-hosted"),
        ]);
        let p = generate(&e, &target()).unwrap();
        assert_eq!(
            p["buildDefinition"]["externalParameters"]["workflow"]["path"],
            ".github/workflows/release.yml"
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["digest"]["gitCommit"],
            sha
        );
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["uri"],
            "git+https://github.com/org/app@refs/heads/main"
        );
        assert_eq!(
            p["runDetails"]["builder"]["id"],
            "https://github.com/actions/runner/github-hosted"
        );
        assert_eq!(
            p["runDetails"]["metadata"]["invocationId"],
            "https://github.com/org/app/actions/runs/42/attempts/2"
        );
    }

    #[test]
    fn missing_variables_are_named() {
        let err = generate(&env(&[("GITHUB_ACTIONS", "true")]), &target()).unwrap_err();
        assert!(err.contains("GITHUB_REPOSITORY"), "{err}");
        let err = generate(&env(&[]), &target()).unwrap_err();
        assert!(err.contains("WHARF_BUILDER_ID"), "{err}");
        let err = generate(
            &env(&[("JENKINS_URL", "https://ci"), ("BUILD_URL", "https://ci/1")]),
            &target(),
        )
        .unwrap_err();
        assert!(err.contains("GIT_COMMIT"), "{err}");
    }

    #[test]
    fn gitlab_and_generic_environments() {
        let e = env(&[
            ("GITLAB_CI", "true"),
            ("CI_SERVER_URL", "https://gitlab.example"),
            ("CI_PROJECT_PATH", "g/app"),
            ("CI_COMMIT_SHA", "0123456789abcdef0123456789abcdef01234567"),
            ("CI_COMMIT_REF_NAME", "main"),
            ("CI_JOB_URL", "https://gitlab.example/g/app/-/jobs/7"),
        ]);
        let p = generate(&e, &target()).unwrap();
        assert_eq!(
            p["runDetails"]["metadata"]["invocationId"],
            "https://gitlab.example/g/app/-/jobs/7"
        );
        let e = env(&[
            ("WHARF_BUILDER_ID", "https://tekton.example/tasks/build"),
            ("WHARF_SOURCE_URI", "git+https://git.example/app"),
            ("WHARF_SOURCE_REVISION", "v1.2"),
        ]);
        let p = generate(&e, &target()).unwrap();
        assert_eq!(
            p["buildDefinition"]["resolvedDependencies"][0]["annotations"]["revision"],
            "v1.2"
        );
    }
}
