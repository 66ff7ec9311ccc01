//! The ZIP layer against independent readers: what [`Writer`] writes (Zip64
//! end records and fields, data descriptors copied raw, streamed entries) is
//! read back by [`Archive`], by the `zip` crate and by Info-ZIP's `unzip -t`
//! and `zipinfo` (a SKIP line when they are absent); and every reader of
//! content in wrapsign refuses a hostile archive through the audit.

use std::io::{Cursor, Read, Write};
use std::path::Path;
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
        eprintln!("SKIP: unzip is not installed; Info-ZIP cross-check not run");
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
        _ => eprintln!("SKIP: Info-ZIP zip is not installed; its streamed archives not checked"),
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

/// A hostile archive named `name` with a zip-slip entry, for every reader.
fn hostile(dir: &Path, name: &str, base: &[(&str, &[u8])]) -> std::path::PathBuf {
    let mut entries = base.to_vec();
    entries.push(("Payload/A.app/../../../evil", b"x"));
    let p = dir.join(name);
    std::fs::write(&p, write::stored_zip(&entries)).unwrap();
    p
}

#[test]
fn every_reader_goes_through_the_audit() {
    let dir = tempfile::tempdir().unwrap();
    let ipa = hostile(
        dir.path(),
        "a.ipa",
        &[("Payload/A.app/Info.plist", b"<plist/>")],
    );
    let unsafe_ = |code: Code, what: &str| assert_eq!(code, Code::ArchiveUnsafe, "{what}");

    // The archive itself, and its name listing stays a listing.
    let e = Archive::open_path(&ipa, &Limits::default()).unwrap_err();
    unsafe_(e.code, "Archive::open");
    assert!(names(&ipa).is_some_and(|n| n.len() == 2));
    // IPA verify (read in place) and IPA sign (extraction).
    let ctx = crate::ios::Ctx::new(time::OffsetDateTime::UNIX_EPOCH, crate::ios::Trust::apple());
    let e = crate::ios::app::open(&ipa, &ctx).unwrap_err();
    unsafe_(e.code, "ios::app::open");
    let e = crate::ios::app::open_bytes("a.ipa", std::fs::read(&ipa).unwrap(), &ctx).unwrap_err();
    unsafe_(e.code, "ios::app::open_bytes");
    let root = dir.path().join("root");
    std::fs::create_dir(&root).unwrap();
    let bar = indicatif::ProgressBar::hidden();
    let e = crate::ios::bundle::extract_ipa(&ipa, &root, &Limits::default(), &bar).unwrap_err();
    unsafe_(e.code, "ios::bundle::extract_ipa");
    assert!(
        std::fs::read_dir(&root).unwrap().next().is_none(),
        "nothing extracted"
    );
    // The device bundle.
    let mut report = crate::diag::Report::default();
    let got = crate::inventory::bulk::read_zip(
        "d.zip",
        Source::open(&ipa).unwrap(),
        &Limits::default(),
        &mut report,
    );
    assert!(got.is_none());
    unsafe_(report.findings[0].code, "inventory::bulk::read_zip");
    // APK verify and APK sign: Android's reader with the shared checks.
    let apk = hostile(
        dir.path(),
        "a.apk",
        &[("AndroidManifest.xml", b"\x03\x00\x08\x00")],
    );
    let src = Source::open(&apk).unwrap();
    match android::open(&src, &Limits::default(), false) {
        Err(android::OpenError::Archive(p)) => unsafe_(p.code, "zip::android::open"),
        _ => panic!("the APK reader accepted a zip slip"),
    }
    match crate::android::apk::verify(&apk, &crate::android::apk::Options::default()) {
        Err(crate::android::apk::Fatal::Archive(p)) => unsafe_(p.code, "android::apk::verify"),
        other => panic!("APK verify: {:?}", other.map(|o| o.verified)),
    }
    match crate::android::sign::zipout::open(&apk, &Limits::default()) {
        Err(crate::android::sign::zipout::InputError::Archive(p)) => {
            unsafe_(p.code, "android::sign::zipout::open")
        }
        _ => panic!("the APK signer accepted a zip slip"),
    }
    // A bomb is refused by every one of them before anything inflates.
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
