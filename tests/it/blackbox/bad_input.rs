//! The bad-input catalogue of SECURITY.md §5, rows B1, C1–C6, F1–F8 and P1–P3: each case
//! gets its documented 4xx (never a 5xx or a hang), writes nothing, and leaves the server
//! serving.

use std::time::{Duration, Instant};

use gatehouse_tests::app::{Backend, Options, TestApp, send};
use reqwest::{RequestBuilder, StatusCode};
use serde_json::{Value, json};

const SIGNUP: &str = "/api/v1/users/signup";
const LOGIN: &str = "/api/v1/login/access-token";
const TEN_MIB: usize = 10 * 1024 * 1024;

/// A fresh instance whose throttles never interfere with the many requests sent here.
async fn spawn(backend: Backend) -> TestApp {
    TestApp::spawn_with(backend, Options::unthrottled()).await
}

/// How many users exist, as the superuser's list counts them.
async fn user_count(app: &TestApp) -> u64 {
    let admin = app.admin_token().await;
    let (status, page) = send(app.get("/api/v1/users/?limit=0").bearer_auth(&admin)).await;
    assert_eq!(status, StatusCode::OK);
    page["count"].as_u64().expect("count")
}

/// Sends `request` and expects a 422 whose first error is of type `ty`; the errors.
async fn refused(request: RequestBuilder, ty: &str) -> Vec<Value> {
    let (status, body) = send(request).await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "want {ty}: {body}"
    );
    assert_eq!(body["detail"][0]["type"], ty, "{body}");
    body["detail"].as_array().unwrap().clone()
}

/// A JSON-labelled signup whose body is `bytes`.
fn signup_bytes(app: &TestApp, bytes: impl Into<Vec<u8>>) -> RequestBuilder {
    app.post(SIGNUP)
        .header("content-type", "application/json")
        .body(bytes.into())
}

/// A request head of `method path` with `headers`, ready for [`TestApp::raw`].
fn head(method: &str, path: &str, headers: &[(&str, &str)]) -> String {
    let mut text = format!("{method} {path} HTTP/1.1\r\nHost: gatehouse.test\r\n");
    for (name, value) in headers {
        text.push_str(&format!("{name}: {value}\r\n"));
    }
    text + "\r\n"
}

async fn b1_ten_mib_with_content_length_is_413_before_the_body_is_sent(backend: Backend) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let length = TEN_MIB.to_string();
    let request = head(
        "POST",
        SIGNUP,
        &[
            ("Content-Type", "application/json"),
            ("Content-Length", &length),
        ],
    );
    // Only the head is sent: an answer proves the server did not wait for the body.
    let answer = app.raw(&request, Vec::new()).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json(), json!({"detail": "Content Too Large"}));
    assert_eq!(user_count(&app).await, before);
    app.assert_serving().await;
}

