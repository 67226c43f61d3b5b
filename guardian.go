// Package guardian holds the vocabulary of the Guardian hub: reporters, reports
// and their files, audit events, and the service interfaces that the adapters
// implement.
//
// Guardian moves reports of child sexual exploitation from the online services
// that detect them ("reporters"), through a national clearinghouse (the "hub"),
// to the agencies of the countries concerned. This package imports only the
// standard library; each outside dependency lives in its own package:
//
//   - cybertip: the CyberTipline XML formats (parsing, validation, responses, XSD)
//   - sqlstore, sqlite, postgres: the database behind [Store]
//   - crypto, evidence: encryption at rest and the evidence blob store
//   - server: the HTTP handlers
//   - cmd/guardian: the binary that wires them together
//
// Most callers start with [Store] and the types it returns ([Report], [File],
// [Reporter], [AuditEvent]). Errors that a client may see are [*Error] values
// with a machine-readable [ErrorCode]; everything else is internal.
package guardian

import "time"

// Clock returns the current time. Every component takes one so that tests can
// move time to drive expiry and deadlines.
type Clock func() time.Time

// SystemClock is the [Clock] used in production: UTC wall-clock time.
func SystemClock() time.Time { return time.Now().UTC() }
