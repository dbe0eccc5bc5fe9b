//! The testbed's services, driven over HTTP as a client would drive them,
//! and checked by an independent verifier (sigstore-rust's
//! `sigstore-verify`) where one exists.

mod common;

use aws_lc_rs::signature::{UnparsedPublicKey, ECDSA_P256_SHA256_ASN1};
use common::*;
use serde_json::{json, Value};
use sigstore_verify::trust_root::TrustedRoot;
use sigstore_verify::types::Bundle;
use sigstore_verify::VerificationPolicy;
use wharf_testbed::{Service, Testbed};

fn testbed() -> (tempfile::TempDir, Testbed) {
    let dir = tempfile::tempdir().unwrap();
    let testbed = Testbed::start(dir.path()).unwrap();
    (dir, testbed)
}

fn verify_with_sigstore_rust(
    testbed: &Testbed,
    bundle: &Value,
    artifact: &[u8],
    identity: &str,
) -> Result<sigstore_verify::VerificationResult, sigstore_verify::Error> {
    let root = TrustedRoot::from_file(testbed.trusted_root()).expect("trusted_root.json parses");
    let bundle = Bundle::from_json(&bundle.to_string()).expect("bundle parses");
    let policy = VerificationPolicy::any_identity()
        .require_identity(identity)
        .require_issuer(testbed.issuer());
    sigstore_verify::verify(artifact, &bundle, &policy, &root)
}

#[test]
fn a_hand_built_keyless_bundle_verifies_with_sigstore_rust() {
    let (_dir, testbed) = testbed();
    let artifact = b"an artifact signed through the testbed";
    let bundle = keyless_bundle(&testbed, artifact);

    let result = verify_with_sigstore_rust(&testbed, &bundle, artifact, testbed.identity())
        .unwrap_or_else(|e| panic!("sigstore-verify refused the bundle: {e}\n{bundle:#}"));
    assert!(result.certificate_verified());
    assert!(result.sct_verified());
    assert!(result.tlog_verified());
    // The TSA's timestamp and Rekor's integrated time.
    assert!(
        result.verified_timestamps().len() >= 2,
        "{:?}",
        result.verified_timestamps()
    );

    let other = "https://github.com/someone-else/app/.github/workflows/release.yml@refs/heads/main";
    assert!(verify_with_sigstore_rust(&testbed, &bundle, artifact, other).is_err());
    assert!(verify_with_sigstore_rust(&testbed, &bundle, b"tampered", testbed.identity()).is_err());
}

#[test]
fn the_leaf_carries_the_fulcio_extensions_of_the_token() {
    let (_dir, testbed) = testbed();
    let chain = fulcio_chain(&testbed, &Key::generate());
    assert_eq!(chain.len(), 3, "leaf, intermediate, root");
    let leaf = pem_to_der(&chain[0]);
    let contains = |needle: &str| leaf.windows(needle.len()).any(|w| w == needle.as_bytes());
    for expected in [
        testbed.identity(),
        testbed.issuer(),
        "https://github.com/wharf-test/app",
        "github-hosted",
        "refs/heads/main",
        "https://github.com/wharf-test/app/actions/runs/4242/attempts/1",
    ] {
        assert!(contains(expected), "leaf lacks {expected:?}");
    }
}

