#!/usr/bin/env bash
# Regenerates every TEST-ONLY Android keystore under signing/android, from scratch.
# Needs the JDK (keytool, and java to run the small Craft.java below); openssl only
# to list fingerprints. Passwords and contents: signing/android/README.md.
#
#   bash signing/android/generate.sh
#
# Validity dates are fixed with -startdate; keys (so fingerprints) are new on every
# run: tests read what they need from the keystores or from keystores.tsv.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
# UTF-8: keytool decodes a non-ASCII -storepass from argv with the locale's charset.
export LC_ALL=C.UTF-8 TZ=UTC
for tool in keytool java openssl; do
  command -v "$tool" >/dev/null || { echo "$tool not found (install a JDK and openssl)" >&2; exit 1; }
done

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
rm -f "$here"/*.jks "$here"/*.jceks "$here"/*.p12 "$here"/*.keystore "$here/keystores.tsv"

pass='wrapsign-test'
start='2025/01/01 00:00:00'
long=10000   # days: 2025-01-01 + 10000 = 2052-05-19, past Play's 2033-10-22

# gen FILE TYPE ALIAS "DNAME" KEYALG KEYSIZE|CURVE [extra keytool args...]
gen() {
  local file=$1 type=$2 alias=$3 dname=$4 alg=$5 size=$6
  shift 6
  local sizearg=(-keysize "$size")
  [ "$alg" = EC ] && sizearg=(-groupname "$size")
  keytool -genkeypair -noprompt -keystore "$here/$file" -storetype "$type" \
    -storepass "$pass" -keypass "$pass" -alias "$alias" -dname "$dname" \
    -keyalg "$alg" "${sizearg[@]}" -startdate "$start" -validity "$long" "$@" 2>/dev/null
}

# Clean release keys, one per format.
gen release.jks JKS release "CN=Wrapsign Release TEST,O=wrapsign test,C=US" RSA 2048
gen release.jceks JCEKS release "CN=Wrapsign Release TEST,O=wrapsign test,C=US" RSA 2048
# keytool 17's PKCS12 default: PBES2/PBKDF2/AES-256 bags, HMAC-SHA256 MAC.
gen release.p12 PKCS12 release "CN=Wrapsign Release TEST,O=wrapsign test,C=US" RSA 2048
# The pre-2021 default: RC2-40 certificates, 3DES key, SHA-1 MAC.
gen release-legacy.p12 PKCS12 release "CN=Wrapsign Release TEST,O=wrapsign test,C=US" RSA 2048 \
  -J-Dkeystore.pkcs12.legacy
gen ec-p256.jks JKS ec "CN=Wrapsign EC TEST,O=wrapsign test,C=US" EC secp256r1

# One finding each.
gen rsa1024.jks JKS weak "CN=Wrapsign RSA1024 TEST,O=wrapsign test,C=US" RSA 1024
gen dsa.jks JKS dsa "CN=Wrapsign DSA TEST,O=wrapsign test,C=US" DSA 2048
gen md5.jks JKS md5 "CN=Wrapsign MD5 TEST,O=wrapsign test,C=US" RSA 2048 -sigalg MD5withRSA
gen sha1.jks JKS sha1 "CN=Wrapsign SHA1 TEST,O=wrapsign test,C=US" RSA 2048 -sigalg SHA1withRSA
# 2015-01-01 + 3000 days = 2023-03-20: expired (and too short for Play).
keytool -genkeypair -noprompt -keystore "$here/expired.jks" -storetype JKS -storepass "$pass" \
  -keypass "$pass" -alias expired -dname "CN=Wrapsign Expired TEST,O=wrapsign test,C=US" \
  -keyalg RSA -keysize 2048 -startdate '2015/01/01 00:00:00' -validity 3000 2>/dev/null
# 2025-01-01 + 1826 days = 2030-01-01: valid today, too short for Play.
keytool -genkeypair -noprompt -keystore "$here/short.jks" -storetype JKS -storepass "$pass" \
  -keypass "$pass" -alias short -dname "CN=Wrapsign Short TEST,O=wrapsign test,C=US" \
  -keyalg RSA -keysize 2048 -startdate "$start" -validity 1826 2>/dev/null
# What Android Studio makes in ~/.android/debug.keystore (password android).
keytool -genkeypair -noprompt -keystore "$here/debug.keystore" -storetype JKS -storepass android \
  -keypass android -alias androiddebugkey -dname "CN=Android Debug,O=Android,C=US" \
  -keyalg RSA -keysize 2048 -startdate "$start" -validity "$long" 2>/dev/null

# Non-ASCII store password. JKS hashes it as UTF-16BE. keytool's PKCS#12 refuses
# non-ASCII passwords ("Password is not ASCII"), so OpenSSL (UTF-8, BMPString MAC
# key) re-exports keytool's key and certificate for the PKCS#12 one.
keytool -genkeypair -noprompt -keystore "$here/nonascii.jks" -storetype JKS -storepass 'pässwörd' \
  -keypass 'pässwörd' -alias nonascii -dname "CN=Wrapsign Non-ASCII TEST,O=wrapsign test,C=US" \
  -keyalg RSA -keysize 2048 -startdate "$start" -validity "$long" 2>/dev/null
keytool -importkeystore -noprompt -srckeystore "$here/nonascii.jks" -srcstoretype JKS \
  -srcstorepass 'pässwörd' -destkeystore "$work/ascii.p12" -deststoretype PKCS12 \
  -deststorepass "$pass" 2>/dev/null
openssl pkcs12 -in "$work/ascii.p12" -passin "pass:$pass" -nodes -out "$work/nonascii.pem" 2>/dev/null
openssl pkcs12 -export -in "$work/nonascii.pem" -name nonascii -passout 'pass:pässwörd' \
  -out "$here/nonascii.p12"

# Separate key password (JKS and JCEKS allow it; keytool's PKCS#12 does not).
for t in JKS JCEKS; do
  f=keypass.jks
  [ "$t" = JCEKS ] && f=keypass.jceks
  keytool -genkeypair -noprompt -keystore "$here/$f" -storetype "$t" -storepass "$pass" \
    -keypass 'wrapsign-key' -alias signing -dname "CN=Wrapsign Key Password TEST,O=wrapsign test,C=US" \
    -keyalg RSA -keysize 2048 -startdate "$start" -validity "$long" 2>/dev/null
done

# Several entries: a good upload key, an old weak one, a trusted CA certificate,
# and (JCEKS) an AES secret key.
gen multi.jceks JCEKS upload "CN=Wrapsign Upload TEST,O=wrapsign test,C=US" RSA 2048
keytool -genkeypair -noprompt -keystore "$here/multi.jceks" -storetype JCEKS -storepass "$pass" \
  -keypass "$pass" -alias legacy -dname "CN=Wrapsign Legacy TEST,O=wrapsign test,C=US" \
  -keyalg RSA -keysize 1024 -sigalg SHA1withRSA -startdate '2012/01/01 00:00:00' -validity 3650 2>/dev/null
keytool -importcert -noprompt -keystore "$here/multi.jceks" -storetype JCEKS -storepass "$pass" \
  -alias test-root -file "$here/../ca/test-root-ca.pem" 2>/dev/null
keytool -genseckey -noprompt -keystore "$here/multi.jceks" -storetype JCEKS -storepass "$pass" \
  -keypass "$pass" -alias aes -keyalg AES -keysize 128 2>/dev/null

# Crafted with the JDK's own classes (keytool refuses to make these):
#  - mismatch.jks: alias "mismatch" holds key A with certificate B (JavaKeyStore
#    does not check that they belong together);
#  - duplicate.jks: two key entries both named "release" (bytes rewritten, SHA-1
#    integrity digest recomputed as JavaKeyStore computes it).
cat >"$work/Craft.java" <<'EOF'
import java.io.*;
import java.nio.file.*;
import java.security.*;
import java.security.cert.Certificate;
import java.util.Arrays;

public class Craft {
    public static void main(String[] a) throws Exception {
        char[] pw = a[1].toCharArray();
        if (a[0].equals("mismatch")) {
            KeyStore src = KeyStore.getInstance("JKS");
            try (InputStream in = new FileInputStream(a[2])) { src.load(in, pw); }
            KeyStore out = KeyStore.getInstance("JKS");
            out.load(null, null);
            Key key = src.getKey("a", pw);
            Certificate[] other = src.getCertificateChain("b");
            out.setKeyEntry("mismatch", key, pw, other);
            try (OutputStream o = new FileOutputStream(a[3])) { out.store(o, pw); }
        } else {
            byte[] data = Files.readAllBytes(Paths.get(a[2]));
            byte[] from = {0, 7, 'r', 'e', 'l', 'e', 'a', 's', 'f'};
            byte[] to = {0, 7, 'r', 'e', 'l', 'e', 'a', 's', 'e'};
            int n = data.length - 20;
            for (int i = 0; i + from.length <= n; i++) {
                if (Arrays.equals(Arrays.copyOfRange(data, i, i + from.length), from)) {
                    System.arraycopy(to, 0, data, i, to.length);
                }
            }
            MessageDigest md = MessageDigest.getInstance("SHA-1");
            for (char c : pw) { md.update((byte) (c >> 8)); md.update((byte) c); }
            md.update("Mighty Aphrodite".getBytes("UTF8"));
            md.update(data, 0, n);
            System.arraycopy(md.digest(), 0, data, n, 20);
            Files.write(Paths.get(a[3]), data);
        }
    }
}
EOF
for a in a b; do
  keytool -genkeypair -noprompt -keystore "$work/pair.jks" -storetype JKS -storepass "$pass" \
    -keypass "$pass" -alias "$a" -dname "CN=Wrapsign Pair $a TEST,O=wrapsign test,C=US" \
    -keyalg RSA -keysize 2048 -startdate "$start" -validity "$long" 2>/dev/null
done
java "$work/Craft.java" mismatch "$pass" "$work/pair.jks" "$here/mismatch.jks"
for a in release releasf; do
  keytool -genkeypair -noprompt -keystore "$work/dup.jks" -storetype JKS -storepass "$pass" \
    -keypass "$pass" -alias "$a" -dname "CN=Wrapsign Duplicate $a TEST,O=wrapsign test,C=US" \
    -keyalg RSA -keysize 2048 -startdate "$start" -validity "$long" 2>/dev/null
done
java "$work/Craft.java" duplicate "$pass" "$work/dup.jks" "$here/duplicate.jks"

# keystores.tsv: what keytool itself says about every entry (alias, entry type,
# validity, SHA-256), for tests and humans.
{
  printf 'file\tstore_password\talias\tentry_type\tnot_before\tnot_after\tsha256\n'
  for f in "$here"/*.jks "$here"/*.jceks "$here"/*.p12 "$here"/*.keystore; do
    name=$(basename "$f")
    sp=$pass
    case $name in nonascii.*) sp='pässwörd' ;; debug.keystore) sp=android ;; esac
    # keytool cannot open a PKCS#12 with a non-ASCII password (see above).
    [ "$name" = nonascii.p12 ] && continue
    keytool -J-Duser.language=en -J-Duser.timezone=UTC -list -v -keystore "$f" -storepass "$sp" 2>/dev/null |
      awk -v f="$name" -v sp="$sp" '
        /^Alias name: / { alias = substr($0, 13); nb = ""; na = ""; sha = "" }
        /^Entry type: / { type = substr($0, 13) }
        /^Valid from: / && nb == "" { sub(/^Valid from: /, ""); split($0, v, " until: "); nb = v[1]; na = v[2] }
        /SHA256: / && sha == "" { sha = $2; gsub(":", "", sha); print f "\t" sp "\t" alias "\t" type "\t" nb "\t" na "\t" sha }'
  done
} >"$here/keystores.tsv"

du -cb "$here"/*.jks "$here"/*.jceks "$here"/*.p12 "$here"/*.keystore | tail -n1
