//! `trustwatch sign --server`: the signature goes to a real registry and the signing event, with
//! the exact payload and signature, to the server, which stores it for verification fallback.
//! `trustwatch verify --server`: the bundle a running server publishes decides, and a key revoked
//! on the server stops the image at the next verification.

use std::process::{Command, Output};

use domain::TokenScope;
use sqlx::PgPool;

use crate::helpers::spawn_app;
use crate::interop_support::{push_image, TempDir, TestRegistry, PASSPHRASE};

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn sign_pushes_the_signature_and_records_the_signing_event(pool: PgPool) {
    let app = spawn_app(pool).await;
    let token = app
        .token("ci-signer", &[TokenScope::IngestSigning], None, false)
        .await;
    let registry = TestRegistry::start();
    let client = registry.client();
    let image = format!("{}/payments/api:1.0", registry.addr);
    let digest = push_image(&client, &image, "signed through the server\n").await;
    let dir = TempDir::new("sign-server");
    let prefix = dir.path().join("ci").display().to_string();
    // The server answers on this test's own thread, so the CLI runs off it.
    let run = |args: Vec<String>, token: String| async move {
        tokio::task::spawn_blocking(move || {
            Command::new(env!("CARGO_BIN_EXE_trustwatch"))
                .args(&args)
                .env("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)
                .env("TRUSTWATCH_TOKEN", token)
                .env_remove("TRUSTWATCH_SERVER")
                .output()
                .unwrap()
        })
        .await
        .unwrap()
    };
    let generated = run(
        vec![
            "generate-key-pair".into(),
            "--output-prefix".into(),
            prefix.clone(),
        ],
        String::new(),
    )
    .await;
    assert!(generated.status.success());
    let key = format!("{prefix}.key");
    let sign_args: Vec<String> = [
        "sign",
        "--key",
        &key,
        "--server",
        &app.base,
        "--identity",
        "release-pipeline#7",
        "--allow-http-registry",
        &registry.addr,
        &image,
    ]
    .map(String::from)
    .to_vec();

    // A token without the ingest:signing scope: the signature is pushed, the event refused,
    // and the command says so and fails.
    let reader = app.token("reader", &[TokenScope::Read], None, false).await;
    let out = run(sign_args.clone(), reader.clone()).await;
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success());
    assert!(
        stderr.contains("the signature is in the registry, but the signing event was not recorded"),
        "{stderr}"
    );
    assert!(!stderr.contains(&reader), "the token is never printed");

    let out = run(sign_args, token).await;
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("signing event recorded"), "{stdout}");
    assert!(stdout.contains(&format!("digest: {digest}")), "{stdout}");

    let (fingerprint, stored_digest, identity, host, payload, signature): (
        String,
        String,
        String,
        Option<String>,
        Vec<u8>,
        Vec<u8>,
    ) = sqlx::query_as(
        "SELECT key_fingerprint, digest, signer_identity, signer_host, payload, signature FROM signing_events",
    )
    .fetch_one(&app.pool)
    .await
    .unwrap();
    assert_eq!(stored_digest, digest.to_string());
    assert_eq!(identity, "release-pipeline#7");
    assert!(host.is_some_and(|h| !h.is_empty()));
    let public =
        domain::PublicKey::parse_pem(&std::fs::read_to_string(format!("{prefix}.pub")).unwrap())
            .unwrap();
    assert_eq!(fingerprint, public.fingerprint().to_string());
    // What the server holds is exactly what the registry holds, and it verifies.
    let reference = domain::ImageReference::parse(&image).unwrap();
    let in_registry = client.signatures(&reference, &digest).await.unwrap();
    assert_eq!(in_registry.len(), 1, "signing twice stores one signature");
    assert_eq!(in_registry[0].payload, payload);
    assert_eq!(in_registry[0].signature, signature);
    assert!(public.verify(&payload, &signature).is_ok());
}

