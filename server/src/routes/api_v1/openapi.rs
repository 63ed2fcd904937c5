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

pub fn spec() -> Value {
    let reasons: Vec<&str> = domain::ReasonCode::ALL.iter().map(|r| r.as_str()).collect();
    let engines: Vec<&str> = domain::Engine::ALL.iter().map(|e| e.as_str()).collect();
    let string = json!({"type": "string"});
    let time = json!({"type": "string", "format": "date-time"});
    let digest = json!({"type": "string", "pattern": "^sha256:[0-9a-f]{64}$"});
    let workload = json!({"type": "object", "required": ["kind", "name"], "properties": {"kind": string, "name": string}});
    json!({
        "openapi": "3.1.0",
        "info": {"title": "Trustwatch machine API", "version": "v1", "description": "Ingestion and read APIs for clusters, CI signers and readers. Errors are RFC 9457 problem details."},
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
                    "field": {"type": "string", "description": "the invalid field of that item"}
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
