#!/usr/bin/env python3
"""Builds a minimal, deterministic, UNSIGNED test APK (TEST ONLY).

The binary AndroidManifest.xml is encoded here (Android's compiled "AXML"
format: string pool, resource-id map, namespace and element chunks), so each
APK carries exactly the minSdkVersion/targetSdkVersion/targetSandboxVersion
asked for. Entries: the manifest, a fake classes.dex, an uncompressed
resources.arsc, raw and asset files, and uncompressed native libraries.
Stored entries are aligned like `zipalign -p` would (4 bytes, .so on 16 KiB
pages) unless --no-align. Nothing here runs on a device; the APKs exist to be
signed by apksigner and verified by wrapsign.

    python3 make_apk.py OUT.apk --min-sdk 21 --target-sdk 34 [--sandbox 2]
        [--no-align] [--so-align 16384] [--compress-arsc] [--bulk-mb N]
        [--extract-native-libs false|true|absent]

--bulk-mb adds about N MiB of extra entries (stored random assets, deflated
text, native libraries) for benchmarks; it is seeded, so output is reproducible.
"""
import argparse
import random
import struct
import zlib

# android.R.attr resource ids
ATTR = {
    "label": 0x01010001,
    "hasCode": 0x0101000C,
    "minSdkVersion": 0x0101020C,
    "versionCode": 0x0101021B,
    "versionName": 0x0101021C,
    "targetSdkVersion": 0x01010270,
    "extractNativeLibs": 0x010104EA,
    "targetSandboxVersion": 0x0101054C,
}
ANDROID_NS = "http://schemas.android.com/apk/res/android"
NO_INDEX = 0xFFFFFFFF
TYPE_STRING, TYPE_INT_DEC, TYPE_INT_BOOLEAN = 0x03, 0x10, 0x12


