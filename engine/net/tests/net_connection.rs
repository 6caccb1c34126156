//! End-to-end tests of `kspin_net::Connection` against a loopback tungstenite server, plain and
//! TLS: handshake, frame sizes and fragmentation, masking of our sends, ping/pong, close, EOF,
//! limits, certificate trust, refused connects and TLS key updates. Exact behaviour only.

mod net_support;

use net_support::{
    handshake, open, payload, read_texts, read_until_error, small_limits, spawn, ServerWs,
};

use kspin_net::{ConnLimits, Connection, Endpoint, FlushState, NetError, TlsFailure, TlsSettings};
use tungstenite::protocol::frame::coding::{CloseCode, Data, OpCode};
use tungstenite::protocol::frame::{CloseFrame, Frame};
use tungstenite::Message;

fn both(test: impl Fn(bool)) {
    test(false);
    test(true);
}

fn send_text(ws: &mut ServerWs, text: &str) -> Result<(), String> {
    ws.send(Message::text(text)).map_err(|e| e.to_string())
}

fn raw_frame(ws: &mut ServerWs, opcode: Data, fin: bool, data: &str) -> Result<(), String> {
    let frame = Frame::message(data.as_bytes().to_vec(), OpCode::Data(opcode), fin);
    ws.write(Message::Frame(frame)).map_err(|e| e.to_string())
}

const SIZES: [usize; 10] = [0, 1, 125, 126, 1000, 4097, 16_384, 16_385, 40_000, 100_000];

#[test]
fn frames_of_every_size_arrive_intact_and_in_order() {
    both(|tls| {
        let server = spawn(tls, |ws| {
            for (i, len) in SIZES.iter().enumerate() {
                send_text(ws, &payload(i, *len))?;
            }
            // One message in three fragments, with a ping between them.
            raw_frame(ws, Data::Text, false, "part1-")?;
            ws.write(Message::Ping(b"mid".to_vec().into()))
                .map_err(|e| e.to_string())?;
            raw_frame(ws, Data::Continue, false, &payload(99, 30_000))?;
            raw_frame(ws, Data::Continue, true, "-end")?;
            // Many small frames written in one flush: several per TLS record / read.
            for i in 0..500 {
                ws.write(Message::text(format!("small-{i}")))
                    .map_err(|e| e.to_string())?;
            }
            ws.flush().map_err(|e| e.to_string())?;
            // The pong for "mid" must come back.
            match ws.read().map_err(|e| e.to_string())? {
                Message::Pong(p) if p.as_ref() == b"mid" => Ok(()),
                other => Err(format!("expected pong, got {other:?}")),
            }
        });
        let mut conn = open(&server, small_limits());
        let got = read_texts(&mut conn, SIZES.len() + 1 + 500).unwrap();
        for (i, len) in SIZES.iter().enumerate() {
            assert_eq!(
                got[i],
                payload(i, *len).into_bytes(),
                "tls={tls} size {len}"
            );
        }
        let joined = format!("part1-{}-end", payload(99, 30_000));
        assert_eq!(got[SIZES.len()], joined.into_bytes());
        for i in 0..500 {
            assert_eq!(got[SIZES.len() + 1 + i], format!("small-{i}").into_bytes());
        }
        // Keep reading (answers are written inside read_frames) until the server is satisfied.
        assert_eq!(server.join(), Ok(()), "tls={tls}");
    });
}

#[test]
fn client_sends_arrive_masked_and_decoded() {
    both(|tls| {
        let sizes = [0usize, 5, 125, 126, 20_000, 40_000];
        let server = spawn(tls, move |ws| {
            let mut got = Vec::new();
            for _ in 0..sizes.len() {
                // tungstenite's server rejects unmasked client frames, so reading them proves
                // they were masked.
                match ws.read().map_err(|e| e.to_string())? {
                    Message::Text(t) => got.push(t.to_string()),
                    other => return Err(format!("unexpected {other:?}")),
                }
            }
            send_text(ws, "done")?;
            Ok(got)
        });
        let mut conn = open(&server, small_limits());
        for (i, len) in sizes.iter().enumerate() {
            conn.send_text(payload(i, *len).as_bytes()).unwrap();
            if i % 2 == 1 {
                while conn.flush().unwrap() == FlushState::Pending {
                    std::thread::yield_now();
                }
            }
        }
        while conn.flush().unwrap() == FlushState::Pending {
            std::thread::yield_now();
        }
        assert_eq!(read_texts(&mut conn, 1).unwrap(), vec![b"done".to_vec()]);
        let got = server.join().unwrap();
        let expected: Vec<String> = sizes
            .iter()
            .enumerate()
            .map(|(i, l)| payload(i, *l))
            .collect();
        assert_eq!(got, expected, "tls={tls}");
    });
}

