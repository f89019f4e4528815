package sweep

import (
	"fmt"
	"slices"
	"strings"
	"time"
)

// MaxWindowLen bounds the text of a run window; the longest sensible one
// (seven full day names and a long zone name) is well under it.
const MaxWindowLen = 200

// windowExample is the valid window every parse error shows.
const windowExample = `"Mon-Fri 22:00-06:00 America/Denver"`

// allDays is Window.days with every day of the week set.
const allDays = 1<<7 - 1

// Window is when a run may delete: some days of the week, one span of hours,
// in one time zone, written "Mon-Fri 22:00-06:00 America/Denver". The zero
// Window is no window at all: a run may delete at any time.
//
// Days and hours are wall-clock times in the zone. A span whose end is before
// its start runs overnight and belongs to the day it opens: "Fri 22:00-06:00"
// is open from Friday 22:00 to Saturday 06:00, and not on Friday at 03:00.
//
// Each opening lasts from the first instant the zone's clock shows the start
// until the first instant it shows the end, so summer time is the zone's
// business:
//   - when the clock skips an hour, a start or an end inside the skipped hour
//     takes effect at the first instant after it (02:30 on a night the clock
//     jumps from 02:00 to 03:00 means 03:00); a window lying wholly inside the
//     skipped hour does not open that day;
//   - when the clock repeats an hour, a start or an end inside it takes effect
//     the first time the clock shows it, and the window does not open or close
//     again when the clock shows it a second time: "01:00-02:00" lasts two
//     hours that night, "00:00-01:30" closes at the first 01:30.
type Window struct {
	days  uint8 // bit d set: the window opens on time.Weekday d
	start int   // minutes after midnight, 0 to 1439
	end   int   // minutes after midnight, 1 to 1440; below start: the next day
	loc   *time.Location
}

// ParseWindow reads a run window: days, hours and a time zone, as in
// "Mon-Fri 22:00-06:00 America/Denver". An empty string is the zero Window.
//
// Days are a day ("Mon"), a range ("Mon-Fri"; "Fri-Mon" wraps over the
// weekend), a comma list of days and ranges ("Mon,Wed,Fri-Sun"), or "daily"
// ("every day"); names are three letters or full, in any letter case. Hours
// are HH:MM-HH:MM, the start from 00:00 to 23:59 and the end from 00:00 to
// 24:00, not equal (00:00-24:00 is the whole day). The zone is an IANA name
// such as "Europe/Berlin", or "UTC". Dashes may be en dashes and may have
// spaces around them.
func ParseWindow(s string) (Window, error) {
	if len(s) > MaxWindowLen {
		return Window{}, Errorf(EINVALID, "A run window must be at most %d bytes long; found %d. A valid window looks like %s.", MaxWindowLen, len(s), windowExample)
	}
	norm := strings.NewReplacer("\u2013", "-", "\u2014", "-").Replace(s)
	norm = strings.Join(strings.Fields(norm), " ")
	norm = strings.NewReplacer(" - ", "-", " -", "-", "- ", "-", " , ", ",", " ,", ",", ", ", ",").Replace(norm)
	if norm == "" {
		return Window{}, nil
	}
	fields := strings.Split(norm, " ")
	hours := slices.IndexFunc(fields, func(f string) bool { return strings.Contains(f, ":") })
	switch {
	case hours < 0:
		return Window{}, windowError(s, "it has no hours; write them as HH:MM-HH:MM between the days and the time zone")
	case hours == 0:
		return Window{}, windowError(s, "it has no days; start it with the days, such as daily, Mon-Fri or Mon,Wed,Fri")
	case hours == len(fields)-1:
		return Window{}, windowError(s, `it has no time zone; add one at the end, e.g. "Europe/Berlin" or "UTC"`)
	}

	var w Window
	var err error
	if w.days, err = parseDays(s, fields[:hours]); err != nil {
		return Window{}, err
	}
	if w.start, w.end, err = parseHours(s, fields[hours]); err != nil {
		return Window{}, err
	}
	if len(fields) > hours+2 {
		return Window{}, windowError(s, "%q follows the time zone %q; a window ends with its time zone", strings.Join(fields[hours+2:], " "), fields[hours+1])
	}
	if w.loc, err = parseZone(s, fields[hours+1]); err != nil {
		return Window{}, err
	}
	return w, nil
}

// windowError is the error of a run window s that cannot be read: what is
// wrong, and a window that would be right.
func windowError(s, format string, args ...any) error {
	return Errorf(EINVALID, "The run window %q is not valid: %s. A valid window looks like %s.", s, fmt.Sprintf(format, args...), windowExample)
}

