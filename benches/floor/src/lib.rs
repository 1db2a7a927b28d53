//! What Send a payment's first load needs from Leptos, and nothing of Payfriend's own: a
//! hydrated page with the router (links and one route), the page title, a resource read in
//! a `Suspense` (who is signed in) and an `ActionForm` posting to a server function whose
//! answer and error come back as JSON.
//!
//! With the `islands` feature the same page is built as Leptos islands: the server renders
//! it all, and the client hydrates only the form (`hydrate_islands`), so the router, the
//! title and the resource stay on the server. `make bench` prints both floors: what the
//! page would weigh if Payfriend's pages were islands instead of one hydrated app.

use leptos::prelude::*;
use leptos_meta::{provide_meta_context, Title};
use leptos_router::{
    components::{Route, Router, Routes, A},
    path,
};
use serde::{Deserialize, Serialize};

#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct Sent {
    pub id: String,
}

#[server]
pub async fn send(payee: String, amount: String) -> Result<Sent, ServerFnError> {
    Ok(Sent {
        id: format!("{payee}{amount}"),
    })
}

#[server]
pub async fn who() -> Result<Option<String>, ServerFnError> {
    Ok(None)
}

#[component]
fn SendPage() -> impl IntoView {
    view! {
        <Title text="Send"/>
        <SendForm/>
    }
}

#[cfg_attr(feature = "islands", island)]
#[cfg_attr(not(feature = "islands"), component)]
fn SendForm() -> impl IntoView {
    let send = ServerAction::<Send>::new();
    view! {
        <ActionForm action=send>
            <input name="payee"/>
            <input name="amount"/>
            <button disabled=move || send.pending().get()>"Send"</button>
        </ActionForm>
        <p>{move || send.value().get().map(|sent| format!("{sent:?}"))}</p>
    }
}

#[component]
pub fn App() -> impl IntoView {
    provide_meta_context();
    let who = Resource::new(|| (), |_| who());
    view! {
        <Router>
            <nav>
                <A href="/">"Send"</A>
                <Suspense fallback=|| ()>
                    {move || Suspend::new(async move { who.await.ok().flatten() })}
                </Suspense>
            </nav>
            <main>
                <Routes fallback=|| "Not found">
                    <Route path=path!("/") view=SendPage/>
                </Routes>
            </main>
        </Router>
    }
}

#[cfg(feature = "hydrate")]
#[wasm_bindgen::prelude::wasm_bindgen]
pub fn hydrate() {
    #[cfg(feature = "islands")]
    leptos::mount::hydrate_islands();
    #[cfg(not(feature = "islands"))]
    leptos::mount::hydrate_body(App);
}
