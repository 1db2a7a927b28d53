//! My payments: the signed-in user's payments, newest first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::payments::list_payments;
use crate::components::{
    guard::{Guarded, Require},
    local_time::LocalTime,
    status::StatusBadge,
    timers::use_mounted,
};
use crate::model::{PaymentListItem, PaymentStatus};

/// `/payments`, `/payments?before=CURSOR` (older), `/payments?after=CURSOR` (newer)
#[component]
pub fn PaymentsPage() -> impl IntoView {
    view! {
        <Title text="My payments"/>
        <Guarded require=Require::VerifiedUser page=|_| view! { <PaymentList/> }/>
    }
}

#[component]
fn PaymentList() -> impl IntoView {
    let query = use_query_map();
    let position = move || {
        let query = query.read();
        (
            query.get("before"),
            query.get("after"),
            query.get("waiting").as_deref() == Some("1"),
        )
    };
    let waiting = move || position().2;
    let list = Resource::new(position, |(before, after, waiting)| {
        list_payments(before, after, waiting)
    });
    // Pages of the same list keep its filter.
    let page_href = move |key: &str, cursor: &str| {
        let filter = if waiting() { "&waiting=1" } else { "" };
        format!("/payments?{key}={cursor}{filter}")
    };

    view! {
        <section>
            <div class="page-head">
                <h1>"My payments"</h1>
                <A href="/payments/new" attr:class="button primary">"Send a payment"</A>
            </div>
            <nav class="filter" aria-label="Show">
                <a href="/payments" aria-current=move || (!waiting()).then_some("page")>"All payments"</a>
                <a href="/payments?waiting=1" aria-current=move || waiting().then_some("page") data-testid="filter-waiting">
                    "Waiting for you"
                </a>
            </nav>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.items.is_empty() && list.newer.is_none() => view! {
                            <p class="muted">
                                {if waiting() { "No payment is waiting for you." } else { "No payments yet." }}
                            </p>
                        }
                        .into_any(),
                        Ok(list) => {
                            let (newer, older) = (list.newer.clone(), list.older.clone());
                            // One for the page's rows, made with them (so it turns true
                            // once they are in the browser's document).
                            let mounted = use_mounted();
                            view! {
                                <div class="table-wrap">
                                    <table class="list">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Date"</th>
                                                <th scope="col">"Reference"</th>
                                                <th scope="col">"Payee"</th>
                                                <th scope="col" class="amount">"Amount"</th>
                                                <th scope="col">"Status"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{list.items.into_iter().map(|p| row(p, mounted)).collect_view()}</tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Pages">
                                    {newer.map(|c| view! {
                                        <A href=page_href("after", &c)>"← Newer"</A>
                                    })}
                                    {older.map(|c| view! {
                                        <A href=page_href("before", &c)>"Older →"</A>
                                    })}
                                </nav>
                            }
                            .into_any()
                        }
                        Err(e) => view! { <p class="notice error" role="alert">{e.to_string()}</p> }.into_any(),
                    }
                })}
            </Transition>
        </section>
    }
}

/// One payment: on a wide screen a table row, below 640 px a card (style/main.css). Payee
/// and amount lead to its page; one still waiting says so and leads to its waiting page.
/// Plain links (the router follows them in the page all the same): `<A>` resolves each
/// href against the route and watches the location, work that absolute links to other
/// pages do not need, three times a row. The rows share one `mounted` signal: on the
/// server a page of rows is rendered with no reactive node of its own.
fn row(p: PaymentListItem, mounted: ReadSignal<bool>) -> impl IntoView {
    let href = format!("/payments/{}", p.id);
    let short_id = p.id.as_str().chars().take(8).collect::<String>();
    let waiting = p.status == PaymentStatus::Pending;
    view! {
        <tr data-testid="payment-row" data-payment-id=p.id.to_string() class:waiting-row=waiting>
            <td class="when"><LocalTime unix=p.created_at mounted/></td>
            <td class="mono reference">{short_id}</td>
            <td class="payee"><a href=href.clone()>{p.payee.to_string()}</a></td>
            <td class="amount"><a href=href.clone()>{p.amount}</a></td>
            <td class="state">
                {if waiting {
                    view! {
                        <a href=href class="waiting-link" data-testid="waiting-for-you">
                            "Waiting for you"
                        </a>
                    }
                    .into_any()
                } else {
                    view! { <StatusBadge status=p.status/> }.into_any()
                }}
            </td>
        </tr>
    }
}