async fn b1_ten_mib_chunked_is_413_and_nothing_is_stored(backend: Backend) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let chunk = |data: &[u8]| {
        let mut framed = format!("{:x}\r\n", data.len()).into_bytes();
        framed.extend_from_slice(data);
        framed.extend_from_slice(b"\r\n");
        framed
    };
    let filler = vec![b'a'; 64 * 1024];
    let mut body = vec![chunk(
        br#"{"email":"chunked@example.com","password":"password-123","full_name":""#,
    )];
    body.extend((0..TEN_MIB / filler.len()).map(|_| chunk(&filler)));
    body.push(chunk(br#""}"#));
    body.push(b"0\r\n\r\n".to_vec());
    let request = head(
        "POST",
        SIGNUP,
        &[
            ("Content-Type", "application/json"),
            ("Transfer-Encoding", "chunked"),
        ],
    );
    let answer = app.raw(&request, body).await;
    assert_eq!(answer.status, 413);
    assert_eq!(answer.json(), json!({"detail": "Content Too Large"}));
    assert_eq!(user_count(&app).await, before);
    assert_eq!(
        app.login("chunked@example.com", "password-123")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    app.assert_serving().await;
}

async fn c1_json_without_a_json_content_type_or_not_an_object_is_model_attributes_type(
    backend: Backend,
) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let text = r#"{"email":"c1@example.com","password":"password-123"}"#;
    refused(
        app.post(SIGNUP)
            .header("content-type", "text/plain")
            .body(text),
        "model_attributes_type",
    )
    .await;
    refused(app.post(SIGNUP).body(text), "model_attributes_type").await;
    for body in ["null", "[]", "\"s\"", "42"] {
        refused(signup_bytes(&app, body), "model_attributes_type").await;
    }
    assert_eq!(user_count(&app).await, before);
    app.assert_serving().await;
}

async fn c2_json_to_the_login_form_is_missing_username_and_password(backend: Backend) {
    let app = spawn(backend).await;
    let errors = refused(
        app.post(LOGIN)
            .json(&json!({"username": app.superuser.email, "password": app.superuser.password})),
        "missing",
    )
    .await;
    let locs: Vec<&Value> = errors.iter().map(|e| &e["loc"]).collect();
    assert_eq!(
        locs,
        [&json!(["body", "username"]), &json!(["body", "password"])]
    );
    app.assert_serving().await;
}

async fn c3_undecodable_json_is_json_invalid(backend: Backend) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let valid = r#"{"email":"c3@example.com","password":"password-123"}"#;
    let mut bom = b"\xEF\xBB\xBF".to_vec();
    bom.extend_from_slice(valid.as_bytes());
    let deep = format!(
        r#"{{"email":"c3@example.com","password":"password-123","full_name":{}{}}}"#,
        "[".repeat(10_000),
        "]".repeat(10_000)
    );
    let cases: [(&str, Vec<u8>); 6] = [
        (
            "truncated",
            br#"{"email":"c3@example.com","password":"pass"#.to_vec(),
        ),
        (
            "a form",
            b"email=c3%40example.com&password=password-123".to_vec(),
        ),
        (
            "invalid UTF-8",
            b"{\"email\":\"c3@example.com\",\"password\":\"pass\xff\xfeword\"}".to_vec(),
        ),
        ("a byte-order mark", bom),
        ("10 000-deep nesting", deep.into_bytes()),
        (
            "a lone surrogate",
            br#"{"email":"c3@example.com","password":"password-123","full_name":"\ud800"}"#
                .to_vec(),
        ),
    ];
    for (what, bytes) in cases {
        let errors = refused(signup_bytes(&app, bytes), "json_invalid").await;
        assert_eq!(errors[0]["msg"], "JSON decode error", "{what}");
    }
    assert_eq!(user_count(&app).await, before);
    app.assert_serving().await;
}

