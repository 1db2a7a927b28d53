//! Registration, phone verification and sign-in.

use super::{
    audit, auth,
    db::{self, users::Taken},
    internal,
    limits::{self, CodeSend},
    phone, provider_error, AppState,
};
use crate::{error::AppError, model::Via};

/// What the registration form sends.
#[derive(Debug, Clone)]
pub struct Registration {
    pub email: String,
    pub password: String,
    pub country: String,
    pub phone: String,
    pub via: String,
}

/// Normalises an email address, or says what is wrong with it.
pub fn parse_email(input: &str) -> Result<String, AppError> {
    let email = input.trim().to_lowercase();
    let bad = || {
        AppError::field(
            "email",
            "Enter a valid email address, like name@example.com.",
        )
    };
    let (local, domain) = email.split_once('@').ok_or_else(bad)?;
    let valid = !local.is_empty()
        && email.len() <= 254
        && domain.contains('.')
        && !domain.starts_with('.')
        && !domain.ends_with('.')
        && !domain.contains('@')
        && !email.chars().any(|c| c.is_whitespace() || c.is_control());
    if valid {
        Ok(email)
    } else {
        Err(bad())
    }
}

/// Checks the password rules: at least 8 characters (and not absurdly long).
pub fn check_password(password: &str) -> Result<(), AppError> {
    match password.chars().count() {
        0..=7 => Err(AppError::field(
            "password",
            "Use at least 8 characters for your password.",
        )),
        8..=1024 => Ok(()),
        _ => Err(AppError::field(
            "password",
            "That password is too long (1024 characters at most).",
        )),
    }
}

/// The form error for an email or phone that belongs to another account.
fn already_used(taken: Taken) -> AppError {
    match taken {
        Taken::Email => AppError::field(
            "email",
            "An account with this email already exists. Log in instead.",
        ),
        Taken::Phone => AppError::field(
            "phone",
            "This phone number is already used by another account.",
        ),
    }
}

/// Creates the account, sends the phone verification code and signs the person in.
/// Nothing is stored unless the code could be sent.
pub async fn register(state: &AppState, form: Registration) -> Result<(), AppError> {
    let email = parse_email(&form.email)?;
    check_password(&form.password)?;
    let phone = phone::parse(&form.country, &form.phone).ok_or_else(|| {
        AppError::field(
            "phone",
            "Enter a valid mobile number for the selected country.",
        )
    })?;
    let via =
        Via::parse(&form.via).ok_or_else(|| AppError::field("via", "Choose SMS or voice call."))?;

    if let Some(taken) = db::users::taken(&state.db, &email, &phone.e164)
        .await
        .map_err(|e| internal("check duplicates", e))?
    {
        return Err(already_used(taken));
    }

    limits::send_code(
        state,
        CodeSend {
            user_id: None,
            phone_e164: &phone.e164,
            payment_id: None,
            event: "verification_sent",
            detail: format!("registration code by {} to {}", via.as_str(), phone.e164),
        },
        state
            .authy
            .start_verification(&phone.country_code, &phone.national, via),
        |e| match e.code() {
            Some("60033") => {
                AppError::field("phone", "The phone service says this number is invalid.")
            }
            _ => provider_error("start phone verification", e),
        },
    )
    .await?;

    let password_hash = auth::hash_password(form.password).await?;
    let user_id = uuid::Uuid::new_v4().to_string();
    let inserted = db::users::insert(
        &state.db,
        &db::users::NewUser {
            id: &user_id,
            email: &email,
            password_hash: &password_hash,
            phone_e164: &phone.e164,
            country_code: &phone.country_code,
            national_number: &phone.national,
            verify_via: via.as_str(),
        },
        db::now(),
    )
    .await;
    if let Err(e) = inserted {
        // Lost a race with an identical registration: report it like the check above.
        return match db::users::taken(&state.db, &email, &phone.e164).await {
            Ok(Some(taken)) => Err(already_used(taken)),
            _ => Err(internal("insert user", e)),
        };
    }
    auth::start_session(state, &user_id).await
}

/// Sends a new phone verification code to the signed-in user.
pub async fn resend_code(state: &AppState) -> Result<(), AppError> {
    let user = auth::require_user(state).await?;
    let via = Via::parse(&user.verify_via).unwrap_or(Via::Sms);
    limits::send_code(
        state,
        CodeSend {
            user_id: Some(&user.id),
            phone_e164: &user.phone_e164,
            payment_id: None,
            event: "verification_sent",
            detail: format!("new code by {}", via.as_str()),
        },
        state
            .authy
            .start_verification(&user.country_code, &user.national_number, via),
        |e| provider_error("resend phone verification", e),
    )
    .await
}

