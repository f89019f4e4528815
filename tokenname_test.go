package sweep_test

import (
	"strings"
	"testing"

	"github.com/sweephq/sweep"
)

// A token's name is refused at creation when it holds a character that is
// not shown or that shows as a space without being one, with a sentence
// saying which and what to type instead; surrounding spaces are dropped and
// names in any script are kept as typed.
func TestCheckTokenName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct{ name, char string }{
		{"ops\u200b", "U+200B"},      // zero-width space
		{"\u200bops", "U+200B"},      // ... in front
		{"o\u200dps", "U+200D"},      // zero-width joiner
		{"\u2060ops", "U+2060"},      // word joiner
		{"ops\u00ad", "U+00AD"},      // soft hyphen
		{"\ufeffops", "U+FEFF"},      // byte-order mark
		{"ops\u202e", "U+202E"},      // right-to-left override
		{"ops\u2067x", "U+2067"},     // right-to-left isolate
		{"ops\u200f", "U+200F"},      // right-to-left mark
		{"risk\u00a0lead", "U+00A0"}, // no-break space
		{"risk\u3000lead", "U+3000"}, // ideographic space
		{"risk\u2002lead", "U+2002"}, // en space
		{"risk\u2028lead", "U+2028"}, // line separator
		{"risk\u2029lead", "U+2029"}, // paragraph separator
		{"risk\tlead", "U+0009"},     // tab
		{"risk\nlead", "U+000A"},     // line break
		{"ops\x7f", "U+007F"},        // delete
		{"ops\u0085x", "U+0085"},     // next line
		{"ops\u3164", "U+3164"},      // Hangul filler
		{"ops\u2800", "U+2800"},      // braille blank
		{"ops\ufe0f", "U+FE0F"},      // variation selector
		{"ops\U000E0041", "U+E0041"}, // tag character
	} {
		_, err := sweep.CheckTokenName(tc.name)
		if msg := sweep.ErrorMessage(err); sweep.ErrorCode(err) != sweep.EINVALID || !strings.Contains(msg, tc.char) ||
			!strings.Contains(msg, "type the name again with letters, digits, punctuation and ordinary spaces only") {
			t.Errorf("CheckTokenName(%q) = %v; want invalid naming %s and what to type", tc.name, err, tc.char)
		}
	}
	for _, name := range []string{"", "   ", "\u00a0", strings.Repeat("x", 101), "ops\xff"} {
		if _, err := sweep.CheckTokenName(name); sweep.ErrorCode(err) != sweep.EINVALID {
			t.Errorf("CheckTokenName(%q) = %v; want invalid", name, err)
		}
	}
	for name, want := range map[string]string{
		"ops":                    "ops",
		" risk lead\u00a0":       "risk lead",
		"Zoë O'Brien-Smith":      "Zoë O'Brien-Smith",
		"リスク 担当":                 "リスク 担当",
		"مدير المخاطر":           "مدير المخاطر",
		strings.Repeat("é", 100): strings.Repeat("é", 100),
	} {
		if got, err := sweep.CheckTokenName(name); err != nil || got != want {
			t.Errorf("CheckTokenName(%q) = %q, %v; want %q", name, got, err, want)
		}
	}
}

// Two token names are one person's when they read alike: whatever their
// letter case, their spaces, and the characters nobody sees, which names
// stored before CheckTokenName may hold. Nobody's name is empty.
func TestSameTokenName(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		a, b string
		want bool
	}{
		{"ops", "ops", true},
		{"ops", " OPS ", true},
		{"ops", "ops\u200b", true},
		{"ops", "\ufeffo\u200dp\u00ads\u202e", true},
		{"ops", "ops\u2800", true},
		{"risk lead", "Risk\u00a0lead", true},
		{"risk lead", "risk  \u3000lead", true},
		{"risk lead", "risk\u2028lead", true},
		{"risk lead", "risk\u200b lead", true},
		{"ops", "opsx", false},
		{"ops", "o ps", false},
		{"risk lead", "risklead", false},
		{"", "", false},
		{"\u200b", "\u200b", false},
		{" ", "\u00a0", false},
	} {
		if got := sweep.SameTokenName(tc.a, tc.b); got != tc.want {
			t.Errorf("SameTokenName(%q, %q) = %v; want %v", tc.a, tc.b, got, tc.want)
		}
		if got := sweep.SameTokenName(tc.b, tc.a); got != tc.want {
			t.Errorf("SameTokenName(%q, %q) = %v; want %v", tc.b, tc.a, got, tc.want)
		}
	}
}
