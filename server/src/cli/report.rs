//! `trustwatch report`: sends events from a file or standard input to a Trustwatch server, in
//! batches, retrying while the server asks it to (503, 429, connection failures), with progress.

use std::io::{BufRead, IsTerminal, Read, Write};
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{bail, Context};
use clap::{Args, ValueEnum};
use serde_json::Value;

#[derive(Clone, Copy, ValueEnum)]
enum Kind {
    /// Native verification events, one JSON object per line.
    Verification,
    /// Native signing events, one JSON object per line.
    Signing,
    /// Admission denial or warning texts with context, one JSON object per line.
    AdmissionMessages,
    /// Kyverno PolicyReports / OpenReports, YAML or JSON, one or several documents.
    PolicyReport,
}

#[derive(Args)]
pub struct ReportArgs {
    /// The file to send; `-` or nothing for standard input.
    file: Option<PathBuf>,
    #[arg(long, value_enum, default_value = "verification")]
    kind: Kind,
    /// The server, e.g. https://trustwatch.example.com
    #[arg(long, env = "TRUSTWATCH_SERVER")]
    server: String,
    /// The token (TRUSTWATCH_TOKEN), with the ingest scope the kind needs.
    #[arg(long, env = "TRUSTWATCH_TOKEN", hide_env_values = true)]
    token: String,
    /// The reporting cluster, for policy reports sent with a token not bound to one.
    #[arg(long)]
    cluster: Option<String>,
    #[arg(long, default_value_t = 1000)]
    batch: usize,
    /// How many times to try one batch before giving up.
    #[arg(long, default_value_t = 8)]
    attempts: u32,
}

pub async fn run(args: ReportArgs) -> anyhow::Result<()> {
    if args.batch == 0 || args.batch > 5000 {
        bail!("--batch must be between 1 and 5000");
    }
    let mut input = String::new();
    match args.file.as_deref().filter(|p| p.as_os_str() != "-") {
        Some(path) => {
            input = std::fs::read_to_string(path)
                .with_context(|| format!("reading {}", path.display()))?
        }
        None => {
            std::io::stdin()
                .read_to_string(&mut input)
                .context("reading standard input")?;
        }
    }
    let base = args.server.trim_end_matches('/');
    let client = reqwest::Client::builder()
        .timeout(Duration::from_secs(60))
        .build()?;
    let mut progress = Progress::new();

    let (accepted, duplicates) = match args.kind {
        Kind::PolicyReport => {
            let mut url = format!("{base}/api/v1/policy-reports");
            if let Some(c) = &args.cluster {
                url.push_str(&format!("?cluster={c}"));
            }
            let docs = yaml_documents(&input)?;
            progress.total = docs.len();
            let (mut a, mut d) = (0, 0);
            for (i, doc) in docs.iter().enumerate() {
                let answer = send(&client, &url, &args.token, doc, args.attempts)
                    .await
                    .with_context(|| format!("document {} of the input", i + 1))?;
                a += answer["accepted"].as_u64().unwrap_or(0);
                d += answer["duplicates"].as_u64().unwrap_or(0);
                progress.advance(1);
            }
            (a, d)
        }
        kind => {
            let path = match kind {
                Kind::Signing => "signing-events",
                Kind::AdmissionMessages => "admission-messages",
                _ => "verification-events",
            };
            let url = format!("{base}/api/v1/{path}");
            let lines = json_lines(&input)?;
            progress.total = lines.len();
            let (mut a, mut d) = (0, 0);
            for chunk in lines.chunks(args.batch) {
                let events: Vec<&Value> = chunk.iter().map(|(_, v)| v).collect();
                let body = serde_json::json!({ "events": events });
                let answer = match send(&client, &url, &args.token, &body, args.attempts).await {
                    Ok(a) => a,
                    Err(SendError::Refused(problem)) => {
                        let line = problem["index"]
                            .as_u64()
                            .and_then(|i| chunk.get(i as usize))
                            .map(|(line, _)| format!(" (line {line})"))
                            .unwrap_or_default();
                        bail!(
                            "the server refused a batch{line}: {}; {} events before it were stored",
                            problem["detail"].as_str().unwrap_or("no detail"),
                            a + d
                        );
                    }
                    Err(e) => return Err(e.into()),
                };
                a += answer["accepted"].as_u64().unwrap_or(0);
                d += answer["duplicates"].as_u64().unwrap_or(0);
                progress.advance(chunk.len());
            }
            (a, d)
        }
    };
    progress.finish();
    println!("{accepted} accepted, {duplicates} duplicates");
    Ok(())
}

/// Non-empty lines as JSON, each with its line number (1-based) for error messages.
fn json_lines(input: &str) -> anyhow::Result<Vec<(usize, Value)>> {
    input
        .as_bytes()
        .lines()
        .enumerate()
        .filter_map(|(i, line)| match line {
            Ok(l) if l.trim().is_empty() => None,
            Ok(l) => Some(
                serde_json::from_str(&l)
                    .map(|v| (i + 1, v))
                    .with_context(|| format!("line {} is not JSON", i + 1)),
            ),
            Err(e) => Some(Err(e.into())),
        })
        .collect()
}

