//! What the record layer refuses, for each TLS 1.3 cipher suite: tampered, replayed, reordered
//! and oversized records, inner plaintexts RFC 8446 forbids, plaintext after the handshake,
//! fatal alerts, malformed or misplaced post-handshake messages, and a wrapping sequence number.
//! Every refusal is the exact typed error (whose alert the connection then sends) and hands over
//! no plaintext.

use super::*;

fn refused(result: Result<RecordOutcome, NetError>, data_before: &[u8]) -> Opened {
    Opened {
        result,
        data: data_before.to_vec(),
        records: 0,
    }
}

/// Opens `wire` and checks the error and the data handed over before it (records not compared).
fn assert_refused(layer: &mut RecordLayer, wire: &[u8], error: TlsFailure, data_before: &[u8]) {
    let mut opened = open_all(layer, wire);
    opened.records = 0;
    assert_eq!(opened, refused(Err(NetError::Tls(error)), data_before));
}

fn each_suite(test: impl Fn(SupportedCipherSuite)) {
    for suite in suites() {
        test(suite);
    }
}

fn fresh(suite: SupportedCipherSuite) -> Session {
    session(suite, QUIET)
}

#[test]
fn a_flipped_bit_anywhere_fails_authentication() {
    each_suite(|suite| {
        for at in [1, 2, 4, RECORD_HEADER_LEN, 9, 5 + 9 + 16 - 1] {
            let mut s = fresh(suite);
            let mut record = server_sends(&mut s.server, b"authentic");
            record[at] ^= 0x10;
            // A changed length makes the record longer (complete it) or shorter: either way
            // it does not authenticate.
            record.resize(record.len() + 16, 0);
            assert_refused(&mut s.layer, &record, TlsFailure::Decrypt, b"");
        }
        let mut s = fresh(suite);
        let record = server_sends(&mut s.server, b"authentic");
        assert_eq!(open_all(&mut s.layer, &record).data, b"authentic");
    });
}

#[test]
fn replayed_and_reordered_records_fail_authentication() {
    each_suite(|suite| {
        let mut s = fresh(suite);
        let first = server_sends(&mut s.server, b"one");
        let mut replay = first.clone();
        replay.extend_from_slice(&first);
        assert_refused(&mut s.layer, &replay, TlsFailure::Decrypt, b"one");
        let mut s = fresh(suite);
        let first = server_sends(&mut s.server, b"one");
        let mut reordered = server_sends(&mut s.server, b"two");
        reordered.extend_from_slice(&first);
        assert_refused(&mut s.layer, &reordered, TlsFailure::Decrypt, b"");
    });
}

#[test]
fn oversize_by_header_and_inside() {
    each_suite(|suite| {
        let mut s = fresh(suite);
        // By header: 2^14 + 256 + 1 bytes announced.
        let len = (MAX_CIPHERTEXT + 1) as u16;
        let header = [CT_APPLICATION_DATA, 3, 3, (len >> 8) as u8, len as u8];
        assert_eq!(
            RecordLayer::complete_record_len(&header),
            Err(NetError::Tls(TlsFailure::RecordOverflow))
        );
        assert_refused(&mut s.layer, &header, TlsFailure::RecordOverflow, b"");
        // Inside: an inner plaintext of 2^14 + 2 bytes authenticates but is too long.
        let mut s = fresh(suite);
        let wire = s.forger.seal(CT_APPLICATION_DATA, b"x", MAX_PLAINTEXT);
        assert_refused(&mut s.layer, &wire, TlsFailure::RecordOverflow, b"");
    });
}

#[test]
fn forbidden_inner_plaintexts() {
    each_suite(|suite| {
        let cases: [(&[u8], TlsFailure); 8] = [
            // All zeros: no content type.
            (&[0; 12], TlsFailure::UnexpectedMessage),
            // An unknown inner content type.
            (b"data\x63", TlsFailure::UnexpectedMessage),
            // A protected change_cipher_spec.
            (&[1, 20], TlsFailure::UnexpectedMessage),
            // A zero-length handshake record, with and without padding.
            (&[CT_HANDSHAKE], TlsFailure::UnexpectedMessage),
            (&[CT_HANDSHAKE, 0, 0], TlsFailure::UnexpectedMessage),
            // An alert of the wrong length.
            (&[0, CT_ALERT], TlsFailure::DecodeError),
            (&[2, 40, 0, CT_ALERT], TlsFailure::DecodeError),
            // A handshake message we never accept after the handshake (CertificateRequest).
            (&[13, 0, 0, 0, CT_HANDSHAKE], TlsFailure::UnexpectedMessage),
        ];
        for (inner, error) in cases {
            let mut t = fresh(suite);
            let wire = t.forger.seal_inner(inner);
            assert_refused(&mut t.layer, &wire, error, b"");
        }
    });
}