async fn c4_wrong_types_are_refused_and_lax_booleans_accepted(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let before = user_count(&app).await;
    refused(
        app.post(SIGNUP)
            .json(&json!({"email": 123, "password": "password-123"})),
        "string_type",
    )
    .await;
    let create = |is_active: Value| {
        app.post("/api/v1/users/").bearer_auth(&admin).json(&json!({
            "email": "c4@example.com",
            "password": "password-123",
            "is_active": is_active,
        }))
    };
    refused(create(json!("maybe")), "bool_parsing").await;
    let huge = r#"{"email":"c4@example.com","password":"password-123","is_active":99999999999999999999999}"#;
    refused(
        app.post("/api/v1/users/")
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(huge),
        "bool_parsing",
    )
    .await;
    let (status, _) = send(
        app.post("/api/v1/items/")
            .bearer_auth(&admin)
            .header("content-type", "application/json")
            .body(r#"{"title":1e400}"#),
    )
    .await;
    assert_eq!(
        status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "a number beyond f64"
    );
    assert_eq!(user_count(&app).await, before, "nothing written");
    let (status, user) = send(create(json!("yes"))).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(user["is_active"], true, "lax, per contract");
    app.assert_serving().await;
}

async fn c5_null_on_not_null_fields_is_refused_and_the_row_unchanged(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (account, id, token) = app.user_with_token().await;
    refused(
        app.patch("/api/v1/users/me")
            .bearer_auth(&token)
            .json(&json!({"email": null, "full_name": "Changed"})),
        "string_type",
    )
    .await;
    refused(
        app.patch(&format!("/api/v1/users/{id}"))
            .bearer_auth(&admin)
            .json(&json!({"is_superuser": null, "full_name": "Changed"})),
        "bool_type",
    )
    .await;
    let (_, row) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(row["email"], account.email.as_str());
    assert_eq!(
        row["full_name"],
        Value::Null,
        "the valid field was not applied either"
    );
    assert_eq!(row["is_superuser"], false);
    app.assert_serving().await;
}

async fn c6_login_without_a_password_stops_before_any_verification(backend: Backend) {
    // Default throttles: had these attempts reached the throttles or the verifier, the
    // account (5 failures) and the IP (20 attempts) would now be locked.
    let app = TestApp::spawn(backend).await;
    let email = app.superuser.email.clone();
    let work = app.work.total();
    for _ in 0..12 {
        refused(
            app.post(LOGIN).form(&[("username", email.as_str())]),
            "missing",
        )
        .await;
        refused(
            app.post(LOGIN)
                .form(&[("username", email.as_str()), ("password", "")]),
            "missing",
        )
        .await;
    }
    refused(
        app.post(LOGIN).form(&[
            ("grant_type", "client_credentials"),
            ("username", email.as_str()),
            ("password", "wrong-password"),
        ]),
        "string_pattern_mismatch",
    )
    .await;
    assert_eq!(app.work.verifications(), 0, "verifier untouched");
    assert_eq!(app.work.total(), work, "no hashing or token work either");
    assert_eq!(
        app.login(&email, &app.superuser.password).await.status(),
        StatusCode::OK
    );
}

async fn f1_nul_is_refused_in_texts_but_accepted_in_passwords(backend: Backend) {
    let app = spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let before = user_count(&app).await;
    for body in [
        json!({"email": "nul\u{0}@example.com", "password": "password-123"}),
        json!({"email": "nul@example.com", "password": "password-123", "full_name": "a\u{0}b"}),
    ] {
        refused(app.post(SIGNUP).json(&body), "value_error").await;
    }
    for body in [
        json!({"title": "a\u{0}b"}),
        json!({"title": "ok", "description": "a\u{0}b"}),
    ] {
        refused(
            app.post("/api/v1/items/").bearer_auth(&token).json(&body),
            "value_error",
        )
        .await;
    }
    assert_eq!(user_count(&app).await, before);
    let (_, items) = send(app.get("/api/v1/items/").bearer_auth(&token)).await;
    assert_eq!(items["count"], 0);

    let password = "pass\u{0}word";
    assert_eq!(
        app.signup("nul-password@example.com", password)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("nul-password@example.com", password)
            .await
            .status(),
        StatusCode::OK
    );
    assert_eq!(
        app.login("nul-password@example.com", "pass").await.status(),
        StatusCode::BAD_REQUEST,
        "never cut at the NUL"
    );
    app.assert_serving().await;
}

async fn f1_nul_and_over_long_identifiers_on_unvalidated_routes_are_not_5xx(backend: Backend) {
    // Login names and recovery addresses are not validated as emails: they reach the
    // account lookup and the per-account throttle as sent.
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let nul = "nul\u{0}@example.com";
    let long = format!("{}@example.com", "l".repeat(1_000));
    let mut answers = Vec::new();
    for username in [nul, long.as_str()] {
        let login = app
            .post(LOGIN)
            .form(&[("username", username), ("password", "password-123")]);
        answers.push(("login", send(login).await));
    }
    for email in ["nul%00@example.com", long.as_str()] {
        let recovery = app.post(&format!("/api/v1/password-recovery/{email}"));
        answers.push(("recovery", send(recovery).await));
        let preview = app
            .post(&format!("/api/v1/password-recovery-html-content/{email}"))
            .bearer_auth(&admin);
        answers.push(("preview", send(preview).await));
    }
    let login = (
        StatusCode::BAD_REQUEST,
        json!({"detail": "Incorrect email or password"}),
    );
    let recovery = (
        StatusCode::OK,
        json!({"message": "If that email is registered, we sent a password recovery link"}),
    );
    let preview = (
        StatusCode::NOT_FOUND,
        json!({"detail": "The user with this username does not exist in the system."}),
    );
    assert_eq!(
        answers,
        [
            ("login", login.clone()),
            ("login", login),
            ("recovery", recovery.clone()),
            ("preview", preview.clone()),
            ("recovery", recovery),
            ("preview", preview),
        ],
        "NUL first, then 1 000 characters"
    );
    app.assert_serving().await;
}

async fn f2_bearer_tokens_with_bytes_outside_ascii_are_refused_as_tokens(backend: Backend) {
    let app = spawn(backend).await;
    let (status, body) = send(app.get("/api/v1/users/me").header(
        "authorization",
        reqwest::header::HeaderValue::from_bytes(b"Bearer \xff\xfe").unwrap(),
    ))
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::FORBIDDEN,
            json!({"detail": "Could not validate credentials"})
        )
    );
    app.assert_serving().await;
}

