package sweep

import (
	"encoding/json"
	"strings"
	"testing"
	"time"
	_ "time/tzdata" // the tests need America/Denver and Europe/Berlin wherever they run

	"github.com/google/go-cmp/cmp"
)

func mustWindow(t testing.TB, s string) Window {
	t.Helper()
	w, err := ParseWindow(s)
	if err != nil {
		t.Fatalf("ParseWindow(%q): %v", s, err)
	}
	return w
}

func mustZone(t testing.TB, name string) *time.Location {
	t.Helper()
	loc, err := time.LoadLocation(name)
	if err != nil {
		t.Fatal(err)
	}
	return loc
}

// utc is an instant written in UTC, which DST cannot make ambiguous.
func utc(s string) time.Time {
	t, err := time.Parse("2006-01-02 15:04", s)
	if err != nil {
		panic(err)
	}
	return t
}

func TestParseWindow(t *testing.T) {
	tests := []struct {
		in, want string
	}{
		{"", ""},
		{"   ", ""},
		{"Mon-Fri 22:00-06:00 America/Denver", "Mon-Fri 22:00-06:00 America/Denver"},
		{"mon–fri 22:00–06:00 America/Denver", "Mon-Fri 22:00-06:00 America/Denver"},
		{"Monday - FRIDAY  22:00 - 06:00  America/Denver", "Mon-Fri 22:00-06:00 America/Denver"},
		{" Mon,  Wed , Fri 9:00-17:30 Europe/Berlin ", "Mon,Wed,Fri 09:00-17:30 Europe/Berlin"},
		{"Mon Wed Fri 09:00-17:00 UTC", "Mon,Wed,Fri 09:00-17:00 UTC"},
		{"Mon,Wed,Fri-Sun 01:00-05:00 UTC", "Mon,Wed,Fri-Sun 01:00-05:00 UTC"},
		{"Fri-Mon 22:00-06:00 UTC", "Fri-Mon 22:00-06:00 UTC"},
		{"Sat,Sun,Mon,Wed 22:00-06:00 UTC", "Mon,Wed,Sat,Sun 22:00-06:00 UTC"},
		{"Sat,Sun,Mon 22:00-06:00 UTC", "Sat-Mon 22:00-06:00 UTC"},
		{"Fri-Tue 22:00-06:00 UTC", "Fri-Tue 22:00-06:00 UTC"},
		{"Thu-Tue 22:00-06:00 UTC", "Thu-Tue 22:00-06:00 UTC"},
		{"Thu-Sat,Mon 22:00-06:00 UTC", "Mon,Thu-Sat 22:00-06:00 UTC"},
		{"Sun,Mon 01:00-02:00 UTC", "Mon,Sun 01:00-02:00 UTC"},
		{"Mon,Tue 01:00-02:00 UTC", "Mon,Tue 01:00-02:00 UTC"},
		{"Mon,Tue,Wed 01:00-02:00 UTC", "Mon-Wed 01:00-02:00 UTC"},
		{"Wed,Mon,Wed 01:00-02:00 UTC", "Mon,Wed 01:00-02:00 UTC"},
		{"Mon-Mon 01:00-02:00 UTC", "Mon 01:00-02:00 UTC"},
		{"Tue-Mon 01:00-02:00 UTC", "daily 01:00-02:00 UTC"},
		{"Mon-Sun 01:00-02:00 UTC", "daily 01:00-02:00 UTC"},
		{"daily 01:00-05:00 UTC", "daily 01:00-05:00 UTC"},
		{"Every Day 01:00-05:00 UTC", "daily 01:00-05:00 UTC"},
		{"Sat,Sun 00:00-24:00 utc", "Sat,Sun 00:00-24:00 UTC"},
		{"thursday 22:00-00:00 UTC", "Thu 22:00-24:00 UTC"},
		{"Tue 23:59-00:01 Etc/GMT+5", "Tue 23:59-00:01 Etc/GMT+5"},
		{"Sun 02:30-04:00 America/Port-au-Prince", "Sun 02:30-04:00 America/Port-au-Prince"},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.in)
		if err != nil {
			t.Errorf("ParseWindow(%q): %v", tt.in, err)
			continue
		}
		if diff := cmp.Diff(tt.want, w.String()); diff != "" {
			t.Errorf("ParseWindow(%q).String() (-want +got):\n%s", tt.in, diff)
		}
		if got := w.IsZero(); got != (tt.want == "") {
			t.Errorf("ParseWindow(%q).IsZero() = %v", tt.in, got)
		}
		again, err := ParseWindow(w.String())
		if err != nil {
			t.Errorf("ParseWindow(%q), the String of ParseWindow(%q): %v", w.String(), tt.in, err)
		} else if again.days != w.days || again.start != w.start || again.end != w.end || again.String() != w.String() {
			t.Errorf("ParseWindow(%q) does not round-trip: %+v, then %+v", tt.in, w, again)
		}
	}
}

