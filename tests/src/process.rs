//! The real `gatehouse` executable serving on a free port, for tests of what only a process
//! shows: signals, exit codes, the log stream. Development mode, a temp SQLite database,
//! JSON logs captured to a file.

use std::{
    fs::File,
    net::TcpListener,
    path::PathBuf,
    process::{Child, Command, ExitStatus, Stdio},
    time::{Duration, Instant},
};

/// A running `gatehouse serve`; killed if still running when dropped.
pub struct ServedBinary {
    child: Child,
    /// The port it listens on.
    pub port: u16,
    dir: PathBuf,
}

/// A port nobody listens on right now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .expect("a free local port")
}

impl ServedBinary {
    /// Starts `gatehouse serve` (development, temp SQLite, `LOG_FORMAT=json`) with `extra`
    /// variables on top, in a fresh directory, logs to `<dir>/stdout.log`.
    pub fn start(binary: &str, extra: &[(&str, &str)]) -> Self {
        Self::start_with(binary, &[], extra)
    }

    /// [`ServedBinary::start`] with `args` after `serve` (e.g. `--test-faults`).
    pub fn start_with(binary: &str, args: &[&str], extra: &[(&str, &str)]) -> Self {
        let port = free_port();
        let dir =
            std::env::temp_dir().join(format!("gatehouse-served-{}-{port}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("scratch directory");
        let log = File::create(dir.join("stdout.log")).expect("log file");
        let database = format!("sqlite://{}?mode=rwc", dir.join("gatehouse.db").display());
        let child = Command::new(binary)
            .arg("serve")
            .args(args)
            .env_clear()
            .env("ENVIRONMENT", "development")
            .env("HOST", "127.0.0.1")
            .env("PORT", port.to_string())
            .env("DATABASE_URL", database)
            .env("LOG_FORMAT", "json")
            .envs(extra.iter().copied())
            .current_dir(&dir)
            .stdout(log.try_clone().expect("log file handle"))
            .stderr(log)
            .stdin(Stdio::null())
            .spawn()
            .expect("the gatehouse binary starts");
        Self { child, port, dir }
    }

    /// `http://127.0.0.1:<port>`.
    pub fn base(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// A form login (route 1) to this server, sent through `client`.
    pub fn login(
        &self,
        client: &reqwest::Client,
        email: &str,
        password: &str,
    ) -> reqwest::RequestBuilder {
        client
            .post(format!("{}/api/v1/login/access-token", self.base()))
            .form(&[("username", email), ("password", password)])
    }

    /// Waits (up to 60 s) until `/health/ready` answers 200.
    pub async fn wait_ready(&self) {
        let deadline = Instant::now() + Duration::from_secs(60);
        let url = format!("{}/health/ready", self.base());
        while Instant::now() < deadline {
            if let Ok(r) = reqwest::get(&url).await
                && r.status() == reqwest::StatusCode::OK
            {
                return;
            }
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
        panic!("gatehouse did not become ready; log:\n{}", self.log());
    }

    /// Sends SIGTERM, as an orchestrator stopping the container would.
    pub fn terminate(&self) {
        let status = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status()
            .expect("kill runs");
        assert!(status.success(), "SIGTERM could not be sent");
    }

    /// Waits (up to 30 s) for the process to exit.
    pub fn wait_exit(&mut self) -> ExitStatus {
        let deadline = Instant::now() + Duration::from_secs(30);
        loop {
            if let Some(status) = self.child.try_wait().expect("process status") {
                return status;
            }
            assert!(
                Instant::now() < deadline,
                "gatehouse did not exit; log:\n{}",
                self.log()
            );
            std::thread::sleep(Duration::from_millis(20));
        }
    }

    /// Waits (up to 60 s) for a JSON log line that `wanted` accepts, and returns it; `what`
    /// names it in the failure.
    pub async fn wait_for_line(
        &self,
        what: &str,
        wanted: impl Fn(&serde_json::Value) -> bool,
    ) -> serde_json::Value {
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            let found = self
                .log()
                .lines()
                .filter_map(|line| serde_json::from_str(line).ok())
                .find(|line| wanted(line));
            if let Some(line) = found {
                return line;
            }
            assert!(
                Instant::now() < deadline,
                "no {what} in the log:\n{}",
                self.log()
            );
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }

    /// Everything the process wrote so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(self.dir.join("stdout.log")).unwrap_or_default()
    }
}

impl Drop for ServedBinary {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}
