//! Typed server functions, by feature.
