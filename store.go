package guardian

import (
	"context"
	"encoding/json"
	"errors"
)

// ErrSchemaOutdated is returned when a store's schema is older than this
// binary. Run "guardian migrate" (or serve with --migrate) and retry.
var ErrSchemaOutdated = errors.New("database schema is older than this version of guardian; run 'guardian migrate' or start with --migrate")

// ErrSchemaTooNew is returned when a store's schema is newer than this binary:
// a newer guardian has migrated it, and this one must not write to it.
var ErrSchemaTooNew = errors.New("database schema is newer than this version of guardian; upgrade guardian")

// Store keeps reporters, reports, files and the audit record. Both the SQLite
// and the PostgreSQL implementations pass the same behaviour suite (package
// storetest).
//
// Every method that changes state takes the [AuditEvent] that records it and
// appends it in the same transaction: the change and its record commit
// together or not at all. The caller fills in who, what and how (Actor,
// Category, Action, RequestID, ClientAddr); the store fills in Time, the
// object identifiers it assigns, Outcome (success) and ID.
//
// Methods that take a reporterID act only on that reporter's reports: a report
// of another reporter answers EREPORTNOTFOUND, exactly as a missing one, so
// that ids reveal nothing. An open report past its expiry time (see
// [Report.ExpiresAt]) also answers EREPORTNOTFOUND, even before
// ExpireReports has marked it.
//
// A successful return means the change is committed and synced to disk.
type Store interface {
	// CreateReporter adds a reporter. A duplicate name is ECONFLICT.
	CreateReporter(ctx context.Context, r *Reporter, ev *AuditEvent) error
	// FindReporterByName returns the reporter with that name, or ENOTFOUND.
	FindReporterByName(ctx context.Context, name string) (*Reporter, error)

	// CreateReport stores a new open report and sets r.ID, r.OpenedAt and
	// r.ModifiedAt. r.XML, r.Document and r.WrappedKey must be set.
	CreateReport(ctx context.Context, r *Report, ev *AuditEvent) error
	// FindReportByID returns any report with its files, whatever its
	// reporter or state (for operators and later stages, not for reporters).
	FindReportByID(ctx context.Context, id int64) (*Report, error)
	// FindReporterReport returns the report if it belongs to the reporter,
	// else EREPORTNOTFOUND, without its documents and files: XML, Document
	// and Files are nil, in one cheap query. It does not check the state.
	FindReporterReport(ctx context.Context, reporterID, reportID int64) (*Report, error)
	// FindOpenReport is FindReporterReport for a request about to change
	// the report (an upload checks that its report is open and takes its
	// WrappedKey before it reads the file): a report this store opened or
	// changed while it was open, and that is not past its expiry, may come
	// from memory. A report that another hub process closed or touched
	// meanwhile may then show as it was; the change that follows checks
	// the report again, and refuses as FindReporterReport would.
	FindOpenReport(ctx context.Context, reporterID, reportID int64) (*Report, error)

	// AddFile attaches an uploaded file to an open report of the reporter
	// and touches the report's modification time. f.ReportID, f.ID, the
	// digests, size, BlobKey and WrappedKey must be set; f.UploadedAt is
	// set by the store. Errors: EREPORTNOTFOUND, EFINISHED, ERETRACTED.
	AddFile(ctx context.Context, reporterID int64, f *File, ev *AuditEvent) error
	// SetFileDetails stores the <fileDetails> document of a file in an open
	// report of the reporter. Details are given once: sending the same bytes
	// again succeeds and changes nothing; different details for a file that
	// already has them is ECONFLICT. Errors as AddFile, plus EFILENOTFOUND.
	SetFileDetails(ctx context.Context, reporterID, reportID int64, fileID string, xml []byte, details json.RawMessage, ev *AuditEvent) (*File, error)
	// FinishReport moves an open report to finished and returns it with its
	// files in upload order, but without its documents (XML and Document
	// stay nil, and so do the files' DetailsXML and Details, DetailsAt
	// telling which have them: the documents are encrypted, and
	// FindReportByID decrypts them). In the same transaction it puts the
	// report in the routing queue ([RoutingQueue]). Errors:
	// EREPORTNOTFOUND, EFINISHED, ERETRACTED.
	FinishReport(ctx context.Context, reporterID, reportID int64, ev *AuditEvent) (*Report, error)
	// RetractReport moves an open report to retracted. Errors as FinishReport.
	RetractReport(ctx context.Context, reporterID, reportID int64, ev *AuditEvent) (*Report, error)

	// ExpireReports marks up to limit open reports whose expiry time has
	// passed as expired, destroys their wrapped data key, records one
	// erasure event each, and returns them with their files so that the
	// caller can delete the blobs (without documents or file details, which
	// the destroyed key made unreadable). It returns an empty slice when
	// none is due.
	ExpireReports(ctx context.Context, limit int) ([]*Report, error)
	// FindUnreferencedBlobs returns, of the given blob keys, those that no
	// file of a report still holding its data key refers to: blobs left by
	// a crash between writing a blob and committing its row, or by expiry.
	FindUnreferencedBlobs(ctx context.Context, blobKeys []string) ([]string, error)

	// AppendAuditEvent records an event that has no state change of its own
	// (a rejected request, a failed login). It sets ev.ID and, if zero, ev.Time.
	AppendAuditEvent(ctx context.Context, ev *AuditEvent) error
	// FindAuditEvents returns events in append order.
	FindAuditEvents(ctx context.Context, filter AuditFilter) ([]*AuditEvent, error)

	// Close releases the database.
	Close() error
}
