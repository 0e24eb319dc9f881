package sshtest

import (
	"context"
	"crypto/ed25519"
	"crypto/rand"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/crypto/ssh"
)

// TestHostCertificates starts a node whose host keys carry certificates and
// checks that ssh trusts them through an @cert-authority line alone, and
// that a certificate without principals is valid for any name.
func TestHostCertificates(t *testing.T) {
	needClient(t, "ssh")
	_, caKey, err := ed25519.GenerateKey(rand.Reader)
	require.NoError(t, err)
	ca, err := ssh.NewSignerFromKey(caKey)
	require.NoError(t, err)
	var asked []string
	c := StartCluster(t, 1, &Options{
		HostKeyTypes: []string{KeyED25519, KeyECDSA, KeyECDSA384},
		HostCertificate: func(node string, key ssh.PublicKey) (*ssh.Certificate, error) {
			asked = append(asked, node+" "+key.Type())
			if key.Type() != ssh.KeyAlgoED25519 {
				return nil, nil // no certificate for these
			}
			return SignHostCert(ca, key, "test", nil)
		},
	})
	assert.Equal(t, []string{"node1 ssh-ed25519", "node1 ecdsa-sha2-nistp256", "node1 ecdsa-sha2-nistp384"}, asked)
	nd := c.Node(1)
	certs := nd.HostCertificates()
	require.Len(t, certs, 1)
	assert.Equal(t, nd.HostKeys()[0].Marshal(), certs[0].Key.Marshal())
	assert.Empty(t, certs[0].ValidPrincipals)
	assert.Equal(t, uint32(ssh.HostCert), certs[0].CertType)

	kh := filepath.Join(t.TempDir(), "known_hosts")
	require.NoError(t, os.WriteFile(kh, []byte("@cert-authority * "+string(ssh.MarshalAuthorizedKey(ca.PublicKey()))), 0o600))
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	out, err := sshCmd(ctx, c, "-o", "UserKnownHostsFile="+kh, "-o", "HostKeyAlias=any.name", "node1", "echo ok")
	require.NoError(t, err)
	assert.Equal(t, "ok\n", out)

	// The node still presents its plain keys, of both curves, to a client
	// that asks for them.
	for _, alg := range []string{ssh.KeyAlgoECDSA256, ssh.KeyAlgoECDSA384} {
		out, err = sshCmd(ctx, c, "-o", "HostKeyAlgorithms="+alg, "node1", "echo plain")
		require.NoError(t, err, alg)
		assert.Equal(t, "plain\n", out)
	}

	// With principals, SignHostCert lists them.
	cert, err := SignHostCert(ca, nd.HostKeys()[0], "id", []string{"a", "b"})
	require.NoError(t, err)
	assert.Equal(t, []string{"a", "b"}, cert.ValidPrincipals)
	assert.True(t, strings.HasPrefix(cert.Type(), "ssh-ed25519-cert"))
}
