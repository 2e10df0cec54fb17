//! The control socket's protocol: one JSON object per line each way, typed
//! on both sides.
//!
//! ```text
//! client                                   daemon
//!   {"command":"status"}               ──►
//!                                      ◄──  {"response":"status","node":…,"as":…,"router_id":…,"peers":[…]}
//!   {"command":"routes","view":"received","peer":"10.0.0.1","prefix":"10.1.0.0/16"}
//!                                      ◄──  {"response":"routes","count":…,"truncated":…,"routes":[…]}
//!   {"command":"refresh","peer":"10.0.0.1"}
//!                                      ◄──  {"response":"refreshed"}
//!   anything else                      ◄──  {"response":"error","message":"…"}
//! ```
//!
//! The bodies of `status` and `routes` are what `nodebgp status -o json` and
//! `nodebgp routes -o json` print (without the `response` tag).

use std::fmt;
use std::net::IpAddr;
use std::str::FromStr;

use ipnet::IpNet;
use serde::{Deserialize, Serialize};

use crate::daemon::routes::RoutesReport;
use crate::daemon::status::{RouteCountReport, StatusReport};

/// What a control client asks.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "command", rename_all = "kebab-case")]
pub(crate) enum Request {
    /// Every session's state.
    Status,
    /// Routes of one RIB.
    Routes(RoutesQuery),
    /// Networks and routes per family (BIRD's `show route count`).
    RouteCount,
    /// Ask a peer to send its routes again (ROUTE-REFRESH, RFC 2918).
    Refresh {
        /// The peer's address.
        peer: IpAddr,
    },
    /// Replace the log filter (`info`, `nodebgp=debug`, …).
    LogLevel {
        /// The new filter.
        filter: String,
    },
}

/// The arguments of [`Request::Routes`]: `nodebgp routes`' flags.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RoutesQuery {
    /// Which RIB.
    #[serde(default)]
    pub(crate) view: RibView,
    /// Only routes of this peer; the received and advertised views need one.
    #[serde(default)]
    pub(crate) peer: Option<IpAddr>,
    /// Only these prefixes; all when `None`.
    #[serde(default)]
    pub(crate) prefix: Option<Selection>,
}

/// One of the RIBs.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub(crate) enum RibView {
    /// The selected routes.
    #[default]
    LocRib,
    /// A peer's Adj-RIB-In, after the import checks.
    Received,
    /// A peer's Adj-RIB-Out.
    Advertised,
}

/// Which prefixes a routes request asks for; on the wire, the prefix or the
/// address as text.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(try_from = "String", into = "String")]
pub(crate) enum Selection {
    /// This prefix exactly.
    Exact(IpNet),
    /// The most specific prefixes covering an address (longest match).
    Covering(IpAddr),
}

impl FromStr for Selection {
    type Err = String;

    fn from_str(text: &str) -> Result<Self, Self::Err> {
        if let Ok(prefix) = text.parse::<IpNet>() {
            return Ok(Selection::Exact(prefix.trunc()));
        }
        text.parse::<IpAddr>()
            .map(Selection::Covering)
            .map_err(|_| format!("'{text}' is neither a prefix nor an address"))
    }
}

impl TryFrom<String> for Selection {
    type Error = String;

    fn try_from(text: String) -> Result<Self, Self::Error> {
        text.parse()
    }
}

impl From<Selection> for String {
    fn from(selection: Selection) -> String {
        selection.to_string()
    }
}

impl fmt::Display for Selection {
    fn fmt(&self, formatter: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Selection::Exact(prefix) => prefix.fmt(formatter),
            Selection::Covering(address) => address.fmt(formatter),
        }
    }
}

/// The daemon's answer to one [`Request`].
#[derive(Debug, Serialize, Deserialize)]
#[serde(tag = "response", rename_all = "kebab-case")]
pub(crate) enum Response {
    /// The answer to [`Request::Status`].
    Status(Box<StatusReport>),
    /// The answer to [`Request::Routes`].
    Routes(RoutesReport),
    /// The answer to [`Request::RouteCount`].
    RouteCount(RouteCountReport),
    /// The ROUTE-REFRESH was sent.
    Refreshed,
    /// The log filter is now `filter`.
    LogLevel {
        /// The filter in force.
        filter: String,
    },
    /// The request was refused or failed; `message` says why, in words.
    Error {
        /// What went wrong.
        message: String,
    },
}

impl Response {
    /// An error answer.
    pub(crate) fn error(message: impl Into<String>) -> Response {
        Response::Error {
            message: message.into(),
        }
    }

