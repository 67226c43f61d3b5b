// Package cybertip speaks the XML of the CyberTipline reporting API
// ("ispws"): it validates and decodes the documents reporters send, renders
// the responses they expect, and prints the XML Schema served at /xsd.
//
// Most callers need four functions: [ParseReport] for the body of /submit,
// [ParseFileDetails] for the body of /fileinfo, [ResponseCode] to turn an
// error into a response code and description, and [Response.Bytes] or
// [DoneResponse.Bytes] to answer. [XSD] returns the schema.
//
// # One schema
//
// The schema is written once, as Go data (definitions.go), in the
// vocabulary of the NCMEC XSD of 2025-11: element names, order,
// cardinality, types, enumerations and patterns as in the reference
// (docs: cybertipline-api.md §2–§4). The validator walks that data and the
// XSD is printed from it, so what Guardian accepts and what the served
// schema describes cannot drift apart; a test runs libxml2 with the served
// XSD over thousands of mutated documents and requires the same verdict on
// every one.
//
// Validation streams encoding/xml tokens and stops at the first violation.
// Only when the whole document is valid is it decoded, from a canonical copy
// the walk records as tokens (so the document is tokenized once), into
// [guardian.ReportDocument] or [guardian.FileDetails].
//
// # Error codes
//
// Every error is a *guardian.Error whose message names the element path and
// what was expected, in the words of the Xerces messages the NCMEC server
// sends ("cvc-complex-type.2.4.a: Invalid content was found starting with
// element 'reporter' at /report. One of '{incidentSummary}' is
// expected."). Values from the document are quoted at most 64 characters
// long, with control and format characters escaped.
//
//   - guardian.EMALFORMED (4110): not well-formed XML, or anything the
//     NCMEC XSD itself rejects: unknown, missing, repeated or misplaced
//     elements, wrong root, bad enumeration values, patterns, numbers,
//     booleans and dates, unknown or missing attributes.
//   - guardian.EVALIDATION (4100): the document is valid against the NCMEC
//     XSD but breaks a rule from the documentation: a documented limit
//     (§3.12: lengths such as ≤255 characters, age 0–150, port 1–65535, an
//     extension of at most 10 digits), Guardian's own bounds (latitude
//     ±90, longitude ±180, [MaxDocumentSize], [MaxElements]), or the
//     cross-field rule of §4.3.
//
// The split follows the reference's advice (§2.3): the NCMEC XSD has no
// limits, so a client that meets one at NCMEC meets it as a documented
// validation rule, 4100. The limits are nevertheless facets of the served
// XSD, annotated as such, so that a client validating locally finds them
// before sending. When a document breaks both kinds of rule, the schema
// violation is reported: the walk remembers the first limit it meets and
// goes on.
//
// # Tolerance
//
// Decisions where the reference leaves room (§3.13, §4.3, §6.3, §9):
//
//  1. The XML declaration is optional and may use either quote and any
//     case of "UTF-8"; a UTF-8 byte-order mark is skipped. Any other
//     declared encoding, and UTF-16, is refused: reporters all send UTF-8.
//  2. The root may carry xmlns:xsi and xsi:noNamespaceSchemaLocation (its
//     value is ignored). Any other xsi attribute (xsi:type, xsi:nil,
//     xsi:schemaLocation) is refused, and so is xsi:noNamespaceSchemaLocation
//     below the root, which libxml2 would allow. Other namespace
//     declarations are ignored; elements and attributes in any namespace are
//     refused.
//  3. DTDs are refused outright: a DOCTYPE, with or without entity
//     declarations, is EMALFORMED.
//  4. Whitespace follows libxml2 rather than the letter of XML Schema:
//     enumerations (typed xs:token here), booleans and doubles may be
//     padded; integers, dates and date-times may not; strings keep theirs.
//     Agreeing with the validator that clients use on the served XSD
//     matters more.
//  5. Presence flags (reportAnnotations, fileAnnotations) must be empty or
//     hold exactly "true", as libxml2 checks fixed="true"; "1" and "false"
//     are refused. Clients send <x/> or <x>true</x>.
//  6. The 2026 vocabulary (informational, potentialAggravatingFactors,
//     instrumentalUse, ageAssertionDiscrepancy, associatedAccount
//     accountType, lawEnforcement fleaCountry, nameValuePair type) is
//     refused, as the strict NCMEC server refuses it (§3.13), and so are
//     the misspelt incident type "… for Sexual Act" and the old
//     "Child Sexual Molestation (not by family member)".
//  7. Documented but unenforced by the XSD: at least one internetDetails and
//     a reportingPerson email (§3.1, §3.5). Not required: clients in use
//     omit them and NCMEC's own schema lets them.
//  8. personOrUserReported may repeat, as the XSD allows (§3.1).
//  9. Cross-field rules (§4.3): industryClassification and a potential-meme
//     flag (either element) only for fileRelevance "Reported" (absent
//     means "Reported"), checked at /fileinfo rather than at /finish so the
//     reporter learns it with the document at fault. Not applied: the
//     unverified "fileViewedByEsp must be true when exifViewedByEsp is"
//     (see checkFileDetails), and any check of batchedReport's reason.
//  10. reportDoneResponse may carry responseDescription last, after files
//     (§2.4, §7.4): the served XSD allows it so that Guardian's own answers
//     to a failed /finish are valid, and puts it where a client reading
//     the NCMEC sequence strictly in order does not trip over it.
//  11. Deviations from libxml2 that remain: the double "1e" (libxml2 takes
//     it, XML Schema and Guardian do not); attribute values whose tab,
//     newline or carriage return came from a character reference are
//     normalized to spaces (encoding/xml cannot tell them apart); and
//     encoding/xml does not check the standalone value of the XML
//     declaration. Duplicate attributes, which encoding/xml also lets
//     through, are checked here.
package cybertip
