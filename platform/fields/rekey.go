package fields

import (
	"crypto/rand"
	"encoding/base64"
	"errors"
	"fmt"
	"strings"

	"github.com/google/uuid"
)

// RekeyTenant moves a company's data key to another company id, for a restore
// from a backup into a new company: the key and every sealed value carry the
// company id as additional data, so both must be sealed again. It unwraps the
// key wrapped for from with master, and returns it wrapped for to, with a
// function that re-seals one value sealed for from as a value sealed for to
// (the same data key, a fresh nonce). A wrong master key is an error, not a
// silent loss of the sealed values.
func RekeyTenant(master, wrapped []byte, from, to uuid.UUID) ([]byte, func(string) (string, error), error) {
	m, err := newGCM(master)
	if err != nil {
		return nil, nil, fmt.Errorf("fields: master key: %w", err)
	}
	ns := m.NonceSize()
	if len(wrapped) < ns {
		return nil, nil, errors.New("fields: short wrapped key")
	}
	key, err := m.Open(nil, wrapped[:ns], wrapped[ns:], from[:])
	if err != nil {
		return nil, nil, errors.New("fields: the company's data key does not open with this master key (CLIENTELE_MASTER_KEY must be the one of the installation that made the backup)")
	}
	nonce := make([]byte, ns)
	if _, err := rand.Read(nonce); err != nil {
		return nil, nil, err
	}
	rewrapped := m.Seal(nonce, nonce, key, to[:])
	k, err := newGCM(key)
	if err != nil {
		return nil, nil, err
	}
	reseal := func(sealed string) (string, error) {
		raw, err := base64.RawStdEncoding.DecodeString(strings.TrimPrefix(sealed, SealedPrefix))
		if err != nil || !strings.HasPrefix(sealed, SealedPrefix) || len(raw) < k.NonceSize() {
			return "", errors.New("fields: not a sealed value")
		}
		pt, err := k.Open(nil, raw[:k.NonceSize()], raw[k.NonceSize():], from[:])
		if err != nil {
			return "", fmt.Errorf("fields: open sealed value: %w", err)
		}
		n := make([]byte, k.NonceSize())
		if _, err := rand.Read(n); err != nil {
			return "", err
		}
		return SealedPrefix + base64.RawStdEncoding.EncodeToString(k.Seal(n, n, pt, to[:])), nil
	}
	return rewrapped, reseal, nil
}
