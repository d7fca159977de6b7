//! A built front end on disk, shaped like `vite build` output (what the template's
//! `frontend/dist` holds), for the `FRONTEND_DIR` tests: an `index.html` loading a hashed script
//! and stylesheet from `/assets/`, a file copied unhashed from `public/`, plus the bait a
//! traversal would want: a secret next to (not inside) the directory, a symlink pointing at it,
//! and a dot-file inside.

use std::path::{Path, PathBuf};

/// The hashed script `index.html` loads, as Vite names it (`name-HASH.ext`).
pub const SCRIPT: &str = "/assets/index-BoGd4sM2.js";
/// The hashed stylesheet `index.html` loads.
pub const STYLESHEET: &str = "/assets/index-D-3fx_Ab.css";
/// A file Vite copies unchanged from `public/`: same name after every build.
pub const PUBLIC_IMAGE: &str = "/assets/images/fastapi-logo.svg";
/// A symlink inside the directory to the script: inside, so it is served.
pub const INNER_LINK: &str = "/assets/entry.js";
/// A symlink inside the directory to the secret outside it.
pub const OUTER_LINK: &str = "/leak.txt";
/// A hidden file inside the directory.
pub const DOT_FILE: &str = "/.env";

/// The build, removed when dropped.
pub struct ViteBuild {
    scratch: PathBuf,
    /// The directory to pass as `FRONTEND_DIR`.
    pub dist: PathBuf,
    /// Text of the file beside `dist` that must never be served.
    pub secret: String,
    pub index_html: String,
    pub script: String,
    pub stylesheet: String,
}

impl ViteBuild {
    /// Writes a fresh build under the system temp directory.
    ///
    /// # Panics
    /// When the files cannot be written.
    pub fn create() -> Self {
        let scratch =
            std::env::temp_dir().join(format!("gatehouse-vite-{}", uuid::Uuid::new_v4().simple()));
        let dist = scratch.join("dist");
        let secret = format!("TOP-SECRET-{}", uuid::Uuid::new_v4().simple());
        let index_html = format!(
            "<!doctype html>\n<html lang=\"en\">\n  <head>\n    <meta charset=\"UTF-8\" />\n    \
             <title>Full Stack FastAPI Project</title>\n    \
             <script type=\"module\" crossorigin src=\"{SCRIPT}\"></script>\n    \
             <link rel=\"stylesheet\" crossorigin href=\"{STYLESHEET}\">\n  </head>\n  \
             <body>\n    <div id=\"root\"></div>\n  </body>\n</html>\n"
        );
        let script = "const root=document.getElementById(\"root\");root.textContent=\"café\";\n";
        let stylesheet = "#root{font-family:sans-serif}\n";
        let files = [
            ("index.html", index_html.as_str()),
            (&SCRIPT[1..], script),
            (&STYLESHEET[1..], stylesheet),
            (
                &PUBLIC_IMAGE[1..],
                "<svg xmlns=\"http://www.w3.org/2000/svg\"/>",
            ),
            (&DOT_FILE[1..], secret.as_str()),
        ];
        for (name, content) in files {
            write(&dist.join(name), content);
        }
        write(&scratch.join("secret.txt"), &secret);
        symlink(&dist.join(&SCRIPT[1..]), &dist.join(&INNER_LINK[1..]));
        symlink(&scratch.join("secret.txt"), &dist.join(&OUTER_LINK[1..]));
        Self {
            scratch,
            dist,
            secret,
            index_html,
            script: script.to_owned(),
            stylesheet: stylesheet.to_owned(),
        }
    }

    /// Writes `content` to `relative` (no leading `/`) inside the build.
    ///
    /// # Panics
    /// When the file cannot be written.
    pub fn add(&self, relative: &str, content: &str) {
        write(&self.dist.join(relative), content);
    }

    /// Links `relative` inside the build to the secret beside it.
    ///
    /// # Panics
    /// When the link cannot be made.
    pub fn link_to_secret(&self, relative: &str) {
        symlink(&self.scratch.join("secret.txt"), &self.dist.join(relative));
    }
}

impl Drop for ViteBuild {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.scratch);
    }
}

fn write(path: &Path, content: &str) {
    std::fs::create_dir_all(path.parent().expect("a parent directory")).expect("directories");
    std::fs::write(path, content).expect("a build file");
}

fn symlink(target: &Path, link: &Path) {
    std::os::unix::fs::symlink(target, link).expect("a symlink");
}
