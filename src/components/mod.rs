//! Reusable view pieces.

pub mod approval;
pub mod form;
pub mod guard;
pub mod nav;
pub mod status;
pub mod timers;