#[test]
fn a_duplicate_rekor_upload_is_409_with_the_existing_entry() {
    let (_dir, testbed) = testbed();
    let key = Key::generate();
    let (entry, _) = hashedrekord(b"once", &key, &key.public_pem());
    let url = format!("{}/api/v1/log/entries", testbed.urls().rekor);

    let first = post_json(&url, &entry);
    assert_eq!(first.status, 201, "{}", first.text());
    let (uuid, created) = single_entry(&first.json());

    let again = post_json(&url, &entry);
    assert_eq!(again.status, 409, "{}", again.text());
    assert!(again.text().contains(&uuid), "{}", again.text());
    let location = again
        .header("location")
        .expect("Location header")
        .to_string();
    assert_eq!(location, format!("/api/v1/log/entries/{uuid}"));
    assert_eq!(testbed.rekor_entries(), 1);

    let fetched = get(&format!("{}{location}", testbed.urls().rekor));
    assert_eq!(fetched.status, 200);
    let (fetched_uuid, fetched) = single_entry(&fetched.json());
    assert_eq!(fetched_uuid, uuid);
    assert_eq!(fetched["body"], created["body"]);
    assert_eq!(fetched["logIndex"], 0);

    // By the bare 64-hex UUID and by index, too.
    let short = get(&format!(
        "{}/api/v1/log/entries/{}",
        testbed.urls().rekor,
        &uuid[16..]
    ));
    assert_eq!(short.status, 200);
    let by_index = get(&format!(
        "{}/api/v1/log/entries?logIndex=0",
        testbed.urls().rekor
    ));
    assert_eq!(single_entry(&by_index.json()).0, uuid);
    let missing = get(&format!(
        "{}/api/v1/log/entries?logIndex=7",
        testbed.urls().rekor
    ));
    assert_eq!(missing.status, 404);
}

/// RFC 9162 §2.1.3.2, written out here so the check does not share code
/// with the server.
fn root_from_inclusion_proof(
    index: u64,
    size: u64,
    leaf: [u8; 32],
    proof: &[[u8; 32]],
) -> Option<[u8; 32]> {
    let node = |l: &[u8; 32], r: &[u8; 32]| {
        let mut data = vec![1u8];
        data.extend_from_slice(l);
        data.extend_from_slice(r);
        sha256(&data)
    };
    if index >= size {
        return None;
    }
    let (mut fnode, mut snode, mut r) = (index, size - 1, leaf);
    for p in proof {
        if snode == 0 {
            return None;
        }
        if fnode % 2 == 1 || fnode == snode {
            r = node(p, &r);
            while fnode % 2 == 0 && fnode != 0 {
                fnode >>= 1;
                snode >>= 1;
            }
        } else {
            r = node(&r, p);
        }
        fnode >>= 1;
        snode >>= 1;
    }
    (snode == 0).then_some(r)
}

