use std::net::SocketAddr;

use domain::Role;
use reqwest::redirect::Policy;
use reqwest::{Client, Response};
use server::Settings;
use sqlx::PgPool;

pub const PASSWORD: &str = "correct horse battery staple";

pub struct TestApp {
    pub base: String,
    pub pool: PgPool,
    /// The bundle key file this app signs with (a fresh temporary file per app).
    pub bundle_key_file: std::path::PathBuf,
    pub publisher: service::trust_bundle::Publisher,
}

/// The repository's `playbooks/`: tests load the real files, as a server started from the
/// checkout does.
pub fn repository_playbooks() -> std::path::PathBuf {
    std::path::PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../playbooks")
}

/// Starts the whole application on a free port over `pool` (already migrated by `sqlx::test`).
pub async fn spawn_app(pool: PgPool) -> TestApp {
    spawn_app_with(pool, Settings::default()).await
}

pub async fn spawn_app_with(pool: PgPool, mut settings: Settings) -> TestApp {
    if settings.bundle_key_file == Settings::default().bundle_key_file {
        // Never the checkout's .data/: each app gets its own key, generated at start.
        settings.bundle_key_file = std::env::temp_dir()
            .join(format!("tw-test-{}", uuid::Uuid::now_v7()))
            .join("bundle-signing.key");
    }
    if settings.playbooks_dir == Settings::default().playbooks_dir {
        // The default is relative to the checkout; tests run from `server/`.
        settings.playbooks_dir = repository_playbooks();
    }
    // Logs only when asked for (TRUSTWATCH_LOG=debug cargo test …): they bypass the test harness's
    // output capture and would bury the results.
    if std::env::var_os("TRUSTWATCH_LOG").is_some() {
        server::telemetry::init(server::settings::LogFormat::Text);
    }
    service::migrate(&pool).await.expect("migrate");
    let parts = server::build_router(pool.clone(), &settings)
        .await
        .expect("build router");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let addr: SocketAddr = listener.local_addr().expect("addr");
    tokio::spawn(server::serve(listener, parts.router));
    TestApp {
        base: format!("http://{addr}"),
        pool,
        bundle_key_file: settings.bundle_key_file.clone(),
        publisher: parts.state.publisher.clone(),
    }
}

/// A value percent-encoded for a form or a query: unreserved characters as they are.
pub fn urlencode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                (b as char).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// A url-encoded form body, as a browser posts it.
pub fn form(pairs: &[(&str, &str)]) -> String {
    pairs
        .iter()
        .map(|(k, v)| format!("{k}={}", urlencode(v)))
        .collect::<Vec<_>>()
        .join("&")
}

/// A browser-like client: keeps cookies, does not follow redirects (tests look at them).
pub fn browser() -> Client {
    Client::builder()
        .cookie_store(true)
        .redirect(Policy::none())
        .build()
        .expect("client")
}

impl TestApp {
    pub fn url(&self, path: &str) -> String {
        format!("{}{}", self.base, path)
    }

    pub async fn create_user(&self, email: &str, role: Role) {
        service::users::create(
            &self.pool,
            &service::Actor::cli(),
            email,
            role,
            PASSWORD,
            false,
        )
        .await
        .expect("create user");
    }

    /// Posts the login form as a browser on this site would.
    pub async fn login(&self, client: &Client, email: &str, password: &str) -> Response {
        client
            .post(self.url("/login"))
            .header("Origin", &self.base)
            .form(&[("email", email), ("password", password), ("next", "")])
            .send()
            .await
            .expect("login request")
    }

    /// A browser client logged in as a new user with `role`.
    pub async fn logged_in(&self, email: &str, role: Role) -> Client {
        self.create_user(email, role).await;
        let client = browser();
        let res = self.login(&client, email, PASSWORD).await;
        assert_eq!(location(&res), "/", "login as {email} failed");
        client
    }