func TestParseWindowErrors(t *testing.T) {
	tests := []struct {
		in   string
		says []string // what the message must say, besides a valid example
	}{
		{"Mon-Fri 22:00-06:00", []string{"no time zone", `"Europe/Berlin"`, `"UTC"`}},
		{"22:00-06:00 UTC", []string{"no days", "Mon-Fri"}},
		{"Mon-Fri UTC", []string{"no hours", "HH:MM-HH:MM"}},
		{"Mon-Fri 9-17 UTC", []string{"no hours"}},
		{"Mon-Fry 22:00-06:00 UTC", []string{`"Fry" is not a day`, "Mon-Fri", "daily"}},
		{"Weekdays 22:00-06:00 UTC", []string{`"Weekdays" is not a day`}},
		{"Mon,,Fri 22:00-06:00 UTC", []string{"empty entry", "Mon,Wed,Fri"}},
		{"Mon-Fri 22:00 UTC", []string{`hours "22:00"`, "22:00-06:00"}},
		{"Mon-Fri 22:00 06:00 UTC", []string{`hours "22:00"`}},
		{"Mon-Fri 22:00-06:00-08:00 UTC", []string{"joined by a dash"}},
		{"Mon-Fri 25:00-06:00 UTC", []string{`start "25:00"`, "00:00 to 23:59"}},
		{"Mon-Fri 24:00-06:00 UTC", []string{`start "24:00"`}},
		{"Mon-Fri 9:5-17:00 UTC", []string{`start "9:5"`, "HH:MM"}},
		{"Mon-Fri 22:00-24:30 UTC", []string{`end "24:30"`, "00:00 to 24:00"}},
		{"Mon-Fri 22:00-6pm UTC", []string{`end "6pm"`}},
		{"Mon-Fri 08:00-08:00 UTC", []string{"same time", "00:00-24:00"}},
		{"Mon-Fri 00:00-00:00 UTC", []string{"same time", "00:00-24:00"}},
		{"Mon-Fri 22:00-06:00 Mars/Olympus", []string{`"Mars/Olympus" is not a time zone`, "Europe/Berlin"}},
		{"Mon-Fri 22:00-06:00 america/denver", []string{`"america/denver" is not a time zone`}},
		{"Mon-Fri 22:00-06:00 ../../etc/passwd", []string{"is not a time zone"}},
		{"Mon-Fri 22:00-06:00 Local", []string{"name the time zone", "server"}},
		{"Mon-Fri 22:00-06:00 America/Denver tomorrow", []string{`"tomorrow" follows the time zone`}},
		{"Mon-Fri 22:00-06:00 " + strings.Repeat("x", 200), []string{"at most 200 bytes"}},
	}
	for _, tt := range tests {
		w, err := ParseWindow(tt.in)
		if err == nil {
			t.Errorf("ParseWindow(%q) = %q, want an error", tt.in, w)
			continue
		}
		if code := ErrorCode(err); code != EINVALID {
			t.Errorf("ParseWindow(%q): code %q, want %q", tt.in, code, EINVALID)
		}
		msg := ErrorMessage(err)
		for _, want := range append(tt.says, `"Mon-Fri 22:00-06:00 America/Denver"`) {
			if !strings.Contains(msg, want) {
				t.Errorf("ParseWindow(%q): message %q does not say %q", tt.in, msg, want)
			}
		}
	}
}

