//! Where `trustwatch keys|policy|bundle` act: a Trustwatch server over its API (`--server URL`,
//! a token in TRUSTWATCH_TOKEN), or the database directly (`--database-url`, DATABASE_URL or the
//! settings file; the server's bundle key file must then be at hand, since every change
//! publishes a bundle signed with it).

use std::time::Duration;

use anyhow::{bail, Context};
use chrono::{DateTime, NaiveDate, Utc};
use clap::Args;
use secrecy::SecretString;
use serde_json::Value;
use service::trust_bundle::Publisher;
use sqlx::PgPool;

use crate::Settings;

#[derive(Args, Clone)]
pub struct TargetArgs {
    /// A Trustwatch server, e.g. https://trustwatch.example.com; the token in TRUSTWATCH_TOKEN
    /// (or --token) needs the `admin` scope for changes. Takes precedence over the database.
    #[arg(long, env = "TRUSTWATCH_SERVER", value_name = "URL", global = true)]
    pub server: Option<String>,
    /// The token for --server.
    #[arg(
        long,
        env = "TRUSTWATCH_TOKEN",
        hide_env_values = true,
        value_name = "TOKEN",
        global = true
    )]
    pub token: Option<String>,
    /// Act directly on this PostgreSQL database instead of a server (default: DATABASE_URL or
    /// the settings file). Changes are signed with the bundle key file of the settings
    /// (TRUSTWATCH_BUNDLE_KEY_FILE), which must be the server's.
    #[arg(long, value_name = "URL", global = true)]
    pub database_url: Option<String>,
}

/// A resolved target.
pub enum Target {
    Server(ServerClient),
    Database(Box<Settings>),
}

impl TargetArgs {
    pub fn resolve(&self, settings: &Settings) -> anyhow::Result<Target> {
        if let Some(server) = self.server.as_deref().filter(|s| !s.trim().is_empty()) {
            let token = self
                .token
                .clone()
                .filter(|t| !t.trim().is_empty())
                .context("--server needs a token: set TRUSTWATCH_TOKEN (or --token) to a Trustwatch token with the admin scope")?;
            return Ok(Target::Server(ServerClient::new(server, token)?));
        }
        let mut settings = settings.clone();
        if let Some(url) = self.database_url.as_deref().filter(|u| !u.is_empty()) {
            settings.database_url = Some(SecretString::from(url.to_owned()));
        }
        if settings.database_url.is_none() {
            bail!("name a server (--server URL, with a token in TRUSTWATCH_TOKEN) or a database (--database-url URL or DATABASE_URL)");
        }
        Ok(Target::Database(Box::new(settings)))
    }
}

/// Connects, migrates, and loads the server's bundle key (see `bundle_key::for_command`).
pub async fn database(settings: &Settings) -> anyhow::Result<(PgPool, Publisher)> {
    let pool = super::connect(settings).await?;
    let publisher = crate::bundle_key::for_command(settings, &pool).await?;
    Ok((pool, publisher))
}

/// A client of the machine API that turns refusals into readable errors.
pub struct ServerClient {
    base: reqwest::Url,
    token: String,
    http: reqwest::Client,
}

/// The server answered with an error: its problem document, as a message.
fn refusal(status: reqwest::StatusCode, body: &str) -> anyhow::Error {
    let problem: Value = serde_json::from_str(body).unwrap_or(Value::Null);
    let detail = problem["detail"]
        .as_str()
        .map(str::to_owned)
        .unwrap_or_else(|| body.trim().chars().take(500).collect());
    let mut message = match status.as_u16() {
        401 => format!("the server refused the token: {detail}"),
        403 => format!("the server refused: {detail} (use a token with the admin scope)"),
        _ => format!("the server refused ({status}): {detail}"),
    };
    if let Some(problems) = problem["problems"].as_array() {
        message = "the server refused the file; nothing was stored:".to_owned();
        for p in problems {
            let path = p["path"].as_str().unwrap_or("");
            let text = p["message"].as_str().unwrap_or("");
            message.push_str(&if path.is_empty() {
                format!("\n  {text}")
            } else {
                format!("\n  {path}: {text}")
            });
        }
    }
    anyhow::anyhow!(message)
}

impl ServerClient {
    fn new(server: &str, token: String) -> anyhow::Result<Self> {
        let mut base = reqwest::Url::parse(server.trim())
            .with_context(|| format!("--server {server:?} is not a URL"))?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        Ok(Self {
            base,
            token,
            http: reqwest::Client::builder()
                .timeout(Duration::from_secs(60))
                .build()?,
        })
    }

