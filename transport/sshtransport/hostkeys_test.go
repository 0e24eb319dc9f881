package sshtransport

import (
	"crypto/ed25519"
	"crypto/rand"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/knownhosts"
)

func newHostKey(t *testing.T) ssh.PublicKey {
	t.Helper()
	pub, _, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	k, err := ssh.NewPublicKey(pub)
	require.NoError(t, err)
	return k
}

func checkKey(t *testing.T, kh string, h *hostConfig, acceptNew bool, key ssh.PublicKey) error {
	t.Helper()
	c, err := newHostKeyChecker(h, nil, acceptNew)
	require.NoError(t, err)
	return c.check(h.keyAddr(), &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}, key)
}

// TestAcceptNewAppends checks accept-new without a server: concurrent
// checks of the same new hosts append one line per host, to a file that
// did not end with a newline; a changed key is refused afterwards.
func TestAcceptNewAppends(t *testing.T) {
	kh := filepath.Join(t.TempDir(), "known_hosts")
	other := newHostKey(t)
	require.NoError(t, os.WriteFile(kh, []byte(knownhosts.Line([]string{"other"}, other)), 0o600)) // no final newline
	const hosts = 5
	keys := make([]ssh.PublicKey, hosts)
	for i := range keys {
		keys[i] = newHostKey(t)
	}
	cfg := func(i int) *hostConfig {
		return &hostConfig{HostName: fmt.Sprintf("h%d", i), Port: fmt.Sprint(2200 + i), UserKnownHosts: []string{kh}, HashKnownHosts: i%2 == 0}
	}
	var wg sync.WaitGroup
	for g := range 40 {
		wg.Go(func() {
			assert.NoError(t, checkKey(t, kh, cfg(g%hosts), true, keys[g%hosts]))
		})
	}
	wg.Wait()

	b, err := os.ReadFile(kh)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(b)), "\n")
	require.Len(t, lines, hosts+1, "%s", b)
	for i := range hosts {
		// Strict checks now pass, and a changed key is refused even with
		// accept-new.
		assert.NoError(t, checkKey(t, kh, cfg(i), false, keys[i]))
		err := checkKey(t, kh, cfg(i), true, other)
		assert.ErrorIs(t, err, ErrHostKeyChanged)
		assert.Contains(t, err.Error(), fmt.Sprintf("[h%d]:%d", i, 2200+i))
		assert.Contains(t, err.Error(), ssh.FingerprintSHA256(other))
		assert.Contains(t, err.Error(), kh+":")
	}
	assert.NoError(t, checkKey(t, kh, &hostConfig{HostName: "other", Port: "22", UserKnownHosts: []string{kh}}, false, other))
}

func TestHostKeyErrors(t *testing.T) {
	dir := t.TempDir()
	known := newHostKey(t)
	kh := filepath.Join(dir, "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte(knownhosts.Line([]string{"[known]:2222"}, known)+"\n"), 0o600))
	h := &hostConfig{HostName: "known", Port: "2222", UserKnownHosts: []string{kh}}
	tests := []struct {
		name      string
		h         *hostConfig
		key       ssh.PublicKey
		acceptNew bool
		want      error
	}{
		{name: "known", h: h, key: known},
		{name: "changed", h: h, key: newHostKey(t), want: ErrHostKeyChanged},
		{name: "unknown", h: &hostConfig{HostName: "new", Port: "22", UserKnownHosts: []string{kh}}, key: known, want: ErrUnknownHostKey},
		{name: "no file at all", h: &hostConfig{HostName: "new", Port: "22", UserKnownHosts: []string{filepath.Join(dir, "none")}}, key: known, want: ErrUnknownHostKey},
		{name: "nowhere to write", h: &hostConfig{HostName: "new", Port: "22"}, key: known, acceptNew: true, want: ErrUnknownHostKey},
		{name: "host key alias", h: &hostConfig{HostName: "10.0.0.1", HostKeyAlias: "known", Port: "2222", UserKnownHosts: []string{kh}}, key: known},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKey(t, kh, tc.h, tc.acceptNew, tc.key)
			if tc.want == nil {
				require.NoError(t, err)
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), ssh.FingerprintSHA256(tc.key))
		})
	}
}

// TestCertAuthority checks host certificates signed by a CA that
// known_hosts trusts with @cert-authority, and that the certificate
// algorithms are asked for.
func TestCertAuthority(t *testing.T) {
	_, caPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ca, err := ssh.NewSignerFromKey(caPriv)
	require.NoError(t, err)
	kh := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte("@cert-authority *.example.com "+string(ssh.MarshalAuthorizedKey(ca.PublicKey()))), 0o600))

	hostCert := func(t *testing.T, principal string, signer ssh.Signer) *ssh.Certificate {
		cert := &ssh.Certificate{
			Key:             newHostKey(t),
			CertType:        ssh.HostCert,
			KeyId:           "test",
			ValidPrincipals: []string{principal},
			ValidBefore:     ssh.CertTimeInfinity,
		}
		require.NoError(t, cert.SignCert(rand.Reader, signer))
		return cert
	}
	_, otherPriv, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	other, err := ssh.NewSignerFromKey(otherPriv)
	require.NoError(t, err)

	h := &hostConfig{HostName: "web.example.com", Port: "22", UserKnownHosts: []string{kh}}
	c, err := newHostKeyChecker(h, nil, false)
	require.NoError(t, err)
	assert.Equal(t, []string{ssh.CertAlgoED25519v01}, c.algorithms())

	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	assert.NoError(t, c.check(h.keyAddr(), remote, hostCert(t, "web.example.com", ca)))
	c.acceptNew = true // never turns a refused certificate into a new key
	assert.ErrorIs(t, c.check(h.keyAddr(), remote, hostCert(t, "web.example.com", other)), ErrUnknownHostKey, "signed by another CA")
	assert.ErrorIs(t, c.check(h.keyAddr(), remote, hostCert(t, "db.example.com", ca)), ErrUnknownHostKey, "for another host")
	b, err := os.ReadFile(kh)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "known_hosts unchanged")
}
