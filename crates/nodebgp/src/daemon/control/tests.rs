//! The control server alone, on a temporary path, with the test answering
//! the manager's side.

use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::path::{Path, PathBuf};
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::net::UnixStream;
use tokio::sync::mpsc;

use super::*;
use crate::daemon::status::StatusReport;

/// A fresh directory for one test.
fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("nodebgp-control-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn report() -> StatusReport {
    StatusReport {
        version: String::new(),
        uptime_seconds: 0,
        node: "test-node".into(),
        asn: 64512,
        router_id: "10.0.0.1".into(),
        peers: Vec::new(),
        ignored: Vec::new(),
        tasks: 0,
        pod_networks: None,
        restart_wait: None,
    }
}

/// Plays the manager: answers every call.
fn manager() -> mpsc::Sender<ControlCall> {
    let (sender, mut calls) = mpsc::channel::<ControlCall>(16);
    tokio::spawn(async move {
        while let Some(call) = calls.recv().await {
            let answer = match call.request {
                Request::Status => Response::Status(Box::new(report())),
                Request::Refresh { .. } => Response::Refreshed,
                Request::Routes(_) => Response::error("no routes here"),
                Request::RouteCount => Response::RouteCount(Default::default()),
                Request::LogLevel { .. } => Response::error("the socket answers it"),
            };
            let _ = call.reply.send(answer);
        }
    });
    sender
}

/// Short limits, so that the tests wait little.
fn quick() -> Limits {
    Limits {
        request_bytes: 1024,
        request_timeout: Duration::from_millis(300),
        write_timeout: Duration::from_millis(300),
        connections: 4,
        queue_timeout: Duration::from_millis(100),
        answer_timeout: Duration::from_millis(100),
    }
}

/// Sends `line` as it is and reads one answer line.
async fn ask(path: &Path, line: &[u8]) -> Response {
    let mut stream = UnixStream::connect(path).await.unwrap();
    stream.write_all(line).await.unwrap();
    read_answer(&mut stream).await
}

async fn read_answer(stream: &mut UnixStream) -> Response {
    let mut answer = String::new();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        BufReader::new(stream).read_line(&mut answer),
    )
    .await
    .expect("no answer within 5 s")
    .unwrap();
    assert!(read > 0, "closed without an answer");
    serde_json::from_str(&answer).unwrap()
}

async fn closed(stream: &mut UnixStream) -> bool {
    let mut rest = Vec::new();
    let read = tokio::time::timeout(
        Duration::from_secs(5),
        tokio::io::AsyncReadExt::read_to_end(stream, &mut rest),
    )
    .await;
    matches!(read, Ok(Ok(0)))
}

fn error_message(response: Response) -> String {
    match response {
        Response::Error { message } => message,
        other => panic!("expected an error, got {other:?}"),
    }
}

fn is_status(response: &Response) -> bool {
    matches!(response, Response::Status(report) if report.node == "test-node")
}

