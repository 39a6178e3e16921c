//! The HTTP side of the remote cache: `GET`, `HEAD` and `PUT` on `/ac/<key>` and
//! `/cas/<sha256>`, with bounded timeouts and the configured authentication.

use std::io::{self, Read};
use std::time::Duration;

use ureq::http::{Method, Request, StatusCode};

/// A connection to one cache server.
pub(super) struct Client {
    agent: ureq::Agent,
    /// The server's address, without a trailing slash.
    base: String,
    /// A header sent with every request: `Authorization: Bearer …`, or one of the user's.
    header: Option<(String, String)>,
}

/// Why a request did not give what was asked.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server could not be reached, or did not answer in time: asking again in this run
    /// would only wait as long again.
    Unreachable(String),
    /// The server answered with an error.
    Refused(String),
}

impl std::fmt::Display for Failure {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            Failure::Unreachable(why) | Failure::Refused(why) => f.write_str(why),
        }
    }
}

impl Client {
    /// A client of the server at `base` (`http://host:port/prefix`).
    pub(super) fn new(base: &str, header: Option<(String, String)>, timeout: Duration) -> Self {
        let config = ureq::Agent::config_builder()
            .timeout_connect(Some(timeout.min(Duration::from_secs(5))))
            .timeout_global(Some(timeout))
            .http_status_as_error(false)
            .allow_non_standard_methods(true)
            // A redirect elsewhere would carry the credentials header along.
            .max_redirects(0)
            .user_agent(concat!("cargo-flow/", env!("CARGO_PKG_VERSION")))
            .build();
        let base = base.trim_end_matches('/').to_string();
        Client {
            agent: config.into(),
            base,
            header,
        }
    }

    fn url(&self, path: &str) -> String {
        format!("{}/{path}", self.base)
    }

    fn request(&self, method: Method, path: &str) -> ureq::http::request::Builder {
        let mut builder = Request::builder().method(method).uri(self.url(path));
        if let Some((name, value)) = &self.header {
            builder = builder.header(name.as_str(), value.as_str());
        }
        builder
    }

    /// The body at `path`, when the server has it; at most `limit` bytes.
    pub(super) fn get(&self, path: &str, limit: u64) -> Result<Option<Vec<u8>>, Failure> {
        let request = self.request(Method::GET, path).body(()).map_err(refused)?;
        let response = self.agent.run(request).map_err(|e| self.failed(e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(None),
            s if s.is_success() => response
                .into_body()
                .with_config()
                .limit(limit)
                .read_to_vec()
                .map(Some)
                .map_err(|e| self.failed(e)),
            s => Err(self.status(s, path)),
        }
    }

    /// Reads the body at `path` into `sink`, stopping after `size` bytes; whether the server
    /// had it.
    pub(super) fn get_into(
        &self,
        path: &str,
        size: u64,
        sink: &mut dyn io::Write,
    ) -> Result<bool, Failure> {
        let request = self.request(Method::GET, path).body(()).map_err(refused)?;
        let response = self.agent.run(request).map_err(|e| self.failed(e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => {
                // One byte more than promised shows a blob that is longer than its digest says.
                let mut body = response.into_body();
                let mut reader = body.with_config().limit(size + 1).reader().take(size + 1);
                io::copy(&mut reader, sink)
                    .map(|_| true)
                    .map_err(|e| Failure::Unreachable(format!("{}: {e}", self.base)))
            }
            s => Err(self.status(s, path)),
        }
    }

    /// Whether the server has something at `path`.
    pub(super) fn has(&self, path: &str) -> Result<bool, Failure> {
        let request = self.request(Method::HEAD, path).body(()).map_err(refused)?;
        let response = self.agent.run(request).map_err(|e| self.failed(e))?;
        match response.status() {
            StatusCode::NOT_FOUND => Ok(false),
            s if s.is_success() => Ok(true),
            s => Err(self.status(s, path)),
        }
    }

    /// Stores `body` at `path`. A plain WebDAV server that has no folder for it yet (409)
    /// is asked to make one, once.
    pub(super) fn put(&self, path: &str, body: &[u8]) -> Result<(), Failure> {
        let status = self.put_once(path, body)?;
        let status = match status {
            StatusCode::CONFLICT | StatusCode::NOT_FOUND if path.contains('/') => {
                self.make_folders(path)?;
                self.put_once(path, body)?
            }
            s => s,
        };
        match status {
            s if s.is_success() => Ok(()),
            s => Err(self.status(s, path)),
        }
    }

    fn put_once(&self, path: &str, body: &[u8]) -> Result<StatusCode, Failure> {
        let request = self
            .request(Method::PUT, path)
            .header("Content-Type", "application/octet-stream")
            .body(body)
            .map_err(refused)?;
        let response = self.agent.run(request).map_err(|e| self.failed(e))?;
        Ok(response.status())
    }

    /// `MKCOL` for each folder on the way to `path` (`ac/`, `cas/`); one that exists is fine.
    fn make_folders(&self, path: &str) -> Result<(), Failure> {
        let mut folder = String::new();
        for part in path
            .split('/')
            .rev()
            .skip(1)
            .collect::<Vec<_>>()
            .iter()
            .rev()
        {
            folder.push_str(part);
            folder.push('/');
            let method = Method::from_bytes(b"MKCOL").map_err(refused)?;
            let request = self.request(method, &folder).body(()).map_err(refused)?;
            self.agent.run(request).map_err(|e| self.failed(e))?;
        }
        Ok(())
    }

    fn failed(&self, e: ureq::Error) -> Failure {
        let why = format!("{}: {e}", self.base);
        match e {
            ureq::Error::Io(_)
            | ureq::Error::Timeout(_)
            | ureq::Error::HostNotFound
            | ureq::Error::ConnectionFailed => Failure::Unreachable(why),
            _ => Failure::Refused(why),
        }
    }

    fn status(&self, status: StatusCode, path: &str) -> Failure {
        Failure::Refused(format!("{}/{path} answered {status}", self.base))
    }
}

fn refused(e: impl std::fmt::Display) -> Failure {
    Failure::Refused(e.to_string())
}
