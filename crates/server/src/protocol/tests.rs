use aiextent::AiState;
use proptest::prelude::*;

use super::*;

fn requests() -> Vec<Request> {
    let tk = || ("tpcb_account".to_string(), "a0000000001".to_string());
    vec![
        Request::Hello {
            magic: MAGIC,
            version: VERSION,
            client_pid: 77,
        },
        Request::Begin,
        Request::Get {
            table: tk().0,
            key: tk().1,
        },
        Request::GetForUpdate {
            table: tk().0,
            key: tk().1,
        },
        Request::Insert {
            table: tk().0,
            key: tk().1,
            value: b"12\x00\xff".to_vec(),
        },
        Request::Update {
            table: tk().0,
            key: tk().1,
            value: Vec::new(),
        },
        Request::Delete {
            table: tk().0,
            key: tk().1,
        },
        Request::AddInteger {
            table: tk().0,
            key: tk().1,
            delta: -7,
        },
        Request::Scan { table: tk().0 },
        Request::Commit,
        Request::Rollback,
        Request::CreateTable {
            name: "t".into(),
            area: 7,
        },
        Request::Tables,
        Request::Shutdown {
            mode: ShutdownMode::Unconditional,
        },
        Request::Shutdown {
            mode: ShutdownMode::IfIdle,
        },
        Request::Shutdown {
            mode: ShutdownMode::Emergency,
        },
        Request::AiExtents,
        Request::AiNew,
        Request::Describe,
        Request::QuietEnable { nolock: false },
        Request::QuietEnable { nolock: true },
        Request::QuietDisable { markbackedup: true },
        Request::AiExtentEmpty {
            which: EmptyWhich::OldestFull,
        },
        Request::AiExtentEmpty {
            which: EmptyWhich::Number(3),
        },
        Request::AiExtentEmpty {
            which: EmptyWhich::Path("/d/db.a3".into()),
        },
        Request::ProbkupOnline {
            file: "/b/db.bk".into(),
            incremental: true,
            compress: false,
        },
        Request::AiOff,
        Request::MarkBackedup,
        Request::Archiver {
            command: ArchiverCommand::Enable {
                dirs: "/a1,/a2".into(),
                interval_secs: 120,
                dir_create: true,
            },
        },
        Request::Archiver {
            command: ArchiverCommand::Disable,
        },
        Request::Archiver {
            command: ArchiverCommand::SetDir {
                dirs: "/a3".into(),
                dir_create: false,
            },
        },
        Request::Archiver {
            command: ArchiverCommand::SetInterval { secs: 0 },
        },
        Request::Archiver {
            command: ArchiverCommand::ArchiveExtent {
                extent: "/d/db.a1".into(),
                target: "/a1/x".into(),
            },
        },
    ]
}

fn extent() -> Extent {
    Extent {
        ai_number: 2,
        area: 9,
        path: "/d/db.a2".into(),
        state: AiState::Busy,
        ai_seq: 5,
        fixed: true,
        size_kib: 512,
        used_bytes: 1234,
        open_stamp: 99,
        ai_begin_time: -1,
        busy_time: 10,
        full_time: 0,
    }
}

fn responses() -> Vec<Response> {
    vec![
        Response::HelloOk {
            magic: MAGIC,
            version: VERSION,
            server_pid: 1,
            db: "/d/db".into(),
        },
        Response::Done,
        Response::Value(None),
        Response::Value(Some(b"x".to_vec())),
        Response::Rows(vec![
            ("k1".into(), b"v".to_vec()),
            ("k2".into(), Vec::new()),
        ]),
        Response::RowsEnd,
        Response::TableList(vec![TableEntry {
            name: "t".into(),
            area: 6,
            root: 3,
        }]),
        Response::error(90512, "deadlock"),
        Response::Extents(vec![extent(), extent()]),
        Response::Switched {
            from_extent: 1,
            to_extent: 2,
            new_seq: 3,
        },
        Response::Description {
            master: vec![1; 512],
            catalogue: vec![2; 40],
            bi_size_bytes: 8192,
            extents: vec![extent()],
        },
        Response::QuietEnabled { switched: None },
        Response::QuietEnabled {
            switched: Some(QuietSwitch {
                from_extent: 1,
                to_extent: 2,
                new_seq: 7,
                to_path: "/d/db.a2".into(),
            }),
        },
        Response::QuietDisabled {
            backup_counter: None,
        },
        Response::QuietDisabled {
            backup_counter: Some(4),
        },
        Response::ExtentEmptied { extent: 3 },
        Response::BackupDone(BackupReport {
            incremental: false,
            file: "/b/db.bk".into(),
            blocks: 10,
            block_bytes: 81920,
            stored_stream_bytes: 100,
            raw_stream_bytes: 200,
            file_bytes: 300,
            backup_counter: 4,
            ai_switched_to: 7,
            elapsed_micros: 1234,
            progress: vec!["one".into(), "two".into()],
        }),
        Response::Report(vec!["a line".into()]),
        Response::Report(Vec::new()),
    ]
}