/// Runs the compiled `trustwatch` off the async runtime (the server answers on it), with none of
/// the caller's Trustwatch settings and only `env` added.
async fn trustwatch(args: &[&str], env: &[(&'static str, &str)]) -> Output {
    let args: Vec<String> = args.iter().map(|a| a.to_string()).collect();
    let env: Vec<(&'static str, String)> = env.iter().map(|(k, v)| (*k, v.to_string())).collect();
    tokio::task::spawn_blocking(move || {
        Command::new(env!("CARGO_BIN_EXE_trustwatch"))
            .args(&args)
            .env_remove("TRUSTWATCH_SERVER")
            .env_remove("TRUSTWATCH_TOKEN")
            .env_remove("TRUSTWATCH_CONFIG")
            .env_remove("TRUSTWATCH_BUNDLE_KEY_FILE")
            .env_remove("TRUSTWATCH_KEY_PASSWORD")
            .env_remove("COSIGN_PASSWORD")
            .env_remove("DATABASE_URL")
            .envs(env)
            .output()
            .unwrap()
    })
    .await
    .unwrap()
}

fn says(o: &Output) -> String {
    format!(
        "exit {:?}\nstdout:\n{}\nstderr:\n{}",
        o.status.code(),
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

/// `verify --output json`'s decision.
fn decision(o: &Output) -> serde_json::Value {
    serde_json::from_slice(&o.stdout)
        .unwrap_or_else(|e| panic!("verify printed no JSON ({e}):\n{}", says(o)))
}

async fn newest_bundle_version(pool: &PgPool) -> i64 {
    sqlx::query_scalar("SELECT max(version) FROM trust_bundles")
        .fetch_one(pool)
        .await
        .unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn verify_against_a_server_allows_refuses_and_follows_a_revocation(pool: PgPool) {
    let app = spawn_app(pool).await;
    let admin = app.token("ops", &[TokenScope::Admin], None, false).await;
    let reader = app
        .token("deploy-check", &[TokenScope::Read], None, false)
        .await;
    let registry = TestRegistry::start();
    let reg = registry.addr.clone();
    let client = registry.client();
    let signed_image = format!("{reg}/payments/api:2.0");
    let unsigned_image = format!("{reg}/payments/api:2.1");
    let digest = push_image(&client, &signed_image, "signed, then revoked\n").await;
    push_image(&client, &unsigned_image, "never signed\n").await;
    let dir = TempDir::new("verify-server");
    let w = |name: &str| dir.path().join(name).display().to_string();

    // The signer's key pair; its public half imported and named by a policy, on the server with
    // an admin token, as an operator would.
    let out = trustwatch(
        &["generate-key-pair", "--output-prefix", &w("release")],
        &[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)],
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));
    let as_admin = [("TRUSTWATCH_TOKEN", admin.as_str())];
    let out = trustwatch(
        &[
            "keys",
            "import",
            "--name",
            "ci-release",
            "--file",
            &w("release.pub"),
            "--owner",
            "payments",
            "--server",
            &app.base,
        ],
        &as_admin,
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));
    std::fs::write(
        w("policy.yaml"),
        format!(
            "apiVersion: trustwatch.dev/v1\nkind: Policy\nmetadata: {{name: payments}}\nspec:\n  images: ['{reg}/payments/**']\n  mode: enforce\n  identity: repository\n  authorities: {{threshold: 1, keys: [ci-release]}}\n"
        ),
    )
    .unwrap();
    let out = trustwatch(
        &[
            "policy",
            "apply",
            "-f",
            &w("policy.yaml"),
            "--server",
            &app.base,
        ],
        &as_admin,
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));
    let out = trustwatch(
        &[
            "sign",
            "--key",
            &w("release.key"),
            "--allow-http-registry",
            &reg,
            &signed_image,
        ],
        &[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)],
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));

    // The server's bundle key, fetched with the read token (to pin it below).
    let out = trustwatch(
        &[
            "bundle",
            "key",
            "--server",
            &app.base,
            "--output",
            &w("bundle-key.pub"),
        ],
        &[("TRUSTWATCH_TOKEN", reader.as_str())],
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));
    // Some other Ed25519 bundle key, as another installation would sign with.
    std::fs::write(
        w("other-bundle-key.pub"),
        domain::BundleSigningKey::from_seed(&[42; 32])
            .unwrap()
            .public_key()
            .to_pem(),
    )
    .unwrap();

    let verify = |image: String, extra: Vec<String>, token: Option<String>| {
        let base = app.base.clone();
        let reg = reg.clone();
        async move {
            let mut args = vec![
                "verify",
                "--server",
                &base,
                "--allow-http-registry",
                &reg,
                "--output",
                "json",
            ];
            args.extend(extra.iter().map(String::as_str));
            args.push(&image);
            let env: Vec<(&'static str, &str)> = token
                .as_deref()
                .map(|t| vec![("TRUSTWATCH_TOKEN", t)])
                .unwrap_or_default();
            trustwatch(&args, &env).await
        }
    };
    let read = Some(reader.clone());

    // Signed by the key the policy names: allowed, with the version the server publishes, the key
    // fetched from the server (GET /api/v1/trust-bundle/key) and pinned alike.
    let before = newest_bundle_version(&app.pool).await;
    for extra in [vec![], vec!["--bundle-key".into(), w("bundle-key.pub")]] {
        let out = verify(signed_image.clone(), extra, read.clone()).await;
        assert_eq!(out.status.code(), Some(0), "{}", says(&out));
        let d = decision(&out);
        assert_eq!(d["allowed"], true, "{d}");
        assert_eq!(d["reason"], "admitted", "{d}");
        assert_eq!(d["digest"], digest.to_string(), "{d}");
        assert_eq!(d["bundle_version"], before, "{d}");
    }

    // Unsigned: refused.
    let out = verify(unsigned_image.clone(), vec![], read.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let d = decision(&out);
    assert_eq!(d["allowed"], false, "{d}");
    assert_eq!(d["reason"], "unsigned", "{d}");

    // A bundle key other than the server's: the bundle is refused, nothing is decided.
    let out = verify(
        signed_image.clone(),
        vec!["--bundle-key".into(), w("other-bundle-key.pub")],
        read.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", says(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("could not decide") && stderr.contains("is refused"),
        "{stderr}"
    );
    assert!(out.stdout.is_empty(), "{}", says(&out));

    // Registry credentials from a Docker config file: used where the registry asks for them
    // (this one does not, so the answer is unchanged); a file that cannot be used stops the
    // command before anything is decided, naming the entry and never its secret.
    std::fs::write(
        w("auth.json"),
        format!(r#"{{"auths": {{"{reg}": {{"username": "ci", "password": "pull-secret-1"}}}}}}"#),
    )
    .unwrap();
    let out = verify(
        signed_image.clone(),
        vec!["--registry-auth-file".into(), w("auth.json")],
        read.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(0), "{}", says(&out));
    std::fs::write(
        w("helper-auth.json"),
        format!(r#"{{"auths": {{"{reg}": {{"auth": "pull-secret-2"}}}}}}"#),
    )
    .unwrap();
    let out = verify(
        signed_image.clone(),
        vec!["--registry-auth-file".into(), w("helper-auth.json")],
        read.clone(),
    )
    .await;
    assert_eq!(out.status.code(), Some(2), "{}", says(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--registry-auth-file") && stderr.contains("is not base64"),
        "{stderr}"
    );
    assert!(!stderr.contains("pull-secret-2"), "{stderr}");

    // No token: the server refuses the bundle, and the error says what is missing.
    let out = verify(signed_image.clone(), vec![], None).await;
    assert_eq!(out.status.code(), Some(2), "{}", says(&out));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("401") && stderr.contains("read scope"),
        "{stderr}"
    );

    // Revoked on the server: the next verification refuses, from a newer bundle.
    let out = trustwatch(
        &[
            "keys",
            "set-status",
            "ci-release",
            "revoked",
            "--server",
            &app.base,
        ],
        &as_admin,
    )
    .await;
    assert!(out.status.success(), "{}", says(&out));
    let after = newest_bundle_version(&app.pool).await;
    assert!(after > before, "revoking publishes: {before} → {after}");
    let out = verify(signed_image.clone(), vec![], read.clone()).await;
    assert_eq!(out.status.code(), Some(1), "{}", says(&out));
    let d = decision(&out);
    assert_eq!(d["allowed"], false, "{d}");
    assert_eq!(d["reason"], "key_revoked", "{d}");
    assert_eq!(d["bundle_version"], after, "{d}");
    for token in [&admin, &reader] {
        assert!(
            !says(&out).contains(token.as_str()),
            "a token is never printed"
        );
    }
}
