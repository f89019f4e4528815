// Command genguard writes store/guard/import_states.sql from the import state
// table of status.go; `go generate ./store` runs it.
package main

import (
	"log"
	"os"

	"github.com/sweephq/sweep/store"
)

func main() {
	if err := os.WriteFile("guard/import_states.sql", []byte(store.StateGuardSQL()), 0o644); err != nil {
		log.Fatal(err)
	}
}
