//! Globs that choose which images, clusters and namespaces a policy covers.
//!
//! Image globs are matched against the normalized `registry/repository` (the same name the
//! signatures' identities speak of, so `nginx` is `docker.io/library/nginx`), never against a tag
//! or digest:
//!
//! - `*` matches any run of characters within one path segment (it stops at `/`), so
//!   `reg.example.com/payments/*` covers `reg.example.com/payments/api` but not
//!   `reg.example.com/payments/internal/api`;
//! - `**` matches any run of characters, `/` included, so `reg.example.com/payments/**` covers
//!   every repository below `payments/`, at any depth; `**` alone covers every image;
//! - `?` matches exactly one character other than `/`.
//!
//! Segments are where people draw trust boundaries (`team/*` must not quietly take in
//! `team/experimental/*`), hence the two kinds of star. Cluster and namespace globs have no
//! segments: there `*` matches any run of characters.

use serde::{Deserialize, Serialize};
use std::fmt;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
enum Token {
    Literal(char),
    /// `?`: one character other than `/`.
    One,
    /// `*`: any run of characters other than `/`.
    Segment,
    /// `**`: any run of characters.
    Any,
}

/// A compiled pattern. Matching is a table over (pattern position × text position), linear in
/// both, so no pattern can make matching slow. The literal start of the pattern is compared
/// first: an admission matches every image against every policy of the bundle, and nearly all
/// of them are told apart by their first characters.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
struct Pattern {
    text: String,
    tokens: Vec<Token>,
    /// The literal tokens the pattern starts with, as text.
    prefix: String,
    /// How many tokens `prefix` stands for.
    prefix_tokens: usize,
}

impl Pattern {
    fn compile(text: &str) -> Result<Self, String> {
        if text.contains("***") {
            return Err(format!("{text:?} has three stars in a row; use * or **"));
        }
        let mut tokens = Vec::new();
        let mut chars = text.chars().peekable();
        while let Some(c) = chars.next() {
            tokens.push(match c {
                '*' if chars.peek() == Some(&'*') => {
                    chars.next();
                    Token::Any
                }
                '*' => Token::Segment,
                '?' => Token::One,
                c => Token::Literal(c),
            });
        }
        let prefix: String = tokens
            .iter()
            .map_while(|t| match t {
                Token::Literal(c) => Some(*c),
                _ => None,
            })
            .collect();
        let prefix_tokens = prefix.chars().count();
        Ok(Self {
            text: text.to_owned(),
            tokens,
            prefix,
            prefix_tokens,
        })
    }

    fn matches(&self, text: &str) -> bool {
        let Some(rest) = text.strip_prefix(self.prefix.as_str()) else {
            return false;
        };
        let tokens = &self.tokens[self.prefix_tokens..];
        if tokens.is_empty() {
            return rest.is_empty();
        }
        let text: Vec<char> = rest.chars().collect();
        // can[j]: the tokens so far can match exactly text[..j].
        let mut can = vec![false; text.len() + 1];
        let mut next = vec![false; text.len() + 1];
        can[0] = true;
        for token in tokens {
            match token {
                Token::Literal(c) => {
                    next[0] = false;
                    for j in 0..text.len() {
                        next[j + 1] = can[j] && text[j] == *c;
                    }
                }
                Token::One => {
                    next[0] = false;
                    for j in 0..text.len() {
                        next[j + 1] = can[j] && text[j] != '/';
                    }
                }
                Token::Segment => {
                    next[0] = can[0];
                    for j in 0..text.len() {
                        next[j + 1] = can[j + 1] || (next[j] && text[j] != '/');
                    }
                }
                Token::Any => {
                    next[0] = can[0];
                    for j in 0..text.len() {
                        next[j + 1] = can[j + 1] || next[j];
                    }
                }
            }
            std::mem::swap(&mut can, &mut next);
            if !can.contains(&true) {
                return false;
            }
        }
        can[text.len()]
    }

    fn has_wildcard(s: &str) -> bool {
        s.contains(['*', '?'])
    }
}

/// A glob over images' `registry/repository`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct ImageGlob(Pattern);

