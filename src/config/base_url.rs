//! Checks `bird.base_url`: the daemon sends its access key there, so it must be https, except
//! to a loopback host (a local fake Bird or a proxy on the same machine).
//!
//! Trusts nothing; parses only as much of a URL as the rule needs (scheme, host, port) and
//! guarantees the result has no trailing slash, no credentials, query or fragment.

use std::net::{Ipv4Addr, Ipv6Addr};

/// Accepts `https://HOST[:PORT][/PATH]`, or `http://` when HOST is a loopback address
/// (127.0.0.0/8, `[::1]`, `localhost`); returns it without trailing slashes.
pub(super) fn check_base_url(url: &str) -> Result<String, String> {
    let hint = "write it as https://HOST[:PORT][/PATH], e.g. https://api.bird.com";
    let not_url = || format!("`{url}` is not a URL; {hint}");
    if url.contains(|c: char| c.is_whitespace() || c.is_control()) {
        return Err(not_url());
    }
    let (scheme, rest) = url.split_once("://").ok_or_else(not_url)?;
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    if authority.contains(['?', '#']) || path.contains(['?', '#']) {
        return Err(format!("`{url}` has a query or fragment; {hint}"));
    }
    if authority.contains('@') {
        return Err(format!(
            "`{url}` has credentials in it; remove them (the access key goes in bird.access_key_file)"
        ));
    }
    let host = host_of(authority).ok_or_else(not_url)?;
    match scheme.to_ascii_lowercase().as_str() {
        "https" => {}
        "http" if is_loopback(host) => {}
        "http" => {
            return Err(format!(
                "`{url}` is plain http to a host that is not loopback; use https \
                 (http is allowed only for 127.0.0.0/8, [::1] and localhost)"
            ));
        }
        _ => return Err(format!("`{url}` has scheme `{scheme}`; {hint}")),
    }
    Ok(url.trim_end_matches('/').to_owned())
}

/// The host of `HOST[:PORT]` or `[V6][:PORT]`, checking the port; `None` when malformed.
fn host_of(authority: &str) -> Option<&str> {
    let (host, port) = if authority.starts_with('[') {
        let close = authority.find(']')?;
        let (host, after) = authority.split_at(close + 1);
        (
            host,
            if after.is_empty() {
                None
            } else {
                Some(after.strip_prefix(':')?)
            },
        )
    } else {
        match authority.split_once(':') {
            Some((host, port)) => (host, Some(port)),
            None => (authority, None),
        }
    };
    let port_ok = port.is_none_or(|p| {
        p.bytes().all(|b| b.is_ascii_digit()) && p.parse::<u16>().is_ok_and(|n| n > 0)
    });
    (!host.is_empty() && port_ok).then_some(host)
}

fn is_loopback(host: &str) -> bool {
    if let Some(v6) = host.strip_prefix('[').and_then(|h| h.strip_suffix(']')) {
        return v6.parse::<Ipv6Addr>().is_ok_and(|a| a.is_loopback());
    }
    host.eq_ignore_ascii_case("localhost")
        || host.eq_ignore_ascii_case("localhost.")
        || host.parse::<Ipv4Addr>().is_ok_and(|a| a.is_loopback())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn loopback_hosts_may_use_plain_http() {
        for url in [
            "http://127.0.0.1:8080",
            "http://127.8.9.10/",
            "http://localhost:3000/bird",
            "http://LOCALHOST",
            "http://[::1]:9000",
        ] {
            assert!(check_base_url(url).is_ok(), "{url}");
        }
    }

    #[test]
    fn every_other_host_needs_https() {
        for url in [
            "http://api.bird.com",
            "http://128.0.0.1",
            "http://[::2]",
            "http://localhost.evil.com",
            "http://127.0.0.1.nip.io",
        ] {
            let msg = check_base_url(url).unwrap_err();
            assert!(msg.contains("use https"), "{url}: {msg}");
        }
    }

    #[test]
    fn malformed_urls_are_refused_with_the_expected_form() {
        for url in [
            "api.bird.com",
            "https://",
            "https://:443",
            "https://api.bird.com:99999",
            "https://api.bird.com:x",
            "ftp://api.bird.com",
            "https://api.bird.com?x=1",
            "https://u:p@api.bird.com",
            "https://api.bird.com /x",
            "https://[::1",
        ] {
            assert!(check_base_url(url).is_err(), "{url}");
        }
    }

    #[test]
    fn trailing_slashes_are_removed_and_paths_kept() {
        assert_eq!(
            check_base_url("https://api.bird.com/").as_deref(),
            Ok("https://api.bird.com")
        );
        assert_eq!(
            check_base_url("http://127.0.0.1:1/p//").as_deref(),
            Ok("http://127.0.0.1:1/p")
        );
    }
}
