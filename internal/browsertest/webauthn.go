package browsertest

import (
	"context"
	"fmt"

	"github.com/chromedp/cdproto/webauthn"
	"github.com/chromedp/chromedp"
)

// VirtualAuthenticator enables the DevTools WebAuthn domain on the tab and
// adds a virtual platform authenticator (CTAP2, internal transport, with
// resident keys and user verification) that verifies the user and confirms
// presence by itself. navigator.credentials.create and get then succeed on
// the tab's pages without a person, as with a passkey on a laptop.
//
// WebAuthn needs a secure context and a valid relying party id: serve the
// page on http://localhost:PORT (not 127.0.0.1), or over HTTPS. The
// authenticator lives as long as the tab; its id names it to the WebAuthn
// domain's other commands (webauthn.GetCredentials, to inspect what a page
// registered, or webauthn.SetUserVerified, to make verification fail).
func VirtualAuthenticator(ctx context.Context) (string, error) {
	// No UI: there is no person to show it to, and in headless mode it would
	// only wait.
	if _, err := chromedp.Call(ctx, webauthn.Enable, webauthn.EnableParams{EnableUI: new(false)}); err != nil {
		return "", fmt.Errorf("webauthn: enable: %w", err)
	}
	res, err := chromedp.Call(ctx, webauthn.AddVirtualAuthenticator, webauthn.AddVirtualAuthenticatorParams{
		Options: &webauthn.VirtualAuthenticatorOptions{
			Protocol:                    webauthn.AuthenticatorProtocolCtap2,
			Transport:                   webauthn.AuthenticatorTransportInternal,
			HasResidentKey:              true,
			HasUserVerification:         true,
			IsUserVerified:              true,
			AutomaticPresenceSimulation: true,
		},
	})
	if err != nil {
		return "", fmt.Errorf("webauthn: add virtual authenticator: %w", err)
	}
	return string(res.AuthenticatorID), nil
}
