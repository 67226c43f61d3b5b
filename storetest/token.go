package storetest

import (
	"crypto/sha256"
	"encoding/hex"
	"testing"

	"github.com/google/go-cmp/cmp"

	"github.com/guardian-network/guardian"
)

// tokens returns the store as a TokenStore, failing the test if it is not.
func (e *env) tokens() guardian.TokenStore {
	e.t.Helper()
	ts, ok := e.s.(guardian.TokenStore)
	if !ok {
		e.t.Fatalf("%T is not a guardian.TokenStore", e.s)
	}
	return ts
}

func tokenHash(secret string) string {
	sum := sha256.Sum256([]byte(secret))
	return hex.EncodeToString(sum[:])
}

func testCreateToken(t *testing.T, e *env) {
	ts := e.tokens()
	tok := &guardian.Token{Name: "auditor-one", Role: guardian.RoleAuditor, Hash: tokenHash("secret-" + randomHex(16))}
	ev := systemEvent("token.create")
	if err := ts.CreateToken(e.ctx, tok, ev); err != nil {
		t.Fatal(err)
	}
	if tok.ID == 0 || !tok.CreatedAt.Equal(e.now()) {
		t.Errorf("CreateToken set ID %d, CreatedAt %v; want an id and %v", tok.ID, tok.CreatedAt, e.now())
	}
	// The creation is recorded in the same transaction.
	if ev.ID == 0 || ev.ObjectKind != "token" || ev.Outcome != guardian.OutcomeSuccess {
		t.Errorf("audit event %+v", ev)
	}
	e.wantStored(ev)

	got, err := ts.FindTokenByHash(e.ctx, tok.Hash)
	if err != nil {
		t.Fatal(err)
	}
	if diff := cmp.Diff(tok, got); diff != "" {
		t.Errorf("FindTokenByHash (-created +found):\n%s", diff)
	}
}

func testTokenRefused(t *testing.T, e *env) {
	ts := e.tokens()
	tok := &guardian.Token{Name: "auditor-one", Role: guardian.RoleAuditor, Hash: tokenHash("a")}
	if err := ts.CreateToken(e.ctx, tok, systemEvent("token.create")); err != nil {
		t.Fatal(err)
	}
	n := e.eventCount()
	dup := &guardian.Token{Name: "auditor-one", Role: guardian.RoleAuditor, Hash: tokenHash("b")}
	e.refused(ts.CreateToken(e.ctx, dup, systemEvent("token.create")), guardian.ECONFLICT, n)
	noName := &guardian.Token{Role: guardian.RoleAuditor, Hash: tokenHash("c")}
	e.refused(ts.CreateToken(e.ctx, noName, systemEvent("token.create")), guardian.EINVALID, n)
	if err := ts.CreateToken(e.ctx, &guardian.Token{Name: "x", Role: "r", Hash: "not-hex"}, systemEvent("token.create")); err == nil {
		t.Error("a token with a malformed hash was stored")
	}
	if err := ts.CreateToken(e.ctx, &guardian.Token{Name: "y", Role: "r", Hash: tokenHash("d")}, nil); err == nil {
		t.Error("a token was created without its audit event")
	}
	if _, err := ts.FindTokenByHash(e.ctx, tokenHash("b")); guardian.ErrorCode(err) != guardian.ENOTFOUND {
		t.Errorf("FindTokenByHash of an unknown hash: %v, want ENOTFOUND", err)
	}
}
