//! The key page, the Keys inventory's additions and the image pages, through their server
//! functions: known answers for last use, trusting policies, signatures per day and identity,
//! signers, signed images paged by keyset, image placements and history, and the image search;
//! everyone logged in reads, nobody else.

use chrono::{DateTime, Duration, DurationRound, Utc};
use domain::cosign_key::CosignPrivateKey;
use domain::{Digest, ImageReference, KeyFingerprint, Role, SigningEvent};
use serde_json::{json, Value};
use sqlx::PgPool;
use uuid::Uuid;

use crate::helpers::{browser, form, spawn_app, TestApp};

const APP: &str = "registry.example.com/team/app";
const WORKER: &str = "registry.example.com/team/worker";

fn fingerprint(seed: u8) -> KeyFingerprint {
    CosignPrivateKey::from_random_scalar(&[seed; 32])
        .unwrap()
        .public_key()
        .fingerprint()
        .clone()
}

fn digest(n: u8) -> Digest {
    Digest::of(&[n])
}

fn absolute(t: DateTime<Utc>) -> String {
    t.format("%Y-%m-%d %H:%M:%S UTC").to_string()
}

/// Keys ci-release (seed 1), ci-backup (seed 2) and security-review (seed 3); group release
/// holds the first two; policy prod trusts ci-release directly and the group, audit-all only the
/// group, and review trusts security-review.
async fn trust_data(app: &TestApp) {
    let actor = service::Actor::cli();
    for (name, seed, rotation) in [
        ("ci-release", 1u8, Some(90)),
        ("ci-backup", 2, None),
        ("security-review", 3, None),
    ] {
        service::keys::import(
            &app.pool,
            &actor,
            &app.publisher,
            &service::keys::KeyImport {
                name: name.into(),
                public_key_pem: CosignPrivateKey::from_random_scalar(&[seed; 32])
                    .unwrap()
                    .public_key()
                    .to_pem(),
                owner_team: "platform".into(),
                custody: "kms".into(),
                custody_uri: Some(format!("gcpkms://projects/p/keys/{name}")),
                valid_from: Some(Utc::now() - Duration::days(120)),
                valid_until: None,
                rotation_period_days: rotation,
            },
            Utc::now(),
        )
        .await
        .unwrap();
    }
    let documents = "\
apiVersion: trustwatch.dev/v1
kind: KeyGroup
metadata: {name: release}
spec: {keys: [ci-release, ci-backup]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: prod}
spec:
  images: [\"registry.example.com/**\"]
  mode: enforce
  authorities: {threshold: 1, keys: [ci-release], groups: [release]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: audit-all}
spec:
  images: [\"**\"]
  mode: audit
  authorities: {threshold: 1, groups: [release]}
---
apiVersion: trustwatch.dev/v1
kind: Policy
metadata: {name: review}
spec:
  images: [\"registry.example.com/secure/**\"]
  mode: warn
  authorities: {threshold: 1, keys: [security-review]}
";
    service::policies::apply(
        &app.pool,
        &actor,
        &app.publisher,
        documents,
        service::policies::ApplyOptions::default(),
    )
    .await
    .unwrap();
}

fn signing(key: u8, image: &str, d: u8, identity: &str, host: &str) -> SigningEvent {
    SigningEvent {
        id: Uuid::now_v7(),
        key: fingerprint(key),
        image: ImageReference::parse(image).unwrap(),
        digest: digest(d),
        signer_identity: identity.into(),
        signer_host: Some(host.into()),
        payload: None,
        signature: None,
        claimed_at: None,
    }
}

/// Records `events` as one batch at `at`: a batch shares one recorded time, as ingestion stamps it.
async fn record(app: &TestApp, at: DateTime<Utc>, events: &[SigningEvent]) {
    let report = service::ingest::record_signing_events(&app.pool, events, at)
        .await
        .unwrap();
    assert_eq!(report.accepted, events.len() as u64);
}

fn verification(image: &str, d: u8, namespace: &str, outcome: &str, at: DateTime<Utc>) -> Value {
    let reason = if outcome == "admitted" {
        "admitted"
    } else {
        "unsigned"
    };
    json!({
        "id": Uuid::now_v7().to_string(), "namespace": namespace,
        "workload": {"kind": "Deployment", "name": "api"}, "image": image,
        "digest": digest(d).as_str(), "outcome": outcome, "reason": reason,
        "engine": "trustwatch", "policy": "prod", "observed_at": at.to_rfc3339(),
    })
}

async fn report(app: &TestApp, cluster: &str, events: Vec<Value>) {
    let token = app.cluster_token(cluster).await;
    report_with(app, &token, events).await;
}

async fn report_with(app: &TestApp, token: &str, events: Vec<Value>) {
    let res = app
        .post_json(
            "/api/v1/verification-events",
            token,
            &json!({ "events": events }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
}

async fn call(app: &TestApp, client: &reqwest::Client, endpoint: &str, body: &str) -> Value {
    let res = app.server_fn(client, endpoint, body).await;
    assert_eq!(
        res.status(),
        200,
        "{endpoint}: {}",
        res.text().await.unwrap()
    );
    res.json().await.unwrap()
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_inventory_shows_last_use_and_the_policies_that_trust_each_key(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let latest = now - Duration::hours(3);
    record(
        &app,
        now - Duration::days(2),
        &[signing(1, &format!("{APP}:1.1"), 1, "ci/app", "runner-1")],
    )
    .await;
    record(
        &app,
        latest,
        &[signing(1, &format!("{APP}:1.2"), 2, "ci/app", "runner-1")],
    )
    .await;

    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let list = call(&app, &viewer, "keys/list", "").await;
    let key = |name: &str| -> Value {
        list["keys"]
            .as_array()
            .unwrap()
            .iter()
            .find(|k| k["name"] == name)
            .cloned()
            .unwrap_or_else(|| panic!("{name} in {list}"))
    };
    let release = key("ci-release");
    assert_eq!(release["last_used"], absolute(latest));
    assert_eq!(release["last_used_ago"], "3 h ago");
    assert_eq!(release["owner_team"], "platform");
    assert_eq!(release["custody"], "kms");
    assert_eq!(release["algorithm"], "ecdsa-p256");
    assert_eq!(
        release["rotation_overdue"], true,
        "120 days old, rotated every 90"
    );
    assert_eq!(
        release["trusted_by"],
        json!([
            {"policy": "audit-all", "mode": "audit", "via_group": "release"},
            {"policy": "prod", "mode": "enforce", "via_group": null},
        ])
    );
    let backup = key("ci-backup");
    assert_eq!(backup["last_used"], "never");
    assert_eq!(backup["rotation_overdue"], false);
    assert_eq!(
        backup["trusted_by"],
        json!([
            {"policy": "audit-all", "mode": "audit", "via_group": "release"},
            {"policy": "prod", "mode": "enforce", "via_group": "release"},
        ])
    );
    assert_eq!(
        key("security-review")["trusted_by"],
        json!([{"policy": "review", "mode": "warn", "via_group": null}])
    );

    // Each name links to its key page, which renders on the server with the colon in its path.
    let page = viewer.get(app.url("/keys")).send().await.unwrap();
    let html = page.text().await.unwrap();
    let href = format!("href=\"/keys/{}\"", fingerprint(1).as_str());
    assert!(html.contains(&href), "{href} in {html}");
    let page = viewer
        .get(app.url(&format!("/keys/{}", fingerprint(1).as_str())))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), 200);
    let html = page.text().await.unwrap();
    assert!(html.contains("Signatures per day, last 30 days"), "{html}");
    assert!(html.contains("runner-1"), "{html}");
    assert!(html.contains(&format!("href=\"/images/{}\"", digest(2).as_str())));
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_key_page_counts_signatures_per_day_by_identity_and_lists_its_signers(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    let now = Utc::now();
    let today = now.duration_trunc(Duration::days(1)).unwrap();
    // Days are UTC days: recorded at noon, so "n days ago" is that day whatever the time now.
    let day = |n: i64| today - Duration::days(n) + Duration::hours(12);
    let day = |n: i64| if n == 0 { now } else { day(n) };
    record(
        &app,
        day(40),
        &[signing(1, &format!("{APP}:0.9"), 9, "ci/app", "runner-old")],
    )
    .await;
    record(
        &app,
        day(2),
        &[
            signing(1, &format!("{APP}:1.0"), 1, "ci/app", "runner-1"),
            signing(1, &format!("{APP}:1.1"), 2, "ci/app", "runner-1"),
            signing(1, &format!("{WORKER}:2.0"), 3, "ci/worker", "runner-2"),
        ],
    )
    .await;
    record(
        &app,
        day(0),
        &[
            signing(1, &format!("{APP}:1.2"), 4, "ci/app", "runner-2"),
            // Another key's signature never counts for this one.
            signing(2, &format!("{APP}:1.2"), 4, "ci/backup", "runner-9"),
        ],
    )
    .await;

    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let body = form(&[("fingerprint", fingerprint(1).as_str())]);
    let page = call(&app, &viewer, "keys/get", &body).await;
    assert_eq!(page["key"]["name"], "ci-release");
    assert_eq!(page["custody_uri"], "gcpkms://projects/p/keys/ci-release");
    assert_eq!(page["alerts"], json!([]));
    let usage = &page["usage"];
    let days = usage["days"].as_array().unwrap();
    assert_eq!(days.len(), 30);
    assert_eq!(days[29], now.date_naive().to_string());
    assert_eq!(days[27], (now.date_naive() - Duration::days(2)).to_string());
    assert_eq!(
        usage["identities"],
        json!(["ci/app", "ci/worker"]),
        "busiest first; the 40-day-old signature is outside the window"
    );
    assert_eq!(usage["total"], 4);
    assert_eq!(usage["signers"], 2);
    let mut app_series = vec![0; 30];
    app_series[27] = 2;
    app_series[29] = 1;
    let mut worker_series = vec![0; 30];
    worker_series[27] = 1;
    assert_eq!(usage["counts"], json!([app_series, worker_series]));

    let signers: Vec<(String, String, i64)> = page["signers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["identity"].as_str().unwrap().to_owned(),
                s["host"].as_str().unwrap().to_owned(),
                s["signatures"].as_i64().unwrap(),
            )
        })
        .collect();
    assert_eq!(
        signers,
        vec![
            ("ci/app".into(), "runner-2".into(), 1),
            ("ci/app".into(), "runner-1".into(), 2),
            ("ci/worker".into(), "runner-2".into(), 1),
            ("ci/app".into(), "runner-old".into(), 1),
        ],
        "most recently seen first"
    );
    assert_eq!(page["signers_total"], 4);
    let runner_1 = &page["signers"][1];
    assert_eq!(runner_1["first_seen"], absolute(day(2)));
    assert_eq!(runner_1["last_seen"], absolute(day(2)));

    // Past six identities, the quietest are summed into one series.
    let many: Vec<SigningEvent> = (0..8u8)
        .flat_map(|i| {
            (0..=i).map(move |_| {
                signing(
                    3,
                    &format!("{APP}:2.{i}"),
                    20 + i,
                    &format!("id-{i}"),
                    "runner-3",
                )
            })
        })
        .collect();
    record(&app, day(1), &many).await;
    let page = call(
        &app,
        &viewer,
        "keys/get",
        &form(&[("fingerprint", fingerprint(3).as_str())]),
    )
    .await;
    let usage = &page["usage"];
    assert_eq!(
        usage["identities"],
        json!([
            "id-7",
            "id-6",
            "id-5",
            "id-4",
            "id-3",
            "id-2",
            "other identities"
        ])
    );
    assert_eq!(
        usage["counts"]
            .as_array()
            .unwrap()
            .iter()
            .map(|c| c[28].as_i64().unwrap())
            .collect::<Vec<_>>(),
        vec![8, 7, 6, 5, 4, 3, 3]
    );
    assert_eq!(
        (usage["total"].clone(), usage["signers"].clone()),
        (json!(36), json!(8))
    );

    let res = app
        .server_fn(
            &viewer,
            "keys/get",
            &form(&[("fingerprint", fingerprint(7).as_str())]),
        )
        .await;
    assert_eq!(res.status(), 404, "no key has that fingerprint");
    let res = app
        .server_fn(&viewer, "keys/get", "fingerprint=sha256%3Anope")
        .await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn signed_images_page_newest_first_across_ties_without_gaps_or_repeats(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    let now = Utc::now();
    // Five signatures; three share one recorded time (one batch), so only the id orders them.
    let older = now - Duration::hours(2);
    record(
        &app,
        older,
        &[signing(1, &format!("{APP}:1.0"), 1, "ci/app", "runner-1")],
    )
    .await;
    let batch = [
        signing(1, &format!("{APP}:1.1"), 2, "ci/app", "runner-1"),
        signing(1, &format!("{APP}:1.2"), 3, "ci/app", "runner-1"),
        signing(1, &format!("{WORKER}:2.0"), 4, "ci/worker", "runner-2"),
    ];
    record(&app, now - Duration::hours(1), &batch).await;
    record(
        &app,
        now,
        &[signing(1, &format!("{APP}:1.3"), 5, "ci/app", "runner-1")],
    )
    .await;
    let mut tied: Vec<&SigningEvent> = batch.iter().collect();
    tied.sort_by_key(|e| std::cmp::Reverse(e.id));
    let expected: Vec<String> = std::iter::once(digest(5))
        .chain(tied.iter().map(|e| e.digest.clone()))
        .chain(std::iter::once(digest(1)))
        .map(|d| d.as_str().to_owned())
        .collect();

    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let fp = fingerprint(1);
    let mut seen = Vec::new();
    let mut pages = Vec::new();
    let mut before: Option<String> = None;
    loop {
        let mut pairs = vec![("fingerprint", fp.as_str()), ("limit", "2")];
        if let Some(b) = &before {
            pairs.push(("before", b));
        }
        let page = call(&app, &viewer, "keys/signed_images", &form(&pairs)).await;
        let digests: Vec<String> = page["images"]
            .as_array()
            .unwrap()
            .iter()
            .map(|i| i["digest"].as_str().unwrap().to_owned())
            .collect();
        pages.push(digests.len());
        seen.extend(digests);
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
        assert!(pages.len() < 10, "paging does not end");
    }
    assert_eq!(pages, vec![2, 2, 1]);
    assert_eq!(seen, expected);

    // The first page's row in full.
    let page = call(
        &app,
        &viewer,
        "keys/signed_images",
        &form(&[("fingerprint", fp.as_str()), ("limit", "1")]),
    )
    .await;
    assert_eq!(page["images"][0]["repository"], APP);
    assert_eq!(page["images"][0]["image"], format!("{APP}:1.3"));
    assert_eq!(page["images"][0]["identity"], "ci/app");
    assert_eq!(page["images"][0]["host"], "runner-1");
    assert_eq!(page["images"][0]["recorded"], absolute(now));

    let res = app
        .server_fn(
            &viewer,
            "keys/signed_images",
            &form(&[("fingerprint", fp.as_str()), ("before", "yesterday")]),
        )
        .await;
    assert_eq!(res.status(), 422, "a page position that is not one");
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn the_image_page_shows_signatures_placements_and_history(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    let image = format!("{APP}:1.2");
    record(
        &app,
        now - Duration::days(1),
        &[
            signing(1, &image, 1, "ci/app", "runner-1"),
            signing(2, &image, 1, "ci/backup", "runner-2"),
        ],
    )
    .await;
    // A signature by a key Trustwatch does not know is shown too, without a name.
    record(
        &app,
        now,
        &[signing(8, &image, 1, "laptop/alice", "alice-mbp")],
    )
    .await;
    let at = |minutes: i64| now - Duration::minutes(minutes);
    report(
        &app,
        "prod-eu-1",
        vec![
            verification(&image, 1, "payments", "admitted", at(50)),
            verification(&image, 1, "payments", "admitted", at(40)),
            verification(&image, 1, "payments", "rejected", at(30)),
            verification(&image, 1, "web", "warned", at(20)),
        ],
    )
    .await;
    report(
        &app,
        "prod-us-1",
        vec![
            verification(&image, 1, "payments", "admitted", at(10)),
            // Another digest's events stay on its own page.
            verification(&format!("{APP}:1.3"), 2, "payments", "rejected", at(5)),
        ],
    )
    .await;

    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let body = form(&[("digest", digest(1).as_str())]);
    let page = call(&app, &viewer, "images/get", &body).await;
    assert_eq!(page["digest"], digest(1).as_str());
    assert_eq!(page["references"], json!([image]));
    let signatures: Vec<(Value, String, String)> = page["signatures"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            (
                s["key_name"].clone(),
                s["key_fingerprint"].as_str().unwrap().to_owned(),
                s["identity"].as_str().unwrap().to_owned(),
            )
        })
        .collect();
    assert_eq!(signatures.len(), 3);
    assert_eq!(
        signatures[0],
        (
            Value::Null,
            fingerprint(8).as_str().to_owned(),
            "laptop/alice".into()
        )
    );
    let mut known: Vec<_> = signatures[1..].to_vec();
    known.sort_by(|a, b| a.2.cmp(&b.2));
    assert_eq!(
        known,
        vec![
            (
                json!("ci-release"),
                fingerprint(1).as_str().to_owned(),
                "ci/app".into()
            ),
            (
                json!("ci-backup"),
                fingerprint(2).as_str().to_owned(),
                "ci/backup".to_owned()
            ),
        ]
    );
    assert_eq!(page["signatures"][0]["source"], "signing event");
    assert_eq!(page["signatures"][0]["recorded"], absolute(now));
    assert_eq!(page["signatures"][0]["host"], "alice-mbp");

    let placements: Vec<Value> = page["placements"]
        .as_array()
        .unwrap()
        .iter()
        .map(|p| {
            json!([
                p["cluster"],
                p["namespace"],
                p["last_outcome"],
                p["last_seen"],
                p["admitted"],
                p["rejected"],
                p["warned"],
                p["errors"]
            ])
        })
        .collect();
    assert_eq!(
        placements,
        vec![
            json!([
                "prod-us-1",
                "payments",
                "admitted",
                absolute(at(10)),
                1,
                0,
                0,
                0
            ]),
            json!(["prod-eu-1", "web", "warned", absolute(at(20)), 0, 0, 1, 0]),
            json!([
                "prod-eu-1",
                "payments",
                "rejected",
                absolute(at(30)),
                2,
                1,
                0,
                0
            ]),
        ]
    );

    // The history, three at a time, newest first; the rejection links to its event.
    let mut outcomes = Vec::new();
    let mut before: Option<String> = None;
    let mut rejection = None;
    let d1 = digest(1);
    loop {
        let mut pairs = vec![("digest", d1.as_str()), ("limit", "3")];
        if let Some(b) = &before {
            pairs.push(("before", b));
        }
        let page = call(&app, &viewer, "images/history", &form(&pairs)).await;
        for e in page["events"].as_array().unwrap() {
            outcomes.push(format!(
                "{} {} {}",
                e["cluster"].as_str().unwrap(),
                e["namespace"].as_str().unwrap(),
                e["outcome"].as_str().unwrap()
            ));
            if e["outcome"] == "rejected" {
                rejection = Some(e["id"].as_str().unwrap().to_owned());
            }
        }
        match page["next"].as_str() {
            Some(next) => before = Some(next.to_owned()),
            None => break,
        }
    }
    assert_eq!(
        outcomes,
        vec![
            "prod-us-1 payments admitted",
            "prod-eu-1 web warned",
            "prod-eu-1 payments rejected",
            "prod-eu-1 payments admitted",
            "prod-eu-1 payments admitted",
        ]
    );
    let rejection = rejection.unwrap();
    assert_eq!(page["placements"][2]["last_event"], rejection.as_str());

    // The page renders on the server, with its links.
    let html = viewer
        .get(app.url(&format!("/images/{}", digest(1).as_str())))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("href=\"/rejections/{rejection}\"")),
        "{html}"
    );
    assert!(html.contains(&format!("href=\"/keys/{}\"", fingerprint(1).as_str())));
    assert!(html.contains("Where it runs or was refused"));

    let res = app
        .server_fn(
            &viewer,
            "images/get",
            &form(&[("digest", digest(77).as_str())]),
        )
        .await;
    assert_eq!(res.status(), 404, "a digest nobody reported");
    let res = app.server_fn(&viewer, "images/get", "digest=latest").await;
    assert_eq!(res.status(), 422);
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn images_are_found_by_digest_or_a_part_of_their_reference(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    let now = Utc::now().duration_trunc(Duration::seconds(1)).unwrap();
    // The app is signed and admitted; the worker only ever reached a cluster; a third image
    // arrives by a pinned reference.
    record(
        &app,
        now - Duration::hours(2),
        &[signing(1, &format!("{APP}:1.2"), 1, "ci/app", "runner-1")],
    )
    .await;
    report(
        &app,
        "prod-eu-1",
        vec![
            verification(
                &format!("{APP}:1.2"),
                1,
                "payments",
                "admitted",
                now - Duration::hours(1),
            ),
            verification(&format!("{WORKER}:2.0"), 2, "payments", "rejected", now),
            verification(
                &format!("registry.example.com/other/db@{}", digest(3).as_str()),
                3,
                "data",
                "admitted",
                now,
            ),
        ],
    )
    .await;

    let viewer = app.logged_in("viewer@example.com", Role::Viewer).await;
    let search = |q: &str| {
        let body = form(&[("q", q)]);
        let (app, viewer) = (&app, &viewer);
        async move { call(app, viewer, "images/search", &body).await }
    };
    let digests = |r: &Value| -> Vec<String> {
        r["matches"]
            .as_array()
            .unwrap()
            .iter()
            .map(|m| m["digest"].as_str().unwrap().to_owned())
            .collect()
    };

    let r = search("app:1.2").await;
    assert_eq!(digests(&r), vec![digest(1).as_str()]);
    let m = &r["matches"][0];
    assert_eq!(m["repository"], APP);
    assert_eq!(m["references"], json!([format!("{APP}:1.2")]));
    assert_eq!(m["signatures"], 1);
    assert_eq!(m["first_seen"], absolute(now - Duration::hours(2)));
    assert_eq!(m["last_seen"], absolute(now - Duration::hours(1)));

    assert_eq!(
        digests(&search("Registry.Example.com/TEAM").await),
        vec![digest(2).as_str(), digest(1).as_str()],
        "a repository's prefix, any case, most recently seen first"
    );
    let r = search(digest(2).as_str()).await;
    assert_eq!(digests(&r), vec![digest(2).as_str()]);
    assert_eq!(r["matches"][0]["signatures"], 0, "the worker is unsigned");
    assert_eq!(
        digests(&search(&digest(3).as_str()[..19]).await),
        vec![digest(3).as_str()],
        "the first hex digits of a digest"
    );
    assert_eq!(digests(&search("other/db").await), vec![digest(3).as_str()]);
    assert_eq!(
        digests(&search("nothing-like-it").await),
        Vec::<String>::new()
    );
    assert_eq!(
        digests(&search("  ").await),
        vec![digest(3).as_str(), digest(2).as_str(), digest(1).as_str()],
        "no words: the most recently seen"
    );

    // The page renders the search from its link.
    let html = viewer
        .get(app.url("/images?q=app%3A1.2"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(
        html.contains(&format!("href=\"/images/{}\"", digest(1).as_str())),
        "{html}"
    );
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn every_logged_in_role_reads_and_nobody_else(pool: PgPool) {
    let app = spawn_app(pool).await;
    trust_data(&app).await;
    record(
        &app,
        Utc::now(),
        &[signing(1, &format!("{APP}:1.2"), 1, "ci/app", "runner-1")],
    )
    .await;
    let fp = form(&[("fingerprint", fingerprint(1).as_str())]);
    let d = form(&[("digest", digest(1).as_str())]);
    let calls = [
        ("keys/list", String::new()),
        ("keys/get", fp.clone()),
        ("keys/signed_images", fp),
        ("images/search", "q=app".to_owned()),
        ("images/get", d.clone()),
        ("images/history", d),
    ];
    for role in [
        Role::Viewer,
        Role::Developer,
        Role::Security,
        Role::Admin,
        Role::Auditor,
    ] {
        let client = app
            .logged_in(&format!("{}@example.com", role.as_str()), role)
            .await;
        for (endpoint, body) in &calls {
            let res = app.server_fn(&client, endpoint, body).await;
            assert_eq!(res.status(), 200, "{role:?} reads {endpoint}");
        }
    }
    for (endpoint, body) in &calls {
        let res = app.server_fn(&browser(), endpoint, body).await;
        assert_eq!(res.status(), 401, "{endpoint} without a session");
    }
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn ingestion_keeps_the_known_images_to_ten_minutes_without_rewriting_fresh_rows(
    pool: PgPool,
) {
    let app = spawn_app(pool).await;
    let t0 = Utc::now().duration_trunc(Duration::seconds(1)).unwrap() - Duration::hours(1);
    let image = format!("{APP}:1.2");
    let reporter = app.cluster_token("prod-eu-1").await;
    let seen = || async {
        sqlx::query_as::<_, (i64, DateTime<Utc>, DateTime<Utc>)>(
            "SELECT count(*) OVER (), first_seen, last_seen FROM known_images",
        )
        .fetch_one(&app.pool)
        .await
        .unwrap()
    };
    report_with(
        &app,
        &reporter,
        vec![verification(&image, 1, "payments", "admitted", t0)],
    )
    .await;
    assert_eq!(seen().await, (1, t0, t0));
    // Five minutes later: still fresh, the row is not written again.
    let five = t0 + Duration::minutes(5);
    report_with(
        &app,
        &reporter,
        vec![verification(&image, 1, "web", "admitted", five)],
    )
    .await;
    assert_eq!(seen().await, (1, t0, t0));
    // Twenty minutes later: stale, so it moves; an older sighting moves first_seen back.
    let twenty = t0 + Duration::minutes(20);
    let earlier = t0 - Duration::days(1);
    report_with(
        &app,
        &reporter,
        vec![
            verification(&image, 1, "web", "admitted", twenty),
            verification(&image, 1, "web", "admitted", earlier),
        ],
    )
    .await;
    assert_eq!(seen().await, (1, earlier, twenty));
    // A tag reported without a digest is an image of its own.
    let token = app.cluster_token("prod-us-1").await;
    let mut unresolved = verification(&format!("{APP}:latest"), 1, "web", "error", twenty);
    unresolved["digest"] = Value::Null;
    unresolved["reason"] = json!("registry_unreachable");
    let res = app
        .post_json(
            "/api/v1/verification-events",
            &token,
            &json!({ "events": [unresolved.clone(), unresolved] }),
        )
        .await;
    assert_eq!(res.status(), 200, "{}", res.text().await.unwrap());
    let rows: Vec<(String, Option<String>)> =
        sqlx::query_as("SELECT image, digest FROM known_images ORDER BY image")
            .fetch_all(&app.pool)
            .await
            .unwrap();
    assert_eq!(
        rows,
        vec![
            (image.clone(), Some(digest(1).as_str().to_owned())),
            (format!("{APP}:latest"), None),
        ]
    );
}
