//! Registry credentials from a Docker config file: the `{"auths": {…}}` JSON that `docker login`
//! writes to `~/.docker/config.json`, that a Kubernetes `kubernetes.io/dockerconfigjson` secret
//! (an image pull secret) holds under `.dockerconfigjson`, and that skopeo, podman and cosign read
//! (`--authfile`, `containers-auth.json`). A cluster that pulls from a private registry already
//! has this file; the admission webhook needs the same access to read tags and signatures.
//!
//! Each entry of `auths` is keyed by the registry (`ghcr.io`, `registry.example.com:5000`, or in
//! Docker's older style `https://index.docker.io/v1/`) and holds either `auth`, the base64 of
//! `username:password`, or `username` and `password`. What cannot be used is refused with the
//! entry named, never silently skipped: credential helpers (`credsStore`, `credHelpers`: programs
//! Trustwatch does not run), identity tokens, an entry without credentials. No error message
//! carries a password or an `auth` value.

use std::collections::BTreeMap;

use base64::Engine as _;
use secrecy::SecretString;
use serde::Deserialize;

use super::config::{canonical_registry, Credentials};

/// Why a Docker config file could not be used.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
#[error("{0}")]
pub struct AuthFileError(String);

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct DockerConfig {
    #[serde(default)]
    auths: Option<BTreeMap<String, AuthEntry>>,
    #[serde(default)]
    creds_store: Option<String>,
    #[serde(default)]
    cred_helpers: Option<BTreeMap<String, String>>,
}

#[derive(Deserialize)]
struct AuthEntry {
    #[serde(default)]
    auth: Option<String>,
    #[serde(default)]
    username: Option<String>,
    #[serde(default)]
    password: Option<String>,
    #[serde(default)]
    identitytoken: Option<String>,
}

/// The credentials of every registry in `text`, keyed as image references name the registry.
pub fn parse(text: &str) -> Result<Vec<(String, Credentials)>, AuthFileError> {
    // Only where it broke: serde_json's own messages can quote a value, and this file holds
    // passwords.
    let config: DockerConfig = serde_json::from_str(text).map_err(|e| {
        let what = match e.classify() {
            serde_json::error::Category::Syntax | serde_json::error::Category::Io => "invalid JSON",
            serde_json::error::Category::Eof => "JSON cut short",
            serde_json::error::Category::Data => "a field of the wrong type",
        };
        AuthFileError(format!(
            "not a Docker config file: {what} at line {}, column {}",
            e.line(),
            e.column()
        ))
    })?;
    if config.creds_store.is_some() || config.cred_helpers.is_some() {
        return Err(AuthFileError(
            "the file names credential helpers (credsStore or credHelpers), programs Trustwatch \
             does not run: put the credentials under \"auths\", as an image pull secret does"
                .into(),
        ));
    }
    let auths = config.auths.unwrap_or_default();
    if auths.is_empty() {
        return Err(AuthFileError(
            "the file has no \"auths\" entries: nothing to log in with".into(),
        ));
    }
    auths
        .into_iter()
        .map(|(key, entry)| {
            let registry = registry_of(&key)
                .ok_or_else(|| AuthFileError(format!("auths: {key:?} names no registry")))?;
            let credentials = credentials_of(entry)
                .map_err(|why| AuthFileError(format!("auths.{key:?}: {why}")))?;
            Ok((registry, credentials))
        })
        .collect()
}

/// `https://index.docker.io/v1/` → `docker.io`; `Registry.Example.com:5000` →
/// `registry.example.com:5000`.
fn registry_of(key: &str) -> Option<String> {
    let key = key.trim();
    let key = key
        .strip_prefix("https://")
        .or_else(|| key.strip_prefix("http://"))
        .unwrap_or(key);
    let host = key.split('/').next().unwrap_or_default();
    (!host.is_empty()).then(|| canonical_registry(host))
}