// Weeks used below: Mon 2026-11-23 to Sun 2026-11-29, Mon 2026-11-30.
func TestWindowContains(t *testing.T) {
	tests := []struct {
		window string
		at     string // UTC
		want   bool
	}{
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 09:00", true},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 08:59", false},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 16:59", true},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 17:00", false},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-28 10:00", false}, // Saturday

		// Overnight: belongs to the day it opens.
		{"Fri 22:00-06:00 UTC", "2026-11-27 22:00", true},
		{"Fri 22:00-06:00 UTC", "2026-11-27 21:59", false},
		{"Fri 22:00-06:00 UTC", "2026-11-28 05:59", true}, // Saturday morning
		{"Fri 22:00-06:00 UTC", "2026-11-28 06:00", false},
		{"Fri 22:00-06:00 UTC", "2026-11-27 03:00", false}, // Friday morning
		{"Fri 22:00-06:00 UTC", "2026-11-28 22:00", false},
		{"Sun 22:00-06:00 UTC", "2026-11-30 03:00", true}, // over the end of the week
		{"Sun 22:00-06:00 UTC", "2026-11-23 03:00", true},
		{"Sun 22:00-06:00 UTC", "2026-11-24 03:00", false},

		// Up to midnight, whole days.
		{"Sat 22:00-24:00 UTC", "2026-11-28 23:59", true},
		{"Sat 22:00-24:00 UTC", "2026-11-29 00:00", false},
		{"Mon-Fri 00:00-24:00 UTC", "2026-11-27 23:59", true},
		{"Mon-Fri 00:00-24:00 UTC", "2026-11-28 00:00", false},
		{"daily 00:00-24:00 UTC", "2026-11-28 00:00", true},

		// In the zone, not in UTC: Mon 22:00 MST is Tue 05:00 UTC.
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-24 05:00", true},
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-24 04:59", false},
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-28 12:59", true},  // Sat 05:59 MST
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-28 13:00", false}, // Sat 06:00 MST

		// Denver, 2026-03-08: the clock jumps from 02:00 MST to 03:00 MDT (09:00 UTC).
		{"Sun 02:30-04:00 America/Denver", "2026-03-08 08:59", false}, // 01:59 MST
		{"Sun 02:30-04:00 America/Denver", "2026-03-08 09:00", true},  // 03:00 MDT
		{"Sun 02:30-04:00 America/Denver", "2026-03-08 09:59", true},  // 03:59 MDT
		{"Sun 02:30-04:00 America/Denver", "2026-03-08 10:00", false}, // 04:00 MDT
		{"Sat 22:00-02:30 America/Denver", "2026-03-08 08:59", true},  // 01:59 MST
		{"Sat 22:00-02:30 America/Denver", "2026-03-08 09:00", false}, // 03:00 MDT

		// Denver, 2026-11-01: the clock goes back from 02:00 MDT (08:00 UTC) to 01:00 MST.
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 07:29", false}, // 01:29 MDT
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 07:30", true},  // the first 01:30
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 08:10", true},  // 01:10 MST
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 09:59", true},  // 02:59 MST
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 10:00", false}, // 03:00 MST
		{"Sun 00:00-01:30 America/Denver", "2026-11-01 07:29", true},  // the first 01:29
		{"Sun 00:00-01:30 America/Denver", "2026-11-01 08:10", false}, // 01:10 again: closed
		{"Sun 01:00-02:00 America/Denver", "2026-11-01 08:59", true},  // 01:59 MST: two hours
		{"Sun 01:00-02:00 America/Denver", "2026-11-01 09:00", false}, // 02:00 MST

		// Berlin, 2026-03-29: 02:00 CET jumps to 03:00 CEST (01:00 UTC); a
		// window inside the gap does not open that day.
		{"Sun 02:15-02:45 Europe/Berlin", "2026-03-29 01:00", false},
		{"Sun 02:15-02:45 Europe/Berlin", "2026-04-05 00:15", true}, // 02:15 CEST a week later
	}
	for _, tt := range tests {
		w := mustWindow(t, tt.window)
		if got := w.Contains(utc(tt.at)); got != tt.want {
			t.Errorf("%q.Contains(%s UTC) = %v, want %v", tt.window, tt.at, got, tt.want)
		}
	}
	if !(Window{}).Contains(utc("2026-11-23 09:00")) {
		t.Error("the zero Window does not contain an instant")
	}
}

