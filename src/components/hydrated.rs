//! The mark the browser tests wait for: set once every island in the page is hydrated.

use leptos::prelude::*;

/// The last island of every page. Leptos' islands script hydrates the islands one after
/// the other in document order, waiting for each lazily loaded one's code, so when this
/// one runs all the others (and their effects, queued before this one's) have.
#[island]
pub fn HydrationMark() -> impl IntoView {
    Effect::new(move |_| {
        if let Some(body) = document().body() {
            let _ = body.set_attribute("data-hydrated", "true");
        }
    });
}
