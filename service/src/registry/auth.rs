//! Registry authentication: parsing `WWW-Authenticate` challenges, and remembering what worked
//! (bearer tokens until shortly before they expire, and which registries want basic credentials
//! up front) so that a warm client sends each request once.
//!
//! The token flow is Docker's (`distribution/docs/spec/auth/token.md`): a `401` names a realm,
//! a service and a scope; a `GET realm?service=…&scope=…`, with basic credentials when we have
//! them, returns `{"token": …, "expires_in": …}`.

use std::collections::{HashMap, HashSet};
use std::sync::{Mutex, PoisonError};
use std::time::{Duration, Instant};

use base64::Engine as _;
use reqwest::header::HeaderValue;
use secrecy::{ExposeSecret, SecretString};
use serde::Deserialize;

use super::Credentials;

/// What a `401` asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Challenge {
    Basic,
    Bearer {
        realm: String,
        service: Option<String>,
        scope: Option<String>,
    },
}

/// The most useful challenge among a response's `WWW-Authenticate` headers: bearer first.
pub(crate) fn parse_challenges<'a>(headers: impl Iterator<Item = &'a str>) -> Option<Challenge> {
    let mut basic = false;
    for header in headers {
        let (scheme, params) = split_scheme(header);
        if scheme.eq_ignore_ascii_case("bearer") {
            let params = parse_params(params);
            let get = |name: &str| {
                params
                    .iter()
                    .find(|(k, _)| k.eq_ignore_ascii_case(name))
                    .map(|(_, v)| v.clone())
            };
            if let Some(realm) = get("realm").filter(|r| !r.is_empty()) {
                return Some(Challenge::Bearer {
                    realm,
                    service: get("service"),
                    scope: get("scope"),
                });
            }
        } else if scheme.eq_ignore_ascii_case("basic") {
            basic = true;
        }
    }
    basic.then_some(Challenge::Basic)
}

fn split_scheme(header: &str) -> (&str, &str) {
    let header = header.trim();
    match header.find(char::is_whitespace) {
        Some(i) => (&header[..i], header[i..].trim_start()),
        None => (header, ""),
    }
}

/// `key=value` or `key="quoted, value"` pairs separated by commas (RFC 9110 auth-params).
fn parse_params(s: &str) -> Vec<(String, String)> {
    let mut out = Vec::new();
    let mut chars = s.chars().peekable();
    loop {
        while chars.peek().is_some_and(|c| *c == ',' || c.is_whitespace()) {
            chars.next();
        }
        let mut key = String::new();
        while let Some(&c) = chars.peek() {
            if c == '=' || c == ',' {
                break;
            }
            key.push(c);
            chars.next();
        }
        if key.is_empty() && chars.peek().is_none() {
            break;
        }
        let mut value = String::new();
        if chars.peek() == Some(&'=') {
            chars.next();
            while chars.peek().is_some_and(|c| c.is_whitespace()) {
                chars.next();
            }
            if chars.peek() == Some(&'"') {
                chars.next();
                while let Some(c) = chars.next() {
                    match c {
                        '\\' => {
                            if let Some(escaped) = chars.next() {
                                value.push(escaped);
                            }
                        }
                        '"' => break,
                        c => value.push(c),
                    }
                }
            } else {
                while let Some(&c) = chars.peek() {
                    if c == ',' {
                        break;
                    }
                    value.push(c);
                    chars.next();
                }
                value = value.trim_end().to_owned();
            }
        }
        let key = key.trim().to_owned();
        if !key.is_empty() {
            out.push((key, value));
        }
        if chars.peek().is_none() {
            break;
        }
    }
    out
}

/// A token service's answer. Both names are in use; `expires_in` defaults to 60 s.
#[derive(Deserialize)]
pub(crate) struct TokenResponse {
    token: Option<String>,
    access_token: Option<String>,
    expires_in: Option<u64>,
}

impl TokenResponse {
    pub(crate) fn into_token(self) -> Option<(SecretString, Duration)> {
        let token = self
            .token
            .filter(|t| !t.is_empty())
            .or(self.access_token.filter(|t| !t.is_empty()))?;
        Some((SecretString::from(token), token_lifetime(self.expires_in)))
    }
}

/// How long to keep using a token: its stated lifetime less a margin for the trip and for
/// clocks, never less than a second (the spec's minimum lifetime is 60 s).
fn token_lifetime(expires_in: Option<u64>) -> Duration {
    let stated = Duration::from_secs(expires_in.unwrap_or(60).max(1));
    let margin = (stated / 10).clamp(Duration::from_secs(1), Duration::from_secs(30));
    stated.saturating_sub(margin).max(Duration::from_secs(1))
}

const MAX_TOKENS: usize = 10_000;

/// Tokens per (registry host, scope), and the registries that asked for basic credentials.
#[derive(Default)]
pub(crate) struct AuthState {
    tokens: Mutex<HashMap<(String, String), (SecretString, Instant)>>,
    basic_hosts: Mutex<HashSet<String>>,
}

impl AuthState {
    /// The `Authorization` header to send up front to `host` for `scope`, if we know one.
    pub(crate) fn preemptive(
        &self,
        host: &str,
        scope: &str,
        credentials: Option<&Credentials>,
    ) -> Option<HeaderValue> {
        let now = Instant::now();
        {
            let tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
            if let Some((token, expires)) = tokens.get(&(host.to_owned(), scope.to_owned())) {
                if *expires > now {
                    return bearer_header(token);
                }
            }
        }
        let wants_basic = self
            .basic_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .contains(host);
        if wants_basic {
            credentials.and_then(basic_header)
        } else {
            None
        }
    }

