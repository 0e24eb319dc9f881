package iox

import (
	"bytes"
	"io"
	"os"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
)

// Writes from many goroutines to a *bytes.Buffer (not safe for concurrent
// use) through one LockedWriter are race-free and arrive whole.
func TestLockedWriterConcurrent(t *testing.T) {
	var buf bytes.Buffer
	w := NewLockedWriter(&buf)
	const writers, lines = 8, 200
	var wg sync.WaitGroup
	for i := range writers {
		wg.Go(func() {
			line := strings.Repeat(string(rune('a'+i)), 50) + "\n"
			for range lines {
				n, err := w.Write([]byte(line))
				assert.NoError(t, err)
				assert.Equal(t, len(line), n)
			}
		})
	}
	wg.Wait()
	got := strings.Split(strings.TrimSuffix(buf.String(), "\n"), "\n")
	assert.Len(t, got, writers*lines)
	for _, l := range got {
		assert.Len(t, l, 50)
		assert.Equal(t, strings.Repeat(l[:1], 50), l, "a write was split or mixed")
	}
}

// sliceWriter is a writer type that == cannot compare.
type sliceWriter []io.Writer

func (s sliceWriter) Write(p []byte) (int, error) { return len(p), nil }

// funcWriter is another.
type funcWriter func([]byte) (int, error)

func (f funcWriter) Write(p []byte) (int, error) { return f(p) }

// holder is comparable as a type but panics on == when it holds a writer
// that is not.
type holder struct{ w io.Writer }

func (h holder) Write(p []byte) (int, error) { return len(p), nil }

// valueWriter is a comparable value type.
type valueWriter struct{ id int }

func (valueWriter) Write(p []byte) (int, error) { return len(p), nil }

func TestSameWriter(t *testing.T) {
	var a, b bytes.Buffer
	shared := sliceWriter{&a}
	var nilBuf *bytes.Buffer
	for _, tc := range []struct {
		name string
		x, y io.Writer
		same bool
	}{
		{"both nil", nil, nil, false},
		{"one nil", &a, nil, false},
		{"other nil", nil, &a, false},
		{"same pointer", &a, &a, true},
		{"different pointers", &a, &b, false},
		{"same file", os.Stdout, os.Stdout, true},
		{"different files", os.Stdout, os.Stderr, false},
		{"equal values", valueWriter{1}, valueWriter{1}, true},
		{"unequal values", valueWriter{1}, valueWriter{2}, false},
		{"typed nil pointers", nilBuf, nilBuf, true},
		{"not comparable, same type", shared, shared, true},
		{"not comparable, same type, other value", shared, sliceWriter{&b}, true},
		{"funcs", funcWriter(a.Write), funcWriter(a.Write), true},
		{"not comparable, different types", shared, funcWriter(a.Write), false},
		{"not comparable and comparable", shared, &a, false},
		{"holding a non-comparable writer", holder{shared}, holder{shared}, true},
		{"holding comparable writers", holder{&a}, holder{&b}, false},
		{"holding the same comparable writer", holder{&a}, holder{&a}, true},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.NotPanics(t, func() {
				assert.Equal(t, tc.same, SameWriter(tc.x, tc.y))
				assert.Equal(t, tc.same, SameWriter(tc.y, tc.x), "symmetric")
			})
		})
	}
}
