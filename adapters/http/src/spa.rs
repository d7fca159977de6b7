//! The built web front end (`FRONTEND_DIR`), served the way FastAPI's
//! `app.frontend("/", directory=…)` serves it (issue 12 item 5): only requests no route claims
//! reach it, and never one under the API, docs, health or `/.well-known/` prefixes. A file of the
//! directory is answered as it is; a browser navigation (`GET`/`HEAD` accepting HTML) to a path
//! that is no file gets `index.html`, so client-side routes survive a reload; anything else is the
//! contract's 404. Owns path resolution inside the directory and the file answers; it never
//! touches the API's routes or their answers.
//!
//! Nothing outside the directory is reachable: every segment must decode to a plain name (no
//! `..`, `.`, encoded `/`, `\`, NUL or dot-file), and the path the file system resolves it to
//! (`std::fs::canonicalize`, symlinks followed) must still lie under the canonical root.
//!
//! Compression is precompressed siblings only: `app.js.br` or `app.js.gz` next to `app.js` is sent
//! instead when the client accepts that encoding. No CPU is spent per request and no compression
//! codec is compiled in; a build step (or the reverse proxy) compresses.

use std::path::{Component, Path, PathBuf};

use percent_encoding::percent_decode_str;
use poem::{
    FromRequest, IntoResponse, Request, Response,
    error::StaticFileError,
    http::{HeaderMap, HeaderValue, Method, StatusCode, header},
    web::StaticFileRequest,
};

use crate::problem::ApiError;

/// First path segments the front end never answers, whatever the directory holds: the API, the
/// documentation pages, the probes and the JWKS document keep their own 404s, 405s and 307s.
const RESERVED: &[&str] = &["api", "docs", "redoc", "health", ".well-known"];

/// The page every client-side route is answered with.
const INDEX: &str = "index.html";

/// Vite's hashed build output: the name changes with the content, so it may be cached for good.
const IMMUTABLE: &str = "public, max-age=31536000, immutable";
/// Everything else is revalidated (by ETag or date) on every use, so a deploy shows at once.
const REVALIDATE: &str = "no-cache";

/// CSP for the front end's files: its own scripts and styles (inline styles too, which CSS-in-JS
/// libraries inject), images and fonts; API calls to this origin or any HTTPS one (a build may
/// point at an API host of its own); no plugins, no framing. The API's `default-src 'none'`
/// would stop the page from loading its own scripts.
const FRONTEND_CSP: &str = "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data: blob: https:; font-src 'self' data:; connect-src 'self' https:; object-src 'none'; base-uri 'self'; frame-ancestors 'none'";

/// Precompressed siblings, preferred first: the encoding and the file name suffix.
const PRECOMPRESSED: &[(&str, &str)] = &[("br", "br"), ("gzip", "gz")];

/// Whether `path` (the raw request path) belongs to the routes, never to the front end.
pub fn is_reserved(path: &str) -> bool {
    let first = path.trim_start_matches('/').split('/').next().unwrap_or("");
    RESERVED.contains(&first)
}

/// The front end's directory.
#[derive(Debug)]
pub struct Spa {
    /// Canonical: the prefix every served file's canonical path must start with.
    root: PathBuf,
}

/// What a request path names in the directory.
enum Lookup {
    /// A regular file under the root, by its canonical path.
    File(PathBuf),
    /// Nothing, or a directory: a navigation gets `index.html`.
    Missing,
    /// A path that tries to leave the directory or reach a hidden name: always 404.
    Refused,
}

impl Spa {
    /// Serves `dir`, which configuration has checked holds an `index.html`. Should the directory
    /// vanish before this runs, every request simply finds nothing.
    pub fn new(dir: &Path) -> Self {
        Self {
            root: std::fs::canonicalize(dir).unwrap_or_else(|_| dir.to_owned()),
        }
    }

