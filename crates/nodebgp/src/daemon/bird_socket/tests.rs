//! The BIRD socket's server alone, on a temporary path, with the test
//! playing the manager.

use std::os::unix::fs::PermissionsExt;
use std::path::PathBuf;

use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};

use super::*;
use crate::daemon::status::StatusReport;

fn scratch(name: &str) -> PathBuf {
    let directory =
        std::env::temp_dir().join(format!("nodebgp-bird-{}-{name}", std::process::id()));
    let _ = std::fs::remove_dir_all(&directory);
    std::fs::create_dir_all(&directory).unwrap();
    directory
}

fn report() -> StatusReport {
    serde_json::from_value(serde_json::json!({
        "node": "node-1", "as": 64512, "router_id": "10.0.0.1",
        "peers": [
            {"peer": "10.0.0.2", "port": 179, "peer_as": 64512, "state": "Established",
             "since_seconds": 60, "last_error": null, "local_address": null,
             "messages": {"received": 0, "sent": 0}, "updates": {"received": 0, "sent": 0},
             "prefixes": {"received": 0, "sent": 0}, "kind": "mesh"}
        ]
    }))
    .unwrap()
}

/// Plays the manager: answers every call with [`report`].
fn manager() -> mpsc::Sender<ControlCall> {
    let (sender, mut calls) = mpsc::channel::<ControlCall>(16);
    tokio::spawn(async move {
        while let Some(call) = calls.recv().await {
            let answer = match call.request {
                Request::Status => Response::Status(Box::new(report())),
                _ => Response::error("not here"),
            };
            let _ = call.reply.send(answer);
        }
    });
    sender
}

fn short_limits() -> Limits {
    Limits {
        queue_timeout: Duration::from_millis(50),
        answer_timeout: Duration::from_millis(50),
        ..limits()
    }
}

/// Sends `command` and reads the reply's lines up to its last one.
async fn ask(
    reader: &mut BufReader<tokio::net::unix::OwnedReadHalf>,
    writer: &mut tokio::net::unix::OwnedWriteHalf,
    command: &str,
) -> Vec<String> {
    writer
        .write_all(format!("{command}\n").as_bytes())
        .await
        .unwrap();
    let mut lines = Vec::new();
    loop {
        let mut line = String::new();
        reader.read_line(&mut line).await.unwrap();
        let line = line.trim_end_matches('\n').to_owned();
        let last = line.as_bytes().get(4) == Some(&b' ');
        lines.push(line);
        if last {
            return lines;
        }
    }
}

#[tokio::test]
async fn a_client_is_greeted_and_answered_command_after_command() {
    let directory = scratch("answers");
    let path = directory.join("bird.ctl");
    let sockets = [BirdSocket {
        path: path.clone(),
        family: Family::Ipv4,
    }];
    serve(&sockets, None, short_limits(), manager())
        .await
        .unwrap();
    let mode = std::fs::metadata(&path).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o600);
    let (reader, mut writer) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut reader = BufReader::new(reader);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).await.unwrap();
    assert_eq!(greeting, "0001 BIRD 2.0.12 ready.\n");
    let protocols = ask(&mut reader, &mut writer, "show protocols").await;
    assert_eq!(protocols.len(), 3, "{protocols:?}");
    assert!(
        protocols[1].starts_with("1002-Mesh_10_0_0_2 "),
        "{protocols:?}"
    );
    let status = ask(&mut reader, &mut writer, "show status").await;
    assert_eq!(status[0], "1000-BIRD 2.0.12");
    assert_eq!(
        ask(&mut reader, &mut writer, "show route count").await,
        ["8001 not here"]
    );
    assert_eq!(
        ask(&mut reader, &mut writer, "restart all").await,
        ["9001 syntax error"]
    );
    let _ = std::fs::remove_dir_all(&directory);
}

#[tokio::test]
async fn a_busy_manager_gets_an_error_reply_not_a_hung_client() {
    let directory = scratch("busy");
    let path = directory.join("bird6.ctl");
    // A manager that never reads: its queue of one fills and stays full.
    let (calls, _never_read) = mpsc::channel::<ControlCall>(1);
    let sockets = [BirdSocket {
        path: path.clone(),
        family: Family::Ipv6,
    }];
    serve(&sockets, None, short_limits(), calls).await.unwrap();
    let (reader, mut writer) = UnixStream::connect(&path).await.unwrap().into_split();
    let mut reader = BufReader::new(reader);
    let mut greeting = String::new();
    reader.read_line(&mut greeting).await.unwrap();
    for _ in 0..2 {
        let reply = ask(&mut reader, &mut writer, "show protocols").await;
        assert_eq!(reply.len(), 1, "{reply:?}");
        assert!(reply[0].starts_with("8001 the daemon "), "{reply:?}");
    }
    let _ = std::fs::remove_dir_all(&directory);
}
