//! Throttling over HTTP (CONTRACT.md §9c; SECURITY.md RL-01…RL-05, D3): the per-account
//! login lock, the per-IP limits of every throttled route, which client IP counts, that a
//! locked account can still recover, and that a refused request costs no hashing or token
//! work. Counters live in the database, so two replicas share them.

use gatehouse_application::Policy;
use gatehouse_domain::throttle::ThrottleRule;
use gatehouse_tests::app::{Backend, Options, TestApp, status_json};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};
use time::Duration;

/// The 429-T body (SECURITY.md D3), the same on every throttled route.
const THROTTLED: &str = "Too many login attempts. Try again later.";
const LOGIN_FAILED: &str = "Incorrect email or password";
const WRONG_PASSWORD: &str = "wrong password 123";

/// One answer, with the `Retry-After` header when there is one.
#[derive(Debug)]
struct Answer {
    status: StatusCode,
    body: Value,
    retry_after: Option<String>,
}

impl Answer {
    async fn of(request: RequestBuilder) -> Self {
        let response = request.send().await.expect("request sent");
        let retry_after = response
            .headers()
            .get("retry-after")
            .map(|v| v.to_str().expect("ASCII Retry-After").to_owned());
        let (status, body) = status_json(response).await;
        Self {
            status,
            body,
            retry_after,
        }
    }

    /// The `Retry-After` of a 429, in seconds.
    fn retry_after_seconds(&self) -> i64 {
        self.retry_after
            .as_deref()
            .expect("Retry-After on a 429")
            .parse()
            .expect("Retry-After is whole seconds")
    }

    /// The answer is 429-T with an integer `Retry-After` in `1..=window` seconds.
    fn assert_throttled(&self, window: Duration) {
        assert_eq!(self.status, StatusCode::TOO_MANY_REQUESTS, "{self:?}");
        assert_eq!(self.body, json!({ "detail": THROTTLED }));
        let seconds = self.retry_after_seconds();
        assert!(
            (1..=window.whole_seconds()).contains(&seconds),
            "Retry-After {seconds} outside 1..={}",
            window.whole_seconds()
        );
    }

    fn assert_detail(&self, status: StatusCode, detail: &str) {
        assert_eq!(
            (self.status, &self.body),
            (status, &json!({ "detail": detail })),
            "{self:?}"
        );
        assert_eq!(self.retry_after, None, "no Retry-After outside 429");
    }
}

/// The loopback peer is our reverse proxy: `X-Forwarded-For` names the client.
fn behind_proxy(policy: Policy) -> Options {
    let mut options = Options {
        policy,
        ..Options::default()
    };
    options.http.trusted_proxies = vec![
        "127.0.0.1/32".parse().expect("network"),
        "::1/128".parse().expect("network"),
    ];
    options
}

/// The default policy with a 30 s account window, so a test can wait it out on the clock
/// without leaving the JWT leeway.
fn short_account_window() -> Policy {
    let mut policy = Policy::default();
    policy.throttle.login_account = ThrottleRule::fixed(5, Duration::seconds(30));
    policy
}

fn login_request(app: &TestApp, email: &str, password: &str) -> RequestBuilder {
    app.post("/api/v1/login/access-token")
        .form(&[("username", email), ("password", password)])
}

/// Route 1 from `client` (sent as the `X-Forwarded-For` value).
async fn login_from(app: &TestApp, client: &str, email: &str, password: &str) -> Answer {
    Answer::of(login_request(app, email, password).header("x-forwarded-for", client)).await
}

/// The statuses of five wrong logins for `email` followed by a sixth with `last_password`,
/// the n-th sent with `X-Forwarded-For: client(n)`.
async fn six_logins(
    app: &TestApp,
    email: &str,
    last_password: &str,
    client: impl Fn(usize) -> String,
) -> Vec<Answer> {
    let mut answers = Vec::new();
    for n in 1..=6 {
        let password = if n == 6 {
            last_password
        } else {
            WRONG_PASSWORD
        };
        answers.push(login_from(app, &client(n), email, password).await);
    }
    answers
}

