//! Browser timers (gloo-timers) tied to the component that starts them.

use std::time::Duration;

use gloo_timers::callback::{Interval, Timeout};
use leptos::prelude::*;

/// Calls `on_tick` every `period` while `running` is true. The timer lives in the effect's
/// value: it is cancelled when `running` turns false and when the component unmounts.
pub fn use_interval<F>(period: Duration, running: Signal<bool>, on_tick: F)
where
    F: Fn() + Clone + 'static,
{
    let millis = u32::try_from(period.as_millis()).unwrap_or(u32::MAX);
    Effect::new(move |previous: Option<Option<Interval>>| {
        // Dropping the previous interval cancels it.
        drop(previous);
        running
            .get()
            .then(|| Interval::new(millis, on_tick.clone()))
    });
}

/// A signal that turns true `delay` after the component mounted (never on the server).
pub fn use_after(delay: Duration) -> ReadSignal<bool> {
    let (done, set_done) = signal(false);
    let millis = u32::try_from(delay.as_millis()).unwrap_or(u32::MAX);
    Effect::new(move |previous: Option<Timeout>| {
        previous.unwrap_or_else(|| Timeout::new(millis, move || set_done.set(true)))
    });
    done
}

/// True once the component runs in the browser (false while rendering on the server and
/// during hydration), for parts that only make sense with the Wasm client running.
pub fn use_mounted() -> ReadSignal<bool> {
    let (mounted, set_mounted) = signal(false);
    Effect::new(move |_| set_mounted.set(true));
    mounted
}
