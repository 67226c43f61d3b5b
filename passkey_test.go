package guardian_test

import (
	"encoding/json"
	"log/slog"
	"strings"
	"testing"

	"github.com/guardian-network/guardian"
)

// TestPasskeyLogValue: a passkey is logged by id, user and name; its keys
// and credential id reach neither the log nor the JSON the pages get.
func TestPasskeyLogValue(t *testing.T) {
	p := &guardian.Passkey{ID: 3, UserID: 7, Name: "YubiKey 5", CredentialID: []byte("SECRET-CREDENTIAL"),
		PublicKey: []byte("SECRET-KEY"), AAGUID: []byte("SECRET-AAGUID-16"), SignCount: 987654321,
		Transports: []string{"usb"}, AttestationType: "none"}
	var logged strings.Builder
	slog.New(slog.NewJSONHandler(&logged, nil)).Info("x", "passkey", p)
	if got, want := logged.String(), `"passkey":{"id":3,"user":7,"name":"YubiKey 5"}`; !strings.Contains(got, want) {
		t.Errorf("logged %s, want %s", got, want)
	}
	b, err := json.Marshal(p)
	if err != nil {
		t.Fatal(err)
	}
	logged.Write(b)
	for _, secret := range []string{"SECRET", "U0VDUkVU", "987654321"} { // U0VDUkVU: base64 of SECRET
		if strings.Contains(logged.String(), secret) {
			t.Errorf("output holds %q:\n%s", secret, logged.String())
		}
	}
}

func TestCheckPasskeyName(t *testing.T) {
	for name, ok := range map[string]bool{
		"YubiKey 5":       true,
		"Teléfono de Ana": true,
		"Ключ 🔑":          true,
		strings.Repeat("é", guardian.MaxPasskeyName):   true,
		strings.Repeat("é", guardian.MaxPasskeyName+1): false,
		"":          false,
		" \t ":      false,
		"Key\nTwo":  false,
		"Key\u0085": false, // a C1 control
		"Key \xff":  false,
		"\x00":      false,
	} {
		err := guardian.CheckPasskeyName(name)
		if (err == nil) != ok {
			t.Errorf("CheckPasskeyName(%q) = %v, want ok %v", name, err, ok)
		}
		if err != nil && guardian.ErrorCode(err) != guardian.EINVALID {
			t.Errorf("CheckPasskeyName(%q): code %q, want EINVALID", name, guardian.ErrorCode(err))
		}
	}
}
