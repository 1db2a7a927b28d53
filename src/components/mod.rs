//! Reusable view pieces.

pub mod form;
pub mod guard;
pub mod nav;
