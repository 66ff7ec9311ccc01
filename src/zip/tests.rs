//! The ZIP layer against independent readers: what [`Writer`] writes (Zip64
//! end records and fields, data descriptors copied raw, streamed entries) is
//! read back by [`Archive`], by the `zip` crate and by Info-ZIP's `unzip -t`
//! and `zipinfo` (a SKIP line when they are absent); and both ways to read
//! content (an [`Archive`], the APK reader) refuse a hostile archive.

use std::io::{Cursor, Read, Write};
use std::process::Command;

use super::write::{Writer, Zip64};
use super::*;
use crate::diag::Code;

fn open(bytes: Vec<u8>) -> Archive {
    Archive::open(Source::from_bytes(bytes), &Limits::default()).expect("audit")
}

fn contents(a: &Archive) -> Vec<(String, Vec<u8>)> {
    a.entries()
        .iter()
        .map(|e| {
            let mut v = Vec::new();
            a.reader(e).unwrap().read_to_end(&mut v).unwrap();
            (e.name.clone(), v)
        })
        .collect()
}

/// Names and data as the `zip` crate reads them (CRC checked by it too).
fn zip_crate_view(bytes: &[u8]) -> Vec<(String, Vec<u8>)> {
    let mut z = ::zip::ZipArchive::new(Cursor::new(bytes)).expect("zip crate opens it");
    (0..z.len())
        .map(|i| {
            let mut f = z.by_index(i).unwrap();
            let mut v = Vec::new();
            f.read_to_end(&mut v).unwrap();
            (f.name().to_string(), v)
        })
        .collect()
}

/// `unzip -t` and `zipinfo` must accept the archive; `zipinfo -v` output is
/// returned for further checks. `None` (with a SKIP line) without Info-ZIP.
fn info_zip(bytes: &[u8]) -> Option<String> {
    if Command::new("unzip").arg("-v").output().is_err() {
        {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: unzip is not installed; Info-ZIP cross-check not run"
            );
        }
        return None;
    }
    let dir = tempfile::tempdir().unwrap();
    let p = dir.path().join("t.zip");
    std::fs::write(&p, bytes).unwrap();
    let t = Command::new("unzip").arg("-t").arg(&p).output().unwrap();
    let out = String::from_utf8_lossy(&t.stdout).into_owned();
    assert!(
        t.status.success() && out.contains("No errors detected"),
        "unzip -t: {out}{}",
        String::from_utf8_lossy(&t.stderr)
    );
    let i = Command::new("zipinfo").arg("-v").arg(&p).output().unwrap();
    assert!(
        i.status.success(),
        "zipinfo: {}",
        String::from_utf8_lossy(&i.stderr)
    );
    Some(String::from_utf8_lossy(&i.stdout).into_owned())
}

fn sample(w: &mut Writer<Cursor<Vec<u8>>>) {
    let t = DosTime::from_datetime(time::macros::datetime!(2026-06-01 12:00 UTC));
    w.add_dir("Payload", &Options::stored().time(t).permissions(0o755))
        .unwrap();
    w.add_bytes(
        "Payload/a.txt",
        b"hello hello hello",
        &Options::deflated().time(t),
    )
    .unwrap();
    w.add_bytes("Payload/s.bin", &[7u8; 1000], &Options::stored().time(t))
        .unwrap();
    w.add_symlink("Payload/link", "a.txt", &Options::stored().time(t))
        .unwrap();
    w.add_reader(
        "Payload/streamed.bin",
        Cursor::new(vec![3u8; 300_000]),
        None,
        &Options::deflated().time(t),
    )
    .unwrap();
}