    pub(crate) fn store_token(&self, host: &str, scope: &str, token: SecretString, ttl: Duration) {
        let now = Instant::now();
        let mut tokens = self.tokens.lock().unwrap_or_else(PoisonError::into_inner);
        if tokens.len() >= MAX_TOKENS {
            tokens.retain(|_, (_, expires)| *expires > now);
            if tokens.len() >= MAX_TOKENS {
                tokens.clear();
            }
        }
        tokens.insert((host.to_owned(), scope.to_owned()), (token, now + ttl));
    }

    pub(crate) fn forget_token(&self, host: &str, scope: &str) {
        self.tokens
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .remove(&(host.to_owned(), scope.to_owned()));
    }

    pub(crate) fn remember_basic(&self, host: &str) {
        self.basic_hosts
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .insert(host.to_owned());
    }
}

pub(crate) fn basic_header(credentials: &Credentials) -> Option<HeaderValue> {
    let encoded = base64::engine::general_purpose::STANDARD.encode(format!(
        "{}:{}",
        credentials.username(),
        credentials.password()
    ));
    let mut value = HeaderValue::from_str(&format!("Basic {encoded}")).ok()?;
    value.set_sensitive(true);
    Some(value)
}

pub(crate) fn bearer_header(token: &SecretString) -> Option<HeaderValue> {
    let mut value = HeaderValue::from_str(&format!("Bearer {}", token.expose_secret())).ok()?;
    value.set_sensitive(true);
    Some(value)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parse(h: &str) -> Option<Challenge> {
        parse_challenges(std::iter::once(h))
    }

    #[test]
    fn parses_docker_bearer_challenges() {
        assert_eq!(
            parse(
                r#"Bearer realm="https://auth.docker.io/token",service="registry.docker.io",scope="repository:library/nginx:pull""#
            ),
            Some(Challenge::Bearer {
                realm: "https://auth.docker.io/token".into(),
                service: Some("registry.docker.io".into()),
                scope: Some("repository:library/nginx:pull".into()),
            })
        );
        // Commas inside quotes, spaces after commas, unquoted values, odd case.
        assert_eq!(
            parse(
                r#"bearer realm=http://127.0.0.1:1/token, scope="repository:a/b:pull,push", error="insufficient_scope""#
            ),
            Some(Challenge::Bearer {
                realm: "http://127.0.0.1:1/token".into(),
                service: None,
                scope: Some("repository:a/b:pull,push".into()),
            })
        );
        assert_eq!(
            parse(r#"Bearer realm="a\"b""#),
            Some(Challenge::Bearer {
                realm: "a\"b".into(),
                service: None,
                scope: None
            })
        );
    }

    #[test]
    fn basic_and_unusable_challenges() {
        assert_eq!(
            parse(r#"Basic realm="Registry Realm""#),
            Some(Challenge::Basic)
        );
        assert_eq!(
            parse("Bearer service=x"),
            None,
            "a bearer challenge needs a realm"
        );
        assert_eq!(parse("Negotiate"), None);
        assert_eq!(parse(""), None);
        assert_eq!(
            parse_challenges(["Basic realm=x", r#"Bearer realm="https://t""#].into_iter()),
            Some(Challenge::Bearer {
                realm: "https://t".into(),
                service: None,
                scope: None
            })
        );
    }

    #[test]
    fn tokens_expire_a_little_early() {
        assert_eq!(token_lifetime(None), Duration::from_secs(54));
        assert_eq!(token_lifetime(Some(300)), Duration::from_secs(270));
        assert_eq!(token_lifetime(Some(3600)), Duration::from_secs(3570));
        assert_eq!(token_lifetime(Some(1)), Duration::from_secs(1));
        let r: TokenResponse =
            serde_json::from_str(r#"{"access_token":"abc"}"#).unwrap_or_else(|e| panic!("{e}"));
        let (token, ttl) = r.into_token().unwrap_or_else(|| panic!("a token"));
        assert_eq!(
            (token.expose_secret(), ttl),
            ("abc", Duration::from_secs(54))
        );
        let r: TokenResponse =
            serde_json::from_str(r#"{"token":""}"#).unwrap_or_else(|e| panic!("{e}"));
        assert!(r.into_token().is_none());
    }

    #[test]
    fn remembers_tokens_per_host_and_scope() {
        let state = AuthState::default();
        assert!(state.preemptive("h", "s", None).is_none());
        state.store_token("h", "s", SecretString::from("t"), Duration::from_secs(60));
        let header = state
            .preemptive("h", "s", None)
            .unwrap_or_else(|| panic!("a header"));
        assert_eq!(header.to_str().ok(), Some("Bearer t"));
        assert!(header.is_sensitive());
        assert!(state.preemptive("h", "other", None).is_none());
        state.forget_token("h", "s");
        assert!(state.preemptive("h", "s", None).is_none());
        let creds = Credentials::new("u", SecretString::from("p"));
        assert!(state.preemptive("h", "s", Some(&creds)).is_none());
        state.remember_basic("h");
        assert_eq!(
            state
                .preemptive("h", "s", Some(&creds))
                .and_then(|h| h.to_str().ok().map(str::to_owned)),
            Some("Basic dTpw".to_owned())
        );
    }
}