impl ImageGlob {
    pub const MAX_LEN: usize = 255;

    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("an image glob cannot be empty".to_owned());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!(
                "an image glob has at most {} characters",
                Self::MAX_LEN
            ));
        }
        if let Some(c) = s.chars().find(|c| {
            !(c.is_ascii_lowercase()
                || c.is_ascii_digit()
                || matches!(c, '.' | '_' | '-' | '/' | ':' | '*' | '?'))
        }) {
            let hint = if c.is_ascii_uppercase() {
                " (image names are lower case)"
            } else if c == '@' {
                " (globs match registry/repository, without a digest)"
            } else {
                ""
            };
            return Err(format!("{s:?} contains {c:?}{hint}"));
        }
        if s == "**" {
            return Ok(Self(Pattern::compile(s)?));
        }
        let Some((registry, repository)) = s.split_once('/') else {
            return Err(format!(
                "{s:?} names no repository: write registry/repository, e.g. docker.io/library/nginx, or ** for every image"
            ));
        };
        let looks_like_registry = registry.contains(['.', ':'])
            || registry == "localhost"
            || Pattern::has_wildcard(registry);
        if !looks_like_registry {
            return Err(format!(
                "{s:?} does not start with a registry: globs match the full name, e.g. docker.io/{s}"
            ));
        }
        if repository.contains(':') {
            return Err(format!(
                "{s:?} has a tag: globs match registry/repository, without tag or digest"
            ));
        }
        if repository.split('/').any(str::is_empty) {
            return Err(format!("{s:?} has an empty path segment"));
        }
        Ok(Self(Pattern::compile(s)?))
    }

    /// Whether the glob covers `name`, an image's `registry/repository`.
    pub fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }
}

/// A glob over cluster or namespace names: `*` matches any run of characters, `?` one.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct NameGlob(Pattern);

impl NameGlob {
    pub const MAX_LEN: usize = 253;

    pub fn parse(s: &str) -> Result<Self, String> {
        if s.is_empty() {
            return Err("a name glob cannot be empty".to_owned());
        }
        if s.len() > Self::MAX_LEN {
            return Err(format!(
                "a name glob has at most {} characters",
                Self::MAX_LEN
            ));
        }
        if let Some(c) = s
            .chars()
            .find(|c| !(c.is_ascii_alphanumeric() || matches!(c, '.' | '_' | '-' | '*' | '?')))
        {
            return Err(format!("{s:?} contains {c:?}"));
        }
        // Names have no `/`, so a single star already spans everything; `**` means the same.
        Ok(Self(Pattern::compile(&s.replace("**", "*"))?).with_text(s))
    }

    fn with_text(mut self, s: &str) -> Self {
        self.0.text = s.to_owned();
        self
    }

    pub fn matches(&self, name: &str) -> bool {
        self.0.matches(name)
    }

    pub fn as_str(&self) -> &str {
        &self.0.text
    }
}

macro_rules! string_forms {
    ($ty:ident) => {
        impl TryFrom<String> for $ty {
            type Error = String;
            fn try_from(s: String) -> Result<Self, String> {
                Self::parse(&s)
            }
        }

        impl From<$ty> for String {
            fn from(g: $ty) -> String {
                g.0.text
            }
        }

        impl fmt::Display for $ty {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.as_str())
            }
        }
    };
}

