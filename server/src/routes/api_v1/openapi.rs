//! `GET /api/v1/openapi.json`: the machine APIs described in OpenAPI 3.1, for any valid token.

use axum::Json;
use serde_json::{json, Value};

use super::Bearer;

pub async fn document(_token: Bearer) -> Json<Value> {
    Json(spec())
}

fn ingest(summary: &str, scope: &str, item: &str) -> Value {
    json!({
        "summary": summary,
        "description": format!("Needs a token with the `{scope}` scope. A batch holds at most 5,000 events and is stored all or nothing; events already stored (same id) are counted as duplicates."),
        "requestBody": {"required": true, "content": {"application/json": {"schema": {
            "type": "object", "required": ["events"],
            "properties": {"events": {"type": "array", "maxItems": 5000, "items": {"$ref": format!("#/components/schemas/{item}")}}}
        }}}},
        "responses": {
            "200": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
            "400": {"$ref": "#/components/responses/Problem"},
            "401": {"$ref": "#/components/responses/Problem"},
            "403": {"$ref": "#/components/responses/Problem"},
            "413": {"$ref": "#/components/responses/Problem"},
            "422": {"$ref": "#/components/responses/Problem"},
            "503": {"$ref": "#/components/responses/Problem"}
        }
    })
}

/// The whole document: ingestion and reads, then the trust data (split so neither `json!` gets
/// too deep for the macro).
pub fn spec() -> Value {
    let mut doc = ingestion_and_reads();
    merge(&mut doc["paths"], trust_paths());
    merge(&mut doc["components"]["schemas"], trust_schemas());
    doc
}

fn merge(into: &mut Value, from: Value) {
    if let (Some(into), Value::Object(from)) = (into.as_object_mut(), from) {
        into.extend(from);
    }
}

