package server

import (
	"context"
	"crypto/sha256"
	"encoding/base64"
	"encoding/hex"
	"encoding/json"
	"log/slog"
	"net/http"
	"strconv"
	"strings"

	"golang.org/x/mod/sumdb/tlog"

	"github.com/guardian-network/guardian"
	"github.com/guardian-network/guardian/auditlog/format"
)

// The audit log is served in the C2SP tlog-tiles layout under /audit/, so
// that existing transparency-log clients and witnesses work unchanged. The
// checkpoint and the hash tiles reveal no event content and are public; the
// entry bundles say who did what and need an auditor token, and every read
// of them is itself an audit event.

// registerAudit adds the /audit routes to mux.
func (s *Server) registerAudit(mux *http.ServeMux) {
	mux.HandleFunc("GET /audit/checkpoint", s.limitAudit(s.handleAuditCheckpoint))
	mux.HandleFunc("GET /audit/key", s.limitAudit(s.handleAuditKey))
	mux.HandleFunc("GET /audit/tile/{path...}", s.limitAudit(s.handleAuditTile))
	mux.HandleFunc("GET /audit/proof/inclusion", s.limitAudit(s.handleInclusionProof))
	mux.HandleFunc("GET /audit/proof/consistency", s.limitAudit(s.handleConsistencyProof))
}

func (s *Server) handleAuditCheckpoint(w http.ResponseWriter, r *http.Request) {
	cp, err := s.AuditLog.Checkpoint(r.Context())
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	// A checkpoint is replaced every time the log grows.
	w.Header().Set("Cache-Control", "no-cache")
	_, _ = w.Write(cp.Note)
}

// handleAuditKey serves the verifier key, so that a partner can compare it
// with the one the hub's operator gave them out of band.
func (s *Server) handleAuditKey(w http.ResponseWriter, r *http.Request) {
	w.Header().Set("Content-Type", "text/plain; charset=utf-8")
	_, _ = w.Write([]byte(s.AuditVerifierKey + "\n"))
}

func (s *Server) handleAuditTile(w http.ResponseWriter, r *http.Request) {
	t, err := format.ParseTilePath(r.PathValue("path"))
	if err != nil {
		s.auditError(w, r, guardian.Errorf(guardian.ENOTFOUND, "No such tile: %v", err))
		return
	}
	var ev *guardian.AuditEvent
	if t.Entries {
		tok, err := s.requireToken(r, guardian.RoleAuditor)
		if err != nil {
			s.auditError(w, r, err)
			return
		}
		ri := requestInfoFrom(r.Context())
		ev = &guardian.AuditEvent{
			Actor:      guardian.Actor{Kind: guardian.ActorUser, ID: "token:" + strconv.FormatInt(tok.ID, 10), Name: tok.Name},
			Category:   guardian.CategoryAuditAccess,
			Action:     "audit.entries.read",
			ObjectKind: "audit_bundle",
			ObjectID:   t.String(),
			RequestID:  ri.id,
			ClientAddr: ri.clientAddr,
		}
	}
	cp, err := s.AuditLog.Checkpoint(r.Context())
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	data, err := s.AuditLog.ReadTile(r.Context(), t, cp.TreeSize)
	if ev != nil {
		// The read is recorded before the entries leave the hub; if it
		// cannot be recorded, they do not leave.
		ev.Outcome, ev.Reason = guardian.OutcomeSuccess, ""
		if err != nil {
			ev.Outcome, ev.Reason = guardian.OutcomeFailure, guardian.ErrorCode(err)
		}
		if rerr := s.Store.AppendAuditEvent(context.WithoutCancel(r.Context()), ev); rerr != nil {
			s.auditError(w, r, rerr)
			return
		}
	}
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	w.Header().Set("Content-Type", "application/octet-stream")
	if t.Width == 0 {
		// Full tiles never change.
		w.Header().Set("Cache-Control", "public, max-age=31536000, immutable")
	} else {
		w.Header().Set("Cache-Control", "no-cache")
	}
	_, _ = w.Write(data)
}

// proofResponse is the JSON of the convenience proof endpoints. Hashes are
// standard base64, as in checkpoints.
type proofResponse struct {
	Index    *int64   `json:"index,omitempty"`
	From     *int64   `json:"from,omitempty"`
	TreeSize int64    `json:"treeSize"`
	LeafHash string   `json:"leafHash,omitempty"`
	RootHash string   `json:"rootHash"`
	Proof    []string `json:"proof"`
}

// handleInclusionProof answers GET /audit/proof/inclusion?index=N[&size=S]:
// the proof that leaf N is in the tree of size S (default: the latest
// checkpoint's).
func (s *Server) handleInclusionProof(w http.ResponseWriter, r *http.Request) {
	cp, err := s.AuditLog.Checkpoint(r.Context())
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	index, err := queryInt(r, "index", -1)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	size, err := queryInt(r, "size", cp.TreeSize)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	if index < 0 || size <= index || size > cp.TreeSize {
		s.auditError(w, r, guardian.Errorf(guardian.EINVALID, "Need 0 <= index < size <= %d.", cp.TreeSize))
		return
	}
	proof, err := s.AuditLog.InclusionProof(r.Context(), index, size)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	root, err := s.AuditLog.RootHash(r.Context(), size)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	leaf, err := s.AuditLog.LeafHash(r.Context(), index)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, proofResponse{Index: &index, TreeSize: size, LeafHash: b64(leaf[:]), RootHash: b64(root[:]), Proof: b64s(proof)})
}

