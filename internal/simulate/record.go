package simulate

import (
	"encoding/json"
	"io"
	"sync"
	"time"
)

// Record is one line of Config.Record: a report whose finish the hub
// acknowledged (Finished), or a webhook the receiver accepted (Webhook,
// repeats included). It lets a check after the run (the soak check,
// cmd/guardian/soak_test.go) compare what the simulator was told with
// what the hub stored, which the summary's counts cannot.
type Record struct {
	// Finished is the id of a report whose finish answered success.
	Finished int64 `json:"finished,omitempty"`

	// Webhook is a webhook's webhook-id; Agency the agency of its path;
	// Type its payload's type; Referrals the referral ids it names;
	// SHA256 the hex SHA-256 of its body as received; Verified whether
	// its signature was checked with the agency's secret.
	Webhook   string  `json:"webhook,omitempty"`
	Agency    string  `json:"agency,omitempty"`
	Type      string  `json:"type,omitempty"`
	Referrals []int64 `json:"referrals,omitempty"`
	SHA256    string  `json:"sha256,omitempty"`
	Verified  bool    `json:"verified,omitempty"`

	// At is when the simulator got the answer or the webhook.
	At time.Time `json:"at"`
}

// recorder writes Records as JSON lines, one call at a time. A nil
// recorder writes nothing.
type recorder struct {
	mu  sync.Mutex
	enc *json.Encoder
}

func newRecorder(w io.Writer) *recorder {
	if w == nil {
		return nil
	}
	return &recorder{enc: json.NewEncoder(w)}
}

// write writes rec. A failed write is the writer's to report (the
// command's file wrapper keeps the first error): the run goes on.
func (r *recorder) write(rec Record) {
	if r == nil {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	_ = r.enc.Encode(rec)
}