#[test]
fn inclusion_proofs_checkpoints_and_sets_verify() {
    let (_dir, testbed) = testbed();
    let rekor = testbed.urls().rekor;
    let trusted_root: Value =
        serde_json::from_slice(&std::fs::read(testbed.trusted_root()).unwrap()).unwrap();
    let spki = unb64(
        trusted_root["tlogs"][0]["publicKey"]["rawBytes"]
            .as_str()
            .unwrap(),
    );
    let log_id = hex::encode(sha256(&spki));
    // aws-lc-rs takes the EC point, the last 65 bytes of a P-256 SPKI.
    let rekor_key =
        UnparsedPublicKey::new(&ECDSA_P256_SHA256_ASN1, spki[spki.len() - 65..].to_vec());

    let key = Key::generate();
    for i in 0..7u8 {
        let (entry, _) = hashedrekord(&[i], &key, &key.public_pem());
        assert_eq!(
            post_json(&format!("{rekor}/api/v1/log/entries"), &entry).status,
            201
        );
    }
    assert_eq!(testbed.rekor_entries(), 7);

    let info = get(&format!("{rekor}/api/v1/log")).json();
    assert_eq!(info["treeSize"], 7);

    for index in 0..7u64 {
        let resp = get(&format!("{rekor}/api/v1/log/entries?logIndex={index}"));
        let (uuid, e) = single_entry(&resp.json());
        assert_eq!(e["logID"], log_id);
        let body = unb64(e["body"].as_str().unwrap());
        let mut leaf_input = vec![0u8];
        leaf_input.extend_from_slice(&body);
        let leaf = sha256(&leaf_input);
        assert!(uuid.ends_with(&hex::encode(leaf)), "UUID is the leaf hash");

        let proof = &e["verification"]["inclusionProof"];
        assert_eq!(proof["treeSize"], 7);
        let hashes: Vec<[u8; 32]> = proof["hashes"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| {
                hex::decode(h.as_str().unwrap())
                    .unwrap()
                    .try_into()
                    .unwrap()
            })
            .collect();
        let root = root_from_inclusion_proof(index, 7, leaf, &hashes).expect("proof shape");
        assert_eq!(hex::encode(root), proof["rootHash"].as_str().unwrap());
        assert_eq!(proof["rootHash"], info["rootHash"]);

        // Checkpoint: a signed note over "origin\nsize\nroot\n".
        let checkpoint = proof["checkpoint"].as_str().unwrap();
        let (note, sigs) = checkpoint.split_once("\n\n").expect("blank line");
        let lines: Vec<&str> = note.lines().collect();
        assert_eq!(lines[1], "7");
        assert_eq!(unb64(lines[2]), root.to_vec());
        let sig_line = sigs.strip_prefix("\u{2014} ").expect("em dash");
        let sig = unb64(sig_line.trim_end().rsplit(' ').next().unwrap());
        assert_eq!(&sig[..4], &sha256(&spki)[..4], "key hint");
        rekor_key
            .verify(format!("{note}\n").as_bytes(), &sig[4..])
            .expect("checkpoint signature");

        // Signed entry timestamp over the canonical JSON.
        let set_payload = format!(
            r#"{{"body":"{}","integratedTime":{},"logID":"{}","logIndex":{}}}"#,
            e["body"].as_str().unwrap(),
            e["integratedTime"],
            log_id,
            index
        );
        let set = unb64(e["verification"]["signedEntryTimestamp"].as_str().unwrap());
        rekor_key
            .verify(set_payload.as_bytes(), &set)
            .expect("signed entry timestamp");
    }

    // Search by artifact digest.
    let hits = post_json(
        &format!("{rekor}/api/v1/index/retrieve"),
        &json!({"hash": format!("sha256:{}", hex::encode(sha256(&[3u8])))}),
    );
    assert_eq!(hits.json().as_array().map(Vec::len), Some(1));
}

#[test]
fn an_expired_token_is_refused_by_fulcio_with_a_clear_error() {
    let (_dir, testbed) = testbed();
    let expired = testbed.oidc_token_with(|c| {
        let iat = c["iat"].as_i64().unwrap();
        c.insert("exp".into(), json!(iat - 60));
    });
    let key = Key::generate();
    let resp = post_json(
        &format!("{}/api/v2/signingCert", testbed.urls().fulcio),
        &signing_cert_request(&expired, &key, SUB),
    );
    assert_eq!(resp.status, 401);
    let message = resp.json()["message"].as_str().unwrap().to_string();
    assert!(message.contains("expired"), "{message}");
}

#[test]
fn fulcio_refuses_bad_proofs_foreign_tokens_and_other_audiences() {
    let (_dir, testbed) = testbed();
    let url = format!("{}/api/v2/signingCert", testbed.urls().fulcio);
    let key = Key::generate();

    let wrong_proof = post_json(
        &url,
        &signing_cert_request(&testbed.oidc_token(), &key, "someone else"),
    );
    assert_eq!(wrong_proof.status, 400);
    assert!(
        wrong_proof.text().contains("proof of possession"),
        "{}",
        wrong_proof.text()
    );

    let other_aud = testbed.oidc_token_with(|c| {
        c.insert("aud".into(), json!("not-sigstore"));
    });
    let resp = post_json(&url, &signing_cert_request(&other_aud, &key, SUB));
    assert_eq!(resp.status, 401);
    assert!(resp.text().contains("audience"), "{}", resp.text());

    // A token signed by another issuer's key (the testbed's payload, a
    // foreign signature).
    let token = testbed.oidc_token();
    let forged = format!("{}.{}", &token[..token.rfind('.').unwrap()], "AAAA");
    let resp = post_json(&url, &signing_cert_request(&forged, &key, SUB));
    assert_eq!(resp.status, 401);
    assert!(resp.text().contains("signature"), "{}", resp.text());

    let resp = post_json(&url, &json!({"publicKeyRequest": {}}));
    assert_eq!(resp.status, 401, "no token at all");
}

