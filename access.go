package guardian

import (
	"context"
	"slices"
	"strings"
	"time"
	"unicode"
	"unicode/utf8"
)

// The records that access to a referral's content leaves behind: why a
// person opened it (a justification, recorded once per person, referral and
// day) and the legal authority under which an agency opens files that the
// reporting service never viewed. Package access decides who may do what;
// these types are what it asks for and what the store keeps.

// MaxJustificationLen bounds each part of a [Justification], in bytes: it
// is stored in every consultation event of the audit log.
const MaxJustificationLen = 200

// Justification is why a person opens a referral's content: the case
// number it belongs to at their own agency, or a reason in words, or both.
type Justification struct {
	CaseNumber string `json:"caseNumber,omitempty"`
	Reason     string `json:"reason,omitempty"`
}

// Validate checks that j says something and that each part is one line of
// printable text of at most [MaxJustificationLen] bytes. It is EINVALID
// otherwise, with a message for the person.
func (j Justification) Validate() error {
	c, r := strings.TrimSpace(j.CaseNumber), strings.TrimSpace(j.Reason)
	if c == "" && r == "" {
		return Errorf(EINVALID, "Give a case number or a reason to open this referral.")
	}
	for _, s := range []string{c, r} {
		if len(s) > MaxJustificationLen {
			return Errorf(EINVALID, "A case number or reason may be at most %d characters.", MaxJustificationLen)
		}
		if !utf8.ValidString(s) || strings.ContainsFunc(s, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }) {
			return Errorf(EINVALID, "A case number or reason must be one line of text.")
		}
	}
	return nil
}

// String returns the form stored in [AuditEvent.Justification]: "case
// NUMBER", "REASON", or "case NUMBER: REASON", each part trimmed.
func (j Justification) String() string {
	c, r := strings.TrimSpace(j.CaseNumber), strings.TrimSpace(j.Reason)
	switch {
	case c == "":
		return r
	case r == "":
		return "case " + c
	}
	return "case " + c + ": " + r
}

// MaxLegalAuthorityLen bounds [LegalAuthority.Reference], in bytes.
const MaxLegalAuthorityLen = 200

// LegalAuthority records the warrant or order under which an agency opens
// files of a referral that the reporting service did not view itself
// (fileViewedByEsp false or absent). Until one covers a file, the file's
// content stays locked for everyone, the hub included: opening it would be a
// search beyond what the reporting service did.
type LegalAuthority struct {
	ID         int64 `json:"id"`
	ReferralID int64 `json:"referralId"`
	// FileIDs are the files it opens, chosen by the person recording it
	// (the handler may offer "all locked files" and list them here).
	FileIDs []string `json:"fileIds"`
	// Reference is the warrant's or order's reference, as the agency
	// knows it.
	Reference  string    `json:"reference"`
	UserID     int64     `json:"userId"`
	RecordedAt time.Time `json:"recordedAt"`
}

// Covers reports whether la opens the file.
func (la *LegalAuthority) Covers(fileID string) bool { return slices.Contains(la.FileIDs, fileID) }

// Validate checks the reference like a justification's parts and that at
// least one file is named.
func (la *LegalAuthority) Validate() error {
	ref := strings.TrimSpace(la.Reference)
	switch {
	case ref == "":
		return Errorf(EINVALID, "Give the reference of the warrant or order.")
	case len(ref) > MaxLegalAuthorityLen:
		return Errorf(EINVALID, "A reference may be at most %d characters.", MaxLegalAuthorityLen)
	case !utf8.ValidString(ref) || strings.ContainsFunc(ref, func(r rune) bool { return !unicode.IsPrint(r) && r != ' ' }):
		return Errorf(EINVALID, "A reference must be one line of text.")
	case len(la.FileIDs) == 0:
		return Errorf(EINVALID, "Choose the files the warrant or order covers.")
	}
	return nil
}

// ConsultationDay is the day a consultation counts for: the UTC date of t,
// as "2006-01-02". A day is UTC for everyone so that the rule "once per
// person, referral and day" does not depend on a person's time zone setting.
func ConsultationDay(t time.Time) string { return t.UTC().Format(time.DateOnly) }

// AccessStore keeps the records of access to referral content. Every
// change appends its event in the same transaction, as [Store] does:
//
//	referral.open           consultation  RecordConsultation (Justification set)
//	file.legal-authority    permission    RecordLegalAuthority (ObjectID = referral,
//	                                      Justification = the reference)
type AccessStore interface {
	// RecordConsultation appends ev, a consultation of the referral by
	// the user, unless that user already has one for that referral on
	// ConsultationDay of the store's now; it reports whether it appended.
	// Concurrent calls for the same user, referral and day append once.
	RecordConsultation(ctx context.Context, userID, referralID int64, ev *AuditEvent) (bool, error)
	// HasConsultation reports whether the user has a consultation of the
	// referral recorded on day (a ConsultationDay), as RecordConsultation
	// keeps them: the question asked before demanding a justification.
	// An unknown user or referral has none.
	HasConsultation(ctx context.Context, userID, referralID int64, day string) (bool, error)
	// RecordLegalAuthority stores la, sets its ID and RecordedAt, and
	// appends ev.
	RecordLegalAuthority(ctx context.Context, la *LegalAuthority, ev *AuditEvent) error
	// FindLegalAuthorities returns the referral's legal authorities,
	// oldest first.
	FindLegalAuthorities(ctx context.Context, referralID int64) ([]*LegalAuthority, error)
}