#[test]
fn plaintext_and_change_cipher_spec_after_the_handshake() {
    each_suite(|suite| {
        // A plaintext change_cipher_spec (allowed only before the peer's Finished), a plaintext
        // handshake record and a plaintext alert: wrong outer type.
        for record in [
            &[20u8, 3, 3, 0, 1, 1][..],
            &[22, 3, 3, 0, 4, 4, 0, 0, 0],
            &[21, 3, 3, 0, 2, 2, 40],
        ] {
            let mut t = fresh(suite).layer;
            assert_refused(&mut t, record, TlsFailure::UnexpectedMessage, b"");
        }
        // Plaintext carried as "application data": does not authenticate.
        let mut t = fresh(suite).layer;
        let mut record = vec![23u8, 3, 3, 0, 40];
        record.extend_from_slice(&[b'{'; 40]);
        assert_refused(&mut t, &record, TlsFailure::Decrypt, b"");
        // Shorter than a tag.
        let mut t = fresh(suite).layer;
        assert_refused(&mut t, &[23, 3, 3, 0, 3, 1, 2, 3], TlsFailure::Decrypt, b"");
    });
}

#[test]
fn alerts_other_than_close_notify_end_the_session() {
    each_suite(|suite| {
        for description in [
            alert::HANDSHAKE_FAILURE,
            alert::INTERNAL_ERROR,
            alert::USER_CANCELED,
        ] {
            let mut t = fresh(suite);
            let mut wire = t.forger.seal(CT_APPLICATION_DATA, b"before", 0);
            wire.extend(t.forger.seal(CT_ALERT, &[2, description], 3));
            wire.extend(t.forger.seal(CT_APPLICATION_DATA, b"never", 0));
            assert_refused(
                &mut t.layer,
                &wire,
                TlsFailure::AlertReceived(description),
                b"before",
            );
        }
    });
}

#[test]
fn key_update_not_ending_its_record_or_malformed() {
    each_suite(|suite| {
        let key_update = handshake_message(HS_KEY_UPDATE, &[0]);
        let ticket = handshake_message(HS_NEW_SESSION_TICKET, &ticket_body(1));
        let cases: Vec<(Vec<u8>, TlsFailure)> = vec![
            // A KeyUpdate followed by a whole message, or by part of one, in the same record.
            (
                [key_update.clone(), ticket.clone()].concat(),
                TlsFailure::UnexpectedMessage,
            ),
            (
                [key_update.clone(), ticket[..3].to_vec()].concat(),
                TlsFailure::UnexpectedMessage,
            ),
            // A request value other than 0 or 1; a body of the wrong length.
            (
                handshake_message(HS_KEY_UPDATE, &[2]),
                TlsFailure::IllegalParameter,
            ),
            (
                handshake_message(HS_KEY_UPDATE, &[0, 0]),
                TlsFailure::DecodeError,
            ),
            (
                handshake_message(HS_KEY_UPDATE, &[]),
                TlsFailure::DecodeError,
            ),
            // A ticket rustls cannot parse.
            (
                handshake_message(HS_NEW_SESSION_TICKET, &[1, 2, 3]),
                TlsFailure::DecodeError,
            ),
            // A message announced larger than we join.
            (
                vec![HS_NEW_SESSION_TICKET, 1, 0, 0, 0],
                TlsFailure::DecodeError,
            ),
        ];
        for (messages, error) in cases {
            let mut t = fresh(suite);
            let wire = t.forger.seal(CT_HANDSHAKE, &messages, 0);
            assert_refused(&mut t.layer, &wire, error, b"");
            assert_eq!(t.layer.counters().key_updates_received, 0);
        }
    });
}

#[test]
fn nothing_may_interleave_with_a_split_message() {
    each_suite(|suite| {
        let ticket = handshake_message(HS_NEW_SESSION_TICKET, &ticket_body(1));
        for interloper in [
            (CT_APPLICATION_DATA, &b"data"[..]),
            (CT_ALERT, &[1, 0][..]),
            (CT_ALERT, &[2, 40][..]),
        ] {
            let mut t = fresh(suite);
            let mut wire = t.forger.seal(CT_HANDSHAKE, &ticket[..5], 0);
            wire.extend(t.forger.seal(interloper.0, interloper.1, 0));
            wire.extend(t.forger.seal(CT_HANDSHAKE, &ticket[5..], 0));
            assert_refused(&mut t.layer, &wire, TlsFailure::UnexpectedMessage, b"");
        }
    });
}

#[test]
fn sequence_numbers_never_wrap() {
    each_suite(|suite| {
        let mut s = fresh(suite);
        s.layer.rx.seq = u64::MAX;
        s.forger.seq = u64::MAX;
        let wire = s.forger.seal(CT_APPLICATION_DATA, b"last", 0);
        assert_refused(
            &mut s.layer,
            &wire,
            TlsFailure::Unsupported("record sequence number exhausted"),
            b"",
        );
        s.layer.tx.seq = u64::MAX;
        s.layer.tx_limit = u64::MAX;
        let mut out = [0u8; 64];
        assert_eq!(
            s.layer.seal_app_data(b"x", &mut out),
            Err(NetError::Tls(TlsFailure::Unsupported(
                "record sequence number exhausted"
            )))
        );
    });
}
