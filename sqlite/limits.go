package sqlite

import "strings"

// A LIMIT or OFFSET given by a bound parameter makes SQLite plan the
// statement with the value bound when it was prepared (sqlite3ExprIsInteger
// reads it and marks the parameter as one the plan depends on). Binding a
// new value then expires the statement, and its next step prepares it
// again: a kept statement whose limit changes from run to run, as River's
// job fetch (LIMIT the free workers) and every paged listing do, is parsed
// and planned at every run. A profile of the hub at 140 reports/s put 5% of
// its processor time there.
//
// Written as +?, the limit is an expression rather than a parameter, so
// the plan does not depend on it and the statement stays prepared; the
// result is the same. Connections here rewrite every statement so, River's
// included, before preparing it.

// unplannedLimits returns query with each "LIMIT ?" and "OFFSET ?" (any
// case, numbered parameters too) written "LIMIT +?", leaving string
// literals, quoted names and comments alone. It returns query itself when
// there is nothing to rewrite.
func unplannedLimits(query string) string {
	if !strings.Contains(query, "?") {
		return query
	}
	var b strings.Builder
	last := 0 // query[last:] is not yet copied to b
	for i := 0; i < len(query); {
		switch c := query[i]; {
		case c == '\'' || c == '"' || c == '`' || c == '[':
			i = skipQuoted(query, i)
		case c == '-' && strings.HasPrefix(query[i:], "--"):
			if j := strings.IndexByte(query[i:], '\n'); j >= 0 {
				i += j + 1
			} else {
				i = len(query)
			}
		case c == '/' && strings.HasPrefix(query[i:], "/*"):
			if j := strings.Index(query[i+2:], "*/"); j >= 0 {
				i += j + 4
			} else {
				i = len(query)
			}
		case isWordByte(c):
			j := i
			for j < len(query) && isWordByte(query[j]) {
				j++
			}
			word := query[i:j]
			if strings.EqualFold(word, "LIMIT") || strings.EqualFold(word, "OFFSET") {
				k := j
				for k < len(query) && isSpace(query[k]) {
					k++
				}
				if k < len(query) && query[k] == '?' {
					b.WriteString(query[last:k])
					b.WriteByte('+')
					last = k
				}
			}
			i = j
		default:
			i++
		}
	}
	if last == 0 {
		return query
	}
	b.WriteString(query[last:])
	return b.String()
}

// skipQuoted returns the index just past the quoted string or name that
// starts at query[i]. SQL doubles a quote inside its quotes; [names] end at
// the first ].
func skipQuoted(query string, i int) int {
	end := query[i]
	if end == '[' {
		end = ']'
	}
	for j := i + 1; j < len(query); j++ {
		if query[j] != end {
			continue
		}
		if end != ']' && j+1 < len(query) && query[j+1] == end {
			j++ // a doubled quote
			continue
		}
		return j + 1
	}
	return len(query)
}

func isWordByte(c byte) bool {
	return c == '_' || c >= '0' && c <= '9' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= 0x80
}

func isSpace(c byte) bool { return c == ' ' || c == '\t' || c == '\n' || c == '\r' || c == '\f' }
