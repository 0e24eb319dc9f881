package sshtransport

import (
	"bytes"
	"io"
	"io/fs"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"dproc/transport"
)

// loginShells returns the shells installed here that a user may have as
// login shell; sh and bash must be there.
func loginShells(t *testing.T) []string {
	var shells []string
	for _, s := range []string{"sh", "dash", "bash", "zsh", "fish", "ksh", "mksh"} {
		if p, err := exec.LookPath(s); err == nil {
			shells = append(shells, p)
		}
	}
	require.GreaterOrEqual(t, len(shells), 2, "need at least sh and bash: %v", shells)
	return shells
}

// runLocal runs cmd the way sshd would, with shell as the login shell,
// and returns stdout, stderr less the pid line, and the pid line's value.
func runLocal(t *testing.T, shell string, cmd *transport.Command) (stdout, stderr, pid string, err error) {
	t.Helper()
	var out, errb bytes.Buffer
	f := &pidFilter{w: &errb, pid: make(chan string, 1)}
	c := exec.Command(shell, "-c", remoteCommand(cmd))
	c.Dir = t.TempDir()
	c.Stdout, c.Stderr = &out, f
	// As Run sends it: the Env's export line first, then cmd.Stdin.
	var in []io.Reader
	if h := envScript(cmd); h != "" {
		in = append(in, strings.NewReader(h))
	}
	if cmd.Stdin != nil {
		in = append(in, cmd.Stdin)
	}
	if len(in) > 0 {
		c.Stdin = io.MultiReader(in...)
	}
	err = c.Run()
	select {
	case pid = <-f.pid:
	default:
	}
	return out.String(), errb.String(), pid, err
}

var hostileArgs = []string{
	"plain", "", " ", "two words", "it's", `"double"`, `back\slash`, `trailing\`, `\'`, `'\''`,
	"$HOME", "${x:-y}", "`id`", "$(id)", "a;b", "a|b", "a&&b", "*", "?", "[a]", "~", "#x", "!x",
	"line\nbreak", "tab\tx", "-n", "--", "-e", "\x01\x7f", "\xff\xfe non-UTF-8", "ünï😀", "%s",
}

func TestRemoteCommandQuoting(t *testing.T) {
	for _, shell := range loginShells(t) {
		t.Run(filepath.Base(shell), func(t *testing.T) {
			args := append([]string{"printf", `%s\000`}, hostileArgs...)
			out, stderr, pid, err := runLocal(t, shell, &transport.Command{Args: args})
			require.NoError(t, err, "stderr: %s", stderr)
			assert.Empty(t, stderr)
			_, perr := strconv.Atoi(pid)
			assert.NoError(t, perr, "pid line %q", pid)
			got := strings.Split(strings.TrimSuffix(out, "\x00"), "\x00")
			assert.Equal(t, hostileArgs, got)
		})
	}
}

func TestRemoteCommandEnvDirShell(t *testing.T) {
	dir := t.TempDir()
	sub := filepath.Join(dir, "it's a dir")
	require.NoError(t, os.Mkdir(sub, 0o755))
	tests := []struct {
		name     string
		cmd      transport.Command
		wantOut  string
		wantCode int
	}{
		{name: "env", cmd: transport.Command{
			Args: []string{"sh", "-c", `printf '%s|%s' "$A" "$B_2"`},
			Env:  []string{"A=x y $HOME 'q'", "B_2=line\nnext"},
		}, wantOut: "x y $HOME 'q'|line\nnext"},
		{name: "dir", cmd: transport.Command{Args: []string{"pwd"}, Dir: sub}, wantOut: sub + "\n"},
		{name: "missing dir", cmd: transport.Command{Args: []string{"pwd"}, Dir: filepath.Join(dir, "nope")}, wantCode: 2},
		{name: "shell", cmd: transport.Command{Shell: "echo a | tr a b; exit 4"}, wantOut: "b\n", wantCode: 4},
		{name: "shell with dir and env", cmd: transport.Command{Shell: `echo "$V" $(basename "$PWD")`, Dir: sub, Env: []string{"V=v"}}, wantOut: "v it's a dir\n"},
		{name: "clean shell", cmd: transport.Command{Shell: `echo "$# ${_dproc_p-unset} ${_dproc_j-unset}"`}, wantOut: "0 unset unset\n"},
		{name: "not found", cmd: transport.Command{Args: []string{"dproc-no-such-program"}}, wantCode: 127},
		{name: "stdin", cmd: transport.Command{Args: []string{"wc", "-l"}, Stdin: strings.NewReader("1\n2\n3\n")}, wantOut: "3\n"},
	}
	for _, shell := range loginShells(t) {
		for _, tc := range tests {
			t.Run(filepath.Base(shell)+"/"+tc.name, func(t *testing.T) {
				if tc.cmd.Stdin != nil {
					tc.cmd.Stdin = strings.NewReader("1\n2\n3\n")
				}
				out, _, _, err := runLocal(t, shell, &tc.cmd)
				code := 0
				if ee, ok := err.(*exec.ExitError); ok {
					code = ee.ExitCode()
				} else {
					require.NoError(t, err)
				}
				if tc.wantCode == 2 {
					assert.NotZero(t, code, "a missing Dir fails the command")
				} else {
					assert.Equal(t, tc.wantCode, code)
				}
				assert.Equal(t, strings.TrimSpace(tc.wantOut), strings.TrimSpace(out))
			})
		}
	}
}

func TestLoginQuote(t *testing.T) {
	assert.Equal(t, `'a'`, loginQuote("a"))
	assert.Equal(t, `'it'"'"'s'`, loginQuote("it's"))
	assert.Equal(t, `'a'"\\"'b'`, loginQuote(`a\b`))
	assert.NotContains(t, loginQuote(`x\'y`), `\'`, "fish reads \\' as an escape inside single quotes")
}

