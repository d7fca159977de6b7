//! Generated requests against every operation of the served OpenAPI document (issue 6 item 6,
//! SECURITY.md §5): valid and invalid path and query values, bodies built from the request
//! schemas with wrong types, nulls, missing and unknown fields, huge and control-character
//! strings, and bodies that are no object at all — sent anonymously, as a normal user and as
//! a superuser. No answer may be a 5xx, and every answer must have the documented shape: the
//! success schema of its status, `HTTPValidationError` for 422, `{"detail": string}` for any
//! other error.
//!
//! The generator is a seeded xorshift, so a failure names the seed that reproduces it
//! (`GATEHOUSE_PROPERTY_SEED=<seed>` replays it); a few hundred requests per backend.

use std::{collections::BTreeSet, fmt::Write as _};

use gatehouse_tests::app::{Account, Backend, Options, TestApp};
use reqwest::{Method, RequestBuilder, StatusCode, multipart};
use serde_json::{Map, Value, json};

/// Rounds over every operation; with ~32 operations, ~300 requests per backend.
const ROUNDS: usize = 9;
const DEFAULT_SEED: u64 = 0x6a7e_c0de_5eed_0001;

/// xorshift64*: small, seeded, good enough to pick test inputs.
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_f491_4f6c_dd1d)
    }

    fn below(&mut self, n: usize) -> usize {
        (self.next() % n as u64) as usize
    }

    /// True `percent` times in a hundred.
    fn chance(&mut self, percent: u64) -> bool {
        self.next() % 100 < percent
    }

    fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Strings that have broken parsers, databases and log formats before.
const NASTY: &[&str] = &[
    "",
    " ",
    "\u{0}",
    "nul\u{0}inside",
    "\u{7}\u{1b}[31mred",
    "line\nbreak\r\n",
    "\u{202e}gnp.exe",
    "zero\u{200d}width",
    "🔑🦀",
    "' OR '1'='1",
    "'; DROP TABLE \"user\";--",
    "%00%2e%2e%2f",
    "\\u0000",
    "<script>alert(1)</script>",
    "{{7*7}}",
    "${jndi:ldap://x}",
    "a@b",
    "\"q\"@x.io",
    "Alice@Example.com",
    "-1",
    "1e3",
    "99999999999999999999",
    "00000000-0000-0000-0000-000000000000",
];

/// A JSON value of the wrong kind, whatever the field expects.
fn wrong_kind(rng: &mut Rng) -> Value {
    match rng.below(9) {
        0 => Value::Null,
        1 => json!(rng.next()),
        2 => json!(-1.5e300),
        3 => json!(true),
        4 => json!([1, "two", null]),
        5 => json!({ "nested": { "deeper": [] } }),
        6 => json!("x".repeat(300 + rng.below(5000))),
        7 => json!(*rng.pick(NASTY)),
        _ => json!(""),
    }
}

/// One operation of the document.
struct Operation {
    method: Method,
    /// The documented path, e.g. `/api/v1/users/{user_id}`.
    path: String,
    params: Vec<Value>,
    /// Request content types with their schemas.
    bodies: Vec<(String, Value)>,
    secured: bool,
    responses: Value,
}

impl Operation {
    fn name(&self) -> String {
        format!("{} {}", self.method, self.path)
    }
}

fn operations(doc: &Value) -> Vec<Operation> {
    let mut found = Vec::new();
    for (path, methods) in doc["paths"].as_object().expect("paths") {
        for (method, op) in methods.as_object().expect("operations") {
            let bodies = op["requestBody"]["content"]
                .as_object()
                .map(|content| {
                    content
                        .iter()
                        .map(|(ty, media)| (ty.clone(), media["schema"].clone()))
                        .collect()
                })
                .unwrap_or_default();
            found.push(Operation {
                method: method.to_uppercase().parse().expect("a method"),
                path: path.clone(),
                params: op["parameters"].as_array().cloned().unwrap_or_default(),
                bodies,
                secured: op.get("security").is_some(),
                responses: op["responses"].clone(),
            });
        }
    }
    found
}

/// `schema` with `$ref`s followed.
fn resolve<'a>(doc: &'a Value, schema: &'a Value) -> &'a Value {
    match schema["$ref"].as_str() {
        Some(reference) => {
            let name = reference.rsplit('/').next().expect("a schema name");
            resolve(doc, &doc["components"]["schemas"][name])
        }
        None => schema,
    }
}

