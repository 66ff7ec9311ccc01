//! The catalogue of finding names. Each name is stable (tests, baselines and CI
//! configuration refer to it), has a default severity, and carries its own
//! explanation: a title, why it matters (what breaks) and the fix.
//! `wrapsign explain NAME` prints these; adding a check means adding a line here.

use crate::diag::Severity;

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
                match name { $($name => Some(Code::$variant),)* _ => None }
            }
        }
    };
}

codes! {
    // ---- any input ----
    InputUnreadable = "input-unreadable", Error,
        title: "An input could not be read",
        why: "wrapsign could not open or decode a file it was asked to check (missing, truncated, wrong password, not the format it claims to be), so nothing about it could be verified.",
        fix: "Check the path, the password source (pass:, env:, file:, stdin) and that the file is complete; re-export it from the original source if it is damaged.";

    ArchiveUnsafe = "archive-unsafe", Error,
        title: "An archive entry would escape its folder",
        why: "Entries with `..`, absolute paths, drive letters, backslashes or NUL bytes (zip slip) can overwrite files outside the extraction folder; such an archive is hostile or broken.",
        fix: "Rebuild the archive with a standard tool; never wrap or sign an archive from an untrusted source that contains such entries.";

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

    CertChainIncomplete = "cert-chain-incomplete", Error,
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
}
