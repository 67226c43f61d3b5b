// Package format holds the audit log's formats shared by the hub, verifiers
// and witnesses: the leaf encoding (RFC 6962 leaves of audit events),
// tlog-tiles paths (https://c2sp.org/tlog-tiles), and checkpoint text
// (https://c2sp.org/tlog-checkpoint).
//
// It imports only the root package guardian and golang.org/x/mod/sumdb, so
// that a store can check an event before appending it, and a verifier can
// read a log, without the integrator of package auditlog.
package format
