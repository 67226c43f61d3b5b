package server_test

import (
	"bytes"
	"context"
	"crypto/ed25519"
	"crypto/sha256"
	"encoding/base64"
	"encoding/binary"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/transparency-dev/merkle/compact"
	"github.com/transparency-dev/merkle/proof"
	"github.com/transparency-dev/merkle/rfc6962"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog"
	"github.com/guardian-network/guardian/crypto"
	"github.com/guardian-network/guardian/server"
)

const testOrigin = "hub.example.org/audit"

// auditHub is a testHub whose audit log integrates in the background, with
// an auditor token.
type auditHub struct {
	*testHub
	Key   string // verifier key
	Token string // auditor bearer token
	URL   string // http://host:port
}

func MustOpenAuditHub(tb testing.TB, configure ...func(*server.Server)) *auditHub {
	tb.Helper()
	var key string
	var log *auditlog.Log
	h := MustOpenHub(tb, func(s *server.Server) {
		for _, f := range configure {
			f(s)
		}
		dir := tb.TempDir()
		signer, verifier, err := auditlog.LoadOrCreateSigningKey(filepath.Join(dir, "audit-signing.key"), testOrigin)
		if err != nil {
			tb.Fatal(err)
		}
		key = verifier
		log = auditlog.New(s.Store.(guardian.AuditLogStore), signer, testOrigin, slog.New(slog.DiscardHandler))
		s.AuditLog, s.AuditVerifierKey, s.Tokens = log, verifier, s.Store.(guardian.TokenStore)
	})
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() { defer close(done); log.Run(ctx) }()
	tb.Cleanup(func() { cancel(); <-done })

	secret := "gdn_" + crypto.GeneratePassword()
	sum := sha256.Sum256([]byte(secret))
	tok := &guardian.Token{Name: "auditor-one", Role: guardian.RoleAuditor, Hash: hex.EncodeToString(sum[:])}
	ev := &guardian.AuditEvent{Actor: guardian.Actor{Kind: guardian.ActorSystem}, Category: guardian.CategoryPermission, Action: "token.create"}
	if err := h.Store.(guardian.TokenStore).CreateToken(context.Background(), tok, ev); err != nil {
		tb.Fatal(err)
	}
	return &auditHub{testHub: h, Key: key, Token: secret, URL: h.Server.URL()}
}

// get fetches path from the hub, with the auditor token if auth.
func (h *auditHub) get(tb testing.TB, path string, auth bool) (int, []byte) {
	tb.Helper()
	req, _ := http.NewRequest("GET", h.URL+path, nil)
	if auth {
		req.Header.Set("Authorization", "Bearer "+h.Token)
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		tb.Fatal(err)
	}
	defer resp.Body.Close()
	b, _ := io.ReadAll(resp.Body)
	return resp.StatusCode, b
}