    /// The answer as one line of JSON, newline included.
    pub(crate) fn to_line(&self) -> Vec<u8> {
        let mut line = serde_json::to_vec(self).unwrap_or_else(|error| {
            // Only a map with non-text keys fails, and no answer has one.
            serde_json::to_vec(&Response::error(format!(
                "cannot encode the answer: {error}"
            )))
            .unwrap_or_default()
        });
        line.push(b'\n');
        line
    }

    /// The name of the answer's kind, for "expected X, got Y".
    pub(crate) fn kind(&self) -> &'static str {
        match self {
            Response::Status(_) => "status",
            Response::Routes(_) => "routes",
            Response::RouteCount(_) => "route-count",
            Response::Refreshed => "refreshed",
            Response::LogLevel { .. } => "log-level",
            Response::Error { .. } => "error",
        }
    }
}

impl Request {
    /// Reads one request line; a line that is not a request becomes the
    /// error to answer with.
    pub(crate) fn parse(line: &[u8]) -> Result<Request, Response> {
        serde_json::from_slice(line)
            .map_err(|error| Response::error(format!("bad request: {error}")))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_round_trip_in_their_documented_shape() {
        let cases = [
            (Request::Status, r#"{"command":"status"}"#),
            (
                Request::Refresh {
                    peer: "10.0.0.1".parse().unwrap(),
                },
                r#"{"command":"refresh","peer":"10.0.0.1"}"#,
            ),
            (
                Request::Routes(RoutesQuery {
                    view: RibView::Received,
                    peer: Some("fd00::1".parse().unwrap()),
                    prefix: Some(Selection::Exact("10.1.0.0/16".parse().unwrap())),
                }),
                r#"{"command":"routes","view":"received","peer":"fd00::1","prefix":"10.1.0.0/16"}"#,
            ),
            (
                Request::Routes(RoutesQuery {
                    view: RibView::LocRib,
                    peer: None,
                    prefix: Some(Selection::Covering("10.1.2.3".parse().unwrap())),
                }),
                r#"{"command":"routes","view":"loc-rib","peer":null,"prefix":"10.1.2.3"}"#,
            ),
        ];
        for (request, text) in cases {
            assert_eq!(serde_json::to_string(&request).unwrap(), text);
            assert_eq!(Request::parse(text.as_bytes()).unwrap(), request, "{text}");
        }
    }

    #[test]
    fn a_routes_request_defaults_to_the_whole_loc_rib() {
        assert_eq!(
            Request::parse(br#"{"command":"routes"}"#).unwrap(),
            Request::Routes(RoutesQuery::default())
        );
    }

    #[test]
    fn a_prefix_is_truncated_to_its_length() {
        assert_eq!(
            "10.1.2.3/16".parse::<Selection>().unwrap(),
            Selection::Exact("10.1.0.0/16".parse().unwrap())
        );
    }

    fn error_message(line: &[u8]) -> String {
        match Request::parse(line) {
            Err(Response::Error { message }) => message,
            other => panic!("{}: {other:?}", String::from_utf8_lossy(line)),
        }
    }

    #[test]
    fn an_unknown_command_gets_a_typed_error() {
        let message = error_message(br#"{"command":"reboot"}"#);
        assert!(message.contains("reboot"), "{message}");
        assert!(message.contains("status"), "{message}");
    }

    #[test]
    fn malformed_requests_get_a_typed_error_naming_the_problem() {
        for (line, words) in [
            (
                &br#"{"command":"refresh","peer":"not-an-address"}"#[..],
                "address",
            ),
            (br#"{"command":"refresh"}"#, "peer"),
            (br#"{"command":"routes","prefix":"10.0.0.0/33"}"#, "neither"),
            (br#"{"command":"routes","view":"adj-rib"}"#, "adj-rib"),
            (br#"{"command":"routes","colour":"red"}"#, "colour"),
            (br#"{"verb":"status"}"#, "command"),
            (b"status", "bad request"),
            (b"", "bad request"),
        ] {
            let message = error_message(line);
            assert!(message.contains(words), "{message}");
        }
    }

    #[test]
    fn answers_round_trip_with_their_tag() {
        let line = Response::Refreshed.to_line();
        assert_eq!(line, b"{\"response\":\"refreshed\"}\n");
        let line = Response::error("no such peer").to_line();
        assert_eq!(
            String::from_utf8(line.clone()).unwrap(),
            "{\"response\":\"error\",\"message\":\"no such peer\"}\n"
        );
        match serde_json::from_slice::<Response>(&line).unwrap() {
            Response::Error { message } => assert_eq!(message, "no such peer"),
            other => panic!("{other:?}"),
        }
    }
}