fn statuses(answers: &[Answer]) -> Vec<u16> {
    answers.iter().map(|a| a.status.as_u16()).collect()
}

async fn five_failures_from_five_ips_lock_the_account_even_for_the_right_password(
    backend: Backend,
) {
    let app = TestApp::spawn_with(backend, behind_proxy(short_account_window())).await;
    let window = Duration::seconds(30);
    let (user, _) = app.new_user().await;

    let verifications = app.work.verifications();
    let known = six_logins(&app, &user.email, &user.password, |n| {
        format!("198.51.100.{n}")
    })
    .await;
    for answer in &known[..5] {
        answer.assert_detail(StatusCode::BAD_REQUEST, LOGIN_FAILED);
    }
    known[5].assert_throttled(window);
    assert_eq!(
        app.work.verifications() - verifications,
        5,
        "the throttled sixth attempt verified no password"
    );

    let unknown = six_logins(&app, "nobody@example.com", "whatever pass 1", |n| {
        format!("203.0.113.{n}")
    })
    .await;
    assert_eq!(statuses(&unknown), statuses(&known), "unknown emails alike");
    unknown[5].assert_throttled(window);

    app.clock.advance(window + Duration::SECOND);
    let after = login_from(&app, "198.51.100.7", &user.email, &user.password).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the lock is temporary: {after:?}"
    );
    login_from(&app, "203.0.113.7", "nobody@example.com", "whatever pass 1")
        .await
        .assert_detail(StatusCode::BAD_REQUEST, LOGIN_FAILED);
}

async fn six_wrong_logins_with_rotating_untrusted_forwarded_for_are_throttled(backend: Backend) {
    // No proxy is configured: the forwarded addresses are the client's own words.
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.new_user().await;
    let rotating = |n: usize| format!("192.0.2.{n}, 10.0.0.{n}");

    let known = six_logins(&app, &user.email, WRONG_PASSWORD, rotating).await;
    assert_eq!(statuses(&known), [400, 400, 400, 400, 400, 429]);
    known[5].assert_throttled(Duration::minutes(15));

    let unknown = six_logins(&app, "ghost@example.com", WRONG_PASSWORD, rotating).await;
    assert_eq!(statuses(&unknown), statuses(&known));
    unknown[5].assert_throttled(Duration::minutes(15));
}

async fn a_successful_login_clears_the_account_counter(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.new_user().await;
    let mut seen = Vec::new();
    for _ in 0..4 {
        seen.push(Answer::of(login_request(&app, &user.email, WRONG_PASSWORD)).await);
    }
    seen.push(Answer::of(login_request(&app, &user.email, &user.password)).await);
    for _ in 0..6 {
        seen.push(Answer::of(login_request(&app, &user.email, WRONG_PASSWORD)).await);
    }
    assert_eq!(
        statuses(&seen),
        [400, 400, 400, 400, 200, 400, 400, 400, 400, 400, 429],
        "after the success five more failures are allowed"
    );
}

/// The `Retry-After` of the 429 that five wrong logins for `email`, then one more, end in.
async fn lock_account(app: &TestApp, email: &str) -> i64 {
    let answers = six_logins(app, email, WRONG_PASSWORD, |n| format!("192.0.2.{n}")).await;
    assert_eq!(statuses(&answers), [400, 400, 400, 400, 400, 429]);
    answers[5].assert_throttled(Duration::hours(4));
    answers[5].retry_after_seconds()
}