#[test]
fn fail_next_answers_the_status_n_times_then_works() {
    let (_dir, testbed) = testbed();
    let urls = testbed.urls();
    let key = Key::generate();

    testbed.fail_next(Service::Fulcio, 2, 503);
    let cert_url = format!("{}/api/v2/signingCert", urls.fulcio);
    for _ in 0..2 {
        let r = post_json(
            &cert_url,
            &signing_cert_request(&testbed.oidc_token(), &key, SUB),
        );
        assert_eq!(r.status, 503);
    }
    let r = post_json(
        &cert_url,
        &signing_cert_request(&testbed.oidc_token(), &key, SUB),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    let (entry, _) = hashedrekord(b"retry me", &key, &key.public_pem());
    let entries_url = format!("{}/api/v1/log/entries", urls.rekor);
    testbed.fail_next(Service::Rekor, 1, 500);
    assert_eq!(post_json(&entries_url, &entry).status, 500);
    assert_eq!(testbed.rekor_entries(), 0, "fail_next does nothing");
    assert_eq!(post_json(&entries_url, &entry).status, 201);

    // A lost response: integrated, then 502; the retry meets 409.
    let (entry, _) = hashedrekord(b"lost response", &key, &key.public_pem());
    testbed.fail_next_after_commit(Service::Rekor, 1, 502);
    assert_eq!(post_json(&entries_url, &entry).status, 502);
    assert_eq!(testbed.rekor_entries(), 2);
    assert_eq!(post_json(&entries_url, &entry).status, 409);

    testbed.fail_next(Service::Tsa, 1, 429);
    let ts = || {
        request(
            "POST",
            &urls.tsa,
            &[("Content-Type", "application/timestamp-query")],
            &timestamp_request(b"sig"),
        )
        .status
    };
    assert_eq!(ts(), 429);
    assert_eq!(ts(), 200);

    testbed.fail_next(Service::Oidc, 1, 500);
    let env: std::collections::HashMap<_, _> = testbed.github_env().into_iter().collect();
    let bearer = format!("bearer {}", env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]);
    let token_url = format!("{}&audience=sigstore", env["ACTIONS_ID_TOKEN_REQUEST_URL"]);
    assert_eq!(
        request("GET", &token_url, &[("Authorization", &bearer)], b"").status,
        500
    );
    assert_eq!(
        request("GET", &token_url, &[("Authorization", &bearer)], b"").status,
        200
    );
}

