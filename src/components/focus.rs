//! After a navigation inside the app the page does not reload, so a screen reader or a
//! keyboard would stay where the link was: focus moves to the new page's main heading.
//!
//! A lazily loaded page (`pages::lazy`) arrives only once its code has been fetched; until
//! then the old page (and its heading) stays. Such a page says when it starts loading and
//! when its view exists, and its heading is focused then, not the old one.

use leptos::prelude::*;
use leptos_router::hooks::use_location;

/// Where a navigation stands, shared by the focus mover and the lazily loaded pages.
#[derive(Clone, Copy)]
pub struct PageFocus {
    /// A navigation happened whose page has not had its heading focused yet.
    navigated: StoredValue<bool>,
    /// A lazily loaded page was chosen and its view does not exist yet.
    lazy_loading: RwSignal<bool>,
}

impl PageFocus {
    /// Provided once, by the app, around the router.
    pub fn provide() -> Self {
        let focus = PageFocus {
            navigated: StoredValue::new(false),
            lazy_loading: RwSignal::new(false),
        };
        provide_context(focus);
        focus
    }

    /// `aria-busy` for the page while a lazily loaded page's code is on its way (the page
    /// shown until then is the one the link was on).
    pub fn busy(self) -> Option<&'static str> {
        self.lazy_loading.get().then_some("true")
    }

    /// A lazily loaded page was chosen: its code and view are on their way.
    pub fn lazy_page_chosen() {
        if let Some(focus) = use_context::<PageFocus>() {
            focus.lazy_loading.set(true);
        }
    }

    /// A lazily loaded page's view exists: after a navigation, its heading takes focus.
    pub fn lazy_page_arrived() {
        if let Some(focus) = use_context::<PageFocus>() {
            focus.lazy_loading.set(false);
            // The view is put in place right after this: look from the next frame on.
            #[cfg(feature = "hydrate")]
            request_animation_frame(move || focus.focus_if_navigated());
        }
    }

    fn focus_if_navigated(self) {
        if self.navigated.get_value() && !self.lazy_loading.get_untracked() {
            self.navigated.set_value(false);
            // The new page may still be loading its data: look for its heading for a
            // while (about 40 frames).
            focus_heading(40);
        }
    }
}

/// Moves focus to the page's `<h1>` after each navigation within the app (not on the first
/// load, where the browser starts at the top anyway).
#[component]
pub fn FocusHeadingOnNavigation() -> impl IntoView {
    let location = use_location();
    let focus = expect_context::<PageFocus>();
    Effect::new(move |previous: Option<String>| {
        let path = location.pathname.get();
        if previous.is_some_and(|before| before != path) {
            focus.navigated.set_value(true);
            // By the next frame the router has chosen the new page; a lazily loaded one
            // focuses its heading itself once it has arrived.
            request_animation_frame(move || focus.focus_if_navigated());
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