/// Who sends a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Caller {
    Anonymous,
    User,
    Superuser,
}

/// A signed-in account the generator may use and must keep usable.
struct Identity {
    account: Account,
    id: String,
    access: String,
    refresh: String,
}

/// What the run knows: the document, the callers, and ids and addresses to reuse.
struct World<'a> {
    app: &'a TestApp,
    doc: Value,
    rng: Rng,
    user: Identity,
    admin: Identity,
    ids: Vec<String>,
    emails: Vec<String>,
}

impl World<'_> {
    async fn sign_in(app: &TestApp, account: Account, id: String) -> Identity {
        let tokens = app.tokens(&account.email, &account.password).await;
        Identity {
            account,
            id,
            access: tokens.access,
            refresh: tokens.refresh,
        }
    }

    /// A fresh normal user, when the generator made the last one unusable.
    async fn renew_user(&mut self) {
        let (account, id) = self.app.new_user().await;
        self.emails.push(account.email.clone());
        self.ids.push(id.clone());
        self.user = Self::sign_in(self.app, account, id).await;
    }

    /// A fresh session of the superuser, whose account the generator never changes.
    async fn renew_admin(&mut self) {
        let account = self.admin.account.clone();
        let id = self.admin.id.clone();
        self.admin = Self::sign_in(self.app, account, id).await;
    }

    fn identity(&self, caller: Caller) -> Option<&Identity> {
        match caller {
            Caller::Anonymous => None,
            Caller::User => Some(&self.user),
            Caller::Superuser => Some(&self.admin),
        }
    }

    /// A string for a field or parameter called `name` with `schema`, valid most times.
    fn string(&mut self, name: &str, schema: &Value, caller: Caller) -> Value {
        if self.rng.chance(25) {
            return json!(*self.rng.pick(NASTY));
        }
        let known_password = caller == Caller::User && self.rng.chance(40);
        match name {
            "email" | "username" | "email_to" => {
                if self.rng.chance(50) && !self.emails.is_empty() {
                    json!(self.rng.pick(&self.emails).clone())
                } else {
                    json!(format!("gen-{}@example.com", self.rng.next() % 100_000))
                }
            }
            "password" | "current_password" if known_password => {
                json!(self.user.account.password)
            }
            "refresh_token" if self.rng.chance(40) => json!(self.user.refresh),
            "grant_type" => json!("password"),
            "scope" if schema.get("enum").is_some() => {
                json!(self.rng.pick(&["local", "global", "others"]).to_owned())
            }
            _ if schema["format"] == "uuid" => {
                if self.rng.chance(60) && !self.ids.is_empty() {
                    json!(self.rng.pick(&self.ids).clone())
                } else {
                    json!(uuid::Uuid::new_v4())
                }
            }
            _ => {
                let min = schema["minLength"].as_u64().unwrap_or(0) as usize;
                let max = schema["maxLength"].as_u64().unwrap_or(64) as usize;
                let length = match self.rng.below(4) {
                    0 => min,
                    1 => max,
                    2 => max + 1,
                    _ => min + self.rng.below(max.saturating_sub(min).min(40) + 1),
                };
                let alphabet: Vec<char> = "abcXYZ019 -_.éß€😀".chars().collect();
                json!(
                    (0..length)
                        .map(|_| *self.rng.pick(&alphabet))
                        .collect::<String>()
                )
            }
        }
    }

    /// A value for `schema`: of the right kind most times, of a wrong one otherwise.
    fn value(&mut self, name: &str, schema: &Value, caller: Caller) -> Value {
        if self.rng.chance(15) {
            return wrong_kind(&mut self.rng);
        }
        if schema["nullable"] == true && self.rng.chance(10) {
            return Value::Null;
        }
        match schema["type"].as_str() {
            Some("boolean") => match self.rng.below(5) {
                0 => json!("yes"),
                1 => json!(1),
                _ => json!(self.rng.chance(50)),
            },
            Some("integer") => json!(self.rng.below(2000) as i64 - 10),
            Some("string") => self.string(name, schema, caller),
            _ => wrong_kind(&mut self.rng),
        }
    }

    /// An object for an object `schema`: each field present or not, sometimes an unknown one.
    fn object(&mut self, schema: &Value, caller: Caller) -> Map<String, Value> {
        let schema = resolve(&self.doc, schema).clone();
        let mut object = Map::new();
        for (name, field) in schema["properties"].as_object().into_iter().flatten() {
            if self.rng.chance(80) {
                let value = self.value(name, field, caller);
                object.insert(name.clone(), value);
            }
        }
        if self.rng.chance(15) {
            object.insert("is_superuser".into(), json!(true));
            object.insert("unknown_field".into(), wrong_kind(&mut self.rng));
        }
        object
    }

    /// The request for `op`, and a description of it for failure messages.
    fn request(&mut self, op: &Operation, caller: Caller) -> (RequestBuilder, String) {
        let mut url = url::Url::parse(&self.app.base).expect("base URL");
        let mut segments = Vec::new();
        let mut query = Vec::new();
        for segment in op.path.split('/').skip(1) {
            segments.push(segment.to_owned());
        }
        for param in &op.params {
            let name = param["name"].as_str().expect("a name");
            let schema = &param["schema"];
            if param["required"] != true && self.rng.chance(40) {
                continue;
            }
            let value = match self.value(name, schema, caller) {
                Value::String(s) => s,
                other if self.rng.chance(50) => other.to_string(),
                _ => String::new(),
            };
            match param["in"].as_str() {
                // An empty segment names another route (`/items/`), tried by the routing
                // tests; here the parameter is only ever wrong, never absent.
                Some("path") if value.is_empty() => {
                    let placeholder = format!("{{{name}}}");
                    for segment in &mut segments {
                        if *segment == placeholder {
                            " ".clone_into(segment);
                        }
                    }
                }
                Some("path") => {
                    let placeholder = format!("{{{name}}}");
                    for segment in &mut segments {
                        if *segment == placeholder {
                            segment.clone_from(&value);
                        }
                    }
                }
                _ => query.push((name.to_owned(), value)),
            }
        }
        url.path_segments_mut()
            .expect("a base URL")
            .clear()
            .extend(&segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(&query);
        }
        let mut description = format!("{caller:?} {} {url}", op.method);
        let mut request = self.app.client.request(op.method.clone(), url);
        if let Some(identity) = self.identity(caller) {
            request = request.bearer_auth(&identity.access);
        }
        if op.bodies.is_empty() {
            return (request, description);
        }
        if self.rng.chance(12) {
            let (content_type, body): (&str, Vec<u8>) = match self.rng.below(7) {
                0 => ("application/json", b"{\"email\":".to_vec()),
                1 => ("application/json", b"[]".to_vec()),
                2 => ("application/json", b"null".to_vec()),
                3 => ("text/plain", b"{}".to_vec()),
                4 => ("application/json", b"\xff\xfe{}".to_vec()),
                5 => ("application/json", vec![b' '; 70 * 1024]),
                _ => ("application/json", Vec::new()),
            };
            let _ = write!(
                description,
                " raw {content_type} body of {} bytes",
                body.len()
            );
            return (
                request.header("content-type", content_type).body(body),
                description,
            );
        }
        let (content_type, schema) = self.rng.pick(&op.bodies).clone();
        let object = self.object(&schema, caller);
        let _ = write!(
            description,
            " {content_type} {}",
            Value::Object(object.clone())
        );
        let fields = || {
            object.iter().map(|(k, v)| {
                (
                    k.clone(),
                    v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                )
            })
        };
        let request = match content_type.as_str() {
            "application/x-www-form-urlencoded" => request.form(&fields().collect::<Vec<_>>()),
            "multipart/form-data" => request
                .multipart(fields().fold(multipart::Form::new(), |form, (k, v)| form.text(k, v))),
            _ => request.json(&Value::Object(object)),
        };
        (request, description)
    }

    /// Remembers an id for later paths; never the superuser's own, so the generator cannot
    /// demote, deactivate, delete or re-key the one account it cannot replace.
    fn remember(&mut self, id: &str) {
        if id != self.admin.id {
            self.ids.push(id.to_owned());
        }
    }

    /// Learns from an answer: new ids and addresses, a changed address, callers to renew.
    async fn learn(&mut self, op: &Operation, caller: Caller, status: StatusCode, body: &Value) {
        if status.is_success() {
            if let Some(id) = body["id"].as_str() {
                self.remember(id);
            }
            for listed in body["data"].as_array().into_iter().flatten() {
                if let Some(id) = listed["id"].as_str() {
                    self.remember(id);
                }
            }
            if let Some(email) = body["email"].as_str() {
                self.emails.push(email.to_owned());
                let changed_own = op.path == "/api/v1/users/me" && op.method == Method::PATCH;
                match caller {
                    Caller::User if changed_own => email.clone_into(&mut self.user.account.email),
                    Caller::Superuser if changed_own => {
                        email.clone_into(&mut self.admin.account.email);
                    }
                    _ => {}
                }
            }
        }
        // Logged out, revoked by a refresh reuse, deactivated, deleted: start again.
        let unusable = matches!(
            (status.as_u16(), body["detail"].as_str()),
            (403, Some("Could not validate credentials"))
                | (404, Some("User not found"))
                | (400, Some("Inactive user"))
        );
        match caller {
            Caller::User if unusable => self.renew_user().await,
            Caller::Superuser if unusable => self.renew_admin().await,
            _ => {}
        }
    }
}

