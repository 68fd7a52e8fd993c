//! The blocking client against a stand-in server that speaks just enough of the Postgres
//! protocol to accept a connection and answer simple queries (START TRANSACTION, ROLLBACK). It records
//! every message, so the tests can show that rejected jobs never reach the database.

use riverboat::blocking::Client;
use riverboat::{Config, Error, InsertOpts, InsertParams};
use serde_json::json;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::thread::{self, JoinHandle};

fn message(kind: u8, body: &[u8]) -> Vec<u8> {
    let mut out = vec![kind];
    out.extend_from_slice(&(body.len() as i32 + 4).to_be_bytes());
    out.extend_from_slice(body);
    out
}

/// Serves one connection; returns each message received after startup as (type, text).
fn stand_in_server() -> (u16, JoinHandle<Vec<(char, String)>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = thread::spawn(move || {
        let (mut socket, _) = listener.accept().unwrap();
        let mut len = [0u8; 4];
        socket.read_exact(&mut len).unwrap();
        let mut startup = vec![0u8; i32::from_be_bytes(len) as usize - 4];
        socket.read_exact(&mut startup).unwrap();
        socket.write_all(&message(b'R', &0i32.to_be_bytes())).unwrap(); // AuthenticationOk
        socket.write_all(&message(b'Z', b"I")).unwrap(); // ReadyForQuery, idle
        let mut received = Vec::new();
        loop {
            let mut head = [0u8; 5];
            if socket.read_exact(&mut head).is_err() {
                break;
            }
            let mut body = vec![0u8; i32::from_be_bytes(head[1..].try_into().unwrap()) as usize - 4];
            socket.read_exact(&mut body).unwrap();
            let text = String::from_utf8_lossy(&body).trim_end_matches('\0').to_string();
            received.push((head[0] as char, text.clone()));
            match head[0] {
                b'Q' => {
                    let status: &[u8] = if text == "ROLLBACK" || text == "COMMIT" {
                        b"I"
                    } else {
                        b"T"
                    };
                    socket
                        .write_all(&message(b'C', format!("{text}\0").as_bytes()))
                        .unwrap();
                    socket.write_all(&message(b'Z', status)).unwrap();
                }
                b'X' => break,
                // Anything else (an extended-protocol insert) is recorded and ends the session.
                _ => break,
            }
        }
        received
    });
    (port, server)
}

fn connect(port: u16) -> Client {
    let params = format!("host=127.0.0.1 port={port} user=app dbname=app sslmode=disable");
    Client::connect(
        &params,
        tokio_postgres::NoTls,
        riverboat::Client::new(Config::default()),
    )
    .unwrap()
}

fn field_of(result: Result<impl std::fmt::Debug, Error>) -> String {
    match result {
        Err(Error::Validation { field, .. }) => field,
        other => panic!("expected a validation error, got {other:?}"),
    }
}

fn reserved_metadata() -> InsertParams {
    InsertParams::new("email_send", json!({"to": "a@example.com"})).with_opts(InsertOpts {
        metadata: Some(json!({"river:x": 1})),
        ..Default::default()
    })
}

#[test]
fn validation_errors_come_back_before_anything_is_sent() {
    let (port, server) = stand_in_server();
    let mut river = connect(port);
    assert_eq!(field_of(river.insert(InsertParams::new("k", json!([1])))), "args");
    let bad_queue = InsertParams::new("k", json!({})).with_opts(InsertOpts {
        queue: Some("Bad Queue".into()),
        ..Default::default()
    });
    assert_eq!(
        field_of(river.insert_many(vec![InsertParams::new("k", json!({})), bad_queue])),
        "queue"
    );
    // An empty batch is refused, as River Go's InsertMany refuses it.
    assert_eq!(field_of(river.insert_many(vec![])), "params");
    let mut tx = river.transaction().unwrap();
    assert_eq!(field_of(tx.insert(reserved_metadata())), "metadata");
    assert_eq!(field_of(tx.insert_many(vec![reserved_metadata()])), "metadata");
    assert_eq!(field_of(tx.insert_many(vec![])), "params");
    tx.rollback().unwrap();
    river.close();
    let received = server.join().unwrap();
    let sent: Vec<String> = received.iter().map(|(kind, text)| format!("{kind} {text}")).collect();
    assert_eq!(sent, ["Q START TRANSACTION", "Q ROLLBACK", "X "]);
}

#[test]
fn connection_errors_are_database_errors() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let params = format!("host=127.0.0.1 port={port} user=app dbname=app sslmode=disable connect_timeout=5");
    match Client::connect(
        &params,
        tokio_postgres::NoTls,
        riverboat::Client::new(Config::default()),
    ) {
        Err(Error::Database(_)) => {}
        Err(other) => panic!("expected a database error, got {other}"),
        Ok(_) => panic!("connected to a closed port"),
    }
}
