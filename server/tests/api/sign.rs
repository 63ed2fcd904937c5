//! `trustwatch sign --server`: the signature goes to a real registry and the signing event, with
//! the exact payload and signature, to the server, which stores it for verification fallback.

use std::process::Command;

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
