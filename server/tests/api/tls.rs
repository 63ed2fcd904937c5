//! `trustwatch serve` over HTTPS: the certificate from PEM files, replaced on disk while the
//! server runs, and a broken replacement refused. Certificates are made with `openssl`.

use std::net::SocketAddr;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use sqlx::PgPool;

use crate::interop_support::TempDir;

fn openssl(dir: &Path, args: &[&str]) {
    let out = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .unwrap_or_else(|e| panic!("openssl makes the test certificates: {e}"));
    assert!(
        out.status.success(),
        "openssl {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A private CA `{name}-ca.crt` and a server certificate for 127.0.0.1 it issued,
/// `{name}.crt` with `{name}.key`.
fn issue(dir: &Path, name: &str) {
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:prime256v1",
        "-nodes",
    ];
    let (ca_key, ca_crt) = (format!("{name}-ca.key"), format!("{name}-ca.crt"));
    let (key, csr, crt) = (
        format!("{name}.key"),
        format!("{name}.csr"),
        format!("{name}.crt"),
    );
    let subject = format!("/CN=trustwatch test CA {name}");
    let mut args = vec!["req", "-x509"];
    args.extend(ec);
    args.extend([
        "-keyout", &ca_key, "-out", &ca_crt, "-days", "2", "-subj", &subject,
    ]);
    openssl(dir, &args);
    let mut args = vec!["req"];
    args.extend(ec);
    args.extend(["-keyout", &key, "-out", &csr, "-subj", "/CN=127.0.0.1"]);
    openssl(dir, &args);
    std::fs::write(
        dir.join("server.ext"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    openssl(
        dir,
        &[
            "x509",
            "-req",
            "-in",
            &csr,
            "-CA",
            &ca_crt,
            "-CAkey",
            &ca_key,
            "-CAcreateserial",
            "-out",
            &crt,
            "-days",
            "2",
            "-extfile",
            "server.ext",
        ],
    );
}

/// A client that trusts only the CA `{name}-ca.crt`.
fn client_trusting(dir: &Path, name: &str) -> reqwest::Client {
    let pem = std::fs::read(dir.join(format!("{name}-ca.crt"))).unwrap();
    reqwest::Client::builder()
        .tls_built_in_root_certs(false)
        .add_root_certificate(reqwest::Certificate::from_pem(&pem).unwrap())
        .pool_max_idle_per_host(0)
        .build()
        .unwrap()
}

/// Replaces `to` with `from` in one step, as a Secret volume update does.
fn replace(dir: &Path, from: &str, to: &str) {
    let staged = dir.join(format!("{to}.new"));
    std::fs::copy(dir.join(from), &staged).unwrap();
    std::fs::rename(&staged, dir.join(to)).unwrap();
}

/// Whether a client trusting only the CA `name` gets an answer. A new client each time: a
/// client that resumes an earlier TLS session skips the certificate altogether.
async fn answers(dir: &Path, name: &str, url: &str) -> bool {
    client_trusting(dir, name)
        .get(url)
        .send()
        .await
        .is_ok_and(|r| r.status().is_success())
}

#[sqlx::test(migrator = "service::MIGRATOR")]
async fn serves_https_and_picks_up_a_replaced_certificate(pool: PgPool) {
    let tmp = TempDir::new("tls");
    let dir = tmp.path();
    issue(dir, "first");
    issue(dir, "second");
    replace(dir, "first.crt", "tls.crt");
    replace(dir, "first.key", "tls.key");

    let settings = server::Settings {
        playbooks_dir: crate::helpers::repository_playbooks(),
        ..server::Settings::default()
    };
    let parts = server::build_router(pool, &settings).await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr: SocketAddr = listener.local_addr().unwrap();
    let files = server::tls::TlsFiles {
        certificate: dir.join("tls.crt"),
        key: dir.join("tls.key"),
        reload_every: Duration::from_millis(200),
    };
    tokio::spawn(async move { server::tls::serve_tls(listener, parts.router, &files).await });
    let url = format!("https://{addr}/healthz");

    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers(dir, "first", &url).await {
        assert!(
            Instant::now() < deadline,
            "the server never answered over HTTPS"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(
        !answers(dir, "second", &url).await,
        "only the first certificate is served"
    );
    let plain = reqwest::get(format!("http://{addr}/healthz")).await;
    assert!(
        plain.is_err() || !plain.unwrap().status().is_success(),
        "no plain HTTP"
    );

    // The files are replaced: new handshakes get the second certificate.
    replace(dir, "second.key", "tls.key");
    replace(dir, "second.crt", "tls.crt");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers(dir, "second", &url).await {
        assert!(
            Instant::now() < deadline,
            "the replaced certificate was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    assert!(!answers(dir, "first", &url).await);

    // A pair that does not fit is refused, and the second certificate stays.
    replace(dir, "first.crt", "tls.crt");
    tokio::time::sleep(Duration::from_millis(800)).await;
    assert!(
        answers(dir, "second", &url).await,
        "a broken pair must not replace a working one"
    );
    assert!(!answers(dir, "first", &url).await);

    // Fixed again (the first key beside the first certificate): served.
    replace(dir, "first.key", "tls.key");
    let deadline = Instant::now() + Duration::from_secs(10);
    while !answers(dir, "first", &url).await {
        assert!(
            Instant::now() < deadline,
            "the repaired pair was never served"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

#[test]
fn a_certificate_and_a_key_that_do_not_fit_are_refused_at_start() {
    let tmp = TempDir::new("tls-start");
    let dir = tmp.path();
    issue(dir, "a");
    issue(dir, "b");
    assert!(server::tls::load_pair(&dir.join("a.crt"), &dir.join("a.key")).is_ok());
    let e = server::tls::load_pair(&dir.join("a.crt"), &dir.join("b.key")).unwrap_err();
    assert!(format!("{e:#}").contains("does not fit"), "{e:#}");
    let e = server::tls::load_pair(&dir.join("a.key"), &dir.join("a.key")).unwrap_err();
    assert!(format!("{e:#}").contains("no PEM certificate"), "{e:#}");
    let e = server::tls::load_pair(&dir.join("missing.crt"), &dir.join("a.key")).unwrap_err();
    assert!(format!("{e:#}").contains("missing.crt"), "{e:#}");
}