    /// The answer to `request`, which no route claimed and whose path is not reserved. The file
    /// system calls are local metadata lookups, made inline as poem's own static file endpoint
    /// makes them; the body is streamed.
    pub async fn serve(&self, request: &Request) -> Response {
        if !matches!(*request.method(), Method::GET | Method::HEAD) {
            return not_found();
        }
        let file = match self.lookup(request.uri().path()) {
            Lookup::File(file) => file,
            Lookup::Missing if is_navigation(request.headers()) => match self.lookup(INDEX) {
                Lookup::File(index) => index,
                _ => return not_found(),
            },
            Lookup::Missing | Lookup::Refused => return not_found(),
        };
        self.respond(request, &file).await
    }

    fn lookup(&self, path: &str) -> Lookup {
        let Some(relative) = relative_path(path) else {
            return Lookup::Refused;
        };
        let relative = if relative.as_os_str().is_empty() {
            PathBuf::from(INDEX)
        } else {
            relative
        };
        match std::fs::canonicalize(self.root.join(relative)) {
            Ok(real) if !real.starts_with(&self.root) => Lookup::Refused,
            Ok(real) if real.is_file() => Lookup::File(real),
            _ => Lookup::Missing,
        }
    }

    /// A precompressed sibling of `file` the client accepts, with its encoding; under the same
    /// containment rule as the file itself.
    fn precompressed(&self, file: &Path, headers: &HeaderMap) -> Option<(PathBuf, &'static str)> {
        let name = file.file_name()?.to_str()?;
        PRECOMPRESSED
            .iter()
            .filter(|(encoding, _)| accepts_encoding(headers, encoding))
            .find_map(|(encoding, suffix)| {
                let sibling =
                    std::fs::canonicalize(file.with_file_name(format!("{name}.{suffix}")))
                        .ok()
                        .filter(|real| real.starts_with(&self.root) && real.is_file())?;
                Some((sibling, *encoding))
            })
    }

    async fn respond(&self, request: &Request, file: &Path) -> Response {
        let (body_file, encoding) = match self.precompressed(file, request.headers()) {
            Some((sibling, encoding)) => (sibling, Some(encoding)),
            None => (file.to_owned(), None),
        };
        // Reads only headers, so it cannot fail.
        let Ok(conditions) = StaticFileRequest::from_request_without_body(request).await else {
            return not_found();
        };
        let mut response = match conditions.create_response(&body_file, true, false) {
            Ok(answer) => answer.with_content_type(content_type(file)).into_response(),
            Err(StaticFileError::PreconditionFailed) => {
                ApiError::reason(StatusCode::PRECONDITION_FAILED).into_response()
            }
            Err(StaticFileError::RangeNotSatisfiable { size }) => {
                ApiError::reason(StatusCode::RANGE_NOT_SATISFIABLE)
                    .with_header("content-range", format!("bytes */{size}"))
                    .into_response()
            }
            Err(StaticFileError::Io(e)) => {
                tracing::error!(error = %e, file = %body_file.display(), "cannot read a front end file");
                ApiError::internal().into_response()
            }
            // Deleted since the lookup (a deploy in progress), or a case poem only reports for
            // its own endpoint.
            Err(_) => return not_found(),
        };
        let cache = if self.is_hashed_asset(file) {
            IMMUTABLE
        } else {
            REVALIDATE
        };
        let headers = response.headers_mut();
        headers.insert(header::CACHE_CONTROL, HeaderValue::from_static(cache));
        headers.insert(header::VARY, HeaderValue::from_static("accept-encoding"));
        headers.insert(
            header::CONTENT_SECURITY_POLICY,
            HeaderValue::from_static(FRONTEND_CSP),
        );
        if let Some(encoding) = encoding {
            headers.insert(header::CONTENT_ENCODING, HeaderValue::from_static(encoding));
        }
        response
    }