#[test]
fn write_buffer_is_bounded() {
    both(|tls| {
        let server = spawn(tls, |ws| {
            let _ = ws.read();
            Ok(())
        });
        let limits = ConnLimits {
            write_buf: 1000,
            ..small_limits()
        };
        let mut conn = open(&server, limits);
        assert_eq!(
            conn.send_text(&[b'x'; 1000]),
            Err(NetError::WriteBufferFull)
        );
        conn.send_text(&[b'x'; 600]).unwrap();
        assert_eq!(conn.send_text(&[b'x'; 600]), Err(NetError::WriteBufferFull));
        // Still usable after the refusal.
        assert!(conn.is_open());
        conn.close();
        assert!(!conn.is_open());
        server.join().unwrap();
    });
}

#[test]
fn server_close_is_answered_and_reported() {
    both(|tls| {
        let server = spawn(tls, |ws| {
            send_text(ws, "before")?;
            ws.close(Some(CloseFrame {
                code: CloseCode::Normal,
                reason: "bye".into(),
            }))
            .map_err(|e| e.to_string())?;
            // tungstenite reports ConnectionClosed once our echo of the close arrives; then
            // the stream ends cleanly: after close_notify under TLS (rustls reports a TCP FIN
            // without it as an error).
            loop {
                match ws.read() {
                    Ok(_) => {}
                    Err(tungstenite::Error::ConnectionClosed) => break,
                    Err(e) => return Err(e.to_string()),
                }
            }
            let mut rest = [0u8; 64];
            match std::io::Read::read(ws.get_mut(), &mut rest) {
                Ok(0) => Ok("echoed, then close_notify"),
                other => Err(format!("after the close: {other:?}")),
            }
        });
        let mut conn = open(&server, small_limits());
        let (texts, err) = read_until_error(&mut conn);
        assert_eq!(texts, vec![b"before".to_vec()]);
        assert_eq!(err, NetError::Closed { code: Some(1000) });
        assert!(!conn.is_open());
        assert_eq!(server.join(), Ok("echoed, then close_notify"), "tls={tls}");
    });
}

#[test]
fn abrupt_tcp_close_is_eof_or_missing_close_notify() {
    both(|tls| {
        let server = spawn(tls, |ws| {
            send_text(ws, "last words")?;
            ws.get_mut().abort();
            Ok(())
        });
        let mut conn = open(&server, small_limits());
        let (texts, err) = read_until_error(&mut conn);
        assert_eq!(texts, vec![b"last words".to_vec()]);
        let expected = if tls {
            NetError::TlsNoCloseNotify
        } else {
            NetError::Eof
        };
        assert_eq!(err, expected);
        assert!(!conn.is_open());
        server.join().unwrap();
    });
}

#[test]
fn tls_close_notify_then_fin_is_eof() {
    let server = spawn(true, |ws| {
        send_text(ws, "x")?;
        ws.get_mut().close_notify_and_shutdown();
        Ok(())
    });
    let mut conn = open(&server, small_limits());
    let (texts, err) = read_until_error(&mut conn);
    assert_eq!(texts, vec![b"x".to_vec()]);
    assert_eq!(err, NetError::Eof);
    server.join().unwrap();
}

#[test]
fn oversized_frame_is_refused() {
    both(|tls| {
        let limits = small_limits();
        let max = limits.max_frame_len;
        let server = spawn(tls, move |ws| {
            send_text(ws, "ok")?;
            send_text(ws, &payload(1, max))?; // exactly the limit: accepted
            send_text(ws, &payload(2, max + 1))?;
            // The client answers with a close 1009 (message too big).
            loop {
                match ws.read() {
                    Ok(tungstenite::Message::Close(frame)) => {
                        return Ok(frame.map(|f| u16::from(f.code)))
                    }
                    Ok(_) => {}
                    Err(e) => return Err(e.to_string()),
                }
            }
        });
        let mut conn = open(&server, limits);
        let (texts, err) = read_until_error(&mut conn);
        assert_eq!(texts.len(), 2);
        assert_eq!(texts[1].len(), max);
        assert_eq!(
            err,
            NetError::FrameTooLarge {
                len: max as u64 + 1,
                max
            }
        );
        assert!(!conn.is_open());
        assert_eq!(server.join(), Ok(Some(1009)), "tls={tls}");
    });
}