// parseDays reads the days of the window s, written as fields.
func parseDays(s string, fields []string) (uint8, error) {
	switch strings.ToLower(strings.Join(fields, " ")) {
	case "daily", "every day", "everyday":
		return allDays, nil
	}
	list := strings.Join(fields, ",")
	var days uint8
	for item := range strings.SplitSeq(list, ",") {
		if item == "" {
			return 0, windowError(s, "the days %q have an empty entry; separate days with single commas, such as Mon,Wed,Fri", list)
		}
		first, last, isRange := strings.Cut(item, "-")
		from, ok := parseDay(first)
		if !ok {
			return 0, unknownDay(s, first)
		}
		to := from
		if isRange {
			if to, ok = parseDay(last); !ok {
				return 0, unknownDay(s, last)
			}
		}
		for d := from; ; d = (d + 1) % 7 {
			days |= 1 << d
			if d == to {
				break
			}
		}
	}
	return days, nil
}

func unknownDay(s, day string) error {
	return windowError(s, "%q is not a day; use Mon, Tue, Wed, Thu, Fri, Sat or Sun (or the full names), a range such as Mon-Fri, a list such as Mon,Wed,Fri-Sun, or daily", day)
}

// parseDay reads a day's name, three letters or full, in any letter case.
func parseDay(s string) (time.Weekday, bool) {
	switch strings.ToLower(s) {
	case "sun", "sunday":
		return time.Sunday, true
	case "mon", "monday":
		return time.Monday, true
	case "tue", "tues", "tuesday":
		return time.Tuesday, true
	case "wed", "wednesday":
		return time.Wednesday, true
	case "thu", "thur", "thurs", "thursday":
		return time.Thursday, true
	case "fri", "friday":
		return time.Friday, true
	case "sat", "saturday":
		return time.Saturday, true
	}
	return 0, false
}

// parseHours reads the span HH:MM-HH:MM of the window s, in minutes after
// midnight. An end of 00:00 after a later start is midnight at the end of the
// day, and becomes 24:00 so that each window has one spelling.
func parseHours(s, f string) (start, end int, err error) {
	from, to, ok := strings.Cut(f, "-")
	if !ok || strings.Contains(to, "-") {
		return 0, 0, windowError(s, "the hours %q must be a start and an end joined by a dash, such as 22:00-06:00", f)
	}
	if start = parseClock(from); start < 0 || start >= 24*60 {
		return 0, 0, windowError(s, "the start %q must be a time from 00:00 to 23:59 written HH:MM, such as 22:00", from)
	}
	if end = parseClock(to); end < 0 {
		return 0, 0, windowError(s, "the end %q must be a time from 00:00 to 24:00 written HH:MM, such as 06:00", to)
	}
	if end == start {
		return 0, 0, windowError(s, "the hours %q start and end at the same time; use 00:00-24:00 for the whole day", f)
	}
	if end == 0 {
		end = 24 * 60
	}
	return start, end, nil
}

// parseClock reads H:MM or HH:MM from 00:00 to 24:00 as minutes after
// midnight, or returns -1.
func parseClock(s string) int {
	h, m, ok := strings.Cut(s, ":")
	if !ok || len(h) < 1 || len(h) > 2 || len(m) != 2 {
		return -1
	}
	hh, mm := digits(h), digits(m)
	if hh < 0 || mm < 0 || mm > 59 || hh > 24 || hh == 24 && mm != 0 {
		return -1
	}
	return hh*60 + mm
}

// digits reads a short string of ASCII digits, or returns -1.
func digits(s string) int {
	n := 0
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return -1
		}
		n = n*10 + int(s[i]-'0')
	}
	return n
}

// parseZone loads the zone of the window s. Local is refused: it is whatever
// zone the server happens to run in.
func parseZone(s, name string) (*time.Location, error) {
	if strings.EqualFold(name, "UTC") {
		return time.UTC, nil
	}
	bad := func() error {
		return windowError(s, `%q is not a time zone; use an IANA name such as "Europe/Berlin" or "America/Denver", or "UTC"`, name)
	}
	if strings.EqualFold(name, "Local") {
		return nil, windowError(s, `name the time zone, such as "Europe/Berlin" or "UTC"; %q would be the server's zone`, name)
	}
	// Zone names are letters, digits and _ - + /; anything else (dots above
	// all) never names a zone and need not reach the file system.
	for i := 0; i < len(name); i++ {
		c := name[i]
		if !('a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || '0' <= c && c <= '9' || c == '_' || c == '-' || c == '+' || c == '/') {
			return nil, bad()
		}
	}
	loc, err := time.LoadLocation(name)
	if err != nil {
		return nil, bad()
	}
	return loc, nil
}

