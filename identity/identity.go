// Package identity holds the credentials of people and machine clients and
// the policies around them: password hashes, the second factor, account
// lockout, session lifetimes and API tokens. Everything here is a pure
// function of its inputs and an injected time, so that a test can drive it
// without a database or a clock; package guardian's [guardian.UserStore]
// keeps what these functions produce, and the server calls them.
//
// Most callers need only a few functions:
//
//   - Passwords: [CheckNewPassword] and [HashPassword] when a person sets
//     one, [VerifyPassword] at sign-in (and [VerifyNoUser] when the name
//     is unknown), [PasswordNeedsRehash] after a successful verification.
//   - Second factor: [GenerateTOTPKey] at enrolment, with
//     [TOTPKey.URI] for the authenticator app; [TOTPKey.Verify] at
//     sign-in. [GenerateRecoveryCodes] and [MatchRecoveryCode] for the
//     codes that replace a lost device.
//   - [Lockout] decides when failed sign-ins lock an account, and
//     [SessionPolicy] when a session locks or ends.
//   - [GenerateSessionSecret] and [GenerateAPIToken] make bearer secrets;
//     [SessionHash] and [APITokenHash] turn a presented secret into the
//     hash the store looks up; [CheckAPIToken] says whether a token found
//     may still be used.
//
// # Work a stranger can trigger
//
// A password verification costs some 30–80 ms of one core and 19 MiB of
// memory, by design. Anyone can send a name and a password, so the caller
// MUST throttle before calling [VerifyPassword] or [VerifyNoUser]: per
// client address and per account name, with a bound on the hashes computed
// at once and on those waiting (package server's sign-in guard and hash
// gate do this for reporters). Everything else here is cheap: a TOTP code,
// a recovery code and a bearer secret are checked with a few hashes of
// bounded input, and malformed input is refused before any hashing.
//
// # Secrets
//
// Types that hold secrets ([TOTPKey]) print as a redacted placeholder
// through fmt and log/slog. Secrets that leave as strings (a new API token,
// session secret or recovery codes) are shown once and never logged.
//
// # Compatibility
//
// The password hash encoding (PHC string format), the API token format and
// the recovery code format are stored or handed to people and programs.
// Changing one must keep reading the old.
package identity
