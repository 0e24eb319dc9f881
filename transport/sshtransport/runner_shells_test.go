package sshtransport

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

// loopShells are the shells the reuse loop is run under by
// TestRunnerLoopShells: a host's /bin/sh may be any of them. dash and bash
// are required (Debian's /bin/sh and the usual login shell); the others
// are run where installed (.ci/run installs them).
var loopShells = []struct {
	name     string
	argv     []string
	required bool
	inline   bool // its ${#var} counts bytes under LC_ALL=C
	fails    bool // the loop refuses it
}{
	{"dash", []string{"dash"}, true, true, false},
	{"bash", []string{"bash"}, true, true, false},
	{"bash --posix", []string{"bash", "--posix"}, true, true, false},
	{"busybox ash", []string{"busybox", "ash"}, false, true, false},
	{"mksh", []string{"mksh"}, false, true, false},
	{"ksh93", []string{"ksh93"}, false, true, false},
	{"posh", []string{"posh"}, false, false, true},
	{"yash --posix", []string{"yash", "--posix"}, false, false, true},
}

// TestRunnerLoopShells runs runnerLoop, without sshd, under every shell
// above, with frames written by runner.send and both streams cut by demux,
// as over SSH: a corpus of commands, each framing send can choose (no
// input, a here-document, head -c), must give the same output, standard
// error, exit status and unread count under every shell, and the loop
// starts new cats every 3 commands.
func TestRunnerLoopShells(t *testing.T) {
	big := strings.Repeat("0123456789abcde\n", 600) // 9600 bytes: head -c
	cases := []struct {
		name   string
		shell  string
		input  *string
		out    string
		stderr string
		code   int
		unread int64
	}{
		{name: "no input", shell: "echo hi; echo err >&2", out: "hi\n", stderr: "err\n"},
		{name: "cat a line", shell: "cat", input: new("one line\n"), out: "one line\n"},
		{name: "read one of three lines", shell: `read -r x; echo "[$x]"`, input: new("a\nb b\nc\n"), out: "[a]\n", unread: 6},
		{name: "head -c 3", shell: "head -c 3; echo", input: new("abcdef\n"), out: "abc\n", unread: 4},
		{name: "reads nothing", shell: "exit 4", input: new("é日本\n\\ $HOME `x` \r\n"), code: 4, unread: int64(len("é日本\n\\ $HOME `x` \r\n"))},
		{name: "no final newline", shell: "cat; echo", input: new("abc"), out: "abc\n"},
		{name: "NUL in input", shell: "od -An -c | tr -s ' '", input: new("a\x00b\n"), out: " a \\0 b \\n\n"},
		{name: "here-document size", shell: "wc -c", input: new(big[:4096]), out: "4096\n"},
		{name: "over the here-document size", shell: "head -c 5; exit 1", input: new(big), out: "01234", code: 1, unread: int64(len(big) - 5)},
		{name: "an empty line and spaces", shell: "cat", input: new("\n  x  \n\t\n"), out: "\n  x  \n\t\n"},
		{name: "expansions stay literal", shell: "cat", input: new("$(echo no) ${x} $((1+1))\n_dproc_EOF\n"), out: "$(echo no) ${x} $((1+1))\n_dproc_EOF\n"},
		{name: "script lines as written", shell: "  printf '[%s]' ' a\tb\r' '\\x' \\\n  'c'\ncat <<'E'\n  \\ $x\nE\n", out: "[ a\tb\r][\\x][c]  \\ $x\n"},
		{name: "positional parameters and loop variables", shell: `echo "[$#][${_dproc_t-}][${_dproc_s-}][${_dproc_v-}]"`, out: "[0][][][]\n"},
		{name: "background writer", shell: "(sleep 0.2; echo late; echo late2 >&2) & echo early", out: "early\nlate\n", stderr: "late2\n"},
		{name: "background writer with input", shell: "read -r x; (sleep 0.2; echo \"late $x\") & echo early", input: new("in\n"), out: "early\nlate in\n"},
		{name: "killed", shell: "sh -c 'kill -TERM $$'", code: 143},
	}
	for _, sh := range loopShells {
		t.Run(sh.name, func(t *testing.T) {
			if _, err := exec.LookPath(sh.argv[0]); err != nil {
				if sh.required {
					t.Fatalf("%s is not installed: %v", sh.argv[0], err)
				}
				t.Logf("%s is not installed here; not run", sh.argv[0])
				return
			}
			token := newToken()
			mark := "\x00" + token + ":"
			out, errd := newDemux(mark), newDemux(mark)
			args := append(sh.argv[1:], "-c", runnerLoop, "dproc-run", token, "3")
			p := exec.Command(sh.argv[0], args...)
			p.Env = append(os.Environ(), "LC_ALL=C.UTF-8")
			p.Dir = t.TempDir()
			stdin, err := p.StdinPipe()
			require.NoError(t, err)
			p.Stdout = out
			pid := &pidFilter{pid: make(chan string, 1), w: errd}
			p.Stderr = pid
			require.NoError(t, p.Start())
			defer func() {
				stdin.Close()
				done := make(chan error, 1)
				go func() { done <- p.Wait() }()
				select {
				case <-done:
				case <-time.After(10 * time.Second):
					_ = p.Process.Kill()
					t.Error("the loop did not end at end of input")
				}
			}()
			select {
			case f := <-out.ends:
				if sh.fails {
					require.True(t, strings.HasPrefix(f, " fail "), "loop answered %q", f)
					return
				}
				if sh.inline {
					require.Equal(t, " ready inline", f)
				} else {
					require.Equal(t, " ready", f)
				}
			case <-time.After(10 * time.Second):
				t.Fatal("the loop did not start")
			}
			r := &runner{rc: &remoteCmd{stdin: stdin}, inline: sh.inline}
			for round := 0; round < 2; round++ {
				for _, tc := range cases {
					var o, e bytes.Buffer
					out.start(&o)
					errd.start(&e)
					cmd := &transport.Command{Shell: tc.shell}
					size := int64(-1)
					if tc.input != nil {
						cmd.Stdin, size = strings.NewReader(*tc.input), int64(len(*tc.input))
					}
					require.NoError(t, r.send(context.Background(), jobScript(cmd), cmd.Stdin, size), tc.name)
					var fields string
					for _, ends := range []chan string{errd.ends, out.ends} {
						select {
						case fields = <-ends:
						case <-time.After(10 * time.Second):
							t.Fatalf("%s: no end of command", tc.name)
						}
					}
					out.start(nil)
					errd.start(nil)
					code, unread, _, err := parseEnd(fields)
					require.NoError(t, err, tc.name)
					what := fmt.Sprintf("%s (round %d)", tc.name, round)
					assert.Equal(t, tc.out, o.String(), what)
					if tc.code != 143 { // shells differ in what they say of a kill
						assert.Equal(t, tc.stderr, e.String(), what)
					}
					assert.Equal(t, tc.code, code, what)
					assert.Equal(t, tc.unread, unread, what)
				}
			}
		})
	}
}
