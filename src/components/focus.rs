//! After a navigation inside the app the page does not reload, so a screen reader or a
//! keyboard would stay where the link was: focus moves to the new page's main heading.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Moves focus to the page's `<h1>` after each navigation within the app (not on the first
/// load, where the browser starts at the top anyway).
#[component]
pub fn FocusHeadingOnNavigation() -> impl IntoView {
    let location = use_location();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|before| before != path) {
            // The new page may still be loading its data: look for its heading for a while
            // (about 40 frames), from the frame after the navigation.
            request_animation_frame(|| focus_heading(40));
        }
        path
    });
}

#[cfg(feature = "hydrate")]
fn focus_heading(tries: u32) {
    use leptos::wasm_bindgen::JsCast;
    let heading = document()
        .query_selector("main h1")
        .ok()
        .flatten()
        .and_then(|h| h.dyn_into::<leptos::web_sys::HtmlElement>().ok());
    match heading {
        Some(heading) => {
            if !heading.has_attribute("tabindex") {
                // Focusable by script, not a stop for the Tab key.
                let _ = heading.set_attribute("tabindex", "-1");
            }
            let _ = heading.focus();
        }
        None if tries > 0 => request_animation_frame(move || focus_heading(tries - 1)),
        None => {}
    }
}

/// Effects never run on the server.
#[cfg(not(feature = "hydrate"))]
fn focus_heading(_tries: u32) {}
