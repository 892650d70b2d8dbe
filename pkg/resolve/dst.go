package resolve

import "strings"

// expandDST substitutes the dynamic string tokens $ORIGIN, $LIB and $PLATFORM
// (also written ${NAME}) in s as glibc's _dl_dst_substitute does: an unknown
// "$" is kept literally; a known token without a value (an empty origin or
// platform) makes the whole element unusable (ok false).
func expandDST(s, origin string, a *abi) (string, bool) {
	if !strings.Contains(s, "$") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' {
			b.WriteByte(s[i])
			continue
		}
		rest := s[i+1:]
		var repl string
		n := 0
		for _, tok := range []struct{ name, val string }{
			{"ORIGIN", origin}, {"PLATFORM", a.platform}, {"LIB", a.lib},
		} {
			if n = dstLen(rest, tok.name); n > 0 {
				repl = tok.val
				break
			}
		}
		if n == 0 {
			b.WriteByte('$')
			continue
		}
		if repl == "" {
			return "", false
		}
		b.WriteString(repl)
		i += n
	}
	return b.String(), true
}

// dstLen returns how many bytes after "$" the token name occupies in s
// ("NAME" not followed by an identifier byte, or "{NAME}"), or 0.
func dstLen(s, name string) int {
	if strings.HasPrefix(s, "{"+name+"}") {
		return len(name) + 2
	}
	if !strings.HasPrefix(s, name) {
		return 0
	}
	if len(s) > len(name) {
		c := s[len(name)]
		if c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' {
			return 0
		}
	}
	return len(name)
}
