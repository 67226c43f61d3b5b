package geo_test

import (
	"net/netip"
	"testing"

	"github.com/guardian-network/guardian/geo"
)

func TestClassify(t *testing.T) {
	for _, tt := range []struct {
		addr string
		want geo.Class
	}{
		// Documentation ranges, at their edges.
		{"192.0.2.0", geo.Documentation},
		{"192.0.2.255", geo.Documentation},
		{"198.51.100.7", geo.Documentation},
		{"203.0.113.255", geo.Documentation},
		{"2001:db8::10", geo.Documentation},
		{"2001:db8:ffff:ffff:ffff:ffff:ffff:ffff", geo.Documentation},
		{"3fff::1", geo.Documentation},
		{"::ffff:192.0.2.1", geo.Documentation},  // IPv4-mapped
		{"2002:c000:0201::1", geo.Documentation}, // 6to4 of 192.0.2.1
		// Just outside them.
		{"192.0.1.255", geo.Public},
		{"192.0.3.0", geo.Public},
		{"198.51.101.0", geo.Public},
		{"2001:db9::1", geo.Public},
		// Private and shared.
		{"10.1.2.3", geo.Private},
		{"172.16.0.1", geo.Private},
		{"172.32.0.1", geo.Public},
		{"192.168.1.1", geo.Private},
		{"100.64.0.1", geo.Private},
		{"100.128.0.1", geo.Public},
		{"fd00::1", geo.Private},
		{"64:ff9b:1::1", geo.Private},
		// The rest.
		{"127.0.0.1", geo.Loopback},
		{"::1", geo.Loopback},
		{"169.254.1.1", geo.LinkLocal},
		{"fe80::1%eth0", geo.LinkLocal},
		{"224.0.0.1", geo.Multicast},
		{"ff02::1", geo.Multicast},
		{"0.0.0.0", geo.Reserved},
		{"0.1.2.3", geo.Reserved},
		{"::", geo.Reserved},
		{"240.0.0.1", geo.Reserved},
		{"255.255.255.255", geo.Reserved},
		{"198.18.0.1", geo.Reserved},
		{"192.0.0.8", geo.Reserved},
		{"192.88.99.1", geo.Reserved},
		{"100::1", geo.Reserved},
		{"2001:2::1", geo.Reserved},
		{"5f00::1", geo.Reserved},
		{"4000::1", geo.Reserved}, // outside 2000::/3
		{"8.8.8.8", geo.Public},
		{"2a00:1450::1", geo.Public},
	} {
		t.Run(tt.addr, func(t *testing.T) {
			if got := geo.Classify(netip.MustParseAddr(tt.addr)); got != tt.want {
				t.Errorf("Classify(%s) = %v, want %v", tt.addr, got, tt.want)
			}
		})
	}
	if got := geo.Classify(netip.Addr{}); got != geo.Reserved {
		t.Errorf("Classify(invalid) = %v, want reserved", got)
	}
}

func TestUnwrap(t *testing.T) {
	for _, tt := range []struct{ in, want string }{
		{"::ffff:203.0.113.9", "203.0.113.9"},
		{"2002:cb00:7109::1", "203.0.113.9"},                    // 6to4
		{"2001:0:4136:e378:8000:63bf:34ff:8ef6", "203.0.113.9"}, // Teredo: client inverted
		{"fe80::1%eth0", "fe80::1"},
		{"2001:db8::1", "2001:db8::1"},
		{"198.51.100.1", "198.51.100.1"},
	} {
		if got := geo.Unwrap(netip.MustParseAddr(tt.in)); got != netip.MustParseAddr(tt.want) {
			t.Errorf("Unwrap(%s) = %v, want %s", tt.in, got, tt.want)
		}
	}
}
