//! One module per route.

pub mod account;
pub mod home;
pub mod lazy;
pub mod login;
pub mod not_found;
pub mod payment;
pub mod payments;
pub mod register;
pub mod send;
pub mod verify;
