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

	"dproc/transport"
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
		inErr     string
	}{
		{name: "known", h: h, key: known},
		{name: "changed", h: h, key: newHostKey(t), want: ErrHostKeyChanged},
		{name: "unknown", h: &hostConfig{HostName: "new", Port: "22", UserKnownHosts: []string{kh}}, key: known, want: ErrUnknownHostKey},
		{name: "no file at all", h: &hostConfig{HostName: "new", Port: "22", UserKnownHosts: []string{filepath.Join(dir, "none")}}, key: known, want: ErrUnknownHostKey},
		{name: "nowhere to write", h: &hostConfig{HostName: "new", Port: "22"}, key: known, acceptNew: true, want: ErrUnknownHostKey},
		{name: "accept-new from the config", h: &hostConfig{HostName: "new1", Port: "22", StrictHostKeyChecking: "accept-new", UserKnownHosts: []string{filepath.Join(dir, "kh1")}}, key: known},
		{name: "no from the config records too", h: &hostConfig{HostName: "new2", Port: "22", StrictHostKeyChecking: "no", UserKnownHosts: []string{filepath.Join(dir, "kh2")}}, key: known},
		{name: "record fails", h: &hostConfig{HostName: "new4", Port: "22", UserKnownHosts: []string{filepath.Join(kh, "not-a-dir", "kh")}}, key: known, acceptNew: true, want: ErrUnknownHostKey, inErr: "could not record"},
		{name: "ask refuses", h: &hostConfig{HostName: "new3", Port: "22", StrictHostKeyChecking: "ask", UserKnownHosts: []string{kh}}, key: known, want: ErrUnknownHostKey},
		// As OpenSSH: such a host name is never recorded.
		{name: "name that cannot be recorded", h: &hostConfig{HostName: "we*b", Port: "22", UserKnownHosts: []string{filepath.Join(dir, "kh3")}}, key: known, acceptNew: true, want: ErrUnknownHostKey, inErr: "does not record"},
		// As OpenSSH: the alias is looked up as written (lowercased),
		// never with the port.
		{name: "host key alias gets no port", h: &hostConfig{HostName: "10.0.0.1", HostKeyAlias: "known", Port: "2222", UserKnownHosts: []string{kh}}, key: known, want: ErrUnknownHostKey},
		{name: "host key alias", h: &hostConfig{HostName: "10.0.0.1", HostKeyAlias: "[KNOWN]:2222", Port: "22", UserKnownHosts: []string{kh}}, key: known},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := checkKey(t, kh, tc.h, tc.acceptNew, tc.key)
			if tc.want == nil {
				require.NoError(t, err)
				if f := tc.h.UserKnownHosts[0]; f != kh {
					b, err := os.ReadFile(f)
					require.NoError(t, err)
					assert.Equal(t, tc.h.HostName+" "+string(ssh.MarshalAuthorizedKey(tc.key)), string(b), "recorded as OpenSSH does")
				}
				return
			}
			require.ErrorIs(t, err, tc.want)
			assert.Contains(t, err.Error(), ssh.FingerprintSHA256(tc.key))
			assert.Contains(t, err.Error(), tc.inErr)
			if len(tc.h.UserKnownHosts) > 0 && tc.h.UserKnownHosts[0] != kh {
				assert.NoFileExists(t, tc.h.UserKnownHosts[0], "nothing recorded")
			}
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
	// As OpenSSH: a matching @cert-authority line puts every certificate
	// algorithm first, in the default order.
	algs, err := c.algorithms()
	require.NoError(t, err)
	require.NotEmpty(t, algs)
	assert.Equal(t, ssh.CertAlgoED25519v01, algs[0])
	lastCert := -1
	for i, a := range algs {
		if strings.Contains(a, "-cert-") {
			lastCert = i
		}
	}
	assert.Equal(t, 5, lastCert, "%v", algs) // ed25519, 3 × ecdsa, 2 × rsa-sha2
	assert.Equal(t, ssh.KeyAlgoED25519, algs[6])

	remote := &net.TCPAddr{IP: net.IPv4(127, 0, 0, 1), Port: 22}
	assert.NoError(t, c.check(h.keyAddr(), remote, hostCert(t, "web.example.com", ca)))
	assert.ErrorIs(t, c.check(h.keyAddr(), remote, hostCert(t, "web.example.com", other)), ErrUnknownHostKey, "signed by another CA")
	err = c.check(h.keyAddr(), remote, hostCert(t, "db.example.com", ca))
	assert.ErrorIs(t, err, ErrUnknownHostKey, "for another host")
	assert.Contains(t, err.Error(), "principal")
	b, err := os.ReadFile(kh)
	require.NoError(t, err)
	assert.Equal(t, 1, strings.Count(string(b), "\n"), "known_hosts unchanged")

	// A certificate that is not accepted as one is judged as its plain key,
	// which accept-new then records, as OpenSSH does.
	c.acceptNew = true
	cert := hostCert(t, "db.example.com", ca)
	require.NoError(t, c.check(h.keyAddr(), remote, cert))
	b, err = os.ReadFile(kh)
	require.NoError(t, err)
	assert.True(t, strings.HasSuffix(string(b), "\nweb.example.com "+string(ssh.MarshalAuthorizedKey(cert.Key))), "%s", b)
}

// TestHostKeyAlgorithmErrors: a HostKeyAlgorithms value OpenSSH rejects is
// an invalid config, and a list of algorithms none of which can be used is
// a host key refusal, not a lost host.
func TestHostKeyAlgorithmErrors(t *testing.T) {
	h := &hostConfig{HostName: "h", Port: "22", HostKeyAlgorithms: "no-such-algorithm"}
	c, err := newHostKeyChecker(h, nil, false)
	require.NoError(t, err)
	_, err = c.algorithms()
	require.ErrorIs(t, err, transport.ErrInvalid)
	assert.Contains(t, err.Error(), "no-such-algorithm")

	h.HostKeyAlgorithms = "sk-ssh-ed25519@openssh.com"
	_, err = c.algorithms()
	require.ErrorIs(t, err, ErrNoHostKeyAlgorithm)
	var hk *HostKeyError
	require.ErrorAs(t, err, &hk)
	assert.False(t, transport.IsLost(err))
	assert.Contains(t, err.Error(), "sk-ssh-ed25519@openssh.com")

	h.HostKeyAlgorithms = "+ssh-rsa"
	algs, err := c.algorithms()
	require.NoError(t, err)
	assert.Equal(t, ssh.CertAlgoED25519v01, algs[0])
	assert.Equal(t, ssh.KeyAlgoRSA, algs[len(algs)-1])
	assert.NotContains(t, algs, "sk-ssh-ed25519@openssh.com", "not implemented here")
}