#[test]
fn zip64_end_records_and_fields_round_trip() {
    let mut w = Writer::new(Cursor::new(Vec::new())).zip64(Zip64::Always);
    sample(&mut w);
    let z = w.finish().unwrap().into_inner();
    // Zip64 end record, locator, then an end record whose fields all defer to them.
    let n = z.len();
    let eocd = &z[n - 22..];
    assert_eq!(&eocd[..4], b"PK\x05\x06");
    assert_eq!(&eocd[8..20], &[0xff; 12]);
    assert_eq!(&z[n - 42..n - 38], b"PK\x06\x07");
    assert_eq!(&z[n - 98..n - 94], b"PK\x06\x06");

    let a = open(z.clone());
    assert_eq!(a.entries().len(), 5);
    let got = contents(&a);
    assert_eq!(
        got[1],
        ("Payload/a.txt".into(), b"hello hello hello".to_vec())
    );
    assert_eq!(got[4].1, vec![3u8; 300_000]);
    let link = a.entry("Payload/link").unwrap();
    assert!(link.is_symlink());
    assert_eq!(link.link_target.as_deref(), Some("a.txt"));
    assert!(a.entry("Payload/").unwrap().is_dir());
    assert_eq!(zip_crate_view(&z), got);
    if let Some(info) = info_zip(&z) {
        // Every central record carries Zip64 fields, and says it needs 4.5 to extract.
        assert_eq!(info.matches("PKWARE 64-bit sizes").count(), 5, "{info}");
        assert!(info.contains("minimum software version required to extract:   4.5"));
    }
}

#[test]
fn more_than_65535_entries_get_zip64_end_records() {
    let mut w = Writer::new(Cursor::new(Vec::new()));
    for i in 0..65_600u32 {
        w.add_bytes(&format!("f{i}"), &i.to_le_bytes(), &Options::stored())
            .unwrap();
    }
    let z = w.finish().unwrap().into_inner();
    let n = z.len();
    assert_eq!(&z[n - 42..n - 38], b"PK\x06\x07", "a Zip64 locator");
    assert_eq!(&z[n - 14..n - 12], &[0xff, 0xff], "the 16-bit count defers");
    let a = open(z.clone());
    assert_eq!(a.entries().len(), 65_600);
    assert_eq!(
        a.read(a.entry("f65599").unwrap(), 4).unwrap(),
        65_599u32.to_le_bytes()
    );
    let zr = ::zip::ZipArchive::new(Cursor::new(&z)).unwrap();
    assert_eq!(zr.len(), 65_600);
    assert_eq!(zr.name_for_index(65_599), Some("f65599"));
    info_zip(&z);
    // And an archive the zip crate wrote with its own Zip64 records.
    let mut w = ::zip::ZipWriter::new(Cursor::new(Vec::new()));
    let o = ::zip::write::SimpleFileOptions::default()
        .compression_method(::zip::CompressionMethod::Stored);
    for i in 0..65_600u32 {
        w.start_file(format!("f{i}"), o).unwrap();
    }
    let z = w.finish().unwrap().into_inner();
    assert_eq!(open(z).entries().len(), 65_600);
}

/// An archive whose entries put their CRC and sizes in data descriptors
/// after the data (as streaming writers do), with and without the optional
/// signature, deflated and stored.
fn with_descriptors(files: &[(&str, Vec<u8>)]) -> Vec<u8> {
    let mut out = Vec::new();
    let mut cd = Vec::new();
    for (i, (name, data)) in files.iter().enumerate() {
        let deflate = i % 2 == 0;
        let body = if deflate {
            let mut e = flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::new(6));
            e.write_all(data).unwrap();
            e.finish().unwrap()
        } else {
            data.clone()
        };
        let h = write::Header {
            made_by: 0x0314,
            version_needed: 20,
            flags: records::FLAG_DATA_DESCRIPTOR,
            method: if deflate {
                records::DEFLATED
            } else {
                records::STORED
            },
            time: DosTime::EPOCH,
            crc32: crc32fast::hash(data),
            compressed_size: body.len() as u64,
            size: data.len() as u64,
            name: name.as_bytes().to_vec(),
            external_attrs: 0o100644 << 16,
            offset: out.len() as u64,
            ..write::Header::default()
        };
        let mut local = h.local();
        local[14..26].fill(0); // CRC and sizes: see the descriptor
        out.extend_from_slice(&local);
        out.extend_from_slice(&body);
        if i % 3 != 1 {
            out.extend_from_slice(&records::DATA_DESCRIPTOR_SIG.to_le_bytes());
        }
        out.extend_from_slice(&h.crc32.to_le_bytes());
        out.extend_from_slice(&(body.len() as u32).to_le_bytes());
        out.extend_from_slice(&(data.len() as u32).to_le_bytes());
        cd.extend_from_slice(&h.central());
    }
    let at = out.len() as u64;
    out.extend_from_slice(&cd);
    out.extend(
        write::end_records(files.len() as u64, cd.len() as u64, at, b"", Zip64::Never).unwrap(),
    );
    out
}

