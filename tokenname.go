package sweep

import (
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxTokenName is the most characters a token's name may have.
const MaxTokenName = 100

// CheckTokenName returns the name a token is stored under, name without its
// surrounding spaces, or EINVALID saying what to fix. A token's name is how
// people tell who asked for and who approved a deletion, so it must read as
// what it is: it may not hold a character that is not shown (a control or
// format character such as a zero-width space, a bidirectional control or
// a byte-order mark) or that shows as a space without being one (a
// no-break, ideographic or other special space, a line or paragraph
// separator). "ops" followed by a zero-width space would otherwise be a
// second "ops" to every reader.
func CheckTokenName(name string) (string, error) {
	if !utf8.ValidString(name) {
		return "", Errorf(EINVALID, "a token's name must be UTF-8 text; type it again with letters, digits, punctuation and ordinary spaces only, such as \"risk lead\".")
	}
	name = strings.TrimSpace(name)
	if name == "" || utf8.RuneCountInString(name) > MaxTokenName {
		return "", Errorf(EINVALID, "a token needs a name of at most %d characters that people know its holder by, such as \"risk lead\": the timeline and every approval show it.", MaxTokenName)
	}
	for i, r := range []rune(name) {
		if r != ' ' && (hiddenInName(r) || blankInName(r)) {
			return "", Errorf(EINVALID, "a token's name may not hold control or invisible characters (zero-width and special spaces, bidirectional controls, byte-order marks, line breaks or tabs): it would read as another token's name in the timeline and in approvals. Character %d of %q is %U; type the name again with letters, digits, punctuation and ordinary spaces only, such as \"risk lead\".",
				i+1, name, r)
		}
	}
	return name, nil
}

// readTokenName is name as a reader sees it: hidden characters dropped,
// each run of blanks one space, none around it.
func readTokenName(name string) string {
	var b strings.Builder
	space := false
	for _, r := range name {
		switch {
		case blankInName(r):
			space = b.Len() > 0
		case hiddenInName(r):
		default:
			if space {
				b.WriteByte(' ')
				space = false
			}
			b.WriteRune(r)
		}
	}
	return b.String()
}

// blankInName reports whether r shows as a space or a line break: white
// space (tabs, line breaks, the no-break and other special spaces, line and
// paragraph separators) and the braille blank, which looks like a space
// without being white space.
func blankInName(r rune) bool {
	return unicode.IsSpace(r) || unicode.In(r, unicode.Zs, unicode.Zl, unicode.Zp) || r == '\u2800'
}

// hiddenInName reports whether r is not shown at all, or changes how what
// is around it is shown: control characters (Cc), format characters (Cf:
// zero-width spaces and joiners, bidirectional controls, the byte-order mark,
// the soft hyphen), the other default-ignorable code points (such as the
// Hangul fillers and the combining grapheme joiner) and variation
// selectors.
func hiddenInName(r rune) bool {
	return unicode.In(r, unicode.Cc, unicode.Cf, unicode.Other_Default_Ignorable_Code_Point, unicode.Variation_Selector)
}
