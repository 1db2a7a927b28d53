//! cargo-leptos wants a server binary; the floor is measured on its client only
//! (`--frontend-only`), so this one does nothing.

fn main() {}
