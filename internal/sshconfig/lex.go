package sshconfig

import "strings"

// whitespace is the set of characters OpenSSH's config reader treats as
// blanks between words.
const whitespace = " \t\r\n"

// trimLine removes trailing blanks and form feeds, as ssh does before it
// reads a line (the first character is never removed).
func trimLine(s string) string {
	n := len(s)
	for n > 1 && strings.IndexByte(whitespace+"\f", s[n-1]) >= 0 {
		n--
	}
	return s[:n]
}

// strdelim returns the next word of *s and advances *s past it, the way
// ssh reads a keyword and the words of a Match line: a word ends at a
// blank or at one '='; at a '"' the quote is dropped and the word runs to
// the next '"'. *exhausted is set when the word ran to the end of the line
// (ssh's NULL rest). ok is false when *exhausted was already set or a quote
// is not closed.
func strdelim(s *string, exhausted *bool) (word string, ok bool) {
	if *exhausted {
		return "", false
	}
	cur := *s
	i := strings.IndexAny(cur, whitespace+`"=`)
	if i < 0 {
		*exhausted = true
		*s = ""
		return cur, true
	}
	if cur[i] == '"' {
		// The quote is removed, the word runs to the next quote.
		joined := cur[:i] + cur[i+1:]
		j := strings.IndexByte(joined[i:], '"')
		if j < 0 {
			*exhausted = true
			*s = ""
			return "", false
		}
		j += i
		word = joined[:j]
		rest := joined[j+1:]
		rest = strings.TrimLeft(rest, whitespace)
		*s = rest
		return word, true
	}
	wasEquals := cur[i] == '='
	word = cur[:i]
	rest := strings.TrimLeft(cur[i+1:], whitespace)
	if !wasEquals && strings.HasPrefix(rest, "=") {
		rest = strings.TrimLeft(rest[1:], whitespace)
	}
	*s = rest
	return word, true
}

// argvSplit splits the value of a line into words as ssh does: blanks
// separate words, '"' and '\” quote (also inside a word), \" \' \\ and,
// outside quotes, "\ " are escapes, any other backslash is kept, and a '#'
// at the start of a word ends the line. ok is false for an unclosed quote.
func argvSplit(s string) (args []string, ok bool) {
	i := 0
	for i < len(s) {
		if s[i] == ' ' || s[i] == '\t' {
			i++
			continue
		}
		if s[i] == '#' {
			break
		}
		var b strings.Builder
		var quote byte
		for ; i < len(s); i++ {
			c := s[i]
			switch {
			case c == '\\':
				if i+1 < len(s) && (s[i+1] == '\'' || s[i+1] == '"' || s[i+1] == '\\' || (quote == 0 && s[i+1] == ' ')) {
					i++
					b.WriteByte(s[i])
				} else {
					b.WriteByte(c)
				}
				continue
			case quote == 0 && (c == ' ' || c == '\t'):
			case quote == 0 && (c == '"' || c == '\''):
				quote = c
				continue
			case quote != 0 && c == quote:
				quote = 0
				continue
			default:
				b.WriteByte(c)
				continue
			}
			break
		}
		args = append(args, b.String())
		if i >= len(s) && quote != 0 {
			return nil, false
		}
	}
	return args, true
}
