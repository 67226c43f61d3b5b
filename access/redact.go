package access

import "github.com/guardian-network/guardian"

// What of a report each data scope section lets out. Every agency sees the
// incident summary and the internet details (and the hub's assessment,
// which is not part of the document); the rest of the document is cut by
// section:
//
//	<batchedReport>, <incidentSummary>, <internetDetails>   always
//	<reporter>                                              reporter-contacts
//	<personOrUserReported>                                  suspect-details
//	<victim>, <intendedRecipient>                           victim-details
//	<lawEnforcement>, <additionalInfo> (the report's own)   never
//	the file list with names, sizes, hashes and details     files
//	the files' content                                      file-content
//
// <lawEnforcement> and the report's <additionalInfo> belong to no section
// of the network file. The first names another police contact and case, and
// the second is the reporter's free text, which may name anyone; since no
// agreement can allow them, they stay at the hub, which sees everything.
// Adding a section for either is a change to the network file format
// (guardian.DataScope), not to this function alone.

// Redact returns doc cut to the grant's scope (see [RedactDocument]), or
// for the hub a shallow copy of the whole document.
func (g Grant) Redact(doc *guardian.ReportDocument) *guardian.ReportDocument {
	if g.Hub && doc != nil {
		d := *doc
		return &d
	}
	return RedactDocument(doc, g.Scope)
}

// Files returns files cut to the grant's scope. See [RedactFiles].
func (g Grant) Files(files []*guardian.File) []*guardian.File { return RedactFiles(files, g.Scope) }

// RedactDocument returns a copy of doc holding only what scope lets out
// (see the table above). The copy is shallow: the sections kept share memory
// with doc, so neither may be modified while the other is in use. Even
// every section drops what belongs to none: an agency's scope can hold all
// of them, and still not the hub's view ([Grant.Redact] gives the hub that).
func RedactDocument(doc *guardian.ReportDocument, scope guardian.DataScope) *guardian.ReportDocument {
	if doc == nil {
		return nil
	}
	// Listed field by field, rather than copying doc and clearing what is
	// not allowed, so that a field added to ReportDocument later stays at
	// the hub until someone decides which section it belongs to.
	out := &guardian.ReportDocument{
		XMLName:         doc.XMLName,
		BatchedReport:   doc.BatchedReport,
		IncidentSummary: doc.IncidentSummary,
		InternetDetails: doc.InternetDetails,
	}
	if scope.Has(guardian.ScopeReporterContacts) {
		out.Reporter = doc.Reporter
	}
	if scope.Has(guardian.ScopeSuspectDetails) {
		out.PersonOrUserReported = doc.PersonOrUserReported
	}
	if scope.Has(guardian.ScopeVictimDetails) {
		out.Victim = doc.Victim
		out.IntendedRecipient = doc.IntendedRecipient
	}
	return out
}

// RedactFiles returns the file list that scope lets out: nil without
// [guardian.ScopeFiles], else copies of the files without what locates or
// unlocks their content (BlobKey, WrappedKey), which never leaves the server
// whatever the scope. Whether a file's content may be opened is a separate
// decision (ViewFile).
func RedactFiles(files []*guardian.File, scope guardian.DataScope) []*guardian.File {
	if !scope.Has(guardian.ScopeFiles) {
		return nil
	}
	out := make([]*guardian.File, len(files))
	for i, f := range files {
		c := *f
		c.BlobKey, c.WrappedKey = "", nil
		out[i] = &c
	}
	return out
}
