package sealed_test

import (
	"strings"
	"testing"
	"unicode"
	"unicode/utf8"

	"github.com/guardian-network/guardian/sealed"
)

func TestSanitizeName(t *testing.T) {
	long := strings.Repeat("a", 300)
	tests := []struct {
		name, in, want string
	}{
		{"Plain", "photo.jpg", "photo.jpg"},
		{"Spaces", "holiday photo 1.jpg", "holiday photo 1.jpg"},
		{"Traversal", "../../../etc/passwd", "etc_passwd"},
		{"WindowsTraversal", `..\..\Windows\System32\x.dll`, "Windows_System32_x.dll"},
		{"Absolute", "/etc/shadow", "etc_shadow"},
		{"DotDot", "..", "file"},
		{"Dot", ".", "file"},
		{"Hidden", ".bashrc", "bashrc"},
		{"DotRuns", "a....b...jpg", "a.b.jpg"},
		{"TrailingDots", "report.txt. . ", "report.txt"},
		{"Empty", "", "file"},
		{"OnlySeparators", "///\\\\", "file"},
		{"Controls", "a\x00b\x1bc\nd\te\x7f.txt", "abcde.txt"},
		{"C1Control", "a\u0085b", "ab"},
		{"RightToLeftOverride", "photo\u202Egpj.exe", "photogpj.exe"},
		{"ZeroWidth", "pho\u200bto.jpg", "photo.jpg"},
		{"LineSeparator", "a\u2028b", "ab"},
		{"NoBreakSpace", "a\u00a0b", "a b"},
		{"WindowsReserved", `a<b>c:d"e|f?g*h`, "a_b_c_d_e_f_g_h"},
		{"InvalidUTF8", "a\xff\xfeb.png", "ab.png"},
		{"ReplacementCharKept", "a\uFFFDb", "a\uFFFDb"},
		{"Cyrillic", "Фото_2024.jpg", "Фото_2024.jpg"},
		{"CJK", "写真.png", "写真.png"},
		{"Accents", "café crème.txt", "café crème.txt"},
		{"Emoji", "🙂 smile.gif", "🙂 smile.gif"},
		{"PrivateUse", "a\ue000b", "ab"},
		{"LongKeepsExtension", long + ".jpeg", strings.Repeat("a", sealed.MaxNameBytes-5) + ".jpeg"},
		{"LongNoExtension", long, strings.Repeat("a", sealed.MaxNameBytes)},
		{"LongExtensionIsName", "a." + long, "a." + strings.Repeat("a", sealed.MaxNameBytes-2)},
		{"LongMultibyte", strings.Repeat("é", 100) + ".txt", strings.Repeat("é", 58) + ".txt"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := sealed.SanitizeName(tt.in)
			if got != tt.want {
				t.Errorf("SanitizeName(%q) = %q, want %q", tt.in, got, tt.want)
			}
			checkSafe(t, tt.in, got)
		})
	}
}

// checkSafe checks the promises of SanitizeName on one result.
func checkSafe(t *testing.T, in, got string) {
	t.Helper()
	switch {
	case got == "":
		t.Errorf("SanitizeName(%q) is empty", in)
	case len(got) > sealed.MaxNameBytes:
		t.Errorf("SanitizeName(%q) is %d bytes", in, len(got))
	case !utf8.ValidString(got):
		t.Errorf("SanitizeName(%q) = %q is not UTF-8", in, got)
	case strings.ContainsAny(got, `/\<>:"|?*`):
		t.Errorf("SanitizeName(%q) = %q has a separator or reserved character", in, got)
	case strings.Contains(got, ".."):
		t.Errorf("SanitizeName(%q) = %q has ..", in, got)
	case strings.HasPrefix(got, ".") || strings.HasSuffix(got, ".") || strings.HasPrefix(got, " ") || strings.HasSuffix(got, " "):
		t.Errorf("SanitizeName(%q) = %q starts or ends with a dot or space", in, got)
	}
	for _, r := range got {
		if unicode.IsControl(r) || unicode.Is(unicode.Cf, r) {
			t.Errorf("SanitizeName(%q) = %q has %U", in, got, r)
		}
	}
	if again := sealed.SanitizeName(got); again != got {
		t.Errorf("SanitizeName is not stable: %q, then %q", got, again)
	}
}

func FuzzSanitizeName(f *testing.F) {
	for _, s := range []string{"photo.jpg", "../../etc/passwd", "a\u202Eb", "\xff..\\x", strings.Repeat("é.", 90)} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		checkSafe(t, in, sealed.SanitizeName(in))
	})
}
