package simulate

import (
	"bufio"
	"bytes"
	"encoding/json"
	"sync"
	"testing"
	"time"
)

// TestRecorder: records written from many goroutines come out as whole
// JSON lines, each decoding to what was written; a nil recorder (no
// Config.Record) writes nothing and does not fail.
func TestRecorder(t *testing.T) {
	var buf bytes.Buffer
	rec := newRecorder(&buf)
	var wg sync.WaitGroup
	for i := range 50 {
		wg.Go(func() {
			if i%2 == 0 {
				rec.write(Record{Finished: int64(i + 1), At: time.Now()})
			} else {
				rec.write(Record{Webhook: "referral-7-delivered-1", Agency: "de-bka-cac", Type: "referral.new",
					Referrals: []int64{7}, SHA256: "ab", Verified: true, At: time.Now()})
			}
		})
	}
	wg.Wait()
	finished, webhooks := 0, 0
	sc := bufio.NewScanner(&buf)
	for sc.Scan() {
		var r Record
		if err := json.Unmarshal(sc.Bytes(), &r); err != nil {
			t.Fatalf("line %q: %v", sc.Text(), err)
		}
		switch {
		case r.Finished > 0 && r.Webhook == "":
			finished++
		case r.Webhook == "referral-7-delivered-1" && len(r.Referrals) == 1 && r.Referrals[0] == 7 && r.Verified:
			webhooks++
		default:
			t.Errorf("unexpected record %+v", r)
		}
	}
	if finished != 25 || webhooks != 25 {
		t.Errorf("%d finishes and %d webhooks recorded, want 25 of each", finished, webhooks)
	}

	none := newRecorder(nil)
	none.write(Record{Finished: 1})
}
