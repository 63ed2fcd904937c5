//! What `trustwatch verify` and `trustwatch sign` do when they cannot do their job: exit status
//! 2 for "could not decide" (bad input, an unreachable or refused registry, a bundle that does
//! not check out), 1 for a refusal, and plain words in both cases. A real registry; no peers.

use sqlx::PgPool;

use crate::support::*;

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn verify_exit_statuses_and_sign_failures(pool: PgPool) {
    let registry = TestRegistry::start();
    let dir = TempDir::new("refusals");
    let w = dir.path();
    let reg = registry.addr.clone();
    let client = registry.client();
    let image = format!("{reg}/demo/app:v1");
    push_image(&client, &image, "refusals\n").await;

    let key_prefix = w.join("signer").display().to_string();
    trustwatch(
        &["generate-key-pair", "--output-prefix", &key_prefix],
        &[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)],
    )
    .success();
    let key = format!("{key_prefix}.key");
    let public = w.join("signer.pub");
    let again = trustwatch(
        &["generate-key-pair", "--output-prefix", &key_prefix],
        &[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)],
    );
    assert_eq!(
        again.code,
        Some(1),
        "an existing key file is never overwritten"
    );
    assert!(again.stderr.contains("exists already"), "{}", again.stderr);

    // Some other Ed25519 public key: the bundles' second signing key (no policy here names it),
    // and then the bundle key of another Trustwatch installation.
    let unrelated_key = |name: &str| {
        let path = w.join(name);
        let seed: [u8; 32] = rand::random();
        let pem = domain::BundleSigningKey::from_seed(&seed)
            .expect("an Ed25519 key")
            .public_key()
            .to_pem();
        std::fs::write(&path, pem).expect("public key file");
        path
    };
    let bundles = Bundles::produce(
        &database_url(&pool),
        w,
        &reg,
        &public,
        &unrelated_key("unrelated.pub"),
    );
    let other_key_file = unrelated_key("other-bundle-key.pub");
    let bundle = bundles.repository.display().to_string();
    let bundle_key = bundles.key.display().to_string();
    let verify = |extra: &[&str], reference: &str| {
        let mut args = vec!["verify"];
        args.extend_from_slice(extra);
        args.push(reference);
        trustwatch(&args, &[])
    };
    let offline = [
        "--bundle",
        &bundle,
        "--bundle-key",
        &bundle_key,
        "--allow-http-registry",
        &reg,
    ];

    // Refused: unsigned. Exit 1, and the text says what to run.
    let unsigned = verify(&offline, &image);
    assert_eq!(
        unsigned.code,
        Some(1),
        "{}{}",
        unsigned.stdout,
        unsigned.stderr
    );
    assert!(
        unsigned.stdout.starts_with("REFUSED") && unsigned.stdout.contains("trustwatch sign"),
        "{}",
        unsigned.stdout
    );

    // Could not decide: exit 2, with the reason.
    let other_key = other_key_file.display().to_string();
    let cases: Vec<(&str, Vec<&str>, String, &str)> = vec![
        (
            "a bad image reference",
            offline.to_vec(),
            "not an image!".into(),
            "not an image reference",
        ),
        (
            "a bundle without its key",
            vec!["--bundle", &bundle, "--allow-http-registry", &reg],
            image.clone(),
            "--bundle-key",
        ),
        (
            "no bundle at all",
            vec!["--allow-http-registry", &reg],
            image.clone(),
            "--server URL or --bundle FILE",
        ),
        (
            "a bundle signed by another key",
            vec![
                "--bundle",
                &bundle,
                "--bundle-key",
                &other_key,
                "--allow-http-registry",
                &reg,
            ],
            image.clone(),
            "refused",
        ),
        (
            "a registry spoken to without --allow-http-registry",
            vec!["--bundle", &bundle, "--bundle-key", &bundle_key],
            image.clone(),
            "TLS",
        ),
        (
            "an unreachable registry",
            offline.to_vec(),
            "127.0.0.1:1/demo/app:v1".into(),
            "unreachable",
        ),
        (
            "a tag that does not exist",
            offline.to_vec(),
            format!("{reg}/demo/app:nope"),
            "not found",
        ),
    ];
    for (what, args, reference, says) in &cases {
        let ran = verify(args, reference);
        assert_eq!(
            ran.code,
            Some(2),
            "{what}: exit 2 expected\n{}{}",
            ran.stdout,
            ran.stderr
        );
        assert!(
            ran.stderr.contains("could not decide") && ran.stderr.contains(says),
            "{what}: the error should say {says:?}:\n{}",
            ran.stderr
        );
    }

    // An altered bundle is refused, never used.
    let mut altered: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&bundles.repository).expect("bundle")).expect("json");
    altered["bundle"]["default_action"] = "allow".into();
    let altered_path = w.join("altered.json");
    std::fs::write(&altered_path, altered.to_string()).expect("write");
    let ran = verify(
        &[
            "--bundle",
            &altered_path.display().to_string(),
            "--bundle-key",
            &bundle_key,
            "--allow-http-registry",
            &reg,
        ],
        &format!("{reg}/elsewhere/app:v1"),
    );
    assert_eq!(ran.code, Some(2), "{}{}", ran.stdout, ran.stderr);
    assert!(ran.stderr.contains("does not verify"), "{}", ran.stderr);

    // sign: the passphrase is needed, checked, and never shown.
    let sign = |env: &[(&str, &str)]| {
        trustwatch(
            &["sign", "--key", &key, "--allow-http-registry", &reg, &image],
            env,
        )
    };
    let none = sign(&[]);
    assert_eq!(none.code, Some(1));
    assert!(
        none.stderr.contains("TRUSTWATCH_KEY_PASSWORD"),
        "{}",
        none.stderr
    );
    let wrong = sign(&[("TRUSTWATCH_KEY_PASSWORD", "guess-one")]);
    assert_eq!(wrong.code, Some(1));
    assert!(
        wrong.stderr.contains("wrong passphrase"),
        "{}",
        wrong.stderr
    );
    assert!(!wrong.stderr.contains("guess-one") && !wrong.stdout.contains("guess-one"));
    let signed = sign(&[("COSIGN_PASSWORD", PASSPHRASE)]);
    signed.success();
    assert!(!signed.stdout.contains(PASSPHRASE) && !signed.stderr.contains(PASSPHRASE));
    let twice = sign(&[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)]);
    twice.success();
    assert!(
        twice.stdout.contains("already there"),
        "deterministic signatures are not stored twice:\n{}",
        twice.stdout
    );

    // Now signed: allowed, exit 0, in text and in JSON.
    let allowed = verify(&offline, &image);
    assert_eq!(
        allowed.code,
        Some(0),
        "{}{}",
        allowed.stdout,
        allowed.stderr
    );
    assert!(allowed.stdout.starts_with("ALLOWED"), "{}", allowed.stdout);
    let mut json_args = offline.to_vec();
    json_args.extend(["--output", "json"]);
    let json = verify(&json_args, &image);
    assert_eq!(json.code, Some(0));
    let decision: serde_json::Value = serde_json::from_str(&json.stdout).expect("json output");
    assert_eq!(decision["allowed"], true);
    assert_eq!(decision["reason"], "admitted");
    assert!(decision["checks"].as_array().is_some_and(|c| !c.is_empty()));
}
