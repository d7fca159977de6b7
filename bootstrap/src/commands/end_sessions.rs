//! `gatehouse end-sessions --email E`: an operator logs an account out everywhere without
//! deactivating it.

use std::process::ExitCode;

use gatehouse_application::EndAccountSessionsError;
use gatehouse_domain::{Email, error_chain};

use crate::{cli::EndSessionsArgs, config::Settings, wiring};

/// Ends the sessions and says how many; exit 1 with a reason when it cannot.
pub async fn run(settings: Settings, args: &EndSessionsArgs) -> ExitCode {
    let email = match Email::parse(&args.email) {
        Ok(email) => email,
        Err(e) => return fail(&format!("--email is not a valid address: {}", e.reason())),
    };
    let service = match wiring::assemble(settings, false).await {
        Ok(service) => service,
        Err(e) => return fail(&error_chain(&e)),
    };
    let result = service.app.end_account_sessions(&email).await;
    service.resources.close().await;
    match result {
        Ok((user, ended)) => {
            println!("ended {ended} session(s) of {} ({})", user.email, user.id);
            ExitCode::SUCCESS
        }
        Err(EndAccountSessionsError::UnknownAccount) => fail("no account has this email address"),
        Err(e) => fail(&error_chain(&e)),
    }
}

fn fail(reason: &str) -> ExitCode {
    super::fail("end-sessions", reason)
}
