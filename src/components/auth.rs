//! Who is signed in, as every page and the navigation see it.

use leptos::prelude::*;

use crate::api::accounts::{current_user, LogIn, LogOut, Register, VerifyPhone};
use crate::error::AppError;
use crate::model::SessionUser;

/// Who is signed in, and the actions that change it (so the user is fetched again after each).
#[derive(Clone, Copy)]
pub struct Auth {
    pub user: Resource<Result<Option<SessionUser>, AppError>>,
    pub register: ServerAction<Register>,
    pub verify: ServerAction<VerifyPhone>,
    pub log_in: ServerAction<LogIn>,
    pub log_out: ServerAction<LogOut>,
}

impl Auth {
    /// Made once, by the app, for every page and the navigation.
    pub fn provide() {
        let register = ServerAction::<Register>::new();
        let verify = ServerAction::<VerifyPhone>::new();
        let log_in = ServerAction::<LogIn>::new();
        let log_out = ServerAction::<LogOut>::new();
        let user = Resource::new(
            move || {
                (
                    register.version().get(),
                    verify.version().get(),
                    log_in.version().get(),
                    log_out.version().get(),
                )
            },
            |_| current_user(),
        );
        provide_context(Auth {
            user,
            register,
            verify,
            log_in,
            log_out,
        });
    }
}
