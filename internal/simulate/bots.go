package simulate

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/url"
	"strconv"
	"sync"
	"sync/atomic"
	"time"
)

// referralView is what a bot reads of a referral from the partner API.
type referralView struct {
	ID                  int64      `json:"id"`
	ReportID            int64      `json:"reportId"`
	AgencyID            string     `json:"agencyId"`
	State               string     `json:"state"`
	Priority            string     `json:"priority"`
	HeldForConfirmation bool       `json:"heldForConfirmation"`
	ReceivedAt          time.Time  `json:"receivedAt"`
	DeliveredAt         *time.Time `json:"deliveredAt"`
	AcknowledgedAt      *time.Time `json:"acknowledgedAt"`
	UpdatedAt           time.Time  `json:"updatedAt"`
}

type referralList struct {
	Referrals  []referralView `json:"referrals"`
	NextCursor string         `json:"nextCursor"`
}

// httpError is a partner API answer other than 2xx.
type httpError struct {
	status int
	body   string
}

func (e *httpError) Error() string { return fmt.Sprintf("HTTP %d: %.200s", e.status, e.body) }

// bot is a simulated agency (or, with hub set, a hub analyst): it lists
// its inbox every poll interval or when poked by a webhook, and
// acknowledges (or confirms) each new referral after a drawn delay.
type bot struct {
	r     *run
	name  string // the agency's id, or "hub"
	hub   bool
	token string
	hc    *http.Client
	poke  chan struct{}
	sem   chan struct{} // requests in flight: the API allows a token eight

	rndMu sync.Mutex
	rnd   *rand.Rand

	inflight  atomic.Int64 // referrals being acted on
	watermark time.Time    // the newest updatedAt listed
}

// maxBotRequests stays under the API's limit of requests in flight per
// token (api.DefaultMaxInFlightPerCaller), leaving one for the listing.
const maxBotRequests = 6

func (r *run) newBots() []*bot {
	hc := &http.Client{Timeout: time.Minute, Transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: maxBotRequests + 2}}
	var bots []*bot
	add := func(name, token string, hub bool) {
		seed := r.cfg.Seed ^ uint64(len(bots)+1)*0x9e3779b97f4a7c15
		bots = append(bots, &bot{r: r, name: name, hub: hub, token: token, hc: hc, poke: make(chan struct{}, 1),
			sem: make(chan struct{}, maxBotRequests), rnd: rand.New(rand.NewPCG(seed, 0xb07))})
	}
	for _, a := range r.cfg.Agencies {
		add(a.Agency, a.Token, false)
	}
	if r.cfg.HubToken != "" {
		add("hub", r.cfg.HubToken, true)
	}
	return bots
}

// wake makes the bot list its inbox at once.
func (b *bot) wake() {
	select {
	case b.poke <- struct{}{}:
	default:
	}
}

func (b *bot) run(ctx context.Context) {
	t := time.NewTicker(b.r.cfg.Poll)
	defer t.Stop()
	b.watermark = time.Now().Add(-time.Minute)
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-b.poke:
		}
		if err := b.list(ctx); err != nil && ctx.Err() == nil {
			b.r.errs.add(b.kind()+" list: "+errorCode(err), 1)
		}
	}
}

func (b *bot) kind() string {
	if b.hub {
		return "hub bot"
	}
	return "agency bot"
}

// listOverlap is how far before the newest change seen a listing starts
// again: a referral whose transaction committed late can carry an
// updatedAt older than one already listed.
const listOverlap = 5 * time.Second