    /// `/api/v1/` and then `segments`, each percent-encoded (key names may hold `/`).
    pub fn url(&self, segments: &[&str]) -> anyhow::Result<reqwest::Url> {
        let mut url = self.base.join("api/v1/")?;
        {
            let mut path = url
                .path_segments_mut()
                .map_err(|()| anyhow::anyhow!("{} cannot be a base URL", self.base))?;
            path.pop_if_empty();
            for s in segments {
                path.push(s);
            }
        }
        Ok(url)
    }

    pub async fn send(
        &self,
        request: reqwest::RequestBuilder,
    ) -> anyhow::Result<reqwest::Response> {
        let res = request
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("reaching the server at {}", self.base))?;
        if res.status().is_success() || res.status() == reqwest::StatusCode::NOT_MODIFIED {
            return Ok(res);
        }
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        Err(refusal(status, &body))
    }

    pub async fn get(&self, segments: &[&str]) -> anyhow::Result<reqwest::Response> {
        self.send(self.http.get(self.url(segments)?)).await
    }

    pub async fn get_json(&self, segments: &[&str]) -> anyhow::Result<Value> {
        Ok(self.get(segments).await?.json().await?)
    }

    pub fn http(&self) -> &reqwest::Client {
        &self.http
    }
}

/// A time given on the command line: RFC 3339 (`2026-03-01T12:00:00Z`), a date (midnight
/// UTC), or `now`.
pub fn parse_time(s: &str) -> anyhow::Result<DateTime<Utc>> {
    let s = s.trim();
    if s == "now" {
        return Ok(Utc::now());
    }
    if let Ok(t) = DateTime::parse_from_rfc3339(s) {
        return Ok(t.with_timezone(&Utc));
    }
    if let Ok(d) = NaiveDate::parse_from_str(s, "%Y-%m-%d") {
        if let Some(t) = d.and_hms_opt(0, 0, 0) {
            return Ok(t.and_utc());
        }
    }
    bail!("{s:?} is not a time: write 2026-03-01T12:00:00Z, 2026-03-01 (midnight UTC) or now")
}

/// Reads a file, or standard input for `-`.
pub fn read_input(path: &std::path::Path) -> anyhow::Result<String> {
    if path.as_os_str() == "-" {
        let mut text = String::new();
        std::io::Read::read_to_string(&mut std::io::stdin(), &mut text)
            .context("reading standard input")?;
        Ok(text)
    } else {
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))
    }
}

/// Writes to a file, or standard output for `-`.
pub fn write_output(path: &std::path::Path, bytes: &[u8]) -> anyhow::Result<()> {
    if path.as_os_str() == "-" {
        std::io::Write::write_all(&mut std::io::stdout(), bytes).context("writing standard output")
    } else {
        std::fs::write(path, bytes).with_context(|| format!("writing {}", path.display()))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn times() {
        assert_eq!(
            parse_time("2026-03-01T12:00:00Z").unwrap().to_rfc3339(),
            "2026-03-01T12:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-03-01T13:00:00+01:00")
                .unwrap()
                .to_rfc3339(),
            "2026-03-01T12:00:00+00:00"
        );
        assert_eq!(
            parse_time("2026-03-01").unwrap().to_rfc3339(),
            "2026-03-01T00:00:00+00:00"
        );
        assert!(parse_time("yesterday").is_err());
    }

    #[test]
    fn urls_encode_key_names() {
        let c = ServerClient::new("http://h:3000/tw", "t".into()).unwrap();
        assert_eq!(
            c.url(&["keys", "team/key 1", "status"]).unwrap().as_str(),
            "http://h:3000/tw/api/v1/keys/team%2Fkey%201/status"
        );
        let c = ServerClient::new("http://h:3000", "t".into()).unwrap();
        assert_eq!(
            c.url(&["trust-bundle"]).unwrap().as_str(),
            "http://h:3000/api/v1/trust-bundle"
        );
    }

    #[test]
    fn refusals_list_every_problem() {
        let body = r#"{"detail":"refused","problems":[{"path":"documents[0].spec.mode","message":"bad"},{"path":"","message":"worse"}]}"#;
        let e = refusal(reqwest::StatusCode::UNPROCESSABLE_ENTITY, body).to_string();
        assert!(e.contains("documents[0].spec.mode: bad"), "{e}");
        assert!(e.contains("\n  worse"), "{e}");
        let e = refusal(
            reqwest::StatusCode::FORBIDDEN,
            r#"{"detail":"lacks admin"}"#,
        )
        .to_string();
        assert!(e.contains("admin scope"), "{e}");
    }
}
