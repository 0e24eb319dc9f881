package sshtest

import (
	"bytes"
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

// newKey generates a private key of the given type (KeyED25519, KeyECDSA,
// KeyECDSA384 or KeyRSA).
func newKey(typ string) (crypto.Signer, error) {
	switch typ {
	case KeyED25519:
		_, k, err := ed25519.GenerateKey(rand.Reader)
		return k, err
	case KeyECDSA:
		return ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	case KeyECDSA384:
		return ecdsa.GenerateKey(elliptic.P384(), rand.Reader)
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

// SignHostCert returns a host certificate for key signed by ca, valid
// forever, with the given principals. Unlike ssh.Certificate.SignCert it
// accepts no principals at all, which OpenSSH reads as valid for every
// host. An RSA CA signs with rsa-sha2-512, as ssh-keygen does.
func SignHostCert(ca ssh.Signer, key ssh.PublicKey, keyID string, principals []string) (*ssh.Certificate, error) {
	cert := &ssh.Certificate{
		Key:             key,
		CertType:        ssh.HostCert,
		KeyId:           keyID,
		ValidPrincipals: principals,
		ValidBefore:     ssh.CertTimeInfinity,
		Nonce:           make([]byte, 32),
		SignatureKey:    ca.PublicKey(),
	}
	if _, err := rand.Read(cert.Nonce); err != nil {
		return nil, err
	}
	// The signed data is the certificate's encoding without the signature
	// (whose empty encoding is the final four bytes).
	b := cert.Marshal()
	data := b[:len(b)-4]
	var sig *ssh.Signature
	var err error
	if as, ok := ca.(ssh.AlgorithmSigner); ok && ca.PublicKey().Type() == ssh.KeyAlgoRSA {
		sig, err = as.SignWithAlgorithm(rand.Reader, data, ssh.KeyAlgoRSASHA512)
	} else {
		sig, err = ca.Sign(rand.Reader, data)
	}
	if err != nil {
		return nil, err
	}
	cert.Signature = sig
	if !bytes.Equal(cert.Marshal()[:len(data)], data) {
		return nil, fmt.Errorf("sshtest: certificate encoding changed while signing")
	}
	return cert, nil
}