#[test]
fn the_github_token_endpoint_checks_the_bearer_and_mints_sigstore_tokens() {
    let (_dir, testbed) = testbed();
    let env: std::collections::HashMap<_, _> = testbed.github_env().into_iter().collect();
    assert_eq!(env["GITHUB_ACTIONS"], "true");
    let url = &env["ACTIONS_ID_TOKEN_REQUEST_URL"];
    assert!(
        url.contains('?'),
        "the URL already has a query, like GitHub's"
    );
    let token_url = format!("{url}&audience=sigstore");

    let denied = request("GET", &token_url, &[("Authorization", "bearer nope")], b"");
    assert_eq!(denied.status, 401);
    let anonymous = get(&token_url);
    assert_eq!(anonymous.status, 401);

    let bearer = format!("bearer {}", env["ACTIONS_ID_TOKEN_REQUEST_TOKEN"]);
    let resp = request("GET", &token_url, &[("Authorization", &bearer)], b"");
    assert_eq!(resp.status, 200, "{}", resp.text());
    let jwt = resp.json()["value"].as_str().unwrap().to_string();
    let payload: Value = serde_json::from_slice(
        &base64::Engine::decode(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD,
            jwt.split('.').nth(1).unwrap(),
        )
        .unwrap(),
    )
    .unwrap();
    assert_eq!(payload["aud"], "sigstore");
    assert_eq!(payload["iss"], testbed.issuer());
    assert_eq!(payload["repository"], "wharf-test/app");
    assert_eq!(
        format!(
            "https://github.com/{}",
            payload["job_workflow_ref"].as_str().unwrap()
        ),
        testbed.identity()
    );
    for claim in [
        "sha",
        "ref",
        "event_name",
        "runner_environment",
        "run_id",
        "run_attempt",
        "repository_id",
        "repository_owner",
        "workflow_ref",
        "nbf",
        "iat",
        "exp",
    ] {
        assert!(payload.get(claim).is_some(), "missing {claim}");
    }

    // Fulcio accepts what the endpoint hands out.
    let key = Key::generate();
    let r = post_json(
        &format!("{}/api/v2/signingCert", testbed.urls().fulcio),
        &signing_cert_request(&jwt, &key, SUB),
    );
    assert_eq!(r.status, 200, "{}", r.text());

    // Discovery and JWKS.
    let disco = get(&format!(
        "{}/.well-known/openid-configuration",
        testbed.issuer()
    ))
    .json();
    assert_eq!(disco["issuer"], testbed.issuer());
    let jwks = get(disco["jwks_uri"].as_str().unwrap()).json();
    assert_eq!(jwks["keys"][0]["kty"], "EC");
}

#[test]
fn bad_requests_get_4xx_not_a_crash() {
    let (_dir, testbed) = testbed();
    let u = testbed.urls();
    let garbage = b"\x00\xffnot json, not DER";
    for (url, expected) in [
        (format!("{}/api/v2/signingCert", u.fulcio), 400),
        (format!("{}/api/v1/log/entries", u.rekor), 400),
        (u.tsa.clone(), 400),
    ] {
        let r = request("POST", &url, &[], garbage);
        assert_eq!(r.status, expected, "{url}: {}", r.text());
    }
    let rekor = format!("{}/api/v1/log/entries", u.rekor);
    for body in [
        json!({}),
        json!({"kind": "rekord", "apiVersion": "0.0.1", "spec": {}}),
        json!({"kind": "hashedrekord", "apiVersion": "0.0.1", "spec": {"signature": {"content": "!!"}}}),
        json!({"kind": "dsse", "apiVersion": "0.0.1", "spec": {"proposedContent": {"envelope": "{}", "verifiers": []}}}),
    ] {
        assert_eq!(post_json(&rekor, &body).status, 400, "{body}");
    }
    // A signature that does not match the digest.
    let key = Key::generate();
    let (mut entry, _) = hashedrekord(b"x", &key, &key.public_pem());
    entry["spec"]["data"]["hash"]["value"] = json!(hex::encode(sha256(b"y")));
    let r = post_json(&rekor, &entry);
    assert_eq!(r.status, 400);
    assert!(r.text().contains("verif"), "{}", r.text());

    let fulcio = format!("{}/api/v2/signingCert", u.fulcio);
    let token = testbed.oidc_token();
    for body in [
        json!({"credentials": {"oidcIdentityToken": token}}),
        json!({"credentials": {"oidcIdentityToken": token}, "certificateSigningRequest": "bm90IGEgQ1NS"}),
        json!({"credentials": {"oidcIdentityToken": token}, "publicKeyRequest": {"publicKey": {"content": "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----\n"}, "proofOfPossession": "AAAA"}}),
        json!({"credentials": {"oidcIdentityToken": "a.b.c"}}),
    ] {
        let r = post_json(&fulcio, &body);
        assert!(
            (400..500).contains(&r.status),
            "{body}: {} {}",
            r.status,
            r.text()
        );
    }

    // Over the body limit: refused from the Content-Length alone, before a
    // byte of the body is read.
    let host = u.rekor.trim_start_matches("http://");
    let mut s = std::net::TcpStream::connect(host).unwrap();
    std::io::Write::write_all(
        &mut s,
        format!(
            "POST /api/v1/log/entries HTTP/1.1\r\nHost: {host}\r\nContent-Length: {}\r\n\r\n",
            wharf_testbed::MAX_BODY + 1
        )
        .as_bytes(),
    )
    .unwrap();
    let mut status = [0u8; 12];
    std::io::Read::read_exact(&mut s, &mut status).unwrap();
    assert_eq!(&status, b"HTTP/1.1 413");
    assert_eq!(get(&format!("{}/nowhere", u.rekor)).status, 404);
    for id in ["zz".repeat(40), "%C3%A9".repeat(14), "0".repeat(81)] {
        let r = get(&format!("{}/api/v1/log/entries/{id}", u.rekor));
        assert!((400..500).contains(&r.status), "{id}: {}", r.status);
    }
    let absurd = testbed.oidc_token_with(|c| {
        c.insert("exp".into(), json!(i64::MIN));
        c.insert("nbf".into(), json!(i64::MAX));
    });
    let r = post_json(&fulcio, &signing_cert_request(&absurd, &key, SUB));
    assert_eq!(r.status, 401, "{}", r.text());
    // Still serving.
    assert_eq!(get(&format!("{}/api/v1/log", u.rekor)).status, 200);
}