// list reads the inbox's new referrals, every page, and acts on each.
func (b *bot) list(ctx context.Context) error {
	q := url.Values{"order": {"updated"}, "limit": {"500"},
		"updatedSince": {b.watermark.Add(-listOverlap).UTC().Format(time.RFC3339Nano)}}
	if b.hub {
		q.Set("state", "new")
	} else {
		q.Set("state", "delivered,opened")
	}
	for {
		var page referralList
		if err := b.call(ctx, http.MethodGet, "/referrals?"+q.Encode(), nil, &page); err != nil {
			return err
		}
		now := time.Now()
		for _, v := range page.Referrals {
			if v.UpdatedAt.After(b.watermark) {
				b.watermark = v.UpdatedAt
			}
			switch {
			case b.hub && v.HeldForConfirmation && b.r.tracker.held(v, now):
				b.act(ctx, v, b.confirm)
			case !b.hub && b.r.tracker.seen(v, now):
				b.act(ctx, v, b.acknowledge)
			}
		}
		if page.NextCursor == "" {
			return nil
		}
		if page.NextCursor == q.Get("cursor") {
			// A hub that answers the same cursor again would keep the
			// bot here for ever.
			return errors.New("the inbox answered the same cursor twice")
		}
		q.Set("cursor", page.NextCursor)
	}
}

// act runs f on v after the drawn delay, at most maxBotRequests at once.
func (b *bot) act(ctx context.Context, v referralView, f func(context.Context, referralView)) {
	b.inflight.Add(1)
	var delay time.Duration
	if mean := b.r.cfg.AckDelay; mean > 0 {
		b.rndMu.Lock()
		delay = time.Duration(b.rnd.ExpFloat64() * float64(mean))
		b.rndMu.Unlock()
	}
	go func() {
		defer b.inflight.Add(-1)
		if delay > 0 {
			t := time.NewTimer(delay)
			defer t.Stop()
			select {
			case <-ctx.Done():
				return
			case <-t.C:
			}
		}
		select {
		case b.sem <- struct{}{}:
		case <-ctx.Done():
			return
		}
		defer func() { <-b.sem }()
		f(ctx, v)
	}()
}

func (b *bot) acknowledge(ctx context.Context, v referralView) {
	var got referralView
	if err := b.call(ctx, http.MethodPost, "/referrals/"+strconv.FormatInt(v.ID, 10)+"/acknowledge", nil, &got); err != nil {
		if ctx.Err() == nil {
			b.r.errs.add("agency bot acknowledge: "+errorCode(err), 1)
			b.r.tracker.unclaim(v.ID)
		}
		return
	}
	b.r.tracker.acknowledged(got, time.Now())
	b.rndMu.Lock()
	reply := b.rnd.Float64() < b.r.cfg.ReplyShare
	b.rndMu.Unlock()
	if !reply {
		return
	}
	msg := map[string]string{"kind": "reply",
		"body": "Received and assigned for review. (A simulated agency's answer: guardian simulate.)"}
	if err := b.call(ctx, http.MethodPost, "/referrals/"+strconv.FormatInt(v.ID, 10)+"/messages", msg, nil); err != nil {
		if ctx.Err() == nil {
			b.r.errs.add("agency bot message: "+errorCode(err), 1)
		}
		return
	}
	b.r.tracker.replied()
}

func (b *bot) confirm(ctx context.Context, v referralView) {
	body := map[string]string{"reason": "Checked by a simulated analyst (guardian simulate)."}
	err := b.call(ctx, http.MethodPost, "/referrals/"+strconv.FormatInt(v.ID, 10)+"/confirm", body, nil)
	if err != nil && ctx.Err() == nil {
		b.r.errs.add("hub bot confirm: "+errorCode(err), 1)
	}
	b.r.tracker.confirmed(err == nil, v.ID)
}

// call makes one partner API request with the bot's token.
func (b *bot) call(ctx context.Context, method, path string, in, out any) error {
	var body io.Reader
	if in != nil {
		j, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(j)
	}
	req, err := http.NewRequestWithContext(ctx, method, b.r.cfg.URL+"/api/v1"+path, body)
	if err != nil {
		return err
	}
	req.Header.Set("Authorization", "Bearer "+b.token)
	if in != nil {
		req.Header.Set("Content-Type", "application/json")
	}
	resp, err := b.hc.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	data, err := io.ReadAll(io.LimitReader(resp.Body, 32<<20))
	if err != nil {
		return err
	}
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return &httpError{status: resp.StatusCode, body: string(data)}
	}
	if out == nil {
		return nil
	}
	if err := json.Unmarshal(data, out); err != nil {
		return fmt.Errorf("decode %s %s: %w", method, path, err)
	}
	return nil
}
