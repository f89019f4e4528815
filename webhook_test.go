package sweep_test

import (
	"net/netip"
	"strings"
	"testing"
	"time"

	"github.com/sweephq/sweep"
)

// The signature of the Standard Webhooks specification's own example.
func TestSignWebhookMatchesTheSpecification(t *testing.T) {
	got, err := sweep.SignWebhook([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil {
		t.Fatal(err)
	}
	if want := "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE="; got != want {
		t.Errorf("signature = %s, want %s", got, want)
	}
	two, err := sweep.SignWebhook([]string{"whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw", "whsec_MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg_p5jXN8AQM9LWM0D4loKWxJek",
		time.Unix(1614265330, 0), []byte(`{"test": 2432232314}`))
	if err != nil || two != got+" "+got {
		t.Errorf("two secrets: %q, %v; want both signatures space-separated", two, err)
	}
	if _, err := sweep.SignWebhook([]string{"MfKQ9r8GKYqrTwjUPD8ILPZIo2LaLaSw"}, "msg", time.Now(), nil); err == nil {
		t.Error("a secret without whsec_ signed")
	}
	s, err := sweep.NewWebhookSecret()
	if err != nil || !strings.HasPrefix(s, "whsec_") || len(s) != len("whsec_")+44 {
		t.Errorf("NewWebhookSecret = %q, %v", s, err)
	}
}

func TestWebhookTargets(t *testing.T) {
	strict := sweep.WebhookTargets{}
	loose := sweep.WebhookTargets{AllowHTTP: true, Allow: []netip.Prefix{netip.MustParsePrefix("127.0.0.0/8"), netip.MustParsePrefix("10.1.0.0/16")}}
	for _, tc := range []struct {
		url         string
		strict, lax bool // accepted
	}{
		{"https://hooks.example.com/sweep", true, true},
		{"https://hooks.example.com:8443/sweep?x=1", true, true},
		{"http://hooks.example.com/sweep", false, true},
		{"ftp://hooks.example.com/", false, false},
		{"https://169.254.169.254/latest/meta-data", false, false},
		{"https://[fd00:ec2::254]/", false, false},
		{"https://[fe80::1]/", false, false},
		{"https://127.0.0.1:9000/", false, true},
		{"https://localhost/", false, true},
		{"https://10.1.2.3/", false, true},
		{"https://10.2.2.3/", false, false},
		{"https://192.168.1.10/", false, false},
		{"https://[::ffff:127.0.0.1]/", false, true},
		{"https://[::1%25lo]:19002/", false, false},
		{"https://[fe80::1%25eth0]/", false, false},
		{"https://[::127.0.0.1]/", false, true},
		{"https://[64:ff9b::7f00:2]/", false, true},
		{"https://[64:ff9b::808:808]/", true, true},
		{"https://[2002:a9fe:a9fe::1]/", false, false},
		{"https://hooks.example.com:99999/", false, false},
		{"https://hooks.example.com:0/", false, false},
		{"https://8.8.8.8/", true, true},
		{"https://user:pw@hooks.example.com/", false, false},
		{"https://hooks.example.com/#frag", false, false},
		{"/relative", false, false},
		{" https://hooks.example.com/", false, false},
		{"https://hooks.example.com/a b", false, false},
		{"https://hooks.example.com/\n", false, false},
		{"https:///nohost", false, false},
		{"https://" + strings.Repeat("a", 2001) + ".com/", false, false},
	} {
		if err := strict.CheckURL(tc.url); (err == nil) != tc.strict {
			t.Errorf("strict CheckURL(%.60q) = %v, want accepted %v", tc.url, err, tc.strict)
		} else if err != nil && sweep.ErrorCode(err) != sweep.EINVALID {
			t.Errorf("CheckURL(%.60q) error code %s", tc.url, sweep.ErrorCode(err))
		}
		if err := loose.CheckURL(tc.url); (err == nil) != tc.lax {
			t.Errorf("loose CheckURL(%.60q) = %v, want accepted %v", tc.url, err, tc.lax)
		}
	}
}

// The addresses a name may resolve to are checked as they come from the
// resolver: with a zone, mapped, compatible, NAT64 and 6to4 forms.
func TestWebhookTargetsCheckAddr(t *testing.T) {
	strict := sweep.WebhookTargets{}
	for _, a := range []string{"::1%lo", "fe80::1%eth0", "::ffff:169.254.169.254", "::a9fe:a9fe", "64:ff9b::a9fe:a9fe", "2002:0a00:0001::", "127.0.0.1", "::ffff:0:7f00:1", "64:ff9b:1::7f00:1"} {
		if strict.CheckAddr(netip.MustParseAddr(a)) == nil {
			t.Errorf("CheckAddr(%s) allowed", a)
		}
	}
	for _, a := range []string{"8.8.8.8", "2606:4700::1111", "64:ff9b::808:808"} {
		if err := strict.CheckAddr(netip.MustParseAddr(a)); err != nil {
			t.Errorf("CheckAddr(%s) = %v", a, err)
		}
	}
}

func TestWebhookBackoff(t *testing.T) {
	b := sweep.WebhookBackoff{Base: 5 * time.Second, Max: time.Hour}
	for _, tc := range []struct {
		n          int
		random     float64
		retryAfter time.Duration
		want       time.Duration
	}{
		{1, 0.5, 0, 5 * time.Second},
		{2, 0.5, 0, 10 * time.Second},
		{3, 0, 0, 16 * time.Second},                     // 20 s - 20 %
		{3, 0.999999999, 0, 24 * time.Second},           // + 20 %, nearly
		{20, 0.5, 0, time.Hour},                         // capped
		{1, 0.5, 2 * time.Minute, 2 * time.Minute},      // Retry-After is longer
		{5, 0.5, time.Second, 80 * time.Second},         // Retry-After is shorter
		{1, 0.5, 1000 * time.Hour, sweep.MaxRetryAfter}, // but never more than a day
	} {
		got := b.Delay(tc.n, tc.random, tc.retryAfter).Round(time.Second)
		if got != tc.want {
			t.Errorf("Delay(%d, %v, %v) = %v, want %v", tc.n, tc.random, tc.retryAfter, got, tc.want)
		}
	}
}

func TestParseEventTypes(t *testing.T) {
	got, err := sweep.ParseEventTypes([]string{"import.completed", "customer.deleted"})
	if err != nil || len(got) != 2 || got[1] != sweep.EventCustomerDeleted {
		t.Errorf("ParseEventTypes = %v, %v", got, err)
	}
	for _, bad := range [][]string{{"import.done"}, {"import.completed", "import.completed"}, {"webhook.test"}, {" import.completed"}} {
		if _, err := sweep.ParseEventTypes(bad); err == nil {
			t.Errorf("ParseEventTypes(%q) accepted", bad)
		}
	}
	w := sweep.Webhook{Events: []sweep.EventType{sweep.EventImportFailed}}
	if !w.Subscribes(sweep.EventImportFailed) || w.Subscribes(sweep.EventImportCompleted) || !w.Subscribes(sweep.EventWebhookTest) {
		t.Error("Subscribes does not follow the list")
	}
	if !(sweep.Webhook{}).Subscribes(sweep.EventCustomerDeleted) {
		t.Error("an empty list does not subscribe to everything")
	}
}
