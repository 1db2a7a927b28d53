//! Times in the person's own time zone: UTC in the server-rendered page (the first paint),
//! then the browser's own formatting once the Wasm client runs.

use leptos::prelude::*;

use crate::components::timers::use_mounted;
use crate::model::{format_time, iso_time};

/// A `<time>` with its machine-readable UTC value, shown in the browser's time zone.
/// `mounted` is a list's one [`use_mounted`] signal, made where its rows are rendered, so a
/// page of rows costs one signal and one effect rather than one of each per row; without
/// it the time makes its own.
#[component]
pub fn LocalTime(unix: i64, #[prop(optional)] mounted: Option<ReadSignal<bool>>) -> impl IntoView {
    let mounted = mounted.unwrap_or_else(use_mounted);
    view! {
        <time datetime=iso_time(unix)>
            {move || if mounted.get() { in_browser_zone(unix) } else { format_time(unix) }}
        </time>
    }
}

/// The browser's medium date and short time in its own locale and time zone.
#[cfg(feature = "hydrate")]
fn in_browser_zone(unix: i64) -> String {
    use leptos::wasm_bindgen::JsValue;
    use leptos::web_sys::js_sys::{Array, Date, Intl::DateTimeFormat, Object, Reflect};

    let options = Object::new();
    for (key, value) in [("dateStyle", "medium"), ("timeStyle", "short")] {
        let _ = Reflect::set(&options, &key.into(), &value.into());
    }
    let date = Date::new(&JsValue::from_f64(unix as f64 * 1000.0));
    DateTimeFormat::new(&Array::new(), &options)
        .format()
        .call1(&JsValue::NULL, &date)
        .ok()
        .and_then(|text| text.as_string())
        .unwrap_or_else(|| format_time(unix))
}

/// Never called on the server (the client shows local times after mount).
#[cfg(not(feature = "hydrate"))]
fn in_browser_zone(unix: i64) -> String {
    format_time(unix)
}
