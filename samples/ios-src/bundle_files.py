#!/usr/bin/env python3
"""Deterministic generated files of the wrapsign TEST sample app (used by samples/build-ios.sh).

    bundle_files.py info-plist OUT BUNDLE_ID   # WrapDemo.app/Info.plist, BINARY plist
    bundle_files.py png OUT                    # a tiny 8x8 RGBA PNG
"""
import plistlib
import struct
import sys
import zlib


def info_plist(bundle_id: str) -> bytes:
    d = {
        "CFBundleDevelopmentRegion": "en",
        "CFBundleDisplayName": "WrapDemo",
        "CFBundleExecutable": "WrapDemo",
        "CFBundleIdentifier": bundle_id,
        "CFBundleInfoDictionaryVersion": "6.0",
        "CFBundleName": "WrapDemo",
        "CFBundlePackageType": "APPL",
        "CFBundleShortVersionString": "1.0",
        "CFBundleSupportedPlatforms": ["iPhoneOS"],
        "CFBundleVersion": "1",
        "LSRequiresIPhoneOS": True,
        "MinimumOSVersion": "14.0",
        "UIDeviceFamily": [1, 2],
    }
    return plistlib.dumps(d, fmt=plistlib.FMT_BINARY, sort_keys=True)


def png() -> bytes:
    w = h = 8

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    rows = b"".join(
        b"\x00" + b"".join(bytes((32 * x, 32 * y, 200, 255)) for x in range(w)) for y in range(h)
    )
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, 8, 6, 0, 0, 0))
        + chunk(b"IDAT", zlib.compress(rows, 9))
        + chunk(b"IEND", b"")
    )


def main() -> None:
    cmd, out = sys.argv[1], sys.argv[2]
    if cmd == "info-plist":
        data = info_plist(sys.argv[3])
    elif cmd == "png":
        data = png()
    else:
        sys.exit(f"unknown command {cmd}")
    with open(out, "wb") as f:
        f.write(data)


if __name__ == "__main__":
    main()
