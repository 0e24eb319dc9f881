package sshtransport

import (
	"bytes"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"net"
	"os"
	"sync"

	"golang.org/x/crypto/ssh"
	"golang.org/x/crypto/ssh/agent"
)

// keyCache holds the identity files read so far, so that a passphrase is
// asked at most once per file.
type keyCache struct {
	passphrase func(string) ([]byte, error)

	mu   sync.Mutex
	keys map[string]ssh.Signer // nil value: the file does not exist
}

// signer returns the signer for the private key file path, a *lazySigner
// for an encrypted key, or nil when the file does not exist.
func (kc *keyCache) signer(path string) (ssh.Signer, error) {
	kc.mu.Lock()
	defer kc.mu.Unlock()
	if s, ok := kc.keys[path]; ok {
		return s, nil
	}
	s, err := kc.load(path)
	if err != nil {
		return nil, err
	}
	if kc.keys == nil {
		kc.keys = map[string]ssh.Signer{}
	}
	kc.keys[path] = s
	return s, nil
}

func (kc *keyCache) load(path string) (ssh.Signer, error) {
	pemBytes, err := os.ReadFile(path)
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("sshtransport: identity file: %w", err)
	}
	s, err := ssh.ParsePrivateKey(pemBytes)
	if err == nil {
		return s, nil
	}
	var pme *ssh.PassphraseMissingError
	if !errors.As(err, &pme) {
		return nil, fmt.Errorf("sshtransport: identity file %s: %v", path, err)
	}
	pub := pme.PublicKey
	if pub == nil {
		// Legacy PEM keys do not carry their public key in clear.
		if b, err := os.ReadFile(path + ".pub"); err == nil {
			pub, _, _, _, _ = ssh.ParseAuthorizedKey(b)
		}
	}
	ls := &lazySigner{file: path, pem: pemBytes, pub: pub, passphrase: kc.passphrase}
	if pub == nil {
		// Without the public key the server cannot be asked first, so
		// decrypt now (or say why not).
		dec, err := ls.decrypted()
		if err != nil {
			return nil, err
		}
		return dec, nil
	}
	return ls, nil
}

// publicKey returns the public key of identity file path: from the key, or
// from path.pub. It is nil when neither can be read.
func (kc *keyCache) publicKey(path string) ssh.PublicKey {
	if s, err := kc.signer(path); err == nil && s != nil {
		return s.PublicKey()
	}
	if b, err := os.ReadFile(path + ".pub"); err == nil {
		if pub, _, _, _, err := ssh.ParseAuthorizedKey(b); err == nil {
			return pub
		}
	}
	return nil
}

// lazySigner is an encrypted private key that is decrypted only when it
// must sign: x/crypto first asks the server whether it accepts the public
// key, so the passphrase is asked only for a key that would be accepted.
type lazySigner struct {
	file       string
	pem        []byte
	pub        ssh.PublicKey
	passphrase func(string) ([]byte, error)

	mu  sync.Mutex
	dec ssh.Signer
}

func (s *lazySigner) PublicKey() ssh.PublicKey { return s.pub }

func (s *lazySigner) Sign(rand io.Reader, data []byte) (*ssh.Signature, error) {
	dec, err := s.decrypted()
	if err != nil {
		return nil, err
	}
	return dec.Sign(rand, data)
}

func (s *lazySigner) SignWithAlgorithm(rand io.Reader, data []byte, algorithm string) (*ssh.Signature, error) {
	dec, err := s.decrypted()
	if err != nil {
		return nil, err
	}
	if as, ok := dec.(ssh.AlgorithmSigner); ok {
		return as.SignWithAlgorithm(rand, data, algorithm)
	}
	if algorithm != "" && algorithm != dec.PublicKey().Type() {
		return nil, fmt.Errorf("sshtransport: identity file %s: cannot sign with %s", s.file, algorithm)
	}
	return dec.Sign(rand, data)
}

// decrypted asks the passphrase and decrypts the key, once.
func (s *lazySigner) decrypted() (ssh.Signer, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.dec != nil {
		return s.dec, nil
	}
	if s.passphrase == nil {
		return nil, fmt.Errorf("sshtransport: identity file %s is encrypted and Options.Passphrase is nil", s.file)
	}
	pass, err := s.passphrase(s.file)
	if err != nil {
		return nil, fmt.Errorf("sshtransport: passphrase for identity file %s: %w", s.file, err)
	}
	dec, err := ssh.ParsePrivateKeyWithPassphrase(s.pem, pass)
	clear(pass)
	if errors.Is(err, x509.IncorrectPasswordError) {
		return nil, fmt.Errorf("sshtransport: identity file %s: wrong passphrase", s.file)
	}
	if err != nil {
		return nil, fmt.Errorf("sshtransport: identity file %s: %v", s.file, err)
	}
	s.dec = dec
	return dec, nil
}

// authFor returns the one public-key auth method for h: Options.Signers,
// then the agent's keys, then the identity files' keys, without duplicates.
// When the config names identity files (or says IdentitiesOnly), only the
// agent keys that match them are offered, since servers stop after six
// tries. The returned func releases the agent connection.
func (t *Transport) authFor(h *hostConfig) (ssh.AuthMethod, func(), error) {
	var signers []ssh.Signer
	seen := map[string]bool{}
	add := func(s ssh.Signer) {
		k := string(s.PublicKey().Marshal())
		if !seen[k] {
			seen[k] = true
			signers = append(signers, s)
		}
	}
	for _, s := range t.opts.Signers {
		add(s)
	}

	var files []ssh.Signer
	var fileErr error
	for _, f := range h.IdentityFiles {
		s, err := t.keys.signer(f)
		if err != nil {
			fileErr = err
			continue
		}
		if s != nil {
			files = append(files, s)
		}
	}

	done := func() {}
	if sock := os.Getenv("SSH_AUTH_SOCK"); sock != "" && !t.opts.NoAgent {
		if conn, err := net.Dial("unix", sock); err == nil {
			done = func() { conn.Close() }
			agentSigners, err := agent.NewClient(conn).Signers()
			if err == nil {
				limit := h.IdentitiesOnly || h.IdentitiesExplicit
				var wanted [][]byte
				if limit {
					for _, f := range h.IdentityFiles {
						if pub := t.keys.publicKey(f); pub != nil {
							wanted = append(wanted, pub.Marshal())
						}
					}
				}
				for _, s := range agentSigners {
					if !limit || containsKey(wanted, s.PublicKey().Marshal()) {
						add(s)
					}
				}
			}
		}
	}
	for _, s := range files {
		add(s)
	}
	if len(signers) == 0 && fileErr != nil {
		done()
		return nil, nil, fileErr
	}
	return ssh.PublicKeysCallback(func() ([]ssh.Signer, error) { return signers, nil }), done, nil
}

func containsKey(keys [][]byte, k []byte) bool {
	for _, w := range keys {
		if bytes.Equal(w, k) {
			return true
		}
	}
	return false
}
