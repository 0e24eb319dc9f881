package sshtest

import (
	"crypto"
	"crypto/ecdsa"
	"crypto/ed25519"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/rsa"
	"encoding/pem"
	"fmt"
	"os"
	"strings"

	"golang.org/x/crypto/ssh"
)

// newKey generates a private key of the given type (KeyED25519, KeyECDSA or
// KeyRSA).
func newKey(typ string) (crypto.Signer, error) {
	switch typ {
	case KeyED25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyRSA:
		return rsa.GenerateKey(rand.Reader, 2048)
	}
	return nil, fmt.Errorf("sshtest: unknown host key type %q", typ)
}

// writeKey writes key in OpenSSH format to path (mode 0600) and its public
// half to path+".pub", and returns the public key.
func writeKey(path string, key crypto.Signer, comment string) (ssh.PublicKey, error) {
	blk, err := ssh.MarshalPrivateKey(key, comment)
	if err != nil {
		return nil, err
	}
	if err := os.WriteFile(path, pem.EncodeToMemory(blk), 0o600); err != nil {
		return nil, err
	}
	pub, err := ssh.NewPublicKey(key.Public())
	if err != nil {
		return nil, err
	}
	line := strings.TrimSuffix(string(ssh.MarshalAuthorizedKey(pub)), "\n") + " " + comment + "\n"
	if err := os.WriteFile(path+".pub", []byte(line), 0o644); err != nil {
		return nil, err
	}
	return pub, nil
}