func TestPidFilter(t *testing.T) {
	tests := []struct {
		name   string
		writes []string
		want   string
		pid    string
	}{
		{name: "marker first", writes: []string{pidMarker + "42\nerr 1\n", "err 2"}, want: "err 1\nerr 2", pid: "42"},
		{name: "split writes", writes: []string{"dproc-wr", "apper-pid=7", "\nx"}, want: "x", pid: "7"},
		{name: "noise before", writes: []string{"motd\n" + pidMarker + "9\n", "y\n"}, want: "motd\ny\n", pid: "9"},
		{name: "marker only once", writes: []string{pidMarker + "1\n" + pidMarker + "2\n"}, want: pidMarker + "2\n", pid: "1"},
		{name: "no marker", writes: []string{strings.Repeat("z", 5000)}, want: strings.Repeat("z", 5000)},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var b bytes.Buffer
			f := &pidFilter{w: &b, pid: make(chan string, 1)}
			for _, w := range tc.writes {
				n, err := f.Write([]byte(w))
				require.NoError(t, err)
				require.Equal(t, len(w), n)
			}
			assert.Equal(t, tc.want, b.String())
			var pid string
			select {
			case pid = <-f.pid:
			default:
			}
			assert.Equal(t, tc.pid, pid)
		})
	}
}

// TestNoInsecureIgnoreHostKey fails if any non-test Go file of the module
// disables host key checking.
func TestNoInsecureIgnoreHostKey(t *testing.T) {
	root, err := filepath.Abs("../..")
	require.NoError(t, err)
	require.FileExists(t, filepath.Join(root, "go.mod"))
	needle := "Insecure" + "IgnoreHostKey"
	checked := 0
	err = filepath.WalkDir(root, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		if d.IsDir() && (d.Name() == ".git" || d.Name() == "testdata") {
			return filepath.SkipDir
		}
		if d.IsDir() || !strings.HasSuffix(p, ".go") || strings.HasSuffix(p, "_test.go") {
			return nil
		}
		b, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		checked++
		assert.NotContains(t, string(b), needle, "%s disables host key checking", p)
		return nil
	})
	require.NoError(t, err)
	assert.Greater(t, checked, 5)
}