async fn guessing_on_after_each_lock_doubles_the_next_one(backend: Backend) {
    // The shipped policy: 5 failures per 15 minutes, doubling up to four times (RL-01).
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.new_user().await;
    let mut locks = Vec::new();
    for _ in 0..6 {
        let lock = lock_account(&app, &user.email).await;
        locks.push(lock);
        app.clock.advance(Duration::seconds(lock));
    }
    assert_eq!(
        locks,
        [900, 1800, 3600, 7200, 14400, 14400],
        "15 minutes, doubling to a cap of 4 hours"
    );

    let unknown: Vec<i64> = [lock_account(&app, "ghost@example.com").await, {
        app.clock.advance(Duration::minutes(15));
        lock_account(&app, "ghost@example.com").await
    }]
    .into();
    assert_eq!(unknown, [900, 1800], "unknown emails alike");

    app.clock.advance(Duration::hours(4));
    let right = login_from(&app, "192.0.2.9", &user.email, &user.password).await;
    assert_eq!(right.status, StatusCode::OK, "{right:?}");
    assert_eq!(
        lock_account(&app, &user.email).await,
        900,
        "a success forgets the strikes"
    );
    app.clock.advance(Duration::minutes(30));
    assert_eq!(
        lock_account(&app, &user.email).await,
        900,
        "so does a quiet spell as long as the last window"
    );
}

async fn waiting_out_retry_after_is_always_enough(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let (user, _) = app.new_user().await;
    assert_eq!(lock_account(&app, &user.email).await, 900);
    app.clock.advance(Duration::milliseconds(400));

    let again = login_from(&app, "192.0.2.8", &user.email, &user.password).await;
    again.assert_throttled(Duration::minutes(15));
    let wait = again.retry_after_seconds();
    app.clock.advance(Duration::seconds(wait));
    let after = login_from(&app, "192.0.2.9", &user.email, &user.password).await;

    assert_eq!(wait, 900, "899.6 s left is sent as 900, not 899");
    assert_eq!(after.status, StatusCode::OK, "{after:?}");
}

async fn a_locked_account_can_still_recover_and_the_reset_clears_the_lock(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            mail_enabled: true,
            ..Options::default()
        },
    )
    .await;
    let (user, _) = app.new_user().await;
    let locked = six_logins(&app, &user.email, &user.password, |_| "127.0.0.1".into()).await;
    locked[5].assert_throttled(Duration::minutes(15));

    let recovery = Answer::of(app.post(&format!("/api/v1/password-recovery/{}", user.email))).await;
    assert_eq!(
        (recovery.status, recovery.body),
        (
            StatusCode::OK,
            json!({ "message": "If that email is registered, we sent a password recovery link" })
        )
    );
    let token = reset_token_mailed_to(&app, &user.email).await;
    let reset = Answer::of(app.post("/api/v1/reset-password/").json(&json!({
        "token": token,
        "new_password": "a brand new password",
    })))
    .await;
    assert_eq!(
        (reset.status, reset.body),
        (
            StatusCode::OK,
            json!({ "message": "Password updated successfully" })
        )
    );
    let after = Answer::of(login_request(&app, &user.email, "a brand new password")).await;
    assert_eq!(
        after.status,
        StatusCode::OK,
        "the reset cleared the lock: {after:?}"
    );
}

/// The token of the reset link mailed to `email`; the mail may leave off the request path,
/// so it is awaited for up to five seconds.
async fn reset_token_mailed_to(app: &TestApp, email: &str) -> String {
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(5);
    loop {
        let link = app.mailer.sent().into_iter().find_map(|mail| {
            let token = mail.html.split("reset-password?token=").nth(1)?;
            (mail.to.as_str() == email).then(|| token.split('"').next().map(str::to_owned))?
        });
        if let Some(token) = link {
            return token;
        }
        assert!(
            std::time::Instant::now() < deadline,
            "no recovery mail reached {email}"
        );
        tokio::task::yield_now().await;
    }
}

/// Sends `count` requests made by `request(n)`, all of which must pass the throttle, then
/// one more that must be refused with 429-T, and returns the work done by that last one.
async fn limit_is(
    app: &TestApp,
    count: usize,
    window: Duration,
    request: impl Fn(usize) -> RequestBuilder,
) -> u64 {
    for n in 0..count {
        let answer = Answer::of(request(n)).await;
        assert_ne!(
            answer.status,
            StatusCode::TOO_MANY_REQUESTS,
            "request {} of {count} was throttled: {answer:?}",
            n + 1
        );
    }
    let before = app.work.total();
    Answer::of(request(count)).await.assert_throttled(window);
    app.work.total() - before
}