    /// Calls a server function the way its form does: url-encoded POST from this origin.
    pub async fn server_fn(&self, client: &Client, endpoint: &str, body: &str) -> Response {
        client
            .post(self.url(&format!("/ui/{endpoint}")))
            .header("Origin", &self.base)
            .header("Content-Type", "application/x-www-form-urlencoded")
            .body(body.to_owned())
            .send()
            .await
            .expect("server function request")
    }

    /// A machine token, returned as the value a client sends.
    pub async fn token(
        &self,
        name: &str,
        scopes: &[domain::TokenScope],
        cluster: Option<&str>,
        may_register_clusters: bool,
    ) -> String {
        let (_, secret) = service::tokens::create(
            &self.pool,
            &service::Actor::cli(),
            name,
            scopes,
            cluster,
            may_register_clusters,
        )
        .await
        .expect("create token");
        secret.expose().to_owned()
    }

    /// The usual reporter: an `ingest:verification` token bound to `cluster`, named after it.
    pub async fn cluster_token(&self, cluster: &str) -> String {
        self.token(
            cluster,
            &[domain::TokenScope::IngestVerification],
            Some(cluster),
            false,
        )
        .await
    }

    /// Posts JSON to a machine API with a bearer token.
    pub async fn post_json(&self, path: &str, token: &str, body: &serde_json::Value) -> Response {
        reqwest::Client::new()
            .post(self.url(path))
            .bearer_auth(token)
            .json(body)
            .send()
            .await
            .expect("machine API request")
    }

    pub async fn audit_actions(&self) -> Vec<(String, String, serde_json::Value)> {
        sqlx::query_as("SELECT action, target, detail FROM audit_log ORDER BY seq")
            .fetch_all(&self.pool)
            .await
            .expect("audit")
    }

    pub async fn has_audit(&self, action: &str, target: &str) -> bool {
        self.audit_actions()
            .await
            .iter()
            .any(|(a, t, _)| a == action && t == target)
    }
}

pub fn location(res: &Response) -> String {
    res.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default()
        .to_owned()
}

/// A TCP proxy in front of PostgreSQL that a test can cut, to see how the application behaves
/// when its database goes away and comes back.
pub struct DbProxy {
    pub port: u16,
    up: std::sync::Arc<std::sync::atomic::AtomicBool>,
    cut: tokio::sync::watch::Sender<u64>,
}

impl DbProxy {
    pub async fn start(target: String) -> Self {
        use std::sync::atomic::Ordering;
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let port = listener.local_addr().unwrap().port();
        let up = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(true));
        let (cut, _) = tokio::sync::watch::channel(0u64);
        let (accept_up, accept_cut) = (up.clone(), cut.clone());
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                if !accept_up.load(Ordering::SeqCst) {
                    continue; // dropped: the connection is refused as soon as it opens
                }
                let target = target.clone();
                let mut cut = accept_cut.subscribe();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(&target).await else {
                        return;
                    };
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = cut.changed() => {}
                    }
                });
            }
        });
        Self { port, up, cut }
    }

    /// The database becomes unreachable: open connections break, new ones are refused.
    pub fn down(&self) {
        self.up.store(false, std::sync::atomic::Ordering::SeqCst);
        self.cut.send_modify(|generation| *generation += 1);
    }

    pub fn up(&self) {
        self.up.store(true, std::sync::atomic::Ordering::SeqCst);
    }

    /// A pool like `pool` whose connections go through this proxy.
    pub fn pool_like(&self, pool: &PgPool) -> PgPool {
        let options = (*pool.connect_options())
            .clone()
            .host("127.0.0.1")
            .port(self.port);
        sqlx::postgres::PgPoolOptions::new()
            .max_connections(4)
            .acquire_timeout(std::time::Duration::from_secs(2))
            .connect_lazy_with(options)
    }
}

/// The `host:port` PostgreSQL listens on for `pool`.
pub fn database_address(pool: &PgPool) -> String {
    let options = pool.connect_options();
    format!("{}:{}", options.get_host(), options.get_port())
}
