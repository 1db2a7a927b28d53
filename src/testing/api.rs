//! Calling the app as its pages do: registration, sign-in, sending a payment, and the provider's signed calls.

use crate::shared::authy_signature as signature;

use crate::api::{
    accounts::{LogIn, Register},
    payments::SendPayment,
};
use leptos::server_fn::ServerFn;

use super::*;

/// Registers through the server function, as the form does (a US number, codes by SMS).
pub async fn register(app: &TestApp, email: &str, phone: &str) -> reqwest::Response {
    register_with(app, email, "US", phone, "sms").await
}

/// Registers with the form's country and `via` (`sms` or `call`) as given.
pub async fn register_with(
    app: &TestApp,
    email: &str,
    country: &str,
    phone: &str,
    via: &str,
) -> reqwest::Response {
    app.client
        .post(app.url(Register::PATH))
        .form(&[
            ("email", email),
            ("password", "a long password"),
            ("country", country),
            ("phone", phone),
            ("via", via),
        ])
        .send()
        .await
        .expect("request")
}

/// A payment as Send a payment's form posts it.
pub struct PaymentForm<'a> {
    pub payee: &'a str,
    pub amount: &'a str,
    /// The form's idempotency key (one per form shown).
    pub key: String,
}

impl Default for PaymentForm<'_> {
    fn default() -> Self {
        PaymentForm {
            payee: "Neville",
            amount: "20",
            key: uuid::Uuid::new_v4().to_string(),
        }
    }
}

/// Posts `form` to the send-payment server function of the app at `base_url`: the one
/// way every test sends a payment (in process, or to a server binary).
pub async fn post_payment(
    client: &reqwest::Client,
    base_url: &str,
    cookie: &str,
    form: &PaymentForm<'_>,
) -> reqwest::Response {
    client
        .post(format!("{base_url}{}", SendPayment::PATH))
        .header("Cookie", cookie)
        .form(&[
            ("payee", form.payee),
            ("amount", form.amount),
            ("idempotency_key", &form.key),
        ])
        .send()
        .await
        .expect("request")
}

/// The id of the payment a send made, from its redirect to the waiting page (several made
/// in one second cannot be told apart by time).
pub fn sent_payment_id(sent: &reqwest::Response) -> String {
    sent.headers()
        .get("location")
        .and_then(|v| v.to_str().ok())
        .and_then(|l| l.strip_prefix("/payments/"))
        .expect("redirected to the payment's waiting page")
        .to_string()
}

/// Sends a payment (Neville, 20) through the server function.
pub async fn send_payment(app: &TestApp, cookie: &str) -> reqwest::Response {
    post_payment(&app.client, &app.base_url, cookie, &PaymentForm::default()).await
}

/// [`send_payment`]; the id of the payment it made.
pub async fn send_payment_id(app: &TestApp, cookie: &str) -> String {
    sent_payment_id(&send_payment(app, cookie).await)
}

/// Signs in through the server function; returns the session cookie.
pub async fn log_in(app: &TestApp, email: &str, password: &str) -> String {
    let response = app
        .client
        .post(app.url(LogIn::PATH))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("request");
    match session_cookie(&response) {
        Some(cookie) => cookie,
        None => panic!(
            "no session cookie: {} {:?}",
            response.status(),
            response.text().await
        ),
    }
}

/// What signing and sending a provider callback needs, without the app.
#[derive(Clone)]
pub struct CallbackSender {
    pub(super) client: reqwest::Client,
    pub(super) url: String,
    pub(super) key: String,
}

impl CallbackSender {
    /// `body`, signed as Authy would with `nonce`.
    pub async fn send(&self, body: &str, nonce: &str) -> reqwest::Response {
        let sig = signature::sign(&self.key, nonce, "POST", &self.url, body).expect("sign");
        self.client
            .post(&self.url)
            .header("Content-Type", "application/json")
            .header("X-Authy-Signature", sig)
            .header("X-Authy-Signature-Nonce", nonce)
            .body(body.to_string())
            .send()
            .await
            .expect("request")
    }
}

/// Sends Verify's event `params` to the app, signed with its auth token as Twilio signs
/// them, with the idempotency token `token`.
pub async fn send_verify_event(
    app: &TestApp,
    params: &[(&str, &str)],
    token: &str,
) -> reqwest::Response {
    let settings = app.state.config.verify.as_ref().expect("Verify configured");
    let owned: Vec<(String, String)> = params
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let signature = crate::shared::verify_signature::sign(
        settings.auth_token.expose(),
        settings.events_url.as_str(),
        &owned,
    );
    app.client
        .post(app.url("/payments/verify-events"))
        .header("X-Twilio-Signature", signature)
        .header("I-Twilio-Idempotency-Token", token)
        .form(&owned)
        .send()
        .await
        .expect("request")
}

pub async fn sign_in(app: &TestApp, email: &str, password: &str) -> reqwest::Response {
    app.client
        .post(app.url(LogIn::PATH))
        .form(&[("email", email), ("password", password)])
        .send()
        .await
        .expect("request")
}

pub fn retry_after(response: &reqwest::Response) -> Option<u64> {
    response
        .headers()
        .get("retry-after")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse().ok())
}