async fn login_allows_twenty_attempts_per_ip_per_minute_across_both_login_routes(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    let email = |n: usize| format!("stuffing-{n}@example.com");
    let work = limit_is(&app, 20, Duration::minutes(1), |n| {
        let request = if n % 2 == 0 {
            login_request(&app, &email(n), WRONG_PASSWORD)
        } else {
            app.post("/api/v1/auth/login")
                .json(&json!({ "username": email(n), "password": WRONG_PASSWORD }))
        };
        request.header("x-forwarded-for", "198.51.100.20")
    })
    .await;
    assert_eq!(work, 0, "no hashing while throttled");
    Answer::of(
        app.post("/api/v1/auth/login")
            .json(&json!({ "username": email(99), "password": WRONG_PASSWORD }))
            .header("x-forwarded-for", "198.51.100.20"),
    )
    .await
    .assert_throttled(Duration::minutes(1));
    login_from(&app, "198.51.100.21", &email(100), WRONG_PASSWORD)
        .await
        .assert_detail(StatusCode::BAD_REQUEST, LOGIN_FAILED);
}

/// SECURITY.md RL-02 (issue 12 item 4): a success is no guess. Behind one proxy address
/// every user of a site logs in at cut-over; thirty correct logins in a minute all pass,
/// and failures from that address are still limited.
async fn successful_logins_do_not_consume_the_per_ip_budget(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    let (user, _) = app.new_user().await;
    for n in 0..30 {
        let answer = login_from(&app, "198.51.100.40", &user.email, &user.password).await;
        assert_eq!(answer.status, StatusCode::OK, "login {n}: {answer:?}");
    }
    let email = |n: usize| format!("guess-{n}@example.com");
    let work = limit_is(&app, 20, Duration::minutes(1), |n| {
        login_request(&app, &email(n), WRONG_PASSWORD).header("x-forwarded-for", "198.51.100.40")
    })
    .await;
    assert_eq!(work, 0, "no hashing while throttled");
}

async fn signup_allows_ten_per_ip_per_hour(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    let work = limit_is(&app, 10, Duration::hours(1), |n| {
        app.post("/api/v1/users/signup")
            .header("x-forwarded-for", "198.51.100.30")
            .json(&json!({
                "email": format!("signup-{n}@example.com"),
                "password": "correct horse battery",
            }))
    })
    .await;
    assert_eq!(work, 0, "no hashing while throttled");
    let other = Answer::of(
        app.post("/api/v1/users/signup")
            .header("x-forwarded-for", "198.51.100.31")
            .json(&json!({ "email": "signup-x@example.com", "password": "correct horse battery" })),
    )
    .await;
    assert_eq!(
        other.status,
        StatusCode::OK,
        "another IP signs up: {other:?}"
    );
}

fn recovery(app: &TestApp, client: &str, email: &str) -> RequestBuilder {
    app.post(&format!("/api/v1/password-recovery/{email}"))
        .header("x-forwarded-for", client)
}

async fn recovery_allows_ten_per_ip_and_three_per_address_per_hour(backend: Backend) {
    let app = TestApp::spawn_with(
        backend,
        Options {
            mail_enabled: true,
            ..behind_proxy(Policy::default())
        },
    )
    .await;
    let work = limit_is(&app, 10, Duration::hours(1), |n| {
        recovery(&app, "198.51.100.40", &format!("r{n}@example.com"))
    })
    .await;
    assert_eq!(work, 0, "no reset token minted while throttled");

    // Per address, from a new IP each time; a known and an unknown address alike.
    let (user, _) = app.new_user().await;
    for (first_ip, email) in [
        (100, user.email.as_str()),
        (110, "unknown-target@example.com"),
    ] {
        let work = limit_is(&app, 3, Duration::hours(1), |n| {
            recovery(&app, &format!("203.0.113.{}", first_ip + n), email)
        })
        .await;
        assert_eq!(work, 0, "no reset token minted for a throttled address");
    }
}

