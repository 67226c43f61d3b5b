package crypto

import "errors"

// Sealed user secrets (a person's TOTP secret) are
//
//	version (1 byte, 0x01) || nonce (12 bytes) || AES-256-GCM(secret) (len+16 bytes)
//
// under the master key, as wrapped data keys are, with a random nonce and
// the additional data
//
//	"guardian user secret v1\x00" || user name
//
// so that a sealed secret copied to another user's row does not open. A
// user's name never changes (guardian.UserUpdate has no name), which is why
// it, rather than the id the store assigns afterwards, is bound.
const (
	userSecretVersion1 = 0x01
	userSecretLabel    = "guardian user secret v1\x00"
	userSecretOverhead = 1 + 12 + 16
)

var errOpenUserSecret = errors.New("crypto: cannot open user secret: wrong key or user, or corrupted")

// SealUserSecret encrypts a person's second-factor secret for the users
// table, bound to their sign-in name.
func (k *MasterKey) SealUserSecret(userName string, secret []byte) []byte {
	out := make([]byte, 1, userSecretOverhead+len(secret))
	out[0] = userSecretVersion1
	return newWrapAEAD(k.key[:]).Seal(out, nil, secret, []byte(userSecretLabel+userName))
}

// OpenUserSecret reverses [MasterKey.SealUserSecret].
func (k *MasterKey) OpenUserSecret(userName string, sealed []byte) ([]byte, error) {
	if len(sealed) < userSecretOverhead || sealed[0] != userSecretVersion1 {
		return nil, errOpenUserSecret
	}
	pt, err := newWrapAEAD(k.key[:]).Open(nil, nil, sealed[1:], []byte(userSecretLabel+userName))
	if err != nil {
		return nil, errOpenUserSecret
	}
	return pt, nil
}
