//! The server's clock on the payment page: the countdown to the request's expiry and the
//! SMS offer run on the server's time, not the browser's (whose clock may be off).

use leptos::prelude::*;

use crate::model::PaymentView;

/// The server's clock as this browser can tell it: the time the last answer carried, plus
/// what this browser's clock says passed since. On the server, and until the Wasm client
/// runs, it is the answer's own time, so both render the same countdown.
#[derive(Clone, Copy)]
pub struct ServerClock {
    current: Memo<Option<PaymentView>>,
    /// Seconds the server's clock is ahead of this browser's.
    skew: StoredValue<Skew>,
    ticked: RwSignal<Option<i64>>,
}

/// The arithmetic of [`ServerClock`], apart from its signals and the browser's clock: the
/// last answer's skew (server time minus browser time on arrival) and the time shown last.
#[derive(Debug, Clone, Copy, Default, PartialEq)]
struct Skew {
    skew: Option<f64>,
    shown: Option<i64>,
}

impl Skew {
    /// An answer written at `server_time` arrived when this browser's clock read `browser`:
    /// the server's time shown now.
    fn answer(&mut self, server_time: i64, browser: f64) -> Option<i64> {
        self.skew = Some(server_time as f64 - browser);
        self.tick(browser)
    }

    /// The server's time shown when this browser's clock reads `browser` (`None` before
    /// the first answer); never earlier than the time shown before.
    fn tick(&mut self, browser: f64) -> Option<i64> {
        let now = never_back(self.shown, browser + self.skew?);
        self.shown = Some(now);
        Some(now)
    }
}

impl ServerClock {
    pub fn new(current: Memo<Option<PaymentView>>) -> Self {
        let clock = ServerClock {
            current,
            skew: StoredValue::new(Skew::default()),
            ticked: RwSignal::new(None),
        };
        // Each answer sets the clock again (effects run in the browser only).
        Effect::new(move |_| {
            if let Some(server_time) = current.with(|p| p.as_ref().map(|p| p.server_time)) {
                let mut skew = clock.skew.get_value();
                let shown = skew.answer(server_time, browser_seconds());
                clock.skew.set_value(skew);
                clock.show(shown);
            }
        });
        clock
    }

    /// A second passed on this browser's clock.
    pub fn tick(self) {
        let mut skew = self.skew.get_value();
        let shown = skew.tick(browser_seconds());
        self.skew.set_value(skew);
        self.show(shown);
    }

    fn show(self, shown: Option<i64>) {
        if shown.is_some() && self.ticked.get_untracked() != shown {
            self.ticked.set(shown);
        }
    }

    /// The server's time now, in Unix seconds.
    pub fn now(self) -> i64 {
        self.ticked.get().unwrap_or_else(|| {
            self.current
                .with(|p| p.as_ref().map_or(0, |p| p.server_time))
        })
    }
}

/// The server's time in whole seconds from `estimate` (this browser's clock plus the last
/// answer's skew), never earlier than the time already `shown`. Answers carry whole seconds,
/// rounded down, and arrive a moment after they were written: an answer can put the estimate
/// a second behind the one a tick showed just before, and a countdown would step back, or
/// the SMS offer made at 15 seconds be taken away for a second (and a click on it lost).
fn never_back(shown: Option<i64>, estimate: f64) -> i64 {
    let estimate = estimate.floor() as i64;
    shown.map_or(estimate, |shown| shown.max(estimate))
}

/// This browser's clock, in Unix seconds.
fn browser_seconds() -> f64 {
    #[cfg(feature = "hydrate")]
    {
        leptos::web_sys::js_sys::Date::now() / 1000.0
    }
    #[cfg(not(feature = "hydrate"))]
    {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0.0, |d| d.as_secs_f64())
    }
}

#[cfg(test)]
mod tests {
    use super::Skew;

    /// What the panel's clock shows at each event: an answer arriving (`Some(server
    /// time)`) or a tick, at the browser time given; the clock's own arithmetic.
    fn shown_over(events: &[(f64, Option<i64>)]) -> Vec<i64> {
        let mut clock = Skew::default();
        events
            .iter()
            .map(|&(browser, answer)| {
                match answer {
                    Some(server_time) => clock.answer(server_time, browser),
                    None => clock.tick(browser),
                }
                .expect("after the first answer the clock shows a time")
            })
            .collect()
    }

    #[test]
    fn before_any_answer_the_clock_shows_nothing() {
        let mut clock = Skew::default();
        assert_eq!(clock.tick(100.0), None);
    }

    #[test]
    fn the_server_clock_never_steps_back_when_an_answer_arrives() {
        // An answer written at 100.0 arrives at once; ticks follow. The next answer was
        // written at 103.99 (whole seconds: 103) and arrives at 104.06, just after the tick
        // at 104.05 showed 104.
        let seen = shown_over(&[
            (100.0, Some(100)),
            (101.05, None),
            (102.05, None),
            (103.05, None),
            (104.05, None),
            (104.06, Some(103)),
            (105.05, None),
            (106.1, None),
        ]);
        // Rounded down and late, the new answer puts the server a second behind: the
        // clock waits for it instead of showing 103.
        assert_eq!(seen, [100, 101, 102, 103, 104, 104, 104, 105]);
    }

    #[test]
    fn the_server_clock_follows_an_answer_that_is_ahead() {
        // The browser's clock is 30 seconds behind the server's: the first answer sets it.
        let seen = shown_over(&[
            (70.0, Some(100)),
            (71.0, None),
            (72.5, Some(102)),
            (73.5, None),
        ]);
        assert_eq!(seen, [100, 101, 102, 103]);
    }
}
