//! The catalogue of finding names. Each name is stable (tests, baselines and CI
//! configuration refer to it), has a default severity, and carries its own
//! explanation: a title, why it matters (what breaks) and the fix.
//! `wrapsign explain NAME` prints these; adding a check means adding a line here.

use super::severity::Severity;

macro_rules! codes {
    ($( $variant:ident = $name:literal, $sev:ident,
        title: $title:literal, why: $why:literal, fix: $fix:literal; )*) => {
        /// A stable finding name.
        #[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash)]
        pub enum Code { $($variant),* }

        impl Code {
            pub const ALL: &'static [Code] = &[$(Code::$variant),*];

            pub fn name(self) -> &'static str {
                match self { $(Code::$variant => $name),* }
            }
            pub fn default_severity(self) -> Severity {
                match self { $(Code::$variant => Severity::$sev),* }
            }
            pub fn title(self) -> &'static str {
                match self { $(Code::$variant => $title),* }
            }
            pub fn why(self) -> &'static str {
                match self { $(Code::$variant => $why),* }
            }
            pub fn fix(self) -> &'static str {
                match self { $(Code::$variant => $fix),* }
            }
            pub fn from_name(name: &str) -> Option<Code> {
                match name {
                    $($name => Some(Code::$variant),)*
                    // Former names, so old baselines, [levels] and --allow keep working.
                    "keystore-password-wrong" => Some(Code::PasswordWrong),
                    _ => None,
                }
            }
        }
    };
}

impl Code {
    /// The former name of [`Code::PasswordWrong`], which now covers every container.
    #[allow(non_upper_case_globals)]
    pub const KeystorePasswordWrong: Code = Code::PasswordWrong;
}