// IsZero reports whether w is no window at all, open at every instant.
func (w Window) IsZero() bool {
	return w.loc == nil
}

// String returns w in the form ParseWindow reads, spelled one way: days as
// daily, or as ranges of three or more days and single days in the order Mon
// to Sun (Mon,Wed,Fri-Sun), except that days running over the weekend and no
// others are one range (Fri-Mon); hours as HH:MM-HH:MM; and the zone's IANA
// name. The zero Window is "".
func (w Window) String() string {
	if w.IsZero() {
		return ""
	}
	return w.daysString() + " " + clock(w.start) + "-" + clock(w.end) + " " + w.loc.String()
}

// daysString spells w's days as String documents.
func (w Window) daysString() string {
	if w.days == allDays {
		return "daily"
	}
	// Day i counts from Monday: i = 0 is Monday, 6 is Sunday.
	has := func(i int) bool { return w.days&(1<<((i+1)%7)) != 0 }
	name := func(i int) string { return time.Weekday((i + 1) % 7).String()[:3] }
	type run struct{ first, n int }
	var runs []run
	for i := 0; i < 7; i++ {
		if !has(i) {
			continue
		}
		r := run{first: i}
		for ; i < 7 && has(i); i++ {
			r.n++
		}
		runs = append(runs, r)
	}
	// Days that run from the end of the week into the next and nothing else
	// are one range, as in Fri-Mon.
	if len(runs) == 2 && runs[0].first == 0 && runs[1].first+runs[1].n == 7 && runs[0].n+runs[1].n >= 3 {
		return name(runs[1].first) + "-" + name(runs[0].n-1)
	}
	var items []string
	for _, r := range runs {
		if r.n >= 3 {
			items = append(items, name(r.first)+"-"+name(r.first+r.n-1))
			continue
		}
		for i := r.first; i < r.first+r.n; i++ {
			items = append(items, name(i))
		}
	}
	return strings.Join(items, ",")
}

// clock writes minutes after midnight as HH:MM.
func clock(min int) string {
	return fmt.Sprintf("%02d:%02d", min/60, min%60)
}

// MarshalText writes w as String does, so JSON carries
// "Mon-Fri 22:00-06:00 America/Denver".
func (w Window) MarshalText() ([]byte, error) {
	return []byte(w.String()), nil
}

// UnmarshalText reads w as ParseWindow does.
func (w *Window) UnmarshalText(b []byte) error {
	parsed, err := ParseWindow(string(b))
	if err != nil {
		return err
	}
	*w = parsed
	return nil
}

// Contains reports whether w is open at t, its start included and its end
// not. The zero Window contains every instant.
func (w Window) Contains(t time.Time) bool {
	if w.IsZero() {
		return true
	}
	// The opening that holds t began on t's date or the day before; a day
	// more either side covers zones whose clock moves by a day or goes back
	// over midnight.
	for i := -2; i <= 1; i++ {
		day := w.day(t, i)
		if !w.opensOn(day) {
			continue
		}
		if open, close := w.span(day); !t.Before(open) && t.Before(close) {
			return true
		}
	}
	return false
}

// Next returns the first instant at or after t at which w is open: t itself
// when w contains it. Every window opens each week, except on a day the
// zone's clock skips the whole of it, so Next looks two weeks ahead at most
// and returns zero when it found nothing there; it is zero for the zero
// Window too.
func (w Window) Next(t time.Time) time.Time {
	if w.IsZero() {
		return time.Time{}
	}
	// Openings follow one another in the order of their days, so the first
	// one that has not closed by t is the answer.
	for i := -2; i <= 15; i++ {
		day := w.day(t, i)
		if !w.opensOn(day) {
			continue
		}
		open, close := w.span(day)
		if !open.Before(close) || !t.Before(close) {
			continue
		}
		if t.Before(open) {
			return open
		}
		return t
	}
	return time.Time{}
}

// End returns, for t inside w, when the opening that holds t closes: the
// first instant after t that w does not contain, which may be days later when
// openings meet (Mon-Fri 00:00-24:00 closes on Saturday at 00:00). It is zero
// when t is outside w, and when w is always open (daily 00:00-24:00, or the
// zero Window).
func (w Window) End(t time.Time) time.Time {
	if w.IsZero() || w.days == allDays && w.start == 0 && w.end == 24*60 {
		return time.Time{}
	}
	var close time.Time
	found := 0
	for i := -2; i <= 1 && close.IsZero(); i++ {
		day := w.day(t, i)
		if !w.opensOn(day) {
			continue
		}
		if open, c := w.span(day); !t.Before(open) && t.Before(c) {
			close, found = c, i
		}
	}
	if close.IsZero() {
		return time.Time{}
	}
	for i := found + 1; i <= found+8; i++ {
		day := w.day(t, i)
		if !w.opensOn(day) {
			continue
		}
		open, c := w.span(day)
		if open.After(close) {
			return close
		}
		if c.After(close) {
			close = c
		}
	}
	// Open for more than a week on end.
	return time.Time{}
}