#[test]
fn data_descriptors_are_checked_and_copied_raw() {
    let files: Vec<(&str, Vec<u8>)> = vec![
        ("a/one.txt", b"one one one one".to_vec()),
        (
            "a/two.bin",
            (0..50_000u32).map(|i| (i * 7 % 256) as u8).collect(),
        ),
        ("a/three", b"3".repeat(5000)),
        ("a/empty", Vec::new()),
    ];
    let z = with_descriptors(&files);
    descriptors_round_trip(&z, &files);
    // Info-ZIP's zip writing to a pipe cannot seek back: it writes descriptors too.
    let dir = tempfile::tempdir().unwrap();
    for (n, d) in &files {
        let p = dir.path().join(n);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, d).unwrap();
    }
    let mut args = vec!["-q", "-", "--"];
    args.extend(files.iter().map(|(n, _)| *n));
    match Command::new("zip")
        .args(&args)
        .current_dir(dir.path())
        .output()
    {
        Ok(o) if o.status.success() => {
            let a = open(o.stdout.clone());
            assert!(a
                .entries()
                .iter()
                .any(|e| e.flags & records::FLAG_DATA_DESCRIPTOR != 0));
            descriptors_round_trip(&o.stdout, &files);
        }
        _ => {
            use std::io::Write as _;
            let _ = writeln!(
                std::io::stderr(),
                "SKIP: Info-ZIP zip is not installed; its streamed archives not checked"
            );
        }
    }
}

fn descriptors_round_trip(z: &[u8], files: &[(&str, Vec<u8>)]) {
    let z = z.to_vec();
    let a = open(z.clone());
    for e in a.entries() {
        if e.flags & records::FLAG_DATA_DESCRIPTOR != 0 {
            assert!(
                e.record_end > e.data_end(),
                "the descriptor belongs to the entry"
            );
        }
    }
    let want: Vec<(String, Vec<u8>)> = files
        .iter()
        .map(|(n, d)| (n.to_string(), d.clone()))
        .collect();
    assert_eq!(contents(&a), want);

    // Raw copies keep the local records byte for byte, descriptors included.
    let mut w = Writer::new(Cursor::new(Vec::new()));
    for e in a.entries() {
        w.copy_entry(&a, e).unwrap();
    }
    let copy = w.finish().unwrap().into_inner();
    let b = open(copy.clone());
    for (x, y) in a.entries().iter().zip(b.entries()) {
        assert_eq!(
            &z[x.lfh_offset as usize..x.record_end as usize],
            &copy[y.lfh_offset as usize..y.record_end as usize]
        );
    }
    assert_eq!(zip_crate_view(&copy), want);
    info_zip(&copy);

    // A descriptor that contradicts the directory is refused.
    let e = a
        .entries()
        .iter()
        .find(|e| e.flags & records::FLAG_DATA_DESCRIPTOR != 0)
        .unwrap();
    let mut bad = z.clone();
    // Its CRC, after the optional signature.
    let at = e.record_end as usize - 12;
    bad[at] ^= 0xff;
    let p = Archive::open(Source::from_bytes(bad), &Limits::default()).unwrap_err();
    assert_eq!(p.code, Code::ArchiveInconsistent, "{p:?}");
}

#[test]
fn files_stream_through_the_writer() {
    let dir = tempfile::tempdir().unwrap();
    let big: Vec<u8> = (0..6_000_000u32).map(|i| (i % 253) as u8).collect();
    let p = dir.path().join("big.bin");
    std::fs::write(&p, &big).unwrap();
    let mut w = Writer::new(Cursor::new(Vec::new()));
    w.add_file("big.bin", &p, &Options::stored()).unwrap();
    w.add_file("big.z", &p, &Options::deflated()).unwrap();
    let z = w.finish().unwrap().into_inner();
    let a = open(z.clone());
    // Stored entries are the file's bytes, in place.
    let e = a.entry("big.bin").unwrap();
    assert_eq!(e.method, records::STORED);
    assert_eq!(&z[e.data_offset as usize..e.data_end() as usize], &big[..]);
    assert_eq!(contents(&a)[1].1, big);
    assert_eq!(zip_crate_view(&z)[1].1, big);
    info_zip(&z);
}