// handleConsistencyProof answers GET /audit/proof/consistency?from=A[&to=B]:
// the proof that the tree of size A is a prefix of the tree of size B
// (default: the latest checkpoint's).
func (s *Server) handleConsistencyProof(w http.ResponseWriter, r *http.Request) {
	cp, err := s.AuditLog.Checkpoint(r.Context())
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	from, err := queryInt(r, "from", -1)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	to, err := queryInt(r, "to", cp.TreeSize)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	if from < 1 || to < from || to > cp.TreeSize {
		s.auditError(w, r, guardian.Errorf(guardian.EINVALID, "Need 1 <= from <= to <= %d.", cp.TreeSize))
		return
	}
	proof, err := s.AuditLog.ConsistencyProof(r.Context(), from, to)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	root, err := s.AuditLog.RootHash(r.Context(), to)
	if err != nil {
		s.auditError(w, r, err)
		return
	}
	writeJSON(w, http.StatusOK, proofResponse{From: &from, TreeSize: to, RootHash: b64(root[:]), Proof: b64s(proof)})
}

// requireToken authenticates a bearer token with the given role. Tokens are
// high-entropy secrets, so a SHA-256 identifies them; the comparison happens
// in the database lookup of that digest, never of the secret. Lookups are
// cheap, so only failures take a token of the client address's sign-in
// bucket, and an address without one is answered 429 before any lookup.
func (s *Server) requireToken(r *http.Request, role string) (*guardian.Token, error) {
	// The scheme is case-insensitive (RFC 9110 §11.1).
	scheme, secret, _ := strings.Cut(r.Header.Get("Authorization"), " ")
	secret = strings.TrimSpace(secret)
	if !strings.EqualFold(scheme, "Bearer") || secret == "" {
		return nil, guardian.Errorf(guardian.EUNAUTHORIZED, "A token of the %s role is required (Authorization: Bearer ...).", role)
	}
	if wait := s.guard.addrBlocked(requestInfoFrom(r.Context()).clientAddr); wait > 0 {
		s.countFailure(r.Context(), "audit.authenticate", "429", guardian.ActorUser, "")
		return nil, &throttledError{wait: wait}
	}
	sum := sha256.Sum256([]byte(secret))
	tok, err := s.Tokens.FindTokenByHash(r.Context(), hex.EncodeToString(sum[:]))
	if guardian.ErrorCode(err) == guardian.ENOTFOUND {
		s.tokenFailed(r, "unknown token")
		return nil, guardian.Errorf(guardian.EUNAUTHORIZED, "The token is not valid.")
	} else if err != nil {
		return nil, err
	}
	if tok.Disabled || tok.Role != role {
		s.tokenFailed(r, "role")
		return nil, guardian.Errorf(guardian.EFORBIDDEN, "This token does not carry the %s role.", role)
	}
	return tok, nil
}

// tokenFailed counts a failed bearer sign-in against its address.
func (s *Server) tokenFailed(r *http.Request, reason string) {
	s.guard.addrFailed(requestInfoFrom(r.Context()).clientAddr)
	s.countFailure(r.Context(), "audit.authenticate", reason, guardian.ActorUser, "")
}

// auditError answers an /audit request in JSON.
func (s *Server) auditError(w http.ResponseWriter, r *http.Request, err error) {
	s.logError(r, err)
	if te, ok := asThrottled(err); ok {
		w.Header().Set("Retry-After", retryAfter(te.wait))
		writeJSON(w, http.StatusTooManyRequests, map[string]string{"error": capitalize(te.Error()) + "."})
		return
	}
	status := http.StatusInternalServerError
	switch guardian.ErrorCode(err) {
	case guardian.ENOTFOUND:
		status = http.StatusNotFound
	case guardian.EINVALID:
		status = http.StatusBadRequest
	case guardian.EUNAUTHORIZED:
		w.Header().Set("WWW-Authenticate", `Bearer realm="Guardian audit log"`)
		status = http.StatusUnauthorized
	case guardian.EFORBIDDEN:
		status = http.StatusForbidden
	case guardian.EUNAVAILABLE:
		status = http.StatusServiceUnavailable
	}
	writeJSON(w, status, map[string]string{"error": guardian.ErrorMessage(err)})
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	b, err := json.Marshal(v)
	if err != nil {
		slog.Error("encode JSON response", slog.Any(attrError, err))
		status, b = http.StatusInternalServerError, []byte(`{"error":"Internal error."}`)
	}
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_, _ = w.Write(append(b, '\n'))
}

func queryInt(r *http.Request, name string, def int64) (int64, error) {
	v := r.URL.Query().Get(name)
	if v == "" {
		if def < 0 {
			return 0, guardian.Errorf(guardian.EINVALID, "The query parameter %q is required.", name)
		}
		return def, nil
	}
	n, err := strconv.ParseInt(v, 10, 64)
	if err != nil || n < 0 {
		return 0, guardian.Errorf(guardian.EINVALID, "The query parameter %q must be a non-negative integer.", name)
	}
	return n, nil
}

func b64(b []byte) string { return base64.StdEncoding.EncodeToString(b) }

func b64s(hs []tlog.Hash) []string {
	out := make([]string, len(hs))
	for i, h := range hs {
		out[i] = b64(h[:])
	}
	return out
}
