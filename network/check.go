package network

import (
	"errors"
	"fmt"
	"net/mail"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"time"

	"filippo.io/age"
)

// checkCountry reports whether code is an ISO 3166-1 alpha-2 code, with a
// hint for the usual mistakes.
func checkCountry(code string) error {
	if _, ok := countryNames[code]; ok {
		return nil
	}
	msg := fmt.Sprintf("%s is not an ISO 3166-1 alpha-2 code", quote(code))
	if hint, ok := countryHints[code]; ok {
		return fmt.Errorf("%s (%s)", msg, hint)
	}
	if up := strings.ToUpper(code); up != code {
		if _, ok := countryNames[up]; ok {
			return fmt.Errorf("%s (codes are written in capitals: %q)", msg, up)
		}
	}
	return errors.New(msg)
}

// countryHints answer the codes people write for countries that ISO 3166-1
// codes otherwise.
var countryHints = map[string]string{
	"UK": "the United Kingdom is GB",
	"EL": "Greece is GR",
	"XK": "XK is a user-assigned code for Kosovo, not part of ISO 3166-1",
}

var emailDomainLabel = regexp.MustCompile(`^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$`)

// checkEmail accepts a bare address, local@domain, with a domain name that
// has at least two labels: what an SMTP relay can deliver to.
func checkEmail(s string) error {
	bad := fmt.Errorf("%s is not an e-mail address; write only the address, like duty@example.org", quote(s))
	a, err := mail.ParseAddress(s)
	if err != nil || a.Name != "" || a.Address != s {
		return bad
	}
	at := strings.LastIndexByte(s, '@')
	local, domain := s[:at], s[at+1:]
	if local == "" || len(s) > 254 {
		return bad
	}
	labels := strings.Split(domain, ".")
	if len(labels) < 2 {
		return bad
	}
	for _, l := range labels {
		if !emailDomainLabel.MatchString(l) {
			return bad
		}
	}
	return nil
}

// checkWebhook accepts an absolute https URL without credentials or
// fragment. The URL itself is not quoted in the message: webhook URLs often
// carry a secret token in their path.
func checkWebhook(s string) error {
	u, err := url.Parse(s)
	switch {
	case err != nil || u.Opaque != "":
		return errors.New("webhook is not a URL")
	case u.Scheme != "https":
		return errors.New("webhook must be an https:// URL: notifications cross the internet")
	case strings.ContainsAny(s, " \t"):
		return errors.New("webhook URL must not contain spaces")
	case u.Host == "" || u.Hostname() == "":
		return errors.New("webhook URL has no host")
	case u.User != nil:
		return errors.New("webhook URL must not hold a user name or password")
	case u.Fragment != "" || strings.Contains(s, "#"):
		return errors.New("webhook URL must not have a #fragment")
	case len(s) > 2048:
		return errors.New("webhook URL is longer than 2048 bytes")
	}
	return nil
}

// checkRecipient accepts an age X25519 recipient (age1…) or an age hybrid
// post-quantum one (age1pq1…), and says which it is.
func checkRecipient(s string) (pq bool, err error) {
	if strings.HasPrefix(strings.ToUpper(s), "AGE-SECRET-KEY-") {
		// Never repeat it: the message may end up in a log.
		return false, errors.New("recipient is an age SECRET key: only public keys (age1…) belong in the network file; remove it and treat that key as disclosed")
	}
	if strings.HasPrefix(s, "age1pq1") {
		if _, err := age.ParseHybridRecipient(s); err != nil {
			return true, fmt.Errorf("recipient %s is not a valid age post-quantum public key", quote(s))
		}
		return true, nil
	}
	if _, err := age.ParseX25519Recipient(s); err != nil {
		return false, fmt.Errorf("recipient %s is not a valid age public key (age1… or age1pq1…)", quote(s))
	}
	return false, nil
}

// maxDeadline bounds acknowledgement deadlines: a year is already no
// deadline at all, and the bound keeps the arithmetic far from overflow.
const maxDeadline = 366 * 24 * time.Hour

var durationPattern = regexp.MustCompile(`^(?:([0-9]{1,6})d)?(?:([0-9]{1,6})h)?(?:([0-9]{1,6})m)?$`)

// parseDuration parses a deadline: days, hours and minutes, in that order,
// each optional, such as 30m, 4h, 3d or 1d12h. Go's time.ParseDuration has
// no days, which deadlines are mostly counted in.
func parseDuration(s string) (time.Duration, error) {
	m := durationPattern.FindStringSubmatch(s)
	if m == nil || s == "" {
		return 0, fmt.Errorf("%s is not a duration: write a number and a unit (d, h, m), like 30m, 4h, 3d or 1d12h", quote(s))
	}
	var d time.Duration
	for i, unit := range []time.Duration{24 * time.Hour, time.Hour, time.Minute} {
		if m[i+1] != "" {
			v, _ := strconv.Atoi(m[i+1]) // at most 6 digits
			d += time.Duration(v) * unit
		}
	}
	switch {
	case d <= 0:
		return 0, fmt.Errorf("%s is not a deadline: it must be longer than zero", quote(s))
	case d > maxDeadline:
		return 0, fmt.Errorf("%s is longer than a year", quote(s))
	}
	return d, nil
}

// formatDuration writes a duration the way parseDuration reads it, in the
// largest units: 36h is "1d12h". Seconds are dropped; deadlines have none.
func formatDuration(d time.Duration) string {
	var b strings.Builder
	for _, u := range []struct {
		unit time.Duration
		name string
	}{{24 * time.Hour, "d"}, {time.Hour, "h"}, {time.Minute, "m"}} {
		if n := d / u.unit; n > 0 {
			fmt.Fprintf(&b, "%d%s", n, u.name)
			d -= n * u.unit
		}
	}
	if b.Len() == 0 {
		return "0m"
	}
	return b.String()
}

// maxRetentionDays is a hundred years: anything longer is a typo.
const maxRetentionDays = 36500

// parseRetention parses a retention period in days, such as 730d.
func parseRetention(s string) (int, error) {
	bad := fmt.Errorf("retention %s must be a number of days, like 730d", quote(s))
	num, ok := strings.CutSuffix(s, "d")
	if !ok || num == "" || len(num) > 6 || strings.Trim(num, "0123456789") != "" {
		return 0, bad
	}
	days, _ := strconv.Atoi(num)
	if days < 1 || days > maxRetentionDays {
		return 0, fmt.Errorf("retention %s must be between 1d and %dd", quote(s), maxRetentionDays)
	}
	return days, nil
}