/// Why `body` (with `content_type`) is not what `op` documents for `status`, if it is not.
fn shape_error(
    doc: &Value,
    op: &Operation,
    status: StatusCode,
    content_type: &str,
    text: &str,
) -> Option<String> {
    if status.is_server_error() {
        return Some("a 5xx".into());
    }
    let documented = &op.responses[status.as_str()]["content"];
    if status.is_success() && content_type.starts_with("text/html") {
        return documented
            .as_object()
            .is_some_and(|c| c.keys().any(|k| k.starts_with("text/html")))
            .then_some(())
            .map_or(Some("undocumented HTML".into()), |()| None);
    }
    let Ok(body) = serde_json::from_str::<Value>(text) else {
        return Some(format!("not JSON ({content_type})"));
    };
    if status.is_success() {
        let schema = documented
            .as_object()
            .and_then(|c| c.values().next())
            .map(|media| &media["schema"]);
        return match schema {
            Some(schema) => conforms(doc, schema, &body, "$"),
            None => Some("an undocumented success status".into()),
        };
    }
    // Refusals of the transport (408, 413, 414, 431) are answered by every operation and
    // documented by none; every other status must be one the operation documents.
    let transport = [408, 413, 414, 431].contains(&status.as_u16());
    if !transport && op.responses.get(status.as_str()).is_none() {
        return Some(format!(
            "status {status} that the operation does not document"
        ));
    }
    if status == StatusCode::UNPROCESSABLE_ENTITY {
        return validation_error(&body);
    }
    match body.as_object() {
        Some(object) if object.len() == 1 && object["detail"].is_string() => None,
        _ => Some("an error that is not {\"detail\": string}".into()),
    }
}