async fn f2_control_and_invisible_characters_are_stored_exactly_and_escaped(backend: Backend) {
    let app = spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let name = "bell\u{7} \u{1b}[31mred\r\nline \u{202e}rtl zw\u{200d}j 👩‍👩‍👧";
    let response = app
        .patch("/api/v1/users/me")
        .bearer_auth(&token)
        .json(&json!({"full_name": name}))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let text = response.text().await.unwrap();
    assert!(text.contains(r"bell\u0007 \u001b[31mred\r\nline"), "{text}");
    assert!(
        !text.chars().any(|c| c.is_control()),
        "JSON-escaped: {text:?}"
    );
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(me["full_name"], name, "stored exactly");

    // A family emoji is 5 code points: 51 of them are 255 characters.
    let family = "👩‍👩‍👧";
    let (status, _) = send(
        app.patch("/api/v1/users/me")
            .bearer_auth(&token)
            .json(&json!({"full_name": family.repeat(51)})),
    )
    .await;
    assert_eq!(status, StatusCode::OK);
    refused(
        app.patch("/api/v1/users/me")
            .bearer_auth(&token)
            .json(&json!({"full_name": family.repeat(51) + "x"})),
        "string_too_long",
    )
    .await;
    let (_, me) = send(app.get("/api/v1/users/me").bearer_auth(&token)).await;
    assert_eq!(me["full_name"], family.repeat(51));
    app.assert_serving().await;
}

async fn f3_case_variants_are_one_account_and_lookalikes_another(backend: Backend) {
    let app = spawn(backend).await;
    assert_eq!(
        app.signup("Alice@Example.com", "password-123")
            .await
            .status(),
        StatusCode::OK
    );
    let before = user_count(&app).await;
    assert_eq!(
        app.signup("alice@example.com", "password-456")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(user_count(&app).await, before, "one account (IN-05)");
    // U+0430 CYRILLIC SMALL LETTER A.
    assert_eq!(
        app.signup("\u{430}lice@example.com", "password-456")
            .await
            .status(),
        StatusCode::OK,
        "a different address"
    );
    assert_eq!(user_count(&app).await, before + 1);
    assert_eq!(
        app.login("alice@example.com", "password-456")
            .await
            .status(),
        StatusCode::BAD_REQUEST
    );
    app.assert_serving().await;
}

async fn f4_malformed_addresses_are_value_errors(backend: Backend) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let long = format!("{}@{}.com", "a".repeat(64), "b".repeat(200));
    for email in [
        "has space@example.com",
        "no-at-sign.example.com",
        "a@b",
        "\"q\"@x.io",
        "a@[127.0.0.1]",
        "a@example.com.",
        long.as_str(),
    ] {
        let errors = refused(
            app.post(SIGNUP)
                .json(&json!({"email": email, "password": "password-123"})),
            "value_error",
        )
        .await;
        assert!(
            errors[0]["msg"]
                .as_str()
                .unwrap()
                .starts_with("value is not a valid email address: "),
            "{email}: {}",
            errors[0]
        );
    }
    assert_eq!(user_count(&app).await, before);
    app.assert_serving().await;
}

