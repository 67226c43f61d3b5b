// Package geo maps IP addresses to the countries they are registered or used
// in, for jurisdiction resolution (package triage).
//
// Most callers need one of two [Resolver]s:
//
//   - [Embedded] returns the table compiled into the binary: DB-IP's
//     "IP to Country Lite" data (CC BY 4.0; see NOTICE), about 700,000 IPv4
//     and IPv6 ranges looked up by binary search in well under a microsecond.
//   - [OpenMMDB] opens any database in MaxMind's format (GeoIP2/GeoLite2
//     Country or City, DB-IP's MMDB files, ip-location-db's), for operators
//     who license more accurate or more recent data (the --geoip flag).
//
// # No country rather than a guess
//
// Both resolvers answer "" for addresses that do not locate anyone:
// private, shared (carrier-grade NAT), loopback, link-local, multicast,
// documentation (192.0.2.0/24, 198.51.100.0/24, 203.0.113.0/24,
// 2001:db8::/32, 3fff::/20) and reserved addresses; see [Classify]. IPv4
// addresses carried inside IPv6 ones (IPv4-mapped, 6to4, Teredo) are looked
// up as the IPv4 address they carry; see [Unwrap].
//
// Country codes are ISO 3166-1 alpha-2, upper case. A MaxMind-format database
// may also answer the legacy pseudo codes "A1" (anonymous proxy), "A2"
// (satellite provider), "O1" (other), "EU" and "AP" (a continent, not a
// country); the caller decides what they mean (package triage treats them as
// no country). The embedded table never contains them.
package geo

import (
	"net/netip"
)

// Resolver maps an IP address to a country.
//
// Country returns the upper-case two-letter code the resolver's data gives
// the address, or "" when it gives none. It MUST return "" for every address
// that [Classify] does not call [Public], and MUST be safe for concurrent use.
// It returns no error: a lookup that fails (a corrupt database region) counts
// as "no country", because jurisdiction resolution must go on with the other
// evidence rather than stop.
type Resolver interface {
	Country(addr netip.Addr) string
}

// Class is what kind of address an IP address is, as far as locating a
// person goes.
type Class uint8

// Address classes. Only [Public] addresses can locate anyone.
const (
	Public        Class = iota // globally routed unicast
	Private                    // RFC 1918, RFC 6598 shared (CGN), RFC 4193 unique local, RFC 8215 local-use NAT64
	Loopback                   // 127.0.0.0/8, ::1
	LinkLocal                  // 169.254.0.0/16, fe80::/10
	Multicast                  // 224.0.0.0/4, ff00::/8
	Documentation              // RFC 5737, RFC 3849, RFC 9637: examples only, never on a network
	Reserved                   // unspecified, "this network", benchmarking, IETF and future use, outside 2000::/3
)

var classNames = [...]string{"public", "private", "loopback", "link-local", "multicast", "documentation", "reserved"}

func (c Class) String() string {
	if int(c) < len(classNames) {
		return classNames[c]
	}
	return "unknown"
}

var (
	sixToFour = netip.MustParsePrefix("2002::/16")
	teredo    = netip.MustParsePrefix("2001::/32")
)

// Classify returns the class of addr after [Unwrap], from the IANA IPv4 and
// IPv6 Special-Purpose Address Registries. The invalid Addr is [Reserved].
func Classify(addr netip.Addr) Class { return classify(Unwrap(addr)) }

// classify is Classify of an unwrapped address. It switches on leading
// bytes rather than testing prefixes one by one: it runs for every lookup.
func classify(addr netip.Addr) Class {
	if addr.Is4() {
		b := addr.As4()
		switch {
		case b[0] == 0:
			return Reserved // "this network"
		case b[0] == 10, b[0] == 172 && b[1]&0xf0 == 16, b[0] == 192 && b[1] == 168:
			return Private
		case b[0] == 100 && b[1]&0xc0 == 64:
			return Private // shared address space (carrier-grade NAT), RFC 6598
		case b[0] == 127:
			return Loopback
		case b[0] == 169 && b[1] == 254:
			return LinkLocal
		case b[0] == 192 && b[1] == 0 && b[2] == 2, b[0] == 198 && b[1] == 51 && b[2] == 100, b[0] == 203 && b[1] == 0 && b[2] == 113:
			return Documentation // RFC 5737
		case b[0] == 192 && b[1] == 0 && b[2] == 0:
			return Reserved // IETF protocol assignments
		case b[0] == 192 && b[1] == 88 && b[2] == 99:
			return Reserved // deprecated 6to4 relay anycast
		case b[0] == 198 && b[1]&0xfe == 18:
			return Reserved // benchmarking
		case b[0] >= 240:
			return Reserved // future use, limited broadcast
		case b[0] >= 224:
			return Multicast
		}
		return Public
	}
	if !addr.IsValid() {
		return Reserved
	}
	b := addr.As16()
	if b[0]&0xe0 == 0x20 { // 2000::/3, global unicast
		switch {
		case b[0] == 0x20 && b[1] == 0x01 && b[2] == 0x0d && b[3] == 0xb8:
			return Documentation // RFC 3849
		case b[0] == 0x20 && b[1] == 0x01 && b[2] < 0x02:
			return Reserved // 2001::/23, IETF protocol assignments (Teredo is unwrapped before)
		case b[0] == 0x3f && b[1] == 0xff && b[2]&0xf0 == 0:
			return Documentation // 3fff::/20, RFC 9637
		}
		return Public
	}
	switch {
	case addr.IsLoopback():
		return Loopback
	case addr.IsMulticast():
		return Multicast
	case addr.IsLinkLocalUnicast():
		return LinkLocal
	case addr.IsPrivate(), b[0] == 0 && b[1] == 0x64 && b[2] == 0xff && b[3] == 0x9b && b[4] == 0 && b[5] == 1:
		return Private // fc00::/7 unique local; 64:ff9b:1::/48 local-use NAT64, RFC 8215
	}
	return Reserved // unspecified, discard-only, SRv6 SIDs, unassigned space outside 2000::/3
}

// Unwrap returns the IPv4 address that addr carries when it is an IPv4-mapped
// (::ffff:a.b.c.d), 6to4 (2002:aabb:ccdd::/48) or Teredo (2001::/32, the
// client address stored inverted) IPv6 address, and otherwise addr without
// its zone. Those IPv6 addresses are routed by, and locate, the IPv4
// network they carry: a database that gives "2001::/32" one country would
// place every Teredo user there.
func Unwrap(addr netip.Addr) netip.Addr {
	addr = addr.WithZone("").Unmap()
	if addr.Is4() || !addr.IsValid() {
		return addr
	}
	b := addr.As16()
	switch {
	case sixToFour.Contains(addr):
		return netip.AddrFrom4([4]byte{b[2], b[3], b[4], b[5]})
	case teredo.Contains(addr):
		return netip.AddrFrom4([4]byte{^b[12], ^b[13], ^b[14], ^b[15]})
	}
	return addr
}
