//! The differential test: Trustwatch against the real cosign 2.5 and skopeo 1.18, on a real
//! registry (Debian's `docker-registry`). Images are signed by cosign, by skopeo and by
//! `trustwatch sign`; each case is then judged by `trustwatch verify` (the compiled binary), by
//! `cosign verify` and by skopeo's signature policy, and the verdicts must be the ones written
//! down here — the same for all three, except where a verifier deliberately differs, which the
//! expectation says in words (cosign never looks at the signed identity; Trustwatch does).
//!
//! The peers come from `scripts/lib/peers.sh` (`ensure_peer_tools`, which `scripts/test` runs):
//! `$TRUSTWATCH_PEERS_DIR/bin/{cosign,skopeo}`, default `~/.cache/trustwatch/peers`. Without
//! them this test fails; it never skips.
//!
//! The trust bundles are made as an operator makes them: `trustwatch keys import`, `policy
//! apply` and `bundle export` on a fresh database (DATABASE_URL's server, one database per test),
//! and `trustwatch bundle key` for the public half that `verify --bundle-key` checks them with.

mod refusals;
mod support;

use std::path::Path;

use domain::cosign_key::CosignPrivateKey;
use domain::simple_signing::cosign_payload;
use sqlx::PgPool;
use support::*;

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn cosign_skopeo_and_trustwatch_agree(pool: PgPool) {
    let started = std::time::Instant::now();
    let peers = Peers::find();
    println!("peers: {}", peers.versions());
    let registry = TestRegistry::start();
    let dir = TempDir::new("interop");
    let w = dir.path();
    let reg = registry.addr.clone();
    let client = registry.client();
    let repo = format!("{reg}/demo/app");
    let tag = |t: &str| format!("{repo}:{t}");

    // Keys: the signer's made by the real cosign; the "wrong" one by `trustwatch
    // generate-key-pair`, which skopeo then also signs with (our writer, their reader).
    peers.cosign_generate_key_pair(w);
    let signer_key = w.join("cosign.key");
    let signer_pub = w.join("cosign.pub");
    trustwatch(
        &[
            "generate-key-pair",
            "--output-prefix",
            &w.join("wrong").display().to_string(),
        ],
        &[("TRUSTWATCH_KEY_PASSWORD", PASSPHRASE)],
    )
    .success();
    let wrong_key = w.join("wrong.key");
    let wrong_pub = w.join("wrong.pub");

    // Bundles: one per identity rule, each with a policy whose authority is the signer's key
    // (`ci-release`), and one whose authority is only the wrong key (`other-release`).
    let making = std::time::Instant::now();
    let bundles = Bundles::produce(&database_url(&pool), w, &reg, &signer_pub, &wrong_pub);
    println!(
        "trust bundles made by the CLI: {:.1} s",
        making.elapsed().as_secs_f64()
    );

    // Images.
    let mut digests = std::collections::HashMap::new();
    for t in ["v1", "v2", "v3", "v4", "v5", "v6", "v7", "v8"] {
        let d = push_image(&client, &tag(t), &format!("interop image {t}\n")).await;
        digests.insert(t, d);
    }
    let by_digest = |t: &str| format!("{repo}@{}", digests[t]);

    // v1: signed by cosign. v3: signed by skopeo. v6: signed by skopeo naming another image.
    // v7: signed by `trustwatch sign`. v8: signed by skopeo with the key trustwatch wrote.
    peers.cosign_sign(w, &signer_key, &by_digest("v1"));
    peers.skopeo_sign(w, &reg, &signer_key, &tag("v3"), None);
    peers.skopeo_sign(
        w,
        &reg,
        &signer_key,
        &tag("v6"),
        Some(&format!("{reg}/other/app:v6")),
    );
    peers.skopeo_sign(w, &reg, &wrong_key, &tag("v8"), None);
    let signed = trustwatch(
        &[
            "sign",
            "--key",
            &signer_key.display().to_string(),
            "--allow-http-registry",
            &reg,
            &tag("v7"),
        ],
        &[("COSIGN_PASSWORD", PASSPHRASE)],
    );
    signed.success();
    assert!(
        signed
            .stdout
            .contains(&format!("digest: {}", digests["v7"]))
            && signed.stdout.contains("no signing event was recorded"),
        "trustwatch sign should print the digest and say no event was recorded:\n{}",
        signed.stdout
    );

    // v4: a genuine signature over v4's payload, the payload then altered by one member.
    let key = CosignPrivateKey::decrypt(
        &std::fs::read_to_string(&signer_key).expect("cosign.key"),
        PASSPHRASE.as_bytes(),
    )
    .expect("the signer's key opens");
    let v4 = domain::ImageReference::parse(&tag("v4")).expect("reference");
    let payload = cosign_payload(&v4, &digests["v4"]);
    let signature = key.sign(&payload);
    let tampered = String::from_utf8(payload)
        .expect("utf-8")
        .replace("\"optional\":null", "\"optional\":{}");
    client
        .push_signature(&v4, &digests["v4"], tampered.as_bytes(), &signature)
        .await
        .expect("push the tampered signature");

    // v5: v1's genuine signature replayed onto v5's digest.
    let v1 = domain::ImageReference::parse(&tag("v1")).expect("reference");
    let v5 = domain::ImageReference::parse(&tag("v5")).expect("reference");
    let genuine = client
        .signatures(&v1, &digests["v1"])
        .await
        .expect("v1's signatures");
    assert_eq!(genuine.len(), 1, "cosign stored one signature for v1");
    client
        .push_signature(
            &v5,
            &digests["v5"],
            &genuine[0].payload,
            &genuine[0].signature,
        )
        .await
        .expect("replay v1's signature onto v5");

    let mut table = Table::default();
    let tw = |bundle: &Path, reference: &str| {
        verify_with_trustwatch(bundle, &bundles.key, &reg, reference)
    };
    let cosign = |public: &Path, reference: &str| peers.cosign_verify(w, public, reference);
    let skopeo = |rule: &str, public: &Path, reference: &str| {
        peers.skopeo_verify(w, &reg, rule, public, reference)
    };
    const SAME: &str = "";
    const SKOPEO_REFUSES_BARE_REPOSITORY: &str = "Trustwatch is deliberately more lenient than skopeo here: for an image deployed by digest, `exact` accepts an identity naming just the repository, which is what cosign itself signs (the digest is checked against the payload anyway); skopeo's matchRepoDigestOrExact refuses every repository-only identity";
    const COSIGN_IGNORES_IDENTITY: &str = "Trustwatch is deliberately stricter than cosign here: cosign never checks the signed identity (docker-reference), Trustwatch applies the policy's identity rule as skopeo does";

    // valid
    table.case(
        "valid (cosign-signed, rule repository)",
        &[
            (
                "trustwatch",
                true,
                tw(&bundles.repository, &tag("v1")),
                SAME,
            ),
            ("cosign", true, cosign(&signer_pub, &tag("v1")), SAME),
            (
                "skopeo matchRepository",
                true,
                skopeo("matchRepository", &signer_pub, &tag("v1")),
                SAME,
            ),
        ],
    );
    table.case(
        "valid (skopeo-signed, rule exact)",
        &[
            ("trustwatch", true, tw(&bundles.exact, &tag("v3")), SAME),
            ("cosign", true, cosign(&signer_pub, &tag("v3")), SAME),
            (
                "skopeo matchRepoDigestOrExact",
                true,
                skopeo("matchRepoDigestOrExact", &signer_pub, &tag("v3")),
                SAME,
            ),
        ],
    );
    // wrong key
    table.case(
        "wrong key",
        &[
            (
                "trustwatch",
                false,
                tw(&bundles.wrong_key, &tag("v1")),
                SAME,
            ),
            ("cosign", false, cosign(&wrong_pub, &tag("v1")), SAME),
            (
                "skopeo matchRepository",
                false,
                skopeo("matchRepository", &wrong_pub, &tag("v1")),
                SAME,
            ),
        ],
    );
    // tampered payload
    table.case(
        "tampered payload",
        &[
            (
                "trustwatch",
                false,
                tw(&bundles.repository, &tag("v4")),
                SAME,
            ),
            ("cosign", false, cosign(&signer_pub, &tag("v4")), SAME),
            (
                "skopeo matchRepository",
                false,
                skopeo("matchRepository", &signer_pub, &tag("v4")),
                SAME,
            ),
        ],
    );
    // unsigned
    table.case(
        "unsigned",
        &[
            (
                "trustwatch",
                false,
                tw(&bundles.repository, &tag("v2")),
                SAME,
            ),
            ("cosign", false, cosign(&signer_pub, &tag("v2")), SAME),
            (
                "skopeo matchRepository",
                false,
                skopeo("matchRepository", &signer_pub, &tag("v2")),
                SAME,
            ),
        ],
    );
    // replayed onto another digest
    table.case(
        "signature replayed onto another digest",
        &[
            (
                "trustwatch",
                false,
                tw(&bundles.repository, &tag("v5")),
                SAME,
            ),
            ("cosign", false, cosign(&signer_pub, &tag("v5")), SAME),
            (
                "skopeo matchRepository",
                false,
                skopeo("matchRepository", &signer_pub, &tag("v5")),
                SAME,
            ),
        ],
    );
    // wrong identity, under each rule
    table.case(
        "wrong identity (signed for other/app:v6), rule exact",
        &[
            ("trustwatch", false, tw(&bundles.exact, &tag("v6")), SAME),
            (
                "skopeo matchRepoDigestOrExact",
                false,
                skopeo("matchRepoDigestOrExact", &signer_pub, &tag("v6")),
                SAME,
            ),
            (
                "cosign",
                true,
                cosign(&signer_pub, &tag("v6")),
                COSIGN_IGNORES_IDENTITY,
            ),
        ],
    );
    table.case(
        "wrong identity (signed for other/app:v6), rule repository",
        &[
            (
                "trustwatch",
                false,
                tw(&bundles.repository, &tag("v6")),
                SAME,
            ),
            (
                "skopeo matchRepository",
                false,
                skopeo("matchRepository", &signer_pub, &tag("v6")),
                SAME,
            ),
            (
                "cosign",
                true,
                cosign(&signer_pub, &tag("v6")),
                COSIGN_IGNORES_IDENTITY,
            ),
        ],
    );
    table.case(
        "wrong identity (signed for other/app:v6), rule ignore",
        &[
            (
                "trustwatch",
                true,
                tw(&bundles.ignore, &tag("v6")),
                "the ignore rule is cosign's behaviour; skopeo has no such rule",
            ),
            ("cosign", true, cosign(&signer_pub, &tag("v6")), SAME),
        ],
    );
    // cosign's own identity (the bare repository) under each rule
    table.case(
        "cosign-signed (identity is the bare repository), deployed by tag, rule exact",
        &[
            ("trustwatch", false, tw(&bundles.exact, &tag("v1")), SAME),
            (
                "skopeo matchRepoDigestOrExact",
                false,
                skopeo("matchRepoDigestOrExact", &signer_pub, &tag("v1")),
                SAME,
            ),
            (
                "cosign",
                true,
                cosign(&signer_pub, &tag("v1")),
                COSIGN_IGNORES_IDENTITY,
            ),
        ],
    );
    table.case(
        "cosign-signed, deployed by digest, rule exact",
        &[
            (
                "trustwatch",
                true,
                tw(&bundles.exact, &by_digest("v1")),
                SAME,
            ),
            (
                "skopeo matchRepoDigestOrExact",
                false,
                skopeo("matchRepoDigestOrExact", &signer_pub, &by_digest("v1")),
                SKOPEO_REFUSES_BARE_REPOSITORY,
            ),
            ("cosign", true, cosign(&signer_pub, &by_digest("v1")), SAME),
        ],
    );
    table.case(
        "cosign-signed, rule ignore",
        &[
            ("trustwatch", true, tw(&bundles.ignore, &tag("v1")), SAME),
            ("cosign", true, cosign(&signer_pub, &tag("v1")), SAME),
        ],
    );
    // trustwatch sign, verified by the peers
    table.case(
        "signed by `trustwatch sign`",
        &[
            ("cosign", true, cosign(&signer_pub, &tag("v7")), SAME),
            (
                "skopeo matchRepository",
                true,
                skopeo("matchRepository", &signer_pub, &tag("v7")),
                SAME,
            ),
            (
                "trustwatch",
                true,
                tw(&bundles.repository, &tag("v7")),
                SAME,
            ),
            (
                "cosign, wrong key",
                false,
                cosign(&wrong_pub, &tag("v7")),
                SAME,
            ),
        ],
    );
    // a key file trustwatch wrote, used by skopeo
    table.case(
        "skopeo-signed with a key `trustwatch generate-key-pair` wrote",
        &[
            ("trustwatch", true, tw(&bundles.wrong_key, &tag("v8")), SAME),
            ("cosign", true, cosign(&wrong_pub, &tag("v8")), SAME),
            (
                "skopeo matchRepoDigestOrExact",
                true,
                skopeo("matchRepoDigestOrExact", &wrong_pub, &tag("v8")),
                SAME,
            ),
        ],
    );

    println!("{}", table.render());
    println!("interop: {:.1} s", started.elapsed().as_secs_f64());
    table.assert_all_as_expected();
}
