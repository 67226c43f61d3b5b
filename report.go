package guardian

import (
	"encoding/json"
	"time"
)

// ReportState is where a report is in its intake lifecycle.
type ReportState string

const (
	ReportOpen      ReportState = "open"      // accepting files and file details
	ReportFinished  ReportState = "finished"  // complete; nothing can be added
	ReportRetracted ReportState = "retracted" // cancelled by its reporter before finishing
	ReportExpired   ReportState = "expired"   // left unfinished too long; files destroyed
)

// Expiry windows of an unfinished report, from the CyberTipline documentation:
// a report expires 24 hours after it was opened or 1 hour after its last
// change, whichever is later.
const (
	OpenReportLifetime = 24 * time.Hour
	OpenReportIdle     = time.Hour
)

// Report is one submission of a reporter: the <report> document as received
// and parsed, and the files uploaded to it.
type Report struct {
	ID         int64       `json:"id"`
	ReporterID int64       `json:"reporterId"`
	State      ReportState `json:"state"`

	OpenedAt    time.Time  `json:"openedAt"`
	ModifiedAt  time.Time  `json:"modifiedAt"`
	FinishedAt  *time.Time `json:"finishedAt,omitempty"`
	RetractedAt *time.Time `json:"retractedAt,omitempty"`
	ExpiredAt   *time.Time `json:"expiredAt,omitempty"`

	// XML is the <report> document exactly as the reporter sent it.
	XML []byte `json:"-"`
	// Document is XML parsed, as JSON of a ReportDocument. It is kept as
	// JSON so that stores need not know the document's shape.
	Document json.RawMessage `json:"document"`

	// WrappedKey is the report's data key, wrapped by the hub's master key.
	// It is nil once the report's evidence has been destroyed.
	WrappedKey []byte `json:"-"`

	// ProvisionalPriority is the priority the report's own document gives
	// it at submit, before triage knows its files, location and hash lists
	// (triage.Provisional): 1, 2 or 3, never E. It only orders the queue
	// of reports waiting for triage ([Report.RoutingOrder]), so that
	// urgent ones are routed first;
	// triage decides the priority. Empty for reports stored before schema
	// version 13.
	ProvisionalPriority Priority `json:"-"`

	Files []*File `json:"files"`
}

// TriageFirst reports whether the report should be triaged ahead of
// ordinary ones: its document already makes it priority 1, or it has
// files and the reporter viewed none of them (fileViewedByEsp false or
// absent everywhere), so triage will make it priority E. Both are
// notified at once once routed; the rest wait for a digest.
func (r *Report) TriageFirst() bool {
	if r.ProvisionalPriority == Priority1 {
		return true
	}
	if len(r.Files) == 0 {
		return false
	}
	for _, f := range r.Files {
		if f.ViewedByReporter != nil && *f.ViewedByReporter {
			return false
		}
	}
	return true
}

// ExpiresAt returns when an open report expires: 24 hours after it was opened
// or 1 hour after its last change, whichever is later.
func (r *Report) ExpiresAt() time.Time {
	a := r.OpenedAt.Add(OpenReportLifetime)
	if b := r.ModifiedAt.Add(OpenReportIdle); b.After(a) {
		return b
	}
	return a
}

// File is one evidence file uploaded to a report.
type File struct {
	ID       string `json:"id"` // 32 lower-case hex characters
	ReportID int64  `json:"reportId"`
	// Name is the file name from the upload, sanitised: it is for display only
	// and never used as a path.
	Name       string    `json:"name"`
	Size       int64     `json:"size"`
	MD5        string    `json:"md5"`
	SHA1       string    `json:"sha1"`
	SHA256     string    `json:"sha256"`
	UploadedAt time.Time `json:"uploadedAt"`

	// ImageStatus says whether the file was PDQ-hashed as an image at
	// upload, or why not; PDQ (64 hex digits) and PDQQuality (0–100) are set
	// when it was.
	ImageStatus ImageStatus `json:"imageStatus,omitempty"`
	PDQ         string      `json:"pdq,omitempty"`
	PDQQuality  *int        `json:"pdqQuality,omitempty"`
	// PDQDihedral are the PDQ hashes of the picture's 8 rotations and
	// flips (pdq.Result.Dihedral, the first equal to PDQ), computed at
	// upload so that matching finds a rotated or mirrored copy exactly;
	// nil for files hashed before schema version 10.
	PDQDihedral []string `json:"pdqDihedral,omitempty"`

	// BlobKey names the encrypted blob in the evidence store.
	BlobKey string `json:"-"`
	// WrappedKey is the file's content key wrapped by the report's data key.
	WrappedKey []byte `json:"-"`

	// ViewedByReporter is fileViewedByEsp of the file's details, kept in the
	// clear beside them so that finishing a report can order its triage
	// without opening them: nil without details (which triage reads as not
	// viewed) and for files stored before schema version 14.
	ViewedByReporter *bool `json:"-"`

	// DetailsXML is the <fileDetails> document as received, if any.
	DetailsXML []byte `json:"-"`
	// Details is DetailsXML parsed, as JSON of a FileDetails.
	Details   json.RawMessage `json:"details,omitempty"`
	DetailsAt *time.Time      `json:"detailsAt,omitempty"`
}

// Reporter is an online service that submits reports through the intake API.
type Reporter struct {
	ID           int64     `json:"id"`
	Name         string    `json:"name"`
	PasswordHash string    `json:"-"`
	CreatedAt    time.Time `json:"createdAt"`
	Disabled     bool      `json:"disabled"`
}
