package main

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLocalNodes(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(src, "sub dir"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(src, "sub dir", "a.txt"), []byte("hello"), 0o644))
	root := t.TempDir()
	args := []string{"-nodes", "a,b", "-local", "-root", root, src, "shared"}

	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	lines := strings.Split(strings.TrimSpace(stdout.String()), "\n")
	require.Len(t, lines, 3, stdout.String())
	assert.Equal(t, []string{"HOST", "SENT", "BYTES"}, strings.Fields(lines[0])[:3])
	assert.Equal(t, []string{"a", "1", "5", "0", "1"}, strings.Fields(lines[1])[:5])
	assert.Equal(t, []string{"b", "1", "5", "0", "1"}, strings.Fields(lines[2])[:5])
	for _, h := range []string{"a", "b"} {
		b, err := os.ReadFile(filepath.Join(root, h, "shared", "sub dir", "a.txt"))
		require.NoError(t, err)
		assert.Equal(t, "hello", string(b))
	}

	// Again, with -delete after removing the file: one deletion, nothing sent.
	require.NoError(t, os.Remove(filepath.Join(src, "sub dir", "a.txt")))
	stdout.Reset()
	args = []string{"-nodes", "a,b", "-local", "-root", root, "-delete", "-checksum", src, "shared"}
	require.NoError(t, run(context.Background(), args, &stdout, &stderr), stderr.String())
	lines = strings.Split(strings.TrimSpace(stdout.String()), "\n")
	assert.Equal(t, []string{"a", "0", "0", "1"}, strings.Fields(lines[1])[:4])
	assert.NoFileExists(t, filepath.Join(root, "a", "shared", "sub dir", "a.txt"))
}

func TestDefaultNodes(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{src, "dst"}, &stdout, &stderr), stderr.String())
	for _, h := range []string{"node1", "node2", "node3"} {
		assert.Contains(t, stdout.String(), h)
	}
}

func TestErrors(t *testing.T) {
	var stdout, stderr bytes.Buffer
	assert.Error(t, run(context.Background(), []string{"only-one"}, &stdout, &stderr))
	err := run(context.Background(), []string{filepath.Join(t.TempDir(), "missing"), "dst"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "3 of 3 nodes")
	assert.Contains(t, stdout.String(), "no such file")
}

// TestMain runs the program itself when the test binary is re-executed by
// runProgram, so that its exit status can be checked.
func TestMain(m *testing.M) {
	if os.Getenv("DPROC_SYNC_EXAMPLE_MAIN") == "1" {
		os.Args = append([]string{"sync"}, os.Args[1:]...)
		main()
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// runProgram runs the sync program with args in dir and returns its exit
// status and output.
func runProgram(t *testing.T, dir string, args ...string) (int, string, string) {
	t.Helper()
	exe, err := os.Executable()
	require.NoError(t, err)
	cmd := exec.Command(exe, args...)
	cmd.Dir = dir
	cmd.Env = append(os.Environ(), "DPROC_SYNC_EXAMPLE_MAIN=1")
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	err = cmd.Run()
	var ee *exec.ExitError
	if errors.As(err, &ee) {
		return ee.ExitCode(), stdout.String(), stderr.String()
	}
	require.NoError(t, err)
	return 0, stdout.String(), stderr.String()
}

// homeFiles are what each local node's home holds in the delete tests.
var homeFiles = map[string]string{
	".ssh/authorized_keys": "ssh-ed25519 AAAA keep\n",
	"results/out.csv":      "1,2\n",
	"notes.txt":            "keep me\n",
}

func fillHomes(t *testing.T, root string, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		for p, data := range homeFiles {
			full := filepath.Join(root, n, p)
			require.NoError(t, os.MkdirAll(filepath.Dir(full), 0o700))
			require.NoError(t, os.WriteFile(full, []byte(data), 0o600))
		}
	}
}

func checkHomes(t *testing.T, root, what string, nodes ...string) {
	t.Helper()
	for _, n := range nodes {
		for p, data := range homeFiles {
			b, err := os.ReadFile(filepath.Join(root, n, p))
			if assert.NoError(t, err, "%s: %s/%s", what, n, p) {
				assert.Equal(t, data, string(b), "%s: %s/%s", what, n, p)
			}
		}
	}
}

// TestDeleteOntoHomeRefused: "sync -delete ./src "$UNSET"" must not mirror
// onto the nodes' home directories.
func TestDeleteOntoHomeRefused(t *testing.T) {
	work := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(work, "src"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(work, "src", "f"), []byte("x"), 0o644))
	root := t.TempDir()
	fillHomes(t, root, "a", "b")
	require.NoError(t, os.Symlink(filepath.Join(root, "a"), filepath.Join(root, "a", "home-link")))

	for _, dst := range []string{"", ".", "~", "~/", "home-link", filepath.Join(root, "a"), root} {
		nodes := "a,b"
		if dst == "home-link" || strings.HasPrefix(dst, "/") {
			nodes = "a"
		}
		code, stdout, stderr := runProgram(t, work, "-nodes", nodes, "-local", "-root", root, "-delete", "./src", dst)
		assert.Equal(t, 1, code, "dst %q: %s%s", dst, stdout, stderr)
		assert.Contains(t, stderr, "-allow-dangerous-delete", dst)
		assert.Contains(t, stderr, "nothing was changed", dst)
		assert.Contains(t, stderr, "could not be synced", dst)
		assert.Contains(t, stdout, "refusing to delete there", dst)
		checkHomes(t, root, fmt.Sprintf("dst %q", dst), "a", "b")
		assert.NoFileExists(t, filepath.Join(root, "a", "f"), dst)
	}

	// Spelled out, the mirror is made.
	code, stdout, stderr := runProgram(t, work, "-nodes", "a", "-local", "-root", root, "-delete", "-allow-dangerous-delete", "./src", "")
	require.Equal(t, 0, code, stdout+stderr)
	assert.FileExists(t, filepath.Join(root, "a", "f"))
	assert.NoFileExists(t, filepath.Join(root, "a", "notes.txt"))
	checkHomes(t, root, "node b untouched", "b")
}

func TestDestinationIsFile(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	root := t.TempDir()
	require.NoError(t, os.MkdirAll(filepath.Join(root, "a"), 0o755))
	require.NoError(t, os.WriteFile(filepath.Join(root, "a", "x"), []byte("file"), 0o644))
	var stdout, stderr bytes.Buffer
	err := run(context.Background(), []string{"-nodes", "a", "-local", "-root", root, src, "~/x"}, &stdout, &stderr)
	require.Error(t, err)
	assert.Contains(t, stdout.String(), `sync: destination "~/x" on host "a" is a file, not a directory`)
	b, err := os.ReadFile(filepath.Join(root, "a", "x"))
	require.NoError(t, err)
	assert.Equal(t, "file", string(b))
}

func TestTildeDestination(t *testing.T) {
	src := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(src, "f"), []byte("x"), 0o644))
	root := t.TempDir()
	var stdout, stderr bytes.Buffer
	require.NoError(t, run(context.Background(), []string{"-nodes", "a", "-local", "-root", root, src, "~/dst"}, &stdout, &stderr), stderr.String())
	assert.FileExists(t, filepath.Join(root, "a", "dst", "f"))
	assert.NoDirExists(t, filepath.Join(root, "a", "~"))
}