func TestWindowNext(t *testing.T) {
	tests := []struct {
		window string
		at     string // UTC
		want   string // UTC
	}{
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 10:00", "2026-11-23 10:00"}, // inside: t itself
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 17:00", "2026-11-24 09:00"},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-27 17:00", "2026-11-30 09:00"}, // over the weekend
		{"Mon 01:00-02:00 UTC", "2026-11-29 23:00", "2026-11-30 01:00"},     // Sunday to Monday
		{"Mon 01:00-02:00 UTC", "2026-11-23 02:00", "2026-11-30 01:00"},     // a week on
		{"Sun 22:00-06:00 UTC", "2026-11-28 12:00", "2026-11-29 22:00"},
		{"Thu 22:00-06:00 UTC", "2026-12-31 23:00", "2026-12-31 23:00"},
		{"Fri 22:00-06:00 UTC", "2026-12-31 23:00", "2027-01-01 22:00"}, // into the new year
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-28 19:00", "2026-12-01 05:00"},

		// Denver, 2026-03-08: 02:30 does not exist, the window opens at 03:00 MDT.
		{"Sun 02:30-04:00 America/Denver", "2026-03-07 12:00", "2026-03-08 09:00"},
		{"Sun 02:30-04:00 America/Denver", "2026-03-08 10:00", "2026-03-15 08:30"}, // 02:30 MDT next week
		// Denver, 2026-11-01: 01:30 happens twice, the window opens at the first.
		{"Sun 01:30-03:00 America/Denver", "2026-10-31 12:00", "2026-11-01 07:30"},
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 08:45", "2026-11-01 08:45"}, // 01:45 MST, still open
		{"Sun 00:00-01:30 America/Denver", "2026-11-01 08:10", "2026-11-08 07:00"}, // 01:10 MST: next Sunday

		// Berlin, 2026-03-29 and 2026-10-25.
		{"Sun 02:15-02:45 Europe/Berlin", "2026-03-28 12:00", "2026-04-05 00:15"},
		{"Sun 02:30-04:00 Europe/Berlin", "2026-03-28 12:00", "2026-03-29 01:00"},   // 03:00 CEST
		{"Sun 02:30-04:00 Europe/Berlin", "2026-10-24 12:00", "2026-10-25 00:30"},   // the first 02:30, CEST
		{"daily 01:00-04:00 Europe/Berlin", "2026-10-25 02:00", "2026-10-25 02:00"}, // 03:00 CET
	}
	for _, tt := range tests {
		w := mustWindow(t, tt.window)
		got := w.Next(utc(tt.at))
		if !got.Equal(utc(tt.want)) {
			t.Errorf("%q.Next(%s UTC) = %s, want %s UTC", tt.window, tt.at, got.UTC().Format("2006-01-02 15:04"), tt.want)
		}
		if !w.Contains(got) {
			t.Errorf("%q.Next(%s UTC) = %s, which the window does not contain", tt.window, tt.at, got)
		}
	}
	if got := (Window{}).Next(utc("2026-11-23 09:00")); !got.IsZero() {
		t.Errorf("Window{}.Next = %s, want the zero time", got)
	}
}

