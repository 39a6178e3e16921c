//! Real cache servers the remote-cache tests start themselves: a WebDAV server from the
//! `dav-server` crate, in this process, and nginx with WebDAV when it is installed.
#![allow(dead_code)]

use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use tempfile::TempDir;

/// A running cache server, stopped when dropped.
pub struct Server {
    /// Its address: `http://127.0.0.1:<port>`.
    pub url: String,
    /// The folder it stores what it is sent in.
    pub root: PathBuf,
    _data: TempDir,
    stop: Stop,
}

enum Stop {
    Runtime(Option<tokio::runtime::Runtime>),
    Process(Child),
}

impl Drop for Server {
    fn drop(&mut self) {
        match &mut self.stop {
            Stop::Runtime(rt) => {
                if let Some(rt) = rt.take() {
                    rt.shutdown_background();
                }
            }
            Stop::Process(child) => {
                let _ = child.kill();
                let _ = child.wait();
            }
        }
    }
}

impl Server {
    /// Every file the server holds under `folder` (`ac`, `cas`), by path.
    pub fn files(&self, folder: &str) -> Vec<PathBuf> {
        let mut found = Vec::new();
        if let Ok(entries) = std::fs::read_dir(self.root.join(folder)) {
            for e in entries.flatten() {
                if e.file_type().is_ok_and(|t| t.is_file()) {
                    found.push(e.path());
                }
            }
        }
        found.sort();
        found
    }
}

/// A WebDAV server of the `dav-server` crate on a free port of 127.0.0.1, storing in a new
/// folder; its `ac` and `cas` folders are not made in advance.
pub fn dav() -> Server {
    let data = tempfile::tempdir().expect("tempdir");
    let root = data.path().to_path_buf();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let listener = rt
        .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
        .expect("bind");
    let port = listener.local_addr().expect("address").port();
    let handler = dav_server::DavHandler::builder()
        .filesystem(dav_server::localfs::LocalFs::new(
            &root, false, false, false,
        ))
        .locksystem(dav_server::fakels::FakeLs::new())
        .build_handler();
    rt.spawn(async move {
        loop {
            let Ok((stream, _)) = listener.accept().await else {
                continue;
            };
            let handler = handler.clone();
            tokio::spawn(async move {
                let service = hyper::service::service_fn(move |req| {
                    let handler = handler.clone();
                    async move { Ok::<_, std::convert::Infallible>(handler.handle(req).await) }
                });
                let io = hyper_util::rt::TokioIo::new(stream);
                let _ = hyper::server::conn::http1::Builder::new()
                    .serve_connection(io, service)
                    .await;
            });
        }
    });
    Server {
        url: format!("http://127.0.0.1:{port}"),
        root,
        _data: data,
        stop: Stop::Runtime(Some(rt)),
    }
}

/// nginx with WebDAV on a free port, when it is installed; `None` otherwise, unless
/// `FLOW_TEST_NGINX` is set, which makes its absence a failure (the CI script sets it).
pub fn nginx() -> Option<Server> {
    let program = ["/usr/sbin/nginx", "/usr/bin/nginx"]
        .into_iter()
        .map(PathBuf::from)
        .find(|p| p.exists());
    let Some(program) = program else {
        assert!(
            std::env::var_os("FLOW_TEST_NGINX").is_none(),
            "FLOW_TEST_NGINX is set, but nginx is not installed"
        );
        eprintln!("nginx is not installed: its test is left out");
        return None;
    };
    let data = tempfile::tempdir().expect("tempdir");
    let root = data.path().join("data");
    std::fs::create_dir_all(&root).expect("data folder");
    let port = free_port();
    let conf = data.path().join("nginx.conf");
    std::fs::write(&conf, config(data.path(), &root, port)).expect("config");
    let child = Command::new(program)
        .arg("-p")
        .arg(data.path())
        .arg("-c")
        .arg(&conf)
        .arg("-e")
        .arg(data.path().join("error.log"))
        .stdin(Stdio::null())
        .spawn()
        .expect("nginx starts");
    wait_for_port(port, data.path());
    Some(Server {
        url: format!("http://127.0.0.1:{port}"),
        root,
        _data: data,
        stop: Stop::Process(child),
    })
}

/// nginx's configuration: WebDAV `PUT` making folders as needed, in the foreground, one
/// process (which the test stops, leaving no worker behind). As
/// root, its workers must run as root too, or they cannot write the test's folder.
fn config(dir: &Path, root: &Path, port: u16) -> String {
    let user = match is_root() {
        true => "user root;\n",
        false => "",
    };
    format!(
        "{user}daemon off;\nmaster_process off;\nworker_processes 1;\npid {dir}/nginx.pid;\nerror_log {dir}/error.log;\n\
         events {{ worker_connections 64; }}\n\
         http {{\n  access_log off;\n  client_body_temp_path {dir}/body;\n\
         proxy_temp_path {dir}/proxy;\n  fastcgi_temp_path {dir}/fastcgi;\n\
         uwsgi_temp_path {dir}/uwsgi;\n  scgi_temp_path {dir}/scgi;\n\
         server {{\n    listen 127.0.0.1:{port};\n    root {root};\n\
         location / {{\n      dav_methods PUT DELETE MKCOL;\n      create_full_put_path on;\n\
         client_max_body_size 0;\n    }}\n  }}\n}}\n",
        dir = dir.display(),
        root = root.display(),
    )
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

/// A port nothing listens on now.
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}

fn wait_for_port(port: u16, dir: &Path) {
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        if started.elapsed() > Duration::from_secs(10) {
            let log = std::fs::read_to_string(dir.join("error.log")).unwrap_or_default();
            panic!("nginx did not start listening on {port}:\n{log}");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}
