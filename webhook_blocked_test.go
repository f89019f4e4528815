package sweep_test

import (
	"net/netip"
	"strings"
	"testing"

	"github.com/sweephq/sweep"
)

// Every blocked network, written out here rather than read from the code:
// its first and last addresses (and, for IPv4, their IPv4-mapped IPv6 forms)
// are refused naming a blocked network that holds them, and the addresses
// just outside it, where no other blocked network holds them, are allowed.
// Removing, narrowing or widening any entry of the table fails a case.
func TestEveryBlockedNetworkIsRefused(t *testing.T) {
	for _, c := range []struct {
		network     string
		first, last string
		outside     []string
	}{
		{"0.0.0.0/8", "0.0.0.0", "0.255.255.255", []string{"1.0.0.0"}},
		{"10.0.0.0/8", "10.0.0.0", "10.255.255.255", []string{"9.255.255.255", "11.0.0.0"}},
		{"100.64.0.0/10", "100.64.0.0", "100.127.255.255", []string{"100.63.255.255", "100.128.0.0"}},
		{"127.0.0.0/8", "127.0.0.0", "127.255.255.255", []string{"126.255.255.255", "128.0.0.0"}},
		{"169.254.0.0/16", "169.254.0.0", "169.254.255.255", []string{"169.253.255.255", "169.255.0.0"}},
		{"172.16.0.0/12", "172.16.0.0", "172.31.255.255", []string{"172.15.255.255", "172.32.0.0"}},
		{"192.0.0.0/24", "192.0.0.0", "192.0.0.255", []string{"191.255.255.255", "192.0.1.0"}},
		{"192.168.0.0/16", "192.168.0.0", "192.168.255.255", []string{"192.167.255.255", "192.169.0.0"}},
		{"198.18.0.0/15", "198.18.0.0", "198.19.255.255", []string{"198.17.255.255", "198.20.0.0"}},
		{"224.0.0.0/4", "224.0.0.0", "239.255.255.255", []string{"223.255.255.255"}},
		{"240.0.0.0/4", "240.0.0.0", "255.255.255.255", nil},
		{"::/128", "::", "::", nil},
		{"::1/128", "::1", "::1", nil},
		{"fc00::/7", "fc00::", "fdff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"fbff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fe00::"}},
		{"fe80::/10", "fe80::", "febf:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"fe7f:ffff:ffff:ffff:ffff:ffff:ffff:ffff", "fec0::"}},
		{"ff00::/8", "ff00::", "ffff:ffff:ffff:ffff:ffff:ffff:ffff:ffff", []string{"feff:ffff:ffff:ffff:ffff:ffff:ffff:ffff"}},
		{"fd00:ec2::254/128", "fd00:ec2::254", "fd00:ec2::254", nil},
		{"64:ff9b:1::/48", "64:ff9b:1::", "64:ff9b:1:ffff:ffff:ffff:ffff:ffff", []string{"64:ff9b:0:ffff:ffff:ffff:ffff:ffff", "64:ff9b:2::"}},
	} {
		t.Run(c.network, func(t *testing.T) {
			strict := sweep.WebhookTargets{}
			inside := []string{c.first, c.last}
			if a := netip.MustParseAddr(c.first); a.Is4() {
				inside = append(inside, "::ffff:"+c.first, "::ffff:"+c.last)
			}
			for _, s := range inside {
				a := netip.MustParseAddr(s)
				err := strict.CheckAddr(a)
				if err == nil {
					t.Errorf("CheckAddr(%s) allowed; it is in %s", s, c.network)
					continue
				}
				if named := namedNetwork(sweep.ErrorMessage(err)); !named.IsValid() || !named.Contains(a.Unmap()) {
					t.Errorf("CheckAddr(%s) = %q; want it to name a blocked network holding the address", s, sweep.ErrorMessage(err))
				}
			}
			for _, s := range c.outside {
				if err := strict.CheckAddr(netip.MustParseAddr(s)); err != nil {
					t.Errorf("CheckAddr(%s), just outside %s, = %v; want allowed", s, c.network, err)
				}
			}
			// An operator's allowance opens exactly that network.
			allowed := sweep.WebhookTargets{Allow: []netip.Prefix{netip.MustParsePrefix(c.network)}}
			if err := allowed.CheckAddr(netip.MustParseAddr(c.last)); err != nil {
				t.Errorf("with %s allowed, CheckAddr(%s) = %v", c.network, c.last, err)
			}
		})
	}
}

// namedNetwork reads the network a refusal names ("… it is in 10.0.0.0/8, …").
func namedNetwork(msg string) netip.Prefix {
	_, rest, ok := strings.Cut(msg, "it is in ")
	if !ok {
		return netip.Prefix{}
	}
	p, _ := netip.ParsePrefix(strings.TrimSuffix(strings.Fields(rest)[0], ","))
	return p
}