    /// Whether `file` is a build output named after its content: under `assets/`, named
    /// `name-HASH.ext` (or `name.HASH.ext`) with Vite's eight-character hash. Files copied
    /// unchanged from the project's `public/` (e.g. `assets/images/logo.svg`) keep their name
    /// across deploys and are revalidated instead.
    fn is_hashed_asset(&self, file: &Path) -> bool {
        let under_assets = file
            .strip_prefix(&self.root)
            .is_ok_and(|relative| relative.starts_with("assets"));
        let stem = file
            .file_name()
            .and_then(|name| name.to_str())
            .and_then(|name| name.split_once('.'))
            .map_or("", |(stem, _)| stem);
        under_assets && has_content_hash(stem)
    }
}

/// `stem` ends in a separator and eight characters of a base64url or hex hash.
fn has_content_hash(stem: &str) -> bool {
    const HASH: usize = 8;
    let bytes = stem.as_bytes();
    bytes.len() > HASH + 1
        && matches!(bytes[bytes.len() - HASH - 1], b'-' | b'.')
        && bytes[bytes.len() - HASH..]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_'))
}

/// The request path as names to join under the root, or `None` when a segment is anything but
/// a plain visible name once percent-decoded. Empty segments (`//`, a trailing `/`) are skipped.
fn relative_path(path: &str) -> Option<PathBuf> {
    let mut relative = PathBuf::new();
    for segment in path.split('/').filter(|s| !s.is_empty()) {
        let name = percent_decode_str(segment).decode_utf8().ok()?;
        let plain = !name.starts_with('.')
            && !name.contains(['/', '\\', '\0'])
            && matches!(
                Path::new(name.as_ref()).components().collect::<Vec<_>>()[..],
                [Component::Normal(_)]
            );
        if !plain {
            return None;
        }
        relative.push(name.as_ref());
    }
    Some(relative)
}

/// The content type for `file`'s extension (never its precompressed sibling's), text in UTF-8
/// as Vite writes it.
fn content_type(file: &Path) -> String {
    let mime = mime_guess::from_path(file).first_or_octet_stream();
    let textual = mime.type_() == mime::TEXT
        || matches!(mime.subtype().as_str(), "javascript" | "json")
        || mime.suffix() == Some(mime::JSON)
        || mime.suffix() == Some(mime::XML);
    if textual && mime.get_param(mime::CHARSET).is_none() {
        format!("{mime}; charset=utf-8")
    } else {
        mime.to_string()
    }
}

/// The media ranges or codings of every `name` header, each with whether its `q` is above 0.
fn listed(headers: &HeaderMap, name: header::HeaderName) -> impl Iterator<Item = (&str, bool)> {
    headers
        .get_all(name)
        .iter()
        .filter_map(|value| value.to_str().ok())
        .flat_map(|value| value.split(','))
        .map(|item| {
            let mut parts = item.split(';').map(str::trim);
            let token = parts.next().unwrap_or("");
            let wanted = parts
                .filter_map(|param| {
                    param
                        .strip_prefix("q=")
                        .or_else(|| param.strip_prefix("Q="))
                })
                .all(|q| q.parse::<f32>().map_or(true, |q| q > 0.0));
            (token, wanted)
        })
}

/// A browser navigation: `Accept` names HTML explicitly, as FastAPI's frontend requires (a
/// script or stylesheet fetch does not, so a missing asset stays a 404).
fn is_navigation(headers: &HeaderMap) -> bool {
    listed(headers, header::ACCEPT).any(|(range, wanted)| {
        wanted
            && (range.eq_ignore_ascii_case("text/html")
                || range.eq_ignore_ascii_case("application/xhtml+xml"))
    })
}

/// Whether `Accept-Encoding` allows `encoding`, by name or by `*`.
fn accepts_encoding(headers: &HeaderMap, encoding: &str) -> bool {
    let mut wildcard = false;
    for (coding, wanted) in listed(headers, header::ACCEPT_ENCODING) {
        if coding.eq_ignore_ascii_case(encoding) {
            return wanted;
        }
        wildcard |= coding == "*" && wanted;
    }
    wildcard
}

