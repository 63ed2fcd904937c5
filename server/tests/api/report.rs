use clap::Parser;
use domain::TokenScope;
use serde_json::json;
use sqlx::PgPool;

use crate::helpers::spawn_app;

fn line(i: usize) -> String {
    json!({
        "id": uuid::Uuid::now_v7().to_string(), "namespace": "payments",
        "workload": {"kind": "Deployment", "name": "api"}, "image": format!("registry.example.com/payments/api:1.{i}"),
        "outcome": "admitted", "engine": "kyverno", "observed_at": chrono::Utc::now().to_rfc3339(),
    })
    .to_string()
}

async fn report(
    base: &str,
    token: &str,
    file: &std::path::Path,
    extra: &[&str],
) -> anyhow::Result<()> {
    let mut args = vec!["trustwatch", "report", "--server", base, "--token", token];
    args.extend_from_slice(extra);
    args.push(file.to_str().unwrap());
    server::cli::run(server::cli::Cli::try_parse_from(args)?).await
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn report_sends_a_file_in_batches(pool: PgPool) {
    let app = spawn_app(pool).await;
    let (_, secret) = service::tokens::create(
        &app.pool,
        &service::Actor::cli(),
        "eu",
        &[TokenScope::IngestVerification],
        Some("prod-eu-1"),
        false,
    )
    .await
    .unwrap();
    let dir = std::env::temp_dir().join(format!("tw-report-{}", uuid::Uuid::now_v7()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("events.jsonl");
    std::fs::write(&file, (0..2500).map(line).collect::<Vec<_>>().join("\n")).unwrap();
    report(&app.base, secret.expose(), &file, &["--batch", "1000"])
        .await
        .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 2500);

    // A bad line is named by its line number; the batches before it are kept.
    let mut lines: Vec<String> = (0..1500).map(line).collect();
    lines[1199] = json!({"id": "not-a-uuid"}).to_string();
    std::fs::write(&file, lines.join("\n")).unwrap();
    let err = report(&app.base, secret.expose(), &file, &["--batch", "1000"])
        .await
        .unwrap_err();
    assert!(err.to_string().contains("line 1200"), "{err}");
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 3500);

    // Policy reports in YAML, several documents in one file.
    let yaml = dir.join("reports.yaml");
    let kyverno: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(format!(
            "{}/tests/fixtures/kyverno-policyreport.json",
            env!("CARGO_MANIFEST_DIR")
        ))
        .unwrap(),
    )
    .unwrap();
    let docs = format!(
        "{}---\n{}",
        serde_yaml::to_string(&kyverno).unwrap(),
        serde_yaml::to_string(&kyverno).unwrap()
    );
    std::fs::write(&yaml, docs).unwrap();
    report(
        &app.base,
        secret.expose(),
        &yaml,
        &["--kind", "policy-report"],
    )
    .await
    .unwrap();
    let n: i64 = sqlx::query_scalar("SELECT count(*) FROM verification_events WHERE engine = 'kyverno' AND policy LIKE 'check-image-signatures%'")
        .fetch_one(&app.pool)
        .await
        .unwrap();
    assert_eq!(n, 3, "the second copy of the report is a duplicate");
    std::fs::remove_dir_all(&dir).unwrap();
}