/// `HTTPValidationError` as CONTRACT.md §6 writes it.
fn validation_error(body: &Value) -> Option<String> {
    let Some(errors) = body["detail"].as_array().filter(|e| !e.is_empty()) else {
        return Some("a 422 without a list of errors".into());
    };
    let allowed: BTreeSet<&str> = ["type", "loc", "msg", "input", "ctx"].into();
    for error in errors {
        let keys: Option<BTreeSet<&str>> = error
            .as_object()
            .map(|o| o.keys().map(String::as_str).collect());
        let ok = keys.is_some_and(|k| k.is_subset(&allowed))
            && error["type"].is_string()
            && error["msg"].is_string()
            && error["loc"].as_array().is_some_and(|loc| {
                loc.first()
                    .and_then(Value::as_str)
                    .is_some_and(|first| ["body", "query", "path"].contains(&first))
            });
        if !ok {
            return Some(format!("a malformed validation error {error}"));
        }
    }
    None
}

/// Whether `value` fits `schema`: types, formats, nullability, required and only documented
/// object keys; `None` when it does.
fn conforms(doc: &Value, schema: &Value, value: &Value, at: &str) -> Option<String> {
    let schema = resolve(doc, schema);
    if value.is_null() {
        return (schema["nullable"] != true && schema.get("type").is_some())
            .then(|| format!("{at}: null"));
    }
    let bad = |what: &str| Some(format!("{at}: not {what}: {value}"));
    match schema["type"].as_str() {
        Some("object") => {
            let Some(object) = value.as_object() else {
                return bad("an object");
            };
            let properties = schema["properties"].as_object();
            for required in schema["required"].as_array().into_iter().flatten() {
                let key = required.as_str().unwrap_or_default();
                if !object.contains_key(key) {
                    return Some(format!("{at}: missing {key}"));
                }
            }
            for (key, field) in object {
                match properties.and_then(|p| p.get(key)) {
                    Some(field_schema) => {
                        if let Some(e) = conforms(doc, field_schema, field, &format!("{at}.{key}"))
                        {
                            return Some(e);
                        }
                    }
                    None if properties.is_some() => {
                        return Some(format!("{at}: undocumented key {key}"));
                    }
                    None => {}
                }
            }
            None
        }
        Some("array") => {
            let Some(items) = value.as_array() else {
                return bad("an array");
            };
            items
                .iter()
                .enumerate()
                .find_map(|(i, item)| conforms(doc, &schema["items"], item, &format!("{at}[{i}]")))
        }
        Some("string") => {
            let Some(text) = value.as_str() else {
                return bad("a string");
            };
            match schema["format"].as_str() {
                Some("uuid") if uuid::Uuid::parse_str(text).is_err() => bad("a UUID"),
                Some("date-time") if !(text.contains('T') && text.ends_with('Z')) => {
                    bad("a UTC date-time")
                }
                _ => None,
            }
        }
        Some("integer") if !(value.is_i64() || value.is_u64()) => bad("an integer"),
        Some("number") if !value.is_number() => bad("a number"),
        Some("boolean") if !value.is_boolean() => bad("a boolean"),
        _ => None,
    }
}