/// YAML (or JSON, a subset of YAML) documents separated by `---`.
fn yaml_documents(input: &str) -> anyhow::Result<Vec<Value>> {
    use serde::Deserialize;
    let mut docs = Vec::new();
    for (i, doc) in serde_yaml::Deserializer::from_str(input).enumerate() {
        let v = Value::deserialize(doc)
            .with_context(|| format!("document {} is not valid YAML", i + 1))?;
        if !v.is_null() {
            docs.push(v);
        }
    }
    Ok(docs)
}

#[derive(Debug, thiserror::Error)]
enum SendError {
    /// The server refused the content (4xx other than 429): retrying cannot help.
    #[error("refused: {0}")]
    Refused(Value),
    #[error("gave up after {attempts} attempts: {last}")]
    GaveUp { attempts: u32, last: String },
}

/// Posts `body`, retrying with exponential back-off (or the server's Retry-After) while the
/// failure is temporary.
async fn send(
    client: &reqwest::Client,
    url: &str,
    token: &str,
    body: &Value,
    attempts: u32,
) -> Result<Value, SendError> {
    let mut last = String::new();
    for attempt in 0..attempts.max(1) {
        if attempt > 0 {
            tokio::time::sleep(backoff(attempt, &last)).await;
        }
        match client.post(url).bearer_auth(token).json(body).send().await {
            Err(e) => last = format!("could not reach the server: {e}"),
            Ok(res) => {
                let status = res.status();
                let retry_after = res
                    .headers()
                    .get("retry-after")
                    .and_then(|v| v.to_str().ok())
                    .and_then(|v| v.parse::<u64>().ok());
                let answer: Value = res.json().await.unwrap_or(Value::Null);
                if status.is_success() {
                    return Ok(answer);
                }
                if status.as_u16() == 429 || status.is_server_error() {
                    last = format!(
                        "{status}{}",
                        retry_after
                            .map(|s| format!(" retry-after={s}"))
                            .unwrap_or_default()
                    );
                    continue;
                }
                return Err(SendError::Refused(if answer.is_null() {
                    serde_json::json!({"detail": status.to_string()})
                } else {
                    answer
                }));
            }
        }
    }
    Err(SendError::GaveUp { attempts, last })
}

fn backoff(attempt: u32, last: &str) -> Duration {
    let asked = last
        .split("retry-after=")
        .nth(1)
        .and_then(|s| s.parse::<u64>().ok());
    let exponential = 500u64.saturating_mul(1 << attempt.min(6));
    Duration::from_millis(asked.map(|s| s * 1000).unwrap_or(exponential).min(60_000))
}

struct Progress {
    total: usize,
    done: usize,
    tty: bool,
    last_line: std::time::Instant,
}

impl Progress {
    fn new() -> Self {
        Self {
            total: 0,
            done: 0,
            tty: std::io::stderr().is_terminal(),
            last_line: std::time::Instant::now(),
        }
    }

    fn advance(&mut self, n: usize) {
        self.done += n;
        let pct = if self.total == 0 {
            100.0
        } else {
            100.0 * self.done as f64 / self.total as f64
        };
        let mut err = std::io::stderr();
        if self.tty {
            let width = 30;
            let filled = (pct / 100.0 * width as f64) as usize;
            let _ = write!(
                err,
                "\r[{}{}] {}/{} ({pct:.0}%)",
                "#".repeat(filled),
                " ".repeat(width - filled),
                self.done,
                self.total
            );
            let _ = err.flush();
        } else if self.last_line.elapsed() > Duration::from_secs(5) || self.done == self.total {
            let _ = writeln!(err, "sent {}/{} ({pct:.0}%)", self.done, self.total);
            self.last_line = std::time::Instant::now();
        }
    }

    fn finish(&self) {
        if self.tty {
            eprintln!();
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_lines_keep_their_line_numbers() {
        let lines = json_lines("{\"a\":1}\n\n{\"b\":2}\n").unwrap();
        assert_eq!(
            lines.iter().map(|(l, _)| *l).collect::<Vec<_>>(),
            vec![1, 3]
        );
        let e = json_lines("{\"a\":1}\nnope\n").unwrap_err();
        assert!(e.to_string().contains("line 2"));
    }

    #[test]
    fn yaml_streams_split_into_documents() {
        let docs = yaml_documents("kind: PolicyReport\n---\nkind: Report\n---\n").unwrap();
        assert_eq!(docs.len(), 2);
        assert_eq!(docs[1]["kind"], "Report");
        assert_eq!(
            yaml_documents("{\"kind\": \"PolicyReport\"}")
                .unwrap()
                .len(),
            1
        );
    }

    #[test]
    fn backoff_grows_and_follows_retry_after() {
        assert_eq!(backoff(1, ""), Duration::from_millis(1000));
        assert_eq!(backoff(3, ""), Duration::from_millis(4000));
        assert_eq!(backoff(2, "503 retry-after=5"), Duration::from_secs(5));
        assert_eq!(backoff(30, ""), Duration::from_secs(32));
    }
}
