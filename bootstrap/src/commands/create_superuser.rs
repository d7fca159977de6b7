//! `gatehouse create-superuser --email E`: an operator creates an active superuser; the
//! password comes from standard input, never from the command line (it would show in `ps`).

use std::{io::BufRead, process::ExitCode};

use gatehouse_application::AdminUserError;
use gatehouse_domain::{Email, Password, error_chain};

use crate::{cli::CreateSuperuserArgs, config::Settings, wiring};

/// Creates the account; exit 1 with a reason when it cannot.
pub async fn run(settings: Settings, args: &CreateSuperuserArgs) -> ExitCode {
    let email = match Email::parse(&args.email) {
        Ok(email) => email,
        Err(e) => return fail(&format!("--email is not a valid address: {}", e.reason())),
    };
    let raw = match read_password(args.password_stdin) {
        Ok(raw) => raw,
        Err(e) => return fail(&format!("cannot read the password: {e}")),
    };
    let password = match Password::new(raw) {
        Ok(password) => password,
        Err(_) => return fail("the password must have 8 to 128 characters"),
    };
    let service = match wiring::assemble(settings, false).await {
        Ok(service) => service,
        Err(e) => return fail(&error_chain(&e)),
    };
    let result = service.app.create_superuser(email, password).await;
    service.resources.close().await;
    match result {
        Ok(user) => {
            println!("created superuser {} ({})", user.email, user.id);
            ExitCode::SUCCESS
        }
        Err(AdminUserError::EmailTaken) => fail("an account with this email already exists"),
        Err(e) => fail(&error_chain(&e)),
    }
}

/// The first line of standard input (`--password-stdin`), or a prompt without echo.
fn read_password(from_stdin: bool) -> std::io::Result<String> {
    if from_stdin {
        let mut line = String::new();
        std::io::stdin().lock().read_line(&mut line)?;
        Ok(line
            .strip_suffix('\n')
            .map(|l| l.strip_suffix('\r').unwrap_or(l))
            .unwrap_or(&line)
            .to_owned())
    } else {
        rpassword::prompt_password("Password for the new superuser: ")
    }
}

fn fail(reason: &str) -> ExitCode {
    super::fail("create-superuser", reason)
}