func TestWindowEnd(t *testing.T) {
	tests := []struct {
		window string
		at     string // UTC
		want   string // UTC; "" for the zero time
	}{
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 09:00", "2026-11-23 17:00"},
		{"Mon-Fri 09:00-17:00 UTC", "2026-11-23 17:00", ""}, // outside
		{"Fri 22:00-06:00 UTC", "2026-11-27 23:00", "2026-11-28 06:00"},
		{"Sun 22:00-06:00 UTC", "2026-11-30 05:59", "2026-11-30 06:00"},
		{"Mon-Fri 00:00-24:00 UTC", "2026-11-23 10:00", "2026-11-28 00:00"}, // the days meet
		{"Fri-Mon 00:00-24:00 UTC", "2026-11-29 10:00", "2026-12-01 00:00"},
		{"daily 00:00-24:00 UTC", "2026-11-23 10:00", ""},                           // always open
		{"daily 00:00-24:00 America/Denver", "2026-03-08 09:00", ""},                // always open, even on a short day
		{"Sat 22:00-02:30 America/Denver", "2026-03-08 06:00", "2026-03-08 09:00"},  // closes at 03:00 MDT
		{"Sun 01:30-03:00 America/Denver", "2026-11-01 07:30", "2026-11-01 10:00"},  // 2.5 hours on that night
		{"Sun 00:00-01:30 America/Denver", "2026-11-01 06:00", "2026-11-01 07:30"},  // the first 01:30
		{"daily 01:00-04:00 Europe/Berlin", "2026-03-29 00:00", "2026-03-29 02:00"}, // two hours
		{"daily 01:00-04:00 Europe/Berlin", "2026-10-24 23:00", "2026-10-25 03:00"}, // four hours
	}
	for _, tt := range tests {
		w := mustWindow(t, tt.window)
		got := w.End(utc(tt.at))
		var want time.Time
		if tt.want != "" {
			want = utc(tt.want)
		}
		if !got.Equal(want) {
			t.Errorf("%q.End(%s UTC) = %s, want %s", tt.window, tt.at, got.UTC(), want)
		}
		if !got.IsZero() && w.Contains(got) {
			t.Errorf("%q.End(%s UTC) = %s, which the window contains", tt.window, tt.at, got)
		}
	}
	if got := (Window{}).End(utc("2026-11-23 09:00")); !got.IsZero() {
		t.Errorf("Window{}.End = %s, want the zero time", got)
	}
}

func TestWindowDescribe(t *testing.T) {
	tests := []struct {
		window string
		at     string // UTC
		want   string
	}{
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-11-28 19:00",
			"outside its run window Mon-Fri 22:00-06:00 America/Denver; resumes Mon 30 Nov 22:00 MST"},
		{"Mon-Fri 22:00-06:00 America/Denver", "2026-12-01 06:00",
			"inside its run window Mon-Fri 22:00-06:00 America/Denver until Tue 1 Dec 06:00 MST"},
		{"Fri 22:00-06:00 UTC", "2026-12-31 23:00",
			"outside its run window Fri 22:00-06:00 UTC; resumes Fri 1 Jan 2027 22:00 UTC"},
		{"Sun 01:30-03:00 America/Denver", "2026-10-31 12:00",
			"outside its run window Sun 01:30-03:00 America/Denver; resumes Sun 1 Nov 01:30 MDT"},
		{"daily 00:00-24:00 Europe/Berlin", "2026-11-23 10:00",
			"inside its run window daily 00:00-24:00 Europe/Berlin, which is always open"},
		{"", "2026-11-23 10:00", "no run window; it may run at any time"},
	}
	for _, tt := range tests {
		got := mustWindow(t, tt.window).Describe(utc(tt.at))
		if diff := cmp.Diff(tt.want, got); diff != "" {
			t.Errorf("%q.Describe(%s UTC) (-want +got):\n%s", tt.window, tt.at, diff)
		}
	}
}

func TestWindowJSON(t *testing.T) {
	type policy struct {
		Window Window `json:"window"`
	}
	for _, s := range []string{"Mon-Fri 22:00-06:00 America/Denver", ""} {
		b, err := json.Marshal(policy{mustWindow(t, s)})
		if err != nil {
			t.Fatal(err)
		}
		want := `{"window":` + mustJSON(t, s) + `}`
		if diff := cmp.Diff(want, string(b)); diff != "" {
			t.Errorf("json.Marshal (-want +got):\n%s", diff)
		}
		var p policy
		if err := json.Unmarshal(b, &p); err != nil {
			t.Fatalf("json.Unmarshal(%s): %v", b, err)
		}
		if got := p.Window.String(); got != s {
			t.Errorf("json.Unmarshal(%s) = %q, want %q", b, got, s)
		}
	}
	var p policy
	err := json.Unmarshal([]byte(`{"window":"Mon-Fri 22:00-06:00"}`), &p)
	if ErrorCode(err) != EINVALID || !strings.Contains(ErrorMessage(err), "no time zone") {
		t.Errorf("json.Unmarshal of a window without a zone: %v, want the parse error", err)
	}
}

