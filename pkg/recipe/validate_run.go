package recipe

import (
	"fmt"
	"maps"
	"slices"
	"strings"

	"github.com/jailimg/jailimg/pkg/policy"
)

// run checks the run policy: the directories jailimg run mounts, the host
// files, the namespace and network modes, rlimits, accepted kinds, umask.
func (v *validator) run() {
	v.mountedDirs()
	v.hostfiles()
	v.runModes()
	v.runLimits()
}

// mountedDirs checks run.runtime, state, cache and logs: each a directory
// the recipe declares in dirs: (jailimg run mounts on it with its owner
// and mode), named once across the four lists; and /tmp declared for
// run.tmp.
func (v *validator) mountedDirs() {
	r := v.r
	seen := map[string]string{}
	for _, l := range []struct {
		key   string
		paths []string
	}{{"runtime", r.Run.Runtime}, {"state", r.Run.State}, {"cache", r.Run.Cache}, {"logs", r.Run.Logs}} {
		for i, p := range l.paths {
			key := fmt.Sprintf("run.%s[%d]", l.key, i)
			v.mountedDir(key, p, seen)
		}
	}
	if r.Run.Tmp {
		if prev, ok := seen["/tmp"]; ok {
			v.errorf("run.tmp", "/tmp is already %s", prev)
		} else if !v.declared("/tmp") {
			v.errorf("run.tmp", "the recipe's dirs: declare no /tmp to mount the tmpfs on (add {path: /tmp, mode: 01777})")
		}
	}
	for i, w := range r.Run.Writable {
		v.absPath(fmt.Sprintf("run.writable[%d]", i), w)
	}
}

// mountedDir checks one directory of run.runtime, state, cache or logs.
func (v *validator) mountedDir(key, p string, seen map[string]string) {
	if !v.absPath(key, p) {
		return
	}
	switch prev, ok := seen[p]; {
	case p == "/":
		v.errorf(key, "cannot mount over the jail's root")
	case ok:
		v.errorf(key, "%q is already %s", p, prev)
	case !v.declared(p):
		v.errorf(key, "%q is not one of the recipe's dirs: (declare it there with the owner and mode the service needs)", p)
	}
	seen[p] = key
}

// declared reports whether dirs: declares path.
func (v *validator) declared(path string) bool {
	return slices.ContainsFunc(v.r.Dirs, func(d Dir) bool { return d.Path == path })
}

// hostfiles checks run.hostfiles: each one of policy.HostFiles, once.
func (v *validator) hostfiles() {
	for i, h := range v.r.Run.Hostfiles {
		key := fmt.Sprintf("run.hostfiles[%d]", i)
		switch {
		case !slices.Contains(policy.HostFiles, h):
			v.errorf(key, "%q is not one of %s", h, strings.Join(policy.HostFiles, ", "))
		case slices.Index(v.r.Run.Hostfiles, h) != i:
			v.errorf(key, "%q is listed twice", h)
		}
	}
}

// runModes checks run.network, run.pid and run.ipc.
func (v *validator) runModes() {
	r := v.r
	if n := r.Run.Network; n != "" && n != "none" && n != "host" {
		v.errorf("run.network", "%q is not none or host", n)
	}
	for key, m := range map[string]string{"run.pid": r.Run.PID, "run.ipc": r.Run.IPC} {
		if m != "" && m != policy.Private && m != policy.Host {
			v.errorf(key, "%q is not %s or %s", m, policy.Private, policy.Host)
		}
	}
}

// runLimits checks run.umask, run.rlimits and run.accept.
func (v *validator) runLimits() {
	r := v.r
	if r.Run.Umask > 0o777 {
		v.errorf("run.umask", "%o is more than 0777", r.Run.Umask)
	}
	for _, k := range slices.Sorted(maps.Keys(r.Run.Rlimits)) {
		if !slices.Contains(Rlimits, k) {
			v.errorf("run.rlimits."+k, "unknown limit (known: %s)", strings.Join(Rlimits, ", "))
		}
	}
	for i, k := range r.Run.Accept {
		if !slices.Contains(AcceptKinds, k) {
			v.errorf(fmt.Sprintf("run.accept[%d]", i), "%q cannot be accepted by an image (only %s); the auditor can pass jailimg check --accept", k, strings.Join(AcceptKinds, ", "))
		}
	}
}
