package guardian

import (
	"context"
	"time"
)

// Roles a token may carry.
const (
	// RoleAuditor may read the audit log's entries (who did what), not
	// only its public hashes.
	RoleAuditor = "auditor"
	// RoleAdmin may administer the running hub (reload the network file).
	RoleAdmin = "admin"
)

// Token is a bearer credential for a machine client or an auditor. Only a
// SHA-256 of the secret is stored: tokens are generated with 256 bits of
// entropy, so a slow hash would add nothing.
type Token struct {
	ID        int64     `json:"id"`
	Name      string    `json:"name"`
	Role      string    `json:"role"`
	Hash      string    `json:"-"` // lower-case hex SHA-256 of the secret
	CreatedAt time.Time `json:"createdAt"`
	Disabled  bool      `json:"disabled"`
}

// TokenStore keeps tokens.
type TokenStore interface {
	// CreateToken stores t and sets its ID and CreatedAt; a duplicate name
	// is ECONFLICT. ev records the creation in the same transaction.
	CreateToken(ctx context.Context, t *Token, ev *AuditEvent) error
	// FindTokenByHash returns the token with that hash, or ENOTFOUND.
	FindTokenByHash(ctx context.Context, hash string) (*Token, error)
}