/// Checks the phone verification code; on success registers the user with the provider.
pub async fn verify_phone(state: &AppState, code: &str) -> Result<(), AppError> {
    let user = auth::require_user(state).await?;
    if user.is_verified() {
        return Ok(());
    }
    let code = code.trim();
    if !(4..=10).contains(&code.len()) || !code.chars().all(|c| c.is_ascii_digit()) {
        return Err(AppError::field(
            "code",
            "Enter the digits of the code you received.",
        ));
    }
    let checked = state
        .authy
        .check_verification(&user.country_code, &user.national_number, code)
        .await;
    audit::log(
        state,
        Some(&user.id),
        None,
        "verification_checked",
        if checked.is_ok() {
            "accepted"
        } else {
            "rejected"
        },
        checked
            .as_ref()
            .err()
            .map(ToString::to_string)
            .unwrap_or_default(),
    )
    .await;
    checked.map_err(|e| match e.code() {
        Some("60022") => AppError::field(
            "code",
            "That code is not correct. Check the message and try again.",
        ),
        Some("60023") => AppError::field(
            "code",
            "This code has expired or was never sent. Send a new code.",
        ),
        _ => provider_error("check phone verification", e),
    })?;
    let authy_id = state
        .authy
        .register_user(&user.email, &user.national_number, &user.country_code)
        .await
        .map_err(|e| provider_error("register user with provider", e))?;
    db::users::mark_verified(&state.db, &user.id, authy_id, db::now())
        .await
        .map_err(|e| internal("mark phone verified", e))
}

/// Signs a person in. Failures are counted per email, whether or not an account has it,
/// so neither the message nor the lock tells whether the email exists.
pub async fn log_in(state: &AppState, email: &str, password: &str) -> Result<bool, AppError> {
    let email = email.trim().to_lowercase();
    if email.is_empty() || email.len() > 254 {
        return Err(AppError::BadCredentials {
            attempts_left: None,
        });
    }
    let now = db::now();
    let throttle = db::security::login_state(&state.db, &email)
        .await
        .map_err(|e| internal("read sign-in throttle", e))?;
    if let Some((_, Some(until))) = throttle {
        if until > now {
            audit::log(
                state,
                None,
                None,
                "sign_in",
                "locked",
                format!("refused for {email}"),
            )
            .await;
            return Err(AppError::AccountLocked {
                retry_after_secs: u64::try_from(until - now).unwrap_or(1),
            });
        }
    }

    let user = db::users::by_email(&state.db, &email)
        .await
        .map_err(|e| internal("find user", e))?;
    let hash = user.as_ref().map(|u| u.password_hash.clone());
    let verified = auth::verify_password(password.to_string(), hash).await?;
    let Some(user) = user.filter(|_| verified) else {
        return Err(failed_sign_in(state, &email, now).await);
    };

    db::security::clear_login_failures(&state.db, &email)
        .await
        .map_err(|e| internal("clear sign-in failures", e))?;
    auth::start_session(state, &user.id).await?;
    audit::log(state, Some(&user.id), None, "sign_in", "success", "").await;
    Ok(user.is_verified())
}

async fn failed_sign_in(state: &AppState, email: &str, now: i64) -> AppError {
    let max = state.config.login_max_failures as i64;
    let failures = match db::security::count_login_failure(&state.db, email).await {
        Ok(n) => n,
        Err(e) => return internal("count sign-in failure", e),
    };
    if failures >= max {
        let lock = state.config.login_lock_secs;
        if let Err(e) = db::security::lock_login(&state.db, email, now + lock as i64).await {
            return internal("lock sign-in", e);
        }
        audit::log(
            state,
            None,
            None,
            "sign_in",
            "locked",
            format!("{failures} failures for {email}"),
        )
        .await;
        return AppError::AccountLocked {
            retry_after_secs: lock,
        };
    }
    audit::log(
        state,
        None,
        None,
        "sign_in",
        "failure",
        format!("for {email}"),
    )
    .await;
    AppError::BadCredentials {
        attempts_left: u32::try_from(max - failures).ok(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn emails_are_normalised_and_checked() {
        assert_eq!(
            parse_email("  Ada@Example.COM ").expect("valid"),
            "ada@example.com"
        );
        for bad in [
            "",
            "ada",
            "ada@",
            "@example.com",
            "ada@example",
            "a da@example.com",
            "ada@.com",
            "a@b@c.com",
        ] {
            assert!(parse_email(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn passwords_need_eight_characters() {
        assert!(check_password("1234567").is_err());
        assert!(check_password("12345678").is_ok());
        assert!(check_password(&"x".repeat(2000)).is_err());
    }
}
