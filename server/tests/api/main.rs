//! Integration tests: the real router on a real port, a fresh PostgreSQL database per test.

mod helpers;

mod audit;
mod health;
mod login;
mod roles;
mod tokens;