class Axml:
    def __init__(self, attr_names):
        # Attribute names with resource ids come first: the resource map is
        # indexed by string-pool index.
        self.strings = list(attr_names)
        self.res_ids = [ATTR[n] for n in attr_names]
        self.body = b""

    def idx(self, s):
        if s is None:
            return NO_INDEX
        if s not in self.strings:
            self.strings.append(s)
        return self.strings.index(s)

    def node(self, typ, payload):
        # ResXMLTree_node header: type, header size 16, size, line number, comment.
        self.body += struct.pack("<HHIII", typ, 16, 16 + len(payload), 1, NO_INDEX) + payload

    def start_ns(self, prefix, uri):
        self.node(0x0100, struct.pack("<II", self.idx(prefix), self.idx(uri)))

    def end_ns(self, prefix, uri):
        self.node(0x0101, struct.pack("<II", self.idx(prefix), self.idx(uri)))

    def start(self, name, attrs):
        recs = b""
        for ns, aname, kind, value in attrs:
            if kind == "str":
                raw, typ, data = self.idx(value), TYPE_STRING, self.idx(value)
            elif kind == "bool":
                raw, typ, data = NO_INDEX, TYPE_INT_BOOLEAN, 0xFFFFFFFF if value else 0
            else:
                raw, typ, data = NO_INDEX, TYPE_INT_DEC, value & 0xFFFFFFFF
            recs += struct.pack("<IIIHBBI", self.idx(ns), self.idx(aname), raw, 8, 0, typ, data)
        payload = struct.pack("<IIHHHHHH", NO_INDEX, self.idx(name), 20, 20, len(attrs), 0, 0, 0)
        self.node(0x0102, payload + recs)

    def end(self, name):
        self.node(0x0103, struct.pack("<II", NO_INDEX, self.idx(name)))

    def finish(self):
        offsets, data = [], b""
        for s in self.strings:
            offsets.append(len(data))
            u = s.encode("utf-16-le")
            data += struct.pack("<H", len(u) // 2) + u + b"\0\0"
        data += b"\0" * (-len(data) % 4)
        header = 28
        start = header + 4 * len(offsets)
        pool = struct.pack("<HHIIIIII", 0x0001, header, start + len(data), len(offsets), 0, 0, start, 0)
        pool += b"".join(struct.pack("<I", o) for o in offsets) + data
        rmap = struct.pack("<HHI", 0x0180, 8, 8 + 4 * len(self.res_ids))
        rmap += b"".join(struct.pack("<I", r) for r in self.res_ids)
        body = pool + rmap + self.body
        return struct.pack("<HHI", 0x0003, 8, 8 + len(body)) + body


def manifest(package, min_sdk, target_sdk, sandbox, extract="false"):
    x = Axml(["label", "hasCode", "minSdkVersion", "versionCode", "versionName",
              "targetSdkVersion", "extractNativeLibs", "targetSandboxVersion"])
    x.start_ns("android", ANDROID_NS)
    root = [(ANDROID_NS, "versionCode", "int", 1), (ANDROID_NS, "versionName", "str", "1.0"),
            (None, "package", "str", package)]
    if sandbox is not None:
        root.append((ANDROID_NS, "targetSandboxVersion", "int", sandbox))
    x.start("manifest", root)
    x.start("uses-sdk", [(ANDROID_NS, "minSdkVersion", "int", min_sdk),
                         (ANDROID_NS, "targetSdkVersion", "int", target_sdk)])
    x.end("uses-sdk")
    app = [(ANDROID_NS, "label", "str", "WrapDemo"), (ANDROID_NS, "hasCode", "bool", False)]
    if extract != "absent":
        app.append((ANDROID_NS, "extractNativeLibs", "bool", extract == "true"))
    x.start("application", app)
    x.end("application")
    x.end("manifest")
    x.end_ns("android", ANDROID_NS)
    return x.finish()


DOS_TIME, DOS_DATE = 0, (2025 - 1980) << 9 | 1 << 5 | 1  # 2025-01-01 00:00


def write_zip(path, entries, align, so_align):
    """entries: (name, data, stored). Stored entries are padded (extra field of
    zeros, as zipalign does) so their data starts on the alignment."""
    out, cd = bytearray(), bytearray()
    for name, data, stored in entries:
        n = name.encode()
        if stored:
            body = data
        else:
            c = zlib.compressobj(9, zlib.DEFLATED, -15)
            body = c.compress(data) + c.flush()
        method = 0 if stored else 8
        crc = zlib.crc32(data) & 0xFFFFFFFF
        extra = b""
        if stored and align:
            a = so_align if name.endswith(".so") else 4
            extra = b"\0" * (-(len(out) + 30 + len(n)) % a)
        off = len(out)
        out += struct.pack("<IHHHHHIIIHH", 0x04034B50, 10, 0, method, DOS_TIME, DOS_DATE, crc,
                           len(body), len(data), len(n), len(extra)) + n + extra + body
        cd += struct.pack("<IHHHHHHIIIHHHHHII", 0x02014B50, 0x0314, 10, 0, method, DOS_TIME, DOS_DATE,
                          crc, len(body), len(data), len(n), 0, 0, 0, 0, 0o100644 << 16, off) + n
    cd_off = len(out)
    out += cd + struct.pack("<IHHHHIIH", 0x06054B50, 0, 0, len(entries), len(entries), len(cd), cd_off, 0)
    with open(path, "wb") as f:
        f.write(out)


def fake_so(rng, size):
    # An ELF header so tools recognise it; the rest is filler.
    head = b"\x7fELF\x02\x01\x01" + b"\0" * 9 + struct.pack("<HHI", 3, 183, 1)
    return head + rng.randbytes(size - len(head))


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("out")
    ap.add_argument("--min-sdk", type=int, default=21)
    ap.add_argument("--target-sdk", type=int, default=34)
    ap.add_argument("--sandbox", type=int)
    ap.add_argument("--package", default="com.example.wrapdemo")
    ap.add_argument("--no-align", action="store_true")
    ap.add_argument("--so-align", type=int, default=16384)
    ap.add_argument("--compress-arsc", action="store_true")
    ap.add_argument("--bulk-mb", type=int, default=0)
    # false (the samples): libraries are mapped from the APK, so they must be page-aligned.
    ap.add_argument("--extract-native-libs", choices=["false", "true", "absent"], default="false")
    a = ap.parse_args()
    rng = random.Random(20250101)
    arsc = struct.pack("<HHII", 0x0002, 12, 12, 0)  # an empty resource table
    entries = [
        ("AndroidManifest.xml", manifest(a.package, a.min_sdk, a.target_sdk, a.sandbox, a.extract_native_libs), False),
        ("classes.dex", b"dex\n035\0" + bytes(1016), False),
        ("resources.arsc", arsc, not a.compress_arsc),
        ("res/raw/blob.bin", rng.randbytes(997), True),
        ("assets/readme.txt", b"wrapsign test APK - TEST ONLY\n" * 20, False),
        ("lib/arm64-v8a/libwrap.so", fake_so(rng, 4096), True),
    ]
    remaining = a.bulk_mb << 20
    i = 0
    while remaining > 0:
        kind = i % 50
        if kind < 30:
            size = rng.randint(4 << 10, 128 << 10)
            entries.append((f"assets/bulk/{i:05}.bin", rng.randbytes(size), True))
        elif kind < 49:
            size = rng.randint(4 << 10, 64 << 10)
            words = b" ".join(rng.choice([b"wrap", b"sign", b"apk", b"verify", b"chunk", b"digest"])
                              for _ in range(size // 5))
            entries.append((f"res/raw/text{i:05}.txt", words[:size], False))
        else:
            size = rng.randint(1 << 20, 4 << 20)
            entries.append((f"lib/arm64-v8a/libbulk{i:05}.so", fake_so(rng, size), True))
        remaining -= size
        i += 1
    write_zip(a.out, entries, not a.no_align, a.so_align)


if __name__ == "__main__":
    main()