// Describe says, for an operator, whether a run at t may delete and until or
// from when: "outside its run window Mon-Fri 22:00-06:00 America/Denver;
// resumes Mon 30 Nov 22:00 MST" or "inside its run window Mon-Fri 22:00-06:00
// America/Denver until Tue 1 Dec 06:00 MST". Times are in the window's zone.
func (w Window) Describe(t time.Time) string {
	if w.IsZero() {
		return "no run window; it may run at any time"
	}
	if w.Contains(t) {
		end := w.End(t)
		if end.IsZero() {
			return fmt.Sprintf("inside its run window %s, which is always open", w)
		}
		return fmt.Sprintf("inside its run window %s until %s", w, w.stamp(t, end))
	}
	next := w.Next(t)
	if next.IsZero() {
		return fmt.Sprintf("outside its run window %s, which does not open in the next two weeks", w)
	}
	return fmt.Sprintf("outside its run window %s; resumes %s", w, w.stamp(t, next))
}

// stamp writes at in w's zone for a sentence about now: with the year only
// when it is not now's.
func (w Window) stamp(now, at time.Time) string {
	at = at.In(w.loc)
	if at.Year() != now.In(w.loc).Year() {
		return at.Format("Mon 2 Jan 2006 15:04 MST")
	}
	return at.Format("Mon 2 Jan 15:04 MST")
}

// day returns the date i days from t's date in w's zone, as noon UTC on that
// date: a calendar day, free of the zone's clock changes.
func (w Window) day(t time.Time, i int) time.Time {
	y, m, d := t.In(w.loc).Date()
	return time.Date(y, m, d+i, 12, 0, 0, 0, time.UTC)
}

// opensOn reports whether day (from w.day) is one of w's days.
func (w Window) opensOn(day time.Time) bool {
	return w.days&(1<<day.Weekday()) != 0
}

// span returns the opening of w that begins on day (from w.day): open
// included, close not. It is empty (open == close) when the zone's clock
// skips the whole of it.
func (w Window) span(day time.Time) (open, close time.Time) {
	y, m, d := day.Date()
	open = reach(y, m, d, w.start, w.loc)
	if w.end > w.start {
		return open, reach(y, m, d, w.end, w.loc)
	}
	return open, reach(y, m, d+1, w.end, w.loc)
}

// reach returns the first instant at which the clock in loc shows minute min
// (0 to 1440) of the date y-m-d: of the two instants of a repeated hour the
// earlier, and for a minute the clock skips the first instant after the gap.
// time.Date alone promises neither.
func reach(y int, m time.Month, d, min int, loc *time.Location) time.Time {
	want := time.Date(y, m, d, 0, min, 0, 0, time.UTC)
	t := time.Date(y, m, d, 0, min, 0, 0, loc)
	start, end := t.ZoneBounds()
	// The clock shows want under t's offset or under a neighbouring zone's:
	// try them all and keep the earliest instant.
	offsets := []time.Time{t}
	if !start.IsZero() {
		offsets = append(offsets, start.Add(-time.Second))
	}
	if !end.IsZero() {
		offsets = append(offsets, end)
	}
	var first time.Time
	for _, o := range offsets {
		_, offset := o.Zone()
		u := want.Add(-time.Duration(offset) * time.Second)
		if wall(u, loc).Equal(want) && (first.IsZero() || u.Before(first)) {
			first = u
		}
	}
	if !first.IsZero() {
		return first.In(loc)
	}
	// The clock skips want: t lies next to the gap, in the zone that ends
	// where it begins or starts where it ends; the clock change is the answer.
	if wall(t, loc).Before(want) && !end.IsZero() {
		return end.In(loc)
	}
	if !start.IsZero() {
		return start.In(loc)
	}
	return t
}

// wall returns the clock reading of t in loc, as the same reading in UTC, so
// readings compare as instants do.
func wall(t time.Time, loc *time.Location) time.Time {
	l := t.In(loc)
	return time.Date(l.Year(), l.Month(), l.Day(), l.Hour(), l.Minute(), l.Second(), l.Nanosecond(), time.UTC)
}
