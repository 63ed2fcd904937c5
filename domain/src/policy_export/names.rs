//! Object names for exported documents, and Trustwatch's globs in each engine's own matching
//! language.

use sha2::{Digest as _, Sha256};

use crate::policy::{ImageGlob, NameGlob};

/// Kyverno puts policy names into label values, which are limited to 63 characters; the other
/// engines allow more, but one limit for all keeps the names alike.
const MAX_NAME: usize = 63;

/// `tw-<policy><suffix>`: a DNS label (lower-case letters, digits and `-`, at most 63
/// characters) derived only from the policy's name, so exporting again replaces the same
/// objects. Trustwatch's policy names are DNS labels already; a name that would grow too long
/// is cut and given a hash of the whole, so two long names never collide.
pub(crate) fn object_name(policy: &str, suffix: &str) -> String {
    let clean: String = policy
        .chars()
        .map(|c| {
            if c.is_ascii_lowercase() || c.is_ascii_digit() {
                c
            } else {
                '-'
            }
        })
        .collect();
    let full = format!("tw-{}{suffix}", clean.trim_matches('-'));
    if full.len() <= MAX_NAME {
        return full;
    }
    let hash = hex::encode(Sha256::digest(policy.as_bytes()));
    let room = MAX_NAME - suffix.len() - 9;
    let head = full[..room].trim_end_matches('-');
    format!("{head}-{}{suffix}", &hash[..8])
}

/// The forms one Trustwatch glob must take to cover the same images in an engine that matches
/// the image as written or only partly normalized. Trustwatch matches the normalized
/// `registry/repository` (`nginx` is `docker.io/library/nginx`); Kyverno's `ClusterPolicy` sees
/// `docker.io/nginx`, `ImageValidatingPolicy` sees the text of the pod spec, policy-controller
/// sees `index.docker.io/library/nginx`. A glob that may name Docker Hub therefore also yields
/// those spellings. Extra forms only ever cover more images, never fewer.
pub(crate) fn spellings(glob: &ImageGlob) -> Vec<String> {
    let g = glob.as_str();
    let mut out = vec![g.to_owned()];
    let Some((registry, rest)) = g.split_once('/') else {
        return out; // `**`: every image already.
    };
    let wildcard_registry = registry.contains(['*', '?']);
    if registry == "docker.io" || wildcard_registry {
        if registry == "docker.io" {
            out.push(format!("index.docker.io/{rest}"));
        }
        out.push(rest.to_owned());
        if let Some(official) = rest.strip_prefix("library/") {
            if registry == "docker.io" {
                out.push(format!("docker.io/{official}"));
                out.push(format!("index.docker.io/{official}"));
            }
            out.push(official.to_owned());
        }
    }
    out.dedup();
    out
}

/// A glob in Kyverno's wildcard language (both `imageReferences` and the `glob` of
/// `matchImageReferences`): `*` matches any run of characters, `/` included, and the pattern
/// is matched against the whole reference, tag or digest included. So `**` becomes `*`, and a
/// pattern that does not end in a star gets `:*` and `@*` forms for the tag and the digest.
/// Kyverno's star crossing `/` means `team/*` also covers `team/sub/app`: more images, never
/// fewer.
pub(crate) fn kyverno_patterns(glob: &ImageGlob) -> Vec<String> {
    let mut out = Vec::new();
    for s in spellings(glob) {
        let p = s.replace("**", "*");
        if p.ends_with('*') {
            out.push(p);
        } else {
            out.push(format!("{p}:*"));
            out.push(format!("{p}@*"));
        }
    }
    out.dedup();
    out
}

/// A glob in policy-controller's language: `*` is any run without `/`, `**` any run, matched
/// against the whole name with its tag or digest; `?` has no meaning there, so it becomes `*`
/// (a superset). A pattern that does not end in a star gets one, so the tag or digest matches.
pub(crate) fn policy_controller_globs(glob: &ImageGlob) -> Vec<String> {
    let mut out = Vec::new();
    for s in spellings(glob) {
        let p = s.replace('?', "*").replace("***", "**");
        if p.ends_with('*') {
            out.push(p);
        } else {
            out.push(format!("{p}*"));
        }
    }
    out.dedup();
    out
}