// waitForSize waits until the published checkpoint covers at least n events.
func (h *auditHub) waitForSize(tb testing.TB, n int64) []byte {
	tb.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		st, b := h.get(tb, "/audit/checkpoint", false)
		if st == 200 {
			if size, _, err := parseCheckpointBody(b); err == nil && size >= n {
				return b
			}
		}
		if time.Now().After(deadline) {
			tb.Fatalf("no checkpoint of size >= %d in time (last: HTTP %d %q)", n, st, b)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// --- An independent reading of the formats, written from the C2SP specs
// (tlog-checkpoint, signed-note, tlog-tiles) and verified with
// transparency-dev/merkle, which Guardian does not use to produce them. ---

// parseCheckpointBody reads the size and root hash of a checkpoint note.
func parseCheckpointBody(note []byte) (int64, []byte, error) {
	text, _, ok := bytes.Cut(note, []byte("\n\n"))
	if !ok {
		return 0, nil, fmt.Errorf("no signature block")
	}
	lines := strings.Split(string(text), "\n")
	if len(lines) < 3 {
		return 0, nil, fmt.Errorf("checkpoint has %d lines", len(lines))
	}
	size, err := strconv.ParseInt(lines[1], 10, 64)
	if err != nil {
		return 0, nil, err
	}
	root, err := base64.StdEncoding.DecodeString(lines[2])
	if err != nil || len(root) != 32 {
		return 0, nil, fmt.Errorf("bad root hash %q", lines[2])
	}
	return size, root, nil
}

// verifyNote checks a signed note against a verifier key
// "<name>+<hex key hash>+<base64(0x01 || ed25519 public key)>".
func verifyNote(t *testing.T, note []byte, vkey string) (origin string) {
	t.Helper()
	parts := strings.SplitN(vkey, "+", 3)
	if len(parts) != 3 {
		t.Fatalf("verifier key %q", vkey)
	}
	name := parts[0]
	raw, err := base64.StdEncoding.DecodeString(parts[2])
	if err != nil || len(raw) != 33 || raw[0] != 0x01 {
		t.Fatalf("verifier key %q: not an Ed25519 key", vkey)
	}
	pub := ed25519.PublicKey(raw[1:])
	h := sha256.Sum256(append([]byte(name+"\n"), raw...))
	if got := hex.EncodeToString(h[:4]); got != parts[1] {
		t.Fatalf("key hash %s, computed %s", parts[1], got)
	}
	i := bytes.Index(note, []byte("\n\n"))
	text, sigs := note[:i+1], string(note[i+2:])
	found := false
	for _, line := range strings.Split(strings.TrimSuffix(sigs, "\n"), "\n") {
		rest, ok := strings.CutPrefix(line, "\u2014 "+name+" ")
		if !ok {
			continue
		}
		sig, err := base64.StdEncoding.DecodeString(rest)
		if err != nil || len(sig) != 4+ed25519.SignatureSize {
			t.Fatalf("signature line %q", line)
		}
		if !bytes.Equal(sig[:4], h[:4]) {
			t.Fatalf("signature key hash %x, want %x", sig[:4], h[:4])
		}
		if !ed25519.Verify(pub, text, sig[4:]) {
			t.Fatalf("signature does not verify")
		}
		found = true
	}
	if !found {
		t.Fatalf("no signature by %s in\n%s", name, note)
	}
	return strings.SplitN(string(text), "\n", 2)[0]
}

// tilePath formats a tlog-tiles index: 3-digit groups, all but the last
// prefixed with x.
func tilePath(n int64) string {
	s := fmt.Sprintf("%03d", n%1000)
	for n >= 1000 {
		n /= 1000
		s = fmt.Sprintf("x%03d/", n%1000) + s
	}
	return s
}

func tileURL(level int, n int64, width int64) string {
	p := fmt.Sprintf("/audit/tile/%d/%s", level, tilePath(n))
	if width < 256 {
		p += fmt.Sprintf(".p/%d", width)
	}
	return p
}

func entriesURL(n int64, width int64) string {
	p := "/audit/tile/entries/" + tilePath(n)
	if width < 256 {
		p += fmt.Sprintf(".p/%d", width)
	}
	return p
}

// TestAuditLogIndependently reads Guardian's checkpoint, tiles, entry
// bundles and proofs over HTTP and checks them with code that shares
// nothing with how they were produced.
func TestAuditLogIndependently(t *testing.T) {
	h := MustOpenAuditHub(t)
	ctx := context.Background()
	// Enough events for a full level-0 tile and a partial one.
	for i := 0; i < 90; i++ {
		id := h.submit(t)
		h.upload(t, id, fmt.Sprintf("file %d", i))
		if _, err := h.client().Finish(ctx, id); err != nil {
			t.Fatal(err)
		}
	}
	note := h.waitForSize(t, 270)
	if origin := verifyNote(t, note, h.Key); origin != testOrigin {
		t.Errorf("origin %q, want %q", origin, testOrigin)
	}
	size, root, err := parseCheckpointBody(note)
	if err != nil {
		t.Fatal(err)
	}

	// Level-0 tiles are the leaf hashes; entry bundles the leaves.
	hasher := rfc6962.DefaultHasher
	var leafHashes [][]byte
	for n := int64(0); n*256 < size; n++ {
		width := min(256, size-n*256)
		st, tile := h.get(t, tileURL(0, n, width), false)
		if st != 200 || int64(len(tile)) != 32*width {
			t.Fatalf("tile 0/%d width %d: HTTP %d, %d bytes", n, width, st, len(tile))
		}
		st, bundle := h.get(t, entriesURL(n, width), true)
		if st != 200 {
			t.Fatalf("entries %d: HTTP %d %s", n, st, bundle)
		}
		for i := int64(0); i < width; i++ {
			if len(bundle) < 2 {
				t.Fatalf("bundle %d ends at entry %d", n, i)
			}
			l := int(binary.BigEndian.Uint16(bundle))
			leaf := bundle[2 : 2+l]
			bundle = bundle[2+l:]
			lh := hasher.HashLeaf(leaf)
			if !bytes.Equal(lh, tile[32*i:32*i+32]) {
				t.Fatalf("leaf %d: hash of the entry %x, tile says %x", n*256+i, lh, tile[32*i:32*i+32])
			}
			var ev map[string]any
			if err := json.Unmarshal(leaf, &ev); err != nil {
				t.Fatalf("leaf %d is not JSON: %v", n*256+i, err)
			}
			leafHashes = append(leafHashes, lh)
		}
		if len(bundle) != 0 {
			t.Fatalf("bundle %d has %d trailing bytes", n, len(bundle))
		}
	}

	// The root of the leaves is the checkpoint's root.
	rf := &compact.RangeFactory{Hash: hasher.HashChildren}
	cr := rf.NewEmptyRange(0)
	for _, lh := range leafHashes {
		if err := cr.Append(lh, nil); err != nil {
			t.Fatal(err)
		}
	}
	got, err := cr.GetRootHash(nil)
	if err != nil || !bytes.Equal(got, root) {
		t.Fatalf("root from tiles %x, checkpoint %x (%v)", got, root, err)
	}
	// A level-1 tile holds the roots of full level-0 tiles.
	st, tile1 := h.get(t, tileURL(1, 0, 1), false)
	sub := rf.NewEmptyRange(0)
	for _, lh := range leafHashes[:256] {
		sub.Append(lh, nil)
	}
	subRoot, _ := sub.GetRootHash(nil)
	if st != 200 || !bytes.Equal(tile1, subRoot) {
		t.Errorf("level-1 tile: HTTP %d, %x; want %x", st, tile1, subRoot)
	}

	// Inclusion proofs from the convenience endpoint.
	for _, i := range []int64{0, 1, 255, 256, size - 1} {
		var p struct {
			LeafHash string   `json:"leafHash"`
			RootHash string   `json:"rootHash"`
			Proof    []string `json:"proof"`
		}
		st, b := h.get(t, fmt.Sprintf("/audit/proof/inclusion?index=%d&size=%d", i, size), false)
		if st != 200 || json.Unmarshal(b, &p) != nil {
			t.Fatalf("inclusion %d: HTTP %d %s", i, st, b)
		}
		if err := proof.VerifyInclusion(hasher, uint64(i), uint64(size), leafHashes[i], decodeAll(t, p.Proof), root); err != nil {
			t.Errorf("inclusion proof of %d: %v", i, err)
		}
	}

	// The log grows; an old checkpoint stays provably consistent with the new.
	for i := 0; i < 5; i++ {
		h.submit(t)
	}
	note2 := h.waitForSize(t, size+5)
	verifyNote(t, note2, h.Key)
	size2, root2, _ := parseCheckpointBody(note2)
	var c struct {
		Proof []string `json:"proof"`
	}
	st, b := h.get(t, fmt.Sprintf("/audit/proof/consistency?from=%d&to=%d", size, size2), false)
	if st != 200 || json.Unmarshal(b, &c) != nil {
		t.Fatalf("consistency: HTTP %d %s", st, b)
	}
	if err := proof.VerifyConsistency(hasher, uint64(size), uint64(size2), decodeAll(t, c.Proof), root, root2); err != nil {
		t.Errorf("consistency %d→%d: %v", size, size2, err)
	}
	// An inclusion proof against the old size still verifies after growth.
	st, b = h.get(t, fmt.Sprintf("/audit/proof/inclusion?index=3&size=%d", size), false)
	var p struct {
		Proof []string `json:"proof"`
	}
	if st != 200 || json.Unmarshal(b, &p) != nil {
		t.Fatalf("old inclusion: HTTP %d %s", st, b)
	}
	if err := proof.VerifyInclusion(hasher, 3, uint64(size), leafHashes[3], decodeAll(t, p.Proof), root); err != nil {
		t.Errorf("old inclusion proof: %v", err)
	}
}

func decodeAll(t *testing.T, ss []string) [][]byte {
	t.Helper()
	out := make([][]byte, len(ss))
	for i, s := range ss {
		b, err := base64.StdEncoding.DecodeString(s)
		if err != nil {
			t.Fatal(err)
		}
		out[i] = b
	}
	return out
}

// TestAuditAccess checks who may read what under /audit, and that every
// read of entries is itself recorded.
func TestAuditAccess(t *testing.T) {
	h := MustOpenAuditHub(t)
	h.submit(t)
	size, _, _ := parseCheckpointBody(h.waitForSize(t, 3))
	tile, entries := tileURL(0, 0, size), entriesURL(0, size)
	if st, _ := h.get(t, tile, false); st != 200 {
		t.Errorf("public hash tile: HTTP %d", st)
	}
	if st, _ := h.get(t, entries, false); st != 401 {
		t.Errorf("entries without token: HTTP %d, want 401", st)
	}
	req, _ := http.NewRequest("GET", h.URL+entries, nil)
	req.Header.Set("Authorization", "Bearer not-a-token")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 401 {
		t.Errorf("entries with a wrong token: HTTP %d", resp.StatusCode)
	}
	if st, _ := h.get(t, entries, true); st != 200 {
		t.Errorf("entries with the auditor token: HTTP %d", st)
	}
	if st, _ := h.get(t, "/audit/tile/0/x999/000", false); st != 404 {
		t.Errorf("a tile beyond the tree: HTTP %d, want 404", st)
	}
	if st, _ := h.get(t, "/audit/tile/0/../../etc", false); st != 404 {
		t.Errorf("a bad tile path: HTTP %d, want 404", st)
	}
	got := strings.Join(h.events(t, guardian.AuditFilter{Action: "audit.entries.read"}), " ")
	if got != "audit.entries.read:success:" {
		t.Errorf("entry reads recorded: %q", got)
	}
}

// TestBearerScheme: the scheme of the Authorization header is
// case-insensitive (RFC 9110 §11.1), and a missing token is asked for with
// the role the endpoint needs (issue 9, point 6).
func TestBearerScheme(t *testing.T) {
	h := MustOpenAuditHub(t, func(s *server.Server) {
		s.ReloadNetwork = func(ctx context.Context, actor guardian.Actor) (string, bool, error) {
			return "digest", false, nil
		}
	})
	h.submit(t)
	size, _, _ := parseCheckpointBody(h.waitForSize(t, 3))
	entries := entriesURL(0, size)
	for _, scheme := range []string{"Bearer", "bearer", "BEARER", "bEaReR"} {
		req, _ := http.NewRequest("GET", h.URL+entries, nil)
		req.Header.Set("Authorization", scheme+" "+h.Token)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		resp.Body.Close()
		if resp.StatusCode != 200 {
			t.Errorf("%s: HTTP %d", scheme, resp.StatusCode)
		}
	}
	for path, role := range map[string]string{entries: "auditor", "/admin/network/reload": "admin"} {
		method := "GET"
		if strings.HasPrefix(path, "/admin") {
			method = "POST"
		}
		req, _ := http.NewRequest(method, h.URL+path, nil)
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			t.Fatal(err)
		}
		var body struct{ Error string }
		_ = json.NewDecoder(resp.Body).Decode(&body)
		resp.Body.Close()
		if resp.StatusCode != 401 || !strings.Contains(body.Error, "token of the "+role+" role is required") {
			t.Errorf("%s %s without a token: HTTP %d %q", method, path, resp.StatusCode, body.Error)
		}
	}
}
