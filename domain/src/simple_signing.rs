//! cosign "simple signing" payloads: the JSON document a container-image signature covers.

use serde::Serialize;

use crate::image::{Digest, ImageReference};

/// The payload cosign writes for `image` at `digest`: the identity is the bare repository name and
/// `optional` is null. Signatures cover these exact bytes.
pub fn cosign_payload(image: &ImageReference, digest: &Digest) -> Vec<u8> {
    #[derive(Serialize)]
    struct Payload<'a> {
        critical: Critical<'a>,
        optional: Option<()>,
    }
    #[derive(Serialize)]
    struct Critical<'a> {
        identity: Identity,
        image: Image<'a>,
        #[serde(rename = "type")]
        kind: &'static str,
    }
    #[derive(Serialize)]
    struct Identity {
        #[serde(rename = "docker-reference")]
        docker_reference: String,
    }
    #[derive(Serialize)]
    struct Image<'a> {
        #[serde(rename = "docker-manifest-digest")]
        digest: &'a str,
    }
    let payload = Payload {
        critical: Critical {
            identity: Identity {
                docker_reference: image.name(),
            },
            image: Image {
                digest: digest.as_str(),
            },
            kind: "cosign container image signature",
        },
        optional: None,
    };
    // Serializing plain structs of strings cannot fail.
    serde_json::to_vec(&payload).unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn matches_cosigns_shape() {
        let image = ImageReference::parse("reg.example.com/team/app:v1").unwrap();
        let digest = Digest::of(b"manifest");
        let payload = String::from_utf8(cosign_payload(&image, &digest)).unwrap();
        assert_eq!(
            payload,
            format!(
                r#"{{"critical":{{"identity":{{"docker-reference":"reg.example.com/team/app"}},"image":{{"docker-manifest-digest":"{digest}"}},"type":"cosign container image signature"}},"optional":null}}"#
            )
        );
    }
}