async fn reset_allows_twenty_invalid_tokens_per_ip_per_hour(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    let work = limit_is(&app, 20, Duration::hours(1), |n| {
        app.post("/api/v1/reset-password/")
            .header("x-forwarded-for", "198.51.100.50")
            .json(&json!({
                "token": format!("{n:0>43}"),
                "new_password": "a brand new password",
            }))
    })
    .await;
    assert_eq!(work, 0, "no digest or hashing while throttled");
}

async fn refresh_allows_thirty_invalid_tokens_per_ip_per_minute(backend: Backend) {
    let app = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    let work = limit_is(&app, 30, Duration::minutes(1), |n| {
        app.post("/api/v1/auth/refresh")
            .header("x-forwarded-for", "198.51.100.60")
            .json(&json!({ "refresh_token": format!("{n:_>43}") }))
    })
    .await;
    assert_eq!(work, 0, "no digest while throttled");
    // A valid token from another address still works.
    let (user, _) = app.new_user().await;
    let tokens = app.tokens(&user.email, &user.password).await;
    let refreshed = Answer::of(
        app.post("/api/v1/auth/refresh")
            .header("x-forwarded-for", "198.51.100.61")
            .json(&json!({ "refresh_token": tokens.refresh })),
    )
    .await;
    assert_eq!(refreshed.status, StatusCode::OK, "{refreshed:?}");
}

async fn without_a_trusted_proxy_no_forwarding_header_changes_the_client_ip(backend: Backend) {
    let app = TestApp::spawn(backend).await;
    let spoof = |n: usize| {
        let fake = format!("203.0.113.{n}");
        login_request(&app, &format!("spoof-{n}@example.com"), WRONG_PASSWORD)
            .header("x-real-ip", &fake)
            .header("x-forwarded-for", format!("{fake}, 198.51.100.{n}"))
            .header("forwarded", format!("for={fake};proto=https"))
            .header("x-client-ip", &fake)
    };
    limit_is(&app, 20, Duration::minutes(1), spoof).await;
    for n in 21..25 {
        Answer::of(spoof(n))
            .await
            .assert_throttled(Duration::minutes(1));
    }
}

async fn behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client(backend: Backend) {
    let mut options = behind_proxy(Policy::default());
    options
        .http
        .trusted_proxies
        .push("10.0.0.0/8".parse().expect("network"));
    let app = TestApp::spawn_with(backend, options).await;
    let (user, _) = app.new_user().await;

    // The left-most entries are whatever the client wrote; trusted hops are skipped.
    let forwarded = login_request(&app, &user.email, &user.password)
        .header("x-forwarded-for", "6.6.6.6, 203.0.113.9, 10.1.2.3");
    assert_eq!(session_ip(&app, forwarded).await, "203.0.113.9");
    // X-Real-IP and Forwarded are never read, even from the proxy: the peer counts.
    let other_headers = login_request(&app, &user.email, &user.password)
        .header("x-real-ip", "192.0.2.1")
        .header("forwarded", "for=192.0.2.1");
    assert_eq!(session_ip(&app, other_headers).await, "127.0.0.1");

    // A client rotating the left-most entry behind one real address is still one client.
    limit_is(&app, 20, Duration::minutes(1), |n| {
        login_request(&app, &format!("rot-{n}@example.com"), WRONG_PASSWORD)
            .header("x-forwarded-for", format!("192.0.2.{n}, 198.51.100.77"))
    })
    .await;
}

/// The `location` of the trailing-slash redirect of `GET /api/v1/users?skip=0` with these
/// forwarding headers.
async fn redirect_location(app: &TestApp, headers: &[(&str, &str)]) -> String {
    let mut request = app.get("/api/v1/users?skip=0");
    for (name, value) in headers {
        request = request.header(*name, *value);
    }
    let response = request.send().await.expect("request");
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    response.headers()["location"]
        .to_str()
        .expect("ASCII")
        .to_owned()
}

