//! Integration tests: the real router on a real port, a fresh PostgreSQL database per test.
#![allow(clippy::unwrap_used)] // test helpers panic loudly by design

mod helpers;

mod adapters;
mod audit;
mod health;
mod ingest;
mod login;
mod report;
mod roles;
mod tokens;