#[test]
fn the_writer_refuses_what_readers_refuse() {
    let mut w = Writer::new(Cursor::new(Vec::new()));
    for bad in ["../x", "/abs", "a\\b", ""] {
        assert!(
            w.add_bytes(bad, b"x", &Options::stored()).is_err(),
            "{bad:?}"
        );
    }
    w.add_bytes("a", b"x", &Options::stored()).unwrap();
    assert!(
        w.add_dir("a", &Options::stored()).is_err(),
        "a folder named like a file"
    );
    let z = w.finish().unwrap().into_inner();
    assert_eq!(open(z).entries().len(), 1);
}

#[test]
fn both_ways_in_go_through_the_audit() {
    // Content is read through Archive (audited) or the APK reader (the shared
    // checks); tests/it/zip_readers.rs checks every reader built on them.
    let slip = write::stored_zip(&[("AndroidManifest.xml", b"x"), ("a/../../evil", b"y")]);
    let p = Archive::open(Source::from_bytes(slip.clone()), &Limits::default()).unwrap_err();
    assert_eq!(p.code, Code::ArchiveUnsafe);
    match android::open(&Source::from_bytes(slip.clone()), &Limits::default(), false) {
        Err(android::OpenError::Archive(p)) => assert_eq!(p.code, Code::ArchiveUnsafe),
        _ => panic!("the APK reader accepted a zip slip"),
    }
    // The name listing (to tell an IPA from an APK) reads no content.
    assert_eq!(
        names_of(&Source::from_bytes(slip)).map(|n| n.len()),
        Some(2)
    );
    // A bomb is refused by both before anything inflates.
    let small = Limits {
        max_expanded: 4,
        ..Limits::default()
    };
    let fine = write::stored_zip(&[("Payload/A.app/Info.plist", b"<plist/>")]);
    let p = Archive::open(Source::from_bytes(fine.clone()), &small).unwrap_err();
    assert_eq!(p.code, Code::ArchiveBomb);
    assert!(matches!(
        android::open(&Source::from_bytes(fine), &small, false),
        Err(android::OpenError::Archive(_))
    ));
}

/// The audit's verdicts, case by case.
mod audit_cases {
    use crate::diag::Code;
    use crate::zip::audit::*;
    use crate::zip::write::stored_zip;
    use crate::zip::{Archive, Source};

    fn audit_bytes(b: &[u8]) -> Result<Archive, Problem> {
        Archive::open(Source::from_bytes(b.to_vec()), &Limits::default())
    }

    fn code(b: &[u8]) -> Code {
        match audit_bytes(b) {
            Ok(_) => panic!("accepted"),
            Err(p) => p.code,
        }
    }

    #[test]
    fn sane_archives_pass() {
        let z = stored_zip(&[
            ("Payload/A.app/Info.plist", b"<plist/>"),
            ("Payload/A.app/x", b""),
        ]);
        let a = audit_bytes(&z).unwrap();
        assert_eq!(a.entries().len(), 2);
        assert_eq!(a.entries()[0].name, "Payload/A.app/Info.plist");
        assert_eq!(a.expanded(), 8);
        assert_eq!(
            code(b"not a zip at all, but long enough to look"),
            Code::InputUnreadable
        );
    }

    #[test]
    fn names_that_escape_or_repeat() {
        for bad in [
            "../x",
            "a/../../x",
            "/etc/passwd",
            "C:/x",
            "a\\b",
            "a\0b",
            "",
        ] {
            let z = stored_zip(&[("ok", b"1"), (bad, b"2")]);
            assert_eq!(code(&z), Code::ArchiveUnsafe, "{bad:?}");
        }
        let z = stored_zip(&[("a/b", b"1"), ("a/b", b"2")]);
        assert_eq!(code(&z), Code::ArchiveUnsafe);
        // A folder entry and a file of the same name.
        let z = stored_zip(&[("a/", b""), ("a", b"2")]);
        assert_eq!(code(&z), Code::ArchiveUnsafe);
        assert!(unsafe_name(b"a/..b/c..").is_none());
    }

