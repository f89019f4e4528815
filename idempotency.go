package sweep

import (
	"crypto/sha256"
	"encoding/csv"
	"encoding/hex"
	"fmt"
	"io"
	"strconv"
	"time"
)

// EKEYREUSED is the code of an idempotency key sent again with another
// request; the HTTP API answers it with 422.
const EKEYREUSED = "idempotency_key_reused"

// KeySpace is the namespace an import's idempotency key lives in. Keys that
// clients send over HTTP (uploads and JSON lists share one space), keys that
// upstream services give package jobs, and the keys sweep makes for its own
// cleanup batches never meet, so no client can take a key sweep will need.
func KeySpace(s Source) string {
	switch s {
	case SourceUpload, SourceAPI:
		return "http"
	}
	return string(s)
}

// ImportRequest is what an idempotency key binds: everything that decides
// which customers a request deletes and when. The same key with the same
// request replays the first import; with another request it is refused.
type ImportRequest struct {
	Source          Source
	FileName        string
	Policy          Policy
	AutoStart       bool
	RunAt           *time.Time
	CleanupPolicyID int64
	FileSHA256      string // hex SHA-256 of the stored file (the ids, for a list)
	// RunWindow and MaxRowsPerSecond shape when and how fast it deletes.
	RunWindow        Window
	MaxRowsPerSecond int
}

// Fingerprint returns the hex SHA-256 of the request: a list of tens of
// millions of ids is compared by its file's digest, never id by id.
func (r ImportRequest) Fingerprint() string {
	runAt := ""
	if r.RunAt != nil {
		runAt = r.RunAt.UTC().Format(time.RFC3339Nano)
	}
	h := sha256.New()
	fmt.Fprintf(h, "sweep-request-v1\x00%s\x00%s\x00%s\x00%t\x00%s\x00%d\x00%s",
		r.Source, r.FileName, r.Policy, r.AutoStart, runAt, r.CleanupPolicyID, r.FileSHA256)
	// Added later: a request without them keeps the fingerprint it had, so
	// a key stored before they existed still replays its request.
	if !r.RunWindow.IsZero() || r.MaxRowsPerSecond != 0 {
		fmt.Fprintf(h, "\x00%s\x00%d", r.RunWindow, r.MaxRowsPerSecond)
	}
	return hex.EncodeToString(h.Sum(nil))
}

// KeyReused is the error for an idempotency key that import id already holds
// for another request. The HTTP API and package jobs both return it.
func KeyReused(key string, importID int64) *Error {
	return Errorf(EKEYREUSED, "Idempotency key %q was already used for another request (import %d), with other ids or options. Nothing was done for this request: send it with a new key, or send exactly the same request to get import %d back.",
		key, importID, importID)
}

// WriteIDsFile writes ids as an import file: the header, then one
// "remove,<id>" row per id, in the order each gives them. Programs' id lists
// are stored this way so they meet the same validation as an uploaded file,
// and the digest of this file is what an idempotency key binds for them.
func WriteIDsFile(w io.Writer, each func(add func(id int64) error) error) (count int64, err error) {
	return WriteKeysFile(w, func(add func(string) error) error {
		return each(func(id int64) error { return add(strconv.FormatInt(id, 10)) })
	})
}

// WriteKeysFile is WriteIDsFile for customers named by key (a uuid or text,
// or a whole number in decimal).
func WriteKeysFile(w io.Writer, each func(add func(key string) error) error) (count int64, err error) {
	cw := csv.NewWriter(w)
	cw.Write([]string{ColumnAction, ColumnCustomerID})
	err = each(func(key string) error {
		count++
		return cw.Write([]string{ActionRemove, key})
	})
	cw.Flush()
	if err == nil {
		err = cw.Error()
	}
	return count, err
}

// KeysFileSHA256 returns the hex SHA-256 of the import file WriteKeysFile
// makes of keys.
func KeysFileSHA256(keys []string) string {
	h := sha256.New()
	WriteKeysFile(h, func(add func(string) error) error {
		for _, k := range keys {
			if err := add(k); err != nil {
				return err
			}
		}
		return nil
	})
	return hex.EncodeToString(h.Sum(nil))
}

// IDsFileSHA256 returns the hex SHA-256 of the import file WriteIDsFile
// makes of ids: the file of their keys in decimal.
func IDsFileSHA256(ids []int64) string {
	keys := make([]string, len(ids))
	for i, id := range ids {
		keys[i] = strconv.FormatInt(id, 10)
	}
	return KeysFileSHA256(keys)
}