fn credentials_of(entry: AuthEntry) -> Result<Credentials, &'static str> {
    if entry.identitytoken.is_some_and(|t| !t.is_empty()) {
        return Err("identity tokens (OAuth2 refresh tokens) are not supported; use a username and password or an access token as the password");
    }
    let (username, password) = match (entry.auth.filter(|a| !a.is_empty()), entry.username) {
        (Some(auth), _) => {
            let decoded = base64::engine::general_purpose::STANDARD
                .decode(auth.trim())
                .map_err(|_| "\"auth\" is not base64")?;
            let decoded = String::from_utf8(decoded).map_err(|_| "\"auth\" is not UTF-8 text")?;
            let (user, password) = decoded
                .split_once(':')
                .ok_or("\"auth\" is not the base64 of username:password")?;
            (user.to_owned(), password.to_owned())
        }
        (None, Some(user)) => (user, entry.password.unwrap_or_default()),
        (None, None) => {
            return Err("no \"auth\" and no \"username\" (credentials kept by a credential helper cannot be read)")
        }
    };
    if username.is_empty() || password.is_empty() {
        return Err("the username or the password is empty");
    }
    Ok(Credentials::new(username, SecretString::from(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn b64(s: &str) -> String {
        base64::engine::general_purpose::STANDARD.encode(s)
    }

    #[test]
    fn reads_auth_and_username_password_entries_and_names_registries_as_references_do() {
        let text = format!(
            r#"{{"auths": {{
                "https://index.docker.io/v1/": {{"auth": "{}"}},
                "Registry.Example.com:5000": {{"username": "ci", "password": "s3cret"}},
                "ghcr.io": {{"auth": "{}", "email": "ci@example.com"}}
            }}}}"#,
            b64("hub-user:hub:pass"),
            b64("octo:ghp_token")
        );
        let mut found = parse(&text).unwrap();
        found.sort_by(|a, b| a.0.cmp(&b.0));
        let names: Vec<(&str, &str, &str)> = found
            .iter()
            .map(|(r, c)| (r.as_str(), c.username(), c.password()))
            .collect();
        assert_eq!(
            names,
            [
                ("docker.io", "hub-user", "hub:pass"),
                ("ghcr.io", "octo", "ghp_token"),
                ("registry.example.com:5000", "ci", "s3cret"),
            ]
        );
    }

    #[test]
    fn refuses_what_it_cannot_use_and_says_which_entry_without_the_secret() {
        let cases = [
            ("not json", "not a Docker config file"),
            (r#"{"auths": {}}"#, "no \"auths\" entries"),
            (r#"{}"#, "no \"auths\" entries"),
            (
                r#"{"auths": {"ghcr.io": {}}, "credsStore": "desktop"}"#,
                "credential helpers",
            ),
            (
                r#"{"auths": {"ghcr.io": {}}, "credHelpers": {"gcr.io": "gcloud"}}"#,
                "credential helpers",
            ),
            (
                r#"{"auths": {"ghcr.io": {}}}"#,
                "auths.\"ghcr.io\": no \"auth\" and no \"username\"",
            ),
            (
                r#"{"auths": {"ghcr.io": {"auth": "%%%not-base64"}}}"#,
                "auths.\"ghcr.io\": \"auth\" is not base64",
            ),
            (
                r#"{"auths": {"ghcr.io": {"identitytoken": "refresh-me"}}}"#,
                "identity tokens",
            ),
            (
                r#"{"auths": {"ghcr.io": {"username": "ci"}}}"#,
                "the username or the password is empty",
            ),
            (
                r#"{"auths": {"https://": {"username": "a", "password": "b"}}}"#,
                "names no registry",
            ),
        ];
        for (text, expected) in cases {
            let err = parse(text).expect_err(text).to_string();
            assert!(err.contains(expected), "{text}: {err}");
        }
        let wrong_type = r#"{"auths": {"ghcr.io": {"auth": 12345678}}}"#;
        let err = parse(wrong_type).unwrap_err().to_string();
        assert!(
            err.contains("wrong type at line 1") && !err.contains("12345678"),
            "{err}"
        );
        let colonless = format!(
            r#"{{"auths": {{"ghcr.io": {{"auth": "{}"}}}}}}"#,
            b64("s3cretvalue")
        );
        let err = parse(&colonless).unwrap_err().to_string();
        assert!(err.contains("username:password"), "{err}");
        assert!(
            !err.contains("s3cretvalue") && !err.contains(&b64("s3cretvalue")),
            "{err}"
        );
    }
}