    #[test]
    fn bombs_by_size_and_ratio() {
        let z = stored_zip(&[("a", &[0u8; 2048])]);
        let small = Limits {
            max_expanded: 1024,
            ..Limits::default()
        };
        let p = Archive::open(Source::from_bytes(z.clone()), &small).unwrap_err();
        assert_eq!(p.code, Code::ArchiveBomb);
        // A deflated entry declaring 4 GB: the ratio gives it away before anything inflates.
        let mut z = stored_zip(&[("big", b"xx")]);
        let cd = z.len() - 22 - 46 - 3;
        z[cd + 10] = 8; // method: deflate
        z[cd + 24..cd + 28].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        z[8] = 8;
        z[22..26].copy_from_slice(&0xffff_0000u32.to_le_bytes());
        let p = audit_bytes(&z).unwrap_err();
        assert_eq!(p.code, Code::ArchiveBomb, "{p:?}");
        assert_eq!(p.entry.as_deref(), Some("big"));
    }

    #[test]
    fn truncation_names_the_entry() {
        let z = stored_zip(&[("first", &[1u8; 100]), ("second", &[2u8; 100])]);
        let p = audit_bytes(&z[..180]).unwrap_err();
        assert_eq!(p.code, Code::ArchiveTruncated);
        assert_eq!(p.entry.as_deref(), Some("second"));
        assert!(
            p.message.contains("ends inside the entry \"second\""),
            "{}",
            p.message
        );
        // Cut inside the second local header: after the first entry.
        let p = audit_bytes(&z[..150]).unwrap_err();
        assert!(
            p.message.contains("ends after the entry \"first\""),
            "{}",
            p.message
        );
        let p = audit_bytes(&z[..10]).unwrap_err();
        assert_eq!(p.code, Code::ArchiveTruncated);
        // Every cut is an error, never a panic.
        for n in 0..z.len() {
            assert!(audit_bytes(&z[..n]).is_err(), "{n}");
        }
    }

    #[test]
    fn directory_and_headers_must_agree() {
        let z = stored_zip(&[("a.txt", b"hello"), ("b.txt", b"world")]);
        // The local header of b.txt says another name.
        let mut m = z.clone();
        let at = m.windows(5).rposition(|w| w == b"b.txt").unwrap();
        let lfh = m.windows(5).position(|w| w == b"b.txt").unwrap();
        assert!(lfh < at);
        m[lfh] = b'c';
        assert_eq!(code(&m), Code::ArchiveInconsistent);
        // The end record counts one entry: the second is hidden from some readers.
        let mut h = z.clone();
        let n = h.len();
        h[n - 12] = 1;
        h[n - 14] = 1;
        assert_eq!(code(&h), Code::ArchiveInconsistent);
        // Both records point at the same bytes (overlap).
        let mut o = z.clone();
        let cd = n - 22 - (46 + 5) * 2;
        let second = cd + 46 + 5;
        o[second + 42..second + 46].copy_from_slice(&0u32.to_le_bytes());
        o[second + 46] = b'a';
        assert!(audit_bytes(&o).is_err());
        // Every single-byte corruption is an error or a sane archive, never a panic.
        for i in 0..z.len() {
            let mut c = z.clone();
            c[i] ^= 0x5a;
            let _ = audit_bytes(&c);
        }
    }

    #[test]
    fn links_stay_inside() {
        assert_eq!(
            resolve_link("P/A.app/F.framework/Current", "A").as_deref(),
            Some("P/A.app/F.framework/A")
        );
        assert_eq!(resolve_link("P/x", "../../y"), None);
        assert_eq!(resolve_link("P/x", "/etc"), None);
        let a = audit_bytes(&stored_zip(&[("Payload/A.app/l", b"x")])).unwrap();
        let mut entries = a.entries().to_vec();
        entries[0].link_target = Some("../../../etc".into());
        assert_eq!(
            check_links(&entries, Some("Payload/A.app"))
                .unwrap_err()
                .code,
            Code::ArchiveUnsafe
        );
        entries[0].link_target = Some("Info.plist".into());
        assert!(check_links(&entries, Some("Payload/A.app")).is_ok());
        entries[0].link_target = Some("../B.app/x".into());
        assert!(check_links(&entries, Some("Payload/A.app")).is_err());
    }