async fn f5_a_one_mib_password_is_413_and_not_hashed(backend: Backend) {
    let app = spawn(backend).await;
    let before = user_count(&app).await;
    let work = app.work.total();
    let password = "p".repeat(1024 * 1024);
    let (status, body) = send(
        app.post(SIGNUP)
            .json(&json!({"email": "huge@example.com", "password": password})),
    )
    .await;
    assert_eq!(
        (status, body),
        (
            StatusCode::PAYLOAD_TOO_LARGE,
            json!({"detail": "Content Too Large"})
        )
    );
    let (status, _) = send(app.post(LOGIN).form(&[
        ("username", app.superuser.email.as_str()),
        ("password", password.as_str()),
    ]))
    .await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(app.work.total(), work, "not hashed");
    assert_eq!(user_count(&app).await, before);
    app.assert_serving().await;
}

async fn f6_injection_strings_are_stored_literally_and_lists_never_widen(backend: Backend) {
    let app = spawn(backend).await;
    let nasty = [
        "' OR '1'='1",
        "'; DROP TABLE \"user\";--",
        "\\",
        "%",
        "_",
        "$1",
    ];
    let (_, _, victim) = app.user_with_token().await;
    app.create_item(&victim, json!({"title": "victim's"})).await;
    let (_, _, token) = app.user_with_token().await;
    for text in nasty {
        let item = app
            .create_item(&token, json!({"title": text, "description": text}))
            .await;
        assert_eq!(item["title"], text);
        assert_eq!(item["description"], text);
        let (_, me) = send(
            app.patch("/api/v1/users/me")
                .bearer_auth(&token)
                .json(&json!({"full_name": text})),
        )
        .await;
        assert_eq!(me["full_name"], text);
    }
    let (_, mine) = send(app.get("/api/v1/items/").bearer_auth(&token)).await;
    assert_eq!(mine["count"], nasty.len(), "only the caller's items");
    assert!(
        mine["data"]
            .as_array()
            .unwrap()
            .iter()
            .all(|i| i["title"] != "victim's")
    );

    for email in [
        "o'reilly@example.com",
        "a_b@example.com",
        "x%y@example.com",
        "$1@example.com",
    ] {
        assert_eq!(
            app.signup(email, "password-123").await.status(),
            StatusCode::OK,
            "{email}"
        );
    }
    for pattern in [
        "%@example.com",
        "a%@example.com",
        "a__b@example.com",
        "o'reilly@example.com' --",
    ] {
        assert_eq!(
            app.login(pattern, "password-123").await.status(),
            StatusCode::BAD_REQUEST,
            "{pattern} matches no one"
        );
    }
    assert_eq!(
        app.login("a_b@example.com", "password-123").await.status(),
        StatusCode::OK,
        "the tables are intact"
    );
    app.assert_serving().await;
}

async fn f7_sort_parameters_do_not_exist_and_are_ignored(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, plain) = send(app.get("/api/v1/users/").bearer_auth(&admin)).await;
    let started = Instant::now();
    let (status, sorted) = send(
        app.get("/api/v1/users/")
            .query(&[
                ("sort", "id;DROP TABLE x"),
                ("order_by", "(select pg_sleep(5))"),
                ("order", "hashed_password"),
            ])
            .bearer_auth(&admin),
    )
    .await;
    assert!(started.elapsed() < Duration::from_secs(2), "normal time");
    assert_eq!((status, &sorted), (StatusCode::OK, &plain));
    assert!(
        !sorted.to_string().contains("$argon2"),
        "no hash leaks (AZ-04)"
    );
    app.assert_serving().await;
}

async fn f8_markup_and_template_strings_come_back_as_json_text(backend: Backend) {
    let app = spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    for text in ["<script>alert(1)</script>", "{{7*7}}", "${jndi:ldap://x}"] {
        let response = app
            .post("/api/v1/items/")
            .bearer_auth(&token)
            .json(&json!({"title": text, "description": text}))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.headers()["x-content-type-options"], "nosniff");
        assert!(
            response.headers()["content-type"]
                .to_str()
                .unwrap()
                .starts_with("application/json")
        );
        let item: Value = response.json().await.unwrap();
        assert_eq!(item["title"], text, "stored as text, not evaluated");
        assert_eq!(item["description"], text);
    }
    app.assert_serving().await;
}

