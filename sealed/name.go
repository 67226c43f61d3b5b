package sealed

import (
	"slices"
	"strings"
	"unicode"
	"unicode/utf8"
)

// MaxNameBytes bounds a sanitised name: well under the 255 bytes most file
// systems allow for a name, leaving room for the number in front.
const MaxNameBytes = 120

// maxExtBytes is the longest extension kept when a long name is shortened.
const maxExtBytes = 16

// SanitizeName turns a file name given by a reporting service into one that
// is safe to create on any common file system: a single name, never a path.
//
//   - a path becomes its components joined by "_", without "." and ".."
//     components; the characters Windows forbids in names (< > : " | ? *)
//     become "_" too;
//   - control characters, and invisible formatting characters such as the
//     right-to-left override that can disguise "gpj.exe" as "exe.jpg", are
//     dropped, as are bytes that are not UTF-8;
//   - runs of dots become one dot, and leading or trailing dots and spaces
//     are removed, so the name is never "." or "..", hidden, or changed by
//     Windows;
//   - the name is shortened to at most [MaxNameBytes] bytes at a character
//     boundary, keeping a short extension;
//   - an empty result becomes "file".
//
// Other Unicode (letters of any script, accents, emoji) is kept: a
// partner's investigator must recognise the name the service reported.
func SanitizeName(name string) string {
	// A path becomes its components joined by "_", without the ones that
	// only climb or stay ("..", "."): "../../etc/passwd" is "etc_passwd".
	parts := strings.FieldsFunc(name, func(r rune) bool { return r == '/' || r == '\\' })
	parts = slices.DeleteFunc(parts, func(p string) bool { return strings.Trim(p, ". ") == "" })
	name = strings.Join(parts, "_")
	var b strings.Builder
	b.Grow(min(len(name), 4*MaxNameBytes))
	lastDot := false
	for i, r := range name {
		if b.Len() > 4*MaxNameBytes {
			break // the rest would be cut anyway
		}
		if r == utf8.RuneError {
			if _, size := utf8.DecodeRuneInString(name[i:]); size <= 1 {
				continue // not UTF-8
			}
		}
		switch {
		case r == '/' || r == '\\' || strings.ContainsRune(`<>:"|?*`, r):
			r = '_'
		case unicode.IsControl(r) || unicode.Is(unicode.Cf, r) || r == '\u2028' || r == '\u2029':
			continue
		case unicode.IsSpace(r):
			r = ' ' // tabs and odd spaces were controls or are invisible
		case !unicode.IsPrint(r) && !unicode.IsGraphic(r):
			continue
		}
		if r == '.' {
			if lastDot {
				continue
			}
			lastDot = true
		} else {
			lastDot = false
		}
		b.WriteRune(r)
	}
	s := strings.Trim(b.String(), ". ")
	if len(s) > MaxNameBytes {
		s = shorten(s)
	}
	if s == "" {
		return "file"
	}
	return s
}

// shorten cuts s to MaxNameBytes at a rune boundary, keeping its extension
// when it has a short one.
func shorten(s string) string {
	ext := ""
	if i := strings.LastIndexByte(s, '.'); i > 0 && len(s)-i <= maxExtBytes {
		s, ext = s[:i], s[i:]
	}
	n := MaxNameBytes - len(ext)
	for n > 0 && !utf8.RuneStart(s[n]) {
		n--
	}
	return strings.Trim(s[:n], ". ") + ext
}
