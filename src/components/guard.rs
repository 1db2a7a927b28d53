//! Pages that need a signed-in user send everyone else where they belong.

use leptos::prelude::*;
use leptos_router::components::Redirect;

use crate::api::accounts::current_user;
use crate::components::auth::Auth;
use crate::error::AppError;
use crate::model::SessionUser;

/// What a guarded page needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Require {
    /// Signed in with a verified phone (payment pages).
    VerifiedUser,
    /// Signed in, phone not verified yet (the verification page).
    UnverifiedUser,
}

/// Renders `page` for the right user; redirects to sign-in, verification or payments.
#[component]
pub fn Guarded<F, V>(require: Require, page: F) -> impl IntoView
where
    F: Fn(SessionUser) -> V + Clone + Send + Sync + 'static,
    V: IntoView + 'static,
{
    let auth = expect_context::<Auth>();
    // Asked again on every guarded page, so an expired session is noticed on navigation.
    let session = Resource::new(|| (), |_| current_user());
    view! {
        <Suspense fallback=|| view! { <p class="muted">"Loading…"</p> }>
            {move || {
                let page = page.clone();
                Suspend::new(async move {
                    match (session.await, require) {
                        (Ok(Some(user)), Require::VerifiedUser) if user.phone_verified => {
                            page(user).into_any()
                        }
                        (Ok(Some(user)), Require::UnverifiedUser) if !user.phone_verified => {
                            page(user).into_any()
                        }
                        (Ok(Some(_)), Require::VerifiedUser) => {
                            view! { <Redirect path="/verify"/> }.into_any()
                        }
                        (Ok(Some(_)), Require::UnverifiedUser) => {
                            view! { <Redirect path="/payments/new"/> }.into_any()
                        }
                        (Ok(None), _) => view! { <Redirect path="/login"/> }.into_any(),
                        (Err(AppError::SessionExpired), _) => {
                            auth.user.refetch();
                            view! { <Redirect path="/login?session=expired"/> }.into_any()
                        }
                        (Err(e), _) => {
                            view! { <p class="notice error">{e.to_string()}</p> }.into_any()
                        }
                    }
                })
            }}
        </Suspense>
    }
}
