//! Image references and digests. Trust attaches to the digest; the reference is how people name it.

use serde::{Deserialize, Serialize};
use std::fmt;

use crate::ParseError;

/// A content digest, `sha256:` and 64 lower-case hex digits.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Digest(String);

impl Digest {
    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        let hex = s
            .strip_prefix("sha256:")
            .ok_or_else(|| ParseError::new(format!("{s:?} is not a sha256 digest")))?;
        if hex.len() != 64 || !hex.bytes().all(|b| matches!(b, b'0'..=b'9' | b'a'..=b'f')) {
            return Err(ParseError::new(format!(
                "{s:?} is not a sha256 digest (expected sha256: and 64 lower-case hex digits)"
            )));
        }
        Ok(Self(s.to_owned()))
    }

    /// The digest of `bytes`.
    pub fn of(bytes: &[u8]) -> Self {
        use sha2::Digest as _;
        Self(format!(
            "sha256:{}",
            hex::encode(sha2::Sha256::digest(bytes))
        ))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }

    pub fn hex(&self) -> &str {
        &self.0["sha256:".len()..]
    }
}

impl TryFrom<String> for Digest {
    type Error = ParseError;
    fn try_from(s: String) -> Result<Self, ParseError> {
        Self::parse(&s)
    }
}

impl From<Digest> for String {
    fn from(d: Digest) -> String {
        d.0
    }
}

impl fmt::Display for Digest {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// `registry/repository[:tag][@sha256:digest]`, normalized the way Docker does: no registry means
/// `docker.io`, a single-name Docker Hub repository lives under `library/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub struct ImageReference {
    registry: String,
    repository: String,
    tag: Option<String>,
    digest: Option<Digest>,
}

impl ImageReference {
    pub const MAX_LEN: usize = 1024;

    pub fn parse(s: &str) -> Result<Self, ParseError> {
        let s = s.trim();
        if s.is_empty() {
            return Err(ParseError::new("an image reference is required"));
        }
        if s.len() > Self::MAX_LEN {
            return Err(ParseError::new("that image reference is too long"));
        }
        if s.chars().any(|c| c.is_whitespace() || c.is_control()) {
            return Err(ParseError::new(format!("{s:?} is not an image reference")));
        }
        let (name, digest) = match s.split_once('@') {
            Some((name, d)) => (name, Some(Digest::parse(d)?)),
            None => (s, None),
        };
        // A tag follows the last ':' only if no '/' comes after it (else it is a registry port).
        let (name, tag) = match name.rfind(':') {
            Some(i) if !name[i..].contains('/') => (&name[..i], Some(&name[i + 1..])),
            _ => (name, None),
        };
        if let Some(tag) = tag {
            let valid = !tag.is_empty()
                && tag.len() <= 128
                && tag
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
            if !valid {
                return Err(ParseError::new(format!("{tag:?} is not a valid image tag")));
            }
        }
        let (registry, repository) = match name.split_once('/') {
            Some((first, rest))
                if first.contains('.') || first.contains(':') || first == "localhost" =>
            {
                (first.to_owned(), rest.to_owned())
            }
            _ => ("docker.io".to_owned(), name.to_owned()),
        };
        let repository = if registry == "docker.io" && !repository.contains('/') {
            format!("library/{repository}")
        } else {
            repository
        };
        let valid_repo = !repository.is_empty()
            && repository.split('/').all(|part| {
                !part.is_empty()
                    && part.chars().all(|c| {
                        c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-')
                    })
            });
        if !valid_repo {
            return Err(ParseError::new(format!(
                "{repository:?} is not a valid repository name (lower-case letters, digits, '.', '_', '-', separated by '/')"
            )));
        }
        Ok(Self {
            registry: registry.to_ascii_lowercase(),
            repository,
            tag: tag.map(str::to_owned),
            digest,
        })
    }

    pub fn registry(&self) -> &str {
        &self.registry
    }

    pub fn repository(&self) -> &str {
        &self.repository
    }

    /// `registry/repository`, the name that signatures' identities and policies' globs speak of.
    pub fn name(&self) -> String {
        format!("{}/{}", self.registry, self.repository)
    }

    pub fn tag(&self) -> Option<&str> {
        self.tag.as_deref()
    }

    pub fn digest(&self) -> Option<&Digest> {
        self.digest.as_ref()
    }
}

impl fmt::Display for ImageReference {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}/{}", self.registry, self.repository)?;
        if let Some(tag) = &self.tag {
            write!(f, ":{tag}")?;
        }
        if let Some(d) = &self.digest {
            write!(f, "@{d}")?;
        }
        Ok(())
    }
}

/// The part of a search text that can name a repository: `reg.io/team/app:1.2` →
/// `reg.io/team/app`. A digest after `@` is dropped; a colon before the last slash is a registry
/// port, not a tag. People type partial references, so this never fails.
pub fn repository_part(text: &str) -> &str {
    let text = text.split('@').next().unwrap_or(text);
    let last_slash = text.rfind('/').map_or(0, |i| i + 1);
    match text[last_slash..].find(':') {
        Some(colon) => &text[..last_slash + colon],
        None => text,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const HEX: &str = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn parses_full_references() {
        let r = ImageReference::parse(&format!(
            "registry.example.com:5000/payments/api:1.4.2@sha256:{HEX}"
        ))
        .unwrap();
        assert_eq!(r.registry(), "registry.example.com:5000");
        assert_eq!(r.repository(), "payments/api");
        assert_eq!(r.tag(), Some("1.4.2"));
        assert_eq!(r.digest().unwrap().hex(), HEX);
        assert_eq!(r.name(), "registry.example.com:5000/payments/api");
    }

    #[test]
    fn applies_docker_hub_defaults() {
        let r = ImageReference::parse("nginx").unwrap();
        assert_eq!(r.to_string(), "docker.io/library/nginx");
        let r = ImageReference::parse("bitnami/redis:7").unwrap();
        assert_eq!(r.to_string(), "docker.io/bitnami/redis:7");
        let r = ImageReference::parse("localhost:5000/app").unwrap();
        assert_eq!(r.registry(), "localhost:5000");
        assert_eq!(r.tag(), None);
    }

    #[test]
    fn refuses_malformed_references() {
        for bad in [
            "",
            "UPPER/case",
            "a b",
            "reg.io/app:",
            "reg.io/app@sha256:12",
            "reg.io//app",
            "reg.io/app:t@g",
        ] {
            assert!(
                ImageReference::parse(bad).is_err(),
                "{bad:?} should be refused"
            );
        }
    }

    #[test]
    fn digests_are_strict() {
        assert!(Digest::parse(&format!("sha256:{HEX}")).is_ok());
        assert!(Digest::parse(&format!("sha256:{}", HEX.to_uppercase())).is_err());
        assert!(Digest::parse(&format!("sha512:{HEX}")).is_err());
        assert_eq!(
            Digest::of(b"").as_str(),
            "sha256:e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
        );
    }

    #[test]
    fn the_repository_part_drops_tag_and_digest_but_keeps_a_registry_port() {
        assert_eq!(repository_part("reg.io/team/app:1.2"), "reg.io/team/app");
        assert_eq!(
            repository_part("reg.io:5000/team/app"),
            "reg.io:5000/team/app"
        );
        assert_eq!(repository_part("app@sha256:abc"), "app");
        assert_eq!(repository_part("team/"), "team/");
        assert_eq!(repository_part("1.2"), "1.2");
    }
}
