//! The address a request came from, for throttling and the audit log.

use std::net::SocketAddr;

use axum::http::HeaderMap;

/// The peer's address, or the first `X-Forwarded-For` hop when a trusted proxy sets it.
pub fn client_ip(trust_forwarded_for: bool, peer: SocketAddr, headers: &HeaderMap) -> String {
    if trust_forwarded_for {
        if let Some(first) = headers
            .get("x-forwarded-for")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .map(str::trim)
            .filter(|v| v.parse::<std::net::IpAddr>().is_ok())
        {
            return first.to_owned();
        }
    }
    peer.ip().to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn forwarded_for_is_used_only_when_trusted() {
        let peer: SocketAddr = "10.0.0.9:5555".parse().unwrap();
        let mut h = HeaderMap::new();
        h.insert("x-forwarded-for", "203.0.113.5, 10.0.0.1".parse().unwrap());
        assert_eq!(client_ip(false, peer, &h), "10.0.0.9");
        assert_eq!(client_ip(true, peer, &h), "203.0.113.5");
        h.insert("x-forwarded-for", "garbage".parse().unwrap());
        assert_eq!(client_ip(true, peer, &h), "10.0.0.9");
    }
}