async fn p1_p2_paging_values_are_bounded_integers(backend: Backend) {
    let app = spawn(backend).await;
    let admin = app.admin_token().await;
    let (_, _, token) = app.user_with_token().await;
    app.create_item(&token, json!({"title": "one"})).await;
    for (list, bearer, count) in [("/api/v1/users/", &admin, 2), ("/api/v1/items/", &token, 1)] {
        let get = |query: &str| app.get(&format!("{list}?{query}")).bearer_auth(bearer);
        for (query, ty) in [
            ("limit=-1", "greater_than_equal"),
            ("limit=1001", "less_than_equal"),
            ("limit=abc", "int_parsing"),
            ("limit=99999999999999999999", "int_parsing"),
            ("skip=-1", "greater_than_equal"),
            ("skip=9223372036854775808", "int_parsing"),
            ("skip=1e3", "int_parsing"),
            ("skip=18446744073709551616", "int_parsing"),
        ] {
            refused(get(query), ty).await;
        }
        for query in ["limit=0", "skip=10000000", "skip=9223372036854775807"] {
            let (status, page) = send(get(query)).await;
            assert_eq!(
                (status, page),
                (StatusCode::OK, json!({"data": [], "count": count})),
                "{list}?{query}"
            );
        }
        let (status, page) = send(get("limit=1000")).await;
        assert_eq!(status, StatusCode::OK);
        assert_eq!(page["data"].as_array().unwrap().len(), count);
    }
    app.assert_serving().await;
}

async fn p3_malformed_item_ids_are_uuid_parsing_and_the_nil_uuid_unknown(backend: Backend) {
    let app = spawn(backend).await;
    let (_, _, token) = app.user_with_token().await;
    let bearer = format!("Bearer {token}");
    for id in ["abc", "-1", "%2e%2e%2f", "1%00"] {
        // Raw, so that the encoded dot segments reach the server as sent.
        let path = format!("/api/v1/items/{id}");
        let answer = app
            .raw(
                &head("GET", &path, &[("Authorization", &bearer)]),
                Vec::new(),
            )
            .await;
        assert_eq!(answer.status, 422, "{id}: {}", answer.body);
        let error = &answer.json()["detail"][0];
        assert_eq!(error["type"], "uuid_parsing", "{id}");
        assert_eq!(error["loc"], json!(["path", "id"]));
        assert!(
            error["msg"]
                .as_str()
                .unwrap()
                .starts_with("Input should be a valid UUID, "),
            "{id}: {error}"
        );
    }
    let (status, body) = send(
        app.get(&format!("/api/v1/items/{}", uuid::Uuid::nil()))
            .bearer_auth(&token),
    )
    .await;
    assert_eq!(
        (status, body),
        (StatusCode::NOT_FOUND, json!({"detail": "Item not found"}))
    );
    app.assert_serving().await;
}

on_every_backend!(
    b1_ten_mib_with_content_length_is_413_before_the_body_is_sent,
    b1_ten_mib_chunked_is_413_and_nothing_is_stored,
    c1_json_without_a_json_content_type_or_not_an_object_is_model_attributes_type,
    c2_json_to_the_login_form_is_missing_username_and_password,
    c3_undecodable_json_is_json_invalid,
    c4_wrong_types_are_refused_and_lax_booleans_accepted,
    c5_null_on_not_null_fields_is_refused_and_the_row_unchanged,
    c6_login_without_a_password_stops_before_any_verification,
    f1_nul_is_refused_in_texts_but_accepted_in_passwords,
    f1_nul_and_over_long_identifiers_on_unvalidated_routes_are_not_5xx,
    f2_bearer_tokens_with_bytes_outside_ascii_are_refused_as_tokens,
    f2_control_and_invisible_characters_are_stored_exactly_and_escaped,
    f3_case_variants_are_one_account_and_lookalikes_another,
    f4_malformed_addresses_are_value_errors,
    f5_a_one_mib_password_is_413_and_not_hashed,
    f6_injection_strings_are_stored_literally_and_lists_never_widen,
    f7_sort_parameters_do_not_exist_and_are_ignored,
    f8_markup_and_template_strings_come_back_as_json_text,
    p1_p2_paging_values_are_bounded_integers,
    p3_malformed_item_ids_are_uuid_parsing_and_the_nil_uuid_unknown,
);
