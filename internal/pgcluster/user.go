package pgcluster

import (
	"fmt"
	"os"
	"os/user"
	"path/filepath"
	"strconv"
	"syscall"
)

// account is the system user the servers run as: PostgreSQL refuses to run
// as root, so a root process runs them as postgres; anyone else runs them as
// themselves (cred nil).
type account struct {
	name string
	uid  int
	gids []int // primary group first
	cred *syscall.Credential
}

func serverAccount() (*account, error) {
	if os.Geteuid() != 0 {
		return &account{uid: os.Geteuid(), gids: []int{os.Getegid()}}, nil
	}
	u, err := user.Lookup("postgres")
	if err != nil {
		return nil, fmt.Errorf("pgcluster: %w: running as root, the servers must run as the postgres system user, and it does not exist (%v); install PostgreSQL's package, which creates it, or run as another user",
			ErrNotInstalled, err)
	}
	uid, err1 := strconv.Atoi(u.Uid)
	gid, err2 := strconv.Atoi(u.Gid)
	if err1 != nil || err2 != nil {
		return nil, fmt.Errorf("pgcluster: user postgres has a non-numeric uid %q or gid %q", u.Uid, u.Gid)
	}
	a := &account{name: "postgres", uid: uid, gids: []int{gid}}
	cred := &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	if ids, err := u.GroupIds(); err == nil {
		for _, s := range ids {
			if g, err := strconv.Atoi(s); err == nil {
				cred.Groups = append(cred.Groups, uint32(g))
				a.gids = append(a.gids, g)
			}
		}
	}
	a.cred = cred
	return a, nil
}

// own hands path to the account, when it is not this process's own user.
func (a *account) own(path string) error {
	if a.cred == nil {
		return nil
	}
	if err := os.Chown(path, a.uid, a.gids[0]); err != nil {
		return fmt.Errorf("pgcluster: give %s to user %s: %w", path, a.name, err)
	}
	return nil
}

// reach checks that the account can traverse every directory from / down to
// dir: a root process's own 0700 directories (such as a test's t.TempDir)
// are closed to postgres, and initdb would fail with a less clear message.
func (a *account) reach(dir string) error {
	if a.cred == nil {
		return nil
	}
	for d := dir; ; d = filepath.Dir(d) {
		fi, err := os.Stat(d)
		if err != nil {
			return fmt.Errorf("pgcluster: %w", err)
		}
		if !a.canSearch(fi) {
			return fmt.Errorf("pgcluster: user %s, which the servers run as, cannot enter %s (mode %v): use a directory every user can reach, such as one under /tmp",
				a.name, d, fi.Mode().Perm())
		}
		if d == filepath.Dir(d) {
			return nil
		}
	}
}

func (a *account) canSearch(fi os.FileInfo) bool {
	perm := fi.Mode().Perm()
	st, ok := fi.Sys().(*syscall.Stat_t)
	if !ok {
		return true // no owner to judge by: let initdb tell
	}
	switch {
	case int(st.Uid) == a.uid:
		return perm&0o100 != 0
	case a.inGroup(int(st.Gid)):
		return perm&0o010 != 0
	default:
		return perm&0o001 != 0
	}
}

func (a *account) inGroup(gid int) bool {
	for _, g := range a.gids {
		if g == gid {
			return true
		}
	}
	return false
}

// sysProcAttr makes a command run as the account; nil runs it as this
// process's user.
func (a *account) sysProcAttr() *syscall.SysProcAttr {
	if a.cred == nil {
		return nil
	}
	return &syscall.SysProcAttr{Credential: a.cred}
}
