//! Links the pages build: query values, and the sandbox phone in development.

use leptos::prelude::*;

use crate::model::SessionUser;

/// Percent-encodes a query parameter's value (everything but unreserved characters).
pub fn encode_query_value(value: &str) -> String {
    value
        .bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'.' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// With the built-in sandbox, the phone that codes and requests go to is a page of this
/// app: a development banner says so and opens it for the person's own number.
#[component]
pub fn SandboxPhoneBanner(user: SessionUser) -> impl IntoView {
    user.sandbox.then(|| {
        let href = format!("/sandbox/phone?phone={}", encode_query_value(&user.phone));
        view! {
            <aside class="sandbox-banner" data-testid="sandbox-banner" aria-label="Development sandbox">
                <strong>"Development sandbox"</strong>
                " · No real phone is involved: codes and approval requests for "
                {user.phone.clone()}
                " arrive on the "
                <a href=href target="_blank" rel="noopener">"sandbox phone (opens in a new tab)"</a>
                "."
            </aside>
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn query_values_are_percent_encoded() {
        assert_eq!(encode_query_value("+12015550123"), "%2B12015550123");
        assert_eq!(encode_query_value("Zoë & Co"), "Zo%C3%AB%20%26%20Co");
        assert_eq!(encode_query_value("1000.00"), "1000.00");
    }
}