codes! {
    // ---- any input ----
    InputUnreadable = "input-unreadable", Error,
        title: "An input could not be read",
        why: "wrapsign could not open or decode a file it was asked to check (missing, truncated, wrong password, not the format it claims to be), so nothing about it could be verified.",
        fix: "Check the path, the password source (pass:, env:, file:, stdin) and that the file is complete; re-export it from the original source if it is damaged.";

    ArchiveUnsafe = "archive-unsafe", Error,
        title: "An archive entry would escape its folder, or is ambiguous",
        why: "Entries with `..`, absolute paths, drive letters, backslashes or NUL bytes (zip slip), and symbolic links pointing outside the bundle, can overwrite or expose files outside the extraction folder; an entry name that appears twice lets one tool check one copy while another installs the other. Such an archive is hostile or broken.",
        fix: "Rebuild the archive with a standard tool (xcodebuild -exportArchive, ditto, zip, the Android build); never wrap or sign an archive from an untrusted source that contains such entries.";
    ArchiveBomb = "archive-bomb", Error,
        title: "An archive expands far beyond its size (zip bomb)",
        why: "Its entries declare more bytes than --max-expanded-size (8 GiB by default), or expand more than --max-expand-ratio (100) times their compressed size; extracting or hashing it would fill the disk or run for hours. Real IPAs and APKs expand a few times at most.",
        fix: "Do not process the archive; if it comes from a trusted build and really is that large, raise --max-expanded-size or --max-expand-ratio for this run.";
    ArchiveInconsistent = "archive-inconsistent", Error,
        title: "An archive's records contradict each other",
        why: "A local header disagrees with its central directory record (name, sizes, CRC, method), entries overlap (the non-recursive zip bomb), the directory holds more or fewer records than counted, or an entry's data does not inflate to its declared size and CRC. Tools that read the archive differently see different files, which is how signature checks are bypassed.",
        fix: "Rebuild the archive with a standard tool from the original build output, or download it again; never sign or ship one that tools read differently.";
    ArchiveTruncated = "archive-truncated", Error,
        title: "An archive was cut short",
        why: "The file ends inside an entry or before its central directory, usually after an interrupted download, upload or copy; what is missing cannot be checked or signed.",
        fix: "Fetch or export the archive again and compare its size (and checksum) with the original.";

    // ---- iOS signing certificates ----
    CertExpired = "cert-expired", Error,
        title: "The signing certificate has expired",
        why: "Apps cannot be signed or wrapped with an expired certificate, and an expired enterprise distribution certificate stops every app signed with it from launching.",
        fix: "Create a new certificate in the Apple Developer portal (or renew the CA-issued one), export it with its private key as .p12, regenerate the provisioning profiles to include it, and re-sign the apps.";
    CertNotYetValid = "cert-not-yet-valid", Error,
        title: "The signing certificate is not valid yet",
        why: "Its validity period starts after the verification time; signing or installing before then fails.",
        fix: "Check the clock and the --at time; if the certificate was issued with a future start date, wait or issue a new one.";
    CertExpiring = "cert-expiring", Warning,
        title: "The signing certificate expires soon",
        why: "When it expires, signing stops working and (for enterprise distribution) installed apps stop launching.",
        fix: "Renew it now: create a new certificate, add it to the provisioning profiles and re-sign before the old one expires.";
    CertNotDistribution = "cert-not-distribution", Error,
        title: "The certificate is not a distribution certificate",
        why: "Wrapping and shipping need an Apple/iPhone Distribution certificate; a development, push or other certificate produces apps that only run on registered devices, or not at all.",
        fix: "Use the team's Apple Distribution (or iPhone Distribution) certificate and its private key.";
    CertKeyMismatch = "cert-key-mismatch", Error,
        title: "The private key does not belong to the certificate",
        why: "Signatures made with this key will not verify against the certificate, so every signed app is rejected at install.",
        fix: "Export the certificate together with its own private key (Keychain Access: export the identity as .p12), or pass the matching --key.";
    CertKeyMissing = "cert-key-missing", Error,
        title: "The identity has no private key",
        why: "A certificate alone cannot sign; the .p12 was exported without its private key (a common Keychain Access mistake).",
        fix: "Export the identity from the Mac that created the signing request (My Certificates, with the key), or pass --key.";
    CertUntrusted = "cert-untrusted", Error,
        title: "The certificate does not chain to a trusted root",
        why: "Devices only accept code signed by certificates issued under Apple's root (or an enterprise CA configured with --trust-root); others are rejected at install.",
        fix: "Use a certificate issued by Apple WWDR; if it is, include the intermediate certificate in the .p12 or install the current WWDR intermediate.";

    ChainIncomplete = "chain-incomplete", Error,
        title: "The certificate's chain is missing an intermediate",
        why: "The issuer of a certificate in the chain is neither in the file nor among Apple's known intermediates, so the chain to a trusted root cannot be built; signing tools and devices reject such identities.",
        fix: "Export the identity with its intermediate certificate (or install the current Apple WWDR intermediate); if the missing issuer is your own root CA, pass it with --trust-root.";
    CertIssuerRetired = "cert-issuer-retired", Error,
        title: "The certificate was issued by a retired intermediate",
        why: "An intermediate in its chain has expired (Apple's WWDR G1 did on 2023-02-07); signatures made with this certificate no longer chain to a valid root.",
        fix: "Create a new certificate, which Apple issues from a current WWDR intermediate, and regenerate the profiles with it.";

    CertRevoked = "cert-revoked", Error,
        title: "The certificate has been revoked",
        why: "Its CA's OCSP responder says it is revoked (checked only with --online); Apple revokes distribution certificates on request or abuse, and every app signed with a revoked enterprise certificate stops launching.",
        fix: "Create a new certificate, regenerate the profiles with it and re-sign every app; find out why it was revoked.";
    RevocationUnknown = "revocation-unknown", Warning,
        title: "The OCSP responder does not know the certificate",
        why: "The responder named in the certificate answered \"unknown\": it did not issue it, or does not track it. The certificate may be forged or from another CA.",
        fix: "Check that the certificate really comes from the CA it names; re-download it from the developer portal.";
    OcspUnavailable = "ocsp-unavailable", Warning,
        title: "Revocation could not be checked",
        why: "--online asked for an OCSP check, but the responder could not be reached in time or gave an unusable answer, so revocation is unknown.",
        fix: "Check network access to the responder URL (plain HTTP) or raise --ocsp-timeout; run again later.";

    // ---- provisioning profiles ----
    ProfileExpired = "profile-expired", Error,
        title: "The provisioning profile has expired",
        why: "Apps carrying an expired profile will not install, and installed enterprise apps stop launching.",
        fix: "Regenerate the profile in the Apple Developer portal (or Xcode), download it, and re-sign the app with it.";
    ProfileExpiring = "profile-expiring", Warning,
        title: "The provisioning profile expires soon",
        why: "When it expires, apps signed with it stop installing or launching.",
        fix: "Regenerate the profile now and re-sign the apps before the expiry date.";
    ProfileSignatureInvalid = "profile-signature-invalid", Error,
        title: "The profile's CMS signature does not verify",
        why: "The profile was modified after Apple signed it (or is damaged); iOS refuses to install it.",
        fix: "Download a fresh copy of the profile from the Apple Developer portal; never edit a .mobileprovision by hand.";
    ProfileUntrusted = "profile-untrusted", Error,
        title: "The profile is not signed by Apple",
        why: "Its signer does not chain to Apple's root (or to a --trust-root), so devices will not accept it.",
        fix: "Use a profile downloaded from the Apple Developer portal; for a test CA, pass it with --trust-root.";
    ProfileSignerExpired = "profile-signer-expired", Info,
        title: "The profile was signed with a since-expired Apple certificate",
        why: "Profiles made before 2022 were signed through an Apple intermediate that expired on 2022-04-12; the signature was valid when made and iOS still honours the profile until its own ExpirationDate.",
        fix: "Nothing is required; regenerating the profile moves it to Apple's current signing chain.";
    ProfileWildcardAppId = "profile-wildcard-app-id", Error,
        title: "The profile uses a wildcard App ID",
        why: "App wrapping (MDX) and most capabilities (push, app groups, keychain sharing) need one explicit App ID per app; a wildcard profile silently drops them.",
        fix: "Create an explicit App ID (TEAMID.com.company.app) and a profile for it; downgrade this check with --warn profile-wildcard-app-id if a wildcard is intended.";
    ProfileTeamMismatch = "profile-team-mismatch", Error,
        title: "The profile belongs to another team",
        why: "The certificate's team, the profile's team and the app's team must all agree or the signature is rejected at install.",
        fix: "Use a profile from the same team as the distribution certificate.";
    ProfileCertMissing = "profile-cert-missing", Error,
        title: "The certificate is not in the profile",
        why: "A profile only authorises the certificates listed in its DeveloperCertificates; an app signed with any other certificate fails to install (\"provisioning profile doesn't include signing certificate\").",
        fix: "Edit the profile in the Apple Developer portal, tick this certificate, regenerate and download it; or sign with a certificate the profile lists.";
    ProfileTypeMismatch = "profile-type-mismatch", Error,
        title: "The profile type does not fit the certificate",
        why: "Distribution profiles (app-store, ad-hoc, enterprise) need a distribution certificate; development profiles need a development certificate. A mixed pair cannot produce an installable app.",
        fix: "Pair the distribution certificate with a distribution (enterprise or ad-hoc) profile, or use the matching development certificate.";
    ProfileMissing = "profile-missing", Error,
        title: "A bundle has no provisioning profile",
        why: "Every app and app extension needs its own profile whose App ID matches its bundle id; without one it cannot be installed.",
        fix: "Create an explicit App ID and profile for this bundle id and pass it with --profile.";
    ProfileSelected = "profile-selected", Info,
        title: "Which profile was chosen for a target, and why",
        why: "With several candidate profiles (--profiles-dir), each app, extension and watch app gets the best one: explicit App ID before wildcard, then the most specific, then one listing the signing certificate, then the one valid longest. Extensions that silently get the wrong profile are a classic cause of failed installs.",
        fix: "Nothing to fix; read the notes to see why the other candidates were not used.";
    BundleIdMismatch = "bundle-id-mismatch", Error,
        title: "The bundle id does not match the profile's App ID",
        why: "iOS installs an app only if its CFBundleIdentifier matches the application-identifier of its embedded profile.",
        fix: "Use the profile made for this bundle id, or change the bundle id when re-signing (wrapsign sign --bundle-id).";
    EntitlementNotAllowed = "entitlement-not-allowed", Error,
        title: "The app claims an entitlement its profile does not grant",
        why: "iOS refuses to launch an app whose signed entitlements exceed its profile (\"The executable was signed with invalid entitlements\").",
        fix: "Enable the capability on the App ID and regenerate the profile, or re-sign with entitlements derived from the profile (wrapsign sign does this).";
    AppUnsigned = "app-unsigned", Warning,
        title: "The app's executable is not signed",
        why: "An unsigned app cannot be installed; it is expected only before wrapping re-signs it.",
        fix: "Sign it with wrapsign sign (or re-sign after wrapping).";
    AppExecutableMissing = "app-executable-missing", Error,
        title: "A bundle's executable is missing",
        why: "Info.plist names a CFBundleExecutable that is not in the bundle; the app cannot be signed or launched.",
        fix: "Rebuild or re-export the app; check that packaging did not drop the binary.";
    AppSignerNotInProfile = "app-signer-not-in-profile", Error,
        title: "The app was signed with a certificate its profile does not list",
        why: "iOS checks that the certificate that signed the executable is in the embedded profile's DeveloperCertificates; otherwise installation fails.",
        fix: "Re-sign the app with a certificate listed in the profile, or regenerate the profile to include the signing certificate.";

    // ---- iOS code signatures (does the signature still seal the app?) ----
    AppCodeModified = "app-code-modified", Error,
        title: "A Mach-O no longer matches its code signature",
        why: "A code page, or a file or blob sealed by a special slot (Info.plist -1, requirements -2, CodeResources -3, entitlements -5/-7), no longer has the hash its CodeDirectory records: the code was changed after it was signed. iOS refuses to install or launch it (\"code digest mismatch\").",
        fix: "Rebuild the app, or re-sign it (wrapsign sign) from a copy you trust; never patch a signed binary or its Info.plist.";
    AppResourcesModified = "app-resources-modified", Error,
        title: "The app's files differ from its resource seal",
        why: "A file sealed by the bundle's _CodeSignature/CodeResources was changed or removed, a file the rules seal was added, or the bundle's resources are not sealed at all. iOS refuses to install an app whose resource seal is broken (\"a sealed resource is missing or invalid\").",
        fix: "Rebuild the app, or re-sign it after the change (wrapsign sign seals every file again); when wrapping adds files, sign after wrapping.";
    AppNestedCodeModified = "app-nested-code-modified", Error,
        title: "A nested bundle changed after its parent sealed it",
        why: "An extension, framework or watch app was re-signed alone or replaced after the app around it was signed: its code still verifies on its own, but the parent's seal records other bytes or another CodeDirectory hash (cdhash). iOS refuses to install the app.",
        fix: "Re-sign the whole app in one run (wrapsign sign signs nested bundles first, then their parents).";
    AppSignatureInvalid = "app-signature-invalid", Error,
        title: "A code signature is malformed or does not verify",
        why: "The signature blob cannot be read, the CMS signature does not verify over the CodeDirectory, or Apple's CDHashes attributes disagree with the CodeDirectories (an alternate CodeDirectory swapped in). iOS refuses the code.",
        fix: "Re-sign the app with wrapsign sign (or Xcode); if it was signed by a tool, check that tool's output with wrapsign verify before shipping.";
    AppSignerUntrusted = "app-signer-untrusted", Error,
        title: "The app's signer is not trusted at the verification time",
        why: "The certificate that signed the code does not chain to Apple's root (or a --trust-root), or it or an intermediate is expired or not yet valid at --at. Devices refuse such signatures.",
        fix: "Re-sign with a valid distribution identity issued by Apple (or by the enterprise CA passed with --trust-root).";
    AppTeamMismatch = "app-team-mismatch", Error,
        title: "The code's team does not match its signer or the app",
        why: "A CodeDirectory names a team other than its signing certificate's (subject OU), or nested code is signed for another team than the main app. iOS refuses the signature, or refuses to load the other team's code (library validation).",
        fix: "Re-sign the whole app with one identity of the right team.";
    AppAdhocSigned = "app-adhoc-signed", Error,
        title: "Code is ad-hoc signed",
        why: "The code has a CodeDirectory but no CMS signature (no signer): devices run it only when its cdhash is trusted by other means (a trust cache, a development profile with this cdhash), never as a distributed app.",
        fix: "Sign the app with a distribution identity (wrapsign sign).";
    AppCodeUnsigned = "app-code-unsigned", Error,
        title: "A Mach-O of a signed app is not signed",
        why: "An executable, dylib or bundle binary inside a signed app has no code signature (or one slice of it has none). iOS refuses to load unsigned code, so the app crashes or does not install.",
        fix: "Re-sign the whole app (wrapsign sign signs every Mach-O, nested ones first).";
    AppIdentifierMismatch = "app-identifier-mismatch", Error,
        title: "A bundle's executable is signed under another identifier",
        why: "The CodeDirectory identifier of a bundle's main executable is not its CFBundleIdentifier: the signature was made for another bundle, or the Info.plist was edited after signing.",
        fix: "Re-sign the app after changing the bundle id (wrapsign sign --bundle-id does both).";

    // ---- Android keystores ----
    KeystoreCertExpired = "keystore-cert-expired", Error,
        title: "A keystore certificate has expired",
        why: "Google Play refuses uploads signed with an expired certificate and jarsigner flags the signature. Android itself ignores the dates, so the key still decides who can update installed apps: it has to be rotated, not simply replaced.",
        fix: "For an app already on devices you cannot change the key without APK key rotation (v3) or Play App Signing: rotate with `wrapsign rotate` and `wrapsign sign --lineage` (or apksigner) or upgrade the key in Play Console. For a new app, create a new key (keytool -genkeypair -validity 10000).";
    KeystoreCertNotYetValid = "keystore-cert-not-yet-valid", Error,
        title: "A keystore certificate is not valid yet",
        why: "Its validity period starts after the verification time; jarsigner and Google Play refuse it until then, and a wrong start date usually means the key was made on a machine with a wrong clock.",
        fix: "Check the clock and --at; otherwise recreate the key with a correct start date.";
    KeystoreCertExpiring = "keystore-cert-expiring", Warning,
        title: "A keystore certificate expires soon",
        why: "Once it expires, Google Play stops accepting uploads signed with it, and an app's signing key cannot simply be replaced: updates must keep the same key or use key rotation.",
        fix: "Plan the key rotation now (APK Signature Scheme v3 lineage with `wrapsign rotate` and `wrapsign sign --lineage`, or Play App Signing key upgrade) before the expiry date.";
    KeystoreValidityTooShort = "keystore-validity-too-short", Error,
        title: "The signing certificate expires before Google Play's minimum date",
        why: "Google Play rejects apps whose signing certificate's validity ends before 22 October 2033, and an app's key can never be swapped for a longer-lived one without key rotation.",
        fix: "Create the key with a long validity (keytool -genkeypair -validity 10000, about 27 years). For enterprise-only keys that never go to Play, downgrade with --warn keystore-validity-too-short or --allow it; --play-min-validity sets the date.";
    WeakKey = "weak-key", Error,
        title: "A signing key is weak",
        why: "RSA keys under 2048 bits can be factored with affordable computing, and DSA keys are deprecated (Play's upload key must be RSA 2048 or more). Whoever recovers the key can publish updates to every installed copy of the app. Checked on keystore keys and on every certificate that signs an APK (each scheme's signer and each certificate of its rotation lineage; an ancestor that no longer signs any supported Android version is a warning, since only its lineage capabilities remain).",
        fix: "Create a new RSA 3072/4096 or EC P-256 key and move the app to it with APK key rotation (`wrapsign rotate`, then `wrapsign sign --lineage`) or Play App Signing's key upgrade.";
    WeakDigest = "weak-digest", Error,
        title: "A signature uses a weak digest (MD5 or SHA-1)",
        why: "MD5 (always an error) and SHA-1 (a warning) signatures can be forged by collision. For a keystore this is the certificate's own signature: Android ignores it, but JDK tools (jarsigner, keytool) treat MD5-signed certificates as disabled and warn on SHA-1. For an APK it is the v1 (JAR) signature itself, which Android checks on every version below 7.0: MD5withRSA is accepted by Android yet refused by current jarsigner, and SHA-1 is only needed when the APK supports API levels below 18, where SHA-256 JAR signatures are not verified.",
        fix: "Keystore: re-issue the certificate for the same key with SHA-256 (keytool -selfcert -sigalg SHA256withRSA); the key, and so the app's identity, stays the same. APK: re-sign it (wrapsign sign or apksigner), which uses SHA-256 whenever minSdk >= 18.";
    DebugCertificate = "debug-certificate", Error,
        title: "The key is an Android debug key",
        why: "CN=Android Debug, O=Android, C=US is the key Android Studio generates per machine (password `android`). Google Play refuses apps signed with it, and builds signed on another machine cannot update them. Checked on keystore keys and on every certificate that signs an APK.",
        fix: "Sign release builds with the release (upload) keystore, configured in Gradle's signingConfigs.release; an app already shipped with the debug key can move to a release key with `wrapsign rotate` and `wrapsign sign --lineage`.";
    KeystoreDuplicateAlias = "keystore-duplicate-alias", Error,
        title: "The keystore holds the same alias twice",
        why: "Java (keytool, Gradle, apksigner) silently keeps only the last entry with a given alias, compared case-insensitively, so which key signs the app depends on the tool; the other key is invisible.",
        fix: "Rebuild the keystore with unique aliases: export each entry (keytool -importkeystore -srcalias ... -destalias ...) into a new keystore.";
    KeystoreKeyMismatch = "keystore-key-mismatch", Error,
        title: "A private key does not match its certificate",
        why: "APKs signed with this entry carry a certificate whose public key does not verify the signature; Android rejects them at install.",
        fix: "Re-import the key with its own certificate (keytool -importcert of the matching certificate reply, or rebuild the PKCS#12 with openssl pkcs12 -export -inkey KEY -in CERT).";
    PasswordWrong = "password-wrong", Error,
        title: "No password given opens the file or its key",
        why: "A .p12 identity, a PKCS#12, JKS or JCEKS keystore, or a keystore entry's private key could not be opened with the password given (or, when none was given, with the empty one). Nothing behind the password could be checked, so like an unreadable input this ends the run with exit 2, whichever way the file was named (path, flag or wrapsign.toml); the signing step of a build using the same password would fail too. In a folder scan, files no given password opens are skipped with this name as a warning, and the run only fails on them when the folder holds nothing else.",
        fix: "Check the password source: --cert-pass or --ks-pass (every password given is tried on every .p12 and keystore), --key-pass for a key password that differs from the store's (keytool's default is the store password), or password = \"env:VAR\" / key_password in the file's wrapsign.toml entry; and the environment variables or files they read. keytool -list -keystore FILE (or openssl pkcs12 -info -in FILE -noout) checks a store password alone.";
    KeystoreUnsupported = "keystore-unsupported", Error,
        title: "The keystore, or one of its entries, is in a format wrapsign does not read",
        why: "Bouncy Castle BKS/UBER keystores, unknown key-protection algorithms and foreign serialized objects cannot be checked; most of them cannot be used by keytool, Gradle or apksigner either.",
        fix: "Convert the keystore to PKCS#12 (keytool -importkeystore -deststoretype PKCS12; BKS needs -providerpath bcprov.jar -srcstoretype BKS) and check that.";
    KeystoreAliasMissing = "keystore-alias-missing", Error,
        title: "The requested alias is not in the keystore",
        why: "The build signs with an alias that the keystore does not hold, so signing will fail, or the keystore is not the one the build expects.",
        fix: "List the aliases with keytool -list -keystore FILE and pass the right --alias, or use the right keystore.";
    KeystoreIntegrityUnchecked = "keystore-integrity-unchecked", Warning,
        title: "The keystore was read without its password",
        why: "Without the store password wrapsign can read the certificates (as keytool -list does) but cannot tell whether the keystore was modified, nor check that each private key unlocks and matches its certificate.",
        fix: "Pass the password with --ks-pass env:VAR or --ks-pass file:PATH (never on the command line in CI).";
    // ---- re-signing (wrapsign sign) ----
    EntitlementDropped = "entitlement-dropped", Warning,
        title: "An entitlement the app asked for was left out when re-signing",
        why: "The new provisioning profile does not grant it, so signing with it would make iOS refuse to launch the app; the app is signed without it, and the feature that needs it (push, HealthKit, app groups, debugging...) will not work.",
        fix: "If the app needs it, enable the capability on the App ID in the Apple Developer portal, regenerate the profile and sign again; otherwise nothing to do. Use --deny entitlement-dropped to make this fail the run.";
    ProfileUnused = "profile-unused", Warning,
        title: "A given provisioning profile matches no bundle of the app",
        why: "Its App ID (or the bundle id it was named for) is not the id of any app or extension being signed, which usually means a wrong file or a missing --bundle-id.",
        fix: "Pass the profile made for each bundle id, as FILE or BUNDLE_ID=FILE, or drop the extra --profile.";
    SigningKeyUnsupported = "signing-key-unsupported", Error,
        title: "The signing key cannot make the signatures asked for",
        why: "APK signing uses RSA or EC P-256/P-384 keys; DSA is deprecated and not offered, and Android before 4.3 (API 18) cannot verify ECDSA JAR (v1) signatures, so an APK signed that way would not install on the oldest versions it claims to support.",
        fix: "Sign with an RSA (3072+ bits) or EC P-256 key; for an EC key and minSdk below 18, raise --min-sdk or disable v1 with --v1 false.";
    SignFailed = "sign-failed", Error,
        title: "Signing or writing the signed app failed",
        why: "The code signature could not be produced or the output could not be written (a damaged binary, a full disk, a missing folder); nothing was written.",
        fix: "Read the message: repair or rebuild the named file, or free space / fix the output path, then sign again.";

    // ---- Android APKs ----
    ApkUnsigned = "apk-unsigned", Error,
        title: "The APK is not signed",
        why: "Android refuses to install an APK without a valid signature (INSTALL_PARSE_FAILED_NO_CERTIFICATES); an unsigned APK is only a build intermediate.",
        fix: "Sign it with apksigner (or wrapsign sign) after zipalign, with the app's release key; keep v1 enabled when minSdk < 24.";
    ApkSignatureInvalid = "apk-signature-invalid", Error,
        title: "An APK signature does not verify",
        why: "A signature block is malformed, uses an algorithm the supported Android versions cannot verify, does not match its certificate, or its cryptographic signature is wrong; Android rejects the APK at install.",
        fix: "Re-sign the APK from a clean build with apksigner; do not edit signature files or the APK Signing Block by hand.";
    ApkDigestMismatch = "apk-digest-mismatch", Error,
        title: "The APK content was changed after signing",
        why: "The digests recorded in the signature (v2/v3 chunked digest, or v1 MANIFEST.MF/.SF entry digests) do not match the APK's bytes: an entry was added, removed or modified after signing, so Android refuses to install it.",
        fix: "Make every change (resources, wrapping, zipalign) before signing, then sign last; re-sign the APK if it was modified afterwards.";
    ApkSignatureStripped = "apk-signature-stripped", Error,
        title: "A newer signature scheme was stripped from the APK",
        why: "The remaining signature says the APK was also signed with a newer scheme (X-Android-APK-Signed in the .SF file, the 0xbeeff00d attribute in v2, or the v3.1 rotation attribute) that is missing now: a downgrade attack or a tool that rewrote the APK, and Android rejects it.",
        fix: "Re-sign the APK with all schemes in one apksigner run; never run zipalign or jarsigner after apksigner.";
    ApkSchemeRequired = "apk-scheme-required", Error,
        title: "The APK lacks a signature scheme its Android versions require",
        why: "Android before 7.0 (API 24) only verifies v1 (JAR) signatures, and apps with targetSdkVersion >= 30 or targetSandboxVersion >= 2 must carry a v2 or newer signature; otherwise the install fails on those devices.",
        fix: "Sign with the schemes the SDK range needs: keep v1 enabled when minSdk < 24, and enable v2/v3 (apksigner's default) for targetSdk >= 30; or raise --min-sdk if the old versions are not supported.";
    ApkSignerMismatch = "apk-signer-mismatch", Error,
        title: "The APK is not signed by the expected key",
        why: "Android only installs an update signed with the same certificate as the installed app, or with a rotated key whose proof-of-rotation lineage includes it with the installed-data capability (Android 9+); signature schemes that disagree on the signer are rejected outright.",
        fix: "Sign with the app's existing release key (the keystore alias given with --signer-cert/--keystore), or rotate keys (wrapsign rotate, then wrapsign sign --lineage) so the new key is proven by the old one.";
    ApkTooManySigners = "apk-too-many-signers", Error,
        title: "The APK has more than 10 signers",
        why: "Android (since 2023 security updates) and apksig reject APKs with more than 10 v1 or v2 signers, a denial-of-service guard.",
        fix: "Sign with one key (or a few); use key rotation (v3 lineage) instead of piling up signers.";
    ApkMisaligned = "apk-misaligned", Warning,
        title: "An APK entry is not aligned as Android expects",
        why: "An error where Android refuses to install: apps targeting API 30+ whose resources.arsc is compressed or not 4-byte aligned (INSTALL_PARSE_FAILED_RESOURCES_ARSC_COMPRESSED), and with extractNativeLibs=\"false\" a native library that is compressed or not on a 4 KiB page (INSTALL_FAILED_INVALID_APK). Otherwise a warning: misaligned uncompressed entries cannot be memory-mapped, so Android copies them into RAM, and Google Play rejects APKs that are not zip-aligned.",
        fix: "Run zipalign -p 4 BEFORE signing (or let wrapsign sign align, which it does by default); zipalign after signing breaks the v2/v3 signature. For resources.arsc, build with it stored (the Android Gradle Plugin default).";
    ApkPageMisaligned = "apk-page-misaligned", Warning,
        title: "An uncompressed native library is not 16 KiB aligned",
        why: "Devices with 16 KiB memory pages load uncompressed .so files in place only when they start on a 16 KiB boundary; Google Play requires 16 KiB page support for apps targeting Android 15 (API 35) and later.",
        fix: "Align with a zipalign that supports 16 KiB (build-tools 35+: zipalign -P 16 4) or AGP 8.5.1+, then sign; or store native libraries compressed (extractNativeLibs).";
    ApkPrefixData = "apk-prefix-data", Error,
        title: "The APK has bytes before its first ZIP entry",
        why: "The first local header does not start at offset 0. v1 (JAR) signatures do not cover such bytes, so on Android versions where a v1-only signature decides they can carry a DEX file that the runtime loads while the signature still verifies: the Janus vulnerability (CVE-2017-13156). An error when the APK's SDK range lets a v1 signature decide (minSdk < 24, or no v2/v3 signature); a warning otherwise, since v2 and v3 cover every byte but no build tool writes such files.",
        fix: "Rebuild the APK from its sources, or strip the prefix (zip -J) and re-sign it with v2/v3 enabled (wrapsign sign or apksigner); never ship a file whose origin you cannot explain.";
    ApkSignerCertExpired = "apk-signer-cert-expired", Info,
        title: "A certificate that signs the APK has expired",
        why: "Android does not check the dates of APK signing certificates, so the app installs and updates normally; the certificate's dates only matter to Google Play for the upload key (keystore-validity-too-short) and to tools such as jarsigner, which warn.",
        fix: "Nothing is required. To move to a new key anyway, rotate it (wrapsign rotate, then wrapsign sign --lineage).";
    ApkSignerCertShortLived = "apk-signer-cert-short-lived", Info,
        title: "A certificate that signs the APK ends before Google Play's minimum date",
        why: "Android ignores the dates, but Google Play requires app signing certificates valid past 22 October 2033; an APK signed with this certificate cannot be uploaded as a new app (existing apps keep their key through Play App Signing).",
        fix: "For a Play upload, sign with a key valid past 2033-10-22 (keystore-validity-too-short checks the keystore), or rotate the app's key (wrapsign rotate).";
    ApkSignerRotated = "apk-signer-rotated", Info,
        title: "The APK is signed by a rotated key that descends from the expected certificate",
        why: "The expected certificate (--signer-cert, or a keystore alias) is an ancestor in the APK's proof-of-rotation lineage with the installed-data capability, so Android 9+ installs this APK as an update of an app signed with it; older versions verify the v1/v2 signature, which must still be the expected certificate's.",
        fix: "Nothing to do; this records how the update is accepted. Use `wrapsign lineage APP.apk` to see the whole lineage.";
    ApkMalformed = "apk-malformed", Error,
        title: "The APK's ZIP structure is inconsistent",
        why: "The central directory, local headers or AndroidManifest.xml lie about the content (truncated directory, overlapping or duplicate entries, mismatched headers, missing manifest): Android refuses such an APK, and such files are a classic way to smuggle content past scanners.",
        fix: "Rebuild the APK with the standard build tools (AGP, aapt2, zipalign, apksigner); do not patch it with generic zip tools.";


    // ---- the inventory (wrapsign.toml, directory scans) ----
    ChainOutOfOrder = "chain-out-of-order", Error,
        title: "A certificate bundle is not in chain order",
        why: "Servers send a PEM bundle as it is. TLS 1.2 (RFC 5246 7.4.2) requires the leaf first and then each certificate's issuer; Android's and Java's older TLS stacks, many load balancers and MDM gateways reject other orders, even when every certificate is present.",
        fix: "Rewrite the bundle as leaf, intermediate(s), (optionally) root: `cat leaf.pem intermediate.pem > bundle.pem`; wrapsign's details.order shows the current order.";
    ChainCertExpiring = "chain-cert-expiring", Warning,
        title: "An intermediate or root of the chain expires soon",
        why: "A certificate is only usable while every certificate of its chain is valid: when the intermediate or root expires, the leaf stops validating even though its own date is later.",
        fix: "Get the CA's renewed intermediate (or a leaf re-issued under the new one) and deploy it with the leaf before the old CA certificate expires.";
    CertKindMismatch = "cert-kind-mismatch", Error,
        title: "The certificate is not of the kind the inventory says",
        why: "wrapsign.toml lists it as one kind (APNs, SSL, CA, development...) but the certificate says otherwise (no push marker, no serverAuth usage, not a CA): the wrong file is deployed, or the inventory is wrong, and the service that needs it will fail.",
        fix: "Deploy the right certificate, or correct the entry's kind in wrapsign.toml.";
    CertTeamMismatch = "cert-team-mismatch", Error,
        title: "The certificate belongs to another team",
        why: "The inventory expects a team id (the subject OU of Apple certificates) and the certificate carries another one: profiles, apps and push topics of the expected team will not accept it.",
        fix: "Use the certificate of the expected team, or correct team_id in wrapsign.toml.";
    CertHostnameMismatch = "cert-hostname-mismatch", Error,
        title: "The SSL certificate does not cover a host name",
        why: "TLS clients match the host they connect to against the certificate's subjectAltName DNS names (iOS, Android and browsers ignore the CN); a host that is not covered gets a certificate error and the connection fails.",
        fix: "Re-issue the certificate with every host name (or a matching wildcard) in subjectAltName, or correct hosts in wrapsign.toml.";
    ApnsTopicMismatch = "apns-topic-mismatch", Error,
        title: "The push certificate is for another topic",
        why: "APNs only delivers notifications whose topic (the app's bundle id, or the MDM topic) is one of the certificate's topics: the subject UID, or the topics extension of a universal certificate. With another topic, pushes are rejected (DeviceTokenNotForTopic / TopicDisallowed).",
        fix: "Create the push certificate for the App ID that matches the topic (or renew the MDM push certificate with the same Apple ID), or correct topic in wrapsign.toml.";
    DuplicatePublicKey = "duplicate-public-key", Warning,
        title: "Two certificates share one key pair",
        why: "A server, keychain or keystore keeps one certificate per key pair, so one of them silently replaces the other; and one leaked private key compromises every certificate that uses it.",
        fix: "Give each certificate its own key: create a new key and CSR for one of them and re-issue it.";
    RenewalReusedKey = "renewal-reused-key", Error,
        title: "A renewed certificate reuses the old key",
        why: "A renewal (same subject, later start) is the moment to retire the old private key; reusing it keeps any past exposure of that key valid for another certificate lifetime and defeats revocation of the old certificate.",
        fix: "Create a new key pair and CSR, have the certificate re-issued for it, deploy it, then destroy the old key.";
    BulkCredentialMissing = "bulk-credential-missing", Error,
        title: "A device certificate has no password line",
        why: "The credentials file must have one DEVICE_ID.p12=password line per certificate in the bundle; without it the MDM import cannot open that device's certificate and the device gets none.",
        fix: "Add the missing DEVICE_ID.p12=password line to the credentials file (or remove the certificate from the zip).";
    BulkCredentialOrphan = "bulk-credential-orphan", Error,
        title: "A credentials line matches no certificate",
        why: "A line names a .p12 that is not in the zip, or is not of the form DEVICE_ID.p12=password: the bundle and its credentials are out of step, so some device's certificate is missing or misnamed.",
        fix: "Add the certificate to the zip, or remove or fix the line (wrapsign never prints the line, only its number).";
    BulkCredentialDuplicate = "bulk-credential-duplicate", Error,
        title: "A device certificate has several password lines",
        why: "Importers take the first or the last line for a file, so which password is used depends on the tool; at least one of the lines is stale.",
        fix: "Keep exactly one DEVICE_ID.p12=password line per certificate.";
    BulkPasswordWrong = "bulk-password-wrong", Error,
        title: "A device certificate does not open with its password",
        why: "The PKCS#12 MAC does not verify with the password on its credentials line, so the import fails for that device.",
        fix: "Re-export the device's .p12 with the password from the credentials file, or correct the line.";
    BulkCredentialsFileMissing = "bulk-credentials-file-missing", Error,
        title: "A device bundle has no credentials file",
        why: "Endpoint Management's bulk upload opens each DEVICE_ID.p12 with the password on its line of the credentials file named by the request (credentialFileName); a zip without that file, or without the file named by --credentials-name, cannot be imported, and none of its certificates can be checked.",
        fix: "Put the credentials file (DEVICE_ID.p12=password, one line per certificate) into the zip, e.g. with `wrapsign bundle DIR --credentials FILE`, or name the right entry with --credentials-name; a credentials file kept beside the zip goes in wrapsign.toml as credentials = \"...\".";
    BulkCredentialsFileAmbiguous = "bulk-credentials-file-ambiguous", Error,
        title: "A device bundle holds several candidate credentials files",
        why: "The zip holds more than one text file and none is credential.txt, so which one holds the passwords depends on the request's credentialFileName; a stale or wrong one means failed imports.",
        fix: "Remove the other text files from the zip, or name the credentials file with --credentials-name (credentials_name in wrapsign.toml) and use the same name in the request.";
    DeviceIdInvalid = "device-id-invalid", Error,
        title: "A device id is not a valid id of its identity type",
        why: "Device certificates are matched to devices by the file name: an IMEI is 15 digits whose last is a Luhn check digit, an MEID 14 hexadecimal digits, a serial number letters and digits. A wrong check digit means a mistyped IMEI, and a name of another type than the bundle's identityType is never matched; either way the device never gets its certificate.",
        fix: "Check the device's id (*#06#, or the MDM's device record) and rename the .p12 and its credentials line, or declare the identity type the names use (--identity-type, identity_type in wrapsign.toml).";
    DeviceIdMixed = "device-id-mixed", Error,
        title: "A device bundle mixes id types",
        why: "Device certificates of one bundle are matched to devices by one kind of id (IMEI, MEID or serial number); files named by another kind will not be matched.",
        fix: "Name every certificate of the bundle by the same kind of id (the one the MDM import expects).";
    ConfigLiteralPassword = "config-literal-password", Warning,
        title: "wrapsign.toml holds a password in clear",
        why: "A pass: password in the config is readable by everyone who can read the file, its repository and its history, and ends up in backups and CI logs.",
        fix: "Use env:VAR (a CI secret) or file:PATH (a file outside the repository) instead of pass:.";
}
