package pgcluster

import (
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNotInstalled is the cause of Start's and BinDir's error when this machine
// lacks what a throwaway cluster needs: PostgreSQL's server programs, or, when
// running as root, the postgres system user they run as. Debian's postgresql
// package provides both.
var ErrNotInstalled = errors.New("PostgreSQL's server programs are not installed")

// programs are the ones Start runs; initdb and pg_ctl run the postgres next
// to them, so it must be in the same directory.
var programs = []string{"initdb", "pg_ctl", "pg_basebackup", "postgres"}

// BinDir returns the directory holding initdb, pg_ctl, pg_basebackup and
// postgres: `pg_config --bindir` if they are there, else the newest
// /usr/lib/postgresql/N/bin (Debian's layout, which keeps them off PATH),
// else the directory of initdb found on PATH (after symbolic links).
// Otherwise the error wraps ErrNotInstalled and says what to install.
func BinDir() (string, error) {
	var tried []string
	if out, err := exec.Command("pg_config", "--bindir").Output(); err == nil {
		dir := strings.TrimSpace(string(out))
		if hasPrograms(dir) {
			return dir, nil
		}
		tried = append(tried, dir+" (pg_config --bindir)")
	}
	dirs, _ := filepath.Glob("/usr/lib/postgresql/*/bin")
	sort.Slice(dirs, func(i, j int) bool { return version(dirs[i]) > version(dirs[j]) })
	for _, dir := range dirs {
		if hasPrograms(dir) {
			return dir, nil
		}
		tried = append(tried, dir)
	}
	if p, err := exec.LookPath("initdb"); err == nil {
		if real, err := filepath.EvalSymlinks(p); err == nil {
			p = real
		}
		if dir := filepath.Dir(p); hasPrograms(dir) {
			if abs, err := filepath.Abs(dir); err == nil {
				dir = abs
			}
			return dir, nil
		}
		tried = append(tried, filepath.Dir(p)+" (initdb on PATH)")
	}
	where := "no pg_config, no /usr/lib/postgresql/*/bin and no initdb on PATH"
	if len(tried) > 0 {
		where = "none of " + strings.Join(tried, ", ") + " has them all"
	}
	return "", fmt.Errorf("pgcluster: %w (%s needed; %s): install them, on Debian or Ubuntu with `apt-get install postgresql`",
		ErrNotInstalled, strings.Join(programs, ", "), where)
}

func hasPrograms(dir string) bool {
	for _, p := range programs {
		fi, err := os.Stat(filepath.Join(dir, p))
		if err != nil || fi.IsDir() || fi.Mode()&0o111 == 0 {
			return false
		}
	}
	return true
}

// version is N of /usr/lib/postgresql/N/bin (9.6 sorts below 10), 0 if N is
// not a number.
func version(binDir string) float64 {
	v, _ := strconv.ParseFloat(filepath.Base(filepath.Dir(binDir)), 64)
	return v
}
