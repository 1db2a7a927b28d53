//! Reusable view pieces.

pub mod nav;