func mustJSON(t *testing.T, v any) string {
	t.Helper()
	b, err := json.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

func TestWindowZoneOfInstant(t *testing.T) {
	// The instant's own location does not matter, only the window's zone.
	w := mustWindow(t, "Mon-Fri 22:00-06:00 America/Denver")
	at := time.Date(2026, 11, 24, 6, 0, 0, 0, mustZone(t, "Europe/Berlin")) // Mon 22:00 MST
	if !w.Contains(at) || !w.Contains(at.UTC()) {
		t.Errorf("%q does not contain %s", w, at)
	}
}

func FuzzParseWindow(f *testing.F) {
	for _, s := range []string{
		"",
		"Mon-Fri 22:00-06:00 America/Denver",
		"mon–fri 22:00 – 06:00 Europe/Berlin",
		"Mon,Wed,Fri-Sun 01:00-05:00 UTC",
		"Fri-Mon 22:00-06:00 UTC",
		"every day 00:00-24:00 UTC",
		"Sun 02:30-04:00 America/Denver",
		"Sun 01:00-02:00 America/Denver",
		"Sat 22:00-02:30 America/Denver",
		"Sun 02:15-02:45 Europe/Berlin",
		"Thu,Fri 00:00-24:00 Pacific/Apia",
		"daily 23:30-00:30 Australia/Lord_Howe",
		"Mon-Fri 22:00-06:00",
		"Mon-Fri 08:00-08:00 UTC",
	} {
		f.Add(s, int64(0))
	}
	f.Add("Sat 22:00-02:30 America/Denver", utc("2026-03-08 08:00").Unix())
	f.Add("Sun 01:30-03:00 America/Denver", utc("2026-11-01 08:00").Unix())
	f.Add("Fri 10:00-12:00 Pacific/Apia", utc("2011-12-29 12:00").Unix())
	f.Fuzz(func(t *testing.T, s string, unix int64) {
		w, err := ParseWindow(s)
		if err != nil {
			if ErrorCode(err) != EINVALID {
				t.Fatalf("ParseWindow(%q): code %q", s, ErrorCode(err))
			}
			return
		}
		again, err := ParseWindow(w.String())
		if err != nil {
			t.Fatalf("ParseWindow(%q) = %q, which does not parse: %v", s, w, err)
		}
		if again.String() != w.String() || again.days != w.days || again.start != w.start || again.end != w.end {
			t.Fatalf("ParseWindow(%q) = %q, which parses as %q", s, w, again)
		}
		if w.IsZero() {
			return
		}
		// An instant between 1900 and 2100 from the fuzzer, and some fixed ones.
		const span = 200 * 365 * 24 * 3600
		ats := []time.Time{
			time.Unix(-2208988800+(unix%span+span)%span, 0),
			utc("2026-03-08 08:30"), utc("2026-11-01 07:45"), utc("2026-03-29 00:30"),
			utc("2026-10-25 00:30"), utc("2026-12-31 23:59"), utc("2026-06-15 12:00"),
		}
		for _, at := range ats {
			next := w.Next(at)
			if next.IsZero() {
				continue // a zone whose calendar skips the window's days
			}
			if next.Before(at) || !w.Contains(next) {
				t.Fatalf("%q.Next(%s) = %s: before it, or outside the window", w, at, next)
			}
			if w.Contains(at) != next.Equal(at) {
				t.Fatalf("%q.Next(%s) = %s, but Contains(t) = %v", w, at, next, w.Contains(at))
			}
			if end := w.End(next); !end.IsZero() && (!end.After(next) || w.Contains(end)) {
				t.Fatalf("%q.End(%s) = %s: not after it, or inside the window", w, next, end)
			}
		}
	})
}
