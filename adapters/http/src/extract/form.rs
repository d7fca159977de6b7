//! The login body: the OAuth2 password form (urlencoded or multipart) of route 1, and on
//! `/auth/login` also a JSON `LoginRequest` (CONTRACT.md §4.2 route 1, §10).

use poem::{Request, RequestBody, http::StatusCode, web::Multipart};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaMediaType, MetaRequest, Registry},
    types::Type,
};
use serde_json::{Value, json};

use super::body::{Body, is_json, read_body};
use crate::{
    dto::{LoginForm, LoginRequest},
    problem::ApiError,
    validation::{Errors, error, missing},
};

/// The login body; `JSON` says whether a JSON body is accepted too.
pub struct LoginBody<const JSON: bool> {
    input: LoginInput,
}

enum LoginInput {
    /// Form fields, in order (the last of a repeated name wins).
    Form(Vec<(String, String)>),
    /// A JSON body (only when accepted).
    Json(Body),
}

/// Validated credentials. `password` is used exactly as sent.
pub struct LoginCredentials {
    pub username: String,
    pub password: String,
}

const FORM: &str = "application/x-www-form-urlencoded";
const MULTIPART: &str = "multipart/form-data";

impl<const JSON: bool> LoginBody<JSON> {
    /// Checks the fields: `username` and `password` present and non-empty, `grant_type`
    /// absent, empty or `password`.
    ///
    /// # Errors
    /// `missing` per absent field (input null), `string_pattern_mismatch` for
    /// `grant_type`, `string_type` for non-string JSON values, or the JSON body errors.
    pub fn credentials(&self) -> Result<LoginCredentials, Errors> {
        let fields = match &self.input {
            LoginInput::Form(fields) => fields
                .iter()
                .rev()
                .map(|(k, v)| (k.as_str(), Value::String(v.clone())))
                .collect(),
            LoginInput::Json(body) => json_fields(body)?,
        };
        let get = |name: &str| {
            fields
                .iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| v.clone())
        };
        let mut errors = Vec::new();
        if let Some(Value::String(grant)) = get("grant_type")
            && !grant.is_empty()
            && grant != "password"
        {
            errors.push(error(
                "string_pattern_mismatch",
                &[json!("body"), json!("grant_type")],
                "String should match pattern '^password$'",
                json!(grant),
                Some(json!({ "pattern": "^password$" })),
            ));
        }
        let mut required = |name: &str| match get(name) {
            Some(Value::String(s)) if !s.is_empty() => Some(s),
            None | Some(Value::Null) | Some(Value::String(_)) => {
                errors.push(missing(&[json!("body"), json!(name)], Value::Null));
                None
            }
            Some(other) => {
                errors.push(error(
                    "string_type",
                    &[json!("body"), json!(name)],
                    "Input should be a valid string",
                    other,
                    None,
                ));
                None
            }
        };
        let username = required("username");
        let password = required("password");
        match (username, password) {
            (Some(username), Some(password)) if errors.is_empty() => {
                Ok(LoginCredentials { username, password })
            }
            _ => Err(errors),
        }
    }
}

/// The fields of a JSON login body.
fn json_fields(body: &Body) -> Result<Vec<(&str, Value)>, Errors> {
    match body {
        Body::Json(Value::Object(map)) => {
            Ok(map.iter().map(|(k, v)| (k.as_str(), v.clone())).collect())
        }
        Body::Json(other) => Err(vec![error(
            "model_attributes_type",
            &[json!("body")],
            "Input should be a valid dictionary or object to extract fields from",
            other.clone(),
            None,
        )]),
        Body::Missing | Body::NotJson(_) => Ok(Vec::new()),
    }
}

/// Reads a multipart form's text fields.
async fn multipart_fields(
    request: &Request,
    body: &mut RequestBody,
) -> poem::Result<Vec<(String, String)>> {
    // Starlette's answer to a form it cannot parse.
    let unparsable = || {
        ApiError::detail(
            StatusCode::BAD_REQUEST,
            "There was an error parsing the body",
        )
    };
    let mut multipart = <Multipart as poem::FromRequest>::from_request(request, body)
        .await
        .map_err(|_| unparsable())?;
    let mut fields = Vec::new();
    while let Some(field) = multipart.next_field().await.map_err(|_| unparsable())? {
        let name = field.name().unwrap_or_default().to_owned();
        let value = field.text().await.map_err(|_| unparsable())?;
        fields.push((name, value));
    }
    Ok(fields)
}

impl<'a, const JSON: bool> ApiExtractor<'a> for LoginBody<JSON> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::RequestObject];

    type ParamType = ();
    type ParamRawType = ();

    fn register(registry: &mut Registry) {
        LoginForm::register(registry);
        if JSON {
            LoginRequest::register(registry);
        }
    }

    fn request_meta() -> Option<MetaRequest> {
        let mut content = vec![
            MetaMediaType {
                content_type: FORM,
                schema: LoginForm::schema_ref(),
            },
            MetaMediaType {
                content_type: MULTIPART,
                schema: LoginForm::schema_ref(),
            },
        ];
        if JSON {
            content.push(MetaMediaType {
                content_type: "application/json",
                schema: LoginRequest::schema_ref(),
            });
        }
        Some(MetaRequest {
            description: None,
            content,
            required: true,
        })
    }

    async fn from_request(
        request: &'a Request,
        body: &mut RequestBody,
        _: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let essence = request
            .content_type()
            .and_then(|ct| ct.parse::<mime::Mime>().ok())
            .map(|m| m.essence_str().to_owned());
        let input = match essence.as_deref() {
            Some(FORM) => {
                let bytes = body.take()?.into_bytes().await?;
                LoginInput::Form(url::form_urlencoded::parse(&bytes).into_owned().collect())
            }
            Some(MULTIPART) => LoginInput::Form(multipart_fields(request, body).await?),
            Some(ct) if JSON && is_json(ct) => LoginInput::Json(read_body(request, body).await?),
            // FastAPI reads no form fields from any other body: both fields are missing.
            _ => LoginInput::Form(Vec::new()),
        };
        Ok(Self { input })
    }
}
