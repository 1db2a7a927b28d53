//! My payments: the signed-in user's payments, newest first.

use leptos::prelude::*;
use leptos_meta::Title;
use leptos_router::{components::A, hooks::use_query_map};

use crate::api::payments::list_payments;
use crate::components::{
    guard::{Guarded, Require},
    local_time::LocalTime,
    status::StatusBadge,
};
use crate::model::PaymentView;

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
        (query.get("before"), query.get("after"))
    };
    let list = Resource::new(position, |(before, after)| list_payments(before, after));

    view! {
        <section>
            <div class="page-head">
                <h1>"My payments"</h1>
                <A href="/payments/new" attr:class="button primary">"Send a payment"</A>
            </div>
            <Transition fallback=|| view! { <p class="muted">"Loading…"</p> }>
                {move || Suspend::new(async move {
                    match list.await {
                        Ok(list) if list.items.is_empty() && list.newer.is_none() => view! {
                            <p class="muted">"No payments yet."</p>
                        }
                        .into_any(),
                        Ok(list) => {
                            let (newer, older) = (list.newer.clone(), list.older.clone());
                            view! {
                                <div class="table-wrap">
                                    <table class="list">
                                        <thead>
                                            <tr>
                                                <th scope="col">"Date"</th>
                                                <th scope="col">"Payment"</th>
                                                <th scope="col">"Payee"</th>
                                                <th scope="col" class="amount">"Amount"</th>
                                                <th scope="col">"Status"</th>
                                            </tr>
                                        </thead>
                                        <tbody>{list.items.into_iter().map(row).collect_view()}</tbody>
                                    </table>
                                </div>
                                <nav class="pager" aria-label="Pages">
                                    {newer.map(|c| view! {
                                        <A href=format!("/payments?after={c}")>"← Newer"</A>
                                    })}
                                    {older.map(|c| view! {
                                        <A href=format!("/payments?before={c}")>"Older →"</A>
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

fn row(p: PaymentView) -> impl IntoView {
    let href = format!("/payments/{}", p.id);
    let short_id = p.id.as_str().chars().take(8).collect::<String>();
    view! {
        <tr data-testid="payment-row" data-payment-id=p.id.to_string()>
            <td><LocalTime unix=p.created_at/></td>
            <td class="mono"><A href=href>{short_id}</A></td>
            <td>{p.payee.to_string()}</td>
            <td class="amount">{p.amount}</td>
            <td><StatusBadge status=p.status/></td>
        </tr>
    }
}
