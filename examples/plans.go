package examples

import (
	"fmt"
	"io/fs"
)

// Plan returns the erasure plan of the example platform name: the file an
// operator of that platform would write.
func Plan(name string) ([]byte, error) {
	b, err := fs.ReadFile(files, name+"/plan.yaml")
	if err != nil {
		return nil, fmt.Errorf("no example plan named %q", name)
	}
	return b, nil
}

// Names lists the example platforms.
func Names() []string {
	entries, _ := fs.ReadDir(files, ".")
	var out []string
	for _, e := range entries {
		if e.IsDir() {
			out = append(out, e.Name())
		}
	}
	return out
}
