//! The HTTP edge: start-up and the routes, the middlewares and the web guard around every
//! response, the one reader of a server function's request ([`request`]), readiness,
//! built assets and telemetry. Nothing here decides what the app does: that is `domain`.

pub(crate) mod assets;
pub(crate) mod middleware;
pub mod readiness;
pub(crate) mod request;
pub(crate) mod routes;
pub(crate) mod startup;
pub mod telemetry;
pub(crate) mod web_guard;
