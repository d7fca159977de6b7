//! `gatehouse openapi [--output FILE] [--check]`: the committed document and its drift check.
//! Reads no configuration, so CI can run it with an empty environment.

use std::{collections::BTreeSet, path::Path, process::ExitCode};

use serde_json::Value;

use crate::cli::OpenapiArgs;

/// Where the repository keeps the document.
pub const COMMITTED: &str = "openapi/openapi.json";

/// Writes or checks the document.
pub fn run(args: &OpenapiArgs) -> ExitCode {
    let document = gatehouse_http::openapi_document() + "\n";
    if args.check {
        let path = args.output.as_deref().unwrap_or(Path::new(COMMITTED));
        return check(path, &document);
    }
    match &args.output {
        Some(path) => match std::fs::write(path, &document) {
            Ok(()) => ExitCode::SUCCESS,
            Err(e) => {
                eprintln!("gatehouse openapi: cannot write {}: {e}", path.display());
                ExitCode::FAILURE
            }
        },
        None => {
            print!("{document}");
            ExitCode::SUCCESS
        }
    }
}

fn check(path: &Path, current: &str) -> ExitCode {
    let committed = match std::fs::read_to_string(path) {
        Ok(text) => text,
        Err(e) => {
            eprintln!(
                "gatehouse openapi --check: cannot read {}: {e}",
                path.display()
            );
            return ExitCode::FAILURE;
        }
    };
    if committed == current {
        println!("{} is up to date", path.display());
        return ExitCode::SUCCESS;
    }
    eprintln!(
        "{} is out of date; regenerate it with `gatehouse openapi --output {}`:",
        path.display(),
        path.display()
    );
    for line in summary(&committed, current) {
        eprintln!("  {line}");
    }
    ExitCode::FAILURE
}

/// Operations and schemas added, removed or changed, then the first differing line.
fn summary(old: &str, new: &str) -> Vec<String> {
    let parse = |text: &str| serde_json::from_str::<Value>(text).unwrap_or(Value::Null);
    let (old_doc, new_doc) = (parse(old), parse(new));
    let mut lines = Vec::new();
    for (section, pointer) in [("path", "/paths"), ("schema", "/components/schemas")] {
        let keys = |doc: &Value| -> BTreeSet<String> {
            doc.pointer(pointer)
                .and_then(Value::as_object)
                .map(|m| m.keys().cloned().collect())
                .unwrap_or_default()
        };
        let (before, after) = (keys(&old_doc), keys(&new_doc));
        lines.extend(
            after
                .difference(&before)
                .map(|k| format!("added {section} {k}")),
        );
        lines.extend(
            before
                .difference(&after)
                .map(|k| format!("removed {section} {k}")),
        );
        lines.extend(
            before
                .intersection(&after)
                .filter(|k| {
                    let at = |doc: &Value| {
                        doc.pointer(pointer)
                            .and_then(|m| m.get(k.as_str()))
                            .cloned()
                    };
                    at(&old_doc) != at(&new_doc)
                })
                .map(|k| format!("changed {section} {k}")),
        );
    }
    if let Some((n, (a, b))) = old
        .lines()
        .zip(new.lines())
        .enumerate()
        .find(|(_, (a, b))| a != b)
    {
        lines.push(format!(
            "first difference at line {}: `{}` → `{}`",
            n + 1,
            a.trim(),
            b.trim()
        ));
    } else if old.lines().count() != new.lines().count() {
        lines.push("the documents differ in length".to_owned());
    }
    lines
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn summary_names_what_changed() {
        let old = r#"{"paths":{"/a":{"get":{}},"/b":{}},"components":{"schemas":{"S":{"type":"string"}}}}"#;
        let new = r#"{"paths":{"/a":{"post":{}},"/c":{}},"components":{"schemas":{"S":{"type":"integer"}}}}"#;
        let lines = summary(old, new);
        assert!(lines.contains(&"added path /c".to_owned()));
        assert!(lines.contains(&"removed path /b".to_owned()));
        assert!(lines.contains(&"changed path /a".to_owned()));
        assert!(lines.contains(&"changed schema S".to_owned()));
    }
}