#[test]
fn flags_and_selectors_outside_their_values_are_refused() {
    for (kind, payload) in [
        (0x0011u16, vec![2u8]),
        (0x0012, vec![7]),
        (0x0013, vec![3]),
        (0x0013, vec![1, 0, 0]),
    ] {
        let e = ParsedRequest::decode(kind, &payload).unwrap_err();
        assert_eq!(e.msg_number(), 91118, "{kind:#x} {payload:?}: {e}");
    }
    let e = ParsedResponse::decode(0x800B, &[9]).unwrap_err();
    assert_eq!(e.msg_number(), 91118);
    let e = ParsedResponse::decode(0x800C, &[1, 0]).unwrap_err();
    assert_eq!(e.msg_number(), 91118);
}

#[test]
fn every_message_round_trips_through_a_frame() {
    for req in requests() {
        let (kind, payload) = req.encode();
        let bytes = encode_frame(kind, &payload);
        let ReadOutcome::Frame(frame) = read_frame(&mut &bytes[..]).unwrap().unwrap() else {
            panic!("a frame");
        };
        let back = ParsedRequest::decode(frame.kind, &frame.payload)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(back, req);
    }
    for resp in responses() {
        let (kind, payload) = resp.encode();
        let back = ParsedResponse::decode(kind, &payload)
            .unwrap()
            .validate()
            .unwrap();
        assert_eq!(back, resp);
    }
}

#[test]
fn header_checks_come_before_the_payload() {
    let (kind, payload) = Request::Begin.encode();
    let good = encode_frame(kind, &payload);

    let mut big = good.clone();
    big[0..4].copy_from_slice(&(MAX_PAYLOAD_BYTES + 1).to_le_bytes());
    let err = read_frame(&mut &big[..]).unwrap().unwrap_err();
    assert_eq!(err.msg_number(), 91114);

    let mut version = good.clone();
    version[4] = 9;
    let err = read_frame(&mut &version[..]).unwrap().unwrap_err();
    assert_eq!(err.msg_number(), 91115);

    let mut kind_bad = good.clone();
    kind_bad[6] = 0x7f;
    let err = read_frame(&mut &kind_bad[..]).unwrap().unwrap_err();
    assert_eq!(err.msg_number(), 91116);

    let (kind, payload) = Request::Scan { table: "t".into() }.encode();
    let mut flipped = encode_frame(kind, &payload);
    let last = flipped.len() - 1;
    flipped[last] ^= 1;
    let err = read_frame(&mut &flipped[..]).unwrap().unwrap_err();
    assert!(matches!(err, crate::Error::FrameChecksum { .. }), "{err}");
}

#[test]
fn validate_refuses_bad_strings_and_decode_trailing_bytes() {
    let (kind, mut payload) = Request::Scan { table: "t".into() }.encode();
    payload.push(0);
    assert_eq!(
        ParsedRequest::decode(kind, &payload)
            .unwrap_err()
            .msg_number(),
        91118
    );
    let bad = Request::<RawStr>::Scan {
        table: RawStr(vec![0xff, 0xfe]),
    };
    assert_eq!(bad.validate().unwrap_err().msg_number(), 91118);
    let long = Request::<RawStr>::Scan {
        table: RawStr(vec![b'a'; 5000]),
    };
    assert_eq!(long.validate().unwrap_err().msg_number(), 91118);
}

#[test]
fn a_count_larger_than_the_payload_is_refused_without_allocating() {
    let mut payload = u32::MAX.to_le_bytes().to_vec();
    payload.extend_from_slice(&[0; 16]);
    let rows_kind = Response::RowsEnd.encode().0 - 1;
    let err = ParsedResponse::decode(rows_kind, &payload).unwrap_err();
    assert_eq!(err.msg_number(), 91118);
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_payloads_never_panic(kind in 0u16..0x20, resp in any::<bool>(), bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let kind = if resp { kind | 0x8000 } else { kind };
        if let Ok(p) = ParsedRequest::decode(kind, &bytes) {
            let _ = p.validate();
        }
        if let Ok(p) = ParsedResponse::decode(kind, &bytes) {
            let _ = p.validate();
        }
    }

    #[test]
    fn random_streams_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let mut r = &bytes[..];
        for _ in 0..4 {
            match read_frame(&mut r) {
                Ok(Ok(ReadOutcome::Frame(_))) => {}
                _ => break,
            }
        }
    }
}
