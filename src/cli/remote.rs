//! Where the remote cache is and how to talk to it: `--remote-cache` (or
//! `CARGO_FLOW_REMOTE_CACHE`) over the workflow's `remote_cache:`, and credentials from the
//! environment alone.

use base64::Engine as _;

use super::args::RemoteArgs;
use crate::diagnostic::Problem;
use crate::load::build::is_http_url;
use crate::plan::Plan;
use crate::run::remote::Settings;

/// A header sent with every request: `Name: value`.
pub(crate) const HEADER_VAR: &str = "CARGO_FLOW_REMOTE_CACHE_HEADER";
/// A bearer token, sent as `Authorization: Bearer <token>`.
pub(crate) const TOKEN_VAR: &str = "CARGO_FLOW_REMOTE_CACHE_TOKEN";
/// The secret entries are signed with.
pub(crate) const SIGNING_KEY_VAR: &str = "CARGO_FLOW_REMOTE_CACHE_SIGNING_KEY";

/// The remote cache this run uses, if any.
pub(super) fn settings(args: &RemoteArgs, plan: &Plan) -> Result<Option<Settings>, Problem> {
    if args.no_remote_cache {
        return Ok(None);
    }
    let given = args.remote_cache.as_deref().filter(|u| !u.is_empty());
    let Some(url) = given.or(plan.remote_cache.as_deref()) else {
        return Ok(None);
    };
    check_url(url)?;
    let (url, basic) = split_user(url);
    let header = match header()? {
        Some(h) => Some(h),
        None => basic.map(|b| ("Authorization".to_string(), b)),
    };
    let signing_key = std::env::var_os(SIGNING_KEY_VAR)
        .filter(|k| !k.is_empty())
        .map(|k| k.as_encoded_bytes().to_vec());
    Ok(Some(Settings {
        url,
        read_only: args.remote_cache_read_only,
        header,
        signing_key,
        timeout: args.remote_cache_timeout,
    }))
}

/// A remote cache's address given on the command line or in the environment is an
/// `http://` or `https://` one (shown without its password when it is not).
pub(super) fn check_url(url: &str) -> Result<(), Problem> {
    if is_http_url(url) {
        return Ok(());
    }
    Err(Problem::new(
        "flow::bad-remote-cache",
        format!(
            "the remote cache `{}` is not an http:// or https:// address",
            split_user(url).0
        ),
    )
    .with_help("give the server's address, e.g. `--remote-cache https://cache.example.com`"))
}

/// The header the environment asks for, when it does.
fn header() -> Result<Option<(String, String)>, Problem> {
    if let Some(text) = std::env::var(HEADER_VAR).ok().filter(|h| !h.is_empty()) {
        let valid = |(name, value): (&str, &str)| {
            let name = name.trim();
            let token = !name.is_empty()
                && name
                    .bytes()
                    .all(|b| b.is_ascii_alphanumeric() || b"-_".contains(&b));
            (token && !value.contains(['\r', '\n']))
                .then(|| (name.to_string(), value.trim().to_string()))
        };
        return match text.split_once(':').and_then(valid) {
            Some(h) => Ok(Some(h)),
            None => Err(Problem::new(
                "flow::bad-remote-cache",
                format!("`{HEADER_VAR}` is not a header"),
            )
            .with_help(format!(
                "write it as `Name: value`, e.g. `{HEADER_VAR}='Authorization: Bearer …'`"
            ))),
        };
    }
    Ok(std::env::var(TOKEN_VAR)
        .ok()
        .filter(|t| !t.is_empty())
        .map(|t| ("Authorization".to_string(), format!("Bearer {}", t.trim()))))
}

/// The address without the `user:password@` it may hold, and that as a basic
/// `Authorization` value.
fn split_user(url: &str) -> (String, Option<String>) {
    let Some((scheme, rest)) = url.split_once("://") else {
        return (url.to_string(), None);
    };
    let end = rest.find('/').unwrap_or(rest.len());
    match rest[..end].rsplit_once('@') {
        Some((user, host)) => {
            let encoded = base64::engine::general_purpose::STANDARD.encode(user);
            (
                format!("{scheme}://{host}{}", &rest[end..]),
                Some(format!("Basic {encoded}")),
            )
        }
        None => (url.to_string(), None),
    }
}

#[cfg(test)]
mod tests {
    use super::split_user;

    #[test]
    fn a_user_in_the_address_becomes_basic_authentication() {
        assert_eq!(
            split_user("https://ci:pw@cache.example/x"),
            (
                "https://cache.example/x".to_string(),
                Some("Basic Y2k6cHc=".to_string())
            )
        );
        assert_eq!(split_user("http://h:1/a@b").1, None);
    }
}
