pub mod account;
pub mod admin;
pub mod audit;
pub mod login;
pub mod not_found;
pub mod overview;
pub mod planned;
