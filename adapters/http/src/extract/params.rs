//! Path and query parameters, read raw (percent-decoded) and documented with the
//! contract's schema; the handler validates them so every error is reported together.

use poem::{Request, RequestBody};
use poem_openapi::{
    ApiExtractor, ApiExtractorType, ExtractParamOptions,
    registry::{MetaParamIn, MetaSchema, MetaSchemaRef},
};
use serde_json::json;

/// How one raw parameter is documented.
pub trait ParamSpec {
    /// Where it lives.
    const IN: MetaParamIn;
    /// Whether the OpenAPI document marks it required.
    const REQUIRED: bool;
    /// Its schema in the OpenAPI document.
    fn schema() -> MetaSchema;
}

/// A raw parameter: the text sent, or `None` when absent.
pub struct Raw<S> {
    pub value: Option<String>,
    spec: std::marker::PhantomData<fn() -> S>,
}

impl<S> Raw<S> {
    /// The raw text, if sent.
    pub fn get(&self) -> Option<&str> {
        self.value.as_deref()
    }
}

impl<'a, S: ParamSpec> ApiExtractor<'a> for Raw<S> {
    const TYPES: &'static [ApiExtractorType] = &[ApiExtractorType::Parameter];
    const PARAM_IS_REQUIRED: bool = S::REQUIRED;

    type ParamType = ();
    type ParamRawType = ();

    fn param_in() -> Option<MetaParamIn> {
        Some(S::IN)
    }

    fn param_schema_ref() -> Option<MetaSchemaRef> {
        Some(MetaSchemaRef::Inline(Box::new(S::schema())))
    }

    async fn from_request(
        request: &'a Request,
        _: &mut RequestBody,
        options: ExtractParamOptions<Self::ParamType>,
    ) -> poem::Result<Self> {
        let value = match S::IN {
            MetaParamIn::Path => request.raw_path_param(options.name).map(|raw| {
                percent_encoding::percent_decode_str(raw)
                    .decode_utf8_lossy()
                    .into_owned()
            }),
            // The last of repeated query parameters wins, as in Starlette.
            _ => url::form_urlencoded::parse(request.uri().query().unwrap_or_default().as_bytes())
                .filter(|(k, _)| k == options.name)
                .last()
                .map(|(_, v)| v.into_owned()),
        };
        Ok(Self {
            value,
            spec: std::marker::PhantomData,
        })
    }
}

/// A raw path parameter, spelled `Path<…Spec>` in handler signatures on purpose:
/// poem-openapi's derive recognises a path parameter only by a type segment literally named
/// `Path`, and only then reads it under the router's positional name (`param0`); under any
/// other name the value is never found and every path parameter arrives empty.
pub type Path<S> = Raw<S>;

/// Declares a [`ParamSpec`]; given a `$name` too, the [`Raw`] alias handlers spell, with the
/// spec itself hidden from the docs.
macro_rules! spec {
    ($(#[$doc:meta])* $spec:ident, $in:ident, $required:expr, $schema:expr) => {
        $(#[$doc])*
        pub struct $spec;

        impl ParamSpec for $spec {
            const IN: MetaParamIn = MetaParamIn::$in;
            const REQUIRED: bool = $required;
            fn schema() -> MetaSchema {
                $schema
            }
        }
    };
    ($(#[$doc:meta])* $name:ident, $spec:ident, $in:ident, $required:expr, $schema:expr) => {
        spec!(#[doc(hidden)] $spec, $in, $required, $schema);

        $(#[$doc])*
        pub type $name = Raw<$spec>;
    };
}

fn uuid_schema() -> MetaSchema {
    MetaSchema::new_with_format("string", "uuid")
}

fn int_schema(default: u64, maximum: Option<f64>) -> MetaSchema {
    MetaSchema {
        default: Some(json!(default)),
        minimum: Some(0.0),
        maximum,
        ..MetaSchema::new("integer")
    }
}

spec!(
    /// `user_id` in the path (routes 13–15).
    UserIdSpec, Path, true, uuid_schema()
);
spec!(
    /// `id` in the path (items, sessions).
    IdSpec, Path, true, uuid_schema()
);
spec!(
    /// `email` in the path (recovery routes): any string.
    EmailSpec, Path, true, MetaSchema::new("string")
);
spec!(
    /// `email_to` in the query (route 21).
    EmailTo, EmailToSpec, Query, true, MetaSchema::new_with_format("string", "email")
);
spec!(
    /// `skip` in the query.
    SkipQuery, SkipSpec, Query, false, int_schema(0, None)
);
spec!(
    /// `limit` in the query.
    LimitQuery, LimitSpec, Query, false, int_schema(100, Some(1000.0))
);
spec!(
    /// `scope` of `/auth/logout`.
    LogoutScopeQuery, ScopeSpec, Query, false, MetaSchema {
        enum_items: vec![json!("local"), json!("global"), json!("others")],
        default: Some(json!("local")),
        ..MetaSchema::new("string")
    }
);
