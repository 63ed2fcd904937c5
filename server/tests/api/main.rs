//! Integration tests: the real router on a real port, a fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used)] // test helpers panic loudly by design

mod helpers;
// The registry and image helpers of the differential test, shared rather than copied.
#[path = "../interop/support.rs"]
#[allow(dead_code)]
mod interop_support;

mod adapters;
mod admission;
mod alerts;
mod audit;
mod authorization;
mod health;
mod incidents;
mod ingest;
mod key_image_pages;
mod keys_policies_ui;
mod login;
mod overview;
mod playbooks;
mod policy_export;
mod rejections;
mod report;
mod roles;
mod rollups;
mod sign;
mod tls;
mod tokens;
mod trends;
mod trust;
mod what_if;