fn not_found() -> Response {
    ApiError::reason(StatusCode::NOT_FOUND).into_response()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn headers(pairs: &[(header::HeaderName, &str)]) -> HeaderMap {
        let mut map = HeaderMap::new();
        for (name, value) in pairs {
            map.append(name.clone(), HeaderValue::from_str(value).unwrap());
        }
        map
    }

    #[test]
    fn only_the_route_prefixes_are_reserved() {
        for path in [
            "/api",
            "/api/v1/nope",
            "/docs",
            "/docs/",
            "/redoc",
            "/health/live",
            "/.well-known/jwks.json",
        ] {
            assert!(is_reserved(path), "{path}");
        }
        for path in ["/", "/items", "/apis", "/docsite", "/assets/api/x.js"] {
            assert!(!is_reserved(path), "{path}");
        }
    }

    #[test]
    fn a_request_path_becomes_plain_names_or_nothing() {
        assert_eq!(relative_path("/"), Some(PathBuf::new()));
        assert_eq!(
            relative_path("/assets//index-AbC_12-x.js"),
            Some(PathBuf::from("assets/index-AbC_12-x.js"))
        );
        assert_eq!(
            relative_path("/caf%C3%A9.txt"),
            Some(PathBuf::from("café.txt"))
        );
        for path in [
            "/../etc/passwd",
            "/assets/../../x",
            "/%2e%2e/x",
            "/%2E%2E%2Fx",
            "/a%2Fb",
            "/a%5C..%5Cb",
            "/a\\b",
            "/x%00.html",
            "/.env",
            "/%2eenv",
            "/./index.html",
            "/%ff",
        ] {
            assert_eq!(relative_path(path), None, "{path}");
        }
    }

    #[test]
    fn only_vite_style_names_count_as_hashed() {
        for stem in ["index-BoGd4sM2", "vendor-D-3fx_Ab", "index.0a1b2c3d"] {
            assert!(has_content_hash(stem), "{stem}");
        }
        for stem in [
            "fastapi-logo",
            "favicon",
            "index",
            "-AbCdEfGh",
            "a-AbC/EfGh",
        ] {
            assert!(!has_content_hash(stem), "{stem}");
        }
    }

    #[test]
    fn content_types_come_from_the_extension_with_utf8_for_text() {
        for (name, expected) in [
            ("index.html", "text/html; charset=utf-8"),
            ("index-BoGd4sM2.js", "text/javascript; charset=utf-8"),
            ("index-BoGd4sM2.css", "text/css; charset=utf-8"),
            ("manifest.json", "application/json; charset=utf-8"),
            ("logo.svg", "image/svg+xml; charset=utf-8"),
            ("font.woff2", "font/woff2"),
            ("picture.png", "image/png"),
            ("blob.unknownext", "application/octet-stream"),
        ] {
            assert_eq!(content_type(Path::new(name)), expected, "{name}");
        }
    }

    #[test]
    fn navigations_name_html_explicitly() {
        let browser = "text/html,application/xhtml+xml,application/xml;q=0.9,*/*;q=0.8";
        assert!(is_navigation(&headers(&[(header::ACCEPT, browser)])));
        assert!(is_navigation(&headers(&[(
            header::ACCEPT,
            "application/xhtml+xml"
        )])));
        for accept in [
            "*/*",
            "text/css,*/*;q=0.1",
            "application/json",
            "text/html;q=0",
        ] {
            assert!(
                !is_navigation(&headers(&[(header::ACCEPT, accept)])),
                "{accept}"
            );
        }
        assert!(!is_navigation(&HeaderMap::new()));
    }

    #[test]
    fn accepted_encodings_honour_q_and_the_wildcard() {
        let accept = |value: &str, encoding: &str| {
            accepts_encoding(&headers(&[(header::ACCEPT_ENCODING, value)]), encoding)
        };
        assert!(accept("gzip, deflate, br", "br"));
        assert!(accept("gzip, deflate, br", "gzip"));
        assert!(!accept("gzip;q=0, br", "gzip"));
        assert!(accept("*", "br"));
        assert!(!accept("*, br;q=0", "br"));
        assert!(!accept("identity", "gzip"));
        assert!(!accepts_encoding(&HeaderMap::new(), "gzip"));
    }
}