fn ingestion_and_reads() -> Value {
    let reasons: Vec<&str> = domain::ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
    let engines: Vec<&str> = domain::Engine::ALL.iter().map(|e| e.as_str()).collect();
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let digest = json!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"});
    let workload = json!({"type": "object", "required": ["kind", "name"], "properties": {"kind": string, "name": string}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Trustwatch machine API", "version": "v1", "description": "Ingestion, trust-bundle, administration and read APIs for clusters, CI signers, verifiers and readers. Errors are RFC 9457 problem details."},
        "servers": [{"url": "/api/v1"}],
        "security": [{"bearer": []}],
        "paths": {
            "/verification-events": {"post": ingest("Report admission outcomes", "ingest:verification", "VerificationEvent")},
            "/admission-messages": {"post": ingest("Report other engines' denial and warning texts, classified by Trustwatch", "ingest:verification", "AdmissionMessage")},
            "/signing-events": {"post": ingest("Report key usage from CI and signers", "ingest:signing", "SigningEvent")},
            "/policy-reports": {"post": {
                "summary": "Report Kyverno PolicyReports/ClusterPolicyReports (wgpolicyk8s.io/v1alpha2) or OpenReports Reports (openreports.io/v1alpha1), one or a List",
                "description": "Needs `ingest:verification`. Image-verification results become events (ids derived from the result, so a resent report stores nothing new); other results are counted as skipped.",
                "parameters": [{"name": "cluster", "in": "query", "required": false, "schema": {"type": "string"}, "description": "the reporting cluster, for a token not bound to one"}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["apiVersion", "kind"]}}}},
                "responses": {
                    "200": {"description": "stored", "content": {"application/json": {"schema": {"type": "object", "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}, "skipped": {"type": "integer"}}}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                    "413": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/connaisseur-alerts": {"post": {
                "summary": "Receive Connaisseur's alert webhook (a template that sends each variable under its own name)",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["alert_message", "images"], "properties": {
                    "alert_message": {"type": "string"}, "cluster": {"type": "string"}, "namespace": {"type": "string"},
                    "timestamp": {"type": "string"}, "request_id": {"type": "string"},
                    "images": {"description": "a list, or Connaisseur's rendering of one"}
                }}}}},
                "responses": {
                    "200": {"description": "stored", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/IngestResult"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/clusters/heartbeat": {"post": {
                "summary": "A cluster reports that it is alive, its engine, mode and trust-bundle version",
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Heartbeat"}}}},
                "responses": {"204": {"description": "recorded"}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
            }},
            "/clusters": {"get": {
                "summary": "The reporting clusters (scope `read`)",
                "responses": {"200": {"description": "clusters", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Cluster"}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
            }},
            "/openapi.json": {"get": {"summary": "This document", "responses": {"200": {"description": "OpenAPI 3.1"}}}}
        },
        "components": {
            "securitySchemes": {"bearer": {"type": "http", "scheme": "bearer", "description": "A Trustwatch token (tw_…)"}},
            "responses": {"Problem": {"description": "RFC 9457 problem details", "content": {"application/problem+json": {"schema": {"$ref": "#/components/schemas/Problem"}}}}},
            "schemas": {
                "Problem": {"type": "object", "properties": {
                    "type": string, "title": string, "status": {"type": "integer"}, "detail": string,
                    "index": {"type": "integer", "description": "position of the first invalid item of a batch"},
                    "field": {"type": "string", "description": "the invalid field of that item"},
                    "problems": {"type": "array", "description": "for a refused policy file: every problem", "items": {"type": "object", "properties": {"path": string, "message": string}}}
                }},
                "IngestResult": {"type": "object", "required": ["accepted", "duplicates"], "properties": {"accepted": {"type": "integer"}, "duplicates": {"type": "integer"}}},
                "VerificationEvent": {"type": "object", "required": ["id", "namespace", "workload", "image", "outcome", "engine", "observed_at"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "cluster": {"type": "string", "description": "defaults to the cluster the token is bound to"},
                    "namespace": string, "workload": workload,
                    "image": {"type": "string", "example": "registry.example.com/payments/api:1.4.2"},
                    "digest": digest,
                    "outcome": {"enum": ["admitted", "rejected", "warned", "error"]},
                    "reason": {"enum": reasons, "description": "required unless admitted"},
                    "engine": {"enum": engines},
                    "policy": string, "message": {"type": "string", "maxLength": 16384},
                    "checks": {"type": "array"},
                    "remediation": {"type": "array", "maxItems": 16, "items": {"type": "string", "maxLength": 2048}, "description": "how to fix a refusal, one command or step per entry, each one line"},
                    "keys": {"type": "array", "maxItems": 32, "items": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"}},
                    "observed_at": time
                }},
                "AdmissionMessage": {"type": "object", "required": ["id", "namespace", "workload", "message", "observed_at"], "properties": {
                    "id": {"type": "string", "format": "uuid"}, "cluster": string, "namespace": string, "workload": workload,
                    "message": {"type": "string", "description": "the engine's text, verbatim"},
                    "image": {"type": "string", "description": "when not in the message"}, "digest": digest,
                    "engine": {"enum": engines, "description": "when not recognisable from the message"},
                    "policy": string, "outcome": {"enum": ["rejected", "warned"]}, "observed_at": time
                }},
                "SigningEvent": {"type": "object", "required": ["id", "key", "image", "signer"], "properties": {
                    "id": {"type": "string", "format": "uuid"},
                    "key": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$", "description": "SHA-256 of the public key's SPKI DER"},
                    "image": string, "digest": digest,
                    "signer": {"type": "object", "required": ["identity"], "properties": {"identity": string, "host": string}},
                    "payload": {"type": "string", "contentEncoding": "base64"},
                    "signature": {"type": "string", "contentEncoding": "base64"},
                    "signed_at": {"type": "string", "format": "date-time", "description": "claimed by the signer; Trustwatch records its own time"}
                }},
                "Heartbeat": {"type": "object", "properties": {
                    "cluster": string, "engine": {"enum": engines},
                    "enforcement_mode": {"enum": ["enforce", "warn", "audit"]},
                    "bundle_version": {"type": "integer"}
                }},
                "Cluster": {"type": "object", "properties": {
                    "name": string, "environment": string, "engine": string, "enforcement_mode": string,
                    "bundle_version": {"type": "integer"}, "last_report_at": time
                }}
            }
        }
    })
}

/// The trust bundle, keys, key groups and policies.
fn trust_paths() -> Value {
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
            "/trust-bundle": {"get": {
                "summary": "The signed trust bundle: keys with their lifecycle, key groups, policies and the default action, versioned, with an expiry",
                "description": "Scope `read`, `ingest:verification` or `admin`. The body is the envelope `{bundle, signature, key_fingerprint}`: `signature` is base64 Ed25519 over the canonical JSON of `bundle` (keys sorted, no insignificant whitespace); verify it with the key from `/trust-bundle/key`, then check `expires_at`. Send the `ETag` back in `If-None-Match` to get 304 while nothing changed. See docs/policy.md.",
                "parameters": [{"name": "If-None-Match", "in": "header", "required": false, "schema": string}],
                "responses": {
                    "200": {"description": "the newest version", "headers": {
                        "ETag": {"schema": {"type": "string"}, "description": "\"<version>-<16 hex digits of the bundle's SHA-256>\""},
                        "X-Trustwatch-Bundle-Version": {"schema": {"type": "integer"}}
                    }, "content": {"application/json": {"schema": {"$ref": "#/components/schemas/SignedTrustBundle"}}}},
                    "304": {"description": "the version named in If-None-Match is still the newest"},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                    "404": {"$ref": "#/components/responses/Problem"}, "503": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/trust-bundle/key": {"get": {
                "summary": "The public bundle key (Ed25519, PEM SPKI) that verifies the bundle's signature",
                "description": "Scope `read`, `ingest:verification` or `admin`. Distribute it to verifiers out of band once; fetching it next to the bundle proves nothing.",
                "responses": {
                    "200": {"description": "PEM", "headers": {"X-Trustwatch-Key-Fingerprint": {"schema": string}}, "content": {"application/x-pem-file": {"schema": string}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/keys": {
                "get": {
                    "summary": "Signing keys with their lifecycle (scope `read` or `admin`)",
                    "responses": {"200": {"description": "keys", "content": {"application/json": {"schema": {"type": "array", "items": {"$ref": "#/components/schemas/Key"}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
                },
                "post": {
                    "summary": "Import a public key (scope `admin`); publishes a new trust bundle",
                    "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["name", "public_key_pem"], "properties": {
                        "name": {"type": "string", "minLength": 1, "maxLength": 100},
                        "public_key_pem": {"type": "string", "description": "-----BEGIN PUBLIC KEY----- (ECDSA P-256/P-384, Ed25519 or RSA); fingerprint and algorithm are derived from it"},
                        "owner_team": {"type": "string", "default": "unassigned"},
                        "custody": {"enum": ["file", "kms", "hsm"], "default": "file"},
                        "custody_uri": string,
                        "valid_from": {"type": "string", "format": "date-time", "description": "default now; signatures recorded earlier do not count"},
                        "valid_until": time,
                        "rotation_period_days": {"type": "integer", "minimum": 1}
                    }}}}},
                    "responses": {
                        "201": {"description": "imported", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyChange"}}}},
                        "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"},
                        "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
                    }
                }
            },
            "/keys/{name}": {"get": {
                "summary": "One key (scope `read` or `admin`)",
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": string}],
                "responses": {"200": {"description": "the key", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/Key"}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"}}
            }},
            "/keys/{name}/status": {"put": {
                "summary": "Change a key's lifecycle status (scope `admin`); publishes a new trust bundle",
                "description": "`compromised` needs `since` (signatures Trustwatch recorded before it still count); `revoked` takes effect from `since` or now; `active` and `retiring` take no `since`. A compromised key cannot become active again (409). Setting the status a key already has changes nothing (`bundle_version` null).",
                "parameters": [{"name": "name", "in": "path", "required": true, "schema": string}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["status"], "properties": {
                    "status": {"enum": ["active", "retiring", "revoked", "compromised"]}, "since": time
                }}}}},
                "responses": {
                    "200": {"description": "changed (or already so)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/KeyChange"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "404": {"$ref": "#/components/responses/Problem"},
                    "409": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/key-groups": {"get": {
                "summary": "Key groups and their members (scope `read` or `admin`)",
                "responses": {"200": {"description": "groups", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
                    "name": string, "keys": {"type": "array", "items": string}, "created_by": string, "created_at": time, "updated_by": string, "updated_at": time
                }}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
            }},
            "/key-groups/{name}": {"put": {
                "summary": "Create a key group or replace its members (scope `admin`), as applying a KeyGroup document does",
                "parameters": [
                    {"name": "name", "in": "path", "required": true, "schema": {"type": "string", "pattern": "^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$"}},
                    {"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}}
                ],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["keys"], "properties": {"keys": {"type": "array", "minItems": 1, "items": string}}}}}},
                "responses": {"200": {"description": "applied", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApplyOutcome"}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
            }},
            "/teams": {"get": {
                "summary": "Teams and the namespaces each owns (scope `read` or `admin`)",
                "responses": {"200": {"description": "team name → namespaces", "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "array", "items": string}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
            }},
            "/teams/{team}": {"put": {
                "summary": "Set the namespaces a team owns (scope `admin`); a namespace listed moves from its former team, an empty list removes the team",
                "parameters": [{"name": "team", "in": "path", "required": true, "schema": {"type": "string", "maxLength": 100}}],
                "requestBody": {"required": true, "content": {"application/json": {"schema": {"type": "object", "required": ["namespaces"], "properties": {"namespaces": {"type": "array", "items": string}}}}}},
                "responses": {"200": {"description": "every team after the change", "content": {"application/json": {"schema": {"type": "object", "additionalProperties": {"type": "array", "items": string}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}}
            }},
            "/policies": {"get": {
                "summary": "Policies: name, mode, version, who changed them when (scope `read` or `admin`)",
                "responses": {"200": {"description": "policies", "content": {"application/json": {"schema": {"type": "array", "items": {"type": "object", "properties": {
                    "name": string, "mode": {"enum": ["enforce", "warn", "audit"]}, "version": {"type": "integer"},
                    "created_by": string, "created_at": time, "updated_by": string, "updated_at": time
                }}}}}}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}}
            }},
            "/policies/apply": {"post": {
                "summary": "Apply a file of Policy and KeyGroup documents (scope `admin`): validated, diffed, audited per document, one new trust bundle",
                "description": "The body is the file itself: YAML documents separated by `---` (JSON is YAML too), schema in docs/policy.md. Every key and group a document names must exist (or, for groups, be in the file). A refused file stores nothing and answers 422 with `problems`, each with its path (`documents[1].spec.authorities.keys[0]`).",
                "parameters": [
                    {"name": "dry_run", "in": "query", "required": false, "schema": {"type": "boolean"}, "description": "validate and diff only"},
                    {"name": "prune", "in": "query", "required": false, "schema": {"type": "boolean"}, "description": "also delete stored policies and key groups the file does not contain"}
                ],
                "requestBody": {"required": true, "content": {"application/yaml": {"schema": string}, "application/json": {"schema": {}}}},
                "responses": {
                    "200": {"description": "applied (or, with dry_run, what would be)", "content": {"application/json": {"schema": {"$ref": "#/components/schemas/ApplyOutcome"}}}},
                    "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
                }
            }},
            "/policies/export": {"get": {
                "summary": "Every key group and policy as one multi-document YAML file that applies back unchanged, or with `format` the policies as another admission engine's objects (scope `read` or `admin`)",
                "description": "Without `format` (or with `format=trustwatch`): Trustwatch's own documents. With `format=kyverno-cluster-policy`, `kyverno-image-validating-policy` or `policy-controller`: one object per policy (policy-controller may need several) of the current trust bundle, public keys inlined, revoked, compromised and expired keys left out and so are the keys named by `without`. A policy left without keys refuses every image it covers. Each object starts with YAML comments saying what was left out and what the engine cannot express (docs/policy.md, Exporting for other engines). The header `X-Trustwatch-Cache-Expiry-Seconds` estimates how long the engine may keep admitting on cached verdicts.",
                "parameters": [
                    {"name": "format", "in": "query", "required": false, "schema": {"enum": ["trustwatch", "kyverno-cluster-policy", "kyverno-image-validating-policy", "policy-controller"]}},
                    {"name": "without", "in": "query", "required": false, "style": "form", "explode": true, "schema": {"type": "array", "items": {"type": "string", "pattern": "^sha256:[0-9a-fA-F]{64}$"}}, "description": "key fingerprints to leave out; repeat the parameter or separate with commas; each must name a key of the trust bundle"}
                ],
                "responses": {
                    "200": {"description": "YAML", "headers": {"X-Trustwatch-Cache-Expiry-Seconds": {"schema": {"type": "integer"}, "description": "with an engine format: how long that engine may keep admitting on verdicts cached before the export is applied (default settings)"}}, "content": {"application/yaml": {"schema": string}}},
                    "400": {"$ref": "#/components/responses/Problem"}, "401": {"$ref": "#/components/responses/Problem"}, "403": {"$ref": "#/components/responses/Problem"}, "422": {"$ref": "#/components/responses/Problem"}
                }
            }}
    })
}

fn trust_schemas() -> Value {
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    json!({
                "SignedTrustBundle": {"type": "object", "required": ["bundle", "signature", "key_fingerprint"], "properties": {
                    "bundle": {"type": "object", "required": ["version", "issued_at", "expires_at", "keys", "key_groups", "policies", "default_action"], "properties": {
                        "version": {"type": "integer"}, "issued_at": time, "expires_at": time,
                        "keys": {"type": "array", "items": {"type": "object", "properties": {
                            "name": string, "fingerprint": string, "algorithm": {"enum": ["ecdsa-p256", "ecdsa-p384", "ed25519", "rsa"]},
                            "public_key_pem": string, "owner_team": string, "status": {"enum": ["active", "retiring", "revoked", "compromised"]},
                            "valid_from": time, "valid_until": time, "compromised_since": time, "revoked_at": time
                        }}},
                        "key_groups": {"type": "array", "items": {"description": "a KeyGroup document (docs/policy.md)"}},
                        "policies": {"type": "array", "items": {"description": "a Policy document with defaults written out (docs/policy.md)"}},
                        "default_action": {"enum": ["deny", "warn", "allow"]}
                    }},
                    "signature": {"type": "string", "contentEncoding": "base64", "description": "Ed25519 over the canonical JSON of bundle"},
                    "key_fingerprint": {"type": "string", "pattern": "^sha256:[0-9a-f]{64}$", "description": "of the bundle key that signed"}
                }},
                "Key": {"type": "object", "properties": {
                    "id": {"type": "string", "format": "uuid"}, "name": string, "fingerprint": string, "algorithm": string,
                    "public_key_pem": string, "owner_team": string, "custody": {"enum": ["file", "kms", "hsm"]}, "custody_uri": string,
                    "status": {"enum": ["active", "retiring", "revoked", "compromised"]}, "valid_from": time, "valid_until": time,
                    "rotation_period_days": {"type": "integer"}, "compromised_since": time, "revoked_at": time, "created_at": time
                }},
                "KeyChange": {"type": "object", "properties": {
                    "key": {"$ref": "#/components/schemas/Key"},
                    "bundle_version": {"type": ["integer", "null"], "description": "the trust bundle the change published; null when nothing changed"}
                }},
                "ApplyOutcome": {"type": "object", "properties": {
                    "dry_run": {"type": "boolean"},
                    "changes": {"type": "array", "items": {"type": "object", "properties": {
                        "kind": {"enum": ["Policy", "KeyGroup"]}, "name": string,
                        "change": {"enum": ["created", "changed", "unchanged", "deleted"]},
                        "diff": {"type": "string", "description": "unified diff of the YAML, stored → applied; empty when unchanged"}
                    }}},
                    "bundle_version": {"type": ["integer", "null"], "description": "null for a dry run or when nothing changed"}
                }}
    })
}