string_forms!(ImageGlob);
string_forms!(NameGlob);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn image_glob_truth_table() {
        let table: &[(&str, &str, bool)] = &[
            ("reg.io/payments/*", "reg.io/payments/api", true),
            ("reg.io/payments/*", "reg.io/payments/internal/api", false),
            ("reg.io/payments/*", "reg.io/payments", false),
            ("reg.io/payments/*", "reg.io/paymentsx/api", false),
            ("reg.io/payments/**", "reg.io/payments/api", true),
            ("reg.io/payments/**", "reg.io/payments/internal/api", true),
            ("reg.io/payments/**", "reg.io/payments", false),
            ("reg.io/**/api", "reg.io/a/b/api", true),
            ("reg.io/**/api", "reg.io/a/b/apix", false),
            ("reg.io/payments/api", "reg.io/payments/api", true),
            ("reg.io/payments/api", "reg.io/payments/api2", false),
            ("reg.io/payments/api-?", "reg.io/payments/api-1", true),
            ("reg.io/payments/api-?", "reg.io/payments/api-12", false),
            ("reg.io/team-*/app", "reg.io/team-a/app", true),
            ("reg.io/team-*/app", "reg.io/team-a/b/app", false),
            ("*.example.com/app", "reg.example.com/app", true),
            ("*.example.com/app", "evil.com/x.example.com/app", false),
            ("**", "docker.io/library/nginx", true),
            ("docker.io/library/*", "docker.io/library/nginx", true),
            ("localhost:5000/*", "localhost:5000/app", true),
        ];
        for &(glob, name, expected) in table {
            let g = ImageGlob::parse(glob).unwrap();
            assert_eq!(g.matches(name), expected, "{glob} vs {name}");
        }
    }

    #[test]
    fn refuses_globs_that_would_never_match_or_mean_something_else() {
        for (bad, expected) in [
            ("", "empty"),
            ("nginx", "no repository"),
            ("library/nginx", "does not start with a registry"),
            ("reg.io/App", "lower case"),
            ("reg.io/app:v1", "has a tag"),
            ("reg.io/app@sha256:00", "digest"),
            ("reg.io//app", "empty path segment"),
            ("reg.io/***", "three stars"),
            ("reg.io/a b", "contains"),
        ] {
            let err = ImageGlob::parse(bad).unwrap_err();
            assert!(err.contains(expected), "{bad:?}: {err}");
        }
    }

    #[test]
    fn name_globs() {
        let table: &[(&str, &str, bool)] = &[
            ("prod-*", "prod-eu-1", true),
            ("prod-*", "staging-eu-1", false),
            ("*", "anything", true),
            ("**", "anything", true),
            ("kube-?", "kube-a", true),
            ("default", "default", true),
            ("default", "defaults", false),
        ];
        for &(glob, name, expected) in table {
            assert_eq!(
                NameGlob::parse(glob).unwrap().matches(name),
                expected,
                "{glob} vs {name}"
            );
        }
        assert_eq!(NameGlob::parse("**").unwrap().as_str(), "**");
        assert!(NameGlob::parse("").is_err());
        assert!(NameGlob::parse("a/b").is_err());
    }

    /// The table as first written, one fresh row per token and no literal start: the reference
    /// the faster matcher must agree with.
    fn reference(tokens: &[Token], text: &str) -> bool {
        let text: Vec<char> = text.chars().collect();
        let mut can = vec![false; text.len() + 1];
        can[0] = true;
        for token in tokens {
            let mut next = vec![false; text.len() + 1];
            match token {
                Token::Literal(c) => {
                    for j in 0..text.len() {
                        next[j + 1] = can[j] && text[j] == *c;
                    }
                }
                Token::One => {
                    for j in 0..text.len() {
                        next[j + 1] = can[j] && text[j] != '/';
                    }
                }
                Token::Segment => {
                    next[0] = can[0];
                    for j in 0..text.len() {
                        next[j + 1] = can[j + 1] || (next[j] && text[j] != '/');
                    }
                }
                Token::Any => {
                    next[0] = can[0];
                    for j in 0..text.len() {
                        next[j + 1] = can[j + 1] || next[j];
                    }
                }
            }
            can = next;
        }
        can[text.len()]
    }

    proptest::proptest! {
        #[test]
        fn the_literal_start_changes_no_answer(
            glob in "[ab/*?é]{0,8}",
            text in "[ab/é]{0,10}",
        ) {
            if let Ok(p) = Pattern::compile(&glob) {
                proptest::prop_assert_eq!(p.matches(&text), reference(&p.tokens, &text), "{} vs {}", glob, text);
            }
        }
    }

    #[test]
    fn matching_stays_linear() {
        let g = ImageGlob::parse(&format!("reg.io/{}b", "*a".repeat(60))).unwrap();
        let name = format!("reg.io/{}", "a".repeat(900));
        assert!(!g.matches(&name));
    }
}