    #[test]
    fn sizes_parse() {
        assert_eq!(parse_size("8G"), Ok(8 << 30));
        assert_eq!(parse_size("512m"), Ok(512 << 20));
        assert_eq!(parse_size("100"), Ok(100));
        assert!(parse_size("0").is_err());
        assert!(parse_size("lots").is_err());
        assert!(parse_size("99999999999T").is_err());
    }
}

/// Streaming reads: every refill, lies refused, entries read in parallel.
mod reading {
    use crate::zip::read::*;
    use crate::zip::write::{Options, Writer};
    use crate::zip::{Limits, Source};
    use std::io::Cursor;
    use std::io::Read;

    fn archive(entries: &[(&str, &[u8], bool)]) -> Vec<u8> {
        let mut w = Writer::new(Cursor::new(Vec::new()));
        for (name, data, deflate) in entries {
            let o = if *deflate {
                Options::deflated()
            } else {
                Options::stored()
            };
            w.add_bytes(name, data, &o).unwrap();
        }
        w.finish().unwrap().into_inner()
    }

    #[test]
    fn entries_stream_and_check() {
        let big: Vec<u8> = (0..300_000u32).map(|i| (i % 251) as u8).collect();
        let z = archive(&[
            ("a.txt", b"hello", true),
            ("big", &big, true),
            ("s", &big, false),
        ]);
        let a = Archive::open(Source::from_bytes(z), &Limits::default()).unwrap();
        for e in a.entries() {
            let mut v = Vec::new();
            // One byte at a time, to exercise every refill.
            let mut r = a.reader(e).unwrap();
            let mut b = [0u8; 7];
            loop {
                let n = r.read(&mut b).unwrap();
                if n == 0 {
                    break;
                }
                v.extend_from_slice(&b[..n]);
            }
            let want: &[u8] = if e.name == "a.txt" { b"hello" } else { &big };
            assert_eq!(v, want, "{}", e.name);
        }
        assert_eq!(a.read(a.entry("a.txt").unwrap(), 5).unwrap(), b"hello");
        assert!(a.read(a.entry("a.txt").unwrap(), 4).is_err());
    }

    #[test]
    fn lies_are_refused_while_reading() {
        let z = archive(&[("a.txt", b"hello world hello world", true)]);
        let a = Archive::open(Source::from_bytes(z.clone()), &Limits::default()).unwrap();
        let mut e = a.entries()[0].clone();
        let mut sink = Vec::new();
        e.size = 5;
        let err = a.reader(&e).unwrap().read_to_end(&mut sink).unwrap_err();
        assert!(
            matches!(DataError::of(&err), Some(DataError::TooLong { .. })),
            "{err}"
        );
        e.size = 500;
        let err = a.reader(&e).unwrap().read_to_end(&mut sink).unwrap_err();
        assert!(
            matches!(DataError::of(&err), Some(DataError::TooShort { .. })),
            "{err}"
        );
        e.size = 23;
        e.crc32 ^= 1;
        let err = a.reader(&e).unwrap().read_to_end(&mut sink).unwrap_err();
        assert!(
            matches!(DataError::of(&err), Some(DataError::Crc { .. })),
            "{err}"
        );
        e.method = 12;
        assert!(a.reader(&e).is_err());
    }

    #[test]
    fn entries_read_in_parallel() {
        use rayon::prelude::*;
        let files: Vec<(String, Vec<u8>)> = (0..64u32)
            .map(|i| (format!("f{i}"), vec![i as u8; 10_000 + i as usize * 997]))
            .collect();
        let mut w = Writer::new(Cursor::new(Vec::new()));
        for (n, d) in &files {
            w.add_bytes(n, d, &Options::deflated()).unwrap();
        }
        let z = w.finish().unwrap().into_inner();
        let a = Archive::open(Source::from_bytes(z), &Limits::default()).unwrap();
        let got: Vec<u32> = a
            .entries()
            .par_iter()
            .map(|e| {
                let mut h = crc32fast::Hasher::new();
                let mut r = a.reader(e).unwrap();
                let mut buf = [0u8; 4096];
                loop {
                    let n = r.read(&mut buf).unwrap();
                    if n == 0 {
                        break;
                    }
                    h.update(&buf[..n]);
                }
                h.finalize()
            })
            .collect();
        let want: Vec<u32> = files.iter().map(|(_, d)| crc32fast::hash(d)).collect();
        assert_eq!(got, want);
    }
}
