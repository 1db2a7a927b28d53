//! The payment's timeline, from its audit trail.

use leptos::prelude::*;

use crate::components::{local_time::LocalTime, timeline::timeline_sentence};
use crate::error::AppError;
use crate::model::TimelineEntry;

/// What happened to the payment, from the audit trail.
#[component]
pub fn Timeline(events: Resource<Result<Vec<TimelineEntry>, AppError>>) -> impl IntoView {
    view! {
        <section class="card narrow timeline" aria-label="Timeline">
            <h2>"Timeline"</h2>
            <Transition fallback=|| ()>
                {move || Suspend::new(async move {
                    events
                        .await
                        .map(|events| {
                            view! {
                                <ol data-testid="timeline">
                                    {events
                                        .into_iter()
                                        .map(|e| view! {
                                            <li>
                                                <LocalTime unix=e.at/>
                                                " "
                                                {timeline_sentence(&e)}
                                            </li>
                                        })
                                        .collect_view()}
                                </ol>
                            }
                        })
                        .ok()
                })}
            </Transition>
        </section>
    }
}