#[test]
fn the_files_describe_the_running_services() {
    let (dir, testbed) = testbed();
    let u = testbed.urls();
    for f in [
        "trusted_root.json",
        "trust_config.json",
        "env",
        "identity",
        "issuer",
        "ready",
    ] {
        assert!(dir.path().join(f).is_file(), "{f}");
    }
    assert_eq!(
        std::fs::read_to_string(dir.path().join("identity")).unwrap(),
        testbed.identity()
    );
    assert_eq!(
        std::fs::read_to_string(dir.path().join("issuer")).unwrap(),
        testbed.issuer()
    );
    let env = std::fs::read_to_string(testbed.env_file()).unwrap();
    assert!(env.contains("export GITHUB_ACTIONS='true'"), "{env}");
    assert!(env.contains(&format!(
        "export ACTIONS_ID_TOKEN_REQUEST_URL='{}'",
        u.token_request
    )));
    assert!(env.contains("ACTIONS_ID_TOKEN_REQUEST_TOKEN='"));

    TrustedRoot::from_file(testbed.trusted_root()).expect("sigstore-rust parses the trusted root");
    let tc: Value =
        serde_json::from_slice(&std::fs::read(testbed.trust_config()).unwrap()).unwrap();
    assert_eq!(
        tc["mediaType"],
        "application/vnd.dev.sigstore.clienttrustconfig.v0.1+json"
    );
    let sc = &tc["signingConfig"];
    assert_eq!(
        sc["mediaType"],
        "application/vnd.dev.sigstore.signingconfig.v0.2+json"
    );
    assert_eq!(sc["caUrls"][0]["url"], u.fulcio.as_str());
    assert_eq!(sc["oidcUrls"][0]["url"], u.issuer.as_str());
    assert_eq!(sc["rekorTlogUrls"][0]["url"], u.rekor.as_str());
    assert_eq!(sc["rekorTlogUrls"][0]["majorApiVersion"], 1);
    assert_eq!(sc["tsaUrls"][0]["url"], u.tsa.as_str());
    let trusted_root: Value =
        serde_json::from_slice(&std::fs::read(testbed.trusted_root()).unwrap()).unwrap();
    assert_eq!(tc["trustedRoot"], trusted_root);

    // Debug output never shows the request token.
    let token = testbed.github_env()[2].1.clone();
    assert!(!format!("{testbed:?}").contains(&token));
}

#[test]
fn dropping_the_testbed_stops_the_servers() {
    let (_dir, testbed) = testbed();
    let addr = testbed
        .urls()
        .rekor
        .trim_start_matches("http://")
        .to_string();
    assert!(std::net::TcpStream::connect(&addr).is_ok());
    drop(testbed);
    assert!(std::net::TcpStream::connect(&addr).is_err());
}