#[tokio::test]
async fn the_socket_is_for_its_owner_only_by_default() {
    let directory = scratch("mode");
    let path = directory.join("nodebgp.ctl");
    serve(&path, None, quick(), manager()).await.unwrap();
    let metadata = std::fs::symlink_metadata(&path).unwrap();
    assert!(std::os::unix::fs::FileTypeExt::is_socket(
        &metadata.file_type()
    ));
    assert_eq!(metadata.permissions().mode() & 0o777, 0o600);
    assert!(is_status(&ask(&path, b"{\"command\":\"status\"}\n").await));
    // The binding directory is gone.
    let names: Vec<_> = std::fs::read_dir(&directory)
        .unwrap()
        .map(|entry| entry.unwrap().file_name())
        .collect();
    assert_eq!(names, ["nodebgp.ctl"]);
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn a_control_group_gets_the_socket_with_mode_0660() {
    let directory = scratch("group");
    let path = directory.join("nodebgp.ctl");
    // Our own group: one we may give a file to without privileges.
    let gid = std::fs::metadata(&directory).unwrap().gid();
    serve(&path, Some(&gid.to_string()), quick(), manager())
        .await
        .unwrap();
    let metadata = std::fs::symlink_metadata(&path).unwrap();
    assert_eq!(metadata.permissions().mode() & 0o777, 0o660);
    assert_eq!(metadata.gid(), gid);
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn an_unknown_group_is_an_error_that_names_it() {
    let directory = scratch("no-group");
    let path = directory.join("nodebgp.ctl");
    let error = serve(&path, Some("no-such-group-here"), quick(), manager())
        .await
        .unwrap_err();
    assert!(
        format!("{error:#}").contains("no-such-group-here"),
        "{error:#}"
    );
    assert!(!path.exists());
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn a_stale_socket_is_replaced() {
    let directory = scratch("stale");
    let path = directory.join("nodebgp.ctl");
    // A daemon that died: its socket file stays, nobody listens.
    drop(std::os::unix::net::UnixListener::bind(&path).unwrap());
    assert!(path.exists());
    serve(&path, None, quick(), manager()).await.unwrap();
    assert!(is_status(&ask(&path, b"{\"command\":\"status\"}\n").await));
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn a_live_daemons_socket_is_never_stolen() {
    let directory = scratch("live");
    let path = directory.join("nodebgp.ctl");
    let other = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let error = serve(&path, None, quick(), manager()).await.unwrap_err();
    assert_eq!(
        error.to_string(),
        format!("another nodebgp is running at {}", path.display())
    );
    // Still the other one's.
    let _client = std::os::unix::net::UnixStream::connect(&path).unwrap();
    assert!(other.accept().is_ok());
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn what_is_not_a_socket_is_never_deleted() {
    let directory = scratch("not-a-socket");
    let file = directory.join("file");
    std::fs::write(&file, "keep me").unwrap();
    let folder = directory.join("folder");
    std::fs::create_dir(&folder).unwrap();
    let link = directory.join("link");
    std::os::unix::fs::symlink(&file, &link).unwrap();
    for (path, what) in [
        (&file, "a regular file"),
        (&folder, "a directory"),
        (&link, "a symbolic link"),
    ] {
        let error = serve(path, None, quick(), manager()).await.unwrap_err();
        assert!(error.to_string().contains(what), "{error}");
    }
    assert_eq!(std::fs::read_to_string(&file).unwrap(), "keep me");
    assert!(folder.is_dir());
    assert!(std::fs::symlink_metadata(&link)
        .unwrap()
        .file_type()
        .is_symlink());
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn an_over_long_request_is_refused_and_the_connection_closed() {
    let directory = scratch("long");
    let path = directory.join("nodebgp.ctl");
    serve(&path, None, quick(), manager()).await.unwrap();
    // At the limit exactly: answered.
    let mut request = b"{\"command\":\"status\"}".to_vec();
    request.resize(quick().request_bytes, b' ');
    request.push(b'\n');
    assert!(is_status(&ask(&path, &request).await));
    // One byte more: refused.
    let mut stream = UnixStream::connect(&path).await.unwrap();
    let mut request = b"{\"command\":\"status\"}".to_vec();
    request.resize(quick().request_bytes + 1, b' ');
    request.push(b'\n');
    stream.write_all(&request).await.unwrap();
    let message = error_message(read_answer(&mut stream).await);
    assert!(message.contains("longer than 1024 bytes"), "{message}");
    assert!(closed(&mut stream).await);
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn a_silent_client_does_not_block_another_and_is_closed_in_time() {
    let directory = scratch("silent");
    let path = directory.join("nodebgp.ctl");
    serve(&path, None, quick(), manager()).await.unwrap();
    let mut silent = UnixStream::connect(&path).await.unwrap();
    // Half a request, never finished.
    silent.write_all(b"{\"command\":").await.unwrap();
    let started = Instant::now();
    assert!(is_status(&ask(&path, b"{\"command\":\"status\"}\n").await));
    assert!(started.elapsed() < quick().request_timeout);
    // The silent one is still connected; it gets its error at its deadline.
    let message = error_message(read_answer(&mut silent).await);
    assert!(message.contains("no request within"), "{message}");
    assert!(closed(&mut silent).await);
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn connections_beyond_the_cap_are_refused_at_once() {
    let directory = scratch("cap");
    let path = directory.join("nodebgp.ctl");
    let limits = Limits {
        connections: 1,
        ..quick()
    };
    serve(&path, None, limits, manager()).await.unwrap();
    let _holding = UnixStream::connect(&path).await.unwrap();
    let mut extra = UnixStream::connect(&path).await.unwrap();
    let message = error_message(read_answer(&mut extra).await);
    assert!(message.contains("too many"), "{message}");
    assert!(closed(&mut extra).await);
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn a_busy_manager_gets_timeouts_not_a_stuck_client() {
    let directory = scratch("busy");
    let path = directory.join("nodebgp.ctl");
    // A manager that never takes calls, with room for one.
    let (sender, _calls) = mpsc::channel::<ControlCall>(1);
    serve(&path, None, quick(), sender).await.unwrap();
    let message = error_message(ask(&path, b"{\"command\":\"status\"}\n").await);
    assert!(message.contains("did not answer"), "{message}");
    let message = error_message(ask(&path, b"{\"command\":\"status\"}\n").await);
    assert!(message.contains("busy"), "{message}");
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn bad_requests_get_a_typed_error_and_the_connection_goes_on() {
    let directory = scratch("bad");
    let path = directory.join("nodebgp.ctl");
    serve(&path, None, quick(), manager()).await.unwrap();
    let mut stream = UnixStream::connect(&path).await.unwrap();
    stream
        .write_all(b"{\"command\":\"reboot\"}\nnot json\n{\"command\":\"refresh\",\"peer\":\"10.0.0.2\"}\n")
        .await
        .unwrap();
    let (reader, _writer) = stream.split();
    let mut lines = BufReader::new(reader).lines();
    let mut answers = Vec::new();
    for _ in 0..3 {
        let line = lines.next_line().await.unwrap().unwrap();
        answers.push(serde_json::from_str::<Response>(&line).unwrap());
    }
    let mut answers = answers.into_iter();
    assert!(error_message(answers.next().unwrap()).contains("reboot"));
    assert!(error_message(answers.next().unwrap()).contains("bad request"));
    assert!(matches!(answers.next().unwrap(), Response::Refreshed));
    std::fs::remove_dir_all(directory).unwrap();
}

#[tokio::test]
async fn the_client_reads_the_typed_answer() {
    let directory = scratch("client");
    let path = directory.join("nodebgp.ctl");
    serve(&path, None, quick(), manager()).await.unwrap();
    let client = path.clone();
    let answer = tokio::task::spawn_blocking(move || request(&client, &Request::Status))
        .await
        .unwrap()
        .unwrap();
    assert!(is_status(&answer));
    std::fs::remove_dir_all(&directory).unwrap();
    let error = request(&path, &Request::Status).unwrap_err();
    assert!(
        error.to_string().contains("cannot reach nodebgp"),
        "{error}"
    );
}

#[test]
fn root_the_daemons_user_and_the_group_are_let_in() {
    let access = Access {
        daemon_uid: 1000,
        group: Some(2000),
    };
    assert!(access.allows(0, 0));
    assert!(access.allows(1000, 1000));
    assert!(access.allows(1500, 2000));
    assert!(!access.allows(1500, 1500));
    let owner_only = Access {
        daemon_uid: 1000,
        group: None,
    };
    assert!(!owner_only.allows(1500, 2000));
    assert!(!owner_only.allows(1500, 1000));
}

#[test]
fn groups_are_found_by_name_in_etc_group_lines() {
    let groups = "root:x:0:\nnodebgp:x:997:alice,bob\nbroken\nnode:x:12:\n";
    assert_eq!(find_group(groups, "nodebgp"), Some(997));
    assert_eq!(find_group(groups, "node"), Some(12));
    assert_eq!(find_group(groups, "nodebg"), None);
    assert_eq!(find_group(groups, "broken"), None);
    assert_eq!(group_id("4242").unwrap(), 4242);
}

#[test]
fn refusals_are_logged_at_most_every_ten_seconds_with_a_count() {
    let mut throttle = Throttle::default();
    let start = Instant::now();
    assert_eq!(throttle.admit(start), Some(0));
    assert_eq!(throttle.admit(start + Duration::from_secs(1)), None);
    assert_eq!(throttle.admit(start + Duration::from_secs(9)), None);
    assert_eq!(throttle.admit(start + LOG_EVERY), Some(2));
    assert_eq!(throttle.admit(start + LOG_EVERY), None);
}

#[tokio::test]
async fn lines_are_read_with_a_bound() {
    let mut input: &[u8] = b"short\n12345678901\nlast";
    assert_eq!(
        read_line(&mut input, 10).await.unwrap(),
        Line::Request(b"short".to_vec())
    );
    assert_eq!(read_line(&mut input, 10).await.unwrap(), Line::TooLong);
    // The rest of the long line is not read: the connection closes.
    let mut input: &[u8] = b"last";
    assert_eq!(
        read_line(&mut input, 10).await.unwrap(),
        Line::Request(b"last".to_vec())
    );
    assert_eq!(read_line(&mut input, 10).await.unwrap(), Line::End);
    let mut input: &[u8] = b"1234567890\n";
    assert_eq!(
        read_line(&mut input, 10).await.unwrap(),
        Line::Request(b"1234567890".to_vec())
    );
}
