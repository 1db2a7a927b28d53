//! Limits: per-client-address buckets in this instance's memory ([`client_limits`]), and
//! the code budgets kept in the database so that they hold across instances
//! ([`code_limits`]).

pub(crate) mod client_limits;
pub(crate) mod code_limits;