/// Namespace globs in Kyverno's `namespaces` list: the same language (`*` any run, `?` one).
pub(crate) fn kyverno_namespaces(globs: &[NameGlob]) -> Vec<String> {
    globs
        .iter()
        .map(|g| g.as_str().replace("**", "*"))
        .collect()
}

/// Namespace globs as one anchored RE2 pattern for CEL's `matches`. Every character a name glob
/// may hold is written so that no escaping through CEL's string syntax is needed.
pub(crate) fn namespace_regex(globs: &[NameGlob]) -> String {
    let alternatives: Vec<String> = globs
        .iter()
        .map(|g| {
            let mut re = String::new();
            for c in g.as_str().replace("**", "*").chars() {
                match c {
                    '*' => re.push_str(".*"),
                    '?' => re.push('.'),
                    c if c.is_ascii_alphanumeric() || c == '-' || c == '_' => re.push(c),
                    c => {
                        re.push('[');
                        re.push(c);
                        re.push(']');
                    }
                }
            }
            re
        })
        .collect();
    format!("^(?:{})$", alternatives.join("|"))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn glob(s: &str) -> ImageGlob {
        ImageGlob::parse(s).unwrap()
    }

    fn is_dns_label(s: &str) -> bool {
        crate::policy::is_valid_name(s)
    }

    #[test]
    fn object_names_are_dns_labels_and_stable() {
        assert_eq!(object_name("prod-images", ""), "tw-prod-images");
        assert_eq!(object_name("prod-images", "-2"), "tw-prod-images-2");
        let long = "a".repeat(63);
        let other = format!("{}b", "a".repeat(62));
        for suffix in ["", "-12"] {
            let a = object_name(&long, suffix);
            let b = object_name(&other, suffix);
            assert!(is_dns_label(&a), "{a}");
            assert!(is_dns_label(&b), "{b}");
            assert_ne!(a, b);
            assert!(a.ends_with(suffix));
            assert_eq!(a, object_name(&long, suffix));
        }
        assert!(is_dns_label(&object_name("Odd_Name", "")));
    }

    #[test]
    fn docker_hub_globs_get_every_spelling() {
        assert_eq!(
            spellings(&glob("docker.io/library/nginx")),
            [
                "docker.io/library/nginx",
                "index.docker.io/library/nginx",
                "library/nginx",
                "docker.io/nginx",
                "index.docker.io/nginx",
                "nginx"
            ]
        );
        assert_eq!(
            spellings(&glob("reg.example.com/payments/*")),
            ["reg.example.com/payments/*"]
        );
        assert_eq!(spellings(&glob("*.io/team/*")), ["*.io/team/*", "team/*"]);
        assert_eq!(spellings(&glob("**")), ["**"]);
    }

    #[test]
    fn kyverno_patterns_cover_tags_and_digests() {
        assert_eq!(
            kyverno_patterns(&glob("reg.example.com/payments/api")),
            [
                "reg.example.com/payments/api:*",
                "reg.example.com/payments/api@*"
            ]
        );
        assert_eq!(
            kyverno_patterns(&glob("reg.example.com/payments/**")),
            ["reg.example.com/payments/*"]
        );
        assert_eq!(kyverno_patterns(&glob("**")), ["*"]);
    }

    #[test]
    fn policy_controller_globs_cover_tags_and_digests() {
        assert_eq!(
            policy_controller_globs(&glob("reg.example.com/payments/ap?")),
            ["reg.example.com/payments/ap*"]
        );
        assert_eq!(
            policy_controller_globs(&glob("reg.example.com/payments/api")),
            ["reg.example.com/payments/api*"]
        );
        assert_eq!(
            policy_controller_globs(&glob("reg.example.com/payments/**")),
            ["reg.example.com/payments/**"]
        );
    }

    #[test]
    fn namespace_globs_become_anchored_regexes() {
        let globs = [
            NameGlob::parse("prod-*").unwrap(),
            NameGlob::parse("a.b?").unwrap(),
        ];
        assert_eq!(namespace_regex(&globs), "^(?:prod-.*|a[.]b.)$");
        assert_eq!(kyverno_namespaces(&globs), ["prod-*", "a.b?"]);
    }
}
