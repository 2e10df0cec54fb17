//! The lab's etcd: taken away and brought back on the same endpoint with its
//! data, as the datastore-outage tests need it.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use lab::Etcd;

/// POSTs `body` to etcd's v3 JSON gateway at `path`; the answer's body, or
/// `None` when nothing answers.
fn post(endpoint: &str, path: &str, body: &str) -> Option<String> {
    let address = endpoint.strip_prefix("http://")?;
    let mut stream = TcpStream::connect(address).ok()?;
    stream.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: {address}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
        body.len()
    );
    stream.write_all(request.as_bytes()).ok()?;
    let mut answer = String::new();
    stream.read_to_string(&mut answer).ok()?;
    let (head, body) = answer.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.1 200").then(|| body.to_owned())
}

#[test]
fn a_stopped_etcd_restarts_on_the_same_endpoint_with_its_data() {
    let mut etcd = Etcd::start("lab-restart").unwrap_or_else(|error| panic!("{error}"));
    let endpoint = etcd.endpoint().to_owned();
    // Key "lab", value "kept", base64 as the gateway wants them.
    let put = post(
        &endpoint,
        "/v3/kv/put",
        r#"{"key":"bGFi","value":"a2VwdA=="}"#,
    );
    assert!(put.is_some(), "etcd refused the write");
    assert!(etcd.is_running());

    etcd.stop();
    assert!(!etcd.is_running());
    assert!(
        post(&endpoint, "/v3/kv/range", r#"{"key":"bGFi"}"#).is_none(),
        "a stopped etcd still answers"
    );
    etcd.stop();

    etcd.restart().unwrap_or_else(|error| panic!("{error}"));
    assert!(etcd.is_running());
    assert_eq!(etcd.endpoint(), endpoint);
    let read =
        post(&endpoint, "/v3/kv/range", r#"{"key":"bGFi"}"#).expect("the restarted etcd answers");
    assert!(read.contains("a2VwdA=="), "the write was lost: {read}");
}
