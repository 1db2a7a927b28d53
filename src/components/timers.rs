//! Browser timers (gloo-timers) tied to the component that starts them.

use std::time::Duration;

use gloo_timers::callback::Interval;
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

/// The wait before the next status check after `failures` failed ones in a row: the
/// normal period first, then doubling from it (3 s, 6 s, 12 s, ...), at most `cap`.
pub fn backoff(period: Duration, failures: u32, cap: Duration) -> Duration {
    let doublings = failures.saturating_sub(1).min(16);
    period.saturating_mul(1 << doublings).min(cap)
}

/// Calls `on_visible` whenever the tab becomes visible again (a background tab's timers
/// are slowed down by the browser, so what they wait for may be due).
pub fn use_on_visible<F>(on_visible: F)
where
    F: Fn() + Clone + 'static,
{
    Effect::new(move |previous: Option<()>| {
        if previous.is_some() {
            return;
        }
        let on_visible = on_visible.clone();
        let handle = window_event_listener_untyped("visibilitychange", move |_| {
            if !document().hidden() {
                on_visible();
            }
        });
        on_cleanup(move || handle.remove());
    });
}

/// True once the component runs in the browser (false while rendering on the server and
/// during hydration), for parts that only make sense with the Wasm client running.
pub fn use_mounted() -> ReadSignal<bool> {
    let (mounted, set_mounted) = signal(false);
    Effect::new(move |_| set_mounted.set(true));
    mounted
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn failed_checks_back_off_by_doubling_up_to_the_cap() {
        let period = Duration::from_secs(3);
        let cap = Duration::from_secs(30);
        let waits: Vec<u64> = (0..7).map(|n| backoff(period, n, cap).as_secs()).collect();
        assert_eq!(waits, vec![3, 3, 6, 12, 24, 30, 30]);
        assert_eq!(backoff(period, u32::MAX, cap), cap);
    }
}
