package gather

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
)

// Temporary files of [File], [MergeFile] and [Dir] are named
// ".<name>.tmp-<pid>-<random>": name is the file they will be renamed to
// (the last element of the destination), pid the process that owns them,
// and random the digits os.CreateTemp puts in place of its "*". The pid
// lets a later gatherer tell the temporary files of a process that was
// killed before its Close from those of a run still going on.

// tempMark separates a temporary file's name from its owner.
const tempMark = ".tmp-"

// tempPattern is the os.CreateTemp pattern of this process's temporary
// files for name.
func tempPattern(name string) string {
	return "." + name + tempMark + strconv.Itoa(os.Getpid()) + "-*"
}

// parseTemp splits a temporary file's name into the name it is for and
// its owner's pid. It reports false for any other name, such as the
// temporary files of older versions, whose owner cannot be told.
func parseTemp(file string) (name string, pid int, ok bool) {
	rest, ok := strings.CutPrefix(file, ".")
	if !ok {
		return "", 0, false
	}
	i := strings.LastIndex(rest, tempMark)
	if i <= 0 {
		return "", 0, false
	}
	p, r, ok := strings.Cut(rest[i+len(tempMark):], "-")
	if !ok || !allDigits(p) || !allDigits(r) {
		return "", 0, false
	}
	pid, err := strconv.Atoi(p)
	if err != nil || pid <= 0 {
		return "", 0, false
	}
	return rest[:i], pid, true
}

func allDigits(s string) bool {
	if s == "" {
		return false
	}
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
	}
	return true
}

// removeStaleTemps removes, from dir, the temporary files for the names
// that ours accepts, left by processes that no longer exist. It never
// removes a file of a live process, of this process, or one whose owner
// it cannot tell, nor anything but a regular file; errors (a file another
// process removed first, a directory it cannot read) are ignored, since
// stale files are only litter.
func removeStaleTemps(dir string, ours func(name string) bool) {
	entries, err := os.ReadDir(dir)
	if err != nil {
		return
	}
	self := os.Getpid()
	for _, e := range entries {
		if !e.Type().IsRegular() {
			continue
		}
		name, pid, ok := parseTemp(e.Name())
		if !ok || !ours(name) || pid == self || processAlive(pid) {
			continue
		}
		_ = os.Remove(filepath.Join(dir, e.Name()))
	}
}

// patternMatcher returns a test of whether a name is one that the Dir
// pattern (one integer verb, already checked) makes for some chunk: the
// pattern's text around the verb, with a non-empty run of characters an
// integer verb can print (digits, letters for hexadecimal, signs and
// padding) in its place. A pattern it cannot take apart matches nothing.
func patternMatcher(pattern string) func(name string) bool {
	prefix, suffix, ok := splitPattern(pattern)
	if !ok {
		return func(string) bool { return false }
	}
	return func(name string) bool {
		if len(name) <= len(prefix)+len(suffix) ||
			!strings.HasPrefix(name, prefix) || !strings.HasSuffix(name, suffix) {
			return false
		}
		for _, c := range name[len(prefix) : len(name)-len(suffix)] {
			if !('0' <= c && c <= '9' || 'a' <= c && c <= 'z' || 'A' <= c && c <= 'Z' || c == '-' || c == '+' || c == ' ') {
				return false
			}
		}
		return true
	}
}

// splitPattern returns the literal text of a one-verb pattern before and
// after its verb ("%%" read as "%").
func splitPattern(pattern string) (prefix, suffix string, ok bool) {
	var b strings.Builder
	for i := 0; i < len(pattern); i++ {
		c := pattern[i]
		if c != '%' {
			b.WriteByte(c)
			continue
		}
		if i+1 < len(pattern) && pattern[i+1] == '%' {
			b.WriteByte('%')
			i++
			continue
		}
		j := i + 1
		for j < len(pattern) && strings.IndexByte("+-# 0123456789.", pattern[j]) >= 0 {
			j++
		}
		if j == len(pattern) || !strings.ContainsRune("bdoOxXv", rune(pattern[j])) {
			return "", "", false
		}
		rest := pattern[j+1:]
		if strings.Contains(strings.ReplaceAll(rest, "%%", ""), "%") {
			return "", "", false
		}
		return b.String(), strings.ReplaceAll(rest, "%%", "%"), true
	}
	return "", "", false
}
