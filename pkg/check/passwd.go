package check

import (
	"errors"
	"io/fs"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/passwd"
)

// noLogin are the shells that do not give a shell.
var noLogin = []string{"/usr/sbin/nologin", "/sbin/nologin", "/bin/nologin", "/usr/bin/nologin", "/bin/false", "/usr/bin/false"}

// locked reports whether a password field allows no password login.
func locked(pw string) bool {
	return pw == "x" || strings.HasPrefix(pw, "*") || strings.HasPrefix(pw, "!")
}

// passwd reports accounts with a login shell or a password, from
// /etc/passwd and /etc/shadow.
func (a *audit) passwd(open passwd.Opener) {
	b, err := passwd.ReadFile(open, "/etc/passwd")
	if errors.Is(err, fs.ErrNotExist) {
		return
	}
	if err != nil {
		a.add(KindPasswd, "/etc/passwd", "unreadable: %v", err)
		return
	}
	entries, err := passwd.ParsePasswd(b)
	if err != nil {
		a.add(KindPasswd, "/etc/passwd", "%v", err)
	}
	for _, e := range entries {
		if !slices.Contains(noLogin, e.Shell) {
			shell := e.Shell
			if shell == "" {
				shell = "empty, meaning /bin/sh"
			}
			a.add(KindPasswd, "/etc/passwd", "line %d: %s has a login shell (%s)", e.Line, e.Name, shell)
		}
		switch {
		case e.Password == "":
			a.add(KindPasswd, "/etc/passwd", "line %d: %s has an empty password", e.Line, e.Name)
		case !locked(e.Password):
			a.add(KindPasswd, "/etc/passwd", "line %d: %s has a password hash", e.Line, e.Name)
		}
	}
	a.shadow(open)
}

func (a *audit) shadow(open passwd.Opener) {
	b, err := passwd.ReadFile(open, "/etc/shadow")
	if err != nil {
		if !errors.Is(err, fs.ErrNotExist) {
			a.add(KindPasswd, "/etc/shadow", "unreadable: %v", err)
		}
		return
	}
	for n, line := range strings.Split(string(b), "\n") {
		f := strings.Split(line, ":")
		if line == "" || len(f) < 2 {
			continue
		}
		switch pw := f[1]; {
		case pw == "":
			a.add(KindPasswd, "/etc/shadow", "line %d: %s has an empty password", n+1, f[0])
		case !locked(pw):
			a.add(KindPasswd, "/etc/shadow", "line %d: %s has a password hash", n+1, f[0])
		}
	}
}