#[test]
fn untrusted_certificate_is_a_tls_error() {
    let server = spawn(true, |_ws| Ok(()));
    let settings = TlsSettings {
        extra_root_pem: None,
        use_webpki_roots: true,
        server_name_override: Some("localhost".into()),
    };
    let mut conn = Connection::connect(&server.endpoint(), &settings, small_limits()).unwrap();
    assert_eq!(
        handshake(&mut conn),
        Err(NetError::Tls(TlsFailure::UntrustedCertificate))
    );
    assert!(!conn.is_open());
    // The server waits for our side to go away; rustls's own fatal alert for the failure went
    // out before the client closed.
    drop(conn);
    let err = server.join().expect_err("the handshake failed");
    assert!(err.contains("received fatal alert: UnknownCA"), "{err}");
}

#[test]
fn wrong_server_name_is_a_tls_error() {
    let server = spawn(true, |_ws| Ok(()));
    let settings = TlsSettings {
        server_name_override: Some("not-localhost.example".into()),
        ..server.trust()
    };
    let mut conn = Connection::connect(&server.endpoint(), &settings, small_limits()).unwrap();
    assert_eq!(
        handshake(&mut conn),
        Err(NetError::Tls(TlsFailure::CertificateNameMismatch))
    );
    drop(conn);
    let _ = server.join();
}

#[test]
fn refused_connect_is_a_connect_error() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    drop(listener);
    let endpoint = Endpoint::parse(&format!("ws://127.0.0.1:{port}/")).unwrap();
    let result = Connection::connect(&endpoint, &TlsSettings::default(), small_limits())
        .and_then(|mut conn| handshake(&mut conn));
    assert_eq!(
        result,
        Err(NetError::Connect(std::io::ErrorKind::ConnectionRefused))
    );
}

#[test]
fn calls_before_open_are_state_errors() {
    let server = spawn(false, |_ws| Ok(()));
    let mut conn =
        Connection::connect(&server.endpoint(), &server.trust(), small_limits()).unwrap();
    assert!(!conn.is_open());
    assert!(matches!(conn.send_text(b"x"), Err(NetError::State(_))));
    assert!(matches!(conn.read_frames(|_| {}), Err(NetError::State(_))));
    handshake(&mut conn).unwrap();
    conn.close();
    let _ = server.join();
}

#[test]
fn tls_key_updates_in_both_directions() {
    let server = spawn(true, |ws| {
        send_text(ws, "old key")?;
        // KeyUpdate(update_requested): we must rotate our receive key and answer with our own.
        ws.get_mut()
            .tls_conn()
            .unwrap()
            .refresh_traffic_keys()
            .map_err(|e| e.to_string())?;
        send_text(ws, "new key")?;
        let reply = ws.read().map_err(|e| e.to_string())?;
        send_text(ws, "after reply")?;
        Ok(reply.into_text().map_err(|e| e.to_string())?.to_string())
    });
    let mut conn = open(&server, small_limits());
    assert_eq!(
        read_texts(&mut conn, 2).unwrap(),
        vec![b"old key".to_vec(), b"new key".to_vec()]
    );
    conn.send_text(b"client after update").unwrap();
    while conn.flush().unwrap() == FlushState::Pending {
        std::thread::yield_now();
    }
    assert_eq!(
        read_texts(&mut conn, 1).unwrap(),
        vec![b"after reply".to_vec()]
    );
    assert_eq!(server.join(), Ok("client after update".to_string()));
}

#[test]
fn connection_can_move_to_the_engine_core() {
    fn assert_send<T: Send>() {}
    assert_send::<Connection>();
}

#[test]
fn limits_are_validated() {
    let ep = Endpoint::parse("wss://127.0.0.1:1/").unwrap();
    let limits = ConnLimits {
        tls_buf: 1000,
        ..ConnLimits::default()
    };
    assert!(matches!(
        Connection::connect(&ep, &TlsSettings::public_roots(), limits),
        Err(NetError::Limits(_))
    ));
}
