//! The browser's WebAuthn API, from the Wasm client: options arrive from the server in
//! WebAuthn's JSON form, go through `PublicKeyCredential.parse…OptionsFromJSON` to
//! `navigator.credentials.create`/`get`, and the authenticator's answer goes back as the
//! JSON its `toJSON()` gives. The server build has the same functions, which say that
//! passkeys need the browser (they are only ever called from event handlers).

/// Why the browser gave no passkey answer, in words for the person.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BrowserRefusal {
    /// No WebAuthn (or no JSON form of it) in this browser.
    Unsupported,
    /// The person cancelled, the prompt timed out, or no passkey of theirs was there.
    Cancelled,
    /// Creating: this authenticator already holds a passkey for the account.
    AlreadyRegistered,
    /// The page's address cannot use passkeys (an IP address, or not `PUBLIC_URL`).
    WrongAddress,
    Other(String),
}

impl std::fmt::Display for BrowserRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            BrowserRefusal::Unsupported => f.write_str(
                "This browser cannot use passkeys. Approve on your phone or with an SMS code instead.",
            ),
            BrowserRefusal::Cancelled => f.write_str(
                "The passkey prompt was cancelled or timed out, or no passkey for this account was found. Nothing changed.",
            ),
            BrowserRefusal::AlreadyRegistered => {
                f.write_str("This device already holds a passkey for your account.")
            }
            BrowserRefusal::WrongAddress => f.write_str(
                "Passkeys work only at this site's own address; open it by its name (such as localhost), not by an IP address.",
            ),
            BrowserRefusal::Other(message) => write!(f, "The passkey could not be used: {message}"),
        }
    }
}

/// Which ceremony.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ceremony {
    /// `navigator.credentials.create`: a new passkey.
    Create,
    /// `navigator.credentials.get`: an assertion with an existing one.
    Get,
}

#[cfg(feature = "hydrate")]
mod browser {
    use super::{BrowserRefusal, Ceremony};
    use wasm_bindgen::{prelude::*, JsCast};

    #[wasm_bindgen]
    extern "C" {
        #[wasm_bindgen(catch, js_namespace = PublicKeyCredential, js_name = parseCreationOptionsFromJSON)]
        fn parse_creation_options(options: &JsValue) -> Result<JsValue, JsValue>;
        #[wasm_bindgen(catch, js_namespace = PublicKeyCredential, js_name = parseRequestOptionsFromJSON)]
        fn parse_request_options(options: &JsValue) -> Result<JsValue, JsValue>;
    }

    fn supported() -> bool {
        let global = js_sys::global();
        let Ok(class) = js_sys::Reflect::get(&global, &"PublicKeyCredential".into()) else {
            return false;
        };
        !class.is_undefined()
            && [
                "parseCreationOptionsFromJSON",
                "parseRequestOptionsFromJSON",
            ]
            .iter()
            .all(|name| {
                js_sys::Reflect::get(&class, &(*name).into()).is_ok_and(|f| f.is_function())
            })
    }

    fn refusal(error: JsValue) -> BrowserRefusal {
        let name = js_sys::Reflect::get(&error, &"name".into())
            .ok()
            .and_then(|n| n.as_string())
            .unwrap_or_default();
        match name.as_str() {
            "NotAllowedError" | "AbortError" => BrowserRefusal::Cancelled,
            "InvalidStateError" => BrowserRefusal::AlreadyRegistered,
            "SecurityError" => BrowserRefusal::WrongAddress,
            "NotSupportedError" => BrowserRefusal::Unsupported,
            _ => BrowserRefusal::Other(
                js_sys::Reflect::get(&error, &"message".into())
                    .ok()
                    .and_then(|m| m.as_string())
                    .unwrap_or(name),
            ),
        }
    }

    pub async fn run(ceremony: Ceremony, options_json: &str) -> Result<String, BrowserRefusal> {
        if !supported() {
            return Err(BrowserRefusal::Unsupported);
        }
        let options = js_sys::JSON::parse(options_json).map_err(refusal)?;
        let credentials = web_sys::window()
            .ok_or(BrowserRefusal::Unsupported)?
            .navigator()
            .credentials();
        let promise = match ceremony {
            Ceremony::Create => {
                let public_key = parse_creation_options(&options).map_err(refusal)?;
                let request = web_sys::CredentialCreationOptions::new();
                js_sys::Reflect::set(&request, &"publicKey".into(), &public_key)
                    .map_err(refusal)?;
                credentials.create_with_options(&request)
            }
            Ceremony::Get => {
                let public_key = parse_request_options(&options).map_err(refusal)?;
                let request = web_sys::CredentialRequestOptions::new();
                js_sys::Reflect::set(&request, &"publicKey".into(), &public_key)
                    .map_err(refusal)?;
                credentials.get_with_options(&request)
            }
        }
        .map_err(refusal)?;
        let credential = wasm_bindgen_futures::JsFuture::from(promise)
            .await
            .map_err(refusal)?;
        if credential.is_null() || credential.is_undefined() {
            return Err(BrowserRefusal::Cancelled);
        }
        let to_json = js_sys::Reflect::get(&credential, &"toJSON".into())
            .map_err(refusal)?
            .dyn_into::<js_sys::Function>()
            .map_err(|_| BrowserRefusal::Unsupported)?;
        let json = to_json.call0(&credential).map_err(refusal)?;
        js_sys::JSON::stringify(&json)
            .map_err(refusal)?
            .as_string()
            .ok_or(BrowserRefusal::Unsupported)
    }
}

/// Runs a WebAuthn ceremony with `options_json` from the server; the authenticator's
/// answer as JSON.
pub async fn run(ceremony: Ceremony, options_json: &str) -> Result<String, BrowserRefusal> {
    #[cfg(feature = "hydrate")]
    {
        browser::run(ceremony, options_json).await
    }
    #[cfg(not(feature = "hydrate"))]
    {
        let _ = (ceremony, options_json);
        Err(BrowserRefusal::Unsupported)
    }
}