async fn generated_requests_never_get_5xx_and_answer_in_the_documented_shapes(backend: Backend) {
    // Throttling answers are checked elsewhere; here they would only hide the routes.
    let app = TestApp::spawn_with(backend, Options::unthrottled()).await;
    let seed = std::env::var("GATEHOUSE_PROPERTY_SEED")
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or(DEFAULT_SEED);
    let doc: Value = app
        .get("/api/v1/openapi.json")
        .send()
        .await
        .expect("the document")
        .json()
        .await
        .expect("JSON");
    let ops = operations(&doc);
    assert!(ops.len() >= 30, "every operation: {}", ops.len());

    let (user_account, user_id) = app.new_user().await;
    let admin_account = app.superuser.clone();
    let admin_token = app.admin_token().await;
    let admin_me: Value = app
        .get("/api/v1/users/me")
        .bearer_auth(&admin_token)
        .send()
        .await
        .expect("me")
        .json()
        .await
        .expect("JSON");
    let admin_id = admin_me["id"].as_str().expect("id").to_owned();
    let mut world = World {
        app: &app,
        doc: doc.clone(),
        rng: Rng(seed | 1),
        emails: vec![user_account.email.clone(), admin_account.email.clone()],
        ids: vec![user_id.clone()],
        user: World::sign_in(&app, user_account, user_id).await,
        admin: World::sign_in(&app, admin_account, admin_id).await,
    };
    let item = app
        .create_item(&world.user.access, json!({ "title": "seed item" }))
        .await;
    world.remember(item["id"].as_str().expect("id"));

    let mut failures = Vec::new();
    let mut sent = 0;
    for _ in 0..ROUNDS {
        for op in &ops {
            let caller = *world.rng.pick(&[
                Caller::Anonymous,
                Caller::User,
                Caller::User,
                Caller::Superuser,
                Caller::Superuser,
            ]);
            let caller = if op.secured || world.rng.chance(50) {
                caller
            } else {
                Caller::Anonymous
            };
            let (request, description) = world.request(op, caller);
            let response = request.send().await.expect("an answer");
            sent += 1;
            let status = response.status();
            let content_type = response
                .headers()
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned();
            let text = response.text().await.unwrap_or_default();
            if let Some(problem) = shape_error(&doc, op, status, &content_type, &text) {
                failures.push(format!(
                    "{}: {problem}\n  sent: {description}\n  got: {status} {}",
                    op.name(),
                    text.chars().take(300).collect::<String>()
                ));
            }
            let body = serde_json::from_str(&text).unwrap_or(Value::Null);
            world.learn(op, caller, status, &body).await;
        }
    }
    assert!(sent >= 250, "only {sent} requests");
    assert!(
        failures.is_empty(),
        "seed {seed}: {} of {sent} answers broke the contract:\n{}",
        failures.len(),
        failures.join("\n")
    );
    app.assert_serving().await;
}

on_every_backend!(generated_requests_never_get_5xx_and_answer_in_the_documented_shapes);