async fn redirects_use_the_forwarded_scheme_and_host_only_from_a_trusted_proxy(backend: Backend) {
    let forwarded = [
        ("x-forwarded-proto", "http, https"),
        ("x-forwarded-host", "evil.example, api.example.com"),
    ];
    let direct = TestApp::spawn(backend).await;
    assert_eq!(
        redirect_location(&direct, &forwarded).await,
        format!("http://127.0.0.1:{}/api/v1/users/?skip=0", direct.port),
        "a client's own forwarding headers are ignored"
    );
    let proxied = TestApp::spawn_with(backend, behind_proxy(Policy::default())).await;
    assert_eq!(
        redirect_location(&proxied, &forwarded).await,
        "https://api.example.com/api/v1/users/?skip=0",
        "our proxy's right-most values count"
    );
    assert_eq!(
        redirect_location(
            &proxied,
            &[
                ("x-forwarded-proto", "gopher"),
                ("x-forwarded-host", "evil.example/phish?"),
            ]
        )
        .await,
        format!("http://127.0.0.1:{}/api/v1/users/?skip=0", proxied.port),
        "values that are no scheme or host are ignored"
    );
}

/// The client IP recorded on the session a successful `login` opens.
async fn session_ip(app: &TestApp, login: RequestBuilder) -> String {
    let token = Answer::of(login).await;
    assert_eq!(token.status, StatusCode::OK, "{token:?}");
    let access = token.body["access_token"].as_str().expect("access token");
    let sessions = Answer::of(app.get("/api/v1/auth/sessions").bearer_auth(access)).await;
    assert_eq!(sessions.status, StatusCode::OK, "{sessions:?}");
    let current = sessions.body["data"]
        .as_array()
        .expect("session list")
        .iter()
        .find(|s| s["current"] == true)
        .expect("the current session");
    current["ip"].as_str().expect("an ip").to_owned()
}

on_every_backend!(
    five_failures_from_five_ips_lock_the_account_even_for_the_right_password,
    six_wrong_logins_with_rotating_untrusted_forwarded_for_are_throttled,
    a_successful_login_clears_the_account_counter,
    guessing_on_after_each_lock_doubles_the_next_one,
    waiting_out_retry_after_is_always_enough,
    a_locked_account_can_still_recover_and_the_reset_clears_the_lock,
    login_allows_twenty_attempts_per_ip_per_minute_across_both_login_routes,
    successful_logins_do_not_consume_the_per_ip_budget,
    signup_allows_ten_per_ip_per_hour,
    recovery_allows_ten_per_ip_and_three_per_address_per_hour,
    reset_allows_twenty_invalid_tokens_per_ip_per_hour,
    refresh_allows_thirty_invalid_tokens_per_ip_per_minute,
    without_a_trusted_proxy_no_forwarding_header_changes_the_client_ip,
    behind_a_trusted_proxy_the_right_most_untrusted_hop_is_the_client,
    redirects_use_the_forwarded_scheme_and_host_only_from_a_trusted_proxy,
);

/// Two replicas on one database share every counter (issue 6 acceptance): failures counted
/// on either lock the account on both.
#[tokio::test]
async fn two_replicas_on_one_database_share_the_counters() {
    let first = TestApp::spawn(Backend::Sql).await;
    let second = first.spawn_replica().await;
    let (user, _) = first.new_user().await;
    let mut seen = Vec::new();
    for n in 0..5 {
        let replica = if n % 2 == 0 { &first } else { &second };
        seen.push(login_from(replica, "127.0.0.1", &user.email, WRONG_PASSWORD).await);
    }
    assert_eq!(statuses(&seen), [400; 5]);
    for replica in [&first, &second] {
        login_from(replica, "127.0.0.1", &user.email, &user.password)
            .await
            .assert_throttled(Duration::minutes(15));
    }
}
